import type { GuestMemory } from '../../../memory/guest-memory.js';
import type { RateLimiter, RateLimiterSnapshot } from '../../../rate-limiter/rate-limiter.js';
import { ConfigSpace } from '../config-space.js';
import type { BufferCursor, DescriptorChain } from '../descriptor-chain.js';
import type { Queue } from '../queue.js';
import { drainThrottled } from '../throttled-drain.js';
import { DEVICE_ID_BLOCK, F_EVENT_IDX, F_INDIRECT_DESC, F_VERSION_1 } from '../spec.js';
import type { ActivateError, VirtioDevice, VirtioInterrupt } from '../virtio-device.js';
import type { BlockBackend } from './block-backend.js';

/** §5.2.3 feature bits. */
export const BLK_F_SEG_MAX = 1n << 2n;
export const BLK_F_RO = 1n << 5n;
export const BLK_F_BLK_SIZE = 1n << 6n;
export const BLK_F_FLUSH = 1n << 9n;
export const BLK_F_DISCARD = 1n << 13n;
export const BLK_F_WRITE_ZEROES = 1n << 14n;

/** §5.2.6 request types and status values. */
export const BLK_T_IN = 0;
export const BLK_T_OUT = 1;
export const BLK_T_FLUSH = 4;
export const BLK_T_GET_ID = 8;
export const BLK_T_DISCARD = 11;
export const BLK_T_WRITE_ZEROES = 13;
export const BLK_S_OK = 0;
export const BLK_S_IOERR = 1;
export const BLK_S_UNSUPP = 2;
/** §5.2.6: the header is le32 type, le32 reserved, le64 sector; sectors are always 512 bytes. */
export const BLK_HEADER_SIZE = 16;
export const SECTOR_SIZE = 512;
/** §5.2.6: GET_ID answers a 20-byte, not necessarily NUL-terminated, string. */
export const BLK_ID_BYTES = 20;
/** §5.2.6: one discard / write-zeroes segment is le64 sector, le32 num_sectors, le32 flags. */
export const BLK_DWZ_SEGMENT_SIZE = 16;
export const BLK_DWZ_FLAG_UNMAP = 1;

/** §5.2.4 virtio_blk_config offsets (the fields this device fills). */
export const CFG_CAPACITY = 0;
export const CFG_SEG_MAX = 12;
export const CFG_BLK_SIZE = 20;
export const CFG_NUM_QUEUES = 34;
export const CFG_MAX_DISCARD_SECTORS = 36;
export const CFG_MAX_DISCARD_SEG = 40;
export const CFG_DISCARD_SECTOR_ALIGNMENT = 44;
export const CFG_MAX_WRITE_ZEROES_SECTORS = 48;
export const CFG_MAX_WRITE_ZEROES_SEG = 52;
export const CFG_WRITE_ZEROES_MAY_UNMAP = 56;
/** Up to secure_erase_sector_alignment (offset 68, 4 bytes); zoned fields are not offered. */
export const CFG_SIZE = 72;

export const BLK_QUEUE_SIZE = 256;
/** Data segments per request: the queue size minus header and status, so a chain fits the queue. */
export const BLK_SEG_MAX = BLK_QUEUE_SIZE - 2;
/** Per-request limits advertised for discard / write zeroes: 2 GiB, up to 16 segments, 4 KiB grain. */
export const BLK_MAX_DWZ_SECTORS = 0x40_0000;
export const BLK_MAX_DWZ_SEG = 16;
export const BLK_DISCARD_ALIGNMENT_SECTORS = 8;

/**
 * Firecracker's `cache_type`: `Unsafe` offers no VIRTIO_BLK_F_FLUSH (the guest assumes a write-through
 * disk and never flushes); `Writeback` offers it and a FLUSH request fsyncs the backend.
 */
export type CacheType = 'Unsafe' | 'Writeback';

