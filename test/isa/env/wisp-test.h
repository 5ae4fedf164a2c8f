/*
 * wisp ISA tests: the one header every test program includes.
 *
 * A program is M-mode code between TEST_BEGIN and TEST_END (crt.S sets up traps, PMP, the FPU and a
 * stack, then jumps to test_main). Every check belongs to a numbered case:
 *
 *   CASE                           starts case n+1 (numbered in source order, from 1); gp holds
 *                                  (source line << 16) | n, so a failure names both
 *   CHECK reg, value               fails the current case unless reg == value (clobbers t6)
 *   TEST_RR(op, result, a, b)      op a0, a1, a2 with a1 = a, a2 = b
 *   TEST_RI(op, result, a, imm)    op a0, a1, imm
 *
 * Traps. crt.S has an M-mode handler and an S-mode handler. Both record what happened (trap_cause,
 * trap_tval, trap_epc, trap_priv = the mode the trap came from, trap_level = 3 or 1 for the mode that
 * took it, trap_status = mstatus/sstatus as the trap left it, trap_count) and then resume in M-mode, with
 * interrupts off, at the address armed by the macros below. A trap nobody armed fails the test (and
 * prints cause, epc and tval on the UART).
 *
 *   TRAP_BEGIN ... TRAP_END        the M-mode code between must trap; execution continues after TRAP_END
 *   GUEST mode ... GUEST_END       the code between runs in `mode` (PRV_U/S/M) and ends with an ecall;
 *                                  a fault inside ends it early. Either way M-mode continues after
 *                                  GUEST_END and EXPECT_CAUSE says which it was
 *   GUEST_AT mode, delta           the same, but entered at (label - delta): for code reached through an
 *                                  alias mapping (see VM_U_ALIAS)
 *   EXPECT_CAUSE c / EXPECT_TVAL v / EXPECT_TVAL_AT label / EXPECT_EPC_AT label / EXPECT_LEVEL l /
 *   EXPECT_PRIV p                  check the last trap record
 * The macros clobber t0, t1 (and t6 in checks) and use the local labels 8 and 9: guest and trapping
 * code must not define 8: or 9: itself.
 *
 * Paging (crt.S, called from M-mode): vm_init(a0 = 3/4/5 levels) starts fresh tables with the test
 * image mapped 1:1 for S-mode (a 1 GiB page at 0x8000_0000) and returns the satp value;
 * vm_map(a0 = va, a1 = pa, a2 = PTE flags, a3 = leaf level 0=4K 1=2M 2=1G 3=512G 4=256T) returns the
 * leaf PTE's address. VM_ON writes satp and fences.
 *
 * Failures: exit status = case number (QEMU: via the SiFive test finisher, capped at 255; wisp: via
 * tohost), and "FAIL case N line L" on the UART.
 */
#ifndef WISP_TEST_H
#define WISP_TEST_H

/* ---- constants (privileged spec v1.12 chapter 3 and 4, unprivileged spec for fcsr) ---- */
#define PRV_U 0
#define PRV_S 1
#define PRV_M 3

#define MSTATUS_SIE   0x2
#define MSTATUS_MIE   0x8
#define MSTATUS_SPIE  0x20
#define MSTATUS_MPIE  0x80
#define MSTATUS_SPP   0x100
#define MSTATUS_MPP   0x1800
#define MSTATUS_FS    0x6000
#define MSTATUS_FS_INITIAL 0x2000
#define MSTATUS_FS_CLEAN   0x4000
#define MSTATUS_FS_DIRTY   0x6000
#define MSTATUS_MPRV  0x20000
#define MSTATUS_SUM   0x40000
#define MSTATUS_MXR   0x80000
#define MSTATUS_TVM   0x100000
#define MSTATUS_TW    0x200000
#define MSTATUS_TSR   0x400000
#define MSTATUS_UXL   0x300000000
#define MSTATUS_SXL   0xc00000000
#define MSTATUS_SD    0x8000000000000000

