/**
 * Firecracker's API server: HTTP/1.1 on a Unix socket, keep-alive, requests on one connection answered
 * in order, every request turned into one VmmAction (routes.ts) and handed to the VMM, every outcome
 * turned into 204 / 200 + JSON / 400 + fault_message (api-response.ts, api-error.ts). The API never
 * touches the machine; it only talks to its backend (the controller).
 *
 * Hostile or careless clients (api-connection.ts holds the per-connection rules): every connection
 * ends with its socket destroyed; idle, slow and non-reading clients are timed out; unsent answers
 * and unparsed requests per connection are bounded. At most MAX_CONNECTIONS are served at once, as in
 * micro_http, but a full table does not lock everybody out: a newcomer takes the place of the
 * connection that has been of no use the longest (idle, mid-request and slow, or not reading its
 * answers) for at least limits.evictAfterMs; only when every connection has a request with the VMM
 * or is being served right now does the newcomer get micro_http's 503, after which its socket is
 * closed too.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from '../logger/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import { checkUnixSocketPath, HostFileError } from '../util/host-file.js';
import type { VmmAction, VmmData } from '../vmm/actions.js';
import { ApiConnection, type ConnectionLimits } from './api-connection.js';
import { errorToHttp, faultBody, protocolErrorToHttp, serverFullToHttp, type HttpAnswer } from './api-error.js';
import { dataToHttp } from './api-response.js';
import { DEFAULT_MAX_PAYLOAD, HttpRequestParser, type HttpRequest } from './http-parser.js';
import { API_METHODS, parseRequest, type ApiMethod } from './routes.js';

/** What the API needs from the VMM: apply one action (rejecting with VmmActionError). */
export interface ApiBackend {
  handle(action: VmmAction): Promise<VmmData>;
}

export interface ApiServerOptions {
  socketPath: string;
  backend: ApiBackend;
  logger: Logger;
  metrics: Metrics;
  /** --http-api-max-payload-size (bytes). */
  maxPayload?: number;
  /** Connection limits and timeouts (tests shorten them); DEFAULT_LIMITS otherwise. */
  limits?: Partial<ApiServerLimits>;
}

/** micro_http server.rs MAX_CONNECTIONS. */
export const MAX_CONNECTIONS = 10;

export interface ApiServerLimits extends ConnectionLimits {
  maxConnections: number;
  /** A connection must have been idle (or stuck mid-request) this long before a newcomer may take its place. */
  evictAfterMs: number;
}

/**
 * Generous for real clients (SDKs send a request in one write and read the answer at once; the Go
 * SDK's own idle timeout is 90 s), short enough that stuck clients give their slot and fd back.
 */
export const DEFAULT_LIMITS: ApiServerLimits = {
  maxConnections: MAX_CONNECTIONS,
  idleTimeoutMs: 120_000,
  requestTimeoutMs: 30_000,
  writeStallTimeoutMs: 30_000,
  outputHighWater: 64 * 1024,
  inputHighWater: 64 * 1024,
  lingerMs: 2_000,
  evictAfterMs: 1_000,
};

const REASON: Record<number, string> = {
  100: 'Continue', 200: 'OK', 204: 'No Content', 400: 'Bad Request', 408: 'Request Timeout', 413: 'Payload Too Large', 503: 'Service Unavailable',
};
const ORIGIN = 'api_server';
/** A turned-away socket is destroyed this long after its 503 at the latest. */
const REFUSE_LINGER_MS = 1_000;

