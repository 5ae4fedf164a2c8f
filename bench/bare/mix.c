/*
 * A fixed CPU-bound workload for wisp's interpreter benchmark: byte-wise CRC-32 (loads, shifts,
 * branches), insertion sort (word loads/stores, data-dependent branches), a small integer matrix
 * multiply (mul), and a linked-list walk (pointer chasing). Built -O2 for rv64gc, so most of it is
 * compressed code. Returns 0 when the checksum matches, so a wrong result fails the run.
 */
#include <stdint.h>
#ifdef HOST
#include <stdio.h>
#endif

#define N_SORT 256
#define N_MAT 16
#define N_BUF 2048
#define N_LIST 512

static uint8_t buf[N_BUF];
static int32_t arr[N_SORT];
static int32_t ma[N_MAT][N_MAT], mb[N_MAT][N_MAT], mc[N_MAT][N_MAT];
struct node { struct node *next; uint32_t val; };
static struct node nodes[N_LIST];

static uint32_t rng = 12345;
static uint32_t next_rand(void) { rng = rng * 1103515245u + 12345u; return rng >> 8; }

static uint32_t crc32(const uint8_t *p, int n) {
  uint32_t c = 0xffffffffu;
  for (int i = 0; i < n; i++) {
    c ^= p[i];
    for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xedb88320u & -(c & 1));
  }
  return ~c;
}

static void sort(int32_t *a, int n) {
  for (int i = 1; i < n; i++) {
    int32_t v = a[i];
    int j = i - 1;
    while (j >= 0 && a[j] > v) { a[j + 1] = a[j]; j--; }
    a[j + 1] = v;
  }
}

static int64_t matmul(void) {
  int64_t s = 0;
  for (int i = 0; i < N_MAT; i++)
    for (int j = 0; j < N_MAT; j++) {
      int32_t acc = 0;
      for (int k = 0; k < N_MAT; k++) acc += ma[i][k] * mb[k][j];
      mc[i][j] = acc;
      s += acc;
    }
  return s;
}

static uint64_t walk(void) {
  uint64_t s = 0;
  for (struct node *p = &nodes[0]; p; p = p->next) s = s * 31 + p->val;
  return s;
}

int main(void) {
  uint64_t check = 0;
  for (int i = 0; i < N_LIST; i++) {
    nodes[i].val = next_rand();
    nodes[i].next = i + 1 < N_LIST ? &nodes[i + 1] : 0;
  }
  for (int round = 0; round < ROUNDS; round++) {
    for (int i = 0; i < N_BUF; i++) buf[i] = (uint8_t)next_rand();
    for (int i = 0; i < N_SORT; i++) arr[i] = (int32_t)next_rand() - (1 << 22);
    for (int i = 0; i < N_MAT; i++)
      for (int j = 0; j < N_MAT; j++) { ma[i][j] = (int32_t)(next_rand() & 255) - 128; mb[i][j] = (int32_t)(next_rand() & 255) - 128; }
    check = check * 33 + crc32(buf, N_BUF);
    sort(arr, N_SORT);
    for (int i = 1; i < N_SORT; i++) if (arr[i - 1] > arr[i]) return 2;
    check = check * 33 + (uint64_t)arr[N_SORT / 2];
    check = check * 33 + (uint64_t)matmul();
    check = check * 33 + walk();
  }
#ifdef HOST
  printf("%llu\n", (unsigned long long)check);
  return 0;
#else
  return check == EXPECTED ? 0 : 3;
#endif
}
