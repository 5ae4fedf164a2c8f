/**
 * Firecracker's network backend: a host tap device (`host_dev_name`), opened through /dev/net/tun with
 * the TUNSETIFF ioctl (IFF_TAP | IFF_NO_PI: whole Ethernet frames, no packet-info prefix). The tap must
 * exist already (`ip tuntap add dev NAME mode tap`), as in Firecracker's getting-started set-up; wisp
 * does not create interfaces.
 *
 * Like Firecracker's and QEMU's, the tap is opened with IFF_VNET_HDR: every frame on it has a 12-byte
 * virtio_net_hdr in front, so a virtio-net device can hand the guest's 64 KiB TCP segments and partial
 * checksums to the host's kernel and take the same from it (`offloads`; TUNSETOFFLOAD says what the
 * guest accepts). A reader of plain frames (a filter in front: the MMDS) gets them without the header,
 * and the kernel finishes every frame it sends then (no offload was asked for). `npm run bench -- net`
 * through a tap: ~114 MiB/s from the host and ~15 MiB/s to it, against ~33 and ~6 with 1514-byte frames.
 *
 * Node has no ioctl() and no readiness events for a character device, so both go through koffi (FFI
 * with prebuilt binaries; see README "Networking"): the fd is non-blocking; a poll(2) on it runs on
 * libuv's thread pool (koffi's async call) with a short timeout, and when the tap is readable every
 * waiting frame is read at once on the machine's thread. The timeout bounds how long close() waits for
 * the outstanding poll, so the tap is released promptly (a reboot re-opens it).
 */
import { closeSync, constants, existsSync, openSync, readSync, writeSync, writevSync } from 'node:fs';
import type { FramePort, FrameReceiver, OffloadingPort } from '../../devices/virtio/net/frame-port.js';
import { osErrorText } from '../os-error.js';
import { hostLibc, type HostLibc } from '../../util/host-libc.js';

export type TapErrorCode = 'bad-name' | 'no-such-tap' | 'open-failed' | 'ffi-unavailable';

export class TapError extends Error {
  constructor(
    readonly code: TapErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'TapError';
  }
}

export interface TapMetrics {
  /** Reads that failed other than "nothing to read" (Firecracker's tap_read_fails). */
  readFails: number;
  /** Writes the tap refused (Firecracker's tap_write_fails). */
  writeFails: number;
}

/** linux/if_tun.h: _IOW('T', 202, int). */
const TUNSETIFF = 0x400454ca;
const IFF_TAP = 0x0002;
const IFF_NO_PI = 0x1000;
const IFF_VNET_HDR = 0x4000;
/** _IOW('T', 216, int): the virtio_net_hdr's size on the fd (12: VERSION_1's, with num_buffers). */
const TUNSETVNETHDRSZ = 0x400454d8;
/** _IOW('T', 208, unsigned int), the flags passed by value: the offloads the reader takes. */
const TUNSETOFFLOAD = 0x400454d0;
const TUN_F_CSUM = 0x01, TUN_F_TSO4 = 0x02, TUN_F_TSO6 = 0x04, TUN_F_TSO_ECN = 0x08;
const VNET_HDR_SIZE = 12;
/** linux/if.h IFNAMSIZ, including the terminating NUL; struct ifreq is 40 bytes on 64-bit Linux. */
const IFNAMSIZ = 16;
const IFREQ_SIZE = 40;
const POLLIN = 0x1;
const POLLERR = 0x8, POLLHUP = 0x10, POLLNVAL = 0x20;
/** How long one poll(2) may block a thread-pool thread; also the longest close() waits. */
const POLL_TIMEOUT_MS = 50;
/** One read returns one frame: the largest a tap can hand over (a 64 KiB segment), its header, slack. */
const READ_BUFFER = VNET_HDR_SIZE + 65536 + 64;
/** Frames read per readiness event before yielding back to the event loop. */
const READ_BATCH = 256;

interface Libc {
  ioctl(fd: number, request: number, arg: Buffer): number;
  /** ioctl with its argument passed by value (TUNSETOFFLOAD). */
  ioctlValue(fd: number, request: number, arg: number): number;
  errno(): number;
  poll: { async(fds: Buffer, nfds: number, timeout: number, cb: (err: unknown, res: number) => void): void };
}

