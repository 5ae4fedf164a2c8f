/**
 * Assembles every test/isa/src/*.S (with env/crt.S and env/link.ld) into build/isa/NAME.elf using Debian's
 * riscv64-unknown-elf-gcc. A program is rebuilt only when its inputs changed: a hash of the source, the
 * env files and the command line sits beside each ELF. Writes go to a temporary file and are renamed, so
 * two test files building at once never see half an ELF.
 *
 * As a script: `npx tsx test/isa/build.ts` (or `node dist/test/isa/build.js`).
 */
import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { isaBuildDir, isaDir, listIsaPrograms, mapLimit, type IsaProgram } from './isa-programs.js';

const run = promisify(execFile);

export const CC = 'riscv64-unknown-elf-gcc';
const FLAGS = [
  '-march=rv64gc_zicsr_zifencei',
  '-mabi=lp64d',
  '-mcmodel=medany',
  '-static',
  '-nostdlib',
  '-nostartfiles',
  // No linker relaxation: tests use gp as the case register and some count exact instruction bytes.
  '-Wl,--no-relax',
  '-Wl,--no-warn-rwx-segments',
];

export interface BuildResult {
  program: IsaProgram;
  rebuilt: boolean;
}

/** Fails with a clear message when the cross compiler is missing. */
export function checkCompiler(): void {
  const r = spawnSync(CC, ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    throw new Error(
      `Cannot build the ISA tests: ${CC} is not installed or does not run ` +
        `(${r.error?.message ?? r.stderr.trim()}). Install Debian's gcc-riscv64-unknown-elf (scripts/setup.sh does).`,
    );
  }
}

function envInputs(): string[] {
  const env = join(isaDir(), 'env');
  return readdirSync(env).sort().map((f) => join(env, f));
}

function inputsHash(program: IsaProgram, args: string[]): string {
  const h = createHash('sha256');
  h.update(args.join('\0'));
  for (const f of [program.source, ...envInputs()]) h.update(f).update('\0').update(readFileSync(f));
  return h.digest('hex');
}

async function buildOne(program: IsaProgram): Promise<BuildResult> {
  const env = join(isaDir(), 'env');
  const args = [...FLAGS, '-T', join(env, 'link.ld'), '-I', env, program.source, join(env, 'crt.S')];
  const hash = inputsHash(program, args);
  const stamp = `${program.elf}.hash`;
  if (existsSync(program.elf) && existsSync(stamp) && readFileSync(stamp, 'utf8') === hash) {
    return { program, rebuilt: false };
  }
  const tmp = `${program.elf}.${process.pid}.tmp`;
  try {
    await run(CC, [...args, '-o', tmp], { encoding: 'utf8' });
  } catch (e) {
    rmSync(tmp, { force: true });
    const err = e as { stderr?: string; message: string };
    throw new Error(`Cannot assemble ${program.name}.S:\n${err.stderr || err.message}`);
  }
  renameSync(tmp, program.elf);
  writeFileSync(`${stamp}.${process.pid}.tmp`, hash);
  renameSync(`${stamp}.${process.pid}.tmp`, stamp);
  return { program, rebuilt: true };
}

/** Builds every program (2 compilers at a time); throws on the first that does not assemble. */
export async function buildIsaPrograms(): Promise<BuildResult[]> {
  checkCompiler();
  mkdirSync(resolve(isaBuildDir()), { recursive: true });
  return mapLimit(listIsaPrograms(), 2, buildOne);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  buildIsaPrograms().then(
    (results) => {
      for (const r of results) console.log(`${r.rebuilt ? 'built ' : 'fresh '} ${r.program.elf}`);
    },
    (e: unknown) => {
      console.error(e instanceof Error ? e.message : String(e));
      process.exitCode = 1;
    },
  );
}
