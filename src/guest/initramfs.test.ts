import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { isElf } from './elf-modinfo.js';
import { GuestError } from './guest-error.js';
import { buildInitramfs, planModules } from './initramfs.js';
import { fakeModule, fakeModulesDir } from './testing/fake-kernel.js';

const VERSION = '6.12.0-test-riscv64';
// A hand-written modules.dep in depmod's style; rng-core is built in, as in Debian's kernel.
const MODS = [
  'kernel/crypto/crc32c_generic.ko.xz', 'kernel/lib/libcrc32c.ko.xz', 'kernel/lib/crc16.ko.xz',
  'kernel/fs/mbcache.ko.xz', 'kernel/fs/jbd2/jbd2.ko.xz', 'kernel/fs/ext4/ext4.ko.xz',
  'kernel/drivers/virtio/virtio_mmio.ko.xz', 'kernel/drivers/block/virtio_blk.ko.xz', 'kernel/net/core/failover.ko.xz',
  'kernel/drivers/net/net_failover.ko.xz', 'kernel/drivers/net/virtio_net.ko.xz', 'kernel/drivers/char/hw_random/virtio-rng.ko.xz',
  'kernel/fs/fat/vfat.ko.xz', 'kernel/fs/fat/fat.ko.xz',
];
const DEP = `kernel/fs/ext4/ext4.ko.xz: kernel/lib/crc16.ko.xz kernel/fs/mbcache.ko.xz kernel/fs/jbd2/jbd2.ko.xz
kernel/drivers/net/virtio_net.ko.xz: kernel/drivers/net/net_failover.ko.xz kernel/net/core/failover.ko.xz
kernel/drivers/net/net_failover.ko.xz: kernel/net/core/failover.ko.xz
kernel/drivers/char/hw_random/virtio-rng.ko.xz: kernel/drivers/char/hw_random/rng-core.ko
kernel/fs/fat/vfat.ko.xz: kernel/fs/fat/fat.ko.xz
${MODS.filter((m) => !/ext4|virtio_net|net_failover|virtio-rng|vfat/.test(m)).map((m) => `${m}:`).join('\n')}
`;

let modulesDir = '';
let work = '';
let busyboxPath = '';

