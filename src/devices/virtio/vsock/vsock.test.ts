import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GUEST_BUF_ALLOC, VsockGuest, type GuestPacket } from '../../../../test/helpers/vsock-guest.js';
import { makeRig, virtioDeviceCases } from '../virtio-device.case.js';
import * as S from '../spec.js';
import { MemoryHostStream, MemoryVsockBackend } from './memory-vsock-backend.js';
import type { VsockHostListener } from './vsock-backend.js';
import { CONN_REQUEST_TIMEOUT_MS, CONN_RX_HIGH_WATER, CONN_SHUTDOWN_TIMEOUT_MS, CONN_TX_BUF_SIZE } from './vsock-connection.js';
import { MAX_CONNECTIONS } from './vsock-muxer.js';
import {
  EVENT_TRANSPORT_RESET,
  HDR_SIZE,
  HOST_CID,
  MAX_PKT_PAYLOAD,
  OP_CREDIT_REQUEST,
  OP_CREDIT_UPDATE,
  OP_REQUEST,
  OP_RESPONSE,
  OP_RST,
  OP_RW,
  OP_SHUTDOWN,
  SHUTDOWN_F_RECEIVE,
  SHUTDOWN_F_SEND,
  TYPE_SEQPACKET,
  opName,
  writeHeader,
} from './vsock-packet.js';
import { EVQ, RXQ, VirtioVsock } from './vsock.js';

const CID = 3;
const LOCAL_PORT_0 = 1 << 30;

/** A backend whose host side keeps asking for guest ports: queue 0 always has a REQUEST to deliver. */
class ChattyBackend extends MemoryVsockBackend {
  override start(listener: VsockHostListener): void {
    super.start(listener);
    for (let i = 0; i < 600; i++) this.hostConnect(1000 + i);
  }
}

virtioDeviceCases('virtio-vsock', {
  make: () => new VirtioVsock({ guestCid: CID, backend: new ChattyBackend() }),
  request: () => ({ buffers: [{ writable: HDR_SIZE + 16 }], usedLen: HDR_SIZE }),
});

function setup(opts: { rxBuffers?: number; rxSize?: number } = {}) {
  const clock = { t: 0 };
  const backend = new MemoryVsockBackend();
  const dev = new VirtioVsock({ guestCid: CID, backend, now: () => clock.t });
  const rig = makeRig(dev, 16 << 20);
  const guest = new VsockGuest(rig, CID);
  guest.init(opts);
  return { clock, backend, dev, rig, guest };
}

function ops(pkts: GuestPacket[]): string[] {
  return pkts.map((p) => opName(p.hdr.op));
}

function bytes(n: number, seed = 1): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

/** A host-initiated connection to guest port 52, accepted by the guest. */
function hostConnection(t: ReturnType<typeof setup>, guestPort = 52) {
  const s = t.backend.hostConnect(guestPort);
  const [req] = t.guest.receive();
  assert.equal(req.hdr.op, OP_REQUEST);
  t.guest.send({ op: OP_RESPONSE, srcPort: guestPort, dstPort: req.hdr.srcPort });
  return { s, hostPort: req.hdr.srcPort, guestPort };
}

/** A guest-initiated connection from guest port `guestPort` to host port 1234, accepted by the host. */
function guestConnection(t: ReturnType<typeof setup>, guestPort = 40000, hostPort = 1234) {
  const accepted = t.backend.listening.get(hostPort) ?? t.backend.listen(hostPort);
  t.guest.send({ op: OP_REQUEST, srcPort: guestPort, dstPort: hostPort });
  t.backend.completeConnects();
  const [resp] = t.guest.receive();
  assert.equal(resp.hdr.op, OP_RESPONSE);
  return { s: accepted[accepted.length - 1], hostPort, guestPort };
}

