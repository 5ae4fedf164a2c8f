/**
 * The one place where errors become HTTP. Every error the API can meet — a request that does not parse
 * (RequestError), an action the VMM refused (VmmActionError), bytes that are not HTTP at all — is
 * answered 400 with Firecracker's body `{"fault_message": "..."}` (firecracker-api.yaml, Error).
 */
import { VmmActionError } from '../vmm/vmm-action-error.js';
import { RequestError } from './request-error.js';

export interface HttpAnswer {
  status: number;
  body?: unknown;
  /** A body already serialized as JSON (GET /mmds keeps serde_json's key order and number text). */
  rawJson?: string;
  /** Extra response headers (e.g. Deprecation). */
  headers?: Record<string, string>;
}

/** micro_http appends this to a protocol-level error: pipelined requests after it are not answered. */
export const DROPPED_SUFFIX = '\nAll previous unanswered requests will be dropped.';

export function faultBody(message: string): { fault_message: string } {
  return { fault_message: message };
}

/** A request or VMM error as an HTTP answer. Anything unexpected is still a 400 with its message. */
export function errorToHttp(err: unknown): HttpAnswer {
  if (err instanceof VmmActionError && err.code === 'MmdsLimitExceeded') return { status: 413, body: faultBody(err.message) };
  if (err instanceof RequestError || err instanceof VmmActionError) return { status: 400, body: faultBody(err.message) };
  const message = err instanceof Error ? err.message : String(err);
  return { status: 400, body: faultBody(`Internal error: ${message}`) };
}

/** Bytes that could not be parsed as an HTTP request (micro_http's ParseError answer). */
export function protocolErrorToHttp(message: string): HttpAnswer {
  return { status: 400, body: faultBody(message + DROPPED_SUFFIX) };
}

/** micro_http refuses an 11th connection with 503 (server.rs MAX_CONNECTIONS). */
export function serverFullToHttp(): HttpAnswer {
  return { status: 503, body: faultBody('Too many open connections') };
}
