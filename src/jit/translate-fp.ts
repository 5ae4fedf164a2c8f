import { BlockType, F32, F64, I32, I64, type FunctionBuilder, type ModuleBuilder } from './wasm/index.js';

/**
 * F and D inline (unprivileged spec chapters "F" and "D"): the computational instructions as wasm f32/f64
 * arithmetic, exact in every case they take, and the interpreter (cpu/fpu, the reference) for the rest.
 *
 * wasm's arithmetic is IEEE 754 round-to-nearest-even, so an instruction runs inline when its rounding
 * mode is RNE (static, or DYN with frm = RNE) and its result needs nothing else: operands and result
 * finite, no underflow (the result normal, or an exact zero), no NaN (a NaN result needs the canonical
 * NaN and maybe NV). Then the only flag it can raise is NX, and NX is accrued: once set, nothing needs
 * computing; while clear, the exact rounding error decides it (TwoSum, Dekker's product, or a check in
 * double for singles). Float-to-integer conversions also take the static modes RTZ, RDN and RUP (wasm's
 * trunc, floor and ceil), which C casts, floor() and ceil() use. Everything else — directed rounding,
 * specials, the edges of the exponent range, FCLASS, an FS that is not Dirty — goes to the interpreter
 * for that one instruction, which raises the flags and traps exactly.
 *
 * Fused multiply-add has no wasm instruction. Doubles: the product's exact error (Dekker), the sum's
 * (TwoSum), then RN(th + RO(tl + ul)) — rounding to odd of the error terms makes the last addition
 * correctly rounded (Boldo & Melquiond, "Emulation of FMA and correctly rounded sums: proved algorithms
 * using rounding to odd", IEEE TC 57(4), 2008). Singles: the product is exact in double, the sum is
 * rounded to odd in double and then to single (53 >= 24 + 2 bits, the same paper). With NX clear the
 * double FMA goes to the interpreter.
 *
 * Every inline path requires mstatus.FS = Dirty: the interpreter marks FS Dirty on every F/D
 * instruction, so the helper runs the first one after a context switch and the rest stay inline.
 */

/** The registers an F/D instruction reads and writes, by file (register caching and helper spills). */
export interface FpOperands {
  xr: number[];
  xw: number[];
  fr: number[];
  fw: number[];
}

export function isFp(insn: number): boolean {
  const op = insn & 0x7f;
  return op === 0x07 || op === 0x27 || op === 0x53 || op === 0x43 || op === 0x47 || op === 0x4b || op === 0x4f;
}

export function fpOperands(insn: number): FpOperands {
  const op = insn & 0x7f;
  const rd = (insn >>> 7) & 31, rs1 = (insn >>> 15) & 31, rs2 = (insn >>> 20) & 31, rs3 = insn >>> 27;
  switch (op) {
    case 0x07: return { xr: [rs1], xw: [], fr: [], fw: [rd] };
    case 0x27: return { xr: [rs1], xw: [], fr: [rs2], fw: [] };
    case 0x53:
      switch (insn >>> 27) {
        case 0x14: return { xr: [], xw: [rd], fr: [rs1, rs2], fw: [] }; // compares
        case 0x18: case 0x1c: return { xr: [], xw: [rd], fr: [rs1], fw: [] }; // to integer, FMV.X, FCLASS
        case 0x1a: case 0x1e: return { xr: [rs1], xw: [], fr: [], fw: [rd] }; // from integer, FMV.F.X
        case 0x08: case 0x0b: return { xr: [], xw: [], fr: [rs1], fw: [rd] }; // FCVT.S.D/D.S, FSQRT
        default: return { xr: [], xw: [], fr: [rs1, rs2], fw: [rd] };
      }
    default: return { xr: [], xw: [], fr: [rs1, rs2, rs3], fw: [rd] }; // fused multiply-adds
  }
}

/** What the FP translator needs from the region translator around it. */
export interface FpContext {
  readonly f: FunctionBuilder;
  /** Push integer register r (i64) / pop into it (x0: discarded). */
  getX(r: number): void;
  setX(r: number): void;
  /** Push f register r's raw bits (i64) / pop raw bits into it. */
  getF(r: number): void;
  setF(r: number): void;
  /** The instruction in the interpreter, emitted `depth` levels inside the instruction's top level. */
  helper(depth: number): void;
  /** Byte addresses of fflags, frm and mstatus's low word (hart-layout). */
  readonly fflags: number;
  readonly frm: number;
  readonly mstatus: number;
  /** Module-level helpers shared by a region's FP instructions (see fpSupport). */
  readonly support: FpSupport;
  /**
   * FS is known to be Dirty here (an earlier F/D instruction of the block ran: inline, which needs
   * Dirty, or in the interpreter, which leaves it Dirty), so the check can be left out.
   */
  readonly fsDirty: boolean;
  /**
   * Pushes the block's FP environment check (i32): FS Dirty, NX set and frm RNE — the state in which
   * an RNE result that is finite and normal needs nothing but itself. Computed once per block (the
   * region translator keeps it in a local until a CSR instruction runs: F/D instructions only ever
   * make FS Dirty and raise flags, so a true value stays true).
   */
  env(): void;
}

const MSTATUS_FS = 0x6000;
const NX = 1;
const MIN_NORMAL_64 = 2 ** -1022;
const MIN_NORMAL_32 = 2 ** -126;
/** Below this, partial products of Dekker's split may underflow; beyond SPLIT_MAX the split overflows. */
const SMALL = 2 ** -900;
const SPLIT_MAX = 2 ** 995;
/** TwoSum is exact while nothing reaches the overflow threshold. */
const SUM_MAX = 2 ** 1022;
const FMA_MAX = 2 ** 1020;

/** Functions and locals a region's FP code shares, created when the first FP instruction needs them. */
export class FpSupport {
  private sumErr = -1;
  private prodErr = -1;
  private locals: { d: number[]; s: number[]; q: number; q2: number; w: number } | undefined;

  constructor(private readonly m: ModuleBuilder, private readonly f: FunctionBuilder) {}

