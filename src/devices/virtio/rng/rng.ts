import type { GuestMemory } from '../../../memory/guest-memory.js';
import type { RateLimiter, RateLimiterSnapshot } from '../../../rate-limiter/rate-limiter.js';
import type { DescriptorChain } from '../descriptor-chain.js';
import type { Queue } from '../queue.js';
import { drainThrottled } from '../throttled-drain.js';
import { DEVICE_ID_ENTROPY, F_EVENT_IDX, F_INDIRECT_DESC, F_VERSION_1 } from '../spec.js';
import type { ActivateError, VirtioDevice, VirtioInterrupt } from '../virtio-device.js';
import type { EntropySource } from './entropy-source.js';

/** §5.4.2: one queue, "requestq". */
export const RNG_QUEUE_SIZE = 256;
/**
 * At most this many bytes per request: a guest asking for a gigabyte in one chain gets 64 KiB, which
 * §5.4.6.1 allows ("MAY use less than the entire buffer length"), and the VMM never stalls on it.
 */
export const RNG_MAX_BYTES_PER_REQUEST = 64 * 1024;

/** Firecracker's EntropyDeviceMetrics, in camelCase. */
export interface RngMetrics {
  activateFails: number;
  /** Kicks of the request queue. */
  queueEvents: number;
  /** Requests answered with at least one byte. */
  requests: number;
  bytes: number;
  /** Requests capped at RNG_MAX_BYTES_PER_REQUEST. */
  truncatedRequests: number;
  /** Malformed chains, or chains with device-readable buffers (§5.4.6.2 forbids them): len 0. */
  invalidRequests: number;
  /** The entropy source threw: the request gets len 0. */
  entropyFails: number;
  configWritesIgnored: number;
  /** Times the rate limiter held a request back (Firecracker's entropy_rate_limiter_throttled). */
  rateLimiterThrottled: number;
  /** Retries after a throttle ended (Firecracker's rate_limiter_event_count). */
  rateLimiterEvents: number;
}

/** virtio-rng's own part of a snapshot (the transport holds features and queues). */
export interface RngState {
  version: 1;
  /** A request was waiting in the avail ring for the rate limiter. */
  throttled: boolean;
  rateLimiter: RateLimiterSnapshot | null;
}

/**
 * virtio-rng, Firecracker's "entropy" device (virtio 1.2 §5.4): fills each device-writable buffer the
 * driver offers with bytes from the injected EntropySource. It has no configuration space and no
 * device-specific features. An optional RateLimiter (Firecracker's PUT /entropy rate_limiter) charges
 * one op and the bytes served per request; a request it refuses stays in the avail ring until
 * retry() once the limiter has refilled.
 */
export class VirtioRng implements VirtioDevice {
  readonly deviceType = DEVICE_ID_ENTROPY;
  readonly availableFeatures = F_VERSION_1 | F_INDIRECT_DESC | F_EVENT_IDX;
  readonly queueMaxSizes = [RNG_QUEUE_SIZE] as const;
  readonly metrics: RngMetrics = {
    activateFails: 0,
    queueEvents: 0,
    requests: 0,
    bytes: 0,
    truncatedRequests: 0,
    invalidRequests: 0,
    entropyFails: 0,
    configWritesIgnored: 0,
    rateLimiterThrottled: 0,
    rateLimiterEvents: 0,
  };

  private queue: Queue | null = null;
  private interrupt: VirtioInterrupt | null = null;
  /** A request is waiting in the avail ring for the rate limiter. */
  private throttled = false;

  constructor(
    private readonly source: EntropySource,
    private readonly rateLimiter?: RateLimiter,
  ) {}

  readConfig(_offset: number, _size: 1 | 2 | 4): number {
    return 0; // §5.4.4: none.
  }

  writeConfig(_offset: number, _size: 1 | 2 | 4, _value: number): void {
    this.metrics.configWritesIgnored++;
  }

  activate(_memory: GuestMemory, queues: readonly Queue[], interrupt: VirtioInterrupt): ActivateError | null {
    const q = queues[0];
    if (!q || !q.activated) {
      this.metrics.activateFails++;
      return 'queue-not-ready';
    }
    this.queue = q;
    this.interrupt = interrupt;
    return null;
  }

  reset(): void {
    this.queue = null;
    this.interrupt = null;
    this.throttled = false;
  }

  save(): RngState {
    return { version: 1, throttled: this.throttled, rateLimiter: this.rateLimiter?.save() ?? null };
  }

  /** Takes a saved state (after activation by the restored transport). */
  restore(state: unknown): void {
    const s = state as RngState;
    if (typeof s !== 'object' || s === null || s.version !== 1 || typeof s.throttled !== 'boolean') {
      throw new RangeError('Cannot restore virtio-rng: its state is not a version 1 entropy device state');
    }
    if (s.rateLimiter) this.rateLimiter?.restore(s.rateLimiter);
    this.throttled = s.throttled && this.queue !== null;
  }

  processQueue(index: number): void {
    if (index !== 0 || !this.queue) return;
    this.metrics.queueEvents++;
    this.drain();
  }

  retryDelayMs(): number {
    return this.throttled ? (this.rateLimiter?.blockedForMs() ?? 0) : Infinity;
  }

  retry(): void {
    if (!this.throttled) return;
    this.throttled = false;
    this.metrics.rateLimiterEvents++;
    this.drain();
  }

  private drain(): void {
    const q = this.queue;
    if (!q) return;
    const cost = (c: DescriptorChain) => (this.wellFormed(c) ? Math.min(c.writer().total, RNG_MAX_BYTES_PER_REQUEST) : -1);
    if (drainThrottled(q, this.rateLimiter, cost, (c) => this.serve(c))) {
      this.throttled = true;
      this.metrics.rateLimiterThrottled++;
    }
    if (q.needsNotification()) this.interrupt!.signalUsedBuffer(0);
  }

  /** §5.4.6.2: device-writable buffers only (a bad chain is answered at once, free of charge). */
  private wellFormed(chain: DescriptorChain): boolean {
    return !chain.error && chain.readable.length === 0;
  }

  /** Returns the number of bytes written into the chain's device-writable buffers. */
  private serve(chain: DescriptorChain): number {
    if (!this.wellFormed(chain)) {
      this.metrics.invalidRequests++;
      return 0;
    }
    const w = chain.writer();
    if (w.total > RNG_MAX_BYTES_PER_REQUEST) this.metrics.truncatedRequests++;
    try {
      const n = w.spans(RNG_MAX_BYTES_PER_REQUEST, (view) => this.source.fill(view));
      if (n > 0) this.metrics.requests++;
      this.metrics.bytes += n;
      return n;
    } catch {
      this.metrics.entropyFails++;
      return 0;
    }
  }
}
