/**
 * A guest virtio driver in miniature, for tests: it talks to any virtio-mmio MmioDevice through its
 * registers and to its queues through a MachineMemory, the way Linux's virtio_mmio + virtio_ring do
 * (virtio 1.2 §3.1.1 initialization, §2.7 split rings). It also exposes raw ring/descriptor writes so
 * hostile-guest tests can build anything a malicious driver could.
 */
import type { MachineMemory } from '../../src/memory/machine-memory.js';
import type { MmioDevice } from '../../src/memory/mmio-device.js';
import * as S from '../../src/devices/virtio/spec.js';

export interface BufferSpec {
  /** Bytes the device reads (a device-readable buffer). */
  data?: Uint8Array;
  /** Size of a device-writable buffer (ignored when `data` is given). */
  writable?: number;
  /** Place the buffer at this guest-physical address instead of allocating one. */
  addr?: number;
  /** Override the descriptor's len (hostile tests). */
  len?: number;
}

export interface SubmittedChain {
  head: number;
  /** Guest-physical address of each buffer, in order. */
  addrs: number[];
}

export interface UsedElem {
  id: number;
  len: number;
}

export interface RawDesc {
  addr: number;
  len: number;
  flags: number;
  next: number;
}

interface DriverQueue {
  size: number;
  desc: number;
  avail: number;
  used: number;
  availIdx: number;
  lastUsed: number;
  free: number[];
  /** Descriptors each outstanding head holds, to free them when it comes back. */
  held: Map<number, number[]>;
}

export interface InitOptions {
  /** Features to accept; default: everything the device offers. */
  accept?: (offered: bigint) => bigint;
  /** Queue size per queue; default QueueNumMax. */
  queueSize?: number;
  /** Stop before DRIVER_OK (to test negotiation steps). */
  skipDriverOk?: boolean;
}

const HI = 0x1_0000_0000;

export class VirtqueueDriver {
  readonly queues: DriverQueue[] = [];
  private heap: number;
  private readonly heapEnd: number;

  constructor(
    readonly dev: MmioDevice,
    readonly mem: MachineMemory,
  ) {
    this.heap = mem.ramBase + 0x1000;
    this.heapEnd = mem.ramBase + mem.ramSize;
  }

  read(off: number): number {
    return this.dev.read(off, 4);
  }

  write(off: number, v: number): void {
    this.dev.write(off, 4, v >>> 0);
  }

  get status(): number {
    return this.read(S.MMIO_STATUS);
  }

  setStatus(v: number): void {
    this.write(S.MMIO_STATUS, v);
  }

  addStatus(bit: number): void {
    this.setStatus(this.status | bit);
  }

  deviceFeatures(): bigint {
    this.write(S.MMIO_DEVICE_FEATURES_SEL, 0);
    const lo = this.read(S.MMIO_DEVICE_FEATURES);
    this.write(S.MMIO_DEVICE_FEATURES_SEL, 1);
    const hi = this.read(S.MMIO_DEVICE_FEATURES);
    return (BigInt(hi) << 32n) | BigInt(lo);
  }

  writeDriverFeatures(f: bigint): void {
    this.write(S.MMIO_DRIVER_FEATURES_SEL, 0);
    this.write(S.MMIO_DRIVER_FEATURES, Number(f & 0xffff_ffffn));
    this.write(S.MMIO_DRIVER_FEATURES_SEL, 1);
    this.write(S.MMIO_DRIVER_FEATURES, Number((f >> 32n) & 0xffff_ffffn));
  }

  /** §3.1.1 driver initialization. Returns the accepted features; throws if the device refused them. */
  init(opts: InitOptions = {}): bigint {
    this.setStatus(0);
    this.addStatus(S.STATUS_ACKNOWLEDGE);
    this.addStatus(S.STATUS_DRIVER);
    const offered = this.deviceFeatures();
    const accepted = opts.accept ? opts.accept(offered) : offered;
    this.writeDriverFeatures(accepted);
    this.addStatus(S.STATUS_FEATURES_OK);
    if (!(this.status & S.STATUS_FEATURES_OK)) throw new Error('Device refused the features');
    this.queues.length = 0;
    for (let i = 0; ; i++) {
      this.write(S.MMIO_QUEUE_SEL, i);
      const max = this.read(S.MMIO_QUEUE_NUM_MAX);
      if (max === 0) break;
      this.setupQueue(i, Math.min(opts.queueSize ?? max, max));
    }
    if (!opts.skipDriverOk) this.addStatus(S.STATUS_DRIVER_OK);
    return accepted;
  }

