/**
 * An incremental HTTP/1.1 request parser for the API socket (RFC 9112), as small and strict as
 * Firecracker's micro_http: request line + headers + a Content-Length body, nothing else (no chunked
 * transfer coding). Bytes go in as they arrive; complete requests come out in order. Everything is
 * bounded: the head by MAX_HEAD_BYTES, the body by the configured payload limit, checked against
 * Content-Length before a single body byte is buffered.
 *
 * A "fatal" error means the byte stream can no longer be split into requests; the connection answers
 * once and closes. Error texts are micro_http's (clients and Firecracker's tests match on them).
 */

export interface HttpRequest {
  method: string;
  /** The request target's path (absolute-form is reduced to its path; the query is dropped). */
  path: string;
  version: 'HTTP/1.0' | 'HTTP/1.1';
  /** Lower-cased names; a repeated header keeps its last value (none that matters may repeat). */
  headers: Map<string, string>;
  /** Present only when Content-Length > 0 (Firecracker's `Option<Body>`). */
  body: Buffer | undefined;
  keepAlive: boolean;
}

export type ParseEvent =
  | { kind: 'request'; request: HttpRequest }
  /** The client sent `Expect: 100-continue` for an acceptable body: answer 100 now (RFC 9110 §10.1.1). */
  | { kind: 'continue' }
  | { kind: 'error'; message: string };

/** micro_http's request line limit is 1024 bytes per line; a whole head of 8 KiB is generous. */
export const MAX_HEAD_BYTES = 8192;
/** Firecracker's default --http-api-max-payload-size. */
export const DEFAULT_MAX_PAYLOAD = 51200;
/**
 * The largest --http-api-max-payload-size wisp takes: a body is held whole in memory, on each of up to
 * ten connections, so the limit bounds the API's memory; 16 MiB is far beyond any configuration body
 * (Firecracker's MMDS data store defaults to 51200 bytes too).
 */
export const MAX_PAYLOAD_LIMIT = 16 << 20;

const CRLF2 = Buffer.from('\r\n\r\n');
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

export class HttpRequestParser {
  private buf: Buffer = Buffer.alloc(0);
  private pending: { request: HttpRequest; remaining: number; chunks: Buffer[] } | undefined;
  private failed = false;

  constructor(private readonly maxPayload: number = DEFAULT_MAX_PAYLOAD) {}

  /** True once a fatal error was reported; further input is ignored. */
  get broken(): boolean {
    return this.failed;
  }

  /** Bytes received and not yet taken by next() (the connection stops reading above a limit). */
  get buffered(): number {
    return this.buf.length;
  }

  /** Part of a request is held (some of its head, or a body still arriving). */
  get midRequest(): boolean {
    return !this.failed && (this.buf.length > 0 || this.pending !== undefined);
  }

  /** Adds received bytes; nothing is parsed until next() asks. */
  feed(chunk: Buffer): void {
    if (this.failed || chunk.length === 0) return;
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
  }

  /**
   * The next complete request, a 100-continue prompt or a fatal error; undefined while more bytes are
   * needed. Pulled one at a time, so a connection parses a request only when it is ready to serve it
   * (pipelined bytes wait as bytes, bounded by the connection's input limit).
   */
  next(): ParseEvent | undefined {
    if (this.failed) return undefined;
    if (this.pending) {
      const take = Math.min(this.pending.remaining, this.buf.length);
      if (take > 0) {
        this.pending.chunks.push(this.buf.subarray(0, take));
        this.pending.remaining -= take;
        this.buf = this.buf.subarray(take);
      }
      if (this.pending.remaining > 0) return undefined;
      const { request, chunks } = this.pending;
      request.body = Buffer.concat(chunks);
      this.pending = undefined;
      return { kind: 'request', request };
    }
    const end = this.buf.indexOf(CRLF2);
    if (end < 0) {
      if (this.buf.length > MAX_HEAD_BYTES) return this.fail('Invalid request.');
      return undefined;
    }
    if (end + 4 > MAX_HEAD_BYTES) return this.fail('Invalid request.');
    const head = this.buf.subarray(0, end).toString('latin1');
    this.buf = this.buf.subarray(end + 4);
    const parsed = this.parseHead(head);
    if (typeof parsed === 'string') return this.fail(parsed);
    const { request, length, expectContinue } = parsed;
    if (length > this.maxPayload) {
      return this.fail(`Request payload with size ${length} is larger than the limit of ${this.maxPayload} allowed by server.`);
    }
    if (length === 0) return { kind: 'request', request };
    this.pending = { request, remaining: length, chunks: [] };
    if (expectContinue && this.buf.length === 0) return { kind: 'continue' };
    return this.next();
  }

