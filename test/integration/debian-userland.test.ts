/**
 * A Debian userland (src/guest/debian-userland.ts) is real: `hello` and its closure (libc6, ...) are
 * fetched from Debian's riscv64 archive, unpacked, put on an ext4 disk, and the dynamically linked
 * program runs under wisp, chrooted into the disk by the default guest.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ensureDebianUserland } from '../../src/guest/debian-userland.js';
import { buildDisk, consoleLines, describeResult, ensureGuest, requireTool, runWisp } from '../helpers/guest-fixtures.js';

let work = '';
before(async () => {
  requireTool('mke2fs', 'e2fsprogs');
  requireTool('dpkg-deb', 'dpkg');
  work = mkdtempSync(join(tmpdir(), 'wisp-userland-'));
  await ensureGuest();
});
after(() => rmSync(work, { recursive: true, force: true }));

test('a Debian program from the userland runs in the guest', { timeout: 600_000 }, async () => {
  const u = await ensureDebianUserland({ packages: ['hello'] });
  assert.ok(u.packages.some((p) => p.startsWith('libc6=')), `libc6 is in the closure: ${u.packages.join(' ')}`);
  assert.ok(existsSync(join(u.rootDir, 'usr/bin/hello')));
  assert.ok(lstatSync(join(u.rootDir, 'lib')).isSymbolicLink());
  assert.ok(existsSync(join(u.rootDir, 'lib/ld-linux-riscv64-lp64d.so.1')), 'the dynamic loader is where the ABI says');
  // A second call is served from the cache.
  const again = await ensureDebianUserland({ packages: ['hello'], offline: true });
  assert.equal(again.rootDir, u.rootDir);

  const tree = join(work, 'tree');
  assert.equal(spawnSync('cp', ['-al', u.rootDir, tree]).status, 0);
  const disk = join(work, 'hello.ext4');
  await buildDisk(tree, disk, '64M');
  const r = await runWisp(['run', '--disk', `${disk},ro`, '--init-cmd',
    'mkdir -p /mnt && mount -t ext4 -o ro /dev/vda /mnt && echo "HELLO-OUT $(chroot /mnt /usr/bin/hello)"'], { timeoutMs: 300_000 });
  assert.equal(r.code, 0, describeResult(r));
  assert.ok(consoleLines(r.stdout).includes('HELLO-OUT Hello, world!'), describeResult(r));
});
