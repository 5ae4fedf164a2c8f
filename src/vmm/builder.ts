/**
 * The VmBuilder the firecracker command uses (machine.ts is the seam): each build starts a worker thread
 * (machine-worker.ts) that assembles the machine from the spec and runs it, so a busy guest never
 * stalls the API's thread. The MachineHandle turns pause/resume/metrics/drive updates into messages
 * (machine-worker-protocol.ts) and waits for the worker's answer.
 */
import { Worker } from 'node:worker_threads';
import type { MachineExit, MachineHandle, MachineMetrics, MachineSpec, RestoreSpec, SnapshotRequest, SnapshotTaken, VmBuilder } from './machine.js';
import type { WorkerEvent, WorkerInit, WorkerInput, WorkerReply, WorkerRequest } from './machine-worker-protocol.js';
import type { StandbyData, StandbyInit } from './machine-worker.js';
import type { RateLimiterConfig } from './vmm-config.js';
import type { JsonValue } from '../mmds/json-value.js';

/** How long stop() waits for the worker to wind down (close files, end) before terminating it. */
const STOP_GRACE_MS = 5_000;

/** The part of a readable stream (process.stdin) console input needs. */
export interface ConsoleInput {
  on(event: 'data', listener: (chunk: Buffer | string) => void): unknown;
  off(event: 'data', listener: (chunk: Buffer | string) => void): unknown;
  pause(): unknown;
  isTTY?: boolean;
  setRawMode?(raw: boolean): unknown;
}

export interface VmBuilderOptions {
  /**
   * Host input for the guest's serial console, as Firecracker reads its stdin (a terminal is put in raw
   * mode while the machine runs). Default process.stdin; null for none.
   */
  stdin?: ConsoleInput | null;
  /** Where the console goes when the spec names no serial output path. Default 1 (stdout). */
  consoleFd?: number;
  /**
   * Instead of a console fd: guest output handed to this callback on the VMM's thread (`wisp run`
   * writes it to its terminal, beside its own Ctrl-A handling). Takes precedence over consoleFd.
   */
  consoleOut?: (bytes: Uint8Array) => void;
  /**
   * Start the machine's thread now, before the machine is known: it loads wisp's code and warms the
   * JIT up meanwhile (a few hundred ms), so the first build, a boot or a snapshot restore, does not
   * wait for that. The idle thread does not keep the process alive; dispose() ends it.
   */
  prestart?: boolean;
}

export function createVmBuilder(opts: VmBuilderOptions = {}): VmBuilder & { dispose(): void } {
  let standby = opts.prestart ? Standby.start() : undefined;
  return {
    build: (spec, restore) => {
      const ready = standby?.take();
      standby = undefined;
      return WorkerMachine.start(spec, opts, restore, ready);
    },
    dispose: () => {
      standby?.dispose();
      standby = undefined;
    },
  };
}

/** A machine thread started ahead of its machine (see VmBuilderOptions.prestart). */
class Standby {
  private dead = false;

  private constructor(private readonly worker: Worker) {
    worker.unref();
    worker.once('error', () => (this.dead = true));
    worker.once('exit', () => (this.dead = true));
  }

  static start(): Standby {
    return new Standby(startWorker({ standby: true }));
  }

  /** The worker, if it is still alive to take a machine. */
  take(): Worker | undefined {
    if (this.dead) return undefined;
    this.worker.ref();
    return this.worker;
  }

  dispose(): void {
    if (!this.dead) void this.worker.terminate();
  }
}

type Pending = { resolve: (r: WorkerReply) => void; reject: (e: Error) => void };

