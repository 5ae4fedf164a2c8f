import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { disassemble } from './disassemble.js';
import type { FunctionBuilder } from './function-builder.js';
import { ModuleBuilder } from './module-builder.js';
import { OPS, opText, type OpName } from './opcodes.js';
import { BlockType, F32, F64, FUNCREF, I32, I64, type ValType } from './value-type.js';
import { WasmBuildError } from './wasm-build-error.js';

// Every module built here is validated, listed and instantiated; the listing records which
// instructions were exercised so the last test can insist that the whole opcode table was.
const seen = new Set<string>();
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Exports = Record<string, any>;
function instantiate(m: ModuleBuilder, imports: WebAssembly.Imports = {}): Exports {
  const bytes = m.finish();
  if (!WebAssembly.validate(bytes)) {
    let why = '';
    try {
      new WebAssembly.Module(bytes);
    } catch (e) {
      why = (e as Error).message;
    }
    assert.fail(`module does not validate: ${why}\n${disassemble(bytes)}`);
  }
  for (const line of disassemble(bytes).split('\n')) seen.add(line.trim().split(' ')[0]!);
  return new WebAssembly.Instance(new WebAssembly.Module(bytes), imports).exports as Exports;
}
const method = (name: OpName) => (name[0]!.toLowerCase() + name.slice(1)) as keyof FunctionBuilder;
const emit = (f: FunctionBuilder, name: OpName): void => (f[method(name)] as () => unknown).call(f) as void;

const M64 = (1n << 64n) - 1n;
const s64 = (v: bigint) => BigInt.asIntN(64, v);
const u64 = (v: bigint) => BigInt.asUintN(64, v);
const s32 = (v: bigint) => BigInt.asIntN(32, v);
const u32 = (v: bigint) => BigInt.asUintN(32, v);
const rot = (v: bigint, n: bigint, bits: bigint) => ((v << (n % bits)) | (v >> ((bits - (n % bits)) % bits))) & ((1n << bits) - 1n);
const clz = (v: bigint, bits: number) => BigInt(bits - (v === 0n ? 0 : v.toString(2).length));
const ctz = (v: bigint, bits: number) => (v === 0n ? BigInt(bits) : BigInt(v.toString(2).length - v.toString(2).lastIndexOf('1') - 1));
const popcnt = (v: bigint) => BigInt([...v.toString(2)].filter((c) => c === '1').length);
const TRAP = Symbol('trap');

// Binary integer ops on unsigned bit patterns; TRAP where wasm traps (§4.3.2 idiv/irem).
function intBinops(bits: 32 | 64): Record<string, (a: bigint, b: bigint) => bigint | typeof TRAP> {
  const S = bits === 64 ? s64 : s32;
  const U = bits === 64 ? u64 : u32;
  const B = BigInt(bits);
  const min = -(1n << (B - 1n));
  return {
    Add: (a, b) => U(a + b), Sub: (a, b) => U(a - b), Mul: (a, b) => U(a * b),
    DivS: (a, b) => (b === 0n || (S(a) === min && S(b) === -1n) ? TRAP : U(S(a) / S(b))),
    DivU: (a, b) => (b === 0n ? TRAP : a / b),
    RemS: (a, b) => (b === 0n ? TRAP : U(S(a) % S(b))),
    RemU: (a, b) => (b === 0n ? TRAP : a % b),
    And: (a, b) => a & b, Or: (a, b) => a | b, Xor: (a, b) => a ^ b,
    Shl: (a, b) => U(a << (b % B)), ShrS: (a, b) => U(S(a) >> (b % B)), ShrU: (a, b) => a >> (b % B),
    Rotl: (a, b) => rot(a, b, B), Rotr: (a, b) => rot(a, B - (b % B), B),
    Eq: (a, b) => BigInt(a === b), Ne: (a, b) => BigInt(a !== b),
    LtS: (a, b) => BigInt(S(a) < S(b)), LtU: (a, b) => BigInt(a < b), GtS: (a, b) => BigInt(S(a) > S(b)), GtU: (a, b) => BigInt(a > b),
    LeS: (a, b) => BigInt(S(a) <= S(b)), LeU: (a, b) => BigInt(a <= b), GeS: (a, b) => BigInt(S(a) >= S(b)), GeU: (a, b) => BigInt(a >= b),
  };
}
const EDGES = [0n, 1n, 2n, 63n, 64n, 0x7fn, 0x80n, 0xffffn, 1n << 31n, (1n << 31n) - 1n, 1n << 32n, (1n << 63n) - 1n, 1n << 63n, M64, M64 - 1n, 0x1234_5678_9abc_def0n];
const CMP = new Set(['Eq', 'Ne', 'LtS', 'LtU', 'GtS', 'GtU', 'LeS', 'LeU', 'GeS', 'GeU']);