  /** Scratch locals of the region function: 14 f64, 3 f32, two i64, one i32. */
  get l(): { d: number[]; s: number[]; q: number; q2: number; w: number } {
    if (this.locals === undefined) {
      const f = this.f;
      this.locals = {
        d: Array.from({ length: 14 }, () => f.local(F64)),
        s: Array.from({ length: 3 }, () => f.local(F32)),
        q: f.local(I64),
        q2: f.local(I64),
        w: f.local(I32),
      };
    }
    return this.locals;
  }

  /** `twoSumErr(a, b, s) -> f64`: exact a + b - s for s = RN(a + b) (Knuth's TwoSum). */
  get twoSumErr(): number {
    if (this.sumErr < 0) {
      const g = this.m.function(this.m.type([F64, F64, F64], [F64]));
      const bv = g.local(F64), av = g.local(F64);
      g.localGet(2).localGet(0).f64Sub().localSet(bv);
      g.localGet(2).localGet(bv).f64Sub().localSet(av);
      g.localGet(0).localGet(av).f64Sub().localGet(1).localGet(bv).f64Sub().f64Add();
      this.sumErr = g.index;
    }
    return this.sumErr;
  }

  /** `twoProdErr(a, b, p) -> f64`: exact a * b - p for p = RN(a * b) (Veltkamp's split, Dekker's product). */
  get twoProdErr(): number {
    if (this.prodErr < 0) {
      const g = this.m.function(this.m.type([F64, F64, F64], [F64]));
      const ah = g.local(F64), al = g.local(F64), bh = g.local(F64), bl = g.local(F64), t = g.local(F64);
      const SPLITTER = 134217729; // 2^27 + 1
      const split = (x: number, hi: number, lo: number) => {
        g.f64Const(SPLITTER).localGet(x).f64Mul().localTee(t);
        g.localGet(t).localGet(x).f64Sub().f64Sub().localTee(hi);
        g.localGet(x).localGet(hi).f64Sub().localSet(lo);
        g.drop();
      };
      split(0, ah, al);
      split(1, bh, bl);
      // ((ah*bh - p) + ah*bl + al*bh) + al*bl
      g.localGet(ah).localGet(bh).f64Mul().localGet(2).f64Sub();
      g.localGet(ah).localGet(bl).f64Mul().f64Add();
      g.localGet(al).localGet(bh).f64Mul().f64Add();
      g.localGet(al).localGet(bl).f64Mul().f64Add();
      this.prodErr = g.index;
    }
    return this.prodErr;
  }
}

/**
 * Emits one OP-FP or fused multiply-add instruction (loads and stores are the region translator's).
 * Shape: `block $done { block $slow { checks, br_if $slow; commit; br $done } helper }`.
 */
export function emitFpCompute(c: FpContext, insn: number): void {
  const f = c.f;
  const op = insn & 0x7f;
  const rd = (insn >>> 7) & 31, rs1 = (insn >>> 15) & 31, rs2 = (insn >>> 20) & 31;
  const rm = (insn >>> 12) & 7, fmt = (insn >>> 25) & 3, f5 = insn >>> 27;
  if (fmt > 1) { c.helper(0); return; } // H and Q: illegal, the interpreter raises it
  const single = fmt === 0;
  if (op !== 0x53) {
    if (!rneAllowed(rm)) { c.helper(0); return; }
    if (single) fmaSingle(c, insn); else fmaDouble(c, insn);
    return;
  }
  switch (f5) {
    case 0x00: case 0x01: case 0x02: case 0x03: // add, sub, mul, div
      if (!rneAllowed(rm)) break;
      if (single) arithSingle(c, f5, rd, rs1, rs2, rm); else arithDouble(c, f5, rd, rs1, rs2, rm);
      return;
    case 0x0b: // sqrt
      if (!rneAllowed(rm) || rs2 !== 0) break;
      if (single) arithSingle(c, 4, rd, rs1, 0, rm); else arithDouble(c, 4, rd, rs1, 0, rm);
      return;
    case 0x04: // sign injection
      if (rm > 2) break;
      pure(c, () => {
        if (single) {
          signInject32(f, rm, () => unboxed(c, rs1), () => unboxed(c, rs2));
          f.i64ExtendI32U().i64Const(-0x1_0000_0000).i64Or();
        } else {
          signInject64(f, rm, () => c.getF(rs1), () => c.getF(rs2));
        }
        c.setF(rd);
      });
      return;
    case 0x05: // min, max
      if (rm > 1) break;
      fastOr(c, () => {
        const { d } = c.support.l;
        c.env(); fastOperands(c, single, [rs1, rs2], [d[0], d[1]]); f.i32And();
        notNaN(f, d[0]); f.i32And(); notNaN(f, d[1]); f.i32And();
      }, () => {
        const { d } = c.support.l;
        f.localGet(d[0]).localGet(d[1]);
        if (rm === 0) f.f64Min(); else f.f64Max();
        result(c, single, rd);
      }, (depth) => guarded(c, (slow) => {
        const { d } = c.support.l;
        operand(c, single, rs1, d[0], slow); operand(c, single, rs2, d[1], slow);
        notNaN(f, d[0]); notNaN(f, d[1]); f.i32And().i32Eqz(); slow();
        f.localGet(d[0]).localGet(d[1]);
        if (rm === 0) f.f64Min(); else f.f64Max();
        result(c, single, rd);
      }, depth));
      return;
    case 0x14: // compares: FLE (0), FLT (1), FEQ (2); any NaN: the interpreter (flags)
      if (rm > 2) break;
      const cmp = () => {
        const { d } = c.support.l;
        f.localGet(d[0]).localGet(d[1]);
        if (rm === 0) f.f64Le(); else if (rm === 1) f.f64Lt(); else f.f64Eq();
        f.i64ExtendI32U();
        c.setX(rd);
      };
      fastOr(c, () => {
        const { d } = c.support.l;
        c.env(); fastOperands(c, single, [rs1, rs2], [d[0], d[1]]); f.i32And();
        notNaN(f, d[0]); f.i32And(); notNaN(f, d[1]); f.i32And();
      }, cmp, (depth) => guarded(c, (slow) => {
        const { d } = c.support.l;
        operand(c, single, rs1, d[0], slow); operand(c, single, rs2, d[1], slow);
        notNaN(f, d[0]); notNaN(f, d[1]); f.i32And().i32Eqz(); slow();
        cmp();
      }, depth));
      return;
    case 0x08: // FCVT.S.D (fmt S, rs2 = 1) and FCVT.D.S (fmt D, rs2 = 0)
      if (rs2 !== (single ? 1 : 0)) break;
      if (single) { if (rneAllowed(rm)) { demote(c, rd, rs1, rm); return; } break; }
      if (!rmValid(rm)) break;
      // Every single is a double: exact, unless NaN.
      fastOr(c, () => {
        const { d } = c.support.l;
        c.env(); fastOperands(c, true, [rs1], [d[0]]); f.i32And(); notNaN(f, d[0]); f.i32And();
      }, () => {
        f.localGet(c.support.l.d[0]); result(c, false, rd);
      }, (depth) => guarded(c, (slow) => {
        const { d } = c.support.l;
        rmValidCheck(c, rm, slow);
        operand(c, true, rs1, d[0], slow);
        notNaN(f, d[0]); f.i32Eqz(); slow();
        f.localGet(d[0]); result(c, false, rd);
      }, depth));
      return;
    case 0x18: // float to integer
      if (rs2 > 3 || (rm > 3 && rm !== 7)) break;
      toInteger(c, single, rs2, rd, rs1, rm);
      return;
    case 0x1a: // integer to float
      if (rs2 > 3 || !rmValid(rm)) break;
      fromInteger(c, single, rs2, rd, rs1, rm);
      return;
    case 0x1c: // FMV.X.W / FMV.X.D (FCLASS goes to the interpreter)
      if (rs2 !== 0 || rm !== 0) break;
      pure(c, () => {
        c.getF(rs1);
        if (single) f.i32WrapI64().i64ExtendI32S();
        c.setX(rd);
      });
      return;
    case 0x1e: // FMV.W.X / FMV.D.X
      if (rs2 !== 0 || rm !== 0) break;
      pure(c, () => {
        c.getX(rs1);
        if (single) f.i64Const(-0x1_0000_0000).i64Or();
        c.setF(rd);
      });
      return;
  }
  c.helper(0);
}

