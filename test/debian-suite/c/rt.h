/* The little a libc-free Linux program needs: syscalls, output, exit. (Built with
 * riscv64-unknown-elf-gcc -nostdlib by the suite, see suite.ts, and by user-counters.test.ts.) */
typedef unsigned long u64;
typedef long i64;
typedef unsigned int u32;

static inline long sys3(long n, long a, long b, long c) {
  register long a0 asm("a0") = a;
  register long a1 asm("a1") = b;
  register long a2 asm("a2") = c;
  register long a7 asm("a7") = n;
  asm volatile("ecall" : "+r"(a0) : "r"(a1), "r"(a2), "r"(a7) : "memory");
  return a0;
}

static char out_buf[4096];
static int out_len;

static inline void put(const char *s) { while (*s) out_buf[out_len++] = *s++; }
static inline void put_u64(u64 v) {
  char t[24];
  int n = 0;
  do { t[n++] = (char)('0' + v % 10); v /= 10; } while (v);
  while (n) out_buf[out_len++] = t[--n];
}
static inline void put_hex(u64 v) {
  put("0x");
  for (int i = 60; i >= 0; i -= 4) out_buf[out_len++] = "0123456789abcdef"[(v >> i) & 15];
}
static inline u64 bits(double d) { union { double d; u64 u; } x; x.d = d; return x.u; }
static inline u32 bits32(float f) { union { float f; u32 u; } x; x.f = f; return x.u; }
static inline void line(const char *name, u64 v, int hex) { put(name); put(" "); if (hex) put_hex(v); else put_u64(v); put("\n"); }
static inline void finish(void) { sys3(64, 1, (long)out_buf, out_len); sys3(93, 0, 0, 0); for (;;) {} }

void *memset(void *d, int c, unsigned long n) { char *p = d; while (n--) *p++ = (char)c; return d; }
void *memcpy(void *d, const void *s, unsigned long n) { char *p = d; const char *q = s; while (n--) *p++ = *q++; return d; }
