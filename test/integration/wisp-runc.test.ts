/**
 * wisp-runc with real container VMs, driven as containerd's shim drives runc: a bundle whose root is
 * Debian's riscv64 busybox-static (debian-userland.ts). Shown: create (the VM boots, the process
 * waits) → state "created" with the pid of the pid file → start → "running", ps → kill → the process
 * got the signal, "stopped", delete; a terminal container whose pty master arrives over a console
 * socket (size, input, output); `run` in the foreground exits with the container's status and the
 * spec's mounts, user, hostname, env and cwd are the process's, with the loopback interface up.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, cpSync, createReadStream, existsSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConsoleSocket, setWinsize } from '../helpers/console-socket.js';
import { runcHarness, until, type RuncResult } from '../helpers/runc-harness.js';

const h = runcHarness('wisp-runc-it-');
const runcBin = (): string => h.runcBin;
const stateRoot = (): string => h.stateRoot();

function makeBundle(name: string, proc: Record<string, unknown>, extra: Record<string, unknown> = {}): string {
  const dir = join(h.work, name);
  mkdirSync(dir);
  cpSync(h.rootfs, join(dir, 'rootfs'), { recursive: true, verbatimSymlinks: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify({
    ociVersion: '1.0.2',
    root: { path: 'rootfs' },
    process: { env: ['PATH=/usr/bin:/bin'], cwd: '/', user: { uid: 0, gid: 0 }, ...proc },
    mounts: [{ destination: '/proc', type: 'proc', source: 'proc' }],
    linux: { namespaces: [{ type: 'pid' }, { type: 'mount' }, { type: 'network' }] },
    ...extra,
  }));
  return dir;
}

const runc = (...args: string[]): RuncResult => h.runc(args);

/** `create` as the shim runs it: stdout/stderr are files the container's process keeps. */
function createDetached(id: string, bundle: string, extra: string[] = []): Promise<{ code: number | null; out: string; err: string }> {
  const out = join(h.work, `${id}.out`), err = join(h.work, `${id}.err`);
  const o = openSync(out, 'w'), e = openSync(err, 'w');
  const child = spawn(process.execPath, [runcBin(), '--root', stateRoot(), 'create', '--bundle', bundle, '--pid-file', join(bundle, 'init.pid'), ...extra, id],
    { stdio: ['ignore', o, e] });
  closeSync(o);
  closeSync(e);
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, out, err })));
}

const state = (id: string): Record<string, unknown> => JSON.parse(runc('state', id).stdout) as Record<string, unknown>;


test('create, start, state, ps, pause, resume, kill, delete: the lifecycle the shim drives', { timeout: 600_000 }, async () => {
  const bundle = makeBundle('life', {
    args: ['/bin/busybox', 'sh', '-c', 'echo started; trap "echo got TERM; exit 3" TERM; while :; do /bin/busybox sleep 1; done'],
  });
  const c = await createDetached('life', bundle);
  assert.equal(c.code, 0, readFileSync(c.err, 'utf8'));
  const pid = Number(readFileSync(join(bundle, 'init.pid'), 'utf8'));
  assert.ok(pid > 0);
  assert.deepEqual({ ...state('life'), created: '' }, {
    ociVersion: '1.0.2', id: 'life', pid, status: 'created', bundle, rootfs: join(bundle, 'rootfs'), created: '', owner: 'root',
  });
  assert.equal(readFileSync(c.out, 'utf8'), '', 'nothing runs before start');
  const listed = JSON.parse(runc('list', '--format', 'json').stdout) as { id: string; status: string }[];
  assert.deepEqual(listed.map((x) => [x.id, x.status]), [['life', 'created']]);

  assert.equal(runc('start', 'life').code, 0);
  assert.equal(state('life').status, 'running');
  assert.deepEqual(JSON.parse(runc('ps', '--format', 'json', 'life').stdout), [pid]);
  await until('"started"', () => readFileSync(c.out, 'utf8').includes('started'), 120_000);
  const again = runc('start', 'life');
  assert.equal(again.code, 1);
  assert.match(again.stderr, /cannot start an already running container/);
  assert.equal(runc('pause', 'life').code, 0);
  assert.equal(state('life').status, 'paused');
  assert.match(runc('pause', 'life').stderr, /container already paused/);
  assert.match(runc('delete', 'life').stderr, /cannot delete container life that is not stopped: paused/);
  assert.equal(runc('resume', 'life').code, 0);
  assert.equal(state('life').status, 'running');
  assert.match(runc('resume', 'life').stderr, /container not paused/);
  const del = runc('delete', 'life');
  assert.equal(del.code, 1);
  assert.match(del.stderr, /cannot delete container life that is not stopped: running/);

  assert.equal(runc('kill', 'life', 'TERM').code, 0);
  await until('the VMM process to end', () => state('life').status === 'stopped', 120_000);
  assert.equal(state('life').pid, 0);
  assert.equal(readFileSync(c.out, 'utf8'), 'started\ngot TERM\n');
  const k = runc('kill', 'life', 'KILL');
  assert.equal(k.code, 1);
  assert.match(k.stderr, /container not running/);
  assert.equal(runc('delete', 'life').code, 0);
  assert.ok(!existsSync(join(stateRoot(), 'life')));
  assert.match(runc('state', 'life').stderr, /does not exist/);
});

