/**
 * Fast binary64 add/mul/div/sqrt in plain double arithmetic. The host computes the round-to-nearest
 * result; an error-free transformation gives the exact error (or its sign), which decides inexactness
 * and the directed modes. Operands must be finite. Anything near the edges of the exponent range
 * (overflow, results or operands where the error terms could underflow) returns NaN, telling the
 * caller to take the exact BigInt path (softfloat.ts). NaN is never a legitimate result here.
 */
import { nextDown, nextUp } from './fp-bits.js';
import { NX, RDN, RNE, RTZ, RUP } from './fp-constants.js';
import { twoProductError, twoSumError } from './error-free.js';

const LARGE = 2 ** 1022; // results at or beyond this may overflow in a directed mode or break TwoSum
const SPLIT_MAX = 2 ** 995; // Veltkamp's split overflows beyond this
const SMALL = 2 ** -900; // below this, partial products of the error terms may underflow
const SLOW = NaN;

/**
 * Rounds r (the nearest double to x, non-zero, with |r| in the safe range) per rm, given err: exact x - r
 * when `exactErr`, otherwise only its sign (then x cannot be a tie: quotients and square roots never are).
 */
export function adjustNearest(s: { fflags: number }, r: number, err: number, rm: number, exactErr: boolean): number {
  s.fflags |= NX;
  if (rm === RNE) return r;
  if (rm === RDN) return err < 0 ? nextDown(r) : r;
  if (rm === RUP) return err > 0 ? nextUp(r) : r;
  if (rm === RTZ) {
    if (r > 0) return err < 0 ? nextDown(r) : r;
    return err > 0 ? nextUp(r) : r;
  }
  // RMM differs from RNE only at an exact tie, where RNE picked the even neighbour.
  if (!exactErr) return r;
  const n = err > 0 ? nextUp(r) : nextDown(r);
  return n - r === 2 * err && Math.abs(n) > Math.abs(r) ? n : r;
}

/** Sign of an exact zero sum a + b (IEEE 754-2008 6.3): JS gives the RNE answer; RDN wants -0 unless both are +0. */
export function zeroSum(a: number, b: number, rm: number): number {
  if (rm !== RDN) return a + b;
  return Object.is(a, 0) && Object.is(b, 0) ? 0 : -0;
}

export function addF64(s: { fflags: number }, a: number, b: number, rm: number): number {
  const r = a + b;
  if (!(Math.abs(r) < LARGE)) return SLOW;
  const err = twoSumError(a, b, r);
  if (err === 0) return r === 0 ? zeroSum(a, b, rm) : r;
  return adjustNearest(s, r, err, rm, true);
}

function inFastRange(x: number): boolean {
  const ax = Math.abs(x);
  return ax >= SMALL && ax < SPLIT_MAX;
}

export function mulF64(s: { fflags: number }, a: number, b: number, rm: number): number {
  if (a === 0 || b === 0) return a * b; // exact signed zero
  const r = a * b;
  if (!inFastRange(a) || !inFastRange(b) || !inFastRange(r)) return SLOW;
  const err = twoProductError(a, b, r);
  return err === 0 ? r : adjustNearest(s, r, err, rm, true);
}

export function divF64(s: { fflags: number }, a: number, b: number, rm: number): number {
  if (b === 0) return SLOW; // divide by zero or 0/0: specials live in softfloat
  if (a === 0) return a / b;
  const q = a / b;
  if (!inFastRange(a) || !inFastRange(b) || !inFastRange(q)) return SLOW;
  // sign(a/b - q) = sign(a - q*b) * sign(b); a - p is exact (Sterbenz), pe is the exact product error.
  const p = q * b;
  const pe = twoProductError(q, b, p);
  const t = a - p;
  if (t === pe) return q;
  return adjustNearest(s, q, (t > pe) === (b > 0) ? 1 : -1, rm, false);
}

export function sqrtF64(s: { fflags: number }, a: number, rm: number): number {
  if (a === 0) return a; // sqrt(±0) = ±0
  if (!(a >= SMALL && a < SPLIT_MAX)) return SLOW; // negative (invalid), tiny, or r*r could overflow
  const r = Math.sqrt(a);
  const p = r * r;
  const pe = twoProductError(r, r, p);
  const t = a - p;
  if (t === pe) return r;
  return adjustNearest(s, r, t > pe ? 1 : -1, rm, false);
}
