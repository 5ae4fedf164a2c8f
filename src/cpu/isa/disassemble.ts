/**
 * Text for an instruction word, in the style of GNU objdump 2.40 with `-M no-aliases` (the real
 * instruction, never a pseudo-instruction): ABI register names, decimal offsets and I-immediates, hex
 * shift amounts and U-immediates, CSR names, fence sets, and the rounding mode only when it is not
 * dynamic. Mnemonic and operands are separated by one space (objdump uses a tab).
 *
 * Deliberate differences from objdump 2.40 (all checked by disassemble.test.ts):
 * - Branch and jump targets print as `0x80000010` when pc is given (objdump prints bare hex and a symbol),
 *   and as `.+16` / `.-16` (assembler syntax) when it is not.
 * - Words that wisp executes but binutils refuses (FENCE/FENCE.I with their ignored fields non-zero,
 *   FCVT.D.W/FCVT.D.WU/FCVT.D.S with rm ≠ 0, PAUSE when Zihintpause is not in the ELF attributes) are
 *   shown as the instruction wisp runs.
 * - C.ADDI16SP with a zero immediate is reserved (§16.5); objdump decodes it, wisp shows `.2byte`.
 * - URET (removed N extension), DRET (debug mode) and SFENCE.VM (priv v1.9) are not wisp instructions:
 *   `.4byte`.
 * Like objdump, `csrrw zero,cycle,zero` (0xc0001073) prints as `unimp`; decode still calls it csrrw.
 * Unknown words are `.4byte 0x…` / `.2byte 0x…`, as objdump 2.40 prints them.
 */
import { csrName } from './csr-names.js';
import { expandCompressed } from './compressed.js';
import { csr, decode, immB, immI, immJ, immS, rd, rm, rs1, rs2, rs3, shamt } from './decode.js';

/** ABI names (psABI "Register Convention"); objdump prints s0, not fp. */
export const X_NAMES: readonly string[] = [
  'zero', 'ra', 'sp', 'gp', 'tp', 't0', 't1', 't2', 's0', 's1', 'a0', 'a1', 'a2', 'a3', 'a4', 'a5',
  'a6', 'a7', 's2', 's3', 's4', 's5', 's6', 's7', 's8', 's9', 's10', 's11', 't3', 't4', 't5', 't6',
];
export const F_NAMES: readonly string[] = [
  'ft0', 'ft1', 'ft2', 'ft3', 'ft4', 'ft5', 'ft6', 'ft7', 'fs0', 'fs1', 'fa0', 'fa1', 'fa2', 'fa3', 'fa4', 'fa5',
  'fa6', 'fa7', 'fs2', 'fs3', 'fs4', 'fs5', 'fs6', 'fs7', 'fs8', 'fs9', 'fs10', 'fs11', 'ft8', 'ft9', 'ft10', 'ft11',
];

// Rounding-mode field (F spec §11.2, table 11.1): 5 and 6 are reserved, 7 is dynamic (not printed).
const RM_NAMES = ['rne', 'rtz', 'rdn', 'rup', 'rmm', 'unknown', 'unknown', ''];
const MASK64 = (1n << 64n) - 1n;
// CSRRW x0, cycle, x0: binutils' canonical "unimp" (a write to a read-only CSR, so always illegal).
const UNIMP32 = 0xc0001073 | 0;

const x = (i: number): string => X_NAMES[i]!;
const f = (i: number): string => F_NAMES[i]!;
const hex = (v: number): string => `0x${(v >>> 0).toString(16)}`;
const withRm = (ops: string, insn: number): string => {
  const name = RM_NAMES[rm(insn)]!;
  return name === '' ? ops : `${ops},${name}`;
};

/** `0x…` absolute target when pc is known, else assembler-style `.+off`. */
function target(offset: number, pc: bigint | undefined): string {
  if (pc === undefined) return offset < 0 ? `.${offset}` : `.+${offset}`;
  return `0x${((pc + BigInt(offset)) & MASK64).toString(16)}`;
}

/** FENCE predecessor/successor set (§2.7): bits i, o, r, w; binutils shows an empty set as "unknown". */
function fenceSet(v: number): string {
  if (v === 0) return 'unknown';
  return (v & 8 ? 'i' : '') + (v & 4 ? 'o' : '') + (v & 2 ? 'r' : '') + (v & 1 ? 'w' : '');
}

