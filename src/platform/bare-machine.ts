import { writeSync } from 'node:fs';
import { Bus } from '../memory/bus.js';
import { MachineMemory } from '../memory/machine-memory.js';
import { StopReason, type Hart, type TraceSink } from '../cpu/hart.js';
import type { InterpreterHart } from '../cpu/interpreter/interpreter-hart.js';
import { createHart, type Engine } from './engine.js';
export type { Engine } from './engine.js';
import { Interrupt, Priv } from '../cpu/trap.js';
import { LevelIrqLine } from '../devices/irq-line.js';
import { sleepSync } from '../util/sleep.js';
import { Clint, ManualClock, monotonicClock, type Clock } from './clint.js';
import { PausableClock } from './pausable-clock.js';
import { ControlBlock, RunState } from './smp/control-block.js';
import { HartThreads } from './smp/hart-threads.js';
import { CLINT, SYSCON, UART } from './memory-map.js';
import { Syscon, type ExitRequest } from './syscon.js';
import { Uart16550 } from './uart16550.js';
import { parseElf, ElfError } from './boot/elf.js';

export interface BareOptions {
  memMiB: number;
  maxInstructions: number;
  /** Where the UART's output goes (stdout by default). */
  output?: (bytes: Uint8Array) => void;
  /** Every instruction of each hart on this thread, to the sink made for it. */
  trace?: (hart: Hart) => TraceSink;
  /** Execution engine (default: the interpreter). */
  engine?: Engine;
  /** The timebase (default: the host's monotonic clock); the differential runner passes a deterministic one. */
  clock?: Clock;
  /**
   * Harts, 1…32 (default 1), all starting at the entry in M-mode with a0 = mhartid, as QEMU's virt
   * board does with -bios none. Several run each on a thread of their own (runAsync), unless
   * `deterministic`: then all on this thread in turn, time from the instruction count (run).
   */
  harts?: number;
  deterministic?: boolean;
}

export type BareResult =
  | { kind: 'pass'; instructions: number }
  | { kind: 'fail'; test: number; instructions: number }
  | { kind: 'timeout'; instructions: number }
  | { kind: 'stuck'; instructions: number; reason: string };

export class BareLoadError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BareLoadError';
  }
}

const SLICE = 20_000;
/** Instructions each hart runs in its turn in the deterministic mode (10 per timebase tick). */
const TURN = 1_000;
/** How long every hart may sleep with nothing able to wake it before the program counts as stuck. */
const STUCK_MS = 2_000;

/**
 * The bare-metal machine for M-mode test programs (riscv-tests / spike convention): RAM, CLINT,
 * UART and the SiFive test finisher, one hart starting in M-mode at the ELF entry. The program ends by
 * writing `tohost` (1 = pass, (n << 1) | 1 = test n failed) or the finisher.
 */
export class BareMachine {
  readonly memory: MachineMemory;
  readonly bus = new Bus();
  /** The harts on this thread (none when they run on threads of their own). */
  readonly harts: InterpreterHart[] = [];
  readonly clint: Clint;
  private exit: ExitRequest | undefined;
  private tohost = -1; // host byte offset of tohost, or -1
  private readonly control: ControlBlock | undefined;
  private readonly entry: bigint;
  private readonly clock: Clock;

