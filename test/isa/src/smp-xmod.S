# SMP cross-modifying code (unprivileged spec 5.1, Zifencei): hart 0 runs a function many times
# (so a translating engine has translated it), hart 1 rewrites one of its instructions and says so
# through memory; after FENCE.I hart 0 must run the new instruction. Then the other way round for a
# function hart 1 runs.
# QEMU-ONE-THREAD: QEMU 7.2's multi-threaded TCG runs hart 0's stale translation after hart 1's store and hart 0's FENCE.I (case 2 failed 18 of 60 runs here); with one TCG thread it passed 40 of 40
#include "wisp-test.h"
#define NHARTS 2
#define LI_A0_1 0x00100513
#define LI_A0_2 0x00200513
#define LI_A0_3 0x00300513

TEST_BEGIN
  CASE
  li s1, 2000
1:call patched
  CHECK a0, 1
  addi s1, s1, -1
  bnez s1, 1b
  la t0, step
  li t1, 1
  amoswap.w.aqrl zero, t1, (t0) # step 1: hart 1 rewrites `patched`
2:lw t1, 0(t0)
  li t2, 2
  bne t1, t2, 2b
  fence r, r
  fence.i
  call patched
  CHECK a0, 2
  CASE                          # hart 0 rewrites the code hart 1 runs
  la t0, patched
  li t1, LI_A0_3
  sw t1, 0(t0)
  fence w, w
  la t0, step
  li t1, 3
  amoswap.w.aqrl zero, t1, (t0) # step 3: hart 1 fences and calls it
2:lw t1, 0(t0)
  li t2, 4
  bne t1, t2, 2b
  la t0, result
  ld t1, 0(t0)
  CHECK t1, 3
TEST_END

  .globl secondary_main
secondary_main:
  li t6, 1
  bne a0, t6, 9f
  la t0, step
1:lw t1, 0(t0)
  li t2, 1
  bne t1, t2, 1b
  la t0, patched
  li t1, LI_A0_2
  sw t1, 0(t0)
  fence w, w
  la t0, step
  li t1, 2
  amoswap.w.aqrl zero, t1, (t0)
  li s1, 2000                   # run it many times meanwhile, so hart 1 has it translated too
2:call patched
  addi s1, s1, -1
  bnez s1, 2b
1:lw t1, 0(t0)
  li t2, 3
  bne t1, t2, 1b
  fence r, r
  fence.i
  call patched
  la t0, result
  sd a0, 0(t0)
  la t0, step
  li t1, 4
  amoswap.w.aqrl zero, t1, (t0)
9:wfi
  j 9b

  .text
  .balign 4096
  .option push
  .option norvc
patched:
  li a0, 1
  ret
  .option pop
  .balign 4096

  .data
  .balign 64
step: .dword 0
result: .dword 0
