import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DRAM_BASE, MachineMemory, PAGE_SIZE, RAM_HOST_OFFSET } from './machine-memory.js';
import type { PageSource } from './page-source.js';

/** A page source over an array, recording what was read. */
function arraySource(ram: Uint8Array): PageSource & { reads: [number, number][]; closed: boolean } {
  const s = {
    reads: [] as [number, number][],
    closed: false,
    read(off: number, dst: Uint8Array, at: number, len: number) {
      s.reads.push([off / PAGE_SIZE, len / PAGE_SIZE]);
      dst.set(ram.subarray(off, off + len), at);
    },
    close() { s.closed = true; },
  };
  return s;
}

function pattern(bytes: number): Uint8Array {
  const b = new Uint8Array(bytes);
  for (let p = 0; p < bytes / PAGE_SIZE; p++) b.fill((p % 250) + 1, p * PAGE_SIZE, (p + 1) * PAGE_SIZE);
  return b;
}

test('a lazily restored page comes in on first device access, with the absent pages of its cluster, never over a present one', () => {
  const mem = new MachineMemory(1 << 20); // 256 pages
  const image = pattern(1 << 20);
  const src = arraySource(image);
  mem.attachSource(src);
  assert.equal(src.reads.length, 0, 'attaching reads nothing');

  // A device writes page 20 before anything read it: the page is loaded first, then written.
  assert.equal(mem.write(DRAM_BASE + 20 * PAGE_SIZE + 8, Uint8Array.of(0xee)), true);
  assert.deepEqual(src.reads, [[16, 16]], 'the 16-page cluster around page 20');
  assert.equal(mem.bytes[RAM_HOST_OFFSET + 20 * PAGE_SIZE + 8], 0xee);
  assert.equal(mem.bytes[RAM_HOST_OFFSET + 20 * PAGE_SIZE + 9], 21, 'the rest of the page is the file\'s');
  assert.equal(mem.dirty[20], 1);

  // A range spanning the cluster edge loads the next cluster only (and the write above stands).
  const got = new Uint8Array(2 * PAGE_SIZE);
  assert.equal(mem.read(DRAM_BASE + 31 * PAGE_SIZE, got), true);
  assert.deepEqual(src.reads, [[16, 16], [32, 16]]);
  assert.equal(got[0], 32);
  assert.equal(got[PAGE_SIZE], 33);
  assert.equal(mem.dirty[32], 0, 'reading does not dirty');
  assert.equal(mem.touched[32], 1, 'a loaded page is resident');

  // Everything else, then the source is let go.
  mem.loadAll();
  assert.equal(mem.absent, null);
  assert.equal(src.closed, true);
  assert.equal(mem.bytes[RAM_HOST_OFFSET + 20 * PAGE_SIZE + 8], 0xee, 'loadAll never overwrote a present page');
  for (let p = 0; p < 256; p++) {
    if (p === 20) continue;
    assert.equal(mem.bytes[RAM_HOST_OFFSET + p * PAGE_SIZE + 100], (p % 250) + 1, `page ${p}`);
  }
});

test('device writes mark their pages dirty and touched; clearDirty starts a new epoch', () => {
  const mem = new MachineMemory(1 << 20);
  assert.equal(mem.touched.reduce((a, b) => a + b, 0), 0);
  mem.noteWrite(RAM_HOST_OFFSET + 5 * PAGE_SIZE - 2, 4); // straddles pages 4 and 5
  assert.deepEqual([mem.dirty[3], mem.dirty[4], mem.dirty[5], mem.dirty[6]], [0, 1, 1, 0]);
  mem.noteWrite(0x100, 8); // a hart's registers, not RAM
  mem.clearDirty();
  assert.equal(mem.dirty.reduce((a, b) => a + b, 0), 0);
  assert.deepEqual([mem.touched[4], mem.touched[5]], [1, 1], 'touched stays: those pages are no longer zero');
});
