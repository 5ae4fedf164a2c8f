/**
 * Constants of the virtio specification v1.2 (OASIS, "virtio-v1.2-csd01"), in one place so every
 * device and the transport read the same numbers. Section numbers cite that document.
 */

/** 2.1 Device Status Field. */
export const STATUS_ACKNOWLEDGE = 1;
export const STATUS_DRIVER = 2;
export const STATUS_DRIVER_OK = 4;
export const STATUS_FEATURES_OK = 8;
export const STATUS_DEVICE_NEEDS_RESET = 64;
export const STATUS_FAILED = 128;

/** 6 Reserved Feature Bits (device-independent). Features are 64-bit: bigint, never on a hot path. */
export const F_INDIRECT_DESC = 1n << 28n;
export const F_EVENT_IDX = 1n << 29n;
export const F_VERSION_1 = 1n << 32n;
export const F_ACCESS_PLATFORM = 1n << 33n;
export const F_RING_PACKED = 1n << 34n;

/** 5 Device Types: the Device ID in the MMIO DeviceID register. 0 means "no device" (4.2.2). */
export const DEVICE_ID_NONE = 0;
export const DEVICE_ID_NET = 1;
export const DEVICE_ID_BLOCK = 2;
export const DEVICE_ID_CONSOLE = 3;
export const DEVICE_ID_ENTROPY = 4;
export const DEVICE_ID_BALLOON = 5;
export const DEVICE_ID_VSOCK = 19;

/** 4.2.2 MMIO Device Register Layout (version 2, "non-legacy"). Offsets in bytes. */
export const MMIO_MAGIC_VALUE = 0x000;
export const MMIO_VERSION = 0x004;
export const MMIO_DEVICE_ID = 0x008;
export const MMIO_VENDOR_ID = 0x00c;
export const MMIO_DEVICE_FEATURES = 0x010;
export const MMIO_DEVICE_FEATURES_SEL = 0x014;
export const MMIO_DRIVER_FEATURES = 0x020;
export const MMIO_DRIVER_FEATURES_SEL = 0x024;
export const MMIO_QUEUE_SEL = 0x030;
export const MMIO_QUEUE_NUM_MAX = 0x034;
export const MMIO_QUEUE_NUM = 0x038;
export const MMIO_QUEUE_READY = 0x044;
export const MMIO_QUEUE_NOTIFY = 0x050;
export const MMIO_INTERRUPT_STATUS = 0x060;
export const MMIO_INTERRUPT_ACK = 0x064;
export const MMIO_STATUS = 0x070;
export const MMIO_QUEUE_DESC_LOW = 0x080;
export const MMIO_QUEUE_DESC_HIGH = 0x084;
export const MMIO_QUEUE_DRIVER_LOW = 0x090;
export const MMIO_QUEUE_DRIVER_HIGH = 0x094;
export const MMIO_QUEUE_DEVICE_LOW = 0x0a0;
export const MMIO_QUEUE_DEVICE_HIGH = 0x0a4;
export const MMIO_SHM_SEL = 0x0ac;
export const MMIO_SHM_LEN_LOW = 0x0b0;
export const MMIO_SHM_LEN_HIGH = 0x0b4;
export const MMIO_SHM_BASE_LOW = 0x0b8;
export const MMIO_SHM_BASE_HIGH = 0x0bc;
export const MMIO_QUEUE_RESET = 0x0c0;
export const MMIO_CONFIG_GENERATION = 0x0fc;
export const MMIO_CONFIG = 0x100;
/** "virt" in little-endian ASCII. */
export const MMIO_MAGIC = 0x74726976;
export const MMIO_VERSION_2 = 2;
/** 4.2.2: the size of one virtio-mmio window as the platform maps it (DESIGN.md memory map). */
export const MMIO_WINDOW_SIZE = 0x1000;

/** 4.2.2 InterruptStatus bits. */
export const INT_USED_BUFFER = 1;
export const INT_CONFIG_CHANGE = 2;

/** 2.7.5 Descriptor flags. */
export const DESC_F_NEXT = 1;
export const DESC_F_WRITE = 2;
export const DESC_F_INDIRECT = 4;
/** 2.7.5: a descriptor is le64 addr, le32 len, le16 flags, le16 next. */
export const DESC_SIZE = 16;

/** 2.7.6 avail->flags: the driver asks for no used-buffer notifications (without EVENT_IDX). */
export const AVAIL_F_NO_INTERRUPT = 1;
/** 2.7.8 used->flags: the device asks for no available-buffer notifications (without EVENT_IDX). */
export const USED_F_NO_NOTIFY = 1;

/** 2.7: a split queue's size is a power of 2, at most 32768; alignment of its three parts. */
export const QUEUE_SIZE_LIMIT = 32768;
export const DESC_TABLE_ALIGN = 16;
export const AVAIL_RING_ALIGN = 2;
export const USED_RING_ALIGN = 4;

/** Human-readable names of the status bits, for logs and error messages. */
export function describeStatus(status: number): string {
  const names: string[] = [];
  if (status & STATUS_ACKNOWLEDGE) names.push('ACKNOWLEDGE');
  if (status & STATUS_DRIVER) names.push('DRIVER');
  if (status & STATUS_FEATURES_OK) names.push('FEATURES_OK');
  if (status & STATUS_DRIVER_OK) names.push('DRIVER_OK');
  if (status & STATUS_DEVICE_NEEDS_RESET) names.push('DEVICE_NEEDS_RESET');
  if (status & STATUS_FAILED) names.push('FAILED');
  return names.length ? names.join('|') : 'RESET';
}
