import type { BlockBackend } from './block-backend.js';

/** A disk in a byte array: for tests, and for scratch drives that need no file. */
export class MemoryBlockBackend implements BlockBackend {
  readonly data: Uint8Array;
  flushes = 0;
  discards = 0;

  constructor(sizeOrData: number | Uint8Array) {
    this.data = typeof sizeOrData === 'number' ? new Uint8Array(sizeOrData) : sizeOrData;
  }

  size(): number {
    return this.data.length;
  }

  read(offset: number, dst: Uint8Array): void {
    this.check(offset, dst.length);
    dst.set(this.data.subarray(offset, offset + dst.length));
  }

  write(offset: number, src: Uint8Array): void {
    this.check(offset, src.length);
    this.data.set(src, offset);
  }

  flush(): void {
    this.flushes++;
  }

  discard(offset: number, len: number): void {
    this.check(offset, len);
    this.discards++;
    // Deallocation, in memory: the bytes become zero (any content is allowed after a discard).
    this.data.fill(0, offset, offset + len);
  }

  writeZeroes(offset: number, len: number): void {
    this.check(offset, len);
    this.data.fill(0, offset, offset + len);
  }

  private check(offset: number, len: number): void {
    if (!(offset >= 0 && len >= 0 && offset + len <= this.data.length)) {
      throw new RangeError(`Cannot access ${len} bytes at offset ${offset} of a ${this.data.length}-byte disk`);
    }
  }
}
