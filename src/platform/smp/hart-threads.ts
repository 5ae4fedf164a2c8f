import { MessageChannel, receiveMessageOnPort, type MessagePort, type Worker } from 'node:worker_threads';
import type { HartState as HartSnapshot } from '../../cpu/hart-state.js';
import type { Bus } from '../../memory/bus.js';
import type { MachineMemory } from '../../memory/machine-memory.js';
import type { JitOptions } from '../../jit/jit-hart.js';
import { startWorker } from '../../util/start-worker.js';
import type { Engine } from '../engine.js';
import { Attention, MailboxOp, RunState, type ControlBlock } from './control-block.js';
import { HartState } from '../sbi/sbi.js';
import type { HartThreadInit } from './hart-thread.js';

export interface HartThreadsOptions {
  /** The machine's memory: shared, with a region per hart. */
  memory: MachineMemory;
  control: ControlBlock;
  /** The machine's devices, on this thread: the harts' MMIO requests are answered from it. */
  bus: Bus;
  engine: Engine;
  jit?: JitOptions;
  boot: HartThreadInit['boot'];
  /** Hart states to begin from instead (a restored snapshot), by hart id. */
  restore?: HartSnapshot[];
  /** The SBI debug console, for harts that answer SBI calls (DBCN). */
  console?: { write(bytes: Uint8Array): void; read(): number };
}

/** How long stop() lets hart threads end by themselves before terminating them. */
const STOP_GRACE_MS = 2_000;
/** How long pause() waits for every hart to park. */
const PAUSE_TIMEOUT_MS = 5_000;

/**
 * The machine's side of harts on threads of their own: starts one worker per hart (hart-thread.ts),
 * answers their MMIO requests with the devices on this thread (the devices' one owner), parks and
 * resumes them, and ends them. Interrupt lines reach them through the control block (setLine).
 */
export class HartThreads {
  private readonly workers: Worker[] = [];
  /** Per hart, where its thread sends its state for a snapshot (received synchronously). */
  private readonly statePorts: MessagePort[] = [];
  private error: Error | undefined;
  private readonly cb: ControlBlock;

  constructor(private readonly o: HartThreadsOptions) {
    this.cb = o.control;
  }

  /** A hart thread failed (a bug in wisp): the machine must end with it. */
  get failure(): Error | undefined {
    return this.error;
  }

  /** Starts every hart's thread; resolves when all are ready (hart 0, or all for bare metal, then run). */
  async start(): Promise<void> {
    const { memory, bus, engine, jit, boot } = this.o;
    const mmio = bus.list().map((r) => ({ name: r.name, base: r.base, size: r.size }));
    const entry = new URL(import.meta.url.endsWith('.ts') ? './hart-worker.ts' : './hart-worker.js', import.meta.url);
    const ready: Promise<void>[] = [];
    // HSM states before any hart runs (a hart starting another must find it stopped): a boot starts
    // hart 0 (a bare-metal program every hart); a restored machine has set them already.
    if (!this.o.restore) {
      for (let id = 0; id < memory.harts; id++) this.cb.setHsm(id, boot.kind === 'bare' || id === 0 ? HartState.Started : HartState.Stopped);
    }
    for (let id = 0; id < memory.harts; id++) {
      const { port1, port2 } = new MessageChannel();
      this.statePorts.push(port1);
      const init: HartThreadInit = { id, memory: memory.share(), control: this.cb.buffer, engine, jit, mmio, boot, restore: this.o.restore?.[id], statePort: port2 };
      const w = startWorker(entry, { workerData: init, name: `wisp hart ${id}`, transferList: [port2] });
      this.workers.push(w);
      ready.push(new Promise<void>((resolve, reject) => {
        w.on('message', (m: { type: string }) => { if (m.type === 'ready') resolve(); });
        w.once('error', (e) => { this.error ??= new Error(`hart ${id}'s thread failed: ${e.message}`, { cause: e }); this.cb.ring(); reject(this.error); });
        w.once('exit', (code) => {
          if (this.cb.runState(id) !== RunState.Exited) {
            this.error ??= new Error(`hart ${id}'s thread ended unexpectedly (code ${code})`);
            this.cb.ring();
            reject(this.error);
          }
        });
      }));
    }
    try {
      await Promise.all(ready);
      this.cb.go();
    } catch (e) {
      await this.stop();
      throw e;
    }
  }