function csrText(num: number): string {
  return csrName(num) ?? hex(num);
}

/** Acquire/release suffix of an AMO (bit 26 = aq, bit 25 = rl, §8.2). */
function ordering(insn: number): string {
  const aq = (insn >>> 26) & 1;
  const rl = (insn >>> 25) & 1;
  return aq ? (rl ? '.aqrl' : '.aq') : rl ? '.rl' : '';
}

/**
 * objdump-style text for one instruction. 32-bit words are decoded with the instruction table; a word
 * whose low two bits are not 11 is taken as a 16-bit RVC word (its low half) and handed to
 * disassembleCompressed.
 */
export function disassemble(insn: number, pc?: bigint): string {
  insn |= 0;
  if ((insn & 3) !== 3) return disassembleCompressed(insn & 0xffff, pc);
  const spec = decode(insn);
  if (spec === undefined) return `.4byte ${hex(insn)}`;
  if (insn === UNIMP32) return 'unimp';
  const n = spec.name;
  switch (spec.format) {
    case 'R': return `${n} ${x(rd(insn))},${x(rs1(insn))},${x(rs2(insn))}`;
    case 'I': return `${n} ${x(rd(insn))},${x(rs1(insn))},${immI(insn)}`;
    case 'shift': return `${n} ${x(rd(insn))},${x(rs1(insn))},${hex(shamt(insn))}`;
    case 'load': return `${n} ${x(rd(insn))},${immI(insn)}(${x(rs1(insn))})`;
    case 'S': return `${n} ${x(rs2(insn))},${immS(insn)}(${x(rs1(insn))})`;
    case 'B': return `${n} ${x(rs1(insn))},${x(rs2(insn))},${target(immB(insn), pc)}`;
    case 'U': return `${n} ${x(rd(insn))},${hex(insn >>> 12)}`;
    case 'J': return `${n} ${x(rd(insn))},${target(immJ(insn), pc)}`;
    case 'jalr': return `${n} ${x(rd(insn))},${immI(insn)}(${x(rs1(insn))})`;
    case 'fence': return `${n} ${fenceSet((insn >>> 24) & 15)},${fenceSet((insn >>> 20) & 15)}`;
    case 'none': return n;
    case 'csr': return `${n} ${x(rd(insn))},${csrText(csr(insn))},${x(rs1(insn))}`;
    case 'csri': return `${n} ${x(rd(insn))},${csrText(csr(insn))},${rs1(insn)}`;
    case 'amo': return `${n}${ordering(insn)} ${x(rd(insn))},${x(rs2(insn))},(${x(rs1(insn))})`;
    case 'lr': return `${n}${ordering(insn)} ${x(rd(insn))},(${x(rs1(insn))})`;
    case 'sfence': return `${n} ${x(rs1(insn))},${x(rs2(insn))}`;
    case 'fload': return `${n} ${f(rd(insn))},${immI(insn)}(${x(rs1(insn))})`;
    case 'fstore': return `${n} ${f(rs2(insn))},${immS(insn)}(${x(rs1(insn))})`;
    case 'R4': return withRm(`${n} ${f(rd(insn))},${f(rs1(insn))},${f(rs2(insn))},${f(rs3(insn))}`, insn);
    case 'fff-rm': return withRm(`${n} ${f(rd(insn))},${f(rs1(insn))},${f(rs2(insn))}`, insn);
    case 'fff': return `${n} ${f(rd(insn))},${f(rs1(insn))},${f(rs2(insn))}`;
    case 'ff-rm': return withRm(`${n} ${f(rd(insn))},${f(rs1(insn))}`, insn);
    case 'ff': return `${n} ${f(rd(insn))},${f(rs1(insn))}`;
    case 'xf-rm': return withRm(`${n} ${x(rd(insn))},${f(rs1(insn))}`, insn);
    case 'xf': return `${n} ${x(rd(insn))},${f(rs1(insn))}`;
    case 'fx-rm': return withRm(`${n} ${f(rd(insn))},${x(rs1(insn))}`, insn);
    case 'fx': return `${n} ${f(rd(insn))},${x(rs1(insn))}`;
    case 'xff': return `${n} ${x(rd(insn))},${f(rs1(insn))},${f(rs2(insn))}`;
  }
}

