/**
 * The snapshot memory file: guest RAM as raw bytes, RAM offset = file offset (page-aligned, so other
 * tools can read it), sparse where the guest's pages are zero. A Full file holds every page; a Diff
 * file holds the pages written since the last snapshot at their offsets (holes elsewhere) and the
 * state file written with it lists them, so `wisp snapshot rebase` can lay it onto a full file.
 *
 * Restoring opens the file and reads nothing: FilePageSource hands pages to the machine memory as the
 * guest first touches them (memory/machine-memory.ts).
 */
import { closeSync, constants, fstatSync, fsyncSync, ftruncateSync, openSync, readSync, writeSync } from 'node:fs';
import { PAGE_SIZE, RAM_HOST_OFFSET, type MachineMemory } from '../memory/machine-memory.js';
import type { PageSource } from '../memory/page-source.js';
import { osErrorText } from '../util/os-error.js';
import { HostFileError, openHostFile } from '../util/host-file.js';

export type SnapshotType = 'Full' | 'Diff';

export type MemoryFileErrorCode = 'open-failed' | 'not-a-file' | 'size-mismatch' | 'read-failed' | 'write-failed' | 'bad-page-map';

export class MemoryFileError extends Error {
  constructor(readonly code: MemoryFileErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MemoryFileError';
  }
}

/** Largest single read or write (Linux moves at most ~2 GiB per call; smaller keeps buffers small). */
const IO_CHUNK = 16 << 20;
/** Bytes copied at once from a page source into a new file (pages never loaded into the machine). */
const COPY_CHUNK = 1 << 20;

/** What writeMemoryFile wrote. */
export interface MemoryFileWritten {
  /** Pages the file holds data for (a Diff: the pages it carries; a Full: the non-zero ones). */
  pages: number;
  /** For a Diff: which RAM pages it carries (encodePageMap), for the state file. */
  pageMap?: string;
}

/**
 * Guest RAM, lazily read from a memory file: pread at the page's offset. The file's identity
 * (device, inode) lets a snapshot written onto this very file update it in place.
 */
export class FilePageSource implements PageSource {
  private constructor(
    private fd: number,
    readonly path: string,
    readonly dev: number,
    readonly ino: number,
  ) {}

