/**
 * The API server under careless and hostile clients (issue 15): turned-away and closed connections
 * never leave an fd behind, idle and half-sent connections cannot lock others out, slow requests and
 * clients that never read time out, and pipelining without reading holds a bounded amount of memory.
 * Server and clients share this process, so fds are counted in /proc/self/fd.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { splitResponses, exchange, request } from '../../test/helpers/unix-http-client.js';
import { MemoryLineWriter } from '../logger/line-writer.js';
import { Logger } from '../logger/logger.js';
import { createMetrics } from '../metrics/metrics.js';
import type { VmmAction, VmmData } from '../vmm/actions.js';
import { ApiServer, MAX_CONNECTIONS, type ApiServerLimits } from './api-server.js';

const dir = mkdtempSync(join(tmpdir(), 'wisp-hostile-api-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

/** A backend whose answers can be held back (to keep connections busy). */
class GateBackend {
  held = false;
  private waiting: Array<() => void> = [];
  async handle(action: VmmAction): Promise<VmmData> {
    if (this.held) await new Promise<void>((r) => this.waiting.push(r));
    if (action.type === 'GetVmMachineConfig') {
      return { type: 'MachineConfiguration', config: { vcpu_count: 1, mem_size_mib: 128, smt: false, track_dirty_pages: false, huge_pages: 'None' } };
    }
    return { type: 'InstanceInformation', info: { id: 'hostile', state: 'Not started', vmm_version: '0', app_name: 'wisp' } };
  }
  release(): void {
    this.held = false;
    for (const w of this.waiting.splice(0)) w();
  }
}

async function start(limits: Partial<ApiServerLimits> = {}) {
  const sock = join(dir, `api-${n++}.sock`);
  const backend = new GateBackend();
  const log = new MemoryLineWriter();
  const server = new ApiServer({ socketPath: sock, backend, logger: new Logger(log, 'hostile'), metrics: createMetrics(), limits });
  await server.listen();
  return { sock, server, backend, log };
}

const fds = () => readdirSync('/proc/self/fd').length;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Waits (polling) until `cond` holds or `ms` passed; returns whether it held. Not a speed assertion. */
async function until(cond: () => boolean, ms = 10_000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await sleep(20);
  }
  return cond();
}

function open(sock: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(sock, () => resolve(s));
    s.once('error', reject);
  });
}

/** A raw client that collects what it receives and notices the server's close. */
function client(sock: string, bytes?: string) {
  const s = connect(sock);
  const c = { s, data: '', ended: false, closed: false };
  s.on('data', (d) => (c.data += d.toString('latin1')));
  s.on('end', () => (c.ended = true));
  s.on('close', () => (c.closed = true));
  s.on('error', () => undefined);
  if (bytes !== undefined) s.on('connect', () => s.write(bytes));
  return c;
}

test('turned-away connections (503) are closed on the server side even when the client sent bytes and stays open', async () => {
  const { sock, server, backend } = await start();
  try {
    backend.held = true;
    // Ten connections with a request the VMM is still working on: none may be evicted.
    const busy = Array.from({ length: MAX_CONNECTIONS }, () => client(sock, 'GET / HTTP/1.1\r\n\r\n'));
    assert.ok(await until(() => server.counts.accepted === MAX_CONNECTIONS));
    await sleep(50);
    const base = fds();
    const turned = Array.from({ length: 100 }, () => client(sock, 'GET /machine-config HTTP/1.1\r\n\r\n'));
    assert.ok(await until(() => turned.every((c) => c.ended)), 'every turned-away client got its answer and the server\'s end');
    for (const c of turned) assert.match(c.data, /^HTTP\/1\.1 503 /);
    // The clients keep their sockets open; the server's side must still be gone: only the clients' fds remain.
    assert.ok(await until(() => fds() <= base + turned.length + 2), `server-side fds of refused connections were released (${fds() - base - turned.length} left)`);
    for (const c of turned) c.s.destroy();
    assert.ok(await until(() => fds() <= base + 2), 'no fd left once the clients are gone');
    backend.release();
    assert.ok(await until(() => busy.every((c) => /^HTTP\/1\.1 200 /.test(c.data))), 'the busy connections are answered');
    for (const c of busy) c.s.destroy();
    assert.equal(server.counts.refused, 100);
  } finally {
    await server.close();
  }
});

