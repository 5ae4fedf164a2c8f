import type { IrqLine } from '../devices/irq-line.js';
import type { MmioDevice } from '../memory/mmio-device.js';
import { PLIC_NUM_SOURCES, PLIC_PRIORITY_MASK } from './memory-map.js';

/**
 * The platform-level interrupt controller, configured as QEMU virt's: sources 1…95 (0 is reserved),
 * priorities 0…7, two contexts per hart (2h = M-mode, 2h+1 = S-mode). Register map and semantics from the
 * RISC-V PLIC specification (v1.0.0), "Memory Map", "Interrupt Gateways", "Interrupt Claim Process" and
 * "Interrupt Completion".
 *
 * Sources are level-triggered. The gateway forwards a high level as one request (the pending bit) and
 * sends no further request for that source until the claim is completed; if the level is still high at
 * completion, the source becomes pending again. A claimed source is therefore never pending twice.
 *
 * Registers are 32 bits wide; only aligned 4-byte accesses are honoured (others read 0, are ignored and
 * counted), since claim reads and completion writes have side effects that partial accesses must not fire.
 */

/** Where each context's notification goes: the hart's mip.MEIP (context 2h) and mip.SEIP (2h+1). */
export interface PlicOutputs {
  setMachineExternal(hart: number, level: boolean): void;
  setSupervisorExternal(hart: number, level: boolean): void;
}

export interface PlicMetrics {
  /** Unknown offsets, absent contexts, partial or misaligned accesses, writes to read-only registers. */
  badAccesses: number;
  /** Completion writes naming a source that is out of range, not enabled for the context or not claimed. */
  ignoredCompletions: number;
}

/** Plain, versioned state; bitmaps are 32-bit words of sources (bit s%32 of word s/32). */
export interface PlicState {
  version: 1;
  priority: number[];
  level: number[];
  pending: number[];
  claimed: number[];
  /** contexts × WORDS enable words, context-major. */
  enable: number[];
  threshold: number[];
}

const WORDS = PLIC_NUM_SOURCES / 32; // bitmap words per source set (96 sources → 3)
const PRIORITY_BASE = 0x00_0000; // 4 bytes per source
const PENDING_BASE = 0x00_1000; // bit array, read-only
const ENABLE_BASE = 0x00_2000; // 0x80 bytes per context
const ENABLE_STRIDE = 0x80;
const CONTEXT_BASE = 0x20_0000; // 0x1000 bytes per context: threshold at +0, claim/complete at +4
const CONTEXT_STRIDE = 0x1000;
/** Contexts that fit the 64 MiB window (PLIC spec "Memory Map": 15872). */
const MAX_CONTEXTS = 15872;

export class Plic implements MmioDevice {
  readonly metrics: PlicMetrics = { badAccesses: 0, ignoredCompletions: 0 };
  readonly contexts: number;
  private readonly priority = new Uint8Array(PLIC_NUM_SOURCES);
  private readonly level = new Uint32Array(WORDS);
  private readonly pending = new Uint32Array(WORDS);
  private readonly claimed = new Uint32Array(WORDS);
  private readonly enable: Uint32Array;
  private readonly threshold: Uint8Array;
  private readonly output: Uint8Array;
  private readonly lines: (IrqLine | undefined)[] = [];

  constructor(readonly harts: number, private readonly out: PlicOutputs) {
    if (!Number.isInteger(harts) || harts < 1 || 2 * harts > MAX_CONTEXTS) {
      throw new RangeError(`Cannot create PLIC for ${harts} harts: must be 1…${MAX_CONTEXTS / 2}`);
    }
    this.contexts = 2 * harts;
    this.enable = new Uint32Array(this.contexts * WORDS);
    this.threshold = new Uint8Array(this.contexts);
    this.output = new Uint8Array(this.contexts);
  }

  /** The interrupt line of source n (1…95), for the device wired to it. */
  line(n: number): IrqLine {
    if (!Number.isInteger(n) || n < 1 || n >= PLIC_NUM_SOURCES) {
      throw new RangeError(`Cannot wire PLIC source ${n}: sources are 1…${PLIC_NUM_SOURCES - 1}`);
    }
    let line = this.lines[n];
    if (!line) {
      line = { set: (level: boolean) => this.setLevel(n, level) };
      this.lines[n] = line;
    }
    return line;
  }

  read(offset: number, size: 1 | 2 | 4): number {
    if (size !== 4 || (offset & 3) !== 0) return this.bad(0);
    if (offset < PENDING_BASE) {
      return offset >> 2 < PLIC_NUM_SOURCES ? this.priority[offset >> 2]! : this.bad(0);
    }
    if (offset < ENABLE_BASE) {
      const w = (offset - PENDING_BASE) >> 2;
      return w < WORDS ? this.pending[w]! : this.bad(0);
    }
    if (offset < CONTEXT_BASE) {
      const ctx = Math.floor((offset - ENABLE_BASE) / ENABLE_STRIDE);
      const w = ((offset - ENABLE_BASE) % ENABLE_STRIDE) >> 2;
      return ctx < this.contexts && w < WORDS ? this.enable[ctx * WORDS + w]! : this.bad(0);
    }
    const ctx = Math.floor((offset - CONTEXT_BASE) / CONTEXT_STRIDE);
    const reg = (offset - CONTEXT_BASE) % CONTEXT_STRIDE;
    if (ctx >= this.contexts) return this.bad(0);
    if (reg === 0) return this.threshold[ctx]!;
    if (reg === 4) return this.claim(ctx);
    return this.bad(0);
  }

