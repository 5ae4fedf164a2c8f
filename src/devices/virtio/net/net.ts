import type { GuestMemory } from '../../../memory/guest-memory.js';
import type { RateLimiter, RateLimiterSnapshot } from '../../../rate-limiter/rate-limiter.js';
import { ConfigSpace } from '../config-space.js';
import type { DescriptorChain } from '../descriptor-chain.js';
import type { Queue } from '../queue.js';
import { DEVICE_ID_NET, F_EVENT_IDX, F_INDIRECT_DESC, F_VERSION_1 } from '../spec.js';
import type { ActivateError, VirtioDevice, VirtioInterrupt } from '../virtio-device.js';
import type { FramePort } from './frame-port.js';

/** §5.1.3 feature bits (the ones this device offers or refers to). */
export const NET_F_CSUM = 1n << 0n;
export const NET_F_GUEST_CSUM = 1n << 1n;
export const NET_F_MTU = 1n << 3n;
export const NET_F_MAC = 1n << 5n;
export const NET_F_GUEST_TSO4 = 1n << 7n;
export const NET_F_GUEST_TSO6 = 1n << 8n;
export const NET_F_GUEST_ECN = 1n << 9n;
export const NET_F_GUEST_UFO = 1n << 10n;
export const NET_F_HOST_TSO4 = 1n << 11n;
export const NET_F_HOST_TSO6 = 1n << 12n;
export const NET_F_HOST_ECN = 1n << 13n;
export const NET_F_HOST_UFO = 1n << 14n;
export const NET_F_MRG_RXBUF = 1n << 15n;
export const NET_F_STATUS = 1n << 16n;

/** §5.1.4 virtio_net_config: mac[6], le16 status, le16 max_virtqueue_pairs, le16 mtu. */
export const CFG_MAC = 0;
export const CFG_STATUS = 6;
export const CFG_MAX_VIRTQUEUE_PAIRS = 8;
export const CFG_MTU = 10;
export const CFG_SIZE = 12;
export const NET_S_LINK_UP = 1;

/**
 * §5.1.6 virtio_net_hdr with VERSION_1: u8 flags, u8 gso_type, le16 hdr_len, le16 gso_size,
 * le16 csum_start, le16 csum_offset, le16 num_buffers — 12 bytes in front of every frame.
 */
export const NET_HDR_SIZE = 12;
export const HDR_F_NEEDS_CSUM = 1;
export const HDR_F_DATA_VALID = 2;
export const HDR_GSO_NONE = 0;
export const HDR_GSO_TCPV4 = 1;
export const HDR_GSO_TCPV6 = 4;
export const HDR_GSO_ECN = 0x80;
/** The offloads a header-carrying port lets through (FramePort.offloads), both ways. */
const PASSTHROUGH_FEATURES = NET_F_CSUM | NET_F_GUEST_CSUM | NET_F_GUEST_TSO4 | NET_F_GUEST_TSO6 | NET_F_GUEST_ECN
  | NET_F_HOST_TSO4 | NET_F_HOST_TSO6 | NET_F_HOST_ECN;

/** §5.1.2: receiveq1, transmitq1 (no control queue, one pair). */
export const RX_QUEUE = 0;
export const TX_QUEUE = 1;
export const NET_QUEUE_SIZE = 256;

/** Ethernet header: destination, source, EtherType. */
export const ETH_HEADER_SIZE = 14;
/**
 * The largest frame either way: an IP packet of 65535 bytes behind an Ethernet header with one VLAN
 * tag. A guest chain or a backend frame beyond it is refused and counted.
 */
export const NET_MAX_FRAME = 65535 + ETH_HEADER_SIZE + 4;

/**
 * Frames from the network wait here while the guest has no receive buffers: at most this many, and
 * this many bytes. The port is paused at half, so a socket stops being read long before anything is
 * dropped; what still arrives beyond the bound is dropped and counted, never buffered without limit.
 */
export const RX_PENDING_MAX_FRAMES = 512;
export const RX_PENDING_MAX_BYTES = 4 * 1024 * 1024;

