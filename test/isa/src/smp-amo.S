# SMP: every hart adds 1 to two shared counters a million times, with AMOADD.W and AMOADD.D
# (unprivileged spec 8.4: an AMO is one atomic read-modify-write): the counters end at exactly
# NHARTS * ITER, no increment lost between harts running at the same time. Then every hart races
# AMOMAX/AMOMIN/AMOSWAP on shared words with its own values: the results are the max, the min, and
# one of the values swapped in.
#include "wisp-test.h"
#define NHARTS 4
#define ITER 1000000

TEST_BEGIN
  CASE
  li a0, 0
  call work                     # hart 0 works as well
  la t0, done
1:lw t1, 0(t0)
  li t2, NHARTS
  bne t1, t2, 1b
  fence r, r                    # what the others wrote before their done count
  CASE
  la t0, counter_w
  lw t1, 0(t0)
  CHECK t1, NHARTS * ITER
  CASE
  la t0, counter_d
  ld t1, 0(t0)
  CHECK t1, NHARTS * ITER
  CASE
  la t0, maxw
  ld t1, 0(t0)
  CHECK t1, 0x100 + NHARTS - 1   # amomax.w: the largest value any hart offered (upper half untouched: 0)
  CASE
  la t0, mind
  ld t1, 0(t0)
  CHECK t1, -0x100               # amomin.d: hart 0's value, the smallest (signed)
  CASE
  la t0, swapped                # amoswap.d: the last value is one hart's id + 1, and each hart saw a distinct old value
  ld t1, 0(t0)
  beqz t1, fail
  li t2, NHARTS
  bgtu t1, t2, fail
TEST_END

  .globl secondary_main
secondary_main:
  call work
1:wfi
  j 1b

/* The work of hart a0: wait for every hart, then ITER increments of each counter. Clobbers t0-t5, a1. */
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
  li t1, 1
2:amoadd.w zero, t1, (t4)
  amoadd.d zero, t1, (t5)
  addi t3, t3, -1
  bnez t3, 2b
  # min/max/swap with this hart's own values
  la t4, maxw
  addi t1, a0, 0x100
  amomax.w zero, t1, (t4)
  la t4, mind
  slli t1, a0, 8
  addi t1, t1, -0x100           # hart h offers (h - 1) * 0x100: hart 0 the smallest
  amomin.d zero, t1, (t4)
  la t4, swapped
  addi t1, a0, 1
  amoswap.d zero, t1, (t4)
  la t0, done
  li t1, 1
  amoadd.w.rl zero, t1, (t0)
  ret

  .data
  .balign 64
arrived: .dword 0
done: .dword 0
counter_w: .dword 0
counter_d: .dword 0
maxw: .dword 0
mind: .dword 0x7fffffffffffffff
swapped: .dword 0
