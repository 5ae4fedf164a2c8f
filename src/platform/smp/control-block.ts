/**
 * The words the machine's threads share besides guest memory, when harts run on threads of their own
 * (one worker per hart; the devices stay on the machine's thread, which owns them): one
 * SharedArrayBuffer, read and written with Atomics, waited on with Atomics.wait.
 *
 * Per hart:
 * - `attention`: bits other threads set (Atomics.or, then Atomics.notify) for the hart to look at
 *   between instructions: its interrupt lines changed, an IPI, fence requests, an HSM start, pause or
 *   resume, the end. A hart sleeping in WFI (or stopped, or paused) waits on this word, so it costs no
 *   host CPU and wakes as soon as something arrives.
 * - `lines`: the mip bits devices drive (MSIP, MTIP from the CLINT; SEIP, MEIP from the PLIC).
 * - the HSM state and start arguments, the run state (running, sleeping, parked), counters.
 * - an MMIO mailbox: one request at a time (the hart waits for its answer), served by the machine's
 *   thread, which owns every device.
 * Per pair (target, requester): a fence request (kind and range). A requester has at most one request
 * out per target (it waits for the answer), so the target clears the word when done, and the
 * requester waits for that.
 * Global: the doorbell the machine's thread waits on (MMIO requests, exits, parks), the pause flag, a
 * request to end the machine (SBI SRST from a hart), and the shared clock's state.
 */

import { PAUSABLE_CLOCK_SLOTS } from '../pausable-clock.js';

export const enum Attention {
  /** The `lines` word changed. */
  Lines = 1,
  /** Another hart sent an IPI: raise SSIP. */
  Ipi = 2,
  /** Fence requests wait in the request words. */
  Requests = 4,
  /** HSM hart_start: begin at the start address (the state is StartPending). */
  Start = 8,
  /** The pause flag changed. */
  Pause = 16,
  /** The machine is ending: leave the thread. */
  Exit = 32,
  /** While paused: send the hart's state (a snapshot), then say so (saved). */
  Save = 64,
}

/** What a hart thread is doing, for pause (all parked?) and for the record. */
export const enum RunState {
  Running = 0,
  /** Waiting for an interrupt (WFI), or stopped by HSM. */
  Sleeping = 1,
  /** Paused: parked until resumed. */
  Parked = 2,
  /** The thread has ended. */
  Exited = 3,
}

export const enum MailboxOp {
  Read = 1,
  Write = 2,
  /** SBI debug console: write `size` bytes of guest memory at `addr` to the console. */
  ConsoleWrite = 3,
  /** SBI debug console: read up to `size` console bytes into guest memory at `addr`; answers the count. */
  ConsoleRead = 4,
}

const enum MailboxState {
  Idle = 0,
  Request = 1,
  Answer = 2,
}

// Per-hart words (HART_WORDS apart, from HART_BASE).
const ATTN = 0, LINES = 1, HSM = 2, START_LO = 3, START_HI = 4, OPAQUE_LO = 5, OPAQUE_HI = 6, RUN = 7;
const MB_STATE = 8, MB_OP = 9, MB_ADDR = 10, MB_SIZE = 11, MB_VALUE = 12, MB_RESULT = 13;
const MMIO_READS = 14, MMIO_WRITES = 15, INSTRET = 16, SBI_CALLS = 18, SBI_UNSUPPORTED = 19, SAVED = 20; // INSTRET: a float64 (words 16-17)
const LIFE = 21, USER = 22;
const HART_WORDS = 32;
// Global words.
const DOORBELL = 0, PAUSE = 1, EXIT = 2, EXIT_REASON = 3, GO = 4, CLOCK = 8; // CLOCK: PAUSABLE_CLOCK_SLOTS float64s from word 8
const HART_BASE = CLOCK + 2 * PAUSABLE_CLOCK_SLOTS;
// Fence requests: REQ_WORDS per (target, requester) pair, after the harts.
const REQ_KIND = 0, REQ_START_LO = 1, REQ_START_HI = 2, REQ_SIZE_LO = 3, REQ_SIZE_HI = 4;
const REQ_WORDS = 5;

/** What a hart thread publishes about itself after each slice. */
export interface HartCounters {
  instret: number;
  mmioReads: number;
  mmioWrites: number;
  sbiCalls: number;
  sbiUnsupported: number;
}

/** Exit requests a hart can make (SBI SRST). */
export const enum ExitRequest {
  None = 0,
  Shutdown = 1,
  Reboot = 2,
}

