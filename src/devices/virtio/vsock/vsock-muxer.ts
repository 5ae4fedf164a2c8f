import type { BufferCursor } from '../descriptor-chain.js';
import type { HostStream, HostStreamEvents, VsockBackend, VsockHostListener } from './vsock-backend.js';
import { connKey, VsockConnection, type ConnectionOwner } from './vsock-connection.js';
import type { VsockMetrics } from './vsock-metrics.js';
import { HOST_CID, OP_REQUEST, OP_RST, TYPE_STREAM, type VsockHeader } from './vsock-packet.js';

/** Connections alive at once, including those being set up (Firecracker's MAX_CONNECTIONS). */
export const MAX_CONNECTIONS = 1023;
/** RSTs for unknown connections waiting for an RX buffer (Firecracker's muxer RX queue size). */
export const MAX_PENDING_RSTS = 256;
/** Host ports wisp hands to host-initiated connections: [2^30, 2^31), as Firecracker does. */
const LOCAL_PORT_BASE = 1 << 30;
const LOCAL_PORT_MASK = LOCAL_PORT_BASE - 1;

/**
 * The connection table between the device's queues and the host backend (Firecracker's muxer, minus
 * the host I/O, which the backend owns): it routes guest packets to connections by (host port, guest
 * port), opens guest-initiated connections through the backend and takes host-initiated ones from it,
 * answers packets for unknown connections with RST, hands out host ports, and chooses fairly (round
 * robin) which connection's packet fills the next RX buffer. Everything it holds is bounded: at most
 * MAX_CONNECTIONS connections and MAX_PENDING_RSTS queued RSTs (more are dropped and counted).
 */
export class VsockMuxer implements VsockHostListener, ConnectionOwner {
  private readonly conns = new Map<string, VsockConnection>();
  /** Connections that may have a packet for the guest, in the order they will be asked. */
  private readonly ready = new Set<VsockConnection>();
  /** Connections with a kill timer. */
  private readonly expiring = new Set<VsockConnection>();
  private rsts: { localPort: number; peerPort: number }[] = [];
  private readonly localPorts = new Set<number>();
  private lastLocalPort = LOCAL_PORT_BASE - 1;
  private active = false;

  constructor(
    readonly guestCid: number,
    private readonly backend: VsockBackend,
    readonly metrics: VsockMetrics,
    private readonly clock: () => number,
    /** Called when a packet for the guest may be ready (outside or inside a device call). */
    private readonly onReady: () => void,
  ) {}

  now(): number {
    return this.clock();
  }

  get connectionCount(): number {
    return this.conns.size;
  }

  get hasPendingRx(): boolean {
    return this.rsts.length > 0 || this.ready.size > 0;
  }

  /** Device activation: the backend starts taking host connections. */
  start(): void {
    this.active = true;
    this.backend.start(this);
  }

  /** Device reset: every connection and queued packet goes, the backend stops. */
  reset(): void {
    this.active = false;
    this.dropConnections();
    this.backend.stop();
  }

  /** Every connection and queued packet goes (their host streams close); the backend keeps listening. */
  dropConnections(): void {
    for (const c of this.conns.values()) c.abort();
    this.conns.clear();
    this.ready.clear();
    this.expiring.clear();
    this.rsts = [];
    this.localPorts.clear();
    // lastLocalPort is kept: the guest may still send packets of the dropped connections (its sockets
    // close a little later), and a new connection on the same (host port, guest port) would take them.
  }

  /**
   * After a restore the guest's old sockets (reset by the event) may still speak for host ports this
   * fresh VMM would hand out from 2^30 again: start somewhere else in the range instead.
   */
  skipLocalPorts(): void {
    this.lastLocalPort = LOCAL_PORT_BASE | Math.floor(Math.random() * LOCAL_PORT_BASE);
  }

  // VsockHostListener

  incoming(guestPort: number, stream: HostStream): HostStreamEvents | null {
    if (!this.active || this.conns.size >= MAX_CONNECTIONS) {
      this.metrics.connsRefused++;
      return null;
    }
    const conn = new VsockConnection(this, this.allocLocalPort(), guestPort, { guestInitiated: false, stream });
    this.add(conn);
    this.changed(conn);
    return conn;
  }

  // ConnectionOwner

  changed(conn: VsockConnection): void {
    if (this.conns.get(connKey(conn.localPort, conn.peerPort)) !== conn) return;
    if (conn.expiry !== null) this.expiring.add(conn);
    else this.expiring.delete(conn);
    if (conn.hasPendingRx) this.ready.add(conn);
    this.onReady();
  }

