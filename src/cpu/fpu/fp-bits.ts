/**
 * Bit-level views of IEEE values without BigInt: one 8-byte scratch buffer seen as float64, float32 and
 * int32 words (little-endian, as on every host Node runs wisp on). Never pass a NaN through these as a
 * number when its bits matter: V8 may quiet or rewrite NaN payloads, so NaN decisions are made on bits.
 */
const scratch = new ArrayBuffer(8);
const sf64 = new Float64Array(scratch);
const sf32 = new Float32Array(scratch);
const si32 = new Int32Array(scratch);

/** Single-precision bits -> the (exactly equal) double. Callers handle NaN bit patterns first. */
export function f32FromBits(bits: number): number {
  si32[0] = bits;
  return sf32[0]!;
}

/** A number already representable in single precision (or ±inf, ±0) -> its bits. Not for NaN. */
export function f32ToBits(v: number): number {
  sf32[0] = v;
  return si32[0]!;
}

export function isNaN32(bits: number): boolean {
  return (bits & 0x7fffffff) > 0x7f800000;
}

/** Signaling NaN: exponent all ones, quiet bit (bit 22) clear, fraction non-zero (IEEE 754-2008 6.2.1). */
export function isSNaN32(bits: number): boolean {
  return isNaN32(bits) && (bits & 0x00400000) === 0;
}

export function isNaN64(hi: number, lo: number): boolean {
  const h = hi & 0x7fffffff;
  return h > 0x7ff00000 || (h === 0x7ff00000 && lo !== 0);
}

export function isSNaN64(hi: number, lo: number): boolean {
  return isNaN64(hi, lo) && (hi & 0x00080000) === 0;
}

/** Unbiased exponent of a non-zero normal double (floor(log2|x|)), read from its bits, not Math.log2. */
export function exponentOf(x: number): number {
  sf64[0] = x;
  return ((si32[1]! >>> 20) & 0x7ff) - 1023;
}

/** The next double above finite x (toward +inf). Adjacent doubles differ by one in their 64-bit pattern. */
export function nextUp(x: number): number {
  if (x === 0) return 5e-324;
  sf64[0] = x;
  if (x > 0) increment();
  else decrement();
  return sf64[0]!;
}

/** The next double below finite x (toward -inf). */
export function nextDown(x: number): number {
  return -nextUp(-x);
}

function increment(): void {
  const lo = (si32[0]! + 1) | 0;
  si32[0] = lo;
  if (lo === 0) si32[1] = (si32[1]! + 1) | 0;
}

function decrement(): void {
  if (si32[0] === 0) si32[1] = (si32[1]! - 1) | 0;
  si32[0] = (si32[0]! - 1) | 0;
}

/** 2^k for integer k in [-1074, 1023], exact (Math.pow on integer exponents of 2 is exact in V8, but a table is both sure and fast). */
const POW2 = new Float64Array(1074 + 1024);
for (let k = -1074, v = 5e-324; k <= 1023; k++, v *= 2) POW2[k + 1074] = v;
export function pow2(k: number): number {
  return POW2[k + 1074]!;
}