for (const bits of [32, 64] as const) {
  test(`i${bits} binary operators match BigInt arithmetic on edge values, traps included`, () => {
    const T = bits === 64 ? I64 : I32;
    const U = bits === 64 ? u64 : u32;
    const m = new ModuleBuilder();
    const ops = intBinops(bits);
    for (const op of Object.keys(ops)) {
      const f = m.function(m.type([T, T], [CMP.has(op) ? I32 : T]), { export: op });
      f.localGet(0).localGet(1);
      emit(f, `I${bits}${op}` as OpName);
    }
    const ex = instantiate(m);
    const values = EDGES.map(U);
    for (const [op, ref] of Object.entries(ops)) {
      for (const a of values) {
        for (const b of values) {
          const want = ref(a, b);
          const arg = (v: bigint) => (bits === 64 ? s64(v) : Number(s32(v)));
          if (want === TRAP) {
            assert.throws(() => ex[op](arg(a), arg(b)), WebAssembly.RuntimeError, `${op} ${a} ${b}`);
          } else {
            const got = ex[op](arg(a), arg(b));
            const gotU = CMP.has(op) ? BigInt(got) : U(BigInt(got));
            assert.equal(gotU, want, `i${bits}.${op} ${a} ${b}`);
          }
        }
      }
    }
  });

  test(`i${bits} unary operators and sign extensions match BigInt`, () => {
    const T = bits === 64 ? I64 : I32;
    const U = bits === 64 ? u64 : u32;
    const ext = (n: bigint) => (v: bigint) => U(BigInt.asIntN(Number(n), v));
    const ops: Record<string, (v: bigint) => bigint> = {
      Clz: (v) => clz(v, bits), Ctz: (v) => ctz(v, bits), Popcnt: popcnt, Eqz: (v) => BigInt(v === 0n),
      Extend8S: ext(8n), Extend16S: ext(16n), ...(bits === 64 ? { Extend32S: ext(32n) } : {}),
    };
    const m = new ModuleBuilder();
    for (const op of Object.keys(ops)) {
      const f = m.function(m.type([T], [op === 'Eqz' ? I32 : T]), { export: op });
      f.localGet(0);
      emit(f, `I${bits}${op}` as OpName);
    }
    const ex = instantiate(m);
    for (const [op, ref] of Object.entries(ops)) {
      for (const v of EDGES.map(U)) {
        const got = ex[op](bits === 64 ? s64(v) : Number(s32(v)));
        assert.equal(op === 'Eqz' ? BigInt(got) : U(BigInt(got)), ref(v), `i${bits}.${op} ${v}`);
      }
    }
  });
}

test('i64 constants of every width round-trip: numbers, bigints and int32 pairs', () => {
  const values = [0n, -1n, 1n, 63n, 64n, -64n, -65n, 2n ** 31n, -(2n ** 31n), 2n ** 32n, -(2n ** 32n), 2n ** 53n - 1n, -(2n ** 53n) + 1n, 2n ** 63n - 1n, -(2n ** 63n), 0x7654_3210_fedc_ba98n];
  const m = new ModuleBuilder();
  const t = m.type([], [I64]);
  values.forEach((v, i) => {
    m.function(t, { export: `big${i}` }).i64Const(v);
    m.function(t, { export: `pair${i}` }).i64ConstPair(Number(s32(v)), Number(s32(v >> 32n)));
    if (v >= -(2n ** 53n) && v < 2n ** 53n) m.function(t, { export: `num${i}` }).i64Const(Number(v));
  });
  m.function(t, { export: 'wrapped' }).i64Const(2n ** 64n + 5n);
  const ex = instantiate(m);
  values.forEach((v, i) => {
    assert.equal(ex[`big${i}`](), v);
    assert.equal(ex[`pair${i}`](), v);
    if (ex[`num${i}`]) assert.equal(ex[`num${i}`](), v);
  });
  assert.equal(ex.wrapped(), 5n);
});

