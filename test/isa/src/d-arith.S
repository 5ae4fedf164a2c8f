# D extension arithmetic (IEEE 754-2008 binary64, unprivileged spec chapter 12): add/sub/mul/div/sqrt and
# the fused multiply-adds in all five rounding modes, static and dynamic (frm), with exact fflags
# (NV DZ OF UF NX), canonical NaN results, signed zeros, overflow and underflow (tininess after
# rounding), and the reserved rounding modes being illegal.
#include "wisp-test.h"
#define D_1P 0x3ff0000000000001     /* 1 + 2^-52 */
#define D_1M 0x3fefffffffffffff     /* 1 - 2^-53 */
#define D_2M60 0x3c30000000000000   /* 2^-60 */
#define D_M2M60 0xbc30000000000000
#define D_2M53 0x3ca0000000000000   /* 2^-53: half an ulp of 1.0 */
#define NX FFLAG_NX
#define OFNX (FFLAG_OF | FFLAG_NX)
#define UFNX (FFLAG_UF | FFLAG_NX)
TEST_BEGIN
  TEST_FP2_D(fadd.d, rne, D_THREE, D_ONE, D_TWO, 0)
  TEST_FP2_D(fsub.d, rne, D_M_ONE, D_ONE, D_TWO, 0)
  # a tiny addend: only RUP moves away from 1.0
  TEST_FP2_D(fadd.d, rne, D_ONE, D_ONE, D_2M60, NX)
  TEST_FP2_D(fadd.d, rtz, D_ONE, D_ONE, D_2M60, NX)
  TEST_FP2_D(fadd.d, rdn, D_ONE, D_ONE, D_2M60, NX)
  TEST_FP2_D(fadd.d, rup, D_1P, D_ONE, D_2M60, NX)
  TEST_FP2_D(fadd.d, rmm, D_ONE, D_ONE, D_2M60, NX)
  # negative: only RDN moves away
  TEST_FP2_D(fadd.d, rne, D_M_ONE, D_M_ONE, D_M2M60, NX)
  TEST_FP2_D(fadd.d, rtz, D_M_ONE, D_M_ONE, D_M2M60, NX)
  TEST_FP2_D(fadd.d, rdn, 0xbff0000000000001, D_M_ONE, D_M2M60, NX)
  TEST_FP2_D(fadd.d, rup, D_M_ONE, D_M_ONE, D_M2M60, NX)
  TEST_FP2_D(fadd.d, rmm, D_M_ONE, D_M_ONE, D_M2M60, NX)
  # exact ties: RNE to even, RMM away from zero
  TEST_FP2_D(fadd.d, rne, D_ONE, D_ONE, D_2M53, NX)
  TEST_FP2_D(fadd.d, rmm, D_1P, D_ONE, D_2M53, NX)
  TEST_FP2_D(fadd.d, rtz, D_ONE, D_ONE, D_2M53, NX)
  TEST_FP2_D(fadd.d, rdn, D_ONE, D_ONE, D_2M53, NX)
  TEST_FP2_D(fadd.d, rup, D_1P, D_ONE, D_2M53, NX)
  TEST_FP2_D(fadd.d, rne, 0x3ff0000000000002, D_1P, D_2M53, NX)
  TEST_FP2_D(fadd.d, rmm, 0x3ff0000000000002, D_1P, D_2M53, NX)
  TEST_FP2_D(fadd.d, rtz, D_1P, D_1P, D_2M53, NX)
  # overflow: to infinity or to the largest finite, by mode and sign
  TEST_FP2_D(fadd.d, rne, D_PINF, D_MAX, D_MAX, OFNX)
  TEST_FP2_D(fadd.d, rtz, D_MAX, D_MAX, D_MAX, OFNX)
  TEST_FP2_D(fadd.d, rdn, D_MAX, D_MAX, D_MAX, OFNX)
  TEST_FP2_D(fadd.d, rup, D_PINF, D_MAX, D_MAX, OFNX)
  TEST_FP2_D(fadd.d, rmm, D_PINF, D_MAX, D_MAX, OFNX)
  TEST_FP2_D(fsub.d, rdn, D_MINF, 0xffefffffffffffff, D_MAX, OFNX)
  TEST_FP2_D(fsub.d, rup, 0xffefffffffffffff, 0xffefffffffffffff, D_MAX, OFNX)
  TEST_FP2_D(fsub.d, rtz, 0xffefffffffffffff, 0xffefffffffffffff, D_MAX, OFNX)
  # signed zeros: x - x is +0 except in RDN
  TEST_FP2_D(fsub.d, rne, D_PZERO, D_ONE, D_ONE, 0)
  TEST_FP2_D(fsub.d, rdn, D_MZERO, D_ONE, D_ONE, 0)
  TEST_FP2_D(fadd.d, rne, D_MZERO, D_MZERO, D_MZERO, 0)
  TEST_FP2_D(fadd.d, rne, D_PZERO, D_PZERO, D_MZERO, 0)
  TEST_FP2_D(fadd.d, rdn, D_MZERO, D_PZERO, D_MZERO, 0)
  # invalid and NaN propagation: results are always the canonical NaN
  TEST_FP2_D(fsub.d, rne, D_QNAN, D_PINF, D_PINF, FFLAG_NV)
  TEST_FP2_D(fadd.d, rne, D_QNAN, D_PINF, D_MINF, FFLAG_NV)
  TEST_FP2_D(fadd.d, rne, D_QNAN, D_SNAN, D_ONE, FFLAG_NV)
  TEST_FP2_D(fadd.d, rne, D_QNAN, 0x7ff8000000000123, D_ONE, 0)
  TEST_FP2_D(fadd.d, rne, D_QNAN, D_ONE, 0xfff8000000000000, 0)
  TEST_FP2_D(fadd.d, rne, D_PINF, D_PINF, D_ONE, 0)

  # multiply
  TEST_FP2_D(fmul.d, rne, 0x3ff8000000000000, D_THREE, D_HALF, 0)
  TEST_FP2_D(fmul.d, rne, D_MZERO, D_M_ONE, D_PZERO, 0)
  TEST_FP2_D(fmul.d, rne, D_QNAN, D_PINF, D_PZERO, FFLAG_NV)
  TEST_FP2_D(fmul.d, rne, D_PINF, D_MAX, D_TWO, OFNX)
  TEST_FP2_D(fmul.d, rtz, D_MAX, D_MAX, D_TWO, OFNX)
  # exact subnormal result: no flags; inexact tiny result: UF and NX
  TEST_FP2_D(fmul.d, rne, 0x0008000000000000, D_MIN_NORMAL, D_HALF, 0)
  TEST_FP2_D(fmul.d, rne, D_PZERO, D_MIN_SUB, D_HALF, UFNX)
  TEST_FP2_D(fmul.d, rtz, D_PZERO, D_MIN_SUB, D_HALF, UFNX)
  TEST_FP2_D(fmul.d, rdn, D_PZERO, D_MIN_SUB, D_HALF, UFNX)
  TEST_FP2_D(fmul.d, rup, D_MIN_SUB, D_MIN_SUB, D_HALF, UFNX)
  TEST_FP2_D(fmul.d, rmm, D_MIN_SUB, D_MIN_SUB, D_HALF, UFNX)
  TEST_FP2_D(fmul.d, rdn, 0x8000000000000001, 0x8000000000000001, D_HALF, UFNX)

  # divide
  TEST_FP2_D(fdiv.d, rne, 0x3fd5555555555555, D_ONE, D_THREE, NX)
  TEST_FP2_D(fdiv.d, rtz, 0x3fd5555555555555, D_ONE, D_THREE, NX)
  TEST_FP2_D(fdiv.d, rdn, 0x3fd5555555555555, D_ONE, D_THREE, NX)
  TEST_FP2_D(fdiv.d, rup, 0x3fd5555555555556, D_ONE, D_THREE, NX)
  TEST_FP2_D(fdiv.d, rmm, 0x3fd5555555555555, D_ONE, D_THREE, NX)
  TEST_FP2_D(fdiv.d, rne, D_PINF, D_ONE, D_PZERO, FFLAG_DZ)
  TEST_FP2_D(fdiv.d, rne, D_MINF, D_M_ONE, D_PZERO, FFLAG_DZ)
  TEST_FP2_D(fdiv.d, rne, D_MINF, D_ONE, D_MZERO, FFLAG_DZ)
  TEST_FP2_D(fdiv.d, rne, D_QNAN, D_PZERO, D_PZERO, FFLAG_NV)
  TEST_FP2_D(fdiv.d, rne, D_QNAN, D_PINF, D_MINF, FFLAG_NV)
  TEST_FP2_D(fdiv.d, rne, D_MZERO, D_ONE, D_MINF, 0)
  TEST_FP2_D(fdiv.d, rne, D_PINF, D_PINF, D_ONE, 0)

  # square root
  TEST_FP1_D(fsqrt.d, rne, D_TWO, 0x4010000000000000, 0)
  TEST_FP1_D(fsqrt.d, rne, 0x3ff6a09e667f3bcd, D_TWO, NX)
  TEST_FP1_D(fsqrt.d, rtz, 0x3ff6a09e667f3bcc, D_TWO, NX)
  TEST_FP1_D(fsqrt.d, rdn, 0x3ff6a09e667f3bcc, D_TWO, NX)
  TEST_FP1_D(fsqrt.d, rup, 0x3ff6a09e667f3bcd, D_TWO, NX)
  TEST_FP1_D(fsqrt.d, rmm, 0x3ff6a09e667f3bcd, D_TWO, NX)
  TEST_FP1_D(fsqrt.d, rne, D_QNAN, D_M_ONE, FFLAG_NV)
  TEST_FP1_D(fsqrt.d, rne, D_MZERO, D_MZERO, 0)
  TEST_FP1_D(fsqrt.d, rne, D_PINF, D_PINF, 0)
  TEST_FP1_D(fsqrt.d, rne, D_QNAN, D_MINF, FFLAG_NV)
  TEST_FP1_D(fsqrt.d, rne, D_QNAN, D_SNAN, FFLAG_NV)

  # fused multiply-add: one rounding. (1 + 2^-52)(1 - 2^-52) - 1 = -2^-104 exactly (0 if rounded twice)
  TEST_FP3_D(fmadd.d, rne, 0xb970000000000000, D_1P, 0x3feffffffffffffe, D_M_ONE, 0)
  TEST_FP3_D(fmadd.d, rne, 0x401c000000000000, D_TWO, D_THREE, D_ONE, 0)
  TEST_FP3_D(fmsub.d, rne, 0x4014000000000000, D_TWO, D_THREE, D_ONE, 0)
  TEST_FP3_D(fnmadd.d, rne, 0xc01c000000000000, D_TWO, D_THREE, D_ONE, 0)
  TEST_FP3_D(fnmsub.d, rne, 0xc014000000000000, D_TWO, D_THREE, D_ONE, 0)
  TEST_FP3_D(fmadd.d, rne, D_QNAN, D_PINF, D_PZERO, D_QNAN, FFLAG_NV)
  TEST_FP3_D(fmadd.d, rne, D_QNAN, D_PZERO, D_PINF, D_ONE, FFLAG_NV)
  TEST_FP3_D(fmadd.d, rne, D_QNAN, D_ONE, D_ONE, D_SNAN, FFLAG_NV)
  TEST_FP3_D(fmadd.d, rne, D_QNAN, D_PINF, D_ONE, D_MINF, FFLAG_NV)
  TEST_FP3_D(fmadd.d, rdn, D_MZERO, D_ONE, D_ONE, D_M_ONE, 0)
  TEST_FP3_D(fmadd.d, rup, D_1P, D_ONE, D_ONE, D_2M60, NX)
  TEST_FP3_D(fmadd.d, rne, D_PINF, D_MAX, D_TWO, D_M_ONE, OFNX)

  # sign injection: no rounding, no flags, NaNs not canonicalized
  TEST_FP2N_D(fsgnj.d, D_M_ONE, D_ONE, 0xc000000000000000, 0)
  TEST_FP2N_D(fsgnjn.d, D_ONE, D_ONE, 0xc000000000000000, 0)
  TEST_FP2N_D(fsgnjx.d, D_ONE, D_M_ONE, 0xc000000000000000, 0)
  TEST_FP2N_D(fsgnjx.d, D_M_ONE, D_M_ONE, D_TWO, 0)
  TEST_FP2N_D(fsgnjn.d, 0xfff8000000000000, D_QNAN, D_QNAN, 0)
  TEST_FP2N_D(fsgnj.d, 0xfff0000000000001, D_SNAN, D_M_ONE, 0)

  # dynamic rounding: the frm field of fcsr
  CASE
  csrwi frm, RM_RUP
  _fp_in_d D_ONE, D_2M60, 0
  fadd.d f4, f1, f2, dyn
  _fp_out_d D_1P, NX
  CASE
  csrwi frm, RM_RDN
  _fp_in_d D_ONE, D_ONE, 0
  fsub.d f4, f1, f2
  _fp_out_d D_MZERO, 0
  CASE
  csrwi frm, RM_RTZ
  _fp_in_d D_MAX, D_MAX, 0
  fadd.d f4, f1, f2
  _fp_out_d D_MAX, OFNX
  CASE
  csrwi frm, RM_RMM
  _fp_in_d D_ONE, D_2M53, 0
  fadd.d f4, f1, f2
  _fp_out_d D_1P, NX
  CASE
  csrwi frm, RM_RNE
  _fp_in_d D_ONE, D_2M53, 0
  fadd.d f4, f1, f2
  _fp_out_d D_ONE, NX
  # a static mode overrides frm
  CASE
  csrwi frm, RM_RUP
  _fp_in_d D_ONE, D_2M60, 0
  fadd.d f4, f1, f2, rtz
  _fp_out_d D_ONE, NX
  csrwi frm, 0
  # flags accumulate until cleared
  CASE
  fsflags zero
  _fp_in_d D_ONE, D_PZERO, 0
  fdiv.d f4, f1, f2
  fdiv.d f4, f1, f1
  fadd.d f4, f1, f1, rne
  fsqrt.d f4, f2
  fmv.d.x f5, zero
  fdiv.d f4, f5, f5
  frflags a0
  CHECK a0, FFLAG_DZ | FFLAG_NV
  # fsflags returns the old flags
  CASE
  li a2, FFLAG_NX
  fsflags a1, a2
  CHECK a1, FFLAG_DZ | FFLAG_NV
  frflags a1
  CHECK a1, FFLAG_NX

  # reserved rounding modes: rm = 5 or 6 in the instruction, or dyn with frm = 5, 6, 7, is illegal
  CASE
  TRAP_BEGIN
