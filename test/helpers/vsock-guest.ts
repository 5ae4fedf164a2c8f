/**
 * A guest vsock driver in miniature, for device tests: it plays Linux's virtio_transport over the
 * VirtqueueDriver (RX buffers kept filled, TX packets as header + payload descriptors, the event queue
 * stocked) and decodes what the device puts in the RX queue.
 */
import type { Rig } from '../../src/devices/virtio/virtio-device.case.js';
import { EVQ, RXQ, TXQ } from '../../src/devices/virtio/vsock/vsock.js';
import {
  HDR_SIZE,
  HOST_CID,
  OP_RW,
  TYPE_STREAM,
  emptyHeader,
  readHeader,
  writeHeader,
  type VsockHeader,
} from '../../src/devices/virtio/vsock/vsock-packet.js';

export interface GuestPacket {
  hdr: VsockHeader;
  payload: Uint8Array;
}

/** Linux's default per-socket receive buffer (VIRTIO_VSOCK_DEFAULT_BUF_SIZE). */
export const GUEST_BUF_ALLOC = 256 * 1024;
/** Linux's RX buffer: a 4 KiB payload after the header. */
export const GUEST_RX_BUF = HDR_SIZE + 4096;

export class VsockGuest {
  private readonly rxAddrs = new Map<number, number>();
  private readonly evAddrs = new Map<number, number>();

  constructor(
    readonly rig: Rig,
    readonly cid = 3,
  ) {}

  /** Driver init, `rxBuffers` RX buffers of `rxSize` bytes, and `evBuffers` event buffers. */
  init(opts: { rxBuffers?: number; rxSize?: number; evBuffers?: number } = {}): void {
    this.rig.driver.init();
    this.refillRx(opts.rxBuffers ?? 64, opts.rxSize ?? GUEST_RX_BUF);
    for (let i = 0; i < (opts.evBuffers ?? 4); i++) {
      const { head, addrs } = this.rig.driver.submit(EVQ, [{ writable: 4 }], { kick: false });
      this.evAddrs.set(head, addrs[0]);
    }
  }

  refillRx(n: number, size = GUEST_RX_BUF): void {
    for (let i = 0; i < n; i++) {
      const { head, addrs } = this.rig.driver.submit(RXQ, [{ writable: size }], { kick: false });
      this.rxAddrs.set(head, addrs[0]);
    }
    this.rig.driver.kick(RXQ);
  }

  /** A stream header from this guest to the host with sensible defaults. */
  header(fields: Partial<VsockHeader>): VsockHeader {
    return {
      ...emptyHeader(),
      srcCid: this.cid,
      dstCid: HOST_CID,
      type: TYPE_STREAM,
      bufAlloc: GUEST_BUF_ALLOC,
      ...fields,
    };
  }

  /** Sends one packet on the TX queue (header and payload in separate descriptors, as Linux does). */
  send(fields: Partial<VsockHeader>, payload?: Uint8Array): void {
    const h = this.header({ ...fields, len: fields.len ?? payload?.length ?? 0 });
    const hb = new Uint8Array(HDR_SIZE);
    writeHeader(h, hb);
    const bufs = payload && payload.length > 0 ? [{ data: hb }, { data: payload }] : [{ data: hb }];
    this.rig.driver.submit(TXQ, bufs);
    this.rig.driver.used(TXQ);
  }

  /** Sends raw bytes as one TX chain (hostile tests). */
  sendRaw(bytes: Uint8Array): number {
    const { head } = this.rig.driver.submit(TXQ, [{ data: bytes }]);
    const used = this.rig.driver.used(TXQ);
    return used.find((u) => u.id === head)?.len ?? -1;
  }

  /** Packets the device placed in the RX queue since the last call; their buffers go back (refilled). */
  receive(refill = true): GuestPacket[] {
    const out: GuestPacket[] = [];
    const used = this.rig.driver.used(RXQ);
    for (const u of used) {
      const addr = this.rxAddrs.get(u.id)!;
      this.rxAddrs.delete(u.id);
      if (u.len < HDR_SIZE) {
        out.push({ hdr: { ...emptyHeader(), op: -1 }, payload: new Uint8Array(0) });
        continue;
      }
      const bytes = this.rig.driver.peek(addr, u.len);
      const hdr = readHeader(bytes);
      out.push({ hdr, payload: bytes.slice(HDR_SIZE, HDR_SIZE + hdr.len) });
    }
    if (refill && used.length > 0) this.refillRx(used.length);
    return out;
  }

  /** Event-queue entries the device used: the event ids. */
  events(): number[] {
    return this.rig.driver.used(EVQ).map((u) => {
      const addr = this.evAddrs.get(u.id)!;
      return new DataView(this.rig.driver.peek(addr, 4).buffer).getUint32(0, true);
    });
  }

  /** Re-posts an event buffer and kicks the event queue (the guest's TRANSPORT_RESET acknowledgement). */
  ackEvent(): void {
    const { head, addrs } = this.rig.driver.submit(EVQ, [{ writable: 4 }]);
    this.evAddrs.set(head, addrs[0]);
  }

  /** Data payload bytes of RW packets for (hostPort → guestPort), concatenated. */
  static data(pkts: GuestPacket[]): Uint8Array {
    const parts = pkts.filter((p) => p.hdr.op === OP_RW).map((p) => p.payload);
    return Buffer.concat(parts);
  }
}