/** Fence request kinds (bits). */
export const enum FenceRequest {
  Instruction = 1,
  VmaAll = 2,
  VmaRange = 4,
}

export class ControlBlock {
  readonly buffer: SharedArrayBuffer;
  readonly harts: number;
  private readonly i32: Int32Array;
  private readonly f64: Float64Array;
  private readonly reqBase: number;
  /** Time this thread spent waiting for MMIO answers (a figure for the record). */
  mailboxMs = 0;

  static byteLength(harts: number): number {
    return 4 * (HART_BASE + harts * HART_WORDS + harts * harts * REQ_WORDS);
  }

  constructor(harts: number, buffer?: SharedArrayBuffer) {
    this.harts = harts;
    this.buffer = buffer ?? new SharedArrayBuffer(ControlBlock.byteLength(harts));
    if (this.buffer.byteLength !== ControlBlock.byteLength(harts)) throw new RangeError(`Cannot attach a control block of ${this.buffer.byteLength} bytes for ${harts} harts`);
    this.i32 = new Int32Array(this.buffer);
    this.f64 = new Float64Array(this.buffer);
    this.reqBase = HART_BASE + harts * HART_WORDS;
  }

  private at(h: number, word: number): number {
    return HART_BASE + h * HART_WORDS + word;
  }

  /** Where the shared clock's state lives (PausableClock.shared / attach). */
  get clockByteOffset(): number {
    return CLOCK * 4;
  }
  clockState(): Float64Array {
    return new Float64Array(this.buffer, CLOCK * 4, PAUSABLE_CLOCK_SLOTS);
  }

  // ------------------------------------------------------------- attention

  /** Sets attention bits on hart `h` and wakes it if it sleeps. */
  notify(h: number, bits: number): void {
    const a = this.at(h, ATTN);
    Atomics.or(this.i32, a, bits);
    Atomics.notify(this.i32, a);
  }

  /** Whether hart `h` has attention bits waiting (a plain load: cheap enough to ask often). */
  pending(h: number): boolean {
    return this.i32[this.at(h, ATTN)] !== 0;
  }

  /** Takes hart `h`'s attention bits (the hart itself). */
  take(h: number): number {
    return Atomics.exchange(this.i32, this.at(h, ATTN), 0);
  }

  /** The cell and index of hart `h`'s attention word (for InterpreterHart.setAttention). */
  attentionCell(): Int32Array {
    return this.i32;
  }
  attentionIndex(h: number): number {
    return this.at(h, ATTN);
  }

  /** Blocks hart `h`'s thread until it has attention bits, or `ms` pass (Infinity: no limit). */
  sleep(h: number, ms: number): void {
    Atomics.wait(this.i32, this.at(h, ATTN), 0, ms);
  }

  // ------------------------------------------------------------- interrupt lines

  /** Drives mip bit `bit` of hart `h` (a device's line) and tells the hart. */
  setLine(h: number, bit: number, level: boolean): void {
    const w = this.at(h, LINES);
    const old = level ? Atomics.or(this.i32, w, 1 << bit) : Atomics.and(this.i32, w, ~(1 << bit));
    if (((old >>> bit) & 1) !== (level ? 1 : 0)) this.notify(h, Attention.Lines);
  }

  lines(h: number): number {
    return Atomics.load(this.i32, this.at(h, LINES));
  }

  // ------------------------------------------------------------- HSM and run state

  hsm(h: number): number {
    return Atomics.load(this.i32, this.at(h, HSM));
  }
  setHsm(h: number, state: number): void {
    Atomics.store(this.i32, this.at(h, HSM), state);
  }
  /** Moves hart `h` from HSM state `from` to `to`; false if it was not in `from`. */
  swapHsm(h: number, from: number, to: number): boolean {
    return Atomics.compareExchange(this.i32, this.at(h, HSM), from, to) === from;
  }
  setStart(h: number, addr: bigint, opaque: bigint): void {
    const i = this.i32;
    i[this.at(h, START_LO)] = Number(BigInt.asIntN(32, addr));
    i[this.at(h, START_HI)] = Number(BigInt.asIntN(32, addr >> 32n));
    i[this.at(h, OPAQUE_LO)] = Number(BigInt.asIntN(32, opaque));
    i[this.at(h, OPAQUE_HI)] = Number(BigInt.asIntN(32, opaque >> 32n));
  }
  start(h: number): { addr: bigint; opaque: bigint } {
    const i = this.i32;
    const pair = (lo: number, hi: number) => (BigInt(i[this.at(h, hi)]) << 32n) | BigInt(i[this.at(h, lo)] >>> 0);
    return { addr: pair(START_LO, START_HI), opaque: pair(OPAQUE_LO, OPAQUE_HI) };
  }

