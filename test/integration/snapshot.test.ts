/**
 * Issue 11, end to end with real processes, Debian's kernel and the real curl:
 *
 *   P1  boots a guest that counts on its console and appends each count to a file on a virtio-blk
 *       ext4 disk (synced); PATCH /vm Paused, a Full snapshot, SIGKILL.
 *   P2  a fresh VMM loads it (resume_vm, track_dirty_pages): the count goes on where it stopped;
 *       GET /vm/config shows the restored configuration. A few counts later: pause, a Diff snapshot
 *       and a Full one of the same moment, SIGKILL. The Diff is much smaller; `wisp snapshot rebase`
 *       lays it onto P1's memory file, which then equals P2's Full memory file byte for byte.
 *   P3  loads the Diff's state with the rebased memory: the count goes on; pause, Full, SIGKILL.
 *   P4  is refused, each with a 400 and a clear fault_message, a truncated state file, one with a
 *       flipped byte, one of another format version, a memory file smaller than the RAM, and a
 *       snapshot whose disk file is missing; still Not started, it then loads P3's snapshot and the
 *       guest counts to the end, unmounts and powers off.
 *
 * Every count from all four processes, in order, is 1..N without a gap or a repeat, and the file on
 * the disk holds exactly 1..N and passes e2fsck: the disk and the restored guests agree. The guest's
 * /proc/uptime, printed with each count, never goes back across a restore.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { buildInitramfs } from '../../src/guest/index.js';
import { curl } from '../helpers/curl.js';
import { checkRequest, checkResponse, loadApiSpec } from '../helpers/api-spec.js';
import { buildDisk, debugfsCat, ensureGuest, requireTool, runWisp, WispProcess } from '../helpers/guest-fixtures.js';

/** A JIT boot with modules takes ~10 s on a quiet machine; these machines are shared (4x). */
const STEP_MS = 180_000;
const LAST = 24;

const SCRIPT = `i=0; while [ ! -b /dev/vda ] && [ $i -lt 100 ]; do usleep 100000; i=$((i + 1)); done
mkdir -p /mnt/d
mount -t ext4 /dev/vda /mnt/d && echo MOUNTED || echo MOUNT-FAILED
i=0
while [ $i -lt ${LAST} ]; do
  i=$((i + 1))
  echo $i >> /mnt/d/count.txt
  sync
  echo "COUNT $i $(cut -d' ' -f1 /proc/uptime)"
  usleep 150000
done
umount /mnt/d && echo UMOUNTED
`;

let work = '';
let kernel = '';
let initrd = '';
let disk = '';
const spec = loadApiSpec();

before(async () => {
  requireTool('curl', 'curl');
  requireTool('debugfs', 'e2fsprogs');
  requireTool('e2fsck', 'e2fsprogs');
  work = mkdtempSync(join(tmpdir(), `wisp-snapshot-${process.pid}-`));
  const g = await ensureGuest();
  kernel = g.kernelPath;
  initrd = join(work, 'count.cpio.gz');
  writeFileSync(initrd, await buildInitramfs({
    busyboxPath: g.busyboxPath, modulesDir: g.modulesDir, kernelVersion: g.kernelVersion,
    script: Buffer.from(SCRIPT), modules: ['crc32c_generic', 'virtio_mmio', 'virtio_blk', 'ext4'],
  }));
  const empty = join(work, 'empty');
  mkdirSync(empty);
  disk = join(work, 'data.ext4');
  await buildDisk(empty, disk);
});
after(() => rmSync(work, { recursive: true, force: true }));

