/**
 * What the floating-point unit needs of a hart: the register files as views of the machine memory, and
 * fcsr. The FPU never sees memory, CSRs beyond fcsr, or traps other than "illegal instruction".
 */
export interface FpState {
  /** Int32 view of the whole machine memory. Integer register i: low word at xi + 2*i, high at xi + 2*i + 1. */
  readonly i32: Int32Array;
  /** Float64 view of the same memory: f register i is f64[fi64 + i]. */
  readonly f64: Float64Array;
  /** Int32 index of x0 and of f0 (f register i: low word at fi + 2*i, high word at fi + 2*i + 1). */
  readonly xi: number;
  readonly fi: number;
  readonly fi64: number;
  /** fcsr.fflags (5 bits: NV DZ OF UF NX, accrued) and fcsr.frm (3 bits, dynamic rounding mode). */
  fflags: number;
  frm: number;
}
