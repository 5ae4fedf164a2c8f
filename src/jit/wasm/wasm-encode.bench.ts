// Micro-benchmark, not a test: encode time of ModuleBuilder and V8 compile time of the result for a
// JIT-shaped function of ~50 and ~500 instructions (register loads/stores on the machine memory, i64
// ALU ops, a branchy guard). Run: npx tsx src/jit/wasm/wasm-encode.bench.ts
import { ModuleBuilder } from './module-builder.js';
import { BlockType, I32, I64 } from './value-type.js';

function build(m: ModuleBuilder, groups: number, seed = 0): Uint8Array<ArrayBuffer> {
  m.reset();
  m.importMemory('env', 'mem', { min: 1, max: 65536, shared: true });
  const slow = m.importFunction('env', 'slowLoad', m.type([I32, I32, I32], [I32]));
  const f = m.function(m.type([I32], [I32]), { export: 'run' });
  const t = f.local(I64);
  for (let i = 0; i < groups; i++) {
    // ~10 instructions: x[rd] = (x[rs1] + imm) ^ x[rs2], with a rarely taken helper call
    const rd = (i * 7) & 31, rs1 = (i * 3) & 31, rs2 = (i * 5) & 31;
    f.localGet(0).i64Load(rs1 * 8).i64Const(i * 4099 - 2048).i64Add().localSet(t)
      .localGet(0).localGet(t).localGet(0).i64Load(rs2 * 8).i64Xor().i64Store(rd * 8);
    if (i % 8 === 7) f.localGet(0).i32Load(0x200).i32Eqz().if(BlockType.Void).i32Const(i).i32Const(0).i32Const(0).call(slow).drop().end();
  }
  f.i32Const(seed).drop().i32Const(groups); // seed: distinct bytes, so V8's module cache cannot answer
  return m.finish();
}

function time(label: string, iterations: number, fn: () => void): number {
  for (let i = 0; i < Math.min(100, iterations); i++) fn(); // warm up
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) fn();
  const us = Number(process.hrtime.bigint() - t0) / 1000 / iterations;
  console.log(`${label}: ${us.toFixed(2)} µs`);
  return us;
}

// V8 compiles wasm lazily: `new WebAssembly.Module` alone mostly validates, the real compile
// happens at the first call, so that is timed too.
const imports = { env: { mem: new WebAssembly.Memory({ initial: 1, maximum: 65536, shared: true }), slowLoad: () => 0 } };
const m = new ModuleBuilder();
for (const groups of [5, 50]) {
  const bytes = build(m, groups);
  const insns = (groups * 12 + Math.floor(groups / 8) * 10);
  console.log(`\n~${insns} instructions, ${bytes.length} bytes`);
  time('  encode (ModuleBuilder, reused)', 20000, () => build(m, groups));
  const fresh = Array.from({ length: 1200 }, (_, i) => build(m, groups, i + 1));
  let next = 0;
  time('  new WebAssembly.Module (validate, lazy)', 500, () => new WebAssembly.Module(fresh[next++]!));
  next = 0;
  time('  Module + Instance + first call (compile)', 500, () => {
    const run = new WebAssembly.Instance(new WebAssembly.Module(fresh[600 + next++]!), imports).exports.run as (dp: number) => number;
    if (run(0) !== groups) throw new Error('benchmark function returned the wrong value');
  });
}
