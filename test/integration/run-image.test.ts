/**
 * `wisp run IMAGE`: images built here from Debian's riscv64 busybox-static package (through
 * debian-userland.ts) plus layers of the test's own, in an OCI layout and in archives, run as
 * microVMs. Shown: several layers and a whiteout, Entrypoint/Cmd/Env/WorkingDir/User honoured,
 * COMMAND and -e/-w/-u overriding them, stdout and stderr apart, stdin passed through, and wisp's
 * exit status being the container's.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ensureDebianUserland } from '../../src/guest/debian-userland.js';
import { tarDirectory, writeDockerArchive, writeOciLayout, type ImageSpec } from '../../src/images/testing/image-writer.js';
import { describeResult, ensureGuest, requireTool, runWisp } from '../helpers/guest-fixtures.js';

let work = '';
let env: NodeJS.ProcessEnv;
let spec: ImageSpec;

before(async () => {
  requireTool('mke2fs', 'e2fsprogs');
  requireTool('debugfs', 'e2fsprogs');
  requireTool('zstd', 'zstd');
  work = mkdtempSync(join(tmpdir(), 'wisp-run-image-'));
  env = { ...process.env, WISP_IMAGE_CACHE: join(work, 'store') };
  await ensureGuest();
  const u = await ensureDebianUserland({ packages: ['busybox-static'] });
  // Layer 1: Debian's busybox-static, unpacked, as root-owned entries.
  const base = spawnSync('tar', ['-C', u.rootDir, '--numeric-owner', '--owner=0', '--group=0', '-cf', '-', '.'], { maxBuffer: 1 << 30 });
  assert.equal(base.status, 0, String(base.stderr));
  spec = {
    tag: 'v1',
    config: {
      Entrypoint: ['/bin/busybox', 'sh', '-c'],
      Cmd: ['echo "greeting=$GREETING cwd=$(pwd) user=$(/bin/busybox id -u):$(/bin/busybox id -g)"; /bin/busybox ls /app; echo to-stderr >&2; exit 42'],
      Env: ['PATH=/usr/bin:/bin', 'GREETING=hello from the image'],
      WorkingDir: '/app',
      User: 'app',
    },
    layers: [
      { tar: base.stdout, compression: 'gzip' },
      {
        compression: 'zstd',
        entries: [
          { path: 'etc/passwd', content: 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/app:/bin/sh\n' },
          { path: 'etc/group', content: 'root:x:0:\napp:x:1000:\n' },
          { path: 'app', type: 'dir', uid: 1000, gid: 1000 },
          { path: 'app/kept', content: 'k', uid: 1000, gid: 1000 },
          { path: 'app/removed', content: 'r' },
        ],
      },
      { compression: 'none', entries: [{ path: 'app/.wh.removed' }, { path: 'app/added', content: 'a' }] },
    ],
  };
  writeOciLayout(join(work, 'layout'), { ...spec, otherPlatforms: ['amd64'] });
});
after(() => rmSync(work, { recursive: true, force: true }));

const lines = (s: string): string[] => s.split('\n').filter(Boolean);

test('an OCI layout: the image\'s Entrypoint, Cmd, Env, WorkingDir and User; status 42 comes back', { timeout: 600_000 }, async () => {
  const r = await runWisp(['run', `oci:${join(work, 'layout')}:v1`], { timeoutMs: 400_000, env });
  assert.equal(r.code, 42, describeResult(r));
  assert.deepEqual(lines(r.stdout), ['greeting=hello from the image cwd=/app user=1000:1000', 'added', 'kept'], describeResult(r));
  assert.ok(lines(r.stderr).includes('to-stderr'), describeResult(r));
  assert.ok(!r.stdout.includes('to-stderr'), 'stderr stays apart from stdout');
});

test('an oci-archive with COMMAND, -e, -w, -u and stdin', { timeout: 600_000 }, async () => {
  tarDirectory(join(work, 'layout'), join(work, 'image.oci.tar'));
  const r = await runWisp(['run', '-i', '-e', 'GREETING=overridden', '-w', '/tmp/new', '-u', '0',
    `oci-archive:${join(work, 'image.oci.tar')}:v1`, 'read line; echo "$GREETING $(pwd) $(/bin/busybox id -u) got:$line"'],
  { timeoutMs: 400_000, env, input: 'from stdin\n', closeStdin: true });
  assert.equal(r.code, 0, describeResult(r));
  assert.deepEqual(lines(r.stdout), ['overridden /tmp/new 0 got:from stdin'], describeResult(r));
});

test('a docker-archive, run twice: the second run takes the root disk from the store', { timeout: 600_000 }, async () => {
  writeDockerArchive(join(work, 'image.docker.tar'), join(work, 'docker'), { ...spec, repoTag: 'tests/busybox:1' });
  const ref = `docker-archive:${join(work, 'image.docker.tar')}:tests/busybox:1`;
  // A store of its own: the layers are the OCI layout's, whose root disk the first tests built.
  const own = { ...env, WISP_IMAGE_CACHE: join(work, 'store2') };
  const first = await runWisp(['run', '--entrypoint', '/bin/busybox', ref, 'sh', '-c', 'exit 3'], { timeoutMs: 400_000, env: own });
  assert.equal(first.code, 3, describeResult(first));
  assert.match(first.stderr, /building the root disk/);
  const second = await runWisp(['run', '--entrypoint', '/bin/busybox', ref, 'cat', '/app/kept'], { timeoutMs: 400_000, env: own });
  assert.equal(second.code, 0, describeResult(second));
  assert.equal(second.stdout, 'k');
  assert.doesNotMatch(second.stderr, /building the root disk/, 'the second run builds nothing');
});

test('--cpus 2: the container sees two CPUs', { timeout: 600_000 }, async () => {
  const r = await runWisp(['run', '--cpus', '2', '--entrypoint', '/bin/busybox', `oci:${join(work, 'layout')}:v1`, 'nproc'], { timeoutMs: 400_000, env });
  assert.equal(r.code, 0, describeResult(r));
  assert.deepEqual(lines(r.stdout), ['2'], describeResult(r));
});

test('bad input: a clear error and status 125', { timeout: 120_000 }, async () => {
  const missing = await runWisp(['run', `oci:${join(work, 'nowhere')}`], { timeoutMs: 60_000, env });
  assert.equal(missing.code, 125, describeResult(missing));
  assert.match(missing.stderr, /no such image layout directory/);
  const badRef = await runWisp(['run', 'Not/A/Valid:ref:'], { timeoutMs: 60_000, env });
  assert.equal(badRef.code, 125, describeResult(badRef));
  assert.match(badRef.stderr, /Invalid image reference/);
});
