# Zicsr and the machine-level CSRs (privileged spec v1.12 chapter 2 and 3): the six CSR instructions, which
# accesses write (rs1 = x0 / uimm = 0 do not), read-only and missing CSRs, privilege checks, the
# sstatus/sie views, medeleg/mideleg masks, PMP registers (16 entries, readable and writable), fcsr
# fields, satp writes with an unsupported mode being ignored, mepc bit 0, misa, mhartid, mstatus.UXL/SXL.
#include "wisp-test.h"
TEST_BEGIN
  # CSRRW/S/C and their immediate forms return the old value
  CASE
  li a1, 0x1234
  csrw mscratch, a1
  li a2, 0xff00
  csrrw a0, mscratch, a2
  CHECK a0, 0x1234
  csrr a0, mscratch
  CHECK a0, 0xff00
  CASE
  li a2, 0x00ff
  csrrs a0, mscratch, a2
  CHECK a0, 0xff00
  csrr a0, mscratch
  CHECK a0, 0xffff
  CASE
  li a2, 0x0ff0
  csrrc a0, mscratch, a2
  CHECK a0, 0xffff
  csrr a0, mscratch
  CHECK a0, 0xf00f
  CASE
  csrrwi a0, mscratch, 0x15
  CHECK a0, 0xf00f
  csrrsi a0, mscratch, 0x0a
  CHECK a0, 0x15
  csrrci a0, mscratch, 0x03
  CHECK a0, 0x1f
  csrr a0, mscratch
  CHECK a0, 0x1c
  # rd = rs1: the old value goes to rd, the register's old value to the CSR
  CASE
  li a0, 77
  csrrw a0, mscratch, a0
  CHECK a0, 0x1c
  csrr a0, mscratch
  CHECK a0, 77
  # a full 64-bit value
  CASE
  li a1, 0x8000000000000001
  csrw mscratch, a1
  csrr a0, mscratch
  CHECK_EQ a0, a1

  # read-only CSRs: reading (rs1 = x0, uimm = 0) is fine, any write attempt is illegal
  CASE
  csrr a0, mhartid
  CHECK a0, 0
  csrrs a0, mhartid, zero
  csrrsi a0, mhartid, 0
  csrrci a0, mhartid, 0
  CHECK a0, 0
  EXPECT_ILLEGAL(PRV_M, csrw mhartid, zero)
  EXPECT_ILLEGAL(PRV_M, csrrs a0, mhartid, a1)
  EXPECT_ILLEGAL(PRV_M, csrrsi a0, mhartid, 1)
  EXPECT_ILLEGAL(PRV_M, csrw cycle, zero)
  EXPECT_ILLEGAL(PRV_M, csrrs a0, time, a2)
  EXPECT_ILLEGAL(PRV_M, csrw mvendorid, a1)
  # (csrrs with rs1 != x0 holding 0 on a read-only CSR is in wisp-choices.S: QEMU 7.2 does not trap it)
  # readable identification registers
  EXPECT_OK(PRV_M, csrr a0, mvendorid)
  EXPECT_OK(PRV_M, csrr a0, marchid)
  EXPECT_OK(PRV_M, csrr a0, mimpid)
  EXPECT_OK(PRV_M, csrr a0, mconfigptr)
  # a CSR that does not exist (custom space, nothing there)
  EXPECT_ILLEGAL(PRV_M, csrr a0, 0x8ff)
  EXPECT_ILLEGAL(PRV_M, csrr a0, 0x7ff)

  # privilege: bits 9:8 of the address are the lowest mode allowed
  EXPECT_ILLEGAL(PRV_S, csrr a0, mscratch)
  EXPECT_ILLEGAL(PRV_S, csrr a0, mstatus)
  EXPECT_ILLEGAL(PRV_S, csrw mepc, zero)
  EXPECT_ILLEGAL(PRV_U, csrr a0, sstatus)
  EXPECT_ILLEGAL(PRV_U, csrw sscratch, zero)
  EXPECT_ILLEGAL(PRV_U, csrr a0, mhartid)
  EXPECT_OK(PRV_S, csrw sscratch, a0)
  EXPECT_OK(PRV_S, csrr a0, sstatus)
  EXPECT_OK(PRV_U, csrr a0, fcsr)

  # misa: RV64 (MXL = 2) with at least A C D F I M S U
  CASE
  csrr a0, misa
  srli a1, a0, 62
  CHECK a1, 2
  li t1, 0x14112d
  and a1, a0, t1
  CHECK_EQ a1, t1
  # mstatus.UXL = SXL = 2 (64-bit) and read-only
  CASE
  li t1, MSTATUS_UXL | MSTATUS_SXL
  csrc mstatus, t1
  csrr a0, mstatus
  and a0, a0, t1
  CHECK a0, 0xa00000000
  # (mepc[0] reading zero is in wisp-only.S: QEMU 7.2 keeps the bit)

  # sstatus is a view of mstatus without the M fields
  CASE
  csrsi sstatus, MSTATUS_SIE
  csrr a0, mstatus
  andi a0, a0, MSTATUS_SIE
  CHECK a0, MSTATUS_SIE
  csrci sstatus, MSTATUS_SIE
  csrr a0, mstatus
  andi a0, a0, MSTATUS_SIE
  CHECK a0, 0
  CASE
  csrr a0, sstatus
  li t1, MSTATUS_MPP | MSTATUS_MIE | MSTATUS_MPIE | MSTATUS_MPRV | MSTATUS_TVM | MSTATUS_TW | MSTATUS_TSR
  and a0, a0, t1
  CHECK a0, 0
  CASE
  li t1, MSTATUS_MPP
  csrs mstatus, t1
  csrc sstatus, t1               # not visible through sstatus: MPP stays M
  csrr a0, mstatus
  and a0, a0, t1
  CHECK_EQ a0, t1
  CASE
  li t1, MSTATUS_SUM | MSTATUS_MXR
  csrs sstatus, t1
  csrr a0, mstatus
  and a0, a0, t1
  CHECK_EQ a0, t1
  csrc mstatus, t1
  csrr a0, sstatus
  and a0, a0, t1
  CHECK a0, 0

  # medeleg: illegal instruction, breakpoint and U ecall can be delegated (bit 11 reading zero: wisp-only.S)
  CASE
  li t1, -1
  csrw medeleg, t1
  csrr a0, medeleg
  csrw medeleg, zero
  andi a1, a0, (1 << CAUSE_ILLEGAL_INSTRUCTION) | (1 << CAUSE_USER_ECALL) | (1 << CAUSE_BREAKPOINT)
  CHECK a1, (1 << CAUSE_ILLEGAL_INSTRUCTION) | (1 << CAUSE_USER_ECALL) | (1 << CAUSE_BREAKPOINT)
  # mideleg: the S interrupts are delegable, the M ones are not
  CASE
  li t1, -1
  csrw mideleg, t1
  csrr a0, mideleg
  csrw mideleg, zero
  andi a1, a0, MIP_SSIP | MIP_STIP | MIP_SEIP
  CHECK a1, MIP_SSIP | MIP_STIP | MIP_SEIP
  li t1, MIP_MSIP | MIP_MTIP | MIP_MEIP
  and a1, a0, t1
  CHECK a1, 0
  # sie is mie restricted to the delegated interrupts
  CASE
  li t1, MIP_SSIP | MIP_STIP | MIP_SEIP
  csrw mideleg, t1
  csrw mie, zero
  csrs sie, t1
  csrr a0, mie
  CHECK_EQ a0, t1
  li t2, MIP_MTIP | MIP_MSIP
  csrs mie, t2
  csrr a0, sie
  CHECK_EQ a0, t1
  csrw mie, zero
  csrw mideleg, zero

  # PMP: 16 entries, addresses and configurations read back (entry 0 stays the allow-all from crt.S)
  CASE
  csrr a0, pmpcfg0
  andi a0, a0, 0xff
  CHECK a0, 0x1f
  CASE
  li a1, 0x12345678
  csrw pmpaddr1, a1
  csrr a0, pmpaddr1
  CHECK a0, 0x12345678
  li a1, 0x3ff
  csrw pmpaddr7, a1
  csrr a0, pmpaddr7
  CHECK a0, 0x3ff
  li a1, 0x2000000
  csrw pmpaddr8, a1
  csrr a0, pmpaddr8
  CHECK a0, 0x2000000
  li a1, 0x1fffffff
  csrw pmpaddr15, a1
  csrr a0, pmpaddr15
  CHECK a0, 0x1fffffff
  CASE
  li a1, 0x0f0b090705030301      # A = OFF everywhere, no W-without-R, no L
  csrw pmpcfg2, a1
  csrr a0, pmpcfg2
  CHECK_EQ a0, a1
  csrw pmpcfg2, zero
  csrr a0, pmpcfg2
  CHECK a0, 0
  CASE
  li a1, 0x0b00000000000000 | 0x1f
  csrw pmpcfg0, a1
  csrr a0, pmpcfg0
  CHECK_EQ a0, a1
  li a1, 0x1f
  csrw pmpcfg0, a1
  # pmpcfg1 and pmpcfg3 do not exist on RV64
  EXPECT_ILLEGAL(PRV_M, csrr a0, pmpcfg1)
  EXPECT_ILLEGAL(PRV_M, csrr a0, pmpcfg3)
  EXPECT_ILLEGAL(PRV_S, csrr a0, pmpaddr0)

  # fcsr = frm << 5 | fflags; bits above 7 read zero
  CASE
  li a1, 0x1ff
  csrw fcsr, a1
  csrr a0, fcsr
  CHECK a0, 0xff
  csrr a0, frm
  CHECK a0, 7
  csrr a0, fflags
  CHECK a0, 0x1f
  csrwi frm, 2
  csrwi fflags, 0x5
  csrr a0, fcsr
  CHECK a0, 0x45
  csrwi fcsr, 0

  # satp: a supported mode is kept, an unsupported one (Sv64 = 11, reserved 1) leaves satp unchanged
  CASE
  li a1, (SATP_MODE_SV39 << 60) | 0x80123
  csrw satp, a1
  csrr a0, satp
  CHECK_EQ a0, a1
  li a2, (11 << 60) | 0x80777
  csrw satp, a2
  csrr a0, satp
  CHECK_EQ a0, a1
  li a2, (1 << 60) | 0x80777
  csrw satp, a2
  csrr a0, satp
  CHECK_EQ a0, a1
  CASE
  li a1, (SATP_MODE_SV48 << 60) | 0x80456
  csrw satp, a1
  csrr a0, satp
  CHECK_EQ a0, a1
  li a1, (SATP_MODE_SV57 << 60) | 0x80789
  csrw satp, a1
  csrr a0, satp
  CHECK_EQ a0, a1
  csrw satp, zero
  csrr a0, satp
  CHECK a0, 0
TEST_END
