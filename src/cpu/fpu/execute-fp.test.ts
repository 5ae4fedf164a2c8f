/**
 * Hand-made cases for what the host-FPU reference cannot check: RISC-V-specific rules (NaN-boxing,
 * canonical NaNs, 2019 min/max, compare signaling rules, FCLASS, saturating conversions, RMM,
 * tininess after rounding) and instruction legality.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { executeFp } from './execute-fp.js';
import { DZ, NV, NX, OF, RDN, RMM, RNE, RTZ, RUP, UF } from './fp-constants.js';
import { operand, partnerForProduct, partnerForSum, Rng, S, D, integerOperand, conversionOperand } from './fp-test-cases.js';
import { BINARY32, BINARY64, softAdd, softDiv, softFma, softMul, softSqrt } from './softfloat.js';
import { encodeOpFp, encodeR4, OPC_FMADD, OPC_FNMADD, TestFpState } from './test-fp-state.js';

const dv = new DataView(new ArrayBuffer(8));
function b32(v: number): number {
  dv.setFloat32(0, v);
  return dv.getUint32(0);
}
function b64(v: number): bigint {
  dv.setFloat64(0, v);
  return dv.getBigUint64(0);
}

// funct5 values used below (OP-FP)
const ADD = 0x00, SUB = 0x01, MUL = 0x02, DIV = 0x03, SGNJ = 0x04, MINMAX = 0x05, CVTFF = 0x08, SQRT = 0x0b;
const CMP = 0x14, CVTIF = 0x18, CVTFI = 0x1a, MVX = 0x1c, MVF = 0x1e;
const FS = 0, FD = 1;

function exec(s: TestFpState, insn: number): void {
  assert.equal(executeFp(s, insn), true, `instruction 0x${insn.toString(16)} should be legal`);
}

/** Runs a two-operand single op on f1, f2 -> f3 and returns [result bits, flags]. */
function single(funct5: number, a: number, b: number, rm = RNE): [number, number] {
  const s = new TestFpState();
  s.setF32(1, a);
  s.setF32(2, b);
  exec(s, encodeOpFp(funct5, FS, funct5 === SQRT ? 0 : 2, 1, rm, 3));
  assert.equal(s.getF64(3) >> 32n, 0xffffffffn, 'single results are NaN-boxed');
  return [Number(s.getF64(3) & 0xffffffffn), s.fflags];
}
function double(funct5: number, a: bigint, b: bigint, rm = RNE): [bigint, number] {
  const s = new TestFpState();
  s.setF64(1, a);
  s.setF64(2, b);
  exec(s, encodeOpFp(funct5, FD, funct5 === SQRT ? 0 : 2, 1, rm, 3));
  return [s.getF64(3), s.fflags];
}

