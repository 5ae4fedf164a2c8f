/**
 * The ISA suite on QEMU, our reference for "what hardware does": the same ELFs that isa.test.ts gives to
 * wisp must pass on `qemu-system-riscv64 -M virt -bios none`, which keeps the tests themselves honest.
 * Programs marked WISP-ONLY in their source (wisp made a choice the spec allows and QEMU made another)
 * are listed with the reason instead of run.
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { relative } from 'node:path';
import { before, describe, test } from 'node:test';
import { buildIsaPrograms } from './build.js';
import { describeFailure, listIsaPrograms, repoRoot } from './isa-programs.js';

const QEMU = 'qemu-system-riscv64';
const TIMEOUT_MS = 60_000;
const root = repoRoot();

function runQemu(elf: string, harts: number, oneThread: boolean): Promise<{ code: number | null; output: string }> {
  const args = ['-M', 'virt', ...(oneThread ? ['-accel', 'tcg,thread=single'] : []), '-bios', 'none', '-nographic', '-monitor', 'none', '-serial', 'stdio', '-smp', String(harts), '-kernel', elf];
  return new Promise((done) => {
    const child = execFile(QEMU, args, { timeout: TIMEOUT_MS, maxBuffer: 4 << 20 }, (err, stdout, stderr) => {
      const e = err as (Error & { code?: number | string; killed?: boolean }) | null;
      done({ code: e ? (typeof e.code === 'number' ? e.code : null) : 0, output: `${stdout}${stderr}` });
    });
    child.stdin?.end();
  });
}

describe('ISA suite on QEMU (reference)', { concurrency: 2 }, () => {
  before(async () => {
    const q = spawnSync(QEMU, ['--version'], { encoding: 'utf8' });
    if (q.error || q.status !== 0) {
      throw new Error(`Cannot run the QEMU reference: ${QEMU} is missing (Debian package qemu-system-misc; scripts/setup.sh installs it)`);
    }
    await buildIsaPrograms();
  });
  for (const p of listIsaPrograms()) {
    if (p.wispOnly) {
      console.log(`qemu-reference: ${p.name} is wisp-only: ${p.wispOnly}`);
      test(p.name, { skip: `wisp-only: ${p.wispOnly}` }, () => {});
      continue;
    }
    test(p.name, async () => {
      if (p.qemuOneThread) console.log(`qemu-reference: ${p.name} runs on one QEMU thread: ${p.qemuOneThread}`);
      const r = await runQemu(p.elf, p.harts, p.qemuOneThread !== undefined);
      const tail = r.output.trimEnd().split('\n').slice(-15).join('\n');
      const what = describeFailure(r.output) ?? (r.code === null ? `no verdict within ${TIMEOUT_MS} ms` : `exit ${r.code}`);
      assert.equal(r.code, 0, `${relative(root, p.source)} on QEMU: ${what}\n--- last output ---\n${tail}`);
    });
  }
});
