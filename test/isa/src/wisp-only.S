# WISP-ONLY: checks where the spec is strict and QEMU 7.2 is not (exact misa, misaligned SC/AMO cause 6, csrrs with rs1!=x0 on a read-only CSR, mepc[0], medeleg[11], exact instret, ebreak tval = pc, AMO access fault = cause 7, mret/sret below M clear MPRV, MSI/MTI before SSI, fflags-only writes dirty FS); each case says what QEMU does
# Behaviour wisp promises that QEMU 7.2 (our reference) does differently; everything here is either
# required by the spec or one of wisp's documented choices.
#include "wisp-test.h"
TEST_BEGIN
  # misa is exactly RV64 ACDFIMSU (QEMU also reports H)
  CASE
  csrr a0, misa
  CHECK a0, 0x800000000014112d

  # a misaligned SC traps even without a reservation (unprivileged spec 8.2: LR/SC need natural
  # alignment); QEMU lets such an SC fail quietly
  CASE
  la a1, var + 1
  TRAP_BEGIN
  sc.w a0, zero, (a1)
  TRAP_END
  EXPECT_CAUSE CAUSE_MISALIGNED_STORE
  EXPECT_TVAL_REG a1
  CASE
  la a1, var + 4
  TRAP_BEGIN
  sc.d a0, zero, (a1)
  TRAP_END
  EXPECT_CAUSE CAUSE_MISALIGNED_STORE
  EXPECT_TVAL_REG a1
  # a misaligned AMO is a store/AMO address-misaligned (cause 6); QEMU reports cause 4
  CASE
  la a1, var + 4
  TRAP_BEGIN
  amoadd.d a0, zero, (a1)
  TRAP_END
  EXPECT_CAUSE CAUSE_MISALIGNED_STORE
  EXPECT_TVAL_REG a1
  CASE
  la a1, var + 2
  TRAP_BEGIN
  amoswap.w a0, zero, (a1)
  TRAP_END
  EXPECT_CAUSE CAUSE_MISALIGNED_STORE
  EXPECT_TVAL_REG a1
  CASE
  la a1, var
  ld a0, 0(a1)
  CHECK a0, 0x1234               # nothing was written

  # csrrs with rs1 != x0 is a write attempt even when the register holds 0 (Zicsr: "will still attempt
  # to write"), so on a read-only CSR it is illegal; QEMU looks at the value instead
  CASE
  li a1, 0
  GUEST PRV_M
1:csrrs a0, mimpid, a1
  GUEST_END
  EXPECT_CAUSE CAUSE_ILLEGAL_INSTRUCTION
  EXPECT_TVAL_INSN 1b

  # mepc[0] is always zero with IALIGN = 16 (privileged spec 3.1.14); QEMU keeps the bit
  CASE
  li a1, 0x80001235
  csrw mepc, a1
  csrr a0, mepc
  CHECK a0, 0x80001234
  CASE
  csrw sepc, a1
  csrr a0, sepc
  CHECK a0, 0x80001234

  # medeleg[11] (ecall from M) is read-only zero (privileged spec 3.1.8); QEMU lets it be set
  CASE
  li t1, -1
  csrw medeleg, t1
  csrr a0, medeleg
  csrw medeleg, zero
  srli a0, a0, 11
  andi a0, a0, 1
  CHECK a0, 0

  # instret counts retired instructions exactly; a CSR read sees the count before itself
  # (unprivileged spec 10.1); QEMU without -icount derives instret from host ticks
  CASE
  .option push
  .option norvc
  rdinstret a0
  nop
  nop
  nop
  nop
  nop
  nop
  nop
  nop
  nop
  nop
  rdinstret a1
  .option pop
  sub a1, a1, a0
  CHECK a1, 11
  # minstret written by csrw: the write wins over the increment of the csrw itself (spec 3.1.10)
  CASE
  li a1, 1000
  csrw minstret, a1
  csrr a0, minstret
  CHECK a0, 1000

  # wisp's choice for ebreak: tval = the pc (the spec allows 0 or the pc; QEMU writes 0)
  CASE
  TRAP_BEGIN
