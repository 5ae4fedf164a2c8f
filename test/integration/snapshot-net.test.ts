/**
 * Issue "Snapshots": a VM with network interfaces is snapshotted and restored, and its network works
 * after the restore. Each case boots through the API, checks TCP both ways, pauses, snapshots,
 * SIGKILLs the VMM, loads the snapshot in a fresh wisp and checks TCP both ways again:
 *
 *   user mode (passt, rootless): the restored interface gets a new passt publishing the same port; the
 *       guest fetches a file from an HTTP server on the host's loopback through the gateway, the host
 *       fetches a file from busybox httpd in the guest through the published port; no passt is left.
 *       A network_overrides entry for an unknown interface is refused with Firecracker's error and the
 *       VMM stays able to load. The MMDS (on eth0) answers before and after; its configuration is in
 *       the snapshot, its data store is not (the new VMM gets a PUT /mmds, as on Firecracker).
 *   tap (root; a network namespace the test creates): the snapshot's tap is deleted and another one
 *       created; the load names it in network_overrides; GET /vm/config shows it.
 *
 * The guest's own TCP connections do not survive a snapshot (a new passt, a reopened tap); new ones work.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { buildInitramfs, ensureDefaultGuest } from '../../src/guest/index.js';
import { checkRequest, checkResponse, loadApiSpec } from '../helpers/api-spec.js';
import { curl } from '../helpers/curl.js';
import { programLines, repoRoot, wispBin } from '../helpers/guest-fixtures.js';
import { fetchBytes, freePort, passtInstalled, passtsFor } from '../helpers/user-net.js';

const BOOT_TIMEOUT_MS = 300_000;
const STEP_MS = 120_000;
const BLOB_BYTES = 2 * 1024 * 1024 + 13;
const GUEST_BYTES = 1024 * 1024 + 7;
const GUEST_MAC = '06:00:ac:10:00:02';

let work = '';
const spec = loadApiSpec();
const blob = randomBytes(BLOB_BYTES);
const blobSha = createHash('sha256').update(blob).digest('hex');

before(() => {
  work = mkdtempSync(join(tmpdir(), `wisp-snapshot-net-${process.pid}-`));
  writeFileSync(join(work, 'blob'), blob);
});
after(() => rmSync(work, { recursive: true, force: true }));

/**
 * The guest: fetches the blob from `url` (and with `mmds`, the MMDS's latest/meta-data/ami-id), serves
 * a file it made on port 8080, says READY; then for every line on its console fetches them again and
 * says so.
 */
async function initramfs(name: string, url: string, mmds = false): Promise<{ kernel: string; initrd: string }> {
  const g = await ensureDefaultGuest({ progress: null });
  const initrd = join(work, `${name}.cpio.gz`);
  writeFileSync(initrd, await buildInitramfs({
    busyboxPath: g.busyboxPath, modulesDir: g.modulesDir, kernelVersion: g.kernelVersion, modules: ['virtio_mmio', 'virtio_net'],
    script: Buffer.from(`
GW=$(ip route | awk '/^default/ {print $3}')
URL=$(echo "${url}" | sed "s/GATEWAY/$GW/")
fetch() {
  if wget -q -O /tmp/in "$URL"; then echo "FETCH $1 $(sha256sum /tmp/in | cut -d' ' -f1) $(wc -c < /tmp/in)"; else echo "FETCH $1 failed"; fi
  rm -f /tmp/in
${mmds ? '  echo "MMDS $1 $(wget -q -O - http://169.254.169.254/latest/meta-data/ami-id)"' : '  :'}
}
${mmds ? 'ip route add 169.254.169.254 dev eth0' : ''}
fetch boot
mkdir -p /www
head -c ${GUEST_BYTES} /dev/urandom > /www/out
echo "OUT-SHA $(sha256sum /www/out | cut -d' ' -f1)"
httpd -p 8080 -h /www
echo "READY $((6 * 7))"
while read line; do fetch "$line"; done
`),
  }));
  return { kernel: g.kernelPath, initrd };
}

interface Vmm {
  child: ChildProcess;
  out(): string;
  diag(): string;
  api(method: string, path: string, body?: unknown, status?: number): Promise<unknown>;
  waitFor(re: RegExp, ms: number): Promise<RegExpExecArray>;
  exited: Promise<number | null>;
}