describe('executeFp: arithmetic basics', () => {
  it('adds, divides and takes roots with exact flags', () => {
    assert.deepEqual(double(ADD, b64(1.5), b64(2.25)), [b64(3.75), 0]);
    assert.deepEqual(double(DIV, b64(1), b64(3)), [b64(1 / 3), NX]);
    assert.deepEqual(double(SQRT, b64(2), 0n), [b64(Math.SQRT2), NX]);
    assert.deepEqual(single(SQRT, b32(2), 0), [b32(Math.fround(Math.SQRT2)), NX]);
    assert.deepEqual(double(SQRT, b64(-1), 0n), [0x7ff8000000000000n, NV]);
    assert.deepEqual(double(SQRT, b64(-0), 0n), [b64(-0), 0]);
    assert.deepEqual(double(DIV, b64(1), b64(0)), [b64(Infinity), DZ]);
    assert.deepEqual(single(DIV, b32(-1), b32(0)), [b32(-Infinity), DZ]);
    assert.deepEqual(double(DIV, b64(0), b64(0)), [0x7ff8000000000000n, NV]);
    assert.deepEqual(single(MUL, b32(Infinity), b32(0)), [0x7fc00000, NV]);
  });

  it('returns the canonical NaN, never an input payload, and signals only for sNaN', () => {
    assert.deepEqual(double(ADD, 0x7ff8000000000123n, b64(1)), [0x7ff8000000000000n, 0]);
    assert.deepEqual(double(ADD, 0xfff0000000000001n, b64(1)), [0x7ff8000000000000n, NV]);
    assert.deepEqual(single(MUL, 0xffc00123, b32(2)), [0x7fc00000, 0]);
    assert.deepEqual(single(SUB, 0x7f800001, b32(2)), [0x7fc00000, NV]);
  });

  it('gives x - x = +0, but -0 when rounding down', () => {
    assert.deepEqual(double(SUB, b64(5), b64(5), RNE), [b64(0), 0]);
    assert.deepEqual(double(SUB, b64(5), b64(5), RDN), [b64(-0), 0]);
    assert.deepEqual(single(ADD, b32(-0), b32(0), RDN), [b32(-0), 0]);
    assert.deepEqual(single(ADD, b32(0), b32(0), RDN), [b32(0), 0]);
    assert.deepEqual(single(ADD, b32(-0), b32(-0), RUP), [b32(-0), 0]);
  });

  it('uses frm for the dynamic rounding mode', () => {
    const s = new TestFpState();
    s.setF64(1, b64(1));
    s.setF64(2, b64(2 ** -60));
    s.frm = RUP;
    exec(s, encodeOpFp(ADD, FD, 2, 1, 7, 3));
    assert.equal(s.getF64(3), b64(1 + 2 ** -52));
    s.frm = RNE;
    exec(s, encodeOpFp(ADD, FD, 2, 1, 7, 4));
    assert.equal(s.getF64(4), b64(1));
  });

  it('accrues flags: never clears what is already set', () => {
    const s = new TestFpState();
    s.fflags = NV;
    s.setF64(1, b64(1));
    s.setF64(2, b64(3));
    exec(s, encodeOpFp(DIV, FD, 2, 1, RNE, 3));
    assert.equal(s.fflags, NV | NX);
  });

  it('overflows to inf or to the largest finite value depending on the mode', () => {
    assert.deepEqual(single(MUL, b32(2 ** 100), b32(2 ** 100), RNE), [0x7f800000, OF | NX]);
    assert.deepEqual(single(MUL, b32(2 ** 100), b32(2 ** 100), RTZ), [0x7f7fffff, OF | NX]);
    assert.deepEqual(single(MUL, b32(-(2 ** 100)), b32(2 ** 100), RUP), [0xff7fffff, OF | NX]);
    assert.deepEqual(double(MUL, b64(2 ** 1000), b64(-(2 ** 100)), RDN), [b64(-Infinity), OF | NX]);
    assert.deepEqual(double(MUL, b64(2 ** 1000), b64(2 ** 100), RDN), [0x7fefffffffffffffn, OF | NX]);
  });
});

