/**
 * Debian's containerd with wisp-runc as its runc: the test starts a docker-registry on loopback, pushes
 * an image built from Debian's riscv64 busybox-static (wisp's writer, skopeo), starts containerd with
 * its own root, state, socket and config in a temp dir (and its own namespace and container ids, so
 * parallel runs never meet), pulls with `ctr` and runs with `ctr run --runc-binary wisp-runc` through
 * containerd's runc v2 shim. Shown: the container's output reaches ctr, ctr exits with the
 * container's status, `ctr task ls` / `ps` / `pause` / `resume` / `exec` / `kill` / `delete` drive a detached container, and a bundle
 * feature a VM cannot honour (a bind mount) fails `ctr run` with wisp-runc's reason.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ensureDebianUserland } from '../../src/guest/debian-userland.js';
import { writeOciLayout } from '../../src/images/testing/image-writer.js';
import { ensureGuest, repoRoot, requireTool } from '../helpers/guest-fixtures.js';
import { LocalRegistry, skopeoCopy } from '../helpers/registry.js';

let work = '';
let registry: LocalRegistry | undefined;
let containerd: ChildProcess | undefined;
let containerdLog = '';
let image = '';
const ns = `wisp-test-${process.pid}`;
const id = (name: string): string => `${name}-${process.pid}`;
let env: NodeJS.ProcessEnv;

function ctr(args: string[], timeoutMs = 400_000): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync('ctr', ['--address', join(work, 'containerd.sock'), '--namespace', ns, ...args], { encoding: 'utf8', timeout: timeoutMs, env });
  if (r.error) throw new Error(`ctr ${args.join(' ')}: ${r.error.message}`);
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const describe = (r: { code: number | null; stdout: string; stderr: string }): string =>
  `exit ${r.code}\n--- stdout ---\n${r.stdout.slice(-2000)}\n--- stderr ---\n${r.stderr.slice(-2000)}\n--- containerd (tail) ---\n${containerdLog.slice(-3000)}`;

/** `ctr task ls` as [id, pid, status] rows. */
function tasks(): string[][] {
  const r = ctr(['task', 'ls'], 60_000);
  assert.equal(r.code, 0, describe(r));
  return r.stdout.trim().split('\n').slice(1).filter(Boolean).map((l) => l.trim().split(/\s+/));
}

