/**
 * Where the bytes of a lazily restored guest RAM come from: a snapshot's memory file, read page by
 * page as the guest first touches each one (machine-memory.ts `attachSource`). The memory layer only
 * asks for bytes; opening and reading the file is the host side's business (snapshot/).
 */
export interface PageSource {
  /**
   * Copies `len` bytes of guest RAM starting at RAM offset `ramOffset` into `dst` at `dstOffset`.
   * Throws (with a message naming the file) if the bytes cannot be had: the machine then stops,
   * as a real machine would on an uncorrectable memory error.
   */
  read(ramOffset: number, dst: Uint8Array, dstOffset: number, len: number): void;
  /** Releases the source once every page has been read (or the machine ends). */
  close(): void;
}
