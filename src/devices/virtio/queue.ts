import type { GuestMemory } from '../../memory/guest-memory.js';
import { CHAIN_ERROR_CODES, DescriptorChain, type ChainErrorCode, type Segment } from './descriptor-chain.js';
import {
  AVAIL_F_NO_INTERRUPT,
  AVAIL_RING_ALIGN,
  DESC_F_INDIRECT,
  DESC_F_NEXT,
  DESC_F_WRITE,
  DESC_SIZE,
  DESC_TABLE_ALIGN,
  F_EVENT_IDX,
  F_INDIRECT_DESC,
  QUEUE_SIZE_LIMIT,
  USED_RING_ALIGN,
} from './spec.js';

/** Why a queue's configuration was refused at DRIVER_OK (the device then sets DEVICE_NEEDS_RESET). */
export type QueueConfigError = 'bad-size' | 'misaligned' | 'ring-out-of-ram';

/**
 * Faults that leave the queue unusable: the driver's ring state itself is inconsistent, so the device
 * cannot even name the chain it would return. The queue stops and the transport sets
 * DEVICE_NEEDS_RESET (§2.1.2: "The device SHOULD set DEVICE_NEEDS_RESET when it enters an error
 * state that a reset is needed").
 */
export type QueueFaultCode = 'avail-index-jump' | 'head-out-of-range';

/** Counters of guest misbehaviour seen by one queue, Firecracker-style plain data. */
export type QueueMetrics = Record<ChainErrorCode | QueueFaultCode | QueueConfigError, number> & {
  /** Chains popped (valid or not). */
  chains: number;
  /** Used-buffer notifications the queue asked for / suppressed on the driver's request. */
  notifications: number;
  suppressedNotifications: number;
};

export function newQueueMetrics(): QueueMetrics {
  const m = {
    chains: 0,
    notifications: 0,
    suppressedNotifications: 0,
    'avail-index-jump': 0,
    'head-out-of-range': 0,
    'bad-size': 0,
    misaligned: 0,
    'ring-out-of-ram': 0,
  } as QueueMetrics;
  for (const c of CHAIN_ERROR_CODES) m[c] = 0;
  return m;
}

/** The queue's snapshot: what the driver programmed and where the device is in the rings. */
export interface QueueState {
  maxSize: number;
  size: number;
  ready: boolean;
  descAddr: number;
  driverAddr: number;
  deviceAddr: number;
  nextAvail: number;
  nextUsed: number;
}

/**
 * A split virtqueue (§2.7) seen from the device. The transport fills in the driver's configuration
 * (size, ready, ring addresses); `activate` checks it against guest RAM once, after which the hot
 * path reads the rings at cached host offsets.
 *
 * Hardening: the avail index may not run more than `size` ahead; heads and `next` indices must be in
 * range; a chain (direct descriptors plus the entries of at most one indirect table) may not be longer
 * than the queue size, which also bounds descriptor loops; every buffer must lie inside RAM. A bad
 * chain is returned to the driver with len 0; a bad ring breaks the queue. Nothing here throws.
 */
export class Queue {
  size: number;
  ready = false;
  descAddr = 0;
  driverAddr = 0;
  deviceAddr = 0;

  readonly metrics: QueueMetrics = newQueueMetrics();
  /** Set on a QueueFaultCode: the queue stops until the device is reset. */
  broken = false;

  private bytes: Uint8Array | null = null;
  private memory: GuestMemory | null = null;
  private noteWrite: ((off: number, len: number) => void) | null = null;
  private descOff = 0;
  private availOff = 0;
  private usedOff = 0;
  private indirect = false;
  private eventIdx = false;
  private nextAvail = 0;
  private nextUsed = 0;
  /** Used index at the last notification decision (§2.7.7.2 with EVENT_IDX). */
  private signalledUsed = 0;

  constructor(readonly maxSize: number) {
    if (!Number.isInteger(maxSize) || maxSize < 1 || maxSize > QUEUE_SIZE_LIMIT || (maxSize & (maxSize - 1)) !== 0) {
      throw new RangeError(`Cannot create a virtqueue of maximum size ${maxSize}: it must be a power of 2 up to ${QUEUE_SIZE_LIMIT}`);
    }
    this.size = maxSize;
  }

  get activated(): boolean {
    return this.bytes !== null;
  }

  /** Checks the driver's configuration (§2.7 sizes and alignment, rings inside RAM); null if usable. */
  validate(memory: GuestMemory): QueueConfigError | null {
    const n = this.size;
    if (!Number.isInteger(n) || n < 1 || n > this.maxSize || (n & (n - 1)) !== 0) return 'bad-size';
    if (this.descAddr % DESC_TABLE_ALIGN || this.driverAddr % AVAIL_RING_ALIGN || this.deviceAddr % USED_RING_ALIGN) {
      return 'misaligned';
    }
    // §2.7.6 avail: flags, idx, ring[n], used_event; §2.7.8 used: flags, idx, ring[n] of 8 bytes, avail_event.
    if (
      memory.hostOffset(this.descAddr, DESC_SIZE * n) < 0 ||
      memory.hostOffset(this.driverAddr, 6 + 2 * n) < 0 ||
      memory.hostOffset(this.deviceAddr, 6 + 8 * n) < 0
    ) {
      return 'ring-out-of-ram';
    }
    return null;
  }