  /** Allocates and programs queue `i` (QueueSel, QueueNum, ring addresses, QueueReady). */
  setupQueue(i: number, size: number): void {
    const desc = this.alloc(16 * size, 16);
    const avail = this.alloc(6 + 2 * size, 2);
    const used = this.alloc(6 + 8 * size, 4);
    this.write(S.MMIO_QUEUE_SEL, i);
    this.write(S.MMIO_QUEUE_NUM, size);
    this.write(S.MMIO_QUEUE_DESC_LOW, desc % HI);
    this.write(S.MMIO_QUEUE_DESC_HIGH, Math.floor(desc / HI));
    this.write(S.MMIO_QUEUE_DRIVER_LOW, avail % HI);
    this.write(S.MMIO_QUEUE_DRIVER_HIGH, Math.floor(avail / HI));
    this.write(S.MMIO_QUEUE_DEVICE_LOW, used % HI);
    this.write(S.MMIO_QUEUE_DEVICE_HIGH, Math.floor(used / HI));
    this.write(S.MMIO_QUEUE_READY, 1);
    const free: number[] = [];
    for (let d = size - 1; d >= 0; d--) free.push(d);
    this.queues[i] = { size, desc, avail, used, availIdx: 0, lastUsed: 0, free, held: new Map() };
  }

  /** Bump allocation of zeroed guest RAM. */
  alloc(len: number, align = 16): number {
    const at = Math.ceil(this.heap / align) * align;
    if (at + len > this.heapEnd) throw new Error(`Test guest RAM exhausted allocating ${len} bytes`);
    this.heap = at + Math.max(len, 1);
    this.mem.bytes.fill(0, this.mem.hostOffset(at, 0), this.mem.hostOffset(at, 0) + len);
    return at;
  }

  /**
   * Builds a chain from `buffers` (readable ones first, as §2.7.4.2 asks), makes it available and
   * returns its head. With `indirect`, the buffers go into one indirect table (§2.7.5.3).
   */
  submit(q: number, buffers: BufferSpec[], opts: { indirect?: boolean; kick?: boolean } = {}): SubmittedChain {
    const dq = this.queues[q];
    const addrs: number[] = [];
    const descs: RawDesc[] = buffers.map((b) => {
      const len = b.data ? b.data.length : (b.writable ?? 0);
      const addr = b.addr ?? this.alloc(len, 8);
      if (b.data && b.addr === undefined) this.mem.write(addr, b.data);
      addrs.push(addr);
      return { addr, len: b.len ?? len, flags: b.data ? 0 : S.DESC_F_WRITE, next: 0 };
    });
    let head: number;
    if (opts.indirect) {
      const table = this.alloc(16 * descs.length, 16);
      descs.forEach((d, i) => {
        const last = i === descs.length - 1;
        this.writeDescAt(table + 16 * i, { ...d, flags: d.flags | (last ? 0 : S.DESC_F_NEXT), next: last ? 0 : i + 1 });
      });
      head = this.takeDesc(dq);
      this.writeDesc(q, head, { addr: table, len: 16 * descs.length, flags: S.DESC_F_INDIRECT, next: 0 });
      dq.held.set(head, [head]);
    } else {
      const ids = descs.map(() => this.takeDesc(dq));
      descs.forEach((d, i) => {
        const last = i === descs.length - 1;
        this.writeDesc(q, ids[i], { ...d, flags: d.flags | (last ? 0 : S.DESC_F_NEXT), next: last ? 0 : ids[i + 1] });
      });
      head = ids[0];
      dq.held.set(head, ids);
    }
    this.pushAvail(q, head);
    if (opts.kick !== false) this.kick(q);
    return { head, addrs };
  }

