/**
 * The ISA suite on wisp: every test/isa/src/*.S program, assembled by build.ts, run through `wisp bare`
 * as a subprocess with the engine named by WISP_ENGINE (default: the interpreter), so a second engine
 * runs the very same programs. Each must exit 0; a failure names the case and its source line.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join, relative } from 'node:path';
import { before, describe, test } from 'node:test';
import { buildIsaPrograms } from './build.js';
import { describeFailure, listIsaPrograms, repoRoot } from './isa-programs.js';

// Both engines by default; the JIT translates every block on first sight (threshold 0), so the suite
// exercises the translator rather than the interpreter it falls back to.
// "differential" runs both engines in lock-step and fails at the first difference in state; a
// multi-hart program (smp-*) runs in the deterministic mode instead (every hart on one thread in turn).
// "smp" runs the one-hart programs on a machine of two harts (hart 1 sleeps): what several harts
// change in the engines (atomics, SC by compare-and-swap, 8-byte accesses in one move) meets every case.
const engines = process.env.WISP_ENGINE ? [process.env.WISP_ENGINE] : ['interpreter', 'jit', 'differential', 'smp'];
// Generous for the slowest program (a few hundred thousand instructions); a runaway loop ends here.
const MAX_INSTRUCTIONS = 20_000_000;
/** The multi-hart programs: millions of increments per hart, and spin loops while harts wait for each other. */
const MAX_INSTRUCTIONS_SMP = 4_000_000_000;
// Hart threads share this loaded machine with others: a hart spinning for another that the host has
// not scheduled burns its whole time slice.
const TIMEOUT_MS = 180_000;

const root = repoRoot();
const wisp = join(root, 'bin', 'wisp.js');

interface RunResult {
  code: number | null;
  signal: string | null;
  output: string;
}

function runWisp(engine: string, elf: string, harts: number): Promise<RunResult> {
  let mode: string[];
  if (engine === 'differential') mode = harts > 1 ? ['--deterministic', '--engine', 'jit'] : ['--differential'];
  else if (engine === 'smp') mode = ['--engine', 'jit', '--harts', String(Math.max(2, harts))];
  else mode = ['--engine', engine];
  if (harts > 1 && engine !== 'smp') mode.push('--harts', String(harts));
  const args = [wisp, 'bare', ...mode, '--max-instructions', String(harts > 1 ? MAX_INSTRUCTIONS_SMP : MAX_INSTRUCTIONS), elf];
  const env = { ...process.env, WISP_JIT_THRESHOLD: process.env.WISP_JIT_THRESHOLD ?? '0' };
  return new Promise((done) => {
    execFile(process.execPath, args, { cwd: root, env, timeout: TIMEOUT_MS, maxBuffer: 4 << 20 }, (err, stdout, stderr) => {
      const e = err as (Error & { code?: number | string; signal?: string }) | null;
      done({
        code: e ? (typeof e.code === 'number' ? e.code : null) : 0,
        signal: e?.signal ?? null,
        output: `${stdout}${stderr}`,
      });
    });
  });
}

for (const engine of engines) describe(`ISA suite on wisp bare (${engine})`, { concurrency: 2 }, () => {
  before(async () => {
    await buildIsaPrograms();
  });
  for (const p of listIsaPrograms()) {
    if (engine === 'smp' && p.harts > 1) continue; // the multi-hart programs run on several harts under every engine
    test(p.name, async () => {
      const r = await runWisp(engine, p.elf, p.harts);
      const tail = r.output.trimEnd().split('\n').slice(-15).join('\n');
      const what = describeFailure(r.output) ?? (r.code !== null && r.code > 0 ? `case ${r.code} failed` : 'no verdict');
      assert.equal(
        r.code,
        0,
        `${relative(root, p.source)} on wisp: exit ${r.code ?? r.signal ?? 'timeout'} (${what}).\n--- last output ---\n${tail}`,
      );
    });
  }
});
