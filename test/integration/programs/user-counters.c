/*
 * A Linux user program without libc (built by the test with riscv64-unknown-elf-gcc): reads the time,
 * cycle and instret counters from U-mode, sleeps 20 ms, reads them again and prints both readings.
 * A counter U-mode may not read is an illegal instruction, and the kernel kills the program with SIGILL.
 */
#include "../../debian-suite/c/rt.h"

enum { SYS_nanosleep = 101 };

void _start(void) {
  u64 t0, t1, c0, c1, i0, i1;
  asm volatile("rdtime %0" : "=r"(t0));
  asm volatile("rdcycle %0" : "=r"(c0));
  asm volatile("rdinstret %0" : "=r"(i0));
  long ts[2] = { 0, 20 * 1000 * 1000 };
  sys3(SYS_nanosleep, (long)ts, 0, 0);
  asm volatile("rdtime %0" : "=r"(t1));
  asm volatile("rdcycle %0" : "=r"(c1));
  asm volatile("rdinstret %0" : "=r"(i1));
  put("USER-COUNTERS time "); put_u64(t0); put(" "); put_u64(t1);
  put(" cycle "); put_u64(c0); put(" "); put_u64(c1);
  put(" instret "); put_u64(i0); put(" "); put_u64(i1); put("\n");
  finish();
}
