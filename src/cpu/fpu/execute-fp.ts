/**
 * The F and D computational instructions of RV64 (unprivileged ISA, chapters "F" and "D"): decode,
 * legality, then the fast double-based paths, with softfloat.ts for specials and range edges.
 * Loads/stores, fcsr access and mstatus.FS belong to the hart; this file never sees memory or traps.
 */
import { addF64, divF64, mulF64, sqrtF64 } from './arith-double.js';
import { addF32, divF32, fmaF32, mulF32, sqrtF32 } from './arith-single.js';
import { compareFp, minMaxPick, PICK_A, PICK_CANONICAL_NAN } from './compare.js';
import { integerToF32, integerToF64, intResult, toInteger } from './convert.js';
import { f32FromBits, f32ToBits, isNaN32, isNaN64, isSNaN32, isSNaN64 } from './fp-bits.js';
import { CANONICAL_NAN_32, CANONICAL_NAN_64_HI, DYN, NV, RMM } from './fp-constants.js';
import type { FpState } from './fp-state.js';
import { fclass32, fclass64 } from './fclass.js';
import { readSingle, writeSingle } from './nan-box.js';
import { roundF32 } from './round-single.js';
import { BINARY32, BINARY64, softAdd, softDiv, softFma, softMul, softSqrt, softSub, type SoftResult } from './softfloat.js';

// Major opcodes (unprivileged ISA, "RV32/64G Instruction Set Listings").
const OP_FP = 0x53;
const FMADD = 0x43;
const FMSUB = 0x47;
const FNMSUB = 0x4b;
const FNMADD = 0x4f;

// OP-FP funct5 values (bits 31:27); bits 26:25 are fmt (0 = S, 1 = D; H and Q are not implemented).
const F_ADD = 0x00;
const F_SUB = 0x01;
const F_MUL = 0x02;
const F_DIV = 0x03;
const F_SGNJ = 0x04;
const F_MINMAX = 0x05;
const F_CVT_FF = 0x08;
const F_SQRT = 0x0b;
const F_CMP = 0x14;
const F_CVT_IF = 0x18; // float -> integer
const F_CVT_FI = 0x1a; // integer -> float
const F_MV_X_CLASS = 0x1c;
const F_MV_F = 0x1e;

const FMT_S = 0;

/** The rounding mode to use, or -1 when the encoding is illegal (rm 5/6, or DYN with frm >= 5). */
function resolveRm(s: FpState, rm: number): number {
  if (rm === DYN) rm = s.frm;
  return rm <= RMM ? rm : -1;
}

export function executeFp(s: FpState, insn: number): boolean {
  const opcode = insn & 0x7f;
  const rd = (insn >>> 7) & 31;
  const funct3 = (insn >>> 12) & 7;
  const rs1 = (insn >>> 15) & 31;
  const rs2 = (insn >>> 20) & 31;
  const fmt = (insn >>> 25) & 3;
  const funct5 = insn >>> 27;
  if (fmt > 1) return false;
  if (opcode !== OP_FP) {
    if (opcode !== FMADD && opcode !== FMSUB && opcode !== FNMSUB && opcode !== FNMADD) return false;
    const rm = resolveRm(s, funct3);
    if (rm < 0) return false;
    fusedMultiplyAdd(s, fmt, rd, rs1, rs2, funct5, rm, opcode === FNMSUB || opcode === FNMADD, opcode === FMSUB || opcode === FNMADD);
    return true;
  }
  switch (funct5) {
    case F_ADD:
    case F_SUB:
    case F_MUL:
    case F_DIV: {
      const rm = resolveRm(s, funct3);
      if (rm < 0) return false;
      if (fmt === FMT_S) binarySingle(s, funct5, rd, rs1, rs2, rm);
      else binaryDouble(s, funct5, rd, rs1, rs2, rm);
      return true;
    }
    case F_SQRT: {
      const rm = resolveRm(s, funct3);
      if (rs2 !== 0 || rm < 0) return false;
      if (fmt === FMT_S) sqrtSingle(s, rd, rs1, rm);
      else sqrtDouble(s, rd, rs1, rm);
      return true;
    }
    case F_SGNJ:
      if (funct3 > 2) return false;
      signInject(s, fmt, funct3, rd, rs1, rs2);
      return true;
    case F_MINMAX:
      if (funct3 > 1) return false;
      minMax(s, fmt, funct3 === 1, rd, rs1, rs2);
      return true;
    case F_CVT_FF: {
      // FCVT.S.D is fmt S with rs2 = 1 (source D); FCVT.D.S is fmt D with rs2 = 0.
      const rm = resolveRm(s, funct3);
      if (rm < 0 || rs2 !== (fmt === FMT_S ? 1 : 0)) return false;
      if (fmt === FMT_S) doubleToSingle(s, rd, rs1, rm);
      else singleToDouble(s, rd, rs1);
      return true;
    }
    case F_CMP:
      if (funct3 > 2) return false;
      compare(s, fmt, funct3, rd, rs1, rs2);
      return true;
    case F_CVT_IF: {
      const rm = resolveRm(s, funct3);
      if (rm < 0 || rs2 > 3) return false;
      floatToInteger(s, fmt, rs2, rd, rs1, rm);
      return true;
    }
    case F_CVT_FI: {
      const rm = resolveRm(s, funct3);
      if (rm < 0 || rs2 > 3) return false;
      integerToFloat(s, fmt, rs2, rd, rs1, rm);
      return true;
    }
    case F_MV_X_CLASS:
      if (rs2 !== 0 || funct3 > 1) return false;
      if (funct3 === 0) moveToInteger(s, fmt, rd, rs1);
      else classify(s, fmt, rd, rs1);
      return true;
    case F_MV_F:
      if (rs2 !== 0 || funct3 !== 0) return false;
      moveToFloat(s, fmt, rd, rs1);
      return true;
    default:
      return false;
  }
}

