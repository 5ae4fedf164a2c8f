# wisp performs misaligned loads and stores in hardware (the unprivileged spec 2.6 allows this or a trap).
# QEMU 7.2 (Debian 12) does the same, so this runs on the reference too.
# Misaligned non-atomic loads and stores of every width, integer and FP, including accesses that cross an
# 8-byte boundary and a page boundary: they must behave as if done byte by byte (little-endian).
#include "wisp-test.h"

#define TEST_LD(op, result, offset) CASE; la a1, buf; op a0, offset(a1); CHECK a0, result

TEST_BEGIN
  TEST_LD(lh, 0x0201, 1)
  TEST_LD(lhu, 0x8007, 7)
  TEST_LD(lh, 0xffffffffffff8007, 7)
  TEST_LD(lw, 0x04030201, 1)
  TEST_LD(lw, 0xffffffff80070605, 5)
  TEST_LD(lwu, 0x80070605, 5)
  TEST_LD(ld, 0x8007060504030201, 1)
  TEST_LD(ld, 0x0d0c0b0a09088007, 7)
  # stores
  CASE
  la a1, buf2
  sd zero, 0(a1)
  sd zero, 8(a1)
  li a2, 0x1122334455667788
  sd a2, 3(a1)
  ld a0, 0(a1)
  CHECK a0, 0x4455667788000000
  ld a0, 8(a1)
  CHECK a0, 0x112233
  CASE
  li a2, 0xaabbccdd
  sw a2, 6(a1)
  ld a0, 0(a1)
  CHECK a0, 0xccdd667788000000
  ld a0, 8(a1)
  CHECK a0, 0x11aabb
  CASE
  li a2, 0xeeff
  sh a2, 7(a1)
  ld a0, 0(a1)
  CHECK a0, 0xffdd667788000000
  ld a0, 8(a1)
  CHECK a0, 0x11aaee
  # FP: fld/fsd/flw/fsw misaligned
  CASE
  la a1, buf
  fld f1, 1(a1)
  fmv.x.d a0, f1
  CHECK a0, 0x8007060504030201
  CASE
  flw f2, 3(a1)
  fmv.x.w a0, f2
  CHECK a0, 0x06050403
  CASE
  la a1, buf2
  li t0, 0x0123456789abcdef
  fmv.d.x f3, t0
  fsd f3, 5(a1)
  ld a0, 8(a1)
  CHECK a0, 0x0123456789
  CASE
  fsw f3, 1(a1)
  lwu a0, 1(a1)
  li t6, 0x89abcdef
  bne a0, t6, fail
  # across a page boundary
  CASE
  la a1, page_end
  li t0, 0x1122334455667788
  sd t0, -3(a1)
  ld a0, -3(a1)
  CHECK a0, 0x1122334455667788
  lw a0, -2(a1)
  CHECK a0, 0x44556677
  lbu a0, 0(a1)
  CHECK a0, 0x55
TEST_END

  .data
  .balign 16
buf: .byte 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x80, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e
buf2: .dword 0, 0
  .balign 4096
  .skip 4096
page_end:
  .skip 16
