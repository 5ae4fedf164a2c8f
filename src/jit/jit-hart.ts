import { setFlagsFromString } from 'node:v8';
import { StopReason } from '../cpu/hart.js';
import { COUNT_MAX, ENTRY, InterpreterHart, type BlockProfile, type InterpreterHartOptions } from '../cpu/interpreter/interpreter-hart.js';
import { Access } from '../cpu/trap.js';
import { Mmu } from '../cpu/mmu/mmu.js';
import { F_OFFSET, FFLAGS_OFFSET, FRM_OFFSET, MSTATUS_OFFSET, PAUSE_COUNT_OFFSET, PC_OFFSET, RESERVATION_OFFSET, TLB_FETCH_OFFSET, TLB_READ_OFFSET, TLB_WRITE_OFFSET, X_OFFSET } from '../cpu/hart-layout.js';
import { fallThrough, scanBlock, staticSuccessors } from './block-scan.js';
import type { RegionBlock } from './translate-region.js';
import { translateRegion, TRAP_FLAG, type HartLayout } from './translate-region.js';
import { COUNT_MASK, createTrampoline, type RegionRun, type Trampoline } from './trampoline.js';
import { pageHash, TranslationCache } from './translation-cache.js';

/**
 * The translation unit: one 4 KiB guest-physical page (keyed by its host offset). Its hot blocks are
 * compiled together into one function, so jumps between them stay inside wasm.
 */
interface Region extends Translation {
  run: RegionRun | null;
  compiles: number;
  /** A translation of the page is being compiled in the background. */
  pending: boolean;
  /** Another block turned hot meanwhile: translate again once that one is in (its trigger comes only once). */
  again: boolean;
}

/** What a translation was made from, and where it can be entered. */
interface Translation {
  /** Per halfword of the page: 1 if the translation has an entry there (a Set.has was 3% of a boot). */
  entries: Uint8Array;
  /**
   * The bytes the translation was made from (this page's, then the next page's if it took blocks
   * from there) and the [start, end) halfword spans its blocks cover: what a FENCE.I must recheck.
   */
  words: Uint16Array | null;
  spans: Int32Array | null;
  /** Host page number of the next virtual page whose blocks the translation includes, or -1. */
  next: number;
}

export interface JitOptions {
  /** Interpreted executions of a block before it is translated (0: translate on first sight). */
  threshold?: number;
  /**
   * Compile translations on V8's background threads (the hart interprets meanwhile, and the caller
   * must give the event loop a turn while hasBackgroundWork() for them to arrive). Off, a translation
   * is ready before the next instruction: what lock-step runs and the ISA suite need.
   */
  background?: boolean;
  /**
   * A directory for translations kept between runs (translation-cache.ts); none by default. A page
   * whose bytes were translated before gets that translation after a few interpreted runs of one
   * of its blocks (PROBE_COUNT) instead of after `threshold`.
   */
  cacheDir?: string;
}

export interface JitStats {
  translated: number;
  /** Time spent generating and compiling translations, and the guest instructions they cover. */
  translateMs: number;
  translatedInsns: number;
  invalidated: number;
  /** Calls from the dispatcher into translated code (each may run many regions). */
  wasmEntries: number;
  interpretedSteps: number;
  /** Instructions translated code handed to the interpreter one at a time (CSRs, and what inline F/D/A leave out). */
  helperSteps: number;
  /** Translations taken from the cache (cacheDir) instead of made, and translations added to it. */
  cacheHits: number;
  cacheStores: number;
}

const WASM_PAGE = 65536;
/**
 * Interpreted runs of a block before its page is translated. Measured on the Debian boot to a marker
 * (quiet, no modules): threshold 30 → 11.1 s, 100 → 9.1 s, 300 → 7.8 s (interpreter alone: 13.0 s).
 * Later, on a reproducible boot (guest time from instret, fixed seeds; with WARM_DIVISOR):
 * 300 → 6.5 s, 600 → 6.1 s, 1000 → 5.9 s, 2000 → 6.0 s. With background compilation, the
 * interpreter counting block starts and two-page regions (real-time boot, 3 runs each): 250 → 3.8 s,
 * 500 → 3.64-3.77 s, 1000 → 3.42-3.48 s, 1500 → 3.35-3.36 s, 2000 → 3.37-3.40 s, 2500 → 3.33-3.44 s,
 * 4000 → 3.54-3.55 s.
 */
