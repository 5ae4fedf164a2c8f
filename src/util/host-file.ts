/**
 * Opening a path that a user gave (kernel, initrd, drives, the config file, logger, metrics, serial
 * output, snapshot and memory files, Unix sockets) so that it can never block the VMM or make it read
 * without bound. Every such path goes through here, from the CLI and from the API alike, so the rules
 * are the same wherever the path comes from:
 *
 *  1. stat the path (symlinks followed) and refuse a type the use does not allow *before* opening it:
 *     open(2) of a FIFO blocks until the other end opens, and opening some devices has side effects.
 *  2. open with O_NONBLOCK | O_NOCTTY (Node adds O_CLOEXEC), so a path swapped for a FIFO between the
 *     stat and the open still cannot block, and a terminal never becomes the VMM's controlling tty;
 *  3. fstat the open fd: it must be the file that was checked (same device, inode and type);
 *  4. a regular file read whole is refused above the use's cap, and reads stop at the cap.
 *
 * How to use it (other parts: please do, rather than calling openSync on a user's path):
 *
 *   const f = openHostFile(path, { what: 'memory file', access: 'read', kinds: ['file'] });  // f.fd, f.size, f.close()
 *   const bytes = readHostFile(path, { what: 'snapshot file', kinds: ['file'], maxBytes: 64 << 20 });
 *   const text = await readHostFileAsync(path, { what: 'config file', kinds: ['file', 'fifo'], maxBytes: 1 << 20 });
 *   probeHostFile(path, rule);        // open + close now (PUT time), so a bad path fails at configuration
 *   openHostFile(path, { what: 'state file', access: 'write', create: true, truncate: true, mode: 0o600, kinds: ['file'] });
 *   checkUnixSocketPath(path, 'bind' | 'connect');   // sun_path's 107 bytes, the directory exists, ...
 *
 * The fd stays non-blocking: regular files and block devices ignore O_NONBLOCK; a FIFO or terminal
 * written to gets EAGAIN instead of stalling (callers drop and count, as the logger does). Errors are
 * HostFileError with a `code`; an OS error keeps its errno as `cause` and is worded as Firecracker
 * words it ("No such file or directory (os error 2)").
 */
import { closeSync, constants, fstatSync, openSync, readSync, statSync, type Stats } from 'node:fs';
import { Socket } from 'node:net';
import { dirname } from 'node:path';
import { osErrorText } from './os-error.js';

export type HostFileKind = 'file' | 'block-device' | 'char-device' | 'fifo' | 'directory' | 'socket';

export type HostFileErrorCode =
  /** open/stat/read failed in the OS (ENOENT, EACCES, EMFILE, ...): `cause` is the errno error. */
  | 'os'
  /** The path is of a type this use does not accept (a FIFO for a kernel, /dev/zero for a drive, ...). */
  | 'wrong-type'
  /** A regular file (or the bytes a pipe gave) larger than this use reads. */
  | 'too-large'
  /** The path named another file when opened than when checked. */
  | 'changed'
  /** A Unix socket path longer than sun_path holds, empty, or with a NUL in it. */
  | 'bad-socket-path'
  /** The content is refused by its use (a kernel shorter than its headers promise). */
  | 'bad-content';

export class HostFileError extends Error {
  constructor(
    readonly code: HostFileErrorCode,
    readonly path: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'HostFileError';
  }

  /** The errno name of an 'os' error (ENOENT, ...), else undefined. */
  get errno(): string | undefined {
    return this.code === 'os' ? (this.cause as NodeJS.ErrnoException | undefined)?.code : undefined;
  }
}

/**
 * - read: O_RDONLY. read-write: O_RDWR (a writable drive).
 * - append: O_RDWR | O_APPEND, for log and metrics destinations: O_RDWR so that a FIFO with no reader
 *   neither fails (ENXIO) nor blocks, and a full pipe makes a write fail with EAGAIN.
 * - write: O_WRONLY, for outputs such as the serial console (append) or a snapshot (create, truncate).
 */
export type HostFileAccess = 'read' | 'read-write' | 'append' | 'write';

