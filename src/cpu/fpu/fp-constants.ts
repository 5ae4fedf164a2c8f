/**
 * fcsr field values (RISC-V unprivileged ISA, "F" chapter, "Floating-Point Control and Status Register").
 * fflags bits are accrued: an instruction only ever ORs into them.
 */
export const NX = 0x01; // inexact
export const UF = 0x02; // underflow (tiny after rounding and inexact)
export const OF = 0x04; // overflow
export const DZ = 0x08; // divide by zero
export const NV = 0x10; // invalid operation

/** Rounding modes, as encoded in the rm field and in frm. 5 and 6 are reserved; 7 (DYN) means "use frm". */
export const RNE = 0; // to nearest, ties to even
export const RTZ = 1; // toward zero
export const RDN = 2; // down (toward -inf)
export const RUP = 3; // up (toward +inf)
export const RMM = 4; // to nearest, ties to max magnitude
export const DYN = 7;

/** Canonical NaNs (the "Canonical NaN" section): what every arithmetic NaN result is. */
export const CANONICAL_NAN_32 = 0x7fc00000;
export const CANONICAL_NAN_64_HI = 0x7ff80000;