  /** Save requests: the machine clears the word, the hart sets it once its state is sent. */
  saved(h: number): boolean {
    return Atomics.load(this.i32, this.at(h, SAVED)) !== 0;
  }
  setSaved(h: number, on: boolean): void {
    Atomics.store(this.i32, this.at(h, SAVED), on ? 1 : 0);
    if (on) this.ring();
  }

  runState(h: number): RunState {
    return Atomics.load(this.i32, this.at(h, RUN));
  }
  /** The hart's thread says what it does; a change to Parked or Exited rings the doorbell. */
  setRunState(h: number, s: RunState): void {
    if (Atomics.exchange(this.i32, this.at(h, RUN), s) !== s && (s === RunState.Parked || s === RunState.Exited)) this.ring();
  }

  // ------------------------------------------------------------- counters

  /** The hart's counters as its thread last published them (instructions retired, MMIO accesses, SBI calls). */
  setCounters(h: number, c: HartCounters): void {
    this.f64[this.at(h, INSTRET) >> 1] = c.instret;
    this.i32[this.at(h, MMIO_READS)] = c.mmioReads;
    this.i32[this.at(h, MMIO_WRITES)] = c.mmioWrites;
    this.i32[this.at(h, SBI_CALLS)] = c.sbiCalls;
    this.i32[this.at(h, SBI_UNSUPPORTED)] = c.sbiUnsupported;
  }
  /**
   * Signs of life the hart's thread saw (progress-watchdog.ts): a count that grows with each, and
   * whether the hart ever ran in U-mode.
   */
  setLife(h: number, signs: number, user: boolean): void {
    this.i32[this.at(h, LIFE)] = signs;
    if (user) this.i32[this.at(h, USER)] = 1;
  }
  life(h: number): { signs: number; user: boolean } {
    return { signs: this.i32[this.at(h, LIFE)], user: this.i32[this.at(h, USER)] !== 0 };
  }
  counters(h: number): HartCounters {
    const i = this.i32;
    return {
      instret: this.f64[this.at(h, INSTRET) >> 1], mmioReads: i[this.at(h, MMIO_READS)] >>> 0, mmioWrites: i[this.at(h, MMIO_WRITES)] >>> 0,
      sbiCalls: i[this.at(h, SBI_CALLS)] >>> 0, sbiUnsupported: i[this.at(h, SBI_UNSUPPORTED)] >>> 0,
    };
  }
  // ------------------------------------------------------------- the machine's thread

  /** Wakes the machine's thread (it waits on the doorbell between requests). */
  ring(): void {
    Atomics.add(this.i32, DOORBELL, 1);
    Atomics.notify(this.i32, DOORBELL);
  }
  /** The doorbell's count, to wait on with waitDoorbell. */
  doorbell(): number {
    return Atomics.load(this.i32, DOORBELL);
  }
  /** Blocks the machine's thread until the doorbell rings after `seen` was read, or `ms` pass. */
  waitDoorbell(seen: number, ms: number): void {
    Atomics.wait(this.i32, DOORBELL, seen, ms);
  }

  /** Lets every hart thread begin (they wait for it once ready). */
  go(): void {
    Atomics.store(this.i32, GO, 1);
    Atomics.notify(this.i32, GO);
  }
  waitGo(): void {
    while (Atomics.load(this.i32, GO) === 0) Atomics.wait(this.i32, GO, 0);
  }

  get paused(): boolean {
    return Atomics.load(this.i32, PAUSE) !== 0;
  }
  set paused(on: boolean) {
    Atomics.store(this.i32, PAUSE, on ? 1 : 0);
  }

  /** A hart asks the machine to end (SBI SRST); the first request wins. */
  requestExit(kind: ExitRequest, reason: number): void {
    Atomics.store(this.i32, EXIT_REASON, reason);
    Atomics.compareExchange(this.i32, EXIT, ExitRequest.None, kind);
    this.ring();
  }
  exitRequest(): { kind: ExitRequest; reason: number } {
    return { kind: Atomics.load(this.i32, EXIT), reason: Atomics.load(this.i32, EXIT_REASON) };
  }

  // ------------------------------------------------------------- MMIO mailbox

