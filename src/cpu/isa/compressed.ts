/**
 * RV64C: the 32-bit instruction each 16-bit word stands for (Unprivileged ISA 20191213, chapter 16,
 * tables 16.4–16.6 for the opcode map and §16.3–§16.6 for the expansions).
 *
 * Reserved encodings expand to 0, which is itself an illegal instruction, so the interpreter can raise
 * "illegal instruction" with the original 16-bit word as tval. HINTs (§16.7, table 16.7) are legal and
 * expand to the equivalent 32-bit HINT (an instruction writing x0, or a shift by 0), which executes as a
 * no-op of the same kind.
 */

const X0 = 0;
const RA = 1;
const SP = 2;

// 32-bit encoders (§2.2 formats). Immediates are taken as signed numbers and masked here.
const encR = (op: number, rd: number, fn3: number, rs1: number, rs2: number, fn7: number): number =>
  ((fn7 << 25) | (rs2 << 20) | (rs1 << 15) | (fn3 << 12) | (rd << 7) | op) | 0;
const encI = (op: number, rd: number, fn3: number, rs1: number, imm: number): number =>
  (((imm & 0xfff) << 20) | (rs1 << 15) | (fn3 << 12) | (rd << 7) | op) | 0;
const encS = (op: number, fn3: number, rs1: number, rs2: number, imm: number): number =>
  ((((imm >> 5) & 0x7f) << 25) | (rs2 << 20) | (rs1 << 15) | (fn3 << 12) | ((imm & 0x1f) << 7) | op) | 0;
const encB = (fn3: number, rs1: number, rs2: number, imm: number): number =>
  ((((imm >> 12) & 1) << 31) | (((imm >> 5) & 0x3f) << 25) | (rs2 << 20) | (rs1 << 15) | (fn3 << 12) |
    (((imm >> 1) & 0xf) << 8) | (((imm >> 11) & 1) << 7) | 0x63) | 0;
const encJ = (rd: number, imm: number): number =>
  ((((imm >> 20) & 1) << 31) | (((imm >> 1) & 0x3ff) << 21) | (((imm >> 11) & 1) << 20) |
    (((imm >> 12) & 0xff) << 12) | (rd << 7) | 0x6f) | 0;
const encU = (op: number, rd: number, imm: number): number => ((imm & 0xfffff000) | (rd << 7) | op) | 0;

// Major opcodes and funct3 values used by the expansions.
const OP_LOAD = 0x03;
const OP_LOAD_FP = 0x07;
const OP_IMM = 0x13;
const OP_IMM_32 = 0x1b;
const OP_STORE = 0x23;
const OP_STORE_FP = 0x27;
const OP = 0x33;
const OP_LUI = 0x37;
const OP_32 = 0x3b;
const OP_JALR = 0x67;
const W = 2; // funct3 of lw/sw/flw/fsw
const D = 3; // funct3 of ld/sd/fld/fsd
const EBREAK = 0x00100073;

/** Bit `from` of h, moved to bit `to`. */
const bit = (h: number, from: number, to: number): number => ((h >>> from) & 1) << to;
/** Bits hi..lo of h, moved so that bit lo lands at `to`. */
const bits = (h: number, hi: number, lo: number, to: number): number => ((h >>> lo) & ((1 << (hi - lo + 1)) - 1)) << to;
/** The 3-bit compressed register fields name x8..x15 (§16.2, table 16.2). */
const rPrime = (h: number, lo: number): number => 8 + ((h >>> lo) & 7);
/** CI-format 6-bit immediate imm[5] = bit 12, imm[4:0] = bits 6:2, sign-extended. */
const ciImm = (h: number): number => ((bit(h, 12, 5) | bits(h, 6, 2, 0)) << 26) >> 26;
/** Shift amount of C.SLLI/C.SRLI/C.SRAI: shamt[5] = bit 12, shamt[4:0] = bits 6:2. */
const ciShamt = (h: number): number => bit(h, 12, 5) | bits(h, 6, 2, 0);
/** Doubleword offsets of C.LD/C.SD/C.FLD/C.FSD: uimm[5:3] = bits 12:10, uimm[7:6] = bits 6:5. */
const clDoubleOffset = (h: number): number => bits(h, 12, 10, 3) | bits(h, 6, 5, 6);
/** Word offsets of C.LW/C.SW: uimm[5:3] = bits 12:10, uimm[2] = bit 6, uimm[6] = bit 5. */
const clWordOffset = (h: number): number => bits(h, 12, 10, 3) | bit(h, 6, 2) | bit(h, 5, 6);