/* mip/mie bits (interrupt numbers, privileged spec 3.1.9) */
#define IRQ_SSI 1
#define IRQ_MSI 3
#define IRQ_STI 5
#define IRQ_MTI 7
#define IRQ_SEI 9
#define IRQ_MEI 11
#define MIP_SSIP (1 << IRQ_SSI)
#define MIP_MSIP (1 << IRQ_MSI)
#define MIP_STIP (1 << IRQ_STI)
#define MIP_MTIP (1 << IRQ_MTI)
#define MIP_SEIP (1 << IRQ_SEI)
#define MIP_MEIP (1 << IRQ_MEI)
#define INTERRUPT_BIT 0x8000000000000000

/* exception causes (privileged spec table 3.6) */
#define CAUSE_MISALIGNED_FETCH 0
#define CAUSE_FETCH_ACCESS 1
#define CAUSE_ILLEGAL_INSTRUCTION 2
#define CAUSE_BREAKPOINT 3
#define CAUSE_MISALIGNED_LOAD 4
#define CAUSE_LOAD_ACCESS 5
#define CAUSE_MISALIGNED_STORE 6
#define CAUSE_STORE_ACCESS 7
#define CAUSE_USER_ECALL 8
#define CAUSE_SUPERVISOR_ECALL 9
#define CAUSE_MACHINE_ECALL 11
#define CAUSE_FETCH_PAGE_FAULT 12
#define CAUSE_LOAD_PAGE_FAULT 13
#define CAUSE_STORE_PAGE_FAULT 15

/* menvcfg.STCE (Sstc spec) and the counter-enable bits (privileged spec 3.1.11) */
#define MENVCFG_STCE 0x8000000000000000
#define COUNTEREN_CY 1
#define COUNTEREN_TM 2
#define COUNTEREN_IR 4

/* fflags (unprivileged spec 11.2) and rounding modes */
#define FFLAG_NX 1
#define FFLAG_UF 2
#define FFLAG_OF 4
#define FFLAG_DZ 8
#define FFLAG_NV 16
#define RM_RNE 0
#define RM_RTZ 1
#define RM_RDN 2
#define RM_RUP 3
#define RM_RMM 4

/* Sv39/48/57 PTE bits and satp modes (privileged spec 4.3-4.5) */
#define PTE_V 0x1
#define PTE_R 0x2
#define PTE_W 0x4
#define PTE_X 0x8
#define PTE_U 0x10
#define PTE_G 0x20
#define PTE_A 0x40
#define PTE_D 0x80
#define PTE_RWX (PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D)
#define SATP_MODE_SV39 8
#define SATP_MODE_SV48 9
#define SATP_MODE_SV57 10

/* The user alias: vm_init does not create it; a test that runs U code under paging maps the image a
 * second time, U=1, at VM_U_ALIAS and enters with GUEST_AT PRV_U, VM_U_DELTA. */
#define VM_U_ALIAS 0x40000000
#define VM_U_DELTA (0x80000000 - VM_U_ALIAS)

/* The platform (same map as QEMU virt): CLINT, UART, test finisher. */
#define CLINT_BASE 0x02000000
#define CLINT_MSIP (CLINT_BASE + 0x0)
#define CLINT_MTIMECMP (CLINT_BASE + 0x4000)
#define CLINT_MTIME (CLINT_BASE + 0xbff8)
#define UART_BASE 0x10000000
#define FINISHER_BASE 0x00100000
/* Nothing answers here in wisp (RAM <= 1.75 GiB) nor in QEMU virt: accesses fault. */
#define BAD_PADDR 0xf0000000

/* The magic in a7 with which `fail` asks the M-mode handler to end the test from any mode. */
#define FAIL_MAGIC 0x4641494c

#ifdef __ASSEMBLER__

.set TESTNUM, 0

/* ---- cases and checks ---- */
.macro _case line
  .set TESTNUM, TESTNUM + 1
  li gp, ((\line) << 16) | TESTNUM
.endm
#define CASE _case __LINE__

.macro CHECK reg, value
  li t6, \value
  beq \reg, t6, .Lok\@
  j fail
.Lok\@:
.endm

.macro CHECK_EQ ra, rb
  beq \ra, \rb, .Lok\@
  j fail
.Lok\@:
.endm

