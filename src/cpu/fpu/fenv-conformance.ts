/**
 * Test support: executeFp (and the softfloat slow path on its own) against the host FPU through the
 * <fenv.h> reference program: results and accrued flags for random and edge operands in RNE, RTZ, RDN
 * and RUP, static and dynamic rounding modes. Used by execute-fp-reference.test.ts and fpu-soak.ts.
 */
import assert from 'node:assert/strict';
import { executeFp } from './execute-fp.js';
import { runFenvReference, type ReferenceCase, type ReferenceResult } from './fenv-reference.js';
import {
  conversionOperand, D, expField, fmaNearThreshold, integerOperand, isNaNBits, mantField, narrowingOperand, operand, partnerForProduct, partnerForSum, Rng, S, type Fmt,
} from './fp-test-cases.js';
import { BINARY32, BINARY64, softAdd, softDiv, softFma, softMul, softSqrt, softSub, type SoftResult } from './softfloat.js';
import { encodeOpFp, encodeR4, OPC_FMADD, OPC_FMSUB, OPC_FNMADD, OPC_FNMSUB, TestFpState } from './test-fp-state.js';

type Kind = 'bin' | 'sqrt' | 'fma' | 'f2f' | 'f2i' | 'i2f';
interface OpSpec {
  readonly name: string;
  readonly kind: Kind;
  readonly src: Fmt | null; // null: integer source
  readonly dst: Fmt | null; // null: integer destination
  readonly encode: (rm: number) => number;
  readonly soft?: (k: ReferenceCase, rm: number) => SoftResult;
  readonly fma?: { negProduct: boolean; negAddend: boolean };
  readonly intKind?: number;
}

const RD = 4;
const ops: OpSpec[] = [];
for (const [fmt, sfx, ff, fi] of [[S, 's', BINARY32, 0], [D, 'd', BINARY64, 1]] as const) {
  const bin = [['fadd', 0, softAdd], ['fsub', 1, softSub], ['fmul', 2, softMul], ['fdiv', 3, softDiv]] as const;
  for (const [n, f5, soft] of bin) {
    ops.push({ name: `${n}.${sfx}`, kind: 'bin', src: fmt, dst: fmt, encode: (rm) => encodeOpFp(f5, fi, 2, 1, rm, RD), soft: (k, rm) => soft(k.a, k.b, ff, rm) });
  }
  ops.push({ name: `fsqrt.${sfx}`, kind: 'sqrt', src: fmt, dst: fmt, encode: (rm) => encodeOpFp(0x0b, fi, 0, 1, rm, RD), soft: (k, rm) => softSqrt(k.a, ff, rm) });
  const fmas = [['fmadd', OPC_FMADD, false, false], ['fmsub', OPC_FMSUB, false, true], ['fnmsub', OPC_FNMSUB, true, false], ['fnmadd', OPC_FNMADD, true, true]] as const;
  for (const [n, opc, np, na] of fmas) {
    ops.push({
      name: `${n}.${sfx}`, kind: 'fma', src: fmt, dst: fmt, fma: { negProduct: np, negAddend: na },
      encode: (rm) => encodeR4(opc, 3, fi, 2, 1, rm, RD), soft: (k, rm) => softFma(k.a, k.b, k.c, ff, rm, np, na),
    });
  }
  ['w', 'wu', 'l', 'lu'].forEach((ik, kind) => {
    ops.push({ name: `fcvt.${ik}.${sfx}`, kind: 'f2i', src: fmt, dst: null, intKind: kind, encode: (rm) => encodeOpFp(0x18, fi, kind, 1, rm, RD) });
    ops.push({ name: `fcvt.${sfx}.${ik}`, kind: 'i2f', src: null, dst: fmt, intKind: kind, encode: (rm) => encodeOpFp(0x1a, fi, kind, 1, rm, RD) });
  });
}
ops.push({ name: 'fcvt.s.d', kind: 'f2f', src: D, dst: S, encode: (rm) => encodeOpFp(0x08, 0, 1, 1, rm, RD) });
ops.push({ name: 'fcvt.d.s', kind: 'f2f', src: S, dst: D, encode: (rm) => encodeOpFp(0x08, 1, 0, 1, rm, RD) });

