import { CodeWatch } from './code-watch.js';
import type { GuestMemory } from './guest-memory.js';
import type { PageSource } from './page-source.js';

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
/** Guest pages are 4 KiB (the RISC-V base page): the unit of lazy loading and dirty tracking. */
export const PAGE_SIZE = 4096;
/**
 * Pages read from a page source at once when the guest touches an absent one: the absent pages of its
 * aligned 64 KiB cluster. (A syscall per 4 KiB page is the dominant cost of a lazy restore's warm-up.)
 */
const LOAD_CLUSTER = 16;
/** Pages per read when everything is loaded at once (16 MiB). */
const LOAD_ALL_RUN = 4096;

/**
 * What another thread needs to work on the same machine memory (MachineMemory.share/attach): the
 * shared WebAssembly.Memory, code watch and page bitmaps travel by postMessage without copying.
 */
export interface SharedMachineMemory {
  memory: WebAssembly.Memory;
  ramSize: number;
  ramBase: number;
  harts: number;
  watch: SharedArrayBuffer;
  dirty: SharedArrayBuffer;
  touched: SharedArrayBuffer;
}

export interface MachineMemoryOptions {
  ramBase?: number;
  /**
   * A shared WebAssembly.Memory (and code watch and page bitmaps), so harts on other threads can work
   * on it; what a machine with more than one hart uses.
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
  /** RAM pages (4 KiB). */
  readonly pages: number;
  /**
   * Per RAM page, 1 if it was written since the last clearDirty(): by a store (a write TLB entry is
   * filled only through the MMU, which marks the page, and clearDirty empties the write TLBs) or by
   * DMA (noteWrite). What a Diff snapshot saves.
   */
  readonly dirty: Uint8Array;
  /**
   * Per RAM page, 1 once it was written since the machine started, or loaded from a page source: a
   * page never touched is still all zero (what a Full snapshot may skip, and what a Diff snapshot
   * without dirty-page tracking saves, as Firecracker's mincore() fallback does).
   */
  readonly touched: Uint8Array;
  /**
   * Per RAM page, 1 while its bytes are still in the page source (a lazily restored snapshot): the
   * MMU's TLB fill and page walk, and every device access (hostOffset), load it first. Null when no
   * page is absent, so the check costs a null test.
   */
  absent: Uint8Array | null = null;
  private source: PageSource | null = null;
  private absentLeft = 0;
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
      throw new RangeError(`Cannot create guest RAM of ${Math.floor(ramSize / 0x10_0000)} MiB: at most ${MAX_RAM_BYTES / 0x10_0000} MiB is supported`);
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
    this.pages = ramSize / PAGE_SIZE;
    const bitmap = (b?: SharedArrayBuffer) => new Uint8Array(b ?? (this.shared ? new SharedArrayBuffer(this.pages) : new ArrayBuffer(this.pages)));
    this.dirty = bitmap(attach?.dirty);
    this.touched = bitmap(attach?.touched);
  }

  /**
   * What another thread passes to MachineMemory.attach to work on these same bytes (shared only; no
   * page may be absent: lazy loading belongs to the thread that holds the page source).
   */
  share(): SharedMachineMemory {
    if (!(this.watch.buffer instanceof SharedArrayBuffer)) throw new Error('Cannot share a machine memory created without { shared: true }');
    if (this.absent !== null) throw new Error('Cannot share a machine memory while pages are still to be loaded (loadAll first)');
    return {
      memory: this.memory, ramSize: this.ramSize, ramBase: this.ramBase, harts: this.harts, watch: this.watch.buffer,
      dirty: this.dirty.buffer as SharedArrayBuffer, touched: this.touched.buffer as SharedArrayBuffer,
    };
  }

  /** This thread's view of a memory another thread shared. */
  static attach(s: SharedMachineMemory): MachineMemory {
    return new MachineMemory(s.ramSize, { ramBase: s.ramBase, shared: true, harts: s.harts }, s);
  }

  /**
   * Makes every RAM page absent: its bytes come from `source` when first touched (a snapshot restored
   * lazily). RAM must still be all zero, as a fresh machine's is.
   */
  attachSource(source: PageSource): void {
    if (this.source) throw new Error('Cannot attach a second page source to guest memory');
    this.source = source;
    this.absent = new Uint8Array(this.pages).fill(1);
    this.absentLeft = this.pages;
  }

  /** The page source lazily restored pages still come from (null once every page is in). */
  get pageSource(): PageSource | null {
    return this.source;
  }

  /**
   * Loads absent RAM page `page` (a RAM page index), with the absent pages of its cluster: pages
   * already present (perhaps written since) are never overwritten.
   */
  load(page: number): void {
    const absent = this.absent;
    if (absent === null || absent[page] === 0) return;
    const start = page - (page % LOAD_CLUSTER);
    const end = Math.min(start + LOAD_CLUSTER, this.pages);
    for (let p = start; p < end;) {
      if (absent[p] === 0) { p++; continue; }
      let q = p + 1;
      while (q < end && absent[q] !== 0) q++;
      this.source!.read(p * PAGE_SIZE, this.bytes, RAM_HOST_OFFSET + p * PAGE_SIZE, (q - p) * PAGE_SIZE);
      absent.fill(0, p, q);
      this.touched.fill(1, p, q);
      this.absentLeft -= q - p;
      p = q;
    }
    if (this.absentLeft === 0) this.detachSource();
  }

  /** Loads every absent page of host range [off, off + len) (off inside RAM). */
  private loadRange(off: number, len: number): void {
    const absent = this.absent!;
    const first = (off - RAM_HOST_OFFSET) >>> 12;
    const last = len > 0 ? (off - RAM_HOST_OFFSET + len - 1) >>> 12 : first;
    for (let p = first; p <= last && this.absent !== null; p++) if (absent[p] !== 0) this.load(p);
  }

  /**
   * Loads every page still absent (an eager restore, or a whole-RAM snapshot), in large reads of the
   * runs of absent pages; present pages are never overwritten.
   */
  loadAll(): void {
    const absent = this.absent;
    if (absent === null) return;
    for (let p = 0; p < this.pages;) {
      if (absent[p] === 0) { p++; continue; }
      let q = p + 1;
      while (q < this.pages && q - p < LOAD_ALL_RUN && absent[q] !== 0) q++;
      this.source!.read(p * PAGE_SIZE, this.bytes, RAM_HOST_OFFSET + p * PAGE_SIZE, (q - p) * PAGE_SIZE);
      absent.fill(0, p, q);
      this.touched.fill(1, p, q);
      this.absentLeft -= q - p;
      p = q;
    }
    this.detachSource();
  }

  /** Forgets the page source (every page is in, or the machine ends) and closes it. */
  detachSource(): void {
    const src = this.source;
    this.source = null;
    this.absent = null;
    this.absentLeft = 0;
    src?.close();
  }

  /** Starts a new dirty-page epoch. The caller empties the harts' write TLBs (Mmu.flushWrites). */
  clearDirty(): void {
    this.dirty.fill(0);
  }

  /** Byte offset in `bytes` of hart `id`'s register/TLB region. */
  hartRegion(id: number): number {
    if (!(id >= 0 && id < this.harts)) throw new RangeError(`Hart id ${id} is out of range (0..${this.harts - 1})`);
    return id * HART_REGION_SIZE;
  }

  hostOffset(gpa: number, len: number): number {
    const off = gpa - this.ramBase;
    if (!(off >= 0) || !(len >= 0) || off + len > this.ramSize) return -1;
    if (this.absent !== null) this.loadRange(RAM_HOST_OFFSET + off, len);
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
   * Reports bytes a device (or a hart's slow path) wrote at host offset `off`, after writing them: the
   * pages are dirty (snapshots), and harts that translated code from them must recheck it at their
   * next FENCE.I (CodeWatch).
   */
  noteWrite(off: number, len: number): void {
    if (len <= 0 || off < RAM_HOST_OFFSET) return;
    const dirty = this.dirty, touched = this.touched;
    for (let p = (off - RAM_HOST_OFFSET) >>> 12, last = (off - RAM_HOST_OFFSET + len - 1) >>> 12; p <= last; p++) {
      dirty[p] = 1;
      touched[p] = 1;
    }
    this.watch.noteWrite(off, len);
  }
}
