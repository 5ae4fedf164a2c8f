/**
 * F and D in the JIT against the interpreter (the reference), in lock-step: one small guest loop per
 * instruction form — operands, fflags and frm loaded from a table, the instruction, its results and
 * fflags stored back — run over directed and random operands (signed zeros, subnormals, infinities, NaN
 * payloads, unboxed singles, halfway cases, cancellation, the thresholds of the JIT's fast paths),
 * with every block translated on first sight. Both engines run the same program; the lock-step
 * compares every register, fcsr and mstatus after each unit, and guest RAM (the result table).
 *
 * WISP_FP_CASES sets the cases per instruction form and program (default 200; a soak: 4000 or more),
 * WISP_FP_SEED the seed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Bus } from '../memory/bus.js';
import { MachineMemory } from '../memory/machine-memory.js';
import { Priv } from '../cpu/trap.js';
import { Csr } from '../cpu/csr/csr-numbers.js';
import { InterpreterHart } from '../cpu/interpreter/interpreter-hart.js';
import { StopReason } from '../cpu/hart.js';
import {
  conversionOperand, D, fmaNearThreshold, integerOperand, narrowingOperand, operand, pack, partnerForProduct, partnerForSum, Rng, S,
  type Fmt,
} from '../cpu/fpu/fp-test-cases.js';
import { lockstep } from './differential.js';
import { JitHart } from './jit-hart.js';

const CODE = 0x8000_0000;
const HANDLER = 0x8000_0800;
const TABLE = 0x8001_0000;
const STRIDE = 88;
const CASES = Number(process.env.WISP_FP_CASES ?? 200);

// Registers: a0 table pointer, a1 count, t0 integer operand, t1 scratch, t2 integer result, t3 flags.
const A0 = 10, A1 = 11, T0 = 5, T1 = 6, T2 = 7, T3 = 28;

const r = (f7: number, rs2: number, rs1: number, f3: number, rd: number, op: number) =>
  ((f7 << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op) >>> 0;
const iType = (imm: number, rs1: number, f3: number, rd: number, op: number) => (((imm & 0xfff) << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op) >>> 0;
const sType = (imm: number, rs2: number, rs1: number, f3: number, op: number) =>
  ((((imm >> 5) & 0x7f) << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | ((imm & 31) << 7) | op) >>> 0;
const fld = (rd: number, off: number) => iType(off, A0, 3, rd, 0x07);
const fsd = (rs: number, off: number) => sType(off, rs, A0, 3, 0x27);
const ld = (rd: number, off: number) => iType(off, A0, 3, rd, 0x03);
const sd = (rs: number, off: number) => sType(off, rs, A0, 3, 0x23);
const addi = (rd: number, rs: number, imm: number) => iType(imm, rs, 0, rd, 0x13);
const csrw = (csr: number, rs: number) => iType(csr, rs, 1, 0, 0x73);
const csrr = (rd: number, csr: number) => iType(csr, 0, 2, rd, 0x73);

/** One instruction form under test: its encoding (operands f1, f2, f3 / t0; result f4 / t2) and operand maker. */
interface Form {
  name: string;
  insn: number;
  /** f1, f2, f3 bits and the integer operand. */
  operands: (rng: Rng) => [bigint, bigint, bigint, bigint];
}

const ONES = 0xffff_ffff_0000_0000n;
/** A single as an f register holds it: NaN-boxed, except now and then (then it reads as the canonical NaN). */
function boxed(rng: Rng, bits: bigint): bigint {
  return rng.int(40) === 0 ? (rng.u64() & ~ONES) | bits : ONES | bits;
}

/**
 * Products and quotients whose exact value lies just below the smallest normal and rounds up to it:
 * tiny after rounding or not depending on a hair (RISC-V detects tininess after rounding), the one
 * place where a result equal to the smallest normal still needs UF.
 */
function tinyAfterRounding(F: Fmt, quotient: boolean): [bigint, bigint][] {
  const p = BigInt(F.mantBits), all = (1n << p) - 1n;
  const minNormal = pack(F, false, 1, 0n);
  const below1 = pack(F, false, F.bias - 1, all); // 1 - 2^-(p+1)
  const below1b = pack(F, false, F.bias - 1, all - 1n);
  const above1 = pack(F, false, F.bias, 1n); // 1 + 2^-p
  const sign = 1n << BigInt(F.width - 1);
  const out: [bigint, bigint][] = quotient
    ? [[minNormal, above1], [pack(F, false, 1, 1n), pack(F, false, F.bias, 2n)], [minNormal, pack(F, false, F.bias, 3n)]]
    : [[below1, minNormal], [minNormal, below1], [below1b, minNormal], [pack(F, false, 1, 1n), below1]];
  return out.flatMap(([a, b]) => [[a, b], [a | sign, b], [a, b | sign]] as [bigint, bigint][]);
}

