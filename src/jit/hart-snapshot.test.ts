/**
 * A hart's state saved mid-program and restored into a fresh hart over lazily restored memory ends
 * the program exactly as an uninterrupted run does; memory comes in only as the hart touches it
 * (fetch, load, store through the MMU), and stores mark their pages dirty. Both engines.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Bus } from '../memory/bus.js';
import { DRAM_BASE, MachineMemory, PAGE_SIZE, RAM_HOST_OFFSET } from '../memory/machine-memory.js';
import type { PageSource } from '../memory/page-source.js';
import { JitHart } from './jit-hart.js';
import { Csr } from '../cpu/csr/csr-numbers.js';
import { Priv } from '../cpu/trap.js';
import { InterpreterHart } from '../cpu/interpreter/interpreter-hart.js';

const I = (imm: number, rs1: number, f3: number, rd: number, op: number) => (((imm & 0xfff) << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op) >>> 0;
const addi = (rd: number, rs1: number, imm: number) => I(imm, rs1, 0, rd, 0x13);
const slli = (rd: number, rs1: number, sh: number) => I(sh, rs1, 1, rd, 0x13);
const add = (rd: number, rs1: number, rs2: number) => ((rs2 << 20) | (rs1 << 15) | (rd << 7) | 0x33) >>> 0;
const lui = (rd: number, imm20: number) => ((imm20 << 12) | (rd << 7) | 0x37) >>> 0;
const sd = (rs2: number, rs1: number, imm: number) => ((((imm >> 5) & 0x7f) << 25) | (rs2 << 20) | (rs1 << 15) | (3 << 12) | ((imm & 31) << 7) | 0x23) >>> 0;
const ld = (rd: number, rs1: number, imm: number) => I(imm, rs1, 3, rd, 0x03);
const bne = (rs1: number, rs2: number, off: number) =>
  ((((off >> 12) & 1) << 31) | (((off >> 5) & 0x3f) << 25) | (rs2 << 20) | (rs1 << 15) | (1 << 12) | (((off >> 1) & 0xf) << 8) | (((off >> 11) & 1) << 7) | 0x63) >>> 0;
const JAL_SELF = 0x0000006f;

const T0 = 5, T1 = 6, T2 = 7, A0 = 10, A1 = 11;
/** Sums 2000..1 into t0, storing each partial sum 256 bytes further on (125 pages), and reading a table. */
const PROGRAM = [
  addi(A0, 0, 1), slli(A0, A0, 31), lui(T2, 0x100), add(A0, A0, T2), // a0 = 0x8010_0000
  addi(A1, 0, 1), slli(A1, A1, 31), lui(T2, 0x300), add(A1, A1, T2), // a1 = 0x8030_0000 (a table nobody wrote: zeros)
  addi(T0, 0, 0), addi(T1, 0, 2000),
  // loop:
  add(T0, T0, T1), sd(T0, A0, 0), ld(T2, A1, 0), add(T0, T0, T2), addi(A0, A0, 256), addi(T1, T1, -1), bne(T1, 0, -24),
  JAL_SELF,
];
const RAM = 8 << 20;

function boot(mem: MachineMemory, engine: 'interpreter' | 'jit'): InterpreterHart {
  const opts = { id: 0, memory: mem, bus: new Bus(), time: () => 0 };
  const hart = engine === 'jit' ? new JitHart(opts, { threshold: 10 }) : new InterpreterHart(opts);
  hart.setPrivilege(Priv.M);
  hart.writeCsr(Csr.mtvec, BigInt(DRAM_BASE + 0x800));
  hart.writeCsr(Csr.mscratch, 0x1234_5678_9abc_def0n);
  hart.setPc(BigInt(DRAM_BASE));
  return hart;
}

function load(mem: MachineMemory): void {
  const code = new Uint8Array(PROGRAM.length * 4);
  PROGRAM.forEach((w, i) => new DataView(code.buffer).setUint32(i * 4, w, true));
  mem.write(DRAM_BASE, code);
}

function ramOf(mem: MachineMemory): Buffer {
  return Buffer.from(mem.bytes.subarray(RAM_HOST_OFFSET, RAM_HOST_OFFSET + mem.ramSize));
}

for (const engine of ['interpreter', 'jit'] as const) {
  test(`${engine}: a hart saved mid-run and restored over lazily loaded memory finishes as if never stopped`, () => {
    const refMem = new MachineMemory(RAM);
    load(refMem);
    const ref = boot(refMem, engine);
    ref.run(200_000);

    const mem = new MachineMemory(RAM);
    load(mem);
    const first = boot(mem, engine);
    first.run(5_000);
    const state = JSON.parse(JSON.stringify(first.save())); // as a state file carries it
    const image = Uint8Array.from(ramOf(mem));
    let reads = 0;
    const source: PageSource = {
      read(off, dst, at, len) { reads += len / PAGE_SIZE; dst.set(image.subarray(off, off + len), at); },
      close() {},
    };

    const mem2 = new MachineMemory(RAM);
    mem2.attachSource(source);
    const second = boot(mem2, engine);
    second.restore(state);
    assert.deepEqual(second.save(), first.save(), 'the restored hart reads back as saved');
    assert.equal(reads, 0, 'restoring the hart reads no memory');
    second.run(200_000 - 5_000);

    for (let r = 0; r < 32; r++) assert.equal(second.getX(r), ref.getX(r), `x${r}`);
    assert.equal(second.getPc(), ref.getPc());
    // (The JIT may retire a budget's last instructions in the next call: compare with a run split the same way.)
    const splitMem = new MachineMemory(RAM);
    load(splitMem);
    const split = boot(splitMem, engine);
    split.run(5_000);
    split.run(200_000 - 5_000);
    assert.equal(second.instret, split.instret);
    assert.equal(second.readCsr(Csr.mscratch), 0x1234_5678_9abc_def0n);
    assert.ok(reads < RAM / PAGE_SIZE / 4, `only touched clusters were read (${reads} pages)`);
    mem2.loadAll();
    assert.ok(ramOf(mem2).equals(ramOf(refMem)), 'memory is what the uninterrupted run left');
    // Stores after the restore (pages of the sums the second run wrote) are dirty; the code page is not.
    assert.equal(mem2.dirty[0], 0);
    assert.equal(mem2.dirty[Math.floor((0x10_0000 + 1999 * 256) / PAGE_SIZE)], 1);
  });
}

test('a malformed hart state is refused with the field named, and the hart is left as it was', () => {
  const mem = new MachineMemory(RAM);
  const hart = boot(mem, 'interpreter');
  const good = hart.save();
  const before = JSON.stringify(hart.save());
  const cases: [string, unknown, RegExp][] = [
    ['version', { ...good, version: 2 }, /version 2/],
    ['x', { ...good, x: good.x.slice(1) }, /hart\.x must be a list of 32/],
    ['x value', { ...good, x: good.x.map((v, i) => (i === 7 ? 'seven' : v)) }, /hart\.x\[7\] must be a 64-bit hex string/],
    ['priv', { ...good, priv: 2 }, /hart\.priv 2/],
    ['csr', { ...good, csr: { ...good.csr, satp: '0x7000000000000000' } }, /unsupported MODE 7/],
    ['csr field', { ...good, csr: { ...good.csr, mie: 'x' } }, /csr\.mie must be an integer/],
  ];
  for (const [what, state, re] of cases) {
    assert.throws(() => hart.restore(state), re, what);
    assert.equal(JSON.stringify(hart.save()), before, `${what}: nothing changed`);
  }
});
