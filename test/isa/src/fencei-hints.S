# Zifencei: stores to instruction memory take effect for fetches after FENCE.I, including an instruction
# that already ran and one that directly follows the fence (unprivileged spec chapter 3). Also FENCE
# variants, FENCE.TSO, Zihintpause's PAUSE and HINT encodings execute as no-ops (2.9, chapter 4).
#include "wisp-test.h"
TEST_BEGIN
  # copy `li a0, 1; ret` into a buffer and call it
  CASE
  la a1, buf
  la a2, tmpl1
  lwu t1, 0(a2)
  sw t1, 0(a1)
  lwu t1, 4(a2)
  sw t1, 4(a1)
  fence.i
  jalr ra, 0(a1)
  CHECK a0, 1
  # run it a few times (warm any cache), then patch the first word to `li a0, 2`
  CASE
  li s0, 5
1:la a1, buf
  jalr ra, 0(a1)
  addi s0, s0, -1
  bnez s0, 1b
  CHECK a0, 1
  la a2, tmpl2
  lwu t1, 0(a2)
  la a1, buf
  sw t1, 0(a1)
  fence.i
  jalr ra, 0(a1)
  CHECK a0, 2
  # patch the instruction right after the fence, in straight-line code (in .data: writable)
  CASE
  la a2, tmpl3
  lwu t1, 0(a2)
  call patch_next
  CHECK a0, 3
  # and again with another value, in a loop: each iteration must see its own store
  CASE
  li s1, 0
  li s0, 4
2:la a2, tmpl1
  lwu t1, 0(a2)
  andi t2, s0, 1
  beqz t2, 3f
  la a2, tmpl2
  lwu t1, 0(a2)
3:call patch_next
  add s1, s1, a0
  addi s0, s0, -1
  bnez s0, 2b
  CHECK s1, 6                    # 1 + 2 + 1 + 2

  # fences and hints: no trap, no architectural effect
  CASE
  li a0, 5
  fence
  fence rw, rw
  fence r, w
  fence iorw, iorw
  fence.tso
  .word 0x0100000f               # pause (fence w, 0; binutils 2.40 wants -march=..._zihintpause)
  .word 0x00500013               # addi x0, x0, 5 (HINT)
  .word 0x00101013               # slli x0, x0, 1 (HINT)
  .hword 0x0015                  # c.nop with imm 5 (HINT)
  CHECK a0, 5
  CASE
  .hword 0x4005                  # c.li x0, 1 (HINT)
  .hword 0x802a                  # c.mv x0, a0 (HINT)
  .hword 0x002a                  # c.slli x0, 10 (HINT)
  .hword 0x902a                  # c.add x0, a0 (HINT)
  .hword 0x6005                  # c.lui x0, 1 (HINT)
  CHECK zero, 0
  CHECK a0, 5
TEST_END

  .option push
  .option norvc
tmpl1: li a0, 1
  ret
tmpl2: li a0, 2
  ret
tmpl3: li a0, 3
  .option pop

  .data
  .balign 64
buf: .word 0, 0, 0, 0
  .option push
  .option norvc
/* t1 = an instruction word: store it at 1f, fence.i, run it; returns what it put in a0 */
patch_next:
  li a0, 0
  la t2, 1f
  sw t1, 0(t2)
  fence.i
1:li a0, 99
  ret
  .option pop
