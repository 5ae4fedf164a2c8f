/*
 * wisp ISA tests: start-up, trap handlers, pass/fail and page-table helpers shared by every program.
 * See wisp-test.h for the contract. Starts at 0x8000_0000 in M-mode with a0 = hartid.
 */
#include "wisp-test.h"

  .section .text.init, "ax"
  .globl _start
_start:
  /* Hart 0 runs the test; the others (multi-hart programs: wisp bare --harts N, QEMU -smp N) go to
   * secondary_main with a0 = mhartid and a stack of their own. */
  csrr t0, mhartid
  bnez t0, secondary_start

  /* Everything but sp/gp starts from a known zero (wisp does this already; QEMU leaves a0/a1 set). */
  li gp, 0
  la sp, stack_top
  la t0, trap_m
  csrw mtvec, t0
  la t0, trap_s
  csrw stvec, t0
  csrw mie, zero
  csrw mip, zero
  csrw medeleg, zero
  csrw mideleg, zero
  csrw satp, zero
  /* PMP entry 0: NAPOT over the whole address space, RWX, unlocked (QEMU enforces PMP for S/U; wisp
   * keeps the registers only). Privileged spec 3.7.1: all-ones pmpaddr with NAPOT = everything. */
  li t0, -1
  csrw pmpaddr0, t0
  li t0, 0x1f
  csrw pmpcfg0, t0
  /* mstatus: FS = Initial so FP works, MPP = M, everything else off. */
  li t0, MSTATUS_FS_INITIAL | MSTATUS_MPP
  csrw mstatus, t0
  csrwi fcsr, 0
  /* Counters visible to S and U unless a test says otherwise. */
  li t0, 7
  csrw mcounteren, t0
  csrw scounteren, t0
  li a0, 0
  li a1, 0
  j test_main

/* Harts other than 0: 4 KiB of stack each below secondary_stacks_top, the M-mode trap handler (a trap
 * nobody armed fails the test), then secondary_main(a0 = mhartid). */
secondary_start:
  la sp, secondary_stacks_top
  slli t1, t0, 12
  sub sp, sp, t1
  la t1, trap_m
  csrw mtvec, t1
  li t1, MSTATUS_FS_INITIAL | MSTATUS_MPP
  csrw mstatus, t1
  mv a0, t0
  j secondary_main

  /* A program without work for the other harts leaves them here, asleep. */
  .weak secondary_main
secondary_main:
1:wfi
  j 1b

  .text
/* ---------------------------------------------------------------- pass / fail */
  .globl pass
pass:
  li t0, 1
  sd t0, tohost, t1
  li t0, FINISHER_BASE
  li t1, 0x5555                 /* SiFive test finisher: FINISHER_PASS */
  sw t1, 0(t0)
1:j 1b

  /* From any mode: ask the M-mode handler to end the test (M-mode ecalls reach it too). */
  .globl fail
fail:
  li a7, FAIL_MAGIC
  ecall
1:j 1b

/* M-mode only; gp = (line << 16) | case. */
fail_m:
  la a0, msg_fail
  call puts
  li t0, 0xffff
  and a0, gp, t0
  call putdec
  la a0, msg_line
  call puts
  srli a0, gp, 16
  call putdec
  /* the last recorded trap helps to tell "wrong trap" from "no trap" */
  la a0, msg_last
  call puts
  ld a0, trap_cause
  call puthex
  la a0, msg_ltval
  call puts
  ld a0, trap_tval
  call puthex
  la a0, msg_lepc
  call puts
  ld a0, trap_epc
  call puthex
  la a0, msg_end
  call puts
  li a0, '\n'
  call putc
  li t0, 0xffff
  and s0, gp, t0
  bnez s0, 1f
  li s0, 255                    /* a failure outside any case must still be a failure */
1:slli t0, s0, 1
  ori t0, t0, 1
  sd t0, tohost, t1
  li t0, 255
  bleu s0, t0, 2f
  li s0, 255                    /* the finisher's status is 16 bits but a process exit code is 8 */
2:slli t0, s0, 16
  li t1, 0x3333                 /* FINISHER_FAIL */
  or t0, t0, t1
  li t1, FINISHER_BASE
  sw t0, 0(t1)
3:j 3b

/* ---------------------------------------------------------------- UART output (M-mode, clobbers t0-t3) */
  .globl putc, puts, putdec
putc:
  li t0, UART_BASE
  sb a0, 0(t0)
  ret

puts:
  mv t2, a0
  mv t3, ra
1:lbu a0, 0(t2)
  beqz a0, 2f
  call putc
  addi t2, t2, 1
  j 1b
