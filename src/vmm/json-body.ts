/**
 * Request bodies and config files as Firecracker reads them: a JSON parser that remembers where every
 * token ends, and small typed decoders whose errors read like serde_json's (Firecracker's clients match
 * on them: "unknown field `x`, expected one of `a`, `b` at line 1 column 12"). Guest- or user-supplied
 * JSON never throws anything but a JsonBodyError.
 *
 * Positions follow serde_json: line is 1-based, column counts the characters consumed on that line
 * (so an error on the first character of a value is "column N" where N is that character's 1-based
 * column). Semantic errors are reported after the whole document has parsed, so a document that is both
 * syntactically broken and semantically wrong reports the syntax error first (serde streams, and could
 * report the semantic one first); the messages themselves are the same.
 */

export interface JsonPos {
  line: number;
  column: number;
}

export type JsonNode =
  | { kind: 'null'; start: JsonPos; end: JsonPos }
  | { kind: 'bool'; value: boolean; start: JsonPos; end: JsonPos }
  | { kind: 'number'; raw: string; start: JsonPos; end: JsonPos }
  | { kind: 'string'; value: string; start: JsonPos; end: JsonPos }
  | { kind: 'array'; items: JsonNode[]; start: JsonPos; end: JsonPos }
  | { kind: 'object'; entries: JsonEntry[]; start: JsonPos; end: JsonPos };

export interface JsonEntry {
  key: string;
  keyEnd: JsonPos;
  value: JsonNode;
}

export class JsonBodyError extends Error {
  constructor(
    readonly detail: string,
    readonly pos: JsonPos | undefined,
  ) {
    super(pos ? `${detail} at line ${pos.line} column ${pos.column}` : detail);
    this.name = 'JsonBodyError';
  }
}

/** serde_json's recursion limit; a hostile body of nested brackets must not blow the JS stack. */
const MAX_DEPTH = 128;

class Parser {
  private i = 0;
  private line = 1;
  private col = 0;
  private depth = 0;

  constructor(private readonly s: string) {}

  /** Position after the last consumed character. */
  private here(): JsonPos {
    return { line: this.line, column: this.col };
  }
  /** Position of the next character (serde's peek_error). */
  private peekPos(): JsonPos {
    return { line: this.line, column: this.col + 1 };
  }
  private fail(msg: string, pos: JsonPos): never {
    throw new JsonBodyError(msg, pos);
  }
  private next(): string {
    const c = this.s[this.i++]!;
    if (c === '\n') {
      this.line++;
      this.col = 0;
    } else {
      this.col++;
    }
    return c;
  }
  private skipWs(): void {
    while (this.i < this.s.length) {
      const c = this.s[this.i];
      if (c === ' ' || c === '\t' || c === '\n' || c === '\r') this.next();
      else break;
    }
  }

  document(): JsonNode {
    this.skipWs();
    const v = this.value('EOF while parsing a value');
    this.skipWs();
    if (this.i < this.s.length) this.fail('trailing characters', this.peekPos());
    return v;
  }

  private value(eofMsg: string): JsonNode {
    if (this.i >= this.s.length) this.fail(eofMsg, this.here());
    const start = this.peekPos();
    const c = this.s[this.i]!;
    switch (c) {
      case 'n':
        this.ident('null');
        return { kind: 'null', start, end: this.here() };
      case 't':
        this.ident('true');
        return { kind: 'bool', value: true, start, end: this.here() };
      case 'f':
        this.ident('false');
        return { kind: 'bool', value: false, start, end: this.here() };
      case '"': {
        this.next();
        const value = this.string();
        return { kind: 'string', value, start, end: this.here() };
      }
      case '[':
        return this.array(start);
      case '{':
        return this.object(start);
      default:
        if (c === '-' || (c >= '0' && c <= '9')) return this.number(start);
        return this.fail('expected value', this.peekPos());
    }
  }

