/**
 * Issue "SMP", end to end through the real CLI (`node bin/wisp.js run --cpus N`): Debian's kernel on
 * 2, 4 and 8 harts (more than this host's cores), each hart on a thread of its own; the kernel and
 * userland count them alike; CPU-bound processes run side by side on several harts and give the
 * host's answers. The storm of forks, execs and pipes is run-smp-storm.test.ts, the network device's
 * interrupts on another hart run-smp-net.test.ts (separate files: each file has 10 minutes in the runner).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { DefaultGuest } from '../../src/guest/fetch.js';
import { ensureGuest } from '../helpers/guest-fixtures.js';
import { bootOnHarts, SMP_BOOT_TIMEOUT_MS as BOOT_TIMEOUT_MS } from '../helpers/smp-storm.js';

let work = '';
let guest: DefaultGuest;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'wisp-run-smp-'));
  guest = await ensureGuest();
});
after(() => rmSync(work, { recursive: true, force: true }));

function boot(cpus: number, name: string, script: string): Promise<string[]> {
  return bootOnHarts(work, guest, cpus, name, script);
}

for (const cpus of [2, 4, 8]) {
  test(`Debian boots on ${cpus} harts: nproc, /proc/cpuinfo and the kernel agree`, { timeout: BOOT_TIMEOUT_MS + 30_000 }, async () => {
    const lines = await boot(cpus, `count${cpus}`, [
      'echo "NPROC $(nproc)"',
      'echo "CPUINFO $(grep -c ^processor /proc/cpuinfo)"',
      'echo "HARTS $(sed -n "s/^hart[[:space:]]*: //p" /proc/cpuinfo | tr "\\n" " ")"',
    ].join('\n'));
    assert.ok(lines.includes(`NPROC ${cpus}`), lines.slice(-30).join('\n'));
    assert.ok(lines.includes(`CPUINFO ${cpus}`), lines.slice(-30).join('\n'));
    const harts = Array.from({ length: cpus }, (_, i) => i).join(' ');
    // (a kernel message may land on the same console line, after the ids)
    assert.ok(lines.some((l) => l.replace(/\s*\[\s*[\d.]+\].*$/, '').trimEnd() === `HARTS ${harts}`), `every hart id in /proc/cpuinfo\n${lines.slice(-30).join('\n')}`);
    assert.ok(lines.some((l) => l.includes(`smp: Brought up 1 node, ${cpus} CPUs`)), 'the kernel brought every hart up');
  });
}

for (const cpus of [2, 4]) {
  test(`CPU-bound processes side by side on ${cpus} harts give the host's answers, and ran on every hart`, { timeout: BOOT_TIMEOUT_MS + 30_000 }, async () => {
    const busybox = readFileSync(guest.busyboxPath);
    const jobs = cpus;
    // Job i hashes busybox followed by "i\n", and round-trips it through gzip.
    const script = [
      `for i in $(seq 1 ${jobs}); do { cat /bin/busybox; echo $i; } > /tmp/d$i; done`,
      'head -1 /proc/stat > /tmp/before; grep "^cpu[0-9]" /proc/stat > /tmp/cpus-before',
      `for i in $(seq 1 ${jobs}); do (sha256sum /tmp/d$i > /tmp/s$i; gzip -c /tmp/d$i | gzip -dc | sha256sum > /tmp/g$i) & done; wait`,
      `for i in $(seq 1 ${jobs}); do echo "SHA $i $(cut -d" " -f1 /tmp/s$i) $(cut -d" " -f1 /tmp/g$i)"; done`,
      // user ticks per CPU during the jobs (field 2 of each cpuN line)
      'grep "^cpu[0-9]" /proc/stat | while read name user rest; do b=$(grep "^$name " /tmp/cpus-before | cut -d" " -f2); echo "TICKS $name $((user - b))"; done',
    ].join('\n');
    const lines = await boot(cpus, `cpu${cpus}`, script);
    for (let i = 1; i <= jobs; i++) {
      const want = createHash('sha256').update(Buffer.concat([busybox, Buffer.from(`${i}\n`)])).digest('hex');
      assert.ok(lines.includes(`SHA ${i} ${want} ${want}`), `job ${i}: sha256sum and the gzip round trip give the host's hash\n${lines.filter((l) => l.startsWith('SHA')).join('\n')}`);
    }
    const ticks = lines.filter((l) => l.startsWith('TICKS '));
    assert.equal(ticks.length, cpus, ticks.join('\n'));
    for (const t of ticks) assert.ok(Number(t.split(' ')[2]) > 0, `every hart ran user code during the jobs: ${ticks.join(', ')}`);
  });
}
