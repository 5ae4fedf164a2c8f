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
export const MAX_HARTS = 8;
export const RAM_HOST_OFFSET = 0x10_0000;
export const DRAM_BASE = 0x8000_0000;
/** At most 2 GiB: DRAM then ends at 4 GiB, so every guest-physical RAM address fits in 32 bits (the hart relies on it). */
export const MAX_RAM_BYTES = 0x8000_0000;

const WASM_PAGE = 0x1_0000;

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

  constructor(ramSize: number, opts: { ramBase?: number; shared?: boolean } = {}) {
    if (!Number.isInteger(ramSize) || ramSize <= 0 || ramSize % 4096 !== 0) {
      throw new RangeError(`Cannot create guest RAM of ${ramSize} bytes: size must be a positive multiple of 4096`);
    }
    if (ramSize > MAX_RAM_BYTES) {
      throw new RangeError(`Cannot create guest RAM of ${Math.floor(ramSize / 0x10_0000)} MiB: at most ${MAX_RAM_BYTES / 0x10_0000} MiB is supported`);
    }
    this.ramBase = opts.ramBase ?? DRAM_BASE;
    this.ramSize = ramSize;
    const pages = Math.ceil((RAM_HOST_OFFSET + ramSize) / WASM_PAGE);
    this.memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: opts.shared ?? false });
    const buf = this.memory.buffer as ArrayBuffer;
    this.bytes = new Uint8Array(buf);
    this.i32 = new Int32Array(buf);
    this.u16 = new Uint16Array(buf);
    this.f32 = new Float32Array(buf);
    this.f64 = new Float64Array(buf);
    this.view = new DataView(buf);
  }

  /** Byte offset in `bytes` of hart `id`'s register/TLB region. */
  hartRegion(id: number): number {
    if (id < 0 || id >= MAX_HARTS) throw new RangeError(`Hart id ${id} is out of range (0..${MAX_HARTS - 1})`);
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
   * Per 4 KiB host page, 1 while it is watched: a JIT translation was made from it. The MMU never
   * puts a watched page in a write TLB, so every store to it reaches noteWrite, like DMA does.
   */
  watched: Uint8Array | null = null;
  /** Called with the host page number of each watched page written. */
  onWatchedWrite: ((page: number) => void) | null = null;

  watch(page: number, on: boolean): void {
    this.watched ??= new Uint8Array(this.bytes.length >>> 12);
    this.watched[page] = on ? 1 : 0;
  }

  noteWrite(off: number, len: number): void {
    const w = this.watched;
    if (w === null || len <= 0) return;
    for (let p = off >>> 12, last = (off + len - 1) >>> 12; p <= last; p++) {
      if (w[p] !== 0) this.onWatchedWrite?.(p);
    }
  }
}