// ---- structure ---------------------------------------------------------------------------------

/**
 * `block $done { block $slow { FS Dirty?; body; br $done } helper }`. The body calls `slow()` to
 * branch to the helper on a condition on the stack (from the body's top level: it opens no blocks
 * around a slow() call).
 */
function guarded(c: FpContext, body: (slow: () => void) => void, depth = 0): void {
  const f = c.f;
  f.block(); // $done
  f.block(); // $slow
  if (!c.fsDirty) f.i32Const(0).i32Load(c.mstatus).i32Const(MSTATUS_FS).i32And().i32Const(MSTATUS_FS).i32Ne().brIf(0);
  body(() => { f.brIf(0); });
  f.br(1);
  f.end();
  c.helper(1 + depth);
  f.end();
}

/** An instruction with no exceptional case (moves, sign injection): only FS must be Dirty. */
function pure(c: FpContext, body: () => void): void {
  if (c.fsDirty) body(); else guarded(c, body);
}

/**
 * `if (fast) { commit } else { thorough }`: the common case in straight-line code (Liftoff spills
 * registers at every merge of control flow, so the hot path has one), the full treatment (`thorough`,
 * given its depth inside the instruction: one, the `else`) for the rest.
 */
function fastOr(c: FpContext, fast: () => void, commit: () => void, thorough: (depth: number) => void): void {
  const f = c.f;
  fast();
  f.if();
  commit();
  f.else();
  thorough(1);
  f.end();
}

/**
 * Loads operands for a fast path into f64 locals and pushes whether they are usable (i32): doubles
 * always; singles when all are NaN-boxed (then promoted, exactly).
 */
function fastOperands(c: FpContext, single: boolean, regs: number[], into: number[]): void {
  const f = c.f;
  if (!single) {
    regs.forEach((r, i) => { c.getF(r); f.f64ReinterpretI64().localSet(into[i]!); });
    f.i32Const(1);
    return;
  }
  const { q, q2 } = c.support.l;
  f.i64Const(-1).localSet(q2);
  regs.forEach((r, i) => {
    c.getF(r); f.localTee(q).i32WrapI64().f32ReinterpretI32().f64PromoteF32().localSet(into[i]!);
    f.localGet(q2).localGet(q).i64And().localSet(q2);
  });
  f.localGet(q2).i64Const(32).i64ShrU().i64Const(0xffff_ffff).i64Eq();
}

const ABS64 = 0x7fff_ffff_ffff_ffffn;
/** Pushes whether the f64 in local x is finite and normal, above the smallest normal (no tininess). */
function normal64(f: FunctionBuilder, x: number): void {
  f.localGet(x).i64ReinterpretF64().i64Const(ABS64).i64And().i64Const(0x0010_0000_0000_0001n).i64Sub();
  f.i64Const(0x7ff0_0000_0000_0000n - 0x0010_0000_0000_0001n).i64LtU();
}
/** Pushes whether the f32 in local x is finite and normal, above the smallest normal. */
function normal32(f: FunctionBuilder, x: number): void {
  f.localGet(x).i32ReinterpretF32().i32Const(0x7fff_ffff).i32And().i32Const(0x0080_0001).i32Sub();
  f.i32Const(0x7f80_0000 - 0x0080_0001).i32LtU();
}
/** Pushes whether |x| (f64 local) lies in [lo, hi), by its bits (lo, hi positive powers of two). */
function magnitudeIn(f: FunctionBuilder, x: number, lo: number, hi: number): void {
  const b = (v: number) => { const d = new DataView(new ArrayBuffer(8)); d.setFloat64(0, v); return d.getBigUint64(0); };
  f.localGet(x).i64ReinterpretF64().i64Const(ABS64).i64And().i64Const(b(lo)).i64Sub().i64Const(b(hi) - b(lo)).i64LtU();
}