  private ident(word: string): void {
    for (const ch of word) {
      if (this.i >= this.s.length) this.fail('EOF while parsing a value', this.here());
      if (this.s[this.i] !== ch) this.fail('expected ident', this.peekPos());
      this.next();
    }
  }

  private number(start: JsonPos): JsonNode {
    const from = this.i;
    if (this.s[this.i] === '-') this.next();
    const digits = (): number => {
      let n = 0;
      while (this.i < this.s.length && this.s[this.i]! >= '0' && this.s[this.i]! <= '9') {
        this.next();
        n++;
      }
      return n;
    };
    if (this.i >= this.s.length) this.fail('EOF while parsing a value', this.here());
    if (this.s[this.i] === '0') {
      this.next();
      // RFC 8259 §6: no leading zeros.
      if (this.i < this.s.length && this.s[this.i]! >= '0' && this.s[this.i]! <= '9') this.fail('invalid number', this.peekPos());
    } else if (digits() === 0) {
      this.fail('invalid number', this.peekPos());
    }
    if (this.s[this.i] === '.') {
      this.next();
      if (digits() === 0) this.fail(this.i >= this.s.length ? 'EOF while parsing a value' : 'invalid number', this.peekPos());
    }
    if (this.s[this.i] === 'e' || this.s[this.i] === 'E') {
      this.next();
      if (this.s[this.i] === '+' || this.s[this.i] === '-') this.next();
      if (digits() === 0) this.fail(this.i >= this.s.length ? 'EOF while parsing a value' : 'invalid number', this.peekPos());
    }
    const raw = this.s.slice(from, this.i);
    if (!Number.isFinite(Number(raw))) this.fail('number out of range', this.here());
    return { kind: 'number', raw, start, end: this.here() };
  }

  private string(): string {
    let out = '';
    for (;;) {
      if (this.i >= this.s.length) this.fail('EOF while parsing a string', this.here());
      const c = this.next();
      if (c === '"') return out;
      if (c === '\\') {
        if (this.i >= this.s.length) this.fail('EOF while parsing a string', this.here());
        const e = this.next();
        switch (e) {
          case '"': out += '"'; break;
          case '\\': out += '\\'; break;
          case '/': out += '/'; break;
          case 'b': out += '\b'; break;
          case 'f': out += '\f'; break;
          case 'n': out += '\n'; break;
          case 'r': out += '\r'; break;
          case 't': out += '\t'; break;
          case 'u': {
            const cu = this.hex4();
            if (cu >= 0xd800 && cu < 0xdc00) {
              // A leading surrogate must be followed by an escaped trailing one (RFC 8259 §7).
              if (this.s[this.i] !== '\\' || this.s[this.i + 1] !== 'u') {
                this.fail('lone leading surrogate in hex escape', this.here());
              }
              this.next();
              this.next();
              const lo = this.hex4();
              if (lo < 0xdc00 || lo > 0xdfff) this.fail('lone leading surrogate in hex escape', this.here());
              out += String.fromCharCode(cu, lo);
            } else if (cu >= 0xdc00 && cu <= 0xdfff) {
              this.fail('lone leading surrogate in hex escape', this.here());
            } else {
              out += String.fromCharCode(cu);
            }
            break;
          }
          default:
            this.fail('invalid escape', this.here());
        }
      } else if (c < ' ') {
        this.fail('control character (\\u0000-\\u001F) found while parsing a string', this.here());
      } else {
        out += c;
      }
    }
  }

  private hex4(): number {
    let v = 0;
    for (let k = 0; k < 4; k++) {
      if (this.i >= this.s.length) this.fail('EOF while parsing a string', this.here());
      const d = parseInt(this.next(), 16);
      if (Number.isNaN(d)) this.fail('invalid escape', this.here());
      v = v * 16 + d;
    }
    return v;
  }

  private enter(): void {
    if (++this.depth > MAX_DEPTH) this.fail('recursion limit exceeded', this.here());
  }

