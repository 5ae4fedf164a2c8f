/**
 * The instruction words the ISA tests feed to both wisp and binutils, and the documented places where
 * wisp deliberately disagrees with binutils 2.40. Test support only.
 */
import { INSTRUCTIONS, type InstructionSpec } from '../instruction-table.js';
import { prng } from './binutils.js';

/** Every table entry with its free bits all clear, all set, and `perEntry` random fillings. */
export function tableVariants(perEntry: number, seed = 1): { spec: InstructionSpec; word: number }[] {
  const rand = prng(seed);
  const out: { spec: InstructionSpec; word: number }[] = [];
  for (const spec of INSTRUCTIONS) {
    const free = ~spec.mask;
    const seen = new Set<number>();
    const push = (w: number): void => {
      w |= 0;
      if (!seen.has(w)) {
        seen.add(w);
        out.push({ spec, word: w });
      }
    };
    push(spec.match);
    push(spec.match | free);
    for (let i = 0; i < perEntry; i++) push(spec.match | (rand() & free));
  }
  return out;
}

/** A register field value: zero half the time (many encodings require x0), random otherwise. */
function reg(rand: () => number): number {
  return rand() & 1 ? 0 : rand() & 31;
}

/**
 * Every 32-bit major opcode (bits 1:0 = 11, bits 4:2 ≠ 111), swept over the fields that select an
 * instruction: for the opcodes whose entries are told apart by funct7, rs2 and funct3 (AMO, OP, OP-32,
 * OP-FP, SYSTEM, MISC-MEM's fm/pred/succ), all 2^15 combinations; for the others funct3 × funct7.
 * rd/rs1 (and rs2 where not swept) are random, zero half the time.
 */
export function opcodeSweep(seed = 2): number[] {
  const rand = prng(seed);
  const heavy = new Set([0x0f, 0x2f, 0x33, 0x3b, 0x53, 0x73]);
  const words: number[] = [];
  for (let op = 3; op < 128; op += 4) {
    if (((op >>> 2) & 7) === 7) continue; // 48-bit and longer encodings (§1.5)
    if (heavy.has(op)) {
      for (let k = 0; k < 1 << 15; k++) {
        const fn3 = k & 7;
        const hi = k >>> 3; // funct7:rs2, bits 31:20
        words.push((hi << 20) | (reg(rand) << 15) | (fn3 << 12) | (reg(rand) << 7) | op);
      }
    } else {
      for (let k = 0; k < 1 << 10; k++) {
        const fn3 = k & 7;
        const fn7 = k >>> 3;
        words.push((fn7 << 25) | (reg(rand) << 20) | (reg(rand) << 15) | (fn3 << 12) | (reg(rand) << 7) | op);
      }
    }
  }
  return words;
}

/**
 * Why wisp may name a word differently from objdump -M no-aliases (march rv64g + zihintpause), or
 * undefined when it may not. `ours` is wisp's decode result name, `theirs` objdump's mnemonic without
 * AMO ordering suffixes (undefined for `.4byte`).
 */
export function allowedNameDifference(word: number, ours: string | undefined, theirs: string | undefined): string | undefined {
  const rdField = (word >>> 7) & 31;
  const rs1Field = (word >>> 15) & 31;
  if (theirs === undefined) {
    // Unprivileged §2.7 / §3.1: FENCE's fm (other than TSO), rs1, rd and FENCE.I's imm, rs1, rd are
    // reserved for future use and "shall be ignored" by base implementations; binutils demands zeros.
    if (ours === 'fence' || ours === 'fence.tso' || ours === 'fence.i') {
      const reserved = ours === 'fence.i' ? (word >>> 15) | rdField : rdField | rs1Field | (ours === 'fence' ? word >>> 28 : 0);
      if (reserved !== 0) return 'reserved FENCE fields are ignored (§2.7, §3.1)';
    }
    // FCVT.D.W[U] and FCVT.D.S are exact, so their rm field has no effect; binutils requires rm = 0,
    // QEMU and the spec's encoding tables leave it free.
    if ((ours === 'fcvt.d.w' || ours === 'fcvt.d.wu' || ours === 'fcvt.d.s') && ((word >>> 12) & 7) !== 0) {
      return 'rm of an exact conversion is ignored';
    }
  }
  if (ours === undefined) {
    // N-extension URET was removed from the privileged spec (v1.12); DRET is debug-mode only.
    if ((word | 0) === 0x00200073 && theirs === 'uret') return 'URET is not in priv v1.12';
    if ((word | 0) === (0x7b200073 | 0) && theirs === 'dret') return 'DRET is debug-mode only';
    // SFENCE.VM rs1 is privileged spec v1.9's fence, replaced by SFENCE.VMA in v1.10.
    if ((word & 0xfff07fff) === 0x10400073 && theirs === 'sfence.vm') return 'SFENCE.VM is priv v1.9';
  }
  // 0xc0001073 (csrrw zero,cycle,zero) is binutils' "unimp"; wisp's table calls it what it is.
  if ((word | 0) === (0xc0001073 | 0) && ours === 'csrrw' && theirs === 'unimp') return 'unimp is csrrw';
  return undefined;
}

