// Interpreter speed on a fixed CPU-bound bare-metal workload (bench/bare/mix.c), side by side with
// QEMU's TCG on the same ELF. The workload's checksum is computed natively on the host first and
// compiled in, so a wrong result fails the run instead of producing a fast wrong number.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROUNDS = 400;
const REPEAT = 3;

function build(root, rounds) {
  const dir = join(root, 'build/bench');
  mkdirSync(dir, { recursive: true });
  const src = join(root, 'bench/bare');
  const host = join(dir, `mix-host-${rounds}`);
  execFileSync('gcc', ['-O2', '-DHOST', `-DROUNDS=${rounds}`, join(src, 'mix.c'), '-o', host]);
  const expected = execFileSync(host).toString().trim();
  const elf = join(dir, `mix-${rounds}.elf`);
  execFileSync('riscv64-unknown-elf-gcc', ['-O2', '-march=rv64gc', '-mabi=lp64d', '-mcmodel=medany', '-nostdlib',
    '-nostartfiles', '-ffreestanding', '-T', join(src, 'link.ld'), `-DROUNDS=${rounds}`, `-DEXPECTED=${expected}ull`,
    join(src, 'start.S'), join(src, 'mix.c'), '-o', elf]);
  return elf;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function qemuSeconds(elf) {
  const t = performance.now();
  const r = spawnSync('qemu-system-riscv64', ['-M', 'virt', '-m', '64', '-bios', 'none', '-nographic', '-kernel', elf], { timeout: 60_000 });
  if (r.status !== 0) throw new Error(`qemu failed on ${elf}: status ${r.status} ${r.stderr}`);
  return (performance.now() - t) / 1000;
}

export async function benchInterpreter(root) {
  const elf = build(root, ROUNDS);
  const empty = build(root, 0);
  const { BareMachine } = await import(join(root, 'dist/src/platform/bare-machine.js'));
  const bytes = readFileSync(elf);
  let instructions = 0;
  const seconds = {};
  for (const engine of ['interpreter', 'jit']) {
    const runs = [];
    for (let i = 0; i < REPEAT + 1; i++) {
      const m = new BareMachine(bytes, elf, { memMiB: 64, maxInstructions: 1e11, engine });
      const t = performance.now();
      const r = m.run();
      const s = (performance.now() - t) / 1000;
      if (r.kind !== 'pass') throw new Error(`workload did not pass on wisp (${engine}): ${JSON.stringify(r)}`);
      instructions = r.instructions;
      if (i > 0) runs.push(s); // the first run warms up V8 (and, for the JIT, translates)
    }
    seconds[engine] = median(runs);
  }
  const wisp = seconds.jit;
  const result = {
    workload: 'bench/bare/mix.c', instructions,
    interpreterSeconds: seconds.interpreter, interpreterMips: instructions / seconds.interpreter / 1e6,
    jitSeconds: seconds.jit, jitMips: instructions / seconds.jit / 1e6,
  };
  try {
    // QEMU's TCG is fast enough that the same ELF is lost in its start-up time: run ten times the rounds
    // there, subtract the start-up of an empty run, and scale (each round executes the same code).
    const big = build(root, ROUNDS * 10);
    const startup = median([qemuSeconds(empty), qemuSeconds(empty), qemuSeconds(empty)]);
    const qemu = (median([qemuSeconds(big), qemuSeconds(big), qemuSeconds(big)]) - startup) / 10;
    Object.assign(result, { qemuSecondsPerSameWork: qemu, qemuMips: instructions / qemu / 1e6, ratioInterpreterToQemuSpeed: qemu / seconds.interpreter, ratioJitToQemuSpeed: qemu / wisp });
  } catch (e) {
    result.qemu = `not measured: ${e.message}`;
  }
  return result;
}
