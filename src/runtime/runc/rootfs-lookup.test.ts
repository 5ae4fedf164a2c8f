import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { executableProblem, resolveInRoot } from './rootfs-lookup.js';

const root = mkdtempSync(join(tmpdir(), 'wisp-rootfs-lookup-'));
after(() => rmSync(root, { recursive: true, force: true }));
mkdirSync(join(root, 'usr/bin'), { recursive: true });
writeFileSync(join(root, 'usr/bin/busybox'), 'x');
chmodSync(join(root, 'usr/bin/busybox'), 0o755);
writeFileSync(join(root, 'usr/bin/data'), 'x');
symlinkSync('usr/bin', join(root, 'bin')); // merged /usr, relative
symlinkSync('/usr/bin/busybox', join(root, 'usr/bin/sh')); // absolute: inside the root, not the host's
symlinkSync('../../../../../../etc/passwd', join(root, 'usr/bin/escape'));

test('symlinks resolve inside the root, absolute ones too; ".." stops at the root', () => {
  assert.equal(resolveInRoot(root, '/bin/sh'), join(root, 'usr/bin/busybox'));
  assert.equal(resolveInRoot(root, '/usr/bin/escape'), undefined); // would be ROOT/etc/passwd, which is missing
  assert.equal(resolveInRoot(root, '/nowhere'), undefined);
});

test('the program is looked for as execvp would, and missing ones are named in runc\'s words', () => {
  const env = ['PATH=/bin'];
  assert.equal(executableProblem(root, '/bin/sh', env, '/'), undefined);
  assert.equal(executableProblem(root, 'sh', env, '/'), undefined);
  assert.equal(executableProblem(root, 'busybox', ['PATH=/usr/local/bin:/usr/bin'], '/'), undefined);
  assert.equal(executableProblem(root, 'sh', ['PATH=/sbin'], '/'), 'exec: "sh": executable file not found in $PATH');
  assert.equal(executableProblem(root, '/bin/none', env, '/'), 'exec: "/bin/none": stat /bin/none: no such file or directory');
  assert.equal(executableProblem(root, '/bin/data', env, '/'), 'exec: "/bin/data": permission denied');
  assert.equal(executableProblem(root, './busybox', env, '/usr/bin'), undefined);
});
