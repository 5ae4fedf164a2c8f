# SMP: LR/SC across harts (unprivileged spec 8.2). Every hart increments two shared counters a
# million times with LR/SC retry loops (W and D): they end at exactly NHARTS * ITER. Then, with two
# harts: an SC fails when another hart wrote the reserved word after the LR, and succeeds when the
# other hart wrote elsewhere.
#include "wisp-test.h"
#define NHARTS 4
#define ITER 1000000

TEST_BEGIN
  CASE
  li a0, 0
  call work
  la t0, done
1:lw t1, 0(t0)
  li t2, NHARTS
  bne t1, t2, 1b
  fence r, r
  CASE
  la t0, counter_w
  lw t1, 0(t0)
  CHECK t1, NHARTS * ITER
  CASE
  la t0, counter_d
  ld t1, 0(t0)
  CHECK t1, NHARTS * ITER

  # Hart 1 stores to the reserved word between this hart's LR and SC: the SC must fail.
  CASE
  la a1, target
  lr.d a0, (a1)
  li t1, 1
  la t0, step
  amoswap.w.aqrl zero, t1, (t0) # step 1: hart 1 writes `target`
1:lw t1, 0(t0)
  li t2, 2
  bne t1, t2, 1b                # step 2: it has
  li a2, 77
  sc.d a3, a2, (a1)
  beqz a3, fail
  ld t1, 0(a1)
  CHECK t1, 55                  # hart 1's value, not ours
  # Hart 1 stores elsewhere between LR and SC: the SC succeeds.
  CASE
  lr.d a0, (a1)
  li t1, 3
  amoswap.w.aqrl zero, t1, (t0) # step 3: hart 1 writes `elsewhere`
1:lw t1, 0(t0)
  li t2, 4
  bne t1, t2, 1b
  li a2, 88
  sc.d a3, a2, (a1)
  CHECK a3, 0
  ld t1, 0(a1)
  CHECK t1, 88
TEST_END

  .globl secondary_main
secondary_main:
  call work
  li t2, 1
  bne a0, t2, 9f                # only hart 1 plays the second part
  la t0, step
1:lw t1, 0(t0)
  li t2, 1
  bne t1, t2, 1b
  la t3, target
  li t1, 55
  sd t1, 0(t3)
  li t1, 2
  amoswap.w.aqrl zero, t1, (t0)
1:lw t1, 0(t0)
  li t2, 3
  bne t1, t2, 1b
  la t3, elsewhere
  li t1, 66
  sd t1, 0(t3)
  li t1, 4
  amoswap.w.aqrl zero, t1, (t0)
9:wfi
  j 9b

work:
  la t0, arrived
  li t1, 1
  amoadd.w zero, t1, (t0)
1:lw t1, 0(t0)
  li t2, NHARTS
  blt t1, t2, 1b
  la t4, counter_w
  la t5, counter_d
  li t3, ITER
2:lr.w t1, (t4)
  addi t1, t1, 1
  sc.w t2, t1, (t4)
  bnez t2, 2b
3:lr.d t1, (t5)
  addi t1, t1, 1
  sc.d t2, t1, (t5)
  bnez t2, 3b
  addi t3, t3, -1
  bnez t3, 2b
  la t0, done
  li t1, 1
  amoadd.w.rl zero, t1, (t0)
  ret

  .data
  .balign 64
arrived: .dword 0
done: .dword 0
counter_w: .dword 0
  .balign 64
counter_d: .dword 0
  .balign 64
step: .dword 0
  .balign 64
target: .dword 11
  .balign 64
elsewhere: .dword 0
