/**
 * Issue "Networking", Firecracker's model, as root: the getting-started network set-up (a tap with the
 * host's address, 172.16.0.1/30) inside a network namespace this test creates, wisp started in it with
 * `ip netns exec` and driven with curl over its API socket (PUT /network-interfaces with host_dev_name
 * and guest_mac, boot_args with a static `ip=` for the guest), then:
 *   - the guest's eth0 has the MAC it was given, and the host's neighbour table learns it;
 *   - TCP both ways, byte-exact: the guest fetches a file from a server in the namespace, and curl in
 *     the namespace fetches a file the guest made from busybox httpd in the guest;
 *   - ping answers; the net_<id> metrics count the traffic (and the TCP segments the guest left to the
 *     host's kernel to cut: the tap carries virtio_net_hdrs); PATCH of the rate limiters works on the
 *     running interface; a second VMM cannot take the busy tap; the tap is free once wisp has gone;
 *   - with the MMDS on the interface (a filter reads the frames, so no offloads), the guest reads its
 *     metadata and fetches a file from the host, byte-exact.
 * No test traffic leaves the namespace. Skipped (with the reason) when not root or without `ip`.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { buildInitramfs, ensureDefaultGuest } from '../../src/guest/index.js';
import { checkRequest, checkResponse, loadApiSpec } from '../helpers/api-spec.js';
import { curl } from '../helpers/curl.js';
import { repoRoot, wispBin } from '../helpers/guest-fixtures.js';

const BOOT_TIMEOUT_MS = 300_000;
const NS = `wisp-net-${process.pid}`;
const HOST_IP = '172.16.0.1';
const GUEST_IP = '172.16.0.2';
const GUEST_MAC = '06:00:AC:10:00:02';
const TO_GUEST_BYTES = 3 * 1024 * 1024 + 123;
const FROM_GUEST_BYTES = 2 * 1024 * 1024 + 77;

let work = '';
let skipReason: string | undefined;

function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8' });
}
function inNs(cmd: string, args: string[], opts: { input?: string } = {}): string {
  return execFileSync('ip', ['netns', 'exec', NS, cmd, ...args], { encoding: 'latin1', input: opts.input, maxBuffer: 64 << 20 });
}

before(() => {
  if (process.getuid?.() !== 0) { skipReason = 'needs root (creates a network namespace and a tap)'; return; }
  try { ip('-V'); } catch { skipReason = 'needs the ip tool (iproute2)'; return; }
  if (!existsSync('/dev/net/tun')) { skipReason = 'needs /dev/net/tun'; return; }
  work = mkdtempSync(join(tmpdir(), 'wisp-net-tap-'));
  // Firecracker's getting-started network set-up, in a namespace of its own.
  ip('netns', 'add', NS);
  inNs('ip', ['link', 'set', 'lo', 'up']);
  inNs('ip', ['tuntap', 'add', 'dev', 'tap0', 'mode', 'tap']);
  inNs('ip', ['addr', 'add', `${HOST_IP}/30`, 'dev', 'tap0']);
  inNs('ip', ['link', 'set', 'dev', 'tap0', 'up']);
});
after(() => {
  if (skipReason) return;
  try { ip('netns', 'del', NS); } catch { /* already gone */ }
  rmSync(work, { recursive: true, force: true });
});