// ---- register access -------------------------------------------------------------------------------

function writeX(s: FpState, rd: number, lo: number, hi: number): void {
  if (rd === 0) return;
  const w = s.xi + 2 * rd;
  s.i32[w] = lo;
  s.i32[w + 1] = hi;
}

function bits64(s: FpState, r: number): bigint {
  const w = s.fi + 2 * r;
  return (BigInt(s.i32[w + 1]! >>> 0) << 32n) | BigInt(s.i32[w]! >>> 0);
}

function finite32(bits: number): boolean {
  return (bits & 0x7f800000) !== 0x7f800000;
}

function writeCanonicalNaN64(s: FpState, rd: number): void {
  const w = s.fi + 2 * rd;
  s.i32[w] = 0;
  s.i32[w + 1] = CANONICAL_NAN_64_HI;
}

function commitSoft(s: FpState, fmt: number, rd: number, res: SoftResult): void {
  s.fflags |= res.flags;
  if (fmt === FMT_S) {
    writeSingle(s, rd, Number(res.bits) | 0);
  } else {
    const w = s.fi + 2 * rd;
    s.i32[w] = Number(res.bits & 0xffffffffn) | 0;
    s.i32[w + 1] = Number(res.bits >> 32n) | 0;
  }
}

// ---- arithmetic ---------------------------------------------------------------------------------------

const SOFT_BINARY = [softAdd, softSub, softMul, softDiv] as const;

function binarySingle(s: FpState, op: number, rd: number, rs1: number, rs2: number, rm: number): void {
  const ab = readSingle(s, rs1);
  const bb = readSingle(s, rs2);
  if (finite32(ab) && finite32(bb) && (op !== F_DIV || (bb & 0x7fffffff) !== 0)) {
    const a = f32FromBits(ab);
    const b = f32FromBits(bb);
    let r: number;
    if (op === F_ADD) r = addF32(s, a, b, rm);
    else if (op === F_SUB) r = addF32(s, a, -b, rm);
    else if (op === F_MUL) r = mulF32(s, a, b, rm);
    else r = divF32(s, a, b, rm);
    writeSingle(s, rd, f32ToBits(r));
    return;
  }
  commitSoft(s, FMT_S, rd, SOFT_BINARY[op]!(BigInt(ab >>> 0), BigInt(bb >>> 0), BINARY32, rm));
}

function binaryDouble(s: FpState, op: number, rd: number, rs1: number, rs2: number, rm: number): void {
  const a = s.f64[s.fi64 + rs1]!;
  const b = s.f64[s.fi64 + rs2]!;
  let r = NaN; // NaN: take the exact path
  if (a - a === 0 && b - b === 0) {
    if (op === F_ADD) r = addF64(s, a, b, rm);
    else if (op === F_SUB) r = addF64(s, a, -b, rm);
    else if (op === F_MUL) r = mulF64(s, a, b, rm);
    else r = divF64(s, a, b, rm);
  }
  if (r === r) s.f64[s.fi64 + rd] = r;
  else commitSoft(s, 1, rd, SOFT_BINARY[op]!(bits64(s, rs1), bits64(s, rs2), BINARY64, rm));
}

