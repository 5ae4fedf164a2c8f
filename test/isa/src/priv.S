# Privileged instructions and the mstatus trap-virtualization bits (privileged spec 3.1.6, 3.3):
# mret/sret state changes (xIE <- xPIE, xPIE <- 1, xPP <- U, MPRV cleared when leaving M), TSR, TW, TVM,
# WFI, and which modes may use each instruction.
#include "wisp-test.h"
TEST_BEGIN
  # mret from M to M: MIE <- MPIE, MPIE <- 1, MPP <- U
  CASE
  li t1, MSTATUS_MPP | MSTATUS_MPIE
  csrs mstatus, t1
  csrci mstatus, MSTATUS_MIE
  la t1, 1f
  csrw mepc, t1
  mret
  j fail
1:csrr a0, mstatus
  csrci mstatus, MSTATUS_MIE
  li t1, MSTATUS_MPP | MSTATUS_MPIE | MSTATUS_MIE
  and a0, a0, t1
  CHECK a0, MSTATUS_MPIE | MSTATUS_MIE
  # (mret to S clearing MPRV is in wisp-only.S: QEMU 7.2 leaves MPRV set)
  # sret from S to S: SIE <- SPIE, SPIE <- 1, SPP <- U
  CASE
  GUEST PRV_S
  li t1, MSTATUS_SPP | MSTATUS_SPIE
  csrs sstatus, t1
  csrci sstatus, MSTATUS_SIE
  la t1, 1f
  csrw sepc, t1
  sret
  j fail
1:csrr a2, sstatus
  csrci sstatus, MSTATUS_SIE
  GUEST_END
  EXPECT_CAUSE CAUSE_SUPERVISOR_ECALL
  li t1, MSTATUS_SPP | MSTATUS_SPIE | MSTATUS_SIE
  and a2, a2, t1
  CHECK a2, MSTATUS_SPIE | MSTATUS_SIE
  # sret from S to U
  CASE
  GUEST PRV_S
  li t1, MSTATUS_SPP
  csrc sstatus, t1
  la t1, 1f
  csrw sepc, t1
  sret
  j fail
1:nop
  GUEST_END
  EXPECT_CAUSE CAUSE_USER_ECALL
  # sret in M (allowed): goes to SPP
  CASE
  GUEST PRV_M
  li t1, MSTATUS_SPP
  csrs mstatus, t1
  la t1, 1f
  csrw sepc, t1
  sret
  j fail
1:nop
  GUEST_END
  EXPECT_CAUSE CAUSE_SUPERVISOR_ECALL

  # TSR: sret in S is illegal, in M still fine
  CASE
  li t1, MSTATUS_TSR
  csrs mstatus, t1
  EXPECT_ILLEGAL(PRV_S, sret)
  CASE
  GUEST PRV_M
  li t1, MSTATUS_SPP
  csrs mstatus, t1
  la t1, 1f
  csrw sepc, t1
  sret
  j fail
1:nop
  GUEST_END
  EXPECT_CAUSE CAUSE_SUPERVISOR_ECALL
  li t1, MSTATUS_TSR
  csrc mstatus, t1

  # TVM: satp and sfence.vma are illegal in S, fine in M
  CASE
  li t1, MSTATUS_TVM
  csrs mstatus, t1
  EXPECT_ILLEGAL(PRV_S, csrr a0, satp)
  EXPECT_ILLEGAL(PRV_S, csrw satp, zero)
  EXPECT_ILLEGAL(PRV_S, sfence.vma)
  EXPECT_OK(PRV_M, csrr a0, satp)
  EXPECT_OK(PRV_M, sfence.vma)
  CASE
  li t1, MSTATUS_TVM
  csrc mstatus, t1
  EXPECT_OK(PRV_S, csrr a0, satp)
  EXPECT_OK(PRV_S, sfence.vma)

  # WFI: with an interrupt pending and enabled in mie, it returns even with MIE = 0 (3.3.3)
  CASE
  li t1, CLINT_MSIP
  li t2, 1
  sw t2, 0(t1)
  csrsi mie, MIP_MSIP
  csrci mstatus, MSTATUS_MIE
  wfi
  csrci mie, MIP_MSIP
  sw zero, 0(t1)
  # TW = 1: WFI in S is illegal; in M it is not affected
  CASE
  li t1, MSTATUS_TW
  csrs mstatus, t1
  EXPECT_ILLEGAL(PRV_S, wfi)
  CASE
  li t1, CLINT_MSIP
  li t2, 1
  sw t2, 0(t1)
  csrsi mie, MIP_MSIP
  wfi
  csrci mie, MIP_MSIP
  sw zero, 0(t1)
  li t1, MSTATUS_TW
  csrc mstatus, t1
  # TW = 0: WFI in S completes (wakes on a delegated SSIP that sie enables and SIE masks)
  CASE
  li t1, MIP_SSIP
  csrw mideleg, t1
  csrs mie, t1
  csrs mip, t1
  csrci mstatus, MSTATUS_SIE
  GUEST PRV_S
  wfi
  GUEST_END
  EXPECT_CAUSE CAUSE_SUPERVISOR_ECALL
  csrc mip, t1
  csrw mie, zero
  csrw mideleg, zero
TEST_END