export interface BlockOptions {
  /** Answer to GET_ID (at most 20 bytes of ASCII are used); Firecracker's drive id is a good choice. */
  id?: string;
  readOnly?: boolean;
  cacheType?: CacheType;
  /**
   * Firecracker's drive rate_limiter: each request costs one op, and IN/OUT also their data bytes.
   * The vmm keeps the limiter and updates it in place on PATCH /drives.
   */
  rateLimiter?: RateLimiter;
}

/** Firecracker's BlockDeviceMetrics, in camelCase, plus a few of our own. */
export interface BlockMetrics {
  activateFails: number;
  /** Writes to the (read-only) configuration space. */
  cfgFails: number;
  queueEventCount: number;
  readCount: number;
  writeCount: number;
  readBytes: number;
  writeBytes: number;
  flushCount: number;
  discardCount: number;
  writeZeroesCount: number;
  getIdCount: number;
  /** Malformed requests: bad chains, short headers, no status byte, bad lengths, beyond capacity. */
  invalidReqsCount: number;
  /** Writes refused because the drive is read-only. */
  roWriteFails: number;
  /** Request types unknown or not negotiated: answered VIRTIO_BLK_S_UNSUPP. */
  unsupportedReqs: number;
  /** The backend threw: answered VIRTIO_BLK_S_IOERR. */
  executeFails: number;
  /** Backend swaps (Firecracker's PATCH /drives). */
  updateCount: number;
  /** Times the rate limiter held a request back (Firecracker's rate_limiter_throttled_events). */
  rateLimiterThrottledEvents: number;
  /** Retries after a throttle ended (Firecracker's rate_limiter_event_count). */
  rateLimiterEvents: number;
}

/** virtio-blk's own part of a snapshot (the transport holds features and queues). */
export interface BlockState {
  version: 1;
  /** Capacity the driver saw; a restored disk of another size gets a config-change interrupt. */
  capacitySectors: number;
  /** A request was waiting in the avail ring for the rate limiter. */
  throttled: boolean;
  rateLimiter: RateLimiterSnapshot | null;
}

/**
 * virtio-blk (virtio 1.2 §5.2): one request queue, IN / OUT / FLUSH / GET_ID / DISCARD /
 * WRITE_ZEROES, read-only drives, Firecracker's cache types. The device parses requests as byte
 * streams (§2.7.4: no assumption about descriptor layout): header from the device-readable bytes,
 * status in the last device-writable byte. Data moves between the backend and guest RAM without an
 * intermediate copy. With a rate limiter, a request it refuses stays in the avail ring (nothing is
 * failed or dropped) and processing stops until retry(), once retryDelayMs() has run out.
 */
export class VirtioBlock implements VirtioDevice {
  readonly deviceType = DEVICE_ID_BLOCK;
  readonly availableFeatures: bigint;
  readonly queueMaxSizes = [BLK_QUEUE_SIZE] as const;
  readonly metrics: BlockMetrics = {
    activateFails: 0,
    cfgFails: 0,
    queueEventCount: 0,
    readCount: 0,
    writeCount: 0,
    readBytes: 0,
    writeBytes: 0,
    flushCount: 0,
    discardCount: 0,
    writeZeroesCount: 0,
    getIdCount: 0,
    invalidReqsCount: 0,
    roWriteFails: 0,
    unsupportedReqs: 0,
    executeFails: 0,
    updateCount: 0,
    rateLimiterThrottledEvents: 0,
    rateLimiterEvents: 0,
  };

  private readonly config = new ConfigSpace(CFG_SIZE);
  private readonly idBytes = new Uint8Array(BLK_ID_BYTES);
  private readonly header = new Uint8Array(BLK_HEADER_SIZE);
  private readonly headerView = new DataView(this.header.buffer);
  private readonly status = new Uint8Array(1);
  private readonly readOnly: boolean;
  private capacity = 0;
  private acked = 0n;
  private queue: Queue | null = null;
  private interrupt: VirtioInterrupt | null = null;
  private readonly rateLimiter: RateLimiter | undefined;
  /** A request is waiting in the avail ring for the rate limiter. */
  private throttled = false;

