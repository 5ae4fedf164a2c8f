import { CodeWatch } from './code-watch.js';
import type { GuestMemory } from './guest-memory.js';

/**
 * The machine's one WebAssembly.Memory (DESIGN.md "One machine state"): hart register files and software
 * TLBs first, guest RAM after. The interpreter reads it through typed-array views; JIT-generated code
 * reads the same bytes. Nothing is copied between tiers.
 *
 *   0x0000_0000  hart 0 region (HART_REGION_SIZE bytes: registers, pc, TLBs; layout in cpu/hart-layout.ts)
 *   ...          one region per hart, up to MAX_HARTS
 *   RAM_HOST_OFFSET  guest RAM: guest-physical DRAM_BASE maps here
 */
export const HART_REGION_SIZE = 0x1_0000;
/** Firecracker's limit for vcpu_count. */
export const MAX_HARTS = 32;
export const RAM_HOST_OFFSET = MAX_HARTS * HART_REGION_SIZE;
export const DRAM_BASE = 0x8000_0000;
/** At most 2 GiB: DRAM then ends at 4 GiB, so every guest-physical RAM address fits in 32 bits (the hart relies on it). */
export const MAX_RAM_BYTES = 0x8000_0000;

const WASM_PAGE = 0x1_0000;

/**
 * What another thread needs to work on the same machine memory (MachineMemory.share/attach): the
 * shared WebAssembly.Memory and code watch travel by postMessage without copying.
 */
export interface SharedMachineMemory {
  memory: WebAssembly.Memory;
  ramSize: number;
  ramBase: number;
  harts: number;
  watch: SharedArrayBuffer;
}

export interface MachineMemoryOptions {
  ramBase?: number;
  /**
   * A shared WebAssembly.Memory (and code watch), so harts on other threads can work on it; what a
   * machine with more than one hart uses.
   */
  shared?: boolean;
  /** Harts whose translations the code watch keeps apart (default 1). */
  harts?: number;
}

export class MachineMemory implements GuestMemory {
  readonly memory: WebAssembly.Memory;
  readonly bytes: Uint8Array;
  readonly i32: Int32Array;
  readonly u16: Uint16Array;
  readonly f32: Float32Array;
  readonly f64: Float64Array;
  readonly view: DataView;
  /** Guest-physical base and size of RAM. */
  readonly ramBase: number;
  readonly ramSize: number;

  /** Harts that may run on this memory (hart regions 0..harts-1). */
  readonly harts: number;
  /** The pages harts have translated code from, and who wrote to them (see CodeWatch). */
  readonly watch: CodeWatch;
  readonly shared: boolean;

  constructor(ramSize: number, opts: MachineMemoryOptions = {}, attach?: SharedMachineMemory) {
    if (!Number.isInteger(ramSize) || ramSize <= 0 || ramSize % 4096 !== 0) {
      throw new RangeError(`Cannot create guest RAM of ${ramSize} bytes: size must be a positive multiple of 4096`);
    }
    if (ramSize > MAX_RAM_BYTES) {
      throw new RangeError(`Cannot create guest RAM of ${ramSize >>> 20} MiB: at most ${MAX_RAM_BYTES >>> 20} MiB is supported`);
    }
    this.ramBase = opts.ramBase ?? DRAM_BASE;
    this.ramSize = ramSize;
    this.harts = opts.harts ?? 1;
    if (!Number.isInteger(this.harts) || this.harts < 1 || this.harts > MAX_HARTS) {
      throw new RangeError(`Cannot create machine memory for ${this.harts} harts: must be 1…${MAX_HARTS}`);
    }
    this.shared = opts.shared ?? false;
    const pages = Math.ceil((RAM_HOST_OFFSET + ramSize) / WASM_PAGE);
    this.memory = attach?.memory ?? new WebAssembly.Memory({ initial: pages, maximum: pages, shared: this.shared });
    if (this.memory.buffer.byteLength !== pages * WASM_PAGE) {
      throw new RangeError(`Cannot attach to a machine memory of ${this.memory.buffer.byteLength} bytes: ${pages * WASM_PAGE} expected`);
    }
    this.watch = new CodeWatch(this.memory.buffer.byteLength >>> 12, this.harts, { shared: this.shared, buffer: attach?.watch });
    const buf = this.memory.buffer as ArrayBuffer;
    this.bytes = new Uint8Array(buf);
    this.i32 = new Int32Array(buf);
    this.u16 = new Uint16Array(buf);
    this.f32 = new Float32Array(buf);
    this.f64 = new Float64Array(buf);
    this.view = new DataView(buf);
  }

  /** What another thread passes to MachineMemory.attach to work on these same bytes (shared only). */
  share(): SharedMachineMemory {
    if (!(this.watch.buffer instanceof SharedArrayBuffer)) throw new Error('Cannot share a machine memory created without { shared: true }');
    return { memory: this.memory, ramSize: this.ramSize, ramBase: this.ramBase, harts: this.harts, watch: this.watch.buffer };
  }

  /** This thread's view of a memory another thread shared. */
  static attach(s: SharedMachineMemory): MachineMemory {
    return new MachineMemory(s.ramSize, { ramBase: s.ramBase, shared: true, harts: s.harts }, s);
  }

  /** Byte offset in `bytes` of hart `id`'s register/TLB region. */
  hartRegion(id: number): number {
    if (!(id >= 0 && id < this.harts)) throw new RangeError(`Hart id ${id} is out of range (0..${this.harts - 1})`);
    return id * HART_REGION_SIZE;
  }

  hostOffset(gpa: number, len: number): number {
    const off = gpa - this.ramBase;
    if (!(off >= 0) || !(len >= 0) || off + len > this.ramSize) return -1;
    return RAM_HOST_OFFSET + off;
  }

  read(gpa: number, dst: Uint8Array): boolean {
    const at = this.hostOffset(gpa, dst.length);
    if (at < 0) return false;
    dst.set(this.bytes.subarray(at, at + dst.length));
    return true;
  }

  write(gpa: number, src: Uint8Array): boolean {
    const at = this.hostOffset(gpa, src.length);
    if (at < 0) return false;
    this.bytes.set(src, at);
    this.noteWrite(at, src.length);
    return true;
  }

  /**
   * Reports bytes a device (or a hart's slow path) wrote at host offset `off`, after writing them:
   * harts that translated code from those pages must recheck it at their next FENCE.I (CodeWatch).
   */
  noteWrite(off: number, len: number): void {
    if (len > 0) this.watch.noteWrite(off, len);
  }
}