/** Serializes an answer (Firecracker's header set: Server, Connection, Content-Type, Content-Length). */
export function encodeAnswer(a: HttpAnswer, keepAlive: boolean): Buffer {
  const lines = [`HTTP/1.1 ${a.status} ${REASON[a.status] ?? ''}`, 'Server: Firecracker API', `Connection: ${keepAlive ? 'keep-alive' : 'close'}`];
  for (const [k, v] of Object.entries(a.headers ?? {})) lines.push(`${k}: ${v}`);
  let body = '';
  if (a.body !== undefined || a.rawJson !== undefined) {
    body = a.rawJson ?? JSON.stringify(a.body);
    lines.push('Content-Type: application/json', `Content-Length: ${Buffer.byteLength(body)}`);
  } else if (a.status !== 204) {
    lines.push('Content-Length: 0');
  }
  return Buffer.from(lines.join('\r\n') + '\r\n\r\n' + body);
}

export class ApiServer {
  private server: Server | undefined;
  /** Connections being served (at most limits.maxConnections). */
  private readonly connections = new Set<ApiConnection>();
  /** Every socket not yet destroyed, served or not (closing, turned away): close() ends them all. */
  private readonly sockets = new Set<Socket>();
  private sweeper: NodeJS.Timeout | undefined;
  private readonly limits: ApiServerLimits;
  /** Answers given, by status (for tests and the shutdown log). */
  readonly answered = new Map<number, number>();
  /** Connections accepted, turned away with 503, and evicted to make room (for tests and the soak). */
  readonly counts = { accepted: 0, refused: 0, evicted: 0 };

  constructor(private readonly opts: ApiServerOptions) {
    this.limits = { ...DEFAULT_LIMITS, ...opts.limits };
  }

  /** Sockets open right now (served, closing or being turned away). */
  get openSockets(): number {
    return this.sockets.size;
  }

