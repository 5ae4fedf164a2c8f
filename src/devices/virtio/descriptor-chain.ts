/**
 * One request popped from a split virtqueue (virtio 1.2 §2.7.5): the head index the device hands back
 * in the used ring, and the chain's buffers split into what the device may read and what it may write.
 * Every buffer was bounds-checked against guest RAM when the chain was parsed (queue.ts), so the
 * cursors below index `bytes` without further checks and can never reach past a buffer the guest gave.
 *
 * §2.7.4 "Message Framing": a device must not assume any particular arrangement of descriptors, so
 * devices see each direction as one byte stream, not as descriptors.
 */

/** Why a chain was refused; each is counted in QueueMetrics and the chain is returned with len 0. */
export type ChainErrorCode =
  | 'next-out-of-range'
  | 'chain-too-long'
  | 'address-out-of-ram'
  | 'indirect-not-negotiated'
  | 'nested-indirect'
  | 'indirect-with-next'
  | 'indirect-bad-length';

export const CHAIN_ERROR_CODES: readonly ChainErrorCode[] = [
  'next-out-of-range',
  'chain-too-long',
  'address-out-of-ram',
  'indirect-not-negotiated',
  'nested-indirect',
  'indirect-with-next',
  'indirect-bad-length',
];

/** A buffer as a host offset into GuestMemory.bytes (already checked to lie inside RAM) and a length. */
export interface Segment {
  readonly off: number;
  readonly len: number;
}

/** A forward-only cursor over one direction's segments. */
export class BufferCursor {
  readonly total: number;
  private seg = 0;
  private pos = 0;
  private done = 0;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly segments: readonly Segment[],
    /** For a device-writable cursor: told of every span handed out (the device may write it). */
    private readonly written: ((off: number, len: number) => void) | null = null,
  ) {
    let t = 0;
    for (const s of segments) t += s.len;
    this.total = t;
  }

  /** Bytes consumed so far. */
  get consumed(): number {
    return this.done;
  }

  get remaining(): number {
    return this.total - this.done;
  }

  /**
   * Walks the next `n` bytes (fewer if the stream ends) as views into guest memory, zero-copy, and
   * advances past them. Returns the number of bytes walked.
   */
  spans(n: number, fn: (view: Uint8Array, streamPos: number) => void): number {
    let left = Math.min(n, this.remaining);
    const walked = left;
    while (left > 0) {
      const s = this.segments[this.seg];
      const avail = s.len - this.pos;
      if (avail === 0) {
        this.seg++;
        this.pos = 0;
        continue;
      }
      const k = Math.min(avail, left);
      fn(this.bytes.subarray(s.off + this.pos, s.off + this.pos + k), this.done);
      this.written?.(s.off + this.pos, k);
      this.pos += k;
      this.done += k;
      left -= k;
    }
    return walked;
  }

  /** Copies the next bytes into dst; returns how many were available. */
  read(dst: Uint8Array): number {
    let at = 0;
    return this.spans(dst.length, (v) => {
      dst.set(v, at);
      at += v.length;
    });
  }

  /** Copies src into the next bytes; returns how many fit. */
  write(src: Uint8Array): number {
    let at = 0;
    return this.spans(src.length, (v) => {
      v.set(src.subarray(at, at + v.length));
      at += v.length;
    });
  }

  /** Zero-fills the next n bytes; returns how many there were. */
  zero(n: number): number {
    return this.spans(n, (v) => v.fill(0));
  }

  /** Advances without touching memory. */
  skip(n: number): number {
    const k = Math.min(n, this.remaining);
    return this.spans(k, () => {});
  }
}

export class DescriptorChain {
  /** Set if the chain was malformed: no buffers are exposed and the device must return it with len 0. */
  readonly error: ChainErrorCode | null;

  constructor(
    /** Head descriptor index: the id the device writes into the used ring. */
    readonly head: number,
    private readonly bytes: Uint8Array,
    readonly readable: readonly Segment[],
    readonly writable: readonly Segment[],
    error: ChainErrorCode | null = null,
    /** GuestMemory.noteWrite: what the device writes must be reported (see BufferCursor). */
    private readonly noteWrite: ((off: number, len: number) => void) | null = null,
  ) {
    this.error = error;
  }

  static invalid(head: number, bytes: Uint8Array, error: ChainErrorCode): DescriptorChain {
    return new DescriptorChain(head, bytes, [], [], error);
  }

  /** The device-readable (driver → device) bytes. */
  reader(): BufferCursor {
    return new BufferCursor(this.bytes, this.readable);
  }

  /** The device-writable (device → driver) bytes. */
  writer(): BufferCursor {
    return new BufferCursor(this.bytes, this.writable, this.noteWrite);
  }
}
