/**
 * Table-driven decoder for 32-bit instruction words, and the field extractors that the interpreter, JIT
 * and disassembler share. Field positions: Unprivileged ISA 20191213 §2.2–§2.3 (figures 2.2–2.4).
 */
import { INSTRUCTIONS, type InstructionSpec } from './instruction-table.js';

export const rd = (insn: number): number => (insn >>> 7) & 31;
export const rs1 = (insn: number): number => (insn >>> 15) & 31;
export const rs2 = (insn: number): number => (insn >>> 20) & 31;
export const rs3 = (insn: number): number => insn >>> 27;
export const funct3 = (insn: number): number => (insn >>> 12) & 7;
export const funct7 = (insn: number): number => insn >>> 25;
/** Floating-point rounding mode field (same bits as funct3). */
export const rm = funct3;
/** CSR number, bits 31:20. */
export const csr = (insn: number): number => insn >>> 20;
/** Shift amount of the RV64 shift-immediates (6 bits; the *W forms only have 5 legal bits). */
export const shamt = (insn: number): number => (insn >>> 20) & 63;

// Immediates, sign-extended to signed 32-bit numbers (§2.3, figure 2.4).
export const immI = (insn: number): number => insn >> 20;
export const immS = (insn: number): number => ((insn >> 25) << 5) | ((insn >>> 7) & 0x1f);
export const immB = (insn: number): number =>
  ((insn >> 31) << 12) | (((insn >>> 7) & 1) << 11) | (((insn >>> 25) & 0x3f) << 5) | (((insn >>> 8) & 0xf) << 1);
/** The U immediate in place: bits 31:12 of the instruction, low 12 bits zero. */
export const immU = (insn: number): number => insn & ~0xfff;
export const immJ = (insn: number): number =>
  ((insn >> 31) << 20) | (insn & 0xff000) | (((insn >>> 20) & 1) << 11) | (((insn >>> 21) & 0x3ff) << 1);

/**
 * Bucket key: opcode (7 bits), funct3 (3) and funct7 (7). Every table entry fixes its opcode and most fix
 * funct3/funct7, so each bucket holds only a handful of candidates (at most the four FCVT forms that
 * differ in rs2, or FENCE / FENCE.TSO / PAUSE).
 */
const bucketKey = (insn: number): number => (insn & 0x7f) | ((insn >>> 5) & 0x380) | ((insn >>> 15) & 0x1fc00);
const KEY_BITS = 17;

function buildBuckets(): (readonly InstructionSpec[] | undefined)[] {
  const buckets: (InstructionSpec[] | undefined)[] = new Array(1 << KEY_BITS).fill(undefined);
  for (const spec of INSTRUCTIONS) {
    const keyMask = bucketKey(spec.mask);
    const keyMatch = bucketKey(spec.match);
    // Visit every key consistent with the entry: enumerate the subsets of the key bits it leaves free.
    const free = ~keyMask & ((1 << KEY_BITS) - 1);
    let sub = free;
    for (;;) {
      const key = keyMatch | sub;
      (buckets[key] ??= []).push(spec);
      if (sub === 0) break;
      sub = (sub - 1) & free;
    }
  }
  // Most specific first, so PAUSE wins over FENCE and an exact encoding over a general one.
  const popcount = (v: number): number => {
    let n = 0;
    for (let x = v >>> 0; x !== 0; x &= x - 1) n++;
    return n;
  };
  for (const b of buckets) b?.sort((a, z) => popcount(z.mask) - popcount(a.mask));
  return buckets;
}

const buckets = buildBuckets();

/**
 * The table entry for a 32-bit instruction word, or undefined when wisp does not implement it (reserved,
 * another extension, or a 16-bit word: expand those with expandCompressed first).
 */
export function decode(insn: number): InstructionSpec | undefined {
  if ((insn & 3) !== 3) return undefined;
  const bucket = buckets[bucketKey(insn)];
  if (bucket === undefined) return undefined;
  for (const spec of bucket) if ((insn & spec.mask) === spec.match) return spec;
  return undefined;
}
