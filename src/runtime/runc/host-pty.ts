import { closeSync, openSync, constants as fsConstants } from 'node:fs';
import { RuncError } from './runc-error.js';
import { hostLibc, type HostLibc } from '../../util/host-libc.js';

/**
 * The two things of a terminal container that Node cannot do by itself: open a pseudo-terminal pair
 * (posix_openpt/grantpt/unlockpt/ptsname_r) and pass its master to containerd's shim over the
 * console socket as SCM_RIGHTS ancillary data (sendmsg). Both go through the host's C library
 * (util/host-libc.ts), loaded only when a terminal is asked for; node-pty would bring a native build
 * and a process spawner that wisp has no use for.
 */

interface Libc {
  posix_openpt(flags: number): number;
  grantpt(fd: number): number;
  unlockpt(fd: number): number;
  ptsname_r(fd: number, buf: Buffer, len: number): number;
  socket(domain: number, type: number, proto: number): number;
  connect(fd: number, addr: Buffer, len: number): number;
  sendmsg(fd: number, msg: Buffer, flags: number): number;
  close(fd: number): number;
  tcgetattr(fd: number, termios: Buffer): number;
  tcsetattr(fd: number, when: number, termios: Buffer): number;
  cfmakeraw(termios: Buffer): void;
  strerror(errnum: number): string;
  errno(): number;
  address(buf: Buffer): bigint;
}

let libc: Libc | undefined;

function load(): Libc {
  if (libc) return libc;
  let c: HostLibc;
  try {
    c = hostLibc();
  } catch (e) {
    throw new RuncError('failed', `Cannot open a terminal for the container: ${(e as Error).message}`, { cause: e });
  }
  libc = {
    posix_openpt: c.func('int posix_openpt(int)'),
    grantpt: c.func('int grantpt(int)'),
    unlockpt: c.func('int unlockpt(int)'),
    ptsname_r: c.func('int ptsname_r(int, _Out_ uint8_t *buf, size_t)'),
    socket: c.func('int socket(int, int, int)'),
    connect: c.func('int connect(int, const uint8_t *addr, uint32_t)'),
    sendmsg: c.func('intptr_t sendmsg(int, const uint8_t *msg, int)'),
    close: c.func('int close(int)'),
    tcgetattr: c.func('int tcgetattr(int, _Inout_ uint8_t *termios)'),
    tcsetattr: c.func('int tcsetattr(int, int, const uint8_t *termios)'),
    cfmakeraw: c.func('void cfmakeraw(_Inout_ uint8_t *termios)'),
    strerror: c.func('const char *strerror(int)'),
    errno: () => c.errno(),
    address: (buf: Buffer) => c.address(buf),
  };
  return libc;
}

function sysFail(what: string): never {
  const c = load();
  const e = c.errno();
  throw new RuncError('failed', `Cannot ${what}: ${c.strerror(e)} (errno ${e})`);
}

export interface HostPty {
  /** The master side (what the shim gets). */
  master: number;
  /** The terminal's side, opened without making it a controlling terminal. */
  slave: number;
  /** /dev/pts/N */
  path: string;
}

const O_RDWR = 2, O_NOCTTY = 0o400, O_CLOEXEC = 0o2000000;

export function openHostPty(): HostPty {
  const c = load();
  const master = c.posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) sysFail('open a pseudo-terminal (/dev/ptmx)');
  try {
    if (c.grantpt(master) !== 0) sysFail('grant the pseudo-terminal');
    if (c.unlockpt(master) !== 0) sysFail('unlock the pseudo-terminal');
    const buf = Buffer.alloc(128);
    const err = c.ptsname_r(master, buf, buf.length);
    if (err !== 0) throw new RuncError('failed', `Cannot name the pseudo-terminal: ${c.strerror(err)}`);
    const path = buf.subarray(0, buf.indexOf(0)).toString();
    const slave = openSync(path, fsConstants.O_RDWR | fsConstants.O_NOCTTY);
    // The host terminal only carries bytes: the guest's own pty does echo, line editing and
    // \n -> \r\n. cfmakeraw, not Node's setRawMode (libuv keeps ONLCR, doubling every \r).
    const termios = Buffer.alloc(128); // glibc's struct termios is 60 bytes
    if (c.tcgetattr(slave, termios) !== 0) { closeSync(slave); sysFail(`read the settings of ${path}`); }
    c.cfmakeraw(termios);
    if (c.tcsetattr(slave, 0 /* TCSANOW */, termios) !== 0) { closeSync(slave); sysFail(`make ${path} raw`); }
    return { master, slave, path };
  } catch (e) {
    c.close(master);
    throw e;
  }
}

export function closeFd(fd: number): void {
  try { closeSync(fd); } catch { /* already closed */ }
}

const AF_UNIX = 1, SOCK_STREAM = 1, SOL_SOCKET = 1, SCM_RIGHTS = 1;

/**
 * Connects to the Unix socket at `socketPath` and sends `fd` with `name` as the message (what the
 * shim's console socket reads: the name, and the fd as SCM_RIGHTS). x86-64/aarch64/riscv64 Linux
 * layouts: struct msghdr is 56 bytes, struct cmsghdr 16 bytes before the data.
 */
export function sendFd(socketPath: string, fd: number, name: string): void {
  const c = load();
  const path = Buffer.from(socketPath);
  if (path.length >= 108) throw new RuncError('failed', `The console socket path ${socketPath} is too long (${path.length} bytes, at most 107)`);
  const addr = Buffer.alloc(110);
  addr.writeUInt16LE(AF_UNIX, 0);
  path.copy(addr, 2);
  const sock = c.socket(AF_UNIX, SOCK_STREAM | O_CLOEXEC, 0);
  if (sock < 0) sysFail('make a Unix socket');
  try {
    if (c.connect(sock, addr, 2 + path.length + 1) !== 0) sysFail(`connect to the console socket ${socketPath}`);
    const payload = Buffer.from(name);
    const iov = Buffer.alloc(16);
    iov.writeBigUInt64LE(c.address(payload), 0);
    iov.writeBigUInt64LE(BigInt(payload.length), 8);
    // CMSG_SPACE(sizeof(int)) = 24, CMSG_LEN(sizeof(int)) = 20.
    const control = Buffer.alloc(24);
    control.writeBigUInt64LE(20n, 0);
    control.writeInt32LE(SOL_SOCKET, 8);
    control.writeInt32LE(SCM_RIGHTS, 12);
    control.writeInt32LE(fd, 16);
    const msg = Buffer.alloc(56);
    msg.writeBigUInt64LE(c.address(iov), 16); // msg_iov (msg_name NULL, msg_namelen 0)
    msg.writeBigUInt64LE(1n, 24); // msg_iovlen
    msg.writeBigUInt64LE(c.address(control), 32); // msg_control
    msg.writeBigUInt64LE(BigInt(control.length), 40); // msg_controllen
    const n = c.sendmsg(sock, msg, 0);
    if (n < 0) sysFail(`send the terminal to the console socket ${socketPath}`);
  } finally {
    c.close(sock);
  }
}
