import type { BufferCursor } from '../descriptor-chain.js';
import type { HostStream, HostStreamEvents } from './vsock-backend.js';
import type { VsockMetrics } from './vsock-metrics.js';
import {
  HOST_CID,
  OP_CREDIT_REQUEST,
  OP_CREDIT_UPDATE,
  OP_REQUEST,
  OP_RESPONSE,
  OP_RST,
  OP_RW,
  OP_SHUTDOWN,
  SHUTDOWN_F_RECEIVE,
  SHUTDOWN_F_SEND,
  TYPE_STREAM,
  MAX_PKT_PAYLOAD,
  type VsockHeader,
} from './vsock-packet.js';

/**
 * The buffer space wisp advertises to the guest for each connection (buf_alloc, §5.10.6.3): the guest
 * may have at most this many bytes sent and not yet forwarded to the host, so a host that stops
 * reading holds at most this much of the guest's data in wisp.
 */
export const CONN_TX_BUF_SIZE = 256 * 1024;
/** A credit update goes to the guest when the free space it knows of drops below this. */
export const CONN_CREDIT_UPDATE_THRESHOLD = 64 * 1024;
/**
 * Host bytes held for a guest that is not taking them (no credit, no RX buffers): past this the host
 * stream is paused, so a guest that stops reading holds at most this plus one chunk per connection.
 */
export const CONN_RX_HIGH_WATER = 64 * 1024;
/** How long a host-initiated REQUEST waits for the guest's RESPONSE (Firecracker: 2 s). */
export const CONN_REQUEST_TIMEOUT_MS = 2000;
/** How long after both sides shut down wisp waits for the guest's RST before sending one (Firecracker: 2 s). */
export const CONN_SHUTDOWN_TIMEOUT_MS = 2000;

/**
 * connecting: guest-initiated, waiting for the host's listener; peer-init: connected to the host, the
 * RESPONSE is due; local-init: host-initiated, REQUEST due or sent; established: data flows; killed:
 * an RST is due and then the connection goes.
 */
export type ConnState = 'connecting' | 'peer-init' | 'local-init' | 'established' | 'killed';

/** What a connection needs from the connection table. */
export interface ConnectionOwner {
  readonly guestCid: number;
  readonly metrics: VsockMetrics;
  now(): number;
  /** Something changed: the connection may have a packet for the guest, a new expiry, or be done. */
  changed(conn: VsockConnection): void;
}

const PENDING_RST = 1;
const PENDING_RESPONSE = 2;
const PENDING_REQUEST = 4;
const PENDING_CREDIT_UPDATE = 8;

/**
 * One vsock stream between a guest socket and a host stream (virtio 1.2 §5.10.6): the handshake,
 * credit-based flow control in both directions (§5.10.6.3), half-close with SHUTDOWN flags and the
 * final RST (§5.10.6.4). Packets for the guest are produced on demand by recvPkt() when the device has
 * an RX buffer; packets from the guest arrive through sendPkt(); the host stream's events arrive
 * through the HostStreamEvents methods. Nothing here touches guest memory except the cursor recvPkt is
 * given, and nothing grows without bound: host data past CONN_RX_HIGH_WATER pauses the host stream,
 * guest data past the advertised credit kills the connection.
 */
export class VsockConnection implements HostStreamEvents {
  state: ConnState;
  readonly guestInitiated: boolean;
  stream: HostStream | null = null;
  /** Milliseconds (owner clock) at which the connection is killed if still alive; null: none. */
  expiry: number | null = null;

  /** Host → guest: bytes read from the host, not yet sent to the guest. */
  private rx: Uint8Array[] = [];
  private rxOff = 0;
  private rxBytes = 0;
  private hostEof = false;
  private paused = false;
  /** Bytes sent to the guest (wrapping u32), the guest's buffer and what it consumed of it. */
  private rxCnt = 0;
  private peerBufAlloc: number;
  private peerFwdCnt = 0;
  private creditRequested = false;

  /** Guest → host: bytes received from the guest (wrapping u32) and fwd_cnt as last told to it. */
  private txCnt = 0;
  private lastFwdCntToPeer = 0;
  /** SHUTDOWN flags the guest sent, and those wisp sent. */
  private peerShutdown = 0;
  private localShutdown = 0;
  private hostWriteEnded = false;
  private pending: number;