function forms(): Form[] {
  const out: Form[] = [];
  for (const [fmt, F] of [[0, S], [1, D]] as [number, Fmt][]) {
    const sfx = fmt === 0 ? 's' : 'd';
    const wrap = (rng: Rng, b: bigint) => (fmt === 0 ? boxed(rng, b) : b);
    const op = (rng: Rng) => wrap(rng, operand(rng, F));
    const rms = [0, 7, 1, 2, 3, 4];
    for (const [name, f5] of [['fadd', 0], ['fsub', 1], ['fmul', 2], ['fdiv', 3]] as const) {
      for (const rm of rms) {
        out.push({
          name: `${name}.${sfx} rm${rm}`, insn: r((f5 << 2) | fmt, 2, 1, rm, 4, 0x53),
          operands: (rng) => {
            if (f5 >= 2 && rng.int(12) === 0) { const [a, b] = rng.pick(tinyAfterRounding(F, f5 === 3)); return [wrap(rng, a), wrap(rng, b), 0n, 0n]; }
            const a = operand(rng, F);
            const b = f5 < 2 ? partnerForSum(rng, F, a) : partnerForProduct(rng, F, a, f5 === 3);
            return [wrap(rng, a), wrap(rng, b), 0n, 0n];
          },
        });
      }
    }
    for (const rm of [0, 7, 1]) out.push({ name: `fsqrt.${sfx} rm${rm}`, insn: r((0x0b << 2) | fmt, 0, 1, rm, 4, 0x53), operands: (rng) => [op(rng), 0n, 0n, 0n] });
    for (const [k, name] of ['fsgnj', 'fsgnjn', 'fsgnjx'].entries()) out.push({ name: `${name}.${sfx}`, insn: r((4 << 2) | fmt, 2, 1, k, 4, 0x53), operands: (rng) => [op(rng), op(rng), 0n, 0n] });
    for (const [k, name] of ['fmin', 'fmax'].entries()) out.push({ name: `${name}.${sfx}`, insn: r((5 << 2) | fmt, 2, 1, k, 4, 0x53), operands: (rng) => [op(rng), rng.int(4) === 0 ? op(rng) : wrap(rng, partnerForSum(rng, F, operand(rng, F))), 0n, 0n] });
    for (const [k, name] of ['fle', 'flt', 'feq'].entries()) {
      out.push({ name: `${name}.${sfx}`, insn: r((0x14 << 2) | fmt, 2, 1, k, T2, 0x53), operands: (rng) => { const a = op(rng); return [a, rng.int(4) === 0 ? a : op(rng), 0n, 0n]; } });
    }
    for (const [k, name] of ['w', 'wu', 'l', 'lu'].entries()) {
      for (const rm of [0, 1, 2, 3, 4, 7]) {
        out.push({ name: `fcvt.${name}.${sfx} rm${rm}`, insn: r((0x18 << 2) | fmt, k, 1, rm, T2, 0x53), operands: (rng) => [wrap(rng, conversionOperand(rng, F)), 0n, 0n, 0n] });
      }
      for (const rm of [0, 7, 1, 3]) {
        out.push({ name: `fcvt.${sfx}.${name} rm${rm}`, insn: r((0x1a << 2) | fmt, k, T0, rm, 4, 0x53), operands: (rng) => [0n, 0n, 0n, integerOperand(rng)] });
      }
    }
    out.push({ name: `fmv.x.${fmt === 0 ? 'w' : 'd'}`, insn: r((0x1c << 2) | fmt, 0, 1, 0, T2, 0x53), operands: (rng) => [op(rng), 0n, 0n, 0n] });
    out.push({ name: `fclass.${sfx}`, insn: r((0x1c << 2) | fmt, 0, 1, 1, T2, 0x53), operands: (rng) => [op(rng), 0n, 0n, 0n] });
    out.push({ name: `fmv.${fmt === 0 ? 'w' : 'd'}.x`, insn: r((0x1e << 2) | fmt, 0, T0, 0, 4, 0x53), operands: (rng) => [0n, 0n, 0n, rng.u64()] });
    for (const [opc, name] of [[0x43, 'fmadd'], [0x47, 'fmsub'], [0x4b, 'fnmsub'], [0x4f, 'fnmadd']] as const) {
      for (const rm of [0, 7, 2]) {
        out.push({
          name: `${name}.${sfx} rm${rm}`, insn: ((3 << 27) | r(fmt, 2, 1, rm, 4, opc)) >>> 0,
          operands: (rng) => {
            const k = rng.int(6);
            if (k === 0) { const [a, b, c] = fmaNearThreshold(rng, F); return [wrap(rng, a), wrap(rng, b), wrap(rng, c), 0n]; }
            if (k === 1) { const [a, b, c] = fmaTie(rng, F); return [wrap(rng, a), wrap(rng, b), wrap(rng, c), 0n]; }
            const a = operand(rng, F);
            const b = rng.int(2) === 0 ? partnerForProduct(rng, F, a, false) : operand(rng, F);
            return [wrap(rng, a), wrap(rng, b), wrap(rng, fmaAddend(rng, F, a, b)), 0n];
          },
        });
      }
    }
  }
  out.push({ name: 'fcvt.s.d rm0', insn: r((8 << 2) | 0, 1, 1, 0, 4, 0x53), operands: (rng) => [narrowingOperand(rng), 0n, 0n, 0n] });
  out.push({ name: 'fcvt.s.d rm7', insn: r((8 << 2) | 0, 1, 1, 7, 4, 0x53), operands: (rng) => [narrowingOperand(rng), 0n, 0n, 0n] });
  out.push({ name: 'fcvt.s.d rm1', insn: r((8 << 2) | 0, 1, 1, 1, 4, 0x53), operands: (rng) => [narrowingOperand(rng), 0n, 0n, 0n] });
  out.push({ name: 'fcvt.d.s rm0', insn: r((8 << 2) | 1, 0, 1, 0, 4, 0x53), operands: (rng) => [boxed(rng, operand(rng, S)), 0n, 0n, 0n] });
  out.push({ name: 'fcvt.d.s rm7', insn: r((8 << 2) | 1, 0, 1, 7, 4, 0x53), operands: (rng) => [boxed(rng, operand(rng, S)), 0n, 0n, 0n] });
  return out;
}

