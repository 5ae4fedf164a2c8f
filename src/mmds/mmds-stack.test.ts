import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MmdsDataStore } from './data-store.js';
import {
  ETH_HDR,
  ETHERTYPE_ARP,
  ipv4FromString,
  macFromString,
  parseIpv4,
  parseTcp,
  TCP_ACK,
  TCP_FIN,
  TCP_RST,
  TCP_SYN,
  tcpChecksumOk,
  writeTcpFrame,
  type TcpSegment,
} from './frames.js';
import { fromPlain } from './json-value.js';
import { newMmdsMetrics } from './mmds-metrics.js';
import { DEFAULT_MMDS_IPV4, isLinkLocalValid, MMDS_MAC, MmdsNetworkStack } from './mmds-stack.js';
import { RCV_BUF_MAX, RTO_COUNT_MAX, RTO_MS } from './tcp-endpoint.js';
import { MAX_CONNECTIONS } from './tcp-handler.js';
import { TokenAuthority } from './token-authority.js';

const GUEST_MAC = macFromString('52:54:00:12:34:56');
const GUEST_IP = ipv4FromString('10.0.0.2')!;
const MMDS_IP = DEFAULT_MMDS_IPV4;
const ISN = 5000;

function setup(opts: { value?: unknown } = {}) {
  const clock = { t: 0 };
  const store = new MmdsDataStore();
  store.put(fromPlain(opts.value ?? { latest: { 'meta-data': { 'ami-id': 'ami-87654321' } } }));
  const svc = { store, version: 'V1' as const, tokens: new TokenAuthority(() => clock.t), metrics: newMmdsMetrics() };
  const stack = new MmdsNetworkStack(svc, MMDS_IP, () => clock.t, () => ISN);
  return { clock, svc, stack, m: svc.metrics };
}

interface Seen {
  seg: TcpSegment;
  frame: Uint8Array;
}

/** Everything the stack has for the guest now, decoded. */
function drain(stack: MmdsNetworkStack): Seen[] {
  const out: Seen[] = [];
  for (let f = stack.nextFrame(); f; f = stack.nextFrame()) {
    const ip = parseIpv4(f)!;
    out.push({ seg: parseTcp(ip.payload)!, frame: f });
  }
  return out;
}

/** A guest-side TCP client, as far as these tests need one. */
class Client {
  seq = 100;
  ack = 0;
  constructor(
    readonly stack: MmdsNetworkStack,
    readonly port = 40000,
    readonly mss?: number,
  ) {}
  send(flags: number, payload?: Uint8Array, over: Partial<{ seq: number; ack: number; dstPort: number; window: number }> = {}): void {
    const f = writeTcpFrame(GUEST_MAC, macFromString(MMDS_MAC), GUEST_IP, MMDS_IP, {
      srcPort: this.port,
      dstPort: over.dstPort ?? 80,
      seq: over.seq ?? this.seq,
      ack: over.ack ?? this.ack,
      flags,
      window: over.window ?? 64240,
      mss: flags & TCP_SYN ? this.mss : undefined,
      payload,
    });
    assert.ok(this.stack.isMmdsFrame(f));
    this.stack.detour(f);
    this.seq = (this.seq + (payload?.length ?? 0) + (flags & (TCP_SYN | TCP_FIN) ? 1 : 0)) >>> 0;
  }
  /** SYN, SYN-ACK, ACK. */
  connect(): TcpSegment {
    this.send(TCP_SYN);
    const [synack] = drain(this.stack);
    this.ack = (synack.seg.seq + 1) >>> 0;
    this.send(TCP_ACK);
    return synack.seg;
  }
  /** Sends a request; ACKs and collects response data until nothing more comes. */
  request(text: string): string {
    this.send(TCP_ACK, Buffer.from(text, 'latin1'));
    let body = '';
    for (let i = 0; i < 100; i++) {
      const segs = drain(this.stack).filter((s) => s.seg.payload.length > 0);
      if (segs.length === 0) break;
      for (const s of segs) {
        assert.equal(s.seg.seq, this.ack, 'in order');
        body += Buffer.from(s.seg.payload).toString('latin1');
        this.ack = (this.ack + s.seg.payload.length) >>> 0;
      }
      this.send(TCP_ACK);
    }
    return body;
  }
}