export interface HostFileRule {
  /** What the path is for, as messages name it ("kernel image", "drive", "config file"). */
  what: string;
  access: HostFileAccess;
  /** Types accepted. A FIFO only where a stream is the point (log, metrics, serial output, config). */
  kinds: readonly HostFileKind[];
  /** 'write'/'append' only: create a regular file (mode 0644 less umask) if the path does not exist. */
  create?: boolean;
  /** 'write' only: truncate a regular file to 0 (a snapshot being written). */
  truncate?: boolean;
  /** 'write' only: O_APPEND (a console or log written line by line; never for positioned writes). */
  append?: boolean;
  /** Permission bits of a file `create` makes (less the umask); 0o644 by default. */
  mode?: number;
  /** Refuse a regular file larger than this many bytes. */
  maxBytes?: number;
}

export interface HostFile {
  readonly fd: number;
  readonly path: string;
  readonly kind: HostFileKind;
  /** st_size at open (bytes of a regular file or block device's inode; 0 for most others). */
  readonly size: number;
  close(): void;
}

const KIND_TEXT: Record<HostFileKind, string> = {
  file: 'a regular file',
  'block-device': 'a block device',
  'char-device': 'a character device',
  fifo: 'a named pipe (FIFO)',
  directory: 'a directory',
  socket: 'a Unix socket',
};

export function kindOf(st: Stats): HostFileKind | undefined {
  if (st.isFile()) return 'file';
  if (st.isBlockDevice()) return 'block-device';
  if (st.isCharacterDevice()) return 'char-device';
  if (st.isFIFO()) return 'fifo';
  if (st.isDirectory()) return 'directory';
  if (st.isSocket()) return 'socket';
  return undefined;
}

function list(kinds: readonly HostFileKind[]): string {
  const t = kinds.map((k) => KIND_TEXT[k]);
  return t.length <= 1 ? (t[0] ?? 'nothing') : `${t.slice(0, -1).join(', ')} or ${t[t.length - 1]}`;
}

function osError(path: string, err: unknown): HostFileError {
  return new HostFileError('os', path, osErrorText(err), { cause: err });
}

function wrongType(path: string, kind: HostFileKind | undefined, rule: HostFileRule): HostFileError {
  const is = kind ? KIND_TEXT[kind] : 'not a file of a known type';
  return new HostFileError('wrong-type', path, `"${path}" is ${is}; the ${rule.what} must be ${list(rule.kinds)}`);
}

function tooLarge(path: string, size: number, rule: { what: string; maxBytes?: number }): HostFileError {
  return new HostFileError('too-large', path, `"${path}" is ${describeBytes(size)}; the ${rule.what} may be at most ${describeBytes(rule.maxBytes ?? 0)}`);
}

