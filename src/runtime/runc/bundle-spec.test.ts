import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { readBundle, specFromJson } from './bundle-spec.js';
import { RuncError } from './runc-error.js';

const dir = mkdtempSync(join(tmpdir(), 'wisp-bundle-spec-'));
mkdirSync(join(dir, 'rootfs'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A config.json shaped as containerd's default spec for `ctr run` is. */
function ctrSpec(): Record<string, any> {
  return {
    ociVersion: '1.0.2-dev',
    process: {
      user: { uid: 1000, gid: 1000, additionalGids: [10, 20] },
      args: ['/bin/sh', '-c', 'echo hi'],
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'A=1'],
      cwd: '/work',
      capabilities: { bounding: ['CAP_CHOWN'], effective: ['CAP_CHOWN'], permitted: ['CAP_CHOWN'] },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: 'rootfs', readonly: false },
    hostname: 'box',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
      { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      { destination: '/run', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=755'] },
    ],
    linux: {
      resources: { devices: [{ allow: false, access: 'rwm' }], memory: { limit: 200 * 1024 * 1024 } },
      cgroupsPath: '/default/box',
      namespaces: [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }, { type: 'network' }],
      maskedPaths: ['/proc/kcore'],
      readonlyPaths: ['/proc/sys'],
      seccomp: { defaultAction: 'SCMP_ACT_ERRNO' },
    },
    annotations: { 'io.example': 'yes' },
  };
}

test('a ctr-style spec: the process, root, hostname, mounts and memory limit are taken', () => {
  const s = specFromJson(ctrSpec(), dir);
  assert.equal(s.rootfs, join(dir, 'rootfs'));
  assert.equal(s.memMiB, 200);
  assert.deepEqual(s.annotations, { 'io.example': 'yes' });
  assert.deepEqual(s.config.args, ['/bin/sh', '-c', 'echo hi']);
  assert.equal(s.config.cwd, '/work');
  assert.equal(s.config.user, '1000:1000');
  assert.deepEqual(s.config.additionalGids, [10, 20]);
  assert.equal(s.config.hostname, 'box');
  assert.equal(s.config.waitStart, true);
  assert.equal(s.config.terminal, false);
  // The standard mounts are the init's own; the others are passed on with their options.
  assert.deepEqual(s.config.mounts, [
    { type: 'mqueue', source: 'mqueue', target: '/dev/mqueue', options: 'nosuid,noexec,nodev' },
    { type: 'tmpfs', source: 'tmpfs', target: '/run', options: 'nosuid,nodev,mode=755' },
  ]);
});

test('terminal, console size, umask, read-only root, cgroup mount', () => {
  const j = ctrSpec();
  j.process.terminal = true;
  j.process.consoleSize = { height: 40, width: 120 };
  j.process.user.umask = 0o027;
  j.root.readonly = true;
  j.mounts.push({ destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['ro', 'nosuid'] });
  const s = specFromJson(j, dir);
  assert.equal(s.config.terminal, true);
  assert.deepEqual(s.consoleSize, { rows: 40, cols: 120 });
  assert.equal(s.config.umask, 0o027);
  assert.equal(s.config.readonlyRoot, true);
  assert.deepEqual(s.config.mounts!.at(-1), { type: 'cgroup2', source: 'cgroup', target: '/sys/fs/cgroup', options: 'ro,nosuid' });
});

function refused(mutate: (j: Record<string, any>) => void, pattern: RegExp, code = 'unsupported'): void {
  const j = ctrSpec();
  mutate(j);
  assert.throws(() => specFromJson(j, dir), (e: unknown) => e instanceof RuncError && e.code === code && pattern.test(e.message));
}

test('what a VM cannot honour is refused, naming the field', () => {
  refused((j) => j.mounts.push({ destination: '/data', type: 'bind', source: '/srv/data', options: ['rbind', 'ro'] }),
    /"mounts\[7\]" \(a bind mount of \/srv\/data on \/data\) is not supported/);
  refused((j) => j.mounts.push({ destination: '/data', type: 'none', source: '/srv', options: ['bind'] }), /bind mount of \/srv on \/data/);
  refused((j) => j.mounts.push({ destination: '/mnt', type: 'nfs', source: 'server:/x' }), /"mounts\[7\]" \(nfs on \/mnt\) is not supported/);
  refused((j) => { j.linux.namespaces[4].path = '/var/run/netns/cni-1'; }, /"linux\.namespaces\[4\]\.path" \(join the network namespace/);
  refused((j) => { j.hooks = { prestart: [{ path: '/bin/true' }] }; }, /"hooks\.prestart" is not supported/);
  refused((j) => { j.linux.sysctl = { 'net.ipv4.ip_forward': '1' }; }, /"linux\.sysctl" \(net\.ipv4\.ip_forward\)/);
  refused((j) => { j.linux.uidMappings = [{ containerID: 0, hostID: 1000, size: 1 }]; }, /"linux\.uidMappings"/);
  refused((j) => { j.linux.devices = [{ path: '/dev/kvm', type: 'c', major: 10, minor: 232 }]; }, /"linux\.devices\[0\]" \(\/dev\/kvm\)/);
  refused((j) => { j.linux.resources.memory.limit = 64 * 1024 * 1024; }, /memory\.limit" is 64 MiB: a container VM needs at least 128 MiB/);
  refused((j) => { j.windows = { layerFolders: [] }; j.windows.x = 1; }, /"windows" is not for Linux/);
  refused((j) => { j.ociVersion = '2.0.0'; }, /"ociVersion" is "2\.0\.0"/);
  refused((j) => { j.domainname = 'example.org'; }, /"domainname"/);
});

test('devices the guest has anyway are accepted', () => {
  const j = ctrSpec();
  j.linux.devices = [{ path: '/dev/fuse', type: 'c', major: 10, minor: 229 }, { path: '/dev/null', type: 'c', major: 1, minor: 3 }];
  assert.doesNotThrow(() => specFromJson(j, dir));
});

test('malformed specs: the field and the rule', () => {
  refused((j) => { j.process.args = []; }, /"process\.args" must name the program/, 'bad-bundle');
  refused((j) => { j.process.cwd = 'relative'; }, /"process\.cwd" must be an absolute path/, 'bad-bundle');
  refused((j) => { j.process.env = ['NOEQUALS']; }, /"process\.env\[0\]" must be KEY=VALUE/, 'bad-bundle');
  refused((j) => { j.process.user.uid = -1; }, /"process\.user\.uid" must be an integer/, 'bad-bundle');
  refused((j) => { j.process.args = ['a\0b']; }, /"process\.args\[0\]" must not hold a NUL/, 'bad-bundle');
  refused((j) => { j.root.path = 'missing'; }, /"root\.path" names .*missing, which is not a directory/, 'bad-bundle');
  refused((j) => { j.mounts[6].destination = '/run/../etc'; }, /must not hold "\.\."/, 'bad-bundle');
  refused((j) => { delete j.process; }, /"process" must be an object/, 'bad-bundle');
});

test('readBundle: a missing bundle, a missing or broken config.json', () => {
  assert.throws(() => readBundle(join(dir, 'nope')), /has no config\.json \(or does not exist\)/);
  writeFileSync(join(dir, 'config.json'), '{ not json');
  assert.throws(() => readBundle(dir), /Invalid .*config\.json: not JSON/);
  writeFileSync(join(dir, 'config.json'), JSON.stringify(ctrSpec()));
  assert.equal(readBundle(dir).config.hostname, 'box');
});

test('readBundle: a FIFO as config.json is refused without being opened (the open would block), an oversized one without being read whole', () => {
  const b = join(dir, 'fifo-bundle');
  mkdirSync(b);
  execFileSync('mkfifo', [join(b, 'config.json')]);
  assert.throws(() => readBundle(b), (e: unknown) => e instanceof RuncError && /config\.json: .*named pipe \(FIFO\)/.test(e.message));
  const big = join(dir, 'big-bundle');
  mkdirSync(big);
  writeFileSync(join(big, 'config.json'), Buffer.alloc((4 << 20) + 1, 0x20));
  assert.throws(() => readBundle(big), (e: unknown) => e instanceof RuncError && /config\.json: .*larger|too large|at most/i.test(e.message));
});
