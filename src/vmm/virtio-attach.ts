import { MmioTransport } from '../devices/virtio/mmio-transport.js';
import { VirtioBlock, type CacheType } from '../devices/virtio/block/block.js';
import { VirtioRng } from '../devices/virtio/rng/rng.js';
import type { FramePort } from '../devices/virtio/net/frame-port.js';
import { parseMac } from '../devices/virtio/net/mac-address.js';
import { VirtioNet } from '../devices/virtio/net/net.js';
import type { NetSpec } from './machine.js';
import type { VirtioFactory } from '../platform/machine.js';
import { RateLimiter, type RateLimiterConfig, type TimeSource } from '../rate-limiter/rate-limiter.js';
import { FileBlockBackend } from './backends/file-block-backend.js';
import { HostEntropySource } from './backends/host-entropy-source.js';

/**
 * Builder steps that turn drive and entropy resources into virtio-mmio slot factories for the machine,
 * with their host backends (Firecracker's attach_* steps). Opening the backing file happens here, so a
 * missing or unwritable disk fails before the machine exists. Every drive gets a RateLimiter, unlimited
 * when not configured, so PATCH /drives can add, change or lift limits on the running device.
 */

/** Rate limiters run on the host's monotonic clock, as Firecracker's timerfds do. */
const hostClock: TimeSource = { now: () => performance.now() };

export interface AttachedBlock {
  id: string;
  factory: VirtioFactory;
  device: VirtioBlock;
  backend: FileBlockBackend;
  rateLimiter: RateLimiter;
}

export function attachBlock(
  d: { id: string; path: string; readOnly: boolean; cacheType?: CacheType; rateLimiter?: RateLimiterConfig },
  clock: TimeSource = hostClock,
): AttachedBlock {
  const backend = FileBlockBackend.open(d.path, { readOnly: d.readOnly });
  const rateLimiter = new RateLimiter(clock, d.rateLimiter);
  const device = new VirtioBlock(backend, { id: d.id, readOnly: d.readOnly, cacheType: d.cacheType ?? 'Unsafe', rateLimiter });
  return { id: d.id, device, backend, rateLimiter, factory: ({ memory, irq }) => new MmioTransport(device, memory, irq) };
}

export function attachEntropy(
  rateLimiter?: RateLimiterConfig,
  clock: TimeSource = hostClock,
): { factory: VirtioFactory; device: VirtioRng } {
  // PUT /entropy is pre-boot only, so an unconfigured limiter can stay absent.
  const limiter = rateLimiter && new RateLimiter(clock, rateLimiter);
  const device = new VirtioRng(new HostEntropySource(), limiter?.enabled ? limiter : undefined);
  return { device, factory: ({ memory, irq }) => new MmioTransport(device, memory, irq) };
}

export interface AttachedNet {
  id: string;
  factory: VirtioFactory;
  device: VirtioNet;
  rxRateLimiter: RateLimiter;
  txRateLimiter: RateLimiter;
}

/**
 * A virtio-net device over `port` (the backend, possibly behind filters). Both directions get a
 * RateLimiter, unlimited when not configured, so PATCH /network-interfaces can change them later.
 * `buildsOwnFrames`: the backend's frames carry checksums it computed (passt), so the guest may skip
 * checking them (VIRTIO_NET_F_GUEST_CSUM + DATA_VALID).
 */
export function attachNet(n: NetSpec, port: FramePort, buildsOwnFrames: boolean, clock: TimeSource = hostClock): AttachedNet {
  const rxRateLimiter = new RateLimiter(clock, n.rxRateLimiter);
  const txRateLimiter = new RateLimiter(clock, n.txRateLimiter);
  const device = new VirtioNet(port, {
    mac: n.mac !== undefined ? parseMac(n.mac) : undefined,
    mtu: n.mtu,
    rxRateLimiter,
    txRateLimiter,
    txChecksumOffload: true,
    rxChecksumsValid: buildsOwnFrames,
  });
  return {
    id: n.id,
    device,
    rxRateLimiter,
    txRateLimiter,
    factory: ({ memory, irq }) => new MmioTransport(device, memory, irq),
  };
}