  constructor(
    private backend: BlockBackend,
    opts: BlockOptions = {},
  ) {
    this.readOnly = opts.readOnly ?? false;
    this.rateLimiter = opts.rateLimiter;
    let f = F_VERSION_1 | F_INDIRECT_DESC | F_EVENT_IDX | BLK_F_SEG_MAX | BLK_F_BLK_SIZE;
    if ((opts.cacheType ?? 'Unsafe') === 'Writeback') f |= BLK_F_FLUSH;
    // §5.2.5: a read-only device says so; it has nothing to discard or zero.
    f |= this.readOnly ? BLK_F_RO : BLK_F_DISCARD | BLK_F_WRITE_ZEROES;
    this.availableFeatures = f;
    const id = new TextEncoder().encode(opts.id ?? '');
    this.idBytes.set(id.subarray(0, BLK_ID_BYTES));

    const c = this.config;
    c.setU32(CFG_SEG_MAX, BLK_SEG_MAX);
    c.setU32(CFG_BLK_SIZE, SECTOR_SIZE);
    c.setU16(CFG_NUM_QUEUES, 1);
    if (!this.readOnly) {
      c.setU32(CFG_MAX_DISCARD_SECTORS, BLK_MAX_DWZ_SECTORS);
      c.setU32(CFG_MAX_DISCARD_SEG, BLK_MAX_DWZ_SEG);
      c.setU32(CFG_DISCARD_SECTOR_ALIGNMENT, BLK_DISCARD_ALIGNMENT_SECTORS);
      c.setU32(CFG_MAX_WRITE_ZEROES_SECTORS, BLK_MAX_DWZ_SECTORS);
      c.setU32(CFG_MAX_WRITE_ZEROES_SEG, BLK_MAX_DWZ_SEG);
      // §5.2.6.2: 0, since a write-zeroes request never deallocates here.
      c.setU8(CFG_WRITE_ZEROES_MAY_UNMAP, 0);
    }
    this.setCapacity();
  }

  /** Disk size in 512-byte sectors; a trailing partial sector is not exposed. */
  get capacitySectors(): number {
    return this.capacity;
  }

  /** Swaps the backing storage (Firecracker's drive update): new capacity, config-change interrupt. */
  updateBackend(backend: BlockBackend): void {
    this.backend = backend;
    this.metrics.updateCount++;
    this.setCapacity();
    this.interrupt?.signalConfigChange();
  }

  readConfig(offset: number, size: 1 | 2 | 4): number {
    return this.config.read(offset, size);
  }

  writeConfig(_offset: number, _size: 1 | 2 | 4, _value: number): void {
    // Only `writeback` is driver-writable, and only with VIRTIO_BLK_F_CONFIG_WCE, which is not offered.
    this.metrics.cfgFails++;
  }

  activate(_memory: GuestMemory, queues: readonly Queue[], interrupt: VirtioInterrupt, acked: bigint): ActivateError | null {
    const q = queues[0];
    if (!q || !q.activated) {
      this.metrics.activateFails++;
      return 'queue-not-ready';
    }
    this.queue = q;
    this.interrupt = interrupt;
    this.acked = acked;
    return null;
  }

  reset(): void {
    this.queue = null;
    this.interrupt = null;
    this.acked = 0n;
    this.throttled = false;
  }

  save(): BlockState {
    return { version: 1, capacitySectors: this.capacity, throttled: this.throttled, rateLimiter: this.rateLimiter?.save() ?? null };
  }

  /**
   * Takes a saved state (after activation by the restored transport). A backing file whose size
   * changed meanwhile is announced as a config change, as PATCH /drives does.
   */
  restore(state: unknown): void {
    const s = state as BlockState;
    if (typeof s !== 'object' || s === null || s.version !== 1 || typeof s.throttled !== 'boolean') {
      throw new RangeError('Cannot restore virtio-blk: its state is not a version 1 block state');
    }
    if (s.rateLimiter) this.rateLimiter?.restore(s.rateLimiter);
    this.throttled = s.throttled && this.queue !== null;
    if (s.capacitySectors !== this.capacity) this.interrupt?.signalConfigChange();
  }