/** Static rounding modes the inline arithmetic takes: RNE, or DYN (frm checked at run time). */
function rneAllowed(rm: number): boolean {
  return rm === 0 || rm === 7;
}
function rmValid(rm: number): boolean {
  return rm <= 4 || rm === 7;
}
/** With DYN: frm must be RNE, or the interpreter runs it. */
function rneCheck(c: FpContext, rm: number, slow: () => void): void {
  if (rm === 7) { c.f.i32Const(0).i32Load(c.frm); slow(); }
}
/** With DYN: frm must be a valid mode (5-7 make the instruction illegal). */
function rmValidCheck(c: FpContext, rm: number, slow: () => void): void {
  if (rm === 7) { c.f.i32Const(0).i32Load(c.frm).i32Const(4).i32GtU(); slow(); }
}

/**
 * Loads an operand into f64 local `into`: a double as it is; a single after its NaN-box check (not
 * boxed: the canonical NaN, which the interpreter handles), promoted (exactly).
 */
function operand(c: FpContext, single: boolean, r: number, into: number, slow: () => void): void {
  const f = c.f;
  if (!single) { c.getF(r); f.f64ReinterpretI64().localSet(into); return; }
  const { q } = c.support.l;
  c.getF(r); f.localTee(q).i64Const(32).i64ShrU().i64Const(0xffff_ffff).i64Ne(); slow();
  f.localGet(q).i32WrapI64().f32ReinterpretI32().f64PromoteF32().localSet(into);
}

/** Pushes a single's bits as an operand of sign injection: the canonical NaN if not NaN-boxed. */
function unboxed(c: FpContext, r: number): void {
  const f = c.f;
  const { q } = c.support.l;
  c.getF(r); f.localTee(q).i32WrapI64();
  f.i32Const(0x7fc0_0000);
  f.localGet(q).i64Const(32).i64ShrU().i64Const(0xffff_ffff).i64Eq();
  f.select();
}

/** FSGNJ (0), FSGNJN (1), FSGNJX (2): a's magnitude with b's sign, its negation, or the xor of both. */
function signInject32(f: FunctionBuilder, kind: number, a: () => void, b: () => void): void {
  const S = -0x8000_0000;
  a();
  if (kind !== 2) f.i32Const(0x7fff_ffff).i32And();
  b();
  if (kind === 1) f.i32Const(-1).i32Xor();
  f.i32Const(S).i32And();
  if (kind === 2) f.i32Xor(); else f.i32Or();
}
function signInject64(f: FunctionBuilder, kind: number, a: () => void, b: () => void): void {
  const S = -(2n ** 63n);
  a();
  if (kind !== 2) f.i64Const(2n ** 63n - 1n).i64And();
  b();
  if (kind === 1) f.i64Const(-1).i64Xor();
  f.i64Const(S).i64And();
  if (kind === 2) f.i64Xor(); else f.i64Or();
}

/** Pushes whether f64 local x is not a NaN. */
function notNaN(f: FunctionBuilder, x: number): void {
  f.localGet(x).localGet(x).f64Eq();
}
/** Pushes whether f64 local x is finite (x - x is 0 only for finite x). */
function finite(f: FunctionBuilder, x: number): void {
  f.localGet(x).localGet(x).f64Sub().f64Const(0).f64Eq();
}

/** Pops an f64 result and writes it to f register rd (a single: demoted, exactly, and NaN-boxed). */
function result(c: FpContext, single: boolean, rd: number): void {
  const f = c.f;
  if (single) f.f32DemoteF64().i32ReinterpretF32().i64ExtendI32U().i64Const(-0x1_0000_0000).i64Or();
  else f.i64ReinterpretF64();
  c.setF(rd);
}

/** fflags |= NX. */
function raiseNx(c: FpContext): void {
  c.f.i32Const(0).i32Const(0).i32Load(c.fflags).i32Const(NX).i32Or().i32Store(c.fflags);
}

/** Sets i32 local w to whether NX is clear (the exactness of the result must then be computed). */
function nxClear(c: FpContext, w: number): void {
  c.f.i32Const(0).i32Load(c.fflags).i32Const(NX).i32And().i32Eqz().localSet(w);
}

// ---- arithmetic ----------------------------------------------------------------------------------