const DEFAULT_THRESHOLD = 2000;
/**
 * A page's translation also takes every block that has run threshold / WARM_DIVISOR times: it saves
 * recompiling the page when they get hot. Measured as above at threshold 1000: divisor 4 → 6.1–6.3 s,
 * 10 → 6.0–6.1 s, 30 → 5.85 s, 100 → 5.9 s, 1000 → 6.2 s.
 */
const WARM_DIVISOR = 32;
/**
 * A page recompiled this often keeps its last translation; new blocks there stay interpreted. At 8,
 * gzip's deflate loop (blocks turning hot one after another) ran interpreted in 3 of 4 runs: 105M
 * interpreted steps and 660-720 MIPS, against 10M and ~890 MIPS at 32 (the boot is the same).
 */
const MAX_COMPILES = 32;
/**
 * With a translation cache, the count at which a block's page is looked up in it: low, so cached
 * code leaves the interpreter early, but not 1, so code run once (most of a boot's init code) does
 * not stop the interpreter for a look-up.
 */
const PROBE_COUNT = 8;

/**
 * The second engine: the interpreter, plus translation of hot guest pages into WebAssembly functions
 * that run on the same machine memory (DESIGN.md "One machine state"). The interpreter counts block
 * starts and stops at one that turns hot (its page is translated) or that a translation can run; the
 * dispatcher then hands over to the trampoline, which runs translations one after another until one
 * needs it back. Untranslated or untranslatable code runs in the interpreter, which remains the
 * reference for everything the translator does not cover.
 */
export class JitHart extends InterpreterHart {
  readonly stats: JitStats = { translated: 0, translateMs: 0, translatedInsns: 0, invalidated: 0, wasmEntries: 0, interpretedSteps: 0, helperSteps: 0, cacheHits: 0, cacheStores: 0 };
  /**
   * By host page number (a Map lookup per dispatch was measurable), undefined for pages never
   * translated. Dense from the start: an array filled sparsely became a hash table in V8
   * (a megamorphic keyed load and siphash in every dispatch, ~2.5% of a boot).
   */
  private readonly regions: (Region | undefined)[];
  private readonly threshold: number;
  private readonly background: boolean;
  /** Translations being compiled in the background. */
  private compiling = 0;
  private readonly layout: HartLayout;
  private readonly imports: WebAssembly.Imports;
  private readonly memLimits: { min: number; max: number; shared: boolean };
  private readonly trampoline: Trampoline;
  /** Block start counts by host page, and translations' entries marked (see InterpreterHart.profile). */
  private readonly counts: (Uint16Array | undefined)[];
  /**
   * Per host page this hart watches (memory.watch: its writes, by any hart or device, are listed for
   * this hart's next FENCE.I): the pages whose translations were made (partly) from its bytes.
   */
  private readonly users = new Map<number, Set<number>>();
  /** The code epoch (FENCE.I count) the translations were last checked at. */
  private checkedEpoch = 0;
  /** The translations kept between runs (JitOptions.cacheDir), or null. */
  readonly cache: TranslationCache | null;
  /** Per host page: 1 + the code epoch at which it was last looked up in the cache (0: never). */
  private readonly probed: Int32Array;

