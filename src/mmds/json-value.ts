/**
 * The metadata store's JSON values, as Firecracker's serde_json::Value behaves: objects keep their
 * keys sorted (serde_json's default map is a BTreeMap), integers that fit 64 bits are exact, other
 * numbers are f64 printed the way serde_json prints them (ryu: "1.0", "1e21", "1.5e-7").
 *
 * The representation is plain, structured-cloneable data (it crosses from the API thread to the
 * machine's thread): null, booleans, strings, arrays, a Map for an object and { num } for a number
 * (the number's canonical text), so a number never loses digits on the way.
 */
export type JsonValue = null | boolean | string | JsonNumber | JsonValue[] | JsonObject;
export type JsonObject = Map<string, JsonValue>;
export interface JsonNumber {
  /** Canonical text, as serde_json would print the parsed number. */
  num: string;
}

export function isObject(v: JsonValue): v is JsonObject {
  return v instanceof Map;
}

export function isNumber(v: JsonValue): v is JsonNumber {
  return v !== null && typeof v === 'object' && !(v instanceof Map) && !Array.isArray(v);
}

const U64_MAX = 18446744073709551615n;
const I64_MIN = -9223372036854775808n;

/**
 * A number from its JSON text (RFC 8259 grammar, already checked by the parser), canonical as
 * serde_json: an integer within u64 or i64 stays exact, anything else is an f64.
 */
export function jsonNumber(raw: string): JsonNumber {
  if (/^-?[0-9]+$/.test(raw)) {
    const n = BigInt(raw);
    if (n >= I64_MIN && n <= U64_MAX) return { num: n.toString() };
  }
  return { num: formatF64(Number(raw)) };
}

/** serde_json's f64 output (ryu's "pretty" format): shortest digits, ".0" on integers, exponents past 1e16 / below 1e-5. */
export function formatF64(x: number): string {
  if (!Number.isFinite(x)) return 'null'; // serde_json writes non-finite floats as null.
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const sign = x < 0 ? '-' : '';
  // toExponential() with no argument gives the shortest digits that round-trip, as ryu does.
  const [mant, expText] = Math.abs(x).toExponential().split('e');
  const digits = mant.replace('.', '');
  const exp = Number(expText);
  const length = digits.length;
  const kk = exp + 1; // position of the decimal point relative to the digits
  let out: string;
  if (length <= kk && kk <= 16) out = digits + '0'.repeat(kk - length) + '.0';
  else if (0 < kk && kk <= 16) out = `${digits.slice(0, kk)}.${digits.slice(kk)}`;
  else if (-5 < kk && kk <= 0) out = `0.${'0'.repeat(-kk)}${digits}`;
  else if (length === 1) out = `${digits}e${kk - 1}`;
  else out = `${digits[0]}.${digits.slice(1)}e${kk - 1}`;
  return sign + out;
}

/** Byte order of UTF-8, which is code-point order: what a BTreeMap<String, _> iterates in. */
export function compareKeys(a: string, b: string): number {
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const x = ia.next();
    const y = ib.next();
    if (x.done) return y.done ? 0 : -1;
    if (y.done) return 1;
    const d = x.value.codePointAt(0)! - y.value.codePointAt(0)!;
    if (d !== 0) return d;
  }
}

/** Compact JSON as serde_json::to_string writes it (sorted keys, no spaces). */
export function stringify(v: JsonValue): string {
  const parts: string[] = [];
  write(v, parts);
  return parts.join('');
}

function write(v: JsonValue, out: string[]): void {
  if (v === null) out.push('null');
  else if (typeof v === 'boolean') out.push(v ? 'true' : 'false');
  else if (typeof v === 'string') out.push(JSON.stringify(v));
  else if (Array.isArray(v)) {
    out.push('[');
    v.forEach((x, i) => {
      if (i) out.push(',');
      write(x, out);
    });
    out.push(']');
  } else if (v instanceof Map) {
    out.push('{');
    [...v.keys()].sort(compareKeys).forEach((k, i) => {
      if (i) out.push(',');
      out.push(JSON.stringify(k), ':');
      write(v.get(k)!, out);
    });
    out.push('}');
  } else out.push(v.num);
}

/** RFC 7396 JSON Merge Patch, in place of `target` where it can be; returns the result. */
export function mergePatch(target: JsonValue, patch: JsonValue): JsonValue {
  if (!isObject(patch)) return clone(patch);
  const doc: JsonObject = isObject(target) ? target : new Map();
  for (const [k, v] of patch) {
    if (v === null) doc.delete(k);
    else doc.set(k, mergePatch(doc.get(k) ?? null, v));
  }
  return doc;
}

export function clone(v: JsonValue): JsonValue {
  if (Array.isArray(v)) return v.map(clone);
  if (v instanceof Map) return new Map([...v].map(([k, x]) => [k, clone(x)]));
  if (isNumber(v)) return { num: v.num };
  return v;
}

/**
 * RFC 6901 JSON Pointer lookup as serde_json's Value::pointer: "" is the whole document, otherwise
 * the pointer starts with "/", tokens unescape "~1" → "/" and "~0" → "~", array indexes are decimal
 * without a leading '+' or zero. Undefined when nothing is there.
 */
export function pointer(doc: JsonValue, ptr: string): JsonValue | undefined {
  if (ptr === '') return doc;
  if (!ptr.startsWith('/')) return undefined;
  let cur: JsonValue = doc;
  for (const raw of ptr.slice(1).split('/')) {
    const token = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (isObject(cur)) {
      const next = cur.get(token);
      if (next === undefined) return undefined;
      cur = next;
    } else if (Array.isArray(cur)) {
      if (!/^(0|[1-9][0-9]*)$/.test(token)) return undefined;
      const i = Number(token);
      if (i >= cur.length) return undefined;
      cur = cur[i];
    } else return undefined;
  }
  return cur;
}

/** Converts a plain JS value (tests, JSON.parse output) into a JsonValue; numbers become f64/exact as their text. */
export function fromPlain(v: unknown): JsonValue {
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return v;
  if (typeof v === 'number') return jsonNumber(String(v));
  if (typeof v === 'bigint') return jsonNumber(v.toString());
  if (Array.isArray(v)) return v.map(fromPlain);
  if (typeof v === 'object') return new Map(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, fromPlain(x)]));
  throw new TypeError(`Cannot store ${typeof v} in the metadata store`);
}