/** The worker entry: the compiled .js beside this file, or (under tsx, in tests) the .ts through tsx's loader. */
function startWorker(init: WorkerInit | StandbyData): Worker {
  const self = import.meta.url;
  // The worker inherits node's flags, except one that only means something for `node -e` (a VMM
  // started as `node --input-type=module -e …` would otherwise fail to start its worker).
  const execArgv = process.execArgv.filter((a) => !a.startsWith('--input-type'));
  if (self.endsWith('.js')) return new Worker(new URL('./machine-worker.js', self), { workerData: init, execArgv });
  const entry = new URL('./machine-worker.ts', self).href;
  const tsx = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(entry)}); })`;
  return new Worker(boot, { eval: true, workerData: init, execArgv });
}

class WorkerMachine implements MachineHandle {
  readonly exited: Promise<MachineExit>;
  private resolveExited!: (e: MachineExit) => void;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  /** Set once the worker has ended (or is ending): no more requests go out. */
  private ended: string | undefined;
  private readonly workerGone: Promise<void>;
  private stopping: Promise<void> | undefined;
  private inputListener: ((chunk: Buffer | string) => void) | undefined;
  /** The worker said how the machine ended (so its thread's end is no surprise). */
  announced = false;
  /** The counters the worker reported as it ended, for the VMM's last metrics line. */
  finalMetrics: MachineMetrics | undefined;

  private constructor(
    private readonly worker: Worker,
    private readonly stdin: ConsoleInput | null,
  ) {
    this.exited = new Promise((r) => (this.resolveExited = r));
    this.workerGone = new Promise((r) => worker.once('exit', () => r()));
  }

  /** Starts the worker and resolves once the guest runs; rejects with the build's failure. */
  static start(spec: MachineSpec, opts: VmBuilderOptions, restore?: RestoreSpec, standby?: Worker): Promise<MachineHandle> {
    const init: WorkerInit = { spec, console: opts.consoleOut ? { kind: 'port' } : { kind: 'fd', fd: opts.consoleFd ?? 1 }, ...(restore && { restore }) };
    let worker: Worker;
    if (standby) {
      worker = standby;
      worker.postMessage({ op: 'init', init } satisfies StandbyInit);
    } else worker = startWorker(init);
    const stdin = opts.stdin === undefined ? process.stdin : opts.stdin;
    const m = new WorkerMachine(worker, stdin);
    return new Promise<MachineHandle>((resolve, reject) => {
      let started = false;
      const failStart = (message: string): void => {
        if (started) return;
        started = true;
        m.ended = message;
        void worker.terminate().finally(() => reject(new Error(message)));
      };
      worker.on('message', (e: WorkerEvent) => {
        switch (e.type) {
          case 'started':
            if (started) return;
            started = true;
            m.attachInput();
            resolve(m);
            return;
          case 'startFailed':
            failStart(e.message);
            return;
          case 'reply':
            m.settle(e);
            return;
          case 'console':
            opts.consoleOut?.(e.bytes);
            return;
          case 'exit':
            m.announced = true;
            m.finalMetrics = e.metrics;
            m.finish(e.requested ? undefined : e.exit);
            return;
        }
      });
      worker.on('error', (err) => {
        failStart(`Cannot start the machine: ${err.message}`);
        m.finish({ reason: 'crash', exitCode: 1, message: `The machine's thread failed: ${err.message}` });
      });
      worker.on('exit', (code) => {
        failStart(`Cannot start the machine: its thread ended with code ${code} before the guest ran`);
        if (!m.announced) m.finish({ reason: 'crash', exitCode: 1, message: `The machine's thread ended unexpectedly (code ${code})` });
      });
    });
  }

  pause(): Promise<void> {
    return this.call({ op: 'pause' });
  }

  resume(): Promise<void> {
    return this.call({ op: 'resume' });
  }

  sendCtrlAltDel(): Promise<void> {
    return this.call({ op: 'ctrlAltDel' });
  }

  sendInput(bytes: Uint8Array): void {
    if (this.ended === undefined && bytes.length > 0) this.worker.postMessage({ op: 'input', bytes } satisfies WorkerInput);
  }

  updateMmds(data: JsonValue, initialized: boolean): Promise<void> {
    return this.call({ op: 'updateMmds', data, initialized });
  }

  updateDrive(id: string, update: { path?: string; rateLimiter?: RateLimiterConfig }): Promise<void> {
    return this.call({ op: 'updateDrive', driveId: id, path: update.path, rateLimiter: update.rateLimiter });
  }

  updateNet(id: string, update: { rxRateLimiter?: RateLimiterConfig; txRateLimiter?: RateLimiterConfig }): Promise<void> {
    return this.call({ op: 'updateNet', ifaceId: id, rxRateLimiter: update.rxRateLimiter, txRateLimiter: update.txRateLimiter });
  }

  async createSnapshot(req: SnapshotRequest): Promise<SnapshotTaken> {
    const r = await this.request({ op: 'createSnapshot', snapshot: req });
    if (!r.ok) throw new Error(r.message);
    if (!r.snapshot) throw new Error('the machine did not return its state');
    return r.snapshot;
  }

  async takeMetrics(): Promise<MachineMetrics> {
    if (this.ended !== undefined) {
      // Once ended, the worker's last counters are reported once (the VMM's exit metrics line).
      const last = this.finalMetrics ?? {};
      this.finalMetrics = undefined;
      return last;
    }
    const r = await this.request({ op: 'takeMetrics' });
    return r.ok ? (r.metrics ?? {}) : {};
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.detachInput();
      if (this.ended === undefined) {
        await this.request({ op: 'stop' }).catch(() => undefined);
        const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), STOP_GRACE_MS).unref());
        if ((await Promise.race([this.workerGone, timer])) === 'timeout') await this.worker.terminate();
      }
      await this.workerGone;
    })();
    return this.stopping;
  }

  private async call(req: DistributiveOmit<WorkerRequest, 'id'>): Promise<void> {
    const r = await this.request(req);
    if (!r.ok) throw new Error(r.message);
  }

  private request(req: DistributiveOmit<WorkerRequest, 'id'>): Promise<WorkerReply> {
    if (this.ended !== undefined) return Promise.reject(new Error(`the machine has stopped (${this.ended})`));
    const id = this.nextId++;
    return new Promise<WorkerReply>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...req, id } as WorkerRequest);
    });
  }

  private settle(r: WorkerReply): void {
    const p = this.pending.get(r.id);
    if (!p) return;
    this.pending.delete(r.id);
    p.resolve(r);
  }

  /** The worker is done: fail what is still waiting, report a self-stop through `exited`. */
  private finish(exit: MachineExit | undefined): void {
    if (this.ended === undefined) this.ended = exit?.message ?? exit?.reason ?? 'stopped by the VMM';
    for (const p of this.pending.values()) p.reject(new Error(`the machine has stopped (${this.ended})`));
    this.pending.clear();
    this.detachInput();
    // After stop() the VMM is ending on purpose; `exited` is only for a machine that stops by itself.
    if (exit && !this.stopping) this.resolveExited(exit);
  }

  private attachInput(): void {
    const stdin = this.stdin;
    if (!stdin) return;
    this.inputListener = (chunk) => {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      if (this.ended === undefined) this.worker.postMessage({ op: 'input', bytes: new Uint8Array(bytes) } satisfies WorkerInput);
    };
    if (stdin.isTTY) stdin.setRawMode?.(true);
    stdin.on('data', this.inputListener);
  }

  private detachInput(): void {
    const stdin = this.stdin;
    if (!stdin || !this.inputListener) return;
    stdin.off('data', this.inputListener);
    this.inputListener = undefined;
    if (stdin.isTTY) stdin.setRawMode?.(false);
    // Stop reading, so a finished VMM is not kept alive by its terminal.
    stdin.pause();
  }
}

type DistributiveOmit<T, K extends keyof T> = T extends unknown ? Omit<T, K> : never;
