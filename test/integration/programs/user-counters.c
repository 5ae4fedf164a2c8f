/*
 * A Linux user program without libc (built by the test with riscv64-unknown-elf-gcc): reads the time,
 * cycle and instret counters from U-mode, sleeps 20 ms, reads them again and prints both readings.
 * A counter U-mode may not read is an illegal instruction, and the kernel kills the program with SIGILL.
 */
typedef unsigned long u64;

static long sys3(long n, long a, long b, long c) {
  register long a0 asm("a0") = a;
  register long a1 asm("a1") = b;
  register long a2 asm("a2") = c;
  register long a7 asm("a7") = n;
  asm volatile("ecall" : "+r"(a0) : "r"(a1), "r"(a2), "r"(a7) : "memory");
  return a0;
}

enum { SYS_write = 64, SYS_exit = 93, SYS_nanosleep = 101 };

static char out[256];
static int len;

static void put(const char *s) { while (*s) out[len++] = *s++; }

static void num(u64 v) {
  char t[24];
  int n = 0;
  do { t[n++] = (char)('0' + v % 10); v /= 10; } while (v);
  while (n) out[len++] = t[--n];
}

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
  put("USER-COUNTERS time "); num(t0); put(" "); num(t1);
  put(" cycle "); num(c0); put(" "); num(c1);
  put(" instret "); num(i0); put(" "); num(i1); put("\n");
  sys3(SYS_write, 1, (long)out, len);
  sys3(SYS_exit, 0, 0, 0);
  for (;;) {}
}
