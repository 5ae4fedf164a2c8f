import type { HostStream, HostStreamEvents, VsockBackend, VsockHostListener } from './vsock-backend.js';

/**
 * A host stream held in memory, for tests: what the guest sends piles up in `pendingWrite` until the
 * test (playing the host program) reads it, so a host that stops reading is one that never calls
 * read(). What the "host" sends while the device has paused the stream is held back until it resumes.
 */
export class MemoryHostStream implements HostStream {
  events: HostStreamEvents | null = null;
  /** Bytes the guest sent that the host has not read yet. */
  private unread: Uint8Array[] = [];
  private unreadBytes = 0;
  /** Host bytes held while paused. */
  private held: Uint8Array[] = [];
  paused = false;
  writeEnded = false;
  closedGracefully = false;
  destroyed = false;
  /** The host port reported to the host ("OK <port>"), for host-initiated streams. */
  acceptedPort: number | null = null;
  /** Every byte the guest sent, in order, read or not (for assertions). */
  readonly received: number[] = [];

  get pendingWrite(): number {
    return this.unreadBytes;
  }

  get done(): boolean {
    return this.destroyed || this.closedGracefully;
  }

  // The device's side.

  write(bytes: Uint8Array): void {
    if (this.done) throw new Error('write after close');
    if (this.writeEnded) throw new Error('write after endWrite');
    this.unread.push(bytes);
    this.unreadBytes += bytes.length;
    for (const b of bytes) this.received.push(b);
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    while (!this.paused && this.held.length > 0 && this.events && !this.done) this.events.data(this.held.shift()!);
  }

  endWrite(): void {
    this.writeEnded = true;
  }

  accepted(hostPort: number): void {
    this.acceptedPort = hostPort;
  }

  close(): void {
    this.closedGracefully = true;
    this.events = null;
  }

  destroy(): void {
    this.destroyed = true;
    this.events = null;
  }

  // The host program's side.

  /** The host reads up to `max` bytes of what the guest sent; the device hears of the freed space. */
  read(max = Infinity): Uint8Array {
    const out: number[] = [];
    while (this.unread.length > 0 && out.length < max) {
      const head = this.unread[0];
      const k = Math.min(head.length, max - out.length);
      for (let i = 0; i < k; i++) out.push(head[i]);
      if (k === head.length) this.unread.shift();
      else this.unread[0] = head.subarray(k);
      this.unreadBytes -= k;
    }
    if (out.length > 0) this.events?.drain();
    return Uint8Array.from(out);
  }

  /** The host sends bytes toward the guest. */
  send(bytes: Uint8Array): void {
    if (this.done || !this.events) return;
    if (this.paused) this.held.push(bytes);
    else this.events.data(bytes);
  }

  /** The host shuts its sending side (EOF). */
  sendEof(): void {
    this.events?.end();
  }

  /** The host end goes away (closed or failed). */
  hostClose(reason = 'closed by the host'): void {
    const e = this.events;
    this.events = null;
    e?.closed(reason);
  }

  get heldBytes(): number {
    return this.held.reduce((n, b) => n + b.length, 0);
  }
}

/**
 * An in-memory VsockBackend: tests play host programs that connect to guest ports (hostConnect) and
 * host listeners that guest connections reach (listen). Guest connects complete when the test calls
 * completeConnects(), so the asynchrony of a real backend is kept.
 */
export class MemoryVsockBackend implements VsockBackend {
  listener: VsockHostListener | null = null;
  started = 0;
  stopped = 0;
  /** Host ports with a listener; each accepted stream is pushed to its array. */
  readonly listening = new Map<number, MemoryHostStream[]>();
  private connects: { port: number; events: HostStreamEvents; done: (s: HostStream | null, reason?: string) => void }[] = [];

  start(listener: VsockHostListener): void {
    this.listener = listener;
    this.started++;
  }

  stop(): void {
    this.listener = null;
    this.stopped++;
    this.connects = [];
  }

  connect(hostPort: number, events: HostStreamEvents, done: (stream: HostStream | null, reason?: string) => void): void {
    this.connects.push({ port: hostPort, events, done });
  }

  listen(port: number): MemoryHostStream[] {
    const accepted: MemoryHostStream[] = [];
    this.listening.set(port, accepted);
    return accepted;
  }

  get pendingConnects(): number {
    return this.connects.length;
  }

  /** Completes the guest connects asked for so far: to a listener if the port has one, else refused. */
  completeConnects(): void {
    const todo = this.connects;
    this.connects = [];
    for (const c of todo) {
      const accepted = this.listening.get(c.port);
      if (!accepted) {
        c.done(null, 'connection refused');
        continue;
      }
      const s = new MemoryHostStream();
      s.events = c.events;
      accepted.push(s);
      c.done(s);
    }
  }

  /** A host program connects to guest port `guestPort` (after the hybrid protocol's CONNECT line). */
  hostConnect(guestPort: number): MemoryHostStream {
    const s = new MemoryHostStream();
    if (!this.listener) {
      s.destroyed = true;
      return s;
    }
    const events = this.listener.incoming(guestPort, s);
    if (!events) s.destroyed = true;
    else s.events = events;
    return s;
  }
}
