# Loads and stores to device registers inside hot loops: under the JIT these run in translated code
# and leave it through the slow path (a device access ends the region so interrupts and stops are seen
# at once). The loaded value must land in its register (a regression: it was once overwritten by the
# region's register write-back), and the loop state around it must survive the exit.
#include "wisp-test.h"
#define UART 0x10000000
#define UART_LSR 5
#define UART_SCR 7
TEST_BEGIN
  # LSR of an idle ns16550a reads THRE | TEMT (0x60): a known non-zero value from a load.
  CASE
  li s1, 200
  li s2, UART
1:li t0, 0
  lbu t0, UART_LSR(s2)
  andi t0, t0, 0x60
  li t1, 0x60
  bne t0, t1, 9f
  addi s1, s1, -1
  bnez s1, 1b
  j 2f
9:CHECK t0, 0x60
2:
  # The scratch register: a store then a load of the value just written, each time a different one.
  CASE
  li s1, 300
  li s2, UART
3:andi t2, s1, 0xff
  sb t2, UART_SCR(s2)
  li t0, 0
  lbu t0, UART_SCR(s2)
  bne t0, t2, 8f
  addi s1, s1, -1
  bnez s1, 3b
  j 4f
8:CHECK_EQ t0, t2
4:
TEST_END