/** Firecracker's NetDeviceMetrics (net/metrics.rs) in camelCase, plus wisp's own at the end. */
export interface NetMetrics {
  activateFails: number;
  cfgFails: number;
  /** A frame was waiting and the guest had no receive buffer for it. */
  noRxAvailBuffer: number;
  noTxAvailBuffer: number;
  eventFails: number;
  rxQueueEventCount: number;
  rxEventRateLimiterCount: number;
  rxRateLimiterThrottled: number;
  /** Frames that arrived from the port (Firecracker counts tap readiness events). */
  rxTapEventCount: number;
  rxBytesCount: number;
  rxPacketsCount: number;
  /** Frames not delivered: too big for the guest's buffers or for any Ethernet frame. */
  rxFails: number;
  rxCount: number;
  txBytesCount: number;
  txMalformedFrames: number;
  txFails: number;
  txCount: number;
  txPacketsCount: number;
  txQueueEventCount: number;
  txRateLimiterEventCount: number;
  txRateLimiterThrottled: number;
  /** Frames whose source MAC is not the interface's (sent anyway, as Firecracker does). */
  txSpoofedMacCount: number;
  // wisp's own.
  /** Frames dropped because the pending receive queue was full (the guest was not taking frames). */
  rxDroppedFrames: number;
  /** Receive chains the guest offered that cannot hold a frame (device-readable, malformed, < 12 bytes). */
  rxInvalidBuffers: number;
  /** Transmitted frames whose checksum the device completed for the guest (VIRTIO_NET_F_CSUM). */
  txChecksumsCompleted: number;
  /** Transmitted segments larger than the MTU, for the host's kernel to cut (TSO through the port). */
  txSegmentsOffloaded: number;
  /** Times the port was paused because frames were piling up. */
  rxBackpressure: number;
}

function newMetrics(): NetMetrics {
  return {
    activateFails: 0, cfgFails: 0, noRxAvailBuffer: 0, noTxAvailBuffer: 0, eventFails: 0,
    rxQueueEventCount: 0, rxEventRateLimiterCount: 0, rxRateLimiterThrottled: 0, rxTapEventCount: 0,
    rxBytesCount: 0, rxPacketsCount: 0, rxFails: 0, rxCount: 0, txBytesCount: 0, txMalformedFrames: 0,
    txFails: 0, txCount: 0, txPacketsCount: 0, txQueueEventCount: 0, txRateLimiterEventCount: 0,
    txRateLimiterThrottled: 0, txSpoofedMacCount: 0, rxDroppedFrames: 0, rxInvalidBuffers: 0,
    txChecksumsCompleted: 0, txSegmentsOffloaded: 0, rxBackpressure: 0,
  };
}

export interface NetOptions {
  /** Offered as VIRTIO_NET_F_MAC when given; without it the guest picks its own (as on Firecracker). */
  mac?: Uint8Array;
  /** Offered as VIRTIO_NET_F_MTU when given (68…65535). */
  mtu?: number;
  /** Firecracker's rx_rate_limiter: one op and the frame's bytes per received frame. */
  rxRateLimiter?: RateLimiter;
  /** Firecracker's tx_rate_limiter: one op and the frame's bytes per transmitted frame. */
  txRateLimiter?: RateLimiter;
  /**
   * Offer VIRTIO_NET_F_CSUM: the guest may leave checksums for the device to complete, which it does
   * before the frame reaches the port (the port always gets whole, correct frames).
   */
  txChecksumOffload?: boolean;
  /**
   * The port's frames carry checksums it computed itself (passt builds every frame it sends): offer
   * VIRTIO_NET_F_GUEST_CSUM and mark received frames DATA_VALID, so the guest does not check them
   * again. Not for a tap, which may forward frames it did not build.
   */
  rxChecksumsValid?: boolean;
}

/**
 * virtio-net's own part of a snapshot (the transport holds features, queues and interrupts). Frames
 * waiting for the guest are not kept (the network resends what matters, as it would after a lost
 * packet); the backend behind the port is a new one after a restore.
 */
export interface NetState {
  version: 1;
  /** The link was up (a link that had gone down comes back up with the new backend: announced). */
  linkUp: boolean;
  rxThrottled: boolean;
  txThrottled: boolean;
  rxRateLimiter: RateLimiterSnapshot | null;
  txRateLimiter: RateLimiterSnapshot | null;
}

/**
 * virtio-net (virtio 1.2 §5.1), one queue pair over a FramePort. Receive: frames from the port wait
 * in a bounded queue until the guest offers buffers; with MRG_RXBUF a frame may span several chains
 * (num_buffers). Transmit: every chain is one frame behind a virtio_net_hdr, copied out and sent.
 * Over a port that carries headers (FramePort.offloads: a tap) the headers pass through both ways and
 * the guest may send and receive 64 KiB TCP segments with partial checksums, which the host's kernel
 * cuts and completes; over any other port the device sends and receives whole frames.
 * Whatever the guest puts in its rings, the device answers as the spec says and counts it; a guest
 * that stops taking frames costs a bounded queue, and pauses the port.
 */
