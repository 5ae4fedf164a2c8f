/**
 * A writer for the "newc" cpio format (SVR4 without CRC, magic "070701"), the only format the Linux
 * initramfs unpacker accepts (Documentation/driver-api/early-userspace/buffer-format.rst). In memory:
 * an initramfs is a few MB. Every header field is 8 hex digits; name and data are each padded to a
 * multiple of 4 bytes; the archive ends with an entry named "TRAILER!!!".
 *
 * The kernel creates entries in archive order and does not create missing parents, so callers add
 * directories before their contents; the writer checks that and rejects duplicates, which would
 * silently replace earlier entries at unpack time.
 */

/** File type bits of st_mode (inode(7)). */
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;

const MAGIC = '070701';
const TRAILER = 'TRAILER!!!';
/** newc stores sizes in 8 hex digits. */
const MAX_FIELD = 0xffff_ffff;

export interface CpioEntryOptions {
  /** Permission bits (and setuid/setgid/sticky); the file type comes from the method used. */
  mode?: number;
  uid?: number;
  gid?: number;
}

export class CpioWriter {
  private readonly chunks: Buffer[] = [];
  private readonly paths = new Set<string>();
  private readonly dirs = new Set<string>(['']);
  private nextIno = 1;
  private size = 0;
  private finished = false;
  /** Seconds since the epoch written into every entry; fixed so equal input gives equal bytes. */
  readonly mtime: number;

  constructor(opts: { mtime?: number } = {}) {
    this.mtime = opts.mtime ?? 0;
    checkField(this.mtime, 'mtime');
  }

  addDirectory(path: string, opts: CpioEntryOptions = {}): this {
    const p = this.claim(path);
    this.dirs.add(p);
    // A directory has two links: its entry in the parent and its own ".".
    return this.entry(p, S_IFDIR | perm(opts.mode, 0o755), opts, 2, 0, 0, Buffer.alloc(0));
  }

  addFile(path: string, data: Uint8Array, opts: CpioEntryOptions = {}): this {
    return this.entry(this.claim(path), S_IFREG | perm(opts.mode, 0o644), opts, 1, 0, 0, data);
  }

  addSymlink(path: string, target: string, opts: CpioEntryOptions = {}): this {
    if (target === '' || target.includes('\0')) throw new Error(`Cannot add symlink "${path}": target "${target}" is empty or has a NUL byte`);
    return this.entry(this.claim(path), S_IFLNK | perm(opts.mode, 0o777), opts, 1, 0, 0, Buffer.from(target, 'utf8'));
  }

  addCharDevice(path: string, major: number, minor: number, opts: CpioEntryOptions = {}): this {
    checkDevice(path, major, minor);
    return this.entry(this.claim(path), S_IFCHR | perm(opts.mode, 0o600), opts, 1, major, minor, Buffer.alloc(0));
  }

  addBlockDevice(path: string, major: number, minor: number, opts: CpioEntryOptions = {}): this {
    checkDevice(path, major, minor);
    return this.entry(this.claim(path), S_IFBLK | perm(opts.mode, 0o600), opts, 1, major, minor, Buffer.alloc(0));
  }

  /** Append the trailer and return the archive. The writer cannot be used afterwards. */
  finish(): Buffer {
    if (this.finished) throw new Error('Cannot finish a cpio archive twice');
    this.header(TRAILER, 0, 0, 0, 1, 0, 0, 0, 0);
    this.finished = true;
    return Buffer.concat(this.chunks, this.size);
  }

  /** Validate and normalise a path ("a/b", no leading "/"), check its parent exists, record it. */
  private claim(path: string): string {
    if (this.finished) throw new Error(`Cannot add "${path}": the archive is finished`);
    const p = path.replace(/^\/+/, '').replace(/\/+$/, '');
    if (p === '' || p.includes('\0') || p.split('/').some((c) => c === '' || c === '.' || c === '..')) {
      throw new Error(`Cannot add "${path}": not a clean relative path`);
    }
    if (p === TRAILER) throw new Error(`Cannot add "${path}": the name is reserved for the trailer`);
    if (this.paths.has(p)) throw new Error(`Cannot add "${path}": already in the archive`);
    const parent = p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '';
    if (!this.dirs.has(parent)) throw new Error(`Cannot add "${path}": its directory "${parent}" has not been added first`);
    this.paths.add(p);
    return p;
  }

  private entry(name: string, mode: number, o: CpioEntryOptions, nlink: number, rmaj: number, rmin: number, data: Uint8Array): this {
    checkField(data.length, `size of "${name}"`);
    this.header(name, this.nextIno++, mode, o.uid ?? 0, nlink, o.gid ?? 0, data.length, rmaj, rmin);
    this.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    this.pad();
    return this;
  }

  private header(name: string, ino: number, mode: number, uid: number, nlink: number, gid: number, filesize: number, rmaj: number, rmin: number): void {
    const nameBytes = Buffer.from(name + '\0', 'utf8');
    // Field order of buffer-format.rst: ino mode uid gid nlink mtime filesize devmajor devminor
    // rdevmajor rdevminor namesize check.
    const fields = [ino, mode, uid, gid, nlink, this.mtime, filesize, 0, 0, rmaj, rmin, nameBytes.length, 0];
    let h = MAGIC;
    for (const f of fields) {
      checkField(f, `a header field of "${name}"`);
      h += f.toString(16).padStart(8, '0');
    }
    this.push(Buffer.from(h, 'latin1'));
    this.push(nameBytes);
    this.pad();
  }

  private push(b: Buffer): void {
    if (b.length === 0) return;
    this.chunks.push(b);
    this.size += b.length;
  }

  /** Pad with NULs to the next multiple of 4 from the start of the archive. */
  private pad(): void {
    const rem = this.size % 4;
    if (rem) this.push(Buffer.alloc(4 - rem));
  }
}

function perm(mode: number | undefined, dflt: number): number {
  return (mode ?? dflt) & 0o7777;
}

function checkDevice(path: string, major: number, minor: number): void {
  checkField(major, `device major of "${path}"`);
  checkField(minor, `device minor of "${path}"`);
}

function checkField(v: number, what: string): void {
  if (!Number.isInteger(v) || v < 0 || v > MAX_FIELD) throw new Error(`Cannot write ${what} = ${v} in a newc cpio header (0…0xffffffff)`);
}
