import { createHash } from 'node:crypto';
import { appendFileSync, closeSync, fstatSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { threadId } from 'node:worker_threads';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * A translation as the JIT installs it: the wasm module's bytes and what jit-hart's Translation
 * records (block entries by halfword, the bytes it was made from, their spans, the next host page).
 */
export interface CachedTranslation {
  bytes: Uint8Array<ArrayBuffer>;
  entries: Uint8Array;
  words: Uint16Array;
  spans: Int32Array;
  next: number;
}

/**
 * Translations kept between runs (the same kernel boots the same bytes every time, and the same
 * programs run the same libc). One append-only file per version of wisp's translator and per hart
 * layout (the generated code has the hart's state offsets and the memory's size in it), under
 * `dir`. Records are found by a hash of the code page they were made from; nothing is trusted
 * from the file: a record's wasm bytes carry a checksum (a damaged record is skipped), and the JIT
 * installs one only after comparing every byte its blocks came from with the guest's page now
 * (and the next page's, for blocks taken from there), exactly as it checks a translation after a
 * FENCE.I. A translation is a function of those bytes, their offsets in the page, the next page's
 * host number (in the record) and the layout (in the file's name), so that comparison makes it
 * valid.
 *
 * Only the records' headers are read when the cache opens; a record's body is read when it is
 * looked up (a hart used to read the whole file, up to 96 MiB, into its memory at every start).
 * Written with one append per record (O_APPEND): machines running at once may add to one file; a
 * record cut short by a crash ends what is read. Bounded: a file with more superseded records (a
 * page translated again, the last record wins) than live ones, or with a damaged tail, is
 * rewritten with its live records when opened; one past 3/4 of its limit keeps only the newest
 * half; and the directory is kept under DIR_MAX_BYTES by removing the least recently written files
 * (other versions, other layouts).
 */
export class TranslationCache {
  /** Record offsets and body lengths by page hash (the last record of a hash wins). */
  private readonly index = new Map<number, { at: number; len: number }>();
  /** Where the next record goes (the file's length when it was opened, plus what this run added). */
  private size = 0;
  stored = 0;

  private constructor(private readonly path: string, private readonly maxBytes: number) {}

  /**
   * Opens (or starts) the cache for this translator and `layout` under `dir`; null when the
   * directory cannot be used (the JIT then runs without one). `maxBytes` bounds the file (tests).
   */
  static open(dir: string, layout: unknown, maxBytes = MAX_BYTES): TranslationCache | null {
    try {
      const version = codeVersion();
      const key = createHash('sha256').update(version).update(JSON.stringify(layout)).digest('hex').slice(0, 24);
      mkdirSync(dir, { recursive: true });
      const path = join(dir, `v${version.slice(0, 12)}-${key}.wjc`);
      trim(dir, path);
      const cache = new TranslationCache(path, maxBytes);
      cache.load();
      return cache;
    } catch {
      return null;
    }
  }

  /** The file's size now (its records, live and superseded). */
  get bytes(): number {
    return this.size;
  }

  private load(): void {
    let fd: number;
    try { fd = openSync(this.path, 'r'); } catch { return; } // no file yet
    let records: Rec[], sound: number, fileSize: number;
    try {
      fileSize = fstatSync(fd).size;
      ({ records, sound } = scan(fd, fileSize));
      const live = liveRecords(records);
      const liveBytes = live.reduce((a, r) => a + HEADER + r.len, 0);
      const full = fileSize > (this.maxBytes * 3) / 4;
      if (sound < fileSize || sound - liveBytes > liveBytes || full) {
        const keep = full ? newest(live, this.maxBytes / 2) : live;
        this.rewrite(fd, keep);
        return;
      }
      for (const r of live) this.index.set(r.hash, { at: r.at, len: r.len });
      this.size = fileSize;
    } finally {
      closeSync(fd);
    }
  }

  /**
   * Writes `keep` (records of the open file `fd`, in file order) to a new file that replaces this
   * one. A machine appending to the old file meanwhile loses its record: it is a cache.
   */
  private rewrite(fd: number, keep: Rec[]): void {
    const tmp = `${this.path}.${process.pid}.${threadId}.tmp`;
    const out = openSync(tmp, 'w');
    let at = 0;
    try {
      for (const r of keep) {
        const buf = Buffer.alloc(HEADER + r.len);
        if (readSync(fd, buf, 0, buf.length, r.at) !== buf.length) continue;
        writeSync(out, buf);
        this.index.set(r.hash, { at, len: r.len });
        at += buf.length;
      }
    } finally {
      closeSync(out);
    }
    renameSync(tmp, this.path);
    this.size = at;
  }

  /** The translation last stored for a page with hash `hash`, or undefined (none, or damaged). */
  lookup(hash: number): CachedTranslation | undefined {
    const rec = this.index.get(hash);
    if (rec === undefined) return undefined;
    const d = Buffer.alloc(HEADER + rec.len);
    try {
      const fd = openSync(this.path, 'r');
      try { if (readSync(fd, d, 0, d.length, rec.at) !== d.length) return undefined; } finally { closeSync(fd); }
    } catch {
      return undefined;
    }
    // The file may have been rewritten by another machine since it was opened: check it is still this record.
    if (d.readUInt32LE(0) !== MAGIC || d.readUInt32LE(4) !== rec.len || recordHash(d, 0) !== hash) return undefined;
    const body = d.subarray(HEADER);
    if (checksum(body) !== d.readUInt32LE(8)) { this.index.delete(hash); return undefined; }
    let p = 0;
    const u32 = () => { const v = body.readUInt32LE(p); p += 4; return v; };
    const next = body.readInt32LE(p); p += 4;
    const nWords = u32(), nSpans = u32(), nBytes = u32();
    if (nWords !== 2048 && nWords !== 4096) return undefined;
    const entries = new Uint8Array(body.subarray(p, p + 2048)); p += 2048;
    const words = new Uint16Array(nWords);
    for (let i = 0; i < nWords; i++, p += 2) words[i] = body.readUInt16LE(p);
    const spans = new Int32Array(nSpans);
    for (let i = 0; i < nSpans; i++, p += 4) spans[i] = body.readInt32LE(p);
    if (p + nBytes !== body.length) return undefined;
    const bytes = new Uint8Array(nBytes);
    bytes.set(body.subarray(p));
    return { bytes, entries, words, spans, next };
  }

  /** Adds a translation of a page with hash `hash` (see pageHash). */
  store(hash: number, t: CachedTranslation): void {
    const bodyLen = 16 + 2048 + 2 * t.words.length + 4 * t.spans.length + t.bytes.length;
    if (this.size + HEADER + bodyLen > this.maxBytes) return;
    const rec = Buffer.alloc(HEADER + bodyLen);
    let p = HEADER;
    p = rec.writeInt32LE(t.next, p);
    p = rec.writeUInt32LE(t.words.length, p);
    p = rec.writeUInt32LE(t.spans.length, p);
    p = rec.writeUInt32LE(t.bytes.length, p);
    rec.set(t.entries, p); p += 2048;
    for (let i = 0; i < t.words.length; i++) p = rec.writeUInt16LE(t.words[i], p);
    for (let i = 0; i < t.spans.length; i++) p = rec.writeInt32LE(t.spans[i], p);
    rec.set(t.bytes, p);
    rec.writeUInt32LE(MAGIC, 0);
    rec.writeUInt32LE(bodyLen, 4);
    rec.writeUInt32LE(checksum(rec.subarray(HEADER)), 8);
    const high = Math.floor(hash / 0x200000);
    rec.writeInt32LE(high, 12);
    rec.writeUInt32LE(hash - high * 0x200000, 16);
    try {
      appendFileSync(this.path, rec);
      this.size += rec.length;
      this.stored++;
    } catch {
      // A full or read-only disk: the run goes on without adding to the cache.
    }
  }
}

/** A record's place in the file: its page hash, offset and body length. */
interface Rec { hash: number; at: number; len: number }

/** The records' headers of the file open at `fd`, up to the first that is cut short or not a record. */
function scan(fd: number, fileSize: number): { records: Rec[]; sound: number } {
  const records: Rec[] = [];
  const h = Buffer.alloc(HEADER);
  let at = 0;
  while (at + HEADER <= fileSize) {
    if (readSync(fd, h, 0, HEADER, at) !== HEADER || h.readUInt32LE(0) !== MAGIC) break;
    const len = h.readUInt32LE(4);
    if (at + HEADER + len > fileSize) break; // cut short
    records.push({ hash: recordHash(h, 0), at, len });
    at += HEADER + len;
  }
  return { records, sound: at };
}

/** The last record of each hash, in file order. */
function liveRecords(records: Rec[]): Rec[] {
  const last = new Map<number, Rec>();
  for (const r of records) last.set(r.hash, r);
  return records.filter((r) => last.get(r.hash) === r);
}

/** The newest of `records` (file order: oldest first) that fit in `bytes`, in file order. */
function newest(records: Rec[], bytes: number): Rec[] {
  let total = 0, i = records.length;
  while (i > 0 && total + HEADER + records[i - 1].len <= bytes) total += HEADER + records[--i].len;
  return records.slice(i);
}

function recordHash(b: Buffer, at: number): number {
  return b.readInt32LE(at + 12) * 0x200000 + (b.readUInt32LE(at + 16) & 0x1fffff);
}

/**
 * A 53-bit hash of the 4 KiB page at halfword index `at` of `u16` (two 32-bit lanes of a
 * multiplicative hash, cut to an exact JS integer). Only a key: a hit is compared byte by byte.
 */
export function pageHash(u16: Uint16Array, at: number): number {
  let a = 0x811c9dc5 | 0, b = 0x01000193 | 0;
  for (let i = at, end = at + 2048; i < end; i += 2) {
    const w = u16[i] | (u16[i + 1] << 16);
    a = Math.imul(a ^ w, 0x9e3779b1);
    b = Math.imul(b + w, 0x85ebca77) ^ (b >>> 13);
  }
  a ^= a >>> 16; b ^= b >>> 15;
  return (a | 0) * 0x200000 + ((b >>> 0) & 0x1fffff);
}

const MAGIC = 0x314a5457; // "WTJ1"
/** Magic, body length, body checksum, page hash (high 32 bits signed, low 21 bits). */
const HEADER = 20;
/** A cache file stops growing at this size (and keeps its newest half when opened past 3/4 of it). */
const MAX_BYTES = 96 * 1024 * 1024;
/** All of the cache's files (versions of wisp, memory sizes) together. */
const DIR_MAX_BYTES = 512 * 1024 * 1024;

function checksum(b: Uint8Array): number {
  let h = 0x811c9dc5 | 0;
  const n = b.length & ~3;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  for (let i = 0; i < n; i += 4) h = Math.imul(h ^ v.getUint32(i, true), 0x01000193) ^ (h >>> 15);
  for (let i = n; i < b.length; i++) h = Math.imul(h ^ b[i], 0x01000193);
  return h >>> 0;
}

/**
 * Keeps the directory under DIR_MAX_BYTES: removes the least recently written files (other
 * versions of wisp, other memory sizes) first. Not the file this run uses.
 */
function trim(dir: string, keep: string): void {
  const files = readdirSync(dir).filter((n) => n.endsWith('.wjc')).map((n) => {
    const p = join(dir, n);
    try { const st = statSync(p); return { p, size: st.size, mtime: st.mtimeMs }; } catch { return { p, size: 0, mtime: 0 }; }
  }).sort((a, b) => a.mtime - b.mtime);
  let total = files.reduce((a, f) => a + f.size, 0);
  for (const f of files) {
    if (total <= DIR_MAX_BYTES) break;
    if (f.p === keep) continue;
    unlinkQuietly(f.p);
    total -= f.size;
  }
}

function unlinkQuietly(path: string): void {
  try { unlinkSync(path); } catch { /* gone already, or another process's */ }
}

let version: string | undefined;
/**
 * A hash of wisp's translator and the decoder it uses (every compiled file of jit/ and cpu/): a
 * translation made by other code is never used.
 */
function codeVersion(): string {
  if (version !== undefined) return version;
  const h = createHash('sha256');
  const here = dirname(fileURLToPath(import.meta.url));
  const add = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) add(p);
      else if (name.endsWith('.js') && !name.endsWith('.test.js')) h.update(name).update(readFileSync(p));
    }
  };
  add(here);
  add(join(here, '../cpu'));
  version = h.digest('hex');
  return version;
}