export class VirtioNet implements VirtioDevice {
  readonly deviceType = DEVICE_ID_NET;
  readonly availableFeatures: bigint;
  readonly queueMaxSizes = [NET_QUEUE_SIZE, NET_QUEUE_SIZE] as const;
  readonly metrics: NetMetrics = newMetrics();
  readonly mac: Uint8Array | undefined;

  private readonly config = new ConfigSpace(CFG_SIZE);
  private rxQueue: Queue | null = null;
  private txQueue: Queue | null = null;
  private interrupt: VirtioInterrupt | null = null;
  private features = 0n;
  private mergeable = false;
  private checksumOut = false;
  private dataValid = false;
  /** The port carries virtio_net_hdrs: frames from it and to it begin with one (see FramePort.offloads). */
  private readonly passthrough: boolean;

  /** Frames from the port not yet given to the guest (bounded by RX_PENDING_MAX_*). */
  private pending: Uint8Array[] = [];
  private pendingHead = 0;
  private pendingBytes = 0;
  private portPaused = false;
  /** Receive chains popped and not yet used, with their writable capacity. */
  private held: { chain: DescriptorChain; cap: number; seq: number }[] = [];
  private heldCap = 0;
  /**
   * Receive chains popped so far (unusable ones included); each held chain keeps its number, so a
   * snapshot knows whether the held ones are the last ones popped and can go back with undoPop().
   */
  private rxPops = 0;
  private rxThrottled = false;
  private txThrottled = false;
  /** The port said it is congested: transmit chains stay in the ring until it drains. */
  private txBlocked = false;
  private delivering = false;

  constructor(
    private readonly port: FramePort,
    private readonly opts: NetOptions = {},
  ) {
    if (opts.mac && opts.mac.length !== 6) throw new RangeError('a MAC address is 6 bytes');
    if (opts.mtu !== undefined && (!Number.isInteger(opts.mtu) || opts.mtu < 68 || opts.mtu > 65535)) {
      throw new RangeError(`MTU ${opts.mtu} is outside 68 to 65535`);
    }
    this.mac = opts.mac && Uint8Array.from(opts.mac);
    let f = F_VERSION_1 | F_INDIRECT_DESC | F_EVENT_IDX | NET_F_MRG_RXBUF | NET_F_STATUS;
    if (this.mac) f |= NET_F_MAC;
    if (opts.mtu !== undefined) f |= NET_F_MTU;
    if (opts.txChecksumOffload) f |= NET_F_CSUM;
    if (opts.rxChecksumsValid) f |= NET_F_GUEST_CSUM;
    this.passthrough = port.offloads !== undefined;
    if (this.passthrough) {
      f |= PASSTHROUGH_FEATURES;
      port.offloads!.useHeaders();
    }
    this.availableFeatures = f;
    if (this.mac) this.config.bytes.set(this.mac, CFG_MAC);
    this.config.setU16(CFG_STATUS, NET_S_LINK_UP);
    this.config.setU16(CFG_MAX_VIRTQUEUE_PAIRS, 1);
    if (opts.mtu !== undefined) this.config.setU16(CFG_MTU, opts.mtu);
    port.attach({ receive: (frame) => this.receive(frame), drained: () => this.drained(), linkDown: () => this.linkDown() });
  }

  readConfig(offset: number, size: 1 | 2 | 4): number {
    return this.config.read(offset, size);
  }

  writeConfig(_offset: number, _size: 1 | 2 | 4, _value: number): void {
    // §5.1.4: every field is read-only for a VERSION_1 driver (the MAC was writable only in legacy).
    this.metrics.cfgFails++;
  }