/** A wisp VMM (`--api-sock`), in the network namespace `ns` if given. */
async function startVmm(name: string, ns?: string): Promise<Vmm> {
  const sock = join(work, `${name}.api`);
  const argv = [process.execPath, wispBin(), '--api-sock', sock, '--id', name];
  const child = ns ? spawn('ip', ['netns', 'exec', ns, ...argv], { cwd: repoRoot(), stdio: ['pipe', 'pipe', 'pipe'] })
    : spawn(argv[0]!, argv.slice(1), { cwd: repoRoot(), stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '', err = '';
  child.stdout!.setEncoding('latin1').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('latin1').on('data', (d: string) => (err += d));
  child.stdin!.on('error', () => {});
  const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  const diag = () => `--- ${name} stderr ---\n${err.slice(-3000)}\n--- ${name} serial ---\n${out.slice(-4000)}`;
  const waitFor = async (re: RegExp, ms: number) => {
    const end = Date.now() + ms;
    for (;;) {
      const m = re.exec(out);
      if (m) return m;
      if (Date.now() > end || child.exitCode !== null) assert.fail(`${name}: no ${re} after ${ms / 1000} s\n${diag()}`);
      await sleep(50);
    }
  };
  const end = Date.now() + 30_000;
  while (!(existsSync(sock) && (await curl(sock, 'GET', '/').catch(() => ({ status: 0 }))).status === 200)) {
    if (Date.now() > end) assert.fail(`${name}: the API socket never answered\n${diag()}`);
    await sleep(50);
  }
  const api = async (method: string, path: string, body?: unknown, status = 204) => {
    const r = await curl(sock, method, path, body);
    assert.equal(r.status, status, `${name}: ${method} ${path} → ${r.status} ${JSON.stringify(r.body)}\n${diag()}`);
    if (r.status < 300) assert.deepEqual(checkRequest(spec, method, path, body), [], `${method} ${path} is valid per the API description`);
    assert.deepEqual(checkResponse(spec, method, path, r.status, r.body), [], `${method} ${path} response`);
    return r.body;
  };
  return { child, out: () => out, diag, api, waitFor, exited };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What the guest's programs said on lines starting `key `, the kernel's log lines cut out. */
function said(out: string, key: string): string[] {
  return programLines(out).replace(/\r/g, '').split('\n').filter((l) => l.startsWith(`${key} `)).map((l) => l.slice(key.length + 1));
}

function sha(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

async function noPasstFor(hostPort: number): Promise<void> {
  for (let i = 0; passtsFor(hostPort).length > 0; i++) {
    if (i > 200) assert.deepEqual(passtsFor(hostPort), [], 'passt exits once its VMM has gone');
    await sleep(50);
  }
}

test('user-mode network (passt) across a snapshot: TCP both ways before, a new passt after the load, TCP both ways again', { timeout: BOOT_TIMEOUT_MS + 6 * STEP_MS }, async (t) => {
  if (!passtInstalled()) {
    t.skip('passt is not installed (Debian package passt; scripts/setup.sh installs it)');
    return;
  }
  let requests = 0;
  const server: Server = createHttpServer((req, res) => {
    if (req.url !== '/blob') { res.writeHead(404).end(); return; }
    requests++;
    res.writeHead(200, { 'content-length': blob.length }).end(blob);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const serverPort = (server.address() as AddressInfo).port;
  const hostPort = await freePort();
  const { kernel, initrd } = await initramfs('user', `http://GATEWAY:${serverPort}/blob`, true);
  const eth0 = { iface_id: 'eth0', guest_mac: GUEST_MAC, user_mode: { publish: [{ host_port: hostPort, guest_port: 8080 }] } };
  const state = join(work, 'user.state');
  const mem = join(work, 'user.mem');
  let p1: Vmm | undefined, p2: Vmm | undefined;
  try {
    p1 = await startVmm('user-p1');
    await p1.api('PUT', '/boot-source', { kernel_image_path: kernel, initrd_path: initrd, boot_args: 'console=ttyS0 panic=-1' });
    await p1.api('PUT', '/machine-config', { vcpu_count: 1, mem_size_mib: 256 });
    await p1.api('PUT', '/network-interfaces/eth0', eth0);
    await p1.api('PUT', '/mmds/config', { network_interfaces: ['eth0'] });
    await p1.api('PUT', '/mmds', { latest: { 'meta-data': { 'ami-id': 'ami-booted' } } });
    await p1.api('PUT', '/actions', { action_type: 'InstanceStart' });
    await p1.waitFor(/^READY 42\r?$/m, BOOT_TIMEOUT_MS);
    assert.deepEqual(said(p1.out(), 'FETCH'), [`boot ${blobSha} ${BLOB_BYTES}`], `the guest fetched the host's file before the snapshot\n${p1.diag()}`);
    assert.deepEqual(said(p1.out(), 'MMDS'), ['boot ami-booted'], 'the MMDS answered on eth0');
    const outSha = said(p1.out(), 'OUT-SHA')[0];
    assert.equal(sha(await fetchBytes(`http://127.0.0.1:${hostPort}/out`)), outSha, 'the host fetched the guest file through the published port');

    await p1.api('PATCH', '/vm', { state: 'Paused' });
    await p1.api('PUT', '/snapshot/create', { snapshot_type: 'Full', snapshot_path: state, mem_file_path: mem });
    p1.child.kill('SIGKILL');
    await p1.exited;
    await noPasstFor(hostPort);

    p2 = await startVmm('user-p2');
    const unknown = await p2.api('PUT', '/snapshot/load', {
      snapshot_path: state, mem_backend: { backend_type: 'File', backend_path: mem }, resume_vm: true,
      network_overrides: [{ iface_id: 'eth9', host_dev_name: 'tap9' }],
    }, 400) as { fault_message: string };
    assert.match(unknown.fault_message, /Failed to get snapshot state from file: Unknown Network Device\./);
    assert.equal((await p2.api('GET', '/', undefined, 200) as { state: string }).state, 'Not started');
    const requestsBefore = requests;
    await p2.api('PUT', '/snapshot/load', { snapshot_path: state, mem_backend: { backend_type: 'File', backend_path: mem }, resume_vm: true });
    const cfg = await p2.api('GET', '/vm/config', undefined, 200) as { 'network-interfaces': unknown[]; 'mmds-config'?: { network_interfaces: string[] } };
    assert.deepEqual(cfg['network-interfaces'], [eth0], 'GET /vm/config shows the restored interface');
    assert.deepEqual(cfg['mmds-config']?.network_interfaces, ['eth0'], 'and the MMDS configuration');
    assert.equal(passtsFor(hostPort).length, 1, 'the restored interface has a passt of its own publishing the port');
    // The MMDS data store is not part of a snapshot (as on Firecracker): the new VMM fills it.
    await p2.api('PUT', '/mmds', { latest: { 'meta-data': { 'ami-id': 'ami-restored' } } });

    p2.child.stdin!.write('restored\n');
    await p2.waitFor(/^MMDS restored .*?\r?\n/m, STEP_MS);
    assert.deepEqual(said(p2.out(), 'FETCH'), [`restored ${blobSha} ${BLOB_BYTES}`], `the restored guest fetched the host's file\n${p2.diag()}`);
    assert.deepEqual(said(p2.out(), 'MMDS'), ['restored ami-restored'], 'the MMDS answers the restored guest with what the new VMM was given');
    assert.equal(requests, requestsBefore + 1);
    assert.equal(sha(await fetchBytes(`http://127.0.0.1:${hostPort}/out`)), outSha, 'the host fetched the restored guest file through the published port');
  } finally {
    p1?.child.kill('SIGKILL');
    p2?.child.kill('SIGKILL');
    await Promise.all([p1?.exited, p2?.exited]);
    await new Promise((r) => server.close(r));
  }
  await noPasstFor(hostPort);
});

const NS = `wisp-snapnet-${process.pid}`;
const HOST_IP = '172.16.0.1';
const GUEST_IP = '172.16.0.2';

function tapSkipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (creates a network namespace and taps)';
  try { execFileSync('ip', ['-V'], { stdio: 'ignore' }); } catch { return 'needs the ip tool (iproute2)'; }
  if (!existsSync('/dev/net/tun')) return 'needs /dev/net/tun';
  return undefined;
}
function inNs(cmd: string, args: string[]): string {
  return execFileSync('ip', ['netns', 'exec', NS, cmd, ...args], { encoding: 'latin1', maxBuffer: 64 << 20 });
}
function addTap(name: string, mac?: string): void {
  inNs('ip', ['tuntap', 'add', 'dev', name, 'mode', 'tap']);
  if (mac) inNs('ip', ['link', 'set', 'dev', name, 'address', mac]);
  inNs('ip', ['addr', 'add', `${HOST_IP}/30`, 'dev', name]);
  inNs('ip', ['link', 'set', 'dev', name, 'up']);
}

test('tap network across a snapshot: the load names another tap in network_overrides; TCP both ways again', { timeout: BOOT_TIMEOUT_MS + 6 * STEP_MS }, async (t) => {
  const skip = tapSkipReason();
  if (skip) { t.skip(skip); return; }
  execFileSync('ip', ['netns', 'add', NS]);
  let peer: ChildProcess | undefined, p1: Vmm | undefined, p2: Vmm | undefined;
  try {
    inNs('ip', ['link', 'set', 'lo', 'up']);
    addTap('tap0');
    // The peer listens on every address of the namespace, so it outlives the tap it was reached through.
    peer = spawn('ip', ['netns', 'exec', NS, process.execPath, '-e', `
      const blob = require('fs').readFileSync(${JSON.stringify(join(work, 'blob'))});
      require('http').createServer((q, s) => { s.writeHead(200, { 'content-length': blob.length }); s.end(blob); }).listen(8000, '0.0.0.0');
    `], { stdio: 'ignore' });
    const { kernel, initrd } = await initramfs('tap', `http://${HOST_IP}:8000/blob`);
    const state = join(work, 'tap.state');
    const mem = join(work, 'tap.mem');
    p1 = await startVmm('tap-p1', NS);
    await p1.api('PUT', '/boot-source', { kernel_image_path: kernel, initrd_path: initrd, boot_args: `console=ttyS0 panic=-1 ip=${GUEST_IP}::${HOST_IP}:255.255.255.252::eth0:off` });
    await p1.api('PUT', '/machine-config', { vcpu_count: 1, mem_size_mib: 256 });
    await p1.api('PUT', '/network-interfaces/net1', { iface_id: 'net1', guest_mac: GUEST_MAC, host_dev_name: 'tap0' });
    await p1.api('PUT', '/actions', { action_type: 'InstanceStart' });
    await p1.waitFor(/^READY 42\r?$/m, BOOT_TIMEOUT_MS);
    assert.deepEqual(said(p1.out(), 'FETCH'), [`boot ${blobSha} ${BLOB_BYTES}`], p1.diag());
    const outSha = said(p1.out(), 'OUT-SHA')[0];
    assert.equal(sha(Buffer.from(inNs('curl', ['-sS', '--max-time', '60', `http://${GUEST_IP}:8080/out`]), 'latin1')), outSha);

    await p1.api('PATCH', '/vm', { state: 'Paused' });
    await p1.api('PUT', '/snapshot/create', { snapshot_type: 'Full', snapshot_path: state, mem_file_path: mem });
    p1.child.kill('SIGKILL');
    await p1.exited;

    // Another tap takes the host side: same address, and tap0's MAC so the guest's neighbour entry
    // for the host stays right (as when a snapshot moves to a host set up the same way).
    const tap0Mac = /link\/ether ([0-9a-f:]{17})/.exec(inNs('ip', ['link', 'show', 'tap0']))![1]!;
    inNs('ip', ['link', 'del', 'tap0']);
    addTap('tapB', tap0Mac);

    p2 = await startVmm('tap-p2', NS);
    const missing = await p2.api('PUT', '/snapshot/load', { snapshot_path: state, mem_backend: { backend_type: 'File', backend_path: mem }, resume_vm: true }, 400) as { fault_message: string };
    assert.match(missing.fault_message, /Cannot restore network interface "net1": .*tap0/, 'without an override, the deleted tap is named');
    await p2.api('PUT', '/snapshot/load', {
      snapshot_path: state, mem_backend: { backend_type: 'File', backend_path: mem }, resume_vm: true,
      network_overrides: [{ iface_id: 'net1', host_dev_name: 'tapB' }],
    });
    const cfg = await p2.api('GET', '/vm/config', undefined, 200) as { 'network-interfaces': unknown[] };
    assert.deepEqual(cfg['network-interfaces'], [{ iface_id: 'net1', guest_mac: GUEST_MAC, host_dev_name: 'tapB' }]);
    p2.child.stdin!.write('restored\n');
    await p2.waitFor(/^FETCH restored .*?\r?\n/m, STEP_MS);
    assert.deepEqual(said(p2.out(), 'FETCH'), [`restored ${blobSha} ${BLOB_BYTES}`], p2.diag());
    assert.equal(sha(Buffer.from(inNs('curl', ['-sS', '--max-time', '60', `http://${GUEST_IP}:8080/out`]), 'latin1')), outSha, 'the namespace fetched the restored guest file through tapB');
  } finally {
    p1?.child.kill('SIGKILL');
    p2?.child.kill('SIGKILL');
    peer?.kill('SIGKILL');
    await Promise.all([p1?.exited, p2?.exited]);
    try { execFileSync('ip', ['netns', 'del', NS]); } catch { /* already gone */ }
  }
});
