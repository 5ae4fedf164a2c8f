/**
 * Issue 15, "a FIFO as a file argument freezes the process" and friends: every file argument of the
 * API and of the firecracker-style command line, given a path of every type (FIFO without a writer,
 * /dev/zero, a directory, a Unix socket, a missing file or directory), against the real `wisp`
 * process. Each answer must come (a blocking open(2) would freeze the whole process: no answer on any
 * connection, SIGTERM ignored), legitimate FIFOs (log, metrics, serial output) are accepted, and the
 * process still answers and ends cleanly on SIGTERM afterwards.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { exchange } from '../helpers/unix-http-client.js';
import { runWisp, WispProcess, describeResult, wispBin } from '../helpers/guest-fixtures.js';

let dir = '';
let fifo = '';
let sockFile = '';
const closers: Array<() => void> = [];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wisp-hostile-files-'));
  fifo = join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  sockFile = join(dir, 'listening.sock');
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(sockFile, () => r()));
  closers.push(() => srv.close());
});
after(() => {
  for (const c of closers) c();
  rmSync(dir, { recursive: true, force: true });
});

/** One request; an answer must come within the (generous) limit, or the process is frozen. */
async function put(sock: string, path: string, body: unknown): Promise<{ status: number; fault?: string }> {
  const payload = JSON.stringify(body);
  const ex = await exchange(sock, `PUT ${path} HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(payload)}\r\n\r\n${payload}`, { timeoutMs: 20_000 });
  assert.equal(ex.responses.length, 1, `PUT ${path} ${payload}: no answer within 20 s (the VMM is frozen)`);
  const r = ex.responses[0]!;
  return { status: r.status, fault: (r.body as { fault_message?: string } | undefined)?.fault_message };
}

test('API: every file argument, given every type of path, is answered at once; FIFOs only where a stream is the point', { timeout: 180_000 }, async () => {
  const sock = join(dir, 'api.sock');
  const p = new WispProcess(['--api-sock', sock, '--id', 'hostile'], { timeoutMs: 170_000 });
  try {
    for (let i = 0; i < 200 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 50));
    const file = join(dir, 'plain');
    writeFileSync(file, 'x');
    const kinds: Record<string, string> = { fifo, 'char device': '/dev/zero', directory: dir, socket: sockFile, missing: join(dir, 'nope'), 'missing dir': join(dir, 'no', 'x') };

    for (const [kind, path] of Object.entries(kinds)) {
      const k = await put(sock, '/boot-source', { kernel_image_path: path });
      assert.equal(k.status, 400, `kernel ${kind}`);
      assert.match(k.fault!, /^The kernel file cannot be opened: /, `kernel ${kind}`);
      const i = await put(sock, '/boot-source', { kernel_image_path: file, initrd_path: path });
      assert.equal(i.status, 400, `initrd ${kind}`);
      for (const ro of [true, false]) {
        const d = await put(sock, '/drives/d', { drive_id: 'd', path_on_host: path, is_root_device: false, is_read_only: ro });
        assert.equal(d.status, 400, `drive ${kind} ro=${ro}`);
        assert.match(d.fault!, /^Cannot attach drive "d": /);
      }
    }
    assert.match((await put(sock, '/boot-source', { kernel_image_path: fifo })).fault!, /is a named pipe \(FIFO\); the kernel image must be a regular file/);
    // /dev/zero as a drive is refused at PUT time (it used to pass and fail only at InstanceStart).
    assert.match((await put(sock, '/drives/d', { drive_id: 'd', path_on_host: '/dev/zero', is_root_device: false, is_read_only: true })).fault!, /character device; the drive must be a regular file or a block device/);

    // Outputs: a FIFO or a character device is a legitimate destination and opens without a reader.
    assert.equal((await put(sock, '/logger', { log_path: fifo, level: 'Info' })).status, 204, 'log to a FIFO nobody reads');
    assert.equal((await put(sock, '/logger', { log_path: '/dev/null' })).status, 204);
    for (const path of [dir, sockFile, join(dir, 'nope')]) assert.equal((await put(sock, '/logger', { log_path: path })).status, 400, `logger ${path}`);
    assert.equal((await put(sock, '/serial', { serial_out_path: fifo })).status, 204, 'serial output to a FIFO');
    for (const path of [dir, sockFile, join(dir, 'no', 'out')]) assert.equal((await put(sock, '/serial', { serial_out_path: path })).status, 400, `serial ${path}`);
    assert.equal((await put(sock, '/metrics', { metrics_path: dir })).status, 400);
    assert.equal((await put(sock, '/metrics', { metrics_path: fifo })).status, 204, 'metrics to a FIFO nobody reads');

    const info = await exchange(sock, 'GET / HTTP/1.1\r\n\r\n', { timeoutMs: 20_000 });
    assert.equal(info.responses[0]?.status, 200);
    p.kill('SIGTERM');
    const r = await p.exited;
    assert.equal(r.timedOut, false, 'SIGTERM ends the VMM');
    assert.equal(r.code, 0, describeResult(r));
    assert.equal(existsSync(sock), false, 'the socket is removed on exit');
  } finally {
    p.kill('SIGKILL');
  }
});

test('--config-file: /dev/zero, a directory and an oversized file are refused at once; a pipe with a config is read', { timeout: 120_000 }, async () => {
  const zero = await runWisp(['--no-api', '--config-file', '/dev/zero'], { timeoutMs: 60_000 });
  assert.equal(zero.timedOut, false, 'reading /dev/zero must not go on forever');
  assert.equal(zero.code, 152, describeResult(zero));
  assert.match(zero.stderr, /"\/dev\/zero" is a character device; the config file must be a regular file or a named pipe/);
  const d = await runWisp(['--no-api', '--config-file', dir], { timeoutMs: 60_000 });
  assert.equal(d.code, 152, describeResult(d));
  const big = join(dir, 'big.json');
  writeFileSync(big, ' '.repeat(2 << 20) + '{}');
  const b = await runWisp(['--no-api', '--config-file', big], { timeoutMs: 60_000 });
  assert.equal(b.code, 152, describeResult(b));
  assert.match(b.stderr, /the config file may be at most 1 MiB/);
  // A pipe, as bash's `--config-file <(...)` gives, is read; this config names a kernel that does not exist.
  const cfg = JSON.stringify({ 'boot-source': { kernel_image_path: join(dir, 'no-kernel') } });
  const piped = spawnSync('bash', ['-c', `exec "${process.execPath}" "${wispBin()}" --no-api --config-file <(printf '%s' '${cfg}')`], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(piped.status, 152, piped.stderr);
  assert.match(piped.stderr, /The kernel file cannot be opened: No such file or directory/);
});

test('--api-sock: a path longer than sun_path is refused (not silently cut); a missing directory is named', { timeout: 60_000 }, async () => {
  const sub = join(dir, 'long');
  mkdirSync(sub);
  const long = join(sub, 'a'.repeat(120));
  const r = await runWisp(['--api-sock', long], { timeoutMs: 30_000 });
  assert.equal(r.code, 1, describeResult(r));
  assert.match(r.stderr, /is 1\d\d bytes long; a Unix socket path holds at most 107 bytes/);
  assert.deepEqual(readdirSync(sub), [], 'no socket appears under a cut-down name');
  const missing = await runWisp(['--api-sock', join(dir, 'no-such-dir', 'api.sock')], { timeoutMs: 30_000 });
  assert.equal(missing.code, 1, describeResult(missing));
  assert.match(missing.stderr, /the directory ".*no-such-dir" of the API socket does not exist/);
});