describe('executeFp: rounding to nearest, ties to max magnitude (RMM)', () => {
  it('breaks exact ties away from zero where RNE goes to even', () => {
    assert.deepEqual(single(ADD, b32(1), b32(2 ** -24), RNE), [b32(1), NX]);
    assert.deepEqual(single(ADD, b32(1), b32(2 ** -24), RMM), [b32(1 + 2 ** -23), NX]);
    assert.deepEqual(single(ADD, b32(-1), b32(-(2 ** -24)), RMM), [b32(-1 - 2 ** -23), NX]);
    assert.deepEqual(double(ADD, b64(1), b64(2 ** -53), RMM), [b64(1 + 2 ** -52), NX]);
    assert.deepEqual(double(ADD, b64(1), b64(2 ** -53), RNE), [b64(1), NX]);
    // (1 + 2^-12)^2 = 1 + 2^-11 + 2^-24: a tie on the single grid
    assert.deepEqual(single(MUL, b32(1 + 2 ** -12), b32(1 + 2 ** -12), RMM), [b32(1 + 2 ** -11 + 2 ** -23), NX]);
    assert.deepEqual(single(MUL, b32(1 + 2 ** -12), b32(1 + 2 ** -12), RNE), [b32(1 + 2 ** -11), NX]);
    // (1 + 2^-26)^2 = 1 + 2^-25 + 2^-52 is not a tie: RMM = RNE
    assert.deepEqual(double(MUL, b64(1 + 2 ** -26), b64(1 + 2 ** -26), RMM), [b64(1 + 2 ** -25 + 2 ** -52), 0]);
    assert.deepEqual(double(MUL, b64(1 + 2 ** -27), b64(1 + 2 ** -26), RMM), [b64(1 + 2 ** -26 + 2 ** -27 + 2 ** -52), NX]);
  });

  it('converts integers with ties away from zero', () => {
    const cvt = (fmt: number, kind: number, x: bigint, rm: number): [bigint, number] => {
      const s = new TestFpState();
      s.setX(1, x);
      exec(s, encodeOpFp(CVTFI, fmt, kind, 1, rm, 3));
      return [fmt === FS ? s.getF64(3) & 0xffffffffn : s.getF64(3), s.fflags];
    };
    assert.deepEqual(cvt(FS, 2, 2n ** 24n + 1n, RMM), [BigInt(b32(2 ** 24 + 2)), NX]);
    assert.deepEqual(cvt(FS, 2, 2n ** 24n + 1n, RNE), [BigInt(b32(2 ** 24)), NX]);
    assert.deepEqual(cvt(FD, 2, 2n ** 53n + 1n, RMM), [b64(2 ** 53 + 2), NX]);
    assert.deepEqual(cvt(FD, 2, BigInt.asUintN(64, -(2n ** 53n) - 1n), RMM), [b64(-(2 ** 53) - 2), NX]);
    assert.deepEqual(cvt(FD, 3, 2n ** 64n - 1n, RMM), [b64(2 ** 64), NX]);
    assert.deepEqual(cvt(FD, 3, 2n ** 64n - 1n, RTZ), [b64(2 ** 64 - 2048), NX]);
  });

  it('agrees with the exact softfloat path on random operands', () => {
    const rng = new Rng(42);
    const failures: string[] = [];
    for (const [fmt, fm, F] of [[FS, S, BINARY32], [FD, D, BINARY64]] as const) {
      for (let i = 0; i < 3000; i++) {
        const which = i % 6;
        const a = operand(rng, fm);
        const b = which === 0 ? partnerForSum(rng, fm, a) : partnerForProduct(rng, fm, a, which === 2);
        const c = partnerForSum(rng, fm, a);
        const s = new TestFpState();
        const set = (r: number, v: bigint) => (fmt === FS ? s.setF32(r, Number(v)) : s.setF64(r, v));
        set(1, a);
        set(2, b);
        set(3, c);
        const ops = [
          [encodeOpFp(ADD, fmt, 2, 1, RMM, 4), softAdd(a, b, F, RMM)],
          [encodeOpFp(MUL, fmt, 2, 1, RMM, 4), softMul(a, b, F, RMM)],
          [encodeOpFp(DIV, fmt, 2, 1, RMM, 4), softDiv(a, b, F, RMM)],
          [encodeOpFp(SQRT, fmt, 0, 1, RMM, 4), softSqrt(a, F, RMM)],
          [encodeR4(OPC_FMADD, 3, fmt, 2, 1, RMM, 4), softFma(a, b, c, F, RMM, false, false)],
          [encodeR4(OPC_FNMADD, 3, fmt, 2, 1, RMM, 4), softFma(a, b, c, F, RMM, true, true)],
        ] as const;
        const [insn, want] = ops[which]!;
        s.fflags = 0;
        exec(s, insn);
        const got = fmt === FS ? s.getF64(4) & 0xffffffffn : s.getF64(4);
        if (got !== want.bits || s.fflags !== want.flags) failures.push(`op ${which} fmt ${fmt} a=${a.toString(16)} b=${b.toString(16)} c=${c.toString(16)}`);
      }
    }
    assert.deepEqual(failures.slice(0, 10), []);
  });
});

