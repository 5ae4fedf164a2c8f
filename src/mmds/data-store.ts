import { MmdsError } from './mmds-error.js';
import { clone, compareKeys, isObject, mergePatch, pointer, stringify, type JsonValue } from './json-value.js';

/** Firecracker's default: the API's maximum payload size (--http-api-max-payload-size), 51200 bytes. */
export const DEFAULT_MMDS_SIZE_LIMIT = 51200;

export type MmdsVersion = 'V1' | 'V2';
/** How a GET is answered: JSON, or EC2 IMDS plain text (keys one per line, "/" after objects). */
export type OutputFormat = 'json' | 'imds';

/**
 * The metadata store (Firecracker's Mmds): one JSON document, replaced by PUT and merged by PATCH
 * (RFC 7396), never larger than its limit once serialized (a write past it is refused and changes
 * nothing), read by JSON pointer in JSON or IMDS format.
 */
export class MmdsDataStore {
  private data: JsonValue = null;
  private initialized = false;

  constructor(
    readonly limit: number = DEFAULT_MMDS_SIZE_LIMIT,
    /** EC2 IMDS compatibility: every GET answers in IMDS format, whatever Accept says. */
    public imdsCompat = false,
  ) {}

  get isInitialized(): boolean {
    return this.initialized;
  }

  /** The whole document (a copy). */
  get value(): JsonValue {
    return clone(this.data);
  }

  put(v: JsonValue): void {
    if (serializedSize(v) > this.limit) throw new MmdsError('limit-exceeded');
    this.data = clone(v);
    this.initialized = true;
  }

  patch(p: JsonValue): void {
    if (!this.initialized) throw new MmdsError('not-initialized');
    const next = mergePatch(clone(this.data), p);
    if (serializedSize(next) > this.limit) throw new MmdsError('limit-exceeded');
    this.data = next;
  }

  /** Replaces the document without the size check (the API thread already made it). */
  replace(v: JsonValue, initialized: boolean): void {
    this.data = v;
    this.initialized = initialized;
  }

  /**
   * The value at `path` (a JSON pointer; a trailing "/" is ignored) in the given format. Throws
   * not-found, or unsupported-value-type for IMDS output of anything but an object or a string.
   */
  get(path: string, format: OutputFormat): string {
    const v = pointer(this.data, path.endsWith('/') ? path.slice(0, -1) : path);
    if (v === undefined) throw new MmdsError('not-found');
    return this.imdsCompat || format === 'imds' ? formatImds(v) : stringify(v);
  }
}

/** EC2 IMDS text: an object lists its keys one per line (objects with a trailing "/"); a string is itself. */
export function formatImds(v: JsonValue): string {
  if (isObject(v)) {
    return [...v.keys()]
      .sort(compareKeys)
      .map((k) => (isObject(v.get(k)!) ? `${k}/` : k))
      .join('\n');
  }
  if (typeof v === 'string') return v;
  throw new MmdsError('unsupported-value-type');
}

/** Bytes of the compact JSON (serde_json::to_vec's length), what the limit is about. */
export function serializedSize(v: JsonValue): number {
  return Buffer.byteLength(stringify(v));
}
