import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MachineMemory } from '../../../memory/machine-memory.js';
import { VirtqueueDriver } from '../../../../test/helpers/virtqueue-driver.js';
import { LevelIrqLine } from '../../irq-line.js';
import { MmioTransport, type MmioTransportState } from '../mmio-transport.js';
import { ManualClock } from '../../../rate-limiter/manual-clock.js';
import { RateLimiter } from '../../../rate-limiter/rate-limiter.js';
import { fuzzVirtioDevice } from '../queue-fuzz.js';
import { Queue } from '../queue.js';
import * as S from '../spec.js';
import { makeRig, virtioDeviceCases } from '../virtio-device.case.js';
import type { VirtioDevice } from '../virtio-device.js';
import { filterPort, framePortPair, type FramePort, type GuestOffloads } from './frame-port.js';
import { formatMac, parseMac, randomMac } from './mac-address.js';
import {
  CFG_MAC, CFG_MTU, CFG_STATUS, HDR_F_DATA_VALID, HDR_F_NEEDS_CSUM, HDR_GSO_TCPV4, NET_F_CSUM, NET_F_GUEST_CSUM, NET_F_GUEST_TSO4,
  NET_F_GUEST_TSO6, NET_F_HOST_TSO4, NET_F_MAC,
  NET_F_MRG_RXBUF, NET_F_MTU, NET_HDR_SIZE, NET_MAX_FRAME, NET_S_LINK_UP, RX_PENDING_MAX_FRAMES, RX_QUEUE, TX_QUEUE,
  VirtioNet, onesComplementSum, type NetOptions, type NetState,
} from './net.js';

const MAC = parseMac('06:00:ac:10:00:02');

/** An Ethernet frame of `len` bytes to the guest's MAC, with a recognisable body. */
function frame(len: number, seed = 1, src = [2, 0, 0, 0, 0, 1]): Uint8Array {
  const f = new Uint8Array(len);
  f.set(MAC, 0);
  f.set(src, 6);
  f[12] = 0x08; // IPv4
  for (let i = 14; i < len; i++) f[i] = (i * 7 + seed) & 0xff;
  return f;
}

/** A device on one end of an in-memory link; `peer` is the network side; `got` what the network received. */
function setup(opts: NetOptions = {}) {
  const [devSide, peer] = framePortPair();
  const dev = new VirtioNet(devSide, { mac: MAC, ...opts });
  const got: Uint8Array[] = [];
  peer.attach({ receive: (f) => got.push(f) });
  const rig = makeRig(dev, 4 << 20);
  return { dev, peer, got, rig, driver: rig.driver };
}

function hdr(fields: { flags?: number; gso?: number; csumStart?: number; csumOffset?: number } = {}): Uint8Array {
  const h = new Uint8Array(NET_HDR_SIZE);
  h[0] = fields.flags ?? 0;
  h[1] = fields.gso ?? 0;
  h[6] = (fields.csumStart ?? 0) & 0xff;
  h[7] = (fields.csumStart ?? 0) >> 8;
  h[8] = (fields.csumOffset ?? 0) & 0xff;
  h[9] = (fields.csumOffset ?? 0) >> 8;
  return h;
}

virtioDeviceCases('virtio-net', {
  make: () => {
    const [devSide, peer] = framePortPair();
    const dev = new VirtioNet(devSide, { mac: MAC });
    // Frames already waiting, so every receive buffer the shared cases offer is filled at once.
    for (let i = 0; i < 200; i++) peer.send(frame(60, i));
    return dev;
  },
  request: () => ({ buffers: [{ writable: 2048 }], usedLen: NET_HDR_SIZE + 60 }),
});

