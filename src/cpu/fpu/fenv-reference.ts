/**
 * Test support: an independent reference for IEEE results and exception flags — a small C program run
 * on the host's x86-64 FPU through <fenv.h> (fesetround, fetestexcept), compiled at test time with the
 * host gcc. x86 has no round-to-max-magnitude, propagates NaN payloads and does not saturate float->int
 * conversions; the caller compares those parts against the RISC-V spec instead (NaN results -> canonical
 * NaN; out-of-range conversions are reported as "sat" and checked against the spec's table).
 *
 * Input lines:  <op> <rm 0..3> <a hex> <b hex> <c hex>   (singles in the low 32 bits)
 * Output lines: <result hex> <riscv fflags>   or   sat <fflags>   or   nan <fflags> (conversions of NaN)
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const C_SOURCE = String.raw`
#include <fenv.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#pragma STDC FENV_ACCESS ON

static float f32(uint64_t b) { uint32_t u = (uint32_t)b; float f; memcpy(&f, &u, 4); return f; }
static double f64(uint64_t b) { double d; memcpy(&d, &b, 8); return d; }
static uint64_t b32(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static uint64_t b64(double d) { uint64_t u; memcpy(&u, &d, 8); return u; }
static int riscv_flags(void) {
  int e = fetestexcept(FE_ALL_EXCEPT), r = 0;
  if (e & FE_INEXACT) r |= 1;
  if (e & FE_UNDERFLOW) r |= 2;
  if (e & FE_OVERFLOW) r |= 4;
  if (e & FE_DIVBYZERO) r |= 8;
  if (e & FE_INVALID) r |= 16;
  return r;
}
static const int modes[4] = { FE_TONEAREST, FE_TOWARDZERO, FE_DOWNWARD, FE_UPWARD };

/* 0 = in range (result in *out), 1 = out of range, 2 = NaN. kind: 0 W, 1 WU, 2 L, 3 LU. */
static int to_int(double x, int kind, uint64_t *out) {
  if (isnan(x)) return 2;
  volatile double r = rint(x);
  switch (kind) {
  case 0: if (!(r >= -2147483648.0 && r <= 2147483647.0)) return 1; *out = (uint64_t)(int64_t)(int32_t)r; return 0;
  case 1: if (!(r >= 0.0 && r <= 4294967295.0)) return 1; *out = (uint64_t)(int64_t)(int32_t)(uint32_t)r; return 0;
  case 2: if (!(r >= -9223372036854775808.0 && r < 9223372036854775808.0)) return 1; *out = (uint64_t)(int64_t)r; return 0;
  default: if (!(r >= 0.0 && r < 18446744073709551616.0)) return 1; *out = (uint64_t)r; return 0;
  }
}