  write(offset: number, size: 1 | 2 | 4, value: number): void {
    if (size !== 4 || (offset & 3) !== 0) return void this.bad(0);
    if (offset < PENDING_BASE) {
      const src = offset >> 2;
      // Source 0 does not exist: its priority is hard-wired to 0. Priorities are WARL, 3 bits.
      if (src === 0 || src >= PLIC_NUM_SOURCES) return void this.bad(0);
      this.priority[src] = value & PLIC_PRIORITY_MASK;
      this.update();
      return;
    }
    if (offset < ENABLE_BASE) return void this.bad(0); // pending bits change only through gateways and claims
    if (offset < CONTEXT_BASE) {
      const ctx = Math.floor((offset - ENABLE_BASE) / ENABLE_STRIDE);
      const w = ((offset - ENABLE_BASE) % ENABLE_STRIDE) >> 2;
      if (ctx >= this.contexts || w >= WORDS) return void this.bad(0);
      this.enable[ctx * WORDS + w] = w === 0 ? (value & ~1) >>> 0 : value >>> 0; // source 0 never enabled
      this.update();
      return;
    }
    const ctx = Math.floor((offset - CONTEXT_BASE) / CONTEXT_STRIDE);
    const reg = (offset - CONTEXT_BASE) % CONTEXT_STRIDE;
    if (ctx >= this.contexts) return void this.bad(0);
    if (reg === 0) {
      this.threshold[ctx] = value & PLIC_PRIORITY_MASK;
      this.update();
    } else if (reg === 4) {
      this.complete(ctx, value >>> 0);
    } else {
      this.bad(0);
    }
  }

  save(): PlicState {
    return {
      version: 1,
      priority: Array.from(this.priority),
      level: Array.from(this.level),
      pending: Array.from(this.pending),
      claimed: Array.from(this.claimed),
      enable: Array.from(this.enable),
      threshold: Array.from(this.threshold),
    };
  }

  /** Restore a saved state (same hart count) and re-drive every context's output. */
  restore(s: PlicState): void {
    const ok = s.version === 1 && s.priority.length === PLIC_NUM_SOURCES && s.level.length === WORDS &&
      s.pending.length === WORDS && s.claimed.length === WORDS && s.enable.length === this.contexts * WORDS &&
      s.threshold.length === this.contexts;
    if (!ok) throw new RangeError(`Cannot restore PLIC state: expected version 1 for ${this.harts} harts`);
    s.priority.forEach((p, i) => (this.priority[i] = i === 0 ? 0 : p & PLIC_PRIORITY_MASK));
    this.level.set(s.level);
    this.pending.set(s.pending);
    this.claimed.set(s.claimed);
    this.enable.set(s.enable);
    for (let c = 0; c < this.contexts; c++) {
      this.enable[c * WORDS] = this.enable[c * WORDS]! & ~1;
      this.threshold[c] = s.threshold[c]! & PLIC_PRIORITY_MASK;
      this.output[c] = 0;
      this.emit(c, false);
    }
    this.update();
  }

  /** Gateway: a level change on source n. */
  private setLevel(n: number, high: boolean): void {
    const w = n >> 5;
    const bit = 1 << (n & 31);
    if (high) {
      this.level[w] = this.level[w]! | bit;
      if (((this.pending[w]! | this.claimed[w]!) & bit) === 0) {
        this.pending[w] = this.pending[w]! | bit;
        this.update();
      }
    } else {
      this.level[w] = this.level[w]! & ~bit;
    }
  }

  /**
   * The highest-priority source pending and enabled for ctx above its threshold (ties: lowest id), or 0.
   * Threshold masks claims as well as notifications, as QEMU's PLIC does.
   */
  private best(ctx: number): number {
    let best = 0;
    let bestPrio = this.threshold[ctx]!;
    for (let w = 0; w < WORDS; w++) {
      let bits = (this.pending[w]! & this.enable[ctx * WORDS + w]!) >>> 0;
      while (bits !== 0) {
        const b = 31 - Math.clz32(bits & -bits);
        bits = (bits & (bits - 1)) >>> 0;
        const src = w * 32 + b;
        if (this.priority[src]! > bestPrio) {
          bestPrio = this.priority[src]!;
          best = src;
        }
      }
    }
    return best;
  }

  private claim(ctx: number): number {
    const src = this.best(ctx);
    if (src !== 0) {
      const w = src >> 5;
      const bit = 1 << (src & 31);
      this.pending[w] = this.pending[w]! & ~bit;
      this.claimed[w] = this.claimed[w]! | bit;
      this.update();
    }
    return src;
  }

  private complete(ctx: number, src: number): void {
    // Spec "Interrupt Completion": an id not enabled for the target is silently ignored.
    if (src === 0 || src >= PLIC_NUM_SOURCES) return void this.metrics.ignoredCompletions++;
    const w = src >> 5;
    const bit = 1 << (src & 31);
    if ((this.enable[ctx * WORDS + w]! & bit) === 0 || (this.claimed[w]! & bit) === 0) {
      return void this.metrics.ignoredCompletions++;
    }
    this.claimed[w] = this.claimed[w]! & ~bit;
    if (this.level[w]! & bit) this.pending[w] = this.pending[w]! | bit;
    this.update();
  }

  /** Re-evaluate every context's notification line and drive the ones that changed. */
  private update(): void {
    for (let c = 0; c < this.contexts; c++) {
      const level = this.best(c) !== 0 ? 1 : 0;
      if (level !== this.output[c]) {
        this.output[c] = level;
        this.emit(c, level === 1);
      }
    }
  }

  private emit(ctx: number, level: boolean): void {
    if (ctx & 1) this.out.setSupervisorExternal(ctx >> 1, level);
    else this.out.setMachineExternal(ctx >> 1, level);
  }

  private bad(result: number): number {
    this.metrics.badAccesses++;
    return result;
  }
}