before(() => {
  modulesDir = fakeModulesDir(MODS.map((path) => ({ path })), { modulesDep: DEP, builtin: ['kernel/drivers/char/hw_random/rng-core.ko'] });
  work = mkdtempSync(join(tmpdir(), 'wisp-initramfs-'));
  busyboxPath = join(work, 'busybox');
  writeFileSync(busyboxPath, fakeModule({ name: 'not-really-busybox' }));
});
after(() => {
  rmSync(modulesDir, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

/** Unpack a gzip'd newc archive with the host's cpio; returns the directory. */
function unpack(archive: Buffer): string {
  const dir = mkdtempSync(join(work, 'x-'));
  const r = spawnSync('cpio', ['-idm', '--quiet', '--no-absolute-filenames'], { input: gunzipSync(archive), cwd: dir });
  if (r.error) assert.fail(`host "cpio" is needed for this test (Debian package cpio): ${r.error.message}`);
  assert.equal(r.status, 0, String(r.stderr));
  return dir;
}

function list(archive: Buffer): string[] {
  const r = spawnSync('cpio', ['-it', '--quiet'], { input: gunzipSync(archive), encoding: 'utf8' });
  if (r.error) assert.fail(`host "cpio" is needed for this test (Debian package cpio): ${r.error.message}`);
  return r.stdout.trim().split('\n');
}

test('the default initramfs has /init, busybox, console and the modules, dependencies first', async () => {
  const img = await buildInitramfs({ busyboxPath, modulesDir, kernelVersion: VERSION });
  const names = list(img);
  for (const n of ['init', 'bin/busybox', 'bin/sh', 'dev/console', 'proc', 'sys', 'newroot', `lib/modules/${VERSION}/modules.dep`]) {
    assert.ok(names.includes(n), `${n} in ${names.join(' ')}`);
  }
  assert.ok(!names.some((n) => n.endsWith('.xz')), 'no compressed module left');
  assert.ok(!names.some((n) => /fat/.test(n)), 'modules not asked for stay out');

  const dir = unpack(img);
  const init = readFileSync(join(dir, 'init'), 'utf8');
  const loads = [...init.matchAll(/^load '([^']+)'$/gm)].map((m) => m[1]!);
  assert.deepEqual(loads.map((p) => p.slice(p.lastIndexOf('/') + 1)), [
    'crc32c_generic.ko', 'libcrc32c.ko', 'crc16.ko', 'mbcache.ko', 'jbd2.ko', 'ext4.ko', 'virtio_mmio.ko',
    'virtio_blk.ko', 'failover.ko', 'net_failover.ko', 'virtio_net.ko', 'virtio-rng.ko',
  ]);
  for (const p of loads) {
    assert.ok(isElf(readFileSync(join(dir, 'lib/modules', VERSION, p))), `${p} is a decompressed ELF`);
  }
  // The in-guest modules.dep names the decompressed files.
  assert.match(readFileSync(join(dir, 'lib/modules', VERSION, 'modules.dep'), 'utf8'), /^kernel\/fs\/ext4\/ext4.ko: kernel\/lib\/crc16.ko /m);
  assert.match(init, /setsid cttyhack sh/);
  assert.match(init, /poweroff -f/);
  assert.match(init, /switch_root/);
});

test('the /init script is valid sh', async () => {
  const dir = unpack(await buildInitramfs({ busyboxPath, modulesDir, kernelVersion: VERSION, initCmd: 'echo hi' }));
  const r = spawnSync('sh', ['-n', join(dir, 'init')], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
});

test('same inputs, same bytes', async () => {
  const a = await buildInitramfs({ busyboxPath, modulesDir, kernelVersion: VERSION });
  const b = await buildInitramfs({ busyboxPath, modulesDir, kernelVersion: VERSION });
  assert.ok(a.equals(b));
});

test('a script or an init command is embedded as /wisp/run and run before powering off', async () => {
  const withScript = unpack(await buildInitramfs({ busyboxPath, modulesDir, kernelVersion: VERSION, script: Buffer.from('echo from-script\n') }));
  assert.equal(readFileSync(join(withScript, 'wisp/run'), 'utf8'), 'echo from-script\n');
  assert.match(readFileSync(join(withScript, 'init'), 'utf8'), /^if true; then$/m);
  const withCmd = unpack(await buildInitramfs({ busyboxPath, modulesDir, kernelVersion: VERSION, initCmd: 'uname -a' }));
  assert.equal(readFileSync(join(withCmd, 'wisp/run'), 'utf8'), '#!/bin/sh\nuname -a\n');
  const plain = list(await buildInitramfs({ busyboxPath, modulesDir, kernelVersion: VERSION }));
  assert.ok(!plain.includes('wisp/run'));
  await assert.rejects(buildInitramfs({ busyboxPath, modulesDir, kernelVersion: VERSION, initCmd: 'a', script: Buffer.from('b') }), /either a script or an init command/);
});

test('a chosen module list replaces the default; extras add to it', async () => {
  const only = await planModules(modulesDir, { modules: ['vfat'] });
  assert.deepEqual(only.order.map((e) => e.name), ['fat', 'vfat']);
  const extra = await planModules(modulesDir, { extraModules: ['vfat'] });
  assert.deepEqual(extra.order.slice(-2).map((e) => e.name), ['fat', 'vfat']);
  assert.equal(extra.order.length, 14);
  assert.deepEqual(extra.builtin, ['rng_core']);
});

test('missing modules, modules.dep or busybox are clear errors', async () => {
  await assert.rejects(planModules(modulesDir, { modules: ['vfat', 'nope'] }), (e: unknown) => e instanceof GuestError && e.code === 'not-found' && /Kernel module nope not found/.test(e.message));
  // Optional defaults may be absent; required ones may not.
  const bare = fakeModulesDir([{ path: 'kernel/fs/ext4/ext4.ko.xz' }], { modulesDep: 'kernel/fs/ext4/ext4.ko.xz:\n' });
  try {
    await assert.rejects(planModules(bare), /Kernel modules crc32c_generic, libcrc32c, crc16, mbcache, jbd2, virtio_mmio/);
    await assert.rejects(planModules(work), /Cannot read .*modules\.dep: ENOENT/);
  } finally {
    rmSync(bare, { recursive: true, force: true });
  }
  await assert.rejects(buildInitramfs({ busyboxPath: join(work, 'nope'), modulesDir, kernelVersion: VERSION }), /Cannot read busybox .*nope: ENOENT/);
  writeFileSync(join(work, 'text'), 'not an executable');
  await assert.rejects(buildInitramfs({ busyboxPath: join(work, 'text'), modulesDir, kernelVersion: VERSION }), /is not an ELF executable/);
  await assert.rejects(buildInitramfs({ busyboxPath, modulesDir, kernelVersion: '../x' }), /not a plain directory name/);
});