/** FADD/FSUB/FMUL/FDIV (op 0-3) and FSQRT (op 4) on doubles. */
function arithDouble(c: FpContext, op: number, rd: number, rs1: number, rs2: number, rm: number): void {
  const f = c.f;
  const { d } = c.support.l;
  fastOr(c, () => {
    c.env();
    c.getF(rs1); f.f64ReinterpretI64();
    if (op !== 4) { c.getF(rs2); f.f64ReinterpretI64(); }
    [() => f.f64Add(), () => f.f64Sub(), () => f.f64Mul(), () => f.f64Div(), () => f.f64Sqrt()][op]!();
    f.localSet(d[2]);
    normal64(f, d[2]); f.i32And();
  }, () => {
    f.localGet(d[2]).i64ReinterpretF64(); c.setF(rd);
  }, (depth) => guarded(c, (slow) => {
    const { d, w } = c.support.l;
    const [a, b, r, p, t] = d;
    rneCheck(c, rm, slow);
    c.getF(rs1); f.f64ReinterpretI64().localSet(a);
    if (op !== 4) { c.getF(rs2); f.f64ReinterpretI64(); if (op === 1) f.f64Neg(); f.localSet(b); }
    f.localGet(a);
    if (op !== 4) f.localGet(b);
    switch (op) {
      case 0: case 1: f.f64Add(); break;
      case 2: f.f64Mul(); break;
      case 3: f.f64Div(); break;
      default: f.f64Sqrt(); break;
    }
    f.localSet(r);
    // The result must be finite (no NaN, no infinity: no NV, DZ, OF) and not tiny (no UF).
    finite(f, r); f.i32Eqz(); slow();
    if (op === 2 || op === 3) {
      f.localGet(r).f64Abs().f64Const(MIN_NORMAL_64).f64Gt();
      f.localGet(a).f64Const(0).f64Eq().i32Or();
      if (op === 2) f.localGet(b).f64Const(0).f64Eq().i32Or();
      f.i32Eqz(); slow();
    }
    // With NX clear, the exact error decides it: the operands must be in the error terms' range.
    nxClear(c, w);
    const inRange = (x: number, lo: number, hi: number) => {
      f.localGet(x).f64Abs().localTee(t).f64Const(lo).f64Ge().localGet(t).f64Const(hi).f64Lt().i32And();
    };
    const below = (x: number, hi: number) => { f.localGet(x).f64Abs().f64Const(hi).f64Lt(); };
    f.localGet(w);
    switch (op) {
      case 0: case 1: below(a, SUM_MAX); below(b, SUM_MAX); f.i32And(); below(r, SUM_MAX); f.i32And(); break;
      case 2:
        inRange(a, SMALL, SPLIT_MAX); inRange(b, SMALL, SPLIT_MAX); f.i32And(); inRange(r, SMALL, SPLIT_MAX); f.i32And();
        f.localGet(a).f64Const(0).f64Eq().i32Or().localGet(b).f64Const(0).f64Eq().i32Or();
        break;
      case 3:
        inRange(a, SMALL, SPLIT_MAX); inRange(b, SMALL, SPLIT_MAX); f.i32And(); inRange(r, SMALL, SPLIT_MAX); f.i32And();
        f.localGet(a).f64Const(0).f64Eq().i32Or();
        break;
      default:
        inRange(a, SMALL, SPLIT_MAX); f.localGet(a).f64Const(0).f64Eq().i32Or();
        break;
    }
    f.i32Eqz().i32And(); slow();
    // Commit.
    f.localGet(r).i64ReinterpretF64(); c.setF(rd);
    f.localGet(w);
    f.if();
    switch (op) {
      case 0: case 1:
        f.localGet(a).localGet(b).localGet(r).call(c.support.twoSumErr).f64Const(0).f64Ne();
        break;
      // (A zero operand makes the result exact; the error terms are not even valid then.)
      case 2:
        f.localGet(a).localGet(b).localGet(r).call(c.support.twoProdErr).f64Const(0).f64Ne();
        f.localGet(a).f64Const(0).f64Ne().i32And().localGet(b).f64Const(0).f64Ne().i32And();
        break;
      case 3: // inexact unless r*b == a exactly
        f.localGet(r).localGet(b).f64Mul().localTee(p).localGet(a).f64Ne();
        f.localGet(r).localGet(b).localGet(p).call(c.support.twoProdErr).f64Const(0).f64Ne().i32Or();
        f.localGet(a).f64Const(0).f64Ne().i32And();
        break;
      default: // inexact unless r*r == a exactly
        f.localGet(r).localGet(r).f64Mul().localTee(p).localGet(a).f64Ne();
        f.localGet(r).localGet(r).localGet(p).call(c.support.twoProdErr).f64Const(0).f64Ne().i32Or();
        f.localGet(a).f64Const(0).f64Ne().i32And();
        break;
    }
    f.if(); raiseNx(c); f.end();
    f.end();
  }, depth));
}

/** FADD/FSUB/FMUL/FDIV (op 0-3) and FSQRT (op 4) on singles, in wasm's f32; exactness checked in double. */
function arithSingle(c: FpContext, op: number, rd: number, rs1: number, rs2: number, rm: number): void {
  const f = c.f;
  const { d, s: sl } = c.support.l;
  const box = () => { f.i32ReinterpretF32().i64ExtendI32U().i64Const(-0x1_0000_0000).i64Or(); };
  fastOr(c, () => {
    c.env(); fastOperands(c, true, op === 4 ? [rs1] : [rs1, rs2], [d[0], d[1]]); f.i32And();
    f.localGet(d[0]).f32DemoteF64();
    if (op !== 4) f.localGet(d[1]).f32DemoteF64();
    [() => f.f32Add(), () => f.f32Sub(), () => f.f32Mul(), () => f.f32Div(), () => f.f32Sqrt()][op]!();
    f.localSet(sl[2]);
    normal32(f, sl[2]); f.i32And();
  }, () => {
    f.localGet(sl[2]); box(); c.setF(rd);
  }, (depth) => guarded(c, (slow) => {
    const { d, s, w } = c.support.l;
    const [a, b, r, x] = d;
    const [sa, sb, sr] = s;
    rneCheck(c, rm, slow);
    operand(c, true, rs1, a, slow);
    if (op !== 4) operand(c, true, rs2, b, slow);
    f.localGet(a).f32DemoteF64().localTee(sa);
    if (op !== 4) { f.localGet(b).f32DemoteF64().localTee(sb); }
    switch (op) {
      case 0: f.f32Add(); break;
      case 1: f.f32Sub(); break;
      case 2: f.f32Mul(); break;
      case 3: f.f32Div(); break;
      default: f.f32Sqrt(); break;
    }
    f.localTee(sr).f64PromoteF32().localSet(r);
    void sa; void sb;
    finite(f, r); f.i32Eqz(); slow();
    if (op === 2 || op === 3) {
      f.localGet(r).f64Abs().f64Const(MIN_NORMAL_32).f64Gt();
      f.localGet(a).f64Const(0).f64Eq().i32Or();
      if (op === 2) f.localGet(b).f64Const(0).f64Eq().i32Or();
      f.i32Eqz(); slow();
    }
    f.localGet(sr).i32ReinterpretF32().i64ExtendI32U().i64Const(-0x1_0000_0000).i64Or(); c.setF(rd);
    nxClear(c, w);
    f.localGet(w);
    f.if();
    switch (op) {
      case 0: case 1: // the double sum and its error: exact iff both say so
        f.localGet(a).localGet(b); if (op === 1) f.f64Neg(); f.f64Add().localTee(x).localGet(r).f64Ne();
        f.localGet(a).localGet(b); if (op === 1) f.f64Neg(); f.localGet(x).call(c.support.twoSumErr).f64Const(0).f64Ne().i32Or();
        break;
      case 2: f.localGet(a).localGet(b).f64Mul().localGet(r).f64Ne(); break; // 24 x 24 bits: exact in double
      case 3: f.localGet(r).localGet(b).f64Mul().localGet(a).f64Ne().localGet(a).f64Const(0).f64Ne().i32And(); break; // 0/b (b may be inf) is exact
      default: f.localGet(r).localGet(r).f64Mul().localGet(a).f64Ne(); break;
    }
    f.if(); raiseNx(c); f.end();
    f.end();
  }, depth));
}

/**
 * Rounds the f64 in local `v` to odd given its rounding error `e` (v = RN(x), e = x - v exactly): if
 * inexact and v's last bit is even, v moves one ulp toward x (v is then non-zero: a sum rounds to zero
 * only when it is exactly zero). Pushes the result.
 */
