import type { MmioDevice } from './mmio-device.js';

/** A device's window on the bus. */
export interface BusRange {
  readonly base: number;
  readonly size: number;
  readonly device: MmioDevice;
  readonly name: string;
}

export type BusErrorCode = 'zero-length' | 'overflow' | 'overlap';

export class BusError extends Error {
  constructor(readonly code: BusErrorCode, message: string) {
    super(message);
    this.name = 'BusError';
  }
}

/**
 * The MMIO bus: ranges of guest-physical space (below 4 GiB) mapped to devices. Ranges are checked when
 * added (no zero length, no wrap past 4 GiB, no overlap), so a lookup is a plain search over few entries.
 */
export class Bus {
  private ranges: BusRange[] = [];

  add(name: string, base: number, size: number, device: MmioDevice): void {
    if (size <= 0) throw new BusError('zero-length', `Cannot map "${name}": size must be positive, got ${size}`);
    if (base < 0 || base + size > 0x1_0000_0000) {
      throw new BusError('overflow', `Cannot map "${name}" at 0x${base.toString(16)}: range ends past 4 GiB`);
    }
    for (const r of this.ranges) {
      if (base < r.base + r.size && r.base < base + size) {
        throw new BusError('overlap', `Cannot map "${name}" at 0x${base.toString(16)}: it overlaps "${r.name}"`);
      }
    }
    this.ranges.push({ base, size, device, name });
    this.ranges.sort((a, b) => a.base - b.base);
  }

  /** The range holding the guest-physical address (lo 32 bits; hi must be 0), or undefined. */
  find(addr: number): BusRange | undefined {
    for (const r of this.ranges) {
      if (addr >= r.base && addr < r.base + r.size) return r;
    }
    return undefined;
  }

  list(): readonly BusRange[] {
    return this.ranges;
  }
}