function sqrtSingle(s: FpState, rd: number, rs1: number, rm: number): void {
  const ab = readSingle(s, rs1);
  if (finite32(ab) && (ab >= 0 || ab === (0x80000000 | 0))) writeSingle(s, rd, f32ToBits(sqrtF32(s, f32FromBits(ab), rm)));
  else commitSoft(s, FMT_S, rd, softSqrt(BigInt(ab >>> 0), BINARY32, rm));
}

function sqrtDouble(s: FpState, rd: number, rs1: number, rm: number): void {
  const a = s.f64[s.fi64 + rs1]!;
  const r = a - a === 0 ? sqrtF64(s, a, rm) : NaN;
  if (r === r) s.f64[s.fi64 + rd] = r;
  else commitSoft(s, 1, rd, softSqrt(bits64(s, rs1), BINARY64, rm));
}

function fusedMultiplyAdd(
  s: FpState, fmt: number, rd: number, rs1: number, rs2: number, rs3: number, rm: number, negProduct: boolean, negAddend: boolean,
): void {
  if (fmt === FMT_S) {
    const ab = readSingle(s, rs1);
    const bb = readSingle(s, rs2);
    const cb = readSingle(s, rs3);
    if (finite32(ab) && finite32(bb) && finite32(cb)) {
      const r = fmaF32(s, f32FromBits(ab), f32FromBits(bb), f32FromBits(cb), negProduct, negAddend, rm);
      writeSingle(s, rd, f32ToBits(r));
    } else {
      commitSoft(s, FMT_S, rd, softFma(BigInt(ab >>> 0), BigInt(bb >>> 0), BigInt(cb >>> 0), BINARY32, rm, negProduct, negAddend));
    }
    return;
  }
  // Binary64 FMA needs a 106-bit product: BigInt, as allowed off the hot path.
  commitSoft(s, fmt, rd, softFma(bits64(s, rs1), bits64(s, rs2), bits64(s, rs3), BINARY64, rm, negProduct, negAddend));
}

// ---- bit manipulation, comparison, classification ---------------------------------------------------

/** FSGNJ/FSGNJN/FSGNJX: integer operations on the sign bit, so NaN payloads survive (F chapter, "Sign Injection"). */
function signInject(s: FpState, fmt: number, op: number, rd: number, rs1: number, rs2: number): void {
  let a: number, b: number;
  const w1 = s.fi + 2 * rs1;
  if (fmt === FMT_S) {
    a = readSingle(s, rs1);
    b = readSingle(s, rs2);
  } else {
    a = s.i32[w1 + 1]!;
    b = s.i32[s.fi + 2 * rs2 + 1]!;
  }
  const sign = op === 0 ? b : op === 1 ? ~b : a ^ b;
  const top = (a & 0x7fffffff) | (sign & 0x80000000);
  if (fmt === FMT_S) {
    writeSingle(s, rd, top);
  } else {
    const lo = s.i32[w1]!;
    const w = s.fi + 2 * rd;
    s.i32[w] = lo;
    s.i32[w + 1] = top;
  }
}

function minMax(s: FpState, fmt: number, isMax: boolean, rd: number, rs1: number, rs2: number): void {
  if (fmt === FMT_S) {
    const ab = readSingle(s, rs1);
    const bb = readSingle(s, rs2);
    const an = isNaN32(ab);
    const bn = isNaN32(bb);
    const pick = minMaxPick(s, an ? 0 : f32FromBits(ab), an, isSNaN32(ab), bn ? 0 : f32FromBits(bb), bn, isSNaN32(bb), isMax);
    writeSingle(s, rd, pick === PICK_CANONICAL_NAN ? CANONICAL_NAN_32 : pick === PICK_A ? ab : bb);
    return;
  }
  const w1 = s.fi + 2 * rs1;
  const w2 = s.fi + 2 * rs2;
  const an = isNaN64(s.i32[w1 + 1]!, s.i32[w1]!);
  const bn = isNaN64(s.i32[w2 + 1]!, s.i32[w2]!);
  const pick = minMaxPick(
    s, s.f64[s.fi64 + rs1]!, an, an && isSNaN64(s.i32[w1 + 1]!, s.i32[w1]!),
    s.f64[s.fi64 + rs2]!, bn, bn && isSNaN64(s.i32[w2 + 1]!, s.i32[w2]!), isMax,
  );
  if (pick === PICK_CANONICAL_NAN) {
    writeCanonicalNaN64(s, rd);
  } else {
    const src = pick === PICK_A ? w1 : w2;
    const lo = s.i32[src]!;
    const hi = s.i32[src + 1]!;
    const w = s.fi + 2 * rd;
    s.i32[w] = lo;
    s.i32[w + 1] = hi;
  }
}

