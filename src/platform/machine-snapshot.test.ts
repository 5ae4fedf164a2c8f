/**
 * The board's save() and restore path: a machine built from a saved state (JSON, as the state file
 * carries it) over its saved RAM reads back the same state, and a request the driver had made
 * available but not yet kicked when the machine was saved is served once it is restored.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { VirtqueueDriver } from '../../test/helpers/virtqueue-driver.js';
import { MmioTransport } from '../devices/virtio/mmio-transport.js';
import { VirtioRng } from '../devices/virtio/rng/rng.js';
import { framePortPair } from '../devices/virtio/net/frame-port.js';
import { VirtioNet } from '../devices/virtio/net/net.js';
import { DEVICE_ID_ENTROPY, F_EVENT_IDX, F_VERSION_1 } from '../devices/virtio/spec.js';
import type { VirtioDevice } from '../devices/virtio/virtio-device.js';
import { RAM_HOST_OFFSET } from '../memory/machine-memory.js';
import type { PageSource } from '../memory/page-source.js';
import { Machine, type MachineConfig, type MachineState, type VirtioFactory } from './machine.js';

/** A RISC-V Image whose code is `wfi; j .-4` (as machine.test.ts). */
function wfiLoopImage(): Uint8Array {
  const code = [0x1050_0073, 0xffdf_f06f];
  const buf = Buffer.alloc(64 + code.length * 4);
  buf.writeUInt32LE(0x0400_006f, 0);
  buf.writeBigUInt64LE(0x20_0000n, 8);
  buf.writeBigUInt64LE(BigInt(buf.length), 16);
  buf.writeUInt32LE(2, 32);
  buf.write('RISCV\0\0\0', 48, 'latin1');
  buf.write('RSC\x05', 56, 'latin1');
  code.forEach((w, i) => buf.writeUInt32LE(w, 64 + i * 4));
  return buf;
}

function rngFactory(): VirtioFactory {
  let n = 0;
  const dev = new VirtioRng({ fill: (dst) => dst.forEach((_, i) => (dst[i] = n++ & 0xff)) });
  return ({ memory, irq }) => new MmioTransport(dev, memory, irq);
}

function config(virtio: VirtioFactory[]): MachineConfig {
  return { memMiB: 16, kernel: wfiLoopImage(), kernelName: 'wfi-loop', cmdline: 'x', consoleOut: () => {}, virtio, engine: 'interpreter', rngSeed: new Uint8Array(32) };
}

function ramSource(m: Machine): PageSource {
  const image = Uint8Array.from(m.memory.bytes.subarray(RAM_HOST_OFFSET, RAM_HOST_OFFSET + m.memory.ramSize));
  return { read: (off, dst, at, len) => dst.set(image.subarray(off, off + len), at), close: () => {} };
}

test('a machine restored from its saved state reads back the same state, and serves what was left in its queues', () => {
  const a = new Machine(config([rngFactory()]));
  const driver = new VirtqueueDriver(a.virtio[0]!, a.memory);
  driver.init({ accept: (f) => f & ~F_EVENT_IDX }); // every used buffer is then notified
  driver.submit(0, [{ writable: 16 }]);
  assert.equal(driver.used(0).length, 1, 'served before the snapshot');
  driver.ackInterrupts();
  driver.submit(0, [{ writable: 8 }], { kick: false }); // made available, not yet kicked
  a.uart.write(7, 1, 0x42); // the scratch register
  a.clint.write(0x4000, 4, 1234); // mtimecmp low word
  a.pause();
  const saved = a.save();
  const state = JSON.parse(JSON.stringify(saved)) as MachineState;
  assert.equal(state.virtio[0]!.running, true);

  const b = new Machine({ ...config([rngFactory()]), kernel: new Uint8Array(0), restore: { state, memory: ramSource(a) } });
  assert.equal(b.layout, undefined, 'nothing was booted');
  const back = b.save();
  assert.ok(back.mtimeTicks >= saved.mtimeTicks, 'time does not go back');
  for (const k of ['harts', 'clint', 'uart', 'rtc'] as const) assert.deepEqual(back[k], saved[k], k);
  const { level, pending, ...plicRest } = back.plic;
  const { level: l0, pending: p0, ...plicSaved } = saved.plic;
  assert.deepEqual(plicRest, plicSaved, 'plic');
  assert.equal(l0[0]! & 2, 0, 'virtio slot 0 (IRQ 1) was quiet when saved');
  assert.equal(level[0]! & pending[0]! & 2, 2, 'and raised its line once the kick served the pending request');
  assert.equal(b.uart.read(7, 1), 0x42);

  // The restored device served the pending request (Firecracker kicks devices on restore) and says so.
  const t = back.virtio[0]!;
  assert.equal(t.queues[0]!.nextUsed, saved.virtio[0]!.queues[0]!.nextUsed + 1);
  const driverB = new VirtqueueDriver(b.virtio[0]!, b.memory);
  driverB.queues.push(...driver.queues);
  const used = driverB.used(0);
  assert.equal(used.length, 1);
  assert.equal(used[0]!.len, 8);
  assert.equal(driverB.ackInterrupts() & 1, 1, 'with a used-buffer interrupt');
});