  private array(start: JsonPos): JsonNode {
    this.enter();
    this.next(); // [
    const items: JsonNode[] = [];
    this.skipWs();
    if (this.s[this.i] === ']') {
      this.next();
      this.depth--;
      return { kind: 'array', items, start, end: this.here() };
    }
    for (;;) {
      this.skipWs();
      items.push(this.value('EOF while parsing a list'));
      this.skipWs();
      if (this.i >= this.s.length) this.fail('EOF while parsing a list', this.here());
      const c = this.s[this.i];
      if (c === ',') {
        this.next();
        this.skipWs();
        if (this.s[this.i] === ']') this.fail('trailing comma', this.peekPos());
        continue;
      }
      if (c === ']') {
        this.next();
        this.depth--;
        return { kind: 'array', items, start, end: this.here() };
      }
      this.fail('expected `,` or `]`', this.peekPos());
    }
  }

  private object(start: JsonPos): JsonNode {
    this.enter();
    this.next(); // {
    const entries: JsonEntry[] = [];
    this.skipWs();
    if (this.s[this.i] === '}') {
      this.next();
      this.depth--;
      return { kind: 'object', entries, start, end: this.here() };
    }
    for (;;) {
      this.skipWs();
      if (this.i >= this.s.length) this.fail('EOF while parsing an object', this.here());
      if (this.s[this.i] !== '"') this.fail('key must be a string', this.peekPos());
      this.next();
      const key = this.string();
      const keyEnd = this.here();
      this.skipWs();
      if (this.i >= this.s.length) this.fail('EOF while parsing an object', this.here());
      if (this.s[this.i] !== ':') this.fail('expected `:`', this.peekPos());
      this.next();
      this.skipWs();
      const value = this.value('EOF while parsing a value');
      entries.push({ key, keyEnd, value });
      this.skipWs();
      if (this.i >= this.s.length) this.fail('EOF while parsing an object', this.here());
      const c = this.s[this.i];
      if (c === ',') {
        this.next();
        this.skipWs();
        if (this.s[this.i] === '}') this.fail('trailing comma', this.peekPos());
        continue;
      }
      if (c === '}') {
        this.next();
        this.depth--;
        return { kind: 'object', entries, start, end: this.here() };
      }
      this.fail('expected `,` or `}`', this.peekPos());
    }
  }
}

/** Parses JSON text (or UTF-8 bytes) into position-annotated nodes. */
export function parseJson(input: string | Uint8Array): JsonNode {
  let text: string;
  if (typeof input === 'string') {
    text = input;
  } else {
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(input);
    } catch {
      throw new JsonBodyError('invalid unicode code point', invalidUtf8Position(input));
    }
  }
  return new Parser(text).document();
}

/**
 * Where the first byte that is not UTF-8 sits, in this parser's positions: the line, and the column of
 * that byte counting the characters before it on its line (so "{\"a\":\"\xff\"}" is column 7).
 */
function invalidUtf8Position(bytes: Uint8Array): JsonPos {
  // The longest valid prefix: decode ever shorter prefixes is quadratic, so step over well-formed
  // sequences by hand (RFC 3629 §4) and stop at the first that is not.
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    const len = b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    if (len === 0 || i + len > bytes.length) break;
    if (len > 1 && !isValidSequence(bytes, i, len)) break;
    i += len;
  }
  const prefix = new TextDecoder('utf-8').decode(bytes.subarray(0, i));
  const nl = prefix.lastIndexOf('\n');
  const line = 1 + (prefix.match(/\n/g)?.length ?? 0);
  return { line, column: prefix.length - (nl + 1) + 1 };
}

function isValidSequence(b: Uint8Array, i: number, len: number): boolean {
  const c = (k: number) => b[i + k]! >= 0x80 && b[i + k]! <= 0xbf;
  for (let k = 1; k < len; k++) if (!c(k)) return false;
  const b0 = b[i]!, b1 = b[i + 1]!;
  if (len === 3) {
    if (b0 === 0xe0 && b1 < 0xa0) return false; // overlong
    if (b0 === 0xed && b1 > 0x9f) return false; // surrogates
  }
  if (len === 4) {
    if (b0 === 0xf0 && b1 < 0x90) return false; // overlong
    if (b0 === 0xf4 && b1 > 0x8f) return false; // beyond U+10FFFF
  }
  return true;
}

