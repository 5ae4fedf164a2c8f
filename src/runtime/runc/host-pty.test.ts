import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ConsoleSocket } from '../../../test/helpers/console-socket.js';
import { openHostPty, sendFd } from './host-pty.js';

const dir = mkdtempSync(join(tmpdir(), 'wisp-host-pty-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('a raw host pty: bytes pass unchanged both ways, no echo', () => {
  const pty = openHostPty();
  try {
    assert.match(pty.path, /^\/dev\/pts\/\d+$/);
    writeSync(pty.master, 'line one\n\x03');
    const buf = Buffer.alloc(64);
    const n = readSync(pty.slave, buf);
    assert.equal(buf.subarray(0, n).toString(), 'line one\n\x03'); // no ICRNL, no ISIG, no line buffering
    writeSync(pty.slave, 'out\n');
    const m = readSync(pty.master, buf);
    assert.equal(buf.subarray(0, m).toString(), 'out\n'); // no ONLCR, and nothing echoed before it
  } finally {
    closeSync(pty.master);
    closeSync(pty.slave);
  }
});

test('the master goes over a console socket as SCM_RIGHTS, named by the pty path', async () => {
  const sock = new ConsoleSocket(join(dir, 'console.sock'));
  const pty = openHostPty();
  try {
    sendFd(sock.path, pty.master, pty.path);
    closeSync(pty.master);
    const got = await sock.receive(10_000);
    assert.equal(got.name, pty.path);
    writeSync(got.fd, 'via the passed fd');
    const buf = Buffer.alloc(64);
    assert.equal(buf.subarray(0, readSync(pty.slave, buf)).toString(), 'via the passed fd');
    closeSync(got.fd);
  } finally {
    closeSync(pty.slave);
    sock.close();
  }
  assert.throws(() => sendFd(join(dir, 'nobody.sock'), 0, 'x'), /Cannot connect to the console socket .*nobody\.sock: No such file or directory/);
});
