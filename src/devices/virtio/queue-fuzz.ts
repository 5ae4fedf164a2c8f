/**
 * A randomized hostile driver for any VirtioDevice behind the virtio-mmio transport: random queue
 * sizes, features, descriptor tables, indirect tables, avail rings and indices, then kicks. The
 * oracle checks what must hold whatever the guest does: nothing throws, processing ends, used ids
 * are in range, and every byte the device changed lies inside the used ring or a buffer the driver
 * marked device-writable (the hart area before RAM is never touched).
 *
 * Deterministic for a given seed, so a CI run with a fixed seed is reproducible and a failure from
 * the long run (scripts/fuzz-virtio.mjs) is replayed by its seed.
 */
import { MachineMemory, RAM_HOST_OFFSET } from '../../memory/machine-memory.js';
import { LevelIrqLine } from '../irq-line.js';
import { MmioTransport } from './mmio-transport.js';
import * as S from './spec.js';
import type { VirtioDevice } from './virtio-device.js';

export interface FuzzOptions {
  seed: number;
  iterations: number;
  /** A fresh device per iteration; `rand` is the fuzzer's generator, for seeding backends. */
  make: (rand: () => number) => VirtioDevice;
}

export interface FuzzReport {
  iterations: number;
  /** Used elements the device returned, and how many of them had len 0. */
  used: number;
  usedEmpty: number;
  /** Iterations that ended with DEVICE_NEEDS_RESET. */
  needsReset: number;
  /** Broken invariants, each with the seed and iteration that reproduce it; empty on success. */
  violations: string[];
}

