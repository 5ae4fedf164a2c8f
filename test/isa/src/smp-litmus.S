# SMP litmus test "SB" (store buffering) under RVWMO (unprivileged spec chapter 17, and its litmus
# suite): hart 0 stores x = 1 then loads y; hart 1 stores y = 1 then loads x. With FENCE RW,RW
# between each store and load, both loads reading 0 is forbidden; the test fails if it ever happens.
# Each round starts both harts together (a barrier), so their stores and loads overlap in time. The
# same rounds without the fences (where reading 0 twice is allowed: a store can wait in a store
# buffer, as on x86) are counted and printed, to show the harts really ran side by side.
#include "wisp-test.h"
#define NHARTS 2
#define ROUNDS 4000

TEST_BEGIN
  CASE
  li s1, 0                      # round
  li s2, 0                      # barrier generation
  li s3, 0                      # both-zero outcomes
1:call barrier
  la t0, x
  la t1, y
  li t2, 1
  sw t2, 0(t0)
  fence rw, rw
  lw s4, 0(t1)
  call barrier                  # hart 1 has its load too
  la t0, r1
  lw t3, 0(t0)
  or t3, t3, s4
  beqz t3, fail                 # both loads read 0: forbidden with the fences
  call reset
  addi s1, s1, 1
  li t0, ROUNDS
  blt s1, t0, 1b
  CASE                          # the same without fences: allowed, only counted
  li s1, 0
1:call barrier
  la t0, x
  la t1, y
  li t2, 1
  sw t2, 0(t0)
  lw s4, 0(t1)
  call barrier
  la t0, r1
  lw t3, 0(t0)
  or t3, t3, s4
  bnez t3, 2f
  addi s3, s3, 1
2:call reset
  addi s1, s1, 1
  li t0, ROUNDS
  blt s1, t0, 1b
  la a0, msg_sb
  call puts
  mv a0, s3
  call putdec
  la a0, msg_of
  call puts
  li a0, ROUNDS
  call putdec
  li a0, '\n'
  call putc
TEST_END

/* Both harts wait here until both arrived (generation s2 + 1). Clobbers t0-t2. */
barrier:
  addi s2, s2, 1
  la t0, arrived
  li t1, 1
  amoadd.w.aqrl zero, t1, (t0)
  slli t2, s2, 1                # NHARTS * generation
1:lw t1, 0(t0)
  blt t1, t2, 1b
  fence r, rw
  ret

/* Hart 0, after a round: x = y = r1 = 0, then one more barrier so hart 1 sees them. */
reset:
  mv s5, ra
  la t0, x
  sw zero, 0(t0)
  la t0, y
  sw zero, 0(t0)
  la t0, r1
  sw zero, 0(t0)
  fence w, w
  call barrier
  mv ra, s5
  ret

  .globl secondary_main
secondary_main:
  li t6, 1
  bne a0, t6, 9f
  li s2, 0
  li s1, 0
1:call barrier
  la t0, y
  la t1, x
  li t2, 1
  sw t2, 0(t0)
  fence rw, rw
  lw t3, 0(t1)
  la t0, r1
  sw t3, 0(t0)
  call barrier
  call barrier                  # hart 0's reset
  addi s1, s1, 1
  li t0, ROUNDS
  blt s1, t0, 1b
  li s1, 0
1:call barrier
  la t0, y
  la t1, x
  li t2, 1
  sw t2, 0(t0)
  lw t3, 0(t1)
  la t0, r1
  sw t3, 0(t0)
  call barrier
  call barrier
  addi s1, s1, 1
  li t0, ROUNDS
  blt s1, t0, 1b
9:wfi
  j 9b

  .section .rodata
msg_sb: .asciz "smp-litmus: SB without fences, both loads read 0 in "
msg_of: .asciz " rounds of "

  .data
  .balign 64
arrived: .dword 0
  .balign 64
x: .dword 0
  .balign 64
y: .dword 0
  .balign 64
r1: .dword 0