/** A process in the namespace, with its output collected. */
function startInNs(args: string[]): { child: ChildProcess; out: () => string; err: () => string; exited: Promise<number | null> } {
  const child = spawn('ip', ['netns', 'exec', NS, ...args], { cwd: repoRoot(), stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '', err = '';
  child.stdout!.setEncoding('latin1').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('latin1').on('data', (d: string) => (err += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  return { child, out: () => out, err: () => err, exited };
}

/** An HTTP server in the namespace, on the tap's address, that answers every request with `file`. */
function servePeer(file: string, port: number): ReturnType<typeof startInNs> {
  return startInNs([process.execPath, '-e', `
    const blob = require('fs').readFileSync(${JSON.stringify(file)});
    require('http').createServer((q, s) => { s.writeHead(200, { 'content-length': blob.length }); s.end(blob); })
      .listen(${port}, ${JSON.stringify(HOST_IP)}, () => console.log('PEER-READY'));
  `]);
}

/** The default guest's initramfs with the virtio-net modules and `script`, written to `name` in the work dir. */
async function netInitramfs(name: string, script: string): Promise<string> {
  const g = await ensureDefaultGuest({ progress: null });
  const path = join(work, name);
  writeFileSync(path, await buildInitramfs({
    busyboxPath: g.busyboxPath, modulesDir: g.modulesDir, kernelVersion: g.kernelVersion, modules: ['virtio_mmio', 'virtio_net'],
    script: Buffer.from(script),
  }));
  return path;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(what: string, probe: () => boolean | Promise<boolean>, ms: number, diag: () => string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > end) assert.fail(`timed out after ${ms / 1000} s waiting for ${what}\n${diag()}`);
    await sleep(50);
  }
}

test("Firecracker's getting-started tap network: MAC, TCP both ways byte-exact, ping, metrics, PATCH, busy tap", { timeout: BOOT_TIMEOUT_MS + 120_000 }, async (t) => {
  if (skipReason) { t.skip(skipReason); return; }
  const spec = loadApiSpec();
  const toGuest = randomBytes(TO_GUEST_BYTES);
  const toGuestSha = createHash('sha256').update(toGuest).digest('hex');
  writeFileSync(join(work, 'to-guest.bin'), toGuest);

  // The host-side peer: an HTTP server on the tap's address, inside the namespace.
  const peer = servePeer(join(work, 'to-guest.bin'), 8000);
  const g = await ensureDefaultGuest({ progress: null });
  const initrd = await netInitramfs('tap.cpio.gz', `
echo "MAC $(cat /sys/class/net/eth0/address)"
echo "ADDR $(ip -4 -o addr show dev eth0 | awk '{print $4}')"
ping -c 2 -W 5 ${HOST_IP} >/dev/null && echo "PING ok"
wget -q -O /tmp/in "http://${HOST_IP}:8000/blob"
echo "IN-SHA $(sha256sum /tmp/in | cut -d' ' -f1) $(wc -c < /tmp/in)"
mkdir -p /www
head -c ${FROM_GUEST_BYTES} /dev/urandom > /www/out
echo "OUT-SHA $(sha256sum /www/out | cut -d' ' -f1)"
httpd -p 8080 -h /www
echo "SERVING $((6 * 7))"
read line
echo "DONE $line"
`);

  const sock = join(work, 'fc.sock');
  const vmm = startInNs([process.execPath, wispBin(), '--api-sock', sock, '--id', 'net-tap']);
  const diag = () => `--- wisp stderr ---\n${vmm.err().slice(-3000)}\n--- wisp stdout (serial) ---\n${vmm.out().slice(-4000)}\n--- peer ---\n${peer.out()}${peer.err()}`;
  const api = async (method: string, path: string, body?: unknown, status = 204) => {
    const r = await curl(sock, method, path, body);
    assert.equal(r.status, status, `${method} ${path} → ${r.status} ${JSON.stringify(r.body)}\n${diag()}`);
    if (r.status < 300) assert.deepEqual(checkRequest(spec, method, path, body), []);
    assert.deepEqual(checkResponse(spec, method, path, r.status, r.body), []);
    return r.body;
  };
  try {
    await until('the peer', () => peer.out().includes('PEER-READY'), 30_000, diag);
    await until('the API socket', async () => existsSync(sock) && (await curl(sock, 'GET', '/').catch(() => ({ status: 0 }))).status === 200, 30_000, diag);
    await api('PUT', '/boot-source', {
      kernel_image_path: g.kernelPath,
      initrd_path: initrd,
      // Firecracker's guides configure the guest with the kernel's ip= parameter; wisp's initramfs reads it.
      boot_args: `console=ttyS0 reboot=k panic=1 ip=${GUEST_IP}::${HOST_IP}:255.255.255.252::eth0:off`,
    });
    await api('PUT', '/machine-config', { vcpu_count: 1, mem_size_mib: 256 });
    const metricsPath = join(work, 'metrics.json');
    writeFileSync(metricsPath, '');
    await api('PUT', '/metrics', { metrics_path: metricsPath });
    await api('PUT', '/network-interfaces/net1', { iface_id: 'net1', guest_mac: GUEST_MAC, host_dev_name: 'tap0' });
    const cfg = await api('GET', '/vm/config', undefined, 200) as { 'network-interfaces': unknown[] };
    assert.deepEqual(cfg['network-interfaces'], [{ iface_id: 'net1', guest_mac: GUEST_MAC, host_dev_name: 'tap0' }]);
    await api('PUT', '/actions', { action_type: 'InstanceStart' });

    // While it runs, the tap is this VMM's: a second one is refused with Firecracker's error.
    const sock2 = join(work, 'fc2.sock');
    const vmm2 = startInNs([process.execPath, wispBin(), '--api-sock', sock2, '--id', 'net-tap-2']);
    try {
      await until('the second API socket', async () => existsSync(sock2) && (await curl(sock2, 'GET', '/').catch(() => ({ status: 0 }))).status === 200, 30_000, diag);
      const busy = await curl(sock2, 'PUT', '/network-interfaces/net1', { iface_id: 'net1', host_dev_name: 'tap0' });
      assert.equal(busy.status, 400);
      assert.match((busy.body as { fault_message: string }).fault_message, /^Could not create the network device: Open tap device failed: Error while creating ifreq structure: Device or resource busy \(os error 16\)\. Invalid TUN\/TAP Backend provided by tap0/);
    } finally {
      vmm2.child.kill('SIGTERM');
      await vmm2.exited;
    }

    await until('the guest serving', () => /^SERVING 42\r?$/m.test(vmm.out()), BOOT_TIMEOUT_MS, diag);
    const fromGuest = Buffer.from(inNs('curl', ['-sS', '--max-time', '120', `http://${GUEST_IP}:8080/out`]), 'latin1');
    const neigh = inNs('ip', ['neigh', 'show', GUEST_IP]);
    await api('PATCH', '/network-interfaces/net1', { iface_id: 'net1', rx_rate_limiter: { bandwidth: { size: 1_000_000, refill_time: 100 } } });
    const after = await api('GET', '/vm/config', undefined, 200) as { 'network-interfaces': Array<Record<string, unknown>> };
    assert.deepEqual(after['network-interfaces'][0]!['rx_rate_limiter'], { bandwidth: { size: 1_000_000, refill_time: 100 } });
    await api('PUT', '/actions', { action_type: 'FlushMetrics' });
    // Each line holds the counts since the previous one (Firecracker's per-flush deltas): add them up.
    const net: Record<string, number> = {};
    for (const line of readFileSync(metricsPath, 'utf8').trim().split('\n')) {
      for (const [k, v] of Object.entries((JSON.parse(line) as Record<string, Record<string, number>>)['net_net1'] ?? {})) net[k] = (net[k] ?? 0) + v;
    }
    vmm.child.stdin!.write('fetched\n');
    await until('the guest finishing', () => /^DONE fetched\r?$/m.test(vmm.out()), 120_000, diag);
    const out = vmm.out();
    const said = (key: string) => out.replace(/\r/g, '').split('\n').find((l) => l.startsWith(`${key} `))?.slice(key.length + 1);

    await t.test('the guest has the MAC given in guest_mac and the address from ip=; the host learns that MAC', () => {
      assert.equal(said('MAC'), GUEST_MAC.toLowerCase(), diag());
      assert.equal(said('ADDR'), `${GUEST_IP}/30`);
      assert.match(neigh, new RegExp(`lladdr ${GUEST_MAC.toLowerCase()}`));
    });
    await t.test('ping from the guest to the host answers', () => assert.equal(said('PING'), 'ok', diag()));
    await t.test('the net_net1 metrics (Firecracker\'s names) count what crossed the tap', () => {
      assert.ok(net['rx_bytes_count']! >= TO_GUEST_BYTES, JSON.stringify(net));
      assert.ok(net['tx_bytes_count']! >= FROM_GUEST_BYTES, JSON.stringify(net));
      assert.ok(net['rx_packets_count']! > 0 && net['tx_packets_count']! > 0);
      assert.equal(net['tx_malformed_frames'], 0);
      assert.equal(net['tap_write_fails'], 0);
      // The tap carries virtio_net_hdrs: the guest hands 64 KiB TCP segments to the host's kernel.
      assert.ok(net['tx_segments_offloaded']! > 0, JSON.stringify(net));
    });
    await t.test('TCP host → guest, byte-exact', () => assert.equal(said('IN-SHA'), `${toGuestSha} ${TO_GUEST_BYTES}`, diag()));
    await t.test('TCP guest → host, byte-exact', () => {
      assert.equal(fromGuest.length, FROM_GUEST_BYTES);
      assert.equal(createHash('sha256').update(fromGuest).digest('hex'), said('OUT-SHA'));
    });
  } finally {
    vmm.child.kill('SIGTERM');
    peer.child.kill('SIGTERM');
    await Promise.all([vmm.exited, peer.exited]);
  }
  await t.test('once wisp has gone, the tap is free again', () => {
    // TUNSETIFF from a fresh process succeeds only if no fd holds the tap.
    const r = execFileSync('ip', ['netns', 'exec', NS, process.execPath, '-e', `
      import(${JSON.stringify(join(repoRoot(), 'dist/src/vmm/backends/tap-backend.js'))}).then(({ TapBackend }) => { TapBackend.open('tap0').close(); console.log('FREE'); });
    `], { encoding: 'utf8' });
    assert.match(r, /FREE/);
  });
});

test('the MMDS on a tap interface: metadata, and TCP through the same tap byte-exact (frames without offloads)', { timeout: BOOT_TIMEOUT_MS + 60_000 }, async (t) => {
  if (skipReason) { t.skip(skipReason); return; }
  const blob = randomBytes(1024 * 1024 + 11);
  writeFileSync(join(work, 'mmds-blob.bin'), blob);
  const peer = servePeer(join(work, 'mmds-blob.bin'), 8001);
  const g = await ensureDefaultGuest({ progress: null });
  const initrd = await netInitramfs('tap-mmds.cpio.gz', `
ip route add 169.254.169.254 dev eth0
echo "AMI $(wget -q -O - http://169.254.169.254/latest/meta-data/ami-id)"
wget -q -O /tmp/in "http://${HOST_IP}:8001/blob"
echo "IN-SHA $(sha256sum /tmp/in | cut -d' ' -f1) $(wc -c < /tmp/in)"
poweroff -f
`);
  const sock = join(work, 'fc-mmds.sock');
  const vmm = startInNs([process.execPath, wispBin(), '--api-sock', sock, '--id', 'net-tap-mmds']);
  const diag = () => `--- wisp stderr ---\n${vmm.err().slice(-3000)}\n--- wisp stdout (serial) ---\n${vmm.out().slice(-4000)}`;
  const api = async (method: string, path: string, body?: unknown) => {
    const r = await curl(sock, method, path, body);
    assert.equal(r.status, 204, `${method} ${path} → ${r.status} ${JSON.stringify(r.body)}\n${diag()}`);
  };
  try {
    await until('the peer', () => peer.out().includes('PEER-READY'), 30_000, diag);
    await until('the API socket', async () => existsSync(sock) && (await curl(sock, 'GET', '/').catch(() => ({ status: 0 }))).status === 200, 30_000, diag);
    await api('PUT', '/boot-source', {
      kernel_image_path: g.kernelPath, initrd_path: initrd,
      boot_args: `console=ttyS0 reboot=k panic=1 ip=${GUEST_IP}::${HOST_IP}:255.255.255.252::eth0:off`,
    });
    await api('PUT', '/machine-config', { vcpu_count: 1, mem_size_mib: 256 });
    await api('PUT', '/network-interfaces/net1', { iface_id: 'net1', guest_mac: GUEST_MAC, host_dev_name: 'tap0' });
    await api('PUT', '/mmds/config', { version: 'V1', network_interfaces: ['net1'] });
    await api('PUT', '/mmds', { latest: { 'meta-data': { 'ami-id': 'ami-tap-0042' } } });
    await api('PUT', '/actions', { action_type: 'InstanceStart' });
    const code = await Promise.race([vmm.exited, sleep(BOOT_TIMEOUT_MS).then(() => 'timeout')]);
    assert.equal(code, 0, diag());
    const out = vmm.out().replace(/\r/g, '');
    assert.match(out, /^AMI ami-tap-0042$/m, diag());
    assert.match(out, new RegExp(`^IN-SHA ${createHash('sha256').update(blob).digest('hex')} ${blob.length}$`, 'm'), diag());
  } finally {
    vmm.child.kill('SIGTERM');
    peer.child.kill('SIGTERM');
    await Promise.all([vmm.exited, peer.exited]);
  }
});
