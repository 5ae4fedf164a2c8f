/**
 * One client connection of the API server, with a closed lifecycle: every connection is either kept
 * alive between requests or answered and closed, and every way it can end (the client closes, an
 * answer says `Connection: close`, a request cannot be framed, a timeout, eviction, server shutdown)
 * destroys the socket within a bounded time, so no fd is ever left behind.
 *
 * Requests are pulled from the parser one at a time and answered in order. The next one is parsed
 * only once the previous answer is written and the socket's unsent output is below a limit, and the
 * socket stops being read while too many request bytes wait: a client that pipelines requests without
 * reading the answers holds at most about inputHighWater + outputHighWater bytes of the VMM's memory.
 */
import type { Socket } from 'node:net';
import type { HttpAnswer } from './api-error.js';
import type { HttpRequest, HttpRequestParser } from './http-parser.js';

export interface ConnectionLimits {
  /** A keep-alive connection with nothing pending is closed after this long without a byte. */
  idleTimeoutMs: number;
  /** A request must arrive whole within this long of its first byte (slow or stalled senders). */
  requestTimeoutMs: number;
  /** A connection whose unsent answers do not move for this long (a client that never reads) is closed. */
  writeStallTimeoutMs: number;
  /** Unsent answer bytes above which no further request of this connection is served. */
  outputHighWater: number;
  /** Unparsed request bytes above which the socket is not read (the client's writes then block). */
  inputHighWater: number;
  /** After our last answer, how long the client gets to close its side before the socket is destroyed. */
  lingerMs: number;
}

/** What a connection needs from its server. */
export interface ConnectionHost {
  serve(req: HttpRequest): Promise<HttpAnswer>;
  /** Serializes and counts an answer (api-server.ts encodeAnswer). */
  encode(answer: HttpAnswer, keepAlive: boolean): Buffer;
  /** A fatal protocol error: logged, answered once, then the connection closes. */
  protocolError(message: string): HttpAnswer;
  /** The answer to a request that did not arrive whole in time. */
  requestTimeout(ms: number): HttpAnswer;
  /** The socket is gone (destroyed); the server forgets the connection. */
  gone(conn: ApiConnection): void;
  warn(message: string): void;
}

export class ApiConnection {
  readonly openedAt: number;
  /** When the client last did something we count as progress (bytes in, answers taken, a request served). */
  private quietSince: number;
  /** First byte of a request still being received (when no earlier request is in the way), for the request timeout. */
  private partialSince: number | undefined;
  /** A request is with the VMM. */
  private busy = false;
  /** Our side is ending or ended: nothing more is served, input is discarded. */
  private closing = false;
  private inputEnded = false;
  /** Bytes the client has taken so far (bytesWritten less what is still queued), to see a stalled reader. */
  private delivered = 0;
  private deliveredAt: number;
  private lingerTimer: NodeJS.Timeout | undefined;
  private destroyed = false;

  constructor(
    readonly socket: Socket,
    private readonly parser: HttpRequestParser,
    private readonly limits: ConnectionLimits,
    private readonly host: ConnectionHost,
    now: number,
  ) {
    this.openedAt = now;
    this.quietSince = now;
    this.deliveredAt = now;
    socket.on('error', () => this.destroy());
    socket.on('close', () => this.destroy());
    socket.on('end', () => {
      // The client is done sending: answer what was complete, then close our side too.
      this.inputEnded = true;
      if (this.closing) this.destroy();
      else this.pump();
    });
    socket.on('drain', () => {
      this.noteDelivery(performance.now());
      this.pump();
    });
    socket.on('data', (chunk: Buffer) => {
      if (this.closing) return; // after our last answer, whatever the client still sends is read and dropped
      this.quietSince = performance.now();
      this.parser.feed(chunk);
      this.pump();
    });
  }

  get isClosing(): boolean {
    return this.closing || this.destroyed;
  }

  /**
   * Since when this connection has been of no use to anyone (for eviction): idle, mid-request and
   * slow, or not reading its answers (since they last moved). Undefined while the VMM works on one of
   * its requests: that one is never evicted.
   */
  uselessSince(now: number): number | undefined {
    if (this.busy || this.closing || this.destroyed) return undefined;
    if (this.socket.writableLength > 0) {
      this.noteDelivery(now);
      return this.deliveredAt;
    }
    return this.partialSince ?? this.quietSince;
  }

