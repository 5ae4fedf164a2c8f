/**
 * Rounding to binary32 from a double plus the sign of a tiny error term. Every single-precision
 * operation is computed in double first; the double d and the sign of (exact - d) then determine the
 * correctly rounded single in any rounding mode. Why this is exact: d is the double nearest the exact
 * value x, single grid points and single midpoints are doubles, so x lies on the same side of every
 * such point as d does — except when d *is* one of them (d has at most 25 significant bits), and there
 * the error sign decides. Callers therefore only need a correct error sign in that case.
 */
import { exponentOf, pow2 } from './fp-bits.js';
import { NX, OF, RDN, RMM, RNE, RTZ, RUP, UF } from './fp-constants.js';

const MIN_NORMAL = 2 ** -126;
const OVERFLOW = 2 ** 128; // first value past the largest finite single, with unbounded exponent
const MAX_FINITE = (2 ** 24 - 1) * 2 ** 104;
const MIN_SUBNORMAL = 2 ** -149;
const BINADE_BOTTOM = 2 ** 23; // significand of a power of two on the 24-bit grid

let gridInexact = false;

/**
 * Rounds magnitude ad to a multiple of the power of two u (ad / u < 2^24), per rm and the sign `neg` of
 * the value. esm is the sign of the magnitude error (exact magnitude - ad). binadeBottom is the grid
 * index of a power of two whose lower neighbour lies at half spacing, or -1 on the uniform subnormal grid.
 */
function roundToGrid(ad: number, u: number, esm: number, rm: number, neg: boolean, binadeBottom: number): number {
  let k = Math.floor(ad / u); // ad / u is exact: u is a power of two and nothing under- or overflows
  const frac = ad / u - k;
  let rb: boolean; // round bit: the exact value is at least half way to the next grid point
  let st: boolean; // sticky: ... and not exactly at half way or at the grid point
  if (frac === 0) {
    if (esm === 0) {
      gridInexact = false;
      return ad;
    }
    rb = esm < 0;
    st = true;
    if (esm < 0) {
      // Just below grid point k: truncation lands on the neighbour below, half as far at a binade bottom.
      if (k === binadeBottom) {
        u *= 0.5;
        k = 2 * k - 1;
      } else k -= 1;
    }
  } else if (frac === 0.5) {
    rb = esm >= 0;
    st = esm !== 0;
  } else {
    rb = frac > 0.5;
    st = true;
  }
  gridInexact = true;
  let up = false;
  if (rm === RNE) up = rb && (st || k % 2 === 1);
  else if (rm === RMM) up = rb;
  else if (rm === RDN) up = neg;
  else if (rm === RUP) up = !neg;
  return (up ? k + 1 : k) * u;
}

/**
 * The binary32 value nearest (per rm) to x = d + ε, where sign(ε) = sign(es) and |ε| is below half an ulp
 * of d in double. d must be an exact zero (then es = 0) or a finite double. Accrues NX/UF/OF into s.fflags.
 */
export function roundF32(s: { fflags: number }, d: number, es: number, rm: number): number {
  if (d === 0) return d;
  if (rm === RNE) {
    // Hot path: the host's nearest single is right unless d is a tie (then es decides) or the result is
    // not safely normal (tininess, overflow). d - f is exact (Sterbenz), so g = 2d - f is the other
    // neighbour exactly when d is a midpoint; a false alarm only costs the general path below.
    const f = Math.fround(d);
    const af = Math.abs(f);
    if (af > MIN_NORMAL && af < OVERFLOW) {
      if (f === d) {
        if (es !== 0) s.fflags |= NX;
        return f;
      }
      const g = d + (d - f);
      if (Math.fround(g) !== g) {
        s.fflags |= NX;
        return f;
      }
    }
  }
  const neg = d < 0;
  const ad = neg ? -d : d;
  const esm = neg ? -es : es;
  const e = exponentOf(ad);
  if (e < -1000) {
    // Far below half the smallest subnormal (only FCVT.S.D gets here, with a double subnormal or tiny d).
    s.fflags |= UF | NX;
    const r = (rm === RUP && !neg) || (rm === RDN && neg) ? MIN_SUBNORMAL : 0;
    return neg ? -r : r;
  }
  // First round with an unbounded exponent: that result decides overflow and, RISC-V detecting
  // tininess after rounding, underflow.
  let r = roundToGrid(ad, pow2(e - 23), esm, rm, neg, BINADE_BOTTOM);
  if (r >= OVERFLOW) {
    // Overflow (IEEE 754-2008 7.4): ±inf, or the largest finite number when rounding toward zero's side.
    s.fflags |= OF | NX;
    r = rm === RTZ || (rm === RDN && !neg) || (rm === RUP && neg) ? MAX_FINITE : Infinity;
  } else if (r >= MIN_NORMAL) {
    if (gridInexact) s.fflags |= NX;
  } else {
    // Tiny: deliver the value rounded to the subnormal grid.
    r = roundToGrid(ad, MIN_SUBNORMAL, esm, rm, neg, -1);
    if (gridInexact) s.fflags |= UF | NX;
  }
  return neg ? -r : r;
}