function compare(s: FpState, fmt: number, op: number, rd: number, rs1: number, rs2: number): void {
  let r: number;
  if (fmt === FMT_S) {
    const ab = readSingle(s, rs1);
    const bb = readSingle(s, rs2);
    const an = isNaN32(ab);
    const bn = isNaN32(bb);
    r = compareFp(s, op, an ? 0 : f32FromBits(ab), an, isSNaN32(ab), bn ? 0 : f32FromBits(bb), bn, isSNaN32(bb));
  } else {
    const w1 = s.fi + 2 * rs1;
    const w2 = s.fi + 2 * rs2;
    const an = isNaN64(s.i32[w1 + 1]!, s.i32[w1]!);
    const bn = isNaN64(s.i32[w2 + 1]!, s.i32[w2]!);
    r = compareFp(
      s, op, s.f64[s.fi64 + rs1]!, an, an && isSNaN64(s.i32[w1 + 1]!, s.i32[w1]!),
      s.f64[s.fi64 + rs2]!, bn, bn && isSNaN64(s.i32[w2 + 1]!, s.i32[w2]!),
    );
  }
  writeX(s, rd, r, 0);
}

function classify(s: FpState, fmt: number, rd: number, rs1: number): void {
  const w = s.fi + 2 * rs1;
  writeX(s, rd, fmt === FMT_S ? fclass32(readSingle(s, rs1)) : fclass64(s.i32[w + 1]!, s.i32[w]!), 0);
}

/** FMV.X.W / FMV.X.D: raw bits, no NaN-box check; FMV.X.W sign-extends bit 31 (F chapter, "Move"). */
function moveToInteger(s: FpState, fmt: number, rd: number, rs1: number): void {
  const w = s.fi + 2 * rs1;
  const lo = s.i32[w]!;
  writeX(s, rd, lo, fmt === FMT_S ? lo >> 31 : s.i32[w + 1]!);
}

function moveToFloat(s: FpState, fmt: number, rd: number, rs1: number): void {
  const x = s.xi + 2 * rs1;
  const lo = rs1 === 0 ? 0 : s.i32[x]!;
  const hi = rs1 === 0 ? 0 : s.i32[x + 1]!;
  if (fmt === FMT_S) {
    writeSingle(s, rd, lo);
  } else {
    const w = s.fi + 2 * rd;
    s.i32[w] = lo;
    s.i32[w + 1] = hi;
  }
}

// ---- conversions --------------------------------------------------------------------------------------

function doubleToSingle(s: FpState, rd: number, rs1: number, rm: number): void {
  const w = s.fi + 2 * rs1;
  const hi = s.i32[w + 1]!;
  const lo = s.i32[w]!;
  if (isNaN64(hi, lo)) {
    if (isSNaN64(hi, lo)) s.fflags |= NV;
    writeSingle(s, rd, CANONICAL_NAN_32);
    return;
  }
  const d = s.f64[s.fi64 + rs1]!;
  // ±inf converts exactly; finite values round (FCVT.S.D, D chapter "Double-Precision Conversion").
  writeSingle(s, rd, f32ToBits(d - d === 0 ? roundF32(s, d, 0, rm) : d));
}

function singleToDouble(s: FpState, rd: number, rs1: number): void {
  const b = readSingle(s, rs1);
  if (isNaN32(b)) {
    if (isSNaN32(b)) s.fflags |= NV;
    writeCanonicalNaN64(s, rd);
    return;
  }
  s.f64[s.fi64 + rd] = f32FromBits(b); // every single is exactly a double
}

function floatToInteger(s: FpState, fmt: number, kind: number, rd: number, rs1: number, rm: number): void {
  let v: number;
  let nan: boolean;
  if (fmt === FMT_S) {
    const b = readSingle(s, rs1);
    nan = isNaN32(b);
    v = nan ? 0 : f32FromBits(b);
  } else {
    const w = s.fi + 2 * rs1;
    nan = isNaN64(s.i32[w + 1]!, s.i32[w]!);
    v = s.f64[s.fi64 + rs1]!;
  }
  toInteger(s, v, nan, kind, rm);
  writeX(s, rd, intResult[0]!, intResult[1]!);
}

function integerToFloat(s: FpState, fmt: number, kind: number, rd: number, rs1: number, rm: number): void {
  const x = s.xi + 2 * rs1;
  const lo = rs1 === 0 ? 0 : s.i32[x]!;
  const hi = rs1 === 0 ? 0 : s.i32[x + 1]!;
  if (fmt === FMT_S) writeSingle(s, rd, f32ToBits(integerToF32(s, lo, hi, kind, rm)));
  else s.f64[s.fi64 + rd] = integerToF64(s, lo, hi, kind, rm);
}