  constructor(elfBytes: Uint8Array, file: string, private readonly opts: BareOptions) {
    let image;
    try {
      image = parseElf(elfBytes);
    } catch (e) {
      if (e instanceof ElfError) throw new BareLoadError(`Cannot load "${file}": ${e.message}`, { cause: e });
      throw e;
    }
    const n = opts.harts ?? 1;
    this.memory = new MachineMemory(opts.memMiB * 1024 * 1024, { harts: n, shared: n > 1 });
    const mem = this.memory;
    for (const seg of image.segments) {
      if (mem.hostOffset(seg.paddr, seg.memSize) < 0) {
        throw new BareLoadError(`Cannot load "${file}": segment at 0x${seg.paddr.toString(16)} (${seg.memSize} bytes) lies outside RAM 0x${mem.ramBase.toString(16)}-0x${(mem.ramBase + mem.ramSize).toString(16)}`);
      }
      mem.write(seg.paddr, seg.data);
    }
    const threaded = n > 1 && !opts.deterministic;
    this.control = threaded ? new ControlBlock(n) : undefined;
    const clock = opts.deterministic ? new ManualClock() : threaded ? PausableClock.shared(0, this.control!.buffer, this.control!.clockByteOffset) : opts.clock ?? monotonicClock();
    this.clock = clock;
    const cb = this.control;
    const line = (bit: number) => cb
      ? (h: number, level: boolean) => cb.setLine(h, bit, level)
      : (h: number, level: boolean) => this.harts[h].setInterruptLine(bit, level);
    this.clint = new Clint(n, clock, { setSoftware: line(Interrupt.MSoftware), setTimer: line(Interrupt.MTimer) });
    const out = opts.output ?? ((b: Uint8Array) => { writeSync(1, b); });
    this.bus.add('syscon', SYSCON.base, SYSCON.size, new Syscon((r) => { this.exit = r; for (const h of this.harts) h.requestStop(); }));
    this.bus.add('clint', CLINT.base, CLINT.size, this.clint);
    this.bus.add('uart', UART.base, UART.size, new Uart16550({ write: out }, new LevelIrqLine()));
    this.entry = image.entry;
    if (!threaded) {
      for (let id = 0; id < n; id++) {
        const hart = createHart(opts.engine ?? 'interpreter', { id, memory: mem, bus: this.bus, time: () => clock.now() });
        hart.setPrivilege(Priv.M);
        hart.setX(10, BigInt(id));
        hart.setPc(image.entry);
        if (opts.trace) hart.setTrace(opts.trace(hart));
        this.harts.push(hart);
      }
    }
    const tohost = image.symbols.get('tohost');
    if (tohost !== undefined) this.tohost = mem.hostOffset(Number(tohost), 8);
  }

  /** The first hart, on this thread (tracing, the lock-step runner; not with hart threads). */
  get hart(): InterpreterHart {
    const h = this.harts[0];
    if (h === undefined) throw new Error('The harts of this machine run on threads of their own');
    return h;
  }

  /** Instructions retired over every hart (hart threads: as of their last slice). */
  get instret(): number {
    const cb = this.control;
    if (cb) {
      let n = 0;
      for (let h = 0; h < cb.harts; h++) n += cb.counters(h).instret;
      return n;
    }
    return this.harts.reduce((a, h) => a + h.instret, 0);
  }

  /** The program's result if it has finished (tohost or the finisher), else undefined. */
  verdict(): BareResult | undefined {
    const hart = { instret: this.instret };
    const i32 = this.memory.i32;
    if (this.tohost >= 0) {
      const lo = i32[this.tohost >> 2], hi = i32[(this.tohost >> 2) + 1];
      if (lo !== 0 || hi !== 0) {
        if ((lo & 1) === 0) return { kind: 'stuck', instructions: hart.instret, reason: `unsupported tohost command 0x${(hi >>> 0).toString(16)}${(lo >>> 0).toString(16).padStart(8, '0')}` };
        const code = (lo >>> 1) | ((hi & 1) << 31);
        return code === 0 ? { kind: 'pass', instructions: hart.instret } : { kind: 'fail', test: code, instructions: hart.instret };
      }
    }
    if (this.exit) {
      const e = this.exit;
      if (e.kind === 'poweroff') return { kind: 'pass', instructions: hart.instret };
      if (e.kind === 'fail') return { kind: 'fail', test: e.code, instructions: hart.instret };
      return { kind: 'stuck', instructions: hart.instret, reason: 'the program asked for a reset' };
    }
    return undefined;
  }