/* check reg against the address of a label (PC-relative, so an alias shows up as itself) */
.macro CHECK_ADDR reg, label
  la t6, \label
  beq \reg, t6, .Lok\@
  j fail
.Lok\@:
.endm

#define TEST_RR(op, result, a, b) CASE; li a1, a; li a2, b; op a0, a1, a2; CHECK a0, result
#define TEST_RI(op, result, a, imm) CASE; li a1, a; op a0, a1, imm; CHECK a0, result
/* rd == rs1 == rs2 and rd == rs1: the result must not depend on operands being read after the write */
#define TEST_RR_SAME(op, result, a) CASE; li a1, a; op a1, a1, a1; CHECK a1, result
#define TEST_RR_ZERO(op, a, b) CASE; li a1, a; li a2, b; op zero, a1, a2; CHECK zero, 0

/* ---- program frame ---- */
.macro TEST_BEGIN
  .text
  .globl test_main
test_main:
.endm

.macro TEST_END
  j pass
.endm

/* ---- traps ---- */
.macro _arm resume
  la t0, \resume
  sd t0, trap_resume, t1
  li t0, -1
  sd t0, trap_cause, t1
  sd t0, trap_tval, t1
  sd t0, trap_epc, t1
  sd t0, trap_priv, t1
  sd t0, trap_level, t1
.endm

.macro TRAP_BEGIN
  _arm 9f
.endm

.macro TRAP_END
  j fail
9:
.endm

/* enter `mode` at the next instruction (minus `delta`, for an alias mapping) with MPIE clear */
.macro GUEST_AT mode, delta
  _arm 9f
  li t0, MSTATUS_MPP | MSTATUS_MPIE
  csrc mstatus, t0
  li t0, (\mode) << 11
  csrs mstatus, t0
  la t0, 8f
  li t1, \delta
  sub t0, t0, t1
  csrw mepc, t0
  mret
8:
.endm

.macro GUEST mode
  GUEST_AT \mode, 0
.endm

.macro GUEST_END
  ecall
  j fail
9:
.endm

.macro EXPECT_CAUSE cause
  ld t0, trap_cause
  CHECK t0, \cause
.endm
.macro EXPECT_TVAL value
  ld t0, trap_tval
  CHECK t0, \value
.endm
.macro EXPECT_TVAL_AT label
  ld t0, trap_tval
  CHECK_ADDR t0, \label
.endm
.macro EXPECT_TVAL_REG reg
  ld t0, trap_tval
  CHECK_EQ t0, \reg
.endm
/* tval must hold the instruction at label, 16 or 32 bits, zero-extended (illegal-instruction traps,
 * privileged spec 3.1.16) */
.macro EXPECT_TVAL_INSN label
  la t6, \label
  lhu t5, 0(t6)
  andi t0, t5, 3
  li t1, 3
  bne t0, t1, .Lc\@
  lwu t5, 0(t6)
.Lc\@:
  ld t0, trap_tval
  CHECK_EQ t0, t5
.endm
.macro EXPECT_EPC_AT label
  ld t0, trap_epc
  CHECK_ADDR t0, \label
.endm
.macro EXPECT_EPC_REG reg
  ld t0, trap_epc
  CHECK_EQ t0, \reg
.endm
.macro EXPECT_LEVEL level
  ld t0, trap_level
  CHECK t0, \level
.endm
.macro EXPECT_PRIV priv
  ld t0, trap_priv
  CHECK t0, \priv
.endm

/* One instruction run in `mode` (from a fresh case): it must raise illegal instruction with tval = its
 * bits and epc = its address (EXPECT_ILLEGAL), or complete (EXPECT_OK: the guest's ecall is what traps). */
.macro _expect_illegal line, mode, insn:vararg
  _case \line
  GUEST \mode
.Li\@: \insn
  GUEST_END
  EXPECT_CAUSE CAUSE_ILLEGAL_INSTRUCTION
  EXPECT_TVAL_INSN .Li\@
  EXPECT_EPC_AT .Li\@
