/**
 * wisp-runc's command line without booting anything: the answers containerd's shim parses, and every
 * refusal (exit status 1, the reason on stderr and as runc's JSON log entry, nothing left behind).
 * The lifecycle with real VMs is in test/integration/wisp-runc.test.ts.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { repoRoot } from '../../../test/helpers/guest-fixtures.js';

const work = mkdtempSync(join(tmpdir(), 'wisp-runc-cli-'));
after(() => rmSync(work, { recursive: true, force: true }));
const root = join(work, 'state');
const logFile = join(work, 'log.json');

function runc(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(repoRoot(), 'bin/wisp-runc.js'), '--root', root, '--log', logFile, '--log-format', 'json', ...args],
    { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function lastLogError(): string {
  const entries = readFileSync(logFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { level: string; msg: string; time: string });
  const e = entries.filter((x) => x.level === 'error').at(-1)!;
  assert.ok(!Number.isNaN(Date.parse(e.time)));
  return e.msg;
}

function bundle(name: string, config: Record<string, unknown>): string {
  const dir = join(work, name);
  mkdirSync(join(dir, 'rootfs/bin'), { recursive: true });
  writeFileSync(join(dir, 'rootfs/bin/sh'), '#!/bin/sh\n');
  chmodSync(join(dir, 'rootfs/bin/sh'), 0o755);
  writeFileSync(join(dir, 'config.json'), JSON.stringify({
    ociVersion: '1.0.2', root: { path: 'rootfs' }, process: { args: ['/bin/sh'], env: ['PATH=/bin'], cwd: '/' }, ...config,
  }));
  return dir;
}

test('--version, features and an empty list', () => {
  const v = runc('--version');
  assert.equal(v.code, 0);
  assert.match(v.stdout, /^wisp-runc version \d+\.\d+\.\d+\nspec: 1\.0\.2\n$/);
  const f = runc('features');
  assert.equal(f.code, 0);
  const features = JSON.parse(f.stdout);
  assert.equal(features.ociVersionMax, '1.0.2');
  assert.deepEqual(features.hooks, []);
  assert.ok(features.mountOptions.includes('nosuid'));
  const l = runc('list', '--format', 'json');
  assert.equal(l.code, 0);
  assert.deepEqual(JSON.parse(l.stdout), []);
  assert.equal(runc('list').stdout, 'ID   PID   STATUS   BUNDLE   CREATED   OWNER\n');
});

test('a container that does not exist: runc\'s words, which the shim matches', () => {
  for (const args of [['state', 'ghost'], ['start', 'ghost'], ['kill', 'ghost', 'KILL'], ['delete', 'ghost'], ['ps', '--format', 'json', 'ghost']]) {
    const r = runc(...args);
    assert.equal(r.code, 1, args.join(' '));
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /container "ghost" does not exist/);
    assert.equal(lastLogError(), 'container "ghost" does not exist');
  }
});

test('bad command lines', () => {
  const cases: [string[], RegExp][] = [
    [['frobnicate', 'x'], /unknown command "frobnicate"/],
    [['exec'], /exec needs a container id/],
    [['exec', '--frob', 'x'], /exec: unknown option "--frob"/],
    [['exec', 'ghost', 'true'], /container "ghost" does not exist/],
    [['state'], /state needs exactly one container id, got none/],
    [['pause'], /pause needs exactly one container id, got none/],
    [['update', 'x'], /"update" is not supported by wisp-runc/],
    [['state', 'a', 'b'], /state needs exactly one container id, got "a b"/],
    [['kill', 'x', 'SIGNOPE'], /invalid signal "SIGNOPE"/],
    [['kill', 'x', '99'], /invalid signal "99"/],
    [['create', '--bundle'], /create: --bundle needs a value/],
    [['create', '--frob', 'x'], /create: unknown option "--frob"/],
    [['create', 'bad/id'], /Invalid container id "bad\/id"/],
    [['list', '--format', 'yaml'], /invalid format option "yaml"/],
    [['create', '--preserve-fds', '2', '--bundle', work, 'x'], /--preserve-fds is not supported/],
  ];
  for (const [args, pattern] of cases) {
    const r = runc(...args);
    assert.equal(r.code, 1, args.join(' '));
    assert.match(r.stderr, pattern, args.join(' '));
    assert.match(lastLogError(), pattern);
  }
  const g = spawnSync(process.execPath, [join(repoRoot(), 'bin/wisp-runc.js'), '--log-format', 'xml', 'list'], { encoding: 'utf8' });
  assert.equal(g.status, 1);
  assert.match(g.stderr, /--log-format must be text or json, got "xml"/);
});

test('create refuses what it cannot run before it makes anything', () => {
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['bind', { mounts: [{ destination: '/data', type: 'bind', source: '/srv', options: ['rbind'] }] }, /config\.json "mounts\[0\]" \(a bind mount of \/srv on \/data\) is not supported/],
    ['hooks', { hooks: { createRuntime: [{ path: '/usr/bin/true' }] } }, /"hooks\.createRuntime" is not supported/],
    ['noexec', { process: { args: ['nothere'], env: ['PATH=/bin'], cwd: '/' } }, /unable to start container process: exec: "nothere": executable file not found in \$PATH/],
    ['tty', { process: { args: ['/bin/sh'], cwd: '/', terminal: true } }, /cannot allocate tty if wisp-runc will detach without setting console socket/],
  ];
  for (const [name, config, pattern] of cases) {
    const r = runc('create', '--bundle', bundle(name, config), '--pid-file', join(work, `${name}.pid`), name);
    assert.equal(r.code, 1, name);
    assert.match(r.stderr, pattern, name);
    assert.match(lastLogError(), pattern, name);
    assert.ok(!existsSync(join(work, `${name}.pid`)), 'no pid file');
    assert.deepEqual(existsSync(root) ? readdirSync(root) : [], [], 'no state left');
  }
  const sock = runc('create', '--bundle', bundle('sock', {}), '--console-socket', join(work, 'c.sock'), 'sock');
  assert.match(sock.stderr, /cannot use console socket if wisp-runc will not detach or allocate tty/);
  const missing = runc('create', '--bundle', join(work, 'absent'), 'x');
  assert.match(missing.stderr, /The bundle .*absent has no config\.json/);
});
