/**
 * A growable byte buffer with the LEB128 writers of the wasm binary format (Core 2.0 §5.2.2
 * "Integers"). Meant to be reused: `reset()` keeps the storage, so steady-state encoding allocates
 * nothing. 64-bit constants can be written from an int32 pair (no BigInt on the hot path).
 */
export class ByteWriter {
  private buf: Uint8Array<ArrayBuffer>;
  /** Number of bytes written; the next write goes here. */
  length = 0;

  constructor(initialCapacity = 256) {
    this.buf = new Uint8Array(Math.max(16, initialCapacity));
  }

  reset(): void {
    this.length = 0;
  }

  /** The written bytes as a view on the internal buffer, valid until the next write or reset. */
  view(): Uint8Array<ArrayBuffer> {
    return this.buf.subarray(0, this.length);
  }

  /** A copy of the written bytes that the caller owns. */
  toBytes(): Uint8Array<ArrayBuffer> {
    return this.buf.slice(0, this.length);
  }

  /** Makes room for `n` more bytes (doubling, so appends are amortised O(1)). */
  private ensure(n: number): void {
    const need = this.length + n;
    if (need <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < need) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }

  u8(b: number): void {
    if (this.length === this.buf.length) this.ensure(1);
    this.buf[this.length++] = b;
  }

  bytes(src: Uint8Array): void {
    this.ensure(src.length);
    this.buf.set(src, this.length);
    this.length += src.length;
  }

  /** Unsigned LEB128 of a value in [0, 2^32). */
  u32(v: number): void {
    this.ensure(5);
    const buf = this.buf;
    let p = this.length;
    v >>>= 0;
    while (v >= 0x80) {
      buf[p++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    buf[p++] = v;
    this.length = p;
  }

  /** Signed LEB128 of an int32 (the argument is taken modulo 2^32, as `v | 0`). */
  s32(v: number): void {
    this.ensure(5);
    const buf = this.buf;
    let p = this.length;
    v |= 0;
    for (;;) {
      const b = v & 0x7f;
      v >>= 7;
      // Done once the remaining bits are all copies of the sign bit just written (bit 6 of b).
      if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) {
        buf[p++] = b;
        break;
      }
      buf[p++] = b | 0x80;
    }
    this.length = p;
  }

  /** Signed LEB128 of the 64-bit value hi:lo (each taken modulo 2^32). */
  s64(lo: number, hi: number): void {
    lo |= 0;
    hi |= 0;
    if (hi === lo >> 31) {
      this.s32(lo); // fits in 32 bits: same encoding
      return;
    }
    this.ensure(10);
    const buf = this.buf;
    let p = this.length;
    for (;;) {
      const b = lo & 0x7f;
      // Arithmetic shift right by 7 across the pair.
      lo = (lo >>> 7) | (hi << 25);
      hi >>= 7;
      if ((hi === 0 && lo === 0 && (b & 0x40) === 0) || (hi === -1 && lo === -1 && (b & 0x40) !== 0)) {
        buf[p++] = b;
        break;
      }
      buf[p++] = b | 0x80;
    }
    this.length = p;
  }

  /**
   * Reserves a 5-byte unsigned LEB128 slot for a size that is known only later, and returns its
   * position for `patchU32`. A padded LEB128 is valid as long as it has at most ceil(32/7) = 5 bytes
   * (§5.2.2), and it saves moving the bytes that follow.
   */
  reserveU32(): number {
    this.ensure(5);
    const at = this.length;
    this.length += 5;
    return at;
  }

  patchU32(at: number, v: number): void {
    const buf = this.buf;
    buf[at] = (v & 0x7f) | 0x80;
    buf[at + 1] = ((v >>> 7) & 0x7f) | 0x80;
    buf[at + 2] = ((v >>> 14) & 0x7f) | 0x80;
    buf[at + 3] = ((v >>> 21) & 0x7f) | 0x80;
    buf[at + 4] = (v >>> 28) & 0x0f;
  }

  private static readonly scratch = new DataView(new ArrayBuffer(8));

  /** IEEE 754 binary32, little-endian (§5.2.3). */
  f32(v: number): void {
    ByteWriter.scratch.setFloat32(0, v, true);
    this.rawFrom(4);
  }

  /** IEEE 754 binary64, little-endian (§5.2.3). */
  f64(v: number): void {
    ByteWriter.scratch.setFloat64(0, v, true);
    this.rawFrom(8);
  }

  /** binary32 from its raw bits (keeps NaN payloads exact, which a JS number may not). */
  f32Bits(bits: number): void {
    ByteWriter.scratch.setUint32(0, bits >>> 0, true);
    this.rawFrom(4);
  }

  /** binary64 from its raw bits as a lo/hi pair. */
  f64Bits(lo: number, hi: number): void {
    ByteWriter.scratch.setUint32(0, lo >>> 0, true);
    ByteWriter.scratch.setUint32(4, hi >>> 0, true);
    this.rawFrom(8);
  }

  private rawFrom(n: number): void {
    this.ensure(n);
    const s = ByteWriter.scratch;
    for (let i = 0; i < n; i++) this.buf[this.length++] = s.getUint8(i);
  }

  /** A wasm `name`: u32 byte length then UTF-8 (§5.2.4). */
  name(s: string): void {
    // ASCII is what the JIT uses; keep it copy-free and fall back to TextEncoder otherwise.
    let ascii = true;
    for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) { ascii = false; break; }
    if (ascii) {
      this.u32(s.length);
      this.ensure(s.length);
      for (let i = 0; i < s.length; i++) this.buf[this.length++] = s.charCodeAt(i);
    } else {
      const enc = new TextEncoder().encode(s);
      this.u32(enc.length);
      this.bytes(enc);
    }
  }
}