function roundToOdd(f: FunctionBuilder, v: number, e: number, q: number): void {
  f.localGet(v).i64ReinterpretF64().localTee(q);
  // toward x: +1 ulp in magnitude when e has v's sign, -1 otherwise
  f.i64Const(1).i64Const(-1).localGet(e).f64Const(0).f64Gt().localGet(v).f64Const(0).f64Gt().i32Eq().select();
  f.i64Const(0);
  f.localGet(e).f64Const(0).f64Ne().localGet(q).i64Const(1).i64And().i64Eqz().i32And();
  f.select();
  f.i64Add().f64ReinterpretI64();
}

function fmaDouble(c: FpContext, insn: number): void {
  const f = c.f;
  const rd = (insn >>> 7) & 31, rs1 = (insn >>> 15) & 31, rs2 = (insn >>> 20) & 31, rs3 = insn >>> 27;
  const op = insn & 0x7f, rm = (insn >>> 12) & 7;
  const negProduct = op === 0x4b || op === 0x4f, negAddend = op === 0x47 || op === 0x4f;
  fastOr(c, () => {
    // Operands, product, addend and result well inside the range where every error term is exact.
    const { d, q } = c.support.l;
    const [a, b, cc, p, th, tl, v, e, ah, al, bh, bl, t, r] = d;
    c.env();
    c.getF(rs1); f.f64ReinterpretI64(); if (negProduct) f.f64Neg(); f.localSet(a);
    c.getF(rs2); f.f64ReinterpretI64().localSet(b);
    c.getF(rs3); f.f64ReinterpretI64(); if (negAddend) f.f64Neg(); f.localSet(cc);
    f.localGet(a).localGet(b).f64Mul().localSet(p);
    magnitudeIn(f, a, SMALL, SPLIT_MAX); f.i32And(); magnitudeIn(f, b, SMALL, SPLIT_MAX); f.i32And();
    magnitudeIn(f, p, SMALL, FMA_MAX); f.i32And(); magnitudeIn(f, cc, SMALL, FMA_MAX); f.i32And();
    // ul = a*b - p (Veltkamp's split, Dekker's product), kept in e
    const split = (x: number, hi: number, lo: number) => {
      f.f64Const(134217729).localGet(x).f64Mul().localTee(t);
      f.localGet(t).localGet(x).f64Sub().f64Sub().localTee(hi);
      f.localGet(x).localGet(hi).f64Sub().localSet(lo);
      f.drop();
    };
    split(a, ah, al); split(b, bh, bl);
    f.localGet(ah).localGet(bh).f64Mul().localGet(p).f64Sub();
    f.localGet(ah).localGet(bl).f64Mul().f64Add().localGet(al).localGet(bh).f64Mul().f64Add();
    f.localGet(al).localGet(bl).f64Mul().f64Add().localSet(e);
    // th + tl = p + c (TwoSum; ah, al now hold its bv, av)
    const twoSum = (x: number, y: number, sum: number) => { // pushes x + y - sum exactly
      f.localGet(sum).localGet(x).f64Sub().localSet(ah);
      f.localGet(sum).localGet(ah).f64Sub().localSet(al);
      f.localGet(x).localGet(al).f64Sub().localGet(y).localGet(ah).f64Sub().f64Add();
    };
    f.localGet(p).localGet(cc).f64Add().localSet(th);
    twoSum(p, cc, th); f.localSet(tl);
    // v = RN(tl + ul), e = its error; then RN(th + RO(tl + ul))
    f.localGet(tl).localGet(e).f64Add().localSet(v);
    twoSum(tl, e, v); f.localSet(e);
    f.localGet(th);
    roundToOdd(f, v, e, q);
    f.f64Add().localSet(r);
    normal64(f, r); f.i32And();
  }, () => {
    f.localGet(c.support.l.d[13]).i64ReinterpretF64(); c.setF(rd);
  }, (depth) => guarded(c, (slow) => {
    const { d, q, w } = c.support.l;
    const [a, b, cc, p, th, tl, v, e] = d;
    rneCheck(c, rm, slow);
    // With NX clear the interpreter computes it (exactness of the emulation is not derived here).
    f.i32Const(0).i32Load(c.fflags).i32Const(NX).i32And().i32Eqz(); slow();
    c.getF(rs1); f.f64ReinterpretI64(); if (negProduct) f.f64Neg(); f.localSet(a);
    c.getF(rs2); f.f64ReinterpretI64().localSet(b);
    c.getF(rs3); f.f64ReinterpretI64(); if (negAddend) f.f64Neg(); f.localSet(cc);
    finite(f, a); finite(f, b); f.i32And(); finite(f, cc); f.i32And(); f.i32Eqz(); slow();
    f.localGet(a).localGet(b).f64Mul().localSet(p);
    // A zero factor: the product is an exact signed zero, and the sum is exact (or an exact zero with RNE's sign).
    f.localGet(a).f64Const(0).f64Eq().localGet(b).f64Const(0).f64Eq().i32Or().localSet(w);
    // Otherwise: everything within the error terms' range.
    const inRange = (x: number, lo: number, hi: number) => {
      f.localGet(x).f64Abs().localTee(e).f64Const(lo).f64Ge().localGet(e).f64Const(hi).f64Lt().i32And();
    };
    inRange(a, SMALL, SPLIT_MAX); inRange(b, SMALL, SPLIT_MAX); f.i32And(); inRange(p, SMALL, FMA_MAX); f.i32And();
    inRange(cc, SMALL, FMA_MAX); f.localGet(cc).f64Const(0).f64Eq().i32Or(); f.i32And();
    f.localGet(w).i32Or().i32Eqz(); slow();
    f.localGet(w);
    f.if(BlockType.F64);
    f.localGet(p).localGet(cc).f64Add();
    f.else();
    // ul = a*b - p; th + tl = p + c; v = RO(tl + ul); result RN(th + v)
    f.localGet(a).localGet(b).localGet(p).call(c.support.twoProdErr).localSet(e); // e = ul for now
    f.localGet(p).localGet(cc).f64Add().localSet(th);
    f.localGet(p).localGet(cc).localGet(th).call(c.support.twoSumErr).localSet(tl);
    f.localGet(tl).localGet(e).f64Add().localSet(v);
    f.localGet(tl).localGet(e).localGet(v).call(c.support.twoSumErr).localSet(e);
    f.localGet(th);
    roundToOdd(f, v, e, q);
    f.f64Add();
    f.end();
    f.localTee(v);
    // Not tiny (an exact zero is fine) and not past overflow.
    f.f64Abs().localTee(e).f64Const(MIN_NORMAL_64).f64Gt().localGet(v).f64Const(0).f64Eq().i32Or();
    f.localGet(e).f64Const(SUM_MAX).f64Lt().i32And().i32Eqz(); slow();
    f.localGet(v).i64ReinterpretF64(); c.setF(rd);
  }, depth));
}