/** C.J offset[11|4|9:8|10|6|7|3:1|5] in bits 12:2. */
function cjOffset(h: number): number {
  const v = bit(h, 12, 11) | bit(h, 11, 4) | bits(h, 10, 9, 8) | bit(h, 8, 10) | bit(h, 7, 6) | bit(h, 6, 7) |
    bits(h, 5, 3, 1) | bit(h, 2, 5);
  return (v << 20) >> 20;
}

/** C.BEQZ/C.BNEZ offset[8|4:3] in bits 12:10, offset[7:6|2:1|5] in bits 6:2. */
function cbOffset(h: number): number {
  const v = bit(h, 12, 8) | bits(h, 11, 10, 3) | bits(h, 6, 5, 6) | bits(h, 4, 3, 1) | bit(h, 2, 5);
  return (v << 23) >> 23;
}

function quadrant0(h: number): number {
  const rdp = rPrime(h, 2); // rd' / rs2'
  const rs1p = rPrime(h, 7);
  switch ((h >>> 13) & 7) {
    case 0: {
      // C.ADDI4SPN: nzuimm[5:4|9:6|2|3] in bits 12:5; nzuimm = 0 is reserved (and h = 0 is illegal).
      const imm = bits(h, 12, 11, 4) | bits(h, 10, 7, 6) | bit(h, 6, 2) | bit(h, 5, 3);
      return imm === 0 ? 0 : encI(OP_IMM, rdp, 0, SP, imm);
    }
    case 1: return encI(OP_LOAD_FP, rdp, D, rs1p, clDoubleOffset(h)); // C.FLD
    case 2: return encI(OP_LOAD, rdp, W, rs1p, clWordOffset(h)); // C.LW
    case 3: return encI(OP_LOAD, rdp, D, rs1p, clDoubleOffset(h)); // C.LD (RV64)
    case 4: return 0; // reserved
    case 5: return encS(OP_STORE_FP, D, rs1p, rdp, clDoubleOffset(h)); // C.FSD
    case 6: return encS(OP_STORE, W, rs1p, rdp, clWordOffset(h)); // C.SW
    default: return encS(OP_STORE, D, rs1p, rdp, clDoubleOffset(h)); // C.SD (RV64)
  }
}

function quadrant1(h: number): number {
  const rdFull = (h >>> 7) & 31;
  switch ((h >>> 13) & 7) {
    case 0: return encI(OP_IMM, rdFull, 0, rdFull, ciImm(h)); // C.ADDI; C.NOP and the HINTs included
    case 1: return rdFull === 0 ? 0 : encI(OP_IMM_32, rdFull, 0, rdFull, ciImm(h)); // C.ADDIW (RV64)
    case 2: return encI(OP_IMM, rdFull, 0, X0, ciImm(h)); // C.LI (rd = x0 is a HINT)
    case 3: {
      if (rdFull === SP) {
        // C.ADDI16SP: nzimm[9] = bit 12, nzimm[4|6|8:7|5] = bits 6:2; nzimm = 0 is reserved.
        const v = bit(h, 12, 9) | bit(h, 6, 4) | bit(h, 5, 6) | bits(h, 4, 3, 7) | bit(h, 2, 5);
        return v === 0 ? 0 : encI(OP_IMM, SP, 0, SP, (v << 22) >> 22);
      }
      // C.LUI: nzimm[17] = bit 12, nzimm[16:12] = bits 6:2; nzimm = 0 is reserved, rd = x0 is a HINT.
      const imm = ciImm(h);
      return imm === 0 ? 0 : encU(OP_LUI, rdFull, imm << 12);
    }
    case 4: {
      const r = rPrime(h, 7);
      switch ((h >>> 10) & 3) {
        case 0: return encI(OP_IMM, r, 5, r, ciShamt(h)); // C.SRLI (shamt = 0 is a HINT)
        case 1: return encI(OP_IMM, r, 5, r, ciShamt(h) | 0x400); // C.SRAI
        case 2: return encI(OP_IMM, r, 7, r, ciImm(h)); // C.ANDI
        default: {
          const r2 = rPrime(h, 2);
          const sel = (h >>> 5) & 3;
          if ((h & 0x1000) === 0) {
            // C.SUB, C.XOR, C.OR, C.AND
            const fn3 = [0, 4, 6, 7][sel]!;
            return encR(OP, r, fn3, r, r2, sel === 0 ? 0x20 : 0);
          }
          if (sel === 0) return encR(OP_32, r, 0, r, r2, 0x20); // C.SUBW
          if (sel === 1) return encR(OP_32, r, 0, r, r2, 0); // C.ADDW
          return 0; // reserved
        }
      }
    }
    case 5: return encJ(X0, cjOffset(h)); // C.J
    case 6: return encB(0, rPrime(h, 7), X0, cbOffset(h)); // C.BEQZ
    default: return encB(1, rPrime(h, 7), X0, cbOffset(h)); // C.BNEZ
  }
}