let libc: Libc | undefined;

function loadLibc(): Libc {
  if (libc) return libc;
  let c: HostLibc;
  try {
    c = hostLibc();
  } catch (e) {
    throw new TapError('ffi-unavailable', `Cannot use tap devices: ${(e as Error).message}`, { cause: e });
  }
  const ioctl = c.func('int ioctl(int fd, unsigned long request, void *arg)');
  const ioctlValue = c.func('int ioctl(int fd, unsigned long request, unsigned long arg)');
  const poll = c.func('int poll(void *fds, unsigned long nfds, int timeout)');
  libc = {
    ioctl: (fd, request, arg) => ioctl(fd, request, arg) as number,
    ioctlValue: (fd, request, arg) => ioctlValue(fd, request, arg) as number,
    errno: () => c.errno(),
    poll: poll as unknown as Libc['poll'],
  };
  return libc;
}

/** A usable interface name (linux/if.h: at most 15 bytes, no '/', no whitespace, not "." or ".."). */
export function checkTapName(name: string): void {
  if (!/^[A-Za-z0-9_.:-]{1,15}$/.test(name) || name === '.' || name === '..') {
    throw new TapError('bad-name', `"${name}" is not a valid network interface name (1 to 15 letters, digits, '_', '.', ':' or '-')`);
  }
}

export class TapBackend implements FramePort {
  readonly metrics: TapMetrics = { readFails: 0, writeFails: 0 };
  private receiver: FrameReceiver | null = null;
  private paused = false;
  private closed = false;
  private polling = false;
  private readonly buf = Buffer.allocUnsafe(READ_BUFFER);
  private readonly pollfd = Buffer.alloc(8);
  private onPollDone: (() => void) | undefined;
  /** Frames to and from the port carry their virtio_net_hdr (offloads.useHeaders()). */
  private headers = false;
  private static readonly NO_HEADER = new Uint8Array(VNET_HDR_SIZE);

  readonly offloads: OffloadingPort = {
    useHeaders: () => { this.headers = true; },
    setGuestOffloads: (o) => {
      if (this.closed) return;
      const flags = (o.csum ? TUN_F_CSUM : 0) | (o.csum && o.tso4 ? TUN_F_TSO4 : 0) | (o.csum && o.tso6 ? TUN_F_TSO6 : 0)
        | (o.csum && (o.tso4 || o.tso6) && o.ecn ? TUN_F_TSO_ECN : 0);
      // Refused (an old kernel): the kernel finishes every frame, which is always correct.
      libc!.ioctlValue(this.fd, TUNSETOFFLOAD, flags);
    },
  };

  private constructor(
    private readonly fd: number,
    readonly name: string,
  ) {
    this.pollfd.writeInt32LE(fd, 0);
    this.pollfd.writeInt16LE(POLLIN, 4);
  }

  /**
   * Opens the existing tap `name`. Fails with a message naming the tap and the fix when it does not
   * exist, is in use by another process (EBUSY), or this user may not open it.
   */
  static open(name: string): TapBackend {
    checkTapName(name);
    if (!existsSync(`/sys/class/net/${name}`)) {
      throw new TapError('no-such-tap', `Tap device "${name}" does not exist: create it first (ip tuntap add dev ${name} mode tap; ip link set ${name} up)`);
    }
    const c = loadLibc();
    let fd: number;
    try {
      fd = openSync('/dev/net/tun', constants.O_RDWR | constants.O_NONBLOCK);
    } catch (e) {
      throw new TapError('open-failed', `Couldn't open /dev/net/tun: ${osErrorText(e)}`, { cause: e });
    }
    const ifr = Buffer.alloc(IFREQ_SIZE);
    ifr.write(name, 0, IFNAMSIZ - 1, 'latin1');
    ifr.writeUInt16LE(IFF_TAP | IFF_NO_PI | IFF_VNET_HDR, IFNAMSIZ);
    if (c.ioctl(fd, TUNSETIFF, ifr) < 0) {
      const errno = c.errno();
      closeSync(fd);
      const text = errnoText(errno);
      const fix = errno === 16 ? ' (another process has it open: a tap serves one VMM at a time)'
        : errno === 1 || errno === 13 ? ' (opening a tap needs CAP_NET_ADMIN, or a tap created for this user: ip tuntap add dev NAME mode tap user USER)'
        : errno === 22 ? ' (is it a tun device, or a tap created with different flags such as multi_queue?)' : '';
      throw new TapError('open-failed', `Error while creating ifreq structure: ${text}. Invalid TUN/TAP Backend provided by ${name}${fix}`);
    }
    const size = Buffer.alloc(4);
    size.writeInt32LE(VNET_HDR_SIZE);
    if (c.ioctl(fd, TUNSETVNETHDRSZ, size) < 0 || c.ioctlValue(fd, TUNSETOFFLOAD, 0) < 0) {
      const text = errnoText(c.errno());
      closeSync(fd);
      throw new TapError('open-failed', `Cannot set up tap ${name} for virtio-net headers: ${text}`);
    }
    return new TapBackend(fd, name);
  }