describe('virtio-net', () => {
  it('offers MAC, STATUS (link up), MRG_RXBUF and, when asked, MTU, CSUM and GUEST_CSUM', () => {
    const { dev, rig } = setup({ mtu: 9000 });
    assert.ok(dev.availableFeatures & NET_F_MAC);
    assert.ok(dev.availableFeatures & NET_F_MRG_RXBUF);
    assert.ok(dev.availableFeatures & NET_F_MTU);
    assert.equal(dev.availableFeatures & NET_F_CSUM, 0n);
    const mac = Array.from({ length: 6 }, (_, i) => rig.transport.read(S.MMIO_CONFIG + CFG_MAC + i, 1));
    assert.equal(formatMac(Uint8Array.from(mac)), '06:00:ac:10:00:02');
    assert.equal(rig.transport.read(S.MMIO_CONFIG + CFG_STATUS, 2), NET_S_LINK_UP);
    assert.equal(rig.transport.read(S.MMIO_CONFIG + CFG_MTU, 2), 9000);
    rig.transport.write(S.MMIO_CONFIG + CFG_MAC, 1, 0xff);
    assert.equal(rig.transport.read(S.MMIO_CONFIG + CFG_MAC, 1), 0x06, 'the MAC is read-only');
    assert.equal(dev.metrics.cfgFails, 1);
    const plain = new VirtioNet(framePortPair()[0]);
    assert.equal(plain.availableFeatures & (NET_F_MAC | NET_F_MTU), 0n, 'no MAC given: the guest chooses (as on Firecracker)');
    const off = new VirtioNet(framePortPair()[0], { txChecksumOffload: true, rxChecksumsValid: true });
    assert.ok(off.availableFeatures & NET_F_CSUM && off.availableFeatures & NET_F_GUEST_CSUM);
  });

  it('transmits: the network gets the frame byte for byte, the chain comes back with len 0', () => {
    const { dev, got, driver } = setup();
    driver.init();
    const f = frame(1514, 3, [...MAC]);
    // Header and frame split across descriptors at an odd place, as §2.7.4 allows.
    const { head } = driver.submit(TX_QUEUE, [{ data: hdr() }, { data: f.subarray(0, 100) }, { data: f.subarray(100) }]);
    assert.deepEqual(driver.used(TX_QUEUE), [{ id: head, len: 0 }]);
    assert.equal(got.length, 1);
    assert.deepEqual(got[0], f);
    assert.equal(dev.metrics.txPacketsCount, 1);
    assert.equal(dev.metrics.txBytesCount, 1514);
    assert.equal(dev.metrics.txSpoofedMacCount, 0);
    driver.submit(TX_QUEUE, [{ data: hdr() }, { data: frame(60) }]);
    assert.equal(dev.metrics.txSpoofedMacCount, 1, 'a source MAC not the interface’s is counted (and sent)');
    assert.equal(got.length, 2);
  });

  it('receives into one buffer: header (num_buffers 1) then the frame; the used len covers both', () => {
    const { dev, peer, driver, rig } = setup();
    driver.init();
    const { head, addrs } = driver.submit(RX_QUEUE, [{ writable: 2048 }]);
    assert.deepEqual(driver.used(RX_QUEUE), []);
    const f = frame(1000, 5);
    peer.send(f);
    assert.deepEqual(driver.used(RX_QUEUE), [{ id: head, len: NET_HDR_SIZE + 1000 }]);
    const h = driver.peek(addrs[0]!, NET_HDR_SIZE);
    assert.deepEqual([...h], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0]);
    assert.deepEqual(driver.peek(addrs[0]! + NET_HDR_SIZE, 1000), f);
    assert.equal(rig.irq.level, true);
    assert.equal(dev.metrics.rxPacketsCount, 1);
    assert.equal(dev.metrics.rxBytesCount, 1000);
  });

  it('MRG_RXBUF: a 5000-byte frame spans four 1536-byte buffers and num_buffers says so', () => {
    const { peer, driver } = setup();
    driver.init();
    const chains = Array.from({ length: 5 }, () => driver.submit(RX_QUEUE, [{ writable: 1536 }]));
    const f = frame(5000, 9);
    peer.send(f);
    const used = driver.used(RX_QUEUE);
    assert.deepEqual(used.map((u) => u.len), [1536, 1536, 1536, 5012 - 3 * 1536]);
    assert.deepEqual(used.map((u) => u.id), chains.slice(0, 4).map((c) => c.head));
    const first = driver.peek(chains[0]!.addrs[0]!, 1536);
    assert.equal(first[10] | (first[11]! << 8), 4);
    const joined = new Uint8Array(5012);
    let at = 0;
    used.forEach((u, i) => {
      joined.set(driver.peek(chains[i]!.addrs[0]!, u.len), at);
      at += u.len;
    });
    assert.deepEqual(joined.subarray(NET_HDR_SIZE), f);
  });

  it('without MRG_RXBUF: one frame per buffer; a frame larger than the buffer is dropped and counted', () => {
    const { dev, peer, driver } = setup();
    driver.init({ accept: (f) => f & ~NET_F_MRG_RXBUF });
    const { head } = driver.submit(RX_QUEUE, [{ writable: 1526 }]);
    peer.send(frame(3000));
    assert.deepEqual(driver.used(RX_QUEUE), []);
    assert.equal(dev.metrics.rxFails, 1);
    peer.send(frame(1514));
    assert.deepEqual(driver.used(RX_QUEUE), [{ id: head, len: 1526 }], 'the buffer was kept for the next frame');
  });

  it('with no receive buffers, frames wait in a bounded queue, the port is paused, the overflow is dropped and counted', () => {
    // A network end that ignores pause(): a flood the device must bound by itself.
    const sent: Uint8Array[] = [];
    let receiver: ((f: Uint8Array) => void) | undefined;
    let paused = 0, resumed = 0;
    const port: FramePort = {
      send: (f) => (sent.push(f), true),
      attach: (r) => void (receiver = (f) => r.receive(f)),
      pause: () => void paused++,
      resume: () => void resumed++,
      close: () => {},
    };
    const dev = new VirtioNet(port, { mac: MAC });
    const { driver } = makeRig(dev, 4 << 20);
    driver.init();
    const flood = RX_PENDING_MAX_FRAMES * 3;
    for (let i = 0; i < flood; i++) receiver!(frame(60, i));
    assert.equal(dev.pendingFrames, RX_PENDING_MAX_FRAMES);
    assert.equal(dev.metrics.rxDroppedFrames, flood - RX_PENDING_MAX_FRAMES);
    assert.equal(paused, 1, 'the port was asked to pause once');
    assert.ok(dev.metrics.noRxAvailBuffer > 0);
    // The guest catches up: the oldest frames arrive in order, and the port is resumed.
    for (let i = 0; i < 200; i++) driver.submit(RX_QUEUE, [{ writable: 128 }], { kick: i === 199 });
    assert.equal(driver.used(RX_QUEUE).length, 200);
    assert.equal(resumed, 0, 'still more than a quarter full');
    for (let i = 0; i < 200; i++) driver.submit(RX_QUEUE, [{ writable: 128 }], { kick: i === 199 });
    assert.equal(resumed, 1);
    assert.equal(dev.metrics.rxPacketsCount, 400);
  });

  it('refuses hostile transmit chains with len 0, counted, and never allocates for a giant one', () => {
    const { dev, got, driver } = setup();
    driver.init();
    const cases = [
      [{ data: new Uint8Array(5) }], // shorter than a header
      [{ data: hdr() }, { data: new Uint8Array(10) }], // shorter than an Ethernet header
      [{ data: hdr() }, { data: frame(60) }, { writable: 16 }], // a device-writable buffer
      [{ data: hdr({ gso: 1 }) }, { data: frame(60) }], // segmentation never offered
      [{ data: hdr({ flags: HDR_F_NEEDS_CSUM, csumStart: 14, csumOffset: 6 }) }, { data: frame(60) }], // CSUM not offered
    ];
    for (const c of cases) driver.submit(TX_QUEUE, c);
    // A chain claiming more than any frame: the lengths are checked before anything is copied.
    const big = driver.alloc(NET_MAX_FRAME + 100);
    driver.submit(TX_QUEUE, [{ data: hdr() }, { addr: big, len: NET_MAX_FRAME + 100, data: undefined, writable: undefined } as never]);
    const used = driver.used(TX_QUEUE);
    assert.equal(used.length, cases.length + 1);
    assert.ok(used.every((u) => u.len === 0));
    assert.equal(dev.metrics.txMalformedFrames, cases.length + 1);
    assert.equal(got.length, 0);
  });

  it('VIRTIO_NET_F_CSUM: a checksum the guest leaves to the device is completed before the frame leaves', () => {
    const { dev, got, driver } = setup({ txChecksumOffload: true });
    driver.init();
    // A UDP/IPv4 datagram: the guest puts the pseudo-header sum in the checksum field (Linux's
    // CHECKSUM_PARTIAL), the device folds in the rest from csum_start.
    const f = frame(14 + 20 + 8 + 33, 4, [...MAC]);
    const ip = 14, udp = 34;
    f.set([0x45, 0, 0, 61, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 2, 15, 10, 0, 2, 2], ip);
    f.set([0x30, 0x39, 0x00, 0x35, 0, 41, 0, 0], udp);
    const pseudo = [10, 0, 2, 15, 10, 0, 2, 2, 0, 17, 0, 41];
    const p = new Uint8Array(pseudo);
    const partial = onesComplementSum(p, 0, p.length);
    f[udp + 6] = partial >> 8;
    f[udp + 7] = partial & 0xff;
    driver.submit(TX_QUEUE, [{ data: hdr({ flags: HDR_F_NEEDS_CSUM, csumStart: udp, csumOffset: 6 }) }, { data: f }]);
    assert.equal(got.length, 1);
    // Verify as a receiver would: pseudo-header + UDP header and data sum to 0xffff.
    const check = new Uint8Array([...pseudo, ...got[0]!.subarray(udp)]);
    assert.equal(onesComplementSum(check, 0, check.length), 0xffff);
    assert.equal(dev.metrics.txChecksumsCompleted, 1);
  });

  it('GUEST_CSUM with a port that builds its own frames: received frames are marked DATA_VALID', () => {
    const { peer, driver } = setup({ rxChecksumsValid: true });
    driver.init();
    const { addrs } = driver.submit(RX_QUEUE, [{ writable: 256 }]);
    peer.send(frame(100));
    assert.equal(driver.peek(addrs[0]!, 1)[0], HDR_F_DATA_VALID);
    const plain = setup({ rxChecksumsValid: true });
    plain.driver.init({ accept: (f) => f & ~NET_F_GUEST_CSUM });
    const b = plain.driver.submit(RX_QUEUE, [{ writable: 256 }]);
    plain.peer.send(frame(100));
    assert.equal(plain.driver.peek(b.addrs[0]!, 1)[0], 0, 'not negotiated: no flag');
  });

  it('rate limiters: a throttled frame waits for retry() in both directions', () => {
    const clock = new ManualClock();
    const rx = new RateLimiter(clock, { ops: { size: 1, refill_time: 100 } });
    const tx = new RateLimiter(clock, { ops: { size: 1, refill_time: 100 } });
    const { dev, peer, got, driver } = setup({ rxRateLimiter: rx, txRateLimiter: tx });
    driver.init();
    driver.submit(RX_QUEUE, [{ writable: 256 }]);
    driver.submit(RX_QUEUE, [{ writable: 256 }]);
    peer.send(frame(60, 1));
    peer.send(frame(60, 2));
    assert.equal(driver.used(RX_QUEUE).length, 1);
    assert.equal(dev.metrics.rxRateLimiterThrottled, 1);
    driver.submit(TX_QUEUE, [{ data: hdr() }, { data: frame(60) }]);
    driver.submit(TX_QUEUE, [{ data: hdr() }, { data: frame(60) }]);
    assert.equal(got.length, 1);
    assert.ok(dev.retryDelayMs() > 0);
    clock.advance(100);
    assert.equal(dev.retryDelayMs(), 0);
    dev.retry();
    assert.equal(driver.used(RX_QUEUE).length, 1);
    assert.equal(got.length, 2);
    assert.equal(dev.metrics.rxEventRateLimiterCount, 1);
    assert.equal(dev.metrics.txRateLimiterEventCount, 1);
  });

  it('a congested port holds transmission: chains stay in the ring until the port drains', () => {
    const sent: Uint8Array[] = [];
    let recv: { drained?(): void } | undefined;
    let congested = true;
    const port: FramePort = { send: (f) => (sent.push(f), !congested), attach: (r) => void (recv = r), pause: () => {}, resume: () => {}, close: () => {} };
    const dev = new VirtioNet(port, { mac: MAC });
    const { driver } = makeRig(dev, 4 << 20);
    driver.init();
    for (let i = 0; i < 3; i++) driver.submit(TX_QUEUE, [{ data: hdr() }, { data: frame(60, i, [...MAC]) }]);
    assert.equal(sent.length, 1, 'the port took one frame and asked for a pause');
    assert.equal(driver.used(TX_QUEUE).length, 1);
    congested = false;
    recv!.drained!();
    assert.equal(sent.length, 3);
    assert.equal(driver.used(TX_QUEUE).length, 2);
  });

  it('a port that goes down clears the link status and tells the guest (config change)', () => {
    let down: ((why: string) => void) | undefined;
    const port: FramePort = { send: () => true, attach: (r) => void (down = r.linkDown), pause: () => {}, resume: () => {}, close: () => {} };
    const dev = new VirtioNet(port, { mac: MAC });
    const { driver, transport } = makeRig(dev);
    driver.init();
    down!('backend exited');
    assert.equal(transport.read(S.MMIO_CONFIG + CFG_STATUS, 2), 0);
    assert.equal(driver.read(S.MMIO_INTERRUPT_STATUS), S.INT_CONFIG_CHANGE);
  });

  it('a filter in front of the port sees the guest’s frames, keeps what it answers, and its answers reach the guest', () => {
    const [devSide, net] = framePortPair();
    const seen: number[] = [];
    const filtered = filterPort(devSide, {
      // "Answers" frames whose last byte is 0xAA by echoing them back with the MACs swapped.
      fromGuest(f, reply) {
        seen.push(f.length);
        if (f[f.length - 1] !== 0xaa) return false;
        const r = f.slice();
        r.set(f.subarray(6, 12), 0);
        r.set(f.subarray(0, 6), 6);
        reply(r);
        return true;
      },
      toGuest: (f) => f[f.length - 1] === 0xbb, // and drops network frames ending in 0xBB
    });
    const dev = new VirtioNet(filtered, { mac: MAC });
    const got: Uint8Array[] = [];
    net.attach({ receive: (f) => got.push(f) });
    const { driver } = makeRig(dev, 4 << 20);
    driver.init();
    for (let i = 0; i < 4; i++) driver.submit(RX_QUEUE, [{ writable: 256 }]);
    const asked = frame(64, 1, [...MAC]);
    asked[63] = 0xaa;
    driver.submit(TX_QUEUE, [{ data: hdr() }, { data: asked }]);
    driver.submit(TX_QUEUE, [{ data: hdr() }, { data: frame(64, 2, [...MAC]) }]);
    assert.deepEqual(seen, [64, 64]);
    assert.equal(got.length, 1, 'only the unanswered frame reached the network');
    const blocked = frame(70);
    blocked[69] = 0xbb;
    net.send(blocked);
    net.send(frame(80));
    const used = driver.used(RX_QUEUE);
    assert.deepEqual(used.map((u) => u.len - NET_HDR_SIZE), [64, 80], 'the answer, then the network frame the filter let through');
    filtered.close();
  });

  it('frames from the network outside 14…NET_MAX_FRAME bytes are dropped and counted', () => {
    const { dev, peer, driver } = setup();
    driver.init();
    driver.submit(RX_QUEUE, [{ writable: 70000 }]);
    peer.send(new Uint8Array(10));
    peer.send(new Uint8Array(NET_MAX_FRAME + 1));
    assert.deepEqual(driver.used(RX_QUEUE), []);
    assert.equal(dev.metrics.rxFails, 2);
  });

  it('receive buffers that cannot hold a frame (device-readable, shorter than the header) come back empty', () => {
    const { dev, peer, driver } = setup();
    driver.init();
    const a = driver.submit(RX_QUEUE, [{ data: new Uint8Array(64) }]);
    const b = driver.submit(RX_QUEUE, [{ writable: 8 }]);
    const c = driver.submit(RX_QUEUE, [{ writable: 256 }]);
    peer.send(frame(60));
    assert.deepEqual(driver.used(RX_QUEUE), [{ id: a.head, len: 0 }, { id: b.head, len: 0 }, { id: c.head, len: 72 }]);
    assert.equal(dev.metrics.rxInvalidBuffers, 2);
  });
});

