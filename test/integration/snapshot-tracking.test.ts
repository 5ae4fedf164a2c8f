/**
 * What Full and Diff snapshots rely on, checked on a real Linux guest (Debian's kernel under the JIT,
 * in-process): a page never marked `touched` is all zero (a Full snapshot skips it unread), and every
 * page whose bytes changed between two pauses was marked `dirty` in between (a Diff carries exactly
 * those). The guest forks, execs and writes files meanwhile, so stores reach memory through the
 * interpreter, translated code, page-table A/D updates and device DMA (virtio-rng).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { attachEntropy } from '../../src/vmm/virtio-attach.js';
import { Machine } from '../../src/platform/machine.js';
import { PAGE_SIZE, RAM_HOST_OFFSET, type MachineMemory } from '../../src/memory/machine-memory.js';
import { ensureGuest, minimalInitramfs } from '../helpers/guest-fixtures.js';
import { readFileSync } from 'node:fs';

const TIMEOUT_MS = 300_000;

function ram(mem: MachineMemory): Uint8Array {
  return Uint8Array.from(mem.bytes.subarray(RAM_HOST_OFFSET, RAM_HOST_OFFSET + mem.ramSize));
}

/** Pages that are not all zero but were never marked touched. */
function untrackedNonZero(mem: MachineMemory): number[] {
  const out: number[] = [];
  const zero = Buffer.alloc(PAGE_SIZE);
  const b = Buffer.from(mem.bytes.buffer, mem.bytes.byteOffset, mem.bytes.byteLength);
  for (let p = 0; p < mem.pages; p++) {
    if (mem.touched[p] !== 0) continue;
    const at = RAM_HOST_OFFSET + p * PAGE_SIZE;
    if (!zero.equals(b.subarray(at, at + PAGE_SIZE))) out.push(p);
  }
  return out;
}

test('on a real guest: untouched pages are zero, and every page that changed between two pauses is dirty', { timeout: TIMEOUT_MS }, async () => {
  const guest = await ensureGuest();
  const initrd = minimalInitramfs(guest, [
    'mount -t proc proc /proc',
    'echo READY',
    'i=0; while :; do i=$((i + 1)); echo "$i $(head -c 64 /dev/urandom | md5sum)" > /tmp/f$((i % 7)); cat /tmp/f$((i % 7)) >/dev/null; echo "TICK $i"; usleep 50000; done',
  ].join('\n'));
  let out = '';
  let waiting: { re: RegExp; resolve: () => void } | undefined;
  const m = new Machine({
    memMiB: 128, kernel: readFileSync(guest.kernelPath), kernelName: guest.kernelPath, initrd, initrdName: 'tick',
    cmdline: 'console=ttyS0 quiet panic=-1', engine: 'jit', virtio: [attachEntropy().factory],
    consoleOut: (b) => {
      out += Buffer.from(b).toString('latin1');
      if (waiting && waiting.re.test(out)) { m.pause(); const w = waiting; waiting = undefined; w.resolve(); }
    },
  });
  const pauseAt = (re: RegExp) => new Promise<void>((resolve) => { waiting = { re, resolve }; });
  const running = m.run();
  const guard = setTimeout(() => m.stop(), TIMEOUT_MS - 10_000);
  try {
    await pauseAt(/TICK 3\r?\n/);
    await new Promise((r) => setTimeout(r, 50)); // the hart stops at its next instruction boundary
    assert.deepEqual(untrackedNonZero(m.memory), [], 'every non-zero page was marked touched');
    const before = ram(m.memory);
    m.startDirtyEpoch();
    const from = out.length;
    const next = pauseAt(/TICK \d+\r?\n[^]*TICK \d+\r?\n[^]*TICK \d+\r?\n/);
    out = out.slice(0, from); // only what comes after the epoch counts for the next pause
    m.resume();
    await next;
    await new Promise((r) => setTimeout(r, 50));
    const after = ram(m.memory);
    const changed: number[] = [];
    for (let p = 0; p < m.memory.pages; p++) {
      const a = p * PAGE_SIZE;
      if (!Buffer.from(before.buffer, a, PAGE_SIZE).equals(Buffer.from(after.buffer, a, PAGE_SIZE))) changed.push(p);
    }
    const missed = changed.filter((p) => m.memory.dirty[p] === 0);
    const dirty = m.memory.dirty.reduce((s, v) => s + v, 0);
    assert.ok(changed.length > 10, `the guest changed memory meanwhile (${changed.length} pages)`);
    assert.deepEqual(missed, [], `pages changed but not dirty (of ${changed.length} changed, ${dirty} dirty)`);
    assert.deepEqual(untrackedNonZero(m.memory), []);
  } finally {
    clearTimeout(guard);
    m.stop();
    await running;
  }
});