  attach(receiver: FrameReceiver): void {
    this.receiver = receiver;
    this.armPoll();
  }

  send(frame: Uint8Array): boolean {
    if (this.closed) {
      this.metrics.writeFails++;
      return true;
    }
    try {
      const n = this.headers ? writeSync(this.fd, frame) : writevSync(this.fd, [TapBackend.NO_HEADER, frame]);
      if (n !== (this.headers ? frame.length : VNET_HDR_SIZE + frame.length)) this.metrics.writeFails++;
    } catch {
      // EAGAIN (the tap's queue is full) or EIO (the interface is down): the frame is lost, as on a wire.
      this.metrics.writeFails++;
    }
    return true;
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    if (!this.closed) {
      this.drain();
      this.armPoll();
    }
  }

  /** Releases the tap: at once if no poll is outstanding, else when it returns (≤ POLL_TIMEOUT_MS). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.receiver = null;
    if (!this.polling) closeSync(this.fd);
    else this.onPollDone = () => closeSync(this.fd);
  }

  /** Resolves once the fd is closed (a reboot waits for it before opening the tap again). */
  whenClosed(): Promise<void> {
    if (!this.closed || !this.polling) return Promise.resolve();
    return new Promise((r) => {
      const prev = this.onPollDone;
      this.onPollDone = () => { prev?.(); r(); };
    });
  }

  private armPoll(): void {
    if (this.polling || this.closed || this.paused || !this.receiver) return;
    this.polling = true;
    libc!.poll.async(this.pollfd, 1, POLL_TIMEOUT_MS, (_err, res) => {
      this.polling = false;
      if (this.closed) {
        this.onPollDone?.();
        return;
      }
      const revents = this.pollfd.readInt16LE(6);
      if (res > 0 && revents & (POLLERR | POLLHUP | POLLNVAL)) {
        this.metrics.readFails++;
        this.receiver?.linkDown?.(`tap ${this.name} failed (poll revents 0x${revents.toString(16)})`);
        return;
      }
      if (res > 0) this.drain();
      if (this.paused) return;
      // A full batch may have left frames behind: look again on the next turn, without blocking.
      this.armPoll();
    });
  }

  /** Reads the frames waiting on the tap (up to a batch) and hands them to the receiver. */
  private drain(): void {
    for (let i = 0; i < READ_BATCH && !this.paused && !this.closed; i++) {
      let n: number;
      try {
        n = readSync(this.fd, this.buf, 0, READ_BUFFER, null);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') this.metrics.readFails++;
        return;
      }
      if (n <= 0) return;
      if (n < VNET_HDR_SIZE) { this.metrics.readFails++; continue; }
      this.receiver?.receive(Uint8Array.prototype.slice.call(this.buf, this.headers ? 0 : VNET_HDR_SIZE, n));
    }
  }
}

function errnoText(errno: number): string {
  const names: Record<number, string> = { 1: 'EPERM', 2: 'ENOENT', 13: 'EACCES', 16: 'EBUSY', 19: 'ENODEV', 22: 'EINVAL' };
  const name = names[errno];
  return name ? osErrorText(Object.assign(new Error(name), { code: name })) : `errno ${errno}`;
}
