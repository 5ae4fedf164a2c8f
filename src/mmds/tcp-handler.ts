import { ipv4ToString, parseTcp, TCP_RST, TCP_SYN, type Ipv4Packet, type TcpOut } from './frames.js';
import { isValidSyn, rstFor, TcpEndpoint, type RecvOutcome, type RstSpec } from './tcp-endpoint.js';

/** Connections the MMDS keeps at once (Firecracker: 30); a 31st evicts an idle one or is reset. */
export const MAX_CONNECTIONS = 30;
/** RSTs waiting to be sent (Firecracker: 100); more are dropped. */
export const MAX_PENDING_RSTS = 100;

/** What one received segment did, for the counters. */
export type HandlerEvent =
  | 'new-connection'
  | 'new-connection-replacing'
  | 'new-connection-dropped'
  | 'failed-new-connection'
  | 'endpoint-done'
  | 'unexpected-segment'
  | 'nothing';

export interface HandlerResult {
  /** null: the segment was refused (not TCP for our port, malformed, or for a reset connection). */
  event: HandlerEvent | null;
  unusual: boolean;
}

interface Conn {
  ip: number;
  port: number;
  ep: TcpEndpoint;
}

/**
 * The MMDS's TCP listener on one address and port (Firecracker's TcpIPv4Handler): connections by
 * (remote address, remote port), at most MAX_CONNECTIONS, RSTs for segments that belong to none.
 */
export class TcpHandler {
  private readonly conns = new Map<string, Conn>();
  private rsts: { ip: number; port: number; rst: RstSpec }[] = [];

  constructor(
    public localIp: number,
    readonly localPort: number,
    private readonly isn: () => number,
    /** Firecracker's connections_created / connections_destroyed. */
    private readonly counts: { connectionsCreated: number; connectionsDestroyed: number },
  ) {}

  get connectionCount(): number {
    return this.conns.size;
  }

  receive(ip: Ipv4Packet, now: number, respond: (request: Uint8Array) => Uint8Array): HandlerResult {
    const s = parseTcp(ip.payload);
    if (!s || s.dstPort !== this.localPort) return { event: null, unusual: false };
    const key = `${ipv4ToString(ip.src)}:${s.srcPort}`;
    const c = this.conns.get(key);
    if (c) {
      const outcome: RecvOutcome = c.ep.receive(s, now, respond);
      if (outcome === 'error') return { event: null, unusual: false };
      if (c.ep.isDone && !c.ep.hasSegment) {
        this.drop(key);
        return { event: 'endpoint-done', unusual: outcome === 'unusual' };
      }
      return { event: 'nothing', unusual: outcome === 'unusual' };
    }
    if ((s.flags & 0x3f) === TCP_SYN) {
      if (!isValidSyn(s)) return { event: 'failed-new-connection', unusual: false };
      const ep = new TcpEndpoint(s, now, this.isn());
      if (this.conns.size >= MAX_CONNECTIONS) {
        const victim = [...this.conns].find(([, x]) => x.ep.isEvictable(now));
        if (!victim) {
          this.enqueueRst(ip.src, s.srcPort, rstFor(s));
          return { event: 'new-connection-dropped', unusual: false };
        }
        this.enqueueRst(victim[1].ip, victim[1].port, victim[1].ep.evictionRst());
        this.drop(victim[0]);
        this.add(key, { ip: ip.src, port: s.srcPort, ep });
        return { event: 'new-connection-replacing', unusual: false };
      }
      this.add(key, { ip: ip.src, port: s.srcPort, ep });
      return { event: 'new-connection', unusual: false };
    }
    if (!(s.flags & TCP_RST)) this.enqueueRst(ip.src, s.srcPort, rstFor(s));
    return { event: 'unexpected-segment', unusual: false };
  }

  /** The next segment to send (RSTs first), with its destination; null when nothing is due. */
  next(now: number): { ip: number; seg: TcpOut; done: boolean } | null {
    const r = this.rsts.shift();
    if (r) return { ip: r.ip, seg: { srcPort: this.localPort, dstPort: r.port, seq: r.rst.seq, ack: r.rst.ack, flags: r.rst.flags, window: 0 }, done: false };
    for (const [key, c] of this.conns) {
      const seg = c.ep.next(now);
      if (!seg) {
        if (c.ep.isDone) this.drop(key);
        continue;
      }
      seg.srcPort = this.localPort;
      seg.dstPort = c.port;
      const done = c.ep.isDone && !c.ep.hasSegment;
      if (done) this.drop(key);
      // Round robin: the connection that just sent goes to the back.
      else {
        this.conns.delete(key);
        this.conns.set(key, c);
      }
      return { ip: c.ip, seg, done };
    }
    return null;
  }

  /** Whether a segment is due now. */
  get hasSegment(): boolean {
    if (this.rsts.length > 0) return true;
    for (const c of this.conns.values()) if (c.ep.hasSegment) return true;
    return false;
  }

  /** The earliest retransmission time (ms), or Infinity. */
  nextTimeout(): number {
    let t = Infinity;
    for (const c of this.conns.values()) t = Math.min(t, c.ep.nextTimeout());
    return t;
  }

  private add(key: string, c: Conn): void {
    this.conns.set(key, c);
    this.counts.connectionsCreated++;
  }

  private drop(key: string): void {
    if (this.conns.delete(key)) this.counts.connectionsDestroyed++;
  }

  private enqueueRst(ip: number, port: number, rst: RstSpec): void {
    if (this.rsts.length < MAX_PENDING_RSTS) this.rsts.push({ ip, port, rst });
  }
}