  /**
   * A hart's device access, answered by the machine's thread: posts the request, rings, and waits
   * (spinning briefly first: an awake machine thread answers within microseconds, and a futex sleep
   * and wake-up costs about as much as the access itself).
   */
  call(h: number, op: MailboxOp, addr: number, size: number, value: number): number {
    const i = this.i32, b = this.at(h, MB_STATE);
    i[b + (MB_OP - MB_STATE)] = op;
    i[b + (MB_ADDR - MB_STATE)] = addr | 0;
    i[b + (MB_SIZE - MB_STATE)] = size;
    i[b + (MB_VALUE - MB_STATE)] = value | 0;
    Atomics.store(i, b, MailboxState.Request);
    this.ring();
    const t0 = performance.now();
    for (let spin = 0; spin < SPIN && Atomics.load(i, b) !== MailboxState.Answer; spin++) { /* the answer is usually quick */ }
    while (Atomics.load(i, b) !== MailboxState.Answer) Atomics.wait(i, b, MailboxState.Request);
    const r = i[b + (MB_RESULT - MB_STATE)];
    Atomics.store(i, b, MailboxState.Idle);
    this.mailboxMs += performance.now() - t0;
    return r;
  }

  /**
   * On the machine's thread: answers every request waiting in the harts' mailboxes with `serve`.
   * Returns how many were answered.
   */
  serve(serve: (op: MailboxOp, addr: number, size: number, value: number) => number): number {
    const i = this.i32;
    let n = 0;
    for (let h = 0; h < this.harts; h++) {
      const b = this.at(h, MB_STATE);
      if (Atomics.load(i, b) !== MailboxState.Request) continue;
      const r = serve(i[b + (MB_OP - MB_STATE)], i[b + (MB_ADDR - MB_STATE)] >>> 0, i[b + (MB_SIZE - MB_STATE)], i[b + (MB_VALUE - MB_STATE)] >>> 0);
      i[b + (MB_RESULT - MB_STATE)] = r | 0;
      Atomics.store(i, b, MailboxState.Answer);
      Atomics.notify(i, b);
      n++;
    }
    return n;
  }

  // ------------------------------------------------------------- fence requests between harts

  private req(target: number, from: number): number {
    return this.reqBase + (target * this.harts + from) * REQ_WORDS;
  }

  /** Posts a fence request from hart `from` to hart `target` and tells it (at most one out per pair). */
  postFence(target: number, from: number, kind: number, start: bigint, size: bigint): void {
    const i = this.i32, r = this.req(target, from);
    i[r + REQ_START_LO] = Number(BigInt.asIntN(32, start));
    i[r + REQ_START_HI] = Number(BigInt.asIntN(32, start >> 32n));
    i[r + REQ_SIZE_LO] = Number(BigInt.asIntN(32, size));
    i[r + REQ_SIZE_HI] = Number(BigInt.asIntN(32, size >> 32n));
    Atomics.store(i, r + REQ_KIND, kind);
    this.notify(target, Attention.Requests);
  }

  /** Whether hart `target` has done the request `from` posted. */
  fenceDone(target: number, from: number): boolean {
    return Atomics.load(this.i32, this.req(target, from) + REQ_KIND) === 0;
  }

  /** Waits (at most `ms`) for hart `target` to finish the request `from` posted. */
  waitFence(target: number, from: number, ms: number): void {
    const w = this.req(target, from) + REQ_KIND;
    const k = Atomics.load(this.i32, w);
    if (k !== 0) Atomics.wait(this.i32, w, k, ms);
  }

  /**
   * On hart `target`: hands each waiting request to `run` (kind, start, size as numbers: the range is
   * only ever used page by page below 2^53), then marks it done and wakes its requester.
   */
  runFences(target: number, run: (kind: number, startLo: number, startHi: number, sizeLo: number, sizeHi: number) => void): void {
    const i = this.i32;
    for (let from = 0; from < this.harts; from++) {
      const r = this.req(target, from);
      const kind = Atomics.load(i, r + REQ_KIND);
      if (kind === 0) continue;
      run(kind, i[r + REQ_START_LO], i[r + REQ_START_HI], i[r + REQ_SIZE_LO], i[r + REQ_SIZE_HI]);
      Atomics.store(i, r + REQ_KIND, 0);
      Atomics.notify(i, r + REQ_KIND);
    }
  }
}

/** Polls of a mailbox answer before the hart sleeps on it (a few microseconds). */
const SPIN = 2000;
