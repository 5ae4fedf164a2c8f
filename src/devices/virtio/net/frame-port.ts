/**
 * The seam between a virtio-net device and whatever carries its frames (DESIGN.md "a frame port for
 * net"): passt, a tap device, an in-memory peer in tests. A FramePort is one end of a link that
 * carries whole Ethernet frames (destination MAC first, no virtio header, no FCS):
 *
 *   device ──send(frame)──▶ port ──▶ the network
 *   device ◀──receiver.receive(frame)── port ◀── the network
 *
 * Ports compose: a FrameFilter placed with `filterPort(inner, filter)` sees every frame the guest sends
 * before the inner port does, may keep it and answer with frames of its own (the MMDS responder), and
 * sees every frame the network sends before the guest does. The device cannot tell a filtered port
 * from a plain one.
 *
 * Flow control, both ways. Receive: a device whose guest has no receive buffers asks the port to
 * pause(); the port then stops taking frames from the network (a socket stops being read, so the host
 * side is held back, not dropped) until resume(). A port may still deliver a few frames after pause()
 * (whatever was already read); the device bounds what it keeps and counts what it drops. Transmit:
 * send() returning false means "taken, but hold the next ones": the device leaves further frames in
 * the guest's transmit queue until the port calls receiver.drained().
 */

/** What a port hands received frames to (the device, or the next filter up). */
export interface FrameReceiver {
  /** One frame from the network. The array is the receiver's to keep. */
  receive(frame: Uint8Array): void;
  /** After send() returned false: the port can take frames again. */
  drained?(): void;
  /** The port failed for good (the helper process died, the tap went away): the link is down. */
  linkDown?(reason: string): void;
}

export interface FramePort {
  /**
   * Sends one frame to the network; the port owns the array from now on. Returns false when the port
   * is congested (the frame was still taken): send no more until the receiver's drained() is called.
   * Never throws; a frame the port cannot send at all is dropped and counted by the port.
   */
  send(frame: Uint8Array): boolean;
  /** Sets where received frames go. Called once, before any frame flows. */
  attach(receiver: FrameReceiver): void;
  /** Stop taking frames from the network (the receiver has no room). Idempotent. */
  pause(): void;
  /** Take frames from the network again. Idempotent. */
  resume(): void;
  /** Releases the port's host resources. Idempotent; no frame is delivered afterwards. */
  close(): void;
  /**
   * Present when the port can carry frames with their virtio_net_hdr (a tap opened with
   * IFF_VNET_HDR): large segments and partial checksums then pass between the guest and the host's
   * kernel untouched (the device offers TSO and checksum offloads). A filter's port has none: it
   * reads frames.
   */
  readonly offloads?: OffloadingPort;
}

/** What a guest takes in received frames (its GUEST_* features): the port asks the host for no more. */
export interface GuestOffloads {
  csum: boolean;
  tso4: boolean;
  tso6: boolean;
  ecn: boolean;
}

export interface OffloadingPort {
  /**
   * From now on every frame, both ways, starts with a 12-byte virtio_net_hdr (VERSION_1 layout): the
   * guest's as it wrote it, the host's as its kernel wrote it (num_buffers is the device's to set).
   */
  useHeaders(): void;
  /** Limits what the host may send: frames beyond `o` (segments, partial checksums) are finished first. */
  setGuestOffloads(o: GuestOffloads): void;
}

/**
 * Sits between a device and a port. Both hooks run synchronously on the device's thread, between
 * machine slices or from the guest's queue notification; they must not block.
 */
export interface FrameFilter {
  /**
   * A frame the guest sent. Return true to keep it (it does not reach the network); `reply` delivers
   * frames of the filter's own to the guest, as if the network had sent them.
   */
  fromGuest(frame: Uint8Array, reply: (frame: Uint8Array) => void): boolean;
  /** A frame the network sent. Return true to keep it from the guest. Optional. */
  toGuest?(frame: Uint8Array): boolean;
  /** Called when the filtered port closes. Optional. */
  close?(): void;
}

/** `inner` with `filter` in front of it, as a port of its own (filters stack by nesting). */
export function filterPort(inner: FramePort, filter: FrameFilter): FramePort {
  let receiver: FrameReceiver | null = null;
  let closed = false;
  const reply = (frame: Uint8Array): void => {
    if (!closed) receiver?.receive(frame);
  };
  return {
    send(frame) {
      if (closed) return true;
      return filter.fromGuest(frame, reply) ? true : inner.send(frame);
    },
    attach(r) {
      receiver = r;
      inner.attach({
        receive: (frame) => {
          if (!closed && !filter.toGuest?.(frame)) r.receive(frame);
        },
        drained: () => r.drained?.(),
        linkDown: (reason) => r.linkDown?.(reason),
      });
    },
    pause: () => inner.pause(),
    resume: () => inner.resume(),
    close() {
      if (closed) return;
      closed = true;
      filter.close?.();
      inner.close();
    },
  };
}

/**
 * Two ports joined back to back, in memory: what one sends, the other receives (synchronously, or
 * queued while the receiving side is paused). For tests, and for joining two devices.
 */
export function framePortPair(): [FramePort, FramePort] {
  class End implements FramePort {
    peer!: End;
    receiver: FrameReceiver | null = null;
    paused = false;
    closed = false;
    readonly held: Uint8Array[] = [];
    send(frame: Uint8Array): boolean {
      if (!this.closed && !this.peer.closed) this.peer.deliver(frame.slice());
      return true;
    }
    deliver(frame: Uint8Array): void {
      if (this.paused || !this.receiver) this.held.push(frame);
      else this.receiver.receive(frame);
    }
    attach(r: FrameReceiver): void {
      this.receiver = r;
      this.resume();
    }
    pause(): void {
      this.paused = true;
    }
    resume(): void {
      this.paused = false;
      while (!this.paused && this.receiver && this.held.length > 0) this.receiver.receive(this.held.shift()!);
    }
    close(): void {
      this.closed = true;
      this.held.length = 0;
    }
  }
  const a = new End();
  const b = new End();
  a.peer = b;
  b.peer = a;
  return [a, b];
}
