import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, MSS_DEFAULT, type TcpOut, type TcpSegment } from './frames.js';

/**
 * One passive TCP connection carrying HTTP requests to the MMDS (what Firecracker's dumbo Connection
 * and Endpoint do together): a listener's half of RFC 9293 that is just enough for HTTP clients on
 * the guest's link. It answers the SYN, takes in-order data into a fixed 2500-byte buffer (its receive
 * window never offers more), hands each complete request to `respond`, sends the response within the
 * peer's window and MSS, retransmits after RTO_MS up to RTO_COUNT_MAX times, closes after the peer's
 * FIN, and resets on anything that makes no sense (a SYN mid-connection, a bad ACK during the
 * handshake, a request that does not fit). Out-of-order data is dropped and answered with an ACK.
 */

/** One plus the longest request accepted; past it the connection is reset. */
export const RCV_BUF_MAX = 2500;
/** Retransmission timeout (Firecracker: 1.2e9 cycles, ~0.3 s) and how many in a row before giving up. */
export const RTO_MS = 300;
export const RTO_COUNT_MAX = 15;
/** Without a segment for this long a connection may be evicted for a new one (Firecracker: ~10 s). */
export const EVICTION_MS = 10_000;
/** Sequence comparisons are valid within this distance (Firecracker's MAX_WINDOW_SIZE). */
const MAX_WINDOW = 1_073_725_440;

export const seqAfter = (a: number, b: number): boolean => a !== b && ((a - b) >>> 0) < MAX_WINDOW;
export const seqAtOrAfter = (a: number, b: number): boolean => ((a - b) >>> 0) < MAX_WINDOW;

/** How to reset the peer of a segment (RFC 9293 §3.10.7.1 "Reset Generation"). */
export interface RstSpec {
  seq: number;
  ack: number;
  flags: number;
}

export function rstFor(s: TcpSegment): RstSpec {
  if (s.flags & TCP_ACK) return { seq: s.ack, ack: 0, flags: TCP_RST };
  const len = s.payload.length + (s.flags & TCP_SYN ? 1 : 0) + (s.flags & TCP_FIN ? 1 : 0);
  return { seq: 0, ack: (s.seq + len) >>> 0, flags: TCP_RST | TCP_ACK };
}

/** How a segment went, for the MMDS counters: taken, taken but odd, or refused. */
export type RecvOutcome = 'ok' | 'unusual' | 'error';

/** Whether a SYN is one a listener accepts: exactly SYN, no data, a sane MSS option if any. */
export function isValidSyn(s: TcpSegment): boolean {
  return s.flags === TCP_SYN && s.payload.length === 0 && s.mss !== null;
}

/** The end of an HTTP/1.x request head in `b[0, len)` (Firecracker's search: "\n\n" or "\n\r\n"), or 0. */
export function requestEnd(b: Uint8Array, len: number): number {
  for (let i = 0; i + 1 < len; i++) {
    if (b[i] !== 10) continue;
    if (b[i + 1] === 10) return i + 2;
    if (i + 2 < len && b[i + 1] === 13 && b[i + 2] === 10) return i + 3;
  }
  return 0;
}

export class TcpEndpoint {
  lastReceived: number;
  private readonly mss: number;
  private sndUna: number;
  private sndNxt: number;
  private sndWndEdge: number;
  private rcvNxt: number;
  private rcvWndEdge: number;
  private synackSent = false;
  private established = false;
  private finSent = false;
  private finAcked = false;
  private isReset = false;
  private rst: RstSpec | null = null;
  private finReceived: number | null = null;
  private sendFin: number | null = null;
  private rtoStart = 0;
  private rtoCount = 0;
  private pendingAck = false;
  private dupAck = false;
  private readonly rbuf = new Uint8Array(RCV_BUF_MAX);
  private rlen = 0;
  private response: Uint8Array | null = null;
  private responseStart = 0;
  private stopReceiving = false;

  /** Opens on a valid SYN (isValidSyn) with initial send sequence `iss`. */
  constructor(syn: TcpSegment, now: number, iss: number) {
    this.mss = syn.mss ?? MSS_DEFAULT;
    this.rcvNxt = (syn.seq + 1) >>> 0;
    this.rcvWndEdge = (this.rcvNxt + RCV_BUF_MAX) >>> 0;
    this.sndUna = iss >>> 0;
    this.sndNxt = (iss + 1) >>> 0;
    this.sndWndEdge = (this.sndNxt + syn.window) >>> 0;
    this.lastReceived = now;
  }