function fmaSingle(c: FpContext, insn: number): void {
  const f = c.f;
  const rd = (insn >>> 7) & 31, rs1 = (insn >>> 15) & 31, rs2 = (insn >>> 20) & 31, rs3 = insn >>> 27;
  const op = insn & 0x7f, rm = (insn >>> 12) & 7;
  const negProduct = op === 0x4b || op === 0x4f, negAddend = op === 0x47 || op === 0x4f;
  fastOr(c, () => {
    // Operands NaN-boxed, and (specials and range edges make it fail) a normal result.
    const { d, s, q } = c.support.l;
    const [a, b, cc, p, x, e, , , bv, av] = d;
    c.env(); fastOperands(c, true, [rs1, rs2, rs3], [a, b, cc]); f.i32And();
    f.localGet(a); if (negProduct) f.f64Neg(); f.localGet(b).f64Mul().localSet(p); // exact: 24 x 24 bits
    f.localGet(cc); if (negAddend) f.f64Neg(); f.localSet(cc);
    f.localGet(p).localGet(cc).f64Add().localSet(x);
    f.localGet(x).localGet(p).f64Sub().localSet(bv);
    f.localGet(x).localGet(bv).f64Sub().localSet(av);
    f.localGet(p).localGet(av).f64Sub().localGet(cc).localGet(bv).f64Sub().f64Add().localSet(e);
    roundToOdd(f, x, e, q);
    f.f32DemoteF64().localSet(s[2]);
    normal32(f, s[2]); f.i32And();
  }, () => {
    f.localGet(c.support.l.s[2]).i32ReinterpretF32().i64ExtendI32U().i64Const(-0x1_0000_0000).i64Or(); c.setF(rd);
  }, (depth) => guarded(c, (slow) => {
    const { d, s, q, w } = c.support.l;
    const [a, b, cc, p, x, e, r] = d;
    const [sr] = s;
    rneCheck(c, rm, slow);
    operand(c, true, rs1, a, slow); operand(c, true, rs2, b, slow); operand(c, true, rs3, cc, slow);
    finite(f, a); finite(f, b); f.i32And(); finite(f, cc); f.i32And(); f.i32Eqz(); slow();
    f.localGet(a); if (negProduct) f.f64Neg(); f.localGet(b).f64Mul().localSet(p); // exact: 24 x 24 bits
    if (negAddend) f.localGet(cc).f64Neg().localSet(cc);
    f.localGet(p).localGet(cc).f64Add().localSet(x);
    f.localGet(p).localGet(cc).localGet(x).call(c.support.twoSumErr).localSet(e);
    roundToOdd(f, x, e, q);
    f.f32DemoteF64().localTee(sr).f64PromoteF32().localSet(r);
    // Finite, and normal or an exact zero.
    finite(f, r);
    f.localGet(r).f64Abs().f64Const(MIN_NORMAL_32).f64Gt().localGet(x).f64Const(0).f64Eq().i32Or().i32And().i32Eqz(); slow();
    f.localGet(sr).i32ReinterpretF32().i64ExtendI32U().i64Const(-0x1_0000_0000).i64Or(); c.setF(rd);
    nxClear(c, w);
    f.localGet(w);
    f.localGet(e).f64Const(0).f64Ne().localGet(r).localGet(x).f64Ne().i32Or().i32And();
    f.if(); raiseNx(c); f.end();
  }, depth));
}

// ---- conversions -------------------------------------------------------------------------------

/** FCVT.S.D: RNE demotion; exact iff promoting back gives the double. */
function demote(c: FpContext, rd: number, rs1: number, rm: number): void {
  const f = c.f;
  fastOr(c, () => {
    const { s } = c.support.l;
    c.env(); c.getF(rs1); f.f64ReinterpretI64().f32DemoteF64().localSet(s[2]); normal32(f, s[2]); f.i32And();
  }, () => {
    f.localGet(c.support.l.s[2]).i32ReinterpretF32().i64ExtendI32U().i64Const(-0x1_0000_0000).i64Or(); c.setF(rd);
  }, (depth) => guarded(c, (slow) => {
    const { d, s } = c.support.l;
    const [a, r] = d;
    const [sr] = s;
    rneCheck(c, rm, slow);
    c.getF(rs1); f.f64ReinterpretI64().localTee(a).f32DemoteF64().localTee(sr).f64PromoteF32().localSet(r);
    finite(f, r);
    f.localGet(r).f64Abs().f64Const(MIN_NORMAL_32).f64Gt().localGet(a).f64Const(0).f64Eq().i32Or().i32And().i32Eqz(); slow();
    f.localGet(sr).i32ReinterpretF32().i64ExtendI32U().i64Const(-0x1_0000_0000).i64Or(); c.setF(rd);
    f.localGet(r).localGet(a).f64Ne();
    f.if(); raiseNx(c); f.end();
  }, depth));
}

/**
 * FCVT.{W,WU,L,LU}.{S,D} (kind 0-3): rounded in double by the static mode (RNE nearest, RTZ trunc, RDN
 * floor, RUP ceil; DYN only when frm is RNE), then converted when in range (else NV: the interpreter).
 */
