/**
 * The seam between the vsock device and the host (DESIGN.md: "a stream connector for vsock"). The
 * device speaks the virtio-vsock protocol with the guest; a backend only carries byte streams to and
 * from host programs. Firecracker's hybrid model (vmm/backends/vsock-unix-backend.ts) maps guest ports
 * to Unix sockets; tests use an in-memory backend. Backends call the device from their event loop,
 * never from inside a device call.
 */

/** What the device receives from one host stream. */
export interface HostStreamEvents {
  /**
   * Bytes the host sent; the device takes ownership of the array. After pause(), a backend delivers
   * at most the chunk it was already handing over, so what the device holds stays bounded.
   */
  data(bytes: Uint8Array): void;
  /** The host will send no more (EOF); it may still read. */
  end(): void;
  /** Bytes queued by write() went out to the host (`pendingWrite` went down). */
  drain(): void;
  /** The stream is gone (the host closed it or it failed); no more events follow. */
  closed(reason: string): void;
}

/** One host-side byte stream of a vsock connection. */
export interface HostStream {
  /** Queues bytes for the host; the stream takes ownership of the array (the device passes a copy). */
  write(bytes: Uint8Array): void;
  /** Bytes accepted by write() and not yet handed to the host (what counts against the guest's credit). */
  readonly pendingWrite: number;
  /** Stops / restarts delivering data events (back-pressure toward the host). */
  pause(): void;
  resume(): void;
  /** Half-close: what was written is flushed, then the host reads EOF. */
  endWrite(): void;
  /**
   * A host-initiated connection was accepted by the guest, which the host learns as the hybrid
   * protocol says ("OK <hostPort>\n"). Never called for guest-initiated streams.
   */
  accepted(hostPort: number): void;
  /** Flushes what was written (for a bounded time), then closes. No events after this call. */
  close(): void;
  /** Closes at once, dropping anything unwritten. No events after this call. */
  destroy(): void;
}

/** The device's side, handed to the backend when it starts. */
export interface VsockHostListener {
  /**
   * A host program asked to reach guest port `guestPort` on `stream`. Returns the events sink for
   * the stream, or null when the device refuses (the backend then destroys the stream).
   */
  incoming(guestPort: number, stream: HostStream): HostStreamEvents | null;
}

export interface VsockBackend {
  /** Starts taking host-initiated connections (at device activation). */
  start(listener: VsockHostListener): void;
  /**
   * Guest-initiated: opens a stream to the host's listener for `hostPort`. `done` is called once, later
   * (never inside this call), with the stream, or with null and the reason it could not connect.
   */
  connect(hostPort: number, events: HostStreamEvents, done: (stream: HostStream | null, reason?: string) => void): void;
  /** Drops every stream and stops listening (device reset); start() may follow. */
  stop(): void;
}
