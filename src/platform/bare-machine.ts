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
import { Clint, monotonicClock, type Clock } from './clint.js';
import { CLINT, SYSCON, UART } from './memory-map.js';
import { Syscon, type ExitRequest } from './syscon.js';
import { Uart16550 } from './uart16550.js';
import { parseElf, ElfError } from './boot/elf.js';

export interface BareOptions {
  memMiB: number;
  maxInstructions: number;
  /** Where the UART's output goes (stdout by default). */
  output?: (bytes: Uint8Array) => void;
  trace?: TraceSink;
  /** Execution engine (default: the interpreter). */
  engine?: Engine;
  /** The timebase (default: the host's monotonic clock); the differential runner passes a deterministic one. */
  clock?: Clock;
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

/**
 * The bare-metal machine for M-mode test programs (riscv-tests / spike convention): RAM, CLINT,
 * UART and the SiFive test finisher, one hart starting in M-mode at the ELF entry. The program ends by
 * writing `tohost` (1 = pass, (n << 1) | 1 = test n failed) or the finisher.
 */
export class BareMachine {
  readonly memory: MachineMemory;
  readonly bus = new Bus();
  readonly hart: InterpreterHart;
  readonly clint: Clint;
  private exit: ExitRequest | undefined;
  private tohost = -1; // host byte offset of tohost, or -1

  constructor(elfBytes: Uint8Array, file: string, private readonly opts: BareOptions) {
    let image;
    try {
      image = parseElf(elfBytes);
    } catch (e) {
      if (e instanceof ElfError) throw new BareLoadError(`Cannot load "${file}": ${e.message}`, { cause: e });
      throw e;
    }
    this.memory = new MachineMemory(opts.memMiB * 1024 * 1024);
    const mem = this.memory;
    for (const seg of image.segments) {
      if (mem.hostOffset(seg.paddr, seg.memSize) < 0) {
        throw new BareLoadError(`Cannot load "${file}": segment at 0x${seg.paddr.toString(16)} (${seg.memSize} bytes) lies outside RAM 0x${mem.ramBase.toString(16)}-0x${(mem.ramBase + mem.ramSize).toString(16)}`);
      }
      mem.write(seg.paddr, seg.data);
    }
    const clock = opts.clock ?? monotonicClock();
    let hart!: InterpreterHart;
    this.clint = new Clint(1, clock, {
      setSoftware: (_h, level) => hart.setInterruptLine(Interrupt.MSoftware, level),
      setTimer: (_h, level) => hart.setInterruptLine(Interrupt.MTimer, level),
    });
    const out = opts.output ?? ((b: Uint8Array) => { writeSync(1, b); });
    this.bus.add('syscon', SYSCON.base, SYSCON.size, new Syscon((r) => { this.exit = r; hart.requestStop(); }));
    this.bus.add('clint', CLINT.base, CLINT.size, this.clint);
    this.bus.add('uart', UART.base, UART.size, new Uart16550({ write: out }, new LevelIrqLine()));
    const hartOpts = { id: 0, memory: mem, bus: this.bus, time: () => clock.now() };
    hart = createHart(opts.engine ?? 'interpreter', hartOpts);
    this.hart = hart;
    hart.setPrivilege(Priv.M);
    hart.setPc(image.entry);
    const tohost = image.symbols.get('tohost');
    if (tohost !== undefined) this.tohost = mem.hostOffset(Number(tohost), 8);
    if (opts.trace) hart.setTrace(opts.trace);
  }

  /** The program's result if it has finished (tohost or the finisher), else undefined. */
  verdict(): BareResult | undefined {
    const hart: Hart = this.hart;
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

  run(): BareResult {
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
}
