/**
 * Firecracker's hybrid vsock model on the host (Firecracker docs/vsock.md): the device's host side is
 * a Unix socket at `uds_path`.
 *
 * - Host-initiated: a program connects to `uds_path` and writes `CONNECT <port>\n`; once the guest's
 *   listener on that port accepts, it reads `OK <host_port>\n` and the socket carries the stream. If
 *   nobody listens in the guest, the socket is closed without a word.
 * - Guest-initiated: a guest connection to CID 2, port P, is a connection to `<uds_path>_<P>`; if
 *   nothing listens there, the guest's connect() fails (the device answers RST).
 *
 * Bounded: the CONNECT line is at most 32 bytes and must come within HANDSHAKE_TIMEOUT_MS; at most
 * MAX_PENDING_HANDSHAKES sockets wait to say it; data flows only as the device asks (pause/resume,
 * credit), so nothing here buffers without bound.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { HostStream, HostStreamEvents, VsockBackend, VsockHostListener } from '../../devices/virtio/vsock/vsock-backend.js';

/** Firecracker reads the CONNECT line into a 32-byte buffer. */
export const CONNECT_LINE_MAX = 32;
export const HANDSHAKE_TIMEOUT_MS = 10_000;
export const MAX_PENDING_HANDSHAKES = 64;
/** How long close() waits for the host to take what was written before dropping the socket. */
export const CLOSE_LINGER_MS = 2_000;
/** sun_path is 108 bytes on Linux, NUL included. */
export const UDS_PATH_MAX = 107;

export type VsockUnixBackendErrorCode = 'bind-failed' | 'path-too-long';

export class VsockUnixBackendError extends Error {
  constructor(
    readonly code: VsockUnixBackendErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'VsockUnixBackendError';
  }
}

/** Counters of the host side, beside the device's (Firecracker counts these as muxer/connection failures). */
export interface VsockUnixMetrics {
  /** Host sockets accepted on uds_path. */
  hostAccepts: number;
  /** CONNECT lines that were malformed, too long or too late: the socket was closed. */
  badConnectLines: number;
  /** Host sockets refused: too many waiting to say CONNECT, or the device refused. */
  hostRefused: number;
  /** Guest connections to `<uds_path>_<port>` that failed (nobody listening, ...). */
  connectFails: number;
  /** Host sockets that failed (errors other than a clean close). */
  streamErrors: number;
}

/**
 * Parses Firecracker's `CONNECT <port>\n`: whitespace-separated words, the first "connect" in any case,
 * the second a u32 (Rust's u32::from_str: decimal digits, an optional leading '+'). Null if malformed.
 */
export function parseConnectLine(line: string): number | null {
  const words = line.trim().split(/\s+/);
  if (words.length < 2 || words[0].toLowerCase() !== 'connect') return null;
  if (!/^\+?[0-9]+$/.test(words[1])) return null;
  const port = Number(words[1]);
  return port <= 0xffff_ffff ? port : null;
}

class UnixHostStream implements HostStream {
  events: HostStreamEvents | null = null;
  private pending = 0;
  private done = false;

  constructor(
    readonly socket: Socket,
    private readonly metrics: VsockUnixMetrics,
    private readonly forget: (s: UnixHostStream) => void,
  ) {
    socket.on('data', (b: Buffer) => this.events?.data(b));
    socket.on('end', () => this.events?.end());
    socket.on('error', () => {
      if (!this.done) this.metrics.streamErrors++;
    });
    socket.on('close', () => {
      const e = this.events;
      this.events = null;
      this.done = true;
      this.forget(this);
      e?.closed('host socket closed');
    });
  }

  get pendingWrite(): number {
    return this.pending;
  }

  write(bytes: Uint8Array): void {
    if (this.done) return;
    this.pending += bytes.length;
    this.socket.write(bytes, () => {
      this.pending -= bytes.length;
      this.events?.drain();
    });
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    if (!this.done) this.socket.resume();
  }

  endWrite(): void {
    if (!this.done) this.socket.end();
  }

  accepted(hostPort: number): void {
    if (!this.done) this.socket.write(`OK ${hostPort}\n`);
  }

  close(): void {
    if (this.done) return;
    this.done = true;
    this.events = null;
    this.forget(this);
    const s = this.socket;
    // Whatever the host sends now has nowhere to go: read and drop it so the socket can finish.
    s.removeAllListeners('data');
    s.resume();
    const linger = setTimeout(() => s.destroy(), CLOSE_LINGER_MS);
    linger.unref();
    s.once('close', () => clearTimeout(linger));
    s.end(() => s.destroy());
  }

  destroy(): void {
    if (this.done && this.socket.destroyed) return;
    this.done = true;
    this.events = null;
    this.forget(this);
    this.socket.destroy();
  }
}

