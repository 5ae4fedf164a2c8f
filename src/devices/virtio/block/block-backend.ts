/**
 * The storage behind a virtio-blk device. Synchronous for now: the machine runs on its own worker
 * (DESIGN.md "Control plane"), so a blocking read stalls only the guest, as a synchronous
 * Firecracker engine does. An asynchronous engine (io_uring-style completions) can come later behind
 * a second interface without changing the device's request parsing.
 *
 * Offsets and lengths are in bytes; the device only ever passes ranges inside [0, size()), already
 * checked against the capacity. Any method may throw on a host I/O error; the device answers the
 * request with VIRTIO_BLK_S_IOERR and counts it.
 */
export interface BlockBackend {
  /** Size of the disk in bytes. */
  size(): number;
  /** Fills dst from the disk at `offset`; bytes past the end of the underlying storage read as 0. */
  read(offset: number, dst: Uint8Array): void;
  write(offset: number, src: Uint8Array): void;
  /** Makes completed writes durable (fsync for a file). */
  flush(): void;
  /** The range's contents no longer matter; a backend may deallocate it or do nothing (§5.2.6.2). */
  discard(offset: number, len: number): void;
  /** The range must read back as zeroes afterwards. */
  writeZeroes(offset: number, len: number): void;
}
