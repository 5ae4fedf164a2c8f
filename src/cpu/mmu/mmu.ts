import { RAM_HOST_OFFSET, type MachineMemory } from '../../memory/machine-memory.js';
import { TLB_ENTRIES, TLB_ENTRY_BYTES, TLB_FETCH_OFFSET, TLB_READ_OFFSET, TLB_WRITE_OFFSET } from '../hart-layout.js';
import { Access, Exception, Priv } from '../trap.js';

/** translate() results other than a host offset. */
export const MMIO = -2;
export const FAULT = -1;

const PAGE_FAULT = [Exception.LoadPageFault, Exception.StorePageFault, Exception.InstructionPageFault];
const ACCESS_FAULT = [Exception.LoadAccessFault, Exception.StoreAccessFault, Exception.InstructionAccessFault];

/** 4 KiB pages under a leaf at each level (512^level); a table, since `**` is a slow call in V8 and walks are hot. */
const PAGES_PER_LEAF = [1, 512, 262_144, 134_217_728, 68_719_476_736];

// PTE bits (privileged spec 4.3.1)
const PTE_V = 1, PTE_R = 2, PTE_W = 4, PTE_X = 8, PTE_U = 16, PTE_A = 64, PTE_D = 128;

/**
 * Sv39/Sv48/Sv57 address translation and the software TLBs it fills. The TLBs live in the hart's
 * region of the machine memory (cpu/hart-layout.ts) so JIT code can probe them inline; this class
 * owns their contents. Only RAM pages are ever entered: MMIO always takes the slow path.
 *
 * A and D are set by hardware (like QEMU) on the access that needs them. The whole TLB is flushed
 * on satp writes, SFENCE.VMA without an address and SUM/MXR changes; privilege is part of each tag,
 * so mode switches need no flush. SFENCE.VMA with an address (Linux issues ~90,000 of them while
 * booting, nearly all for 4 KiB kernel mappings such as the text-patching fixmap) drops just that
 * page's entries, unless the address lies in the span of the superpages entries were filled from.
 */
export class Mmu {
  /** satp.MODE (0 = Bare, 8/9/10 = Sv39/48/57) and root page number. */
  mode = 0;
  rootPpn = 0;
  sum = false;
  mxr = false;
  /** Set by translate(): physical address of an MMIO access, or the trap cause of a fault. */
  pa = 0;
  cause = 0;

  private readonly i32: Int32Array;
  private readonly mem: MachineMemory;
  private readonly ramBase: number;
  /**
   * The virtual page numbers [superFirst, superEnd) cover every superpage a TLB entry was filled
   * from since the last full flush: the entries of one superpage share its leaf PTE, so a fence on
   * any address inside must drop them all (privileged spec 4.2.1).
   */
  private superFirst = Infinity;
  private superEnd = -Infinity;
  /** 4 KiB pages under the leaf the last walk() found. */
  private leafPages = 1;
  private readonly ramEnd: number;
  private readonly tlb: number[]; // int32 index of each TLB, by Access
  /** CodeWatch.mask: pages some hart translated code from never enter a write TLB. */
  private readonly watched: Int32Array;
  /** Other harts may run on other threads (memory shared): A/D updates and write TLB fills are atomic. */
  private readonly smp: boolean;

  constructor(mem: MachineMemory, regionOffset: number, private readonly isMmio: (pa: number) => boolean) {
    this.i32 = mem.i32;
    this.mem = mem;
    this.watched = mem.watch.mask;
    this.smp = mem.shared;
    this.ramBase = mem.ramBase;
    this.ramEnd = mem.ramBase + mem.ramSize;
    this.tlb = [
      (regionOffset + TLB_READ_OFFSET) >> 2,
      (regionOffset + TLB_WRITE_OFFSET) >> 2,
      (regionOffset + TLB_FETCH_OFFSET) >> 2,
    ];
    this.flush();
  }

  /** Int32 index of the TLB for an access kind. */
  tlbIndex(access: Access): number {
    return this.tlb[access];
  }

  /** Empties every TLB: a tag with all low bits set matches no privilege. */
  flush(): void {
    const words = (TLB_ENTRIES * TLB_ENTRY_BYTES) >> 2;
    this.i32.fill(-1, this.tlb[0], this.tlb[0] + 3 * words);
    this.superFirst = Infinity;
    this.superEnd = -Infinity;
  }

