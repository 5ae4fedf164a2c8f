import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Syscon, type ExitRequest } from './syscon.js';

function setup() {
  const exits: ExitRequest[] = [];
  const syscon = new Syscon((r) => exits.push(r));
  return { exits, syscon };
}

test('0x5555 powers off, 0x7777 resets, (code << 16) | 0x3333 fails with the code', () => {
  const { syscon, exits } = setup();
  syscon.write(0, 4, 0x5555);
  syscon.write(0, 4, 0x7777);
  syscon.write(0, 4, (42 << 16) | 0x3333);
  syscon.write(0, 4, 0xffff_3333);
  assert.deepEqual(exits, [
    { kind: 'poweroff', code: 0 },
    { kind: 'reset', code: 0 },
    { kind: 'fail', code: 42 },
    { kind: 'fail', code: 0xffff },
  ]);
});

test('a 16-bit store works without a code; the high half of a poweroff value is ignored', () => {
  const { syscon, exits } = setup();
  syscon.write(0, 2, 0x3333);
  syscon.write(0, 4, 0x1234_5555);
  assert.deepEqual(exits, [{ kind: 'fail', code: 0 }, { kind: 'poweroff', code: 0 }]);
});

test('hostile writes: other values, offsets and byte stores do nothing but count', () => {
  const { syscon, exits } = setup();
  syscon.write(0, 4, 0);
  syscon.write(0, 4, 0x5556);
  syscon.write(0, 1, 0x55);
  syscon.write(4, 4, 0x5555);
  syscon.write(0xfff, 1, 0xff);
  assert.equal(syscon.read(0, 4), 0);
  assert.equal(syscon.read(8, 4), 0);
  assert.deepEqual(exits, []);
  assert.deepEqual(syscon.metrics, { ignoredWrites: 2, badAccesses: 4 });
});