  processQueue(index: number): void {
    if (index !== 0 || !this.queue) return;
    this.metrics.queueEventCount++;
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
    if (drainThrottled(q, this.rateLimiter, (c) => this.chargedBytes(c), (c) => this.execute(c))) {
      this.throttled = true;
      this.metrics.rateLimiterThrottledEvents++;
    }
    if (q.needsNotification()) this.interrupt!.signalUsedBuffer(0);
  }

  /**
   * What a request costs the bandwidth bucket (as in Firecracker: the data length of IN and OUT, 0 for
   * the others, which still cost an op), or -1 for a request too malformed to be worth charging:
   * it is answered with an error at once.
   */
  private chargedBytes(chain: DescriptorChain): number {
    const writable = chain.writer().total;
    if (chain.error || writable === 0) return -1;
    const r = chain.reader();
    if (r.total < BLK_HEADER_SIZE) return -1;
    r.read(this.header);
    switch (this.headerView.getUint32(0, true)) {
      case BLK_T_IN:
        return writable - 1;
      case BLK_T_OUT:
        return r.total - BLK_HEADER_SIZE;
      default:
        return 0;
    }
  }

  private setCapacity(): void {
    const size = this.backend.size();
    this.capacity = Math.floor(size / SECTOR_SIZE);
    this.config.setU64(CFG_CAPACITY, this.capacity);
  }

  /** Runs one request; returns the used length (bytes of the writable stream up to the status byte). */
  private execute(chain: DescriptorChain): number {
    const w = chain.writer();
    if (chain.error || w.total === 0) {
      // Malformed, or no status byte to answer in (§5.2.6: the status is the last writable byte).
      this.metrics.invalidReqsCount++;
      return 0;
    }
    const r = chain.reader();
    if (r.read(this.header) < BLK_HEADER_SIZE) {
      this.metrics.invalidReqsCount++;
      return this.finish(w, BLK_S_IOERR);
    }
    const type = this.headerView.getUint32(0, true);
    const lo = this.headerView.getUint32(8, true);
    const hi = this.headerView.getUint32(12, true);
    // Past 2^53 bytes is past any disk: make it +Infinity so the capacity check refuses it exactly.
    const sector = hi < 0x20_0000 ? hi * 0x1_0000_0000 + lo : Infinity;
    switch (type) {
      case BLK_T_IN:
        return this.finish(w, this.readData(sector, w));
      case BLK_T_OUT:
        return this.finish(w, this.writeData(sector, r));
      case BLK_T_FLUSH:
        return this.finish(w, this.flush());
      case BLK_T_GET_ID:
        return this.finish(w, this.getId(w));
      case BLK_T_DISCARD:
        return this.finish(w, this.discardOrZero(r, false));
      case BLK_T_WRITE_ZEROES:
        return this.finish(w, this.discardOrZero(r, true));
      default:
        this.metrics.unsupportedReqs++;
        return this.finish(w, BLK_S_UNSUPP);
    }
  }

  /**
   * Writes the status into the last writable byte, zero-filling what the request left unwritten
   * before it, so that "len" bytes from the first writable byte were really written (§2.7.8.2).
   */
  private finish(w: BufferCursor, status: number): number {
    w.zero(w.remaining - 1);
    this.status[0] = status;
    w.write(this.status);
    return w.total;
  }

  private inRange(sector: number, bytes: number): boolean {
    return bytes % SECTOR_SIZE === 0 && sector + bytes / SECTOR_SIZE <= this.capacity;
  }

  private readData(sector: number, w: BufferCursor): number {
    const len = w.remaining - 1;
    if (!this.inRange(sector, len)) {
      this.metrics.invalidReqsCount++;
      return BLK_S_IOERR;
    }
    const base = sector * SECTOR_SIZE;
    try {
      w.spans(len, (view, pos) => this.backend.read(base + pos, view));
    } catch {
      this.metrics.executeFails++;
      return BLK_S_IOERR;
    }
    this.metrics.readCount++;
    this.metrics.readBytes += len;
    return BLK_S_OK;
  }

