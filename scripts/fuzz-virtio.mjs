#!/usr/bin/env node
// Long randomized run of the virtio queue fuzzer (src/devices/virtio/queue-fuzz.ts) against virtio-rng
// and virtio-blk, over many seeds. CI runs a fixed seed for a few hundred iterations; this runs for as
// long as you like. A violation prints the seed and iteration that reproduce it, and exits 1.
//
//   npm run build && node scripts/fuzz-virtio.mjs [--seconds 60] [--seed 1234] [--iterations 500]
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '60' },
    seed: { type: 'string' },
    iterations: { type: 'string', default: '500' },
  },
});
const dist = new URL('../dist/src/devices/virtio/', import.meta.url);
let mod;
try {
  mod = {
    ...(await import(new URL('queue-fuzz.js', dist))),
    ...(await import(new URL('rng/rng.js', dist))),
    ...(await import(new URL('block/block.js', dist))),
    ...(await import(new URL('block/memory-block-backend.js', dist))),
  };
} catch (e) {
  console.error(`Cannot load the compiled fuzzer from dist/: run "npm run build" first (${e.message})`);
  process.exit(2);
}
const { fuzzVirtioDevice, VirtioRng, VirtioBlock, MemoryBlockBackend } = mod;

const devices = {
  rng: (rand) => new VirtioRng({ fill: (d) => d.forEach((_, i) => (d[i] = rand() & 0xff)) }),
  blk: (rand) =>
    new VirtioBlock(new MemoryBlockBackend(64 * 512), {
      cacheType: rand() & 1 ? 'Writeback' : 'Unsafe',
      readOnly: (rand() & 7) === 0,
    }),
};
const iterations = Number(values.iterations);
const deadline = Date.now() + Number(values.seconds) * 1000;
let seed = values.seed !== undefined ? Number(values.seed) : (Date.now() & 0x7fff_ffff);
let runs = 0;
let used = 0;
do {
  for (const [name, make] of Object.entries(devices)) {
    const r = fuzzVirtioDevice({ seed, iterations, make });
    runs += r.iterations;
    used += r.used;
    if (r.violations.length) {
      console.error(`virtio-${name}: ${r.violations.length} violation(s); replay with --seed ${seed} --iterations ${iterations}`);
      for (const v of r.violations.slice(0, 20)) console.error(`  ${v}`);
      process.exit(1);
    }
  }
  seed = (seed + 1) >>> 0;
} while (values.seed === undefined && Date.now() < deadline);
console.log(`fuzz-virtio: ${runs} iterations, ${used} used elements, no violations (last seed ${seed - 1})`);
