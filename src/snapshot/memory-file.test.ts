import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DRAM_BASE, MachineMemory, PAGE_SIZE, RAM_HOST_OFFSET } from '../memory/machine-memory.js';
import { decodePageMap, FilePageSource, MemoryFileError, rebaseMemoryFile, writeMemoryFile } from './memory-file.js';

const dir = mkdtempSync(join(tmpdir(), 'wisp-memory-file-'));
const RAM = 4 << 20; // 1024 pages
let n = 0;
const file = (name: string) => join(dir, `${n++}-${name}`);

function ram(mem: MachineMemory): Buffer {
  return Buffer.from(mem.bytes.subarray(RAM_HOST_OFFSET, RAM_HOST_OFFSET + mem.ramSize));
}

/** Guest-style writes (through GuestMemory, so dirty/touched are kept) of a recognisable pattern. */
function scribble(mem: MachineMemory, pages: number[], tag: number): void {
  for (const p of pages) mem.write(DRAM_BASE + p * PAGE_SIZE + 16, Uint8Array.of(tag, p & 0xff, p >> 8, 0x5a));
}

test('a Full memory file is the RAM, byte for byte, sparse where it is zero', () => {
  const mem = new MachineMemory(RAM);
  scribble(mem, [0, 1, 2, 500, 1023], 1);
  const path = file('full.mem');
  const w = writeMemoryFile(path, mem, 'Full', false);
  assert.equal(w.pages, 5);
  assert.ok(readFileSync(path).equals(ram(mem)));
  const st = statSync(path);
  assert.equal(st.size, RAM);
  assert.ok(st.blocks * 512 < RAM / 4, `holes where RAM is zero (${st.blocks * 512} bytes allocated)`);
});

test('a restored memory reads pages from the file only as they are touched, and a Full snapshot of it (new file or in place) is complete', () => {
  const base = new MachineMemory(RAM);
  scribble(base, [3, 100, 101, 700], 7);
  const path = file('base.mem');
  writeMemoryFile(path, base, 'Full', false);

  const mem = new MachineMemory(RAM);
  mem.attachSource(FilePageSource.open(path, RAM));
  assert.equal(mem.bytes[RAM_HOST_OFFSET + 100 * PAGE_SIZE + 16], 0, 'nothing read yet');
  scribble(mem, [101], 9); // loads page 101's cluster, then writes it
  assert.equal(mem.bytes[RAM_HOST_OFFSET + 100 * PAGE_SIZE + 16], 7, 'page 100 came in with its cluster');
  assert.notEqual(mem.absent, null, 'page 3 and 700 are still in the file');

  const expected = Buffer.from(readFileSync(path));
  expected[101 * PAGE_SIZE + 16] = 9;
  const copy = file('copy.mem');
  writeMemoryFile(copy, mem, 'Full', false);
  assert.ok(readFileSync(copy).equals(expected), 'a new file gets the absent pages from the old one');
  assert.notEqual(mem.absent, null, 'without loading them into the guest');

  writeMemoryFile(path, mem, 'Full', false); // onto the file it is still loading from
  assert.ok(readFileSync(path).equals(expected), 'in place, nothing is lost');
  mem.loadAll();
  assert.ok(ram(mem).equals(expected));
});

test('a Diff carries exactly the pages written since the last snapshot, and rebased onto the Full file restores the RAM', () => {
  const mem = new MachineMemory(RAM);
  scribble(mem, [0, 10, 20, 30, 999], 1);
  const full = file('full.mem');
  writeMemoryFile(full, mem, 'Full', true);
  mem.clearDirty();
  scribble(mem, [10, 11, 12, 600], 2);
  mem.bytes.fill(0, RAM_HOST_OFFSET + 30 * PAGE_SIZE, RAM_HOST_OFFSET + 31 * PAGE_SIZE);
  mem.noteWrite(RAM_HOST_OFFSET + 30 * PAGE_SIZE, PAGE_SIZE); // a page written back to zero must travel too
  const diff = file('diff.mem');
  const w = writeMemoryFile(diff, mem, 'Diff', true);
  assert.equal(w.pages, 5);
  const map = decodePageMap(w.pageMap, RAM / PAGE_SIZE);
  assert.deepEqual([...map.keys()].filter((p) => map[p]), [10, 11, 12, 30, 600]);
  assert.ok(statSync(diff).blocks * 512 <= 64 * PAGE_SIZE, 'the diff is small on disk');

  assert.equal(rebaseMemoryFile(full, diff, w.pageMap!, RAM), 5);
  assert.ok(readFileSync(full).equals(ram(mem)), 'base + diff = the RAM at the diff');

  // A Diff written onto the base itself merges into it (Firecracker's rule for a file of the RAM's size).
  mem.clearDirty();
  scribble(mem, [13], 3);
  const merged = file('merged.mem');
  copyFileSync(full, merged);
  writeMemoryFile(merged, mem, 'Diff', true);
  assert.ok(readFileSync(merged).equals(ram(mem)));
});

test('a Diff without dirty-page tracking carries every resident page (a superset, as mincore gives Firecracker)', () => {
  const mem = new MachineMemory(RAM);
  scribble(mem, [1, 2], 1);
  mem.clearDirty();
  scribble(mem, [3], 2);
  const w = writeMemoryFile(file('untracked.mem'), mem, 'Diff', false);
  const map = decodePageMap(w.pageMap, RAM / PAGE_SIZE);
  assert.deepEqual([...map.keys()].filter((p) => map[p]), [1, 2, 3]);
});

test('a memory file of another size is refused clearly, as is rebasing with a map for another RAM', () => {
  const small = file('small.mem');
  writeFileSync(small, Buffer.alloc(RAM / 2));
  assert.throws(() => FilePageSource.open(small, RAM), (e: unknown) => e instanceof MemoryFileError && e.code === 'size-mismatch' &&
    /is 2097152 bytes, but the snapshot's guest has 4 MiB of RAM \(4194304 bytes\): it is not this snapshot's memory, or it was truncated/.test(e.message));
  assert.throws(() => FilePageSource.open(join(dir, 'nope.mem'), RAM), (e: unknown) => e instanceof MemoryFileError && /No such file or directory/.test(e.message));
  assert.throws(() => decodePageMap('AAAA', RAM / PAGE_SIZE), (e: unknown) => e instanceof MemoryFileError && e.code === 'bad-page-map');

  // A source whose file shrank under it stops the guest with a clear error, rather than zero-filling.
  const shrinking = file('shrinking.mem');
  writeFileSync(shrinking, Buffer.alloc(RAM, 1));
  const src = FilePageSource.open(shrinking, RAM);
  writeFileSync(shrinking, Buffer.alloc(PAGE_SIZE));
  assert.throws(() => src.read(8 * PAGE_SIZE, new Uint8Array(PAGE_SIZE), 0, PAGE_SIZE), /truncated after the snapshot was loaded/);
  src.close();
});