  /** A packet from the guest's TX queue (header checked by the device; payload copied out of guest RAM). */
  sendPkt(h: VsockHeader, payload: Uint8Array | null): void {
    if (h.type !== TYPE_STREAM) {
      // Only stream sockets exist here (SEQPACKET is not offered): the guest's socket is reset.
      this.metrics.txDroppedPackets++;
      if (h.op !== OP_RST) this.enqueueRst(h.dstPort, h.srcPort);
      return;
    }
    if (h.dstCid !== HOST_CID || h.srcCid !== this.guestCid) {
      this.metrics.txWrongCid++;
      return;
    }
    const conn = this.conns.get(connKey(h.dstPort, h.srcPort));
    if (!conn) {
      if (h.op === OP_REQUEST) this.peerRequest(h);
      // §5.10.6.4 / Linux: an unknown connection gets an RST, except an RST itself (no RST storms).
      else if (h.op !== OP_RST) this.enqueueRst(h.dstPort, h.srcPort);
      return;
    }
    if (h.op === OP_RST) {
      this.metrics.txPacketsCount++;
      if (conn.requestPending) {
        // Our REQUEST has not gone out yet, so this RST cannot answer it: it belongs to an older
        // connection on the same ports (one the guest is still closing after a transport reset).
        this.metrics.txDroppedPackets++;
        return;
      }
      conn.abort();
      this.remove(conn);
      return;
    }
    conn.sendPkt(h, payload);
  }

  /** Fills the next packet for the guest (payload through `w`, after the header); false if none. */
  recvPkt(h: VsockHeader, w: BufferCursor): boolean {
    const rst = this.rsts.shift();
    if (rst) {
      h.srcCid = HOST_CID;
      h.dstCid = this.guestCid;
      h.srcPort = rst.localPort;
      h.dstPort = rst.peerPort;
      h.len = 0;
      h.type = TYPE_STREAM;
      h.op = OP_RST;
      h.flags = 0;
      h.bufAlloc = 0;
      h.fwdCnt = 0;
      this.metrics.rxPacketsCount++;
      return true;
    }
    for (const conn of this.ready) {
      this.ready.delete(conn);
      if (this.conns.get(connKey(conn.localPort, conn.peerPort)) !== conn) continue;
      if (!conn.recvPkt(h, w)) continue;
      if (h.op === OP_RST) this.remove(conn);
      else if (conn.hasPendingRx) this.ready.add(conn); // to the back: round robin between connections
      if (conn.expiry !== null) this.expiring.add(conn);
      return true;
    }
    return false;
  }

  /** Milliseconds until the first kill timer runs out; Infinity if none is set. */
  nextExpiryMs(): number {
    let t = Infinity;
    for (const c of this.expiring) if (c.expiry !== null && c.expiry < t) t = c.expiry;
    return t === Infinity ? Infinity : Math.max(0, t - this.clock());
  }

  /** Kills the connections whose timer ran out (a guest that never answered a REQUEST or SHUTDOWN). */
  sweep(): void {
    const now = this.clock();
    for (const c of [...this.expiring]) {
      if (c.expiry === null) this.expiring.delete(c);
      else if (c.expiry <= now) {
        this.expiring.delete(c);
        c.kill();
      }
    }
  }

  private peerRequest(h: VsockHeader): void {
    if (!this.active || this.conns.size >= MAX_CONNECTIONS) {
      this.metrics.connsRefused++;
      this.enqueueRst(h.dstPort, h.srcPort);
      return;
    }
    const conn = new VsockConnection(this, h.dstPort, h.srcPort, { guestInitiated: true, peerBufAlloc: h.bufAlloc, peerFwdCnt: h.fwdCnt });
    this.add(conn);
    this.backend.connect(h.dstPort, conn, (stream) => {
      if (this.conns.get(connKey(conn.localPort, conn.peerPort)) !== conn || conn.state !== 'connecting') {
        // The guest gave up (RST) or the device reset meanwhile.
        stream?.destroy();
        return;
      }
      if (!stream) {
        // Nobody listens at <uds_path>_<port>: the guest's connect() fails with ECONNRESET.
        this.metrics.connsRefused++;
        this.remove(conn);
        this.enqueueRst(conn.localPort, conn.peerPort);
        this.onReady();
        return;
      }
      conn.hostConnected(stream);
    });
  }

  private add(conn: VsockConnection): void {
    this.conns.set(connKey(conn.localPort, conn.peerPort), conn);
    this.metrics.connsAdded++;
  }

  private remove(conn: VsockConnection): void {
    const key = connKey(conn.localPort, conn.peerPort);
    if (this.conns.get(key) !== conn) return;
    this.conns.delete(key);
    this.ready.delete(conn);
    this.expiring.delete(conn);
    if (!conn.guestInitiated) this.localPorts.delete(conn.localPort);
    this.metrics.connsRemoved++;
  }

  private enqueueRst(localPort: number, peerPort: number): void {
    if (this.rsts.length >= MAX_PENDING_RSTS) {
      this.metrics.rstDropped++;
      return;
    }
    this.rsts.push({ localPort, peerPort });
    this.onReady();
  }

  private allocLocalPort(): number {
    // At most MAX_CONNECTIONS of the 2^30 ports are taken, so this ends quickly.
    do {
      this.lastLocalPort = LOCAL_PORT_BASE | ((this.lastLocalPort + 1) & LOCAL_PORT_MASK);
    } while (this.localPorts.has(this.lastLocalPort));
    this.localPorts.add(this.lastLocalPort);
    return this.lastLocalPort;
  }
}