/** xorshift32: small, fast, good enough to drive a fuzzer; never returns 0 state. */
export function xorshift32(seed: number): () => number {
  let x = seed >>> 0 || 0x9e3779b9;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

const RAM = 64 * 1024;
// Layout of guest RAM (offsets from its base). Metadata (tables, avail ring) is never the target of a
// device-writable descriptor, so the oracle's picture of the tables stays true while the device runs.
const DESC_AT = 0x0000; // up to 256 × 16
const AVAIL_AT = 0x1000; // up to 6 + 2 × 256
const INDIRECT_AT = 0x1400; // indirect tables, up to INDIRECT_END
const INDIRECT_END = 0x2000;
const USED_AT = 0x2000; // up to 6 + 8 × 256
const DATA_AT = 0x3000; // buffers and request bodies
const HART_FILL = 0xa5;

export function fuzzVirtioDevice(opts: FuzzOptions): FuzzReport {
  const rand = xorshift32(opts.seed);
  const below = (n: number): number => rand() % n;
  const chance = (p: number): boolean => rand() / 0x1_0000_0000 < p;
  const mem = new MachineMemory(RAM);
  const base = mem.ramBase;
  const host = RAM_HOST_OFFSET;
  mem.bytes.fill(HART_FILL, 0, host);
  const report: FuzzReport = { iterations: 0, used: 0, usedEmpty: 0, needsReset: 0, violations: [] };
  const fail = (it: number, what: string): void => {
    report.violations.push(`seed ${opts.seed} iteration ${it}: ${what}`);
  };

  for (let it = 0; it < opts.iterations; it++) {
    report.iterations++;
    const device = opts.make(rand);
    const t = new MmioTransport(device, mem, new LevelIrqLine());
    for (let i = 0; i < RAM; i += 4) mem.view.setUint32(host + i, rand(), true);
    mem.bytes.fill(0, host + USED_AT, host + DATA_AT);

    const size = 1 << below(Math.log2(device.queueMaxSizes[0]) + 1);
    const allowed = new Uint8Array(RAM);
    allowed.fill(1, USED_AT, USED_AT + 6 + 8 * size);
    allowed.fill(1, AVAIL_AT + 2, AVAIL_AT + 4); // avail idx: the fuzzer itself publishes it below

    const aimAtUsedRing = chance(0.1);
    // A descriptor's address: mostly a data buffer, sometimes anything a hostile guest would try.
    const randomAddr = (writable: boolean): number => {
      const r = below(20);
      if (r < 14) return base + DATA_AT + below(RAM - DATA_AT);
      if (r === 14) return aimAtUsedRing ? base + USED_AT + below(6 + 8 * size) : base + DATA_AT;
      if (r === 15) return base + RAM - below(64); // straddles the end of RAM
      if (r === 16) return rand() * 0x1_0000 + rand(); // anywhere in 48 bits
      if (r === 17) return base - 1 - below(4096); // just below RAM
      return writable ? base + DATA_AT : base + below(DATA_AT); // readable may point at metadata
    };
    const randomLen = (): number => {
      const r = below(10);
      if (r < 6) return below(700);
      if (r < 8) return 512 * below(4) + (chance(0.5) ? 1 : 0);
      if (r === 8) return 0;
      return rand();
    };
    const writeDesc = (at: number, writable: boolean, allowIndirect: boolean, tableLen: number): void => {
      let flags = (writable ? S.DESC_F_WRITE : 0) | (chance(0.6) ? S.DESC_F_NEXT : 0);
      let addr = randomAddr(writable);
      let len = randomLen();
      if (allowIndirect && chance(0.15)) {
        flags |= S.DESC_F_INDIRECT;
        if (chance(0.8)) flags &= ~S.DESC_F_NEXT;
        const entries = 1 + below(8);
        addr = base + INDIRECT_AT + 16 * below((INDIRECT_END - INDIRECT_AT) / 16 - entries);
        len = chance(0.9) ? 16 * entries : below(64);
      }
      const next = chance(0.9) ? below(Math.max(tableLen, 1)) : below(0x1_0000);
      mem.view.setUint32(host + at, addr % 0x1_0000_0000, true);
      mem.view.setUint32(host + at + 4, Math.floor(addr / 0x1_0000_0000), true);
      mem.view.setUint32(host + at + 8, len >>> 0, true);
      mem.view.setUint16(host + at + 12, flags, true);
      mem.view.setUint16(host + at + 14, next, true);
    };
    for (let i = 0; i < size; i++) writeDesc(DESC_AT + 16 * i, chance(0.5), true, size);
    for (let at = INDIRECT_AT; at < INDIRECT_END; at += 16) writeDesc(at, chance(0.5), chance(0.05), 8);
    // Plausible virtio-blk headers and well-formed header/data/status triples among the random
    // descriptors, so requests get past parsing into the device and move data.
    const headers: number[] = [];
    for (let i = 0; i < 32; i++) {
      const at = DATA_AT + 16 * below((RAM - DATA_AT) / 16);
      headers.push(at);
      mem.view.setUint32(host + at, [0, 1, 4, 8, 11, 13][below(6)], true);
      mem.view.setUint32(host + at + 4, 0, true);
      mem.view.setUint32(host + at + 8, below(80), true);
      mem.view.setUint32(host + at + 12, chance(0.95) ? 0 : rand(), true);
    }
    const putDesc = (i: number, addr: number, len: number, flags: number, next: number): void => {
      const at = host + DESC_AT + 16 * i;
      mem.view.setUint32(at, addr, true);
      mem.view.setUint32(at + 4, 0, true);
      mem.view.setUint32(at + 8, len, true);
      mem.view.setUint16(at + 12, flags, true);
      mem.view.setUint16(at + 14, next, true);
    };
    for (let i = 0; i + 2 < size; i += 3) {
      if (chance(0.5)) continue;
      const dataLen = 512 * (1 + below(4));
      const dataAt = DATA_AT + 16 * below((RAM - DATA_AT - dataLen) / 16);
      const dataFlags = chance(0.5) ? S.DESC_F_WRITE : 0;
      putDesc(i, base + headers[below(headers.length)], 16, S.DESC_F_NEXT, i + 1);
      putDesc(i + 1, base + dataAt, dataLen, S.DESC_F_NEXT | dataFlags, i + 2);
      putDesc(i + 2, base + DATA_AT + below(RAM - DATA_AT), 1, S.DESC_F_WRITE, 0);
    }

    let usedRingShared = false;
    // What the device may write: the used ring and every device-writable buffer inside RAM.
    const markWritable = (at: number): void => {
      const addr = mem.view.getUint32(host + at, true) + mem.view.getUint32(host + at + 4, true) * 0x1_0000_0000;
      const len = mem.view.getUint32(host + at + 8, true);
      const flags = mem.view.getUint16(host + at + 12, true);
      if (!(flags & S.DESC_F_WRITE) || flags & S.DESC_F_INDIRECT) return;
      const off = addr - base;
      if (off >= 0 && off + len <= RAM) {
        allowed.fill(1, off, off + len);
        // A buffer over the used ring lets the device scribble on it (the guest's own doing), so the
        // used-ring checks below would judge garbage; skip them for this iteration.
        if (off < USED_AT + 6 + 8 * size && off + len > USED_AT) usedRingShared = true;
      }
    };
    for (let i = 0; i < size; i++) markWritable(DESC_AT + 16 * i);
    for (let at = INDIRECT_AT; at < INDIRECT_END; at += 16) markWritable(at);

    // Avail ring: heads mostly in range, flags and used_event random.
    mem.view.setUint16(host + AVAIL_AT, below(2), true);
    for (let i = 0; i < size; i++) mem.view.setUint16(host + AVAIL_AT + 4 + 2 * i, chance(0.97) ? (chance(0.5) ? 3 * below(Math.ceil(size / 3)) : below(size)) : rand() & 0xffff, true);
    mem.view.setUint16(host + AVAIL_AT + 4 + 2 * size, rand() & 0xffff, true);
    const availIdx = chance(0.9) ? below(size + 1) : rand() & 0xffff;
    mem.view.setUint16(host + AVAIL_AT + 2, 0, true);

    // Handshake through the registers, with a random feature subset (VERSION_1 always).
    const w = (off: number, v: number): void => t.write(off, 4, v);
    w(S.MMIO_STATUS, S.STATUS_ACKNOWLEDGE);
    w(S.MMIO_STATUS, S.STATUS_ACKNOWLEDGE | S.STATUS_DRIVER);
    const offered = device.availableFeatures;
    const accept = (offered & BigInt(rand()) & 0xffff_ffffn) | S.F_VERSION_1;
    w(S.MMIO_DRIVER_FEATURES_SEL, 0);
    w(S.MMIO_DRIVER_FEATURES, Number(accept & 0xffff_ffffn));
    w(S.MMIO_DRIVER_FEATURES_SEL, 1);
    w(S.MMIO_DRIVER_FEATURES, Number(accept >> 32n));
    w(S.MMIO_STATUS, S.STATUS_ACKNOWLEDGE | S.STATUS_DRIVER | S.STATUS_FEATURES_OK);
    w(S.MMIO_QUEUE_SEL, 0);
    w(S.MMIO_QUEUE_NUM, size);
    w(S.MMIO_QUEUE_DESC_LOW, base + DESC_AT);
    w(S.MMIO_QUEUE_DRIVER_LOW, base + AVAIL_AT);
    w(S.MMIO_QUEUE_DEVICE_LOW, base + USED_AT);
    w(S.MMIO_QUEUE_READY, 1);
    w(S.MMIO_STATUS, S.STATUS_ACKNOWLEDGE | S.STATUS_DRIVER | S.STATUS_FEATURES_OK | S.STATUS_DRIVER_OK);

    const before = mem.bytes.slice(host, host + RAM);
    try {
      // Publish in one or two steps, kicking (sometimes twice, sometimes a wrong queue).
      const mid = below(availIdx + 1);
      for (const idx of [mid, availIdx]) {
        mem.view.setUint16(host + AVAIL_AT + 2, idx, true);
        w(S.MMIO_QUEUE_NOTIFY, chance(0.95) ? 0 : below(4));
        if (chance(0.2)) w(S.MMIO_QUEUE_NOTIFY, 0);
        // The driver acks what it saw, as Linux's interrupt handler does.
        w(S.MMIO_INTERRUPT_ACK, t.read(S.MMIO_INTERRUPT_STATUS, 4));
      }
    } catch (e) {
      fail(it, `the device threw: ${(e as Error).stack ?? e}`);
      continue;
    }

    const after = mem.bytes.subarray(host, host + RAM);
    for (let i = 0; i < RAM; i++) {
      if (after[i] !== before[i] && !allowed[i]) {
        fail(it, `byte at RAM offset 0x${i.toString(16)} changed outside any device-writable buffer`);
        break;
      }
    }
    const usedIdx = usedRingShared ? 0 : mem.view.getUint16(host + USED_AT + 2, true);
    if (usedIdx > size) fail(it, `used idx ${usedIdx} ran past the ${size} chains made available`);
    for (let i = 0; i < usedIdx && i < size; i++) {
      const id = mem.view.getUint32(host + USED_AT + 4 + 8 * i, true);
      const len = mem.view.getUint32(host + USED_AT + 8 + 8 * i, true);
      if (id >= size) fail(it, `used id ${id} is not a descriptor of a ${size}-entry queue`);
      report.used++;
      if (len === 0) report.usedEmpty++;
    }
    if (t.deviceStatus & S.STATUS_DEVICE_NEEDS_RESET) report.needsReset++;
    w(S.MMIO_STATUS, 0);
  }
  for (let i = 0; i < host; i++) {
    if (mem.bytes[i] !== HART_FILL) {
      report.violations.push(`seed ${opts.seed}: the hart area before RAM was written at 0x${i.toString(16)}`);
      break;
    }
  }
  return report;
}