/**
 * Saves the device's slot (through JSON, as a state file holds it) and restores it into a new device
 * over a new port on the same guest memory, as a load does in a fresh VMM; the guest's driver goes on
 * with the restored transport. Then kicks the queues, as the machine does after a restore.
 */
function restoreTwin(t: ReturnType<typeof setup>, opts: NetOptions = {}) {
  const state = JSON.parse(JSON.stringify(t.rig.transport.save())) as MmioTransportState;
  const [devSide, peer] = framePortPair();
  const dev = new VirtioNet(devSide, { mac: MAC, ...opts });
  const got: Uint8Array[] = [];
  peer.attach({ receive: (f) => got.push(f) });
  const irq = new LevelIrqLine();
  const transport = new MmioTransport(dev, t.rig.mem, irq);
  transport.restore(state, 'net(id: eth0)');
  const driver = Object.assign(Object.create(VirtqueueDriver.prototype) as VirtqueueDriver, t.driver, { dev: transport });
  transport.kick();
  return { dev, peer, got, transport, irq, driver, state };
}

describe('virtio-net snapshots', () => {
  it('receive chains held for a frame go back to the ring; the restored device fills them with the next frame and sends what the guest queued', () => {
    const t = setup();
    t.driver.init();
    const chains = [t.driver.submit(RX_QUEUE, [{ writable: 1536 }]), t.driver.submit(RX_QUEUE, [{ writable: 1536 }])];
    t.peer.send(frame(5000, 4)); // needs four buffers: the device holds the two it has and waits
    assert.deepEqual(t.driver.used(RX_QUEUE), []);
    assert.equal(t.dev.pendingFrames, 1);
    const out = frame(100, 6, [...MAC]);
    t.driver.submit(TX_QUEUE, [{ data: hdr() }, { data: out }], { kick: false }); // in flight when saved
    const r = restoreTwin(t);
    assert.equal(r.state.queues[RX_QUEUE]!.nextAvail, 0, 'the held chains were given back before the queue was saved');
    assert.equal((r.state.device as NetState).linkUp, true);
    assert.equal(r.dev.pendingFrames, 0, 'frames waiting for the guest are not carried over');
    assert.deepEqual(r.got, [out], 'the restored device sent the frame the guest had queued');
    r.peer.send(frame(1000, 7));
    assert.deepEqual(r.driver.used(RX_QUEUE), [{ id: chains[0]!.head, len: NET_HDR_SIZE + 1000 }]);
    assert.deepEqual(r.driver.peek(chains[0]!.addrs[0]! + NET_HDR_SIZE, 1000), frame(1000, 7));
    assert.equal(r.irq.level, true);
    assert.equal(r.dev.metrics.rxPacketsCount, 1);
  });

  it('the device that was saved goes on: it pops the chains it gave back again', () => {
    const t = setup();
    t.driver.init();
    const chains = [t.driver.submit(RX_QUEUE, [{ writable: 1536 }]), t.driver.submit(RX_QUEUE, [{ writable: 1536 }])];
    t.peer.send(frame(5000, 4));
    t.rig.transport.save();
    chains.push(t.driver.submit(RX_QUEUE, [{ writable: 1536 }]), t.driver.submit(RX_QUEUE, [{ writable: 1536 }]));
    const used = t.driver.used(RX_QUEUE);
    assert.deepEqual(used.map((u) => u.id), chains.map((c) => c.head));
    assert.deepEqual(used.map((u) => u.len), [1536, 1536, 1536, 5012 - 3 * 1536]);
  });

  it('held chains that are not the last ones popped (a malformed one came after them) come back empty instead', () => {
    const t = setup();
    t.driver.init();
    const a = t.driver.submit(RX_QUEUE, [{ writable: 1536 }]);
    const bad = t.driver.submit(RX_QUEUE, [{ data: new Uint8Array(64) }]);
    const c = t.driver.submit(RX_QUEUE, [{ writable: 1536 }]);
    t.peer.send(frame(5000, 4));
    assert.deepEqual(t.driver.used(RX_QUEUE), [{ id: bad.head, len: 0 }]);
    const r = restoreTwin(t);
    assert.equal(r.state.queues[RX_QUEUE]!.nextAvail, 3);
    assert.deepEqual(r.driver.used(RX_QUEUE), [{ id: a.head, len: 0 }, { id: c.head, len: 0 }]);
    assert.equal(t.dev.metrics.rxInvalidBuffers, 3);
    const d = r.driver.submit(RX_QUEUE, [{ writable: 1536 }]);
    r.peer.send(frame(60, 2));
    assert.deepEqual(r.driver.used(RX_QUEUE), [{ id: d.head, len: NET_HDR_SIZE + 60 }], 'the restored ring works');
  });

  it('rate limiter budgets and throttling are restored: a throttled frame waits for retry() on the restored device', () => {
    const clock = new ManualClock();
    const lim = () => new RateLimiter(clock, { ops: { size: 1, refill_time: 100 } });
    const t = setup({ txRateLimiter: lim() });
    t.driver.init();
    t.driver.submit(TX_QUEUE, [{ data: hdr() }, { data: frame(60, 1, [...MAC]) }]);
    t.driver.submit(TX_QUEUE, [{ data: hdr() }, { data: frame(60, 2, [...MAC]) }]);
    assert.equal(t.got.length, 1);
    const r = restoreTwin(t, { txRateLimiter: lim() });
    assert.equal((r.state.device as NetState).txThrottled, true);
    assert.equal(r.got.length, 0, 'the budget was spent before the snapshot: the second frame waits');
    assert.ok(r.dev.retryDelayMs() > 0);
    clock.advance(100);
    r.dev.retry();
    assert.deepEqual(r.got, [frame(60, 2, [...MAC])]);
  });

  it('a link that had gone down comes back up with the new backend, and the guest is told', () => {
    let down: ((why: string) => void) | undefined;
    const port: FramePort = { send: () => true, attach: (r) => void (down = r.linkDown), pause: () => {}, resume: () => {}, close: () => {} };
    const dev = new VirtioNet(port, { mac: MAC });
    const rig = makeRig(dev, 4 << 20);
    rig.driver.init();
    down!('passt exited');
    rig.driver.ackInterrupts();
    const r = restoreTwin({ dev, rig, driver: rig.driver, peer: framePortPair()[1], got: [] });
    assert.equal((r.state.device as NetState).linkUp, false);
    assert.equal(r.transport.read(S.MMIO_CONFIG + CFG_STATUS, 2), NET_S_LINK_UP);
    assert.equal(r.driver.read(S.MMIO_INTERRUPT_STATUS), S.INT_CONFIG_CHANGE);
  });

  it('refuses a malformed state with a RangeError', () => {
    const t = setup({ rxRateLimiter: new RateLimiter(new ManualClock(), { ops: { size: 1, refill_time: 100 } }) });
    t.driver.init();
    const good = t.dev.save();
    for (const bad of [null, 7, [], { ...good, version: 2 }, { ...good, linkUp: 'yes' }, { ...good, rxThrottled: undefined }, { ...good, rxRateLimiter: 5 }, { ...good, rxRateLimiter: { version: 9 } }]) {
      assert.throws(() => t.dev.restore(bad), RangeError, JSON.stringify(bad));
    }
    t.dev.restore(JSON.parse(JSON.stringify(good)));
  });
});

