/**
 * Host I/O failures worded as Firecracker words them (Rust's io::Error Display: "No such file or
 * directory (os error 2)"), so a fault_message reads the same on both. Node gives only the errno name.
 */
import { constants } from 'node:os';

const TEXT: Record<string, string> = {
  ENOENT: 'No such file or directory',
  EACCES: 'Permission denied',
  EPERM: 'Operation not permitted',
  EISDIR: 'Is a directory',
  ENOTDIR: 'Not a directory',
  ELOOP: 'Too many levels of symbolic links',
  ENAMETOOLONG: 'File name too long',
  EROFS: 'Read-only file system',
  ENXIO: 'No such device or address',
  EBUSY: 'Device or resource busy',
  EEXIST: 'File exists',
  EINVAL: 'Invalid argument',
  ENOSPC: 'No space left on device',
  EMFILE: 'Too many open files',
  ENFILE: 'Too many open files in system',
  EAGAIN: 'Resource temporarily unavailable',
  EADDRINUSE: 'Address already in use',
  ECONNREFUSED: 'Connection refused',
  ENOTSOCK: 'Socket operation on non-socket',
  EFBIG: 'File too large',
};

export function osErrorText(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  const code = e?.code;
  if (code && code in constants.errno) {
    const num = (constants.errno as Record<string, number>)[code];
    return `${TEXT[code] ?? code} (os error ${num})`;
  }
  return e instanceof Error ? e.message : String(err);
}
