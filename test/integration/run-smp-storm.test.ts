/**
 * Issue "SMP", end to end through the real CLI: a storm of forks, execs and pipes between processes on
 * 4 harts of Debian's kernel runs clean (every worker's and the pipe's sums as the host expects, no
 * kernel complaint in dmesg). A longer storm is scripts/smp-soak.mjs.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { DefaultGuest } from '../../src/guest/fetch.js';
import { ensureGuest } from '../helpers/guest-fixtures.js';
import { bootOnHarts, checkStorm, KERNEL_COMPLAINTS, SMP_BOOT_TIMEOUT_MS as BOOT_TIMEOUT_MS, stormScript } from '../helpers/smp-storm.js';

let work = '';
let guest: DefaultGuest;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'wisp-run-smp-storm-'));
  guest = await ensureGuest();
});
after(() => rmSync(work, { recursive: true, force: true }));

test('a storm of forks, execs and pipes between processes on 4 harts runs clean', { timeout: BOOT_TIMEOUT_MS + 30_000 }, async () => {
  const workers = 4, rounds = 60;
  const lines = await bootOnHarts(work, guest, 4, 'storm', `${stormScript(workers, rounds)}\n${KERNEL_COMPLAINTS}`);
  checkStorm(lines, workers, rounds);
  assert.ok(lines.includes('KERNEL-COMPLAINTS 0'), lines.filter((l) => /KERNEL-COMPLAINTS/.test(l)).join('\n'));
});