describe('executeFp: tininess is detected after rounding', () => {
  it('does not signal underflow when the unbounded-exponent result is the smallest normal', () => {
    // d = 2^-126 * (1 - 2^-25): a tie on the 24-bit grid below 2^-126, RNE rounds it up to 2^-126.
    const s = new TestFpState();
    s.setF64(1, b64(2 ** -126 * (1 - 2 ** -25)));
    exec(s, encodeOpFp(CVTFF, FS, 1, 1, RNE, 3));
    assert.equal(s.getF64(3) & 0xffffffffn, 0x00800000n);
    assert.equal(s.fflags, NX, 'NX only: before-rounding detection would also set UF');
    const t = new TestFpState();
    t.setF64(1, b64(2 ** -126 * (1 - 2 ** -25)));
    exec(t, encodeOpFp(CVTFF, FS, 1, 1, RTZ, 3));
    assert.equal(t.getF64(3) & 0xffffffffn, 0x007fffffn);
    assert.equal(t.fflags, UF | NX);
  });

  it('does not signal underflow for exact subnormal results', () => {
    assert.deepEqual(double(MUL, b64(2 ** -1070), b64(0.5)), [b64(2 ** -1071), 0]);
    assert.deepEqual(double(MUL, b64(2 ** -1074), b64(0.5), RNE), [b64(0), UF | NX]);
    assert.deepEqual(double(MUL, b64(2 ** -1074), b64(0.5), RUP), [b64(2 ** -1074), UF | NX]);
  });
});

describe('executeFp: NaN-boxing', () => {
  it('reads an improperly boxed single as the canonical NaN', () => {
    const s = new TestFpState();
    s.setF64(1, 0x000000003f800000n); // 1.0f without the box
    s.setF32(2, b32(1));
    exec(s, encodeOpFp(ADD, FS, 2, 1, RNE, 3));
    assert.equal(s.getF64(3), 0xffffffff7fc00000n);
    assert.equal(s.fflags, 0, 'the canonical NaN is quiet');
    exec(s, encodeOpFp(MVX, FS, 0, 1, 1, 5)); // FCLASS.S
    assert.equal(s.getX(5), 1n << 9n, 'classified as a quiet NaN');
    exec(s, encodeOpFp(SGNJ, FS, 2, 1, 1, 6)); // FSGNJN.S: sign of ~f2 onto the canonical NaN
    assert.equal(s.getF64(6), 0xffffffffffc00000n);
    s.setF64(7, 0xfffffffe3f800000n); // one zero bit in the box is enough
    exec(s, encodeOpFp(CVTFF, FD, 0, 7, RNE, 8)); // FCVT.D.S
    assert.equal(s.getF64(8), 0x7ff8000000000000n);
  });

  it('moves raw bits with FMV.X.W (sign-extended, no box check) and boxes with FMV.W.X', () => {
    const s = new TestFpState();
    s.setF64(1, 0x12345678ff800001n); // not boxed; low word is a signaling NaN pattern
    exec(s, encodeOpFp(MVX, FS, 0, 1, 0, 5));
    assert.equal(s.getX(5), 0xffffffffff800001n);
    assert.equal(s.fflags, 0);
    s.setX(6, 0xdeadbeef7f800001n);
    exec(s, encodeOpFp(MVF, FS, 0, 6, 0, 2));
    assert.equal(s.getF64(2), 0xffffffff7f800001n);
  });

  it('moves 64-bit patterns unchanged, signaling NaN payloads included', () => {
    const s = new TestFpState();
    s.setX(1, 0x7ff0000000000abcn);
    exec(s, encodeOpFp(MVF, FD, 0, 1, 0, 2));
    assert.equal(s.getF64(2), 0x7ff0000000000abcn);
    exec(s, encodeOpFp(MVX, FD, 0, 2, 0, 3));
    assert.equal(s.getX(3), 0x7ff0000000000abcn);
    assert.equal(s.fflags, 0);
  });
});

describe('executeFp: sign injection', () => {
  it('changes only the sign bit, preserving NaN payloads', () => {
    const s = new TestFpState();
    s.setF64(1, 0x7ff0000000000abcn); // sNaN
    s.setF64(2, b64(-1));
    exec(s, encodeOpFp(SGNJ, FD, 2, 1, 0, 3)); // FSGNJ
    assert.equal(s.getF64(3), 0xfff0000000000abcn);
    exec(s, encodeOpFp(SGNJ, FD, 2, 1, 1, 4)); // FSGNJN
    assert.equal(s.getF64(4), 0x7ff0000000000abcn);
    exec(s, encodeOpFp(SGNJ, FD, 3, 3, 2, 5)); // FSGNJX f3, f3: fabs
    assert.equal(s.getF64(5), 0x7ff0000000000abcn);
    s.setF32(6, 0xff800123);
    exec(s, encodeOpFp(SGNJ, FS, 6, 6, 1, 7)); // fneg.s
    assert.equal(s.getF64(7), 0xffffffff7f800123n);
    assert.equal(s.fflags, 0);
  });
});