  constructor(
    private readonly owner: ConnectionOwner,
    /** The host side's port (the port the guest connected to, or one wisp allocated). */
    readonly localPort: number,
    /** The guest side's port. */
    readonly peerPort: number,
    kind: { guestInitiated: true; peerBufAlloc: number; peerFwdCnt: number } | { guestInitiated: false; stream: HostStream },
  ) {
    this.guestInitiated = kind.guestInitiated;
    if (kind.guestInitiated) {
      this.state = 'connecting';
      this.peerBufAlloc = kind.peerBufAlloc;
      this.peerFwdCnt = kind.peerFwdCnt;
      this.pending = 0;
    } else {
      this.state = 'local-init';
      this.stream = kind.stream;
      this.peerBufAlloc = 0;
      this.pending = PENDING_REQUEST;
    }
  }

  /** The host side of a guest-initiated connection is up: the RESPONSE is due. */
  hostConnected(stream: HostStream): void {
    this.stream = stream;
    this.state = 'peer-init';
    this.pending |= PENDING_RESPONSE;
    this.owner.changed(this);
  }

  /** A host-initiated connection whose REQUEST has not been sent to the guest yet. */
  get requestPending(): boolean {
    return (this.pending & PENDING_REQUEST) !== 0;
  }

  get hasPendingRx(): boolean {
    if (this.pending !== 0) return true;
    if (this.state !== 'established') return false;
    if (this.rxBytes > 0 && !(this.peerShutdown & SHUTDOWN_F_RECEIVE)) return this.peerCredit() > 0 || !this.creditRequested;
    return this.shutdownDue();
  }

  /** Forceful termination: an RST is due, everything buffered is dropped, the host stream closes. */
  kill(): void {
    if (this.state === 'killed') return;
    this.owner.metrics.connsKilled++;
    this.state = 'killed';
    this.pending = PENDING_RST;
    this.expiry = null;
    this.dropRx();
    const s = this.stream;
    this.stream = null;
    s?.destroy();
    this.owner.changed(this);
  }

  /** The guest sent RST, or the device is going away: close the host stream, no packet due. */
  abort(): void {
    this.state = 'killed';
    this.pending = 0;
    this.expiry = null;
    this.dropRx();
    const s = this.stream;
    this.stream = null;
    s?.destroy();
  }

  /**
   * Fills `h` (and, for data, the payload through `w`, positioned after the header) with the next
   * packet for the guest; false if there is none. After an RST the caller removes the connection.
   */
  recvPkt(h: VsockHeader, w: BufferCursor): boolean {
    this.initHeader(h);
    if (this.pending & PENDING_RST) {
      this.pending = 0;
      h.op = OP_RST;
      return true;
    }
    if (this.pending & PENDING_RESPONSE) {
      this.pending &= ~PENDING_RESPONSE;
      this.state = 'established';
      h.op = OP_RESPONSE;
      return this.sent(h);
    }
    if (this.pending & PENDING_REQUEST) {
      this.pending &= ~PENDING_REQUEST;
      this.expiry = this.owner.now() + CONN_REQUEST_TIMEOUT_MS;
      h.op = OP_REQUEST;
      return this.sent(h);
    }
    if (this.state === 'established') {
      if (this.rxBytes > 0 && !(this.peerShutdown & SHUTDOWN_F_RECEIVE)) {
        const credit = this.peerCredit();
        if (credit === 0) {
          if (!this.creditRequested) {
            // §5.10.6.3: ask the guest for its current credit rather than overrun its buffer.
            this.creditRequested = true;
            h.op = OP_CREDIT_REQUEST;
            return this.sent(h);
          }
        } else {
          const n = this.copyRx(w, Math.min(credit, w.remaining, MAX_PKT_PAYLOAD));
          if (n > 0) {
            h.op = OP_RW;
            h.len = n;
            this.rxCnt = (this.rxCnt + n) >>> 0;
            this.owner.metrics.rxBytesCount += n;
            return this.sent(h);
          }
        }
      }
      if (this.shutdownDue()) {
        // The host sent EOF and its data is all delivered: "no more data from us" (and, if the guest
        // already stopped sending, nothing more to receive either).
        this.localShutdown |= SHUTDOWN_F_SEND;
        if (this.peerShutdown & SHUTDOWN_F_SEND) this.localShutdown |= SHUTDOWN_F_RECEIVE;
        h.op = OP_SHUTDOWN;
        h.flags = this.localShutdown;
        if (this.bothDone()) this.expiry = this.owner.now() + CONN_SHUTDOWN_TIMEOUT_MS;
        return this.sent(h);
      }
    }
    if (this.pending & PENDING_CREDIT_UPDATE) {
      this.pending &= ~PENDING_CREDIT_UPDATE;
      h.op = OP_CREDIT_UPDATE;
      return this.sent(h);
    }
    return false;
  }

