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
// "differential" runs both engines in lock-step and fails at the first difference in state.
const engines = process.env.WISP_ENGINE ? [process.env.WISP_ENGINE] : ['interpreter', 'jit', 'differential'];
// Generous for the slowest program (a few hundred thousand instructions); a runaway loop ends here.
const MAX_INSTRUCTIONS = 20_000_000;
const TIMEOUT_MS = 30_000;

const root = repoRoot();
const wisp = join(root, 'bin', 'wisp.js');

interface RunResult {
  code: number | null;
  signal: string | null;
  output: string;
}

function runWisp(engine: string, elf: string): Promise<RunResult> {
  const mode = engine === 'differential' ? ['--differential'] : ['--engine', engine];
  const args = [wisp, 'bare', ...mode, '--max-instructions', String(MAX_INSTRUCTIONS), elf];
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
    test(p.name, async () => {
      const r = await runWisp(engine, p.elf);
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
