# Every synchronous exception an RV64GC hart with M/S/U can raise without paging (page faults, causes
# 12/13/15, are in vm-*.S), with mcause, mtval, mepc and MPP checked (privileged spec 3.1.15-3.1.16,
# table 3.6), and delegation through medeleg to S-mode (3.1.8).
# Not here: cause 0 (instruction address misaligned) cannot happen with C (IALIGN = 16: jumps clear bit 0,
# branch offsets are even); cause 6 only comes from misaligned SC/AMO, which QEMU does not report as 6
# (see wisp-only.S).
#include "wisp-test.h"
TEST_BEGIN
  # 1: instruction access fault, tval = epc = the address
  CASE
  li a1, BAD_PADDR
  TRAP_BEGIN
  jalr a1
  TRAP_END
  EXPECT_CAUSE CAUSE_FETCH_ACCESS
  EXPECT_TVAL BAD_PADDR
  ld t0, trap_epc
  CHECK t0, BAD_PADDR
  # 2: illegal instruction, tval = the instruction
  CASE
  TRAP_BEGIN
1:.word 0x0000000b               # custom-0 opcode: nothing there
  TRAP_END
  EXPECT_CAUSE CAUSE_ILLEGAL_INSTRUCTION
  EXPECT_TVAL 0x0000000b
  EXPECT_EPC_AT 1b
  EXPECT_PRIV PRV_M
  CASE
  TRAP_BEGIN
1:.word 0xfe000053               # OP-FP with funct7 = 0x7f: no such instruction
  TRAP_END
  EXPECT_CAUSE CAUSE_ILLEGAL_INSTRUCTION
  EXPECT_TVAL_INSN 1b
  EXPECT_ILLEGAL(PRV_U, mret)
  EXPECT_ILLEGAL(PRV_U, sret)
  EXPECT_ILLEGAL(PRV_S, mret)
  EXPECT_ILLEGAL(PRV_U, sfence.vma)
  # 3: breakpoint, epc = the ebreak (tval may be 0 or the pc: wisp's pc is checked in wisp-only.S)
  CASE
  TRAP_BEGIN
1:ebreak
  TRAP_END
  EXPECT_CAUSE CAUSE_BREAKPOINT
  EXPECT_EPC_AT 1b
  # 4: load address misaligned (LR), tval = address
  CASE
  la a1, var + 4
  TRAP_BEGIN
  lr.d a0, (a1)
  TRAP_END
  EXPECT_CAUSE CAUSE_MISALIGNED_LOAD
  EXPECT_TVAL_REG a1
  # 5: load access fault
  CASE
  li a1, BAD_PADDR + 0x18
  TRAP_BEGIN
  ld a0, 0(a1)
  TRAP_END
  EXPECT_CAUSE CAUSE_LOAD_ACCESS
  EXPECT_TVAL BAD_PADDR + 0x18
  CASE
  li a1, BAD_PADDR
  TRAP_BEGIN
  lr.w a0, (a1)
  TRAP_END
  EXPECT_CAUSE CAUSE_LOAD_ACCESS
  EXPECT_TVAL BAD_PADDR
  # 7: store/AMO access fault
  CASE
  li a1, BAD_PADDR + 8
  TRAP_BEGIN
  sw zero, 0(a1)
  TRAP_END
  EXPECT_CAUSE CAUSE_STORE_ACCESS
  EXPECT_TVAL BAD_PADDR + 8
  # (an AMO access fault, cause 7, is in wisp-only.S: QEMU 7.2 reports cause 5)
  # 8, 9, 11: ecall from U, S, M; tval = 0, epc = the ecall, MPP = where it came from
  CASE
  GUEST PRV_U
  GUEST_END
  EXPECT_CAUSE CAUSE_USER_ECALL
  EXPECT_TVAL 0
  EXPECT_PRIV PRV_U
  CASE
  GUEST PRV_S
  GUEST_END
  EXPECT_CAUSE CAUSE_SUPERVISOR_ECALL
  EXPECT_PRIV PRV_S
  CASE
  TRAP_BEGIN
1:ecall
  TRAP_END
  EXPECT_CAUSE CAUSE_MACHINE_ECALL
  EXPECT_TVAL 0
  EXPECT_EPC_AT 1b
  EXPECT_PRIV PRV_M
  EXPECT_LEVEL PRV_M
  # trap entry: MPIE = old MIE, MIE = 0
  CASE
  csrsi mstatus, MSTATUS_MIE
  TRAP_BEGIN
  ecall
  TRAP_END
  ld t0, trap_status
  andi t0, t0, MSTATUS_MIE | MSTATUS_MPIE
  CHECK t0, MSTATUS_MPIE

  # delegation: an illegal instruction in U or S goes to S when medeleg[2] is set...
  CASE
  li t1, 1 << CAUSE_ILLEGAL_INSTRUCTION
  csrw medeleg, t1
  GUEST PRV_U
1:.word 0x0000000b
  GUEST_END
  EXPECT_CAUSE CAUSE_ILLEGAL_INSTRUCTION
  EXPECT_LEVEL PRV_S
  EXPECT_PRIV PRV_U
  EXPECT_TVAL 0x0000000b
  EXPECT_EPC_AT 1b
  CASE
  GUEST PRV_S
1:.word 0x0000000b
  GUEST_END
  EXPECT_CAUSE CAUSE_ILLEGAL_INSTRUCTION
  EXPECT_LEVEL PRV_S
  EXPECT_PRIV PRV_S
  # ...S trap entry: SPIE = old SIE, SIE = 0, SPP = S
  CASE
  csrsi mstatus, MSTATUS_SIE
  GUEST PRV_S
  .word 0x0000000b
  GUEST_END
  ld t0, trap_status
  andi t0, t0, MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP
  CHECK t0, MSTATUS_SPIE | MSTATUS_SPP
  csrci mstatus, MSTATUS_SIE
  # ...but never from M
  CASE
  TRAP_BEGIN
  .word 0x0000000b
  TRAP_END
  EXPECT_CAUSE CAUSE_ILLEGAL_INSTRUCTION
  EXPECT_LEVEL PRV_M
  # delegated ecall from U and breakpoint
  CASE
  li t1, (1 << CAUSE_USER_ECALL) | (1 << CAUSE_BREAKPOINT)
  csrw medeleg, t1
  GUEST PRV_U
  GUEST_END
  EXPECT_CAUSE CAUSE_USER_ECALL
  EXPECT_LEVEL PRV_S
  CASE
  GUEST PRV_S
1:ebreak
  GUEST_END
  EXPECT_CAUSE CAUSE_BREAKPOINT
  EXPECT_LEVEL PRV_S
  EXPECT_EPC_AT 1b
  # ecall from S is not delegated: it still reaches M
  CASE
  GUEST PRV_S
  GUEST_END
  EXPECT_CAUSE CAUSE_SUPERVISOR_ECALL
  EXPECT_LEVEL PRV_M
  # a delegated access fault
  CASE
  li t1, 1 << CAUSE_LOAD_ACCESS
  csrw medeleg, t1
  li a1, BAD_PADDR
  GUEST PRV_S
  ld a0, 0(a1)
  GUEST_END
  EXPECT_CAUSE CAUSE_LOAD_ACCESS
  EXPECT_LEVEL PRV_S
  EXPECT_TVAL BAD_PADDR
  csrw medeleg, zero
TEST_END

  .data
  .balign 16
var: .dword 0, 0
