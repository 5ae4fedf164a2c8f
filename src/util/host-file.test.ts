import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import {
  checkHostPath,
  checkUnixSocketPath,
  HostFileError,
  openHostFile,
  probeHostFile,
  readHostFile,
  readHostFileAsync,
  UNIX_PATH_MAX,
} from './host-file.js';

const dir = mkdtempSync(join(tmpdir(), 'wisp-hostfile-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const file = join(dir, 'file');
writeFileSync(file, 'hello');
const fifo = join(dir, 'fifo');
execFileSync('mkfifo', [fifo]);

const isErr = (code: string, re: RegExp) => (e: unknown) => e instanceof HostFileError && e.code === code && re.test(e.message);

test('types are checked before opening: a FIFO, a device or a directory where a file is wanted is refused, never opened', () => {
  // Opening this FIFO for reading with nobody writing would block the thread forever; it is refused by type first.
  assert.throws(() => openHostFile(fifo, { what: 'kernel image', access: 'read', kinds: ['file'] }), isErr('wrong-type', /is a named pipe \(FIFO\); the kernel image must be a regular file$/));
  assert.throws(() => probeHostFile('/dev/zero', { what: 'drive', access: 'read', kinds: ['file', 'block-device'] }), isErr('wrong-type', /"\/dev\/zero" is a character device; the drive must be a regular file or a block device/));
  assert.throws(() => probeHostFile(dir, { what: 'drive', access: 'read', kinds: ['file', 'block-device'] }), isErr('wrong-type', /is a directory/));
  assert.throws(() => probeHostFile(join(dir, 'nope'), { what: 'kernel image', access: 'read', kinds: ['file'] }), isErr('os', /^No such file or directory \(os error 2\)$/));
  const f = openHostFile(file, { what: 'kernel image', access: 'read', kinds: ['file'] });
  assert.equal(f.kind, 'file');
  assert.equal(f.size, 5);
  f.close();
  f.close(); // idempotent
});

test('a FIFO where one is legitimate (a log) opens at once, with no reader, and never blocks', () => {
  const f = openHostFile(fifo, { what: 'log file', access: 'append', kinds: ['file', 'fifo', 'char-device'] });
  assert.equal(f.kind, 'fifo');
  f.close();
  const n = openHostFile('/dev/null', { what: 'log file', access: 'append', kinds: ['file', 'fifo', 'char-device'] });
  assert.equal(n.kind, 'char-device');
  n.close();
});

test('reads are bounded: a file over the cap is refused, a file under it read whole', () => {
  assert.deepEqual(readHostFile(file, { what: 'kernel image', kinds: ['file'], maxBytes: 5 }), Buffer.from('hello'));
  assert.throws(() => readHostFile(file, { what: 'kernel image', kinds: ['file'], maxBytes: 4 }), isErr('too-large', /is 5 bytes; the kernel image may be at most 4 bytes/));
  assert.throws(() => readHostFile('/dev/zero', { what: 'config file', kinds: ['file'], maxBytes: 100 }), isErr('wrong-type', /character device/));
});

test('a pipe is read on the event loop, up to its end or the cap', async () => {
  const writer = spawn('sh', ['-c', `printf '{"a":1}' > ${fifo}`]);
  const bytes = await readHostFileAsync(fifo, { what: 'config file', kinds: ['file', 'fifo'], maxBytes: 1024 });
  assert.equal(bytes.toString(), '{"a":1}');
  await new Promise((r) => writer.once('exit', r));
  // An endless writer (`yes`) is cut off at the cap, and the read ends.
  const endless = spawn('sh', ['-c', `exec yes > ${fifo}`], { stdio: 'ignore' });
  try {
    await assert.rejects(readHostFileAsync(fifo, { what: 'config file', kinds: ['file', 'fifo'], maxBytes: 64 * 1024 }), isErr('too-large', /config file may be at most 64 KiB/));
  } finally {
    endless.kill('SIGKILL');
  }
  // A regular file goes through the same call.
  assert.equal((await readHostFileAsync(file, { what: 'config file', kinds: ['file', 'fifo'], maxBytes: 10 })).toString(), 'hello');
});

test('outputs: created when allowed, the directory must exist, an existing path must be of an accepted type', () => {
  const out = join(dir, 'serial.out');
  const rule = { what: 'serial output', access: 'write' as const, create: true, append: true, kinds: ['file', 'fifo', 'char-device'] as const };
  assert.deepEqual(checkHostPath(out, { ...rule, kinds: [...rule.kinds] }), { kind: 'missing' });
  assert.throws(() => checkHostPath(join(dir, 'no-dir', 'x'), { ...rule, kinds: [...rule.kinds] }), isErr('os', /the directory ".*no-dir" of the serial output does not exist/));
  assert.throws(() => checkHostPath(dir, { ...rule, kinds: [...rule.kinds] }), isErr('wrong-type', /is a directory/));
  const f = openHostFile(out, { ...rule, kinds: [...rule.kinds] });
  f.close();
  assert.ok(existsSync(out));
  // A FIFO output without a reader: O_WRONLY|O_NONBLOCK fails at once (ENXIO) instead of waiting.
  assert.throws(() => openHostFile(fifo, { ...rule, kinds: [...rule.kinds] }), isErr('os', /No such device or address/));
});

test('Unix socket paths: sun_path holds 107 bytes; a missing directory is named; bind needs a free path, connect a socket', () => {
  const sub = join(dir, 's');
  mkdirSync(sub);
  const long = join(sub, 'x'.repeat(UNIX_PATH_MAX - sub.length - 1));
  assert.equal(Buffer.byteLength(long), UNIX_PATH_MAX);
  assert.doesNotThrow(() => checkUnixSocketPath(long, 'bind'));
  assert.throws(() => checkUnixSocketPath(long + 'y', 'bind', 'API socket'), isErr('bad-socket-path', /the API socket path ".*" is 108 bytes long; a Unix socket path holds at most 107 bytes/));
  // Multi-byte characters count as bytes.
  assert.throws(() => checkUnixSocketPath(join(sub, 'é'.repeat(60)), 'bind'), isErr('bad-socket-path', /bytes long/));
  assert.throws(() => checkUnixSocketPath(join(dir, 'missing', 'api.sock'), 'bind', 'API socket'), isErr('os', /the directory ".*missing" of the API socket does not exist/));
  assert.throws(() => checkUnixSocketPath(file, 'bind'), isErr('os', /already exists/));
  assert.throws(() => checkUnixSocketPath(file, 'connect'), isErr('wrong-type', /is a regular file, not a Unix socket/));
  assert.throws(() => checkUnixSocketPath('', 'bind'), isErr('bad-socket-path', /empty/));
});

test('the helper leaves no fd behind, whatever it refuses', async () => {
  const fds = () => readdirSync('/proc/self/fd').length;
  await new Promise((r) => setTimeout(r, 50)); // earlier tests' pipes finish closing
  const before = fds();
  for (let i = 0; i < 50; i++) {
    try { probeHostFile('/dev/zero', { what: 'drive', access: 'read', kinds: ['file'] }); } catch { /* refused */ }
    try { readHostFile(file, { what: 'x', kinds: ['file'], maxBytes: 1 }); } catch { /* refused */ }
    try { openHostFile(fifo, { what: 'serial output', access: 'write', kinds: ['fifo'] }); } catch { /* ENXIO */ }
  }
  assert.equal(fds(), before);
  assert.equal(readFileSync(file, 'utf8'), 'hello');
});
