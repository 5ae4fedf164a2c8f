/**
 * The guest's serial console on this process's terminal: raw mode when stdin is a TTY (so every key
 * reaches the guest, Ctrl-C included), QEMU's Ctrl-A X to quit, Ctrl-A Ctrl-A for a literal Ctrl-A;
 * plain pass-through when stdin is a pipe, so `echo 'uname -a' | wisp run` works. SIGINT/SIGTERM stop
 * the machine cleanly, and the terminal is always put back as it was.
 */
export interface Stoppable {
  sendInput(bytes: Uint8Array): void;
  stop(): void;
}

const CTRL_A = 0x01;

export class Console {
  private raw = false;
  private escape = false;
  signal: NodeJS.Signals | undefined;

  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private flushScheduled = false;

  /**
   * Queues guest output; it goes out when the machine next yields to the event loop (within ~10 ms)
   * or once 64 KiB are waiting. The UART hands over one byte at a time, and a write per byte cost
   * ~0.1 s of a boot's 20,000 console bytes (measured).
   */
  write(bytes: Uint8Array): void {
    this.pending.push(bytes);
    this.pendingBytes += bytes.length;
    if (this.pendingBytes >= 65536) this.flush();
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  flush(): void {
    this.flushScheduled = false;
    if (this.pendingBytes === 0) return;
    const out = Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    process.stdout.write(out);
  }

  /** Connects stdin and signals to the machine for the duration of `body`. */
  async attach<T>(machine: Stoppable, body: () => Promise<T>): Promise<T> {
    const stdin = process.stdin;
    if (stdin.isTTY) {
      stdin.setRawMode(true);
      this.raw = true;
    }
    const onData = (chunk: Buffer) => this.input(machine, chunk);
    const onSignal = (sig: NodeJS.Signals) => { this.signal = sig; machine.stop(); };
    stdin.on('data', onData);
    stdin.resume();
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    try {
      return await body();
    } finally {
      this.flush();
      stdin.off('data', onData);
      stdin.pause();
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      this.restore();
    }
  }

  private input(machine: Stoppable, chunk: Buffer): void {
    if (!this.raw) { machine.sendInput(chunk); return; }
    const out: number[] = [];
    for (const b of chunk) {
      if (this.escape) {
        this.escape = false;
        if (b === 0x78 || b === 0x58) { // x / X
          process.stderr.write('\r\nwisp: terminated by Ctrl-A X\r\n');
          machine.stop();
          return;
        }
        if (b === CTRL_A) out.push(CTRL_A);
        continue;
      }
      if (b === CTRL_A) { this.escape = true; continue; }
      out.push(b);
    }
    if (out.length) machine.sendInput(Uint8Array.from(out));
  }

  restore(): void {
    if (this.raw && process.stdin.isTTY) process.stdin.setRawMode(false);
    this.raw = false;
  }
}