  /**
   * Binds the socket; fails if the path exists (as Firecracker does: remove a stale socket first), is
   * longer than sun_path holds, or its directory is missing.
   */
  async listen(): Promise<void> {
    const path = this.opts.socketPath;
    try {
      checkUnixSocketPath(path, 'bind', 'API socket');
    } catch (err) {
      if (err instanceof HostFileError) throw new Error(`Failed to open the API socket at ${path}: ${err.message}`, { cause: err });
      throw err;
    }
    // allowHalfOpen: a client that shuts down its sending side after a request still gets its answer.
    const server = createServer({ allowHalfOpen: true }, (s) => this.onConnection(s));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => this.opts.logger.error(ORIGIN, `API server error: ${err.message}`));
    this.server = server;
    const l = this.limits;
    const tick = Math.max(10, Math.min(1000, l.idleTimeoutMs / 4, l.requestTimeoutMs / 4, l.writeStallTimeoutMs / 4));
    this.sweeper = setInterval(() => this.sweep(), tick).unref();
    this.opts.logger.info(ORIGIN, 'API server started.');
  }

  /** Stops accepting, closes every open connection and removes the socket file. */
  async close(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
    for (const c of [...this.connections]) c.destroy();
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }

  private onConnection(socket: Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    if (this.connections.size >= this.limits.maxConnections && !this.evictOne()) {
      this.refuse(socket);
      return;
    }
    this.counts.accepted++;
    const parser = new HttpRequestParser(this.opts.maxPayload ?? DEFAULT_MAX_PAYLOAD);
    const conn = new ApiConnection(socket, parser, this.limits, {
      serve: (req) => this.serve(req),
      encode: (answer, keepAlive) => this.encode(answer, keepAlive),
      protocolError: (message) => {
        this.opts.logger.error(ORIGIN, `API Server error on retrieving incoming request: ${message}`);
        return protocolErrorToHttp(message);
      },
      requestTimeout: (ms) => this.fail({ status: 408, body: faultBody(`Request timed out: the request did not arrive whole within ${ms / 1000} s.`) }),
      gone: (c) => this.connections.delete(c),
      warn: (message) => this.opts.logger.warn(ORIGIN, message),
    }, performance.now());
    this.connections.add(conn);
  }

  /** Makes room by closing the connection that has been of no use the longest, if one qualifies. */
  private evictOne(): boolean {
    const now = performance.now();
    let victim: ApiConnection | undefined;
    let since = Infinity;
    for (const c of this.connections) {
      const t = c.uselessSince(now);
      if (t === undefined || now - t < this.limits.evictAfterMs) continue;
      if (t < since) {
        victim = c;
        since = t;
      }
    }
    if (!victim) return false;
    this.counts.evicted++;
    this.connections.delete(victim);
    this.opts.logger.warn(ORIGIN, `Too many open connections: closed one of no use for ${Math.round(now - since)} ms to serve a new one.`);
    victim.evict(() => this.fail(serverFullToHttp()));
    return true;
  }

  /** micro_http's 503 for a connection beyond the limit, then the socket is closed (and never leaked). */
  private refuse(socket: Socket): void {
    this.counts.refused++;
    socket.on('error', () => socket.destroy());
    socket.resume(); // read and drop what it sends, so its close is seen and nothing piles up
    socket.end(this.encode(serverFullToHttp(), false), () => socket.destroy());
    setTimeout(() => socket.destroy(), REFUSE_LINGER_MS).unref();
  }

  private sweep(): void {
    const now = performance.now();
    for (const c of this.connections) c.sweep(now);
  }

  private encode(answer: HttpAnswer, keepAlive: boolean): Buffer {
    this.answered.set(answer.status, (this.answered.get(answer.status) ?? 0) + 1);
    return encodeAnswer(answer, keepAlive);
  }

  /** One request → one answer. Never throws. */
  async serve(req: HttpRequest): Promise<HttpAnswer> {
    const { logger, metrics, backend } = this.opts;
    const started = performance.now();
    const method = req.method;
    logger.info(ORIGIN, describe(req));
    if (!API_METHODS.includes(method)) {
      // micro_http's words, without its "All previous unanswered requests will be dropped": the request
      // is framed, nothing is dropped, and the connection goes on with the next request.
      return this.fail({ status: 400, body: faultBody('Invalid HTTP Method: Unsupported HTTP method.') });
    }
    let parsed;
    try {
      parsed = parseRequest(method as ApiMethod, req.path, req.body, metrics);
    } catch (err) {
      return this.fail(errorToHttp(err));
    }
    try {
      const data = await backend.handle(parsed.action);
      const answer = dataToHttp(data);
      if (parsed.action.type === 'Pause' || parsed.action.type === 'Resume') {
        const us = Math.round((performance.now() - started) * 1000);
        metrics.latencies_us[parsed.action.type === 'Pause' ? 'pause_vm' : 'resume_vm'].set(us);
        logger.info(ORIGIN, `'${parsed.action.type === 'Pause' ? 'pause vm' : 'resume vm'}' API request took ${us} us.`);
      }
      if (parsed.deprecation) {
        metrics.deprecated_api.deprecated_http_api_calls.inc();
        logger.warn(ORIGIN, parsed.deprecation);
        answer.headers = { ...answer.headers, Deprecation: 'true' };
      }
      logger.info(ORIGIN, `The request was executed successfully. Status code: ${answer.status} ${REASON[answer.status]}.`);
      return answer;
    } catch (err) {
      parsed.fails?.inc();
      metrics.api_server.sync_response_fails.inc();
      return this.fail(errorToHttp(err));
    }
  }

  private fail(answer: HttpAnswer): HttpAnswer {
    const msg = (answer.body as { fault_message?: string } | undefined)?.fault_message ?? '';
    this.opts.logger.error(ORIGIN, `Received Error. Status code: ${answer.status} ${REASON[answer.status]}. Message: ${msg}`);
    return answer;
  }
}

/** Firecracker's log line for an incoming request (the body is shown except for /mmds). */
function describe(req: HttpRequest): string {
  const m = req.method.charAt(0) + req.method.slice(1).toLowerCase();
  if (!req.body || req.path === '/mmds') return `The API server received a ${m} request on ${JSON.stringify(req.path)}.`;
  return `The API server received a ${m} request on ${JSON.stringify(req.path)} with body ${JSON.stringify(req.body.toString('utf8'))}.`;
}
