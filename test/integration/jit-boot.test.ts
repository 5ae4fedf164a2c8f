/**
 * The JIT on the real guest: Debian's kernel boots to a marker and powers off with `--engine jit`,
 * and the differential mode runs a bounded prefix of that boot with every block translated on first
 * sight (WISP_JIT_THRESHOLD=0), interpreter and JIT in lock-step, with no divergence.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { DefaultGuest } from '../../src/guest/fetch.js';
import { consoleLines, describeResult, ensureGuest, minimalInitramfs, runWisp } from '../helpers/guest-fixtures.js';

const BOOT_TIMEOUT_MS = 240_000;
/** Instructions of the boot checked in lock-step: early kernel set-up, paging on, the first drivers. */
const DIFFERENTIAL_PREFIX = 20_000_000;

let work: string;
let guest: DefaultGuest;
let initrd: string;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'wisp-jit-boot-'));
  guest = await ensureGuest();
  initrd = join(work, 'marker.cpio.gz');
  writeFileSync(initrd, minimalInitramfs(guest, 'echo "WISP-JIT-MARKER $((6 * 7))"\npoweroff -f'));
});
after(() => rmSync(work, { recursive: true, force: true }));

test("Debian's kernel boots to the marker and powers off under the JIT", { timeout: BOOT_TIMEOUT_MS + 30_000 }, async () => {
  const r = await runWisp(['run', '--engine', 'jit', '--kernel', guest.kernelPath, '--initrd', initrd, '--mem', '128'], { timeoutMs: BOOT_TIMEOUT_MS });
  assert.equal(r.timedOut, false, describeResult(r));
  assert.equal(r.code, 0, describeResult(r));
  assert.ok(consoleLines(r.stdout).includes('WISP-JIT-MARKER 42'), describeResult(r));
  assert.doesNotMatch(r.stdout, /Kernel panic|Oops|BUG:/);
});

test(`a ${DIFFERENTIAL_PREFIX / 1e6}M-instruction prefix of the boot runs identically on the interpreter and the JIT`, { timeout: BOOT_TIMEOUT_MS + 30_000 }, async () => {
  const r = await runWisp(['run', '--differential', String(DIFFERENTIAL_PREFIX), '--kernel', guest.kernelPath, '--initrd', initrd, '--mem', '128'], {
    timeoutMs: BOOT_TIMEOUT_MS,
    env: { ...process.env, WISP_JIT_THRESHOLD: '0' },
  });
  assert.equal(r.timedOut, false, describeResult(r));
  assert.equal(r.code, 0, describeResult(r));
  assert.match(r.stderr, /interpreter and jit agreed for \d+ instructions/);
});