.endm
.macro _expect_ok line, mode, insn:vararg
  _case \line
  GUEST \mode
  \insn
  GUEST_END
  EXPECT_CAUSE CAUSE_USER_ECALL + (\mode)
.endm
#define EXPECT_ILLEGAL(mode, ...) _expect_illegal __LINE__, mode, __VA_ARGS__
#define EXPECT_OK(mode, ...) _expect_ok __LINE__, mode, __VA_ARGS__

/* ---- paging ---- */
.macro VM_ON
  ld t0, vm_satp
  csrw satp, t0
  sfence.vma
.endm
.macro VM_OFF
  csrw satp, zero
  sfence.vma
.endm

/* ---- FP cases: operands and results as raw bits, fflags compared exactly (cleared before the op).
 * Double results are the 64 register bits; single results are the low 32 bits (the NaN-boxing of
 * single results is checked in nan-boxing.S). rm is an assembler rounding-mode name: rne rtz rdn rup
 * rmm dyn, or none for the exact conversions that take no mode. */
.macro _fp_in_d a, b, c
  li t0, \a
  fmv.d.x f1, t0
  li t0, \b
  fmv.d.x f2, t0
  li t0, \c
  fmv.d.x f3, t0
  fsflags zero
.endm
.macro _fp_in_s a, b, c
  li t0, \a
  fmv.w.x f1, t0
  li t0, \b
  fmv.w.x f2, t0
  li t0, \c
  fmv.w.x f3, t0
  fsflags zero
.endm
.macro _fp_out_d res, flags
  frflags a1
  fmv.x.d a0, f4
  CHECK a0, \res
  CHECK a1, \flags
.endm
.macro _fp_out_s res, flags
  frflags a1
  fmv.x.w a0, f4
  slli a0, a0, 32
  srli a0, a0, 32
  CHECK a0, \res
  CHECK a1, \flags
.endm
.macro _fp_out_x res, flags
  frflags a1
  CHECK a0, \res
  CHECK a1, \flags
.endm
.macro _fp2 line, w, op, rm, res, a, b, flags
  _case \line
  _fp_in_\w \a, \b, 0
  \op f4, f1, f2, \rm
  _fp_out_\w \res, \flags
.endm
/* ops without a rounding mode (fmin, fsgnj...) */
.macro _fp2n line, w, op, res, a, b, flags
  _case \line
  _fp_in_\w \a, \b, 0
  \op f4, f1, f2
  _fp_out_\w \res, \flags
.endm
.macro _fp1 line, w, op, rm, res, a, flags
  _case \line
  _fp_in_\w \a, 0, 0
  \op f4, f1, \rm
  _fp_out_\w \res, \flags
.endm
.macro _fp3 line, w, op, rm, res, a, b, c, flags
  _case \line
  _fp_in_\w \a, \b, \c
  \op f4, f1, f2, f3, \rm
  _fp_out_\w \res, \flags
.endm
/* FP -> integer register (fcvt.*.d/s with rm, or compares/fclass without) */
.macro _fp_to_x line, w, op, rm, res, a, flags
  _case \line
  _fp_in_\w \a, 0, 0
  \op a0, f1, \rm
  _fp_out_x \res, \flags
.endm
.macro _fp_cmp line, w, op, res, a, b, flags
  _case \line
  _fp_in_\w \a, \b, 0
  \op a0, f1, f2
  _fp_out_x \res, \flags
.endm
.macro _fp_class line, w, op, res, a
  _case \line
  _fp_in_\w \a, 0, 0
  \op a0, f1
  _fp_out_x \res, 0
.endm
/* integer register -> FP (w = result width) */
.macro _x_to_fp line, w, op, rm, res, a, flags
  _case \line
  li a2, \a
  fsflags zero
  .ifc \rm, none
  \op f4, a2                    /* exact conversions take no rounding mode */
  .else
  \op f4, a2, \rm
  .endif
  _fp_out_\w \res, \flags
.endm
/* FP -> FP of the other width: win = input width, wout = output width */
.macro _fp_cvt line, win, wout, op, rm, res, a, flags
  _case \line
  _fp_in_\win \a, 0, 0
  .ifc \rm, none
  \op f4, f1
  .else
  \op f4, f1, \rm
  .endif
  _fp_out_\wout \res, \flags
