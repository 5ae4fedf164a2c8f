# FP conversions (unprivileged spec 11.7, 12.5; table 11.4): float -> integer with every rounding mode,
# saturation of out-of-range values and NaN with NV only, NX for inexact in-range results, 32-bit results
# sign-extended (also for the unsigned .wu forms); integer -> float rounding; single <-> double.
#include "wisp-test.h"
#define D_1_5 0x3ff8000000000000
#define D_M1_5 0xbff8000000000000
#define D_2_5 0x4004000000000000
#define D_M0_5 0xbfe0000000000000
#define D_2P31 0x41e0000000000000
#define D_M2P31 0xc1e0000000000000
#define D_2P31_MH 0x41dfffffffe00000   /* 2^31 - 0.5 */
#define D_2P32 0x41f0000000000000
#define D_3E9 0x41e65a0bc0000000
#define D_2P63 0x43e0000000000000
#define D_M2P63 0xc3e0000000000000
#define D_2P64 0x43f0000000000000
#define NX FFLAG_NX
#define S_1P 0x3f800001
#define NV FFLAG_NV
TEST_BEGIN
  # fcvt.w.d: each rounding mode on +-1.5 and 2.5
  TEST_FP_TO_X_D(fcvt.w.d, rne, 2, D_1_5, NX)
  TEST_FP_TO_X_D(fcvt.w.d, rtz, 1, D_1_5, NX)
  TEST_FP_TO_X_D(fcvt.w.d, rdn, 1, D_1_5, NX)
  TEST_FP_TO_X_D(fcvt.w.d, rup, 2, D_1_5, NX)
  TEST_FP_TO_X_D(fcvt.w.d, rmm, 2, D_1_5, NX)
  TEST_FP_TO_X_D(fcvt.w.d, rne, -2, D_M1_5, NX)
  TEST_FP_TO_X_D(fcvt.w.d, rtz, -1, D_M1_5, NX)
  TEST_FP_TO_X_D(fcvt.w.d, rdn, -2, D_M1_5, NX)
  TEST_FP_TO_X_D(fcvt.w.d, rup, -1, D_M1_5, NX)
  TEST_FP_TO_X_D(fcvt.w.d, rmm, -2, D_M1_5, NX)
  TEST_FP_TO_X_D(fcvt.w.d, rne, 2, D_2_5, NX)
  TEST_FP_TO_X_D(fcvt.w.d, rmm, 3, D_2_5, NX)
  TEST_FP_TO_X_D(fcvt.w.d, rtz, 3, D_THREE, 0)
  TEST_FP_TO_X_D(fcvt.w.d, rtz, 0, D_MZERO, 0)
  # saturation: NaN and +inf -> max, -inf -> min, only NV
  TEST_FP_TO_X_D(fcvt.w.d, rtz, 0x7fffffff, D_QNAN, NV)
  TEST_FP_TO_X_D(fcvt.w.d, rtz, 0x7fffffff, D_SNAN, NV)
  TEST_FP_TO_X_D(fcvt.w.d, rtz, 0x7fffffff, 0xfff8000000000000, NV)
  TEST_FP_TO_X_D(fcvt.w.d, rtz, 0x7fffffff, D_PINF, NV)
  TEST_FP_TO_X_D(fcvt.w.d, rtz, 0xffffffff80000000, D_MINF, NV)
  TEST_FP_TO_X_D(fcvt.w.d, rtz, 0x7fffffff, D_2P31, NV)
  TEST_FP_TO_X_D(fcvt.w.d, rtz, 0xffffffff80000000, D_M2P31, 0)
  TEST_FP_TO_X_D(fcvt.w.d, rtz, 0x7fffffff, D_2P31_MH, NX)
  TEST_FP_TO_X_D(fcvt.w.d, rup, 0x7fffffff, D_2P31_MH, NV)
  # fcvt.wu.d: negative values saturate to 0 unless they round to 0; the result is sign-extended
  TEST_FP_TO_X_D(fcvt.wu.d, rtz, 0, D_M_ONE, NV)
  TEST_FP_TO_X_D(fcvt.wu.d, rtz, 0, D_M0_5, NX)
  TEST_FP_TO_X_D(fcvt.wu.d, rdn, 0, D_M0_5, NV)
  TEST_FP_TO_X_D(fcvt.wu.d, rtz, 0xffffffffb2d05e00, D_3E9, 0)
  TEST_FP_TO_X_D(fcvt.wu.d, rtz, 0xffffffffffffffff, D_2P32, NV)
  TEST_FP_TO_X_D(fcvt.wu.d, rtz, 0xffffffffffffffff, D_QNAN, NV)
  TEST_FP_TO_X_D(fcvt.wu.d, rtz, 0xffffffffffffffff, D_PINF, NV)
  TEST_FP_TO_X_D(fcvt.wu.d, rtz, 0, D_MINF, NV)
  # fcvt.l.d / fcvt.lu.d
  TEST_FP_TO_X_D(fcvt.l.d, rtz, 0x7fffffffffffffff, D_QNAN, NV)
  TEST_FP_TO_X_D(fcvt.l.d, rtz, 0x7fffffffffffffff, D_PINF, NV)
  TEST_FP_TO_X_D(fcvt.l.d, rtz, 0x8000000000000000, D_MINF, NV)
  TEST_FP_TO_X_D(fcvt.l.d, rtz, 0x7fffffffffffffff, D_2P63, NV)
  TEST_FP_TO_X_D(fcvt.l.d, rtz, 0x8000000000000000, D_M2P63, 0)
  TEST_FP_TO_X_D(fcvt.l.d, rtz, 3000000000, D_3E9, 0)
  TEST_FP_TO_X_D(fcvt.l.d, rup, -1, D_M1_5, NX)
  TEST_FP_TO_X_D(fcvt.lu.d, rtz, 0xffffffffffffffff, D_QNAN, NV)
  TEST_FP_TO_X_D(fcvt.lu.d, rtz, 0, D_M_ONE, NV)
  TEST_FP_TO_X_D(fcvt.lu.d, rtz, 0xffffffffffffffff, D_2P64, NV)
  TEST_FP_TO_X_D(fcvt.lu.d, rtz, 0x8000000000000000, D_2P63, 0)
  TEST_FP_TO_X_D(fcvt.lu.d, rmm, 2, D_1_5, NX)
  # from single
  TEST_FP_TO_X_S(fcvt.w.s, rne, 2, 0x3fc00000, NX)
  TEST_FP_TO_X_S(fcvt.w.s, rtz, 1, 0x3fc00000, NX)
  TEST_FP_TO_X_S(fcvt.w.s, rtz, 0x7fffffff, S_QNAN, NV)
  TEST_FP_TO_X_S(fcvt.w.s, rtz, 0xffffffff80000000, S_MINF, NV)
  TEST_FP_TO_X_S(fcvt.wu.s, rtz, 0, S_M_ONE, NV)
  TEST_FP_TO_X_S(fcvt.wu.s, rtz, 0xffffffffffffffff, S_PINF, NV)
  TEST_FP_TO_X_S(fcvt.l.s, rtz, 0x7fffffffffffffff, S_QNAN, NV)
  TEST_FP_TO_X_S(fcvt.l.s, rdn, -2, 0xbfc00000, NX)
  TEST_FP_TO_X_S(fcvt.lu.s, rtz, 0xffffffffffffffff, S_QNAN, NV)
  TEST_FP_TO_X_S(fcvt.lu.s, rtz, 0, S_MINF, NV)

  # integer -> double: exact for 32-bit values, rounded for large 64-bit ones
  TEST_X_TO_D(fcvt.d.w, none, D_M_ONE, -1, 0)
  TEST_X_TO_D(fcvt.d.w, none, 0xc1e0000000000000, 0x80000000, 0)
  TEST_X_TO_D(fcvt.d.w, none, D_ONE, 0xffffffff00000001, 0)
  TEST_X_TO_D(fcvt.d.wu, none, 0x41efffffffe00000, 0xffffffff, 0)
  TEST_X_TO_D(fcvt.d.l, rne, 0x4340000000000000, 0x20000000000001, NX)
  TEST_X_TO_D(fcvt.d.l, rup, 0x4340000000000001, 0x20000000000001, NX)
  TEST_X_TO_D(fcvt.d.l, rne, 0xc3e0000000000000, 0x8000000000000000, 0)
  TEST_X_TO_D(fcvt.d.lu, rne, D_2P64, -1, NX)
  TEST_X_TO_D(fcvt.d.lu, rtz, 0x43efffffffffffff, -1, NX)
  TEST_X_TO_D(fcvt.d.l, rne, D_PZERO, 0, 0)
  # integer -> single
  TEST_X_TO_S(fcvt.s.w, rne, 0x4b800000, 16777217, NX)
  TEST_X_TO_S(fcvt.s.w, rup, 0x4b800001, 16777217, NX)
  TEST_X_TO_S(fcvt.s.w, rne, S_M_ONE, -1, 0)
  TEST_X_TO_S(fcvt.s.wu, rne, 0x4f800000, 0xffffffff, NX)
  TEST_X_TO_S(fcvt.s.wu, rtz, 0x4f7fffff, 0xffffffff, NX)
  TEST_X_TO_S(fcvt.s.l, rne, 0xdf000000, 0x8000000000000000, 0)
  TEST_X_TO_S(fcvt.s.lu, rne, 0x5f800000, -1, NX)

  # double <-> single
  TEST_D_TO_S(rne, S_ONE, 0x3ff0000000400000, NX)
  TEST_D_TO_S(rup, S_1P, 0x3ff0000000400000, NX)
  TEST_D_TO_S(rne, S_PINF, 0x7e37e43c8800759c, FFLAG_OF | NX)
  TEST_D_TO_S(rtz, S_MAX, 0x7e37e43c8800759c, FFLAG_OF | NX)
  TEST_D_TO_S(rne, S_PZERO, 0x3690000000000000, FFLAG_UF | NX)
  TEST_D_TO_S(rup, S_MIN_SUB, 0x3690000000000000, FFLAG_UF | NX)
  TEST_D_TO_S(rne, S_QNAN, D_SNAN, NV)
  TEST_D_TO_S(rne, S_QNAN, 0xfff8000000000123, 0)
  TEST_D_TO_S(rne, S_MINF, D_MINF, 0)
  TEST_D_TO_S(rne, S_MZERO, D_MZERO, 0)
  TEST_S_TO_D(D_ONE, S_ONE, 0)
  TEST_S_TO_D(D_QNAN, S_SNAN, NV)
  TEST_S_TO_D(D_QNAN, 0xffc00001, 0)
  TEST_S_TO_D(0x36a0000000000000, S_MIN_SUB, 0)
  TEST_S_TO_D(D_MINF, S_MINF, 0)

  # moves between register files: raw bits, no flags
  CASE
  li a1, 0x7ff0000000000001
  fsflags zero
  fmv.d.x f1, a1
  fmv.x.d a0, f1
  frflags a2
  CHECK_EQ a0, a1
  CHECK a2, 0
TEST_END