int main(void) {
  char op[24];
  int rm;
  unsigned long long a, b, c;
  setvbuf(stdout, NULL, _IOFBF, 1 << 20);
  while (scanf("%23s %d %llx %llx %llx", op, &rm, &a, &b, &c) == 5) {
    fesetround(modes[rm & 3]);
    feclearexcept(FE_ALL_EXCEPT);
    volatile uint64_t r = 0;
    int st = 0;
    const char *o = op;
    if (!strcmp(o, "fadd.s")) r = b32(f32(a) + f32(b));
    else if (!strcmp(o, "fsub.s")) r = b32(f32(a) - f32(b));
    else if (!strcmp(o, "fmul.s")) r = b32(f32(a) * f32(b));
    else if (!strcmp(o, "fdiv.s")) r = b32(f32(a) / f32(b));
    else if (!strcmp(o, "fsqrt.s")) r = b32(sqrtf(f32(a)));
    else if (!strcmp(o, "fmadd.s")) r = b32(fmaf(f32(a), f32(b), f32(c)));
    else if (!strcmp(o, "fmsub.s")) r = b32(fmaf(f32(a), f32(b), -f32(c)));
    else if (!strcmp(o, "fnmsub.s")) r = b32(fmaf(-f32(a), f32(b), f32(c)));
    else if (!strcmp(o, "fnmadd.s")) r = b32(fmaf(-f32(a), f32(b), -f32(c)));
    else if (!strcmp(o, "fadd.d")) r = b64(f64(a) + f64(b));
    else if (!strcmp(o, "fsub.d")) r = b64(f64(a) - f64(b));
    else if (!strcmp(o, "fmul.d")) r = b64(f64(a) * f64(b));
    else if (!strcmp(o, "fdiv.d")) r = b64(f64(a) / f64(b));
    else if (!strcmp(o, "fsqrt.d")) r = b64(sqrt(f64(a)));
    else if (!strcmp(o, "fmadd.d")) r = b64(fma(f64(a), f64(b), f64(c)));
    else if (!strcmp(o, "fmsub.d")) r = b64(fma(f64(a), f64(b), -f64(c)));
    else if (!strcmp(o, "fnmsub.d")) r = b64(fma(-f64(a), f64(b), f64(c)));
    else if (!strcmp(o, "fnmadd.d")) r = b64(fma(-f64(a), f64(b), -f64(c)));
    else if (!strcmp(o, "fcvt.s.d")) r = b32((float)f64(a));
    else if (!strcmp(o, "fcvt.d.s")) r = b64((double)f32(a));
    else if (!strncmp(o, "fcvt.s.", 7) || !strncmp(o, "fcvt.d.", 7)) {
      int single = o[5] == 's';
      const char *src = o + 7;
      if (!strcmp(src, "w")) r = single ? b32((float)(int32_t)a) : b64((double)(int32_t)a);
      else if (!strcmp(src, "wu")) r = single ? b32((float)(uint32_t)a) : b64((double)(uint32_t)a);
      else if (!strcmp(src, "l")) r = single ? b32((float)(int64_t)a) : b64((double)(int64_t)a);
      else r = single ? b32((float)(uint64_t)a) : b64((double)(uint64_t)a);
    } else if (!strncmp(o, "fcvt.", 5)) {
      /* fcvt.<w|wu|l|lu>.<s|d> */
      const char *dot = strchr(o + 5, '.');
      int kind = !strncmp(o + 5, "wu", 2) ? 1 : !strncmp(o + 5, "lu", 2) ? 3 : o[5] == 'l' ? 2 : 0;
      double x = dot[1] == 's' ? (double)f32(a) : f64(a);
      uint64_t v = 0;
      st = to_int(x, kind, &v);
      r = v;
    } else { printf("bad-op %s\n", o); continue; }
    uint64_t res = r;
    int fl = riscv_flags();
    if (st == 1) printf("sat %d\n", fl);
    else if (st == 2) printf("nan %d\n", fl);
    else printf("%llx %d\n", (unsigned long long)res, fl);
  }
  return 0;
}
`;

export interface ReferenceCase {
  readonly op: string;
  readonly rm: number;
  readonly a: bigint;
  readonly b: bigint;
  readonly c: bigint;
}

export interface ReferenceResult {
  /** Result bits, or 'sat' / 'nan' for out-of-range / NaN float->int conversions. */
  readonly value: bigint | 'sat' | 'nan';
  readonly flags: number;
}

let compiled: { dir: string; exe: string } | undefined;

function compile(): string {
  if (compiled) return compiled.exe;
  const dir = mkdtempSync(join(tmpdir(), 'wisp-fenv-'));
  const src = join(dir, 'fenv-ref.c');
  const exe = join(dir, 'fenv-ref');
  writeFileSync(src, C_SOURCE);
  // Hardware FMA when the CPU has it (single rounding in every mode, flags from the FPU); glibc's
  // correctly rounded software fma otherwise. -frounding-math keeps gcc from assuming RNE.
  const cpuinfo = (() => {
    try {
      return readFileSync('/proc/cpuinfo', 'utf8');
    } catch {
      return '';
    }
  })();
  const fmaFlag = /\bfma\b/.test(cpuinfo) ? ['-mfma'] : [];
  const r = spawnSync('gcc', ['-O1', '-frounding-math', '-fsignaling-nans', '-fno-math-errno', '-ffp-contract=off', ...fmaFlag, '-o', exe, src, '-lm'], {
    encoding: 'utf8',
  });
  if (r.error || r.status !== 0) {
    throw new Error(
      `Cannot build the fenv reference program with the host gcc (needed by the FPU tests; install gcc): ${r.error?.message ?? r.stderr}`,
    );
  }
  compiled = { dir, exe };
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  return exe;
}

/** Runs every case through the host FPU. */
export function runFenvReference(cases: readonly ReferenceCase[]): ReferenceResult[] {
  const exe = compile();
  const input = cases.map((k) => `${k.op} ${k.rm} ${k.a.toString(16)} ${k.b.toString(16)} ${k.c.toString(16)}\n`).join('');
  const r = spawnSync(exe, [], { input, encoding: 'utf8', maxBuffer: 1 << 30 });
  if (r.error || r.status !== 0) throw new Error(`The fenv reference program failed: ${r.error?.message ?? r.stderr}`);
  const lines = r.stdout.split('\n');
  return cases.map((k, i) => {
    const [v, f] = (lines[i] ?? '').split(' ');
    if (v === undefined || f === undefined || v === 'bad-op') throw new Error(`The fenv reference gave no result for case ${i} (${k.op})`);
    return { value: v === 'sat' || v === 'nan' ? v : BigInt('0x' + v), flags: Number(f) };
  });
}