describe('executeFp: FMIN/FMAX (IEEE 754-2019 minimumNumber/maximumNumber)', () => {
  const QNAN = 0x7fc00000, SNAN = 0x7f800001;
  const cases: Array<[number, number, boolean, number, number]> = [
    // a, b, isMax, result, flags
    [b32(-0), b32(0), false, b32(-0), 0],
    [b32(0), b32(-0), false, b32(-0), 0],
    [b32(-0), b32(0), true, b32(0), 0],
    [b32(0), b32(-0), true, b32(0), 0],
    [QNAN, b32(1), false, b32(1), 0],
    [b32(1), QNAN, true, b32(1), 0],
    [SNAN, b32(1), false, b32(1), NV],
    [b32(2), SNAN, true, b32(2), NV],
    [QNAN, 0xffc00abc, false, 0x7fc00000, 0],
    [SNAN, QNAN, true, 0x7fc00000, NV],
    [b32(-3), b32(2), false, b32(-3), 0],
    [b32(-3), b32(2), true, b32(2), 0],
    [b32(-Infinity), b32(Infinity), true, b32(Infinity), 0],
  ];
  it('single', () => {
    for (const [a, b, isMax, r, fl] of cases) assert.deepEqual(single(MINMAX, a, b, isMax ? 1 : 0), [r, fl], `${a.toString(16)} ${b.toString(16)} max=${isMax}`);
  });
  it('double', () => {
    const widen = (x: number): bigint => {
      if ((x & 0x7fffffff) > 0x7f800000) return x === QNAN ? 0x7ff8000000000000n : x === SNAN ? 0x7ff0000000000001n : 0xfff8000000000abcn;
      dv.setUint32(0, x);
      return b64(dv.getFloat32(0));
    };
    for (const [a, b, isMax, r, fl] of cases) {
      const want = r === 0x7fc00000 ? 0x7ff8000000000000n : widen(r);
      assert.deepEqual(double(MINMAX, widen(a), widen(b), isMax ? 1 : 0), [want, fl], `${a.toString(16)} ${b.toString(16)} max=${isMax}`);
    }
  });
});

describe('executeFp: compares', () => {
  const FLE = 0, FLT = 1, FEQ = 2;
  function cmp(fmt: number, op: number, a: bigint, b: bigint): [bigint, number] {
    const s = new TestFpState();
    if (fmt === FS) {
      s.setF32(1, Number(a));
      s.setF32(2, Number(b));
    } else {
      s.setF64(1, a);
      s.setF64(2, b);
    }
    s.setX(5, 0xffffn);
    exec(s, encodeOpFp(CMP, fmt, 2, 1, op, 5));
    return [s.getX(5), s.fflags];
  }
  it('FEQ is quiet, FLT/FLE signal on any NaN', () => {
    for (const [fmt, qnan, snan, one, negZero, zero] of [
      [FS, 0x7fc00000n, 0x7f800001n, BigInt(b32(1)), BigInt(b32(-0)), 0n],
      [FD, 0x7ff8000000000000n, 0x7ff0000000000001n, b64(1), b64(-0), 0n],
    ] as const) {
      assert.deepEqual(cmp(fmt, FEQ, qnan, one), [0n, 0]);
      assert.deepEqual(cmp(fmt, FEQ, one, snan), [0n, NV]);
      assert.deepEqual(cmp(fmt, FLT, qnan, one), [0n, NV]);
      assert.deepEqual(cmp(fmt, FLE, one, qnan), [0n, NV]);
      assert.deepEqual(cmp(fmt, FEQ, negZero, zero), [1n, 0]);
      assert.deepEqual(cmp(fmt, FLT, negZero, zero), [0n, 0]);
      assert.deepEqual(cmp(fmt, FLE, zero, negZero), [1n, 0]);
      assert.deepEqual(cmp(fmt, FLT, zero, one), [1n, 0]);
      assert.deepEqual(cmp(fmt, FLE, one, zero), [0n, 0]);
    }
  });
});

