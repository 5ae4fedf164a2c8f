/**
 * One machine, as the worker thread holds it: the serial output opened, the board and its devices
 * assembled from the MachineSpec (assemble-machine.ts, the one device wiring), run until it stops, and
 * answering the VMM's requests between run slices. Everything that can fail in building does so before
 * the machine exists and closes what it had opened, so a failed start leaves nothing behind.
 */
import { closeSync, writeSync } from 'node:fs';
import type { Machine, MachineExit as BoardExit } from '../platform/machine.js';
import type { VirtioRng } from '../devices/virtio/rng/rng.js';
import { assembleMachine, driveErrorText, type AssembledMachine } from './assemble-machine.js';
import { FileBlockBackend } from './backends/file-block-backend.js';
import { openNetBackend, type OpenedNetBackend } from './backends/net-backend.js';
import { VsockUnixBackend } from './backends/vsock-unix-backend.js';
import type { MachineExit, MachineMetrics, SnapshotRequest, SnapshotTaken } from './machine.js';
import { writeMemoryFile } from '../snapshot/memory-file.js';
import { machineCounters, MetricsDeltas, type SerialSinkMetrics } from './machine-worker-metrics.js';
import type { WorkerConsole, WorkerEvent, WorkerInit, WorkerReply, WorkerRequest } from './machine-worker-protocol.js';
import { osErrorText } from './os-error.js';
import { openSerialOut } from './guest-files.js';
import type { AttachedBlock } from './virtio-attach.js';
import type { RateLimiterConfig } from './vmm-config.js';

/** Retries of a console write the host cannot take yet (a full pipe) before the bytes are dropped. */
const CONSOLE_EAGAIN_RETRIES = 200;

export class MachineSession {
  private readonly deltas = new MetricsDeltas();
  private stopRequested = false;
  private closed = false;
  readonly machine: Machine;
  private readonly blocks: AttachedBlock[];
  private readonly rng: VirtioRng | undefined;

  private constructor(
    private readonly assembled: AssembledMachine,
    private readonly serial: ConsoleSink,
    private readonly vsockBackend?: VsockUnixBackend,
  ) {
    this.machine = assembled.machine;
    this.blocks = assembled.blocks;
    this.rng = assembled.rng;
  }

