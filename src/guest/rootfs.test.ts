import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { GuestError } from './guest-error.js';
import { buildRootfs, defaultRootfsSize, parseSize, treeUsage } from './rootfs.js';

let work = '';
let tree = '';

before(() => {
  work = mkdtempSync(join(tmpdir(), 'wisp-rootfs-'));
  tree = join(work, 'tree');
  mkdirSync(join(tree, 'etc'), { recursive: true });
  mkdirSync(join(tree, 'sbin'));
  writeFileSync(join(tree, 'etc', 'hostname'), 'wisp-guest\n');
  writeFileSync(join(tree, 'sbin', 'init'), '#!/bin/sh\necho hello from the root disk\n', { mode: 0o755 });
  writeFileSync(join(tree, 'big'), Buffer.alloc(300 * 1024, 7));
  symlinkSync('/sbin/init', join(tree, 'init'));
});
after(() => rmSync(work, { recursive: true, force: true }));

/** Run debugfs read-only against an image; fail clearly if e2fsprogs is missing. */
function debugfs(image: string, request: string): string {
  const r = spawnSync('debugfs', ['-R', request, image], { encoding: 'utf8' });
  if (r.error) assert.fail(`host "debugfs" is needed for this test (Debian package e2fsprogs): ${r.error.message}`);
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

test('an ext4 image built from a directory reads back through debugfs', async () => {
  const out = join(work, 'disk.ext4');
  const r = await buildRootfs({ dir: tree, output: out });
  assert.equal(statSync(out).size, r.size);
  assert.equal(debugfs(out, 'cat /etc/hostname'), 'wisp-guest\n');
  assert.equal(debugfs(out, 'cat /sbin/init'), '#!/bin/sh\necho hello from the root disk\n');
  assert.equal(debugfs(out, 'cat /big').length, 300 * 1024);
  assert.match(debugfs(out, 'stat /sbin/init'), /Mode:\s+0755/);
  assert.match(debugfs(out, 'stat /init'), /Fast link dest: "\/sbin\/init"/);
  const features = debugfs(out, 'features');
  assert.match(features, /has_journal/);
  assert.match(features, /extent/);
  assert.match(debugfs(out, 'stats'), /Block size:\s+4096/);
  assert.deepEqual(readdirSync(work).filter((n) => n.includes('.tmp-')), []);
});

test('an explicit size is honoured', async () => {
  const out = join(work, 'sized.ext4');
  await buildRootfs({ dir: tree, output: out, size: parseSize('32M')!, label: 'mydisk' });
  assert.equal(statSync(out).size, 32 * 1024 * 1024);
  assert.match(debugfs(out, 'stats'), /Filesystem volume name:\s+mydisk/);
});

test('the default size covers the content with headroom', async () => {
  const u = await treeUsage(tree);
  assert.equal(u.inodes, 7); // root, etc, sbin, hostname, init script, big, symlink
  assert.ok(u.bytes >= 300 * 1024);
  const size = defaultRootfsSize(u);
  assert.ok(size >= u.bytes * 1.25 + 16 * 1024 * 1024 && size % (1024 * 1024) === 0, String(size));
  assert.ok(defaultRootfsSize({ bytes: 1 << 30, inodes: 10 }) > (1 << 30) * 1.25);
});

test('sizes parse with binary units; junk does not', () => {
  assert.equal(parseSize('64M'), 64 * 1024 * 1024);
  assert.equal(parseSize('1G'), 1024 ** 3);
  assert.equal(parseSize('512k'), 512 * 1024);
  assert.equal(parseSize('2MiB'), 2 * 1024 * 1024);
  assert.equal(parseSize('4096'), 4096);
  for (const bad of ['', '0', '-1M', '1.5G', '12Q', 'M', '99999999999999999999T']) assert.equal(parseSize(bad), undefined, bad);
});

test('bad inputs: a missing DIR is named, nothing is left behind', async () => {
  const out = join(work, 'never.ext4');
  await assert.rejects(buildRootfs({ dir: join(work, 'missing'), output: out }), (e: unknown) => e instanceof GuestError && e.code === 'not-found' && /"[^"]*missing": no such directory/.test(e.message));
  await assert.rejects(buildRootfs({ dir: join(tree, 'etc', 'hostname'), output: out }), /not a directory/);
  await assert.rejects(buildRootfs({ dir: tree, output: join(tree, 'self.ext4') }), /inside the directory it is made from/);
  await assert.rejects(buildRootfs({ dir: tree, output: out, size: 100 * 1024 }), /smaller than the content/);
  await assert.rejects(buildRootfs({ dir: tree, output: out, size: 4097 }), /not a multiple of 4096/);
  await assert.rejects(buildRootfs({ dir: tree, output: out, label: 'x'.repeat(17) }), /longer than 16 bytes/);
  await assert.rejects(buildRootfs({ dir: tree, output: join(work, 'no', 'such', 'dir.ext4') }), /Cannot write .*dir.ext4/);
  assert.equal(existsSync(out), false);
});

test('when mke2fs fails (content does not fit), the error quotes it and no image is left', async () => {
  const out = join(work, 'tiny.ext4');
  // Big enough to pass our own check, too small once ext4 metadata and the journal are counted.
  await assert.rejects(buildRootfs({ dir: tree, output: out, size: 336 * 1024 }), (e: unknown) => e instanceof GuestError && /mke2fs/.test(e.message) && /tree/.test(e.message));
  assert.equal(existsSync(out), false);
  assert.deepEqual(readdirSync(work).filter((n) => n.includes('.tmp-')), []);
});
