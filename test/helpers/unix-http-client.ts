/**
 * A deliberately dumb HTTP client for API tests: writes raw bytes to the Unix socket and splits what
 * comes back into responses (status line, headers, Content-Length body). It never fixes anything up,
 * so tests see exactly what a client would.
 */
import { connect } from 'node:net';

export interface RawResponse {
  status: number;
  headers: Map<string, string>;
  /** Parsed JSON body, or undefined when there is none. */
  body: unknown;
  rawBody: string;
}

export interface Exchange {
  responses: RawResponse[];
  /** The server closed the connection. */
  closed: boolean;
  /** Bytes received that did not form a complete response. */
  leftover: string;
  /** Interim (1xx) responses received. */
  interim: number;
}

/** Splits a byte stream into complete responses; throws if the bytes are not well-formed HTTP. */
export function splitResponses(data: string): { responses: RawResponse[]; leftover: string; interim: number } {
  const responses: RawResponse[] = [];
  let interim = 0;
  let rest = data;
  for (;;) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) break;
    const [statusLine, ...lines] = rest.slice(0, end).split('\r\n');
    const m = /^HTTP\/1\.1 (\d{3})(?: .*)?$/.exec(statusLine!);
    if (!m) throw new Error(`malformed status line ${JSON.stringify(statusLine)}`);
    const headers = new Map<string, string>();
    for (const l of lines) {
      const c = l.indexOf(':');
      if (c <= 0) throw new Error(`malformed header ${JSON.stringify(l)}`);
      headers.set(l.slice(0, c).toLowerCase(), l.slice(c + 1).trim());
    }
    const len = Number(headers.get('content-length') ?? '0');
    if (rest.length < end + 4 + len) break;
    const rawBody = rest.slice(end + 4, end + 4 + len);
    rest = rest.slice(end + 4 + len);
    const status = Number(m[1]);
    if (status >= 100 && status < 200) {
      interim++;
      continue;
    }
    let body: unknown;
    if (rawBody.length) body = JSON.parse(rawBody);
    responses.push({ status, headers, body, rawBody });
  }
  return { responses, leftover: rest, interim };
}

/**
 * Sends `bytes`, then waits until `expect` responses arrived, the server closed, or `timeoutMs` passed.
 * With `halfClose`, the client ends its side after sending (as `nc -N` does).
 */
export function exchange(socketPath: string, bytes: string | Buffer, opts: { expect?: number; timeoutMs?: number; halfClose?: boolean } = {}): Promise<Exchange> {
  const expect = opts.expect ?? 1;
  return new Promise((resolve, reject) => {
    const s = connect(socketPath);
    let data = '';
    let done = false;
    const finish = (closed: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.destroy();
      try {
        resolve({ ...splitResponses(data), closed });
      } catch (e) {
        reject(e);
      }
    };
    const timer = setTimeout(() => finish(false), opts.timeoutMs ?? 3000);
    s.on('error', () => finish(true));
    s.on('close', () => finish(true));
    s.on('data', (d) => {
      data += d.toString('latin1');
      try {
        if (splitResponses(data).responses.length >= expect) finish(false);
      } catch {
        finish(false);
      }
    });
    s.on('connect', () => {
      s.write(bytes);
      if (opts.halfClose) s.end();
    });
  });
}

/** One well-formed request and its one response. */
export async function request(socketPath: string, method: string, path: string, body?: unknown): Promise<RawResponse> {
  const payload = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
  const head = `${method} ${path} HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n` +
    (payload ? `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(payload)}\r\n` : '') + '\r\n';
  const ex = await exchange(socketPath, head + payload);
  if (ex.responses.length !== 1) throw new Error(`${method} ${path}: expected one response, got ${ex.responses.length} (closed=${ex.closed})`);
  return ex.responses[0]!;
}
