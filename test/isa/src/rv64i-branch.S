# RV64I control transfer: the six conditional branches (signed and unsigned edges), JAL and JALR link
# values, JALR clearing bit 0 of the target, rd == rs1, and targets that are only 2-byte aligned (legal
# with C, unprivileged spec 2.5).
#include "wisp-test.h"

/* taken = 1 when the branch must be taken */
#define TEST_BR(op, taken, a, b) CASE; li a1, a; li a2, b; li a0, 1; op a1, a2, 1f; li a0, 0; 1: CHECK a0, taken

TEST_BEGIN
  TEST_BR(beq, 1, 5, 5)
  TEST_BR(beq, 0, 5, 6)
  TEST_BR(beq, 0, 0, 0x8000000000000000)
  TEST_BR(bne, 1, 5, 6)
  TEST_BR(bne, 0, -1, -1)
  TEST_BR(blt, 1, -1, 0)
  TEST_BR(blt, 0, 0, -1)
  TEST_BR(blt, 0, 3, 3)
  TEST_BR(blt, 1, 0x8000000000000000, 0x7fffffffffffffff)
  TEST_BR(bge, 1, 3, 3)
  TEST_BR(bge, 1, 0, -1)
  TEST_BR(bge, 0, -1, 0)
  TEST_BR(bltu, 1, 0, -1)
  TEST_BR(bltu, 0, -1, 0)
  TEST_BR(bltu, 0, 3, 3)
  TEST_BR(bgeu, 1, -1, 0)
  TEST_BR(bgeu, 0, 0, -1)
  TEST_BR(bgeu, 1, 3, 3)

  # backward branch: a loop runs exactly 10 times
  CASE
  li a0, 0
  li a1, 10
1:addi a0, a0, 1
  bne a0, a1, 1b
  CHECK a0, 10

  # JAL: link = pc + 4, target taken
  CASE
  li a0, 0
1:jal ra, 2f
  li a0, 1
2:CHECK a0, 0
  la t1, 1b
  addi t1, t1, 4
  CHECK_EQ ra, t1
  CASE
  jal zero, 1f
  j fail
1:

  # JALR: target = (rs1 + imm) & ~1, link = pc + 4
  CASE
  la a1, 2f
  addi a1, a1, -3
1:jalr ra, 3(a1)
  j fail
2:la t1, 1b
  addi t1, t1, 4
  CHECK_EQ ra, t1
  CASE
  la a1, 2f
  addi a1, a1, 1                 # odd: bit 0 is dropped
  jalr zero, 0(a1)
  j fail
2:
  # rd == rs1: the target uses the old value
  CASE
  la a1, 2f
1:jalr a1, 0(a1)
  j fail
2:la t1, 1b
  addi t1, t1, 4
  CHECK_EQ a1, t1
  # negative offset
  CASE
  la a1, 2f
  addi a1, a1, 2000
  jalr zero, -2000(a1)
  j fail
2:

  # a target at an address that is 2 mod 4 (legal with C; no misaligned-fetch trap)
  CASE
  .balign 4
  c.nop
  jal zero, 1f                   # at 2 mod 4
  j fail
  .balign 4
  c.nop
1:la a1, 1b
  andi a1, a1, 3
  CHECK a1, 2
  CASE
  .balign 4
  la a1, 3f
  jalr zero, 0(a1)
  j fail
  .balign 4
  c.nop
3:la a1, 3b
  andi a1, a1, 3
  CHECK a1, 2
  CASE
  li a0, 1
  li a1, 1
  beq a0, a1, 4f                 # branch to 2 mod 4
  j fail
  .balign 4
  c.nop
4:
TEST_END