  /** Answers every MMIO request the harts have waiting; returns how many. */
  serve(): number {
    const bus = this.o.bus;
    return this.cb.serve((op, addr, size, value) => {
      switch (op) {
        case MailboxOp.Read: {
          const r = bus.find(addr);
          return r ? r.device.read(addr - r.base, size as 1 | 2 | 4) : 0;
        }
        case MailboxOp.Write: {
          const r = bus.find(addr);
          r?.device.write(addr - r.base, size as 1 | 2 | 4, value);
          return 0;
        }
        case MailboxOp.ConsoleWrite: {
          const bytes = new Uint8Array(Math.min(size, 4));
          for (let i = 0; i < bytes.length; i++) bytes[i] = (value >>> (8 * i)) & 0xff;
          this.o.console?.write(bytes);
          return 0;
        }
        case MailboxOp.ConsoleRead:
          return this.o.console?.read() ?? -1;
      }
      return 0;
    });
  }

  /**
   * Stops every hart at an instruction boundary (Firecracker's pause) and returns once all are
   * parked, answering their device requests meanwhile (a hart waiting on one must get its answer to
   * reach a boundary).
   */
  pause(): void {
    this.cb.paused = true;
    for (let h = 0; h < this.cb.harts; h++) this.cb.notify(h, Attention.Pause);
    const until = performance.now() + PAUSE_TIMEOUT_MS;
    while (!this.allParked() && performance.now() < until && this.error === undefined) {
      const seen = this.cb.doorbell();
      if (this.serve() === 0 && !this.allParked()) this.cb.waitDoorbell(seen, 1);
    }
  }

  /**
   * Every hart's architectural state (a snapshot), from its thread: call while paused (pause()). The
   * harts send them on their state ports; this waits (answering device requests) until all have.
   */
  save(): HartSnapshot[] {
    if (!this.cb.paused) throw new Error('Cannot save the harts of a running machine: pause it first');
    for (let h = 0; h < this.cb.harts; h++) { this.cb.setSaved(h, false); this.cb.notify(h, Attention.Save); }
    const until = performance.now() + PAUSE_TIMEOUT_MS;
    const out: HartSnapshot[] = [];
    for (let h = 0; h < this.cb.harts; h++) {
      while (!this.cb.saved(h)) {
        if (performance.now() > until || this.error) throw new Error(`hart ${h} did not send its state${this.error ? `: ${this.error.message}` : ''}`);
        const seen = this.cb.doorbell();
        if (this.serve() === 0 && !this.cb.saved(h)) this.cb.waitDoorbell(seen, 1);
      }
      const m = receiveMessageOnPort(this.statePorts[h]);
      if (m === undefined) throw new Error(`hart ${h} said it sent its state, but none arrived`);
      out.push(m.message as HartSnapshot);
    }
    return out;
  }

  resume(): void {
    this.cb.paused = false;
    for (let h = 0; h < this.cb.harts; h++) this.cb.notify(h, Attention.Pause);
  }

  private allParked(): boolean {
    for (let h = 0; h < this.cb.harts; h++) {
      const s = this.cb.runState(h);
      if (s !== RunState.Parked && s !== RunState.Exited) return false;
    }
    return true;
  }

  /** Ends every hart's thread (they leave at their next instruction boundary). Idempotent. */
  async stop(): Promise<void> {
    for (let h = 0; h < this.cb.harts; h++) this.cb.notify(h, Attention.Exit);
    this.cb.go(); // (threads still waiting to begin see the exit at once)
    const ended = this.workers.map((w) => new Promise<void>((r) => {
      if (w.threadId < 0) r(); else w.once('exit', () => r());
    }));
    // A hart may wait on a device request while it ends: keep answering until all are gone.
    const all = Promise.all(ended);
    let done = false;
    void all.then(() => (done = true));
    const until = performance.now() + STOP_GRACE_MS;
    while (!done && performance.now() < until) {
      this.serve();
      await new Promise<void>((r) => setTimeout(r, 1));
    }
    if (!done) await Promise.all(this.workers.map((w) => w.terminate()));
    for (const p of this.statePorts) p.close();
  }
}