test('a terminal: the pty master comes over the console socket; size, input and output pass', { timeout: 600_000 }, async () => {
  const bundle = makeBundle('tty', { terminal: true, args: ['/bin/busybox', 'sh', '-c', 'echo "tty=$(tty) size=$(stty size)"; read line; echo "got:$line"; exit 5'] });
  const sock = new ConsoleSocket(join(h.work, 'console.sock'));
  try {
    const created = createDetached('tty', bundle, ['--console-socket', sock.path]);
    const got = await sock.receive(400_000);
    assert.equal((await created).code, 0);
    assert.match(got.name, /^\/dev\/pts\/\d+$/);
    setWinsize(got.fd, 33, 101);
    let out = '';
    const reader = createReadStream('', { fd: got.fd, encoding: 'utf8' });
    reader.on('data', (s) => { out += s; });
    reader.on('error', () => {}); // EIO once the terminal's other side is closed
    assert.equal(runc('start', 'tty').code, 0);
    await until('the size line', () => /size=33 101/.test(out), 120_000);
    assert.match(out, /tty=\/dev\/pts\/0 size=33 101\r\n/);
    writeSync(got.fd, 'typed\r');
    await until('the VMM process to end', () => state('tty').status === 'stopped', 120_000);
    await until('the echo', () => out.includes('got:typed'), 10_000);
    assert.match(out, /typed\r\ngot:typed\r\n/, 'the guest terminal echoes, maps CR to NL and NL to CRLF; the host one adds nothing');
    reader.destroy(); // closes the master
    const rec = JSON.parse(readFileSync(join(stateRoot(), 'tty', 'state.json'), 'utf8')) as { exitStatus: number };
    assert.equal(rec.exitStatus, 5);
    assert.equal(runc('delete', 'tty').code, 0);
  } finally {
    sock.close();
  }
});

test('run in the foreground: the exit status, the mounts, user, hostname, env and cwd of the spec', { timeout: 600_000 }, async () => {
  const bundle = makeBundle('fg', {
    args: ['/bin/busybox', 'sh', '-c', 'echo "$(id -u):$(id -g):$(id -G | tr " " ,) $(hostname) $GREETING $(pwd)"; grep -E " /run | /dev/mqueue " /proc/mounts | cut -d" " -f1-4; cat /sys/class/net/lo/flags; exit 7'],
    env: ['PATH=/usr/bin:/bin', 'GREETING=hi'],
    cwd: '/h.work/dir',
    user: { uid: 1000, gid: 100, additionalGids: [100, 20] },
  }, {
    hostname: 'fgbox',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/run', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=750', 'size=1m'] },
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    ],
    linux: { resources: { memory: { limit: 192 * 1024 * 1024 } } },
  });
  const r = spawnSync(process.execPath, [runcBin(), '--root', stateRoot(), 'run', '--bundle', bundle, 'fg'], { encoding: 'utf8', timeout: 400_000 });
  assert.equal(r.status, 7, r.stderr);
  assert.equal(r.stdout, '1000:100:100,20 fgbox hi /h.work/dir\n' +
    'tmpfs /run tmpfs rw,nosuid,nodev,relatime,size=1024k,mode=750,inode64\n' +
    'mqueue /dev/mqueue mqueue rw,nosuid,nodev,noexec,relatime\n' +
    '0x9\n'); // lo is up (IFF_UP | IFF_LOOPBACK), as runc leaves it in a new network namespace
  assert.ok(!existsSync(join(stateRoot(), 'fg')), 'run deletes the container it made');
});
