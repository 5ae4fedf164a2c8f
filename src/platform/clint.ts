import type { MmioDevice } from '../memory/mmio-device.js';
import { TIMEBASE_HZ } from './memory-map.js';

/**
 * CLINT / ACLINT (SiFive CLINT layout, as QEMU virt): per-hart machine software interrupt (msip) and timer
 * compare (mtimecmp) registers, and the shared mtime counter. Offsets from the ACLINT spec (MSWI at +0,
 * MTIMER compare at +0x4000, mtime at +0xbff8 of the classic 64 KiB CLINT window).
 *
 * Timer interrupts are levels: MTIP[h] = mtime >= mtimecmp[h], re-evaluated when mtimecmp is written and
 * whenever the machine calls update(). mtime comes from an injected Clock and is read-only here (writes
 * are ignored and counted): the clock is shared with the harts' `time` CSR, so moving it belongs to the
 * machine, not to one device.
 */

/** A source of 10 MHz timebase ticks (a JS number: exact up to 2^53 ticks, about 28 years). */
export interface Clock {
  now(): number;
}

/** Where the CLINT's per-hart outputs go: the hart's mip.MSIP and mip.MTIP bits. */
export interface ClintOutputs {
  setSoftware(hart: number, level: boolean): void;
  setTimer(hart: number, level: boolean): void;
}

export interface ClintMetrics {
  /** Accesses to unknown offsets, misaligned or crossing a register, or writes to read-only mtime. */
  badAccesses: number;
}

/** Plain, versioned device state (mtime is not part of it: it belongs to the clock). */
export interface ClintState {
  version: 1;
  msip: number[];
  /** mtimecmp per hart as [low, high] 32-bit halves. */
  mtimecmp: [number, number][];
}

const MSIP_BASE = 0x0000; // ACLINT MSWI: 4 bytes per hart
const MTIMECMP_BASE = 0x4000; // ACLINT MTIMER: 8 bytes per hart
const MTIME = 0xbff8; // mtime, 8 bytes
/** 4095 harts fit each of the msip and mtimecmp arrays (ACLINT spec, MSWI/MTIMER register maps). */
const MAX_CLINT_HARTS = 4095;
const TWO_32 = 0x1_0000_0000;

/** The host's monotonic clock in timebase ticks, starting at 0 when created. */
export function monotonicClock(): Clock {
  const start = performance.now();
  const ticksPerMs = TIMEBASE_HZ / 1000;
  return { now: () => Math.floor((performance.now() - start) * ticksPerMs) };
}

/** A clock that moves only when told: for tests and for a deterministic (instruction-count) mode. */
export class ManualClock implements Clock {
  constructor(public ticks = 0) {}
  now(): number {
    return this.ticks;
  }
  advance(ticks: number): void {
    this.ticks += ticks;
  }
}

export class Clint implements MmioDevice {
  readonly metrics: ClintMetrics = { badAccesses: 0 };
  private readonly msip: Uint8Array;
  private readonly cmpLo: Uint32Array;
  private readonly cmpHi: Uint32Array;
  private readonly timerLevel: Uint8Array;
  /** mtime latched by a read of its low word, so the high word of the same 64-bit read agrees with it. */
  private latchedMtime = -1;

  constructor(
    readonly harts: number,
    private readonly clock: Clock,
    private readonly out: ClintOutputs,
  ) {
    if (!Number.isInteger(harts) || harts < 1 || harts > MAX_CLINT_HARTS) {
      throw new RangeError(`Cannot create CLINT for ${harts} harts: must be 1…${MAX_CLINT_HARTS}`);
    }
    this.msip = new Uint8Array(harts);
    this.cmpLo = new Uint32Array(harts);
    this.cmpHi = new Uint32Array(harts);
    this.timerLevel = new Uint8Array(harts);
    // mtimecmp resets to all-ones so no timer fires before software programs one (reset value is
    // unspecified by the ACLINT spec).
    this.cmpLo.fill(0xffff_ffff);
    this.cmpHi.fill(0xffff_ffff);
  }

  read(offset: number, size: 1 | 2 | 4): number {
    const shift = (offset & 3) * 8;
    const word = offset - (offset & 3);
    if ((offset & 3) + size > 4) return this.bad(0);
    const latched = this.latchedMtime;
    this.latchedMtime = -1;
    let value: number;
    if (word >= MSIP_BASE && word < MSIP_BASE + 4 * this.harts) {
      value = this.msip[(word - MSIP_BASE) >> 2]!;
    } else if (word >= MTIMECMP_BASE && word < MTIMECMP_BASE + 8 * this.harts) {
      const hart = (word - MTIMECMP_BASE) >> 3;
      value = (word & 4) === 0 ? this.cmpLo[hart]! : this.cmpHi[hart]!;
    } else if (word === MTIME) {
      const now = this.mtime();
      if (shift === 0 && size === 4) this.latchedMtime = now;
      value = now >>> 0;
    } else if (word === MTIME + 4) {
      value = Math.floor((latched >= 0 ? latched : this.mtime()) / TWO_32) >>> 0;
    } else {
      return this.bad(0);
    }
    return size === 4 ? value >>> 0 : (value >>> shift) & (size === 1 ? 0xff : 0xffff);
  }