async function until(what: string, cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}\n${containerdLog.slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

before(async () => {
  for (const [tool, pkg] of [['containerd', 'containerd'], ['ctr', 'containerd'], ['containerd-shim-runc-v2', 'containerd'],
    ['docker-registry', 'docker-registry'], ['skopeo', 'skopeo'], ['mke2fs', 'e2fsprogs']]) requireTool(tool, pkg);
  work = mkdtempSync(join(tmpdir(), 'wisp-containerd-'));
  await ensureGuest();
  const u = await ensureDebianUserland({ packages: ['busybox-static'] });
  const base = spawnSync('tar', ['-C', u.rootDir, '--numeric-owner', '--owner=0', '--group=0', '-cf', '-', '.'], { maxBuffer: 1 << 30 });
  assert.equal(base.status, 0, String(base.stderr));
  registry = await LocalRegistry.start(join(work, 'registry'));
  writeOciLayout(join(work, 'layout'), {
    tag: 'v1',
    otherPlatforms: ['amd64'],
    config: { Cmd: ['/bin/busybox', 'sh', '-c', 'echo "hello from $(hostname) as $(id -u)"; echo to-stderr >&2; exit 42'], Env: ['PATH=/usr/bin:/bin'] },
    layers: [{ tar: base.stdout, compression: 'gzip' }, { compression: 'zstd', entries: [{ path: 'etc/motd', content: 'from a second layer\n' }] }],
  });
  image = `${registry.host}/tests/busybox:v1`;
  skopeoCopy(`oci:${join(work, 'layout')}:v1`, `docker://${image}`, ['--all']);

  // `--runc-binary wisp-runc` is looked up in PATH by the shim, which inherits containerd's environment.
  mkdirSync(join(work, 'bin'));
  symlinkSync(join(repoRoot(), 'bin/wisp-runc.js'), join(work, 'bin/wisp-runc'));
  env = { ...process.env, PATH: `${join(work, 'bin')}:${process.env.PATH ?? '/usr/bin:/bin'}` };
  const config = join(work, 'containerd.toml');
  writeFileSync(config, [
    'version = 2',
    `root = "${join(work, 'root')}"`,
    `state = "${join(work, 'state')}"`,
    // Only what ctr needs: no CRI (CNI, streaming server), no snapshotters that want special filesystems.
    'disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs"]',
    '[grpc]', `  address = "${join(work, 'containerd.sock')}"`,
    '[ttrpc]', `  address = "${join(work, 'containerd.sock.ttrpc')}"`,
    '[plugins."io.containerd.internal.v1.opt"]', `  path = "${join(work, 'opt')}"`,
    '[plugins."io.containerd.runtime.v2.task"]', '  platforms = ["linux/riscv64"]',
    '',
  ].join('\n'));
  containerd = spawn('containerd', ['--config', config], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  containerd.stderr!.setEncoding('utf8');
  containerd.stderr!.on('data', (s: string) => { containerdLog = (containerdLog + s).slice(-20_000); });
  await until('containerd to serve', () => containerdLog.includes('containerd successfully booted') || containerd!.exitCode !== null, 60_000);
  assert.equal(containerd.exitCode, null, `containerd exited:\n${containerdLog}`);
});

after(async () => {
  if (containerd && containerd.exitCode === null) {
    // Whatever a failed test left: its tasks (and their shims and VMM processes), then containerd.
    try {
      for (const [t] of tasks()) ctr(['task', 'delete', '--force', t], 60_000);
      for (const c of ctr(['container', 'ls', '-q'], 60_000).stdout.split('\n').filter(Boolean)) ctr(['container', 'delete', c], 60_000);
    } catch { /* containerd gone */ }
    containerd.kill('SIGTERM');
    await new Promise((r) => { containerd!.once('exit', r); setTimeout(r, 10_000); });
  }
  registry?.stop();
  // Snapshots a failed delete left mounted under the temp dir.
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4]).filter((m) => m?.startsWith(work + '/'));
  for (const m of mounts.reverse()) spawnSync('umount', ['-l', m]);
  rmSync(work, { recursive: true, force: true });
  rmSync(`/run/containerd/runc/${ns}`, { recursive: true, force: true }); // wisp-runc's state root for our namespace
});

test('ctr pulls the riscv64 image from the registry', { timeout: 300_000 }, () => {
  const r = ctr(['image', 'pull', '--plain-http', '--platform', 'linux/riscv64', image], 300_000);
  assert.equal(r.code, 0, describe(r));
  const ls = ctr(['image', 'ls', '-q'], 60_000);
  assert.deepEqual(ls.stdout.trim().split('\n'), [image]);
});

test('ctr run --runc-binary wisp-runc: the output appears and ctr exits with the container\'s status', { timeout: 600_000 }, () => {
  const r = ctr(['run', '--rm', '--platform', 'linux/riscv64', '--runc-binary', 'wisp-runc', image, id('once')]);
  assert.equal(r.code, 42, describe(r));
  // ctr's spec names no hostname: runc's container would have the host's, and so has the VM.
  assert.equal(r.stdout, `hello from ${hostname()} as 0\n`, describe(r));
  assert.match(r.stderr, /to-stderr/, describe(r));
  assert.deepEqual(tasks(), [], '--rm leaves no task');
  assert.equal(ctr(['container', 'ls', '-q'], 60_000).stdout, '');
});