function makeCase(rng: Rng, op: OpSpec, rm: number): ReferenceCase {
  const f = op.src;
  if (!f) {
    let v = integerOperand(rng);
    if (op.intKind === 0) v = BigInt.asUintN(64, BigInt.asIntN(32, v)); // W: a sign-extended 32-bit value
    if (op.intKind === 1) v = BigInt.asUintN(32, v);
    return { op: op.name, rm, a: v, b: 0n, c: 0n };
  }
  if (op.kind === 'f2i') return { op: op.name, rm, a: conversionOperand(rng, f), b: 0n, c: 0n };
  if (op.name === 'fcvt.s.d') return { op: op.name, rm, a: narrowingOperand(rng), b: 0n, c: 0n };
  const a = operand(rng, f);
  let b = 0n;
  let c = 0n;
  if (op.kind === 'bin') {
    b = op.name.startsWith('fadd') || op.name.startsWith('fsub') ? partnerForSum(rng, f, a) : partnerForProduct(rng, f, a, op.name.startsWith('fdiv'));
  } else if (op.kind === 'fma') {
    if (rng.int(4) === 0) {
      const [x, y, z] = fmaNearThreshold(rng, f);
      return { op: op.name, rm, a: x, b: y, c: z };
    }
    b = partnerForProduct(rng, f, a, false);
    c = rng.int(3) === 0 ? productNeighbour(rng, f, a, b) : partnerForSum(rng, f, a);
  }
  return { op: op.name, rm, a, b, c };
}

/** An addend close to ±a*b, so the fused sum cancels deeply: the case that needs the exact product. */
function productNeighbour(rng: Rng, f: Fmt, a: bigint, b: bigint): bigint {
  const dv = new DataView(new ArrayBuffer(8));
  let p: number;
  if (f.width === 32) {
    dv.setUint32(0, Number(a));
    const x = dv.getFloat32(0);
    dv.setUint32(0, Number(b));
    p = Math.fround(x * dv.getFloat32(0));
    dv.setFloat32(0, rng.int(2) ? -p : p);
    return BigInt(dv.getUint32(0) ^ rng.int(3));
  }
  dv.setBigUint64(0, a);
  const x = dv.getFloat64(0);
  dv.setBigUint64(0, b);
  p = x * dv.getFloat64(0);
  dv.setFloat64(0, rng.int(2) ? -p : p);
  return dv.getBigUint64(0) ^ BigInt(rng.int(3));
}

const SAT: Record<number, [bigint, bigint]> = {
  0: [0xffffffff80000000n, 0x7fffffffn],
  1: [0n, 0xffffffffffffffffn],
  2: [0x8000000000000000n, 0x7fffffffffffffffn],
  3: [0n, 0xffffffffffffffffn],
};

function canonicalNaN(f: Fmt): bigint {
  return f.width === 32 ? 0x7fc00000n : 0x7ff8000000000000n;
}

function isInfTimesZero(f: Fmt, a: bigint, b: bigint): boolean {
  const inf = (x: bigint) => expField(f, x) === f.expMax && mantField(f, x) === 0n;
  const zero = (x: bigint) => expField(f, x) === 0 && mantField(f, x) === 0n;
  return (inf(a) && zero(b)) || (zero(a) && inf(b));
}

/** What RISC-V requires, from the x86 answer plus the documented differences. */
function expectation(op: OpSpec, k: ReferenceCase, ref: ReferenceResult): { value: bigint; flags: number } {
  if (op.kind === 'f2i') {
    const [min, max] = SAT[op.intKind!]!;
    if (ref.value === 'nan') return { value: max, flags: 0x10 };
    if (ref.value === 'sat') return { value: (k.a >> BigInt(op.src!.width - 1)) & 1n ? min : max, flags: 0x10 };
    return { value: ref.value, flags: ref.flags };
  }
  if (typeof ref.value !== 'bigint') throw new Error(`Unexpected reference answer ${ref.value} for ${op.name}`);
  const dst = op.dst!;
  // F chapter: fma of inf * 0 is invalid even when the addend is a quiet NaN (x86 may not say so).
  if (op.kind === 'fma' && isInfTimesZero(op.src!, k.a, k.b)) return { value: canonicalNaN(dst), flags: 0x10 };
  if (isNaNBits(dst, ref.value)) return { value: canonicalNaN(dst), flags: ref.flags };
  return { value: ref.value, flags: ref.flags };
}

