/**
 * One table, one truth: the interpreter executes exactly the instructions that the instruction table
 * (src/cpu/isa/instruction-table.ts) lists. Every table entry, instantiated with random free bits,
 * must run without an illegal-instruction trap; random words that the table does not decode must trap
 * as illegal with the word in mtval. Runs against both engines (`makeHart`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Bus } from '../../src/memory/bus.js';
import { MachineMemory } from '../../src/memory/machine-memory.js';
import { InterpreterHart } from '../../src/cpu/interpreter/interpreter-hart.js';
import { JitHart } from '../../src/jit/jit-hart.js';
import { INSTRUCTIONS } from '../../src/cpu/isa/instruction-table.js';
import { decode } from '../../src/cpu/isa/decode.js';
import { Csr } from '../../src/cpu/csr/csr-numbers.js';
import { Priv } from '../../src/cpu/trap.js';

const DRAM = 0x8000_0000;
const CODE = DRAM + 0x1000;
const DATA = DRAM + 0x10_0000;
const HANDLER = DRAM + 0x2000;
const NO_TRAP = 0xffn;

type Engine = 'interpreter' | 'jit';
function makeHart(engine: Engine) {
  const memory = new MachineMemory(4 * 1024 * 1024);
  const opts = { id: 0, memory, bus: new Bus(), time: () => 0 };
  // The JIT translates on first sight here, so every word goes through the translator (or its helper).
  const hart = engine === 'jit' ? new JitHart(opts, { threshold: 0 }) : new InterpreterHart(opts);
  return { memory, hart };
}

let seed = 0x2545f491;
const rand = () => {
  seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5;
  return seed >>> 0;
};

/** Executes one 32-bit word in M-mode with every register pointing into RAM; returns mcause (NO_TRAP if none). */
function execute(h: ReturnType<typeof makeHart>, word: number): bigint {
  const { memory, hart } = h;
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, word >>> 0, true);
  memory.write(CODE, bytes); // through GuestMemory, so a translation of the page learns of it
  hart.instructionFence(); // as a loader would after writing code
  for (let i = 1; i < 32; i++) hart.setX(i, BigInt(DATA));
  hart.setPrivilege(Priv.M);
  hart.writeCsr(Csr.mstatus, 1n << 13n); // FS = Initial: FP instructions are enabled
  hart.writeCsr(Csr.mtvec, BigInt(HANDLER));
  hart.writeCsr(Csr.mepc, BigInt(CODE));
  hart.writeCsr(Csr.mcause, NO_TRAP);
  hart.writeCsr(Csr.fcsr, 0n);
  hart.setPc(BigInt(CODE));
  hart.run(1);
  return hart.readCsr(Csr.mcause)!;
}

for (const engine of ['interpreter', 'jit'] as const) {
test(`${engine}: every instruction in the table executes without an illegal-instruction trap`, () => {
  const h = makeHart(engine);
  for (const spec of INSTRUCTIONS) {
    for (let k = 0; k < 8; k++) {
      let word = (spec.match | (rand() & ~spec.mask)) >>> 0;
      const rmFree = ((spec.mask >>> 12) & 7) === 0 && (spec.ext === 'F' || spec.ext === 'D') && spec.format !== 'fload' && spec.format !== 'fstore';
      if (rmFree) word = ((word & ~0x7000) | ([0, 1, 2, 3, 4, 7][rand() % 6] << 12)) >>> 0; // rm 5 and 6 are reserved
      if (spec.format === 'csr' || spec.format === 'csri') word = ((word & 0x000fffff) | (Csr.mscratch << 20)) >>> 0;
      const cause = execute(h, word);
      assert.notEqual(cause, 2n, `${spec.name} (0x${word.toString(16).padStart(8, '0')}) trapped as illegal`);
    }
  }
});

test(`${engine}: words the table does not decode are illegal instructions, with the word in mtval`, () => {
  const h = makeHart(engine);
  let checked = 0;
  while (checked < 3000) {
    const word = (rand() | 3) >>> 0; // 32-bit encodings only
    if (decode(word) !== undefined) continue;
    checked++;
    const cause = execute(h, word);
    assert.equal(cause, 2n, `0x${word.toString(16).padStart(8, '0')} is not in the table but did not trap as illegal (mcause ${cause})`);
    assert.equal(h.hart.readCsr(Csr.mtval), BigInt(word), 'mtval holds the instruction bits');
  }
});
}
