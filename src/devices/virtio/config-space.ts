/**
 * A device-specific configuration space (§4.2.2, offset 0x100 onward) backed by a little-endian byte
 * array. Virtio config fields are little-endian (§2.5); reads past the end return 0, as for any
 * unknown register (memory/mmio-device.ts).
 */
export class ConfigSpace {
  readonly bytes: Uint8Array;
  private readonly view: DataView;

  constructor(size: number) {
    this.bytes = new Uint8Array(size);
    this.view = new DataView(this.bytes.buffer);
  }

  read(offset: number, size: 1 | 2 | 4): number {
    let v = 0;
    for (let i = size - 1; i >= 0; i--) {
      const o = offset + i;
      v = v * 256 + (o >= 0 && o < this.bytes.length ? this.bytes[o] : 0);
    }
    return v >>> 0;
  }

  setU8(offset: number, v: number): void {
    this.view.setUint8(offset, v);
  }

  setU16(offset: number, v: number): void {
    this.view.setUint16(offset, v, true);
  }

  setU32(offset: number, v: number): void {
    this.view.setUint32(offset, v >>> 0, true);
  }

  /** A 64-bit field from a non-negative integer up to 2^53. */
  setU64(offset: number, v: number): void {
    this.view.setUint32(offset, v % 0x1_0000_0000, true);
    this.view.setUint32(offset + 4, Math.floor(v / 0x1_0000_0000), true);
  }
}