  activate(_memory: GuestMemory, queues: readonly Queue[], interrupt: VirtioInterrupt, acked: bigint): ActivateError | null {
    const rx = queues[RX_QUEUE], tx = queues[TX_QUEUE];
    if (!rx?.activated || !tx?.activated) {
      this.metrics.activateFails++;
      return 'queue-not-ready';
    }
    this.rxQueue = rx;
    this.txQueue = tx;
    this.interrupt = interrupt;
    this.features = acked;
    this.mergeable = (acked & NET_F_MRG_RXBUF) !== 0n;
    this.checksumOut = (acked & NET_F_CSUM) !== 0n;
    this.dataValid = (acked & NET_F_GUEST_CSUM) !== 0n && this.opts.rxChecksumsValid === true;
    this.port.offloads?.setGuestOffloads({
      csum: (acked & NET_F_GUEST_CSUM) !== 0n, tso4: (acked & NET_F_GUEST_TSO4) !== 0n,
      tso6: (acked & NET_F_GUEST_TSO6) !== 0n, ecn: (acked & NET_F_GUEST_ECN) !== 0n,
    });
    this.deliver();
    return null;
  }

  reset(): void {
    this.rxQueue = this.txQueue = null;
    this.interrupt = null;
    this.features = 0n;
    // A driver starting again has accepted no offload yet: the host finishes every frame meanwhile.
    this.port.offloads?.setGuestOffloads({ csum: false, tso4: false, tso6: false, ecn: false });
    // Held chains belonged to the old queue. Frames that arrived stay (bounded), as they do before
    // the first DRIVER_OK: a driver reloading gets what the network sent meanwhile.
    this.held = [];
    this.heldCap = 0;
    this.rxThrottled = this.txThrottled = false;
    this.txBlocked = false;
  }

  processQueue(index: number): void {
    if (index === RX_QUEUE && this.rxQueue) {
      this.metrics.rxQueueEventCount++;
      this.deliver();
    } else if (index === TX_QUEUE && this.txQueue) {
      this.metrics.txQueueEventCount++;
      this.transmit();
    }
  }

  retryDelayMs(): number {
    let ms = Infinity;
    if (this.rxThrottled) ms = Math.min(ms, this.opts.rxRateLimiter?.blockedForMs() ?? 0);
    if (this.txThrottled) ms = Math.min(ms, this.opts.txRateLimiter?.blockedForMs() ?? 0);
    return ms;
  }

  retry(): void {
    if (this.rxThrottled && (this.opts.rxRateLimiter?.blockedForMs() ?? 0) <= 0) {
      this.rxThrottled = false;
      this.metrics.rxEventRateLimiterCount++;
      this.deliver();
    }
    if (this.txThrottled && (this.opts.txRateLimiter?.blockedForMs() ?? 0) <= 0) {
      this.txThrottled = false;
      this.metrics.txRateLimiterEventCount++;
      this.transmit();
    }
  }

  /**
   * The device's part of a snapshot. Receive chains popped and not yet used go back to the avail ring
   * first (the transport saves the queues after this), so the restored device pops them again; the
   * running device does the same. If an unusable chain was popped (and returned) after them, they are
   * not the last ones popped and cannot be put back: they are returned empty instead, as unusable
   * chains are (only a guest posting malformed buffers gets there). Frames waiting for the guest stay
   * with the running device and are not saved: after a restore the network resends what matters, as
   * after a lost packet (Firecracker drops its deferred frame too).
   */
  save(): NetState {
    const q = this.rxQueue;
    if (q && this.held.length > 0) {
      const first = this.held[0]!.seq, last = this.held[this.held.length - 1]!.seq;
      if (last === this.rxPops && last - first + 1 === this.held.length) {
        for (let i = 0; i < this.held.length; i++) q.undoPop();
      } else {
        for (const { chain } of this.held) q.addUsed(chain.head, 0);
        this.metrics.rxInvalidBuffers += this.held.length;
        if (q.needsNotification()) this.interrupt?.signalUsedBuffer(RX_QUEUE);
      }
    }
    this.held = [];
    this.heldCap = 0;
    return {
      version: 1,
      linkUp: (this.config.read(CFG_STATUS, 2) & NET_S_LINK_UP) !== 0,
      rxThrottled: this.rxThrottled,
      txThrottled: this.txThrottled,
      rxRateLimiter: this.opts.rxRateLimiter?.save() ?? null,
      txRateLimiter: this.opts.txRateLimiter?.save() ?? null,
    };
  }

