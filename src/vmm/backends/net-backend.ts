/**
 * The host side of a network interface, opened from its NetBackendSpec before the machine is
 * assembled: a tap device (Firecracker's host_dev_name) or passt (wisp's user_mode). Either way the
 * device sees a FramePort; the vmm keeps the rest (counters, closing, waiting for the release).
 */
import type { FramePort } from '../../devices/virtio/net/frame-port.js';
import type { NetBackendSpec } from '../machine.js';
import { PasstBackend } from './passt-backend.js';
import { TapBackend } from './tap-backend.js';

export interface OpenedNetBackend {
  readonly port: FramePort;
  /**
   * Every frame the backend delivers was built by it, with correct checksums (passt terminates the
   * guest's connections and builds its own frames); a tap forwards whatever the host sends.
   */
  readonly buildsOwnFrames: boolean;
  /** Firecracker's tap_read_fails / tap_write_fails for this backend. */
  counters(): { readFails: number; writeFails: number };
  /** Releases the host side. Idempotent. */
  close(): void;
  /** Settles once the host side is gone (passt has exited, the tap's fd is closed). */
  released(): Promise<void>;
}

export async function openNetBackend(spec: NetBackendSpec, mtu?: number): Promise<OpenedNetBackend> {
  if (spec.kind === 'tap') {
    const tap = TapBackend.open(spec.hostDevName);
    return {
      port: tap,
      buildsOwnFrames: false,
      counters: () => ({ ...tap.metrics }),
      close: () => tap.close(),
      released: () => tap.whenClosed(),
    };
  }
  const passt = await PasstBackend.start({ publish: spec.publish, mtu, ...(spec.ipv4 && { ipv4: spec.ipv4 }) });
  return {
    port: passt.port,
    buildsOwnFrames: true,
    counters: () => ({ readFails: passt.port.metrics.readFails, writeFails: passt.port.metrics.writeFails }),
    close: () => passt.close(),
    released: () => passt.exited,
  };
}
