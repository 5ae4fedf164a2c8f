import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CpioWriter } from './cpio.js';

/** Run the host's GNU cpio on an archive; fail loudly if it is not installed. */
function hostCpio(args: string[], archive: Buffer, cwd?: string): string {
  const r = spawnSync('cpio', args, { input: archive, cwd, encoding: 'latin1' });
  if (r.error) assert.fail(`host "cpio" is needed for this test (Debian package cpio; scripts/setup.sh installs it): ${r.error.message}`);
  assert.equal(r.status, 0, `cpio ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

function sample(): Buffer {
  return new CpioWriter()
    .addDirectory('bin')
    .addFile('bin/hello', Buffer.from('#!/bin/sh\necho hi\n'), { mode: 0o755 })
    .addFile('odd', Buffer.from('12345')) // a size that needs padding
    .addSymlink('bin/sh', 'hello')
    .addDirectory('dev')
    .addCharDevice('dev/console', 5, 1, { mode: 0o600 })
    .addFile('empty', Buffer.alloc(0))
    .finish();
}

test('the host cpio lists every entry, with types, modes and device numbers', () => {
  const listing = hostCpio(['-itv', '--quiet'], sample());
  const lines = listing.trim().split('\n');
  assert.equal(lines.length, 7);
  assert.match(lines[0]!, /^drwxr-xr-x .* bin$/);
  assert.match(lines[1]!, /^-rwxr-xr-x .* 18 .* bin\/hello$/);
  assert.match(lines[3]!, /^lrwxrwxrwx .* bin\/sh -> hello$/);
  assert.match(lines[5]!, /^crw------- .* 5,\s+1 .* dev\/console$/);
  // Fixed mtime 0: equal input, equal bytes.
  assert.match(lines[1]!, /Jan\s+1\s+1970/);
});

test('extracting with the host cpio gives back the same bytes, links and nodes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wisp-cpio-'));
  try {
    hostCpio(['-idm', '--quiet', '--no-absolute-filenames'], sample(), dir);
    assert.equal(readFileSync(join(dir, 'bin/hello'), 'utf8'), '#!/bin/sh\necho hi\n');
    assert.equal(lstatSync(join(dir, 'bin/hello')).mode & 0o777, 0o755);
    assert.equal(readFileSync(join(dir, 'odd'), 'utf8'), '12345');
    assert.equal(readFileSync(join(dir, 'empty')).length, 0);
    assert.equal(readlinkSync(join(dir, 'bin/sh')), 'hello');
    if (process.getuid?.() === 0) {
      const st = lstatSync(join(dir, 'dev/console'));
      assert.ok(st.isCharacterDevice());
      assert.equal(st.rdev, (5 << 8) | 1);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the archive layout follows buffer-format.rst: 4-byte alignment and the trailer', () => {
  const a = sample();
  assert.equal(a.length % 4, 0);
  assert.equal(a.subarray(0, 6).toString('latin1'), '070701');
  const trailer = a.lastIndexOf('TRAILER!!!');
  assert.ok(trailer > 0);
  // The trailer header: namesize field (12th) = 11 including the NUL, nlink 1.
  const hdr = a.subarray(trailer - 110, trailer).toString('latin1');
  assert.equal(hdr.slice(0, 6), '070701');
  assert.equal(parseInt(hdr.slice(6 + 8 * 11, 6 + 8 * 12), 16), 11);
  assert.equal(parseInt(hdr.slice(6 + 8 * 4, 6 + 8 * 5), 16), 1);
  // Same input, same bytes.
  assert.deepEqual(sample(), a);
});

test('mtime is configurable and lands in every header', () => {
  const a = new CpioWriter({ mtime: 0x12345678 }).addFile('f', Buffer.from('x')).finish();
  assert.equal(a.subarray(6 + 8 * 5, 6 + 8 * 6).toString('latin1'), '12345678');
});

test('bad paths and misuse are refused with the path named', () => {
  const w = new CpioWriter();
  assert.throws(() => w.addFile('a/b', Buffer.alloc(0)), /directory "a" has not been added/);
  assert.throws(() => w.addFile('../x', Buffer.alloc(0)), /not a clean relative path/);
  assert.throws(() => w.addFile('', Buffer.alloc(0)), /not a clean relative path/);
  assert.throws(() => w.addFile('TRAILER!!!', Buffer.alloc(0)), /reserved/);
  assert.throws(() => w.addSymlink('l', ''), /target "" is empty/);
  w.addFile('/f', Buffer.alloc(0)); // a leading slash is accepted and dropped
  assert.throws(() => w.addFile('f', Buffer.alloc(0)), /"f": already in the archive/);
  assert.throws(() => new CpioWriter({ mtime: -1 }), /mtime = -1/);
  assert.throws(() => w.addCharDevice('c', 2 ** 32, 0), /device major of "c"/);
  w.addCharDevice('c', 1, 3); // the refused call did not claim the name
  w.finish();
  assert.throws(() => w.finish(), /twice/);
  assert.throws(() => w.addDirectory('d'), /finished/);
});