test('connections closed by the server (Connection: close, protocol errors) are destroyed even if the client never closes', async () => {
  const { sock, server } = await start({ lingerMs: 200 });
  try {
    await sleep(50);
    const base = fds();
    const cs = [
      ...Array.from({ length: 25 }, () => client(sock, 'GET / HTTP/1.1\r\nConnection: close\r\n\r\n')),
      ...Array.from({ length: 25 }, () => client(sock, 'BROKEN\r\n\r\n')),
    ];
    assert.ok(await until(() => cs.every((c) => c.ended)));
    assert.ok(await until(() => server.openSockets === 0), `server sockets left: ${server.openSockets}`);
    assert.ok(fds() <= base + cs.length + 2);
    for (const c of cs) c.s.destroy();
  } finally {
    await server.close();
  }
});

test('idle and half-sent connections cannot lock others out: a newcomer takes the place of the longest idle one', async () => {
  const { sock, server } = await start({ evictAfterMs: 200 });
  try {
    const idle = await Promise.all(Array.from({ length: 5 }, () => open(sock)));
    const half = Array.from({ length: 5 }, () => client(sock, 'PUT /machine-config HTTP/1.1\r\nContent-Length: 40\r\n\r\n{"vcpu'));
    await until(() => server.counts.accepted === MAX_CONNECTIONS);
    await sleep(400);
    // Firecracker would answer 503 here for as long as those ten stay open. Each newcomer keeps its
    // connection open, so each one needs a place of its own.
    const newcomers = [];
    for (let i = 0; i < MAX_CONNECTIONS; i++) {
      const c = client(sock, 'GET / HTTP/1.1\r\n\r\n');
      assert.ok(await until(() => c.data.length > 0), `newcomer ${i} answered`);
      assert.match(c.data, /^HTTP\/1\.1 200 /, `newcomer ${i}`);
      newcomers.push(c);
    }
    assert.equal(server.counts.evicted, MAX_CONNECTIONS);
    assert.equal(server.counts.refused, 0);
    // A half-sent request that was evicted is told why before its connection closes.
    assert.ok(await until(() => half.every((c) => c.ended)));
    for (const c of half) assert.match(c.data, /^HTTP\/1\.1 503 .*Too many open connections/s);
    for (const s of idle) s.destroy();
    for (const c of [...half, ...newcomers]) c.s.destroy();
  } finally {
    await server.close();
  }
});

test('busy connections are never evicted: when all are busy the newcomer gets 503, and is answered once one frees', async () => {
  const { sock, server, backend } = await start({ evictAfterMs: 0 });
  try {
    backend.held = true;
    const busy = Array.from({ length: MAX_CONNECTIONS }, () => client(sock, 'GET / HTTP/1.1\r\n\r\n'));
    await until(() => server.counts.accepted === MAX_CONNECTIONS);
    await sleep(100);
    const ex = await exchange(sock, 'GET / HTTP/1.1\r\n\r\n', { expect: 1, timeoutMs: 5000 });
    assert.equal(ex.responses[0]?.status, 503);
    backend.release();
    assert.ok(await until(() => busy.every((c) => c.data.startsWith('HTTP/1.1 200'))));
    assert.equal((await request(sock, 'GET', '/')).status, 200);
    for (const c of busy) c.s.destroy();
  } finally {
    await server.close();
  }
});

test('timeouts: an idle keep-alive connection is closed; a request that does not arrive whole gets 408 and a close', async () => {
  const { sock, server } = await start({ idleTimeoutMs: 300, requestTimeoutMs: 300 });
  try {
    const idle = client(sock);
    const kept = client(sock, 'GET / HTTP/1.1\r\n\r\n');
    const slow = client(sock, 'PUT /machine-config HTTP/1.1\r\nContent-Length: 50\r\n\r\n{"vcpu_count"');
    assert.ok(await until(() => idle.ended && kept.ended && slow.ended), 'the server closes all three');
    assert.equal(idle.data, '');
    assert.match(kept.data, /^HTTP\/1\.1 200 /);
    const r = splitResponses(slow.data).responses;
    assert.equal(r.length, 1);
    assert.equal(r[0]!.status, 408);
    assert.equal(r[0]!.headers.get('connection'), 'close');
    assert.match((r[0]!.body as { fault_message: string }).fault_message, /^Request timed out/);
    for (const c of [idle, kept, slow]) c.s.destroy();
    assert.ok(await until(() => server.openSockets === 0));
  } finally {
    await server.close();
  }
});