  constructor(opts: InterpreterHartOptions, jit: JitOptions = {}) {
    super(opts);
    // Measured on a Debian boot: V8's optimising tier costs more (on background threads that compete
    // with the guest on 2 cores) than its faster code saves across thousands of small modules, so
    // translations stay in the baseline compiler: boot 7.9 s vs 38 s with tier-up.
    setFlagsFromString('--liftoff-only');
    // Compiled when created, not at first call: in the background, that is all off the hart's thread.
    setFlagsFromString('--no-wasm-lazy-compilation');
    const env = Number(process.env.WISP_JIT_THRESHOLD);
    this.threshold = jit.threshold ?? (Number.isInteger(env) && env >= 0 ? env : DEFAULT_THRESHOLD);
    this.background = jit.background ?? false;
    const region = opts.memory.hartRegion(opts.id);
    this.layout = {
      x: region + X_OFFSET, pc: region + PC_OFFSET, tlbRead: region + TLB_READ_OFFSET, tlbWrite: region + TLB_WRITE_OFFSET,
      tlbFetch: region + TLB_FETCH_OFFSET, reservation: region + RESERVATION_OFFSET, pauseCount: region + PAUSE_COUNT_OFFSET,
      f: region + F_OFFSET, fflags: region + FFLAGS_OFFSET, frm: region + FRM_OFFSET, mstatus: region + MSTATUS_OFFSET,
    };
    const pages = opts.memory.memory.buffer.byteLength / WASM_PAGE;
    this.memLimits = { min: pages, max: pages, shared: opts.memory.memory.buffer instanceof SharedArrayBuffer };
    // new Array(n).fill(): fast (not dictionary) elements, like Array.from, but for a 2 GiB guest
    // (524k pages) 3.5 ms instead of ~90 ms on the way to a running machine (a snapshot restore).
    const hostPages = opts.memory.bytes.length >>> 12;
    this.regions = new Array<Region | undefined>(hostPages).fill(undefined);
    this.counts = new Array<Uint16Array | undefined>(hostPages).fill(undefined);
    this.cache = jit.cacheDir === undefined ? null
      : TranslationCache.open(jit.cacheDir, { layout: this.layout, memory: this.memLimits, pages: hostPages });
    this.probed = new Int32Array(this.cache === null ? 0 : hostPages);
    this.profile = { counts: this.counts, threshold: this.threshold + 1, probe: this.cache === null ? -1 : PROBE_COUNT } satisfies BlockProfile;
    this.trampoline = createTrampoline(opts.memory.memory, { pc: this.layout.pc, tlbFetch: this.layout.tlbFetch });
    this.imports = {
      env: {
        mem: opts.memory.memory,
        // The region's `pending` instructions count while the slow path runs; slowResult takes them back.
        load: (aLo: number, aHi: number, kind: number, dest: number, dp: number, pending: number) => {
          this.retired += pending;
          return this.slowResult(pending, this.loadSlow(aLo, aHi, kind, dest, dp));
        },
        store: (aLo: number, aHi: number, f3: number, vLo: number, vHi: number, dp: number, pending: number) => {
          this.retired += pending;
          return this.slowResult(pending, this.storeSlow(aLo, aHi, f3, vLo, vHi, dp));
        },
        step: (pending: number) => this.helperStep(pending),
        spin: () => void this.spinning(),
      },
    };
  }

  override hasBackgroundWork(): boolean {
    return this.compiling > 0;
  }

  /**
   * One instruction in the interpreter on behalf of a region (see translate-region helperStep). The
   * region counts what it retires, so the interpreter's own count is undone; `pending` are the
   * region's instructions retired before this one, added while it runs so counters read right.
   */
  private helperStep(pending: number): number {
    this.stats.helperSteps++;
    this.retired += pending;
    const stop = this.runFast(1, true);
    const executed = this.lastSteps - this.lost;
    // Relative, not restored: a write to minstret in this instruction must stand.
    this.retired -= pending + executed;
    this.helperLost += this.lost; // a trap uses a step of budget without retiring
    if (stop === StopReason.Stopped) this.stopRequested = true; // runFast consumed it: the dispatcher must see it
    if (executed === 0) return 1;
    return this.loopExit || stop !== StopReason.Budget ? 2 : 0;
  }

  /** Budget steps helper instructions used without retiring (they trapped) since the dispatcher last looked. */
  private helperLost = 0;