describe('executeFp: FCLASS', () => {
  it('sets exactly the right bit for each class, in both formats', () => {
    const singles = [0xff800000, b32(-1), 0x80000001, 0x80000000, 0, 1, b32(1), 0x7f800000, 0x7f800001, 0x7fc00000];
    const doubles = [b64(-Infinity), b64(-1), 0x8000000000000001n, b64(-0), 0n, 1n, b64(1), b64(Infinity), 0x7ff0000000000001n, 0x7ff8000000000000n];
    singles.forEach((bits, i) => {
      const s = new TestFpState();
      s.setF32(1, bits);
      exec(s, encodeOpFp(MVX, FS, 0, 1, 1, 5));
      assert.equal(s.getX(5), 1n << BigInt(i), `single 0x${bits.toString(16)}`);
    });
    doubles.forEach((bits, i) => {
      const s = new TestFpState();
      s.setF64(1, bits);
      exec(s, encodeOpFp(MVX, FD, 0, 1, 1, 5));
      assert.equal(s.getX(5), 1n << BigInt(i), `double 0x${bits.toString(16)}`);
    });
  });
});

describe('executeFp: float to integer conversions (spec table of invalid inputs)', () => {
  function cvt(fmt: number, kind: number, v: bigint, rm = RTZ): [bigint, number] {
    const s = new TestFpState();
    if (fmt === FS) s.setF32(1, Number(v));
    else s.setF64(1, v);
    exec(s, encodeOpFp(CVTIF, fmt, kind, 1, rm, 5));
    return [s.getX(5), s.fflags];
  }
  const W = 0, WU = 1, L = 2, LU = 3;
  const ALL = 0xffffffffffffffffn;
  it('saturates NaN and out-of-range inputs with NV and without NX', () => {
    for (const [fmt, nan, negInf, posInf, big, negBig] of [
      [FS, 0xffc00000n, BigInt(b32(-Infinity)), BigInt(b32(Infinity)), BigInt(b32(1e30)), BigInt(b32(-1e30))],
      [FD, 0xfff8000000000000n, b64(-Infinity), b64(Infinity), b64(1e300), b64(-1e300)],
    ] as const) {
      assert.deepEqual(cvt(fmt, W, nan), [0x7fffffffn, NV]);
      assert.deepEqual(cvt(fmt, WU, nan), [ALL, NV], 'WU max 2^32-1 is sign-extended');
      assert.deepEqual(cvt(fmt, L, nan), [0x7fffffffffffffffn, NV]);
      assert.deepEqual(cvt(fmt, LU, nan), [ALL, NV]);
      assert.deepEqual(cvt(fmt, W, negInf), [0xffffffff80000000n, NV]);
      assert.deepEqual(cvt(fmt, WU, negInf), [0n, NV]);
      assert.deepEqual(cvt(fmt, L, negInf), [0x8000000000000000n, NV]);
      assert.deepEqual(cvt(fmt, LU, negInf), [0n, NV]);
      assert.deepEqual(cvt(fmt, W, posInf), [0x7fffffffn, NV]);
      assert.deepEqual(cvt(fmt, LU, posInf), [ALL, NV]);
      assert.deepEqual(cvt(fmt, L, big), [0x7fffffffffffffffn, NV]);
      assert.deepEqual(cvt(fmt, W, negBig), [0xffffffff80000000n, NV]);
    }
  });
  it('rounds per mode, NX for inexact in-range results, and knows -0.5 -> 0 is fine for WU', () => {
    assert.deepEqual(cvt(FD, WU, b64(-0.5), RTZ), [0n, NX]);
    assert.deepEqual(cvt(FD, WU, b64(-0.5), RDN), [0n, NV]);
    assert.deepEqual(cvt(FD, WU, b64(-1), RTZ), [0n, NV]);
    assert.deepEqual(cvt(FD, W, b64(2.5), RNE), [2n, NX]);
    assert.deepEqual(cvt(FD, W, b64(3.5), RNE), [4n, NX]);
    assert.deepEqual(cvt(FD, W, b64(2.5), RMM), [3n, NX]);
    assert.deepEqual(cvt(FD, W, b64(-2.5), RMM), [0xfffffffffffffffdn, NX]);
    assert.deepEqual(cvt(FS, L, BigInt(b32(-2.5)), RMM), [0xfffffffffffffffdn, NX]);
    assert.deepEqual(cvt(FD, W, b64(-2.4), RMM), [0xfffffffffffffffen, NX]);
    assert.deepEqual(cvt(FD, WU, b64(4294967295), RNE), [ALL, 0], 'WU results are sign-extended');
    assert.deepEqual(cvt(FD, W, b64(2147483647.5), RTZ), [0x7fffffffn, NX]);
    assert.deepEqual(cvt(FD, W, b64(2147483647.5), RNE), [0x7fffffffn, NV]);
    assert.deepEqual(cvt(FD, L, b64(-(2 ** 63)), RNE), [0x8000000000000000n, 0]);
    assert.deepEqual(cvt(FD, L, b64(2 ** 63), RNE), [0x7fffffffffffffffn, NV]);
    assert.deepEqual(cvt(FD, LU, b64(2 ** 64 - 2048), RNE), [0xfffffffffffff800n, 0]);
  });
});