test('a restore that does not fit the configuration is refused with what differs', () => {
  const a = new Machine(config([rngFactory()]));
  new VirtqueueDriver(a.virtio[0]!, a.memory).init();
  a.pause();
  const state = JSON.parse(JSON.stringify(a.save())) as MachineState;
  const restore = (virtio: VirtioFactory[], s: MachineState) => new Machine({ ...config(virtio), restore: { state: s, memory: ramSource(a) } });
  assert.throws(() => restore([], state), /the snapshot has 1 virtio devices, the restored configuration 0/);
  const bad = structuredClone(state);
  bad.virtio[0]!.ackedFeatures = '0xffffffffffffffff';
  assert.throws(() => restore([rngFactory()], bad), /Cannot restore virtio slot 0: virtio slot 0: the driver accepted features 0xffffffffffffffff, but the restored device offers only/);
  const noHarts = { ...structuredClone(state), harts: [] };
  assert.throws(() => restore([rngFactory()], noHarts), /machine\.harts must be a list of 1/);
});

test('a device without snapshot support is named by its slot', () => {
  const bare: VirtioDevice = {
    deviceType: DEVICE_ID_ENTROPY, availableFeatures: F_VERSION_1, queueMaxSizes: [8],
    readConfig: () => 0, writeConfig: () => {}, activate: () => null, reset: () => {}, processQueue: () => {},
  };
  const m = new Machine(config([rngFactory(), ({ memory, irq }) => new MmioTransport(bare, memory, irq)]));
  assert.deepEqual(m.unsnapshottableSlots(), [1]);
  assert.throws(() => m.save(), /virtio slots 1 hold devices that cannot be snapshotted/);
});

/**
 * Two harts: hart 0 starts hart 1 with SBI HSM hart_start (EID 0x48534D, FID 0: hartid 1, start_addr =
 * hart 1's code, opaque 0) and waits for interrupts; hart 1 sets a2 = 77 and waits too.
 */
