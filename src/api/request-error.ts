/**
 * Why a request never became a VmmAction (Firecracker's `parsed_request.rs` RequestError). The messages
 * are Firecracker's, word for word: clients and Firecracker's own integration tests match on them.
 */
import type { JsonBodyError } from '../vmm/json-body.js';

export type RequestErrorCode = 'EmptyID' | 'InvalidID' | 'InvalidPathMethod' | 'SerdeJson' | 'Generic';

export class RequestError extends Error {
  constructor(
    readonly code: RequestErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'RequestError';
  }

  static emptyId(): RequestError {
    return new RequestError('EmptyID', 'The ID cannot be empty.');
  }
  static invalidId(): RequestError {
    return new RequestError('InvalidID', 'API Resource IDs can only contain alphanumeric characters and underscores.');
  }
  /** `resource` is the first path segment, as Firecracker reports it ("PUT vm", "GET drives"). */
  static invalidPathMethod(method: string, resource: string): RequestError {
    return new RequestError('InvalidPathMethod', `Invalid request method and/or path: ${method} ${resource}.`);
  }
  static serde(err: JsonBodyError): RequestError {
    return new RequestError('SerdeJson', `An error occurred when deserializing the json body of a request: ${err.message}.`, { cause: err });
  }
  static generic(message: string): RequestError {
    return new RequestError('Generic', message);
  }
  static emptyBody(method: 'PUT' | 'PATCH'): RequestError {
    return RequestError.generic(`Empty ${method} request.`);
  }
  static getWithBody(): RequestError {
    return RequestError.generic('GET request cannot have a body.');
  }
  static idMismatch(): RequestError {
    return RequestError.generic('The id from the path does not match the id from the body!');
  }
}