  /**
   * Takes a saved state after the restored transport re-activated the device over its new port (a new
   * passt, a reopened tap): throttling and limiter budgets as saved. The new backend's link is up; a
   * guest that had seen it go down is told it came back (a config change, §5.1.4.2). Throws RangeError
   * on a state that is not a version 1 net state (the caller discards the whole machine).
   */
  restore(state: unknown): void {
    const s = state as NetState;
    if (typeof s !== 'object' || s === null || s.version !== 1 || typeof s.linkUp !== 'boolean' || typeof s.rxThrottled !== 'boolean' || typeof s.txThrottled !== 'boolean') {
      throw new RangeError('Cannot restore virtio-net: its state is not a version 1 net state');
    }
    for (const k of ['rxRateLimiter', 'txRateLimiter'] as const) {
      if (s[k] !== null && (typeof s[k] !== 'object' || Array.isArray(s[k]))) throw new RangeError(`Cannot restore virtio-net: ${k} must be a rate limiter state or null`);
    }
    if (s.rxRateLimiter) this.opts.rxRateLimiter?.restore(s.rxRateLimiter);
    if (s.txRateLimiter) this.opts.txRateLimiter?.restore(s.txRateLimiter);
    this.rxThrottled = s.rxThrottled && this.rxQueue !== null && this.opts.rxRateLimiter !== undefined;
    this.txThrottled = s.txThrottled && this.txQueue !== null && this.opts.txRateLimiter !== undefined;
    if (!s.linkUp && this.interrupt && (this.features & NET_F_STATUS) !== 0n) this.interrupt.signalConfigChange();
  }

  /** Frames waiting for the guest (for tests and metrics). */
  get pendingFrames(): number {
    return this.pending.length - this.pendingHead;
  }

  /** The features the driver accepted (0 until DRIVER_OK). */
  get negotiatedFeatures(): bigint {
    return this.features;
  }

  // ---- receive: port → guest ----

  private receive(frame: Uint8Array): void {
    this.metrics.rxTapEventCount++;
    const hdrLen = this.passthrough ? NET_HDR_SIZE : 0;
    if (frame.length < hdrLen + ETH_HEADER_SIZE || frame.length > hdrLen + NET_MAX_FRAME) {
      this.metrics.rxFails++;
      return;
    }
    if (this.pendingFrames >= RX_PENDING_MAX_FRAMES || this.pendingBytes + frame.length > RX_PENDING_MAX_BYTES) {
      this.metrics.rxDroppedFrames++;
      this.pausePort();
      return;
    }
    this.pending.push(frame);
    this.pendingBytes += frame.length;
    if (this.pendingFrames >= RX_PENDING_MAX_FRAMES / 2 || this.pendingBytes >= RX_PENDING_MAX_BYTES / 2) this.pausePort();
    // (An interrupt raised here, outside the hart's run, also wakes an idle machine: the board's IRQ
    // lines do that for every virtio slot.)
    if (this.rxQueue && !this.delivering) this.deliver();
  }

  /**
   * Moves pending frames into the guest's receive buffers while both last. Returns whether the
   * guest was notified.
   */
  private deliver(): boolean {
    const q = this.rxQueue;
    if (!q || this.delivering) return false;
    this.delivering = true;
    let used = false;
    try {
      while (this.pendingFrames > 0 && !this.rxThrottled) {
        const frame = this.pending[this.pendingHead]!;
        // (A header-carrying port's frames bring their header: it is the one the guest gets.)
        const bytes = this.passthrough ? frame.length - NET_HDR_SIZE : frame.length;
        const need = NET_HDR_SIZE + bytes;
        if (!this.collectBuffers(q, need)) {
          this.metrics.noRxAvailBuffer++;
          break;
        }
        if (!this.mergeable && this.held[0]!.cap < need) {
          // A frame larger than the buffers this driver posts (its MTU): it cannot be received.
          this.takePending();
          this.metrics.rxFails++;
          continue;
        }
        const limiter = this.opts.rxRateLimiter;
        if (limiter && !limiter.admit(bytes)) {
          this.rxThrottled = true;
          this.metrics.rxRateLimiterThrottled++;
          break;
        }
        this.takePending();
        if (this.passthrough) this.writeFrame(q, frame.subarray(NET_HDR_SIZE), frame.subarray(0, NET_HDR_SIZE));
        else this.writeFrame(q, frame);
        used = true;
        this.metrics.rxBytesCount += bytes;
        this.metrics.rxPacketsCount++;
        this.metrics.rxCount++;
      }
      if (this.pendingFrames === 0) {
        this.pending = [];
        this.pendingHead = 0;
      } else if (this.pendingHead > 64 && this.pendingHead * 2 > this.pending.length) {
        this.pending = this.pending.slice(this.pendingHead);
        this.pendingHead = 0;
      }
      if (this.pendingFrames <= RX_PENDING_MAX_FRAMES / 4 && this.pendingBytes <= RX_PENDING_MAX_BYTES / 4) this.resumePort();
      if (!used || !q.needsNotification()) return false;
      this.interrupt!.signalUsedBuffer(RX_QUEUE);
      return true;
    } finally {
      this.delivering = false;
    }
  }