  /**
   * After a load or store slow path that ran with the region's `pending` instructions counted: 0 done,
   * 1 trapped, 2 done but a device or CSR wants the dispatcher's attention.
   */
  private slowResult(pending: number, status: number): number {
    this.retired -= pending;
    if (status !== 0) return 1;
    return this.loopExit ? 2 : 0;
  }

  /** Steps (budget) the last run() used: the differential runner gives the interpreter the same. */
  lastRunSteps = 0;

  override run(budget: number): StopReason {
    if (this.isTracing()) return super.run(budget);
    return this.dispatch(budget);
  }

  private dispatch(budget: number): StopReason {
    const i32 = this.i32, csr = this.csr;
    const pci = this.layout.pc >> 2;
    const TF = this.mmu.tlbIndex(Access.Fetch);
    let n = 0;
    let check = true;
    while (n < budget) {
      if (this.checkedEpoch !== this.codeEpoch) this.fenceI();
      if (this.stopRequested) { this.stopRequested = false; this.lastRunSteps = n; return StopReason.Stopped; }
      if (check || this.loopExit) {
        this.loopExit = false;
        this.sliceN = 0;
        this.checkInterrupts();
        if (this.waiting) { this.lastRunSteps = n; return StopReason.Wfi; }
        check = false;
      }
      const pcLo = i32[pci], pcHi = i32[pci + 1];
      const e = TF + ((pcLo >>> 10) & 0xffc);
      if (i32[e] === ((pcLo & -4096) | csr.priv) && i32[e + 1] === pcHi) {
        const host = (pcLo + i32[e + 2]) >>> 0;
        const region = this.regions[host >>> 12];
        if (region !== undefined && region.run !== null && region.entries[(host & 0xfff) >>> 1] !== 0) {
          const r = this.trampoline.run(csr.priv, csr.dataPriv, Math.min(budget - n, 1 << 20));
          this.stats.wasmEntries++;
          const retired = r & COUNT_MASK;
          this.retired += retired;
          const used = retired + this.helperLost; // the budget counts trapped steps too, as the interpreter's does
          n += used;
          this.helperLost = 0;
          if (r & TRAP_FLAG) {
            n++;
            this.takeTrap(this.excCause, false, this.excTvalLo, this.excTvalHi, i32[pci], i32[pci + 1]);
          } else if (used === 0 && !this.stopRequested) {
            n++; // cannot happen (a region always uses a step at its entry block), but never spin without progress
          }
          continue;
        }
        // The interpreter counts the blocks it reaches by branches; this one it is started at.
        const counts = this.countsOf(host >>> 12), i = (host & 0xfff) >>> 1, c = counts[i];
        if (c < COUNT_MAX && ((counts[i] = c + 1) === this.threshold + 1 || c + 1 === this.profile!.probe)) this.translateAt(host);
        if (this.regions[host >>> 12]?.entries[(host & 0xfff) >>> 1]) continue; // just translated
      }
      // The interpreter stops before a block that has just become hot or that has a translation.
      n += this.interpret(budget - n);
      if (this.hotStop) {
        this.hotStop = false;
        const h = this.fetchHost();
        if (h >= 0) this.translateAt(h);
      }
      if (this.lastStop !== StopReason.Budget) { this.lastRunSteps = n; return this.lastStop; }
    }
    this.lastRunSteps = n;
    return StopReason.Budget;
  }

  private countsOf(page: number): Uint16Array {
    return this.counts[page] ?? (this.counts[page] = new Uint16Array(2048));
  }

  /** The host offset of pc from the fetch TLB, or -1. */
  private fetchHost(): number {
    const pci = this.layout.pc >> 2;
    return this.fetchTlbHost(this.i32[pci], this.i32[pci + 1]);
  }

  /** The host offset of virtual address (vLo, vHi) if the fetch TLB has it for this privilege, else -1. */
  private fetchTlbHost(vLo: number, vHi: number): number {
    const i32 = this.i32;
    const e = this.mmu.tlbIndex(Access.Fetch) + ((vLo >>> 10) & 0xffc);
    return i32[e] === ((vLo & -4096) | this.csr.priv) && i32[e + 1] === vHi ? (vLo + i32[e + 2]) >>> 0 : -1;
  }