1:ebreak
  TRAP_END
  EXPECT_CAUSE CAUSE_BREAKPOINT
  EXPECT_TVAL_AT 1b
  CASE
  TRAP_BEGIN
1:c.ebreak
  TRAP_END
  EXPECT_CAUSE CAUSE_BREAKPOINT
  EXPECT_TVAL_AT 1b

  # an AMO that faults is a store/AMO access fault (privileged spec table 3.6); QEMU reports cause 5
  CASE
  li a1, BAD_PADDR + 0x40
  TRAP_BEGIN
  amoadd.d a0, zero, (a1)
  TRAP_END
  EXPECT_CAUSE CAUSE_STORE_ACCESS
  EXPECT_TVAL BAD_PADDR + 0x40

  # mret/sret to a mode below M clear MPRV (privileged spec 3.1.6.3); QEMU 7.2 leaves it set
  CASE
  li t1, MSTATUS_MPRV
  csrs mstatus, t1
  GUEST PRV_S
  GUEST_END
  EXPECT_CAUSE CAUSE_SUPERVISOR_ECALL
  ld t0, trap_status
  li t1, MSTATUS_MPRV
  and t0, t0, t1
  CHECK t0, 0
  CASE
  GUEST PRV_M
  li t1, MSTATUS_MPRV | MSTATUS_SPP
  csrs mstatus, t1
  la t1, 1f
  csrw sepc, t1
  sret
  j fail
1:nop
  GUEST_END
  EXPECT_CAUSE CAUSE_SUPERVISOR_ECALL
  ld t0, trap_status
  li t1, MSTATUS_MPRV
  and t0, t0, t1
  CHECK t0, 0

  # interrupt priority for M: MSI, MTI, then SSI (privileged spec 3.1.9); QEMU 7.2 takes SSI first
  CASE
  li t1, CLINT_MSIP
  li t2, 1
  sw t2, 0(t1)
  li t1, CLINT_MTIMECMP
  sd zero, 0(t1)
  li t1, MIP_MSIP | MIP_MTIP | MIP_SSIP
  csrs mip, t1                   # only SSIP is writable here; the others come from the CLINT
  csrs mie, t1
  TRAP_BEGIN
  csrsi mstatus, MSTATUS_MIE
  li t2, 1000
1:addi t2, t2, -1
  bnez t2, 1b
  TRAP_END
  EXPECT_CAUSE INTERRUPT_BIT | IRQ_MSI
  li t1, CLINT_MSIP
  sw zero, 0(t1)
  CASE
  TRAP_BEGIN
  csrsi mstatus, MSTATUS_MIE
  li t2, 1000
1:addi t2, t2, -1
  bnez t2, 1b
  TRAP_END
  EXPECT_CAUSE INTERRUPT_BIT | IRQ_MTI
  li t1, CLINT_MTIMECMP
  li t2, -1
  sd t2, 0(t1)
  CASE
  TRAP_BEGIN
  csrsi mstatus, MSTATUS_MIE
  li t2, 1000
1:addi t2, t2, -1
  bnez t2, 1b
  TRAP_END
  EXPECT_CAUSE INTERRUPT_BIT | IRQ_SSI
  csrci mip, MIP_SSIP
  csrw mie, zero

  # an instruction that changes only fflags (feq.d on a signaling NaN sets NV) changes FP state, so
  # FS becomes Dirty (privileged spec 3.1.6.6); QEMU 7.2 dirties FS only on FP register writes
  CASE
  FLI_D f1, D_SNAN
  fsflags zero
  li t1, MSTATUS_FS
  csrc mstatus, t1
  li t1, MSTATUS_FS_CLEAN
  csrs mstatus, t1
  feq.d a0, f1, f1
  csrr a0, mstatus
  li t1, MSTATUS_FS
  and a0, a0, t1
  CHECK a0, MSTATUS_FS_DIRTY
TEST_END

  .data
  .balign 64
var: .dword 0x1234, 0