/**
 * objdump-style text (`-M no-aliases`) for a 16-bit RVC word: the c.* mnemonic with its own operands,
 * e.g. `c.addi a0,1`, `c.ldsp ra,8(sp)`, `c.slli64 a0` for the shift-by-zero HINT. The operand values are
 * read back from the expansion, so the text cannot disagree with what executes.
 */
export function disassembleCompressed(half: number, pc?: bigint): string {
  const h = half & 0xffff;
  const e = expandCompressed(h);
  if (e === 0) return h === 0 ? 'c.unimp' : `.2byte ${hex(h)}`;
  const fn3 = (h >>> 13) & 7;
  const mem = (reg: string, imm: number): string => `${reg},${imm}(${x(rs1(e))})`;
  switch (h & 3) {
    case 0:
      switch (fn3) {
        case 0: return `c.addi4spn ${x(rd(e))},sp,${immI(e)}`;
        case 1: return `c.fld ${mem(f(rd(e)), immI(e))}`;
        case 2: return `c.lw ${mem(x(rd(e)), immI(e))}`;
        case 3: return `c.ld ${mem(x(rd(e)), immI(e))}`;
        case 5: return `c.fsd ${mem(f(rs2(e)), immS(e))}`;
        case 6: return `c.sw ${mem(x(rs2(e)), immS(e))}`;
        default: return `c.sd ${mem(x(rs2(e)), immS(e))}`;
      }
    case 1:
      switch (fn3) {
        case 0: return `c.addi ${x(rd(e))},${immI(e)}`;
        case 1: return `c.addiw ${x(rd(e))},${immI(e)}`;
        case 2: return `c.li ${x(rd(e))},${immI(e)}`;
        case 3: return rd(e) === 2 ? `c.addi16sp sp,${immI(e)}` : `c.lui ${x(rd(e))},${hex(e >>> 12)}`;
        case 4: {
          const sel = (h >>> 10) & 3;
          if (sel === 2) return `c.andi ${x(rd(e))},${immI(e)}`;
          if (sel < 2) {
            const name = sel === 0 ? 'c.srli' : 'c.srai';
            const sh = shamt(e);
            return sh === 0 ? `${name}64 ${x(rd(e))}` : `${name} ${x(rd(e))},${hex(sh)}`;
          }
          const names = (h & 0x1000) === 0 ? ['c.sub', 'c.xor', 'c.or', 'c.and'] : ['c.subw', 'c.addw'];
          return `${names[(h >>> 5) & 3]} ${x(rd(e))},${x(rs2(e))}`;
        }
        case 5: return `c.j ${target(immJ(e), pc)}`;
        case 6: return `c.beqz ${x(rs1(e))},${target(immB(e), pc)}`;
        default: return `c.bnez ${x(rs1(e))},${target(immB(e), pc)}`;
      }
    default:
      switch (fn3) {
        case 0: return shamt(e) === 0 ? `c.slli64 ${x(rd(e))}` : `c.slli ${x(rd(e))},${hex(shamt(e))}`;
        case 1: return `c.fldsp ${mem(f(rd(e)), immI(e))}`;
        case 2: return `c.lwsp ${mem(x(rd(e)), immI(e))}`;
        case 3: return `c.ldsp ${mem(x(rd(e)), immI(e))}`;
        case 4:
          if (((h >>> 2) & 31) !== 0) return `${h & 0x1000 ? 'c.add' : 'c.mv'} ${x(rd(e))},${x(rs2(e))}`;
          if ((h & 0x1000) === 0) return `c.jr ${x(rs1(e))}`;
          return rd(e) === 0 ? 'c.ebreak' : `c.jalr ${x(rs1(e))}`; // EBREAK has rd = x0, C.JALR writes ra
        case 5: return `c.fsdsp ${mem(f(rs2(e)), immS(e))}`;
        case 6: return `c.swsp ${mem(x(rs2(e)), immS(e))}`;
        default: return `c.sdsp ${mem(x(rs2(e)), immS(e))}`;
      }
  }
}
