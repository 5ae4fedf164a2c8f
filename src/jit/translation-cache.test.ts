/**
 * Translations kept between runs: a second machine running the same code takes the first one's
 * translations from the cache (before the block would be hot), computes the same results, never
 * takes a translation of bytes that are no longer in the page, and survives a damaged cache file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Bus } from '../memory/bus.js';
import { MachineMemory } from '../memory/machine-memory.js';
import { Priv } from '../cpu/trap.js';
import { InterpreterHart } from '../cpu/interpreter/interpreter-hart.js';
import { JitHart } from './jit-hart.js';
import { pageHash, TranslationCache, type CachedTranslation } from './translation-cache.js';

const CODE = 0x8000_1000;
const THRESHOLD = 200;

function words(...ws: number[]): Uint8Array {
  const b = new Uint8Array(4 * ws.length);
  const v = new DataView(b.buffer);
  ws.forEach((w, i) => v.setUint32(4 * i, w, true));
  return b;
}

// a0 += a1 * 3 then a1 -= 1, until a1 is 0; then `j .`.
const LOOP = (step: number) => words(
  0x00359613, // slli a2, a1, 3
  0x40b60633, // sub a2, a2, a1      (a2 = 7 * a1)
  0x00c50533 + 0, // add a0, a0, a2
  ((step & 0xfff) << 20 | (11 << 15) | (11 << 7) | 0x13) >>> 0, // addi a1, a1, step
  0xfe0598e3, // bnez a1, -16
  0x0000006f, // j .
);

function runOnce(make: (memory: MachineMemory) => InterpreterHart, code: Uint8Array, n: bigint): { a0: bigint; hart: InterpreterHart } {
  const memory = new MachineMemory(1 << 20);
  const hart = make(memory);
  hart.setPrivilege(Priv.M);
  memory.write(CODE, code);
  hart.setX(11, n);
  hart.setPc(BigInt(CODE));
  for (let i = 0; i < 100 && hart.getPc() !== BigInt(CODE + 20); i++) hart.run(10_000);
  assert.equal(hart.getPc(), BigInt(CODE + 20), 'the loop ended');
  return { a0: hart.getX(10), hart };
}

test('a second run takes the translation from the cache and computes the same', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wisp-jit-cache-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const jit = (memory: MachineMemory) => new JitHart({ id: 0, memory, bus: new Bus(), time: () => 0 }, { threshold: THRESHOLD, cacheDir: dir });
  const ref = runOnce((memory) => new InterpreterHart({ id: 0, memory, bus: new Bus(), time: () => 0 }), LOOP(-1), 5000n).a0;

  const first = runOnce(jit, LOOP(-1), 5000n);
  assert.equal(first.a0, ref);
  const s1 = (first.hart as JitHart).stats;
  assert.equal(s1.cacheHits, 0);
  assert.ok(s1.cacheStores >= 1, 'the translation was stored');

  const second = runOnce(jit, LOOP(-1), 5000n);
  assert.equal(second.a0, ref);
  const s2 = (second.hart as JitHart).stats;
  assert.ok(s2.cacheHits >= 1, 'the translation came from the cache');
  assert.equal(s2.translated, 0, 'nothing had to be translated');
  assert.ok(s2.interpretedSteps < THRESHOLD, `the loop left the interpreter early (${s2.interpretedSteps} steps)`);

  // Other code in the page (the loop's step): the cached translation must not run.
  const refOther = runOnce((memory) => new InterpreterHart({ id: 0, memory, bus: new Bus(), time: () => 0 }), LOOP(-2), 5000n).a0;
  const other = runOnce(jit, LOOP(-2), 5000n);
  assert.equal(other.a0, refOther);
  assert.equal((other.hart as JitHart).stats.cacheHits, 0);
});

test('a translation whose page bytes changed where its blocks are is not taken, even on a hash match', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wisp-jit-cache-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const jit = (memory: MachineMemory) => new JitHart({ id: 0, memory, bus: new Bus(), time: () => 0 }, { threshold: THRESHOLD, cacheDir: dir });
  runOnce(jit, LOOP(-1), 5000n);
  // Forge a record: the loop's translation stored under the hash of a page that holds other code.
  const memA = new MachineMemory(1 << 20);
  memA.write(CODE, LOOP(-1));
  const cache = new JitHart({ id: 0, memory: memA, bus: new Bus(), time: () => 0 }, { threshold: THRESHOLD, cacheDir: dir }).cache!;
  const rec = cache.lookup(pageHash(u16Of(memA), memA.hostOffset(CODE, 1) >>> 1));
  assert.ok(rec, 'the first run\'s translation is in the cache');
  const memB = new MachineMemory(1 << 20);
  memB.write(CODE, LOOP(-2));
  cache.store(pageHash(u16Of(memB), memB.hostOffset(CODE, 1) >>> 1), rec);

  const refOther = runOnce((m) => new InterpreterHart({ id: 0, memory: m, bus: new Bus(), time: () => 0 }), LOOP(-2), 5000n).a0;
  const other = runOnce(jit, LOOP(-2), 5000n);
  assert.equal(other.a0, refOther, 'the forged translation did not run');
  assert.equal((other.hart as JitHart).stats.cacheHits, 0);
});

test('a damaged or cut-short cache file is read as far as it is sound', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wisp-jit-cache-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const jit = (memory: MachineMemory) => new JitHart({ id: 0, memory, bus: new Bus(), time: () => 0 }, { threshold: THRESHOLD, cacheDir: dir });
  const ref = runOnce(jit, LOOP(-1), 5000n).a0;
  const [name] = readdirSync(dir);
  const file = join(dir, name);
  const good = readFileSync(file);
  // A flipped byte in the wasm code: the checksum refuses the record.
  const flipped = Buffer.from(good);
  flipped[flipped.length - 3] ^= 0x5a;
  writeFileSync(file, flipped);
  let r = runOnce(jit, LOOP(-1), 5000n);
  assert.equal(r.a0, ref);
  assert.equal((r.hart as JitHart).stats.cacheHits, 0, 'the damaged record was not used');
  // Cut short (a crash while appending), then garbage after a sound record.
  writeFileSync(file, good.subarray(0, good.length - 10));
  r = runOnce(jit, LOOP(-1), 5000n);
  assert.equal(r.a0, ref);
  writeFileSync(file, Buffer.concat([good, Buffer.from('not a record at all, just bytes')]));
  r = runOnce(jit, LOOP(-1), 5000n);
  assert.equal(r.a0, ref);
  assert.ok((r.hart as JitHart).stats.cacheHits >= 1, 'the sound record before the garbage is used');
  // The garbage is gone once the file was opened, so records added after it are found.
  const now = readFileSync(file);
  assert.ok(now.length <= good.length && !now.includes('not a record'), 'the file holds its sound records only');
});

/** A record with `n` bytes of (fake) code whose first byte is `tag`: the cache stores and checks bytes, it does not compile them. */
function record(tag: number, n = 1000): CachedTranslation {
  const bytes = new Uint8Array(n).fill(tag);
  return { bytes, entries: new Uint8Array(2048), words: new Uint16Array(2048).fill(tag), spans: new Int32Array([0, 2]), next: -1 };
}