describe('executeFp: floating-point conversions', () => {
  it('FCVT.S.D rounds, overflows and canonicalizes NaNs; FCVT.D.S is exact', () => {
    const s = new TestFpState();
    s.setF64(1, b64(1e300));
    exec(s, encodeOpFp(CVTFF, FS, 1, 1, RNE, 2));
    assert.equal(s.getF64(2), 0xffffffff7f800000n);
    assert.equal(s.fflags, OF | NX);
    s.fflags = 0;
    exec(s, encodeOpFp(CVTFF, FS, 1, 1, RTZ, 2));
    assert.equal(s.getF64(2), 0xffffffff7f7fffffn);
    s.fflags = 0;
    s.setF64(3, 0x7ff0000000000001n); // sNaN
    exec(s, encodeOpFp(CVTFF, FS, 1, 3, RNE, 4));
    assert.equal(s.getF64(4), 0xffffffff7fc00000n);
    assert.equal(s.fflags, NV);
    s.fflags = 0;
    s.setF64(5, 1n); // smallest double subnormal
    exec(s, encodeOpFp(CVTFF, FS, 1, 5, RUP, 6));
    assert.equal(s.getF64(6), 0xffffffff00000001n);
    assert.equal(s.fflags, UF | NX);
    s.fflags = 0;
    s.setF32(7, 0xffc00abc);
    exec(s, encodeOpFp(CVTFF, FD, 0, 7, RNE, 8));
    assert.equal(s.getF64(8), 0x7ff8000000000000n);
    assert.equal(s.fflags, 0);
    s.setF32(9, 1); // smallest single subnormal widens exactly
    exec(s, encodeOpFp(CVTFF, FD, 0, 9, RNE, 10));
    assert.equal(s.getF64(10), b64(2 ** -149));
  });
});