describe('MAC addresses', () => {
  it('parses and formats Firecracker’s guest_mac; refuses malformed and multicast ones', () => {
    assert.equal(formatMac(parseMac('06:00:AC:10:00:02')), '06:00:ac:10:00:02');
    for (const bad of ['', '06:00:ac:10:00', '06:00:ac:10:00:02:03', '06-00-ac-10-00-02', '0g:00:ac:10:00:02', '6:0:ac:10:0:2']) {
      assert.throws(() => parseMac(bad), /is not a MAC address/, bad);
    }
    assert.throws(() => parseMac('01:00:5e:00:00:01'), /multicast/);
    const r = randomMac();
    assert.equal(r[0]! & 3, 2, 'locally administered, unicast');
  });
});

/** The device with only one of its queues visible, so the one-queue fuzzer can aim at rx or tx. */
function oneQueue(dev: VirtioNet, which: number): VirtioDevice {
  // The other queue lives in memory of its own, activated and never kicked.
  const spare = new MachineMemory(64 * 1024);
  const q = new Queue(16);
  q.descAddr = spare.ramBase;
  q.driverAddr = spare.ramBase + 0x1000;
  q.deviceAddr = spare.ramBase + 0x2000;
  q.ready = true;
  q.activate(spare, S.F_VERSION_1);
  return {
    deviceType: dev.deviceType,
    availableFeatures: dev.availableFeatures,
    queueMaxSizes: [256],
    readConfig: (o, s) => dev.readConfig(o, s),
    writeConfig: (o, s, v) => dev.writeConfig(o, s, v),
    activate: (mem, queues, irq, f) => dev.activate(mem, which === RX_QUEUE ? [queues[0]!, q] : [q, queues[0]!], {
      signalUsedBuffer: (i) => i === which && irq.signalUsedBuffer(0),
      signalConfigChange: () => irq.signalConfigChange(),
    }, f),
    reset: () => dev.reset(),
    processQueue: (i) => i === 0 && dev.processQueue(which),
  };
}