describe('MmdsNetworkStack (ARP, IPv4, TCP, HTTP on raw frames)', () => {
  it('claims ARP for its address and IPv4 to it, nothing else', () => {
    const { stack } = setup();
    const arp = (tpa: number): Uint8Array => {
      const f = new Uint8Array(42);
      f.set([0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 0);
      f.set(GUEST_MAC, 6);
      f[12] = 0x08;
      f[13] = 0x06;
      f.set([0, 1, 8, 0, 6, 4, 0, 1], 14);
      f.set(GUEST_MAC, 22);
      new DataView(f.buffer).setUint32(28, GUEST_IP);
      new DataView(f.buffer).setUint32(38, tpa);
      return f;
    };
    assert.ok(stack.isMmdsFrame(arp(MMDS_IP)));
    assert.ok(!stack.isMmdsFrame(arp(GUEST_IP)));
    const other = writeTcpFrame(GUEST_MAC, GUEST_MAC, GUEST_IP, ipv4FromString('1.1.1.1')!, { srcPort: 1, dstPort: 80, seq: 0, ack: 0, flags: TCP_SYN, window: 0 });
    assert.ok(!stack.isMmdsFrame(other));
    assert.ok(!stack.isMmdsFrame(new Uint8Array(13)));
    assert.ok(!stack.isMmdsFrame(Uint8Array.from([...new Uint8Array(12), 0x86, 0xdd, ...new Uint8Array(40)])), 'IPv6');
    assert.ok(!stack.isMmdsFrame(arp(MMDS_IP).subarray(0, 41)), 'too short to hold the target address');

    stack.detour(arp(MMDS_IP));
    const reply = stack.nextFrame()!;
    assert.equal(reply.length, ETH_HDR + 28);
    assert.deepEqual([...reply.subarray(0, 6)], [...GUEST_MAC]);
    assert.deepEqual([...reply.subarray(6, 12)], [...macFromString(MMDS_MAC)]);
    assert.equal((reply[12] << 8) | reply[13], ETHERTYPE_ARP);
    const dv = new DataView(reply.buffer);
    assert.equal(dv.getUint16(20), 2, 'a reply');
    assert.deepEqual([...reply.subarray(22, 28)], [...macFromString(MMDS_MAC)]);
    assert.equal(dv.getUint32(28), MMDS_IP);
    assert.deepEqual([...reply.subarray(32, 38)], [...GUEST_MAC]);
    assert.equal(dv.getUint32(38), GUEST_IP);
    assert.equal(stack.nextFrame(), null);
  });

  it('serves an HTTP exchange over TCP: handshake, MSS-sized segments, FIN both ways, checksums right', () => {
    const { stack, m } = setup({ value: { latest: { 'meta-data': { blob: 'x'.repeat(700) } } } });
    const c = new Client(stack, 40000, 200);
    const synack = c.connect();
    assert.equal(synack.flags, TCP_SYN | TCP_ACK);
    assert.equal(synack.seq, ISN);
    assert.equal(synack.ack, 101);
    assert.equal(synack.mss, 200, 'our MSS option echoes the guest\'s');
    assert.equal(synack.window, RCV_BUF_MAX);
    assert.equal(m.connectionsCreated, 1);
    c.send(TCP_ACK, Buffer.from('GET /latest/meta-data/blob HTTP/1.1\r\nHost: 169.254.169.254\r\n\r\n'));
    const segs = drain(stack);
    assert.ok(segs.every((s) => tcpChecksumOk(s.frame)));
    assert.ok(segs.every((s) => s.frame[ETH_HDR + 8] === 1), 'TTL 1');
    const data = segs.filter((s) => s.seg.payload.length > 0);
    assert.ok(data.length >= 4, `split by the MSS (${data.length} segments)`);
    assert.ok(data.every((s) => s.seg.payload.length <= 200));
    const text = Buffer.concat(data.map((s) => s.seg.payload)).toString();
    assert.ok(text.startsWith('HTTP/1.1 200 \r\n'));
    assert.ok(text.endsWith('x'.repeat(700)));
    c.ack = (ISN + 1 + text.length) >>> 0;
    c.send(TCP_ACK | TCP_FIN);
    const fin = drain(stack);
    assert.deepEqual(fin.map((s) => s.seg.flags), [TCP_ACK | TCP_FIN]);
    assert.equal(fin[0].seg.ack, c.seq);
    c.ack++;
    c.send(TCP_ACK);
    assert.equal(stack.connectionCount, 0);
    assert.equal(m.connectionsDestroyed, 1);
    assert.equal(m.rxAcceptedErr, 0);
  });

  it('keeps a connection alive for several requests and answers each', () => {
    const { stack } = setup();
    const c = new Client(stack);
    c.connect();
    for (let i = 0; i < 3; i++) assert.ok(c.request('GET /latest/meta-data/ami-id HTTP/1.1\r\n\r\n').endsWith('\r\n\r\nami-87654321'));
    assert.equal(stack.connectionCount, 1);
  });

  it('retransmits unacknowledged data after the RTO, and gives up with RST after 15 tries', () => {
    const { stack, clock } = setup();
    const c = new Client(stack);
    c.connect();
    c.send(TCP_ACK, Buffer.from('GET /latest HTTP/1.1\r\n\r\n'));
    const first = drain(stack).filter((s) => s.seg.payload.length > 0);
    assert.equal(first.length, 1);
    assert.equal(stack.nextTimeoutMs(), RTO_MS);
    clock.t += RTO_MS;
    const again = drain(stack);
    assert.equal(again.length, 1);
    assert.equal(again[0].seg.seq, first[0].seg.seq);
    assert.deepEqual(again[0].seg.payload, first[0].seg.payload);
    for (let i = 1; i < RTO_COUNT_MAX - 1; i++) {
      clock.t += RTO_MS;
      assert.equal(drain(stack).length, 1);
    }
    clock.t += RTO_MS;
    const last = drain(stack);
    assert.equal(last.length, 1);
    assert.equal(last[0].seg.flags & TCP_RST, TCP_RST);
    assert.equal(stack.connectionCount, 0);
  });

  it('resets segments that belong to no connection (but never answers an RST)', () => {
    const { stack } = setup();
    const c = new Client(stack);
    c.send(TCP_ACK, Buffer.from('hi'), { ack: 777 });
    const [a] = drain(stack);
    assert.deepEqual([a.seg.flags, a.seg.seq], [TCP_RST, 777]);
    c.send(TCP_FIN, undefined, { seq: 50 });
    const [b] = drain(stack);
    assert.deepEqual([b.seg.flags, b.seg.ack], [TCP_RST | TCP_ACK, 51]);
    c.send(TCP_RST);
    assert.deepEqual(drain(stack), []);
  });

  it('resets a request that does not end within 2500 bytes', () => {
    const { stack } = setup();
    const c = new Client(stack);
    c.connect();
    for (const n of [1000, 1000, 500]) c.send(TCP_ACK, Buffer.alloc(n, 0x41));
    const out = drain(stack);
    assert.ok(out.some((s) => s.seg.flags & TCP_RST), out.map((s) => s.seg.flags).join());
    assert.equal(stack.connectionCount, 0);
  });

  it('drops data beyond its window or out of order, answering with an ACK of where it is', () => {
    const { stack } = setup();
    const c = new Client(stack);
    c.connect();
    c.send(TCP_ACK, Buffer.from('later'), { seq: c.seq + 10 });
    const dup = drain(stack);
    assert.deepEqual(dup.map((s) => [s.seg.flags, s.seg.ack]), [[TCP_ACK, 101]]);
    c.send(TCP_ACK, Buffer.alloc(RCV_BUF_MAX + 1), { seq: 101 });
    assert.deepEqual(drain(stack), []);
  });

  it('counts segments for another port, non-TCP packets and runt frames, and stays quiet', () => {
    const { stack, m } = setup();
    const c = new Client(stack);
    c.send(TCP_SYN, undefined, { dstPort: 8080 });
    assert.equal(m.rxAcceptedErr, 1);
    const udp = writeTcpFrame(GUEST_MAC, GUEST_MAC, GUEST_IP, MMDS_IP, { srcPort: 1, dstPort: 80, seq: 0, ack: 0, flags: 0, window: 0 });
    udp[ETH_HDR + 9] = 17;
    stack.detour(udp);
    assert.equal(m.rxAcceptedUnusual, 1);
    const bad = writeTcpFrame(GUEST_MAC, GUEST_MAC, GUEST_IP, MMDS_IP, { srcPort: 1, dstPort: 80, seq: 0, ack: 0, flags: TCP_SYN, window: 0 });
    bad[ETH_HDR + 20 + 12] = 0x10; // data offset 4 words: shorter than a TCP header
    stack.detour(bad);
    stack.detour(new Uint8Array(5));
    assert.equal(m.rxBadEth, 1);
    assert.deepEqual(drain(stack), []);
    assert.equal(m.rxAccepted, 4);
  });

  it(`keeps at most ${MAX_CONNECTIONS} connections: another SYN is reset unless an idle one can be evicted`, () => {
    const { stack, clock } = setup();
    for (let i = 0; i < MAX_CONNECTIONS; i++) new Client(stack, 1000 + i).connect();
    const extra = new Client(stack, 2000);
    extra.send(TCP_SYN);
    assert.deepEqual(drain(stack).map((s) => s.seg.flags), [TCP_RST | TCP_ACK]);
    clock.t += 10_001;
    const late = new Client(stack, 2001);
    late.send(TCP_SYN);
    const out = drain(stack);
    assert.deepEqual(out.map((s) => s.seg.flags).sort(), [TCP_RST, TCP_SYN | TCP_ACK].sort(), 'the evicted one is reset, the new one answered');
    assert.equal(stack.connectionCount, MAX_CONNECTIONS);
  });

  it('a 100,000-segment flood from many ports keeps state bounded', () => {
    const { stack } = setup();
    for (let i = 0; i < 100_000; i++) {
      new Client(stack, 1 + (i % 60000)).send(i % 3 === 0 ? TCP_SYN : TCP_ACK, undefined, { seq: i, ack: i });
      if (i % 1000 === 0) drain(stack);
    }
    assert.ok(stack.connectionCount <= MAX_CONNECTIONS);
  });

  it('knows which addresses may be the MMDS\'s (RFC 3927, as Firecracker checks)', () => {
    assert.ok(isLinkLocalValid(ipv4FromString('169.254.169.254')!));
    assert.ok(isLinkLocalValid(ipv4FromString('169.254.1.0')!));
    assert.ok(!isLinkLocalValid(ipv4FromString('169.254.0.7')!));
    assert.ok(!isLinkLocalValid(ipv4FromString('169.254.255.1')!));
    assert.ok(!isLinkLocalValid(ipv4FromString('10.0.0.1')!));
  });
});