test('a page translated again leaves its old records behind only until the file is next opened', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wisp-jit-cache-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const layout = { test: 'supersede' };
  const c1 = TranslationCache.open(dir, layout)!;
  for (let i = 1; i <= 5; i++) c1.store(111, record(i));
  c1.store(222, record(9));
  const before = c1.bytes;
  const c2 = TranslationCache.open(dir, layout)!;
  assert.ok(c2.bytes < before / 2, `the superseded records went (${before} -> ${c2.bytes} bytes)`);
  assert.equal(c2.lookup(111)?.bytes[0], 5, 'the last record of a page wins');
  assert.equal(c2.lookup(222)?.bytes[0], 9);
  const [name] = readdirSync(dir);
  assert.equal(readFileSync(join(dir, name)).length, c2.bytes);
});

test('a cache file near its limit keeps its newest half, and goes on taking records', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wisp-jit-cache-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const layout = { test: 'bound' };
  const limit = 64 * 1024;
  const c1 = TranslationCache.open(dir, layout, limit)!;
  for (let i = 1; i <= 40; i++) c1.store(i, record(i));
  assert.ok(c1.bytes <= limit, 'the file stopped growing at its limit');
  const stored = c1.stored;
  assert.ok(stored < 40, 'some records were refused');
  const c2 = TranslationCache.open(dir, layout, limit)!;
  assert.ok(c2.bytes <= limit / 2, `the newest half stays (${c2.bytes} bytes)`);
  assert.equal(c2.lookup(stored)?.bytes[0], stored, 'the newest record is kept');
  assert.equal(c2.lookup(1), undefined, 'the oldest record is gone');
  c2.store(1000, record(77));
  assert.equal(TranslationCache.open(dir, layout, limit)!.lookup(1000)?.bytes[0], 77, 'records are added again');
});

function u16Of(memory: MachineMemory): Uint16Array {
  return new Uint16Array(memory.bytes.buffer, memory.bytes.byteOffset, memory.bytes.length >>> 1);
}