it('fuzz: virtio-net receive and transmit survive random hostile queues (fixed seed)', () => {
  for (const [which, seed] of [[RX_QUEUE, 0x5eed_0003], [TX_QUEUE, 0x5eed_0004]] as const) {
    const devices: VirtioNet[] = [];
    const r = fuzzVirtioDevice({
      seed,
      iterations: 300,
      make: (rand) => {
        const [devSide, peer] = framePortPair();
        // Half the devices over a port that carries virtio_net_hdrs (a tap): guest headers pass on.
        const port: FramePort = (rand() & 2) === 0 ? devSide : {
          send: (f) => devSide.send(f), attach: (rcv) => devSide.attach(rcv), pause: () => devSide.pause(), resume: () => devSide.resume(),
          close: () => devSide.close(), offloads: { useHeaders: () => {}, setGuestOffloads: () => {} },
        };
        const d = new VirtioNet(port, { mac: MAC, txChecksumOffload: (rand() & 1) === 1 });
        devices.push(d);
        // Frames of every size waiting to be received, some larger than any buffer the fuzzer makes.
        for (let i = 0; i < 40; i++) peer.send(frame(14 + (rand() % (i % 8 === 0 ? 9000 : 600)), i));
        return oneQueue(d, which);
      },
    });
    assert.deepEqual(r.violations, []);
    assert.ok(r.used > 300, `only ${r.used} used elements`);
    assert.ok(r.usedEmpty > 0);
    const total = (k: 'rxPacketsCount' | 'txPacketsCount' | 'txMalformedFrames' | 'rxInvalidBuffers') => devices.reduce((a, d) => a + d.metrics[k], 0);
    if (which === RX_QUEUE) assert.ok(total('rxPacketsCount') > 50 && total('rxInvalidBuffers') > 10, `rx ${total('rxPacketsCount')} / invalid ${total('rxInvalidBuffers')}`);
    else assert.ok(total('txMalformedFrames') > 50, `tx malformed ${total('txMalformedFrames')}`);
  }
});