.endm
#define TEST_FP2_D(op, rm, res, a, b, flags) _fp2 __LINE__, d, op, rm, res, a, b, flags
#define TEST_FP2_S(op, rm, res, a, b, flags) _fp2 __LINE__, s, op, rm, res, a, b, flags
#define TEST_FP2N_D(op, res, a, b, flags) _fp2n __LINE__, d, op, res, a, b, flags
#define TEST_FP2N_S(op, res, a, b, flags) _fp2n __LINE__, s, op, res, a, b, flags
#define TEST_FP1_D(op, rm, res, a, flags) _fp1 __LINE__, d, op, rm, res, a, flags
#define TEST_FP1_S(op, rm, res, a, flags) _fp1 __LINE__, s, op, rm, res, a, flags
#define TEST_FP3_D(op, rm, res, a, b, c, flags) _fp3 __LINE__, d, op, rm, res, a, b, c, flags
#define TEST_FP3_S(op, rm, res, a, b, c, flags) _fp3 __LINE__, s, op, rm, res, a, b, c, flags
#define TEST_FP_TO_X_D(op, rm, res, a, flags) _fp_to_x __LINE__, d, op, rm, res, a, flags
#define TEST_FP_TO_X_S(op, rm, res, a, flags) _fp_to_x __LINE__, s, op, rm, res, a, flags
#define TEST_FCMP_D(op, res, a, b, flags) _fp_cmp __LINE__, d, op, res, a, b, flags
#define TEST_FCMP_S(op, res, a, b, flags) _fp_cmp __LINE__, s, op, res, a, b, flags
#define TEST_FCLASS_D(res, a) _fp_class __LINE__, d, fclass.d, res, a
#define TEST_FCLASS_S(res, a) _fp_class __LINE__, s, fclass.s, res, a
#define TEST_X_TO_D(op, rm, res, a, flags) _x_to_fp __LINE__, d, op, rm, res, a, flags
#define TEST_X_TO_S(op, rm, res, a, flags) _x_to_fp __LINE__, s, op, rm, res, a, flags
#define TEST_D_TO_S(rm, res, a, flags) _fp_cvt __LINE__, d, s, fcvt.s.d, rm, res, a, flags
#define TEST_S_TO_D(res, a, flags) _fp_cvt __LINE__, s, d, fcvt.d.s, none, res, a, flags

/* IEEE 754 binary64/binary32 encodings used across the FP tests */
#define D_ONE 0x3ff0000000000000
#define D_TWO 0x4000000000000000
#define D_THREE 0x4008000000000000
#define D_HALF 0x3fe0000000000000
#define D_M_ONE 0xbff0000000000000
#define D_PZERO 0x0000000000000000
#define D_MZERO 0x8000000000000000
#define D_PINF 0x7ff0000000000000
#define D_MINF 0xfff0000000000000
#define D_QNAN 0x7ff8000000000000
#define D_SNAN 0x7ff0000000000001
#define D_MAX 0x7fefffffffffffff
#define D_MIN_NORMAL 0x0010000000000000
#define D_MIN_SUB 0x0000000000000001
#define S_ONE 0x3f800000
#define S_TWO 0x40000000
#define S_THREE 0x40400000
#define S_HALF 0x3f000000
#define S_M_ONE 0xbf800000
#define S_PZERO 0x00000000
#define S_MZERO 0x80000000
#define S_PINF 0x7f800000
#define S_MINF 0xff800000
#define S_QNAN 0x7fc00000
#define S_SNAN 0x7f800001
#define S_MAX 0x7f7fffff
#define S_MIN_NORMAL 0x00800000
#define S_MIN_SUB 0x00000001

/* ---- FP helpers: move raw bits in and out ---- */
.macro FLI_D freg, bits
  li t0, \bits
  fmv.d.x \freg, t0
.endm
.macro FLI_S freg, bits
  li t0, \bits
  fmv.w.x \freg, t0
.endm

#endif /* __ASSEMBLER__ */
#endif /* WISP_TEST_H */
