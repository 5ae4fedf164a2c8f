/**
 * One machine, as the worker thread holds it: built from a MachineSpec (Firecracker's builder steps:
 * kernel and initrd, serial output, drives in slot order, entropy), run until it stops, and answering
 * the VMM's requests between run slices. Everything that can fail in building does so before the
 * machine exists and closes what it had opened, so a failed start leaves nothing behind.
 */
import { closeSync, constants, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { Machine, type MachineExit as BoardExit } from '../platform/machine.js';
import { FileBlockBackend, FileBlockError } from './backends/file-block-backend.js';
import type { MachineExit, MachineMetrics } from './machine.js';
import { machineCounters, MetricsDeltas, type SerialSinkMetrics } from './machine-worker-metrics.js';
import type { WorkerInit, WorkerReply, WorkerRequest } from './machine-worker-protocol.js';
import { osErrorText } from './os-error.js';
import { attachBlock, attachEntropy, type AttachedBlock } from './virtio-attach.js';
import type { VirtioRng } from '../devices/virtio/rng/rng.js';
import type { RateLimiterConfig } from './vmm-config.js';

/** Retries of a console write the host cannot take yet (a full pipe) before the bytes are dropped. */
const CONSOLE_EAGAIN_RETRIES = 200;

export class MachineSession {
  private readonly deltas = new MetricsDeltas();
  private stopRequested = false;
  private closed = false;

  private constructor(
    readonly machine: Machine,
    private readonly blocks: AttachedBlock[],
    private readonly rng: VirtioRng | undefined,
    private readonly serial: ConsoleSink,
  ) {}

  /** Builds the machine; throws an Error whose message says what failed (the InstanceStart fault). */
  static build(init: WorkerInit): MachineSession {
    const { spec } = init;
    const kernel = readGuestFile('kernel image', spec.kernel.path);
    const initrd = spec.kernel.initrdPath !== undefined ? readGuestFile('initrd', spec.kernel.initrdPath) : undefined;
    const opened: { close(): void }[] = [];
    try {
      const serial = ConsoleSink.open(spec.serial.outPath, init.consoleFd);
      opened.push(serial);
      const blocks: AttachedBlock[] = [];
      for (const d of spec.drives) {
        let b: AttachedBlock;
        try {
          b = attachBlock({ id: d.id, path: d.path, readOnly: d.readOnly, cacheType: d.cacheType, rateLimiter: d.rateLimiter });
        } catch (e) {
          throw new Error(`Cannot attach drive "${d.id}": ${driveErrorText(e)}`, { cause: e });
        }
        opened.push(b.backend);
        blocks.push(b);
      }
      const virtio = blocks.map((b) => b.factory);
      let rng: VirtioRng | undefined;
      if (spec.entropy) {
        const e = attachEntropy(spec.entropy.rateLimiter);
        rng = e.device;
        virtio.push(e.factory);
      }
      let machine: Machine;
      try {
        machine = new Machine({
          memMiB: spec.memSizeMib,
          kernel,
          kernelName: spec.kernel.path,
          initrd,
          initrdName: spec.kernel.initrdPath,
          cmdline: spec.kernel.cmdline,
          consoleOut: (bytes) => serial.write(bytes),
          virtio,
          harts: spec.vcpuCount,
        });
      } catch (e) {
        throw new Error(`Cannot build the machine: ${osErrorText(e)}`, { cause: e });
      }
      return new MachineSession(machine, blocks, rng, serial);
    } catch (e) {
      for (const o of opened) o.close();
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
      case 'updateDrive':
        try {
          this.updateDrive(req.driveId, req.path, req.rateLimiter);
        } catch (e) {
          return fail(osErrorText(e));
        }
        return ok();
    }
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
      vcpus: this.machine.vcpus(),
    });
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const b of this.blocks) b.backend.close();
    this.serial.close();
  }
}

/** The guest's console on the host: a file or FIFO (PUT /serial), else the VMM's stdout. */
class ConsoleSink {
  readonly metrics: SerialSinkMetrics = { droppedWrites: 0 };
  private fd: number;

  private constructor(fd: number, private readonly owned: boolean) {
    this.fd = fd;
  }

  static open(path: string | undefined, fallbackFd: number): ConsoleSink {
    if (path === undefined) return new ConsoleSink(fallbackFd, false);
    // Non-blocking, so a FIFO nobody reads fails here (ENXIO) or drops output, and never hangs the machine.
    const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND | constants.O_NONBLOCK;
    try {
      return new ConsoleSink(openSync(path, flags, 0o644), true);
    } catch (e) {
      throw new Error(`Cannot open serial output "${path}": ${osErrorText(e)}`, { cause: e });
    }
  }

  /** Writes all of `bytes`, waiting briefly on a full pipe; what cannot be written is dropped and counted. */
  write(bytes: Uint8Array): void {
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
    if (this.owned && this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}

/** A cell to Atomics.wait on: a synchronous 1 ms sleep for the console's EAGAIN retry. */
const PAUSE = new Int32Array(new SharedArrayBuffer(4));

function readGuestFile(what: string, path: string): Uint8Array {
  try {
    if (!statSync(path).isFile()) throw new Error('it is not a regular file');
    return readFileSync(path);
  } catch (e) {
    throw new Error(`Cannot read ${what} "${path}": ${osErrorText(e)}`, { cause: e });
  }
}

/** The board's exit as the VMM reports it (Firecracker exits 0 when the guest powers off or reboots). */
export function vmmExit(e: BoardExit): MachineExit {
  switch (e.kind) {
    case 'poweroff':
      return { reason: 'shutdown', exitCode: 0 };
    case 'reboot':
      return { reason: 'reboot', exitCode: 0, message: 'the guest rebooted' };
    case 'panic':
      // With panic=-1 the kernel reboots after a panic; wisp says so and exits non-zero.
      return { reason: 'reboot', exitCode: 1, message: `guest kernel panic: ${e.message}` };
    case 'fail':
      return { reason: 'shutdown', exitCode: e.code & 0xff || 1, message: `the guest reported failure ${e.code} through the test finisher` };
    case 'stopped':
      return { reason: 'shutdown', exitCode: 0, message: 'stopped by the VMM' };
  }
}

/** A drive backend's failure, its errno worded as Firecracker does ("No such file or directory (os error 2)"). */
function driveErrorText(e: unknown): string {
  if (e instanceof FileBlockError && e.code === 'open-failed' && e.cause !== undefined) {
    return e.message.replace(/: [A-Z0-9]+$/, `: ${osErrorText(e.cause)}`);
  }
  return osErrorText(e);
}
