/**
 * What several harts change in both engines, on harts sharing one memory (a machine of more than one
 * hart), each engine run the same way: an SC compares and swaps against the value its LR read, so it
 * fails when another hart changed the word after the LR (and, as documented, not when the word was
 * written back with the same value); aligned doublewords move as one 8-byte access with their bits
 * unchanged (signalling NaN patterns included, which a float conversion would quiet); a hart's store
 * to code another hart translated reaches that hart at its next FENCE.I. The bare-metal programs in
 * test/isa/src/smp-*.S check the same on harts running at once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Bus } from '../memory/bus.js';
import { MachineMemory } from '../memory/machine-memory.js';
import { Priv } from '../cpu/trap.js';
import { InterpreterHart } from '../cpu/interpreter/interpreter-hart.js';
import { JitHart } from './jit-hart.js';

const CODE = 0x8000_1000, DATA = 0x8000_8000;
const A0 = 10, A1 = 11, A2 = 12, A3 = 13;
const r = (f7: number, rs2: number, rs1: number, f3: number, rd: number, op: number) => ((f7 << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op) >>> 0;
const LR_D = (rd: number, rs1: number) => r(0b0001000, 0, rs1, 3, rd, 0x2f);
const SC_D = (rd: number, rs2: number, rs1: number) => r(0b0001100, rs2, rs1, 3, rd, 0x2f);
const LR_W = (rd: number, rs1: number) => r(0b0001000, 0, rs1, 2, rd, 0x2f);
const SC_W = (rd: number, rs2: number, rs1: number) => r(0b0001100, rs2, rs1, 2, rd, 0x2f);
const LD = (rd: number, rs1: number, imm: number) => (((imm & 0xfff) << 20) | (rs1 << 15) | (3 << 12) | (rd << 7) | 0x03) >>> 0;
const SD = (rs2: number, rs1: number, imm: number) => ((((imm >> 5) & 0x7f) << 25) | (rs2 << 20) | (rs1 << 15) | (3 << 12) | ((imm & 0x1f) << 7) | 0x23) >>> 0;
const ADDI_A0 = (imm: number) => ((imm << 20) | (A0 << 7) | 0x13) >>> 0;
const JALR_RA = 0x00008067;

type Engine = 'interpreter' | 'jit';
const ENGINES: Engine[] = ['interpreter', 'jit'];

function words(...ws: number[]): Uint8Array {
  const b = new Uint8Array(4 * ws.length);
  const v = new DataView(b.buffer);
  ws.forEach((w, i) => v.setUint32(4 * i, w, true));
  return b;
}

/** Two harts of one machine (memory shared), in M-mode, both on this thread. */
function twoHarts(engine: Engine): { memory: MachineMemory; harts: InterpreterHart[] } {
  const memory = new MachineMemory(1 << 20, { harts: 2, shared: true });
  const make = (id: number) => {
    const opts = { id, memory, bus: new Bus(), time: () => 0 };
    const h = engine === 'jit' ? new JitHart(opts, { threshold: 0 }) : new InterpreterHart(opts);
    h.setPrivilege(Priv.M);
    return h;
  };
  return { memory, harts: [make(0), make(1)] };
}

/** Runs `code` on hart `h` from CODE + at until it has run `n` instructions. */
function run(h: InterpreterHart, memory: MachineMemory, at: number, code: number[], n: number): void {
  memory.write(CODE + at, words(...code));
  h.instructionFence();
  h.setPc(BigInt(CODE + at));
  h.run(n);
}

for (const engine of ENGINES) {
  test(`${engine}: an SC fails once another hart changed the reserved word, and succeeds otherwise`, () => {
    const { memory, harts: [a, b] } = twoHarts(engine);
    const view = new DataView(memory.bytes.buffer, memory.hostOffset(DATA, 16));
    view.setBigUint64(0, 11n, true);
    a.setX(A1, BigInt(DATA));
    b.setX(A1, BigInt(DATA));
    run(a, memory, 0, [LR_D(A0, A1)], 1);
    assert.equal(a.getX(A0), 11n);
    b.setX(A2, 55n);
    run(b, memory, 0x100, [SD(A2, A1, 0)], 1); // hart b writes the word hart a reserved
    a.setX(A2, 77n);
    run(a, memory, 0x200, [SC_D(A3, A2, A1)], 1);
    assert.equal(a.getX(A3), 1n, 'the SC failed');
    assert.equal(view.getBigUint64(0, true), 55n, "hart b's value stands");

    run(a, memory, 0x300, [LR_D(A0, A1)], 1);
    run(b, memory, 0x400, [SD(A2, A1, 8)], 1); // elsewhere
    run(a, memory, 0x500, [SC_D(A3, A2, A1)], 1);
    assert.equal(a.getX(A3), 0n, 'the SC succeeded');
    assert.equal(view.getBigUint64(0, true), 77n);

    // The word written back unchanged (the ABA case, see InterpreterHart.atomic): the SC succeeds.
    run(a, memory, 0x600, [LR_W(A0, A1)], 1);
    b.setX(A2, 77n);
    run(b, memory, 0x700, [SD(A2, A1, 0)], 1);
    a.setX(A2, 99n);
    run(a, memory, 0x800, [SC_W(A3, A2, A1)], 1);
    assert.equal(a.getX(A3), 0n);
    assert.equal(view.getBigUint64(0, true), 99n);
  });

  test(`${engine}: aligned doublewords move as they are, signalling NaN patterns included`, () => {
    const { memory, harts: [a] } = twoHarts(engine);
    const view = new DataView(memory.bytes.buffer, memory.hostOffset(DATA, 64));
    const patterns = [0x7ff0_0000_0000_0001n, 0xfff0_0000_0000_0001n, 0x7ff4_0000_dead_beefn, 0x7ff8_0000_0000_0000n, 0xffff_ffff_ffff_ffffn, 0x1234_5678_9abc_def0n];
    a.setX(A1, BigInt(DATA));
    patterns.forEach((p, i) => view.setBigUint64(8 * i, p, true));
    const code: number[] = [];
    for (let i = 0; i < patterns.length; i++) code.push(LD(A0, A1, 8 * i), SD(A0, A1, 8 * (i + patterns.length)));
    code.push(LD(A2, A1, 0));
    for (let round = 0; round < 3; round++) run(a, memory, 0, code, code.length); // the JIT translates on the way
    patterns.forEach((p, i) => assert.equal(view.getBigUint64(8 * (i + patterns.length), true), p, `pattern ${i} copied through a register unchanged`));
    assert.equal(a.getX(A2), patterns[0]);
  });

  test(`${engine}: a store by another hart to code this hart translated runs after this hart's FENCE.I`, () => {
    const { memory, harts: [a, b] } = twoHarts(engine);
    memory.write(CODE, words(ADDI_A0(1), JALR_RA)); // f: a0 = 1; return
    memory.write(CODE + 0x100, words(0x0000006f)); // j . (a's return address)
    a.setX(1, BigInt(CODE + 0x100));
    for (let i = 0; i < 3; i++) { a.setPc(BigInt(CODE)); a.run(2); }
    assert.equal(a.getX(A0), 1n);
    b.setX(A1, BigInt(CODE));
    b.setX(A2, BigInt(ADDI_A0(2)));
    run(b, memory, 0x200, [r(0, A2, A1, 2, 0, 0x23)], 1); // sw a2, 0(a1): hart b rewrites f
    a.instructionFence();
    a.setPc(BigInt(CODE));
    a.run(2);
    assert.equal(a.getX(A0), 2n, 'hart a ran the new instruction, not its old translation');
  });
}
