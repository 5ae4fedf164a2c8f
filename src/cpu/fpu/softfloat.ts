/**
 * Exact IEEE 754-2008 binary32/binary64 arithmetic on BigInt bit patterns: the slow path of the FPU and
 * the semantics reference the fast paths are tested against. Values are unpacked to sign, integer
 * significand m and exponent e (value = m * 2^e), combined exactly, and rounded once by roundPack.
 * RISC-V specifics: NaN results are the canonical NaN; tininess is detected after rounding (F chapter,
 * "Floating-Point Control and Status Register"); an fma of inf * 0 is invalid even with a quiet NaN addend.
 */
import { DZ, NV, NX, OF, RDN, RMM, RNE, RUP, UF } from './fp-constants.js';

export interface FloatFormat {
  readonly width: number; // total bits
  readonly p: number; // precision, including the hidden bit
  readonly emin: number;
  readonly emax: number; // also the exponent bias
}
export const BINARY32: FloatFormat = { width: 32, p: 24, emin: -126, emax: 127 };
export const BINARY64: FloatFormat = { width: 64, p: 53, emin: -1022, emax: 1023 };

export interface SoftResult {
  readonly bits: bigint;
  readonly flags: number;
}

const ZERO = 0;
const FINITE = 1;
const INF = 2;
const NAN = 3;

interface Unpacked {
  neg: boolean;
  cls: number;
  snan: boolean;
  m: bigint;
  e: number;
}

function unpack(bits: bigint, f: FloatFormat): Unpacked {
  const fracBits = f.p - 1;
  const expMask = (1 << (f.width - f.p)) - 1;
  const neg = ((bits >> BigInt(f.width - 1)) & 1n) === 1n;
  const ef = Number((bits >> BigInt(fracBits)) & BigInt(expMask));
  const frac = bits & ((1n << BigInt(fracBits)) - 1n);
  const u: Unpacked = { neg, cls: FINITE, snan: false, m: 0n, e: 0 };
  if (ef === expMask) {
    u.cls = frac === 0n ? INF : NAN;
    u.snan = u.cls === NAN && ((frac >> BigInt(fracBits - 1)) & 1n) === 0n;
  } else if (ef === 0) {
    if (frac === 0n) u.cls = ZERO;
    u.m = frac;
    u.e = f.emin - fracBits;
  } else {
    u.m = frac | (1n << BigInt(fracBits));
    u.e = ef - f.emax - fracBits;
  }
  return u;
}

function signBit(neg: boolean, f: FloatFormat): bigint {
  return neg ? 1n << BigInt(f.width - 1) : 0n;
}
function infBits(neg: boolean, f: FloatFormat): bigint {
  return signBit(neg, f) | (BigInt((1 << (f.width - f.p)) - 1) << BigInt(f.p - 1));
}
function nan(flags: number, f: FloatFormat): SoftResult {
  return { bits: f.width === 32 ? 0x7fc00000n : 0x7ff8000000000000n, flags };
}
function zero(neg: boolean, f: FloatFormat): SoftResult {
  return { bits: signBit(neg, f), flags: 0 };
}
function inf(neg: boolean, f: FloatFormat, flags = 0): SoftResult {
  return { bits: infBits(neg, f), flags };
}

/** IEEE 754-2008 6.3: an exact zero sum of opposite-signed operands is +0, except -0 when rounding down. */
export function exactZeroSumIsNegative(negA: boolean, negB: boolean, rm: number): boolean {
  return negA === negB ? negA : rm === RDN;
}

export function bitLength(m: bigint): number {
  return m === 0n ? 0 : m.toString(2).length;
}

let roundedInexact = false;
/** m >> sh (sh >= 1) rounded per rm; `sticky` says the true value lies a little above m. */
function shiftRound(m: bigint, sh: number, sticky: boolean, neg: boolean, rm: number): bigint {
  const bsh = BigInt(sh);
  const q = m >> bsh;
  const rem = m - (q << bsh);
  const half = 1n << (bsh - 1n);
  const rb = rem >= half;
  const st = sticky || (rem & (half - 1n)) !== 0n;
  roundedInexact = rb || st;
  let up = false;
  if (rm === RNE) up = rb && (st || (q & 1n) === 1n);
  else if (rm === RMM) up = rb;
  else if (rm === RDN) up = neg && roundedInexact;
  else if (rm === RUP) up = !neg && roundedInexact;
  return up ? q + 1n : q;
}

