#!/usr/bin/env node
// Host-side soak of wisp's API process (issue 15): starts `wisp --api-sock` and throws at it, for as
// long as asked, what careless and hostile clients do — many clients at once, connection floods,
// slow and idle clients, pipelining without reading, malformed HTTP and JSON, file arguments of every
// type (FIFO, /dev/zero, directories, sockets, missing paths, too-long socket paths) — while it samples
// the process's fd count, RSS and threads. Afterwards: the API still answers, fds and threads are
// back at their start, RSS is near it, and no request ever went unanswered without its connection
// being closed (a "hang"). Prints a report; exits 0 when every check holds, 1 otherwise.
//
//   node scripts/soak.mjs [--duration 60] [--settle 120] [--json report.json] [--quiet]
//
// `test/integration/soak.test.ts` runs a bounded version (a few seconds) in CI.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values: opts } = parseArgs({
  options: {
    duration: { type: 'string', default: '60' },
    json: { type: 'string' },
    quiet: { type: 'boolean', default: false },
    settle: { type: 'string', default: '120' },
  },
});
const DURATION_MS = Number(opts.duration) * 1000;
if (!(DURATION_MS > 0)) throw new Error(`--duration must be a positive number of seconds, got ${opts.duration}`);
const root = fileURLToPath(new URL('..', import.meta.url));
const say = (s) => { if (!opts.quiet) process.stderr.write(`soak: ${s}\n`); };

// ---- the process under test -------------------------------------------------------------------------

const dir = mkdtempSync(join(tmpdir(), 'wisp-soak-'));
const sock = join(dir, 'api.sock');
const fifo = join(dir, 'fifo');
execFileSync('mkfifo', [fifo]);
const plain = join(dir, 'plain');
writeFileSync(plain, 'not a kernel');
const listening = join(dir, 'listening.sock');
const other = createServer().listen(listening);
const child = spawn(process.execPath, [join(root, 'bin/wisp.js'), '--api-sock', sock, '--id', 'soak', '--level', 'Warning'], {
  stdio: ['ignore', 'ignore', 'pipe'],
});
let childStderr = '';
child.stderr.on('data', (d) => { childStderr = (childStderr + d).slice(-20000); });
let childExit;
child.on('exit', (code, signal) => { childExit = { code, signal }; });

function sample() {
  const pid = child.pid;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return {
      fds: readdirSync(`/proc/${pid}/fd`).length,
      rssKiB: Number(/VmRSS:\s+(\d+)/.exec(status)[1]),
      // The kernel's own high-water mark: a peak between two samples is not missed.
      hwmKiB: Number(/VmHWM:\s+(\d+)/.exec(status)[1]),
      threads: Number(/Threads:\s+(\d+)/.exec(status)[1]),
    };
  } catch {
    return undefined;
  }
}

// ---- one exchange with a deadline -----------------------------------------------------------------

const stats = {
  connections: 0, requests: 0, answers: new Map(), hangs: 0, hangSamples: [],
  /** Connections the server closed before giving every answer expected (turned away, evicted, timed out, broken). */
  closedUnanswered: 0,
  /** connect() refused by the kernel (the listen backlog was full during a flood): no server socket existed. */
  connectRefused: 0,
  byLabel: new Map(),
};
const count = (status) => stats.answers.set(status, (stats.answers.get(status) ?? 0) + 1);
/** "Back near its start" for RSS: what V8 and malloc keep of a burst is not all returned at once. */
const RSS_SLACK_KIB = 32 * 1024;
/** How long a connection may go without an answer or a close before it counts as a hang. */
const HANG_MS = 45_000;

/**
 * Opens a connection, sends `bytes` (optionally in pieces with pauses), expects `expect` answers or the
 * server's close. Reading can be held off for `readAfterMs`. Resolves with the statuses received.
 */
