/**
 * The MMDS between a net device and its backend (issue 16's FrameFilter seam): frames the guest sends
 * to the MMDS address (ARP for it, IPv4 to it) never reach the network; the MMDS network stack answers
 * them, and its answers go to the guest as if the network had sent them. Retransmissions fall due
 * without a guest frame to answer, so a timer (unref'd, on the machine's event loop) sends them.
 */
import type { FrameFilter } from '../devices/virtio/net/frame-port.js';
import type { MmdsNetworkStack } from '../mmds/mmds-stack.js';

export class MmdsFrameFilter implements FrameFilter {
  private reply: ((frame: Uint8Array) => void) | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private closed = false;

  constructor(readonly stack: MmdsNetworkStack) {}

  fromGuest(frame: Uint8Array, reply: (frame: Uint8Array) => void): boolean {
    if (this.closed || !this.stack.isMmdsFrame(frame)) return false;
    this.reply = reply;
    this.stack.detour(frame);
    this.flush();
    return true;
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Sends what the stack has now, then waits for its next retransmission time. */
  private flush(): void {
    if (this.closed || !this.reply) return;
    for (let f = this.stack.nextFrame(); f; f = this.stack.nextFrame()) this.reply(f);
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const ms = this.stack.nextTimeoutMs();
    if (ms === Infinity) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flush();
    }, Math.max(1, Math.ceil(ms)));
    this.timer.unref();
  }
}
