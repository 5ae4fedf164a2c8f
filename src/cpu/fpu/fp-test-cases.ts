/**
 * Test support: deterministic operand generators that crowd the places where floating-point
 * implementations go wrong — specials, subnormals, the extremes of the exponent range, halfway and
 * near-halfway significands, cancellation, products and quotients landing at the overflow and
 * underflow thresholds, integers at conversion boundaries.
 */

/** xorshift128+ on BigInt-free 32-bit halves; deterministic per seed. */
export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  constructor(seed: number) {
    this.s0 = seed | 0 || 1;
    this.s1 = 0x9e3779b9;
    this.s2 = 0x243f6a88;
    this.s3 = 0xb7e15162;
    for (let i = 0; i < 16; i++) this.u32();
  }
  /** xoshiro128** step. */
  u32(): number {
    const r = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return r;
  }
  int(n: number): number {
    return this.u32() % n;
  }
  u64(): bigint {
    return (BigInt(this.u32()) << 32n) | BigInt(this.u32());
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
}
function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

export interface Fmt {
  readonly width: 32 | 64;
  readonly mantBits: number; // explicit fraction bits
  readonly expMax: number; // all-ones exponent field
  readonly bias: number;
}
export const S: Fmt = { width: 32, mantBits: 23, expMax: 255, bias: 127 };
export const D: Fmt = { width: 64, mantBits: 52, expMax: 2047, bias: 1023 };

export function pack(f: Fmt, neg: boolean, exp: number, mant: bigint): bigint {
  const m = mant & ((1n << BigInt(f.mantBits)) - 1n);
  return (neg ? 1n << BigInt(f.width - 1) : 0n) | (BigInt(exp) << BigInt(f.mantBits)) | m;
}
export function expField(f: Fmt, bits: bigint): number {
  return Number((bits >> BigInt(f.mantBits)) & BigInt(f.expMax));
}
export function mantField(f: Fmt, bits: bigint): bigint {
  return bits & ((1n << BigInt(f.mantBits)) - 1n);
}
export function isNaNBits(f: Fmt, bits: bigint): boolean {
  return expField(f, bits) === f.expMax && mantField(f, bits) !== 0n;
}

function mantissa(rng: Rng, f: Fmt): bigint {
  const all = (1n << BigInt(f.mantBits)) - 1n;
  const r = rng.u64() & all;
  switch (rng.int(8)) {
    case 0: return all; // all ones: carries out of the significand
    case 1: return 0n;
    case 2: return 1n << BigInt(rng.int(f.mantBits)); // one bit
    case 3: return all ^ (1n << BigInt(rng.int(f.mantBits)));
    case 4: return r & ~((1n << BigInt(rng.int(f.mantBits))) - 1n); // short significand: exact results likely
    case 5: return r & ((1n << BigInt(rng.int(6) + 1)) - 1n); // low bits only
    default: return r;
  }
}

/** One operand with a distribution skewed toward trouble. */
export function operand(rng: Rng, f: Fmt): bigint {
  const neg = rng.int(2) === 1;
  const k = rng.int(20);
  if (k === 0) {
    // specials: ±0, ±inf, quiet and signaling NaNs
    const q = 1n << BigInt(f.mantBits - 1);
    const specials: Array<[number, bigint]> = [[0, 0n], [f.expMax, 0n], [f.expMax, q], [f.expMax, 1n], [f.expMax, q | 5n]];
    const [e, m] = rng.pick(specials);
    return pack(f, neg, e, m);
  }
  if (k === 1) return pack(f, neg, 0, mantissa(rng, f) || 1n); // subnormal
  if (k <= 3) return pack(f, neg, f.expMax - 1 - rng.int(4), mantissa(rng, f)); // near max
  if (k <= 5) return pack(f, neg, 1 + rng.int(4), mantissa(rng, f)); // near min normal
  if (k <= 11) return pack(f, neg, f.bias - 30 + rng.int(60), mantissa(rng, f)); // ordinary
  return pack(f, neg, 1 + rng.int(f.expMax - 1), mantissa(rng, f)); // anywhere
}

/** A second operand related to a: for sums, close in magnitude (cancellation, halfway); else random. */
export function partnerForSum(rng: Rng, f: Fmt, a: bigint): bigint {
  if (rng.int(2) === 0 || expField(f, a) === f.expMax) return operand(rng, f);
  const neg = rng.int(2) === 1;
  const shift = rng.int(3) === 0 ? f.mantBits + 1 - rng.int(3) : rng.int(f.mantBits + 3); // halfway-ish or overlapping
  const e = Math.max(0, Math.min(f.expMax - 1, expField(f, a) - shift));
  const m = rng.int(2) === 0 ? mantField(f, a) ^ BigInt(rng.int(4)) : mantissa(rng, f);
  return pack(f, neg, e, m);
}

