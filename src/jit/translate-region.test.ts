/**
 * Golden tests of the translator: a few small guest snippets, their wasm as text. A change to code
 * generation shows up here as a reviewable text diff; run with WISP_UPDATE_GOLDEN=1 to accept it.
 * Every module must also validate, and the snippets' behaviour is checked against the interpreter by
 * the ISA suite in lock-step (test/isa, --differential).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { scanBlock } from './block-scan.js';
import { translateRegion, type RegionBlock } from './translate-region.js';
import { disassemble } from './wasm/index.js';
import { buildExpansionTable } from '../cpu/isa/compressed.js';

/** The golden files live in the source tree (src/jit/golden), found from here whether run from src/ or dist/. */
function findGoldenDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return join(dir, 'src/jit/golden/');
}
const goldenDir = findGoldenDir();
const layout = { x: 0, pc: 0x200, tlbRead: 0x1000, tlbWrite: 0x5000, tlbFetch: 0x9000, reservation: 0x208, pauseCount: 0x224, f: 0x100, fflags: 0x240, frm: 0x244, mstatus: 0x248 };
const memory = { min: 17, max: 17, shared: false };
/** Cases named smp-*: a machine of several harts (the memory shared): atomics, SC by compare-and-swap, fences, PAUSE. */
const smpMemory = { min: 17, max: 17, shared: true };
const expansion = buildExpansionTable();

/**
 * Lays out 32-bit words (or 16-bit halves for compressed) at page offset `at` (two pages: offsets
 * 4096 and up are the next page's) and scans blocks at the given offsets.
 */
function region(halves: number[], entries: number[], at = 0): RegionBlock[] {
  const u16 = new Uint16Array(4096);
  u16.set(halves, at >>> 1);
  return entries.map((offset) => ({ offset, insns: scanBlock(u16, offset, expansion) }));
}
const words = (...ws: number[]) => ws.flatMap((w) => [w & 0xffff, w >>> 16]);

const cases: Record<string, RegionBlock[]> = {
  // addi a0, a0, 1 ; add a1, a1, a0 ; ld a2, 8(a1) ; sd a2, 16(a1) ; jalr zero, 0(ra)
  'alu-load-store-ret': region(words(0x00150513, 0x00a585b3, 0x0085b603, 0x00c5b823, 0x00008067), [0]),
  // loop: addi a0, a0, -1 ; bnez a0, loop (two blocks' worth: the branch goes back into the region)
  'counted-loop': region(words(0xfff50513, 0xfe051ee3), [0]),
  // mulhu a0, a1, a2 (inline, from 32-bit limbs) ; csrr a3, sstatus (through the interpreter helper) ; ret
  'mulhu-csr-helper': region(words(0x02c5b533, 0x100026f3, 0x00008067), [0]),
  // div a0, a1, a2 ; remuw a3, a1, a2 ; ret (inline, with RISC-V's results for x/0 and MIN/-1)
  'div-remuw': region(words(0x02c5c533, 0x02c5f6bb, 0x00008067), [0]),
  // amoadd.w a0, a1, (a2) ; lr.d a3, (a2) ; sc.d a4, a1, (a2) ; ret (inline on a TLB hit, else the interpreter)
  'amo-lr-sc': region(words(0x00b6252f, 0x100636af, 0x18b6372f, 0x00008067), [0]),
  // the same with other harts beside: wasm atomics, and the SC compares and swaps against the LR's value
  'smp-amo-lr-sc': region(words(0x00b6252f, 0x100636af, 0x18b6372f, 0x00008067), [0]),
  // amomax.w a0, a1, (a2) (a compare-and-swap loop) ; fence rw, rw (atomic.fence) ; pause (counted) ; ret
  'smp-amomax-fence-pause': region(words(0xa0b6252f, 0x0330000f, 0x0100000f, 0x00008067), [0]),
  // c.li a0, 5 ; c.addiw a0, 1 ; slliw a1, a0, 3 ; c.j +0 (RVC expanded before translation)
  'compressed-w-ops': region([0x4515, 0x2505, ...words(0x0035159b), 0xa001], [0]),
  // fld fa0, 0(a0) ; fld fa1, 8(a0) ; fadd.d fa2, fa0, fa1 (DYN) ; fmadd.d fa2, fa2, fa1, fa0 ; fsd fa2, 16(a0) ; ret
  // (F/D inline: FS Dirty and RNE checked, NX computed while clear, the interpreter for the rest)
  'fp-load-add-fma-store': region(words(0x00053507, 0x00853587, 0x02b57653, 0x52b67643, 0x00c53827, 0x00008067), [0]),
  // flw fa0, 0(a0) ; fcvt.w.s a1, fa0, rtz ; fcvt.d.l fa1, a1 ; feq.d a2, fa1, fa1 ; ret
  'fp-convert-compare': region(words(0x00052507, 0xc00515d3, 0xd225f5d3, 0xa2b5a653, 0x00008067), [0]),
  // loop: addi a0, a0, -1 (the page's last word) | bnez a0, loop (the next page's first): the
  // region takes the next page's block, and crossing into it checks the fetch TLB
  'next-page-loop': region(words(0xfff50513, 0xfe051ee3), [4092, 4096], 4092),
};
/** The host offset of the next page, for the cases with blocks there. */
const NEXT_HOST = 0x7000;

for (const [name, blocks] of Object.entries(cases)) {
  test(`translation of ${name} matches its golden listing`, () => {
    const bytes = translateRegion(blocks, layout, name.startsWith('smp-') ? smpMemory : memory, blocks.some((b) => b.offset >= 4096) ? NEXT_HOST : -1);
    assert.ok(WebAssembly.validate(bytes as Uint8Array<ArrayBuffer>), 'the module validates');
    const text = disassemble(bytes);
    const file = `${goldenDir}${name}.wat`;
    if (process.env.WISP_UPDATE_GOLDEN === '1' || !existsSync(file)) {
      if (process.env.CI && !existsSync(file)) assert.fail(`golden file ${name}.wat is missing`);
      writeFileSync(file, text);
    }
    assert.equal(text, readFileSync(file, 'utf8'), `translation of ${name} changed: review the diff, then WISP_UPDATE_GOLDEN=1`);
  });
}