1:.insn r OP_FP, 5, 1, f4, f1, f2      # fadd.d with rm = 5
  TRAP_END
  EXPECT_CAUSE CAUSE_ILLEGAL_INSTRUCTION
  EXPECT_TVAL_INSN 1b
  CASE
  TRAP_BEGIN
1:.insn r OP_FP, 6, 9, f4, f1, f2      # fmul.d with rm = 6
  TRAP_END
  EXPECT_CAUSE CAUSE_ILLEGAL_INSTRUCTION
  EXPECT_TVAL_INSN 1b
  CASE
  csrwi frm, 5
  TRAP_BEGIN
1:fadd.d f4, f1, f2, dyn
  TRAP_END
  EXPECT_CAUSE CAUSE_ILLEGAL_INSTRUCTION
  EXPECT_TVAL_INSN 1b
  CASE
  csrwi frm, 7
  TRAP_BEGIN
1:fsqrt.d f4, f1, dyn
  TRAP_END
  EXPECT_CAUSE CAUSE_ILLEGAL_INSTRUCTION
  # ...but an instruction that does not round does not care about frm
  CASE
  csrwi frm, 7
  _fp_in_d D_ONE, D_M_ONE, 0
  fsgnj.d f4, f1, f2
  _fp_out_d D_M_ONE, 0
  csrwi frm, 0
TEST_END