  kick(q: number): void {
    this.write(S.MMIO_QUEUE_NOTIFY, q);
  }

  /** Used elements returned since the last call; their descriptors go back to the free list. */
  used(q: number): UsedElem[] {
    const dq = this.queues[q];
    const out: UsedElem[] = [];
    const idx = this.u16(dq.used + 2);
    while (dq.lastUsed !== idx) {
      const e = dq.used + 4 + 8 * (dq.lastUsed % dq.size);
      const id = this.u32(e);
      out.push({ id, len: this.u32(e + 4) });
      const held = dq.held.get(id);
      if (held) {
        dq.held.delete(id);
        dq.free.push(...held);
      }
      dq.lastUsed = (dq.lastUsed + 1) & 0xffff;
    }
    return out;
  }

  usedIdx(q: number): number {
    return this.u16(this.queues[q].used + 2);
  }

  /** Reads guest RAM. */
  peek(addr: number, len: number): Uint8Array {
    const b = new Uint8Array(len);
    if (!this.mem.read(addr, b)) throw new Error(`Test read outside RAM at 0x${addr.toString(16)}`);
    return b;
  }

  poke(addr: number, data: Uint8Array): void {
    if (!this.mem.write(addr, data)) throw new Error(`Test write outside RAM at 0x${addr.toString(16)}`);
  }

  ackInterrupts(): number {
    const s = this.read(S.MMIO_INTERRUPT_STATUS);
    this.write(S.MMIO_INTERRUPT_ACK, s);
    return s;
  }

  // Raw ring access for hostile tests.

  writeDesc(q: number, idx: number, d: RawDesc): void {
    this.writeDescAt(this.queues[q].desc + 16 * idx, d);
  }

  writeDescAt(addr: number, d: RawDesc): void {
    const b = new Uint8Array(16);
    const v = new DataView(b.buffer);
    v.setUint32(0, d.addr % HI, true);
    v.setUint32(4, Math.floor(d.addr / HI), true);
    v.setUint32(8, d.len >>> 0, true);
    v.setUint16(12, d.flags, true);
    v.setUint16(14, d.next, true);
    this.poke(addr, b);
  }

  /** Appends `head` to the avail ring and publishes the new avail idx. */
  pushAvail(q: number, head: number): void {
    const dq = this.queues[q];
    this.setU16(dq.avail + 4 + 2 * (dq.availIdx % dq.size), head);
    dq.availIdx = (dq.availIdx + 1) & 0xffff;
    this.setU16(dq.avail + 2, dq.availIdx);
  }

  setAvailIdx(q: number, v: number): void {
    this.queues[q].availIdx = v & 0xffff;
    this.setU16(this.queues[q].avail + 2, v);
  }

  setAvailFlags(q: number, flags: number): void {
    this.setU16(this.queues[q].avail, flags);
  }

  /** §2.7.7 used_event: the driver wants an interrupt once the used idx passes this value. */
  setUsedEvent(q: number, v: number): void {
    const dq = this.queues[q];
    this.setU16(dq.avail + 4 + 2 * dq.size, v);
  }

  /** §2.7.10 avail_event, written by the device. */
  availEvent(q: number): number {
    const dq = this.queues[q];
    return this.u16(dq.used + 4 + 8 * dq.size);
  }

  private takeDesc(dq: DriverQueue): number {
    const d = dq.free.pop();
    if (d === undefined) throw new Error('Test driver ran out of descriptors');
    return d;
  }

  private u16(addr: number): number {
    const o = this.mem.hostOffset(addr, 2);
    return this.mem.bytes[o] | (this.mem.bytes[o + 1] << 8);
  }

  private u32(addr: number): number {
    const o = this.mem.hostOffset(addr, 4);
    return this.mem.view.getUint32(o, true);
  }

  private setU16(addr: number, v: number): void {
    const o = this.mem.hostOffset(addr, 2);
    this.mem.view.setUint16(o, v & 0xffff, true);
  }
}
