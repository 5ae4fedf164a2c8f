/**
 * Error-free transformations in plain double arithmetic: they give the exact rounding error of an RNE
 * sum or product, which is what decides inexactness and directed rounding without BigInt.
 * (Knuth's TwoSum; Veltkamp's split with Dekker's product. Both need the absence of overflow and, for the
 * product, of underflow in the partial products: callers stay within the ranges documented below.)
 */

/** Exact a + b - s, where s = a + b rounded to nearest. Valid whenever |s| < 2^1022. */
export function twoSumError(a: number, b: number, s: number): number {
  const bv = s - a;
  const av = s - bv;
  return (a - av) + (b - bv);
}

const SPLITTER = 134217729; // 2^27 + 1: splits a 53-bit significand into two halves of at most 26 bits

/**
 * Exact a * b - p, where p = a * b rounded to nearest. Valid when |a|, |b| < 2^995 (the split does not
 * overflow), and |p| >= 2^-900 with a, b normal (no partial product underflows).
 */
export function twoProductError(a: number, b: number, p: number): number {
  let t = SPLITTER * a;
  const ah = t - (t - a);
  const al = a - ah;
  t = SPLITTER * b;
  const bh = t - (t - b);
  const bl = b - bh;
  return ((ah * bh - p) + ah * bl + al * bh) + al * bl;
}