function toInteger(c: FpContext, single: boolean, kind: number, rd: number, rs1: number, rm: number): void {
  const f = c.f;
  const round = () => { [() => f.f64Nearest(), () => f.f64Trunc(), () => f.f64Floor(), () => f.f64Ceil()][rm === 7 ? 0 : rm]!(); };
  const range = [[-(2 ** 31), 2 ** 31], [0, 2 ** 32], [-(2 ** 63), 2 ** 63], [0, 2 ** 64]][kind]!;
  const convert = () => {
    [() => f.i32TruncF64S().i64ExtendI32S(), () => f.i32TruncF64U().i64ExtendI32S(), () => f.i64TruncF64S(), () => f.i64TruncF64U()][kind]!();
  };
  fastOr(c, () => {
    // In range (NaN and infinities are not), and NX set (or, with a static mode, nothing to raise).
    const { d } = c.support.l;
    const [a, t] = d;
    c.env();
    fastOperands(c, single, [rs1], [a]);
    f.localGet(a); round(); f.localTee(t).f64Const(range[0]).f64Ge().i32And().localGet(t).f64Const(range[1]).f64Lt().i32And();
    if (rm !== 7 && c.fsDirty) {
      // stack: env, operands ok & in range → (env | exact) & (ok & in range): an exact result raises nothing
      f.localSet(c.support.l.w);
      f.localGet(t).localGet(a).f64Eq().i32Or().localGet(c.support.l.w).i32And();
    } else {
      f.i32And();
    }
  }, () => {
    f.localGet(c.support.l.d[1]); convert(); c.setX(rd);
  }, (depth) => guarded(c, (slow) => {
    const { d } = c.support.l;
    const [a, t] = d;
    rneCheck(c, rm, slow);
    operand(c, single, rs1, a, slow);
    f.localGet(a);
    switch (rm) {
      case 1: f.f64Trunc(); break;
      case 2: f.f64Floor(); break;
      case 3: f.f64Ceil(); break;
      default: f.f64Nearest(); break;
    }
    f.localSet(t);
    // In range (NaN and infinities are not): the conversion below is then exact and cannot trap.
    const [lo, hi] = [[-(2 ** 31), 2 ** 31], [0, 2 ** 32], [-(2 ** 63), 2 ** 63], [0, 2 ** 64]][kind]!;
    f.localGet(t).f64Const(lo).f64Ge().localGet(t).f64Const(hi).f64Lt().i32And().i32Eqz(); slow();
    f.localGet(t);
    switch (kind) {
      case 0: f.i32TruncF64S().i64ExtendI32S(); break;
      case 1: f.i32TruncF64U().i64ExtendI32S(); break; // WU: the 32-bit result sign-extended (RV64)
      case 2: f.i64TruncF64S(); break;
      default: f.i64TruncF64U(); break;
    }
    c.setX(rd);
    f.localGet(t).localGet(a).f64Ne();
    f.if(); raiseNx(c); f.end();
  }, depth));
}

/** FCVT.{S,D}.{W,WU,L,LU} (kind 0-3): wasm's conversion (RNE); exactness by converting back. */
function fromInteger(c: FpContext, single: boolean, kind: number, rd: number, rs1: number, rm: number): void {
  const f = c.f;
  const exactAlways = !single && kind < 2; // 32-bit integers are doubles
  const convert = () => {
    c.getX(rs1);
    if (kind < 2) f.i32WrapI64();
    if (single) {
      [() => f.f32ConvertI32S(), () => f.f32ConvertI32U(), () => f.f32ConvertI64S(), () => f.f32ConvertI64U()][kind]!();
      f.i32ReinterpretF32().i64ExtendI32U().i64Const(-0x1_0000_0000).i64Or();
    } else {
      [() => f.f64ConvertI32S(), () => f.f64ConvertI32U(), () => f.f64ConvertI64S(), () => f.f64ConvertI64U()][kind]!();
      f.i64ReinterpretF64();
    }
    c.setF(rd);
  };
  if (exactAlways && rm !== 7 && c.fsDirty) { convert(); return; } // nothing can go wrong
  const thorough = (depth: number) => guarded(c, (slow) => {
    const { d, s, q, w } = c.support.l;
    const [r] = d;
    const [sr] = s;
    rmValidCheck(c, rm, slow);
    c.getX(rs1); f.localTee(q);
    if (kind < 2) f.i32WrapI64();
    if (single) {
      [() => f.f32ConvertI32S(), () => f.f32ConvertI32U(), () => f.f32ConvertI64S(), () => f.f32ConvertI64U()][kind]!();
      f.localTee(sr).f64PromoteF32().localSet(r);
    } else {
      [() => f.f64ConvertI32S(), () => f.f64ConvertI32U(), () => f.f64ConvertI64S(), () => f.f64ConvertI64U()][kind]!();
      f.localSet(r);
    }
    if (!exactAlways) {
      // Exact iff the value converts back to the integer (2^31, 2^32, 2^63, 2^64 saturate: never exact).
      f.localGet(r).f64Const([2 ** 31, 2 ** 32, 2 ** 63, 2 ** 64][kind]!).f64Lt();
      f.localGet(r);
      if (kind < 2) {
        if (kind === 0) f.i32TruncSatF64S(); else f.i32TruncSatF64U();
        f.localGet(q).i32WrapI64().i32Eq();
      } else {
        if (kind === 2) f.i64TruncSatF64S(); else f.i64TruncSatF64U();
        f.localGet(q).i64Eq();
      }
      f.i32And().localSet(w);
      // Inexact needs RNE (static, or DYN with frm RNE): the other modes round elsewhere.
      if (rm === 7) { f.localGet(w).i32Eqz().i32Const(0).i32Load(c.frm).i32Const(0).i32Ne().i32And(); slow(); }
      else if (rm !== 0) { f.localGet(w).i32Eqz(); slow(); }
    }
    if (single) f.localGet(sr).i32ReinterpretF32().i64ExtendI32U().i64Const(-0x1_0000_0000).i64Or();
    else f.localGet(r).i64ReinterpretF64();
    c.setF(rd);
    if (!exactAlways) {
      f.localGet(w).i32Eqz();
      f.if(); raiseNx(c); f.end();
    }
  }, depth);
  // RNE (static, or DYN with frm RNE): wasm's conversion is the result, and NX is already set.
  if (rm === 0 || rm === 7) fastOr(c, () => c.env(), convert, thorough);
  else thorough(0);
}