  /** Done: reset, or both FINs exchanged; the handler then forgets it. */
  get isDone(): boolean {
    return this.isReset || (this.finReceived !== null && this.finSent);
  }

  isEvictable(now: number): boolean {
    return now - this.lastReceived > EVICTION_MS;
  }

  /** What an eviction sends the peer. */
  evictionRst(): RstSpec {
    return this.established ? { seq: this.sndNxt, ack: 0, flags: TCP_RST } : { seq: 0, ack: this.rcvNxt, flags: TCP_RST | TCP_ACK };
  }

  /** Whether a segment is due now (a later timeout is in nextTimeout()). */
  get hasSegment(): boolean {
    if (this.isReset) return false;
    if (this.rst || !this.synackSent || this.pendingAck || this.dupAck || this.canSendFirstFin()) return true;
    return this.response !== null && this.established && seqAfter(this.sndWndEdge, this.sndNxt) && seqAfter((this.responseStart + this.response.length) >>> 0, this.sndNxt);
  }

  /** When a retransmission falls due (ms), or Infinity. */
  nextTimeout(): number {
    if (this.isReset || this.sndUna === this.sndNxt) return Infinity;
    return this.rtoStart + RTO_MS;
  }

  receive(s: TcpSegment, now: number, respond: (request: Uint8Array) => Uint8Array): RecvOutcome {
    if (this.stopReceiving) return 'ok';
    this.lastReceived = now;
    if (this.rst || this.isReset) return 'error';
    if (s.flags & TCP_RST) {
      // RFC 9293 §3.10.7.4: an RST counts only if its sequence number is in the window.
      if (seqAtOrAfter(s.seq, this.rcvNxt) && seqAfter(this.rcvWndEdge, s.seq)) this.isReset = true;
      return 'unusual';
    }
    let unusual = false;
    if (!this.synackSent) {
      return this.sameSyn(s) ? 'ok' : this.resetFor(s);
    } else if (!this.established) {
      if (this.sameSyn(s)) {
        // The peer did not get our SYN-ACK: send it again.
        this.synackSent = false;
        return 'ok';
      }
      if (s.flags & TCP_SYN) return this.resetFor(s);
    } else if (s.flags & TCP_SYN) {
      return this.resetFor(s);
    }

    if (s.flags & TCP_ACK) {
      const ack = s.ack;
      if (seqAtOrAfter(ack, this.sndUna) && seqAtOrAfter(this.sndNxt, ack)) {
        this.rtoCount = 0;
        if (ack === this.sndUna && ack !== this.sndNxt) {
          if (!this.established) return this.resetFor(s);
          this.dupAck = true;
          unusual = true;
        } else {
          this.sndUna = ack;
          this.rtoStart = now;
          if (!this.established && this.synackSent) this.established = true;
          if (this.finSent && ack === this.sndNxt) this.finAcked = true;
        }
        if (this.established) {
          const edge = (ack + s.window) >>> 0;
          if (seqAfter(edge, this.sndWndEdge)) this.sndWndEdge = edge;
          else if (edge !== this.sndWndEdge) unusual = true;
        }
      } else {
        unusual = true;
        if (!this.established) return this.resetFor(s);
      }
    }
    if (!this.established) return unusual ? 'unusual' : 'ok';

    const len = s.payload.length;
    let ackIt = false;
    if (len > 0) {
      const end = (s.seq + len) >>> 0;
      if (this.finReceived !== null && !seqAtOrAfter(this.finReceived, end)) return 'unusual';
      if (!seqAtOrAfter(this.rcvWndEdge, end)) return 'unusual';
      if (s.seq !== this.rcvNxt) {
        // Out of order (or a repeat): say where we are.
        this.pendingAck = true;
        return 'unusual';
      }
      this.rbuf.set(s.payload, this.rlen);
      this.rlen += len;
      this.rcvNxt = end;
      ackIt = true;
    }
    if (s.flags & TCP_FIN && this.finReceived === null) {
      const finSeq = (s.seq + len) >>> 0;
      if (finSeq === this.rcvNxt) {
        this.finReceived = finSeq;
        this.rcvNxt = (this.rcvNxt + 1) >>> 0;
        ackIt = true;
      } else unusual = true;
    }
    if (ackIt) this.pendingAck = true;

    if (this.response && this.sndUna === ((this.responseStart + this.response.length) >>> 0)) this.response = null;
    if (!this.response) {
      const end = requestEnd(this.rbuf, this.rlen);
      if (end > 0) {
        this.response = respond(this.rbuf.slice(0, end));
        this.responseStart = this.sndNxt;
        this.rbuf.copyWithin(0, end, this.rlen);
        this.rlen -= end;
        if (this.rcvWndEdge === this.rcvNxt) this.pendingAck = true; // the window reopens: say so
        this.rcvWndEdge = (this.rcvWndEdge + end) >>> 0;
      } else if (this.rlen === RCV_BUF_MAX) {
        // No end of request in the whole buffer: past the limit, so the connection goes.
        this.reset();
        this.stopReceiving = true;
        return 'unusual';
      }
    }
    if (this.finReceived !== null && !this.response && this.sendFin === null) this.sendFin = this.sndNxt;
    return unusual ? 'unusual' : 'ok';
  }