test('i32 constants take int32 and uint32 values and reject the rest', () => {
  const m = new ModuleBuilder();
  const t = m.type([], [I32]);
  const cases: Array<[number, number]> = [[0, 0], [-1, -1], [0xffff_ffff, -1], [2 ** 31, -(2 ** 31)], [-(2 ** 31), -(2 ** 31)], [63, 63], [-64, -64], [64, 64]];
  cases.forEach(([v], i) => m.function(t, { export: `c${i}` }).i32Const(v));
  const ex = instantiate(m);
  cases.forEach(([, want], i) => assert.equal(ex[`c${i}`](), want));
  const m2 = new ModuleBuilder();
  const f = m2.function(m2.type([], []));
  for (const bad of [2 ** 32, -(2 ** 31) - 1, 1.5, NaN]) assert.throws(() => f.i32Const(bad), WasmBuildError);
  assert.throws(() => f.i64Const(2 ** 53), /safe integer/);
});

test('integer conversions: wrap, extend_i32_s/u', () => {
  const m = new ModuleBuilder();
  m.function(m.type([I64], [I32]), { export: 'wrap' }).localGet(0).i32WrapI64();
  m.function(m.type([I32], [I64]), { export: 'sx' }).localGet(0).i64ExtendI32S();
  m.function(m.type([I32], [I64]), { export: 'zx' }).localGet(0).i64ExtendI32U();
  const ex = instantiate(m);
  assert.equal(ex.wrap(0x1_8000_0001n), -(2 ** 31) + 1);
  assert.equal(ex.sx(-2), -2n);
  assert.equal(ex.zx(-2), 0xffff_fffen);
});

test('loads of every width sign- or zero-extend, with offset and alignment hints, from an imported memory', () => {
  const mem = new WebAssembly.Memory({ initial: 1, maximum: 2 });
  new Uint8Array(mem.buffer).set([0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89], 16);
  const m = new ModuleBuilder();
  m.importMemory('env', 'mem', { min: 1, max: 2 });
  const loads: Array<[OpName, ValType, bigint]> = [
    ['I32Load8S', I32, -0x7en], ['I32Load8U', I32, 0x82n], ['I32Load16S', I32, s32(0xffff8382n)], ['I32Load16U', I32, 0x8382n],
    ['I32Load', I32, s32(0x85848382n)], ['I64Load8S', I64, -0x7en], ['I64Load8U', I64, 0x82n], ['I64Load16S', I64, s64(0xffff_ffff_ffff_8382n)],
    ['I64Load16U', I64, 0x8382n], ['I64Load32S', I64, s64(0xffff_ffff_8584_8382n)], ['I64Load32U', I64, 0x8584_8382n], ['I64Load', I64, s64(0x8988_8786_8584_8382n)],
  ];
  for (const [op, type] of loads) {
    const f = m.function(m.type([I32], [type]), { export: op });
    // base 10 + offset 7 = byte 17: misaligned on purpose, hinted as byte-aligned.
    (f.localGet(0)[method(op)] as (o: number, a: number) => FunctionBuilder)(7, 1);
  }
  const ex = instantiate(m, { env: { mem } });
  for (const [op, type, want] of loads) {
    const got = ex[op](10);
    assert.equal(type === I64 ? got : BigInt(got), want, op);
  }
});

test('stores of every width write the low bytes little-endian', () => {
  const m = new ModuleBuilder();
  m.memory({ min: 1 }, 'mem');
  const stores: Array<[OpName, ValType, number]> = [
    ['I32Store8', I32, 1], ['I32Store16', I32, 2], ['I32Store', I32, 4], ['I64Store8', I64, 1], ['I64Store16', I64, 2], ['I64Store32', I64, 4], ['I64Store', I64, 8],
  ];
  for (const [op, type] of stores) {
    const f = m.function(m.type([I32, type], []), { export: op });
    (f.localGet(0).localGet(1)[method(op)] as (o: number) => FunctionBuilder)(3);
  }
  const ex = instantiate(m);
  const bytes = new Uint8Array((ex.mem as WebAssembly.Memory).buffer);
  for (const [op, type, width] of stores) {
    bytes.fill(0xee, 0, 32);
    ex[op](5, type === I64 ? 0x0807_0605_0403_0201n : 0x0403_0201);
    const want = [0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, ...[1, 2, 3, 4, 5, 6, 7, 8].slice(0, width), 0xee];
    assert.deepEqual([...bytes.subarray(0, 8 + width + 1)], want, op);
  }
  assert.throws(() => m.function(m.type([], [])).i32Const(0).i32Load(0, 8), /alignment/);
  assert.throws(() => m.function(m.type([], [])).i32Const(0).i32Load(-1), /offset/);
});

