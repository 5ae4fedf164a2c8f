/**
 * The JIT's translations follow the code they were made from: a store to a translated page, by the
 * guest or by a device (DMA), takes effect at the next FENCE.I, as on hardware (Zifencei). The guest's
 * own stores are covered by the ISA suite (test/isa/src/fencei-hints.S) with every block translated;
 * here the writes come from outside the hart. And a translation that runs on into the next page
 * follows that page's mapping.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Bus } from '../memory/bus.js';
import { MachineMemory } from '../memory/machine-memory.js';
import { Priv } from '../cpu/trap.js';
import { TLB_FETCH_OFFSET } from '../cpu/hart-layout.js';
import { JitHart } from './jit-hart.js';

const CODE = 0x8000_1000;
const ADDI_A0 = (imm: number) => ((imm << 20) | (10 << 7) | 0x13) >>> 0; // addi a0, zero, imm
const JAL_BACK_4 = 0xffdff06f; // jal zero, -4

function words(...ws: number[]): Uint8Array {
  const b = new Uint8Array(4 * ws.length);
  const v = new DataView(b.buffer);
  ws.forEach((w, i) => v.setUint32(4 * i, w, true));
  return b;
}

test('code a device writes over a translation runs after FENCE.I', () => {
  const memory = new MachineMemory(1 << 20);
  const hart = new JitHart({ id: 0, memory, bus: new Bus(), time: () => 0 }, { threshold: 0 });
  hart.setPrivilege(Priv.M);
  memory.write(CODE, words(ADDI_A0(1), JAL_BACK_4)); // a loop that keeps setting a0 = 1
  hart.setPc(BigInt(CODE));
  hart.run(1000);
  assert.equal(hart.getX(10), 1n);
  assert.ok(hart.stats.translated > 0, 'the loop was translated');

  memory.write(CODE, words(ADDI_A0(2))); // DMA: not a store of the hart's own
  hart.instructionFence();
  hart.run(1000);
  assert.equal(hart.getX(10), 2n, 'the new code ran, not the old translation');
  assert.equal(hart.stats.invalidated, 1);

  const before = hart.stats.invalidated;
  hart.instructionFence(); // nothing written since: the translation made since is kept
  hart.run(1000);
  assert.equal(hart.getX(10), 2n);
  assert.equal(hart.stats.invalidated, before);
});

test('a loop across a page boundary stays in one translation, and leaves it when the next page maps elsewhere', () => {
  const memory = new MachineMemory(1 << 20);
  const hart = new JitHart({ id: 0, memory, bus: new Bus(), time: () => 0 }, { threshold: 10 });
  hart.setPrivilege(Priv.M);
  const P = 0x8000_1000, NEXT = P + 0x1000, ALT = P + 0x2000;
  memory.write(P + 0xffc, words(0x00150513)); // addi a0, a0, 1 (the page's last word)
  memory.write(NEXT, words(0xfea59ee3, 0x0000006f)); // bne a1, a0, -4 (back across the boundary) ; j .
  memory.write(ALT, words(ADDI_A0(100) + (10 << 15), 0x0000006f)); // addi a0, a0, 100 ; j .
  hart.setX(11, 1_000_000n);
  hart.setPc(BigInt(P + 0xffc));
  hart.run(5000);
  assert.ok(hart.stats.translated >= 1);
  const entries = hart.stats.wasmEntries;
  hart.run(100_000);
  assert.ok(hart.stats.wasmEntries - entries <= 2, `the loop ran in wasm without coming back (${hart.stats.wasmEntries - entries} entries)`);

  // Remap the next virtual page onto ALT in the fetch TLB (hart-layout: tag | priv, high word, host - va),
  // as a page table change followed by SFENCE.VMA would: crossing must now lead to ALT's code.
  const i32 = memory.i32;
  const e = (memory.hartRegion(0) + TLB_FETCH_OFFSET + ((NEXT >>> 12) & 1023) * 16) >> 2;
  assert.equal(i32[e], (NEXT | Priv.M) | 0, 'the next page is in the fetch TLB');
  i32[e + 2] = (memory.hostOffset(ALT, 1) - NEXT) | 0;
  const before = hart.getX(10);
  hart.run(1000);
  assert.equal(hart.getPc(), BigInt(NEXT + 4), 'control went on in the code the next page maps to now (ALT\'s `j .`)');
  assert.ok([100n, 101n].includes(hart.getX(10) - before), `a0 moved by ${hart.getX(10) - before}`);
});
