# RV64I loads and stores: every width, sign vs zero extension, positive and negative offsets, little-endian
# byte order, and stores touching only their own bytes (unprivileged spec 2.6, 5.3).
#include "wisp-test.h"

#define TEST_LD(op, result, offset) CASE; la a1, data; op a0, offset(a1); CHECK a0, result
/* store `value` at data2+offset with `op`, read back the surrounding dword */
#define TEST_ST(op, dword, value, offset) CASE; la a1, data2; li t0, -1; sd t0, 0(a1); sd t0, 8(a1); li a2, value; op a2, offset(a1); ld a0, 0(a1); CHECK a0, dword

TEST_BEGIN
  TEST_LD(lb, 0xffffffffffffff81, 0)
  TEST_LD(lbu, 0x81, 0)
  TEST_LD(lb, 0x7f, 1)
  TEST_LD(lh, 0x7f81, 0)
  TEST_LD(lhu, 0xff80, 2)
  TEST_LD(lh, 0xffffffffffffff80, 2)
  TEST_LD(lw, 0xffffffffff807f81, 0)
  TEST_LD(lwu, 0xff807f81, 0)
  TEST_LD(lw, 0x12345678, 4)
  TEST_LD(ld, 0x12345678ff807f81, 0)
  TEST_LD(ld, 0x8000000000000001, 8)
  TEST_LD(lbu, 0x80, 15)
  TEST_LD(lb, 0xffffffffffffff80, 15)
  # negative offsets
  CASE
  la a1, data + 16
  ld a0, -8(a1)
  CHECK a0, 0x8000000000000001
  CASE
  la a1, data + 2048
  lw a0, -2048(a1)
  CHECK a0, 0xffffffffff807f81

  TEST_ST(sb, 0xffffffffffffff00, 0x1234567800, 0)
  TEST_ST(sb, 0xffffffffff12ffff, 0x12, 2)
  TEST_ST(sh, 0xffffffffffff3344, 0x11223344, 0)
  TEST_ST(sh, 0x3344ffffffffffff, 0x3344, 6)
  TEST_ST(sw, 0xffffffff55667788, 0x1122334455667788, 0)
  TEST_ST(sw, 0x55667788ffffffff, 0x55667788, 4)
  TEST_ST(sd, 0x1122334455667788, 0x1122334455667788, 0)
  # a store does not spill into the next dword
  CASE
  la a1, data2
  li t0, -1
  sd t0, 8(a1)
  li a2, 0
  sd a2, 0(a1)
  ld a0, 8(a1)
  CHECK a0, -1
  # store then load the same byte at a negative offset
  CASE
  la a1, data2 + 8
  li a2, 0xa5
  sb a2, -1(a1)
  lbu a0, -1(a1)
  CHECK a0, 0xa5
  ld a0, -8(a1)
  CHECK a0, 0xa500000000000000
  # a load into x0 still happens but does not write x0
  CASE
  la a1, data
  ld zero, 0(a1)
  CHECK zero, 0
  # load with rd == rs1
  CASE
  la a1, data
  ld a1, 8(a1)
  CHECK a1, 0x8000000000000001
TEST_END

  .data
  .balign 16
data:
  .byte 0x81, 0x7f, 0x80, 0xff, 0x78, 0x56, 0x34, 0x12
  .dword 0x8000000000000001
data2:
  .dword 0, 0
