/* An integer micro-benchmark in C for the Debian suite: a sieve, an insertion-and-merge sort of
 * pseudo-random numbers, CRC-32, and 64-bit multiply/divide mixing. Deterministic output. */
#include "rt.h"

static unsigned char sieve[2000000];
static u32 a[200000], tmp[200000];

static u64 primes(int n) {
  u64 count = 0, sum = 0;
  for (int i = 2; i < n; i++) sieve[i] = 1;
  for (int i = 2; (i64)i * i < n; i++) if (sieve[i]) for (int j = i * i; j < n; j += i) sieve[j] = 0;
  for (int i = 2; i < n; i++) if (sieve[i]) { count++; sum += (u64)i; }
  return count * 1000003 ^ sum;
}

static void merge_sort(u32 *v, u32 *t, int n) {
  for (int w = 1; w < n; w *= 2) {
    for (int lo = 0; lo < n; lo += 2 * w) {
      int mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
      int i = lo, j = mid, k = lo;
      while (i < mid && j < hi) t[k++] = v[i] <= v[j] ? v[i++] : v[j++];
      while (i < mid) t[k++] = v[i++];
      while (j < hi) t[k++] = v[j++];
    }
    for (int i = 0; i < n; i++) v[i] = t[i];
  }
}

static u32 crc32(const unsigned char *p, int n) {
  u32 c = 0xffffffffu;
  for (int i = 0; i < n; i++) {
    c ^= p[i];
    for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
  }
  return ~c;
}

static u64 mix(int n) {
  u64 x = 0x9e3779b97f4a7c15ull, acc = 0;
  for (int i = 1; i <= n; i++) {
    x ^= x << 13; x ^= x >> 7; x ^= x << 17;
    acc += x / (u64)(i | 1) + x % 1000003 + (u64)((i64)x >> 3) * 3;
  }
  return acc;
}

void _start(void) {
  line("primes", primes(2000000), 0);
  u64 s = 12345;
  for (int i = 0; i < 200000; i++) { s = s * 6364136223846793005ull + 1442695040888963407ull; a[i] = (u32)(s >> 33); }
  merge_sort(a, tmp, 200000);
  line("sorted", (u64)a[0] * 1000003 + a[199999] + a[100000], 0);
  line("crc32", crc32((const unsigned char *)a, 400000), 0);
  line("mix", mix(2000000), 0);
  finish();
}