  /** The next segment to send, or null. */
  next(now: number): TcpOut | null {
    if (this.isReset) return null;
    if (this.rst) {
      const r = this.rst;
      this.isReset = true;
      return { srcPort: 0, dstPort: 0, seq: r.seq, ack: r.ack, flags: r.flags, window: this.window() };
    }
    if (!this.synackSent) {
      this.synackSent = true;
      this.rtoStart = now;
      return this.control(TCP_SYN | TCP_ACK, (this.sndNxt - 1) >>> 0);
    }
    if (!this.established) {
      if (!this.rtoExpired(now)) return null;
      if (++this.rtoCount >= RTO_COUNT_MAX) return this.giveUp(now);
      this.rtoStart = now;
      return this.control(TCP_SYN | TCP_ACK, (this.sndNxt - 1) >>> 0);
    }
    const outstanding = this.sndUna !== this.sndNxt;
    if (outstanding && this.rtoExpired(now)) {
      if (++this.rtoCount >= RTO_COUNT_MAX) return this.giveUp(now);
      this.rtoStart = now;
      // Go back to the first unacknowledged byte (or the FIN, if only that is left).
      if (this.sendFin !== null && this.sndUna === this.sendFin) return this.control(TCP_ACK | TCP_FIN, this.sendFin);
      this.dupAck = true;
    }
    if (this.response) {
      const seq = this.dupAck ? this.sndUna : this.sndNxt;
      const respEnd = (this.responseStart + this.response.length) >>> 0;
      const end = seqAtOrAfter(this.sndWndEdge, respEnd) ? respEnd : this.sndWndEdge;
      if (seqAfter(end, seq)) {
        const off = (seq - this.responseStart) >>> 0;
        const n = Math.min((end - seq) >>> 0, this.mss);
        const after = (seq + n) >>> 0;
        this.dupAck = false;
        if (this.sndUna === this.sndNxt) this.rtoStart = now;
        if (seqAfter(after, this.sndNxt)) this.sndNxt = after;
        this.pendingAck = false;
        return { srcPort: 0, dstPort: 0, seq, ack: this.rcvNxt, flags: TCP_ACK, window: this.window(), payload: this.response.subarray(off, off + n) };
      }
    }
    this.dupAck = false;
    if (this.canSendFirstFin()) {
      const fin = this.sendFin!;
      this.finSent = true;
      this.sndNxt = (fin + 1) >>> 0;
      this.rtoStart = now;
      return this.control(TCP_ACK | TCP_FIN, fin);
    }
    if (this.pendingAck) return this.control(TCP_ACK, this.sndNxt);
    return null;
  }

  private control(flags: number, seq: number): TcpOut {
    this.pendingAck = false;
    const out: TcpOut = { srcPort: 0, dstPort: 0, seq, ack: this.rcvNxt, flags, window: this.window() };
    if (flags === (TCP_SYN | TCP_ACK)) out.mss = this.mss;
    return out;
  }

  private giveUp(now: number): TcpOut | null {
    this.reset();
    return this.next(now);
  }

  private canSendFirstFin(): boolean {
    return !this.finSent && this.sendFin !== null && this.sendFin === this.sndUna;
  }

  private rtoExpired(now: number): boolean {
    return now - this.rtoStart >= RTO_MS;
  }

  private window(): number {
    return Math.min(0xffff, (this.rcvWndEdge - this.rcvNxt) >>> 0);
  }

  private sameSyn(s: TcpSegment): boolean {
    return isValidSyn(s) && this.rcvNxt === ((s.seq + 1) >>> 0) && (s.mss ?? MSS_DEFAULT) === this.mss;
  }

  private resetFor(s: TcpSegment): RecvOutcome {
    this.rst ??= rstFor(s);
    this.stopReceiving = true;
    return 'unusual';
  }

  private reset(): void {
    this.rst ??= this.evictionRst();
  }
}