test('control flow: block, loop, br_if, br, if/else, br_table, select, return, nop, unreachable', () => {
  const m = new ModuleBuilder();
  // sum 1..n with a loop
  const sum = m.function(m.type([I32], [I32]), { export: 'sum' });
  const acc = sum.local(I32);
  sum.block().loop()
    .localGet(0).i32Eqz().brIf(1)
    .localGet(acc).localGet(0).i32Add().localSet(acc)
    .localGet(0).i32Const(1).i32Sub().localSet(0)
    .br(0)
    .end().end().localGet(acc);
  m.function(m.type([I32], [I32]), { export: 'sign' })
    .localGet(0).i32Const(0).i32LtS().if(BlockType.I32).i32Const(-1).else().i32Const(1).end();
  // switch via br_table: 0 → 10, 1 → 20, anything else → 30
  const sw = m.function(m.type([I32], [I32]), { export: 'sw' });
  sw.block().block().block().localGet(0).brTable([0, 1], 2).end().i32Const(10).return().end().i32Const(20).return().end().nop().i32Const(30);
  m.function(m.type([I32, I32, I32], [I32]), { export: 'sel' }).localGet(0).localGet(1).localGet(2).select();
  m.function(m.type([], []), { export: 'trap' }).unreachable();
  m.function(m.type([I32], [I32]), { export: 'tee' }).localGet(0).localTee(0).drop().localGet(0);
  const multi = m.type([I32], [I32, I32]);
  m.function(m.type([], [I32]), { export: 'multi' }).i32Const(7).block(BlockType.of(multi)).i32Const(5).end().i32Mul().i32Const(7).i32Add();
  const ex = instantiate(m);
  assert.equal(ex.sum(100), 5050);
  assert.equal(ex.sign(-5), -1);
  assert.equal(ex.sign(5), 1);
  assert.deepEqual([0, 1, 2, 99, -1].map((v) => ex.sw(v)), [10, 20, 30, 30, 30]);
  assert.equal(ex.sel(1, 2, 0), 2);
  assert.equal(ex.sel(1, 2, 1), 1);
  assert.throws(() => ex.trap(), WebAssembly.RuntimeError);
  assert.equal(ex.tee(9), 9);
  assert.equal(ex.multi(), 42);
});

test('imported functions are called, tables and call_indirect dispatch, tail calls do not grow the stack', () => {
  const m = new ModuleBuilder();
  const tBin = m.type([I32, I32], [I32]);
  const tCount = m.type([I32, I32], [I32]);
  assert.equal(m.type([I32, I32], [I32]), tBin, 'identical signatures share one type');
  const helper = m.importFunction('env', 'helper', tBin);
  m.table({ min: 2 }, 'tbl');
  m.function(tBin, { export: 'callHelper' }).localGet(0).localGet(1).call(helper).i32Const(1).i32Add();
  m.function(m.type([I32, I32, I32], [I32]), { export: 'dispatch' }).localGet(1).localGet(2).localGet(0).callIndirect(tBin);
  // count(n, acc): n == 0 ? acc : count(n - 1, acc + 1), as a tail call, a million deep.
  const count = m.function(tCount, { export: 'count' });
  count.localGet(0).i32Eqz().if().localGet(1).return().end()
    .localGet(0).i32Const(1).i32Sub().localGet(1).i32Const(1).i32Add().returnCall(count.index);
  const viaTable = m.function(tCount, { export: 'countT' });
  viaTable.localGet(0).i32Eqz().if().localGet(1).return().end()
    .localGet(0).i32Const(1).i32Sub().localGet(1).i32Const(1).i32Add().i32Const(1).returnCallIndirect(tCount);
  // Copy slot 1 to slot 0 with table.get/table.set.
  m.function(m.type([], []), { export: 'copySlot' }).i32Const(0).i32Const(1).tableGet(0).tableSet(0);
  const ex = instantiate(m, { env: { helper: (a: number, b: number) => a * b } });
  assert.equal(ex.callHelper(6, 7), 43);
  const tbl = ex.tbl as WebAssembly.Table;
  tbl.set(0, ex.callHelper);
  tbl.set(1, ex.countT);
  assert.equal(ex.dispatch(0, 2, 3), 7);
  assert.throws(() => ex.dispatch(5, 1, 1), WebAssembly.RuntimeError, 'out-of-range table index traps');
  assert.equal(ex.count(1_000_000, 0), 1_000_000);
  assert.equal(ex.countT(1_000_000, 0), 1_000_000);
  ex.copySlot();
  assert.equal(tbl.get(0), ex.countT);
});