  /** feed() and every event that is complete now (tests, and callers that serve everything at once). */
  push(chunk: Buffer): ParseEvent[] {
    this.feed(chunk);
    const events: ParseEvent[] = [];
    for (let e = this.next(); e; e = this.next()) events.push(e);
    return events;
  }

  private fail(message: string): ParseEvent {
    this.failed = true;
    this.buf = Buffer.alloc(0);
    this.pending = undefined;
    return { kind: 'error', message };
  }

  private parseHead(head: string): { request: HttpRequest; length: number; expectContinue: boolean } | string {
    const lines = head.split('\r\n');
    // RFC 9112 §2.2: a server SHOULD ignore at least one empty line before the request line.
    while (lines.length > 1 && lines[0] === '') lines.shift();
    const parts = lines[0]!.split(' ');
    if (parts.length !== 3 || parts.some((p) => p === '')) return 'Invalid request.';
    const [method, target, version] = parts as [string, string, string];
    if (!TOKEN.test(method)) return 'Invalid HTTP Method: Unsupported HTTP method.';
    if (version !== 'HTTP/1.0' && version !== 'HTTP/1.1') return 'Invalid HTTP Version: Unsupported HTTP version.';
    const path = requestPath(target);
    if (path === undefined) return 'Invalid URI: Unsupported URI format.';

    const headers = new Map<string, string>();
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      if (colon <= 0 || !TOKEN.test(line.slice(0, colon))) {
        return `Invalid header. Reason: Header is incorrectly formatted. Key: ${line.slice(0, 64)}`;
      }
      const name = line.slice(0, colon).toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (name === 'content-length' && headers.has(name) && headers.get(name) !== value) {
        return `Invalid header. Reason: Invalid value. Key:Content-Length; Value:${value}`;
      }
      headers.set(name, value);
    }
    const te = headers.get('transfer-encoding');
    if (te !== undefined) return `Invalid header. Reason: Unsupported feature. Key: Transfer-Encoding; Value: ${te}`;
    let length = 0;
    const cl = headers.get('content-length');
    if (cl !== undefined) {
      if (!/^\d{1,15}$/.test(cl)) return `Invalid header. Reason: Invalid value. Key:Content-Length; Value:${cl}`;
      length = Number(cl);
    }
    const conn = (headers.get('connection') ?? '').toLowerCase();
    const keepAlive = version === 'HTTP/1.1' ? !/\bclose\b/.test(conn) : /\bkeep-alive\b/.test(conn);
    const expectContinue = (headers.get('expect') ?? '').toLowerCase() === '100-continue';
    return {
      request: { method, path, version, headers, body: undefined, keepAlive },
      length,
      expectContinue,
    };
  }
}

/** origin-form "/x?y" → "/x"; absolute-form "http://host/x" → "/x"; anything else is refused. */
function requestPath(target: string): string | undefined {
  let t = target;
  const abs = /^https?:\/\/[^/]*/i.exec(t);
  if (abs) t = t.slice(abs[0].length) || '/';
  if (!t.startsWith('/')) return undefined;
  const q = t.search(/[?#]/);
  return q >= 0 ? t.slice(0, q) : t;
}
