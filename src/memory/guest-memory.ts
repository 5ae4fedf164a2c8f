/**
 * Guest RAM as devices see it (DMA): guest-physical addresses in, bounds-checked bytes out. Addresses
 * are plain numbers (exact up to 2^53, more than any guest-physical address we map). Every access the
 * guest controls goes through `hostOffset`, which refuses ranges that leave RAM or wrap.
 */
export interface GuestMemory {
  /** All of the machine's bytes; RAM is the window that hostOffset() hands out offsets into. */
  readonly bytes: Uint8Array;
  /** Host offset of [gpa, gpa + len) if it lies entirely inside RAM, else -1. */
  hostOffset(gpa: number, len: number): number;
  /** Copies guest RAM at gpa into dst; false (and nothing copied) if the range leaves RAM. */
  read(gpa: number, dst: Uint8Array): boolean;
  /** Copies src into guest RAM at gpa; false (and nothing written) if the range leaves RAM. */
  write(gpa: number, src: Uint8Array): boolean;
  /**
   * Reports bytes a device wrote through `bytes` at host offset `off` (DMA). Translated guest code
   * must learn that its page changed, as it does for the guest's own stores.
   */
  noteWrite(off: number, len: number): void;
}
