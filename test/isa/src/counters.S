# Zicntr and counter access control (privileged spec 3.1.10-3.1.11, 4.1.5): cycle/time/instret advance,
# time matches the CLINT's mtime, mcycle/minstret are writable, and S and U reach the user counters only
# through mcounteren (and scounteren for U); a denied read is an illegal instruction.
#include "wisp-test.h"

.macro SPIN n
  li t2, \n
1:addi t2, t2, -1
  bnez t2, 1b
.endm

TEST_BEGIN
  # all three advance over a loop
  CASE
  rdcycle s0
  rdinstret s1
  rdtime s2
  SPIN 20000
  rdcycle a0
  rdinstret a1
  rdtime a2
  bleu a0, s0, fail
  bleu a1, s1, fail
  bleu a2, s2, fail
  # instret counted at least the loop's 40000 instructions
  CASE
  sub a1, a1, s1
  li t1, 40000
  bltu a1, t1, fail
  # time is the CLINT's mtime
  CASE
  li t1, CLINT_MTIME
  ld s0, 0(t1)
  rdtime a0
  ld s1, 0(t1)
  bltu a0, s0, fail
  bltu s1, a0, fail
  # mcycle and minstret are writable
  CASE
  li a1, 0x100000000000
  csrw minstret, a1
  rdinstret a0
  bltu a0, a1, fail
  li t1, 0x100000100000
  bgeu a0, t1, fail
  CASE
  li a1, 0x200000000000
  csrw mcycle, a1
  rdcycle a0
  bltu a0, a1, fail
  # the M names read the same counters
  CASE
  csrr a0, mcycle
  li t1, 0x200000000000
  bltu a0, t1, fail

  # S: mcounteren gates each counter separately
  CASE
  csrw mcounteren, zero
  EXPECT_ILLEGAL(PRV_S, rdcycle a0)
  EXPECT_ILLEGAL(PRV_S, rdtime a0)
  EXPECT_ILLEGAL(PRV_S, rdinstret a0)
  CASE
  csrwi mcounteren, COUNTEREN_CY
  EXPECT_OK(PRV_S, rdcycle a0)
  EXPECT_ILLEGAL(PRV_S, rdtime a0)
  EXPECT_ILLEGAL(PRV_S, rdinstret a0)
  CASE
  csrwi mcounteren, COUNTEREN_TM | COUNTEREN_IR
  EXPECT_OK(PRV_S, rdtime a0)
  EXPECT_OK(PRV_S, rdinstret a0)
  EXPECT_ILLEGAL(PRV_S, rdcycle a0)
  # the value S reads is the counter
  CASE
  csrwi mcounteren, 7
  li t1, CLINT_MTIME
  ld s0, 0(t1)
  GUEST PRV_S
  rdtime a0
  GUEST_END
  bltu a0, s0, fail
  # U: needs both mcounteren and scounteren
  CASE
  csrwi mcounteren, 7
  csrwi scounteren, 0
  EXPECT_ILLEGAL(PRV_U, rdcycle a0)
  EXPECT_ILLEGAL(PRV_U, rdtime a0)
  EXPECT_ILLEGAL(PRV_U, rdinstret a0)
  CASE
  csrwi mcounteren, 0
  csrwi scounteren, 7
  EXPECT_ILLEGAL(PRV_U, rdcycle a0)
  EXPECT_ILLEGAL(PRV_U, rdtime a0)
  CASE
  csrwi mcounteren, COUNTEREN_IR
  csrwi scounteren, COUNTEREN_IR | COUNTEREN_CY
  EXPECT_OK(PRV_U, rdinstret a0)
  EXPECT_ILLEGAL(PRV_U, rdcycle a0)
  CASE
  csrwi mcounteren, 7
  csrwi scounteren, 7
  EXPECT_OK(PRV_U, rdcycle a0)
  EXPECT_OK(PRV_U, rdtime a0)
  EXPECT_OK(PRV_U, rdinstret a0)
  # the M counters stay M-only
  EXPECT_ILLEGAL(PRV_S, csrr a0, mcycle)
  EXPECT_ILLEGAL(PRV_U, csrr a0, minstret)
  # counteren registers themselves: mcounteren is M-only, scounteren S-level
  EXPECT_ILLEGAL(PRV_S, csrr a0, mcounteren)
  EXPECT_OK(PRV_S, csrr a0, scounteren)
  EXPECT_ILLEGAL(PRV_U, csrr a0, scounteren)
TEST_END