/** Turns a node back into a plain JS value (numbers as JS numbers). */
export function toPlain(node: JsonNode): unknown {
  switch (node.kind) {
    case 'null': return null;
    case 'bool': return node.value;
    case 'number': return Number(node.raw);
    case 'string': return node.value;
    case 'array': return node.items.map(toPlain);
    case 'object': {
      const o: Record<string, unknown> = {};
      for (const e of node.entries) o[e.key] = toPlain(e.value);
      return o;
    }
  }
}

// ---- decoders ---------------------------------------------------------------------------------------

/** A decoder turns one node into a typed value or throws JsonBodyError. */
export type Decoder<T> = (node: JsonNode) => T;

/** serde's `Unexpected` wording for what was found. */
function unexpected(node: JsonNode): string {
  switch (node.kind) {
    case 'null': return 'null';
    case 'bool': return `boolean \`${node.value}\``;
    case 'number': {
      if (/^-?\d+$/.test(node.raw)) return `integer \`${node.raw}\``;
      const v = Number(node.raw);
      return `floating point \`${Number.isInteger(v) ? v.toFixed(1) : String(v)}\``;
    }
    case 'string': return `string ${JSON.stringify(node.value)}`;
    case 'array': return 'sequence';
    case 'object': return 'map';
  }
}

function invalidType(node: JsonNode, expected: string): never {
  // serde_json reports a mismatched scalar after consuming it, and a container where it starts.
  const pos = node.kind === 'array' || node.kind === 'object' ? node.start : node.end;
  throw new JsonBodyError(`invalid type: ${unexpected(node)}, expected ${expected}`, pos);
}

/** serde's one_of formatting of the alternatives. */
function oneOf(names: readonly string[], none: string): string {
  const q = names.map((n) => `\`${n}\``);
  if (q.length === 0) return none;
  if (q.length === 1) return `expected ${q[0]}`;
  if (q.length === 2) return `expected ${q[0]} or ${q[1]}`;
  return `expected one of ${q.join(', ')}`;
}

export const str: Decoder<string> = (n) => (n.kind === 'string' ? n.value : invalidType(n, 'a string'));
export const bool: Decoder<boolean> = (n) => (n.kind === 'bool' ? n.value : invalidType(n, 'a boolean'));

const UINT_MAX: Record<string, bigint> = {
  u8: 0xffn,
  u16: 0xffffn,
  u32: 0xffff_ffffn,
  u64: 0xffff_ffff_ffff_ffffn,
  usize: 0xffff_ffff_ffff_ffffn,
};

/**
 * An unsigned integer of the named Rust type, exactly: JS numbers hold integers exactly only up to
 * 2^53 - 1, so a larger value (valid for a u64 in Firecracker) is refused with its digits rather than
 * rounded (2^53 + 1 must not come back as 2^53).
 */
export function uint(type: 'u8' | 'u16' | 'u32' | 'u64' | 'usize'): Decoder<number> {
  return (n) => {
    if (n.kind !== 'number' || !/^-?\d+$/.test(n.raw)) {
      // serde_json parses an integer beyond u64 as a float.
      return invalidType(n, type);
    }
    const v = BigInt(n.raw);
    if (v < 0n || v > UINT_MAX[type]!) {
      if (v > 0xffff_ffff_ffff_ffffn) {
        // serde_json reads an integer beyond u64 as an f64, which serde shows with a trailing ".0".
        throw new JsonBodyError(`invalid type: floating point \`${BigInt(Number(n.raw))}.0\`, expected ${type}`, n.end);
      }
      throw new JsonBodyError(`invalid value: integer \`${n.raw}\`, expected ${type}`, n.end);
    }
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new JsonBodyError(`invalid value: integer \`${n.raw}\`, expected ${type} of at most ${Number.MAX_SAFE_INTEGER} (2^53 - 1, the largest wisp holds exactly)`, n.end);
    }
    return Number(v);
  };
}

