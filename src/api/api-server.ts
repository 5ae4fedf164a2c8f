/**
 * Firecracker's API server: HTTP/1.1 on a Unix socket, keep-alive, requests on one connection answered
 * in order, every request turned into one VmmAction (routes.ts) and handed to the VMM, every outcome
 * turned into 204 / 200 + JSON / 400 + fault_message (api-response.ts, api-error.ts). The API never
 * touches the machine; it only talks to its backend (the controller).
 */
import { existsSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from '../logger/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import type { VmmAction, VmmData } from '../vmm/actions.js';
import { errorToHttp, protocolErrorToHttp, serverFullToHttp, type HttpAnswer } from './api-error.js';
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
}

/** micro_http server.rs MAX_CONNECTIONS. */
export const MAX_CONNECTIONS = 10;

const REASON: Record<number, string> = { 100: 'Continue', 200: 'OK', 204: 'No Content', 400: 'Bad Request', 413: 'Payload Too Large', 503: 'Service Unavailable' };
const ORIGIN = 'api_server';

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
  private readonly sockets = new Set<Socket>();
  /** Answers given, by status (for tests and the shutdown log). */
  readonly answered = new Map<number, number>();

  constructor(private readonly opts: ApiServerOptions) {}

  /** Binds the socket; fails if the path exists (as Firecracker does: remove a stale socket first). */
  async listen(): Promise<void> {
    if (existsSync(this.opts.socketPath)) {
      throw new Error(`Failed to open the API socket at ${this.opts.socketPath}: the path already exists`);
    }
    // allowHalfOpen: a client that shuts down its sending side after a request still gets its answer.
    const server = createServer({ allowHalfOpen: true }, (s) => this.onConnection(s));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.socketPath, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => this.opts.logger.error(ORIGIN, `API server error: ${err.message}`));
    this.server = server;
    this.opts.logger.info(ORIGIN, 'API server started.');
  }

  /** Stops accepting, closes open connections and removes the socket file. */
  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }

  private onConnection(socket: Socket): void {
    if (this.sockets.size >= MAX_CONNECTIONS) {
      socket.on('error', () => undefined);
      socket.end(encodeAnswer(serverFullToHttp(), false));
      return;
    }
    this.sockets.add(socket);
    const parser = new HttpRequestParser(this.opts.maxPayload ?? DEFAULT_MAX_PAYLOAD);
    // Requests on one connection are answered strictly in order, one after the other.
    let chain: Promise<void> = Promise.resolve();
    let closing = false;
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('end', () => {
      // The client is done sending: answer what was complete, then close our side too.
      closing = true;
      chain = chain.then(() => void socket.end());
    });
    socket.on('data', (chunk: Buffer) => {
      if (closing) return; // after a fatal error the rest of the stream is discarded
      for (const ev of parser.push(chunk)) {
        if (ev.kind === 'continue') {
          chain = chain.then(() => void socket.write('HTTP/1.1 100 Continue\r\n\r\n'));
        } else if (ev.kind === 'error') {
          closing = true;
          this.opts.logger.error(ORIGIN, `API Server error on retrieving incoming request: ${ev.message}`);
          chain = chain.then(() => {
            this.send(socket, protocolErrorToHttp(ev.message), false);
            // Half-close: the client still reads the answer; whatever it keeps sending is ignored.
            socket.end();
          });
        } else {
          const req = ev.request;
          chain = chain.then(async () => {
            const answer = await this.serve(req);
            if (socket.destroyed) return;
            this.send(socket, answer, req.keepAlive);
            if (!req.keepAlive) {
              closing = true;
              socket.end();
            }
          });
        }
      }
    });
  }

  private send(socket: Socket, answer: HttpAnswer, keepAlive: boolean): void {
    this.answered.set(answer.status, (this.answered.get(answer.status) ?? 0) + 1);
    if (!socket.destroyed) socket.write(encodeAnswer(answer, keepAlive));
  }

  /** One request → one answer. Never throws. */
  async serve(req: HttpRequest): Promise<HttpAnswer> {
    const { logger, metrics, backend } = this.opts;
    const started = performance.now();
    const method = req.method;
    logger.info(ORIGIN, describe(req));
    if (!API_METHODS.includes(method)) {
      // micro_http refuses other methods while parsing; the request is still framed, so the connection lives on.
      return this.fail(protocolErrorToHttp('Invalid HTTP Method: Unsupported HTTP method.'));
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