test('a client that never reads its answers: the server stops reading it; memory stays bounded; later reads get every answer in order', async () => {
  const { sock, server } = await start();
  try {
    const s = await open(sock);
    const req = Buffer.from('GET /machine-config HTTP/1.1\r\n\r\n');
    const chunk = Buffer.concat(Array.from({ length: 2048 }, () => req)); // 64 KiB of requests
    let sent = 0;
    // Write up to 8 MiB; stop when the socket no longer takes bytes (the server stopped reading).
    while (sent < 8 << 20) {
      const more = s.write(chunk);
      sent += chunk.length;
      if (!more && !(await Promise.race([new Promise<boolean>((r) => s.once('drain', () => r(true))), sleep(2000).then(() => false)]))) break;
    }
    const answered = server.answered.get(200) ?? 0;
    // Before the fix every request read was answered into an unbounded buffer (8 MiB of requests = 250k answers).
    assert.ok(answered < 20_000, `the server stopped at ${answered} answers for ${sent} bytes of requests`);
    assert.ok(sent < 8 << 20, 'the client\'s writes were held back');
    // Now the client reads: answers flow again, all 200, in order, and the server keeps serving.
    let data = '';
    let got = 0;
    s.on('data', (d) => {
      data += d.toString('latin1');
      const split = splitResponses(data);
      got += split.responses.length;
      for (const r of split.responses) assert.equal(r.status, 200);
      data = split.leftover;
    });
    assert.ok(await until(() => got > answered + 1000, 60_000), `answers keep coming once read (${got})`);
    s.destroy();
  } finally {
    await server.close();
  }
});

test('"All previous unanswered requests will be dropped" is said only when it is done: the connection closes after it', async () => {
  const { sock, server } = await start();
  try {
    // A framing error after a good request: the good one is answered, then the 400 with the suffix, then the close.
    const ex = await exchange(sock, 'GET / HTTP/1.1\r\n\r\nGARBAGE\r\n\r\nGET / HTTP/1.1\r\n\r\n', { expect: 3, timeoutMs: 3000 });
    assert.deepEqual(ex.responses.map((r) => r.status), [200, 400]);
    assert.match((ex.responses[1]!.body as { fault_message: string }).fault_message, /\nAll previous unanswered requests will be dropped\.$/);
    assert.equal(ex.responses[1]!.headers.get('connection'), 'close');
    assert.equal(ex.closed, true);
    // A framed request with an unsupported method drops nothing, so it does not say so, and the next one is answered.
    const ex2 = await exchange(sock, 'DELETE / HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n', { expect: 2 });
    assert.deepEqual(ex2.responses.map((r) => r.status), [400, 200]);
    assert.equal((ex2.responses[0]!.body as { fault_message: string }).fault_message, 'Invalid HTTP Method: Unsupported HTTP method.');
  } finally {
    await server.close();
  }
});

test('a client that leaves its answers unread past the write-stall timeout is disconnected, and its fd released', async () => {
  const { sock, server } = await start({ writeStallTimeoutMs: 300 });
  try {
    const c = client(sock);
    c.s.pause(); // never reads
    const req = Buffer.from('GET /machine-config HTTP/1.1\r\n\r\n');
    const chunk = Buffer.concat(Array.from({ length: 2048 }, () => req));
    await new Promise<void>((r) => c.s.once('connect', () => r()));
    for (let i = 0; i < 64 && !c.closed; i++) {
      c.s.write(chunk);
      await sleep(10);
    }
    assert.ok(await until(() => server.openSockets === 0), 'the server dropped the connection');
    c.s.destroy();
  } finally {
    await server.close();
  }
});

test('clients that pipeline without reading cannot lock others out either: a newcomer takes the place of one', async () => {
  const { sock, server } = await start({ evictAfterMs: 300 });
  try {
    const req = Buffer.from('GET /machine-config HTTP/1.1\r\n\r\n');
    const many = Buffer.concat(Array.from({ length: 32768 }, () => req)); // 1 MiB each, never read
    const hogs = Array.from({ length: MAX_CONNECTIONS }, () => {
      const c = client(sock);
      c.s.pause();
      c.s.on('connect', () => c.s.write(many));
      return c;
    });
    assert.ok(await until(() => server.counts.accepted === MAX_CONNECTIONS));
    // Wait until the server has answered all it will (every hog's answers fill its socket), then some.
    const total = () => server.answered.get(200) ?? 0;
    for (let last = -1; total() !== last;) {
      last = total();
      await sleep(500);
    }
    await sleep(400);
    const r = await request(sock, 'GET', '/');
    assert.equal(r.status, 200);
    assert.ok(server.counts.evicted >= 1);
    assert.ok(hogs.some((h) => h.closed || h.ended), 'a non-reading client was closed to make room');
    for (const h of hogs) h.s.destroy();
  } finally {
    await server.close();
  }
});