  write(offset: number, size: 1 | 2 | 4, value: number): void {
    this.latchedMtime = -1;
    if ((offset & 3) + size > 4) return void this.bad(0);
    const shift = (offset & 3) * 8;
    const word = offset - (offset & 3);
    const mask = size === 4 ? 0xffff_ffff : ((size === 1 ? 0xff : 0xffff) << shift) >>> 0;
    const merge = (old: number) => ((old & ~mask) | ((value << shift) & mask)) >>> 0;
    if (word >= MSIP_BASE && word < MSIP_BASE + 4 * this.harts) {
      const hart = (word - MSIP_BASE) >> 2;
      // Only bit 0 of msip is writable; the other bits read as zero (ACLINT spec, MSWI).
      const level = merge(this.msip[hart]!) & 1;
      if (level !== this.msip[hart]) {
        this.msip[hart] = level;
        this.out.setSoftware(hart, level === 1);
      }
    } else if (word >= MTIMECMP_BASE && word < MTIMECMP_BASE + 8 * this.harts) {
      const hart = (word - MTIMECMP_BASE) >> 3;
      if ((word & 4) === 0) this.cmpLo[hart] = merge(this.cmpLo[hart]!);
      else this.cmpHi[hart] = merge(this.cmpHi[hart]!);
      this.evaluate(hart, this.mtime());
    } else {
      this.bad(0); // mtime is read-only here (see the file comment); anything else is unknown
    }
  }

  /** Current mtime in ticks. */
  mtime(): number {
    return this.clock.now();
  }

  /** Re-evaluate every hart's timer level against the clock (call after time moved). */
  update(): void {
    const now = this.mtime();
    for (let h = 0; h < this.harts; h++) this.evaluate(h, now);
  }

  /** mtimecmp of a hart in ticks, or Infinity when it is beyond 2^53 ticks (never reached). */
  deadline(hart: number): number {
    const hi = this.cmpHi[hart]!;
    if (hi >= 0x20_0000) return Infinity;
    return hi * TWO_32 + this.cmpLo[hart]!;
  }

  /** The earliest mtimecmp over all harts whose timer is not already pending, or Infinity. */
  nextDeadline(): number {
    let next = Infinity;
    for (let h = 0; h < this.harts; h++) {
      if (this.timerLevel[h] === 0) next = Math.min(next, this.deadline(h));
    }
    return next;
  }

  save(): ClintState {
    return {
      version: 1,
      msip: Array.from(this.msip),
      mtimecmp: Array.from(this.cmpLo, (lo, h) => [lo, this.cmpHi[h]!] as [number, number]),
    };
  }

  /** Restore a saved state (same hart count) and re-drive every output line. */
  restore(state: ClintState): void {
    if (state.version !== 1 || state.msip.length !== this.harts || state.mtimecmp.length !== this.harts) {
      throw new RangeError(`Cannot restore CLINT state: expected version 1 for ${this.harts} harts`);
    }
    for (let h = 0; h < this.harts; h++) {
      this.msip[h] = state.msip[h]! & 1;
      this.cmpLo[h] = state.mtimecmp[h]![0] >>> 0;
      this.cmpHi[h] = state.mtimecmp[h]![1] >>> 0;
      this.out.setSoftware(h, this.msip[h] === 1);
      this.timerLevel[h] = 0;
      this.out.setTimer(h, false);
    }
    this.update();
  }

  /** MTIP = mtime >= mtimecmp, compared as exact 32-bit halves (mtimecmp may exceed 2^53). */
  private evaluate(hart: number, now: number): void {
    const nowHi = Math.floor(now / TWO_32);
    const nowLo = now >>> 0;
    const hi = this.cmpHi[hart]!;
    const level = nowHi > hi || (nowHi === hi && nowLo >= this.cmpLo[hart]!) ? 1 : 0;
    if (level !== this.timerLevel[hart]) {
      this.timerLevel[hart] = level;
      this.out.setTimer(hart, level === 1);
    }
  }

  private bad(result: number): number {
    this.metrics.badAccesses++;
    return result;
  }
}