  /** Records when the client last took some of its answers. */
  private noteDelivery(now: number): void {
    const written = this.socket.bytesWritten - this.socket.writableLength;
    if (written !== this.delivered) {
      this.delivered = written;
      this.deliveredAt = now;
    }
  }

  /** Serves what can be served now, then decides whether to keep reading. */
  private pump(): void {
    while (!this.busy && !this.closing && !this.destroyed && this.socket.writableLength < this.limits.outputHighWater) {
      const ev = this.parser.next();
      if (!ev) break;
      this.partialSince = undefined;
      if (ev.kind === 'continue') {
        this.socket.write('HTTP/1.1 100 Continue\r\n\r\n');
        continue;
      }
      if (ev.kind === 'error') {
        // The byte stream can no longer be split into requests: answer once (the answer says that
        // anything else the client sent is dropped) and close.
        this.finish(this.host.protocolError(ev.message));
        return;
      }
      this.serve(ev.request);
    }
    if (!this.busy && !this.closing && !this.destroyed) {
      if (this.parser.midRequest && this.socket.writableLength < this.limits.outputHighWater) this.partialSince ??= performance.now();
      else this.partialSince = undefined;
      // Nothing more will come: an incomplete request can never complete.
      if (this.inputEnded && this.socket.writableLength < this.limits.outputHighWater) this.finish(undefined);
    }
    this.flow();
  }

  private serve(req: HttpRequest): void {
    this.busy = true;
    void this.host.serve(req).then((answer) => {
      this.busy = false;
      if (this.destroyed) return;
      this.quietSince = performance.now();
      if (!req.keepAlive) {
        this.finish(answer, false);
        return;
      }
      this.socket.write(this.host.encode(answer, true));
      this.pump();
    });
  }

  /** Reads while the unparsed input is small; stops (TCP-style backpressure on the Unix socket) above it. */
  private flow(): void {
    if (this.destroyed) return;
    if (this.closing || this.parser.buffered < this.limits.inputHighWater) this.socket.resume();
    else this.socket.pause();
  }

  /**
   * Our last answer (if any), then our side ends; the socket is destroyed once the client closes too,
   * or after lingerMs (a client that keeps its side open cannot keep the fd).
   */
  finish(last: HttpAnswer | undefined, keepAliveHeader = false): void {
    if (this.closing || this.destroyed) return;
    this.closing = true;
    this.partialSince = undefined;
    if (last) this.socket.write(this.host.encode(last, keepAliveHeader));
    this.socket.end(() => {
      if (this.inputEnded) this.destroy();
      else this.lingerTimer = setTimeout(() => this.destroy(), this.limits.lingerMs).unref();
    });
    this.socket.resume(); // drain the client's bytes so its close is seen and its writes never block
  }

  /** Checks the timeouts (the server calls this every few hundred ms). */
  sweep(now: number): void {
    if (this.destroyed) return;
    this.noteDelivery(now);
    if (this.socket.writableLength > 0) {
      if (now - this.deliveredAt >= this.limits.writeStallTimeoutMs) {
        this.host.warn(`API connection closed: the client left ${this.socket.writableLength} bytes of answers unread for ${Math.round((now - this.deliveredAt) / 1000)} s.`);
        this.destroy();
      }
      return;
    }
    if (this.busy || this.closing) return;
    if (this.partialSince !== undefined) {
      if (now - this.partialSince >= this.limits.requestTimeoutMs) {
        this.host.warn(`API connection closed: a request did not arrive whole within ${this.limits.requestTimeoutMs} ms.`);
        this.finish(this.host.requestTimeout(this.limits.requestTimeoutMs));
      }
      return;
    }
    if (now - this.quietSince >= this.limits.idleTimeoutMs) this.finish(undefined);
  }

  /**
   * Closed to make room for another client (eviction). A half-received request is told why; a client
   * that does not read its answers, or an idle one, is simply closed.
   */
  evict(answer: () => HttpAnswer): void {
    if (this.parser.midRequest && this.socket.writableLength === 0) this.finish(answer());
    else this.destroy();
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.closing = true;
    if (this.lingerTimer) clearTimeout(this.lingerTimer);
    this.socket.destroy();
    this.host.gone(this);
  }
}
