import assert from 'node:assert/strict';
import { it } from 'node:test';
import { MemoryBlockBackend } from './block/memory-block-backend.js';
import { VirtioBlock } from './block/block.js';
import { fuzzVirtioDevice, xorshift32 } from './queue-fuzz.js';
import { VirtioRng } from './rng/rng.js';

// Fixed seeds: the same hostile traffic on every CI run. scripts/fuzz-virtio.mjs runs many more.
const ITERATIONS = 400;

it('fuzz: virtio-rng survives random hostile queues (fixed seed)', () => {
  const r = fuzzVirtioDevice({
    seed: 0x5eed_0001,
    iterations: ITERATIONS,
    make: (rand) => new VirtioRng({ fill: (d) => d.forEach((_, i) => (d[i] = rand() & 0xff)) }),
  });
  assert.deepEqual(r.violations, []);
  // The run must actually exercise both paths, or it proves nothing.
  assert.ok(r.used > ITERATIONS, `only ${r.used} used elements`);
  assert.ok(r.usedEmpty > 0 && r.usedEmpty < r.used, `${r.usedEmpty} of ${r.used} returned empty`);
  assert.ok(r.needsReset > 0, 'no iteration broke the queue');
});

it('fuzz: virtio-blk survives random hostile queues (fixed seed)', () => {
  const devices: VirtioBlock[] = [];
  const r = fuzzVirtioDevice({
    seed: 0x5eed_0002,
    iterations: ITERATIONS,
    make: (rand) => {
      const d = new VirtioBlock(new MemoryBlockBackend(64 * 512), {
        cacheType: rand() & 1 ? 'Writeback' : 'Unsafe',
        readOnly: (rand() & 7) === 0,
      });
      devices.push(d);
      return d;
    },
  });
  assert.deepEqual(r.violations, []);
  assert.ok(r.used > ITERATIONS, `only ${r.used} used elements`);
  assert.ok(r.usedEmpty > 0 && r.usedEmpty < r.used);
  // Some requests must have gone all the way to the disk, or the run only tested the parser.
  const total = (k: 'readCount' | 'writeCount' | 'invalidReqsCount') => devices.reduce((a, d) => a + d.metrics[k], 0);
  assert.ok(total('readCount') > 10 && total('writeCount') > 10 && total('invalidReqsCount') > 10);
});

it('xorshift32 is deterministic for a seed', () => {
  const a = xorshift32(42);
  const b = xorshift32(42);
  for (let i = 0; i < 10; i++) assert.equal(a(), b());
});
