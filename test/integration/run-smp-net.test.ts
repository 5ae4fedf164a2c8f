/**
 * Issue "SMP" with a device that raises its interrupt from the machine thread's event loop (host data
 * arriving for virtio-net), through the real CLI: `wisp run --cpus 2 --net user` with the default guest
 * gets its address by DHCP; the guest routes the net device's IRQ to CPU 1 only, downloads a file from
 * an HTTP server this test runs on the host's loopback (byte-exact), and CPU 1's count of that IRQ grows:
 * the interrupt reached the hart thread it was meant for. All traffic stays on this machine's loopback.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { consoleLines, describeResult, ensureGuest, runWisp } from '../helpers/guest-fixtures.js';
import { SMP_BOOT_TIMEOUT_MS as BOOT_TIMEOUT_MS } from '../helpers/smp-storm.js';

let work = '';

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'wisp-run-smp-net-'));
  await ensureGuest();
});
after(() => rmSync(work, { recursive: true, force: true }));

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