describe('virtio-net over a port that carries virtio_net_hdrs (a tap)', () => {
  /** A device whose port has offloads: `calls` records what the device asked of them; `got` what the network received. */
  function offloadSetup(accept?: (offered: bigint) => bigint) {
    const [devSide, peer] = framePortPair();
    const calls: (GuestOffloads | 'headers')[] = [];
    const port: FramePort = {
      send: (f) => devSide.send(f), attach: (r) => devSide.attach(r), pause: () => devSide.pause(), resume: () => devSide.resume(),
      close: () => devSide.close(),
      offloads: { useHeaders: () => calls.push('headers'), setGuestOffloads: (o: GuestOffloads) => calls.push(o) },
    };
    const dev = new VirtioNet(port, { mac: MAC });
    const got: Uint8Array[] = [];
    peer.attach({ receive: (f) => got.push(f) });
    const rig = makeRig(dev, 4 << 20);
    rig.driver.init(accept ? { accept } : {});
    return { dev, peer, got, calls, driver: rig.driver };
  }
  const tso = (gsoSize: number, csumStart: number, csumOffset: number) => {
    const h = hdr({ flags: HDR_F_NEEDS_CSUM, gso: HDR_GSO_TCPV4, csumStart, csumOffset });
    h[4] = gsoSize & 0xff; h[5] = gsoSize >> 8; h[2] = 54; // hdr_len: Ethernet + IPv4 + TCP
    return h;
  };

  it('offers TSO and checksum offloads both ways, and tells the port what the guest took', () => {
    const { dev, calls } = offloadSetup((f) => f & ~NET_F_GUEST_TSO6);
    for (const f of [NET_F_CSUM, NET_F_GUEST_CSUM, NET_F_GUEST_TSO4, NET_F_GUEST_TSO6, NET_F_HOST_TSO4]) assert.ok(dev.availableFeatures & f);
    assert.deepEqual(calls.at(-1), { csum: true, tso4: true, tso6: false, ecn: true });
    assert.equal(calls[0], 'headers', 'the port carries headers from the start');
    assert.equal(new VirtioNet(filterPort(framePortPair()[0], { fromGuest: () => false })).availableFeatures & NET_F_HOST_TSO4, 0n,
      'behind a filter (it reads frames) the device offers no segmentation');
  });

  it('transmits a 64 KiB segment with its header as the guest wrote it (num_buffers zeroed)', () => {
    const { dev, got, driver } = offloadSetup();
    const f = frame(30_000, 4, [...MAC]);
    const h = tso(1448, 34, 16);
    h[10] = 7; // num_buffers means nothing on transmit
    driver.submit(TX_QUEUE, [{ data: h }, { data: f }]);
    assert.equal(got.length, 1);
    assert.deepEqual(got[0]!.subarray(0, 10), h.subarray(0, 10));
    assert.deepEqual([...got[0]!.subarray(10, 12)], [0, 0]);
    assert.deepEqual(got[0]!.subarray(NET_HDR_SIZE), f, 'the frame untouched: the host finishes the checksum');
    assert.equal(dev.metrics.txSegmentsOffloaded, 1);
    assert.equal(dev.metrics.txBytesCount, 30_000);
  });

  it('refuses a segment or a partial checksum the driver did not negotiate, and a checksum place outside the frame', () => {
    const noTso = offloadSetup((f) => f & ~NET_F_HOST_TSO4);
    noTso.driver.submit(TX_QUEUE, [{ data: tso(1448, 34, 16) }, { data: frame(3000, 1, [...MAC]) }]);
    assert.equal(noTso.got.length, 0);
    assert.equal(noTso.dev.metrics.txMalformedFrames, 1);
    const noCsum = offloadSetup((f) => f & ~NET_F_CSUM);
    noCsum.driver.submit(TX_QUEUE, [{ data: hdr({ flags: HDR_F_NEEDS_CSUM, csumStart: 34, csumOffset: 16 }) }, { data: frame(100, 1, [...MAC]) }]);
    noCsum.driver.submit(TX_QUEUE, [{ data: tso(1448, 34, 16) }, { data: frame(3000, 1, [...MAC]) }]);
    assert.equal(noCsum.dev.metrics.txSegmentsOffloaded, 0, 'a refused segment is not counted as offloaded');
    const outside = offloadSetup();
    outside.driver.submit(TX_QUEUE, [{ data: hdr({ flags: HDR_F_NEEDS_CSUM, csumStart: 90, csumOffset: 16 }) }, { data: frame(100, 1, [...MAC]) }]);
    assert.equal(noCsum.got.length + outside.got.length, 0);
    assert.equal(noCsum.dev.metrics.txMalformedFrames + outside.dev.metrics.txMalformedFrames, 3);
  });

  it('receives the host\'s header with its frame: a segment across merged buffers, num_buffers set', () => {
    const { dev, peer, driver } = offloadSetup();
    const chains = Array.from({ length: 5 }, () => driver.submit(RX_QUEUE, [{ writable: 1536 }]));
    const h = tso(1448, 34, 16);
    h[0] = HDR_F_NEEDS_CSUM | HDR_F_DATA_VALID;
    const f = frame(5000, 9);
    const withHeader = new Uint8Array(NET_HDR_SIZE + f.length);
    withHeader.set(h);
    withHeader.set(f, NET_HDR_SIZE);
    peer.send(withHeader);
    const used = driver.used(RX_QUEUE);
    assert.equal(used.length, 4);
    const first = driver.peek(chains[0]!.addrs[0]!, NET_HDR_SIZE);
    assert.deepEqual(first.subarray(0, 10), h.subarray(0, 10), 'the header as the host wrote it');
    assert.equal(first[10] | (first[11]! << 8), 4);
    const joined = new Uint8Array(NET_HDR_SIZE + f.length);
    let at = 0;
    used.forEach((u, i) => { joined.set(driver.peek(chains[i]!.addrs[0]!, u.len), at); at += u.len; });
    assert.deepEqual(joined.subarray(NET_HDR_SIZE), f);
    assert.equal(dev.metrics.rxBytesCount, 5000);
    peer.send(new Uint8Array(NET_HDR_SIZE + 10)); // shorter than an Ethernet header behind its virtio header
    assert.equal(dev.metrics.rxFails, 1);
  });
});