  /**
   * Empties the write TLB: the next store to each page goes through translate() again, which marks
   * it dirty (a new dirty-page epoch after a snapshot).
   */
  flushWrites(): void {
    Mmu.flushWritesOf(this.mem, this.tlb[Access.Write] << 2);
  }

  /** flushWrites for the hart whose write TLB is at byte offset `tlbWrite` (another thread's, while it is paused). */
  static flushWritesOf(mem: MachineMemory, tlbWrite: number): void {
    const t = tlbWrite >> 2;
    mem.i32.fill(-1, t, t + ((TLB_ENTRIES * TLB_ENTRY_BYTES) >> 2));
  }

  /**
   * Drops the write TLB entries that lead to host page `page` (it has just become watched), in the
   * TLB of every hart of the machine: a store by any hart to a page with translated code must be seen.
   */
  static dropWritable(mem: MachineMemory, page: number): void {
    const i32 = mem.i32;
    for (let h = 0; h < mem.harts; h++) {
      const t = (mem.hartRegion(h) + TLB_WRITE_OFFSET) >> 2;
      for (let e = t; e < t + TLB_ENTRIES * (TLB_ENTRY_BYTES >> 2); e += TLB_ENTRY_BYTES >> 2) {
        if ((((i32[e] & -4096) + i32[e + 2]) >>> 12) === page) i32[e] = -1;
      }
    }
  }

  /** SFENCE.VMA for one virtual address: its entries in every TLB (any privilege). */
  flushPage(vLo: number, vHi: number): void {
    const vpn = (vHi >>> 0) * 1048576 + (vLo >>> 12);
    if (vpn >= this.superFirst && vpn < this.superEnd) {
      this.flush();
      return;
    }
    const slot = ((vLo >>> 12) & (TLB_ENTRIES - 1)) << 2;
    for (const t of this.tlb) this.i32[t + slot] = -1;
  }

  /**
   * Translates virtual address (lo, hi) for an access at privilege `priv` (already the effective one:
   * MPRV applied by the caller). Returns the host byte offset for RAM (and fills the TLB), MMIO with
   * `pa` set, or FAULT with `cause` set (tval is the address the caller passed).
   */
  translate(vLo: number, vHi: number, access: Access, priv: number): number {
    let pa: number;
    if (priv === Priv.M || this.mode === 0) {
      if (vHi !== 0) return this.fail(ACCESS_FAULT[access]);
      pa = vLo >>> 0;
    } else {
      pa = this.walk(vLo, vHi, access, priv);
      if (pa < 0) return FAULT;
      if (this.leafPages > 1) {
        const vpn = (vHi >>> 0) * 1048576 + (vLo >>> 12);
        const first = vpn - (vpn % this.leafPages);
        if (first < this.superFirst) this.superFirst = first;
        if (first + this.leafPages > this.superEnd) this.superEnd = first + this.leafPages;
      }
    }
    if (pa >= this.ramBase && pa < this.ramEnd) {
      const host = pa - this.ramBase + RAM_HOST_OFFSET;
      // Every RAM access a TLB entry will serve passes here first: load a lazily restored page, and
      // mark a page about to be written (the write TLB entry then serves its later stores).
      const ramPage = (pa - this.ramBase) >>> 12;
      const mem = this.mem;
      if (mem.absent !== null && mem.absent[ramPage] !== 0) mem.load(ramPage);
      if (access === Access.Write) {
        mem.dirty[ramPage] = 1;
        mem.touched[ramPage] = 1;
        // Translated code lives here: no write TLB entry, so every store reaches a slow path, which
        // reports it (MachineMemory.noteWrite) once it is done.
        if (this.watched[host >>> 12] !== 0) return host;
      }
      const e = this.tlb[access] + (((vLo >>> 12) & (TLB_ENTRIES - 1)) << 2);
      const page = vLo & -4096;
      this.i32[e + 1] = vHi;
      this.i32[e + 2] = ((host - (host & 0xfff)) - page) | 0;
      if (access === Access.Write && this.smp) {
        // Another thread may have just started watching the page (CodeWatch.watch, then dropWritable
        // over every TLB): tag the entry with a full barrier (Atomics.store), then look at the mark
        // again, so one of the two always sees the other.
        Atomics.store(this.i32, e, page | priv);
        if (Atomics.load(this.watched, host >>> 12) !== 0) this.i32[e] = -1;
      } else {
        this.i32[e] = page | priv;
      }
      return host;
    }
    if (access !== Access.Fetch && pa < 0x1_0000_0000 && this.isMmio(pa)) {
      this.pa = pa;
      return MMIO;
    }
    return this.fail(ACCESS_FAULT[access]);
  }