function twoHartImage(): Uint8Array {
  // [0] bne a0, 0 → H1; H0: the HSM call with a1 = H1, then a spin; H1: li a2, 77, then a WFI loop.
  const words = [
    /* 0  */ 0x02051463, // bne a0, zero, +40 (H1 at 40)
    /* 4  */ 0x004858b7, // lui a7, 0x485
    /* 8  */ 0x34d8889b, // addiw a7, a7, 0x34d
    /* 12 */ 0x00000813, // li a6, 0
    /* 16 */ 0x00100513, // li a0, 1
    /* 20 */ 0x00000597, // auipc a1, 0
    /* 24 */ 0x01458593, // addi a1, a1, 20 (→ 40)
    /* 28 */ 0x00000613, // li a2, 0
    /* 32 */ 0x00000073, // ecall
    /* 36 */ 0x0000006f, // j . (hart 0 spins)
    /* 40 */ 0x04d00613, // H1: li a2, 77
    /* 44 */ 0x10500073, // wfi
    /* 48 */ 0xffdff06f, // j .-4
  ];
  const buf = Buffer.alloc(64 + words.length * 4);
  buf.writeUInt32LE(0x0400_006f, 0);
  buf.writeBigUInt64LE(0x20_0000n, 8);
  buf.writeBigUInt64LE(BigInt(buf.length), 16);
  buf.writeUInt32LE(2, 32);
  buf.write('RISCV\0\0\0', 48, 'latin1');
  buf.write('RSC\x05', 56, 'latin1');
  words.forEach((w, i) => buf.writeUInt32LE(w, 64 + i * 4));
  return buf;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('several harts on this thread: every hart and its HSM state are saved and restored', async () => {
  const cfg: MachineConfig = { ...config([]), kernel: twoHartImage(), harts: 2, deterministic: true };
  const a = new Machine(cfg);
  const run = a.run();
  for (let i = 0; i < 6000 && a.harts[1]!.getX(12) !== 77n; i++) await sleep(10);
  a.pause();
  assert.equal(a.harts[1]!.getX(12), 77n, 'hart 1 was started and ran its code');
  const saved = JSON.parse(JSON.stringify(a.save())) as MachineState;
  a.stop();
  await run;
  assert.equal(saved.harts.length, 2);
  assert.deepEqual(saved.hsm, [0, 0], 'both harts started');
  const b = new Machine({ ...cfg, kernel: new Uint8Array(0), restore: { state: saved, memory: ramSource(a) } });
  assert.equal(b.harts[1]!.getX(12), 77n);
  const back = b.save();
  assert.deepEqual(back.harts, saved.harts);
  assert.deepEqual(back.hsm, saved.hsm);
  assert.throws(() => new Machine({ ...config([]), restore: { state: saved, memory: ramSource(a) } }), /machine\.harts must be a list of 1/);
});

test('harts on threads of their own: a paused machine saves every hart from its thread, and a restored one starts them from it', async () => {
  const cfg: MachineConfig = { ...config([]), kernel: twoHartImage(), harts: 2 };
  const a = new Machine(cfg);
  const run = a.run();
  try {
    for (let i = 0; i < 6000 && a.vcpus()[1]!.instret < 2; i++) await sleep(10); // hart threads start slowly on a loaded host
    assert.ok(a.vcpus()[1]!.instret >= 2, 'hart 1 was started on its thread and ran');
    a.pause();
    const saved = JSON.parse(JSON.stringify(a.save())) as MachineState;
    assert.equal(saved.harts.length, 2);
    assert.equal(saved.harts[1]!.x[12], '0x4d', 'hart 1 ran its code (a2 = 77)');
    assert.deepEqual(saved.hsm, [0, 0]);
    const b = new Machine({ ...cfg, kernel: new Uint8Array(0), restore: { state: saved, memory: ramSource(a) } });
    b.pause(); // its hart threads start parked
    const runB = b.run();
    for (let i = 0; i < 6000 && !b.hartThreadsStarted; i++) await sleep(10);
    const back = b.save();
    assert.deepEqual(back.harts, saved.harts, 'each hart thread took its state, and gives it back');
    b.stop();
    await runB;
  } finally {
    a.stop();
    await run;
  }
});

/** Every leaf of a plain JSON value, as a path of keys. */
function leaves(v: unknown, path: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  if (Array.isArray(v)) v.forEach((x, i) => leaves(x, [...path, i], out));
  else if (typeof v === 'object' && v !== null) for (const [k, x] of Object.entries(v)) leaves(x, [...path, k], out);
  else out.push(path);
  return out;
}

test('fuzz (fixed seed): a machine state with any one field replaced by garbage restores or is refused with an Error, never anything worse', () => {
  const a = new Machine(config([rngFactory()]));
  const driver = new VirtqueueDriver(a.virtio[0]!, a.memory);
  driver.init();
  driver.submit(0, [{ writable: 16 }], { kick: false });
  a.pause();
  const good = JSON.parse(JSON.stringify(a.save())) as MachineState;
  const paths = leaves(good);
  const garbage: unknown[] = [-1, 0, 2 ** 53, 1.5, 'x', '0xffffffffffffffffff', null, true, [], {}, [1, 2, 3]];
  let seed = 0x5eed;
  const rand = (n: number) => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n; };
  let refused = 0, restored = 0;
  for (let i = 0; i < 300; i++) {
    const s = structuredClone(good) as unknown as Record<string | number, unknown>;
    const path = paths[rand(paths.length)]!;
    let at: Record<string | number, unknown> = s;
    for (const k of path.slice(0, -1)) at = at[k] as Record<string | number, unknown>;
    at[path[path.length - 1]!] = garbage[rand(garbage.length)];
    try {
      const b = new Machine({ ...config([rngFactory()]), restore: { state: s as unknown as MachineState, memory: ramSource(a) } });
      b.pause();
      b.save(); // whatever it took, it can be saved again
      restored++;
    } catch (e) {
      assert.ok(e instanceof Error, `a thrown non-Error for ${path.join('.')}: ${String(e)}`);
      assert.ok(e.message.length > 0);
      refused++;
    }
  }
  assert.ok(refused > 100, `most garbage is refused (${refused} refused, ${restored} restored)`);
});

