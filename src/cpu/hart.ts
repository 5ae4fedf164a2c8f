/**
 * The hart's small public surface (TinyEMU's CPU is ~10 calls; so is this). Everything a platform,
 * a runner or a debugger needs goes through here; the engines (interpreter, JIT) implement it.
 */
export const enum StopReason {
  /** The instruction budget ran out. */
  Budget = 0,
  /** The hart executed WFI with no interrupt pending: sleep until one can be. */
  Wfi = 1,
  /** Someone called requestStop() (a device, the SBI, a signal). */
  Stopped = 2,
}

/** Answers ecalls from S-mode when there is no firmware: wisp's built-in SBI. */
export interface EcallHandler {
  /** Return true if the call was handled (the hart then resumes after the ecall). */
  ecall(hart: Hart): boolean;
}

/** Per-instruction observer for `--trace` and differential testing (slow path; null when off). */
export interface TraceSink {
  instruction(pc: bigint, insn: number, length: 2 | 4): void;
}

export interface Hart {
  readonly id: number;
  /** Executes at most `budget` instructions; returns why it stopped. */
  run(budget: number): StopReason;
  /** Drives one of the interrupt lines into mip from outside (MSIP 3, MTIP 7, SEIP 9, MEIP 11). */
  setInterruptLine(bit: number, level: boolean): void;
  /** Asks run() to return StopReason.Stopped at the next instruction boundary it can. */
  requestStop(): void;
  /** True if an enabled interrupt is pending, i.e. WFI would now wake. */
  interruptPending(): boolean;
  /** The Sstc deadline in timer ticks (Infinity if none is armed), so a sleeping machine knows when to wake. */
  timerDeadline(): number;
  /** Instructions retired so far. */
  readonly instret: number;

  /** Architectural state access for loaders, the SBI, debuggers and tests (not for hot paths). */
  getPc(): bigint;
  setPc(pc: bigint): void;
  getX(i: number): bigint;
  setX(i: number, v: bigint): void;
  getPrivilege(): number;
  setPrivilege(p: number): void;
  readCsr(num: number): bigint | undefined;
  writeCsr(num: number, v: bigint): boolean;
  /**
   * FENCE.I on behalf of someone else (the SBI's remote fence.i): fetches must see earlier stores,
   * the hart's own and those reported to the machine memory (GuestMemory.write, noteWrite).
   */
  instructionFence(): void;
  /** Drops every cached translation (sfence.vma on behalf of someone else: the SBI's remote fences). */
  flushTranslations(): void;
  /** Sets a trace sink (or null); the interpreter then takes its slow, observed path. */
  setTrace(sink: TraceSink | null): void;
}