/**
 * An addend for a*b: often -a*b give or take a few ulps (cancellation: where the emulated FMA's error
 * terms decide everything), or a*b scaled far down or up (rounding to odd of the small terms), else random.
 */
function fmaAddend(rng: Rng, F: Fmt, a: bigint, b: bigint): bigint {
  const k = rng.int(4);
  if (k === 0) return operand(rng, F);
  const v = F.width === 64 ? bitsToF64(a) * bitsToF64(b) : Math.fround(bitsToF32(a) * bitsToF32(b));
  if (!Number.isFinite(v) || v === 0) return operand(rng, F);
  let c = k === 1 ? -v : v * 2 ** (rng.int(2) === 0 ? -(20 + rng.int(40)) : 20 + rng.int(40)) * (rng.int(2) === 0 ? -1 : 1);
  if (F.width === 32) c = Math.fround(c);
  let bits = F.width === 64 ? f64ToBits(c) : f32ToBitsBig(c);
  if (k === 1) bits += BigInt(rng.int(5) - 2);
  return F.width === 64 ? BigInt.asUintN(64, bits) : BigInt.asUintN(32, bits);
}
/**
 * a*b + c where c + RN(a*b) is exactly halfway between two neighbours of c and a*b's rounding error
 * (tiny, either sign) decides the way: a = 2^ea (1 + x), b = 2^eb (1 - x), so a*b = 2^(ea+eb) (1 - x^2)
 * rounds to the power of two 2^(ea+eb), half an ulp of c. Getting these right is what the emulated
 * FMA's rounding to odd is for.
 */
function fmaTie(rng: Rng, F: Fmt): [bigint, bigint, bigint] {
  const p = F.mantBits;
  const xe = Math.ceil(p / 2) + 1 + rng.int(Math.floor(p / 2) - 2); // x = 2^-xe: 1 ± x has few bits, x^2 below half an ulp of 1
  const ea = F.bias + rng.int(21) - 10, eb = F.bias + rng.int(21) - 10;
  const a = pack(F, rng.int(2) === 1, ea, 1n << BigInt(p - xe));
  const b = pack(F, rng.int(2) === 1, eb - 1, (1n << BigInt(p)) - (1n << BigInt(p - xe + 1))); // 2^eb (1 - x) = 2^(eb-1) (2 - 2x)
  // c: an odd significand whose ulp is twice |a*b|'s power of two: exponent (ea + eb - bias) + 1 + p.
  const ec = ea - F.bias + eb - F.bias + 1 + p + F.bias;
  const c = pack(F, rng.int(2) === 1, ec, (BigInt(rng.u32()) << 20n | BigInt(rng.u32())) | 1n);
  return [a, b, c];
}