function exchange(bytes, { expect = 1, pieces = 1, pauseMs = 0, readAfterMs = 0, keepOpenMs = 0, label = 'exchange' } = {}) {
  stats.connections++;
  stats.byLabel.set(label, (stats.byLabel.get(label) ?? 0) + 1);
  return new Promise((resolve) => {
    const s = connect(sock);
    let data = Buffer.alloc(0);
    const statuses = [];
    let done = false;
    let connected = false;
    // Every timer is cleared when the exchange ends: a live timer keeps this closure, and with it the
    // bytes sent (2 MiB for a pipeline), alive. (Uncleared 60 s read timers of evicted pipeliners held
    // ~1000 of them at once and ran this script out of heap.)
    const timers = [];
    const finish = (closed) => {
      if (done) return;
      done = true;
      clearTimeout(hang);
      for (const t of timers) clearTimeout(t);
      if (!connected) stats.connectRefused++;
      else if (closed && statuses.length < expect) stats.closedUnanswered++;
      s.destroy();
      resolve(statuses);
    };
    const hang = setTimeout(() => {
      stats.hangs++;
      if (stats.hangSamples.length < 5) stats.hangSamples.push(`${label}: ${String(bytes).slice(0, 80)}`);
      finish(false);
    }, HANG_MS + pieces * pauseMs + readAfterMs + keepOpenMs);
    s.on('error', () => finish(true));
    s.on('close', () => finish(true));
    if (readAfterMs > 0) {
      s.pause();
      timers.push(setTimeout(() => s.resume(), readAfterMs));
    }
    s.on('data', (d) => {
      data = Buffer.concat([data, d]);
      // Count complete answers (status line ... blank line, then Content-Length bytes).
      for (;;) {
        const end = data.indexOf('\r\n\r\n');
        if (end < 0) break;
        const head = data.subarray(0, end).toString('latin1');
        const len = Number(/content-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
        if (data.length < end + 4 + len) break;
        const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
        data = data.subarray(end + 4 + len);
        if (status >= 100 && status < 200) continue;
        statuses.push(status);
        count(status);
      }
      if (statuses.length >= expect && keepOpenMs === 0) finish(false);
    });
    s.on('connect', async () => {
      connected = true;
      const buf = Buffer.from(bytes, 'latin1');
      const step = Math.ceil(buf.length / pieces);
      for (let i = 0; i < buf.length && !done; i += step) {
        s.write(buf.subarray(i, i + step));
        if (pauseMs) await sleep(pauseMs);
      }
      if (keepOpenMs && !done) timers.push(setTimeout(() => finish(false), keepOpenMs));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const req = (method, path, body) => {
  stats.requests++;
  const payload = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
  return `${method} ${path} HTTP/1.1\r\nHost: localhost\r\n${payload ? `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(payload, 'latin1')}\r\n` : ''}\r\n${payload}`;
};

// ---- what the clients do -------------------------------------------------------------------------

let seed = 0x50a6;
const rnd = () => {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const pick = (xs) => xs[Math.floor(rnd() * xs.length)];

const PATHS = { fifo, 'char-device': '/dev/zero', directory: dir, socket: listening, missing: join(dir, 'nope'), 'missing-dir': join(dir, 'no', 'x'), proc: '/proc/self/status', plain };

const actors = {
  /** Well-behaved clients, several requests per keep-alive connection. */
  async busy() {
    const n = 1 + Math.floor(rnd() * 5);
    let bytes = '';
    for (let i = 0; i < n; i++) {
      bytes += pick([
        () => req('GET', '/'),
        () => req('GET', '/machine-config'),
        () => req('GET', '/vm/config'),
        () => req('PUT', '/machine-config', { vcpu_count: 1, mem_size_mib: 64 + Math.floor(rnd() * 512) }),
        () => req('PATCH', '/machine-config', { mem_size_mib: 128 }),
        () => req('PUT', '/actions', { action_type: 'FlushMetrics' }),
      ])();
    }
    await exchange(bytes, { expect: n, label: 'busy' });
  },
  /** 30 connections at once: some get 503 (every connection is busy), all must end. */
  async flood() {
    await Promise.all(Array.from({ length: 30 }, () => exchange(req('GET', '/'), { label: 'flood' })));
  },
  /** A request trickled a byte at a time; sometimes never finished. */
  async slow() {
    const full = req('PUT', '/machine-config', { vcpu_count: 1, mem_size_mib: 128 });
    const cut = rnd() < 0.5 ? full : full.slice(0, 10 + Math.floor(rnd() * 20));
    await exchange(cut, { pieces: Math.min(cut.length, 40), pauseMs: 50, label: 'slow' });
  },
  /** Connects and says nothing for a while. */
  async idle() {
    await exchange('', { expect: 1, keepOpenMs: 2000 + rnd() * 3000, label: 'idle' });
  },
  /** Pipelines ~2 MiB of requests without reading, then reads (or just leaves). */
  async pipeline() {
    const one = req('GET', '/machine-config');
    stats.requests--; // a pipeline is counted in pipelinedRequestsOffered (the server takes what it can serve)
    const n = Math.floor((2 << 20) / one.length);
    stats.pipelineOffered = (stats.pipelineOffered ?? 0) + n;
    const many = one.repeat(n);
    if (rnd() < 0.5) await exchange(many, { expect: 1_000_000, readAfterMs: 3000, keepOpenMs: 5000, label: 'pipeline-read-later' });
    else await exchange(many, { expect: 1_000_000, readAfterMs: 60_000, keepOpenMs: 4000, label: 'pipeline-never-read' });
  },
  /** Bytes that are not HTTP, or broken HTTP. */
  async malformed() {
    const cases = [
      () => Array.from({ length: Math.floor(rnd() * 400) }, () => String.fromCharCode(Math.floor(rnd() * 256))).join('') + '\r\n\r\n',
      () => 'GET / HTTP/1.1\r\n' + 'X: ' + 'a'.repeat(10000) + '\r\n\r\n',
      () => 'PUT /machine-config HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n{',
      () => 'PUT /machine-config HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
      () => 'GET / HTTP/9.9\r\n\r\n',
      () => 'DELETE / HTTP/1.1\r\n\r\n',
      () => 'GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab',
      () => '\r\n'.repeat(5000),
    ];
    stats.requests++;
    await exchange(pick(cases)(), { label: 'malformed' });
  },
  /** JSON bodies mutated at random. */
  async badJson() {
    const bodies = [
      { kernel_image_path: plain, boot_args: 'console=ttyS0' },
      { vcpu_count: 2, mem_size_mib: 9007199254740993 },
      { drive_id: 'rootfs', path_on_host: plain, is_root_device: true, is_read_only: false },
      { level: 'Info' },
    ];
    let text = JSON.stringify(pick(bodies));
    const chars = [...text];
    for (let i = 0; i < 1 + rnd() * 4; i++) chars.splice(Math.floor(rnd() * chars.length), rnd() < 0.5 ? 1 : 0, pick(['{', '"', '\\', '\u00ff', '1e999', '[', '\u0000']));
    text = chars.join('');
    const path = pick(['/boot-source', '/machine-config', '/drives/rootfs', '/logger']);
    await exchange(req('PUT', path, text), { label: 'bad-json' });
    if (rnd() < 0.2) await exchange(req('PUT', '/boot-source', Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]).toString('latin1')), { label: 'bad-utf8' });
  },
  /** File arguments of every type, for every field that takes a path. */
  async files() {
    const [kind, path] = pick(Object.entries(PATHS));
    const body = pick([
      () => ['/boot-source', { kernel_image_path: path }],
      () => ['/boot-source', { kernel_image_path: plain, initrd_path: path }],
      () => ['/drives/d1', { drive_id: 'd1', path_on_host: path, is_root_device: false, is_read_only: rnd() < 0.5 }],
      () => ['/logger', { log_path: path === fifo ? fifo : path, level: 'Warning' }],
      () => ['/serial', { serial_out_path: path }],
    ])();
    await exchange(req('PUT', body[0], body[1]), { label: `file-${kind}` });
  },
};

// ---- run ------------------------------------------------------------------------------------------

async function waitForSocket() {
  for (let i = 0; i < 400; i++) {
    if (existsSync(sock)) return;
    if (childExit) throw new Error(`wisp exited at start: ${JSON.stringify(childExit)}\n${childStderr}`);
    await sleep(25);
  }
  throw new Error('wisp did not create its API socket');
}

async function main() {
  await waitForSocket();
  // Warm up (JIT of the server's own code, first allocations), then take the baseline.
  for (let i = 0; i < 50; i++) await actors.busy();
  await sleep(500);
  const start = sample();
  const peak = { ...start };
  const series = [];
  let ticks = 0;
  const sampler = setInterval(() => {
    const s = sample();
    if (!s) return;
    if (ticks++ % 5 === 0) series.push(Math.round(s.rssKiB / 1024));
    peak.fds = Math.max(peak.fds, s.fds);
    peak.rssKiB = Math.max(peak.rssKiB, s.rssKiB);
    peak.hwmKiB = Math.max(peak.hwmKiB, s.hwmKiB);
    peak.threads = Math.max(peak.threads, s.threads);
  }, 200);
  say(`start: ${JSON.stringify(start)}; running ${DURATION_MS / 1000} s`);
  const until = Date.now() + DURATION_MS;
  const weights = { busy: 6, flood: 1, slow: 2, idle: 2, pipeline: 1, malformed: 3, badJson: 3, files: 3 };
  const names = Object.entries(weights).flatMap(([k, w]) => Array(w).fill(k));
  const lanes = Array.from({ length: 12 }, async () => {
    while (Date.now() < until && !childExit) await actors[pick(names)]();
  });
  await Promise.all(lanes);
  clearInterval(sampler);
  // Let the server's own timers finish what the clients left (closing sockets, lingering closes), and
  // V8 give back the heap it grew under load (its memory reducer runs once the process is idle): up to
  // --settle seconds, less once fds, threads and RSS are back near their start.
  const settleUntil = Date.now() + Number(opts.settle) * 1000;
  const settled = [];
  await sleep(3000);
  for (;;) {
    const s = sample();
    if (s) settled.push(Math.round(s.rssKiB / 1024));
    if (!s || Date.now() >= settleUntil || (s.fds <= start.fds + 2 && s.threads <= start.threads + 2 && s.rssKiB <= start.rssKiB + RSS_SLACK_KIB)) break;
    await sleep(1000);
  }
  const check = await new Promise((resolve) => {
    const s = connect(sock);
    let d = '';
    s.on('data', (x) => { d += x; if (d.includes('"state"')) { s.destroy(); resolve(d); } });
    s.on('error', () => resolve(''));
    s.on('connect', () => s.write('GET / HTTP/1.1\r\n\r\n'));
    setTimeout(() => { s.destroy(); resolve(d); }, 15_000);
  });
  await sleep(200);
  const final = sample();
  child.kill('SIGTERM');
  const exit = await new Promise((r) => (childExit ? r(childExit) : child.once('exit', (code, signal) => r({ code, signal }))));
  other.close();
  rmSync(dir, { recursive: true, force: true });

  const report = {
    durationS: DURATION_MS / 1000,
    connections: stats.connections,
    requests: stats.requests,
    byKind: Object.fromEntries(stats.byLabel),
    pipelinedRequestsOffered: stats.pipelineOffered ?? 0,
    answers: Object.fromEntries([...stats.answers].sort((a, b) => a[0] - b[0])),
    closedWithoutAllAnswers: stats.closedUnanswered,
    connectRefusedBacklogFull: stats.connectRefused,
    hangs: stats.hangs,
    hangSamples: stats.hangSamples,
    start,
    peak,
    final,
    rssMiBEverySecond: series,
    rssMiBWhileSettling: settled,
    apiAnswersAfterwards: /^HTTP\/1\.1 200 /.test(check),
    exitOnSigterm: exit,
    /** This script's own peak RSS (the clients' side), apart from wisp's. */
    driverMaxRssKiB: process.resourceUsage().maxRSS,
  };
  const problems = [];
  if (report.hangs > 0) problems.push(`${report.hangs} hang(s)`);
  if (!report.apiAnswersAfterwards) problems.push('the API did not answer afterwards');
  if (!final) problems.push('the process was gone before the end');
  else {
    if (final.fds > start.fds + 2) problems.push(`fds ${start.fds} -> ${final.fds}`);
    if (final.threads > start.threads + 2) problems.push(`threads ${start.threads} -> ${final.threads}`);
    if (final.rssKiB > start.rssKiB + RSS_SLACK_KIB) problems.push(`RSS ${start.rssKiB} -> ${final.rssKiB} KiB`);
  }
  if (exit.code !== 0) problems.push(`exit on SIGTERM: ${JSON.stringify(exit)}`);
  report.problems = problems;
  if (opts.json) writeFileSync(opts.json, JSON.stringify(report, null, 2));
  process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  if (problems.length) {
    say(`FAILED: ${problems.join('; ')}\n--- wisp stderr (tail) ---\n${childStderr.slice(-3000)}`);
    process.exitCode = 1;
  } else {
    say('ok');
  }
}

main().catch((e) => {
  process.stderr.write(`soak: ${e.stack ?? e}\n`);
  child.kill('SIGKILL');
  process.exitCode = 1;
});
