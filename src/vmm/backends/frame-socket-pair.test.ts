import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { FRAME_SOCKET_BUFFER, createFrameSocketPair } from './frame-socket-pair.js';

test('a child can write several MiB into the pair before wisp reads any (passt drops what it cannot write)', async () => {
  const pair = createFrameSocketPair();
  assert.ok(pair, 'the FFI (koffi) is part of wisp\'s dependencies and must load here');
  const bytes = 3 * 1024 * 1024; // 15 times the kernel's default send buffer, below FRAME_SOCKET_BUFFER
  assert.ok(bytes < FRAME_SOCKET_BUFFER);
  pair.socket.pause();
  const child = spawn('head', ['-c', String(bytes), '/dev/zero'], { stdio: ['ignore', pair.childFd, 'inherit'] });
  pair.closeChildEnd();
  // With the default buffer, head blocks in write() until someone reads: it would never exit here.
  const code = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); resolve(-1); }, 20_000);
    child.once('exit', (c) => { clearTimeout(timer); resolve(c); });
  });
  assert.equal(code, 0, 'the writer finished without a reader');
  let got = 0;
  pair.socket.on('data', (d: Buffer) => { got += d.length; });
  pair.socket.resume();
  await new Promise<void>((resolve) => pair.socket.once('end', () => resolve()));
  assert.equal(got, bytes, 'every byte arrives');
  pair.socket.destroy();
});
