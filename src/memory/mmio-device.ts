/**
 * What a memory-mapped device shows the bus. A device sees only offsets into its own window, never
 * guest-physical addresses, and only naturally sized accesses of 1, 2 or 4 bytes: the bus splits an
 * 8-byte access into two 4-byte ones (low word first), as a 32-bit interconnect would.
 *
 * Values are unsigned 32-bit numbers (`>>> 0`). A device must tolerate any offset and size the guest
 * sends: an unknown register reads as 0 and ignores writes (and may count it in a metric).
 */
export interface MmioDevice {
  read(offset: number, size: 1 | 2 | 4): number;
  write(offset: number, size: 1 | 2 | 4, value: number): void;
}
