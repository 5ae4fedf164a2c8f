/**
 * FMIN/FMAX (2019 semantics, F chapter "Single-Precision Floating-Point Computational Instructions":
 * IEEE 754-2019 minimumNumber/maximumNumber, -0 < +0) and FEQ/FLT/FLE ("Floating-Point Compare
 * Instructions": FEQ is quiet, FLT/FLE signal on any NaN). Operand NaN-ness comes from the bits.
 */
import { NV } from './fp-constants.js';

export const PICK_A = 0;
export const PICK_B = 1;
export const PICK_CANONICAL_NAN = -1;

/** Which operand FMIN (isMax false) or FMAX returns. Accrues NV for a signaling NaN operand. */
export function minMaxPick(
  s: { fflags: number }, a: number, aNaN: boolean, aSNaN: boolean, b: number, bNaN: boolean, bSNaN: boolean, isMax: boolean,
): number {
  if (aSNaN || bSNaN) s.fflags |= NV;
  if (aNaN) return bNaN ? PICK_CANONICAL_NAN : PICK_B;
  if (bNaN) return PICK_A;
  if (a === b) {
    if (a !== 0) return PICK_A;
    const aNeg = Object.is(a, -0);
    return aNeg === isMax ? PICK_B : PICK_A; // max prefers +0, min prefers -0
  }
  return (a < b) !== isMax ? PICK_A : PICK_B;
}

export const FLE = 0;
export const FLT = 1;
export const FEQ = 2;

/** FLE/FLT/FEQ (selected by funct3) -> 0 or 1, accruing NV per the quiet/signaling rules. */
export function compareFp(
  s: { fflags: number }, op: number, a: number, aNaN: boolean, aSNaN: boolean, b: number, bNaN: boolean, bSNaN: boolean,
): number {
  if (aNaN || bNaN) {
    if (op !== FEQ || aSNaN || bSNaN) s.fflags |= NV;
    return 0;
  }
  if (op === FEQ) return a === b ? 1 : 0;
  if (op === FLT) return a < b ? 1 : 0;
  return a <= b ? 1 : 0;
}