function quadrant2(h: number): number {
  const rdFull = (h >>> 7) & 31;
  const rs2Full = (h >>> 2) & 31;
  // Stack-pointer-relative offsets (§16.3): LDSP/FLDSP uimm[5] = bit 12, uimm[4:3] = bits 6:5,
  // uimm[8:6] = bits 4:2; LWSP uimm[5] = bit 12, uimm[4:2] = bits 6:4, uimm[7:6] = bits 3:2.
  const ldspOffset = bit(h, 12, 5) | bits(h, 6, 5, 3) | bits(h, 4, 2, 6);
  const sdspOffset = bits(h, 12, 10, 3) | bits(h, 9, 7, 6); // SDSP/FSDSP: uimm[5:3|8:6] = bits 12:7
  switch ((h >>> 13) & 7) {
    case 0: return encI(OP_IMM, rdFull, 1, rdFull, ciShamt(h)); // C.SLLI (rd = x0 or shamt = 0: HINT)
    case 1: return encI(OP_LOAD_FP, rdFull, D, SP, ldspOffset); // C.FLDSP
    case 2: {
      if (rdFull === 0) return 0; // C.LWSP with rd = x0 is reserved
      const off = bit(h, 12, 5) | bits(h, 6, 4, 2) | bits(h, 3, 2, 6);
      return encI(OP_LOAD, rdFull, W, SP, off);
    }
    case 3: return rdFull === 0 ? 0 : encI(OP_LOAD, rdFull, D, SP, ldspOffset); // C.LDSP
    case 4:
      if ((h & 0x1000) === 0) {
        if (rs2Full === 0) return rdFull === 0 ? 0 : encI(OP_JALR, X0, 0, rdFull, 0); // C.JR (rs1 = x0 reserved)
        return encR(OP, rdFull, 0, X0, rs2Full, 0); // C.MV (rd = x0 is a HINT)
      }
      if (rs2Full === 0) return rdFull === 0 ? EBREAK : encI(OP_JALR, RA, 0, rdFull, 0); // C.EBREAK, C.JALR
      return encR(OP, rdFull, 0, rdFull, rs2Full, 0); // C.ADD (rd = x0 is a HINT)
    case 5: return encS(OP_STORE_FP, D, SP, rs2Full, sdspOffset); // C.FSDSP
    case 6: {
      const off = bits(h, 12, 9, 2) | bits(h, 8, 7, 6); // C.SWSP: uimm[5:2|7:6] = bits 12:7
      return encS(OP_STORE, W, SP, rs2Full, off);
    }
    default: return encS(OP_STORE, D, SP, rs2Full, sdspOffset); // C.SDSP
  }
}

/**
 * The 32-bit equivalent of a 16-bit RVC word (low 16 bits of `half`), as a signed int32, or 0 when the
 * encoding is reserved or illegal. Words whose low two bits are 11 are not compressed: 0.
 */
export function expandCompressed(half: number): number {
  const h = half & 0xffff;
  switch (h & 3) {
    case 0: return quadrant0(h);
    case 1: return quadrant1(h);
    case 2: return quadrant2(h);
    default: return 0;
  }
}

/** expandCompressed for all 65536 16-bit words, indexed by the word; built once at start-up. */
export function buildExpansionTable(): Int32Array {
  const table = new Int32Array(65536);
  for (let h = 0; h < 65536; h++) table[h] = expandCompressed(h);
  return table;
}

let shared: Int32Array | undefined;
/** The expansion table, built on first use and shared by every engine in the process (never written). */
export function expansionTable(): Int32Array {
  return (shared ??= buildExpansionTable());
}