  /** A block at host offset `host` has become hot: (re)translate its page, unless it was too often. */
  private translateAt(host: number): void {
    if (this.cache !== null && this.counts[host >>> 12]?.[(host & 0xfff) >>> 1] === PROBE_COUNT && PROBE_COUNT !== this.threshold + 1) {
      this.fromCache(host >>> 12);
      return;
    }
    let region = this.regions[host >>> 12];
    if (region === undefined) {
      region = { entries: new Uint8Array(2048), run: null, words: null, spans: null, next: -1, compiles: 0, pending: false, again: false };
      this.regions[host >>> 12] = region;
    }
    if (region.pending) region.again = true;
    else if (region.compiles < MAX_COMPILES) this.translate(region, host & ~0xfff);
  }

  private lastStop: StopReason = StopReason.Budget;
  private interpret(steps: number): number {
    this.lastStop = this.runFast(steps, true);
    this.stats.interpretedSteps += this.lastSteps;
    return this.lastSteps;
  }

  /**
   * (Re)compiles a page with every block that has become hot (and the warm ones, to save
   * recompiles), plus the warm blocks of the page that follows it in virtual memory right now (pc is
   * in this page) that static edges from this page's blocks lead to: a loop that straddles the
   * boundary then stays in wasm. (Taking all of the next page's blocks was measured: the boot got
   * 5-10% slower from the extra code, the sha256 workload as fast.)
   */
  private translate(region: Region, base: number): void {
    const page = base >>> 12;
    const blocks: RegionBlock[] = [];
    const entries = new Uint8Array(2048);
    const taken = new Set<number>();
    const todo: RegionBlock[] = [];
    const take = (offset: number, host: number) => {
      if (taken.has(offset)) return;
      taken.add(offset);
      const insns = scanBlock(this.u16, host, this.expand);
      if (insns.length === 0) return;
      const block = { offset, insns };
      blocks.push(block);
      todo.push(block);
      if (offset < 4096) entries[offset >>> 1] = 1;
    };
    for (let off = 0; off < 4096; off += 2) if (this.warm(base + off)) take(off, base + off);
    if (blocks.length === 0) return;
    // Then what the blocks lead to: straight-line code after a block cut short (MAX_BLOCK_INSNS, the
    // page's end) runs as often as the block, so it comes too (unrolled code has no other block
    // starts: blake2s, AES and the SHA transforms were 10 M interpreted steps of a boot without
    // this); a branch target in the next page comes if it is warm itself.
    const nextBase = this.nextPageHost();
    const canNext = nextBase >= 0 && nextBase !== base;
    for (let b = todo.pop(); b !== undefined; b = todo.pop()) {
      const straight = fallThrough(b);
      for (const t of staticSuccessors(b)) {
        if (t < 0 || t >= (canNext ? 8192 : 4096)) continue;
        const host = t < 4096 ? base + t : nextBase + t - 4096;
        if (t === straight || (t >= 4096 && this.warm(host))) take(t, host);
      }
    }
    const next = blocks.some((b) => b.offset >= 4096) ? nextBase >>> 12 : -1;
    const t0 = performance.now();
    const words = new Uint16Array(next >= 0 ? 4096 : 2048);
    words.set(this.u16.subarray(base >>> 1, (base >>> 1) + 2048));
    if (next >= 0) words.set(this.u16.subarray(next << 11, (next << 11) + 2048), 2048);
    const spans = Int32Array.from(blocks.flatMap((b) => {
      const last = b.insns[b.insns.length - 1];
      return [b.offset >>> 1, (b.offset + last.offset + last.len) >>> 1];
    }));
    const translation: Translation = { entries, words, spans, next };
    const bytes = translateRegion(blocks, this.layout, this.memLimits, next << 12) as Uint8Array<ArrayBuffer>;
    region.compiles++;
    this.stats.translated++;
    this.stats.translatedInsns += blocks.reduce((a, b) => a + b.insns.length, 0);
    if (this.cache !== null) {
      this.cache.store(pageHash(words, 0), { bytes, entries, words, spans, next });
      this.stats.cacheStores++;
    }
    this.compile(region, base, bytes, translation);
    this.stats.translateMs += performance.now() - t0;
  }

