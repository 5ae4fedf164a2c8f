import assert from 'node:assert/strict';
import { test } from 'node:test';
import { disassemble } from './disassemble.js';
import { ModuleBuilder } from './module-builder.js';
import { BlockType, F64, I32, I64 } from './value-type.js';

function sample(): Uint8Array<ArrayBuffer> {
  const m = new ModuleBuilder();
  const tHelper = m.type([I32, I32, I32], [I32]);
  m.importMemory('env', 'mem', { min: 1, max: 65536, shared: true });
  const slow = m.importFunction('env', 'slowLoad', tHelper);
  m.table({ min: 4 }, 'tbl');
  const g = m.global(I64, true, -1n);
  const f = m.function(m.type([I32], [I64]), { export: 'b0' });
  const a = f.local(I64);
  f.local(I64);
  f.local(F64);
  f.localGet(0).i64Load(0x108).localSet(a)
    .block(BlockType.I64)
    .localGet(0).i32Const(-1).i32Const(7).call(slow).i32Eqz()
    .if().i64Const(-(2n ** 63n)).return().else().nop().end()
    .localGet(0).i32Load(4, 1).i64ExtendI32S().i64ConstPair(0, 1).i64Add()
    .end()
    .globalSet(g).block().i32Const(0).brTable([0], 0).end().f64Const(-0).drop().i32Const(2).returnCallIndirect(m.type([], [I64]));
  return m.finish();
}

test('the listing of a module is stable text (golden)', () => {
  const want = `(module
  (type 0 (func (param i32 i32 i32) (result i32)))
  (type 1 (func (param i32) (result i64)))
  (type 2 (func (result i64)))
  (import "env" "mem" (memory 1 65536 shared))
  (import "env" "slowLoad" (func 0 (type 0)))
  (table 4 funcref)
  (global (mut i64) (i64.const -1))
  (export "tbl" (table 0))
  (export "b0" (func 1))
  (func 1 (type 1) (export "b0") (param i32) (result i64)
    (local 1 i64) (local 2 i64) (local 3 f64)
    local.get 0
    i64.load offset=264
    local.set 1
    block (result i64)
      local.get 0
      i32.const -1
      i32.const 7
      call 0
      i32.eqz
      if
        i64.const -9223372036854775808
        return
      else
        nop
      end
      local.get 0
      i32.load offset=4 align=1
      i64.extend_i32_s
      i64.const 4294967296
      i64.add
    end
    global.set 0
    block
      i32.const 0
      br_table 0 0
    end
    f64.const -0
    drop
    i32.const 2
    return_call_indirect (type 2)
  )
)
`;
  const bytes = sample();
  assert.ok(WebAssembly.validate(bytes));
  assert.equal(disassemble(bytes), want);
});

test('one function body can be listed alone, by function index', () => {
  const text = disassemble(sample(), { func: 1 });
  assert.match(text, /^\(func 1 \(type 1\) \(export "b0"\)/);
  assert.ok(text.endsWith('  return_call_indirect (type 2)\n)\n'));
  assert.throws(() => disassemble(sample(), { func: 0 }), /does not define it/);
});

test('float constants list as text-format values, NaN payloads included', () => {
  const m = new ModuleBuilder();
  m.function(m.type([], []))
    .f32ConstBits(0x7fc0_0000).drop().f32ConstBits(0xffa0_0001).drop().f64Const(Infinity).drop().f64Const(1.5e-7).drop();
  const body = disassemble(m.finish(), { func: 0 });
  assert.deepEqual(body.split('\n').filter((l) => l.includes('const')).map((l) => l.trim()),
    ['f32.const nan', 'f32.const -nan:0x200001', 'f64.const inf', 'f64.const 1.5e-7']);
});

test('garbage input gives an error naming the byte offset', () => {
  assert.throws(() => disassemble(new Uint8Array([1, 2, 3])), /no wasm magic/);
  const m = new ModuleBuilder();
  m.function(m.type([], [])).nop();
  const bytes = m.finish();
  bytes[bytes.length - 2] = 0xd7; // replace nop with an opcode wisp never emits
  assert.throws(() => disassemble(bytes), /at byte \d+: unknown opcode 0xd7/);
});