const dv = new DataView(new ArrayBuffer(8));
const bitsToF64 = (b: bigint) => { dv.setBigUint64(0, b, true); return dv.getFloat64(0, true); };
const bitsToF32 = (b: bigint) => { dv.setUint32(0, Number(b & 0xffff_ffffn), true); return dv.getFloat32(0, true); };
const f64ToBits = (v: number) => { dv.setFloat64(0, v, true); return dv.getBigUint64(0, true); };
const f32ToBitsBig = (v: number) => { dv.setFloat32(0, v, true); return BigInt(dv.getUint32(0, true)); };

/**
 * The loop around one instruction, and a trap handler that records mcause and skips it. With
 * `fsKnown`, an FP move right before the instruction lets the translator know FS is Dirty there
 * (the paths without the FS check); without it, the mstatus write before it (a CSR helper) makes
 * it check FS itself, in every state the table sets.
 */
function program(insn: number, fsKnown: boolean): number[] {
  const body = [
    fld(1, 0), fld(2, 8), fld(3, 16), ld(T0, 24),
    ld(T1, 32), csrw(Csr.fflags, T1),
    ld(T1, 40), csrw(Csr.frm, T1),
    fld(4, 48), addi(T2, 0, 0),
    ld(T1, 80), csrw(Csr.mstatus, T1), // FS for the instruction: mostly Dirty, also Clean, Initial, Off
    ...(fsKnown ? [r(0x11, 0, 0, 0, 0, 0x53)] : []), // fsgnj.d f0, f0, f0
    insn,
    fsd(4, 48), sd(T2, 56),
    csrr(T3, Csr.fflags), sd(T3, 64),
    addi(A0, A0, STRIDE), addi(A1, A1, -1),
  ];
  const back = -4 * body.length;
  // bne a1, zero, back
  const bne = ((((back >> 12) & 1) << 31) | (((back >> 5) & 0x3f) << 25) | (0 << 20) | (A1 << 15) | (1 << 12) | (((back >> 1) & 0xf) << 8) | (((back >> 11) & 1) << 7) | 0x63) >>> 0;
  return [...body, bne, 0x0000006f]; // then j .
}
const HANDLER_CODE = [csrr(T3, Csr.mcause), sd(T3, 72), csrr(T3, Csr.mepc), addi(T3, T3, 4), csrw(Csr.mepc, T3), 0x30200073 /* mret */];

function setUp(hart: InterpreterHart, memory: MachineMemory, code: number[], table: Uint8Array, count: number): void {
  const put = (at: number, ws: number[]) => {
    const b = new Uint8Array(4 * ws.length);
    const v = new DataView(b.buffer);
    ws.forEach((w, i) => v.setUint32(4 * i, w, true));
    memory.write(at, b);
  };
  put(CODE, code);
  put(HANDLER, HANDLER_CODE);
  memory.write(TABLE, table);
  hart.setPrivilege(Priv.M);
  hart.writeCsr(Csr.mtvec, BigInt(HANDLER));
  hart.writeCsr(Csr.mstatus, 3n << 13n); // FS Dirty: the inline paths' precondition (the helper covers the rest)
  hart.setX(A0, BigInt(TABLE));
  hart.setX(A1, BigInt(count));
  hart.setPc(BigInt(CODE));
}

function table(form: Form, rng: Rng, count: number): Uint8Array {
  const t = new Uint8Array(STRIDE * count);
  const v = new DataView(t.buffer);
  for (let i = 0; i < count; i++) {
    const [a, b, c, x] = form.operands(rng);
    const o = i * STRIDE;
    v.setBigUint64(o, a, true);
    v.setBigUint64(o + 8, b, true);
    v.setBigUint64(o + 16, c, true);
    v.setBigUint64(o + 24, x, true);
    // fflags before: mostly clear (the JIT must then find NX itself) or NX only; sometimes others.
    v.setBigUint64(o + 32, BigInt(rng.pick([0, 0, 1, 1, 0x10, 0x1f])), true);
    // frm for DYN: mostly RNE, also the others, and now and then an invalid one (illegal instruction).
    v.setBigUint64(o + 40, BigInt(rng.pick([0, 0, 0, 1, 2, 3, 4, 5, 7])), true);
    v.setBigUint64(o + 48, 0x7ff4_dead_beef_0001n, true); // f4 before: a marker
    v.setBigUint64(o + 80, BigInt(rng.pick([3, 3, 3, 3, 3, 2, 1, 0])) << 13n, true);
  }
  return t;
}