  /** Runs the program on this thread (one hart, or several in turn when `deterministic`). */
  run(): BareResult {
    if (this.control) throw new Error('A bare machine with hart threads runs with runAsync()');
    if (this.harts.length > 1 || this.opts.deterministic) return this.runInTurn();
    const hart: Hart = this.hart;
    const max = this.opts.maxInstructions;
    for (;;) {
      const done = hart.instret;
      if (done >= max) return { kind: 'timeout', instructions: done };
      this.clint.update();
      const r = hart.run(Math.min(SLICE, max - done));
      const verdict = this.verdict();
      if (verdict) return verdict;
      if (r === StopReason.Wfi) {
        const deadline = Math.min(this.clint.nextDeadline(), hart.timerDeadline());
        if (deadline === Infinity) {
          return { kind: 'stuck', instructions: hart.instret, reason: 'the hart waits (WFI) for an interrupt that nothing can raise' };
        }
        const now = this.clint.mtime();
        sleepSync(Math.min(100, (deadline - now) / 10_000));
      }
    }
  }

  /** Any machine: on hart threads when it has them, else as run(). */
  async runAsync(): Promise<BareResult> {
    return this.control ? this.runThreaded(this.control) : this.run();
  }

  /**
   * Every hart on this thread, TURN instructions each in turn; with `deterministic`, time moves
   * TURN / 10 ticks per round and jumps to the next deadline when every hart waits.
   */
  private runInTurn(): BareResult {
    const max = this.opts.maxInstructions;
    const manual = this.clock instanceof ManualClock ? this.clock : undefined;
    for (;;) {
      const done = this.instret;
      if (done >= max) return { kind: 'timeout', instructions: done };
      this.clint.update();
      let waiting = true;
      let deadline = this.clint.nextDeadline();
      for (const h of this.harts) {
        if (h.run(TURN) !== StopReason.Wfi) waiting = false;
        else deadline = Math.min(deadline, h.timerDeadline());
        const verdict = this.verdict();
        if (verdict) return verdict;
      }
      if (waiting && deadline === Infinity) {
        return { kind: 'stuck', instructions: this.instret, reason: 'every hart waits (WFI) for an interrupt that nothing can raise' };
      }
      if (manual) {
        if (!waiting) manual.advance(TURN / 10);
        else manual.ticks = Math.max(manual.ticks + 1, Math.ceil(deadline));
      } else if (waiting) {
        sleepSync(Math.min(100, (deadline - this.clint.mtime()) / 10_000));
      }
    }
  }

  /** Harts on threads of their own: this thread answers their device accesses and watches tohost. */
  private async runThreaded(cb: ControlBlock): Promise<BareResult> {
    const threads = new HartThreads({
      memory: this.memory, control: cb, bus: this.bus, engine: this.opts.engine ?? 'interpreter',
      jit: { background: false }, boot: { kind: 'bare', entry: this.entry },
    });
    try {
      await threads.start();
      const max = this.opts.maxInstructions;
      let sleepingSince = -1;
      let turn = performance.now();
      for (;;) {
        const seen = cb.doorbell();
        threads.serve();
        this.clint.update();
        const verdict = this.verdict();
        if (verdict) return verdict;
        if (threads.failure) throw threads.failure;
        const done = this.instret;
        if (done >= max) return { kind: 'timeout', instructions: done };
        let sleeping = true;
        for (let h = 0; h < cb.harts; h++) if (cb.runState(h) !== RunState.Sleeping) sleeping = false;
        const deadline = this.clint.nextDeadline();
        if (sleeping && deadline === Infinity) {
          if (sleepingSince < 0) sleepingSince = performance.now();
          else if (performance.now() - sleepingSince > STUCK_MS) {
            return { kind: 'stuck', instructions: done, reason: 'every hart waits (WFI) for an interrupt that nothing can raise' };
          }
        } else sleepingSince = -1;
        if (threads.serve() === 0) cb.waitDoorbell(seen, Math.max(0, Math.min(1, (deadline - this.clint.mtime()) / 10_000)));
        if (performance.now() - turn > 10) { // worker events (a failed hart thread) arrive through the event loop
          await new Promise<void>((r) => setImmediate(r));
          turn = performance.now();
        }
      }
    } finally {
      await threads.stop();
    }
  }
}