test('globals: defined, imported, exported, get and set', () => {
  const m = new ModuleBuilder();
  const g0 = m.importGlobal('env', 'g', I64, true);
  const g1 = m.global(I64, true, -5n, 'counter');
  m.global(I32, false, 7, 'seven');
  m.global(F64, false, 2.5, 'f');
  m.global(F32, false, 0.5, 'h');
  m.function(m.type([], [I64]), { export: 'bump' }).globalGet(g1).globalGet(g0).i64Add().globalSet(g1).globalGet(g1);
  const g = new WebAssembly.Global({ value: 'i64', mutable: true }, 10n);
  const ex = instantiate(m, { env: { g } });
  assert.equal(ex.bump(), 5n);
  assert.equal(ex.bump(), 15n);
  assert.equal((ex.seven as WebAssembly.Global).value, 7);
  assert.equal((ex.f as WebAssembly.Global).value, 2.5);
  assert.equal((ex.h as WebAssembly.Global).value, 0.5);
});

test('memory.size/grow/copy/fill on a defined memory', () => {
  const m = new ModuleBuilder();
  m.memory({ min: 1, max: 4 }, 'mem');
  m.function(m.type([], [I32]), { export: 'grow' }).i32Const(1).memoryGrow().drop().memorySize();
  m.function(m.type([], []), { export: 'bulk' }).i32Const(0).i32Const(0xab).i32Const(4).memoryFill().i32Const(8).i32Const(2).i32Const(4).memoryCopy();
  const ex = instantiate(m);
  assert.equal(ex.grow(), 2);
  ex.bulk();
  assert.deepEqual([...new Uint8Array((ex.mem as WebAssembly.Memory).buffer, 0, 12)], [0xab, 0xab, 0xab, 0xab, 0, 0, 0, 0, 0xab, 0xab, 0, 0]);
});

