/**
 * FCVT between floating point and integers (F chapter, "Floating-Point Conversion and Move
 * Instructions", and its table of results for invalid inputs): round per rm, saturate out-of-range
 * inputs and NaN with NV (and without NX), NX for in-range inexact results.
 */
import { adjustNearest } from './arith-double.js';
import { twoSumError } from './error-free.js';
import { NV, NX, RDN, RNE, RTZ, RUP } from './fp-constants.js';
import { roundF32 } from './round-single.js';

export const CVT_W = 0;
export const CVT_WU = 1;
export const CVT_L = 2;
export const CVT_LU = 3;

const TWO32 = 4294967296;

/** Integer result of the last toInteger call: low and high words (32-bit results already sign-extended). */
export const intResult = new Int32Array(2);

function roundToIntegral(v: number, rm: number): number {
  if (rm === RTZ) return Math.trunc(v);
  if (rm === RDN) return Math.floor(v);
  if (rm === RUP) return Math.ceil(v);
  const a = Math.abs(v);
  const t = Math.floor(a);
  const f = a - t; // exact: the fractional part of a double
  const up = rm === RNE ? f > 0.5 || (f === 0.5 && t % 2 === 1) : f >= 0.5;
  const r = up ? t + 1 : t;
  return v < 0 ? -r : r;
}

/** Saturation bounds per kind: smallest and largest result, as [lo, hi] words. */
const MIN_WORDS = [0x80000000 | 0, -1, 0, 0, 0, 0x80000000 | 0, 0, 0] as const;
const MAX_WORDS = [0x7fffffff, 0, -1, -1, -1, 0x7fffffff, -1, -1] as const;
const LOW_BOUND = [-(2 ** 31), 0, -(2 ** 63), 0] as const; // inclusive
const HIGH_BOUND = [2 ** 31, 2 ** 32, 2 ** 63, 2 ** 64] as const; // exclusive

function saturate(kind: number, high: boolean): void {
  const w = high ? MAX_WORDS : MIN_WORDS;
  intResult[0] = w[2 * kind]!;
  intResult[1] = w[2 * kind + 1]!;
}

/** FCVT.{W,WU,L,LU}.{S,D}: v is the operand's value (any double incl. ±inf), isNaN from its bits. */
export function toInteger(s: { fflags: number }, v: number, isNaN: boolean, kind: number, rm: number): void {
  if (isNaN) {
    s.fflags |= NV;
    saturate(kind, true);
    return;
  }
  const r = roundToIntegral(v, rm);
  if (r < LOW_BOUND[kind]!) {
    s.fflags |= NV;
    saturate(kind, false);
    return;
  }
  if (r >= HIGH_BOUND[kind]!) {
    s.fflags |= NV;
    saturate(kind, true);
    return;
  }
  if (r !== v) s.fflags |= NX;
  if (kind <= CVT_WU) {
    const lo = r | 0;
    intResult[0] = lo;
    intResult[1] = lo >> 31; // RV64 sign-extends 32-bit results, WU included
  } else {
    const hi = Math.floor(r / TWO32);
    intResult[0] = (r - hi * TWO32) | 0;
    intResult[1] = hi | 0;
  }
}

/** The integer operand of FCVT.{S,D}.{W,WU,L,LU} from x register words, as an exact (high, low) split. */
function intHigh(kind: number, lo: number, hi: number): number {
  if (kind === CVT_W) return lo < 0 ? -TWO32 : 0;
  if (kind === CVT_WU) return 0;
  return kind === CVT_L ? hi * TWO32 : (hi >>> 0) * TWO32;
}

/** FCVT.D.{W,WU,L,LU}: returns the double; 64-bit inputs round per rm. */
export function integerToF64(s: { fflags: number }, lo: number, hi: number, kind: number, rm: number): number {
  const h = intHigh(kind, lo, hi);
  const l = lo >>> 0;
  const d = h + l;
  const err = twoSumError(h, l, d);
  return err === 0 ? d : adjustNearest(s, d, err, rm, true);
}

/** FCVT.S.{W,WU,L,LU}: returns the single's value. */
export function integerToF32(s: { fflags: number }, lo: number, hi: number, kind: number, rm: number): number {
  const h = intHigh(kind, lo, hi);
  const l = lo >>> 0;
  const d = h + l;
  return roundF32(s, d, twoSumError(h, l, d), rm);
}
