/**
 * Issue "SMP", end to end through the real CLI (`node bin/wisp.js run --cpus N`): Debian's kernel on
 * 2, 4 and 8 harts (more than this host's cores), each hart on a thread of its own; the kernel and
 * userland count them alike; CPU-bound processes run side by side on several harts and give the
 * host's answers; and a storm of forks, execs and pipes between processes on different harts runs
 * clean. A network device's interrupts, raised from the machine thread's event loop, reach a hart
 * other than the boot hart. A longer storm is scripts/smp-soak.mjs.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { DefaultGuest } from '../../src/guest/fetch.js';
import { consoleLines, describeResult, ensureGuest, minimalInitramfs, runWisp } from '../helpers/guest-fixtures.js';
import { checkStorm, GUEST_SETUP, KERNEL_COMPLAINTS, stormScript, STORM_KERNEL_ARGS } from '../helpers/smp-storm.js';

/** A boot on a loaded host with more harts than cores is slow; one that has not ended by then is hung. */
const BOOT_TIMEOUT_MS = 600_000;

let work = '';
let guest: DefaultGuest;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'wisp-run-smp-'));
  guest = await ensureGuest();
});
after(() => rmSync(work, { recursive: true, force: true }));

async function boot(cpus: number, name: string, script: string, mem = 256) {
  const initrd = join(work, `${name}.cpio.gz`);
  writeFileSync(initrd, minimalInitramfs(guest, `${GUEST_SETUP}\n${script}\npoweroff -f`));
  const r = await runWisp(['run', '--cpus', String(cpus), '--kernel', guest.kernelPath, '--initrd', initrd, '--mem', String(mem), '--append', STORM_KERNEL_ARGS],
    { timeoutMs: BOOT_TIMEOUT_MS });
  assert.equal(r.timedOut, false, describeResult(r));
  assert.equal(r.code, 0, describeResult(r));
  assert.doesNotMatch(r.stdout, /Kernel panic|Oops|BUG:|WARNING:|Unable to handle/, describeResult(r));
  return consoleLines(r.stdout);
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

test('a storm of forks, execs and pipes between processes on 4 harts runs clean', { timeout: BOOT_TIMEOUT_MS + 30_000 }, async () => {
  const workers = 4, rounds = 60;
  const lines = await boot(4, 'storm', `${stormScript(workers, rounds)}\n${KERNEL_COMPLAINTS}`);
  checkStorm(lines, workers, rounds);
  assert.ok(lines.includes('KERNEL-COMPLAINTS 0'), lines.filter((l) => /KERNEL-COMPLAINTS/.test(l)).join('\n'));
});


test('virtio-net interrupts reach hart 1 when the guest routes them there (--cpus 2 --net user: DHCP, a byte-exact download)', { timeout: BOOT_TIMEOUT_MS + 30_000 }, async (t) => {
  try {
    execFileSync('passt', ['--version'], { stdio: 'ignore' });
  } catch {
    t.skip('passt is not installed (Debian package passt; scripts/setup.sh installs it)');
    return;
  }
  const blob = randomBytes(2 * 1024 * 1024);
  const want = createHash('sha256').update(blob).digest('hex');
  const server = createHttpServer((req, res) => {
    if (req.url !== '/blob') { res.writeHead(404).end(); return; }
    res.writeHead(200, { 'content-length': blob.length }).end(blob);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  try {
    const script = join(work, 'net.sh');
    // The net device's IRQ goes to CPU 1 only; its count there must grow while the download runs.
    writeFileSync(script, [
      'GW=$(ip route | awk \'/^default/ {print $3}\')',
      'DEV=$(basename $(readlink /sys/class/net/eth0/device))',
      'N=$(awk -v d="$DEV" \'$NF == d {sub(":","",$1); print $1}\' /proc/interrupts)',
      'echo 2 > /proc/irq/$N/smp_affinity',
      'echo "AFFINITY $(cat /proc/irq/$N/smp_affinity)"',
      'before=$(awk -v n="$N:" \'$1 == n {print $3}\' /proc/interrupts)',
      `wget -q -O /tmp/blob "http://$GW:${port}/blob"`,
      'echo "DOWNLOAD $? $(sha256sum /tmp/blob | cut -d" " -f1)"',
      'after=$(awk -v n="$N:" \'$1 == n {print $3}\' /proc/interrupts)',
      'echo "CPU1-IRQS $DEV $((after - before))"',
    ].join('\n'));
    const r = await runWisp(['run', '--cpus', '2', '--net', 'user', '--script', script], { timeoutMs: BOOT_TIMEOUT_MS });
    assert.equal(r.timedOut, false, describeResult(r));
    assert.equal(r.code, 0, describeResult(r));
    const lines = consoleLines(r.stdout);
    assert.ok(lines.some((l) => /^wisp-init: eth0 \d+\.\d+\.\d+\.\d+\/\d+ by DHCP$/.test(l)), describeResult(r));
    assert.ok(lines.includes('AFFINITY 2'), describeResult(r));
    assert.ok(lines.includes(`DOWNLOAD 0 ${want}`), describeResult(r));
    const irqs = lines.find((l) => l.startsWith('CPU1-IRQS '))?.split(' ');
    assert.ok(irqs && Number(irqs[2]) > 0, `the net device interrupted CPU 1 during the download: ${irqs?.join(' ')}`);
  } finally {
    await new Promise((r) => server.close(r));
  }
});