/**
 * Rounds the exact value (-1)^neg * (m + δ) * 2^e, 0 <= δ < 1 and δ > 0 iff sticky, to format f.
 * m > 0. When sticky is set m must already carry at least p + 3 bits (callers guarantee it).
 */
export function roundPack(neg: boolean, m: bigint, e: number, sticky: boolean, f: FloatFormat, rm: number): SoftResult {
  let len = bitLength(m);
  if (len < f.p + 3) {
    const k = f.p + 3 - len; // exact widening; only reached when !sticky
    m <<= BigInt(k);
    e -= k;
    len += k;
  }
  const sh = len - f.p;
  let q = shiftRound(m, sh, sticky, neg, rm);
  const inexact = roundedInexact;
  let qe = e + sh;
  if (q === 1n << BigInt(f.p)) {
    q >>= 1n;
    qe++;
  }
  const exp = qe + f.p - 1; // exponent of the result rounded with an unbounded exponent range
  if (exp > f.emax) {
    const toInf = rm === RNE || rm === RMM || (rm === RUP && !neg) || (rm === RDN && neg);
    return { bits: toInf ? infBits(neg, f) : infBits(neg, f) - 1n, flags: OF | NX };
  }
  if (exp < f.emin) {
    // Tiny after rounding: deliver the value rounded to the subnormal grid 2^(emin - p + 1). A carry into
    // the hidden bit makes the pattern of the smallest normal, which is what the packing below yields.
    const q2 = shiftRound(m, f.emin - (f.p - 1) - e, sticky, neg, rm);
    return { bits: signBit(neg, f) | q2, flags: roundedInexact ? UF | NX : 0 };
  }
  const bits = signBit(neg, f) | (BigInt(exp + f.emax) << BigInt(f.p - 1)) | (q - (1n << BigInt(f.p - 1)));
  return { bits, flags: inexact ? NX : 0 };
}

function addFinite(negA: boolean, ma: bigint, ea: number, negB: boolean, mb: bigint, eb: number, f: FloatFormat, rm: number): SoftResult {
  const e = Math.min(ea, eb);
  const va = (negA ? -ma : ma) << BigInt(ea - e);
  const vb = (negB ? -mb : mb) << BigInt(eb - e);
  const sum = va + vb;
  if (sum === 0n) return zero(exactZeroSumIsNegative(negA, negB, rm), f);
  return sum < 0n ? roundPack(true, -sum, e, false, f, rm) : roundPack(false, sum, e, false, f, rm);
}

export function softAdd(a: bigint, b: bigint, f: FloatFormat, rm: number): SoftResult {
  const x = unpack(a, f);
  const y = unpack(b, f);
  if (x.cls === NAN || y.cls === NAN) return nan(x.snan || y.snan ? NV : 0, f);
  if (x.cls === INF) return y.cls === INF && x.neg !== y.neg ? nan(NV, f) : inf(x.neg, f);
  if (y.cls === INF) return inf(y.neg, f);
  if (x.cls === ZERO && y.cls === ZERO) return zero(exactZeroSumIsNegative(x.neg, y.neg, rm), f);
  if (x.cls === ZERO) return { bits: b, flags: 0 };
  if (y.cls === ZERO) return { bits: a, flags: 0 };
  return addFinite(x.neg, x.m, x.e, y.neg, y.m, y.e, f, rm);
}

export function softSub(a: bigint, b: bigint, f: FloatFormat, rm: number): SoftResult {
  return softAdd(a, b ^ signBit(true, f), f, rm);
}

