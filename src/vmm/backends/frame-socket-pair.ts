/**
 * A Unix stream socketpair with large send buffers, for a backend process that exchanges frames with
 * wisp (passt's `--fd`).
 *
 * Why not Node's `stdio: 'pipe'`: its socketpair has the kernel's default send buffer (212992 bytes,
 * three 64 KiB frames). passt drops the frames it cannot write at once, so a guest receiving at speed
 * lost frames whenever wisp's machine thread read the socket a few milliseconds late, and TCP in the
 * guest fell back to retransmission timeouts: measured with `wget` of 16 MiB from the host through
 * `wisp run --net user`, 1.4-6 MiB/s with half the segments out of order (the guest's TCPOFOQueue),
 * 60-74 MiB/s with a 4 MiB send buffer. Node has no setsockopt for such sockets, so the pair is made
 * through the host's C library (util/host-libc.ts).
 */
import { Socket } from 'node:net';
import { hostLibc } from '../../util/host-libc.js';

/** What each end may hold unsent (the kernel doubles it for its bookkeeping). */
export const FRAME_SOCKET_BUFFER = 4 * 1024 * 1024;

const AF_UNIX = 1;
const SOCK_STREAM = 1;
const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SO_SNDBUF = 7;
const SO_RCVBUF = 8;
const SO_SNDBUFFORCE = 32;
const SO_RCVBUFFORCE = 33;

interface Libc {
  socketpair(domain: number, type: number, protocol: number, fds: Int32Array): number;
  setsockopt(fd: number, level: number, name: number, value: Int32Array, len: number): number;
  close(fd: number): number;
}

let libc: Libc | null | undefined;

function loadLibc(): Libc | null {
  if (libc !== undefined) return libc;
  try {
    const c = hostLibc();
    libc = {
      socketpair: c.func('int socketpair(int, int, int, _Out_ int *sv)') as Libc['socketpair'],
      setsockopt: c.func('int setsockopt(int, int, int, const int *value, uint32_t len)') as Libc['setsockopt'],
      // close(2) itself: fs.closeSync warns about fds fs did not open when called from a worker thread.
      close: c.func('int close(int)') as Libc['close'],
    };
  } catch {
    libc = null;
  }
  return libc;
}

/**
 * Sets an fd's buffer: the forcing option first (root or CAP_NET_ADMIN may exceed net.core.*mem_max),
 * then the plain one (capped by the kernel at *mem_max). A refusal leaves the default: slower, not wrong.
 */
function enlarge(c: Libc, fd: number, force: number, plain: number): void {
  const v = Int32Array.of(FRAME_SOCKET_BUFFER);
  if (c.setsockopt(fd, SOL_SOCKET, force, v, 4) !== 0) c.setsockopt(fd, SOL_SOCKET, plain, v, 4);
}

export interface FrameSocketPair {
  /** wisp's end, as a stream. */
  socket: Socket;
  /** The child's end: give it in `stdio`, then call closeChildEnd() once the child is spawned. */
  childFd: number;
  closeChildEnd(): void;
}

/** A socketpair with large buffers, or null when the FFI is unavailable (the caller uses stdio 'pipe'). */
export function createFrameSocketPair(): FrameSocketPair | null {
  const c = loadLibc();
  if (!c) return null;
  const fds = new Int32Array(2);
  if (c.socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) !== 0) return null;
  const [ours, theirs] = [fds[0]!, fds[1]!];
  for (const fd of [ours, theirs]) {
    enlarge(c, fd, SO_SNDBUFFORCE, SO_SNDBUF);
    enlarge(c, fd, SO_RCVBUFFORCE, SO_RCVBUF);
  }
  let open = true;
  return {
    socket: new Socket({ fd: ours, readable: true, writable: true }),
    childFd: theirs,
    closeChildEnd: () => {
      if (!open) return;
      open = false;
      c.close(theirs);
    },
  };
}
