import type { MmdsDataStore, MmdsVersion } from './data-store.js';
import { MmdsError } from './mmds-error.js';
import type { MmdsMetrics } from './mmds-metrics.js';
import { absPath, HttpRequestError, parseHttpRequest, type HttpRequest, type HttpResponse } from './http-message.js';
import { PATH_TO_TOKEN, type TokenAuthority } from './token-authority.js';

const TOKEN_HEADERS = ['x-metadata-token', 'x-aws-ec2-metadata-token'];
const TTL_HEADERS = ['x-metadata-token-ttl-seconds', 'x-aws-ec2-metadata-token-ttl-seconds'];
const FORWARDED_FOR = 'x-forwarded-for';

/** What the MMDS HTTP server answers from: the store, its version, the token authority, counters. */
export interface MmdsService {
  store: MmdsDataStore;
  version: MmdsVersion;
  tokens: TokenAuthority;
  metrics: MmdsMetrics;
}

function header(req: HttpRequest, names: string[]): [string, string] | undefined {
  for (const [k, v] of req.custom) if (names.includes(k.toLowerCase())) return [k, v];
  return undefined;
}

function plain(req: HttpRequest, status: number, body: string): HttpResponse {
  return { version: req.version, status, contentType: 'text/plain', body };
}

/** Firecracker's sanitize_uri: "//" collapses to "/" until none is left. */
export function sanitizeUri(uri: string): string {
  return uri.replace(/\/{2,}/g, '/');
}

/**
 * The answer to one request's bytes as the MMDS (Firecracker's mmds::convert_to_response, with the
 * endpoint's answers to requests micro_http cannot parse): V2 asks for a session token on GET, V1
 * only counts the ones missing or invalid; PUT is only for the token; other methods get 405.
 */
export function mmdsRespond(svc: MmdsService, bytes: Uint8Array): HttpResponse {
  let req: HttpRequest;
  try {
    req = parseHttpRequest(bytes);
  } catch (e) {
    if (e instanceof HttpRequestError) return { version: 'HTTP/1.1', status: e.status, body: e.message };
    throw e;
  }
  const uri = absPath(req.uri);
  if (uri === '') return plain(req, 400, 'Invalid URI.');
  switch (req.method) {
    case 'GET':
      return svc.version === 'V2' ? getV2(svc, req, uri) : getV1(svc, req, uri);
    case 'PUT':
      return putToken(svc, req, uri);
    default:
      return { ...plain(req, 405, 'Not allowed HTTP method.'), allow: ['GET', 'PUT'] };
  }
}

function getV1(svc: MmdsService, req: HttpRequest, uri: string): HttpResponse {
  const t = header(req, TOKEN_HEADERS);
  if (!t) svc.metrics.rxNoToken++;
  else if (!svc.tokens.isValid(t[1])) svc.metrics.rxInvalidToken++;
  return getValue(svc, req, uri);
}

function getV2(svc: MmdsService, req: HttpRequest, uri: string): HttpResponse {
  const t = header(req, TOKEN_HEADERS);
  if (!t) {
    svc.metrics.rxNoToken++;
    return plain(req, 401, 'No MMDS token provided. Use `X-metadata-token` or `X-aws-ec2-metadata-token` header to specify the session token.');
  }
  if (!svc.tokens.isValid(t[1])) {
    svc.metrics.rxInvalidToken++;
    return plain(req, 401, 'MMDS token not valid.');
  }
  return getValue(svc, req, uri);
}

function getValue(svc: MmdsService, req: HttpRequest, uri: string): HttpResponse {
  try {
    const body = svc.store.get(sanitizeUri(uri), req.accept === 'application/json' ? 'json' : 'imds');
    return { version: req.version, status: 200, contentType: req.accept, body };
  } catch (e) {
    if (!(e instanceof MmdsError)) throw e;
    if (e.code === 'not-found') return plain(req, 404, `Resource not found: ${uri}.`);
    return plain(req, 501, e.message);
  }
}

function putToken(svc: MmdsService, req: HttpRequest, uri: string): HttpResponse {
  const fwd = header(req, [FORWARDED_FOR]);
  if (fwd) return plain(req, 400, `Invalid header. Reason: Unsupported header name. Key: ${fwd[0]}`);
  if (sanitizeUri(uri) !== PATH_TO_TOKEN) return plain(req, 404, `Resource not found: ${uri}.`);
  const ttl = header(req, TTL_HEADERS);
  if (!ttl) {
    return plain(
      req,
      400,
      "Token time to live value not found. Use `X-metadata-token-ttl-seconds` or `X-aws-ec2-metadata-token-ttl-seconds` header to specify the token's lifetime.",
    );
  }
  const [name, value] = ttl;
  // Rust's u32::from_str: decimal digits with an optional '+'.
  if (!/^\+?[0-9]+$/.test(value) || Number(value) > 0xffff_ffff) {
    return plain(req, 400, `Invalid header. Reason: Invalid value. Key:${name}; Value:${value}`);
  }
  const seconds = Number(value);
  try {
    const token = svc.tokens.generate(seconds);
    return { ...plain(req, 200, token), headers: [[name, String(seconds)]] };
  } catch (e) {
    if (e instanceof MmdsError) return plain(req, 400, e.message);
    throw e;
  }
}