/** A unit-variant enum written as a string. */
export function enumOf<const V extends string>(variants: readonly V[]): Decoder<V> {
  return (n) => {
    if (n.kind !== 'string') {
      // serde_json's deserialize_enum peeks for `"` or `{` and otherwise reports this.
      if (n.kind === 'object') return invalidType(n, 'unit variant');
      throw new JsonBodyError('expected ident', n.start);
    }
    if (!(variants as readonly string[]).includes(n.value)) {
      throw new JsonBodyError(`unknown variant \`${n.value}\`, ${oneOf(variants, 'there are no variants')}`, n.end);
    }
    return n.value as V;
  };
}

export function arrayOf<T>(item: Decoder<T>): Decoder<T[]> {
  return (n) => (n.kind === 'array' ? n.items.map(item) : invalidType(n, 'a sequence'));
}

/** A JSON object mapping strings to strings (serde's HashMap<String, String>). */
export const stringMap: Decoder<Record<string, string>> = (n) => {
  if (n.kind !== 'object') return invalidType(n, 'a map');
  const out: Record<string, string> = {};
  for (const e of n.entries) out[e.key] = str(e.value);
  return out;
};

/** Any JSON value (serde_json::Value). */
export const anyValue: Decoder<unknown> = (n) => toPlain(n);

interface FieldSpec<T> {
  decode: Decoder<T>;
  optional: boolean;
}

/** A field that must be present. */
export function req<T>(decode: Decoder<T>): FieldSpec<T> {
  return { decode, optional: false };
}
/** A field that may be absent or null (serde's Option<T> / #[serde(default)]). */
export function opt<T>(decode: Decoder<T>): FieldSpec<T | undefined> {
  return { decode: (n) => (n.kind === 'null' ? undefined : decode(n)), optional: true };
}

type Shape = Record<string, FieldSpec<unknown>>;
type Decoded<S extends Shape> = {
  [K in keyof S as undefined extends ReturnType<S[K]['decode']> ? never : K]: ReturnType<S[K]['decode']>;
} & {
  [K in keyof S as undefined extends ReturnType<S[K]['decode']> ? K : never]?: ReturnType<S[K]['decode']>;
};

/**
 * A struct with `#[serde(deny_unknown_fields)]`, as every Firecracker request body is: fields are read in
 * document order (so the first unknown or ill-typed field is the one reported), then missing required
 * fields are reported in declaration order at the closing brace.
 */
export function struct<S extends Shape>(name: string, shape: S, opts: { allowUnknown?: boolean } = {}): Decoder<Decoded<S>> {
  const names = Object.keys(shape);
  return (n) => {
    if (n.kind !== 'object') return invalidType(n, `struct ${name}`);
    const out: Record<string, unknown> = {};
    const seen = new Set<string>();
    for (const e of n.entries) {
      const spec = Object.prototype.hasOwnProperty.call(shape, e.key) ? shape[e.key] : undefined;
      if (!spec) {
        if (opts.allowUnknown) continue;
        throw new JsonBodyError(`unknown field \`${e.key}\`, ${oneOf(names, 'there are no fields')}`, e.keyEnd);
      }
      if (seen.has(e.key)) throw new JsonBodyError(`duplicate field \`${e.key}\``, e.keyEnd);
      seen.add(e.key);
      const v = spec.decode(e.value);
      if (v !== undefined) out[e.key] = v;
    }
    for (const k of names) {
      if (!seen.has(k) && !shape[k]!.optional) throw new JsonBodyError(`missing field \`${k}\``, n.end);
    }
    return out as Decoded<S>;
  };
}

/** Parses and decodes in one step. */
export function decodeJson<T>(input: string | Uint8Array, decoder: Decoder<T>): T {
  return decoder(parseJson(input));
}
