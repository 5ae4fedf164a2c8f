# NaN-boxing (unprivileged spec 12.2): single values in the 64-bit f registers carry all-ones in bits
# 63:32; an operand that is not properly boxed is read as the canonical NaN by single-precision
# operations; moves and stores of singles (fmv.x.w, fsw) take the low 32 bits as they are.
#include "wisp-test.h"
TEST_BEGIN
  # every way of writing a single boxes it
  CASE
  la a1, word
  flw f1, 0(a1)
  fmv.x.d a0, f1
  CHECK a0, 0xffffffff3f800000
  CASE
  li a2, 0x1234567840000000
  fmv.w.x f1, a2
  fmv.x.d a0, f1
  CHECK a0, 0xffffffff40000000
  CASE
  FLI_S f1, S_ONE
  FLI_S f2, S_TWO
  fadd.s f3, f1, f2
  fmv.x.d a0, f3
  CHECK a0, 0xffffffff40400000
  CASE
  li a2, 7
  fcvt.s.l f3, a2
  fmv.x.d a0, f3
  CHECK a0, 0xffffffff40e00000
  CASE
  FLI_D f1, D_ONE
  fcvt.s.d f3, f1
  fmv.x.d a0, f3
  CHECK a0, 0xffffffff3f800000
  CASE
  FLI_S f1, S_ONE
  fsgnjn.s f3, f1, f1
  fmv.x.d a0, f3
  CHECK a0, 0xffffffffbf800000
  CASE
  FLI_S f1, S_ONE
  FLI_S f2, S_TWO
  fmin.s f3, f1, f2
  fmv.x.d a0, f3
  CHECK a0, 0xffffffff3f800000

  # an unboxed operand is the canonical NaN (quiet: no NV)
  CASE
  FLI_D f1, 0x000000003f800000   # 1.0f without the box
  FLI_S f2, S_ONE
  fsflags zero
  fadd.s f3, f1, f2
  frflags a1
  fmv.x.d a0, f3
  CHECK a0, 0xffffffff7fc00000
  CHECK a1, 0
  CASE
  FLI_D f1, 0xfffffffe3f800000   # one bit missing from the box
  fadd.s f3, f1, f2
  fmv.x.d a0, f3
  CHECK a0, 0xffffffff7fc00000
  CASE
  FLI_D f1, D_ONE
  fmul.s f3, f2, f1
  fmv.x.d a0, f3
  CHECK a0, 0xffffffff7fc00000
  # sign injection sees the canonical NaN too
  CASE
  FLI_D f1, 0x00000000bf800000
  fsgnj.s f3, f1, f2
  fmv.x.d a0, f3
  CHECK a0, 0xffffffff7fc00000
  CASE
  fsgnjn.s f3, f2, f1            # sign of the canonical NaN is +: the result is -1.0f
  fmv.x.d a0, f3
  CHECK a0, 0xffffffffbf800000
  CASE
  fsgnjx.s f3, f1, f1
  fmv.x.d a0, f3
  CHECK a0, 0xffffffff7fc00000
  # min/max, compare, classify and convert an unboxed value as the canonical NaN
  CASE
  fmin.s f3, f1, f2
  fmv.x.d a0, f3
  CHECK a0, 0xffffffff3f800000
  CASE
  fsflags zero
  feq.s a0, f1, f1
  frflags a1
  CHECK a0, 0
  CHECK a1, 0
  CASE
  fclass.s a0, f1
  CHECK a0, 1 << 9
  CASE
  fsflags zero
  fcvt.d.s f3, f1
  frflags a1
  fmv.x.d a0, f3
  CHECK a0, D_QNAN
  CHECK a1, 0
  CASE
  fcvt.w.s a0, f1, rtz
  CHECK a0, 0x7fffffff

  # moves and stores of singles do not look at the box
  CASE
  FLI_D f1, 0x12345678bf800000
  fmv.x.w a0, f1
  CHECK a0, 0xffffffffbf800000
  CASE
  FLI_D f1, 0x123456783f800000
  fmv.x.w a0, f1
  CHECK a0, 0x3f800000
  CASE
  la a1, buf
  li t1, -1
  sd t1, 0(a1)
  FLI_D f1, 0x1234567840490fdb
  fsw f1, 0(a1)
  ld a0, 0(a1)
  CHECK a0, 0xffffffff40490fdb
  # fld/fsd move all 64 bits, box included
  CASE
  FLI_S f1, S_TWO
  fsd f1, 0(a1)
  ld a0, 0(a1)
  CHECK a0, 0xffffffff40000000
  fld f2, 0(a1)
  fadd.s f3, f2, f2
  fmv.x.w a0, f3
  CHECK a0, 0x40800000
TEST_END

  .data
  .balign 8
word: .word 0x3f800000, 0
buf: .dword 0
