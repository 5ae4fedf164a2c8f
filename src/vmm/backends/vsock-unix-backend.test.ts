import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, describe, it } from 'node:test';
import { VsockGuest, type GuestPacket } from '../../../test/helpers/vsock-guest.js';
import { makeRig } from '../../devices/virtio/virtio-device.case.js';
import { CONN_TX_BUF_SIZE } from '../../devices/virtio/vsock/vsock-connection.js';
import { OP_CREDIT_UPDATE, OP_REQUEST, OP_RESPONSE, OP_RST, OP_RW, OP_SHUTDOWN, SHUTDOWN_F_RECEIVE, SHUTDOWN_F_SEND, opName } from '../../devices/virtio/vsock/vsock-packet.js';
import { VirtioVsock } from '../../devices/virtio/vsock/vsock.js';
import { parseConnectLine, UDS_PATH_MAX, VsockUnixBackend } from './vsock-unix-backend.js';

const dir = mkdtempSync(join(tmpdir(), `wisp-vsock-${process.pid}-`));
/** Everything a test opened, closed even when it fails (a leftover socket would keep the file's process alive). */
const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0)) await f();
});
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

async function until<T>(what: string, f: () => T | undefined | false, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

async function rig() {
  const path = join(dir, `v${n++}.sock`);
  const backend = await VsockUnixBackend.open(path);
  cleanup.push(() => backend.close());
  const dev = new VirtioVsock({ guestCid: 3, backend });
  const guest = new VsockGuest(makeRig(dev, 128 << 20), 3);
  guest.init({ rxBuffers: 128 });
  const got: GuestPacket[] = [];
  const take = (): GuestPacket[] => {
    got.push(...guest.receive());
    return got;
  };
  return { path, backend, dev, guest, got, take };
}

/** A host client: connects, says CONNECT, collects everything it reads. */
function hostClient(path: string, line: string) {
  const s = connect(path);
  cleanup.push(() => s.destroy());
  const chunks: Buffer[] = [];
  const state = { ended: false, closed: false };
  s.on('data', (b) => chunks.push(b));
  s.on('end', () => (state.ended = true));
  s.on('close', () => (state.closed = true));
  s.on('error', () => {});
  s.write(line);
  return { s, state, text: () => Buffer.concat(chunks).toString('latin1'), bytes: () => Buffer.concat(chunks) };
}

describe('parseConnectLine', () => {
  it('takes Firecracker\'s CONNECT <port> in any case, with a u32 port', () => {
    assert.equal(parseConnectLine('CONNECT 52'), 52);
    assert.equal(parseConnectLine('connect  4294967295 '), 0xffff_ffff);
    assert.equal(parseConnectLine('Connect +7'), 7);
    for (const bad of ['CONNECT', 'CONNECT -1', 'CONNECT 4294967296', 'LISTEN 5', 'CONNECT 5x', '']) assert.equal(parseConnectLine(bad), null, bad);
  });
});

describe('VsockUnixBackend (Firecracker\'s hybrid model, real Unix sockets)', () => {
  it('refuses a uds_path that exists or is too long', async () => {
    const taken = join(dir, 'taken');
    writeFileSync(taken, '');
    await assert.rejects(VsockUnixBackend.open(taken), /EADDRINUSE/);
    await assert.rejects(VsockUnixBackend.open(join(dir, 'x'.repeat(UDS_PATH_MAX))), /at most 107 bytes/);
  });

  it('host-initiated: CONNECT 52 reaches the guest listener, the host reads OK <port>, bytes flow both ways', async () => {
    const t = await rig();
    const c = hostClient(t.path, 'CONNECT 52\nhello');
    const req = await until('REQUEST', () => t.take().find((p) => p.hdr.op === OP_REQUEST));
    assert.equal(req.hdr.dstPort, 52);
    t.guest.send({ op: OP_RESPONSE, srcPort: 52, dstPort: req.hdr.srcPort });
    await until('OK', () => c.text() === `OK ${1 << 30}\n`);
    const first = await until('early data', () => VsockGuest.data(t.take()).length === 5 && t.got);
    assert.equal(Buffer.from(VsockGuest.data(first)).toString(), 'hello');
    t.guest.send({ op: OP_RW, srcPort: 52, dstPort: req.hdr.srcPort }, Buffer.from('world'));
    await until('guest data at the host', () => c.text().endsWith('world'));
    // The host closing reads as EOF on a Unix socket: the guest hears SHUTDOWN(SEND), as for a half-close.
    c.s.destroy();
    const sd = await until('SHUTDOWN after the host closed', () => t.take().find((p) => p.hdr.op === OP_SHUTDOWN));
    assert.equal(sd.hdr.flags, SHUTDOWN_F_SEND);
    t.guest.send({ op: OP_SHUTDOWN, srcPort: 52, dstPort: req.hdr.srcPort, flags: SHUTDOWN_F_SEND | SHUTDOWN_F_RECEIVE });
    await until('RST answering the guest close', () => t.take().some((p) => p.hdr.op === OP_RST));
    assert.equal(t.dev.connectionCount, 0);
    await t.backend.close();
  });

  it('host-initiated to a port nobody listens on: the guest RSTs, the host socket is closed with nothing written', async () => {
    const t = await rig();
    const c = hostClient(t.path, 'CONNECT 9999\n');
    const req = await until('REQUEST', () => t.take().find((p) => p.hdr.op === OP_REQUEST));
    t.guest.send({ op: OP_RST, srcPort: 9999, dstPort: req.hdr.srcPort });
    await until('host socket closed', () => c.state.closed);
    assert.equal(c.text(), '');
    assert.equal(t.dev.connectionCount, 0);
    await t.backend.close();
  });

  it('closes host sockets whose CONNECT line is malformed or longer than 32 bytes', async () => {
    const t = await rig();
    const a = hostClient(t.path, 'HELLO 52\n');
    const b = hostClient(t.path, 'CONNECT ' + '0'.repeat(40) + '52\n');
    await until('both closed', () => a.state.closed && b.state.closed);
    assert.equal(t.backend.metrics.badConnectLines, 2);
    assert.equal(t.dev.connectionCount, 0);
    await t.backend.close();
  });

  it('guest-initiated: a connection to CID 2 port 1234 reaches <uds_path>_1234; nothing listening gets RST', async () => {
    const t = await rig();
    const accepted: Socket[] = [];
    const received: Buffer[] = [];
    const server: Server = createServer({ allowHalfOpen: true }, (s) => {
      accepted.push(s);
      s.on('data', (b) => received.push(b));
      s.on('end', () => s.end('bye'));
    });
    await new Promise<void>((r) => server.listen(`${t.path}_1234`, r));
    cleanup.push(() => {
      for (const a of accepted) a.destroy();
      server.close();
    });
    t.guest.send({ op: OP_REQUEST, srcPort: 40000, dstPort: 1234 });
    await until('RESPONSE', () => t.take().some((p) => p.hdr.op === OP_RESPONSE));
    t.guest.send({ op: OP_RW, srcPort: 40000, dstPort: 1234 }, Buffer.from('ping'));
    t.guest.send({ op: OP_SHUTDOWN, srcPort: 40000, dstPort: 1234, flags: SHUTDOWN_F_SEND });
    await until('the host reply and EOF', () => {
      const pkts = t.take();
      return Buffer.from(VsockGuest.data(pkts)).toString() === 'bye' && pkts.some((p) => p.hdr.op === OP_SHUTDOWN);
    });
    assert.equal(Buffer.concat(received).toString(), 'ping');
    const sd = t.got.find((p) => p.hdr.op === OP_SHUTDOWN)!;
    assert.equal(sd.hdr.flags, SHUTDOWN_F_SEND | SHUTDOWN_F_RECEIVE);

    t.guest.send({ op: OP_REQUEST, srcPort: 40001, dstPort: 4321 });
    await until('RST', () => t.take().some((p) => p.hdr.op === OP_RST && p.hdr.dstPort === 40001));
    assert.equal(t.backend.metrics.connectFails, 1);
    server.close();
    await t.backend.close();
  });

  it('echoes a megabyte byte-exact through a host socket, within the credit both ways', async () => {
    const t = await rig();
    const c = hostClient(t.path, 'CONNECT 7\n');
    const req = await until('REQUEST', () => t.take().find((p) => p.hdr.op === OP_REQUEST));
    const hp = req.hdr.srcPort;
    t.guest.send({ op: OP_RESPONSE, srcPort: 7, dstPort: hp });
    await until('OK', () => c.text().startsWith('OK '));
    const payload = Buffer.alloc(1 << 20);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 7 + (i >> 11)) & 0xff;
    c.s.write(payload);
    // The guest echoes what it receives, honouring the host's credit, and reports what it consumed.
    let consumed = 0;
    let echoed = 0;
    let seen = 0;
    let told = 0;
    let hostBuf = 0;
    let hostFwd = 0;
    const backlog: Uint8Array[] = [];
    await until('echo complete', () => {
      const pkts = t.take();
      for (; seen < pkts.length; seen++) {
        const p = pkts[seen];
        if (p.hdr.srcPort !== hp) continue;
        hostBuf = p.hdr.bufAlloc;
        hostFwd = p.hdr.fwdCnt;
        if (p.hdr.op !== OP_RW) continue;
        consumed += p.payload.length;
        backlog.push(p.payload);
      }
      while (backlog.length > 0) {
        const credit = hostBuf - (echoed - hostFwd);
        if (credit <= 0) break;
        const head = backlog[0];
        const n = Math.min(head.length, credit);
        t.guest.send({ op: OP_RW, srcPort: 7, dstPort: hp, fwdCnt: consumed }, head.subarray(0, n));
        echoed += n;
        told = consumed;
        if (n === head.length) backlog.shift();
        else backlog[0] = head.subarray(n);
      }
      if (consumed !== told) {
        t.guest.send({ op: OP_CREDIT_UPDATE, srcPort: 7, dstPort: hp, fwdCnt: consumed });
        told = consumed;
      }
      return c.bytes().length === `OK ${hp}\n`.length + payload.length;
    }, 60_000);
    assert.equal(echoed, payload.length);
    assert.ok(c.bytes().subarray(`OK ${hp}\n`.length).equals(payload));
    assert.ok(t.take().every((p) => opName(p.hdr.op) !== 'RST'));
    c.s.destroy();
    await t.backend.close();
  });

  it('a host that stops reading: what wisp buffers stays within the credit it advertised', async () => {
    const t = await rig();
    const hostSockets: Socket[] = [];
    const server = createServer((s) => {
      hostSockets.push(s);
      s.pause();
    });
    await new Promise<void>((r) => server.listen(`${t.path}_99`, r));
    cleanup.push(() => {
      for (const h of hostSockets) h.destroy();
      server.close();
    });
    t.guest.send({ op: OP_REQUEST, srcPort: 50, dstPort: 99 });
    await until('RESPONSE', () => t.take().some((p) => p.hdr.op === OP_RESPONSE));
    let sent = 0;
    const chunk = Buffer.alloc(65536, 1);
    // A well-behaved guest sends only within credit: buf_alloc minus what is not yet forwarded.
    for (let round = 0; round < 200; round++) {
      const last = [...t.take()].reverse().find((p) => p.hdr.srcPort === 99);
      const fwd = last ? last.hdr.fwdCnt : 0;
      const credit = CONN_TX_BUF_SIZE - (sent - fwd);
      if (credit >= chunk.length) {
        t.guest.send({ op: OP_RW, srcPort: 50, dstPort: 99 }, chunk);
        sent += chunk.length;
      } else await new Promise((r) => setTimeout(r, 5));
    }
    const streams = (t.backend as unknown as { streams: Set<{ pendingWrite: number }> }).streams;
    const held = [...streams].reduce((a, s) => a + s.pendingWrite, 0);
    assert.ok(held <= CONN_TX_BUF_SIZE, `wisp holds ${held} bytes`);
    assert.ok(sent < 200 * chunk.length, 'the guest was held back by its credit');
    server.close();
    await t.backend.close();
  });
});
