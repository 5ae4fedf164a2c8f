# Interrupts (privileged spec 3.1.9, 3.3.3; Sstc): M software (CLINT msip), M timer (CLINT mtimecmp),
# S software (mip.SSIP), S timer (stimecmp with menvcfg.STCE), priority, global enables per mode,
# delegation through mideleg, and direct vs vectored mtvec/stvec.
#include "wisp-test.h"

#define INT(n) (INTERRUPT_BIT | (n))

/* Spin at most ~n iterations for an interrupt to arrive (then fall through to TRAP_END's fail). */
.macro WAIT n
  li t2, \n
1:addi t2, t2, -1
  bnez t2, 1b
.endm

TEST_BEGIN
  # --- M software interrupt via the CLINT
  CASE
  li s0, CLINT_MSIP
  li t1, 1
  sw t1, 0(s0)
  csrr a0, mip
  andi a0, a0, MIP_MSIP
  CHECK a0, MIP_MSIP
  CASE
  csrsi mie, MIP_MSIP
  TRAP_BEGIN
  csrsi mstatus, MSTATUS_MIE
  WAIT 1000
  TRAP_END
  EXPECT_CAUSE INT(IRQ_MSI)
  EXPECT_LEVEL PRV_M
  EXPECT_PRIV PRV_M
  ld t0, trap_tval
  CHECK t0, 0
  sw zero, 0(s0)
  csrw mie, zero
  CASE
  csrr a0, mip
  andi a0, a0, MIP_MSIP
  CHECK a0, 0

  # --- M timer: MTIP follows mtimecmp <= mtime
  CASE
  li s0, CLINT_MTIMECMP
  li s1, CLINT_MTIME
  sd zero, 0(s0)
  csrr a0, mip
  andi a0, a0, MIP_MTIP
  CHECK a0, MIP_MTIP
  li t1, -1
  sd t1, 0(s0)
  csrr a0, mip
  andi a0, a0, MIP_MTIP
  CHECK a0, 0
  CASE
  ld t1, 0(s1)
  addi t1, t1, 200               # 20 us from now
  sd t1, 0(s0)
  li t1, MIP_MTIP
  csrs mie, t1
  TRAP_BEGIN
  csrsi mstatus, MSTATUS_MIE
  ld t2, 0(s1)
  li t3, 100000000               # give up after 10 s of guest time
  add t3, t3, t2
1:ld t2, 0(s1)
  bltu t2, t3, 1b
  TRAP_END
  EXPECT_CAUSE INT(IRQ_MTI)
  li t1, -1
  sd t1, 0(s0)
  csrw mie, zero

  # --- priority: MSI before MTI (3.1.9; SSI's place after them is in wisp-only.S)
  CASE
  li t1, CLINT_MSIP
  li t2, 1
  sw t2, 0(t1)
  sd zero, 0(s0)
  li t1, MIP_MSIP | MIP_MTIP
  csrs mie, t1
  TRAP_BEGIN
  csrsi mstatus, MSTATUS_MIE
  WAIT 1000
  TRAP_END
  EXPECT_CAUSE INT(IRQ_MSI)
  li t1, CLINT_MSIP
  sw zero, 0(t1)
  CASE
  TRAP_BEGIN
  csrsi mstatus, MSTATUS_MIE
  WAIT 1000
  TRAP_END
  EXPECT_CAUSE INT(IRQ_MTI)
  li t1, -1
  sd t1, 0(s0)
  csrw mie, zero

  # --- M interrupts are taken in S and U even with MIE = 0
  CASE
  li t1, CLINT_MSIP
  li t2, 1
  sw t2, 0(t1)
  csrsi mie, MIP_MSIP
  GUEST PRV_S
  WAIT 1000
  GUEST_END
  EXPECT_CAUSE INT(IRQ_MSI)
  EXPECT_PRIV PRV_S
  CASE
  GUEST PRV_U
  WAIT 1000
  GUEST_END
  EXPECT_CAUSE INT(IRQ_MSI)
  EXPECT_PRIV PRV_U
  li t1, CLINT_MSIP
  sw zero, 0(t1)
  csrw mie, zero

  # --- delegated SSIP: never taken in M, taken in S only with SIE, always in U
  CASE
  li t1, MIP_SSIP
  csrw mideleg, t1
  csrs mie, t1
  csrs mip, t1
  csrsi mstatus, MSTATUS_MIE
  WAIT 1000
  csrci mstatus, MSTATUS_MIE
  CASE
  csrci mstatus, MSTATUS_SIE
  GUEST PRV_S
  WAIT 1000
  GUEST_END
  EXPECT_CAUSE CAUSE_SUPERVISOR_ECALL
  CASE
  csrsi mstatus, MSTATUS_SIE
  GUEST PRV_S
