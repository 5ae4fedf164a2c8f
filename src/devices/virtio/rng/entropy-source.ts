/**
 * Where virtio-rng's bytes come from. The host's CSPRNG in production (vmm/backends), a seeded
 * generator in tests. `fill` may throw if the host source fails; the device counts it.
 */
export interface EntropySource {
  fill(dst: Uint8Array): void;
}
