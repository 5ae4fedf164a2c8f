/**
 * `wisp-runc exec`: more processes in a running container VM, as containerd's shim starts them
 * (`--process FILE --detach --pid-file F`, stdio the relay's fds) and as a person does (ID ARGS, in the
 * foreground). Shown: stdout, stderr and stdin of the exec'd process apart from the container's; its
 * exit status; a signal to the relay reaching it; two at once; a missing program; exec in a stopped
 * container refused. Bundle root: Debian's riscv64 busybox-static (debian-userland.ts).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, cpSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runcHarness, until, type RuncResult } from '../helpers/runc-harness.js';

const h = runcHarness('wisp-runc-exec-');
const runcBin = (): string => h.runcBin;
const stateRoot = (): string => h.stateRoot();

const runc = (args: string[], input?: string): RuncResult => h.runc(args, input);
const describe = (r: { code: number | null; stdout: string; stderr: string }): string => `exit ${r.code}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;


test('exec: output, input and status of more processes in a running container', { timeout: 900_000 }, async () => {
  const bundle = join(h.work, 'b');
  mkdirSync(bundle);
  cpSync(h.rootfs, join(bundle, 'rootfs'), { recursive: true, verbatimSymlinks: true });
  writeFileSync(join(bundle, 'rootfs', 'marker'), 'in the container\n');
  writeFileSync(join(bundle, 'config.json'), JSON.stringify({
    ociVersion: '1.0.2', root: { path: 'rootfs' },
    process: { args: ['/bin/busybox', 'sh', '-c', 'echo main-started; trap "exit 3" TERM; while :; do /bin/busybox sleep 1; done'], env: ['PATH=/usr/bin:/bin', 'FROM=container'], cwd: '/', user: { uid: 0, gid: 0 } },
    mounts: [{ destination: '/proc', type: 'proc', source: 'proc' }],
  }));
  const mainOut = join(h.work, 'main.out');
  {
    // (Files, not pipes: the VMM process keeps them after create returns.)
    const o = openSync(mainOut, 'w'), e = openSync(join(h.work, 'main.err'), 'w');
    const c = spawnSync(process.execPath, [runcBin(), '--root', stateRoot(), 'create', '--bundle', bundle, 'c1'], { stdio: ['ignore', o, e], timeout: 600_000 });
    closeSync(o);
    closeSync(e);
    assert.equal(c.status, 0, readFileSync(join(h.work, 'main.err'), 'utf8'));
  }
  const early = runc(['exec', 'c1', 'true']);
  assert.equal(early.code, 1, describe(early));
  assert.match(early.stderr, /cannot exec in a created container/);
  assert.equal(runc(['start', 'c1']).code, 0);
  await until('the main process', () => readFileSync(mainOut, 'utf8').includes('main-started'), 120_000);

  // In the foreground, as a person runs it: the container's env and cwd, -e and --cwd on top; stdin.
  const fg = runc(['exec', '-e', 'EXTRA=1', '--cwd', '/tmp', 'c1', '/bin/busybox', 'sh', '-c',
    'read line; echo "got:$line from:$FROM extra:$EXTRA cwd:$(pwd) $(/bin/busybox cat /marker)"; echo to-stderr >&2; exit 5'], 'fed in\n');
  assert.equal(fg.code, 5, describe(fg));
  assert.equal(fg.stdout, 'got:fed in from:container extra:1 cwd:/tmp in the container\n', describe(fg));
  assert.equal(fg.stderr, 'to-stderr\n', describe(fg));
  // 200 KiB through stdin and back out (more than one read's worth, more than one stream line).
  const big = Array.from({ length: 4096 }, (_, i) => `line ${i} ${'x'.repeat(40)}`).join('\n') + '\n';
  const cat = runc(['exec', 'c1', '/bin/busybox', 'cat'], big);
  assert.equal(cat.code, 0, cat.stderr);
  assert.ok(cat.stdout === big, `cat gave back ${cat.stdout.length} of ${big.length} bytes`);

  // As the shim does it: --process FILE --detach --pid-file; the relay holds the stdio files and
  // its status is the process's. Two at once, with the same program.
  const procFile = join(h.work, 'process.json');
  writeFileSync(procFile, JSON.stringify({
    terminal: false, user: { uid: 1000, gid: 1000 }, cwd: '/', env: ['PATH=/usr/bin:/bin'],
    args: ['/bin/busybox', 'sh', '-c', 'echo "uid:$(/bin/busybox id -u) gid:$(/bin/busybox id -g) $(/bin/busybox cat /marker)"; /bin/busybox sleep 2; echo done'],
  }));
  const detached = await Promise.all(['d1', 'd2'].map(async (name) => {
    const out = join(h.work, `${name}.out`), pidFile = join(h.work, `${name}.pid`);
    const o = openSync(out, 'w'), e = openSync(`${out}.err`, 'w');
    const r = spawnSync(process.execPath, [runcBin(), '--root', stateRoot(), 'exec', '--process', procFile, '--detach', '--pid-file', pidFile, 'c1'],
      { stdio: ['ignore', o, e], timeout: 300_000 });
    closeSync(o);
    closeSync(e);
    assert.equal(r.status, 0, readFileSync(`${out}.err`, 'utf8'));
    const pid = Number(readFileSync(pidFile, 'utf8'));
    assert.ok(pid > 0);
    return { out, pid };
  }));
  for (const d of detached) {
    assert.match(readFileSync(`/proc/${d.pid}/cmdline`, 'utf8').replace(/\0/g, ' '), /exec-main\.js/);
    await until(`exec relay ${d.pid} to end`, () => !existsSync(`/proc/${d.pid}`) || /^State:\s+Z/m.test(readFileSync(`/proc/${d.pid}/status`, 'utf8')), 120_000);
    assert.equal(readFileSync(d.out, 'utf8'), 'uid:1000 gid:1000 in the container\ndone\n');
  }

  // A signal to the relay reaches the process.
  const sig = spawn(process.execPath, [runcBin(), '--root', stateRoot(), 'exec', 'c1', '/bin/busybox', 'sh', '-c', 'trap "echo got-term; exit 9" TERM; echo ready; while :; do /bin/busybox sleep 1; done'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let sigOut = '';
  sig.stdout.setEncoding('utf8').on('data', (s: string) => { sigOut += s; });
  await until('the exec\'d process to be ready', () => sigOut.includes('ready'), 120_000);
  sig.kill('SIGTERM');
  const sigCode = await new Promise<number | null>((r) => sig.on('exit', (c) => r(c)));
  assert.equal(sigCode, 9);
  assert.equal(sigOut, 'ready\ngot-term\n');

  const missing = runc(['exec', 'c1', '/no/such/program']);
  assert.equal(missing.code, 1, describe(missing));
  assert.match(missing.stderr, /^wisp-runc: unable to start container process: .*\/no\/such\/program/m, describe(missing));
  const tty = runc(['exec', '-t', 'c1', 'sh']);
  assert.equal(tty.code, 1);
  assert.match(tty.stderr, /exec with a terminal .* is not supported by wisp-runc yet/);

  assert.equal(readFileSync(mainOut, 'utf8'), 'main-started\n', 'exec\'d output stays out of the container\'s');
  assert.equal(runc(['kill', 'c1', 'TERM']).code, 0);
  await until('the container to stop', () => (JSON.parse(runc(['state', 'c1']).stdout) as { status: string }).status === 'stopped', 120_000);
  const late = runc(['exec', 'c1', 'true']);
  assert.equal(late.code, 1);
  assert.match(late.stderr, /cannot exec in a stopped container/);
  assert.equal(runc(['delete', 'c1']).code, 0);
});
