/**
 * binary32 arithmetic on finite operands, computed in double and rounded once by roundF32. Sums and
 * products of singles are exact in double or have an exact TwoSum error; for quotients and roots the
 * error sign comes from a residual that is exact whenever roundF32 looks at it (d has at most 25-26
 * significant bits, so d*b and d*d fit in 53). Specials (NaN, inf, x/0, sqrt of a negative) go to softfloat.
 */
import { zeroSum } from './arith-double.js';
import { twoSumError } from './error-free.js';
import { roundF32 } from './round-single.js';

type Flags = { fflags: number };

export function addF32(s: Flags, a: number, b: number, rm: number): number {
  const d = a + b;
  if (d === 0) return zeroSum(a, b, rm); // sums of singles never underflow to zero: this is exact
  return roundF32(s, d, twoSumError(a, b, d), rm);
}

export function mulF32(s: Flags, a: number, b: number, rm: number): number {
  return roundF32(s, a * b, 0, rm); // 24 x 24 bits: exact in double
}

/** b must be non-zero. */
export function divF32(s: Flags, a: number, b: number, rm: number): number {
  const d = a / b;
  const residual = a - d * b;
  return roundF32(s, d, b > 0 ? residual : -residual, rm);
}

/** a must be >= 0 or -0. */
export function sqrtF32(s: Flags, a: number, rm: number): number {
  const d = Math.sqrt(a);
  return roundF32(s, d, a - d * d, rm);
}

/** (±a*b) ± c: the product is exact in double, the sum has an exact TwoSum error, so one rounding. */
export function fmaF32(s: Flags, a: number, b: number, c: number, negProduct: boolean, negAddend: boolean, rm: number): number {
  const p = negProduct ? -(a * b) : a * b;
  const z = negAddend ? -c : c;
  const d = p + z;
  if (d === 0) return zeroSum(p, z, rm);
  return roundF32(s, d, twoSumError(p, z, d), rm);
}