describe('virtio-vsock device', () => {
  it('offers VERSION_1, EVENT_IDX and indirect descriptors, three queues, and the guest CID in its config (§5.10.4)', () => {
    const dev = new VirtioVsock({ guestCid: 0x1_0000_0003 - 0x1_0000_0000 + 40, backend: new MemoryVsockBackend() });
    const r = makeRig(dev);
    assert.equal(r.transport.read(S.MMIO_DEVICE_ID, 4), S.DEVICE_ID_VSOCK);
    assert.equal(dev.availableFeatures, S.F_VERSION_1 | S.F_EVENT_IDX | S.F_INDIRECT_DESC);
    assert.equal(dev.queueMaxSizes.length, 3);
    assert.equal(r.transport.read(S.MMIO_CONFIG, 4), 43);
    assert.equal(r.transport.read(S.MMIO_CONFIG + 4, 4), 0);
    r.transport.write(S.MMIO_CONFIG, 4, 99);
    assert.equal(r.transport.read(S.MMIO_CONFIG, 4), 43);
    assert.equal(dev.metrics.cfgFails, 1);
  });

  it('refuses guest CIDs that are reserved or do not fit 32 bits', () => {
    for (const cid of [0, 1, 2, 0xffff_ffff, 2 ** 32, 1.5]) {
      assert.throws(() => new VirtioVsock({ guestCid: cid, backend: new MemoryVsockBackend() }), /guest CID/);
    }
  });

  it('starts the backend at DRIVER_OK and stops it at reset, dropping the host streams', () => {
    const t = setup();
    assert.equal(t.backend.started, 1);
    const { s } = hostConnection(t);
    t.rig.driver.setStatus(0);
    assert.equal(t.backend.stopped, 1);
    assert.ok(s.destroyed);
    assert.equal(t.dev.connectionCount, 0);
  });

  describe('host-initiated connections (CONNECT <port>)', () => {
    it('sends REQUEST from host port 2^30 to the guest port; the RESPONSE is acknowledged to the host with that port', () => {
      const t = setup();
      const s = t.backend.hostConnect(52);
      const [req] = t.guest.receive();
      assert.equal(opName(req.hdr.op), 'REQUEST');
      assert.deepEqual(
        { src: req.hdr.srcCid, dst: req.hdr.dstCid, sp: req.hdr.srcPort, dp: req.hdr.dstPort, buf: req.hdr.bufAlloc, type: req.hdr.type },
        { src: HOST_CID, dst: CID, sp: LOCAL_PORT_0, dp: 52, buf: CONN_TX_BUF_SIZE, type: 1 },
      );
      assert.equal(s.acceptedPort, null, 'no OK before the guest accepts');
      t.guest.send({ op: OP_RESPONSE, srcPort: 52, dstPort: LOCAL_PORT_0 });
      assert.equal(s.acceptedPort, LOCAL_PORT_0);
      const s2 = t.backend.hostConnect(52);
      assert.equal(t.guest.receive()[0].hdr.srcPort, LOCAL_PORT_0 + 1, 'the next connection gets the next port');
      assert.ok(!s2.destroyed);
    });

    it('moves bytes both ways, byte-exact', () => {
      const t = setup();
      const { s, hostPort, guestPort } = hostConnection(t);
      const toGuest = bytes(100_000, 7);
      s.send(toGuest);
      let got: GuestPacket[] = [];
      for (let i = 0; i < 10; i++) got = got.concat(t.guest.receive());
      assert.deepEqual(VsockGuest.data(got), Buffer.from(toGuest));
      assert.ok(got.every((p) => p.hdr.srcPort === hostPort && p.hdr.dstPort === guestPort));
      const toHost = bytes(20_000, 9);
      t.guest.send({ op: OP_RW, srcPort: guestPort, dstPort: hostPort }, toHost);
      assert.deepEqual(s.read(), Uint8Array.from(toHost));
      assert.equal(t.dev.metrics.rxBytesCount, toGuest.length);
      assert.equal(t.dev.metrics.txBytesCount, toHost.length);
    });

    it('holds host data sent before the guest accepted, and delivers it after the RESPONSE', () => {
      const t = setup();
      const s = t.backend.hostConnect(52);
      s.send(Buffer.from('early bytes'));
      const [req] = t.guest.receive();
      assert.equal(req.hdr.op, OP_REQUEST);
      assert.deepEqual(t.guest.receive(), []);
      t.guest.send({ op: OP_RESPONSE, srcPort: 52, dstPort: req.hdr.srcPort });
      assert.equal(Buffer.from(VsockGuest.data(t.guest.receive())).toString(), 'early bytes');
    });

    it('a port nobody listens on: the guest answers RST and wisp closes the host stream, no OK sent', () => {
      const t = setup();
      const s = t.backend.hostConnect(9999);
      const [req] = t.guest.receive();
      t.guest.send({ op: OP_RST, srcPort: 9999, dstPort: req.hdr.srcPort });
      assert.ok(s.destroyed);
      assert.equal(s.acceptedPort, null);
      assert.equal(t.dev.connectionCount, 0);
      assert.deepEqual(t.guest.receive(), [], 'no RST answers an RST');
    });

    it('a guest that never answers the REQUEST: RST after the request timeout, host stream closed', () => {
      const t = setup();
      const s = t.backend.hostConnect(52);
      t.guest.receive();
      assert.equal(t.dev.retryDelayMs(), CONN_REQUEST_TIMEOUT_MS);
      t.clock.t = CONN_REQUEST_TIMEOUT_MS - 1;
      t.dev.retry();
      assert.ok(!s.destroyed);
      t.clock.t = CONN_REQUEST_TIMEOUT_MS;
      assert.equal(t.dev.retryDelayMs(), 0);
      t.dev.retry();
      assert.ok(s.destroyed);
      assert.deepEqual(ops(t.guest.receive()), ['RST']);
      assert.equal(t.dev.connectionCount, 0);
      assert.equal(t.dev.retryDelayMs(), Infinity);
    });

    it('the host closing before the guest accepts resets the guest side', () => {
      const t = setup();
      const s = t.backend.hostConnect(52);
      t.guest.receive();
      s.hostClose();
      assert.deepEqual(ops(t.guest.receive()), ['RST']);
      assert.equal(t.dev.connectionCount, 0);
    });

    it(`refuses host connections past ${MAX_CONNECTIONS}`, () => {
      const t = setup({ rxBuffers: 8 });
      for (let i = 0; i < MAX_CONNECTIONS; i++) assert.ok(!t.backend.hostConnect(1 + i).destroyed);
      assert.ok(t.backend.hostConnect(5000).destroyed);
      assert.equal(t.dev.connectionCount, MAX_CONNECTIONS);
      assert.equal(t.dev.metrics.connsRefused, 1);
    });
  });

  describe('guest-initiated connections (CID 2, port P)', () => {
    it('connects to the host listener for P and answers RESPONSE once it is up', () => {
      const t = setup();
      const accepted = t.backend.listen(1234);
      t.guest.send({ op: OP_REQUEST, srcPort: 40000, dstPort: 1234 });
      assert.equal(t.backend.pendingConnects, 1);
      assert.deepEqual(t.guest.receive(), [], 'nothing before the host side is up');
      t.backend.completeConnects();
      const [resp] = t.guest.receive();
      assert.equal(opName(resp.hdr.op), 'RESPONSE');
      assert.deepEqual([resp.hdr.srcPort, resp.hdr.dstPort, resp.hdr.srcCid, resp.hdr.dstCid], [1234, 40000, HOST_CID, CID]);
      assert.equal(accepted.length, 1);
      t.guest.send({ op: OP_RW, srcPort: 40000, dstPort: 1234 }, Buffer.from('ping'));
      assert.equal(Buffer.from(accepted[0].read()).toString(), 'ping');
      accepted[0].send(Buffer.from('pong'));
      assert.equal(Buffer.from(VsockGuest.data(t.guest.receive())).toString(), 'pong');
    });

    it('answers RST when nothing listens on the host port', () => {
      const t = setup();
      t.guest.send({ op: OP_REQUEST, srcPort: 40000, dstPort: 77 });
      t.backend.completeConnects();
      const pkts = t.guest.receive();
      assert.deepEqual(ops(pkts), ['RST']);
      assert.deepEqual([pkts[0].hdr.srcPort, pkts[0].hdr.dstPort], [77, 40000]);
      assert.equal(t.dev.connectionCount, 0);
      assert.equal(t.dev.metrics.connsRefused, 1);
    });

    it('a guest RST while the host connect is under way closes the stream when it arrives', () => {
      const t = setup();
      const accepted = t.backend.listen(1234);
      t.guest.send({ op: OP_REQUEST, srcPort: 40000, dstPort: 1234 });
      t.guest.send({ op: OP_RST, srcPort: 40000, dstPort: 1234 });
      t.backend.completeConnects();
      assert.ok(accepted[0].destroyed);
      assert.deepEqual(t.guest.receive(), []);
      assert.equal(t.dev.connectionCount, 0);
    });
  });

  describe('packets that fit no connection', () => {
    it('answers RST to data or SHUTDOWN for an unknown connection, and nothing to an RST', () => {
      const t = setup();
      t.guest.send({ op: OP_RW, srcPort: 5, dstPort: 6 }, Buffer.from('x'));
      t.guest.send({ op: OP_SHUTDOWN, srcPort: 5, dstPort: 7, flags: 3 });
      t.guest.send({ op: OP_RST, srcPort: 5, dstPort: 8 });
      const pkts = t.guest.receive();
      assert.deepEqual(ops(pkts), ['RST', 'RST']);
      assert.deepEqual(pkts.map((p) => [p.hdr.srcPort, p.hdr.dstPort]), [[6, 5], [7, 5]]);
    });

    it('resets SEQPACKET sockets and drops packets for other CIDs', () => {
      const t = setup();
      t.guest.send({ op: OP_REQUEST, srcPort: 5, dstPort: 6, type: TYPE_SEQPACKET });
      assert.deepEqual(ops(t.guest.receive()), ['RST']);
      t.guest.send({ op: OP_REQUEST, srcPort: 5, dstPort: 6, dstCid: 7 });
      t.guest.send({ op: OP_REQUEST, srcPort: 5, dstPort: 6, srcCid: 9 });
      assert.equal(t.backend.pendingConnects, 0);
      assert.equal(t.dev.metrics.txWrongCid, 2);
    });
  });

  describe('flow control (§5.10.6.3)', () => {
    it('never sends more than the guest credit; asks for credit once; continues after a CREDIT_UPDATE', () => {
      const t = setup({ rxBuffers: 256 });
      const { s, hostPort, guestPort } = hostConnection(t);
      const total = 600_000;
      const payload = bytes(total, 3);
      // The host writes in 64 KiB chunks, as a socket read delivers them; the device pauses the stream.
      for (let off = 0; off < total; off += 65536) s.send(payload.subarray(off, off + 65536));
      const got: GuestPacket[] = [];
      for (let i = 0; i < 100; i++) got.push(...t.guest.receive());
      const delivered = VsockGuest.data(got).length;
      assert.equal(delivered, GUEST_BUF_ALLOC, 'exactly the credit the guest gave');
      assert.deepEqual(ops(got).filter((o) => o !== 'RW'), ['CREDIT_REQUEST']);
      assert.ok(t.dev.metrics.rxBytesCount === GUEST_BUF_ALLOC);
      // Bounded: the host stream is paused with at most the high-water mark plus one chunk held.
      assert.ok(s.paused);
      // The guest application read everything: it tells its fwd_cnt.
      const rest: GuestPacket[] = [];
      let fwd = delivered;
      for (let round = 0; round < 20 && fwd < total; round++) {
        t.guest.send({ op: OP_CREDIT_UPDATE, srcPort: guestPort, dstPort: hostPort, fwdCnt: fwd });
        for (let i = 0; i < 100; i++) rest.push(...t.guest.receive());
        fwd = delivered + VsockGuest.data(rest).length;
      }
      assert.deepEqual(Buffer.concat([VsockGuest.data(got), VsockGuest.data(rest)]), Buffer.from(payload));
    });

    it('a guest that stops reading holds at most the high-water mark plus one chunk of host data in wisp', () => {
      const t = setup({ rxBuffers: 0 });
      const s = t.backend.hostConnect(52);
      t.guest.refillRx(1);
      const [req] = t.guest.receive(false);
      t.guest.send({ op: OP_RESPONSE, srcPort: 52, dstPort: req.hdr.srcPort });
      for (let i = 0; i < 1000; i++) s.send(new Uint8Array(65536));
      const conn = (t.dev as unknown as { muxer: { conns: Map<string, { heldRxBytes: number }> } }).muxer.conns.values().next().value!;
      assert.ok(conn.heldRxBytes <= CONN_RX_HIGH_WATER + 65536, `held ${conn.heldRxBytes}`);
      assert.ok(s.paused);
      assert.equal(s.heldBytes + conn.heldRxBytes, 1000 * 65536, 'the rest waits on the host side');
    });

    it('advertises its buffer; a host that stops reading costs at most that; a guest past its credit is reset', () => {
      const t = setup();
      const { s, hostPort, guestPort } = guestConnection(t);
      let sent = 0;
      while (sent + MAX_PKT_PAYLOAD <= CONN_TX_BUF_SIZE) {
        t.guest.send({ op: OP_RW, srcPort: guestPort, dstPort: hostPort }, new Uint8Array(MAX_PKT_PAYLOAD));
        sent += MAX_PKT_PAYLOAD;
      }
      assert.equal(s.pendingWrite, CONN_TX_BUF_SIZE);
      assert.deepEqual(ops(t.guest.receive()), [], 'no credit update: the host freed nothing');
      t.guest.send({ op: OP_RW, srcPort: guestPort, dstPort: hostPort }, new Uint8Array(1));
      assert.deepEqual(ops(t.guest.receive()), ['RST']);
      assert.ok(s.destroyed);
      assert.equal(t.dev.metrics.txCreditViolations, 1);
    });

    it('tells the guest of freed space with a CREDIT_UPDATE once the host reads', () => {
      const t = setup();
      const { s, hostPort, guestPort } = guestConnection(t);
      for (let i = 0; i < 4; i++) t.guest.send({ op: OP_RW, srcPort: guestPort, dstPort: hostPort }, new Uint8Array(MAX_PKT_PAYLOAD));
      assert.deepEqual(ops(t.guest.receive()), []);
      s.read(100_000);
      const pkts = t.guest.receive();
      assert.deepEqual(ops(pkts), ['CREDIT_UPDATE']);
      assert.equal(pkts[0].hdr.fwdCnt, 100_000);
      assert.equal(pkts[0].hdr.bufAlloc, CONN_TX_BUF_SIZE);
    });

    it('answers a CREDIT_REQUEST with a CREDIT_UPDATE', () => {
      const t = setup();
      const { hostPort, guestPort } = guestConnection(t);
      t.guest.send({ op: OP_CREDIT_REQUEST, srcPort: guestPort, dstPort: hostPort });
      const pkts = t.guest.receive();
      assert.deepEqual(ops(pkts), ['CREDIT_UPDATE']);
    });
  });

  describe('shutdown and reset (§5.10.6.4)', () => {
    it('guest half-close: the host reads EOF and can still answer; the host EOF then ends it', () => {
      const t = setup();
      const { s, hostPort, guestPort } = guestConnection(t);
      t.guest.send({ op: OP_RW, srcPort: guestPort, dstPort: hostPort }, Buffer.from('request'));
      t.guest.send({ op: OP_SHUTDOWN, srcPort: guestPort, dstPort: hostPort, flags: SHUTDOWN_F_SEND });
      assert.ok(s.writeEnded);
      assert.equal(Buffer.from(s.read()).toString(), 'request');
      s.send(Buffer.from('reply'));
      s.sendEof();
      const pkts = t.guest.receive();
      assert.deepEqual(ops(pkts), ['RW', 'SHUTDOWN']);
      assert.equal(Buffer.from(pkts[0].payload).toString(), 'reply');
      assert.equal(pkts[1].hdr.flags, SHUTDOWN_F_SEND | SHUTDOWN_F_RECEIVE, 'both directions are done now');
      // Linux answers the final SHUTDOWN with RST.
      t.guest.send({ op: OP_RST, srcPort: guestPort, dstPort: hostPort });
      assert.equal(t.dev.connectionCount, 0);
    });

    it('host half-close: the guest gets SHUTDOWN(SEND) after the data, keeps sending; its SHUTDOWN gets RST', () => {
      const t = setup();
      const { s, hostPort, guestPort } = hostConnection(t);
      s.send(Buffer.from('all of it'));
      s.sendEof();
      const pkts = t.guest.receive();
      assert.deepEqual(ops(pkts), ['RW', 'SHUTDOWN']);
      assert.equal(pkts[1].hdr.flags, SHUTDOWN_F_SEND);
      t.guest.send({ op: OP_RW, srcPort: guestPort, dstPort: hostPort }, Buffer.from('answer'));
      assert.equal(Buffer.from(s.read()).toString(), 'answer');
      t.guest.send({ op: OP_SHUTDOWN, srcPort: guestPort, dstPort: hostPort, flags: SHUTDOWN_F_SEND | SHUTDOWN_F_RECEIVE });
      assert.deepEqual(ops(t.guest.receive()), ['RST']);
      assert.ok(s.closedGracefully, 'closed after flushing, not destroyed');
      assert.equal(t.dev.connectionCount, 0);
      assert.equal(t.dev.metrics.connsClosed, 1);
    });

    it('guest close with data unread by the host: RST to the guest, the host stream flushed then closed', () => {
      const t = setup();
      const { s, hostPort, guestPort } = guestConnection(t);
      t.guest.send({ op: OP_RW, srcPort: guestPort, dstPort: hostPort }, Buffer.from('last words'));
      t.guest.send({ op: OP_SHUTDOWN, srcPort: guestPort, dstPort: hostPort, flags: SHUTDOWN_F_SEND | SHUTDOWN_F_RECEIVE });
      assert.deepEqual(ops(t.guest.receive()), ['RST']);
      assert.ok(s.closedGracefully && !s.destroyed);
      assert.equal(Buffer.from(s.read()).toString(), 'last words');
    });

    it('a guest that never answers the final SHUTDOWN is reset after the shutdown timeout', () => {
      const t = setup();
      const { s, hostPort, guestPort } = guestConnection(t);
      t.guest.send({ op: OP_SHUTDOWN, srcPort: guestPort, dstPort: hostPort, flags: SHUTDOWN_F_SEND });
      s.sendEof();
      assert.deepEqual(ops(t.guest.receive()), ['SHUTDOWN']);
      assert.equal(t.dev.retryDelayMs(), CONN_SHUTDOWN_TIMEOUT_MS);
      t.clock.t += CONN_SHUTDOWN_TIMEOUT_MS;
      t.dev.retry();
      assert.deepEqual(ops(t.guest.receive()), ['RST']);
      assert.equal(t.dev.connectionCount, 0);
    });

    it('the host going away resets the guest socket', () => {
      const t = setup();
      const { s } = hostConnection(t);
      s.hostClose('ECONNRESET');
      assert.deepEqual(ops(t.guest.receive()), ['RST']);
      assert.equal(t.dev.connectionCount, 0);
      assert.equal(t.dev.metrics.connsKilled, 1);
    });

    it('a guest RST drops the connection and its host stream at once', () => {
      const t = setup();
      const { s, hostPort, guestPort } = hostConnection(t);
      t.guest.send({ op: OP_RW, srcPort: guestPort, dstPort: hostPort }, Buffer.from('unread'));
      t.guest.send({ op: OP_RST, srcPort: guestPort, dstPort: hostPort });
      assert.ok(s.destroyed);
      assert.equal(t.dev.connectionCount, 0);
      assert.deepEqual(t.guest.receive(), []);
    });
  });

  describe('many connections', () => {
    it('carries 50 concurrent connections, interleaved, each byte-exact, sharing RX buffers fairly', () => {
      const t = setup({ rxBuffers: 0 });
      const conns = Array.from({ length: 50 }, (_, i) => {
        const s = t.backend.hostConnect(100 + i);
        t.guest.refillRx(1);
        const [req] = t.guest.receive(false);
        t.guest.send({ op: OP_RESPONSE, srcPort: 100 + i, dstPort: req.hdr.srcPort });
        return { s, hostPort: req.hdr.srcPort, guestPort: 100 + i };
      });
      const data = conns.map((_, i) => bytes(30_000 + i * 101, i + 1));
      // All the data is waiting before the guest posts RX buffers: who gets them is the device's choice.
      conns.forEach((c, i) => c.s.send(data[i]));
      t.guest.refillRx(32);
      const byPort = new Map<number, Uint8Array[]>();
      const first: number[] = [];
      for (let round = 0; round < 200; round++) {
        for (const p of t.guest.receive()) {
          assert.equal(p.hdr.op, OP_RW, opName(p.hdr.op));
          if (first.length < 50) first.push(p.hdr.dstPort);
          const l = byPort.get(p.hdr.dstPort) ?? [];
          l.push(p.payload);
          byPort.set(p.hdr.dstPort, l);
        }
      }
      conns.forEach((c, i) => assert.deepEqual(Buffer.concat(byPort.get(c.guestPort) ?? []), Buffer.from(data[i]), `connection ${i}`));
      assert.equal(new Set(first).size, 50, 'round robin: each connection got one of the first 50 buffers');
      // And the other way.
      conns.forEach((c, i) => t.guest.send({ op: OP_RW, srcPort: c.guestPort, dstPort: c.hostPort }, data[49 - i].subarray(0, 5000)));
      conns.forEach((c, i) => assert.deepEqual(c.s.read(), data[49 - i].subarray(0, 5000)));
    });
  });

  describe('hostile guests', () => {
    it('returns TX chains shorter than a header, or announcing more than they hold or 64 KiB, unread', () => {
      const t = setup();
      assert.equal(t.guest.sendRaw(new Uint8Array(43)), 0);
      const hb = new Uint8Array(HDR_SIZE + 10);
      writeHeader(t.guest.header({ op: OP_REQUEST, srcPort: 1, dstPort: 2, len: 11 }), hb);
      assert.equal(t.guest.sendRaw(hb), 0);
      const big = new Uint8Array(HDR_SIZE + MAX_PKT_PAYLOAD + 1);
      writeHeader(t.guest.header({ op: OP_RW, srcPort: 1, dstPort: 2, len: MAX_PKT_PAYLOAD + 1 }), big);
      assert.equal(t.guest.sendRaw(big), 0);
      assert.equal(t.dev.metrics.txInvalidPackets, 3);
      assert.equal(t.backend.pendingConnects, 0);
      assert.deepEqual(t.guest.receive(), []);
    });

    it('returns RX buffers too small for a header with len 0 and keeps the packet for the next one', () => {
      const t = setup({ rxBuffers: 0 });
      t.guest.refillRx(1, 20);
      t.backend.hostConnect(52);
      t.guest.refillRx(1);
      const pkts = t.guest.receive(false);
      assert.deepEqual(pkts.map((p) => p.hdr.op), [-1, OP_REQUEST]);
      assert.equal(t.dev.metrics.rxInvalidBuffers, 1);
    });

    it('ignores data on a connection that is not established, and a RESPONSE out of place', () => {
      const t = setup();
      const s = t.backend.hostConnect(52);
      const [req] = t.guest.receive();
      t.guest.send({ op: OP_RW, srcPort: 52, dstPort: req.hdr.srcPort }, Buffer.from('too early'));
      assert.equal(s.pendingWrite, 0);
      const g = guestConnection(t);
      t.guest.send({ op: OP_RESPONSE, srcPort: g.guestPort, dstPort: g.hostPort });
      assert.equal(t.dev.metrics.txDroppedPackets, 2);
      assert.equal(t.dev.connectionCount, 2);
    });

    it('survives a flood of packets for unknown connections with a bounded RST queue', () => {
      const t = setup({ rxBuffers: 0 });
      for (let i = 0; i < 1000; i++) t.guest.send({ op: OP_RW, srcPort: i, dstPort: 1 }, new Uint8Array(1));
      assert.equal(t.dev.metrics.rstDropped, 1000 - 256);
      t.guest.refillRx(256);
      assert.equal(t.guest.receive(false).length, 256);
    });
  });

  describe('transport reset (for snapshots)', () => {
    it('puts TRANSPORT_RESET in the event queue, drops every connection, holds RX until the guest acks', () => {
      const t = setup();
      const { s } = hostConnection(t);
      t.rig.driver.ackInterrupts();
      assert.equal(t.dev.sendTransportReset(), true);
      assert.deepEqual(t.guest.events(), [EVENT_TRANSPORT_RESET]);
      // With EVENT_IDX the driver kicks only when avail_event says so: its refill must be asked for.
      assert.equal(t.rig.driver.availEvent(EVQ), 4, 'avail_event = the driver\'s avail index (4 event buffers)');
      assert.ok(t.rig.driver.read(S.MMIO_INTERRUPT_STATUS) & S.INT_USED_BUFFER);
      assert.ok(s.destroyed);
      assert.equal(t.dev.connectionCount, 0);
      assert.deepEqual(t.dev.save(), { guestCid: CID, pendingEventAck: true });
      // New connections wait until the guest has seen the reset.
      t.backend.hostConnect(53);
      assert.deepEqual(t.guest.receive(), []);
      t.guest.ackEvent();
      assert.deepEqual(ops(t.guest.receive()), ['REQUEST']);
      assert.equal(t.dev.save().pendingEventAck, false);
    });

    it('does not hand a dropped connection\'s ports to a new one, and ignores RSTs that cannot answer a REQUEST not yet sent', () => {
      const t = setup();
      const { hostPort } = hostConnection(t);
      assert.equal(t.dev.sendTransportReset(), true);
      const s = t.backend.hostConnect(52);
      // The guest, still closing its old socket, resets it: same ports as before the reset.
      t.guest.send({ op: OP_RST, srcPort: 52, dstPort: hostPort });
      assert.ok(!s.destroyed, 'the new connection is untouched');
      t.guest.ackEvent();
      const [req] = t.guest.receive();
      assert.equal(req.hdr.op, OP_REQUEST);
      assert.notEqual(req.hdr.srcPort, hostPort, 'a new host port');
      t.guest.send({ op: OP_RESPONSE, srcPort: 52, dstPort: req.hdr.srcPort });
      assert.equal(s.acceptedPort, req.hdr.srcPort);
    });

    it('counts a reset with no event buffer to put it in', () => {
      const clock = { t: 0 };
      const dev = new VirtioVsock({ guestCid: CID, backend: new MemoryVsockBackend(), now: () => clock.t });
      const guest = new VsockGuest(makeRig(dev), CID);
      guest.init({ evBuffers: 0 });
      assert.equal(dev.sendTransportReset(), false);
      assert.equal(dev.metrics.evQueueEventFails, 1);
    });

    it('restores the pending acknowledgement and signals the event queue again', () => {
      const t = setup();
      t.rig.driver.ackInterrupts();
      t.dev.restore({ guestCid: CID, pendingEventAck: true });
      assert.ok(t.rig.driver.read(S.MMIO_INTERRUPT_STATUS) & S.INT_USED_BUFFER);
      t.backend.hostConnect(53);
      assert.deepEqual(t.guest.receive(), []);
      assert.throws(() => t.dev.restore({ guestCid: 4, pendingEventAck: false }), /CID 4/);
    });
  });

  it('raises the used-buffer interrupt when host data arrives between device calls', () => {
    const t = setup();
    const { s } = hostConnection(t);
    t.rig.driver.ackInterrupts();
    t.rig.driver.setUsedEvent(RXQ, t.rig.driver.usedIdx(RXQ));
    assert.equal(t.rig.irq.level, false);
    s.send(Buffer.from('wake up'));
    assert.equal(t.rig.irq.level, true);
    assert.ok(t.rig.driver.usedIdx(RXQ) > 0);
    void EVQ;
  });
});
