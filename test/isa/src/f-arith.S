# F extension arithmetic (binary32): the same rounding, flag and NaN rules as d-arith.S at single
# precision, including the fused multiply-adds and static vs dynamic rounding.
#include "wisp-test.h"
#define S_1P 0x3f800001         /* 1 + 2^-23 */
#define S_2M30 0x30800000       /* 2^-30 */
#define S_M2M30 0xb0800000
#define S_2M24 0x33800000       /* half an ulp of 1.0f */
#define NX FFLAG_NX
#define OFNX (FFLAG_OF | FFLAG_NX)
#define UFNX (FFLAG_UF | FFLAG_NX)
TEST_BEGIN
  TEST_FP2_S(fadd.s, rne, S_THREE, S_ONE, S_TWO, 0)
  TEST_FP2_S(fsub.s, rne, S_M_ONE, S_ONE, S_TWO, 0)
  TEST_FP2_S(fadd.s, rne, S_ONE, S_ONE, S_2M30, NX)
  TEST_FP2_S(fadd.s, rtz, S_ONE, S_ONE, S_2M30, NX)
  TEST_FP2_S(fadd.s, rdn, S_ONE, S_ONE, S_2M30, NX)
  TEST_FP2_S(fadd.s, rup, S_1P, S_ONE, S_2M30, NX)
  TEST_FP2_S(fadd.s, rmm, S_ONE, S_ONE, S_2M30, NX)
  TEST_FP2_S(fadd.s, rdn, 0xbf800001, S_M_ONE, S_M2M30, NX)
  TEST_FP2_S(fadd.s, rup, S_M_ONE, S_M_ONE, S_M2M30, NX)
  TEST_FP2_S(fadd.s, rne, S_ONE, S_ONE, S_2M24, NX)
  TEST_FP2_S(fadd.s, rmm, S_1P, S_ONE, S_2M24, NX)
  TEST_FP2_S(fadd.s, rne, 0x3f800002, S_1P, S_2M24, NX)
  TEST_FP2_S(fadd.s, rtz, S_1P, S_1P, S_2M24, NX)
  TEST_FP2_S(fadd.s, rne, S_PINF, S_MAX, S_MAX, OFNX)
  TEST_FP2_S(fadd.s, rtz, S_MAX, S_MAX, S_MAX, OFNX)
  TEST_FP2_S(fadd.s, rdn, S_MAX, S_MAX, S_MAX, OFNX)
  TEST_FP2_S(fadd.s, rup, S_PINF, S_MAX, S_MAX, OFNX)
  TEST_FP2_S(fadd.s, rmm, S_PINF, S_MAX, S_MAX, OFNX)
  TEST_FP2_S(fsub.s, rdn, S_MZERO, S_ONE, S_ONE, 0)
  TEST_FP2_S(fsub.s, rne, S_PZERO, S_ONE, S_ONE, 0)
  TEST_FP2_S(fsub.s, rne, S_QNAN, S_PINF, S_PINF, FFLAG_NV)
  TEST_FP2_S(fadd.s, rne, S_QNAN, S_SNAN, S_ONE, FFLAG_NV)
  TEST_FP2_S(fadd.s, rne, S_QNAN, 0x7fc01234, S_ONE, 0)
  TEST_FP2_S(fmul.s, rne, 0x3fc00000, S_THREE, S_HALF, 0)
  TEST_FP2_S(fmul.s, rne, S_QNAN, S_PINF, S_PZERO, FFLAG_NV)
  TEST_FP2_S(fmul.s, rne, 0x00400000, S_MIN_NORMAL, S_HALF, 0)
  TEST_FP2_S(fmul.s, rne, S_PZERO, S_MIN_SUB, S_HALF, UFNX)
  TEST_FP2_S(fmul.s, rup, S_MIN_SUB, S_MIN_SUB, S_HALF, UFNX)
  TEST_FP2_S(fmul.s, rmm, S_MIN_SUB, S_MIN_SUB, S_HALF, UFNX)
  TEST_FP2_S(fmul.s, rtz, S_MAX, S_MAX, S_TWO, OFNX)
  TEST_FP2_S(fdiv.s, rne, 0x3eaaaaab, S_ONE, S_THREE, NX)
  TEST_FP2_S(fdiv.s, rtz, 0x3eaaaaaa, S_ONE, S_THREE, NX)
  TEST_FP2_S(fdiv.s, rdn, 0x3eaaaaaa, S_ONE, S_THREE, NX)
  TEST_FP2_S(fdiv.s, rup, 0x3eaaaaab, S_ONE, S_THREE, NX)
  TEST_FP2_S(fdiv.s, rmm, 0x3eaaaaab, S_ONE, S_THREE, NX)
  TEST_FP2_S(fdiv.s, rne, S_PINF, S_ONE, S_PZERO, FFLAG_DZ)
  TEST_FP2_S(fdiv.s, rne, S_MINF, S_ONE, S_MZERO, FFLAG_DZ)
  TEST_FP2_S(fdiv.s, rne, S_QNAN, S_PZERO, S_PZERO, FFLAG_NV)
  TEST_FP1_S(fsqrt.s, rne, 0x3fb504f3, S_TWO, NX)
  TEST_FP1_S(fsqrt.s, rtz, 0x3fb504f3, S_TWO, NX)
  TEST_FP1_S(fsqrt.s, rdn, 0x3fb504f3, S_TWO, NX)
  TEST_FP1_S(fsqrt.s, rup, 0x3fb504f4, S_TWO, NX)
  TEST_FP1_S(fsqrt.s, rmm, 0x3fb504f3, S_TWO, NX)
  TEST_FP1_S(fsqrt.s, rne, S_QNAN, S_M_ONE, FFLAG_NV)
  TEST_FP1_S(fsqrt.s, rne, S_MZERO, S_MZERO, 0)
  # (1 + 2^-23)(1 - 2^-23) - 1 = -2^-46 exactly
  TEST_FP3_S(fmadd.s, rne, 0xa8800000, S_1P, 0x3f7ffffe, S_M_ONE, 0)
  TEST_FP3_S(fmadd.s, rne, 0x40e00000, S_TWO, S_THREE, S_ONE, 0)
  TEST_FP3_S(fmsub.s, rne, 0x40a00000, S_TWO, S_THREE, S_ONE, 0)
  TEST_FP3_S(fnmadd.s, rne, 0xc0e00000, S_TWO, S_THREE, S_ONE, 0)
  TEST_FP3_S(fnmsub.s, rne, 0xc0a00000, S_TWO, S_THREE, S_ONE, 0)
  TEST_FP3_S(fmadd.s, rne, S_QNAN, S_PINF, S_PZERO, S_QNAN, FFLAG_NV)
  TEST_FP3_S(fmadd.s, rup, S_1P, S_ONE, S_ONE, S_2M30, NX)
  TEST_FP2N_S(fsgnj.s, S_M_ONE, S_ONE, 0xc0000000, 0)
  TEST_FP2N_S(fsgnjn.s, S_ONE, S_ONE, 0xc0000000, 0)
  TEST_FP2N_S(fsgnjx.s, S_ONE, S_M_ONE, 0xc0000000, 0)
  TEST_FP2N_S(fsgnjn.s, 0xffc00000, S_QNAN, S_QNAN, 0)
  # dynamic rounding
  CASE
  csrwi frm, RM_RUP
  _fp_in_s S_ONE, S_2M30, 0
  fadd.s f4, f1, f2
  _fp_out_s S_1P, NX
  CASE
  csrwi frm, RM_RDN
  _fp_in_s S_ONE, S_THREE, 0
  fdiv.s f4, f1, f2
  _fp_out_s 0x3eaaaaaa, NX
  CASE
  csrwi frm, RM_RMM
  _fp_in_s S_ONE, S_2M24, 0
  fadd.s f4, f1, f2
  _fp_out_s S_1P, NX
  csrwi frm, 0
  CASE
  csrwi frm, 6
  TRAP_BEGIN
1:fmul.s f4, f1, f2, dyn
  TRAP_END
  EXPECT_CAUSE CAUSE_ILLEGAL_INSTRUCTION
  EXPECT_TVAL_INSN 1b
  CASE
  TRAP_BEGIN
1:.insn r4 MADD, 5, 0, f4, f1, f2, f3  # fmadd.s with rm = 5
  TRAP_END
  EXPECT_CAUSE CAUSE_ILLEGAL_INSTRUCTION
  EXPECT_TVAL_INSN 1b
  csrwi frm, 0
TEST_END