  /** Binds the queue to guest memory with the negotiated features; false (and counted) if invalid. */
  activate(memory: GuestMemory, features: bigint): boolean {
    const err = this.validate(memory);
    if (err) {
      this.metrics[err]++;
      return false;
    }
    this.memory = memory;
    this.noteWrite = (off, len) => memory.noteWrite(off, len);
    this.bytes = memory.bytes;
    this.descOff = memory.hostOffset(this.descAddr, DESC_SIZE * this.size);
    this.availOff = memory.hostOffset(this.driverAddr, 6 + 2 * this.size);
    this.usedOff = memory.hostOffset(this.deviceAddr, 6 + 8 * this.size);
    this.indirect = (features & F_INDIRECT_DESC) !== 0n;
    this.eventIdx = (features & F_EVENT_IDX) !== 0n;
    this.signalledUsed = this.nextUsed;
    return true;
  }

  /** §2.4 device reset: back to the power-on configuration; metrics are kept (they are cumulative). */
  reset(): void {
    this.size = this.maxSize;
    this.ready = false;
    this.descAddr = this.driverAddr = this.deviceAddr = 0;
    this.bytes = null;
    this.memory = null;
    this.nextAvail = this.nextUsed = 0;
    this.signalledUsed = 0;
    this.broken = false;
    this.indirect = this.eventIdx = false;
  }

  /** Chains the driver made available that the device has not popped yet (0 if not running). */
  pending(): number {
    if (!this.bytes || this.broken) return 0;
    return (this.u16(this.availOff + 2) - this.nextAvail) & 0xffff;
  }

  /**
   * The next available chain, or null if there is none (or the queue is broken). A malformed chain is
   * still returned, with `error` set, so the device can give it back with len 0.
   *
   * With EVENT_IDX, running dry publishes avail_event = next index (§2.7.10) and looks once more, so a
   * buffer the driver adds meanwhile is not left waiting for a kick the driver will not send.
   */
  pop(): DescriptorChain | null {
    if (!this.bytes || this.broken) return null;
    let pending = this.pending();
    if (pending === 0 && this.eventIdx) {
      this.setU16(this.usedOff + 4 + 8 * this.size, this.nextAvail);
      pending = this.pending();
    }
    if (pending === 0) return null;
    if (pending > this.size) {
      // §2.7.6: the driver can have at most `size` buffers outstanding; the index is garbage.
      this.fault('avail-index-jump');
      return null;
    }
    const head = this.u16(this.availOff + 4 + 2 * (this.nextAvail % this.size));
    if (head >= this.size) {
      this.fault('head-out-of-range');
      return null;
    }
    this.nextAvail = (this.nextAvail + 1) & 0xffff;
    this.metrics.chains++;
    return this.parse(head);
  }

  /**
   * With EVENT_IDX, asks for a notification at the driver's next addition (avail_event = its current
   * avail index, §2.7.10). For a queue the device pops one chain at a time without draining it (the
   * vsock event queue): pop() publishes avail_event only when it runs dry, so without this the
   * driver's refill would not be announced.
   */
  armAvailEvent(): void {
    if (!this.bytes || this.broken || !this.eventIdx) return;
    this.setU16(this.usedOff + 4 + 8 * this.size, this.u16(this.availOff + 2));
  }

  /**
   * Gives back the chain the last pop() returned, as if it had not been popped: it stays in the avail
   * ring and the next pop() returns it again (a device that must hold a request back, e.g. a throttled
   * rate limiter). Only valid right after a pop() that returned a chain.
   */
  undoPop(): void {
    if (!this.bytes || this.broken) return;
    this.nextAvail = (this.nextAvail - 1) & 0xffff;
    this.metrics.chains--;
  }

  /** Puts a chain back in the used ring with `len` bytes written (§2.7.8). */
  addUsed(head: number, len: number): void {
    if (!this.bytes || this.broken) return;
    const at = this.usedOff + 4 + 8 * (this.nextUsed % this.size);
    this.setU32(at, head);
    this.setU32(at + 4, len >>> 0);
    this.nextUsed = (this.nextUsed + 1) & 0xffff;
    // §2.7.8.2: len before idx; JS on one thread keeps program order, Atomics would be needed for SMP.
    this.setU16(this.usedOff + 2, this.nextUsed);
  }

  /**
   * Whether the driver wants a used-buffer notification for what was added since the last call
   * (§2.7.7.2): with EVENT_IDX, only if used_event lies in the newly used range; otherwise unless the
   * driver set VIRTQ_AVAIL_F_NO_INTERRUPT.
   */
  needsNotification(): boolean {
    if (!this.bytes || this.broken) return false;
    const now = this.nextUsed;
    const old = this.signalledUsed;
    this.signalledUsed = now;
    if (old === now) return false;
    let notify: boolean;
    if (this.eventIdx) {
      const usedEvent = this.u16(this.availOff + 4 + 2 * this.size);
      notify = ((now - usedEvent - 1) & 0xffff) < ((now - old) & 0xffff);
    } else {
      notify = (this.u16(this.availOff) & AVAIL_F_NO_INTERRUPT) === 0;
    }
    if (notify) this.metrics.notifications++;
    else this.metrics.suppressedNotifications++;
    return notify;
  }