7:WAIT 1000
  GUEST_END
  EXPECT_CAUSE INT(IRQ_SSI)
  EXPECT_LEVEL PRV_S
  EXPECT_EPC_AT 7b               # taken before the first guest instruction
  CASE
  csrci mstatus, MSTATUS_SIE
  GUEST PRV_U
  WAIT 1000
  GUEST_END
  EXPECT_CAUSE INT(IRQ_SSI)
  EXPECT_LEVEL PRV_S
  EXPECT_PRIV PRV_U
  # S can clear its own SSIP through sip
  CASE
  GUEST PRV_S
  csrci sip, MIP_SSIP
  csrr a0, sip
  GUEST_END
  andi a0, a0, MIP_SSIP
  CHECK a0, 0
  csrr a0, mip
  andi a0, a0, MIP_SSIP
  CHECK a0, 0
  csrw mideleg, zero
  csrw mie, zero

  # --- Sstc: STIP follows stimecmp <= time when menvcfg.STCE = 1
  CASE
  li t1, MENVCFG_STCE
  csrs menvcfg, t1
  csrr a0, menvcfg
  and a0, a0, t1
  CHECK_EQ a0, t1
  CASE
  csrw stimecmp, zero
  csrr a0, mip
  andi a0, a0, MIP_STIP
  CHECK a0, MIP_STIP
  li t1, -1
  csrw stimecmp, t1
  csrr a0, mip
  andi a0, a0, MIP_STIP
  CHECK a0, 0
  # not delegated: an S timer interrupt taken by M
  CASE
  csrw stimecmp, zero
  li t1, MIP_STIP
  csrs mie, t1
  TRAP_BEGIN
  csrsi mstatus, MSTATUS_MIE
  WAIT 1000
  TRAP_END
  EXPECT_CAUSE INT(IRQ_STI)
  EXPECT_LEVEL PRV_M
  li t1, -1
  csrw stimecmp, t1
  # delegated, programmed by S itself the way Linux does: stimecmp = time + delta
  CASE
  li t1, MIP_STIP
  csrw mideleg, t1
  csrs mie, t1
  csrsi mcounteren, COUNTEREN_TM
  csrsi mstatus, MSTATUS_SIE
  GUEST PRV_S
  rdtime t3
  addi t3, t3, 100
  csrw stimecmp, t3
  li t4, 100000000
  add t4, t4, t3