  /** A packet from the guest for this connection (not RST or REQUEST: the table handles those). */
  sendPkt(h: VsockHeader, payload: Uint8Array | null): void {
    this.peerBufAlloc = h.bufAlloc;
    this.peerFwdCnt = h.fwdCnt;
    this.creditRequested = false;
    const m = this.owner.metrics;
    m.txPacketsCount++;
    switch (h.op) {
      case OP_RW:
        if (this.state !== 'established' || this.peerShutdown & SHUTDOWN_F_SEND || !this.stream) {
          m.txDroppedPackets++;
          break;
        }
        if (!payload || payload.length === 0) break;
        if (this.stream.pendingWrite + payload.length > CONN_TX_BUF_SIZE) {
          // The guest sent past the credit it was given (§5.10.6.3.1 forbids it): wisp would have to
          // buffer without bound, so the connection goes, as on Firecracker.
          m.txCreditViolations++;
          this.kill();
          return;
        }
        this.stream.write(payload);
        this.txCnt = (this.txCnt + payload.length) >>> 0;
        m.txBytesCount += payload.length;
        if (this.peerNeedsCreditUpdate()) this.pending |= PENDING_CREDIT_UPDATE;
        break;
      case OP_RESPONSE:
        if (this.state !== 'local-init' || !this.stream) {
          m.txDroppedPackets++;
          break;
        }
        this.state = 'established';
        this.expiry = null;
        this.stream.accepted(this.localPort);
        this.resumeIfLow();
        break;
      case OP_SHUTDOWN:
        if (this.state !== 'established') {
          m.txDroppedPackets++;
          break;
        }
        this.peerShutdown |= h.flags & (SHUTDOWN_F_RECEIVE | SHUTDOWN_F_SEND);
        if (this.peerShutdown & SHUTDOWN_F_SEND && !this.hostWriteEnded) {
          // Half-close toward the host: what the guest sent is flushed, then the host reads EOF.
          this.hostWriteEnded = true;
          this.stream?.endWrite();
        }
        if (this.peerShutdown & SHUTDOWN_F_RECEIVE) {
          // The guest takes no more data: drop what is held and stop reading the host.
          this.dropRx();
          this.pauseStream();
        }
        if (this.bothDone()) {
          // §5.10.6.4: the guest's SHUTDOWN ended both directions; answer with RST. The host stream
          // still gets what the guest sent before (close() flushes it).
          this.owner.metrics.connsClosed++;
          const s = this.stream;
          this.stream = null;
          s?.close();
          this.state = 'killed';
          this.pending = PENDING_RST;
          this.expiry = null;
        }
        break;
      case OP_CREDIT_UPDATE:
        break;
      case OP_CREDIT_REQUEST:
        this.pending |= PENDING_CREDIT_UPDATE;
        break;
      default:
        m.txDroppedPackets++;
    }
    this.owner.changed(this);
  }

  // HostStreamEvents: the backend's view of the host stream.

  data(bytes: Uint8Array): void {
    if (this.state === 'killed' || this.peerShutdown & SHUTDOWN_F_RECEIVE || this.hostEof || bytes.length === 0) return;
    this.rx.push(bytes);
    this.rxBytes += bytes.length;
    if (this.rxBytes >= CONN_RX_HIGH_WATER) this.pauseStream();
    this.owner.changed(this);
  }

