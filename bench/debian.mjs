// The Debian differential suite as a benchmark (test/debian-suite): every program's guest time on wisp
// (the JIT) beside QEMU's (virt + OpenSBI, TCG), same kernel, initramfs and disk, each side run
// `rounds` times in alternation so a change in the machine's load hits both; medians. The guest time
// is what coreutils `date +%s%N` in the guest measures around the program (both guests' clocks follow
// the host's). Outputs are checked equal, as in the test.
//
// MIPS: each program's guest instructions are counted once in wisp (the hart's instret between the
// program's markers; the same user code runs on both, plus the kernel's share) and divided by each
// side's time: `c-fp` (a numeric kernel in C: n-body, Mandelbrot, single-precision Horner, conversions)
// is the FP micro-benchmark, `c-int` (sieve, merge sort, CRC-32, 64-bit mul/div) the integer one.
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Guest instructions per program, from one in-process wisp run of the suite (markers on the console). */
async function countInstructions(root, img, memMiB) {
  const { Machine } = await import(join(root, 'dist/src/platform/machine.js'));
  const { attachBlock } = await import(join(root, 'dist/src/vmm/virtio-attach.js'));
  const blk = attachBlock({ id: 'vda', path: img.disk, readOnly: true });
  const at = {};
  let line = '';
  let m;
  try {
    m = new Machine({
      engine: 'jit', memMiB, kernel: readFileSync(img.kernel), kernelName: img.kernel, initrd: readFileSync(img.initrd),
      cmdline: 'console=ttyS0 panic=-1 quiet', virtio: [blk.factory],
      consoleOut: (b) => {
        for (const c of Buffer.from(b).toString('latin1')) {
          if (c === '\n') { if (line.startsWith('SUITE-')) at[line] = m.hart.instret; line = ''; } else if (c !== '\r') line += c;
        }
      },
    });
    const exit = await m.run();
    if (exit.kind !== 'poweroff') throw new Error(`wisp (counting run) ended with ${exit.kind}`);
  } finally {
    blk.backend.close();
  }
  const out = {};
  for (const p of img.programs) out[p.name] = at[`SUITE-END ${p.name}`] - at[`SUITE-BEGIN ${p.name}`];
  return out;
}

export async function benchDebian(root, { rounds = Number(process.env.WISP_BENCH_ROUNDS ?? 3) } = {}) {
  const { ensureGuest } = await import(join(root, 'dist/test/helpers/guest-fixtures.js'));
  const { buildSuiteImage, runSuite, SUITE_MEM_MIB } = await import(join(root, 'dist/test/debian-suite/suite.js'));
  mkdirSync(join(root, 'build/bench'), { recursive: true });
  const dir = mkdtempSync(join(root, 'build/bench/debian-'));
  try {
    const only = process.env.WISP_SUITE_ONLY ? process.env.WISP_SUITE_ONLY.split(',') : undefined;
    const img = await buildSuiteImage(await ensureGuest(), dir, only);
    const runs = { wisp: [], qemu: [] };
    for (let i = 0; i < rounds; i++) {
      for (const side of ['wisp', 'qemu']) {
        process.stderr.write(`bench debian: round ${i + 1}/${rounds}, ${side}…\n`);
        runs[side].push(await runSuite(side, img, { timeoutMs: 30 * 60_000 }));
      }
    }
    process.stderr.write('bench debian: counting instructions…\n');
    const insns = await countInstructions(root, img, SUITE_MEM_MIB);
    const programs = {};
    let sumW = 0, sumQ = 0, worst = { name: '', ratio: 0 };
    for (const p of img.programs) {
      const outs = new Set([...runs.wisp, ...runs.qemu].map((r) => JSON.stringify([r.results.get(p.name).status, r.results.get(p.name).out])));
      if (outs.size !== 1) throw new Error(`${p.name}: the outputs differ between runs or sides:\n${[...outs].join('\n')}`);
      const w = median(runs.wisp.map((r) => r.results.get(p.name).seconds));
      const q = median(runs.qemu.map((r) => r.results.get(p.name).seconds));
      sumW += w; sumQ += q;
      const ratio = w / q;
      if (ratio > worst.ratio) worst = { name: p.name, ratio };
      programs[p.name] = {
        kind: p.kind, wispSeconds: w, qemuSeconds: q, ratioWispToQemu: ratio, instructions: insns[p.name],
        wispMips: insns[p.name] / w / 1e6, qemuMips: insns[p.name] / q / 1e6,
        wispRuns: runs.wisp.map((r) => r.results.get(p.name).seconds), qemuRuns: runs.qemu.map((r) => r.results.get(p.name).seconds),
      };
    }
    const mipsRatio = (n) => programs[n] && { wispMips: programs[n].wispMips, qemuMips: programs[n].qemuMips, ratio: programs[n].wispMips / programs[n].qemuMips };
    const table = Object.entries(programs).map(([n, r]) =>
      `${n.padEnd(10)} wisp ${r.wispSeconds.toFixed(2).padStart(6)} s  qemu ${r.qemuSeconds.toFixed(2).padStart(6)} s  ratio ${r.ratioWispToQemu.toFixed(2).padStart(5)}  ${(r.instructions / 1e6).toFixed(0).padStart(6)}M insns  ${r.wispMips.toFixed(0).padStart(5)} / ${r.qemuMips.toFixed(0).padStart(5)} MIPS`);
    process.stderr.write(`${table.join('\n')}\nsum: wisp ${sumW.toFixed(2)} s, qemu ${sumQ.toFixed(2)} s, ratio ${(sumW / sumQ).toFixed(2)}; worst ${worst.name} ${worst.ratio.toFixed(2)}\n`);
    return {
      rounds, memMiB: SUITE_MEM_MIB, programs,
      summedSeconds: { wisp: sumW, qemu: sumQ, ratioWispToQemu: sumW / sumQ },
      worstProgram: worst,
      fpMicro: mipsRatio('c-fp'), intMicro: mipsRatio('c-int'),
      wallSecondsPerRun: { wisp: median(runs.wisp.map((r) => r.wallSeconds)), qemu: median(runs.qemu.map((r) => r.wallSeconds)) },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