/** A VMM behaving as the firecracker binary, its serial console on stdout. */
async function vmm(name: string): Promise<{ p: WispProcess; sock: string; api: (method: string, path: string, body?: unknown, status?: number) => Promise<unknown> }> {
  const sock = join(work, `${name}.sock`);
  const p = new WispProcess(['--api-sock', sock, '--id', name], { timeoutMs: 4 * STEP_MS });
  for (let i = 0; !existsSync(sock); i++) {
    if (i > 600) assert.fail(`${name}: the API socket never appeared\n${p.describe()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const api = async (method: string, path: string, body?: unknown, status = 204) => {
    assert.deepEqual(checkRequest(spec, method, path, body), [], `${method} ${path} is valid per firecracker-api.yaml`);
    const r = await curl(sock, method, path, body);
    assert.equal(r.status, status, `${name}: ${method} ${path} ${JSON.stringify(body)} answered ${r.status} ${JSON.stringify(r.body)}\n${p.describe()}`);
    assert.deepEqual(checkResponse(spec, method, path, r.status, r.body), [], `${method} ${path} response`);
    return r.body;
  };
  return { p, sock, api };
}

/** The COUNT lines of console output (whole lines only: a line cut by a pause ends in the next process). */
function countLines(out: string): { n: number; uptime: number }[] {
  return [...out.replace(/\r/g, '').matchAll(/^COUNT (\d+) ([\d.]+)$/gm)].map((m) => ({ n: Number(m[1]), uptime: Number(m[2]) }));
}
const counts = (out: string) => countLines(out).map((c) => c.n);

async function waitForCount(p: WispProcess, n: number): Promise<void> {
  await p.waitFor(new RegExp(`COUNT ${n} [\\d.]+\\r?\\n`), STEP_MS);
}

async function pauseSnapshotKill(v: Awaited<ReturnType<typeof vmm>>, snaps: { type: 'Full' | 'Diff'; state: string; mem: string }[]): Promise<string> {
  await v.api('PATCH', '/vm', { state: 'Paused' });
  for (const s of snaps) await v.api('PUT', '/snapshot/create', { snapshot_type: s.type, snapshot_path: s.state, mem_file_path: s.mem });
  await new Promise((r) => setTimeout(r, 200)); // the console's last bytes reach our pipe
  const out = v.p.stdout;
  v.p.kill('SIGKILL');
  const r = await v.p.exited;
  assert.equal(r.signal, 'SIGKILL');
  return out;
}

function load(state: string, mem: string, more: Record<string, unknown> = {}) {
  return { snapshot_path: state, mem_backend: { backend_type: 'File', backend_path: mem }, resume_vm: true, ...more };
}

const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');
/** Bytes a file really occupies on disk (sparse files: its data, not its size). */
const allocated = (p: string) => statSync(p).blocks * 512;

test('snapshots: Full, SIGKILL, restore and go on; Diff + rebase; bad snapshots refused; the disk agrees', { timeout: 12 * STEP_MS }, async () => {
  const f = (n: string) => join(work, n);
  const outputs: string[] = [];

  // P1: boot, count, pause, Full snapshot, SIGKILL.
  const p1 = await vmm('p1');
  await p1.api('PUT', '/boot-source', { kernel_image_path: kernel, initrd_path: initrd, boot_args: 'console=ttyS0 quiet panic=-1' });
  await p1.api('PUT', '/machine-config', { vcpu_count: 1, mem_size_mib: 256 });
  await p1.api('PUT', '/drives/data', { drive_id: 'data', path_on_host: disk, is_root_device: false, is_read_only: false });
  await p1.api('PUT', '/actions', { action_type: 'InstanceStart' });
  await p1.p.waitFor(/MOUNTED\r?\n/, STEP_MS);
  assert.doesNotMatch(p1.p.stdout, /MOUNT-FAILED/);
  await waitForCount(p1.p, 4);
  outputs.push(await pauseSnapshotKill(p1, [{ type: 'Full', state: f('s1.state'), mem: f('s1.mem') }]));
  assert.equal(statSync(f('s1.mem')).size, 256 << 20, 'the memory file is the whole RAM');
  assert.ok(allocated(f('s1.mem')) < (256 << 20) / 2, `sparse where zero (${allocated(f('s1.mem')) >> 20} MiB allocated)`);

  // P2: load with resume_vm and dirty-page tracking; it counts on.
  const p2 = await vmm('p2');
  await p2.api('PUT', '/snapshot/load', load(f('s1.state'), f('s1.mem'), { track_dirty_pages: true }));
  const info = await p2.api('GET', '/', undefined, 200) as { state: string };
  assert.equal(info.state, 'Running');
  const cfg = await p2.api('GET', '/vm/config', undefined, 200) as { drives: { path_on_host: string }[]; 'machine-config': { mem_size_mib: number; track_dirty_pages: boolean } };
  assert.equal(cfg.drives[0]!.path_on_host, disk);
  assert.deepEqual([cfg['machine-config'].mem_size_mib, cfg['machine-config'].track_dirty_pages], [256, true]);
  const last1 = Math.max(...counts(outputs[0]!));
  await waitForCount(p2.p, last1 + 3);
  outputs.push(await pauseSnapshotKill(p2, [
    { type: 'Diff', state: f('d2.state'), mem: f('d2.mem') },
    { type: 'Full', state: f('s2.state'), mem: f('s2.mem') },
  ]));
  assert.ok(allocated(f('d2.mem')) * 4 < allocated(f('s1.mem')),
    `the Diff (${allocated(f('d2.mem')) >> 10} KiB on disk) is much smaller than the Full (${allocated(f('s1.mem')) >> 10} KiB)`);
  copyFileSync(f('s1.mem'), f('rebased.mem'));
  const rb = await runWisp(['snapshot', 'rebase', '--memory-path', f('rebased.mem'), '--diff-path', f('d2.mem'), '--snapshot-path', f('d2.state')], { timeoutMs: 60_000 });
  assert.equal(rb.code, 0, rb.stderr);
  assert.equal(sha(f('rebased.mem')), sha(f('s2.mem')), 'Full #1 + Diff = the Full taken at the same moment, byte for byte');

  // P3: the Diff's state with the rebased memory.
  const p3 = await vmm('p3');
  await p3.api('PUT', '/snapshot/load', load(f('d2.state'), f('rebased.mem')));
  const last2 = Math.max(...counts(outputs.join('')));
  await waitForCount(p3.p, last2 + 3);
  outputs.push(await pauseSnapshotKill(p3, [{ type: 'Full', state: f('s3.state'), mem: f('s3.mem') }]));

  // P4: bad snapshots first, each refused clearly; the VMM stays usable.
  const p4 = await vmm('p4');
  const good = readFileSync(f('s3.state'));
  const variant = (name: string, bytes: Buffer) => (writeFileSync(f(name), bytes), f(name));
  const flipped = Buffer.from(good);
  flipped[flipped.length >> 1] ^= 0x01;
  const v2 = Buffer.from(good);
  v2.writeUInt16LE(2, 8);
  createHash('sha256').update(v2.subarray(0, v2.length - 32)).digest().copy(v2, v2.length - 32); // a well-formed file of version 2.0
  copyFileSync(f('s3.mem'), f('short.mem'));
  truncateSync(f('short.mem'), 128 << 20);
  const refusals: [string, unknown, RegExp][] = [
    ['truncated', load(variant('trunc.state', good.subarray(0, good.length - 100)), f('s3.mem')), /is truncated: \d+ bytes of the \d+ its header announces/],
    ['one flipped byte', load(variant('flip.state', flipped), f('s3.mem')), /is corrupted: its SHA-256 checksum does not match its contents/],
    ['wrong version', load(variant('v2.state', v2), f('s3.mem')), /has format version 2\.0; this wisp reads version 1\.0/],
    ['memory smaller than RAM', load(f('s3.state'), f('short.mem')), /the memory file ".*short\.mem" is 134217728 bytes, but the snapshot's guest has 256 MiB of RAM \(268435456 bytes\)/],
  ];
  for (const [what, body, re] of refusals) {
    const r = await p4.api('PUT', '/snapshot/load', body, 400) as { fault_message: string };
    assert.match(r.fault_message, /^Load snapshot error: Failed to restore from snapshot: /, what);
    assert.match(r.fault_message, re, what);
    assert.equal((await p4.api('GET', '/', undefined, 200) as { state: string }).state, 'Not started', `${what}: nothing half-restored`);
  }
  renameSync(disk, `${disk}.away`);
  const missing = await p4.api('PUT', '/snapshot/load', load(f('s3.state'), f('s3.mem')), 400) as { fault_message: string };
  assert.match(missing.fault_message, /Cannot restore drive "data": .*No such file or directory \(os error 2\)/);
  renameSync(`${disk}.away`, disk);
  await p4.api('PUT', '/snapshot/load', load(f('s3.state'), f('s3.mem')));
  const r4 = await p4.p.exited;
  assert.equal(r4.code, 0, `the guest powered off cleanly\n${p4.p.describe()}`);
  outputs.push(r4.stdout);
  assert.match(r4.stdout, /UMOUNTED/);

  // Every count once, in order, across the four processes, each of which counted.
  const all = counts(outputs.join(''));
  assert.deepEqual(all, Array.from({ length: LAST }, (_, i) => i + 1), `counts across processes: ${all.join(' ')}`);
  for (const [i, out] of outputs.entries()) assert.ok(counts(out).length > 0, `process ${i + 1} counted`);
  // The guest's monotonic clock went on across every restore, never back.
  const up = countLines(outputs.join('')).map((c) => c.uptime);
  for (let i = 1; i < up.length; i++) assert.ok(up[i]! >= up[i - 1]!, `uptime ${up[i - 1]} then ${up[i]}: no jump back`);
  // The disk holds the same story, and its file system is clean.
  const fsck = spawnSync('e2fsck', ['-fn', disk], { encoding: 'utf8' });
  assert.equal(fsck.status, 0, `e2fsck -fn finds the file system clean:\n${fsck.stdout}${fsck.stderr}`);
  const lines = debugfsCat(disk, '/count.txt').toString().trim().split('\n').map(Number);
  assert.deepEqual(lines, Array.from({ length: LAST }, (_, i) => i + 1));
});
