/**
 * HTTP/1.x as Firecracker's MMDS speaks it (its micro_http crate): the request parser's rules and
 * messages, and the response bytes ("HTTP/1.1 200 \r\nServer: Firecracker API\r\nConnection:
 * keep-alive\r\n..."). A guest's curl sees exactly what it would see on Firecracker. The input is
 * bounded by the caller (the TCP endpoint keeps at most 2500 bytes per request).
 */

export type HttpMethod = 'GET' | 'PUT' | 'PATCH' | 'DELETE';
export type HttpVersion = 'HTTP/1.0' | 'HTTP/1.1';
export type MediaType = 'text/plain' | 'application/json';

export interface HttpRequest {
  method: HttpMethod;
  uri: string;
  version: HttpVersion;
  /** From Accept: text/plain unless the request asked for application/json. */
  accept: MediaType;
  /** Headers micro_http does not know itself, trimmed, as sent (first-seen spelling of each name). */
  custom: Map<string, string>;
  body: Uint8Array | null;
}

/** micro_http's RequestError, with its Display text and the status MMDS answers it with. */
export class HttpRequestError extends Error {
  constructor(
    message: string,
    readonly status: 400 | 413 | 501,
  ) {
    super(message);
    this.name = 'HttpRequestError';
  }
}

const invalidRequest = (): HttpRequestError => new HttpRequestError('Invalid request.', 400);
const headerError = (reason: string): HttpRequestError => new HttpRequestError(`Invalid header. Reason: ${reason}`, 400);

function find(b: Uint8Array, seq: number[], from = 0): number {
  outer: for (let i = from; i + seq.length <= b.length; i++) {
    for (let j = 0; j < seq.length; j++) if (b[i + j] !== seq[j]) continue outer;
    return i - from;
  }
  return -1;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
function decodeUtf8(b: Uint8Array): string | null {
  try {
    return utf8.decode(b);
  } catch {
    return null;
  }
}

/** micro_http's Request::try_from (without a size limit: the endpoint bounds the bytes). */
export function parseHttpRequest(bytes: Uint8Array): HttpRequest {
  const lineEnd = find(bytes, [13, 10]);
  if (lineEnd < 0) throw invalidRequest();
  // "GET" + SP + 1-char URI + SP + "HTTP/1.0": the shortest request line there is.
  if (lineEnd < 3 + 1 + 8 + 2) throw invalidRequest();
  const line = bytes.subarray(0, lineEnd);
  const sp1 = line.indexOf(32);
  if (sp1 < 0) throw invalidRequest();
  const sp2rel = line.subarray(sp1 + 1).indexOf(32);
  if (sp2rel < 0) throw invalidRequest();
  const methodBytes = line.subarray(0, sp1);
  const uriBytes = line.subarray(sp1 + 1, sp1 + 1 + sp2rel);
  const versionBytes = line.subarray(sp1 + 2 + sp2rel);
  const methodText = Buffer.from(methodBytes).toString('latin1');
  if (!['GET', 'PUT', 'PATCH', 'DELETE'].includes(methodText)) throw new HttpRequestError('Invalid HTTP Method: Unsupported HTTP method.', 501);
  const method = methodText as HttpMethod;
  if (uriBytes.length === 0) throw new HttpRequestError('Invalid URI: Empty URI not allowed.', 400);
  const uri = decodeUtf8(uriBytes);
  if (uri === null) throw new HttpRequestError('Invalid URI: Cannot parse URI as UTF-8.', 400);
  const versionText = Buffer.from(versionBytes).toString('latin1');
  if (versionText !== 'HTTP/1.0' && versionText !== 'HTTP/1.1') throw new HttpRequestError('Invalid HTTP Version: Unsupported HTTP version.', 501);
  const req: HttpRequest = { method, uri, version: versionText, accept: 'text/plain', custom: new Map(), body: null };

  const rest = bytes.subarray(lineEnd);
  const headersEnd = find(rest, [13, 10, 13, 10]);
  if (headersEnd === 0) return req;
  if (headersEnd < 0) throw invalidRequest();
  const headerBytes = rest.subarray(2, headersEnd);
  const text = decodeUtf8(headerBytes);
  if (text === null) throw invalidRequest();
  let contentLength = 0;
  for (const h of text.split('\r\n')) {
    if (h === '') break;
    const colon = h.indexOf(':');
    if (colon < 0) throw headerError(`Header is incorrectly formatted. Key: ${h}`);
    const rawName = h.slice(0, colon);
    const rawValue = h.slice(colon + 1);
    const value = rawValue.trim();
    switch (rawName.trim().toLowerCase()) {
      case 'content-length':
        if (!/^\+?[0-9]+$/.test(value) || Number(value) > 0xffff_ffff) throw headerError(`Invalid value. Key:${rawName}; Value:${rawValue}`);
        contentLength = Number(value);
        break;
      case 'accept':
        // An Accept micro_http does not know (curl's "*/*") leaves the default, text/plain.
        if (value === 'text/plain' || value === 'application/json') req.accept = value;
        break;
      case 'accept-encoding': {
        if (value === '') throw invalidRequest();
        for (const enc of value.split(',')) {
          const e = enc.trim();
          if (e === 'identity;q=0' || (e === '*;q=0' && !value.includes('identity'))) {
            throw headerError(`Invalid value. Key:Accept-Encoding; Value:${enc}`);
          }
        }
        break;
      }
      case 'content-type':
      case 'transfer-encoding':
      case 'expect':
      case 'server':
        // Values micro_http does not support are skipped, like the headers it knows are.
        break;
      default:
        if (!req.custom.has(rawName.trim())) req.custom.set(rawName.trim(), value);
    }
  }
  if (contentLength > 0) {
    if (method === 'GET' || method === 'DELETE') throw invalidRequest();
    const body = rest.subarray(headersEnd + 4);
    if (body.length !== contentLength) throw invalidRequest();
    req.body = body;
  }
  return req;
}

/**
 * The request's absolute path as micro_http's Uri::get_abs_path sees it: "http://host/p" → "/p",
 * "/p" → "/p", anything else → "".
 */
export function absPath(uri: string): string {
  if (uri.startsWith('http://')) {
    const rest = uri.slice(7);
    const slash = rest.indexOf('/');
    return slash < 0 ? '' : rest.slice(slash);
  }
  return uri.startsWith('/') ? uri : '';
}

export interface HttpResponse {
  version: HttpVersion;
  status: number;
  /** Content-Type; micro_http's default is application/json. */
  contentType?: MediaType;
  /** Methods for an Allow header (405). */
  allow?: HttpMethod[];
  /** Extra headers, in order. */
  headers?: [string, string][];
  body: string;
}

/** micro_http's Response::write_all: status line with a trailing space and no reason phrase. */
export function responseBytes(r: HttpResponse): Buffer {
  const body = Buffer.from(r.body);
  let head = `${r.version} ${r.status} \r\nServer: Firecracker API\r\nConnection: keep-alive\r\n`;
  if (r.allow && r.allow.length > 0) head += `Allow: ${r.allow.join(', ')}\r\n`;
  for (const [k, v] of r.headers ?? []) head += `${k}: ${v}\r\n`;
  head += `Content-Type: ${r.contentType ?? 'application/json'}\r\nContent-Length: ${body.length}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
}
