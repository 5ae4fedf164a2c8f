# RV64I integer computation: register-register, immediate, LUI/AUIPC, and the W forms, whose 32-bit results
# are sign-extended to 64 bits (unprivileged spec 2.4, 5.2). Shift amounts use 6 bits (5 for W forms).
#include "wisp-test.h"
TEST_BEGIN
  TEST_RR(add, 3, 1, 2)
  TEST_RR(add, 0x8000000000000000, 0x7fffffffffffffff, 1)
  TEST_RR(add, 0, -1, 1)
  TEST_RR(sub, -1, 0, 1)
  TEST_RR(sub, 0x7fffffffffffffff, 0x8000000000000000, 1)
  TEST_RR(sll, 0x8000000000000000, 1, 63)
  TEST_RR(sll, 1, 1, 64)
  TEST_RR(sll, 2, 1, 65)
  TEST_RR(sll, 0xff0, 0xff, 4)
  TEST_RR(slt, 1, -1, 0)
  TEST_RR(slt, 0, 0, -1)
  TEST_RR(slt, 0, 1, 1)
  TEST_RR(slt, 1, 0x8000000000000000, 0x7fffffffffffffff)
  TEST_RR(sltu, 0, -1, 0)
  TEST_RR(sltu, 1, 0, -1)
  TEST_RR(sltu, 0, 7, 7)
  TEST_RR(xor, 0xf0f0f0f0f0f0f0f0, 0xff00ff00ff00ff00, 0x0ff00ff00ff00ff0)
  TEST_RR(or, 0xfff0fff0fff0fff0, 0xff00ff00ff00ff00, 0x0ff00ff00ff00ff0)
  TEST_RR(and, 0x0f000f000f000f00, 0xff00ff00ff00ff00, 0x0ff00ff00ff00ff0)
  TEST_RR(srl, 1, 0x8000000000000000, 63)
  TEST_RR(srl, 0x0fffffffffffffff, -1, 4)
  TEST_RR(srl, 0x123456789abcdef0, 0x123456789abcdef0, 64)
  TEST_RR(sra, -1, 0x8000000000000000, 63)
  TEST_RR(sra, -4, -16, 2)
  TEST_RR(sra, 0xc000000000000000, 0x8000000000000000, 65)
  TEST_RR(sra, 0x0123456789abcdef, 0x0123456789abcdef, 0)

  TEST_RI(addi, 0x8000000000000000, 0x7fffffffffffffff, 1)
  TEST_RI(addi, -2048, 0, -2048)
  TEST_RI(addi, 2047, 0, 2047)
  TEST_RI(addi, 0, -1, 1)
  TEST_RI(slti, 1, -1, 0)
  TEST_RI(slti, 0, 0, -1)
  TEST_RI(slti, 1, 0x8000000000000000, -2048)
  TEST_RI(sltiu, 1, 0, -1)
  TEST_RI(sltiu, 0, 5, 0)
  TEST_RI(sltiu, 1, 0xfffffffffffff7ff, -2048)
  TEST_RI(xori, 0xedcba9876543210f, 0x123456789abcdef0, -1)
  TEST_RI(ori, 0xfffffffffffff800, 0, -2048)
  TEST_RI(andi, 0xfffffffffffff800, -1, -2048)
  TEST_RI(andi, 0x7ff, -1, 2047)
  TEST_RI(slli, 0x8000000000000000, 1, 63)
  TEST_RI(slli, 0x100000000, 1, 32)
  TEST_RI(srli, 1, 0x8000000000000000, 63)
  TEST_RI(srli, 0xffffffff, -1, 32)
  TEST_RI(srai, -1, 0x8000000000000000, 63)
  TEST_RI(srai, 0xffffffff80000000, 0x8000000000000000, 32)

  # LUI sign-extends bit 31; AUIPC adds to its own address
  CASE
  lui a0, 0x80000
  CHECK a0, 0xffffffff80000000
  CASE
  lui a0, 0x7ffff
  CHECK a0, 0x7ffff000
  CASE
1:auipc a0, 0
  CHECK_ADDR a0, 1b
  CASE
1:auipc a0, 1
  addi a0, a0, -2048
  addi a0, a0, -2048
  CHECK_ADDR a0, 1b
  CASE
1:auipc a0, 0xfffff
  li t1, 4096
  add a0, a0, t1
  CHECK_ADDR a0, 1b

  # W forms: 32-bit operation, bits 63:32 of the inputs ignored, result sign-extended
  TEST_RR(addw, 0xffffffff80000000, 0x7fffffff, 1)
  TEST_RR(addw, 0, 0xffffffff, 1)
  TEST_RR(addw, 3, 0x123400000001, 0x567800000002)
  TEST_RR(subw, -1, 0, 1)
  TEST_RR(subw, 0x7fffffff, 0x80000000, 1)
  TEST_RR(subw, 0, 0x100000000, 0)
  TEST_RR(sllw, 0xffffffff80000000, 1, 31)
  TEST_RR(sllw, 1, 1, 32)
  TEST_RR(sllw, 0x12345678, 0x12345678, 0xffffffe0)
  TEST_RR(srlw, 1, 0xffffffff80000000, 31)
  TEST_RR(srlw, -1, -1, 0)
  TEST_RR(srlw, 0x7fffffff, -1, 33)
  TEST_RR(srlw, 0xffffffff80000000, 0x80000000, 0)
  TEST_RR(srlw, 0, 0xffffffff00000000, 0)
  TEST_RR(sraw, -1, 0x80000000, 31)
  TEST_RR(sraw, 0x0fffffff, 0x7fffffff, 35)
  TEST_RR(sraw, 0xfffffffff8000000, 0x80000000, 4)
  TEST_RI(addiw, 0xffffffff80000000, 0x7fffffff, 1)
  TEST_RI(addiw, 0xffffffff80000000, 0x180000000, 0)
  TEST_RI(addiw, 0x7ffff800, 0x80000000, -2048)
  TEST_RI(slliw, 0xffffffff80000000, 1, 31)
  TEST_RI(slliw, 0, 0x100000000, 0)
  TEST_RI(srliw, 0xffffffff80000000, 0xffffffff80000000, 0)
  TEST_RI(srliw, 0x40000000, 0x80000000, 1)
  TEST_RI(srliw, 1, 0x80000000, 31)
  TEST_RI(sraiw, 0xffffffffc0000000, 0x80000000, 1)
  TEST_RI(sraiw, 0x7fffffff, 0x127fffffff, 0)

  # rd = rs1 = rs2, and x0 as destination
  TEST_RR_SAME(add, 10, 5)
  TEST_RR_SAME(sub, 0, 5)
  TEST_RR_SAME(sll, 0xa0, 5)
  TEST_RR_SAME(sltu, 0, 5)
  TEST_RR_ZERO(add, 1, 2)
  TEST_RR_ZERO(addw, 1, 2)
  CASE
  li a1, 0x1234
  addi zero, a1, 1
  lui zero, 0x12345
  CHECK zero, 0
  CASE
  li a1, 3
  add a0, zero, a1
  CHECK a0, 3
TEST_END