/** A second operand placing a*b (or a/b) near the overflow or underflow thresholds. */
export function partnerForProduct(rng: Rng, f: Fmt, a: bigint, quotient: boolean): bigint {
  const ea = expField(f, a);
  if (rng.int(2) === 0 || ea === 0 || ea === f.expMax) return operand(rng, f);
  const targets = [f.expMax - 1, f.expMax, 1, 0, -rng.int(f.mantBits + 2)];
  const t = rng.pick(targets) + rng.int(3) - 1; // biased exponent of the result
  // product: ea + eb - bias = t  ->  eb = t - ea + bias; quotient: ea - eb + bias = t -> eb = ea - t + bias
  const eb = quotient ? ea - t + f.bias : t - ea + f.bias;
  if (eb < 1 || eb >= f.expMax) return operand(rng, f);
  // An all-ones significand times one just above 1 lands a hair below a power of two: at the
  // thresholds that is where tininess before and after rounding differ, and where overflow begins.
  const allOnes = mantField(f, a) === (1n << BigInt(f.mantBits)) - 1n;
  const m = allOnes && rng.int(2) === 0 ? BigInt(rng.int(4)) : mantissa(rng, f);
  return pack(f, rng.int(2) === 1, eb, m);
}

/** Float operands of float->integer conversions: integers and near-halves around every boundary. */
export function conversionOperand(rng: Rng, f: Fmt): bigint {
  if (rng.int(4) === 0) return operand(rng, f);
  const bitsOfInt = rng.int(66);
  let v = Math.floor(2 ** bitsOfInt * (rng.u32() / 2 ** 32));
  if (rng.int(3) === 0) v = 2 ** rng.pick([31, 32, 63, 64, 0, 1]) + rng.int(5) - 2;
  v += rng.pick([0, 0.5, 0.25, 0.75, -0.5, 1 / 3, 0.5 + 2 ** -20]);
  if (rng.int(2) === 0) v = -v;
  const buf = new DataView(new ArrayBuffer(8));
  if (f.width === 32) {
    buf.setFloat32(0, v, true);
    // nudge by a few ulps sometimes
    return BigInt((buf.getUint32(0, true) + (rng.int(3) === 0 ? rng.int(5) - 2 : 0)) >>> 0);
  }
  buf.setFloat64(0, v, true);
  return BigInt.asUintN(64, buf.getBigUint64(0, true) + BigInt(rng.int(3) === 0 ? rng.int(5) - 2 : 0));
}

/** 64-bit integer operands for int->float: all lengths, with halfway and near-halfway patterns at 24 and 53 bits. */
export function integerOperand(rng: Rng): bigint {
  const len = rng.int(65);
  let v = len === 0 ? 0n : (rng.u64() & ((1n << BigInt(len)) - 1n)) | (1n << BigInt(len - 1));
  if (len > 25 && rng.int(2) === 0) {
    const p = rng.pick([24, 53]);
    if (len > p + 1) {
      const s = BigInt(len - p); // bits below the kept ones
      v = (v >> s) << s;
      const pattern = rng.int(4);
      if (pattern === 0) v |= 1n << (s - 1n); // exact tie
      else if (pattern === 1) v |= (1n << (s - 1n)) | 1n; // just above tie
      else if (pattern === 2) v |= (1n << (s - 1n)) - 1n; // just below tie
    }
  }
  if (rng.int(3) === 0) v = BigInt.asUintN(64, -v);
  return v;
}

/** Doubles for FCVT.S.D: around the single-precision thresholds (smallest normal, subnormals, overflow). */
export function narrowingOperand(rng: Rng): bigint {
  if (rng.int(3) === 0) return operand(rng, D);
  const e = rng.int(2) === 0 ? D.bias - 152 + rng.int(30) : D.bias + 125 + rng.int(4);
  // Significand: 23 random kept bits, then round/sticky patterns around the single's rounding point.
  const kept = rng.int(2) === 0 ? (1n << 23n) - 1n : BigInt(rng.u32() & 0x7fffff);
  const tail = rng.pick([0n, 1n << 28n, (1n << 28n) + 1n, (1n << 28n) - 1n, BigInt(rng.u32() & 0x1fffffff), (1n << 29n) - 1n]);
  return pack(D, rng.int(2) === 1, e, (kept << 29n) | tail);
}

/**
 * FMA operands whose exact result sits a hair away from the smallest normal: an addend at the threshold
 * and a product far smaller. Where tininess before and after rounding disagree (RISC-V: after).
 */
export function fmaNearThreshold(rng: Rng, f: Fmt): [bigint, bigint, bigint] {
  const target = -rng.int(f.mantBits + 8); // biased exponent of the product, <= 0: below the normals
  const ea = 1 + rng.int(target + f.bias - 1);
  const eb = target - ea + f.bias;
  const all = (1n << BigInt(f.mantBits)) - 1n;
  const a = pack(f, rng.int(2) === 1, ea, mantissa(rng, f));
  const b = pack(f, rng.int(2) === 1, eb, mantissa(rng, f));
  const c = pack(f, rng.int(2) === 1, rng.pick([0, 1, 1, 2]), rng.pick([0n, 1n, all, all - 1n]));
  return [a, b, c];
}