test('a detached container: ctr task ls, ps, pause, resume, kill and delete', { timeout: 600_000 }, async () => {
  const name = id('detached');
  const r = ctr(['run', '-d', '--platform', 'linux/riscv64', '--runc-binary', 'wisp-runc', image, name,
    '/bin/busybox', 'sh', '-c', 'trap "exit 7" TERM; while :; do /bin/busybox sleep 1; done']);
  assert.equal(r.code, 0, describe(r));
  const running = tasks();
  assert.equal(running.length, 1, JSON.stringify(running));
  const [tid, pid, status] = running[0];
  assert.equal(tid, name);
  assert.equal(status, 'RUNNING');
  // The task's pid is the VMM process wisp-runc started, alive on the host.
  assert.ok(existsSync(`/proc/${pid}`), `pid ${pid} runs`);
  assert.match(readFileSync(`/proc/${pid}/cmdline`, 'utf8'), /vmm-main\.js/);
  const ps = ctr(['task', 'ps', name], 60_000);
  assert.match(ps.stdout, new RegExp(`^${pid}\\b`, 'm'), describe(ps));

  assert.equal(ctr(['task', 'pause', name], 60_000).code, 0);
  assert.equal(tasks()[0]?.[2], 'PAUSED');
  assert.equal(ctr(['task', 'resume', name], 60_000).code, 0);
  assert.equal(tasks()[0]?.[2], 'RUNNING');
  // ctr task exec: a second process in the running container, its own output and status. (It waits
  // a second before exiting: once, stderr written just before an immediate exit did not reach ctr,
  // while wisp-runc delivered it every time when driven directly; see the notes of issue 14.)
  const ex = ctr(['task', 'exec', '--exec-id', 'e1', name, '/bin/busybox', 'sh', '-c', 'echo "from exec $((6 * 7))"; echo exec-err >&2; /bin/busybox sleep 1; exit 4']);
  assert.equal(ex.code, 4, describe(ex));
  assert.equal(ex.stdout, 'from exec 42\n', describe(ex));
  assert.match(ex.stderr, /exec-err/, describe(ex));
  const missing = ctr(['task', 'exec', '--exec-id', 'e2', name, '/no/such/program']);
  assert.notEqual(missing.code, 0, describe(missing));
  assert.match(missing.stderr, /unable to start container process/, describe(missing));
  assert.equal(tasks()[0]?.[2], 'RUNNING', 'the container runs on after its exec\'d processes');
  const del = ctr(['task', 'delete', name], 60_000);
  assert.notEqual(del.code, 0, 'a running task cannot be deleted');
  assert.equal(ctr(['task', 'kill', name], 60_000).code, 0); // SIGTERM
  await until('the task to stop', () => tasks()[0]?.[2] === 'STOPPED', 300_000);
  const gone = ctr(['task', 'delete', name], 60_000);
  assert.equal(gone.code, 0, describe(gone));
  assert.match(gone.stderr, /exit code 7/, 'ctr reports the trap\'s status');
  assert.deepEqual(tasks(), []);
  assert.equal(ctr(['container', 'delete', name], 60_000).code, 0);
  assert.ok(!existsSync(`/proc/${pid}`) || /^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8')), 'the VMM process is gone');
});

test('a bind mount: ctr run fails with wisp-runc\'s reason, and nothing is left running', { timeout: 300_000 }, () => {
  const name = id('bind');
  const r = ctr(['run', '--rm', '--platform', 'linux/riscv64', '--runc-binary', 'wisp-runc',
    '--mount', `type=bind,src=${work},dst=/data,options=rbind:ro`, image, name], 300_000);
  assert.notEqual(r.code, 0, describe(r));
  // The shim reads the reason from wisp-runc's --log (runc's JSON entries) into its error.
  assert.match(r.stderr, new RegExp(`OCI runtime create failed: .*"mounts\\[\\d+\\]" \\(a bind mount of ${work} on /data\\) is not supported`), describe(r));
  assert.deepEqual(tasks(), []);
  ctr(['container', 'delete', name], 60_000);
  assert.ok(!existsSync(`/run/containerd/runc/${ns}/${name}`), 'no wisp-runc state left');
});