  save(): QueueState {
    return {
      maxSize: this.maxSize,
      size: this.size,
      ready: this.ready,
      descAddr: this.descAddr,
      driverAddr: this.driverAddr,
      deviceAddr: this.deviceAddr,
      nextAvail: this.nextAvail,
      nextUsed: this.nextUsed,
    };
  }

  /** Restores a saved configuration and ring position; the caller re-activates it with its memory. */
  restore(state: QueueState): void {
    const s = state as unknown as Record<string, unknown>;
    const num = (k: string, max: number) => {
      const v = s?.[k];
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) throw new RangeError(`Cannot restore a virtqueue: ${k} must be an integer in [0, ${max}], got ${JSON.stringify(v)?.slice(0, 30)}`);
    };
    num('size', 0xffff); num('nextAvail', 0xffff); num('nextUsed', 0xffff);
    num('descAddr', Number.MAX_SAFE_INTEGER); num('driverAddr', Number.MAX_SAFE_INTEGER); num('deviceAddr', Number.MAX_SAFE_INTEGER);
    if (typeof s?.ready !== 'boolean') throw new RangeError('Cannot restore a virtqueue: ready must be true or false');
    if (state.maxSize !== this.maxSize) {
      throw new RangeError(`Cannot restore a virtqueue of maximum size ${state.maxSize} into one of ${this.maxSize}`);
    }
    this.reset();
    this.size = state.size;
    this.ready = state.ready;
    this.descAddr = state.descAddr;
    this.driverAddr = state.driverAddr;
    this.deviceAddr = state.deviceAddr;
    this.nextAvail = state.nextAvail & 0xffff;
    this.nextUsed = state.nextUsed & 0xffff;
  }

  private fault(code: QueueFaultCode): void {
    this.metrics[code]++;
    this.broken = true;
  }

  private parse(head: number): DescriptorChain {
    const bytes = this.bytes!;
    const memory = this.memory!;
    const limit = this.size;
    const readable: Segment[] = [];
    const writable: Segment[] = [];
    let table = this.descOff;
    let tableLen = this.size;
    let inIndirect = false;
    let idx = head;
    let seen = 0;
    const bad = (code: ChainErrorCode): DescriptorChain => {
      this.metrics[code]++;
      return DescriptorChain.invalid(head, bytes, code);
    };
    for (;;) {
      const d = table + DESC_SIZE * idx;
      // Each field read once: a guest on another hart may rewrite the table while we walk it.
      const addr = this.u32(d) + this.u32(d + 4) * 0x1_0000_0000;
      const len = this.u32(d + 8);
      const flags = this.u16(d + 12);
      const next = this.u16(d + 14);
      if (flags & DESC_F_INDIRECT) {
        // §2.7.5.3.1: indirect only if negotiated, never inside a table, never with NEXT.
        if (!this.indirect) return bad('indirect-not-negotiated');
        if (inIndirect) return bad('nested-indirect');
        if (flags & DESC_F_NEXT) return bad('indirect-with-next');
        if (len === 0 || len % DESC_SIZE !== 0) return bad('indirect-bad-length');
        const off = memory.hostOffset(addr, len);
        if (off < 0) return bad('address-out-of-ram');
        table = off;
        tableLen = len / DESC_SIZE;
        inIndirect = true;
        idx = 0;
        continue;
      }
      // §2.7.5: the table size is the longest possible chain; §2.7.5.3.1 holds indirect chains to it too.
      // Counting every buffer descriptor against it also ends any loop.
      if (++seen > limit) return bad('chain-too-long');
      const off = memory.hostOffset(addr, len);
      if (off < 0) return bad('address-out-of-ram');
      (flags & DESC_F_WRITE ? writable : readable).push({ off, len });
      if (!(flags & DESC_F_NEXT)) break;
      if (next >= tableLen) return bad('next-out-of-range');
      idx = next;
    }
    return new DescriptorChain(head, bytes, readable, writable, null, this.noteWrite);
  }

  private u16(o: number): number {
    const b = this.bytes!;
    return b[o] | (b[o + 1] << 8);
  }

  private u32(o: number): number {
    const b = this.bytes!;
    return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
  }

  private setU16(o: number, v: number): void {
    const b = this.bytes!;
    b[o] = v & 0xff;
    b[o + 1] = (v >>> 8) & 0xff;
    this.noteWrite?.(o, 2);
  }

  private setU32(o: number, v: number): void {
    const b = this.bytes!;
    b[o] = v & 0xff;
    b[o + 1] = (v >>> 8) & 0xff;
    b[o + 2] = (v >>> 16) & 0xff;
    b[o + 3] = (v >>> 24) & 0xff;
    this.noteWrite?.(o, 4);
  }
}