/** "1.5 MiB (1572864 bytes)" style, exact in bytes. */
export function describeBytes(n: number): string {
  if (n < 1024) return `${n} bytes`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${Number.isInteger(v) ? v : v.toFixed(1)} ${units[u]} (${n} bytes)`;
}

function flagsFor(rule: HostFileRule): number {
  const base = constants.O_NONBLOCK | constants.O_NOCTTY;
  switch (rule.access) {
    case 'read':
      return base | constants.O_RDONLY;
    case 'read-write':
      return base | constants.O_RDWR;
    case 'append':
      return base | constants.O_RDWR | constants.O_APPEND | (rule.create ? constants.O_CREAT : 0);
    case 'write':
      return base | constants.O_WRONLY | (rule.truncate ? constants.O_TRUNC : 0) | (rule.append ? constants.O_APPEND : 0) | (rule.create ? constants.O_CREAT : 0);
  }
}

/**
 * Opens `path` for `rule` (see the file comment for the checks). The caller owns the fd: close() it.
 * Throws HostFileError.
 */
export function openHostFile(path: string, rule: HostFileRule): HostFile {
  if (typeof path !== 'string' || path.length === 0) throw new HostFileError('os', String(path), `an empty path cannot name the ${rule.what}`);
  if (path.includes('\0')) throw new HostFileError('wrong-type', path, `the path of the ${rule.what} contains a NUL character`);
  let before: Stats | undefined;
  try {
    before = statSync(path);
  } catch (e) {
    const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
    if (!(missing && rule.create && rule.access !== 'read' && rule.access !== 'read-write')) throw osError(path, e);
  }
  if (before) {
    const kind = kindOf(before);
    if (!kind || !rule.kinds.includes(kind)) throw wrongType(path, kind, rule);
    if (kind === 'file' && rule.maxBytes !== undefined && before.size > rule.maxBytes && !rule.truncate) throw tooLarge(path, before.size, rule);
  }
  let fd: number;
  try {
    fd = openSync(path, flagsFor(rule), rule.mode ?? 0o644);
  } catch (e) {
    throw osError(path, e);
  }
  try {
    const st = fstatSync(fd);
    const kind = kindOf(st);
    if (before && (st.dev !== before.dev || st.ino !== before.ino)) {
      throw new HostFileError('changed', path, `"${path}" was replaced by another file while the ${rule.what} was being opened`);
    }
    if (!kind || !rule.kinds.includes(kind)) throw wrongType(path, kind, rule);
    let closed = false;
    return {
      fd,
      path,
      kind,
      size: st.size,
      close: () => {
        if (closed) return;
        closed = true;
        try {
          closeSync(fd);
        } catch {
          // close(2) fails only for a bad fd; there is nothing left to release.
        }
      },
    };
  } catch (e) {
    closeSync(fd);
    throw e instanceof HostFileError ? e : osError(path, e);
  }
}

/**
 * The stat half of openHostFile, for a path that is only opened later (an output that may be a FIFO
 * whose reader is not there yet): an existing path must be of an accepted type; a missing one is fine
 * if `rule.create` and its directory exists.
 */
export function checkHostPath(path: string, rule: HostFileRule): { kind: HostFileKind | 'missing' } {
  if (path.length === 0) throw new HostFileError('os', path, `an empty path cannot name the ${rule.what}`);
  if (path.includes('\0')) throw new HostFileError('wrong-type', path, `the path of the ${rule.what} contains a NUL character`);
  let st: Stats;
  try {
    st = statSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || !rule.create) throw osError(path, e);
    const dir = dirname(path);
    let d: Stats;
    try {
      d = statSync(dir);
    } catch (e2) {
      if ((e2 as NodeJS.ErrnoException).code === 'ENOENT') throw new HostFileError('os', path, `the directory "${dir}" of the ${rule.what} does not exist`, { cause: e2 });
      throw osError(path, e2);
    }
    if (!d.isDirectory()) throw new HostFileError('wrong-type', path, `"${dir}" (the directory of the ${rule.what}) is not a directory`);
    return { kind: 'missing' };
  }
  const kind = kindOf(st);
  if (!kind || !rule.kinds.includes(kind)) throw wrongType(path, kind, rule);
  return { kind };
}

/** Opens and closes `path` now: a configuration-time check that it will open with `rule` later. */
export function probeHostFile(path: string, rule: HostFileRule): { kind: HostFileKind; size: number } {
  const f = openHostFile(path, rule);
  f.close();
  return { kind: f.kind, size: f.size };
}

/**
 * Reads at most `max` bytes from an open regular file or block device, from `position`, until its end.
 * `sizeHint` (st_size) sizes the first read; a file that grew since, or reports no size (procfs), is
 * read on in chunks, never past `max`.
 */
export function readAtMost(fd: number, max: number, position = 0, sizeHint = 0): Buffer {
  const chunks: Buffer[] = [];
  let total = 0;
  let want = Math.min(max, Math.max(sizeHint, 0) + 1, 1 << 30);
  while (total < max) {
    const buf = Buffer.allocUnsafe(Math.max(1, Math.min(want, max - total)));
    let filled = 0;
    while (filled < buf.length) {
      const n = readSync(fd, buf, filled, buf.length - filled, position + total + filled);
      if (n === 0) break;
      filled += n;
    }
    chunks.push(buf.subarray(0, filled));
    total += filled;
    if (filled < buf.length) break; // end of file
    want = 1 << 20;
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total);
}

/**
 * A whole regular file (or block device), at most rule.maxBytes of it: a file that is larger, or grows
 * past the cap while read, is refused rather than read without end.
 */
export function readHostFile(path: string, rule: Omit<HostFileRule, 'access'> & { maxBytes: number }): Buffer {
  if (rule.kinds.some((k) => k === 'fifo' || k === 'char-device' || k === 'socket')) {
    throw new Error(`readHostFile reads regular files and block devices only; use readHostFileAsync for the ${rule.what}`);
  }
  const f = openHostFile(path, { ...rule, access: 'read' });
  try {
    let bytes: Buffer;
    try {
      bytes = readAtMost(f.fd, rule.maxBytes + 1, 0, f.size);
    } catch (e) {
      throw osError(path, e);
    }
    if (bytes.length > rule.maxBytes) throw tooLarge(path, bytes.length, rule);
    return bytes;
  } finally {
    f.close();
  }
}

/**
 * As readHostFile, and also takes a FIFO or pipe (`--config-file <(...)`): read on the event loop,
 * never blocking the process, and refused once it has given more than rule.maxBytes.
 */
export async function readHostFileAsync(path: string, rule: Omit<HostFileRule, 'access'> & { maxBytes: number }): Promise<Buffer> {
  const f = openHostFile(path, { ...rule, access: 'read' });
  if (f.kind !== 'fifo') {
    try {
      const bytes = readAtMost(f.fd, rule.maxBytes + 1, 0, f.size);
      if (bytes.length > rule.maxBytes) throw tooLarge(path, bytes.length, rule);
      return bytes;
    } catch (e) {
      throw e instanceof HostFileError ? e : osError(path, e);
    } finally {
      f.close();
    }
  }
  // A pipe through libuv's poll loop (the socket owns the fd from here and closes it).
  const s = new Socket({ fd: f.fd, readable: true, writable: false });
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    s.on('data', (c: Buffer) => {
      total += c.length;
      if (total > rule.maxBytes) {
        s.destroy();
        reject(tooLarge(path, total, rule));
        return;
      }
      chunks.push(c);
    });
    s.once('error', (e) => {
      s.destroy();
      reject(osError(path, e));
    });
    s.once('end', () => {
      s.destroy();
      resolve(Buffer.concat(chunks));
    });
  });
}

/** sun_path is 108 bytes on Linux, including the terminating NUL (unix(7)). */
export const UNIX_PATH_MAX = 107;

/**
 * Checks a Unix socket path before bind(2) or connect(2): Node silently cuts a longer path to sun_path's
 * size (the socket would then appear under another name), and a missing directory reads better named
 * than as the bind's errno. 'bind': the path must not exist yet. 'connect': it must be a socket.
 */
export function checkUnixSocketPath(path: string, purpose: 'bind' | 'connect', what = 'socket'): void {
  if (path.length === 0) throw new HostFileError('bad-socket-path', path, `the ${what} path is empty`);
  if (path.includes('\0')) throw new HostFileError('bad-socket-path', path, `the ${what} path contains a NUL character`);
  const bytes = Buffer.byteLength(path);
  if (bytes > UNIX_PATH_MAX) {
    throw new HostFileError(
      'bad-socket-path',
      path,
      `the ${what} path "${path}" is ${bytes} bytes long; a Unix socket path holds at most ${UNIX_PATH_MAX} bytes (sun_path)`,
    );
  }
  const dir = dirname(path);
  let dst: Stats;
  try {
    dst = statSync(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new HostFileError('os', path, `the directory "${dir}" of the ${what} does not exist`, { cause: e });
    throw osError(path, e);
  }
  if (!dst.isDirectory()) throw new HostFileError('wrong-type', path, `"${dir}" (the directory of the ${what}) is not a directory`);
  let st: Stats | undefined;
  try {
    st = statSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw osError(path, e);
  }
  if (purpose === 'bind' && st) {
    throw new HostFileError('os', path, 'the path already exists (remove a stale socket first)', {
      cause: Object.assign(new Error('EADDRINUSE'), { code: 'EADDRINUSE' }),
    });
  }
  if (purpose === 'connect') {
    if (!st) throw new HostFileError('os', path, `the ${what} "${path}" does not exist`, { cause: Object.assign(new Error('ENOENT'), { code: 'ENOENT' }) });
    if (!st.isSocket()) throw new HostFileError('wrong-type', path, `"${path}" is ${KIND_TEXT[kindOf(st) ?? 'file']}, not a Unix socket`);
  }
}
