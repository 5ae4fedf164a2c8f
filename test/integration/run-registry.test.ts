/**
 * `wisp run` from a registry: Debian's docker-registry started on loopback by the test, images built
 * here from Debian's riscv64 busybox-static (debian-userland.ts) with wisp's own writer and pushed with
 * skopeo — as an OCI index (riscv64 + amd64, layers gzip/zstd/plain, a whiteout) and as a Docker
 * schema 2 image. Shown: the riscv64 image picked from the index, Entrypoint/Cmd/Env/WorkingDir/User,
 * the exit status passed through, the store reused, and a missing image refused with nothing stored.
 *
 * (umoci was tried for building: Debian bookworm's umoci 0.4.7 writes truncated layer tars — GNU tar
 * says "Unexpected EOF" on them — so the images come from the project's writer.)
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ensureDebianUserland } from '../../src/guest/debian-userland.js';
import { writeOciLayout, type ImageSpec } from '../../src/images/testing/image-writer.js';
import { describeResult, ensureGuest, requireTool, runWisp } from '../helpers/guest-fixtures.js';
import { LocalRegistry, skopeoCopy } from '../helpers/registry.js';

let work = '';
let registry: LocalRegistry | undefined;
let env: NodeJS.ProcessEnv;

/** The image of run-image.test.ts: busybox, then /etc and /app (zstd), then a whiteout (plain). */
function busyboxImage(base: Buffer, compressions: ('gzip' | 'zstd' | 'none')[]): ImageSpec {
  return {
    tag: 'v1',
    config: {
      Entrypoint: ['/bin/busybox', 'sh', '-c'],
      Cmd: ['echo "greeting=$GREETING cwd=$(pwd) user=$(/bin/busybox id -u):$(/bin/busybox id -g)"; /bin/busybox ls /app; exit 42'],
      Env: ['PATH=/usr/bin:/bin', 'GREETING=hello from the registry'],
      WorkingDir: '/app',
      User: 'app',
    },
    layers: [
      { tar: base, compression: compressions[0] },
      {
        compression: compressions[1],
        entries: [
          { path: 'etc/passwd', content: 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/app:/bin/sh\n' },
          { path: 'etc/group', content: 'root:x:0:\napp:x:1000:\n' },
          { path: 'app', type: 'dir', uid: 1000, gid: 1000 },
          { path: 'app/kept', content: 'k', uid: 1000, gid: 1000 },
          { path: 'app/removed', content: 'r' },
        ],
      },
      { compression: compressions[2], entries: [{ path: 'app/.wh.removed' }, { path: 'app/added', content: 'a' }] },
    ],
  };
}

before(async () => {
  requireTool('mke2fs', 'e2fsprogs');
  requireTool('zstd', 'zstd');
  requireTool('docker-registry', 'docker-registry');
  requireTool('skopeo', 'skopeo');
  work = mkdtempSync(join(tmpdir(), 'wisp-run-registry-'));
  env = { ...process.env, WISP_IMAGE_CACHE: join(work, 'store') };
  await ensureGuest();
  const u = await ensureDebianUserland({ packages: ['busybox-static'] });
  const base = spawnSync('tar', ['-C', u.rootDir, '--numeric-owner', '--owner=0', '--group=0', '-cf', '-', '.'], { maxBuffer: 1 << 30 });
  assert.equal(base.status, 0, String(base.stderr));
  registry = await LocalRegistry.start(join(work, 'registry'));
  // An index with riscv64 and amd64 entries, pushed whole.
  writeOciLayout(join(work, 'layout'), { ...busyboxImage(base.stdout, ['gzip', 'zstd', 'none']), otherPlatforms: ['amd64'] });
  skopeoCopy(`oci:${join(work, 'layout')}:v1`, `docker://${registry.host}/tests/busybox:v1`, ['--all']);
  // Docker schema 2 (skopeo converts the media types; zstd has no Docker type, so gzip and plain).
  writeOciLayout(join(work, 'layout-docker'), busyboxImage(base.stdout, ['gzip', 'gzip', 'none']));
  skopeoCopy(`oci:${join(work, 'layout-docker')}:v1`, `docker://${registry.host}/tests/busybox-docker:v2`, ['--format', 'v2s2']);
});
after(() => {
  registry?.stop();
  rmSync(work, { recursive: true, force: true });
});

const lines = (s: string): string[] => s.split('\n').filter(Boolean);

test('an OCI index from the registry: riscv64 picked, the image config honoured, status 42; the second run pulls nothing', { timeout: 900_000 }, async () => {
  const ref = `${registry!.host}/tests/busybox:v1`;
  const r = await runWisp(['run', ref], { timeoutMs: 400_000, env });
  assert.equal(r.code, 42, describeResult(r));
  assert.deepEqual(lines(r.stdout), ['greeting=hello from the registry cwd=/app user=1000:1000', 'added', 'kept'], describeResult(r));
  assert.match(r.stderr, /fetching layer 1\/3/);
  const again = await runWisp(['run', '--pull', 'never', ref, 'exit 6'], { timeoutMs: 400_000, env });
  assert.equal(again.code, 6, describeResult(again));
  assert.doesNotMatch(again.stderr, /fetching|building the root disk/, 'the store has it');
});

test('a Docker schema 2 image from the registry, with COMMAND and -e', { timeout: 600_000 }, async () => {
  const r = await runWisp(['run', '-e', 'GREETING=overridden', `${registry!.host}/tests/busybox-docker:v2`, 'echo "$GREETING $(/bin/busybox id -un)"; exit 3'],
    { timeoutMs: 400_000, env: { ...env, WISP_IMAGE_CACHE: join(work, 'store-docker') } });
  assert.equal(r.code, 3, describeResult(r));
  assert.deepEqual(lines(r.stdout), ['overridden app'], describeResult(r));
});

test('a missing repository or tag: status 125, the reference named, nothing stored', { timeout: 120_000 }, async () => {
  const store = join(work, 'store-missing');
  for (const ref of [`${registry!.host}/tests/nothere:v1`, `${registry!.host}/tests/busybox:nosuchtag`]) {
    const r = await runWisp(['run', ref], { timeoutMs: 60_000, env: { ...env, WISP_IMAGE_CACHE: store } });
    assert.equal(r.code, 125, describeResult(r));
    assert.match(r.stderr, /not found|does not exist|unknown/i, describeResult(r));
    assert.ok(r.stderr.includes(ref.split('/').slice(1).join('/').split(':')[0]), `the message names the image: ${r.stderr}`);
  }
  // The store's empty directories may be made; no file (record, blob, disk, temp) may be left.
  const files = (d: string): string[] => readdirSync(d, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? files(join(d, e.name)) : [join(d, e.name)]));
  assert.deepEqual(existsSync(store) ? files(store) : [], [], 'nothing half-written in the store');
});
