import * as nodeFs from 'node:fs';
import type { BlockBackend } from '../../devices/virtio/block/block-backend.js';
import { HostFileError, openHostFile } from '../../util/host-file.js';

/** The node:fs calls the backend uses; injectable so a test can see that a flush really fsyncs. */
export interface FileIo {
  openSync(path: string, flags: string): number;
  closeSync(fd: number): void;
  fstatSync(fd: number): { size: number; isFile(): boolean; isBlockDevice(): boolean };
  readSync(fd: number, buf: Uint8Array, offset: number, length: number, position: number): number;
  writeSync(fd: number, buf: Uint8Array, offset: number, length: number, position: number): number;
  fsyncSync(fd: number): void;
}

export type FileBlockErrorCode = 'open-failed' | 'not-a-file' | 'read-only';

export class FileBlockError extends Error {
  constructor(
    readonly code: FileBlockErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'FileBlockError';
  }
}

const ZERO_CHUNK = 64 * 1024;

/**
 * A drive backed by a host file (or block device), with synchronous positioned reads and writes on
 * one fd. The size is taken when the file is opened, as Firecracker does; a drive update opens a new
 * backend. `flush` is fsync (Firecracker's `Writeback` cache type); discard is accepted and does
 * nothing, since Node has no fallocate(PUNCH_HOLE) and §5.2.6.2 lets a device keep the data.
 */
export class FileBlockBackend implements BlockBackend {
  private closed = false;
  private zeroes: Uint8Array | null = null;

  private constructor(
    readonly path: string,
    private readonly fd: number,
    private readonly bytes: number,
    readonly readOnly: boolean,
    private readonly io: FileIo,
  ) {}

  static open(path: string, opts: { readOnly?: boolean; io?: FileIo } = {}): FileBlockBackend {
    const io = opts.io ?? (nodeFs as unknown as FileIo);
    const readOnly = opts.readOnly ?? false;
    let fd: number;
    try {
      // The real file system goes through util/host-file.ts: never a FIFO or character device, never blocking.
      fd = opts.io ? io.openSync(path, readOnly ? 'r' : 'r+') : openHostFile(path, { what: 'drive', access: readOnly ? 'read' : 'read-write', kinds: ['file', 'block-device'] }).fd;
    } catch (e) {
      if (e instanceof HostFileError && e.code !== 'os') throw new FileBlockError('not-a-file', `Cannot use "${path}" as a drive: ${e.message}`, { cause: e });
      const errno = e instanceof HostFileError ? e.cause : e;
      const why = (errno as NodeJS.ErrnoException).code ?? String(e);
      throw new FileBlockError('open-failed', `Cannot open drive file "${path}"${readOnly ? ' read-only' : ''}: ${why}`, { cause: errno });
    }
    const st = io.fstatSync(fd);
    if (!st.isFile() && !st.isBlockDevice()) {
      io.closeSync(fd);
      throw new FileBlockError('not-a-file', `Cannot use "${path}" as a drive: it is neither a regular file nor a block device`);
    }
    return new FileBlockBackend(path, fd, st.size, readOnly, io);
  }

  size(): number {
    return this.bytes;
  }

  read(offset: number, dst: Uint8Array): void {
    let done = 0;
    while (done < dst.length) {
      const n = this.io.readSync(this.fd, dst, done, dst.length - done, offset + done);
      if (n === 0) {
        // A file shorter than it was at open (truncated behind our back): the rest reads as zeroes.
        dst.fill(0, done);
        return;
      }
      done += n;
    }
  }

  write(offset: number, src: Uint8Array): void {
    if (this.readOnly) throw new FileBlockError('read-only', `Cannot write to read-only drive file "${this.path}"`);
    let done = 0;
    while (done < src.length) {
      done += this.io.writeSync(this.fd, src, done, src.length - done, offset + done);
    }
  }

  flush(): void {
    if (!this.readOnly) this.io.fsyncSync(this.fd);
  }

  discard(_offset: number, _len: number): void {
    // Advisory (§5.2.6.2 "MAY deallocate"): without fallocate the data simply stays.
  }

  writeZeroes(offset: number, len: number): void {
    this.zeroes ??= new Uint8Array(ZERO_CHUNK);
    for (let at = 0; at < len; at += ZERO_CHUNK) {
      this.write(offset + at, this.zeroes.subarray(0, Math.min(ZERO_CHUNK, len - at)));
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.io.closeSync(this.fd);
  }
}
