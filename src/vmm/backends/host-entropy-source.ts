import { randomFillSync } from 'node:crypto';
import type { EntropySource } from '../../devices/virtio/rng/entropy-source.js';

/** The host's CSPRNG (OpenSSL behind node:crypto) as virtio-rng's source, as Firecracker uses getrandom. */
export class HostEntropySource implements EntropySource {
  fill(dst: Uint8Array): void {
    // randomFillSync takes at most 2^31-1 bytes per call; the device never asks for more than 64 KiB.
    randomFillSync(dst);
  }
}
