/**
 * Issue 13's differential suite: real Debian riscv64 programs (compressors, interpreters, sqlite3,
 * openssl, text tools, coreutils; see programs.ts) with fixed inputs, on a disk the project builds from
 * Debian's packages, run in wisp (the JIT, the default engine) and in QEMU's `virt` board with the same
 * kernel, initramfs and disk. Every program must exit 0 and print exactly what it prints on QEMU.
 * Times are not compared here (the bench does that: `npm run bench -- debian`).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ensureGuest, requireTool } from '../helpers/guest-fixtures.js';
import { buildSuiteImage, runSuite, type SuiteImage } from './suite.js';

/** Generous: the machine may be shared and loaded (the suite takes about a minute on either side when idle). */
const RUN_TIMEOUT_MS = 20 * 60_000;

let work = '';
let img: SuiteImage;

before(async () => {
  requireTool('mke2fs', 'e2fsprogs');
  requireTool('dpkg-deb', 'dpkg');
  requireTool('qemu-system-riscv64', 'qemu-system-misc');
  requireTool('riscv64-unknown-elf-gcc', 'gcc-riscv64-unknown-elf');
  work = mkdtempSync(join(tmpdir(), 'wisp-debian-suite-'));
  img = await buildSuiteImage(await ensureGuest(), work);
});
after(() => rmSync(work, { recursive: true, force: true }));

test('Debian programs print the same on wisp as on QEMU', { timeout: RUN_TIMEOUT_MS + 60_000 }, async (t) => {
  // Both at once: a shared machine's cores are better used, and the outputs do not depend on timing.
  const [wisp, qemu] = await Promise.all([
    runSuite('wisp', img, { timeoutMs: RUN_TIMEOUT_MS }),
    runSuite('qemu', img, { timeoutMs: RUN_TIMEOUT_MS }),
  ]);
  for (const p of img.programs) {
    await t.test(p.name, () => {
      const w = wisp.results.get(p.name)!, q = qemu.results.get(p.name)!;
      assert.equal(q.status, 0, `${p.name} fails on QEMU too (status ${q.status}): the program or its inputs are wrong:\n${q.out.join('\n')}`);
      assert.equal(w.status, 0, `${p.name} exited ${w.status} on wisp:\n${w.out.join('\n')}`);
      assert.ok(q.out.length > 0, `${p.name} printed nothing on QEMU`);
      assert.deepEqual(w.out, q.out, `${p.name}: wisp's output differs from QEMU's`);
    });
  }
});
