import type { GuestMemory } from '../../../memory/guest-memory.js';
import { ConfigSpace } from '../config-space.js';
import type { Queue } from '../queue.js';
import { DEVICE_ID_VSOCK, F_EVENT_IDX, F_INDIRECT_DESC, F_VERSION_1 } from '../spec.js';
import type { ActivateError, VirtioDevice, VirtioInterrupt } from '../virtio-device.js';
import type { VsockBackend } from './vsock-backend.js';
import { newVsockMetrics, type VsockMetrics } from './vsock-metrics.js';
import { VsockMuxer } from './vsock-muxer.js';
import {
  EVENT_SIZE,
  EVENT_TRANSPORT_RESET,
  HDR_SIZE,
  MAX_GUEST_CID,
  MAX_PKT_PAYLOAD,
  MIN_GUEST_CID,
  OP_RW,
  emptyHeader,
  readHeader,
  writeHeader,
} from './vsock-packet.js';

/** §5.10.2: receiveq, transmitq, eventq. */
export const RXQ = 0;
export const TXQ = 1;
export const EVQ = 2;
export const VSOCK_QUEUE_SIZE = 256;
/** §5.10.4: struct virtio_vsock_config { le64 guest_cid; }. */
export const CFG_GUEST_CID = 0;
export const CFG_SIZE = 8;

export interface VsockOptions {
  /** The guest's context id (§5.10.4): 3 … 2^32 - 2. */
  guestCid: number;
  backend: VsockBackend;
  /** Milliseconds of a monotonic clock, for the connections' kill timers; default performance.now(). */
  now?: () => number;
}

/** The device's snapshot: what survives a snapshot. Connections do not (the guest is told to drop them). */
export interface VsockState {
  guestCid: number;
  /** A TRANSPORT_RESET event sits in the event queue, not yet acknowledged by the guest. */
  pendingEventAck: boolean;
}

/**
 * virtio-vsock (virtio 1.2 §5.10), stream sockets, with the host side behind a VsockBackend
 * (Firecracker's hybrid model in production). The device moves packets between the virtqueues and the
 * connection table (vsock-muxer.ts); connections do the protocol (vsock-connection.ts).
 *
 * Guest input it checks: TX chains must hold a 44-byte header and the `len` it announces, at most
 * 64 KiB (else returned unread and counted); RX chains must fit a header (else returned with len 0).
 * Packets are always consumed from the TX queue: back-pressure toward the guest is its credit, and a
 * guest that overruns it loses the connection. Backend events arrive between device calls and are
 * turned into RX packets at once, raising the used-buffer interrupt.
 *
 * Snapshots: sendTransportReset() puts TRANSPORT_RESET in the event queue (the guest then drops every
 * connection and re-reads its CID) and holds RX back until the guest acknowledges it by refilling the
 * event queue, as Firecracker does.
 */
export class VirtioVsock implements VirtioDevice {
  readonly deviceType = DEVICE_ID_VSOCK;
  readonly availableFeatures = F_VERSION_1 | F_INDIRECT_DESC | F_EVENT_IDX;
  readonly queueMaxSizes = [VSOCK_QUEUE_SIZE, VSOCK_QUEUE_SIZE, VSOCK_QUEUE_SIZE] as const;
  readonly metrics: VsockMetrics = newVsockMetrics();
  readonly guestCid: number;

  private readonly config = new ConfigSpace(CFG_SIZE);
  private readonly muxer: VsockMuxer;
  private queues: readonly Queue[] | null = null;
  private interrupt: VirtioInterrupt | null = null;
  private pendingEventAck = false;
  /** Inside a device call: backend readiness is handled before the call returns. */
  private busy = false;
  private rxWanted = false;
  private readonly hdrBuf = new Uint8Array(HDR_SIZE);
  private readonly rxHdr = emptyHeader();
  private readonly txHdr = emptyHeader();

  constructor(opts: VsockOptions) {
    if (!Number.isInteger(opts.guestCid) || opts.guestCid < MIN_GUEST_CID || opts.guestCid > MAX_GUEST_CID) {
      throw new RangeError(`Cannot create a vsock device with guest CID ${opts.guestCid}: it must be between ${MIN_GUEST_CID} and ${MAX_GUEST_CID}`);
    }
    this.guestCid = opts.guestCid;
    this.config.setU64(CFG_GUEST_CID, opts.guestCid);
    const now = opts.now ?? (() => performance.now());
    this.muxer = new VsockMuxer(opts.guestCid, opts.backend, this.metrics, now, () => this.backendReady());
  }

  /** Connections alive now (tests, metrics). */
  get connectionCount(): number {
    return this.muxer.connectionCount;
  }

  get isActive(): boolean {
    return this.queues !== null;
  }

  readConfig(offset: number, size: 1 | 2 | 4): number {
    return this.config.read(offset, size);
  }

  writeConfig(_offset: number, _size: 1 | 2 | 4, _value: number): void {
    // §5.10.4: guest_cid is read-only.
    this.metrics.cfgFails++;
  }

  activate(_memory: GuestMemory, queues: readonly Queue[], interrupt: VirtioInterrupt): ActivateError | null {
    if (queues.length !== 3 || !queues.every((q) => q.activated)) {
      this.metrics.activateFails++;
      return 'queue-not-ready';
    }
    this.queues = queues;
    this.interrupt = interrupt;
    this.muxer.start();
    return null;
  }

  reset(): void {
    this.muxer.reset();
    this.queues = null;
    this.interrupt = null;
    this.pendingEventAck = false;
    this.rxWanted = false;
  }