  private takePending(): void {
    const f = this.pending[this.pendingHead]!;
    this.pending[this.pendingHead++] = EMPTY;
    this.pendingBytes -= f.length;
  }

  /**
   * Pops receive chains until the held ones can take `need` bytes (one chain that big without
   * MRG_RXBUF). Unusable chains go straight back with len 0. False if the guest has too few buffers.
   */
  private collectBuffers(q: Queue, need: number): boolean {
    for (;;) {
      if (this.mergeable ? this.heldCap >= need : this.held.length > 0) return true;
      const chain = q.pop();
      if (!chain) return false;
      this.rxPops++;
      const cap = chain.error || chain.readable.length > 0 ? 0 : chain.writer().total;
      if (cap < NET_HDR_SIZE) {
        // §5.1.6.3: receive buffers are device-writable and hold at least the header.
        this.metrics.rxInvalidBuffers++;
        q.addUsed(chain.head, 0);
        continue;
      }
      this.held.push({ chain, cap, seq: this.rxPops });
      this.heldCap += cap;
    }
  }

  /**
   * Writes the header (the port's `portHdr`, else the device's own) and frame into as many held chains
   * as it takes, each returned with its length.
   */
  private writeFrame(q: Queue, frame: Uint8Array, portHdr?: Uint8Array): void {
    const hdr = HEADER_SCRATCH;
    hdr.fill(0);
    if (portHdr) hdr.set(portHdr);
    else if (this.dataValid) hdr[0] = HDR_F_DATA_VALID;
    // Count the chains first: num_buffers goes in the header, in the first chain.
    let chains = 0;
    for (let covered = 0; covered < NET_HDR_SIZE + frame.length; chains++) covered += this.held[chains]!.cap;
    hdr[10] = chains & 0xff;
    hdr[11] = chains >>> 8;
    let at = 0;
    for (let i = 0; i < chains; i++) {
      const { chain, cap } = this.held.shift()!;
      this.heldCap -= cap;
      const w = chain.writer();
      let n = i === 0 ? w.write(hdr) : 0;
      n += w.write(frame.subarray(at, at + (cap - n)));
      at += n - (i === 0 ? NET_HDR_SIZE : 0);
      q.addUsed(chain.head, n);
    }
  }

  private pausePort(): void {
    if (this.portPaused) return;
    this.portPaused = true;
    this.metrics.rxBackpressure++;
    this.port.pause();
  }

  private resumePort(): void {
    if (!this.portPaused) return;
    this.portPaused = false;
    this.port.resume();
  }

  private linkDown(): void {
    this.config.setU16(CFG_STATUS, 0);
    this.metrics.eventFails++;
    if (this.interrupt && (this.features & NET_F_STATUS) !== 0n) this.interrupt.signalConfigChange();
  }

  // ---- transmit: guest → port ----

  private drained(): void {
    if (!this.txBlocked) return;
    this.txBlocked = false;
    if (this.txQueue) this.transmit();
  }