/** A virtio-net slot over an in-memory link (`peer` is the network side); net.test.ts covers its rate limiters. */
function netFactory(): { factory: VirtioFactory; peer: ReturnType<typeof framePortPair>[1] } {
  const [dev, peer] = framePortPair();
  const net = new VirtioNet(dev, { mac: Uint8Array.of(6, 0, 0, 0, 0, 2), mtu: 1500 });
  return { factory: ({ memory, irq }) => new MmioTransport(net, memory, irq), peer };
}

test('fuzz (fixed seed): a machine with a net device holding receive chains, any one field of its state replaced by garbage, restores or is refused with an Error', () => {
  const n = netFactory();
  const a = new Machine(config([rngFactory(), n.factory]));
  const driver = new VirtqueueDriver(a.virtio[1]!, a.memory);
  driver.init();
  driver.submit(0, [{ writable: 1536 }]);
  driver.submit(0, [{ writable: 1536 }]);
  const big = new Uint8Array(4000);
  big.set([6, 0, 0, 0, 0, 2], 0);
  n.peer.send(big); // needs three buffers: the device holds two
  driver.submit(1, [{ data: new Uint8Array(12) }, { data: new Uint8Array(60) }], { kick: false });
  a.pause();
  const good = JSON.parse(JSON.stringify(a.save())) as MachineState;
  assert.equal(good.virtio[1]!.queues[0]!.nextAvail, 0, 'the held receive chains went back to the ring');
  const paths = leaves(good).filter((p) => p[0] === 'virtio' && p[1] === 1);
  const garbage: unknown[] = [-1, 0, 2 ** 53, 1.5, 'x', '0xffffffffffffffffff', null, true, [], {}, [1, 2, 3]];
  let seed = 0x7e7;
  const rand = (k: number) => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % k; };
  let refused = 0;
  for (let i = 0; i < 200; i++) {
    const s = structuredClone(good) as unknown as Record<string | number, unknown>;
    const path = paths[rand(paths.length)]!;
    let at: Record<string | number, unknown> = s;
    for (const k of path.slice(0, -1)) at = at[k] as Record<string | number, unknown>;
    at[path[path.length - 1]!] = garbage[rand(garbage.length)];
    const m = netFactory();
    try {
      const b = new Machine({ ...config([rngFactory(), m.factory]), restore: { state: s as unknown as MachineState, memory: ramSource(a) } });
      m.peer.send(big); // traffic arriving at whatever it restored
      b.pause();
      b.save();
    } catch (e) {
      assert.ok(e instanceof Error, `a thrown non-Error for ${path.join('.')}: ${String(e)}`);
      assert.ok(e.message.length > 0);
      refused++;
    }
  }
  assert.ok(refused > 60, `most garbage is refused (${refused} refused)`);
});
