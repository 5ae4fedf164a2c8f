import { MmioTransport } from '../devices/virtio/mmio-transport.js';
import { VirtioBlock, type CacheType } from '../devices/virtio/block/block.js';
import { VirtioRng } from '../devices/virtio/rng/rng.js';
import type { VirtioFactory } from '../platform/machine.js';
import { FileBlockBackend } from './backends/file-block-backend.js';
import { HostEntropySource } from './backends/host-entropy-source.js';

/**
 * Builder steps that turn drive and entropy resources into virtio-mmio slot factories for the machine,
 * with their host backends (Firecracker's attach_* steps). Opening the backing file happens here, so a
 * missing or unwritable disk fails before the machine exists.
 */
export interface AttachedBlock {
  id: string;
  factory: VirtioFactory;
  device: VirtioBlock;
  backend: FileBlockBackend;
}

export function attachBlock(d: { id: string; path: string; readOnly: boolean; cacheType?: CacheType }): AttachedBlock {
  const backend = FileBlockBackend.open(d.path, { readOnly: d.readOnly });
  const device = new VirtioBlock(backend, { id: d.id, readOnly: d.readOnly, cacheType: d.cacheType ?? 'Unsafe' });
  return { id: d.id, device, backend, factory: ({ memory, irq }) => new MmioTransport(device, memory, irq) };
}

export function attachEntropy(): { factory: VirtioFactory; device: VirtioRng } {
  const device = new VirtioRng(new HostEntropySource());
  return { device, factory: ({ memory, irq }) => new MmioTransport(device, memory, irq) };
}