describe('executeFp: x0 and legality', () => {
  it('discards writes to x0', () => {
    const s = new TestFpState();
    s.setF64(1, b64(-7.5));
    exec(s, encodeOpFp(CVTIF, FD, 0, 1, RTZ, 0));
    exec(s, encodeOpFp(MVX, FD, 0, 1, 0, 0));
    exec(s, encodeOpFp(CMP, FD, 1, 1, 2, 0));
    assert.equal(s.getX(0), 0n);
    assert.equal(s.fflags, NX, 'the conversion still accrued its flag');
  });

  it('reads x0 as zero in integer-to-float moves and conversions', () => {
    const s = new TestFpState();
    s.setF64(2, b64(5));
    exec(s, encodeOpFp(CVTFI, FD, 2, 0, RNE, 2));
    assert.equal(s.getF64(2), 0n);
  });

  it('rejects reserved encodings without changing anything', () => {
    const illegal: Array<[string, number, number?]> = [
      ['rm 5', encodeOpFp(ADD, FD, 2, 1, 5, 3)],
      ['rm 6', encodeOpFp(MUL, FS, 2, 1, 6, 3)],
      ['dyn with frm 5', encodeOpFp(ADD, FD, 2, 1, 7, 3), 5],
      ['dyn with frm 7', encodeR4(OPC_FMADD, 3, FD, 2, 1, 7, 4), 7],
      ['fmt H', encodeOpFp(ADD, 2, 2, 1, RNE, 3)],
      ['fmt Q', encodeOpFp(ADD, 3, 2, 1, RNE, 3)],
      ['fmadd fmt Q', encodeR4(OPC_FMADD, 3, 3, 2, 1, RNE, 4)],
      ['fsqrt rs2 != 0', encodeOpFp(SQRT, FD, 1, 1, RNE, 3)],
      ['fsgnj funct3 3', encodeOpFp(SGNJ, FD, 2, 1, 3, 3)],
      ['fmin funct3 2', encodeOpFp(MINMAX, FD, 2, 1, 2, 3)],
      ['compare funct3 3', encodeOpFp(CMP, FD, 2, 1, 3, 3)],
      ['fcvt.w rs2 4', encodeOpFp(CVTIF, FD, 4, 1, RNE, 3)],
      ['fcvt from int rs2 5', encodeOpFp(CVTFI, FS, 5, 1, RNE, 3)],
      ['fcvt.s.s', encodeOpFp(CVTFF, FS, 0, 1, RNE, 3)],
      ['fcvt.d.d', encodeOpFp(CVTFF, FD, 1, 1, RNE, 3)],
      ['fcvt.d.s rm 5', encodeOpFp(CVTFF, FD, 0, 1, 5, 3)],
      ['fcvt.d.w rm 6', encodeOpFp(CVTFI, FD, 0, 1, 6, 3)],
      ['fclass rs2 1', encodeOpFp(MVX, FS, 1, 1, 1, 3)],
      ['fmv.x.w funct3 2', encodeOpFp(MVX, FS, 0, 1, 2, 3)],
      ['fmv.w.x funct3 1', encodeOpFp(MVF, FS, 0, 1, 1, 3)],
      ['fmv.w.x rs2 1', encodeOpFp(MVF, FS, 1, 1, 0, 3)],
      ['funct5 0x06', encodeOpFp(0x06, FD, 2, 1, RNE, 3)],
      ['funct5 0x1f', encodeOpFp(0x1f, FD, 0, 1, 0, 3)],
      ['not an FP opcode', 0x00000033],
    ];
    for (const [name, insn, frm] of illegal) {
      const s = new TestFpState();
      s.setF64(1, b64(1.5));
      s.setF64(2, b64(2.5));
      s.setF64(3, b64(3.5));
      s.setX(1, 9n);
      s.frm = frm ?? RNE;
      s.fflags = UF;
      const before = s.snapshot();
      assert.equal(executeFp(s, insn), false, name);
      assert.equal(s.snapshot(), before, `${name} changed state`);
    }
  });
});

describe('executeFp: random legal encodings never throw', () => {
  it('survives 20000 random OP-FP/R4 words with random register contents', () => {
    const rng = new Rng(7);
    const s = new TestFpState();
    const opcodes = [0x53, 0x43, 0x47, 0x4b, 0x4f];
    for (let i = 0; i < 20000; i++) {
      if (i % 16 === 0) {
        for (let r = 0; r < 32; r++) {
          s.setF64(r, rng.int(4) === 0 ? 0xffffffff00000000n | BigInt(rng.u32()) : rng.u64());
          if (r) s.setX(r, rng.int(2) ? integerOperand(rng) : conversionOperand(rng, D));
        }
        s.frm = rng.int(8);
      }
      const insn = ((rng.u32() & ~0x7f) | opcodes[rng.int(5)]!) >>> 0;
      const ok = executeFp(s, insn);
      assert.equal(typeof ok, 'boolean');
    }
    assert.equal(s.getX(0), 0n);
  });
});
