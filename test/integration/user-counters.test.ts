/**
 * Issue 13: Debian's user space reads its clocks. The vDSO's clock_gettime reads the `time` CSR with
 * rdtime in U-mode, which needs TM in both mcounteren and scounteren; wisp, playing the firmware, leaves
 * them as firmware does. A libc-free Linux program (programs/user-counters.c, built here with Debian's
 * riscv64-unknown-elf-gcc) reads time, cycle and instret from U-mode around a 20 ms sleep, under the
 * interpreter and under the JIT.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { DefaultGuest } from '../../src/guest/fetch.js';
import { describeResult, ensureGuest, minimalInitramfs, repoRoot, requireTool, runWisp } from '../helpers/guest-fixtures.js';

const BOOT_TIMEOUT_MS = 240_000;
/** The board's timebase (DESIGN.md): 10 MHz. */
const TICKS_PER_MS = 10_000;

let work = '';
let guest: DefaultGuest;
let initrd = '';

before(async () => {
  requireTool('riscv64-unknown-elf-gcc', 'gcc-riscv64-unknown-elf');
  work = mkdtempSync(join(tmpdir(), 'wisp-user-counters-'));
  guest = await ensureGuest();
  const elf = join(work, 'user-counters');
  execFileSync('riscv64-unknown-elf-gcc', [
    '-march=rv64gc', '-mabi=lp64d', '-O2', '-static', '-nostdlib', '-nostartfiles', '-ffreestanding',
    '-o', elf, join(repoRoot(), 'test/integration/programs/user-counters.c'),
  ]);
  initrd = join(work, 'initrd.cpio.gz');
  writeFileSync(initrd, minimalInitramfs(guest, 'user-counters || echo "USER-COUNTERS-FAILED $?"\npoweroff -f', {
    'user-counters': readFileSync(elf),
  }));
});
after(() => rmSync(work, { recursive: true, force: true }));

for (const engine of ['interpreter', 'jit'] as const) {
  test(`U-mode reads time, cycle and instret under the ${engine}`, { timeout: BOOT_TIMEOUT_MS + 30_000 }, async () => {
    const r = await runWisp(['run', '--engine', engine, '--kernel', guest.kernelPath, '--initrd', initrd, '--mem', '128'], { timeoutMs: BOOT_TIMEOUT_MS });
    assert.equal(r.timedOut, false, describeResult(r));
    assert.equal(r.code, 0, describeResult(r));
    const m = /USER-COUNTERS time (\d+) (\d+) cycle (\d+) (\d+) instret (\d+) (\d+)/.exec(r.stdout);
    assert.ok(m, `the program printed no readings (killed by SIGILL?)\n${describeResult(r)}`);
    const [t0, t1, c0, c1, i0, i1] = m.slice(1).map(BigInt);
    assert.ok(t1 - t0 >= 20n * BigInt(TICKS_PER_MS), `time advanced by at least the 20 ms sleep: ${t0} -> ${t1}`);
    assert.ok(t1 - t0 < 60_000n * BigInt(TICKS_PER_MS), `time advanced by less than a minute: ${t0} -> ${t1}`);
    assert.ok(c1 > c0, `cycle advanced: ${c0} -> ${c1}`);
    assert.ok(i1 > i0, `instret advanced: ${i0} -> ${i1}`);
  });
}
