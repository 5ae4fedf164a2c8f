import type { GuestMemory } from '../../memory/guest-memory.js';
import type { Queue } from './queue.js';

/**
 * How a running device tells the driver something happened. The transport implements it (for
 * virtio-mmio: InterruptStatus bits and the IrqLine, §4.2.2); devices never see the line itself.
 */
export interface VirtioInterrupt {
  /** A used-buffer notification for queue `index` (§2.3); call after queue.needsNotification(). */
  signalUsedBuffer(index: number): void;
  /** A configuration-change notification (§2.3); bumps the config generation. */
  signalConfigChange(): void;
}

/** Why activation failed; the transport then sets DEVICE_NEEDS_RESET. */
export type ActivateError = 'queue-not-ready' | 'queue-invalid' | 'backend-unavailable';

/**
 * What every virtio device implements, whatever transport carries it (Firecracker's VirtioDevice
 * trait is the model). A device owns its configuration space and request processing; the transport
 * owns status, feature negotiation, queue configuration and interrupts.
 */
export interface VirtioDevice {
  /** §5 Device Types. */
  readonly deviceType: number;
  /** Feature bits the device offers (§2.2), including VIRTIO_F_VERSION_1. */
  readonly availableFeatures: bigint;
  /** Maximum size of each queue (QueueNumMax); the length is the number of queues. */
  readonly queueMaxSizes: readonly number[];
  /** Reads the device-specific configuration space (§4.2.2 offset 0x100+); unknown bytes read 0. */
  readConfig(offset: number, size: 1 | 2 | 4): number;
  /** Writes the configuration space; read-only fields ignore the write (and may count it). */
  writeConfig(offset: number, size: 1 | 2 | 4, value: number): void;
  /**
   * Starts the device at DRIVER_OK with the features the driver accepted. The queues are already
   * validated and bound to `memory`; a queue the driver did not make ready is passed unactivated.
   */
  activate(memory: GuestMemory, queues: readonly Queue[], interrupt: VirtioInterrupt, ackedFeatures: bigint): ActivateError | null;
  /** §2.4 device reset: drop the queues and any in-flight state; the transport resets the queues. */
  reset(): void;
  /** The driver kicked queue `index` (QueueNotify); process what is available. Never throws. */
  processQueue(index: number): void;
  /**
   * For a device that can hold requests back (a throttled rate limiter): milliseconds until retry()
   * can make progress, Infinity when nothing is held back. The machine polls it between run slices.
   */
  retryDelayMs?(): number;
  /** Processes what was held back once retryDelayMs() has reached 0. Never throws. */
  retry?(): void;
  /**
   * The device's own state for a snapshot, as plain data (what the transport does not hold: requests
   * held back, rate limiter buckets). A device without save() cannot be snapshotted, and says so by
   * name (the machine refuses the snapshot). Called before the transport saves the queues and the
   * interrupt status, so a device may settle them here (Queue.undoPop of chains it holds).
   */
  save?(): unknown;
  /**
   * Restores save()'s state into a device built with the same configuration, after the transport has
   * re-activated it (queues bound to memory, features acked). Throws on a state it cannot take.
   */
  restore?(state: unknown): void;
}
