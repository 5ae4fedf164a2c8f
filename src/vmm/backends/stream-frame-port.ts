/**
 * A FramePort over a stream socket carrying frames as passt and QEMU's `-netdev stream` do: each
 * Ethernet frame prefixed by its length as a 4-byte big-endian number. Reading stops while the device
 * has paused the port, so the peer (passt) is held back by the socket's own flow control rather than
 * dropping; writing reports congestion once more than WRITE_HIGH_WATER bytes wait in the socket.
 */
import type { Duplex } from 'node:stream';
import type { FramePort, FrameReceiver } from '../../devices/virtio/net/frame-port.js';

/** Bytes queued for the peer beyond which send() asks the device to hold further frames. */
const WRITE_HIGH_WATER = 1024 * 1024;
/** The largest frame the peer may announce (65535-byte IP packet, Ethernet header, one VLAN tag). */
export const STREAM_MAX_FRAME = 65535 + 18;

export interface StreamPortMetrics {
  /** Frames that could not be written (the socket had failed or closed). */
  writeFails: number;
  /** The peer announced an impossible frame length (0 or above STREAM_MAX_FRAME): the link is closed. */
  readFails: number;
  framesIn: number;
  framesOut: number;
}

export class StreamFramePort implements FramePort {
  readonly metrics: StreamPortMetrics = { writeFails: 0, readFails: 0, framesIn: 0, framesOut: 0 };
  private receiver: FrameReceiver | null = null;
  private chunks: Buffer[] = [];
  private buffered = 0;
  private closed = false;
  private congested = false;
  private down = false;

  /** `name` says what is at the other end, for link-down reasons ("passt"). */
  constructor(
    private readonly socket: Duplex,
    private readonly name: string,
  ) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => {
      if (!this.congested) return;
      this.congested = false;
      this.receiver?.drained?.();
    });
    socket.on('error', (e) => this.linkLost(`${this.name}: ${e.message}`));
    socket.on('close', () => this.linkLost(`${this.name} closed the connection`));
    // Nothing is read until a receiver is attached.
    socket.pause();
  }

  attach(receiver: FrameReceiver): void {
    this.receiver = receiver;
    this.socket.resume();
  }

  send(frame: Uint8Array): boolean {
    if (this.closed || this.down || this.socket.destroyed) {
      this.metrics.writeFails++;
      return true;
    }
    const out = Buffer.allocUnsafe(4 + frame.length);
    out.writeUInt32BE(frame.length, 0);
    out.set(frame, 4);
    this.metrics.framesOut++;
    this.socket.write(out);
    if (this.socket.writableLength > WRITE_HIGH_WATER) {
      this.congested = true;
      return false;
    }
    return true;
  }

  pause(): void {
    if (!this.closed) this.socket.pause();
  }

  resume(): void {
    if (!this.closed && this.receiver) this.socket.resume();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.receiver = null;
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    for (;;) {
      if (this.buffered < 4) return;
      const len = this.peekLength();
      if (len === 0 || len > STREAM_MAX_FRAME) {
        this.metrics.readFails++;
        this.linkLost(`${this.name} sent a frame length of ${len} bytes`);
        this.socket.destroy();
        return;
      }
      if (this.buffered < 4 + len) return;
      this.consume(4);
      const frame = this.consume(len);
      this.metrics.framesIn++;
      this.receiver?.receive(frame);
      if (this.closed) return;
    }
  }

  private peekLength(): number {
    const head = this.chunks[0]!;
    if (head.length >= 4) return head.readUInt32BE(0);
    const b = Buffer.concat(this.chunks, Math.min(this.buffered, 4));
    return b.readUInt32BE(0);
  }

  /** Takes the next n buffered bytes as one array (a copy: the receiver keeps it). */
  private consume(n: number): Uint8Array {
    const out = new Uint8Array(n);
    let at = 0;
    while (at < n) {
      const head = this.chunks[0]!;
      const k = Math.min(head.length, n - at);
      out.set(head.subarray(0, k), at);
      at += k;
      if (k === head.length) this.chunks.shift();
      else this.chunks[0] = head.subarray(k);
    }
    this.buffered -= n;
    return out;
  }

  /** Reports the link as down (once): the peer failed or went away. */
  linkLost(reason: string): void {
    if (this.down || this.closed) return;
    this.down = true;
    this.receiver?.linkDown?.(reason);
  }
}
