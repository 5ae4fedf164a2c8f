/**
 * executeFp, and the softfloat slow path on its own, against the host FPU (<fenv.h> via gcc): see
 * fenv-conformance.ts. WISP_FPU_CASES=<multiplier> and WISP_FPU_SEED=<n> make longer or different runs;
 * fpu-soak.ts loops over seeds.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runFenvConformance } from './fenv-conformance.js';

const SCALE = Number(process.env.WISP_FPU_CASES ?? '1');
const SEED = Number(process.env.WISP_FPU_SEED ?? 0x5eedf00d);

describe('executeFp against the host FPU (<fenv.h>)', () => {
  const run = runFenvConformance(SEED, Math.max(1, Math.round(350 * SCALE)));

  it(`matches results and fflags on ${run.cases} cases (${run.instructions} instructions x 4 modes, static and dynamic rm)`, () => {
    assert.deepEqual(run.hartFailures.slice(0, 25), [], `${run.hartFailures.length} mismatches`);
  });

  it('softfloat (the exact slow path) matches on its own, including cases the fast paths take', () => {
    assert.deepEqual(run.softFailures.slice(0, 25), [], `${run.softFailures.length} mismatches`);
  });

  it('exercised the interesting regions (the generator is not degenerate)', () => {
    for (const need of ['saturated', 'bin:UF', 'bin:OF', 'bin:DZ', 'bin:NV', 'fma:UF', 'fma:OF', 'sqrt:NV', 'f2f:UF', 'f2f:OF', 'i2f:NX', 'f2i:NX']) {
      assert.ok(run.seen.has(need), `no case produced ${need}`);
    }
  });
});
