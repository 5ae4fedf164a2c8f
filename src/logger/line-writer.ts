/**
 * Where log lines and metrics lines go: a file or a named pipe, opened the way Firecracker opens them
 * (the path must already exist; O_NONBLOCK so a FIFO nobody reads never stalls the VMM; O_RDWR so
 * opening a FIFO without a reader does not fail with ENXIO), through util/host-file.ts so that only a
 * regular file, a FIFO or a character device (/dev/null) is accepted and nothing else is ever opened.
 * A line that cannot be written whole is dropped and counted: the VMM never blocks or throws because
 * a consumer is slow or gone.
 */
import { closeSync, writeSync } from 'node:fs';
import { openHostFile } from '../util/host-file.js';

export interface LineWriter {
  /** Writes one line (a trailing newline is added); false if it was dropped. */
  writeLine(line: string): boolean;
  close(): void;
}

export class FileLineWriter implements LineWriter {
  private fd: number | undefined;
  /** Lines dropped because the pipe was full or the write failed. */
  dropped = 0;
  /** Writes that failed for another reason than a full pipe. */
  failures = 0;

  private constructor(fd: number, readonly path: string) {
    this.fd = fd;
  }

  /** Throws a HostFileError (the host's errno, or a type that is not accepted) if the path cannot be used. */
  static open(path: string, what = 'log file'): FileLineWriter {
    const f = openHostFile(path, { what, access: 'append', kinds: ['file', 'fifo', 'char-device'] });
    return new FileLineWriter(f.fd, path);
  }

  writeLine(line: string): boolean {
    if (this.fd === undefined) return false;
    const buf = Buffer.from(line + '\n');
    try {
      // A FIFO accepts a write of up to PIPE_BUF (4096) bytes atomically or not at all (pipe(7)); longer
      // lines may be cut, which is reported as a drop.
      const n = writeSync(this.fd, buf);
      if (n === buf.length) return true;
      this.dropped++;
      return false;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') this.failures++;
      this.dropped++;
      return false;
    }
  }

  close(): void {
    if (this.fd !== undefined) {
      try {
        closeSync(this.fd);
      } catch {
        // Closing can only fail for an fd that is already gone; nothing to do.
      }
      this.fd = undefined;
    }
  }
}

/** Lines kept in memory (tests, and a logger before it is configured when nothing should print). */
export class MemoryLineWriter implements LineWriter {
  readonly lines: string[] = [];
  writeLine(line: string): boolean {
    this.lines.push(line);
    return true;
  }
  close(): void {}
}

/** Writes to one of the process's own streams (stderr for logs before `--log-path`/PUT /logger). */
export class StreamLineWriter implements LineWriter {
  constructor(private readonly stream: { write(s: string): unknown }) {}
  writeLine(line: string): boolean {
    this.stream.write(line + '\n');
    return true;
  }
  close(): void {}
}