  /**
   * Looks host page `page` up in the translation cache (once per code epoch) and compiles what it
   * has if the page still holds the bytes it was made from; the page is left alone while it has a
   * translation or one is compiling.
   */
  private fromCache(page: number): void {
    let region = this.regions[page];
    if ((region !== undefined && (region.run !== null || region.pending)) || this.probed[page] === this.codeEpoch + 1) return;
    this.probed[page] = this.codeEpoch + 1;
    const base = page << 12;
    const t = this.cache!.lookup(pageHash(this.u16, base >>> 1));
    if (t === undefined || t.next >= this.counts.length || (t.next >= 0) !== (t.words.length === 4096)) return;
    if (t.spans.some((h) => h < 0 || h > t.words.length) || !this.unchanged(t, base)) return;
    if (region === undefined) {
      region = { entries: new Uint8Array(2048), run: null, words: null, spans: null, next: -1, compiles: 0, pending: false, again: false };
      this.regions[page] = region;
    }
    if (region.compiles >= MAX_COMPILES) return;
    region.compiles++;
    this.stats.cacheHits++;
    this.compile(region, base, t.bytes, { entries: t.entries, words: t.words, spans: t.spans, next: t.next });
  }

  /** Compiles a translation of the page at host offset `base` and installs it (now, or when compiled in the background). */
  private compile(region: Region, base: number, bytes: Uint8Array<ArrayBuffer>, translation: Translation): void {
    const page = base >>> 12;
    if (this.background) {
      region.pending = true;
      this.compiling++;
      const done = (module: WebAssembly.Module | null) => {
        this.compiling--;
        region.pending = false;
        if (module !== null) this.install(region, page, module, translation);
        if (region.again) {
          region.again = false;
          if (region.compiles < MAX_COMPILES && this.hasHotBlock(page)) this.translate(region, base);
        }
      };
      WebAssembly.compile(bytes).then(done, () => done(null));
    } else {
      this.install(region, page, new WebAssembly.Module(bytes), translation);
    }
  }

  /**
   * Whether a block of host page `page` is hot and not an entry of its translation. A block that
   * turned hot while the page's translation was compiling was often in it already (a translation
   * from the cache, or one that took the block as warm): translating the page again then made the
   * same code twice, ~45 translations of every boot with a warm cache.
   */
  private hasHotBlock(page: number): boolean {
    const counts = this.counts[page];
    if (counts === undefined) return false;
    for (let h = 0; h < 2048; h++) if (counts[h] > this.threshold && counts[h] !== ENTRY) return true;
    return false;
  }

  /**
   * Makes a compiled translation of host page `page` the one that runs, if the code is still what
   * it was compiled from (the guest, or another hart, may have changed it meanwhile). The pages it
   * was made from are watched before they are compared, so a store after the comparison, by any hart
   * or device, is listed for this hart's next FENCE.I (CodeWatch); a stale translation is dropped,
   * with the one it was to replace.
   */
  private install(region: Region, page: number, module: WebAssembly.Module, t: Translation): void {
    this.detach(page, region);
    this.attach(page, page);
    if (t.next >= 0) this.attach(t.next, page);
    region.next = t.next;
    if (!this.unchanged(t, page << 12)) {
      region.run = (() => 0) as RegionRun; // (so that detach releases the pages just attached)
      this.drop(page, region);
      return;
    }
    const instance = new WebAssembly.Instance(module, this.imports);
    region.run = instance.exports.run as RegionRun;
    region.entries = t.entries;
    region.words = t.words;
    region.spans = t.spans;
    this.trampoline.table.set(page, region.run);
    // The interpreter stops at these block starts.
    const counts = this.countsOf(page);
    for (let h = 0; h < 2048; h++) {
      if (t.entries[h] !== 0) counts[h] = ENTRY;
      else if (counts[h] === ENTRY) counts[h] = 0; // an entry of the translation this one replaces
    }
  }

