/**
 * Micro-benchmark of executeFp's hot paths (not part of npm test):
 *   npx tsx src/cpu/fpu/fpu-bench.ts
 * Prints ns per instruction for common RNE operations on ordinary operands, and for the BigInt FMA.D.
 */
import { executeFp } from './execute-fp.js';
import { encodeOpFp, encodeR4, OPC_FMADD, TestFpState } from './test-fp-state.js';

const s = new TestFpState();
const dv = new DataView(new ArrayBuffer(8));
const b32 = (v: number) => (dv.setFloat32(0, v), dv.getUint32(0));
const b64 = (v: number) => (dv.setFloat64(0, v), dv.getBigUint64(0));

const cases: Array<[string, number, () => void]> = [
  ['fadd.d', encodeOpFp(0x00, 1, 2, 1, 0, 3), () => (s.setF64(1, b64(1.1)), s.setF64(2, b64(2.3)))],
  ['fmul.d', encodeOpFp(0x02, 1, 2, 1, 0, 3), () => (s.setF64(1, b64(1.1)), s.setF64(2, b64(2.3)))],
  ['fdiv.d', encodeOpFp(0x03, 1, 2, 1, 0, 3), () => (s.setF64(1, b64(1.1)), s.setF64(2, b64(2.3)))],
  ['fsqrt.d', encodeOpFp(0x0b, 1, 0, 1, 0, 3), () => s.setF64(1, b64(2.3))],
  ['fadd.s', encodeOpFp(0x00, 0, 2, 1, 0, 3), () => (s.setF32(1, b32(1.1)), s.setF32(2, b32(2.3)))],
  ['fmul.s', encodeOpFp(0x02, 0, 2, 1, 0, 3), () => (s.setF32(1, b32(1.1)), s.setF32(2, b32(2.3)))],
  ['fdiv.s', encodeOpFp(0x03, 0, 2, 1, 0, 3), () => (s.setF32(1, b32(1.1)), s.setF32(2, b32(2.3)))],
  ['fmadd.s', encodeR4(OPC_FMADD, 3, 0, 2, 1, 0, 4), () => (s.setF32(1, b32(1.1)), s.setF32(2, b32(2.3)), s.setF32(3, b32(0.7)))],
  ['fadd.d rtz', encodeOpFp(0x00, 1, 2, 1, 1, 3), () => (s.setF64(1, b64(1.1)), s.setF64(2, b64(2.3)))],
  ['feq.d', encodeOpFp(0x14, 1, 2, 1, 2, 5), () => (s.setF64(1, b64(1.1)), s.setF64(2, b64(2.3)))],
  ['fcvt.l.d', encodeOpFp(0x18, 1, 2, 1, 0, 5), () => s.setF64(1, b64(-12345.75))],
  ['fcvt.d.l', encodeOpFp(0x1a, 1, 2, 1, 0, 3), () => s.setX(1, 0x123456789abcdefn)],
  ['fmadd.d (BigInt)', encodeR4(OPC_FMADD, 3, 1, 2, 1, 0, 4), () => (s.setF64(1, b64(1.1)), s.setF64(2, b64(2.3)), s.setF64(3, b64(0.7)))],
];

for (const [name, insn, setup] of cases) {
  setup();
  const n = name.includes('BigInt') ? 200_000 : 5_000_000;
  for (let i = 0; i < n / 10; i++) executeFp(s, insn); // warm up
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) executeFp(s, insn);
  const ns = Number(process.hrtime.bigint() - t0) / n;
  console.log(`${name.padEnd(18)} ${ns.toFixed(1).padStart(7)} ns/insn`);
}
