/**
 * FCLASS result bits (F chapter, "Single-Precision Floating-Point Classify Instruction", table of
 * rd bits): exactly one is set.
 */
const NEG_INF = 1 << 0;
const NEG_NORMAL = 1 << 1;
const NEG_SUBNORMAL = 1 << 2;
const NEG_ZERO = 1 << 3;
const POS_ZERO = 1 << 4;
const POS_SUBNORMAL = 1 << 5;
const POS_NORMAL = 1 << 6;
const POS_INF = 1 << 7;
const SIGNALING_NAN = 1 << 8;
const QUIET_NAN = 1 << 9;

function classify(neg: boolean, expAllOnes: boolean, expZero: boolean, fracZero: boolean, quietBit: boolean): number {
  if (expAllOnes) {
    if (fracZero) return neg ? NEG_INF : POS_INF;
    return quietBit ? QUIET_NAN : SIGNALING_NAN;
  }
  if (expZero) {
    if (fracZero) return neg ? NEG_ZERO : POS_ZERO;
    return neg ? NEG_SUBNORMAL : POS_SUBNORMAL;
  }
  return neg ? NEG_NORMAL : POS_NORMAL;
}

export function fclass32(bits: number): number {
  const exp = (bits >>> 23) & 0xff;
  return classify(bits < 0, exp === 0xff, exp === 0, (bits & 0x7fffff) === 0, (bits & 0x400000) !== 0);
}

export function fclass64(hi: number, lo: number): number {
  const exp = (hi >>> 20) & 0x7ff;
  return classify(hi < 0, exp === 0x7ff, exp === 0, (hi & 0xfffff) === 0 && lo === 0, (hi & 0x80000) !== 0);
}