  /** Forgets page `user`'s translation: its page runs interpreted (and may be translated again). */
  private drop(user: number, region: Region): void {
    this.detach(user, region);
    region.run = null; region.words = null; region.spans = null; region.next = -1; region.entries.fill(0);
    this.counts[user]?.fill(0); // hotness starts again, entries go
    this.trampoline.table.set(user, this.trampoline.miss);
  }

  /**
   * Whether the block at host offset `host` has run often enough to be taken into a translation
   * (a shared counter may overstate it: that only costs some code).
   */
  private warm(host: number): boolean {
    const c = this.counts[host >>> 12]?.[(host & 0xfff) >>> 1] ?? 0;
    return c > 0 && c * WARM_DIVISOR >= this.threshold;
  }

  /** The host offset of the virtual page after pc's, if the fetch TLB maps it; else -1. */
  private nextPageHost(): number {
    const i32 = this.i32, pci = this.layout.pc >> 2;
    const vLo = ((i32[pci] & -4096) + 4096) | 0;
    return this.fetchTlbHost(vLo, (i32[pci + 1] + (vLo === 0 ? 1 : 0)) | 0);
  }

  /** Host page `used` feeds the translation of page `user`: watch it (its stores must be seen). */
  private attach(used: number, user: number): void {
    let set = this.users.get(used);
    if (set === undefined) {
      set = new Set();
      this.users.set(used, set);
      // The mark first, then the write TLB entries go (every hart's): see Mmu.translate.
      if (this.memory.watch.watch(used, this.id, true)) Mmu.dropWritable(this.memory, used);
    }
    set.add(user);
  }

  /** Forgets what page `user`'s translation was made from; pages nobody uses are no longer watched. */
  private detach(user: number, region: Region): void {
    if (region.run === null) return;
    for (const used of region.next >= 0 ? [user, region.next] : [user]) {
      const set = this.users.get(used);
      set?.delete(user);
      if (set?.size === 0) {
        this.users.delete(used);
        this.memory.watch.watch(used, this.id, false);
      }
    }
  }

  /**
   * FENCE.I (or an SBI remote one): from now on instruction fetch must see every store before it.
   * Translations are of watched pages, whose writes all reach `written` (machine-memory.ts), so
   * only those are checked: a translation whose blocks' bytes changed is dropped (its page becomes
   * plain interpreted code and may be translated again); the others stay valid. Linux patches its
   * text (jump labels, alternatives) with ~40,000 FENCE.I while booting, so this must stay cheap.
   */
  private fenceI(): void {
    this.checkedEpoch = this.codeEpoch;
    const written: number[] = [];
    // Taken before the bytes are compared: a store landing meanwhile lists its page again.
    if (!this.memory.watch.takeWritten(this.id, (page) => written.push(page))) written.push(...this.users.keys()); // too many to list: all
    for (const page of written) {
      for (const user of [...(this.users.get(page) ?? [])]) {
        const region = this.regions[user]!;
        if (region.run === null || this.unchanged(region, user << 12)) continue;
        this.drop(user, region);
        this.stats.invalidated++;
      }
    }
  }

  /** Whether the bytes of a translation's blocks are still what it was made from. */
  private unchanged(t: Translation, base: number): boolean {
    const w = t.words!, spans = t.spans!;
    for (let s = 0; s < spans.length; s += 2) {
      // Halfwords 2048 and up are the next page's (a block never crosses a page).
      const at = spans[s] < 2048 ? base >>> 1 : (t.next << 11) - 2048;
      for (let i = spans[s]; i < spans[s + 1]; i++) if (this.u16[at + i] !== w[i]) return false;
    }
    return true;
  }
}