export class VsockUnixBackend implements VsockBackend {
  readonly metrics: VsockUnixMetrics = { hostAccepts: 0, badConnectLines: 0, hostRefused: 0, connectFails: 0, streamErrors: 0 };
  private listener: VsockHostListener | null = null;
  /** Sockets accepted before the device started, or still to send their CONNECT line. */
  private readonly waiting = new Set<Socket>();
  /** Streams handed to the device, and guest connects under way. */
  private readonly streams = new Set<UnixHostStream>();
  private readonly connecting = new Set<Socket>();
  private closed = false;

  private constructor(
    readonly udsPath: string,
    private readonly server: Server,
  ) {
    server.on('connection', (s) => this.accept(s));
  }

  /** Binds `udsPath` (as Firecracker does when the device is configured); rejects if it cannot. */
  static open(udsPath: string): Promise<VsockUnixBackend> {
    if (Buffer.byteLength(udsPath) > UDS_PATH_MAX) {
      return Promise.reject(new VsockUnixBackendError('path-too-long', `Cannot bind the vsock socket "${udsPath}": a Unix socket path is at most ${UDS_PATH_MAX} bytes`));
    }
    return new Promise((resolve, reject) => {
      const server = createServer({ allowHalfOpen: true, pauseOnConnect: true });
      server.once('error', (e: NodeJS.ErrnoException) => {
        reject(new VsockUnixBackendError('bind-failed', `Cannot bind the vsock socket "${udsPath}": ${e.code ?? e.message}`, { cause: e }));
      });
      server.listen(udsPath, () => {
        server.removeAllListeners('error');
        server.on('error', () => {});
        resolve(new VsockUnixBackend(udsPath, server));
      });
    });
  }

  start(listener: VsockHostListener): void {
    this.listener = listener;
    for (const s of [...this.waiting]) this.handshake(s);
  }

  stop(): void {
    this.listener = null;
    for (const s of this.waiting) s.destroy();
    this.waiting.clear();
    for (const st of [...this.streams]) st.destroy();
    for (const s of this.connecting) s.destroy();
    this.connecting.clear();
  }

  /** VMM teardown: everything closes and the socket file goes. */
  close(): Promise<void> {
    this.stop();
    if (this.closed) return Promise.resolve();
    this.closed = true;
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  connect(hostPort: number, events: HostStreamEvents, done: (stream: HostStream | null, reason?: string) => void): void {
    const path = `${this.udsPath}_${hostPort}`;
    const socket = connect({ path, allowHalfOpen: true });
    this.connecting.add(socket);
    let settled = false;
    socket.once('connect', () => {
      this.connecting.delete(socket);
      if (settled) return;
      settled = true;
      socket.removeAllListeners('error');
      const stream = this.track(socket);
      stream.events = events;
      done(stream);
    });
    socket.once('error', (e: NodeJS.ErrnoException) => {
      this.connecting.delete(socket);
      socket.destroy();
      if (settled) return;
      settled = true;
      this.metrics.connectFails++;
      done(null, `${path}: ${e.code ?? e.message}`);
    });
  }

  private track(socket: Socket): UnixHostStream {
    const st = new UnixHostStream(socket, this.metrics, (x) => this.streams.delete(x));
    this.streams.add(st);
    return st;
  }

  private accept(s: Socket): void {
    this.metrics.hostAccepts++;
    if (this.waiting.size >= MAX_PENDING_HANDSHAKES) {
      this.metrics.hostRefused++;
      s.destroy();
      return;
    }
    this.waiting.add(s);
    s.on('error', () => {});
    const timer = setTimeout(() => {
      if (!this.waiting.delete(s)) return;
      this.metrics.badConnectLines++;
      s.destroy();
    }, HANDSHAKE_TIMEOUT_MS);
    timer.unref();
    s.once('close', () => {
      clearTimeout(timer);
      this.waiting.delete(s);
    });
    if (this.listener) this.handshake(s);
  }

  /** Reads the CONNECT line (at most 32 bytes), then hands the socket to the device. */
  private handshake(s: Socket): void {
    let line = Buffer.alloc(0);
    const onData = (b: Buffer): void => {
      line = Buffer.concat([line, b]);
      const nl = line.indexOf(0x0a);
      if (nl < 0 && line.length < CONNECT_LINE_MAX) return;
      s.off('data', onData);
      s.pause();
      this.waiting.delete(s);
      const port = nl >= 0 && nl < CONNECT_LINE_MAX ? parseConnectLine(line.subarray(0, nl).toString('latin1')) : null;
      if (port === null || !this.listener) {
        this.metrics.badConnectLines++;
        s.destroy();
        return;
      }
      s.removeAllListeners('error');
      const stream = this.track(s);
      const events = this.listener.incoming(port, stream);
      if (!events) {
        this.metrics.hostRefused++;
        stream.destroy();
        return;
      }
      stream.events = events;
      const rest = line.subarray(nl + 1);
      if (rest.length > 0) events.data(Uint8Array.prototype.slice.call(rest));
      if (stream.events) s.resume();
    };
    s.on('data', onData);
    s.resume();
  }
}