2:mv ra, t3
  ret

puthex:
  mv t2, a0
  mv t3, ra
  li t1, 60
1:srl a0, t2, t1
  andi a0, a0, 15
  addi a0, a0, '0'
  li t0, '9'
  bleu a0, t0, 2f
  addi a0, a0, 'a' - '0' - 10
2:call putc
  addi t1, t1, -4
  bgez t1, 1b
  mv ra, t3
  ret

putdec:                         /* a0 < 10^6, no leading zeros */
  mv t2, a0
  mv t3, ra
  li t1, 100000
1:li t0, 1
  beq t1, t0, 2f                /* always print the last digit */
  bgeu t2, t1, 2f
  li t0, 10
  divu t1, t1, t0
  j 1b
2:divu a0, t2, t1
  remu t2, t2, t1
  addi a0, a0, '0'
  call putc
  li t0, 10
  divu t1, t1, t0
  bnez t1, 2b
  mv ra, t3
  ret

/* ---------------------------------------------------------------- M-mode trap handler */
  .balign 4
  .globl trap_m
trap_m:
  csrw mscratch, t0
  la t0, trap_save_m
  sd t1, 8(t0)
  sd t2, 16(t0)
  sd t3, 24(t0)
  csrr t1, mscratch
  sd t1, 0(t0)
  csrr t1, mcause

  /* The S-mode handler forwards with an ecall after recording: just resume. */
  li t2, CAUSE_SUPERVISOR_ECALL
  bne t1, t2, 1f
  ld t2, trap_sfwd
  beqz t2, 1f
  sd zero, trap_sfwd, t3
  j trap_m_resume
1:
  /* fail from any mode */
  bltz t1, 2f
  li t2, CAUSE_USER_ECALL
  bltu t1, t2, 2f
  li t2, CAUSE_MACHINE_ECALL
  bgtu t1, t2, 2f
  li t2, FAIL_MAGIC
  beq a7, t2, fail_m
2:
  sd t1, trap_cause, t3
  csrr t1, mtval
  sd t1, trap_tval, t3
  csrr t1, mepc
  sd t1, trap_epc, t3
  csrr t1, mstatus
  sd t1, trap_status, t3
  srli t1, t1, 11
  andi t1, t1, 3
  sd t1, trap_priv, t3
  li t1, 3
  sd t1, trap_level, t3
  ld t1, trap_count
  addi t1, t1, 1
  sd t1, trap_count, t3

trap_m_resume:
  ld t1, trap_resume
  beqz t1, trap_unexpected
  sd zero, trap_resume, t3
  csrw mepc, t1
  /* Back to M-mode, interrupts off, MPRV off. */
  li t1, MSTATUS_MPIE | MSTATUS_MPRV
  csrc mstatus, t1
  li t1, MSTATUS_MPP
  csrs mstatus, t1
  la t0, trap_save_m
  ld t1, 8(t0)
  ld t2, 16(t0)
  ld t3, 24(t0)
  ld t0, 0(t0)
  mret

trap_unexpected:
  /* Leave the recorded values of the unexpected trap in the message. */
  la a0, msg_unexpected
  call puts
  csrr a0, mcause
  call puthex
  la a0, msg_epc
  call puts
  csrr a0, mepc
  call puthex
  la a0, msg_tval
  call puts
  csrr a0, mtval
  call puthex
  li a0, '\n'
  call putc
  j fail_m

/* ---------------------------------------------------------------- S-mode trap handler (delegated traps) */
  .balign 4
  .globl trap_s
trap_s:
  csrw sscratch, t0
  la t0, trap_save_s
  sd t1, 8(t0)
  sd t2, 16(t0)
  sd t3, 24(t0)
  csrr t1, sscratch
  sd t1, 0(t0)
  csrr t1, scause
  /* fail from U with ecall delegated */
  li t2, CAUSE_USER_ECALL
  bne t1, t2, 1f
  li t2, FAIL_MAGIC
  beq a7, t2, fail
1:
  sd t1, trap_cause, t3
  csrr t1, stval
  sd t1, trap_tval, t3
  csrr t1, sepc
  sd t1, trap_epc, t3
  csrr t1, sstatus
  sd t1, trap_status, t3
  srli t1, t1, 8
  andi t1, t1, 1
  sd t1, trap_priv, t3
  li t1, 1
  sd t1, trap_level, t3
  ld t1, trap_count
  addi t1, t1, 1
  sd t1, trap_count, t3
  ld t1, trap_resume
  bnez t1, 2f
  /* Unexpected in S: say so, then fail (through M). */
  j fail