test('floating point: arithmetic, comparisons, conversions, reinterpretation, loads and stores', () => {
  const m = new ModuleBuilder();
  m.memory({ min: 1 }, 'mem');
  const fr = Math.fround;
  const nearest = (x: number) => { const r = Math.round(x); return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r; };
  const bin: Record<string, (a: number, b: number) => number> = {
    Add: (a, b) => a + b, Sub: (a, b) => a - b, Mul: (a, b) => a * b, Div: (a, b) => a / b, Min: Math.min, Max: Math.max,
    Copysign: (a, b) => Math.abs(a) * (Object.is(b, -0) || b < 0 ? -1 : 1),
    Eq: (a, b) => +(a === b), Ne: (a, b) => +(a !== b), Lt: (a, b) => +(a < b), Gt: (a, b) => +(a > b), Le: (a, b) => +(a <= b), Ge: (a, b) => +(a >= b),
  };
  const un: Record<string, (a: number) => number> = { Abs: Math.abs, Neg: (a) => -a, Ceil: Math.ceil, Floor: Math.floor, Trunc: Math.trunc, Nearest: nearest, Sqrt: Math.sqrt };
  for (const [T, P] of [[F32, 'F32'], [F64, 'F64']] as const) {
    for (const op of Object.keys(bin)) {
      const f = m.function(m.type([T, T], [/^(Eq|Ne|Lt|Gt|Le|Ge)$/.test(op) ? I32 : T]), { export: P + op });
      emit(f.localGet(0).localGet(1), `${P}${op}` as OpName);
    }
    for (const op of Object.keys(un)) emit(m.function(m.type([T], [T]), { export: P + op }).localGet(0), `${P}${op}` as OpName);
  }
  const conv: Array<[OpName, ValType, ValType]> = [];
  for (const name of Object.keys(OPS) as OpName[]) {
    const parts = /^(I32|I64|F32|F64)(?:TruncSat|Trunc|Convert|Demote|Promote|Reinterpret)(I32|I64|F32|F64)(S|U)?$/.exec(name);
    if (parts) {
      const types: Record<string, ValType> = { I32, I64, F32, F64 };
      conv.push([name, types[parts[2]!]!, types[parts[1]!]!]);
    }
  }
  for (const [name, from, to] of conv) emit(m.function(m.type([from], [to]), { export: name }).localGet(0), name);
  m.function(m.type([F64], [F64]), { export: 'mem64' }).i32Const(0).localGet(0).f64Store(8).i32Const(0).f64Load(8);
  m.function(m.type([F32], [F32]), { export: 'mem32' }).i32Const(0).localGet(0).f32Store(4).i32Const(0).f32Load(4);
  m.function(m.type([], [F64]), { export: 'k64' }).f64Const(1.25).f64ConstBits(0, 0x4000_0000).f64Add();
  m.function(m.type([], [I32]), { export: 'k32bits' }).f32ConstBits(0x7fa0_0001).i32ReinterpretF32();
  m.function(m.type([], [F32]), { export: 'k32' }).f32Const(0.1);
  const ex = instantiate(m);
  const vals = [0, -0, 1.5, -2.5, 0.5, 3, 1e300, -Infinity, NaN, 2 ** 31 + 0.5];
  for (const [P, round] of [['F32', fr], ['F64', (x: number) => x]] as const) {
    for (const [op, ref] of Object.entries(bin)) {
      for (const a of vals) for (const b of vals) {
        if (Number.isNaN(a) || Number.isNaN(b)) continue; // NaN sign/payload is not specified bit-exactly
        const want = round(ref(round(a), round(b)));
        assert.ok(Object.is(ex[P + op](a, b), want), `${P}.${op} ${a} ${b}`);
      }
    }
    for (const [op, ref] of Object.entries(un)) {
      for (const a of vals) if (!Number.isNaN(a) && !(op === 'Sqrt' && a < 0)) assert.ok(Object.is(ex[P + op](a), round(ref(round(a)))), `${P}.${op} ${a}`);
    }
  }
  assert.equal(ex.I32TruncF64S(-3.9), -3);
  assert.throws(() => ex.I32TruncF64S(3e9), WebAssembly.RuntimeError);
  assert.equal(ex.I32TruncSatF64S(3e9), 2 ** 31 - 1);
  assert.equal(ex.I64TruncSatF64U(-1), 0n);
  assert.equal(ex.I32TruncSatF32U(NaN), 0);
  assert.equal(ex.F64ConvertI64U(-1n), 2 ** 64);
  assert.equal(ex.F32DemoteF64(0.1), fr(0.1));
  assert.equal(ex.I64ReinterpretF64(-0), -(2n ** 63n));
  assert.equal(ex.F32ReinterpretI32(0x3fc0_0000), 1.5);
  assert.equal(ex.mem64(-7.75), -7.75);
  assert.equal(ex.mem32(0.5), 0.5);
  assert.equal(ex.k64(), 3.25);
  assert.equal(ex.k32bits(), 0x7fa0_0001, 'NaN payload survives f32ConstBits');
  assert.equal(ex.k32(), fr(0.1));
});

