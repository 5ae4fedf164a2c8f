# RV64C: every compressed form of RV64GC (unprivileged spec chapter 16), written with explicit c.
# mnemonics so the assembler cannot pick the 32-bit form, plus reserved and illegal encodings, which trap
# with mtval = the 16-bit instruction.
#include "wisp-test.h"

/* A reserved/illegal 16-bit encoding: traps as illegal with tval = the bits, epc = its address. */
#define TEST_ILLEGAL16(bits) CASE; _illegal16 bits
.macro _illegal16 bits
  TRAP_BEGIN
.Lill\@: .hword \bits
  TRAP_END
  EXPECT_CAUSE CAUSE_ILLEGAL_INSTRUCTION
  EXPECT_TVAL \bits
  EXPECT_EPC_AT .Lill\@
.endm

TEST_BEGIN
  la sp, stack_area + 256
  la a1, mem
  # CIW / CL / CS: addi4spn and the loads/stores with 3-bit registers
  CASE
  c.addi4spn a0, sp, 16
  addi t1, sp, 16
  CHECK_EQ a0, t1
  CASE
  c.addi4spn s1, sp, 1020
  addi t1, sp, 1020
  CHECK_EQ s1, t1
  CASE
  c.lw a0, 4(a1)
  CHECK a0, 0xffffffff87654321
  CASE
  c.ld a0, 8(a1)
  CHECK a0, 0x0123456789abcdef
  CASE
  c.fld fa0, 8(a1)
  fmv.x.d a0, fa0
  CHECK a0, 0x0123456789abcdef
  CASE
  li a2, 0x1122334455667788
  c.sd a2, 16(a1)
  ld a0, 16(a1)
  CHECK a0, 0x1122334455667788
  CASE
  li a2, 0xaabbccdd
  c.sw a2, 20(a1)
  ld a0, 16(a1)
  CHECK a0, 0xaabbccdd55667788
  CASE
  c.fsd fa0, 24(a1)
  ld a0, 24(a1)
  CHECK a0, 0x0123456789abcdef

  # CI: nop, addi, addiw, li, addi16sp, lui, slli
  CASE
  li a0, 5
  c.nop
  c.addi a0, -1
  CHECK a0, 4
  c.addi a0, 31
  CHECK a0, 35
  CASE
  li a0, 0x7fffffff
  c.addiw a0, 1
  CHECK a0, 0xffffffff80000000
  CASE
  li a0, 0x1ffffffff
  c.addiw a0, 0                  # sext.w
  CHECK a0, -1
  CASE
  c.li a0, -32
  CHECK a0, -32
  c.li s0, 31
  CHECK s0, 31
  c.li t3, 0
  CHECK t3, 0
  CASE
  mv t1, sp
  c.addi16sp sp, -512
  addi t1, t1, -512
  CHECK_EQ sp, t1
  c.addi16sp sp, 496
  addi t1, t1, 496
  CHECK_EQ sp, t1
  c.addi16sp sp, 16
  CASE
  c.lui a0, 1
  CHECK a0, 0x1000
  c.lui t4, 0xfffff
  CHECK t4, 0xfffffffffffff000
  c.lui a0, 0xfffe0
  CHECK a0, 0xfffffffffffe0000
  c.lui a0, 31
  CHECK a0, 0x1f000
  CASE
  li t2, 3
  c.slli t2, 62
  CHECK t2, 0xc000000000000000
  c.slli t2, 1
  CHECK t2, 0x8000000000000000

  # CB: srli, srai, andi, beqz, bnez
  CASE
  li a0, 0x8000000000000000
  c.srli a0, 1
  CHECK a0, 0x4000000000000000
  c.srli a0, 32
  CHECK a0, 0x40000000
  CASE
  li a0, 0x8000000000000000
  c.srai a0, 63
  CHECK a0, -1
  li a5, 0x8000000000000000
  c.srai a5, 4
  CHECK a5, 0xf800000000000000
  CASE
  li a0, -1
  c.andi a0, -32
  CHECK a0, 0xffffffffffffffe0
  c.andi a0, 31
  CHECK a0, 0
  CASE
  li a0, 0
  li a3, 1
  c.beqz a0, 1f
  li a3, 0
