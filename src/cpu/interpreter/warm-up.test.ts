import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Bus } from '../../memory/bus.js';
import { InterpreterHart } from './interpreter-hart.js';
import { warmUp } from './warm-up.js';
import { INSTRUCTIONS } from '../isa/instruction-table.js';

test('the warm-up runs the instruction table and a loop on a scratch hart of its own', () => {
  let made = 0;
  const retired = warmUp((memory) => {
    made++;
    return new InterpreterHart({ id: 0, memory, bus: new Bus(), time: () => 0 });
  });
  assert.equal(made, 1);
  // Most table entries retire (some trap, e.g. ECALL), and the loop retires 2 per iteration up to 5000.
  assert.ok(retired > INSTRUCTIONS.length * 2 + 9_000, `retired ${retired}`);
});