  /**
   * Builds the machine (booting it, or from a snapshot with init.restore, Paused unless it resumes);
   * throws an Error whose message says what failed (the InstanceStart or LoadSnapshot fault).
   * `post` carries console output to the VMM's thread when the init asks for it (`wisp run`).
   */
  static async build(init: WorkerInit, post?: (e: WorkerEvent) => void): Promise<MachineSession> {
    const serial = ConsoleSink.open(init.spec.serial.outPath, init.console, post);
    const nets: OpenedNetBackend[] = [];
    let vsock: VsockUnixBackend | undefined;
    try {
      // Backends first (passt takes a moment to start, the vsock socket is bound); the machine then owns them.
      for (const n of init.spec.nets ?? []) {
        try {
          nets.push(await openNetBackend(n.backend, n.mtu));
        } catch (e) {
          throw new Error(`Cannot ${init.restore ? 'restore' : 'attach'} network interface "${n.id}": ${osErrorText(e)}`, { cause: e });
        }
      }
      if (init.spec.vsock) {
        try {
          vsock = await VsockUnixBackend.open(init.spec.vsock.udsPath);
        } catch (e) {
          throw new Error(`Cannot create backend for vsock device: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
        }
      }
      const restore = init.restore;
      const assembled = assembleMachine(init.spec, {
        consoleOut: (bytes) => serial.write(bytes),
        nets,
        backends: { vsock },
        ...(restore && { restore: { state: restore.machine, memFilePath: restore.memFilePath } }),
      });
      if (restore && !restore.resume) assembled.machine.pause();
      return new MachineSession(assembled, serial, vsock);
    } catch (e) {
      for (const b of nets) b.close();
      await Promise.all(nets.map((b) => b.released()));
      serial.close();
      await vsock?.close();
      throw e;
    }
  }

  /**
   * Runs the guest until it stops; `requested` tells a stop() from the guest's own poweroff/reboot,
   * `metrics` holds the counters since the last take.
   */
  async run(): Promise<{ exit: MachineExit; requested: boolean; metrics: MachineMetrics }> {
    let exit: MachineExit;
    try {
      exit = vmmExit(await this.machine.run());
    } catch (e) {
      // A bug in wisp, not guest behaviour (that never throws): the VMM reports it as a crash.
      exit = { reason: 'crash', exitCode: 1, message: `The machine failed: ${osErrorText(e)}` };
    }
    const metrics = this.deltas.take(this.counters());
    this.close();
    // A restarted guest opens its backends again: passt must have let go of its ports, the tap its fd.
    await this.assembled.released();
    return { exit, requested: this.stopRequested, metrics };
  }

  /** Console input from the host, for the guest's UART. */
  input(bytes: Uint8Array): void {
    this.machine.sendInput(bytes);
  }

  /**
   * Answers one request. Requests arrive between run slices (this thread runs either the hart or the
   * message handler), so a pause takes effect with the hart already at an instruction boundary.
   */
  handle(req: WorkerRequest): WorkerReply {
    const ok = (): WorkerReply => ({ type: 'reply', id: req.id, ok: true });
    const fail = (message: string): WorkerReply => ({ type: 'reply', id: req.id, ok: false, message });
    if (this.closed && req.op !== 'stop' && req.op !== 'takeMetrics') return fail('the machine has stopped');
    switch (req.op) {
      case 'pause':
        this.machine.pause();
        // What the guest printed before the pause is out before the pause is acknowledged.
        this.serial.flush();
        return ok();
      case 'resume':
        this.machine.resume();
        return ok();
      case 'stop':
        this.stopRequested = true;
        this.machine.stop();
        return ok();
      case 'takeMetrics':
        return { type: 'reply', id: req.id, ok: true, metrics: this.deltas.take(this.counters()) };
      case 'ctrlAltDel':
        // Firecracker presses Ctrl+Alt+Del on x86's i8042; a RISC-V board has no keyboard controller,
        // and Linux on riscv has no other "please shut down" input that wisp's board provides.
        return fail("wisp's riscv64 machine has no keyboard controller to send Ctrl+Alt+Del to; power the guest off from inside it or stop the VMM");
      case 'updateMmds': {
        const mmds = this.assembled.mmds;
        if (!mmds) return fail('the running machine does not serve the MMDS');
        mmds.store.replace(req.data, req.initialized);
        return ok();
      }
      case 'updateDrive':
        try {
          this.updateDrive(req.driveId, req.path, req.rateLimiter);
        } catch (e) {
          return fail(osErrorText(e));
        }
        return ok();
      case 'updateNet': {
        const n = this.assembled.nets.find((x) => x.attached.id === req.ifaceId);
        if (!n) return fail(`the running machine has no network interface "${req.ifaceId}"`);
        // Firecracker's PATCH semantics, as for drives; held-back frames are retried on the next slice.
        if (req.rxRateLimiter) n.attached.rxRateLimiter.update(req.rxRateLimiter);
        if (req.txRateLimiter) n.attached.txRateLimiter.update(req.txRateLimiter);
        return ok();
      }
      case 'createSnapshot':
        try {
          return { type: 'reply', id: req.id, ok: true, snapshot: this.createSnapshot(req.snapshot) };
        } catch (e) {
          return fail(e instanceof Error ? e.message : String(e));
        }
    }
  }

  /**
   * Saves the paused machine: devices that cannot be snapshotted refuse it by name (Firecracker's
   * words); disks are flushed so the files match the saved guest; the memory file is written; a new
   * dirty-page epoch begins.
   */
  private createSnapshot(req: SnapshotRequest): SnapshotTaken {
    const m = this.machine;
    if (!m.isPaused) throw new Error('Cannot save the microVM state: the microVM is not Paused (PATCH /vm {"state": "Paused"} first)');
    const bad = m.unsnapshottableSlots().map((n) => this.assembled.slotNames[n] ?? `virtio slot ${n}`);
    if (bad.length > 0) throw new Error(`Cannot save the microVM state: Operation not allowed: Devices without snapshot support are present: ${bad.join(',')}`);
    for (const b of this.blocks) {
      try {
        b.backend.flush();
      } catch (e) {
        throw new Error(`Cannot save the microVM state: flushing drive "${b.id}" failed: ${osErrorText(e)}`, { cause: e });
      }
    }
    // Firecracker's prepare_save: vsock connections do not survive a snapshot, so the guest is told
    // (TRANSPORT_RESET in the event queue, in the saved memory) and the host side drops them now.
    this.assembled.vsock?.sendTransportReset();
    const t0 = performance.now();
    const machine = m.save();
    const t1 = performance.now();
    let written;
    try {
      written = writeMemoryFile(req.memFilePath, m.memory, req.type, req.trackDirtyPages);
    } catch (e) {
      throw new Error(`Cannot write memory file: ${(e as Error).message}`, { cause: e });
    }
    m.startDirtyEpoch();
    const t2 = performance.now();
    return { machine, memory: { pages: written.pages, ...(written.pageMap !== undefined && { pageMap: written.pageMap }) }, saveMs: t1 - t0, memoryMs: t2 - t1 };
  }

  /**
   * Swaps a drive's backing file (the guest gets a config-change interrupt and re-reads the capacity)
   * and/or updates its rate limiter (Firecracker's PATCH semantics: a bucket given replaces the old
   * one, full; size or refill_time 0 lifts that limit; a bucket left out stays). The new file opens
   * with the drive's access before anything changes, so a failure changes nothing. Requests the old
   * limits held back are retried by the machine loop on its next slice.
   */
  private updateDrive(id: string, path: string | undefined, rateLimiter: RateLimiterConfig | undefined): void {
    const b = this.blocks.find((x) => x.id === id);
    if (!b) throw new Error(`the running machine has no drive "${id}"`);
    if (path !== undefined) this.swapDriveFile(b, path);
    if (rateLimiter !== undefined) b.rateLimiter.update(rateLimiter);
  }

  private swapDriveFile(b: AttachedBlock, path: string): void {
    let next: FileBlockBackend;
    try {
      next = FileBlockBackend.open(path, { readOnly: b.backend.readOnly });
    } catch (e) {
      throw new Error(driveErrorText(e), { cause: e });
    }
    const prev = b.backend;
    b.device.updateBackend(next);
    b.backend = next;
    prev.close();
  }

  private counters() {
    return machineCounters({
      blocks: this.blocks.map((b) => ({ id: b.id, metrics: b.device.metrics })),
      rng: this.rng?.metrics,
      uart: this.machine.uart.metrics,
      serial: this.serial.metrics,
      sbi: this.machine.sbiMetrics(),
      vsock: this.assembled.vsock?.metrics,
      mmds: this.assembled.mmds?.metrics,
      vsockHost: this.vsockBackend?.metrics,
      vcpus: this.machine.vcpus(),
      nets: this.assembled.nets.map((n) => ({ id: n.attached.id, metrics: n.attached.device.metrics, backend: n.backend.counters() })),
    });
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.assembled.close();
    // Closing the listener also removes the socket file (Firecracker leaves it behind).
    void this.vsockBackend?.close();
    this.serial.close();
  }
}

/**
 * The guest's console on the host: a file or FIFO (PUT /serial), the VMM's stdout fd, or (`wisp run`)
 * messages to the VMM's thread, which writes them to its terminal. Output is gathered and written when
 * the machine yields to the event loop (within ~10 ms) or once 64 KiB wait: the UART hands over one byte
 * at a time, and a write per byte cost ~0.1 s of a boot's 20,000 console bytes (measured).
 */
class ConsoleSink {
  readonly metrics: SerialSinkMetrics = { droppedWrites: 0 };
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private flushScheduled = false;

  private constructor(
    private fd: number,
    private readonly owned: boolean,
    private readonly post: ((e: WorkerEvent) => void) | undefined,
  ) {}

  static open(path: string | undefined, fallback: WorkerConsole, post: ((e: WorkerEvent) => void) | undefined): ConsoleSink {
    if (path === undefined) {
      if (fallback.kind === 'port') {
        if (!post) throw new Error('console output to the VMM thread needs a message port');
        return new ConsoleSink(-1, false, post);
      }
      return new ConsoleSink(fallback.fd, false, undefined);
    }
    // Non-blocking (guest-files.ts), so a FIFO nobody reads fails here (ENXIO) or drops output, and
    // never hangs the machine.
    try {
      return new ConsoleSink(openSerialOut(path).fd, true, undefined);
    } catch (e) {
      throw new Error(`Cannot open serial output "${path}": ${osErrorText(e)}`, { cause: e });
    }
  }

  write(bytes: Uint8Array): void {
    if (this.fd < 0 && !this.post) return;
    // The UART and the SBI console hand over fresh arrays, so keeping them until the flush is safe.
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
    const out = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    if (this.post) this.post({ type: 'console', bytes: out });
    else this.writeFd(out);
  }

  /** Writes all of `bytes`, waiting briefly on a full pipe; what cannot be written is dropped and counted. */
  private writeFd(bytes: Uint8Array): void {
    if (this.fd < 0) return;
    let done = 0;
    let retries = 0;
    while (done < bytes.length) {
      try {
        done += writeSync(this.fd, bytes, done, bytes.length - done);
        retries = 0;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EAGAIN' && retries++ < CONSOLE_EAGAIN_RETRIES) {
          Atomics.wait(PAUSE, 0, 0, 1);
          continue;
        }
        this.metrics.droppedWrites++;
        return;
      }
    }
  }

  close(): void {
    this.flush();
    if (this.owned && this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}

/** A cell to Atomics.wait on: a synchronous 1 ms sleep for the console's EAGAIN retry. */
const PAUSE = new Int32Array(new SharedArrayBuffer(4));

/** The board's exit as the VMM reports it (Firecracker exits 0 when the guest powers off or reboots). */
export function vmmExit(e: BoardExit): MachineExit {
  switch (e.kind) {
    case 'poweroff':
      return { reason: 'shutdown', exitCode: 0, guest: 'poweroff' };
    case 'reboot':
      return e.early
        ? { reason: 'reboot', exitCode: 0, message: 'the guest rebooted before its console came up or any program ran', guest: 'reboot', early: true }
        : { reason: 'reboot', exitCode: 0, message: 'the guest rebooted', guest: 'reboot' };
    case 'panic':
      // With panic=-1 the kernel reboots after a panic; wisp says so and exits non-zero.
      return { reason: 'reboot', exitCode: 1, message: `guest kernel panic: ${e.message}`, guest: 'panic' };
    case 'fail':
      return { reason: 'shutdown', exitCode: e.code & 0xff || 1, message: `the guest reported failure ${e.code} through the test finisher`, guest: 'fail' };
    case 'stopped':
      return { reason: 'shutdown', exitCode: 0, message: 'stopped by the VMM' };
    case 'stalled':
      return { reason: 'stalled', exitCode: 1, message: e.message, guest: 'stalled' };
  }
}
