# SMP message passing (RVWMO, unprivileged spec chapter 17): hart 1 writes four data words, then a
# flag; hart 0 waits for the flag, then reads the data. With FENCE W,W before the flag and FENCE R,R
# after it (and the reverse for the acknowledgement), hart 0 must always read the data of the round it
# was told about; likewise with a release AMO to publish and an acquire AMO to observe. Any stale
# word fails the test.
#include "wisp-test.h"
#define NHARTS 2
#define ROUNDS 20000

TEST_BEGIN
  CASE                          # fences
  li s1, 1
1:la t0, flag
2:lw t1, 0(t0)
  bne t1, s1, 2b
  fence r, r
  call check_data
  fence r, w                    # done reading before the producer may write again
  la t0, ack
  sw s1, 0(t0)
  addi s1, s1, 1
  li t1, ROUNDS
  ble s1, t1, 1b
  CASE                          # release / acquire AMOs
  li s1, 1
1:la t0, flag2
2:amoor.w.aq t1, zero, (t0)
  bne t1, s1, 2b
  call check_data
  la t0, ack2
  amoswap.w.rl zero, s1, (t0)
  addi s1, s1, 1
  li t1, ROUNDS
  ble s1, t1, 1b
TEST_END

/* The data of round s1 is s1 * 1, s1 * 2, s1 * 3, s1 * 4 (fails the case otherwise). */
check_data:
  la t2, data
  li t3, 1
1:ld t4, 0(t2)
  mul t5, s1, t3
  bne t4, t5, fail
  addi t2, t2, 64               # one word per cache line
  addi t3, t3, 1
  li t5, 5
  bne t3, t5, 1b
  ret

  .globl secondary_main
secondary_main:
  li t6, 1
  bne a0, t6, 9f
  li s1, 1
1:la t0, ack                    # round s1 may start once round s1 - 1 was read
2:lw t1, 0(t0)
  addi t2, s1, -1
  bne t1, t2, 2b
  fence r, w
  call write_data
  fence w, w
  la t0, flag
  sw s1, 0(t0)
  addi s1, s1, 1
  li t1, ROUNDS
  ble s1, t1, 1b
  la t0, ack                    # the last round read before the data change again
2:lw t1, 0(t0)
  li t2, ROUNDS
  bne t1, t2, 2b
  fence r, w
  li s1, 1
1:la t0, ack2
2:amoor.w.aq t1, zero, (t0)
  addi t2, s1, -1
  bne t1, t2, 2b
  call write_data
  la t0, flag2
  amoswap.w.rl zero, s1, (t0)
  addi s1, s1, 1
  li t1, ROUNDS
  ble s1, t1, 1b
9:wfi
  j 9b

write_data:
  la t2, data
  li t3, 1
1:mul t5, s1, t3
  sd t5, 0(t2)
  addi t2, t2, 64
  addi t3, t3, 1
  li t5, 5
  bne t3, t5, 1b
  ret

  .data
  .balign 64
flag: .dword 0
  .balign 64
ack: .dword 0
  .balign 64
flag2: .dword 0
  .balign 64
ack2: .dword 0
  .balign 64
data: .skip 4 * 64
