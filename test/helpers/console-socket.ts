/**
 * The receiving end of a runc console socket, as containerd's shim has it: a Unix socket that takes one
 * connection and one message carrying a pty master as SCM_RIGHTS. Node cannot receive fds, so this
 * goes through koffi (as src/runtime/runc/host-pty.ts does for sending). Non-blocking, polled from
 * timers, so the test's event loop keeps running while it waits.
 */
import { closeSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const koffi: any = require('koffi');
const lib = koffi.load('libc.so.6');
const socket = lib.func('int socket(int, int, int)');
const bind = lib.func('int bind(int, const uint8_t *, uint32_t)');
const listen = lib.func('int listen(int, int)');
const accept4 = lib.func('int accept4(int, void *, void *, int)');
const recvmsg = lib.func('intptr_t recvmsg(int, uint8_t *msg, int)');
const close = lib.func('int close(int)');
const ioctl = lib.func('int ioctl(int, unsigned long, ...)');

/** TIOCSWINSZ on a pty master, as the shim does for a resize. */
export function setWinsize(fd: number, rows: number, cols: number): void {
  const ws = Buffer.alloc(8);
  ws.writeUInt16LE(rows, 0);
  ws.writeUInt16LE(cols, 2);
  if (ioctl(fd, 0x5414, 'uint8_t *', ws) !== 0) throw new Error(`TIOCSWINSZ: errno ${koffi.errno()}`);
}

const AF_UNIX = 1, SOCK_STREAM = 1, SOCK_NONBLOCK = 0o4000, SOCK_CLOEXEC = 0o2000000, MSG_DONTWAIT = 0x40;

export interface ReceivedConsole {
  name: string;
  fd: number;
}

export class ConsoleSocket {
  private readonly fd: number;

  constructor(readonly path: string) {
    const addr = Buffer.alloc(110);
    addr.writeUInt16LE(AF_UNIX, 0);
    Buffer.from(path).copy(addr, 2);
    this.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (this.fd < 0) throw new Error(`socket: errno ${koffi.errno()}`);
    if (bind(this.fd, addr, 2 + Buffer.byteLength(path) + 1) !== 0) throw new Error(`bind ${path}: errno ${koffi.errno()}`);
    if (listen(this.fd, 1) !== 0) throw new Error(`listen: errno ${koffi.errno()}`);
  }

  /** Waits (polling every 50 ms, at most `timeoutMs`) for the connection and its fd. */
  async receive(timeoutMs: number): Promise<ReceivedConsole> {
    const until = Date.now() + timeoutMs;
    let conn = -1;
    while (conn < 0) {
      conn = accept4(this.fd, null, null, SOCK_CLOEXEC);
      if (conn >= 0) break;
      if (Date.now() > until) throw new Error(`nobody connected to the console socket ${this.path}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    try {
      const data = Buffer.alloc(4096);
      const iov = Buffer.alloc(16);
      iov.writeBigUInt64LE(koffi.address(data), 0);
      iov.writeBigUInt64LE(BigInt(data.length), 8);
      const control = Buffer.alloc(64);
      const msg = Buffer.alloc(56);
      msg.writeBigUInt64LE(koffi.address(iov), 16);
      msg.writeBigUInt64LE(1n, 24);
      msg.writeBigUInt64LE(koffi.address(control), 32);
      msg.writeBigUInt64LE(BigInt(control.length), 40);
      for (;;) {
        const n = Number(recvmsg(conn, msg, MSG_DONTWAIT));
        if (n >= 0) {
          const level = control.readInt32LE(8), type = control.readInt32LE(12);
          if (level !== 1 || type !== 1) throw new Error('the console socket message held no SCM_RIGHTS');
          return { name: data.subarray(0, n).toString(), fd: control.readInt32LE(16) };
        }
        if (Date.now() > until) throw new Error('no message on the console socket');
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      close(conn);
    }
  }

  close(): void {
    try { closeSync(this.fd); } catch { /* closed */ }
  }
}
