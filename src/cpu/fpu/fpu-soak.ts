/**
 * Long randomized conformance run against the host FPU (not part of npm test):
 *   npx tsx src/cpu/fpu/fpu-soak.ts [rounds=20] [casesPerModePerInstruction=2000] [firstSeed=1]
 * Each round uses a fresh seed; stops at the first round with mismatches and prints them.
 */
import { runFenvConformance } from './fenv-conformance.js';

const rounds = Number(process.argv[2] ?? 20);
const perMode = Number(process.argv[3] ?? 2000);
const first = Number(process.argv[4] ?? 1);
let total = 0;
for (let r = 0; r < rounds; r++) {
  const seed = first + r;
  const run = runFenvConformance(seed, perMode);
  total += run.cases;
  const bad = [...run.hartFailures, ...run.softFailures];
  console.log(`seed ${seed}: ${run.cases} cases, ${run.hartFailures.length} hart / ${run.softFailures.length} softfloat mismatches (total ${total})`);
  if (bad.length) {
    for (const line of bad.slice(0, 30)) console.log('  ' + line);
    process.exit(1);
  }
}