2:rdtime t3
  bltu t3, t4, 2b
  GUEST_END
  EXPECT_CAUSE INT(IRQ_STI)
  EXPECT_LEVEL PRV_S
  EXPECT_PRIV PRV_S
  li t1, -1
  csrw stimecmp, t1
  csrw mie, zero
  csrw mideleg, zero
  csrci mstatus, MSTATUS_SIE
  # STCE = 0: stimecmp is not reachable from S
  CASE
  li t1, MENVCFG_STCE
  csrc menvcfg, t1
  EXPECT_ILLEGAL(PRV_S, csrr a0, stimecmp)
  # STCE = 1 but mcounteren.TM = 0: not reachable either
  CASE
  li t1, MENVCFG_STCE
  csrs menvcfg, t1
  csrci mcounteren, COUNTEREN_TM
  EXPECT_ILLEGAL(PRV_S, csrw stimecmp, zero)
  csrsi mcounteren, COUNTEREN_TM
  EXPECT_OK(PRV_S, csrr a0, stimecmp)

  # --- vectored mtvec: interrupts jump to BASE + 4 * cause, exceptions to BASE
  CASE
  la t1, mvec
  ori t1, t1, 1
  csrw mtvec, t1
  csrr a0, mtvec
  CHECK_EQ a0, t1
  csrwi sscratch, 31
  li t1, CLINT_MSIP
  li t2, 1
  sw t2, 0(t1)
  csrsi mie, MIP_MSIP
  TRAP_BEGIN
  csrsi mstatus, MSTATUS_MIE
  WAIT 1000
  TRAP_END
  EXPECT_CAUSE INT(IRQ_MSI)
  csrr a0, sscratch
  CHECK a0, IRQ_MSI
  li t1, CLINT_MSIP
  sw zero, 0(t1)
  csrw mie, zero
  CASE
  csrwi sscratch, 31
  TRAP_BEGIN
  ecall
  TRAP_END
  EXPECT_CAUSE CAUSE_MACHINE_ECALL
  csrr a0, sscratch
  CHECK a0, 0
  CASE
  li t1, -1
  sd zero, 0(s0)
  li t1, MIP_MTIP
  csrs mie, t1
  csrwi sscratch, 31
  TRAP_BEGIN
  csrsi mstatus, MSTATUS_MIE
  WAIT 1000
  TRAP_END
  EXPECT_CAUSE INT(IRQ_MTI)
  csrr a0, sscratch
  CHECK a0, IRQ_MTI
  li t1, -1
  sd t1, 0(s0)
  csrw mie, zero
  la t1, trap_m
  csrw mtvec, t1

  # --- vectored stvec: a delegated SSI lands at BASE + 4, a delegated exception at BASE
  CASE
  la t1, svec
  ori t1, t1, 1
  csrw stvec, t1
  li t1, MIP_SSIP
  csrw mideleg, t1
  csrs mie, t1
  csrs mip, t1
  csrsi mstatus, MSTATUS_SIE
  la t1, svec_hits
  sd zero, 0(t1)
  sd zero, 8(t1)
  GUEST PRV_S
  WAIT 1000
  GUEST_END
  EXPECT_CAUSE INT(IRQ_SSI)
  la t1, svec_hits
  ld a0, 8(t1)
  beqz a0, fail
  ld a0, 0(t1)
  CHECK a0, 0
  csrci mip, MIP_SSIP
  csrw mie, zero
  csrw mideleg, zero
  csrci mstatus, MSTATUS_SIE
  CASE
  li t1, 1 << CAUSE_ILLEGAL_INSTRUCTION
  csrw medeleg, t1
  la t1, svec_hits
  sd zero, 0(t1)
  sd zero, 8(t1)
  GUEST PRV_S
  .word 0x0000000b
  GUEST_END
  csrw medeleg, zero
  EXPECT_CAUSE CAUSE_ILLEGAL_INSTRUCTION
  la t1, svec_hits
  ld a0, 0(t1)
  beqz a0, fail
  ld a0, 8(t1)
  CHECK a0, 0
  la t1, trap_s
  csrw stvec, t1
TEST_END

  .option push
  .option norvc
  /* Vector tables: one 4-byte jump per cause. The M entries note the vector in sscratch (free while
   * M handles a trap); the S entries mark a slot in memory, using only t0 (restored from sscratch). */
  .balign 256
mvec:
  .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
  j mvec_\n
  .endr
  .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
mvec_\n:
  csrwi sscratch, \n
  j trap_m
  .endr
  .balign 256
svec:
  j svec_0
  j svec_1
  .rept 14
  j fail
  .endr
svec_0:
  csrw sscratch, t0
  la t0, svec_hits
  sd t0, 0(t0)
  csrr t0, sscratch
  j trap_s
svec_1:
  csrw sscratch, t0
  la t0, svec_hits + 8
  sd t0, 0(t0)
  csrr t0, sscratch
  j trap_s
  .option pop

  .data
  .balign 8
svec_hits: .dword 0, 0
