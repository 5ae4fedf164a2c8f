# mstatus.FS (privileged spec 3.1.6.6): with FS = Off every FP instruction and FP CSR access is illegal,
# in every mode; an instruction that writes FP state (a register or fflags) makes FS Dirty; SD summarizes
# FS == Dirty; sstatus shows the same FS and SD.
#include "wisp-test.h"
.macro SET_FS value
  li t1, MSTATUS_FS
  csrc mstatus, t1
  li t1, \value
  csrs mstatus, t1
.endm
.macro EXPECT_FS value
  csrr a0, mstatus
  li t1, MSTATUS_FS
  and a0, a0, t1
  CHECK a0, \value
.endm
TEST_BEGIN
  # Off: illegal
  CASE
  SET_FS 0
  EXPECT_ILLEGAL(PRV_M, fadd.d f1, f2, f3)
  EXPECT_ILLEGAL(PRV_M, fmv.x.d a0, f1)
  EXPECT_ILLEGAL(PRV_M, fmv.w.x f1, a0)
  EXPECT_ILLEGAL(PRV_M, fld f1, 0(sp))
  EXPECT_ILLEGAL(PRV_M, fsw f1, 0(sp))
  EXPECT_ILLEGAL(PRV_M, fcvt.d.l f1, a0)
  EXPECT_ILLEGAL(PRV_M, fclass.s a0, f1)
  EXPECT_ILLEGAL(PRV_M, fmadd.s f1, f2, f3, f4)
  EXPECT_ILLEGAL(PRV_M, csrr a0, fcsr)
  EXPECT_ILLEGAL(PRV_M, csrw fflags, zero)
  EXPECT_ILLEGAL(PRV_M, frrm a0)
  EXPECT_ILLEGAL(PRV_S, fadd.s f1, f2, f3)
  EXPECT_ILLEGAL(PRV_U, fsd f1, 0(sp))
  CASE
  TRAP_BEGIN
1:c.fld fa0, 0(a1)
  TRAP_END
  EXPECT_CAUSE CAUSE_ILLEGAL_INSTRUCTION
  la t1, 1b
  lhu t1, 0(t1)
  EXPECT_TVAL_REG t1
  # SD is clear unless FS is Dirty
  CASE
  csrr a0, mstatus
  bltz a0, fail
  SET_FS MSTATUS_FS_DIRTY
  csrr a0, mstatus
  bgez a0, fail
  csrr a0, sstatus
  bgez a0, fail
  CASE
  SET_FS MSTATUS_FS_CLEAN
  csrr a0, mstatus
  bltz a0, fail
  csrr a0, sstatus
  li t1, MSTATUS_FS
  and a0, a0, t1
  CHECK a0, MSTATUS_FS_CLEAN

  # Initial/Clean -> Dirty on a write of FP state
  CASE
  SET_FS MSTATUS_FS_INITIAL
  fadd.d f1, f2, f3
  EXPECT_FS MSTATUS_FS_DIRTY
  csrr a0, mstatus
  bgez a0, fail
  CASE
  SET_FS MSTATUS_FS_CLEAN
  li a1, 5
  fmv.d.x f1, a1
  EXPECT_FS MSTATUS_FS_DIRTY
  CASE
  SET_FS MSTATUS_FS_CLEAN
  la a1, scratch
  fld f2, 0(a1)
  EXPECT_FS MSTATUS_FS_DIRTY
  CASE
  SET_FS MSTATUS_FS_CLEAN
  csrwi fflags, 1
  EXPECT_FS MSTATUS_FS_DIRTY
  CASE
  SET_FS MSTATUS_FS_CLEAN
  csrwi frm, 1
  EXPECT_FS MSTATUS_FS_DIRTY
  csrwi frm, 0
  CASE
  SET_FS MSTATUS_FS_CLEAN
  fcvt.d.w f1, zero
  EXPECT_FS MSTATUS_FS_DIRTY
  # (an op that only sets fflags dirtying FS is in wisp-only.S: QEMU 7.2 does not)
  # S-mode FP writes dirty it too, visible in sstatus
  CASE
  SET_FS MSTATUS_FS_CLEAN
  GUEST PRV_S
  fmv.w.x f1, zero
  csrr a2, sstatus
  GUEST_END
  li t1, MSTATUS_FS
  and a2, a2, t1
  CHECK a2, MSTATUS_FS_DIRTY
  # S can turn FP off through sstatus
  CASE
  GUEST PRV_S
  li t1, MSTATUS_FS
  csrc sstatus, t1
  GUEST_END
  EXPECT_FS 0
  SET_FS MSTATUS_FS_INITIAL
TEST_END

  .data
  .balign 8
scratch: .dword 0
