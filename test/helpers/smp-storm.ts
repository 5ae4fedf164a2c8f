/**
 * The SMP storm run in a Debian guest (test/integration/run-smp.test.ts, scripts/smp-soak.mjs): worker
 * shells that each fork and exec pipelines of processes (seq | sed | sort | wc) and short-lived shells,
 * while a long pipe streams between three processes; every worker and the pipe check their own sums,
 * which the host knows in advance.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DefaultGuest } from '../../src/guest/fetch.js';
import { consoleLines, describeResult, minimalInitramfs, runWisp } from './guest-fixtures.js';

/** A boot on a loaded host with more harts than cores is slow; one that has not ended by then is hung. */
export const SMP_BOOT_TIMEOUT_MS = 600_000;

/**
 * Kernel arguments for runs on a loaded host, where a hart thread can wait long for a host core:
 * guest time is host time, so the soft-lockup and RCU-stall detectors would report the host's
 * scheduling, not the guest's. Their thresholds go to the maximum (watchdog 60 s, i.e. 120 s for a
 * soft lockup; RCU 300 s), not off: a hart that really hangs still shows.
 */
export const STORM_KERNEL_ARGS = 'watchdog_thresh=60 rcupdate.rcu_cpu_stall_timeout=300';

/** What the guest's script does first: /proc, /dev (background jobs read /dev/null), /tmp. */
export const GUEST_SETUP = 'mount -t proc proc /proc\nmount -t devtmpfs dev /dev\nmkdir -p /tmp';

/**
 * Prints "KERNEL-COMPLAINTS n": the kernel's reports of its own trouble in dmesg (a BUG, an Oops, a
 * WARNING, a stall or lockup, a hung task, any backtrace).
 */
export const KERNEL_COMPLAINTS = 'echo "KERNEL-COMPLAINTS $(dmesg | grep -cE "BUG:|Oops|WARNING:|detected stall|soft lockup|hard LOCKUP|hung_task|Call Trace")"';

/**
 * Boots Debian's kernel on `cpus` harts through the real CLI with an initramfs (written into `dir`) whose
 * init runs GUEST_SETUP, then `script`, then powers off; asserts a clean exit 0 with no kernel complaint
 * on the console, and gives the console lines.
 */
export async function bootOnHarts(dir: string, guest: DefaultGuest, cpus: number, name: string, script: string, mem = 256): Promise<string[]> {
  const initrd = join(dir, `${name}.cpio.gz`);
  writeFileSync(initrd, minimalInitramfs(guest, `${GUEST_SETUP}\n${script}\npoweroff -f`));
  const r = await runWisp(['run', '--cpus', String(cpus), '--kernel', guest.kernelPath, '--initrd', initrd, '--mem', String(mem), '--append', STORM_KERNEL_ARGS],
    { timeoutMs: SMP_BOOT_TIMEOUT_MS });
  assert.equal(r.timedOut, false, describeResult(r));
  assert.equal(r.code, 0, describeResult(r));
  assert.doesNotMatch(r.stdout, /Kernel panic|Oops|BUG:|WARNING:|Unable to handle/, describeResult(r));
  return consoleLines(r.stdout);
}

/** Bytes the long pipe carries ("y\n" repeated). */
const PIPE_BYTES = 2_000_000;

/** The guest's sh script: `workers` storm workers of `rounds` rounds each, and the long pipe, all at once. */
export function stormScript(workers: number, rounds: number): string {
  return [
    'storm() {',
    '  w=$1; n=$2; i=0; sum=0',
    '  while [ $i -lt $n ]; do',
    '    c=$(seq 1 $((i % 50 + 1)) | sed "s/^/w$w-/" | sort -r | wc -l)',
    '    sh -c "exit $((i % 7))"; e=$?',
    '    sum=$((sum + c + e))',
    '    i=$((i + 1))',
    '  done',
    '  echo "STORM $w $sum"',
    '}',
    `(echo "PIPE $(yes | head -c ${PIPE_BYTES} | sha256sum | cut -d" " -f1)") &`,
    `for w in $(seq 1 ${workers}); do storm $w ${rounds} & done`,
    'wait',
  ].join('\n');
}

/** What one worker prints after `rounds` rounds. */
export function stormSum(rounds: number): number {
  let sum = 0;
  for (let i = 0; i < rounds; i++) sum += (i % 50) + 1 + (i % 7);
  return sum;
}

/** The sha256 the long pipe's last process prints. */
export function pipeSha256(): string {
  return createHash('sha256').update(Buffer.alloc(PIPE_BYTES, 'y\n')).digest('hex');
}

/** Asserts that every worker and the pipe printed what the host expects. */
export function checkStorm(lines: readonly string[], workers: number, rounds: number): void {
  const want = stormSum(rounds);
  for (let w = 1; w <= workers; w++) {
    assert.ok(lines.includes(`STORM ${w} ${want}`), `storm worker ${w} should print ${want}:\n${lines.filter((l) => l.startsWith('STORM')).join('\n')}\n${lines.slice(-20).join('\n')}`);
  }
  assert.ok(lines.includes(`PIPE ${pipeSha256()}`), `the long pipe should carry its bytes intact:\n${lines.filter((l) => l.startsWith('PIPE')).join('\n')}`);
}