1:CHECK a3, 1
  CASE
  li a0, 2
  li a3, 1
  c.beqz a0, 1f
  li a3, 0
1:CHECK a3, 0
  CASE
  li a0, 2
  li a3, 1
  c.bnez a0, 1f
  li a3, 0
1:CHECK a3, 1
  CASE
  li a4, 3
2:addi a4, a4, -1
  c.bnez a4, 2b                  # backwards
  CHECK a4, 0

  # CA: sub, xor, or, and, subw, addw
  CASE
  li a0, 10
  li a1, 3
  c.sub a0, a1
  CHECK a0, 7
  CASE
  li a0, 0xff00
  li a2, 0x0ff0
  c.xor a0, a2
  CHECK a0, 0xf0f0
  li a0, 0xff00
  c.or a0, a2
  CHECK a0, 0xfff0
  li a0, 0xff00
  c.and a0, a2
  CHECK a0, 0x0f00
  CASE
  li a0, 0x80000000
  li a2, 1
  c.subw a0, a2
  CHECK a0, 0x7fffffff
  CASE
  li a0, 0x7fffffff
  li a2, 0x100000001
  c.addw a0, a2
  CHECK a0, 0xffffffff80000000
  la a1, mem

  # CJ: j
  CASE
  li a0, 1
  c.j 1f
  li a0, 0
1:CHECK a0, 1

  # CSS / CI with sp: lwsp, ldsp, fldsp, swsp, sdsp, fsdsp
  CASE
  la sp, mem
  c.lwsp a0, 4(sp)
  CHECK a0, 0xffffffff87654321
  c.ldsp a0, 8(sp)
  CHECK a0, 0x0123456789abcdef
  c.fldsp fa1, 8(sp)
  fmv.x.d a0, fa1
  CHECK a0, 0x0123456789abcdef
  CASE
  li a2, 0x5566778899aabbcc
  c.sdsp a2, 32(sp)
  ld a0, 32(sp)
  CHECK a0, 0x5566778899aabbcc
  li a2, 0x11111111
  c.swsp a2, 36(sp)
  ld a0, 32(sp)
  CHECK a0, 0x1111111199aabbcc
  c.fsdsp fa1, 40(sp)
  ld a0, 40(sp)
  CHECK a0, 0x0123456789abcdef
  la sp, stack_area + 256

  # CR: jr, mv, jalr (link = pc + 2), add
  CASE
  la a2, 1f
  c.jr a2
  j fail
1:CASE
  li a2, 0x1234
  c.mv a0, a2
  CHECK a0, 0x1234
  CASE
  la a2, 2f
1:c.jalr a2
  j fail
2:la t1, 1b
  addi t1, t1, 2
  CHECK_EQ ra, t1
  CASE
  li a0, 40
  li a2, 2
  c.add a0, a2
  CHECK a0, 42

  # c.ebreak: breakpoint, epc = tval = its address
  CASE
  TRAP_BEGIN
1:c.ebreak
  TRAP_END
  EXPECT_CAUSE CAUSE_BREAKPOINT
  EXPECT_EPC_AT 1b

  # illegal and reserved encodings (spec 16.8 table): tval holds just the 16 bits
  TEST_ILLEGAL16(0x0000)          # defined illegal instruction
  TEST_ILLEGAL16(0x0004)          # c.addi4spn with nzuimm = 0
  TEST_ILLEGAL16(0x6101)          # c.addi16sp with nzimm = 0
  TEST_ILLEGAL16(0x6501)          # c.lui with nzimm = 0
  TEST_ILLEGAL16(0x2001)          # c.addiw with rd = x0
  TEST_ILLEGAL16(0x8002)          # c.jr with rs1 = x0
  TEST_ILLEGAL16(0x4002)          # c.lwsp with rd = x0
  TEST_ILLEGAL16(0x6002)          # c.ldsp with rd = x0
TEST_END

  .data
  .balign 64
mem:
  .word 0x11111111, 0x87654321
  .dword 0x0123456789abcdef
  .dword 0, 0, 0, 0, 0, 0
  .balign 64
stack_area: .skip 1024