export function softMul(a: bigint, b: bigint, f: FloatFormat, rm: number): SoftResult {
  const x = unpack(a, f);
  const y = unpack(b, f);
  const neg = x.neg !== y.neg;
  if (x.cls === NAN || y.cls === NAN) return nan(x.snan || y.snan ? NV : 0, f);
  if ((x.cls === INF && y.cls === ZERO) || (x.cls === ZERO && y.cls === INF)) return nan(NV, f);
  if (x.cls === INF || y.cls === INF) return inf(neg, f);
  if (x.cls === ZERO || y.cls === ZERO) return zero(neg, f);
  return roundPack(neg, x.m * y.m, x.e + y.e, false, f, rm);
}

export function softDiv(a: bigint, b: bigint, f: FloatFormat, rm: number): SoftResult {
  const x = unpack(a, f);
  const y = unpack(b, f);
  const neg = x.neg !== y.neg;
  if (x.cls === NAN || y.cls === NAN) return nan(x.snan || y.snan ? NV : 0, f);
  if ((x.cls === INF && y.cls === INF) || (x.cls === ZERO && y.cls === ZERO)) return nan(NV, f);
  if (x.cls === INF) return inf(neg, f);
  if (y.cls === INF || x.cls === ZERO) return zero(neg, f);
  if (y.cls === ZERO) return inf(neg, f, DZ);
  // Widen the dividend so the quotient carries at least p + 3 bits; the remainder is the sticky bit.
  const k = Math.max(0, f.p + 3 + bitLength(y.m) - bitLength(x.m));
  const n = x.m << BigInt(k);
  const q = n / y.m;
  return roundPack(neg, q, x.e - y.e - k, q * y.m !== n, f, rm);
}

function isqrt(n: bigint): bigint {
  let x = 1n << BigInt((bitLength(n) >> 1) + 1); // >= sqrt(n)
  for (;;) {
    const y = (x + n / x) >> 1n;
    if (y >= x) return x;
    x = y;
  }
}

export function softSqrt(a: bigint, f: FloatFormat, rm: number): SoftResult {
  const x = unpack(a, f);
  if (x.cls === NAN) return nan(x.snan ? NV : 0, f);
  if (x.cls === ZERO) return { bits: a, flags: 0 }; // sqrt(-0) = -0 (IEEE 754-2008 5.4.1)
  if (x.neg) return nan(NV, f);
  if (x.cls === INF) return inf(false, f);
  // Widen to an even exponent and at least 2(p + 3) bits so the root has p + 3 bits.
  let k = Math.max(0, 2 * (f.p + 3) - bitLength(x.m));
  if ((x.e - k) % 2 !== 0) k++;
  const n = x.m << BigInt(k);
  const r = isqrt(n);
  return roundPack(false, r, (x.e - k) / 2, r * r !== n, f, rm);
}

/** (±a * b) ± c with one rounding. negProduct/negAddend give FMSUB, FNMSUB, FNMADD. */
export function softFma(a: bigint, b: bigint, c: bigint, f: FloatFormat, rm: number, negProduct: boolean, negAddend: boolean): SoftResult {
  const x = unpack(a, f);
  const y = unpack(b, f);
  const z = unpack(c, f);
  const pneg = (x.neg !== y.neg) !== negProduct;
  const zneg = z.neg !== negAddend;
  // F chapter, "Single-Precision Fused Multiply-Add": inf * 0 is invalid even when the addend is a quiet NaN.
  if ((x.cls === INF && y.cls === ZERO) || (x.cls === ZERO && y.cls === INF)) return nan(NV, f);
  if (x.cls === NAN || y.cls === NAN || z.cls === NAN) return nan(x.snan || y.snan || z.snan ? NV : 0, f);
  if (x.cls === INF || y.cls === INF) return z.cls === INF && zneg !== pneg ? nan(NV, f) : inf(pneg, f);
  if (z.cls === INF) return inf(zneg, f);
  const productZero = x.cls === ZERO || y.cls === ZERO;
  if (productZero && z.cls === ZERO) return zero(exactZeroSumIsNegative(pneg, zneg, rm), f);
  if (productZero) return roundPack(zneg, z.m, z.e, false, f, rm);
  if (z.cls === ZERO) return roundPack(pneg, x.m * y.m, x.e + y.e, false, f, rm);
  return addFinite(pneg, x.m * y.m, x.e + y.e, zneg, z.m, z.e, f, rm);
}