  processQueue(index: number): void {
    if (!this.queues) return;
    this.enter(() => {
      switch (index) {
        case RXQ:
          this.metrics.rxQueueEventCount++;
          this.rxWanted = true;
          return;
        case TXQ:
          this.metrics.txQueueEventCount++;
          this.processTx();
          return;
        case EVQ:
          // The guest refilled the event queue: its acknowledgement of a TRANSPORT_RESET.
          this.pendingEventAck = false;
          this.rxWanted = true;
          return;
      }
    });
  }

  retryDelayMs(): number {
    return this.queues ? this.muxer.nextExpiryMs() : Infinity;
  }

  retry(): void {
    if (!this.queues) return;
    this.enter(() => this.muxer.sweep());
  }

  /**
   * Before a snapshot (Firecracker's prepare_save): tells the guest, through the event queue, that
   * every connection is gone, and drops them on the host side too. False if the guest left no event
   * buffer (counted in evQueueEventFails), as Firecracker reports.
   */
  sendTransportReset(): boolean {
    const q = this.queues?.[EVQ];
    if (!q) return false;
    if (this.pendingEventAck) {
      // The guest has not taken the last reset yet; that one says the same.
      this.muxer.dropConnections();
      return true;
    }
    const chain = q.pop();
    if (!chain || chain.error || chain.writer().total < EVENT_SIZE) {
      if (chain) q.addUsed(chain.head, 0);
      this.metrics.evQueueEventFails++;
      return false;
    }
    const ev = new Uint8Array(EVENT_SIZE);
    new DataView(ev.buffer).setUint32(0, EVENT_TRANSPORT_RESET, true);
    chain.writer().write(ev);
    q.addUsed(chain.head, EVENT_SIZE);
    // The guest acknowledges by refilling the event queue: make sure that refill is announced.
    q.armAvailEvent();
    this.pendingEventAck = true;
    this.metrics.transportResets++;
    this.muxer.dropConnections();
    this.interrupt!.signalUsedBuffer(EVQ);
    return true;
  }

  save(): VsockState {
    return { guestCid: this.guestCid, pendingEventAck: this.pendingEventAck };
  }

  /**
   * Restores the device state after its transport (and queues) were restored and activated; a reset
   * event the guest had not acknowledged yet is signalled again so the guest sees it. The state comes
   * from a file: anything that is not a VsockState of this CID is refused with a clear error.
   */
  restore(state: unknown): void {
    const s = state as Partial<VsockState> | null;
    if (typeof s !== 'object' || s === null || typeof s.guestCid !== 'number' || typeof s.pendingEventAck !== 'boolean') {
      throw new RangeError('Cannot restore the vsock device: its state is not { guestCid, pendingEventAck }');
    }
    if (s.guestCid !== this.guestCid) {
      throw new RangeError(`Cannot restore vsock state of guest CID ${s.guestCid} into a device with CID ${this.guestCid}`);
    }
    this.pendingEventAck = s.pendingEventAck;
    this.muxer.skipLocalPorts();
    if (this.pendingEventAck) this.interrupt?.signalUsedBuffer(EVQ);
  }

  /** Runs a device call; RX that becomes ready meanwhile is delivered before it returns. */
  private enter(fn: () => void): void {
    if (this.busy) {
      fn();
      return;
    }
    this.busy = true;
    try {
      fn();
      while (this.rxWanted && this.queues) {
        this.rxWanted = false;
        this.processRx();
      }
    } finally {
      this.busy = false;
    }
  }

  /** The backend (a host stream, a connect, a timer) may have made a packet ready. */
  private backendReady(): void {
    if (!this.queues) return;
    this.rxWanted = true;
    if (!this.busy) this.enter(() => {});
  }

  private processRx(): void {
    const q = this.queues![RXQ];
    if (this.pendingEventAck) return;
    const h = this.rxHdr;
    while (this.muxer.hasPendingRx) {
      const chain = q.pop();
      if (!chain) break;
      const w = chain.writer();
      if (chain.error || w.total < HDR_SIZE) {
        this.metrics.rxInvalidBuffers++;
        q.addUsed(chain.head, 0);
        continue;
      }
      w.skip(HDR_SIZE);
      if (!this.muxer.recvPkt(h, w)) {
        q.undoPop();
        break;
      }
      writeHeader(h, this.hdrBuf);
      chain.writer().write(this.hdrBuf);
      q.addUsed(chain.head, HDR_SIZE + h.len);
    }
    if (q.needsNotification()) this.interrupt!.signalUsedBuffer(RXQ);
  }

  private processTx(): void {
    const q = this.queues![TXQ];
    const h = this.txHdr;
    for (let chain = q.pop(); chain; chain = q.pop()) {
      const r = chain.reader();
      if (chain.error || r.total < HDR_SIZE) {
        this.metrics.txInvalidPackets++;
        q.addUsed(chain.head, 0);
        continue;
      }
      r.read(this.hdrBuf);
      readHeader(this.hdrBuf, h);
      if (h.len > MAX_PKT_PAYLOAD || h.len > r.remaining) {
        this.metrics.txInvalidPackets++;
        q.addUsed(chain.head, 0);
        continue;
      }
      let payload: Uint8Array | null = null;
      if (h.op === OP_RW && h.len > 0) {
        // A copy: the guest reuses the buffer once it is used, while the host may take its time.
        payload = new Uint8Array(h.len);
        r.read(payload);
      }
      this.muxer.sendPkt(h, payload);
      q.addUsed(chain.head, 0);
    }
    if (q.needsNotification()) this.interrupt!.signalUsedBuffer(TXQ);
    this.rxWanted = true;
  }
}
