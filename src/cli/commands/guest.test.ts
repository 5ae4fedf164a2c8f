import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, test } from 'node:test';
import { run } from './guest.js';

class Sink extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

async function wisp(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out = new Sink();
  const err = new Sink();
  const code = await run(argv, { out, err });
  return { code, out: out.text, err: err.text };
}

const work = mkdtempSync(join(tmpdir(), 'wisp-guest-cli-'));
after(() => rmSync(work, { recursive: true, force: true }));

test('--help lists the subcommands and exits 0; no subcommand is a usage error', async () => {
  const h = await wisp('--help');
  assert.equal(h.code, 0);
  for (const s of ['fetch', 'initramfs', 'rootfs DIR', 'root=/dev/vdX']) assert.ok(h.out.includes(s), s);
  assert.equal((await wisp()).code, 2);
  assert.equal((await wisp('rootfs', '--help')).code, 0);
});

test('usage errors are one line naming the flag or argument, exit 2', async () => {
  const cases: [string[], RegExp][] = [
    [['frobnicate'], /^wisp guest: unknown command "frobnicate"/],
    [['fetch', '--bogus'], /^wisp guest fetch: unknown option "--bogus"\n$/],
    [['fetch', '--mirror', 'ftp://x'], /--mirror "ftp:\/\/x" is not an http\(s\) URL/],
    [['fetch', 'extra'], /unexpected argument "extra"/],
    [['initramfs', '-o'], /option "--output" needs a value/],
    [['initramfs', '--script', 'a', '--init-cmd', 'b'], /--script or --init-cmd, not both/],
    [['initramfs', '--modules', 'ext4,../x'], /--modules: "..\/x" is not a module name/],
    [['rootfs'], /missing DIR/],
    [['rootfs', work], /missing -o FILE/],
    [['rootfs', work, '-o', 'x.img', '--size', 'lots'], /--size "lots" is not a size/],
    [['rootfs', 'a', 'b', '-o', 'x'], /unexpected argument "b"/],
  ];
  for (const [argv, re] of cases) {
    const r = await wisp(...argv);
    assert.equal(r.code, 2, argv.join(' '));
    assert.match(r.err, re, argv.join(' '));
    assert.equal(r.err.trim().split('\n').length, 1, `one line for ${argv.join(' ')}`);
  }
});

test('failures name the file and exit 1', async () => {
  const missing = await wisp('rootfs', join(work, 'nope'), '-o', join(work, 'x.img'));
  assert.equal(missing.code, 1);
  assert.match(missing.err, /^wisp guest rootfs: Cannot build a root disk from ".*nope": no such directory\n$/);
  const script = await wisp('initramfs', '--script', join(work, 'no-script.sh'));
  assert.equal(script.code, 1);
  assert.match(script.err, /Cannot read --script ".*no-script.sh": ENOENT/);
});

test('rootfs builds an image and prints where it is', async () => {
  const dir = join(work, 'tree');
  mkdirSync(dir);
  writeFileSync(join(dir, 'hello'), 'hi\n');
  const img = join(work, 'disk.ext4');
  const r = await wisp('rootfs', dir, '-o', img, '--size', '16M');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /disk\.ext4 \(16 MiB, 2 entries\)/);
  const cat = spawnSync('debugfs', ['-R', 'cat /hello', img], { encoding: 'utf8' });
  if (cat.error) assert.fail(`host "debugfs" is needed (Debian package e2fsprogs): ${cat.error.message}`);
  assert.equal(cat.stdout, 'hi\n');
});
