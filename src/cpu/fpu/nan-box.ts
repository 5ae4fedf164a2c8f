/**
 * NaN-boxing of singles in the 64-bit f registers (F chapter with D, "NaN Boxing of Narrower Values"):
 * a single is valid only when the upper 32 bits are all ones; otherwise it reads as the canonical NaN.
 * Single results are written with the upper half all ones.
 */
import type { FpState } from './fp-state.js';
import { CANONICAL_NAN_32 } from './fp-constants.js';

/** The binary32 bits held in f register r, as an operand of a single-precision instruction. */
export function readSingle(s: FpState, r: number): number {
  const w = s.fi + 2 * r;
  return s.i32[w + 1] === -1 ? s.i32[w]! : CANONICAL_NAN_32;
}

export function writeSingle(s: FpState, r: number, bits: number): void {
  const w = s.fi + 2 * r;
  s.i32[w] = bits;
  s.i32[w + 1] = -1;
}