  private writeData(sector: number, r: BufferCursor): number {
    if (this.readOnly) {
      // §5.2.6.2: IOERR for a write to a VIRTIO_BLK_F_RO device, and no data written.
      this.metrics.roWriteFails++;
      return BLK_S_IOERR;
    }
    const len = r.remaining;
    if (!this.inRange(sector, len)) {
      this.metrics.invalidReqsCount++;
      return BLK_S_IOERR;
    }
    const base = sector * SECTOR_SIZE - BLK_HEADER_SIZE;
    try {
      r.spans(len, (view, pos) => this.backend.write(base + pos, view));
    } catch {
      this.metrics.executeFails++;
      return BLK_S_IOERR;
    }
    this.metrics.writeCount++;
    this.metrics.writeBytes += len;
    return BLK_S_OK;
  }

  private flush(): number {
    if (!(this.acked & BLK_F_FLUSH)) {
      // Unsafe cache: FLUSH was not offered, so there is nothing the driver may ask for here.
      this.metrics.unsupportedReqs++;
      return BLK_S_UNSUPP;
    }
    try {
      this.backend.flush();
    } catch {
      this.metrics.executeFails++;
      return BLK_S_IOERR;
    }
    this.metrics.flushCount++;
    return BLK_S_OK;
  }

  private getId(w: BufferCursor): number {
    // §5.2.6: up to 20 bytes; a shorter buffer gets what fits (finish() then places the status).
    w.write(this.idBytes.subarray(0, Math.min(BLK_ID_BYTES, w.remaining - 1)));
    this.metrics.getIdCount++;
    return BLK_S_OK;
  }

  private discardOrZero(r: BufferCursor, zero: boolean): number {
    const feature = zero ? BLK_F_WRITE_ZEROES : BLK_F_DISCARD;
    if (!(this.acked & feature)) {
      this.metrics.unsupportedReqs++;
      return this.readOnly ? BLK_S_IOERR : BLK_S_UNSUPP;
    }
    const n = r.remaining / BLK_DWZ_SEGMENT_SIZE;
    if (!Number.isInteger(n) || n < 1 || n > BLK_MAX_DWZ_SEG) {
      this.metrics.invalidReqsCount++;
      return BLK_S_IOERR;
    }
    // Validate every segment before touching the disk, so a bad request changes nothing.
    const segs = new Uint8Array(n * BLK_DWZ_SEGMENT_SIZE);
    r.read(segs);
    const v = new DataView(segs.buffer);
    for (let i = 0; i < n; i++) {
      const o = i * BLK_DWZ_SEGMENT_SIZE;
      const hi = v.getUint32(o + 4, true);
      const sector = hi < 0x20_0000 ? hi * 0x1_0000_0000 + v.getUint32(o, true) : Infinity;
      const count = v.getUint32(o + 8, true);
      const flags = v.getUint32(o + 12, true);
      // §5.2.6.2: UNSUPP for unknown flags, and for unmap on a discard.
      if (flags & ~BLK_DWZ_FLAG_UNMAP || (!zero && flags & BLK_DWZ_FLAG_UNMAP)) {
        this.metrics.unsupportedReqs++;
        return BLK_S_UNSUPP;
      }
      if (count > BLK_MAX_DWZ_SECTORS || !(sector + count <= this.capacity)) {
        this.metrics.invalidReqsCount++;
        return BLK_S_IOERR;
      }
    }
    try {
      for (let i = 0; i < n; i++) {
        const o = i * BLK_DWZ_SEGMENT_SIZE;
        const sector = v.getUint32(o + 4, true) * 0x1_0000_0000 + v.getUint32(o, true);
        const bytes = v.getUint32(o + 8, true) * SECTOR_SIZE;
        if (zero) this.backend.writeZeroes(sector * SECTOR_SIZE, bytes);
        else this.backend.discard(sector * SECTOR_SIZE, bytes);
      }
    } catch {
      this.metrics.executeFails++;
      return BLK_S_IOERR;
    }
    if (zero) this.metrics.writeZeroesCount++;
    else this.metrics.discardCount++;
    return BLK_S_OK;
  }
}
