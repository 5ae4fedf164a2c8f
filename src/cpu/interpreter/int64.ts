/**
 * 64-bit integer arithmetic on int32 pairs (lo, hi), for the M extension. The interpreter keeps every
 * 64-bit value as two int32s (DESIGN.md: BigInt is ~20x slower); results come back in `r64`
 * (r64[0] = lo, r64[1] = hi) so nothing is allocated per instruction. Division of operands that do not
 * fit in 32 bits falls back to BigInt: it is rare in real code and not worth a long-division routine.
 */
export const r64 = new Int32Array(2);

const TWO32 = 4294967296;

/** High 32 bits of the unsigned 64-bit product of two uint32 values. */
export function mulhu32(a: number, b: number): number {
  const a0 = a & 0xffff, a1 = a >>> 16, b0 = b & 0xffff, b1 = b >>> 16;
  const mid = a0 * b1 + a1 * b0; // < 2^33, exact
  const low = a0 * b0 + (mid % 65536) * 65536; // < 2^33, exact
  return (a1 * b1 + Math.floor(mid / 65536) + Math.floor(low / TWO32)) >>> 0;
}

/** Low 64 bits of a * b (signedness does not matter for the low half). */
export function mul64(aLo: number, aHi: number, bLo: number, bHi: number): void {
  r64[0] = Math.imul(aLo, bLo);
  r64[1] = (mulhu32(aLo >>> 0, bLo >>> 0) + Math.imul(aHi, bLo) + Math.imul(aLo, bHi)) | 0;
}

/** High 64 bits of the unsigned 128-bit product. */
export function mulhu64(aLo: number, aHi: number, bLo: number, bHi: number): void {
  const a0 = aLo >>> 0, a1 = aHi >>> 0, b0 = bLo >>> 0, b1 = bHi >>> 0;
  const hi00 = mulhu32(a0, b0);
  const lo01 = Math.imul(a0, b1) >>> 0, hi01 = mulhu32(a0, b1);
  const lo10 = Math.imul(a1, b0) >>> 0, hi10 = mulhu32(a1, b0);
  const lo11 = Math.imul(a1, b1) >>> 0, hi11 = mulhu32(a1, b1);
  const carry1 = Math.floor((hi00 + lo01 + lo10) / TWO32);
  const mid = lo11 + hi01 + hi10 + carry1; // < 2^34, exact
  r64[0] = mid | 0;
  r64[1] = (hi11 + Math.floor(mid / TWO32)) | 0;
}

/** High 64 bits of signed × signed. */
export function mulh64(aLo: number, aHi: number, bLo: number, bHi: number): void {
  mulhu64(aLo, aHi, bLo, bHi);
  let lo = r64[0], hi = r64[1];
  // unsigned product minus the corrections for negative operands (two's complement identity).
  if (aHi < 0) { const s = (lo - bLo) | 0; hi = (hi - bHi - ((lo >>> 0) < (bLo >>> 0) ? 1 : 0)) | 0; lo = s; }
  if (bHi < 0) { const s = (lo - aLo) | 0; hi = (hi - aHi - ((lo >>> 0) < (aLo >>> 0) ? 1 : 0)) | 0; lo = s; }
  r64[0] = lo; r64[1] = hi;
}

/** High 64 bits of signed a × unsigned b. */
export function mulhsu64(aLo: number, aHi: number, bLo: number, bHi: number): void {
  mulhu64(aLo, aHi, bLo, bHi);
  if (aHi < 0) {
    const lo = r64[0];
    r64[0] = (lo - bLo) | 0;
    r64[1] = (r64[1] - bHi - ((lo >>> 0) < (bLo >>> 0) ? 1 : 0)) | 0;
  }
}

function toBig(lo: number, hi: number): bigint {
  return (BigInt(hi) << 32n) | BigInt(lo >>> 0);
}
function fromBig(v: bigint): void {
  r64[0] = Number(BigInt.asIntN(32, v));
  r64[1] = Number(BigInt.asIntN(32, v >> 32n));
}
const fitsI32 = (lo: number, hi: number) => hi === lo >> 31;

/** DIV/REM/DIVU/REMU with RISC-V's rules: x/0 = -1 (all ones), x%0 = x, MIN/-1 = MIN, MIN%-1 = 0. */
export function div64(aLo: number, aHi: number, bLo: number, bHi: number, unsigned: boolean, rem: boolean): void {
  if (bLo === 0 && bHi === 0) {
    if (rem) { r64[0] = aLo; r64[1] = aHi; } else { r64[0] = -1; r64[1] = -1; }
    return;
  }
  if (!unsigned && fitsI32(aLo, aHi) && fitsI32(bLo, bHi)) {
    if (aLo === -2147483648 && bLo === -1) {
      // 2^31 does not overflow 64 bits: the quotient is +2^31.
      if (rem) { r64[0] = 0; r64[1] = 0; } else { r64[0] = -2147483648; r64[1] = 0; }
      return;
    }
    const v = rem ? aLo % bLo : (aLo / bLo) | 0;
    r64[0] = v | 0; r64[1] = v < 0 ? -1 : 0;
    return;
  }
  if (unsigned && aHi === 0 && bHi === 0) {
    const a = aLo >>> 0, b = bLo >>> 0;
    r64[0] = (rem ? a % b : Math.floor(a / b)) | 0; r64[1] = 0;
    return;
  }
  let a = toBig(aLo, aHi), b = toBig(bLo, bHi);
  if (unsigned) { a = BigInt.asUintN(64, a); b = BigInt.asUintN(64, b); }
  if (!unsigned && a === -(1n << 63n) && b === -1n) {
    if (rem) fromBig(0n); else fromBig(a);
    return;
  }
  fromBig(rem ? a % b : a / b); // BigInt division truncates toward zero, as RISC-V does
}
