import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ImageError } from './image-error.js';
import { pullImage } from './pull.js';
import { tarDirectory, writeDockerArchive, writeOciLayout, type ImageSpec } from './testing/image-writer.js';

let work = '';
let cache = '';
before(() => {
  work = mkdtempSync(join(tmpdir(), 'wisp-pull-'));
  cache = join(work, 'cache');
});
after(() => rmSync(work, { recursive: true, force: true }));

const spec: ImageSpec = {
  tag: 'v1',
  config: { Entrypoint: ['/bin/app'], Cmd: ['--flag'], Env: ['A=1'], WorkingDir: '/srv', User: '1000:1000' },
  layers: [
    { entries: [{ path: 'bin', type: 'dir' }, { path: 'bin/app', content: '#!/bin/sh\n', mode: 0o755 }, { path: 'old', content: 'x' }], compression: 'gzip' },
    { entries: [{ path: '.wh.old' }, { path: 'srv', type: 'dir', uid: 1000, gid: 1000 }], compression: 'zstd' },
    { entries: [{ path: 'srv/data', content: 'd', uid: 1000, gid: 1000, mode: 0o600 }], compression: 'none' },
  ],
};

function debugfs(image: string, request: string): string {
  const r = spawnSync('debugfs', ['-R', request, image], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

function storeIsClean(c: string): void {
  for (const d of ['images', 'rootfs', 'tmp']) {
    let names: string[] = [];
    try { names = readdirSync(join(c, 'images', d)); } catch { /* never made */ }
    assert.deepEqual(names, [], `${d}/ should hold nothing after a failed pull`);
  }
}

test('an OCI layout pulls into an ext4 root disk, from the store the second time', async () => {
  const dir = join(work, 'layout');
  const w = writeOciLayout(dir, { ...spec, otherPlatforms: ['amd64', 'arm64'] });
  const a = await pullImage(`oci:${dir}:v1`, { cacheDir: cache });
  assert.equal(a.fresh, true);
  assert.equal(a.manifestDigest, w.manifestDigest);
  assert.deepEqual(a.config.config.Entrypoint, ['/bin/app']);
  assert.equal(a.config.config.WorkingDir, '/srv');
  assert.equal(debugfs(a.rootfsPath, 'cat /bin/app'), '#!/bin/sh\n');
  assert.doesNotMatch(debugfs(a.rootfsPath, 'ls /'), /\bold\b/);
  assert.match(debugfs(a.rootfsPath, 'stat /srv/data'), /User:\s+1000\s+Group:\s+1000/);
  const b = await pullImage(`oci:${dir}:v1`, { cacheDir: cache });
  assert.equal(b.fresh, false);
  assert.equal(b.rootfsPath, a.rootfsPath);
});

test('oci-archive and docker-archive give the same root disk content', async () => {
  const dir = join(work, 'layout2');
  writeOciLayout(dir, spec);
  tarDirectory(dir, join(work, 'image.oci.tar'));
  const a = await pullImage(`oci-archive:${join(work, 'image.oci.tar')}:v1`, { cacheDir: cache });
  assert.equal(debugfs(a.rootfsPath, 'cat /srv/data'), 'd');
  writeDockerArchive(join(work, 'image.docker.tar'), join(work, 'docker-work'), { ...spec, repoTag: 'example/app:1' });
  const b = await pullImage(`docker-archive:${join(work, 'image.docker.tar')}:example/app:1`, { cacheDir: cache });
  assert.equal(debugfs(b.rootfsPath, 'cat /srv/data'), 'd');
  assert.deepEqual(b.config.config.Cmd, ['--flag']);
});

test('bad input: no riscv64, digest mismatch, corrupt layer, missing image; nothing is left in the store', async () => {
  const c = join(work, 'cache-bad');
  const amd = join(work, 'amd');
  writeOciLayout(amd, { ...spec, architecture: 'amd64', otherPlatforms: ['arm64'] });
  await assert.rejects(pullImage(`oci:${amd}`, { cacheDir: c }), (e: ImageError) => e.code === 'no-platform' && /linux\/arm64, linux\/amd64/.test(e.message));

  const mism = join(work, 'mismatch');
  const w = writeOciLayout(mism, spec);
  const p = w.blobPath(w.layerDigests[1]);
  const bytes = readFileSync(p);
  bytes[bytes.length - 5] ^= 0xff;
  writeFileSync(p, bytes);
  await assert.rejects(pullImage(`oci:${mism}`, { cacheDir: c }), (e: ImageError) => e.code === 'digest-mismatch' && e.message.includes(w.layerDigests[1]));

  // A layer whose blob digest is right but whose bytes are not a tar.
  const bad = join(work, 'corrupt');
  writeOciLayout(bad, { layers: [{ entries: [{ path: 'a', content: 'a' }] }, { tar: Buffer.alloc(1024, 0x41), compression: 'gzip' }] });
  await assert.rejects(pullImage(`oci:${bad}`, { cacheDir: c }), (e: ImageError) => e.code === 'corrupt-layer' && /layer 2 of 2/.test(e.message));

  await assert.rejects(pullImage(`oci:${join(work, 'nowhere')}`, { cacheDir: c }), (e: ImageError) => e.code === 'not-found');
  await assert.rejects(pullImage(`oci:${mism}:nosuchtag`, { cacheDir: c }), (e: ImageError) => e.code === 'not-found' && /nosuchtag/.test(e.message));
  storeIsClean(c);
});

/** A registry that serves one layout over the distribution API, behind a bearer token. */
function fakeRegistry(dir: string, repo: string): Promise<{ server: Server; port: number; tokens: number }> {
  const state = { server: undefined as unknown as Server, port: 0, tokens: 0 };
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'));
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/token') {
      state.tokens++;
      assert.equal(url.searchParams.get('scope'), `repository:${repo}:pull`);
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ token: 'sesame' }));
      return;
    }
    if (req.headers.authorization !== 'Bearer sesame') {
      res.statusCode = 401;
      res.setHeader('www-authenticate', `Bearer realm="http://127.0.0.1:${state.port}/token",service="fake",scope="repository:${repo}:pull"`);
      res.end();
      return;
    }
    if (url.pathname === '/v2/') { res.end('{}'); return; }
    const m = /^\/v2\/(.+)\/(manifests|blobs)\/(.+)$/.exec(url.pathname);
    if (!m || m[1] !== repo) { res.statusCode = 404; res.end(JSON.stringify({ errors: [{ code: 'NAME_UNKNOWN' }] })); return; }
    let ref = m[3];
    if (m[2] === 'manifests' && !ref.includes(':')) ref = index.manifests[0].digest;
    try {
      const body = readFileSync(join(dir, 'blobs', 'sha256', ref.replace('sha256:', '')));
      if (m[2] === 'manifests') {
        res.setHeader('content-type', JSON.parse(body.toString()).mediaType);
        res.setHeader('docker-content-digest', ref);
      }
      res.end(body);
    } catch {
      res.statusCode = 404;
      res.end(JSON.stringify({ errors: [{ code: m[2] === 'manifests' ? 'MANIFEST_UNKNOWN' : 'BLOB_UNKNOWN' }] }));
    }
  });
  state.server = server;
  return new Promise((r) => server.listen(0, '127.0.0.1', () => { state.port = (server.address() as AddressInfo).port; r(state); }));
}

test('a registry on loopback: plain HTTP, bearer token, riscv64 from the index', async () => {
  const dir = join(work, 'reg-layout');
  writeOciLayout(dir, { ...spec, otherPlatforms: ['amd64'] });
  const reg = await fakeRegistry(dir, 'tests/app');
  try {
    const a = await pullImage(`127.0.0.1:${reg.port}/tests/app:v1`, { cacheDir: cache });
    assert.equal(debugfs(a.rootfsPath, 'cat /srv/data'), 'd');
    assert.ok(reg.tokens >= 1);
    await assert.rejects(pullImage(`127.0.0.1:${reg.port}/tests/other:v1`, { cacheDir: cache }), (e: ImageError) => e.code === 'not-found' && /NAME_UNKNOWN/.test(e.message));
  } finally {
    reg.server.close();
  }
  await assert.rejects(pullImage(`127.0.0.1:${reg.port}/tests/app:v2`, { cacheDir: cache }), (e: ImageError) => e.code === 'unreachable' && /127\.0\.0\.1/.test(e.message));
});