function hex(v: bigint): string {
  return '0x' + v.toString(16);
}

export function runOnHart(op: OpSpec, k: ReferenceCase, dynamic: boolean): { value: bigint; flags: number; boxed: boolean } {
  const s = new TestFpState();
  if (op.src === null) s.setX(1, k.a);
  else if (op.src.width === 32) {
    s.setF32(1, Number(k.a));
    s.setF32(2, Number(k.b));
    s.setF32(3, Number(k.c));
  } else {
    s.setF64(1, k.a);
    s.setF64(2, k.b);
    s.setF64(3, k.c);
  }
  s.setF64(RD, 0x0123456789abcdefn); // stale contents must be fully replaced
  let insn: number;
  if (dynamic) {
    s.frm = k.rm;
    insn = op.encode(7);
  } else insn = op.encode(k.rm);
  assert.equal(executeFp(s, insn), true, `${op.name} must be legal`);
  if (op.dst === null) return { value: s.getX(RD), flags: s.fflags, boxed: true };
  const raw = s.getF64(RD);
  if (op.dst.width === 32) return { value: raw & 0xffffffffn, flags: s.fflags, boxed: raw >> 32n === 0xffffffffn };
  return { value: raw, flags: s.fflags, boxed: true };
}

export interface ConformanceRun {
  readonly cases: number;
  readonly instructions: number;
  /** Mismatches of executeFp against the reference. */
  readonly hartFailures: string[];
  /** Mismatches of the softfloat functions called directly. */
  readonly softFailures: string[];
  /** Which op-kind:flag combinations the reference reported, to prove the generator reaches them. */
  readonly seen: Set<string>;
}

/** Generates perMode cases per instruction and rounding mode from `seed` and checks them all. */
export function runFenvConformance(seed: number, perMode: number): ConformanceRun {
  const rng = new Rng(seed);
  const cases: Array<{ op: OpSpec; k: ReferenceCase }> = [];
  for (const op of ops) {
    for (let rm = 0; rm < 4; rm++) for (let i = 0; i < perMode; i++) cases.push({ op, k: makeCase(rng, op, rm) });
  }
  const refs = runFenvReference(cases.map((c) => c.k));
  const hartFailures: string[] = [];
  const softFailures: string[] = [];
  const seen = new Set<string>();
  cases.forEach(({ op, k }, i) => {
    const ref = refs[i]!;
    if (ref.value === 'sat') seen.add('saturated');
    for (const [bit, name] of [[1, 'NX'], [2, 'UF'], [4, 'OF'], [8, 'DZ'], [16, 'NV']] as const) if (ref.flags & bit) seen.add(`${op.kind}:${name}`);
    const want = expectation(op, k, ref);
    const dynamic = i % 2 === 1;
    const got = runOnHart(op, k, dynamic);
    const operands = `a=${hex(k.a)} b=${hex(k.b)} c=${hex(k.c)}`;
    if (got.value !== want.value || got.flags !== want.flags || !got.boxed) {
      hartFailures.push(
        `${op.name} rm=${k.rm}${dynamic ? ' (dyn)' : ''} ${operands}: ` +
          `got ${hex(got.value)} flags ${got.flags}${got.boxed ? '' : ' (not NaN-boxed)'}, want ${hex(want.value)} flags ${want.flags}`,
      );
    }
    if (op.soft) {
      const soft = op.soft(k, k.rm);
      if (soft.bits !== want.value || soft.flags !== want.flags) {
        softFailures.push(`${op.name} rm=${k.rm} ${operands}: got ${hex(soft.bits)} flags ${soft.flags}, want ${hex(want.value)} flags ${want.flags}`);
      }
    }
  });
  return { cases: cases.length, instructions: ops.length, hartFailures, softFailures, seen };
}
