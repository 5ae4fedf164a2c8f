import { readFileSync, writeSync, openSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { BareMachine, BareLoadError } from '../../platform/bare-machine.js';
import type { Hart, TraceSink } from '../../cpu/hart.js';
import { disassemble, disassembleCompressed, X_NAMES, F_NAMES } from '../../cpu/isa/disassemble.js';
import { expandCompressed } from '../../cpu/isa/compressed.js';
import { CliError, parseNumberFlag } from '../cli-error.js';
import { ManualClock } from '../../platform/clint.js';
import { lockstep } from '../../jit/differential.js';
import type { JitHart } from '../../jit/jit-hart.js';
import { MAX_HARTS } from '../../memory/machine-memory.js';

const HELP = `Usage: wisp bare [options] PROGRAM.elf

Runs a bare-metal RISC-V program in M-mode (riscv-tests/spike convention): the program writes
1 to its \`tohost\` symbol to pass, (n << 1) | 1 to fail test n. Exit status: 0 on pass, n on
failure (at most 255), 124 when --max-instructions runs out, 1 on any other error.

Options:
  --max-instructions N   stop with an error after N instructions (default 100000000)
  --mem MiB              RAM size at 0x80000000 (default 64)
  --engine NAME          execution engine: interpreter (default) or jit (hot blocks to WebAssembly;
                         WISP_JIT_THRESHOLD sets the executions before a block is translated)
  --harts N              harts, 1-32 (default 1), all starting at the entry with a0 = mhartid;
                         each runs on a thread of its own
  --deterministic        run every hart on one thread in turn, time from the instruction count:
                         the same program gives the same run (replays a failing multi-hart test)
  --differential         run the interpreter and the JIT in lock-step (deterministic time) and stop
                         at the first difference in registers, CSRs or memory (exit 125)
  --trace                print every instruction (pc, word, disassembly, register written) to stderr
  --trace-file FILE      write the trace to FILE instead
  -h, --help             show this help
`;

export async function run(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        'max-instructions': { type: 'string' },
        mem: { type: 'string' },
        engine: { type: 'string' },
        harts: { type: 'string' },
        deterministic: { type: 'boolean' },
        trace: { type: 'boolean' },
        differential: { type: 'boolean' },
        'trace-file': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    process.stderr.write(`wisp bare: ${(e as Error).message}\n`);
    return 2;
  }
  const v = args.values;
  if (v.help) { process.stdout.write(HELP); return 0; }
  try {
    if (args.positionals.length !== 1) throw new CliError('expected exactly one PROGRAM.elf (see --help)');
    const engine = v.engine ?? 'interpreter';
    if (engine !== 'interpreter' && engine !== 'jit') throw new CliError(`unknown --engine "${engine}" (available: interpreter, jit)`);
    const maxInstructions = parseNumberFlag('--max-instructions', v['max-instructions'], 100_000_000);
    const memMiB = parseNumberFlag('--mem', v.mem, 64);
    const harts = parseNumberFlag('--harts', v.harts, 1);
    if (!Number.isInteger(harts) || harts < 1 || harts > MAX_HARTS) throw new CliError(`--harts must be 1…${MAX_HARTS}, got "${v.harts}"`);
    const file = args.positionals[0];
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(file);
    } catch (e) {
      throw new CliError(`Cannot read "${file}": ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    let traceFd = -1;
    if (v['trace-file']) traceFd = openSync(v['trace-file'], 'w');
    else if (v.trace) traceFd = 2;
    if (traceFd >= 0 && harts > 1 && !v.deterministic) throw new CliError('--trace with several harts needs --deterministic (they run on one thread then)');
    const trace = traceFd >= 0 ? (h: Hart) => traceSink(() => h, traceFd) : undefined;
    if (v.differential) {
      if (harts > 1) throw new CliError('--differential runs one hart');
      return differential(bytes, file, memMiB, maxInstructions);
    }
    const machine = new BareMachine(bytes, file, { memMiB, maxInstructions, trace, engine, harts, deterministic: v.deterministic });
    const r = await machine.runAsync();
    switch (r.kind) {
      case 'pass': return 0;
      case 'fail':
        process.stderr.write(`wisp bare: "${file}" failed test ${r.test} after ${r.instructions} instructions\n`);
        return Math.min(r.test, 255);
      case 'timeout':
        process.stderr.write(`wisp bare: "${file}" did not finish within ${maxInstructions} instructions (--max-instructions)\n`);
        return 124;
      case 'stuck':
        process.stderr.write(`wisp bare: "${file}" stopped after ${r.instructions} instructions: ${r.reason}\n`);
        return 1;
    }
  } catch (e) {
    if (e instanceof CliError || e instanceof BareLoadError || e instanceof RangeError) {
      process.stderr.write(`wisp bare: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}

/** Both engines on two copies of the machine, time derived from the instruction count. */
function differential(bytes: Uint8Array, file: string, memMiB: number, maxInstructions: number): number {
  const clock = new ManualClock();
  const quiet = () => {};
  const ref = new BareMachine(bytes, file, { memMiB, maxInstructions, engine: 'interpreter', clock, output: quiet });
  const jit = new BareMachine(bytes, file, { memMiB, maxInstructions, engine: 'jit', clock });
  let steps = 0;
  for (;;) {
    const r = lockstep(ref.hart, ref.memory.bytes, jit.hart as JitHart, jit.memory.bytes, {
      maxSteps: 100_000,
      beforeStep: (instret) => { clock.ticks = Math.floor(instret / 10); ref.clint.update(); jit.clint.update(); },
    });
    if (r.divergence) {
      const d = r.divergence;
      process.stderr.write(`wisp bare: the engines diverged after ${d.instret} instructions, in the step starting at 0x${d.pc.toString(16)}:\n  ${d.differences.join('\n  ')}\n`);
      return 125;
    }
    steps += r.steps;
    const verdict = jit.verdict();
    if (verdict || r.stop !== 0 || steps >= maxInstructions) {
      process.stderr.write(`wisp bare: interpreter and jit agreed for ${steps} steps: ${verdict?.kind ?? 'no verdict'}\n`);
      if (!verdict) return steps >= maxInstructions ? 124 : 1;
      return verdict.kind === 'pass' ? 0 : verdict.kind === 'fail' ? Math.min(verdict.test, 255) : 1;
    }
  }
}

const hex = (v: bigint) => '0x' + BigInt.asUintN(64, v).toString(16).padStart(16, '0');

/** One line per instruction, like spike's log: pc, word, disassembly, and the register it wrote. */
function traceSink(hart: () => Hart, fd: number): TraceSink {
  return {
    instruction(pc, insn, length) {
      const text = length === 2 ? disassembleCompressed(insn, pc) : disassemble(insn, pc);
      const full = length === 2 ? expandCompressed(insn) : insn;
      const word = length === 2 ? `0x${insn.toString(16).padStart(4, '0')}    ` : `0x${(insn >>> 0).toString(16).padStart(8, '0')}`;
      let wrote = '';
      const rd = (full >>> 7) & 31;
      const op = full & 0x7f;
      const f7 = full >>> 25;
      const fpToInt = op === 0x53 && (f7 === 0x50 || f7 === 0x51 || f7 === 0x60 || f7 === 0x61 || f7 === 0x70 || f7 === 0x71);
      if (op === 0x07 || ((op === 0x53 || op === 0x43 || op === 0x47 || op === 0x4b || op === 0x4f) && !fpToInt)) {
        wrote = `  ${F_NAMES[rd]}`;
      } else if (rd !== 0 && [0x03, 0x13, 0x1b, 0x33, 0x3b, 0x37, 0x17, 0x6f, 0x67, 0x2f].includes(op) || fpToInt || (op === 0x73 && ((full >>> 12) & 7) !== 0 && rd !== 0)) {
        wrote = `  ${X_NAMES[rd]}=${hex(hart().getX(rd))}`;
      }
      writeSync(fd, `core ${hart().id}: ${hex(pc)} (${word}) ${text}${wrote}\n`);
    },
  };
}
