/**
 * Which host pages hold code that a hart has translated (the JIT), and which of those pages were
 * written since each such hart last looked: what a FENCE.I must recheck. One structure for the whole
 * machine, in a SharedArrayBuffer when harts run on several threads: a store by any hart, or a device's
 * DMA, to a page that some hart has translated marks the page for that hart, whichever thread it runs on.
 *
 * Per host page, `mask` has bit h set while hart h has a translation made from the page (an Int32Array
 * so the MMU's check on a write is one load). Per hart: a bitmap of pages written since its last look
 * (so a page is listed once however often it is written) and a bounded list of them; if the list
 * overflows, the hart is told to recheck everything it translated. The list is guarded by a small
 * spin lock (writers to watched pages and the hart's FENCE.I are the only users: both slow paths).
 *
 * Writers mark a page after they have stored to it (see noteWrite): a hart that takes the list between
 * a mark and its store would otherwise find the page unchanged and forget it.
 */
export class CodeWatch {
  /** Per host page: bit h set while hart h has a translation made from it. */
  readonly mask: Int32Array;
  readonly harts: number;
  readonly pages: number;
  /** The memory it lives in: hand it to another thread with the machine memory. */
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
  private readonly dirty: Int32Array;
  private readonly ring: Int32Array;
  private readonly meta: Int32Array;
  private readonly words: number;

  /** Bytes for `pages` host pages and `harts` harts. */
  static byteLength(pages: number, harts: number): number {
    const words = (pages + 31) >>> 5;
    return 4 * (pages + harts * (words + RING + META));
  }

  constructor(pages: number, harts: number, opts: { shared?: boolean; buffer?: ArrayBuffer | SharedArrayBuffer } = {}) {
    if (!Number.isInteger(harts) || harts < 1 || harts > 32) throw new RangeError(`Cannot watch code for ${harts} harts: must be 1…32`);
    this.pages = pages;
    this.harts = harts;
    this.words = (pages + 31) >>> 5;
    const bytes = CodeWatch.byteLength(pages, harts);
    const buffer = opts.buffer ?? (opts.shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes));
    if (buffer.byteLength !== bytes) throw new RangeError(`Cannot attach a code watch of ${buffer.byteLength} bytes: ${bytes} expected`);
    this.buffer = buffer;
    let at = 0;
    const take = (n: number) => { const a = new Int32Array(buffer, at, n); at += 4 * n; return a; };
    this.mask = take(pages);
    this.dirty = take(harts * this.words);
    this.ring = take(harts * RING);
    this.meta = take(harts * META);
  }

  /**
   * Hart `hart` starts (`on`) or stops using page `page` for its translations. Returns true when the
   * page has just become watched by someone: its write TLB entries must then go (see Mmu.dropWritable),
   * after this call, so that a hart filling one concurrently sees the mark (Mmu.translate).
   */
  watch(page: number, hart: number, on: boolean): boolean {
    const bit = 1 << hart;
    if (on) return Atomics.or(this.mask, page, bit) === 0;
    Atomics.and(this.mask, page, ~bit);
    return false;
  }

  /** Reports bytes [off, off + len) of the machine memory as written (after the store). */
  noteWrite(off: number, len: number): void {
    const mask = this.mask;
    for (let p = off >>> 12, last = (off + len - 1) >>> 12; p <= last && p < this.pages; p++) {
      let m = mask[p];
      while (m !== 0) {
        const h = 31 - Math.clz32(m & -m);
        m &= m - 1;
        this.mark(h, p);
      }
    }
  }

  private mark(hart: number, page: number): void {
    const bit = 1 << (page & 31);
    if ((Atomics.or(this.dirty, hart * this.words + (page >>> 5), bit) & bit) !== 0) return; // listed already
    const m = hart * META;
    this.lock(m);
    const n = this.meta[m + COUNT];
    if (n < RING) this.ring[hart * RING + n] = page;
    else this.meta[m + OVERFLOW] = 1;
    this.meta[m + COUNT] = n + 1;
    Atomics.store(this.meta, m + LOCK, 0);
  }

  /**
   * Hands the pages written since the last call to `each` (for hart `hart`) and forgets them. Returns
   * false if some were not listed (too many): the hart must then recheck every page it translated.
   */
  takeWritten(hart: number, each: (page: number) => void): boolean {
    const m = hart * META;
    if (Atomics.load(this.meta, m + COUNT) === 0) return true;
    this.lock(m);
    const n = Math.min(this.meta[m + COUNT], RING);
    const pages = Array.from(this.ring.subarray(hart * RING, hart * RING + n));
    const complete = this.meta[m + OVERFLOW] === 0;
    if (!complete) this.dirty.fill(0, hart * this.words, (hart + 1) * this.words);
    else for (const p of pages) Atomics.and(this.dirty, hart * this.words + (p >>> 5), ~(1 << (p & 31)));
    this.meta[m + COUNT] = 0;
    this.meta[m + OVERFLOW] = 0;
    Atomics.store(this.meta, m + LOCK, 0);
    for (const p of pages) each(p);
    return complete;
  }

  private lock(m: number): void {
    while (Atomics.compareExchange(this.meta, m + LOCK, 0, 1) !== 0) { /* held for a few instructions by another thread */ }
  }
}

/** Pages listed per hart between two looks; more and the hart rechecks all it translated. */
const RING = 1024;
/** Per hart: the list lock, how many pages were listed, whether some did not fit. */
const META = 4;
const LOCK = 0, COUNT = 1, OVERFLOW = 2;
