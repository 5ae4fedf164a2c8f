import { DRAM_BASE } from '../memory/machine-memory.js';

/**
 * The board's physical memory map: QEMU's `virt` machine layout (DESIGN.md "Guest platform"), so stock
 * kernels find their devices where they expect them. This table is the single source for the bus wiring
 * and for the device tree (fdt/build-fdt.ts): addresses and the tree cannot drift apart.
 */

/** Timebase of `mtime`/`time`: 10 MHz, as QEMU virt (`timebase-frequency` in /cpus). */
export const TIMEBASE_HZ = 10_000_000;

/** Input clock of the ns16550a: QEMU virt advertises 3.6864 MHz (`clock-frequency`), a classic UART crystal. */
export const UART_CLOCK_HZ = 3_686_400;

/** PLIC sources including the reserved source 0 (QEMU virt: VIRT_IRQCHIP_NUM_SOURCES = 96). */
export const PLIC_NUM_SOURCES = 96;
/** Highest valid PLIC source id, advertised as `riscv,ndev`. */
export const PLIC_NDEV = PLIC_NUM_SOURCES - 1;
/** Priority levels 1..7 (QEMU virt: VIRT_IRQCHIP_NUM_PRIO_BITS = 3). */
export const PLIC_PRIORITY_MASK = 0x7;

/** Number of virtio-mmio transport slots; slot n sits at VIRTIO_BASE + n * VIRTIO_STRIDE with IRQ 1 + n. */
export const VIRTIO_SLOT_COUNT = 8;
const VIRTIO_BASE = 0x1000_1000;
const VIRTIO_STRIDE = 0x1000;
const VIRTIO_IRQ_BASE = 1;

export { DRAM_BASE };

export type RegionKind = 'syscon' | 'rtc' | 'clint' | 'plic' | 'uart' | 'virtio' | 'dram';

/** One window of guest-physical space. */
export interface MemoryRegion {
  /** Short name, used for bus ranges and error messages ("uart", "virtio3"). */
  readonly name: string;
  readonly kind: RegionKind;
  readonly base: number;
  readonly size: number;
  /** PLIC source id, when the device interrupts through the PLIC. */
  readonly irq?: number;
  /** Device-tree `compatible`, most specific first. */
  readonly compatible: readonly string[];
  /** Device-tree node name without the unit address ("serial" → serial@10000000). */
  readonly nodeName: string;
}

export const SYSCON: MemoryRegion = {
  name: 'syscon', kind: 'syscon', base: 0x0010_0000, size: 0x1000,
  compatible: ['sifive,test1', 'sifive,test0', 'syscon'], nodeName: 'test',
};
export const RTC: MemoryRegion = {
  name: 'rtc', kind: 'rtc', base: 0x0010_1000, size: 0x1000, irq: 11,
  compatible: ['google,goldfish-rtc'], nodeName: 'rtc',
};
export const CLINT: MemoryRegion = {
  name: 'clint', kind: 'clint', base: 0x0200_0000, size: 0x1_0000,
  compatible: ['sifive,clint0', 'riscv,clint0'], nodeName: 'clint',
};
/** The whole 64 MiB PLIC window of the PLIC spec ("Memory Map"), enough for 15872 contexts. */
export const PLIC: MemoryRegion = {
  name: 'plic', kind: 'plic', base: 0x0C00_0000, size: 0x400_0000,
  compatible: ['sifive,plic-1.0.0', 'riscv,plic0'], nodeName: 'plic',
};
export const UART: MemoryRegion = {
  name: 'uart', kind: 'uart', base: 0x1000_0000, size: 0x100, irq: 10,
  compatible: ['ns16550a'], nodeName: 'serial',
};

/** The virtio-mmio (v2) transport window of slot n (0…7). */
export function virtioSlot(n: number): MemoryRegion {
  if (!Number.isInteger(n) || n < 0 || n >= VIRTIO_SLOT_COUNT) {
    throw new RangeError(`Cannot place virtio-mmio slot ${n}: slots are 0…${VIRTIO_SLOT_COUNT - 1}`);
  }
  return VIRTIO_SLOTS[n]!;
}

const VIRTIO_SLOTS: readonly MemoryRegion[] = Array.from({ length: VIRTIO_SLOT_COUNT }, (_, n) => ({
  name: `virtio${n}`, kind: 'virtio' as const, base: VIRTIO_BASE + n * VIRTIO_STRIDE, size: VIRTIO_STRIDE,
  irq: VIRTIO_IRQ_BASE + n, compatible: ['virtio,mmio'], nodeName: 'virtio_mmio',
}));

/** Every MMIO window of the board, by ascending base (DRAM is not on the MMIO bus; see dramRegion). */
export const MMIO_REGIONS: readonly MemoryRegion[] = [SYSCON, RTC, CLINT, PLIC, UART, ...VIRTIO_SLOTS];

/** DRAM of the given size at DRAM_BASE. */
export function dramRegion(bytes: number): MemoryRegion {
  return { name: 'dram', kind: 'dram', base: DRAM_BASE, size: bytes, compatible: [], nodeName: 'memory' };
}

/** Device-tree unit name of a region: node name @ base in lower-case hex ("serial@10000000"). */
export function unitName(region: MemoryRegion): string {
  return `${region.nodeName}@${region.base.toString(16)}`;
}