  end(): void {
    if (this.hostEof) return;
    this.hostEof = true;
    this.owner.changed(this);
  }

  drain(): void {
    if (this.state === 'killed') return;
    if (this.peerNeedsCreditUpdate()) {
      this.pending |= PENDING_CREDIT_UPDATE;
      this.owner.changed(this);
    }
  }

  closed(_reason: string): void {
    this.stream = null;
    if (this.state === 'killed') return;
    // The host end went away (closed, reset, failed): the guest gets an RST.
    this.kill();
  }

  /** Bytes held for the guest (tests and metrics). */
  get heldRxBytes(): number {
    return this.rxBytes;
  }

  private initHeader(h: VsockHeader): void {
    h.srcCid = HOST_CID;
    h.dstCid = this.owner.guestCid;
    h.srcPort = this.localPort;
    h.dstPort = this.peerPort;
    h.len = 0;
    h.type = TYPE_STREAM;
    h.op = 0;
    h.flags = 0;
    h.bufAlloc = CONN_TX_BUF_SIZE;
    h.fwdCnt = this.fwdCnt();
  }

  /** Every packet tells the guest our fwd_cnt, so it is the guest's latest view from now on. */
  private sent(h: VsockHeader): boolean {
    this.lastFwdCntToPeer = h.fwdCnt;
    this.owner.metrics.rxPacketsCount++;
    return true;
  }

  /** Bytes of guest data handed to the host (§5.10.6.3 fwd_cnt, wrapping u32). */
  private fwdCnt(): number {
    return (this.txCnt - (this.stream?.pendingWrite ?? 0)) >>> 0;
  }

  private peerCredit(): number {
    // §5.10.6.3: peer_free = peer_buf_alloc - (tx_cnt - peer_fwd_cnt), all wrapping u32.
    const inFlight = (this.rxCnt - this.peerFwdCnt) >>> 0;
    return inFlight >= this.peerBufAlloc ? 0 : this.peerBufAlloc - inFlight;
  }

  /** Whether the free space the guest knows of is low while wisp has actually freed some since. */
  private peerNeedsCreditUpdate(): boolean {
    const fwd = this.fwdCnt();
    if (fwd === this.lastFwdCntToPeer) return false;
    const seenUsed = (this.txCnt - this.lastFwdCntToPeer) >>> 0;
    return CONN_TX_BUF_SIZE - seenUsed < CONN_CREDIT_UPDATE_THRESHOLD;
  }

  private shutdownDue(): boolean {
    return this.hostEof && this.rxBytes === 0 && !(this.localShutdown & SHUTDOWN_F_SEND);
  }

  private bothDone(): boolean {
    const guestToHost = (this.peerShutdown & SHUTDOWN_F_SEND) !== 0;
    const hostToGuest = (this.peerShutdown & SHUTDOWN_F_RECEIVE) !== 0 || (this.localShutdown & SHUTDOWN_F_SEND) !== 0;
    return guestToHost && hostToGuest;
  }

  private copyRx(w: BufferCursor, max: number): number {
    let done = 0;
    while (done < max && this.rx.length > 0) {
      const head = this.rx[0];
      const k = Math.min(head.length - this.rxOff, max - done);
      w.write(head.subarray(this.rxOff, this.rxOff + k));
      done += k;
      this.rxOff += k;
      if (this.rxOff === head.length) {
        this.rx.shift();
        this.rxOff = 0;
      }
    }
    this.rxBytes -= done;
    this.resumeIfLow();
    return done;
  }

  private dropRx(): void {
    this.rx = [];
    this.rxOff = 0;
    this.rxBytes = 0;
  }

  private pauseStream(): void {
    if (this.paused || !this.stream) return;
    this.paused = true;
    this.stream.pause();
  }

  private resumeIfLow(): void {
    if (!this.paused || !this.stream || this.state === 'killed' || this.peerShutdown & SHUTDOWN_F_RECEIVE) return;
    if (this.rxBytes < CONN_RX_HIGH_WATER / 2) {
      this.paused = false;
      this.stream.resume();
    }
  }
}

/** Key of a connection in the table: (host port, guest port). */
export function connKey(localPort: number, peerPort: number): string {
  return `${localPort}:${peerPort}`;
}

