/**
 * The JIT's translations follow the code they were made from: a store to a translated page, by the
 * guest or by a device (DMA), takes effect at the next FENCE.I, as on hardware (Zifencei). The guest's
 * own stores are covered by the ISA suite (test/isa/src/fencei-hints.S) with every block translated;
 * here the writes come from outside the hart.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Bus } from '../memory/bus.js';
import { MachineMemory } from '../memory/machine-memory.js';
import { Priv } from '../cpu/trap.js';
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
