import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, before, test } from 'node:test';
import { digestOf } from './digest.js';
import { ImageError } from './image-error.js';
import { applyLayer } from './layer-apply.js';
import { LayerTree } from './layer-tree.js';
import { buildRootfsImage } from './rootfs-image.js';
import { tarBytes, type TarEntry } from './testing/tar-writer.js';

let work = '';
before(() => { work = mkdtempSync(join(tmpdir(), 'wisp-layers-')); });
after(() => rmSync(work, { recursive: true, force: true }));

let n = 0;
/** Writes a layer blob; returns the input applyLayer takes (diff_id from the uncompressed tar). */
function layer(entries: TarEntry[], compression: 'gzip' | 'zstd' | 'none' = 'gzip') {
  const tar = tarBytes(entries);
  const path = join(work, `layer${n++}`);
  if (compression === 'gzip') writeFileSync(path, gzipSync(tar));
  else if (compression === 'none') writeFileSync(path, tar);
  else {
    const r = spawnSync('zstd', ['-q', '-c'], { input: tar });
    assert.equal(r.status, 0, 'host zstd (Debian package zstd) is needed');
    writeFileSync(path, r.stdout);
  }
  return { name: `layer ${n}`, path, diffId: digestOf(tar) };
}

function debugfs(image: string, request: string): string {
  const r = spawnSync('debugfs', ['-R', request, image], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

test('layers apply in order with whiteouts, opaque dirs and links; the ext4 image has the layers\' owners and modes', async () => {
  const tree = new LayerTree(join(work, 'tree1'));
  await applyLayer(tree, layer([
    { path: 'etc', type: 'dir' },
    { path: 'etc/a', content: 'one\n' },
    { path: 'bin', type: 'dir' },
    { path: 'bin/su', content: 'su', mode: 0o4755 },
    { path: 'home/user', type: 'dir', uid: 1000, gid: 1000, mode: 0o750 },
    { path: 'home/user/secret', content: 's', uid: 1000, gid: 100, mode: 0o400 },
    { path: 'data', type: 'dir' },
    { path: 'data/old1', content: 'o1' },
    { path: 'data/sub/old2', content: 'o2' },
    { path: 'gone', content: 'bye' },
    { path: 'lnk', type: 'symlink', linkname: '/etc' },
    { path: 'dev/null', type: 'char', major: 1, minor: 3, mode: 0o666 },
    { path: 'run/fifo', type: 'fifo', mode: 0o600 },
  ]));
  await applyLayer(tree, layer([
    { path: 'data/kept-before', content: 'k' },
    { path: 'data/.wh..wh..opq' },
    { path: 'data/new', content: 'n' },
    { path: '.wh.gone' },
    { path: 'etc/a', content: 'two\n' },
    { path: 'etc/b', type: 'link', linkname: 'etc/a' },
  ], 'zstd'));
  await applyLayer(tree, layer([
    // Through the symlink lnk → /etc: lands in etc/, not on the host's /etc.
    { path: 'lnk/c', content: 'via link' },
    { path: 'esc', type: 'symlink', linkname: '../../../../..' },
    { path: 'esc/escaped', content: 'stays inside' },
  ], 'none'));

  const root = tree.root;
  assert.equal(readFileSync(join(root, 'etc/a'), 'utf8'), 'two\n');
  assert.equal(statSync(join(root, 'etc/a')).ino, statSync(join(root, 'etc/b')).ino);
  assert.equal(existsSync(join(root, 'gone')), false);
  assert.equal(existsSync(join(root, 'data/old1')), false);
  assert.equal(existsSync(join(root, 'data/sub')), false);
  assert.equal(readFileSync(join(root, 'data/kept-before'), 'utf8'), 'k');
  assert.equal(readFileSync(join(root, 'data/new'), 'utf8'), 'n');
  assert.equal(readFileSync(join(root, 'etc/c'), 'utf8'), 'via link');
  assert.equal(readlinkSync(join(root, 'lnk')), '/etc');
  assert.equal(readFileSync(join(root, 'escaped'), 'utf8'), 'stays inside');

  const image = join(work, 'image1.ext4');
  await buildRootfsImage(tree, image);
  assert.match(debugfs(image, 'stat /bin/su'), /Mode:\s+04755/);
  const secret = debugfs(image, 'stat /home/user/secret');
  assert.match(secret, /User:\s+1000\s+Group:\s+100\b/);
  assert.match(secret, /Mode:\s+0400/);
  const home = debugfs(image, 'stat /home/user');
  assert.match(home, /User:\s+1000\s+Group:\s+1000\b/);
  assert.match(home, /Mode:\s+0750/);
  const nul = debugfs(image, 'stat /dev/null');
  assert.match(nul, /Type: character special/);
  assert.match(nul, /Device major\/minor number: 01:03/);
  assert.match(debugfs(image, 'stat /run/fifo'), /Type: FIFO/);
  assert.equal(debugfs(image, 'cat /etc/b'), 'two\n');
  assert.doesNotMatch(debugfs(image, 'ls /'), /gone/);
});

test('a corrupt or hostile layer is refused with a corrupt-layer error', async () => {
  const tree = new LayerTree(join(work, 'tree2'));
  await assert.rejects(applyLayer(tree, layer([{ path: '../outside', content: 'x' }])), (e: ImageError) => e.code === 'corrupt-layer' && /outside the root/.test(e.message));
  const truncated = join(work, 'truncated');
  writeFileSync(truncated, gzipSync(tarBytes([{ path: 'big', content: 'x'.repeat(5000) }])).subarray(0, 60));
  await assert.rejects(applyLayer(tree, { name: 'layer T', path: truncated }), (e: ImageError) => e.code === 'corrupt-layer' && /layer T/.test(e.message));
  const notTar = join(work, 'nottar');
  writeFileSync(notTar, gzipSync(Buffer.alloc(700, 0x41)));
  await assert.rejects(applyLayer(tree, { name: 'layer N', path: notTar }), (e: ImageError) => e.code === 'corrupt-layer');
  const l = layer([{ path: 'f', content: 'x' }]);
  await assert.rejects(applyLayer(tree, { ...l, diffId: digestOf(Buffer.from('other')) }), (e: ImageError) => e.code === 'digest-mismatch');
});
