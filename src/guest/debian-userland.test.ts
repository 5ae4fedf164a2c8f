import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { addMinimalAccounts, ensureDebianUserland, mergeUsr } from './debian-userland.js';
import { GuestError } from './guest-error.js';
import { parseSimulatedInstalls } from './private-apt.js';

test('apt-get --simulate output gives the closure as name and version, in order', () => {
  const text = [
    'NOTE: This is only a simulation!',
    'Inst gcc-14-base (14.2.0-19 Debian:13.8/stable [riscv64])',
    'Inst libgcc-s1 (14.2.0-19 Debian:13.8/stable [riscv64]) []',
    'Inst libc6:riscv64 (2.41-12+deb13u5 Debian:13.8/stable [riscv64])',
    'Inst tzdata [2024a-1] (2025b-4 Debian:13.8/stable [all])',
    'Conf gcc-14-base (14.2.0-19 Debian:13.8/stable [riscv64])',
  ].join('\n');
  assert.deepEqual(parseSimulatedInstalls(text), [
    { name: 'gcc-14-base', version: '14.2.0-19' },
    { name: 'libgcc-s1', version: '14.2.0-19' },
    { name: 'libc6', version: '2.41-12+deb13u5' },
    { name: 'tzdata', version: '2025b-4' },
  ]);
});

test('merged /usr: files under /bin and /lib move into usr/, and the directories become links', () => {
  const root = mkdtempSync(join(tmpdir(), 'wisp-userland-merge-'));
  try {
    mkdirSync(join(root, 'bin'));
    writeFileSync(join(root, 'bin', 'old-tool'), 'a');
    mkdirSync(join(root, 'lib', 'riscv64-linux-gnu'), { recursive: true });
    writeFileSync(join(root, 'lib', 'riscv64-linux-gnu', 'liba.so'), 'b');
    mkdirSync(join(root, 'usr', 'lib', 'riscv64-linux-gnu'), { recursive: true });
    writeFileSync(join(root, 'usr', 'lib', 'riscv64-linux-gnu', 'libb.so'), 'c');
    mergeUsr(root);
    for (const d of ['bin', 'sbin', 'lib']) {
      assert.ok(lstatSync(join(root, d)).isSymbolicLink(), `/${d} is a link`);
      assert.equal(readlinkSync(join(root, d)), `usr/${d}`);
    }
    assert.equal(existsSync(join(root, 'lib64')), false, 'no lib64 link without usr/lib64');
    assert.equal(readFileSync(join(root, 'usr/bin/old-tool'), 'utf8'), 'a');
    assert.equal(readFileSync(join(root, 'usr/lib/riscv64-linux-gnu/liba.so'), 'utf8'), 'b');
    assert.equal(readFileSync(join(root, 'lib/riscv64-linux-gnu/libb.so'), 'utf8'), 'c');
    mergeUsr(root); // idempotent
    assert.equal(readlinkSync(join(root, 'bin')), 'usr/bin');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('accounts: root and nobody when base-passwd is not unpacked, its master files when it is', () => {
  const bare = mkdtempSync(join(tmpdir(), 'wisp-userland-acct-'));
  const withMaster = mkdtempSync(join(tmpdir(), 'wisp-userland-acct-'));
  try {
    addMinimalAccounts(bare);
    assert.match(readFileSync(join(bare, 'etc/passwd'), 'utf8'), /^root:x:0:0:/);
    assert.match(readFileSync(join(bare, 'etc/group'), 'utf8'), /^root:x:0:/);
    mkdirSync(join(withMaster, 'usr/share/base-passwd'), { recursive: true });
    writeFileSync(join(withMaster, 'usr/share/base-passwd/passwd.master'), 'root:*:0:0:root:/root:/bin/bash\ndaemon:*:1:1::/:/bin/false\n');
    writeFileSync(join(withMaster, 'usr/share/base-passwd/group.master'), 'root:*:0:\ndaemon:*:1:\n');
    addMinimalAccounts(withMaster);
    assert.match(readFileSync(join(withMaster, 'etc/passwd'), 'utf8'), /^daemon:\*:1:1:/m);
    assert.match(readFileSync(join(withMaster, 'etc/group'), 'utf8'), /^daemon:\*:1:/m);
  } finally {
    rmSync(bare, { recursive: true, force: true });
    rmSync(withMaster, { recursive: true, force: true });
  }
});

test('bad requests are refused before apt runs', async () => {
  await assert.rejects(ensureDebianUserland({ packages: [] }), (e: unknown) => e instanceof GuestError && e.code === 'bad-input');
  await assert.rejects(ensureDebianUserland({ packages: ['hello; rm -rf /'] }), (e: unknown) => e instanceof GuestError && e.code === 'bad-input');
  const empty = mkdtempSync(join(tmpdir(), 'wisp-userland-offline-'));
  try {
    await assert.rejects(ensureDebianUserland({ packages: ['hello'], cacheDir: empty, offline: true }),
      (e: unknown) => e instanceof GuestError && e.code === 'not-found' && /hello/.test(e.message));
  } finally {
    rmSync(empty, { recursive: true, force: true });
  }
});