2:
  li t1, 1
  sd t1, trap_sfwd, t2
  la t0, trap_save_s
  ld t1, 8(t0)
  ld t2, 16(t0)
  ld t3, 24(t0)
  ld t0, 0(t0)
  ecall                         /* to trap_m, which resumes at trap_resume in M-mode */
1:j 1b

/* ---------------------------------------------------------------- page tables (M-mode) */
/* a0 = number of levels (3 Sv39, 4 Sv48, 5 Sv57). Returns a0 = satp. Clobbers t0-t6, a1-a3. */
  .globl vm_init
vm_init:
  addi sp, sp, -16
  sd ra, 0(sp)
  sd a0, vm_levels, t0
  la t0, vm_pool
  sd t0, vm_next, t1
  call vm_alloc
  sd t2, vm_root, t0
  ld t0, vm_levels
  addi t0, t0, SATP_MODE_SV39 - 3
  slli t0, t0, 60
  srli a0, t2, 12
  or a0, a0, t0
  sd a0, vm_satp, t0
  /* the test image, 1:1, for S-mode code and the S-mode handler */
  li a0, 0x80000000
  li a1, 0x80000000
  li a2, PTE_RWX
  li a3, 2
  call vm_map
  ld a0, vm_satp
  ld ra, 0(sp)
  addi sp, sp, 16
  ret

/* returns t2 = a zeroed 4 KiB page from the pool; clobbers t4, t6 */
vm_alloc:
  ld t2, vm_next
  li t4, 4096
  add t4, t2, t4
  la t6, vm_pool_end
  bgtu t4, t6, fail             /* pool exhausted: the test maps too much */
  sd t4, vm_next, t6
  mv t6, t2
1:sd zero, 0(t6)
  addi t6, t6, 8
  bltu t6, t4, 1b
  ret

/* a0 = va, a1 = pa, a2 = flags, a3 = leaf level. Returns a0 = address of the leaf PTE. Clobbers t0-t6. */
  .globl vm_map
vm_map:
  addi sp, sp, -16
  sd ra, 0(sp)
  ld t0, vm_root
  ld t1, vm_levels
  addi t1, t1, -1
1:li t2, 9
  mul t2, t2, t1
  addi t2, t2, 12
  srl t3, a0, t2
  andi t3, t3, 511
  slli t3, t3, 3
  add t3, t0, t3                /* t3 = &table[vpn[level]] */
  beq t1, a3, 3f
  ld t4, 0(t3)
  andi t2, t4, PTE_V
  bnez t2, 2f
  call vm_alloc
  srli t4, t2, 12
  slli t4, t4, 10
  ori t4, t4, PTE_V
  sd t4, 0(t3)
2:srli t0, t4, 10
  slli t0, t0, 12
  addi t1, t1, -1
  j 1b
3:srli t4, a1, 12
  slli t4, t4, 10
  or t4, t4, a2
  sd t4, 0(t3)
  mv a0, t3
  ld ra, 0(sp)
  addi sp, sp, 16
  ret

  .section .rodata
msg_fail: .asciz "FAIL case "
msg_line: .asciz " line "
msg_unexpected: .asciz "unexpected trap mcause=0x"
msg_epc: .asciz " mepc=0x"
msg_tval: .asciz " mtval=0x"
msg_last: .asciz " (last trap: cause=0x"
msg_ltval: .asciz " tval=0x"
msg_end: .asciz ")"
msg_lepc: .asciz " epc=0x"

  .section .tohost, "aw", @progbits
  .balign 64
  .globl tohost
tohost: .dword 0
  .balign 64
  .globl fromhost
fromhost: .dword 0

  .data
  .balign 8
  .globl trap_resume, trap_cause, trap_tval, trap_epc, trap_priv, trap_level, trap_status, trap_count
trap_resume: .dword 0
trap_cause: .dword 0
trap_tval: .dword 0
trap_epc: .dword 0
trap_priv: .dword 0
trap_level: .dword 0
trap_status: .dword 0
trap_count: .dword 0
trap_sfwd: .dword 0
trap_save_m: .dword 0, 0, 0, 0
trap_save_s: .dword 0, 0, 0, 0
  .globl vm_satp, vm_root
vm_levels: .dword 0
vm_root: .dword 0
vm_next: .dword 0
vm_satp: .dword 0

  .bss
  .balign 4096
stack: .skip 8192
stack_top:
  .balign 4096
secondary_stacks: .skip 32 * 4096
secondary_stacks_top:
  .balign 4096
vm_pool: .skip 32 * 4096
vm_pool_end:
