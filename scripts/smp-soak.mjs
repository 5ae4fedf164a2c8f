#!/usr/bin/env node
// The SMP storm for minutes (the CI-sized one is test/integration/run-smp.test.ts): Debian's kernel on
// N harts runs round after round of the storm (worker shells forking and exec'ing pipelines and short
// shells, a long pipe between three processes), each round's sums checked against what the host
// expects, until the time is up; any kernel complaint on the console (BUG, Oops, WARNING, a stall)
// fails it. Needs a built tree (npm run build).
//
//   node scripts/smp-soak.mjs [--cpus 4] [--minutes 10] [--workers 4] [--rounds 100]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = fileURLToPath(new URL('..', import.meta.url));
const { values: v } = parseArgs({ options: { cpus: { type: 'string' }, minutes: { type: 'string' }, workers: { type: 'string' }, rounds: { type: 'string' } } });
const cpus = Number(v.cpus ?? 4), minutes = Number(v.minutes ?? 10), workers = Number(v.workers ?? 4), rounds = Number(v.rounds ?? 100);

const { ensureGuest, minimalInitramfs } = await import(join(root, 'dist/test/helpers/guest-fixtures.js'));
const { stormScript, stormSum, pipeSha256, GUEST_SETUP, STORM_KERNEL_ARGS } = await import(join(root, 'dist/test/helpers/smp-storm.js'));
const guest = await ensureGuest();
const work = mkdtempSync(join(tmpdir(), 'wisp-smp-soak-'));
const initrd = join(work, 'soak.cpio.gz');
writeFileSync(initrd, minimalInitramfs(guest, [
  GUEST_SETUP,
  'r=0',
  'while true; do',
  '  r=$((r + 1))',
  stormScript(workers, rounds),
  '  echo "SOAK-ROUND $r"',
  'done',
].join('\n')));

const want = stormSum(rounds);
const pipe = pipeSha256();
const started = performance.now();
const child = spawn(process.execPath, [join(root, 'bin/wisp.js'), 'run', '--cpus', String(cpus), '--kernel', guest.kernelPath, '--initrd', initrd,
  '--mem', '512', '--append', STORM_KERNEL_ARGS], { stdio: ['ignore', 'pipe', 'inherit'] });
let buf = '';
let round = { storms: new Set(), pipe: false };
let done = 0;
let failure;
const fail = (why) => { failure ??= why; child.kill('SIGTERM'); };
child.stdout.setEncoding('latin1');
child.stdout.on('data', (s) => {
  buf += s;
  let i;
  while ((i = buf.indexOf('\n')) >= 0) {
    const line = buf.slice(0, i).replace(/\r/g, '');
    buf = buf.slice(i + 1);
    if (/Kernel panic|Oops|BUG:|WARNING:|Unable to handle|rcu_sched detected stall|soft lockup/.test(line)) fail(`the kernel complained: ${line}`);
    const m = /^STORM (\d+) (\d+)$/.exec(line);
    if (m) {
      if (Number(m[2]) !== want) fail(`round ${done + 1}: worker ${m[1]} printed ${m[2]}, not ${want}`);
      round.storms.add(m[1]);
    }
    if (line.startsWith('PIPE ')) {
      if (line !== `PIPE ${pipe}`) fail(`round ${done + 1}: the long pipe's bytes arrived changed (${line})`);
      round.pipe = true;
    }
    const r = /^SOAK-ROUND (\d+)$/.exec(line);
    if (r) {
      if (round.storms.size !== workers || !round.pipe) fail(`round ${r[1]}: ${round.storms.size} of ${workers} workers and ${round.pipe ? 'the' : 'no'} pipe reported`);
      done = Number(r[1]);
      process.stderr.write(`smp-soak: round ${done} clean after ${((performance.now() - started) / 60000).toFixed(1)} min\n`);
      round = { storms: new Set(), pipe: false };
      if (performance.now() - started > minutes * 60_000) child.kill('SIGTERM');
    }
  }
});
const code = await new Promise((r) => child.on('close', r));
rmSync(work, { recursive: true, force: true });
if (failure) {
  process.stderr.write(`smp-soak: FAILED after ${done} clean rounds: ${failure}\n`);
  process.exit(1);
}
if (done === 0) {
  process.stderr.write(`smp-soak: FAILED: wisp ended (status ${code}) before a round finished\n`);
  process.exit(1);
}
process.stderr.write(`smp-soak: ${done} rounds of ${workers} workers x ${rounds} on ${cpus} harts, clean, in ${((performance.now() - started) / 60000).toFixed(1)} min\n`);