test('atomics on a shared memory return the old value and update memory', () => {
  const mem = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
  const m = new ModuleBuilder();
  m.importMemory('env', 'mem', { min: 1, max: 1, shared: true });
  const rmw = ['Add', 'Sub', 'And', 'Or', 'Xor', 'Xchg'];
  for (const [T, P] of [[I32, 'I32'], [I64, 'I64']] as const) {
    for (const op of rmw) {
      const f = m.function(m.type([I32, T], [T]), { export: P + op });
      emit(f.localGet(0).localGet(1), `${P}AtomicRmw${op}` as OpName);
    }
    m.function(m.type([I32, T, T], [T]), { export: P + 'Cmpxchg' }).localGet(0).localGet(1).localGet(2)[P === 'I32' ? 'i32AtomicRmwCmpxchg' : 'i64AtomicRmwCmpxchg']();
    m.function(m.type([I32, T], [T]), { export: P + 'StoreLoad' }).localGet(0).localGet(1)[P === 'I32' ? 'i32AtomicStore' : 'i64AtomicStore']()
      .atomicFence().localGet(0)[P === 'I32' ? 'i32AtomicLoad' : 'i64AtomicLoad']();
  }
  const ex = instantiate(m, { env: { mem } });
  const view = new BigInt64Array(mem.buffer);
  const ref: Record<string, (a: bigint, b: bigint) => bigint> = { Add: (a, b) => a + b, Sub: (a, b) => a - b, And: (a, b) => a & b, Or: (a, b) => a | b, Xor: (a, b) => a ^ b, Xchg: (_a, b) => b };
  for (const op of rmw) {
    view[1] = 0x0f0f_0f0f_1234_5678n;
    assert.equal(ex['I64' + op](8, 0x100n), 0x0f0f_0f0f_1234_5678n, op);
    assert.equal(view[1], s64(ref[op]!(0x0f0f_0f0f_1234_5678n, 0x100n)), op);
    view[1] = 0n;
    new Int32Array(mem.buffer)[2] = 1000;
    assert.equal(ex['I32' + op](8, 3), 1000, op);
    assert.equal(BigInt(new Int32Array(mem.buffer)[2]!), s32(ref[op]!(1000n, 3n)), op);
  }
  view[0] = 5n;
  assert.equal(ex.I64Cmpxchg(0, 5n, 9n), 5n);
  assert.equal(view[0], 9n);
  assert.equal(ex.I64Cmpxchg(0, 5n, 1n), 9n);
  assert.equal(view[0], 9n, 'a failed compare leaves memory alone');
  assert.equal(ex.I32Cmpxchg(0, 9, 4), 9);
  assert.equal(ex.I32StoreLoad(16, -3), -3);
  assert.equal(ex.I64StoreLoad(16, -(2n ** 62n)), -(2n ** 62n));
});

test('nesting mistakes are caught and name the function', () => {
  const m = new ModuleBuilder();
  const t = m.type([], []);
  const f = m.function(t, { export: 'b0' });
  assert.throws(() => f.end(), (e: unknown) => e instanceof WasmBuildError && e.code === 'unbalanced-end' && /function 0 "b0"/.test(e.message));
  assert.throws(() => f.else(), (e: unknown) => e instanceof WasmBuildError && e.code === 'else-without-if');
  f.block();
  assert.throws(() => f.else(), /not an if/);
  assert.throws(() => f.br(2), (e: unknown) => e instanceof WasmBuildError && e.code === 'label-out-of-range');
  f.br(1); // the function body label
  assert.throws(() => m.finish(), (e: unknown) => e instanceof WasmBuildError && e.code === 'unclosed-block' && /function 0 "b0": 1 block/.test(e.message));
  f.end();
  m.function(t).if().else();
  assert.throws(() => m.finish(), /Cannot finish function 1: 1 block/);
});

test('declaration order and indices are checked', () => {
  const m = new ModuleBuilder();
  const t = m.type([], []);
  m.function(t);
  assert.throws(() => m.importFunction('env', 'late', t), (e: unknown) => e instanceof WasmBuildError && e.code === 'bad-order');
  assert.throws(() => m.function(99), (e: unknown) => e instanceof WasmBuildError && e.code === 'bad-index');
  assert.throws(() => m.exportFunction('x', 5), /does not exist/);
  assert.throws(() => m.memory({ min: 2, max: 1 }), /limits/);
  assert.throws(() => m.memory({ min: 1, shared: true }), /shared memory needs a maximum/);
  m.exportFunction('a', 0);
  assert.throws(() => m.exportFunction('a', 0), /twice/);
  m.table({ min: 1, elem: FUNCREF });
  assert.ok(WebAssembly.validate(m.finish()));
});

test('a reset builder reproduces the same bytes, reusing its function builders', () => {
  const build = (m: ModuleBuilder): Uint8Array<ArrayBuffer> => {
    m.importMemory('env', 'mem', { min: 1 });
    const f = m.function(m.type([I32], [I64]), { export: 'f' });
    const l = f.local(I64);
    f.localGet(0).i64Load32U(4).localTee(l).i64Const(-1).i64Xor();
    return m.finish();
  };
  const m = new ModuleBuilder();
  const first = build(m);
  const fb = (m as unknown as { pool: unknown[] }).pool[0];
  const second = build(m.reset());
  assert.deepEqual(second, first);
  assert.equal((m as unknown as { pool: unknown[] }).pool[0], fb);
  assert.ok(WebAssembly.validate(first));
});

after(() => {
  // Runs after every test above: each table instruction must have appeared in a validated module.
  const missing = (Object.keys(OPS) as OpName[]).map(opText).filter((t) => !seen.has(t));
  assert.deepEqual(missing, [], `instructions never emitted by a test: ${missing.join(', ')}`);
});