  /** Sends what the guest queued, until the ring is empty, a limiter throttles or the port is congested. Returns whether the guest was notified. */
  private transmit(): boolean {
    const q = this.txQueue;
    if (!q || this.txThrottled || this.txBlocked) return false;
    let any = false;
    for (let chain = q.pop(); chain; chain = q.pop()) {
      any = true;
      const r = chain.error || chain.writable.length > 0 ? null : chain.reader();
      const total = r?.total ?? 0;
      if (!r || total < NET_HDR_SIZE + ETH_HEADER_SIZE || total > NET_HDR_SIZE + NET_MAX_FRAME) {
        this.metrics.txMalformedFrames++;
        q.addUsed(chain.head, 0);
        continue;
      }
      const limiter = this.opts.txRateLimiter;
      if (limiter && !limiter.admit(total - NET_HDR_SIZE)) {
        q.undoPop();
        this.txThrottled = true;
        this.metrics.txRateLimiterThrottled++;
        break;
      }
      let out: Uint8Array, frame: Uint8Array, ok: boolean;
      if (this.passthrough) {
        // The header goes on with the frame, in one array: the host's kernel segments and checksums.
        out = new Uint8Array(total);
        r.read(out);
        frame = out.subarray(NET_HDR_SIZE);
        ok = this.passHeader(out);
      } else {
        const hdr = HEADER_SCRATCH;
        r.read(hdr);
        out = frame = new Uint8Array(total - NET_HDR_SIZE);
        r.read(frame);
        ok = this.prepareFrame(hdr, frame);
      }
      q.addUsed(chain.head, 0);
      if (!ok) {
        this.metrics.txMalformedFrames++;
        continue;
      }
      if (this.mac && !sameMac(frame, 6, this.mac)) this.metrics.txSpoofedMacCount++;
      this.metrics.txBytesCount += frame.length;
      this.metrics.txPacketsCount++;
      this.metrics.txCount++;
      if (!this.port.send(out)) {
        this.txBlocked = true;
        break;
      }
    }
    if (!any) this.metrics.noTxAvailBuffer++;
    if (!q.needsNotification()) return false;
    this.interrupt!.signalUsedBuffer(TX_QUEUE);
    return true;
  }

  /**
   * Checks a header that goes on to a header-carrying port: only the offloads the driver accepted
   * (a segment of TCP over IPv4 or IPv6, a checksum left to complete, inside the frame), and
   * num_buffers zero. The host's kernel checks the rest (a header it refuses fails the write).
   */
  private passHeader(out: Uint8Array): boolean {
    const gso = out[1]! & ~HDR_GSO_ECN;
    if (gso !== HDR_GSO_NONE) {
      const ok = (gso === HDR_GSO_TCPV4 && (this.features & NET_F_HOST_TSO4) !== 0n)
        || (gso === HDR_GSO_TCPV6 && (this.features & NET_F_HOST_TSO6) !== 0n);
      if (!ok || ((out[1]! & HDR_GSO_ECN) !== 0 && (this.features & NET_F_HOST_ECN) === 0n)) return false;
    }
    if (out[0]! & HDR_F_NEEDS_CSUM) {
      if (!this.checksumOut) return false;
      const start = out[6]! | (out[7]! << 8), offset = out[8]! | (out[9]! << 8);
      if (NET_HDR_SIZE + start + offset + 2 > out.length) return false;
    }
    if (gso !== HDR_GSO_NONE) this.metrics.txSegmentsOffloaded++;
    out[10] = out[11] = 0;
    return true;
  }

  /**
   * Applies the header: completes a checksum the guest left to the device (§5.1.6.2 NEEDS_CSUM:
   * the ones' complement sum from csum_start to the end, stored at csum_start + csum_offset). A
   * segmentation request was never offered, so it makes the frame malformed.
   */
  private prepareFrame(hdr: Uint8Array, frame: Uint8Array): boolean {
    if (hdr[1] !== HDR_GSO_NONE) return false;
    if (hdr[0]! & HDR_F_NEEDS_CSUM) {
      if (!this.checksumOut) return false;
      const start = hdr[6]! | (hdr[7]! << 8);
      const offset = hdr[8]! | (hdr[9]! << 8);
      if (start + offset + 2 > frame.length) return false;
      const at = start + offset;
      const sum = onesComplementSum(frame, start, frame.length);
      const csum = ~sum & 0xffff;
      frame[at] = csum >>> 8;
      frame[at + 1] = csum & 0xff;
      this.metrics.txChecksumsCompleted++;
    }
    return true;
  }
}

const EMPTY = new Uint8Array(0);
const HEADER_SCRATCH = new Uint8Array(NET_HDR_SIZE);

function sameMac(frame: Uint8Array, at: number, mac: Uint8Array): boolean {
  for (let i = 0; i < 6; i++) if (frame[at + i] !== mac[i]) return false;
  return true;
}

/** RFC 1071: the 16-bit ones' complement sum of bytes [from, to), big-endian words, folded. */
export function onesComplementSum(b: Uint8Array, from: number, to: number): number {
  let sum = 0;
  let i = from;
  // Sums of 16-bit words stay exact in a double far beyond any frame's length; fold once at the end.
  for (; i + 1 < to; i += 2) sum += (b[i]! << 8) | b[i + 1]!;
  if (i < to) sum += b[i]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return sum;
}