test('F and D: the JIT agrees with the interpreter in lock-step on directed and random operands', { timeout: 600_000 }, () => {
  const rng = new Rng(Number(process.env.WISP_FP_SEED ?? 0xf10a7));
  let total = 0;
  for (const form of forms()) for (const fsKnown of [false, true]) {
    const code = program(form.insn, fsKnown);
    const t = table(form, rng, CASES);
    const make = <H extends InterpreterHart>(ctor: (m: MachineMemory) => H): [H, MachineMemory] => {
      const memory = new MachineMemory(1 << 20);
      const h = ctor(memory);
      setUp(h, memory, code, t, CASES);
      return [h, memory];
    };
    const [ref, refMem] = make((memory) => new InterpreterHart({ id: 0, memory, bus: new Bus(), time: () => 0 }));
    const [jit, jitMem] = make((memory) => new JitHart({ id: 0, memory, bus: new Bus(), time: () => 0 }, { threshold: 0 }));
    const res = lockstep(ref, refMem.bytes, jit, jitMem.bytes, { maxSteps: 40 * CASES + 1000, ramEvery: 1e9 });
    if (res.divergence) {
      // The difference shows in the case a0 points at, or (its results stored, a0 moved on) the one before.
      const i = Math.floor((Number(jit.getX(A0)) - TABLE) / STRIDE);
      const v = new DataView(t.buffer);
      const ops = (j: number) => j < 0 ? '-' : [0, 8, 16, 24, 32, 40].map((o) => '0x' + v.getBigUint64(j * STRIDE + o, true).toString(16)).join(' ');
      assert.fail(`${form.name}${fsKnown ? ' (FS known Dirty)' : ''}: diverged at pc 0x${res.divergence.pc.toString(16)} in case ${i} or ${i - 1} (f1 f2 f3 x fflags frm):\n` +
        `  case ${i}: ${ops(i)}\n  case ${i - 1}: ${ops(i - 1)}\n  ${res.divergence.differences.join('\n  ')}`);
    }
    assert.notEqual(res.stop, StopReason.Stopped);
    assert.equal(jit.getX(A1), 0n, `${form.name}: the loop ran to the end`);
    assert.ok(jit.stats.translated > 0, `${form.name}: the loop was translated`);
    total += CASES;
  }
  assert.ok(total > 0);
});

test('F and D: inline FP stays inline (fflags NX set, RNE, ordinary operands: no helper calls)', () => {
  // fadd.d, fmul.d, fdiv.d, fsqrt.d, fmadd.d over ordinary doubles: the region should not need the
  // interpreter for any of them once FS is Dirty and NX is set.
  const memory = new MachineMemory(1 << 20);
  const hart = new JitHart({ id: 0, memory, bus: new Bus(), time: () => 0 }, { threshold: 0 });
  const loop = [
    r(0x01, 2, 1, 7, 4, 0x53), r(0x09, 2, 4, 7, 4, 0x53), r(0x0d, 2, 4, 7, 4, 0x53), r(0x2d, 0, 4, 7, 4, 0x53),
    ((1 << 27) | r(1, 2, 4, 7, 4, 0x43)) >>> 0, // fmadd.d f4, f4, f2, f1
    addi(A1, A1, -1),
  ];
  const back = -4 * loop.length;
  const bne = ((((back >> 12) & 1) << 31) | (((back >> 5) & 0x3f) << 25) | (A1 << 15) | (1 << 12) | (((back >> 1) & 0xf) << 8) | (((back >> 11) & 1) << 7) | 0x63) >>> 0;
  const code = [...loop, bne, 0x0000006f];
  const b = new Uint8Array(4 * code.length);
  code.forEach((w, i) => new DataView(b.buffer).setUint32(4 * i, w, true));
  memory.write(CODE, b);
  hart.setPrivilege(Priv.M);
  hart.writeCsr(Csr.mstatus, 3n << 13n);
  hart.writeCsr(Csr.fflags, 1n);
  memory.f64[(memory.hartRegion(0) + 0x100) / 8 + 1] = 1.25;
  memory.f64[(memory.hartRegion(0) + 0x100) / 8 + 2] = 3.5;
  hart.setX(A1, 100_000n);
  hart.setPc(BigInt(CODE));
  for (let i = 0; i < 100 && hart.getX(A1) !== 0n; i++) hart.run(1 << 20);
  assert.equal(hart.getX(A1), 0n);
  assert.ok(hart.stats.interpretedSteps < 100, `interpreted ${hart.stats.interpretedSteps} steps`);
  assert.equal(hart.stats.helperSteps, 0, 'no FP instruction went to the interpreter');
  void pack;
});