  /** Opens `path` read-only and checks it holds exactly `ramBytes` of RAM. */
  static open(path: string, ramBytes: number): FilePageSource {
    let fd: number;
    try {
      fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    } catch (e) {
      throw new MemoryFileError('open-failed', `cannot open the memory file "${path}": ${osErrorText(e)}`, { cause: e });
    }
    try {
      const st = fstatSync(fd);
      if (!st.isFile()) throw new MemoryFileError('not-a-file', `the memory file "${path}" is not a regular file`);
      if (st.size !== ramBytes) {
        throw new MemoryFileError('size-mismatch',
          `the memory file "${path}" is ${st.size} bytes, but the snapshot's guest has ${ramBytes / 0x10_0000} MiB of RAM (${ramBytes} bytes): it is not this snapshot's memory${st.size < ramBytes ? ', or it was truncated' : ''}`);
      }
      return new FilePageSource(fd, path, st.dev, st.ino);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  }

  read(ramOffset: number, dst: Uint8Array, dstOffset: number, len: number): void {
    if (this.fd < 0) throw new MemoryFileError('read-failed', `the memory file "${this.path}" was already closed`);
    let done = 0;
    while (done < len) {
      let n: number;
      try {
        n = readSync(this.fd, dst, dstOffset + done, Math.min(IO_CHUNK, len - done), ramOffset + done);
      } catch (e) {
        throw new MemoryFileError('read-failed', `cannot read guest memory at RAM offset 0x${(ramOffset + done).toString(16)} from "${this.path}": ${osErrorText(e)}`, { cause: e });
      }
      if (n === 0) {
        throw new MemoryFileError('read-failed', `the memory file "${this.path}" ends at 0x${(ramOffset + done).toString(16)}: it was truncated after the snapshot was loaded`);
      }
      done += n;
    }
  }

  /** Reads the whole file into RAM at once (an eager restore): large sequential reads. */
  readAll(mem: MachineMemory): void {
    this.read(0, mem.bytes, RAM_HOST_OFFSET, mem.ramSize);
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}

/**
 * Writes guest RAM to `path` (a Full or Diff memory file) and starts nothing else: the caller then
 * begins a new dirty-page epoch. Firecracker's rules for an existing file: a Full snapshot replaces
 * its contents; a Diff onto a file of the RAM's size merges into it (the pages it carries overwrite
 * theirs), onto any other file replaces it. A Full snapshot onto the very file this machine is still
 * lazily loaded from updates it in place: pages never loaded are already right there.
 *
 * A Diff carries the pages written since the last snapshot when `trackDirtyPages`, otherwise every
 * page the guest has written or that was loaded (Firecracker's mincore() fallback: a superset).
 */
export function writeMemoryFile(path: string, mem: MachineMemory, type: SnapshotType, trackDirtyPages: boolean): MemoryFileWritten {
  let fd: number;
  try {
    // util/host-file.ts: an existing FIFO or device is refused before it is opened (a FIFO would block).
    fd = openHostFile(path, { what: 'memory file', access: 'write', create: true, mode: 0o600, kinds: ['file'] }).fd;
  } catch (e) {
    const why = e instanceof HostFileError ? e.message : osErrorText(e);
    throw new MemoryFileError('open-failed', `cannot open the memory file "${path}" for writing: ${why}`, { cause: e });
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new MemoryFileError('not-a-file', `the memory file "${path}" is not a regular file`);
    const source = mem.pageSource;
    const inPlace = source instanceof FilePageSource && source.dev === st.dev && source.ino === st.ino;
    const resize = (keep: boolean) => {
      if (!keep) ftruncateSync(fd, 0);
      ftruncateSync(fd, mem.ramSize);
    };
    let written: MemoryFileWritten;
    if (type === 'Full') {
      resize(inPlace);
      written = writeFull(fd, mem, inPlace ? null : source);
    } else {
      resize(st.size === mem.ramSize);
      written = writeDiff(fd, mem, trackDirtyPages ? mem.dirty : residentPages(mem));
    }
    fsyncSync(fd);
    return written;
  } catch (e) {
    if (e instanceof MemoryFileError) throw e;
    throw new MemoryFileError('write-failed', `cannot write the memory file "${path}": ${osErrorText(e)}`, { cause: e });
  } finally {
    closeSync(fd);
  }
}

/**
 * Every page the file must hold: pages in the machine are written unless all zero (a page never
 * touched since the machine started is zero without looking); pages still absent are copied from
 * `source`, or skipped when it is null (the file already holds them: the in-place case).
 */
function writeFull(fd: number, mem: MachineMemory, source: PageSource | null): MemoryFileWritten {
  const bytes = mem.bytes;
  const absent = mem.absent;
  const touched = mem.touched;
  const zero = Buffer.alloc(PAGE_SIZE);
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const inPlace = source === null && absent !== null;
  let pages = 0;
  let run = -1; // first page of the pending run of pages to write from memory
  const flush = (end: number) => {
    if (run < 0) return;
    writeAll(fd, bytes, RAM_HOST_OFFSET + run * PAGE_SIZE, (end - run) * PAGE_SIZE, run * PAGE_SIZE);
    run = -1;
  };
  for (let p = 0; p < mem.pages; p++) {
    if (absent !== null && absent[p] !== 0) {
      flush(p);
      if (source === null) continue;
      let q = p + 1;
      while (q < mem.pages && q - p < COPY_CHUNK / PAGE_SIZE && absent[q] !== 0) q++;
      pages += copyNonZero(fd, source, p, q, zero);
      p = q - 1;
      continue;
    }
    const at = RAM_HOST_OFFSET + p * PAGE_SIZE;
    // In place, a present page may differ from the file (written since the load): always write it.
    const keep = inPlace || (touched[p] !== 0 && !zero.equals(buf.subarray(at, at + PAGE_SIZE)));
    if (keep) {
      pages++;
      if (run < 0) run = p;
    } else flush(p);
  }
  flush(mem.pages);
  return { pages };
}

/** Copies pages [p, q) from the source to the file, leaving holes for zero pages. Returns the non-zero count. */
function copyNonZero(fd: number, source: PageSource, p: number, q: number, zero: Buffer): number {
  const buf = Buffer.alloc((q - p) * PAGE_SIZE);
  source.read(p * PAGE_SIZE, buf, 0, buf.length);
  let n = 0;
  let run = -1;
  const flush = (end: number) => {
    if (run < 0) return;
    writeAll(fd, buf, (run - p) * PAGE_SIZE, (end - run) * PAGE_SIZE, run * PAGE_SIZE);
    run = -1;
  };
  for (let i = p; i < q; i++) {
    const at = (i - p) * PAGE_SIZE;
    if (!zero.equals(buf.subarray(at, at + PAGE_SIZE))) {
      n++;
      if (run < 0) run = i;
    } else flush(i);
  }
  flush(q);
  return n;
}

/** The pages a Diff carries, each written whatever its contents (zeros too: the base may hold data there). */
function writeDiff(fd: number, mem: MachineMemory, selected: Uint8Array): MemoryFileWritten {
  let pages = 0;
  for (let p = 0; p < mem.pages; p++) {
    if (selected[p] === 0) continue;
    let q = p + 1;
    while (q < mem.pages && selected[q] !== 0) q++;
    writeAll(fd, mem.bytes, RAM_HOST_OFFSET + p * PAGE_SIZE, (q - p) * PAGE_SIZE, p * PAGE_SIZE);
    pages += q - p;
    p = q;
  }
  return { pages, pageMap: encodePageMap(selected) };
}

/** Pages written since the machine started or loaded from its snapshot: what is resident. */
function residentPages(mem: MachineMemory): Uint8Array {
  const out = new Uint8Array(mem.pages);
  const absent = mem.absent;
  for (let p = 0; p < mem.pages; p++) out[p] = mem.touched[p] !== 0 && (absent === null || absent[p] === 0) ? 1 : 0;
  return out;
}

function writeAll(fd: number, src: Uint8Array, off: number, len: number, pos: number): void {
  for (let done = 0; done < len;) {
    done += writeSync(fd, src, off + done, Math.min(IO_CHUNK, len - done), pos + done);
  }
}

/** A per-page 0/1 map as a base64 bitmap (bit p%8 of byte p/8): bounded size whatever the pattern. */
export function encodePageMap(pages: Uint8Array): string {
  const bits = new Uint8Array(Math.ceil(pages.length / 8));
  for (let p = 0; p < pages.length; p++) if (pages[p] !== 0) bits[p >>> 3] |= 1 << (p & 7);
  return Buffer.from(bits).toString('base64');
}

/** The inverse of encodePageMap, for a RAM of `count` pages; throws MemoryFileError on a map that does not fit. */
export function decodePageMap(map: unknown, count: number): Uint8Array {
  const bits = typeof map === 'string' && /^[A-Za-z0-9+/]*={0,2}$/.test(map) ? Buffer.from(map, 'base64') : null;
  if (!bits || bits.length !== Math.ceil(count / 8)) {
    throw new MemoryFileError('bad-page-map', `the diff's page map does not describe a RAM of ${count} pages`);
  }
  const out = new Uint8Array(count);
  for (let p = 0; p < count; p++) out[p] = (bits[p >>> 3] >>> (p & 7)) & 1;
  return out;
}

/**
 * Lays a Diff memory file onto a memory file of the same RAM (Firecracker's `snapshot-editor
 * edit-memory rebase`): the pages the diff carries (`pageMap`, from the diff's state file) are
 * copied over the base's, in place. The result, with the diff's state file, restores the VM as it
 * was when the diff was taken. Returns the number of pages copied.
 */
export function rebaseMemoryFile(basePath: string, diffPath: string, pageMap: string, ramBytes: number): number {
  const pages = decodePageMap(pageMap, ramBytes / PAGE_SIZE);
  const diff = FilePageSource.open(diffPath, ramBytes);
  let fd: number;
  try {
    fd = openHostFile(basePath, { what: 'base memory file', access: 'write', kinds: ['file'] }).fd;
  } catch (e) {
    diff.close();
    const why = e instanceof HostFileError ? e.message : osErrorText(e);
    throw new MemoryFileError('open-failed', `cannot open the base memory file "${basePath}" for writing: ${why}`, { cause: e });
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.size !== ramBytes) {
      throw new MemoryFileError('size-mismatch', `the base memory file "${basePath}" is ${st.size} bytes, the diff's guest has ${ramBytes} bytes of RAM`);
    }
    if (st.dev === diff.dev && st.ino === diff.ino) return 0; // the diff was written onto this base already
    const buf = Buffer.alloc(COPY_CHUNK);
    let copied = 0;
    for (let p = 0; p < pages.length; p++) {
      if (pages[p] === 0) continue;
      let q = p + 1;
      while (q < pages.length && pages[q] !== 0 && q - p < COPY_CHUNK / PAGE_SIZE) q++;
      const len = (q - p) * PAGE_SIZE;
      diff.read(p * PAGE_SIZE, buf, 0, len);
      writeAll(fd, buf, 0, len, p * PAGE_SIZE);
      copied += q - p;
      p = q - 1;
    }
    fsyncSync(fd);
    return copied;
  } catch (e) {
    if (e instanceof MemoryFileError) throw e;
    throw new MemoryFileError('write-failed', `cannot write the base memory file "${basePath}": ${osErrorText(e)}`, { cause: e });
  } finally {
    closeSync(fd);
    diff.close();
  }
}
