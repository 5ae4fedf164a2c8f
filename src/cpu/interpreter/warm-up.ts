import type { Hart } from '../hart.js';
import { MachineMemory } from '../../memory/machine-memory.js';
import { Csr } from '../csr/csr-numbers.js';
import { INSTRUCTIONS } from '../isa/instruction-table.js';
import { Priv } from '../trap.js';

const CODE = 0x8000_1000;
const HANDLER = 0x8000_2000;
const DATA = 0x8010_0000;

/**
 * Runs every instruction of the table through a scratch hart, on memory of its own, before a machine
 * starts: V8 optimizes the interpreter loop from the type feedback of the paths it has run, and
 * throws the optimized code away ("insufficient type feedback") each time a guest first takes a new
 * one, then optimizes the whole loop again. Measured on the Debian boot under the JIT: the loop was
 * deoptimized 16 times, 4-6 with this warm-up (~35 ms); boot to marker, 4 runs each, interleaved:
 * 3.87-3.94 s without, 3.55-4.03 s (median 3.62) with.
 * A loop of two instructions then runs a few thousand times. Returns the instructions the scratch
 * hart retired.
 */
export function warmUp(makeHart: (memory: MachineMemory) => Hart): number {
  const memory = new MachineMemory(2 * 1024 * 1024);
  const hart = makeHart(memory);
  const word = new Uint8Array(8);
  const view = new DataView(word.buffer);
  let seed = 0x2545f491;
  const rand = () => {
    seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5;
    return seed >>> 0;
  };
  const start = (pc: number) => {
    for (let i = 1; i < 32; i++) hart.setX(i, BigInt(DATA));
    hart.setPrivilege(Priv.M);
    hart.writeCsr(Csr.mstatus, 1n << 13n); // FS = Initial: FP instructions run
    hart.writeCsr(Csr.mtvec, BigInt(HANDLER));
    hart.setPc(BigInt(pc));
  };
  for (let round = 0; round < 3; round++) {
    for (const spec of INSTRUCTIONS) {
      if (spec.name === 'wfi') continue; // it would leave the hart waiting for an interrupt that never comes
      view.setUint32(0, (spec.match | (rand() & ~spec.mask)) >>> 0, true);
      memory.write(CODE, word.subarray(0, 4));
      hart.instructionFence();
      start(CODE);
      hart.run(1);
    }
  }
  view.setUint32(0, 0x00150513, true); // addi a0, a0, 1
  view.setUint32(4, 0xfeb54ee3, true); // blt a0, a1, -4
  memory.write(CODE, word);
  hart.instructionFence();
  start(CODE);
  hart.setX(10, 0n);
  hart.setX(11, 5000n);
  hart.run(10_000);
  return hart.instret;
}