  private fail(cause: number): number {
    this.cause = cause;
    return FAULT;
  }

  /** The page walk (privileged spec 4.3.2). Returns the physical address, or -1 with `cause` set. */
  private walk(vLo: number, vHi: number, access: Access, priv: number): number {
    const levels = this.mode - 5; // Sv39 = 8 → 3 levels, Sv48 = 9 → 4, Sv57 = 10 → 5
    const vaBits = 12 + 9 * levels;
    // Bits 63..vaBits-1 must all equal bit vaBits-1.
    const top = vHi >> (vaBits - 33);
    if (top !== 0 && top !== -1) return this.fail(PAGE_FAULT[access]);
    const i32 = this.i32;
    let table = this.rootPpn * 4096;
    for (let level = levels - 1; level >= 0; level--) {
      const shift = 12 + 9 * level;
      const vpn = shift >= 32 ? (vHi >>> (shift - 32)) & 511 : shift > 23 ? ((vLo >>> shift) | (vHi << (32 - shift))) & 511 : (vLo >>> shift) & 511;
      const pteAddr = table + vpn * 8;
      if (pteAddr < this.ramBase || pteAddr + 8 > this.ramEnd) return this.fail(ACCESS_FAULT[access]);
      const mem = this.mem;
      if (mem.absent !== null) mem.load((pteAddr - this.ramBase) >>> 12);
      const idx = (pteAddr - this.ramBase + RAM_HOST_OFFSET) >>> 2;
      const lo = i32[idx], hi = i32[idx + 1];
      if ((lo & PTE_V) === 0 || (lo & (PTE_R | PTE_W)) === PTE_W || (hi >>> 22) !== 0) {
        return this.fail(PAGE_FAULT[access]); // invalid, W without R, or reserved bits 63..54 set
      }
      const ppn = (lo >>> 10) + (hi & 0x3fffff) * 4194304;
      if ((lo & (PTE_R | PTE_X)) === 0) {
        table = ppn * 4096; // pointer to the next level
        continue;
      }
      // Leaf: permissions (4.3.1), then superpage alignment, then A/D.
      if (priv === Priv.U ? (lo & PTE_U) === 0 : (lo & PTE_U) !== 0 && (access === Access.Fetch || !this.sum)) {
        return this.fail(PAGE_FAULT[access]);
      }
      const ok = access === Access.Read ? (lo & PTE_R) !== 0 || (this.mxr && (lo & PTE_X) !== 0)
        : access === Access.Write ? (lo & PTE_W) !== 0 : (lo & PTE_X) !== 0;
      if (!ok) return this.fail(PAGE_FAULT[access]);
      const span = PAGES_PER_LEAF[level]; // pages covered by this leaf
      if (ppn % span !== 0) return this.fail(PAGE_FAULT[access]);
      this.leafPages = span;
      const need = access === Access.Write ? PTE_A | PTE_D : PTE_A;
      if ((lo & need) !== need) {
        if (!this.smp) i32[idx] = lo | need;
        // Atomic with respect to other harts' stores to the PTE (privileged spec 4.3.2 step 8): a PTE
        // another hart changed meanwhile is walked again from the top.
        else if (Atomics.compareExchange(i32, idx, lo, lo | need) !== lo) return this.walk(vLo, vHi, access, priv);
        this.mem.noteWrite(idx << 2, 4); // a store like any other, should the guest run code from its page tables
      }
      const inPage = shift <= 30 ? (vLo & ((1 << shift) - 1)) >>> 0 : (vLo >>> 0) + (vHi & ((1 << (shift - 32)) - 1)) * 4294967296;
      return ppn * 4096 + inPage;
    }
    return this.fail(PAGE_FAULT[access]); // a pointer at level 0
  }
}
