import { Bus } from '../memory/bus.js';
import type { GuestMemory } from '../memory/guest-memory.js';
import { MachineMemory } from '../memory/machine-memory.js';
import type { PageSource } from '../memory/page-source.js';
import type { MmioDevice } from '../memory/mmio-device.js';
import { StopReason } from '../cpu/hart.js';
import type { InterpreterHart } from '../cpu/interpreter/interpreter-hart.js';
import { createHart, type Engine } from './engine.js';
import type { JitOptions } from '../jit/jit-hart.js';
import { Csr } from '../cpu/csr/csr-numbers.js';
import { Interrupt, Priv } from '../cpu/trap.js';
import type { IrqLine } from '../devices/irq-line.js';
import { MmioTransport, type MmioTransportState } from '../devices/virtio/mmio-transport.js';
import type { HartState as HartSnapshot } from '../cpu/hart-state.js';
import { Mmu } from '../cpu/mmu/mmu.js';
import { TLB_WRITE_OFFSET } from '../cpu/hart-layout.js';
import { checkArray, checkInt, checkObject, StateError } from '../util/plain-state.js';
import { Clint, ManualClock, type Clock, type ClintState } from './clint.js';
import { PausableClock } from './pausable-clock.js';
import { GoldfishRtc, systemWallClock, type GoldfishRtcState, type WallClock } from './goldfish-rtc.js';
import { CLINT, PLIC, RTC, SYSCON, UART, virtioSlot, TIMEBASE_HZ } from './memory-map.js';
import { Plic, type PlicState } from './plic.js';
import { Syscon } from './syscon.js';
import { Uart16550, type UartState } from './uart16550.js';
import { HartState, Sbi, type SbiMetrics } from './sbi/sbi.js';
import { buildFdt } from './fdt/build-fdt.js';
import { planBoot, type BootLayout } from './boot/kernel-loader.js';
import { ControlBlock, ExitRequest } from './smp/control-block.js';
import { enterSupervisor, firmwareSetup } from './smp/hart-reset.js';
import { HartThreads } from './smp/hart-threads.js';
import { LocalHarts } from './smp/local-harts.js';
import { DEFAULT_WATCHDOG, findPanicMessage, ProgressWatchdog, type WatchdogLimits } from './progress-watchdog.js';

/** What wisp's harts implement, as the device tree tells the kernel. */
export const GUEST_ISA = 'rv64imafdc_zicsr_zifencei_zicntr_zihintpause_sstc';

/** A device for a virtio-mmio slot, built once the machine's memory and the slot's IRQ line exist. */
export type VirtioFactory = (ctx: { memory: GuestMemory; irq: IrqLine }) => MmioDevice;

export interface MachineConfig {
  memMiB: number;
  kernel: Uint8Array;
  kernelName: string;
  initrd?: Uint8Array;
  initrdName?: string;
  cmdline: string;
  /** Where the console (UART and SBI debug console) output goes. */
  consoleOut: (bytes: Uint8Array) => void;
  /** Devices for virtio slots 0, 1, ... in order (they become /dev/vda, vdb, ...). */
  virtio?: VirtioFactory[];
  /** The timebase behind mtime and the `time` CSR; by default the host's, stopped while paused. */
  clock?: Clock;
  /** Execution engine (default: the JIT; the interpreter is the reference it is tested against). */
  engine?: Engine;
  /** JIT settings (default: translations compile in the background). */
  jit?: JitOptions;
  /** Wall-clock time for the RTC (default: the host's) and the device tree's rng-seed (default: random); fixed for reproducible runs. */
  wallClock?: WallClock;
  rngSeed?: Uint8Array;
  /** Harts (vCPUs), 1…32 (default 1). */
  harts?: number;
  /**
   * With several harts: each on a worker thread of its own (the default), or all on this thread in
   * turn, `deterministic` or not.
   */
  threads?: boolean;
  /**
   * Replayable runs: every hart on this thread in turn, guest time from the instruction count (the
   * machine drives its own clock; `clock` is ignored), translations compiled at once, and (unless
   * given) a fixed wall clock and rng-seed. The same inputs give the same run, instruction for
   * instruction, whatever the host does.
   */
  deterministic?: boolean;
  /** When a guest that makes no progress counts as stalled (progress-watchdog.ts); false: never. */
  watchdog?: WatchdogLimits | false;
  /**
   * Resume a snapshot instead of booting: the board is built as configured (same devices in the
   * same slots), then takes `state`; RAM comes from `memory`, page by page as the guest touches it,
   * or all at once first with `eager` (null: the caller has filled RAM). The kernel, initrd and
   * command line are then not used.
   */
  restore?: { state: MachineState; memory: PageSource | null; eager?: boolean };
}

/**
 * The board's part of a snapshot, as plain data: every hart, the CLINT, PLIC, UART and RTC, each
 * virtio-mmio slot (transport and device), and the timebase. RAM is saved apart (snapshot/).
 */
export interface MachineState {
  version: 1;
  /** mtime when saved, in timebase ticks: a restored machine's clock goes on from here. */
  mtimeTicks: number;
  /** Every hart, by id. */
  harts: HartSnapshot[];
  /** Each hart's SBI HSM state (started, stopped, ...); left out, hart 0 runs and the others are stopped. */
  hsm?: number[];
  clint: ClintState;
  plic: PlicState;
  uart: UartState;
  rtc: GoldfishRtcState;
  /** virtio-mmio slots 0, 1, … in order. */
  virtio: MmioTransportState[];
}

/** Per vCPU: what Firecracker's vcpu metrics count, and the instructions retired. */
export interface VcpuCounters {
  instret: number;
  mmioReads: number;
  mmioWrites: number;
}

export type MachineExit =
  | { kind: 'poweroff' }
  /** `early`: before the guest ran any program (U-mode) and with nothing on its console. */
  | { kind: 'reboot'; early?: boolean }
  | { kind: 'panic'; message: string }
  | { kind: 'fail'; code: number }
  | { kind: 'stopped' }
  /** The guest stopped making progress (progress-watchdog.ts); `message` says what was seen. */
  | { kind: 'stalled'; message: string };

/** Instructions per hart.run() call: ~0.5 ms of guest time, the granularity of timer checks. */
const SLICE = 50_000;
/** Instructions each hart runs in its turn when several share this thread (deterministic mode). */
const TURN = 2_000;
/** The deterministic mode's timebase: 10 instructions per 100 ns tick, as `--differential` (100 MIPS). */
const INSTRUCTIONS_PER_TICK = 10;
/** The deterministic mode's wall clock starts here (2025-01-01T00:00:00Z). */
const FIXED_EPOCH_NS = 1_735_689_600_000_000_000n;
/** Wall time the machine runs before yielding to the event loop (console input, API messages). */
const YIELD_MS = 10;
const PANIC_MARK = 'Kernel panic - not syncing';

/** A virtio device that can hold requests back (a throttled rate limiter) and is retried by the loop. */
interface DeferringDevice {
  retryDelayMs(): number;
  retry(): void;
}

/**
 * The wisp board (QEMU virt's map, DESIGN.md "Guest platform") assembled around its harts, with a
 * kernel, initrd and generated device tree in RAM and wisp's SBI answering the kernel. run() executes
 * until the guest powers off, reboots, panics or stop() is called, yielding to the event loop every
 * few milliseconds and sleeping (not spinning) while the harts wait in WFI.
 *
 * One hart runs on this thread. Several run each on a worker thread of its own over the one shared
 * memory (platform/smp), while this thread keeps the devices and answers the harts' device accesses;
 * or, in the deterministic mode, all on this thread in turn.
 */
export class Machine {
  readonly memory: MachineMemory;
  readonly bus = new Bus();
  /** The harts that run on this thread (all of them, unless they run on threads of their own). */
  readonly harts: InterpreterHart[] = [];
  readonly hartCount: number;
  readonly clint: Clint;
  readonly plic: Plic;
  readonly uart: Uart16550;
  readonly rtc: GoldfishRtc;
  /** The SBI of the harts on this thread (each hart thread has its own; undefined then). */
  readonly sbi: Sbi | undefined;
  /** Where the kernel, initrd and device tree went (undefined for a restored snapshot). */
  readonly layout: BootLayout | undefined;
  readonly fdt: Uint8Array | undefined;
  /** The virtio-mmio slots in order (what the factories built). */
  readonly virtio: MmioDevice[] = [];
  private exit: MachineExit | undefined;
  private input: Uint8Array[] = [];
  private wake: (() => void) | undefined;
  private panicTail = '';
  private panicked: string | undefined;
  private paused = false;
  private readonly clock: Clock;
  /** Virtio devices that may hold requests back; run() retries them once their delay has passed. */
  private readonly deferring: DeferringDevice[] = [];
  /** Harts on this thread, for the SBI (HSM, IPI, fences). */
  private readonly local: LocalHarts | undefined;
  /** Harts on threads of their own: the words shared with them, and the threads once run() starts them. */
  private readonly control: ControlBlock | undefined;
  private threads: HartThreads | undefined;
  private readonly deterministic: boolean;
  /** For harts on threads of their own: where they begin (boot, or their restored states). */
  private threadBoot: { entry: bigint; a1: bigint } | undefined;
  private threadRestore: HartSnapshot[] | undefined;
  private readonly watchdog: ProgressWatchdog | undefined;
  /** Console bytes the guest wrote (UART and SBI debug console). */
  consoleBytes = 0;

  constructor(private readonly cfg: MachineConfig) {
    const restoring = cfg.restore && checkMachineState(cfg.restore.state, cfg.harts ?? 1);
    const n = cfg.harts ?? 1;
    this.hartCount = n;
    this.deterministic = cfg.deterministic ?? false;
    const threaded = n > 1 && (cfg.threads ?? true) && !this.deterministic;
    if (threaded && cfg.clock !== undefined) throw new RangeError('Cannot run harts on threads of their own with a clock of this thread: leave `clock` out or set `deterministic`');
    this.control = threaded ? new ControlBlock(n) : undefined;
    const startTicks = restoring ? restoring.mtimeTicks : 0;
    const clock = this.deterministic ? new ManualClock(startTicks)
      : cfg.clock ?? (this.control ? PausableClock.shared(startTicks, this.control.buffer, this.control.clockByteOffset) : new PausableClock(undefined, startTicks));
    this.clock = clock;
    // The progress watchdog samples the hart of the one-hart loop, or the signs of life harts on threads
    // of their own count; harts taking turns on this thread (and the deterministic mode) run without
    // it, and without the search of RAM for a panic message it guards: see rebootExit().
    if (cfg.watchdog !== false && (n === 1 || threaded) && !this.deterministic) this.watchdog = new ProgressWatchdog(cfg.watchdog ?? DEFAULT_WATCHDOG);
    // A restored guest booted in an earlier life: its RAM may hold any old text, so it is never
    // searched for a panic message, and a reboot of it is not an early one.
    if (this.watchdog && restoring) this.watchdog.reachedUserSpace = true;
    // More than one hart: a shared memory (and SC by compare-and-swap, see InterpreterHart.atomic), even on one thread.
    this.memory = new MachineMemory(cfg.memMiB * 1024 * 1024, { harts: n, shared: n > 1 });
    const mem = this.memory;
    const cb = this.control;
    const line = (bit: number) => cb
      ? (h: number, level: boolean) => cb.setLine(h, bit, level)
      : (h: number, level: boolean) => this.harts[h].setInterruptLine(bit, level);
    this.clint = new Clint(n, clock, { setSoftware: line(Interrupt.MSoftware), setTimer: line(Interrupt.MTimer) });
    this.plic = new Plic(n, { setMachineExternal: line(Interrupt.MExternal), setSupervisorExternal: line(Interrupt.SExternal) });
    const consoleOut = (b: Uint8Array) => this.console(b);
    this.uart = new Uart16550({ write: consoleOut, rxReady: () => this.feedUart() }, this.plic.line(UART.irq!));
    const wallClock = cfg.wallClock ?? (this.deterministic ? { nowNs: () => FIXED_EPOCH_NS + BigInt(clock.now()) * 100n } : systemWallClock);
    this.rtc = new GoldfishRtc(wallClock, this.plic.line(RTC.irq!));
    const syscon = new Syscon((r) => {
      this.finish(r.kind === 'poweroff' ? { kind: 'poweroff' } : r.kind === 'reset' ? this.rebootExit() : { kind: 'fail', code: r.code });
    });
    this.bus.add('syscon', SYSCON.base, SYSCON.size, syscon);
    this.bus.add('rtc', RTC.base, RTC.size, this.rtc);
    this.bus.add('clint', CLINT.base, CLINT.size, this.clint);
    this.bus.add('plic', PLIC.base, PLIC.size, this.plic);
    this.bus.add('uart', UART.base, UART.size, this.uart);
    const slots: number[] = [];
    (cfg.virtio ?? []).forEach((make, n) => {
      const r = virtioSlot(n);
      // A device raises its line from outside the hart's run too (host data for vsock or net arrives
      // on the event loop): the machine must stop sleeping in WFI then, not at the next timer.
      const line = this.plic.line(r.irq!);
      const irq: IrqLine = {
        set: (level) => {
          line.set(level);
          if (level) this.wake?.();
        },
      };
      const dev = make({ memory: mem, irq });
      this.bus.add(`virtio${n}`, r.base, r.size, dev);
      this.virtio.push(dev);
      slots.push(n);
      const v = dev instanceof MmioTransport ? dev.device : null;
      if (v?.retryDelayMs && v.retry) this.deferring.push(v as DeferringDevice);
    });
    if (!threaded) {
      this.local = new LocalHarts(this.harts, n);
      this.sbi = new Sbi({
        memory: mem,
        harts: this.local,
        consoleWrite: consoleOut,
        consoleRead: (max) => this.takeInput(max),
        systemReset: (type) => this.finish(type === 0 ? { kind: 'poweroff' } : this.rebootExit()),
      });
      const jit: JitOptions = { background: !this.deterministic, ...cfg.jit };
      if (this.deterministic) jit.background = false;
      for (let id = 0; id < n; id++) {
        const hartOpts = { id, memory: mem, bus: this.bus, time: () => clock.now(), ecall: this.sbi };
        this.harts.push(createHart(cfg.engine ?? 'jit', hartOpts, jit));
      }
    }

    if (restoring) {
      this.layout = undefined;
      this.fdt = undefined;
      if (cfg.restore!.memory) {
        mem.attachSource(cfg.restore!.memory);
        if (cfg.restore!.eager) mem.loadAll();
      }
      try {
        this.restore(restoring);
      } catch (e) {
        mem.detachSource();
        throw e;
      }
      return;
    }

    // The device tree's size barely depends on the addresses in it: build once to size it, plan, rebuild.
    const fdtFor = (initrd?: { start: number; end: number }) => buildFdt({
      harts: n, isa: GUEST_ISA, mmuType: 'riscv,sv57', memBytes: mem.ramSize, bootargs: cfg.cmdline,
      initrd, virtioSlots: slots, rngSeed: cfg.rngSeed ?? (this.deterministic ? new Uint8Array(32).fill(7) : crypto.getRandomValues(new Uint8Array(32))),
    });
    // (The sizing pass uses a token initrd range: the tree's size does not depend on its values, and the
    // planner, not the tree builder, is the one to say that an initrd does not fit.)
    const sizing = fdtFor(cfg.initrd ? { start: mem.ramBase, end: mem.ramBase + 8 } : undefined);
    const plan = planBoot(mem, { kernel: cfg.kernel, kernelName: cfg.kernelName, initrd: cfg.initrd, initrdName: cfg.initrdName }, sizing.length + 256);
    this.layout = plan;
    this.fdt = fdtFor(plan.initrd);
    plan.place();
    mem.write(plan.dtbAddress, this.fdt);
    // Harts on this thread start as firmware would leave them; hart 0 enters the kernel (boot
    // contract), the others wait for the kernel's SBI hart_start. Hart threads do the same themselves.
    for (const h of this.harts) firmwareSetup(h);
    if (this.harts.length > 0) enterSupervisor(this.harts[0], BigInt(plan.entry), BigInt(plan.dtbAddress));
    this.threadBoot = { entry: BigInt(plan.entry), a1: BigInt(plan.dtbAddress) };
  }

  /** Virtio slots whose device cannot be snapshotted (the vmm names them in its refusal). */
  unsnapshottableSlots(): number[] {
    const out: number[] = [];
    this.virtio.forEach((d, n) => {
      if (!(d instanceof MmioTransport) || !d.snapshottable) out.push(n);
    });
    return out;
  }

  /**
   * The board's state for a snapshot, every hart's included. Call while paused (between run slices;
   * hart threads are then parked), after checking unsnapshottableSlots(). RAM is not part of it
   * (snapshot/memory-file.ts writes that).
   */
  save(): MachineState {
    const bad = this.unsnapshottableSlots();
    if (bad.length > 0) throw new Error(`virtio slots ${bad.join(', ')} hold devices that cannot be snapshotted`);
    let harts: HartSnapshot[];
    if (this.threads) harts = this.threads.save();
    else if (this.control) {
      if (!this.threadRestore) throw new Error('Cannot save the harts of a machine whose hart threads have not started');
      harts = this.threadRestore;
    } else harts = this.harts.map((h) => h.save());
    const hsm = Array.from({ length: this.hartCount }, (_, h) => (this.control ? this.control.hsm(h) : this.local!.status(h)));
    return {
      version: 1,
      mtimeTicks: this.clock.now(),
      harts,
      hsm,
      clint: this.clint.save(),
      plic: this.plic.save(),
      uart: this.uart.save(),
      rtc: this.rtc.save(),
      virtio: this.virtio.map((d) => (d as MmioTransport).save()),
    };
  }

  /**
   * A new dirty-page epoch (after a snapshot): no page is dirty, and every hart's write TLB is empty so
   * the next store to each page marks it again (hart threads' too: they are parked).
   */
  startDirtyEpoch(): void {
    this.memory.clearDirty();
    for (let h = 0; h < this.hartCount; h++) Mmu.flushWritesOf(this.memory, this.memory.hartRegion(h) + TLB_WRITE_OFFSET);
  }

  /**
   * Takes a saved state into this freshly built board. Harts first (their interrupt lines start low),
   * then the devices, then the PLIC (its saved gateway levels and pending bits win over what the
   * devices drove) and the CLINT, which drive the harts' lines again. Harts on threads of their own
   * take their states when their threads start. Anything that does not fit throws; the caller
   * discards the machine.
   */
  private restore(s: MachineState): void {
    if (s.virtio.length !== this.virtio.length) {
      throw new StateError(`the snapshot has ${s.virtio.length} virtio devices, the restored configuration ${this.virtio.length}`);
    }
    const part = (what: string, fn: () => void) => {
      try {
        fn();
      } catch (e) {
        throw new StateError(`Cannot restore ${what}: ${(e as Error).message}`);
      }
    };
    const hsm = s.hsm ?? s.harts.map((_, h) => (h === 0 ? HartState.Started : HartState.Stopped));
    if (this.control) {
      this.threadRestore = s.harts;
      hsm.forEach((st, h) => this.control!.setHsm(h, st));
    } else {
      this.harts.forEach((h, i) => part(`hart ${i}`, () => h.restore(s.harts[i])));
      hsm.forEach((st, h) => this.local!.setStatus(h, st));
    }
    part('the UART', () => this.uart.restore(s.uart));
    part('the RTC', () => this.rtc.restore(s.rtc));
    this.virtio.forEach((d, n) => part(`virtio slot ${n}`, () => {
      if (!(d instanceof MmioTransport)) throw new StateError('its device has no snapshot support');
      d.restore(s.virtio[n], `virtio slot ${n}`);
    }));
    part('the PLIC', () => this.plic.restore(s.plic));
    part('the CLINT', () => this.clint.restore(s.clint));
    for (const d of this.virtio) (d as MmioTransport).kick();
  }

  /** The first hart, on this thread (tests, tracing, the lock-step runner; not with hart threads). */
  get hart(): InterpreterHart {
    const h = this.harts[0];
    if (h === undefined) throw new Error('The harts of this machine run on threads of their own');
    return h;
  }

  /** Whether harts on threads of their own have started (run() starts them). */
  get hartThreadsStarted(): boolean {
    return this.threadsReady;
  }
  private threadsReady = false;

  /** Per vCPU, its counters: instructions retired and device accesses (hart threads: as of their last slice). */
  vcpus(): VcpuCounters[] {
    const cb = this.control;
    if (cb) return Array.from({ length: this.hartCount }, (_, h) => cb.counters(h));
    return this.harts.map((h) => ({ instret: h.instret, mmioReads: h.mmioReads, mmioWrites: h.mmioWrites }));
  }

  /** The SBI's counters, over every hart. */
  sbiMetrics(): SbiMetrics {
    const cb = this.control;
    if (!cb) return { ...this.sbi!.metrics };
    const m: SbiMetrics = { calls: 0, unsupported: 0 };
    for (let h = 0; h < this.hartCount; h++) {
      const c = cb.counters(h);
      m.calls += c.sbiCalls;
      m.unsupported += c.sbiUnsupported;
    }
    return m;
  }

  /** Console input from the host: queued, and fed to the UART as its FIFO has room. */
  sendInput(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.input.push(bytes);
    this.feedUart();
    this.wake?.();
  }

  private feedUart(): void {
    // Hold input on the host until a driver listens: Linux's 8250 probe resets the receive FIFO.
    if (!this.uart.listening) return;
    while (this.input.length > 0) {
      const head = this.input[0];
      // Offer only what fits: the UART flags an overrun for bytes it cannot take, and the guest's
      // driver then inserts a NUL into the stream (in raw mode), though the bytes wait here, not lost.
      const room = this.uart.rxSpace();
      if (room === 0) return;
      const n = this.uart.receive(room < head.length ? head.subarray(0, room) : head);
      if (n < head.length) { this.input[0] = head.subarray(n); return; }
      this.input.shift();
    }
  }

  private takeInput(max: number): Uint8Array {
    const head = this.input[0];
    if (!head) return new Uint8Array(0);
    const n = Math.min(max, head.length);
    const out = head.slice(0, n);
    if (n < head.length) this.input[0] = head.subarray(n); else this.input.shift();
    return out;
  }

  private console(bytes: Uint8Array): void {
    this.cfg.consoleOut(bytes);
    this.consoleBytes += bytes.length;
    this.watchdog?.progress();
    if (this.panicked === undefined) {
      // A rolling window of the output, enough to see the panic banner across write boundaries.
      this.panicTail = (this.panicTail + Buffer.from(bytes).toString('latin1')).slice(-512);
      const at = this.panicTail.indexOf(PANIC_MARK);
      if (at >= 0) {
        const rest = this.panicTail.slice(at);
        const nl = rest.indexOf('\n');
        if (nl >= 0) this.panicked = rest.slice(0, nl).trim();
      }
    }
  }

  private rebootExit(): MachineExit {
    if (this.panicked !== undefined) return { kind: 'panic', message: this.panicked };
    // A kernel that panics before its console is up (with panic=N it then reboots) said why only in its
    // log buffer. Looked for only while no program has run: later, user memory may hold old log text.
    if (this.watchdog && !this.watchdog.reachedUserSpace) {
      const logged = findPanicMessage(this.ram());
      if (logged) return { kind: 'panic', message: `${logged} (from the kernel's log in guest memory${this.consoleBytes === 0 ? '; nothing reached the console' : ''})` };
      if (this.consoleBytes === 0) return { kind: 'reboot', early: true };
    }
    return { kind: 'reboot' };
  }

  private ram(): Uint8Array {
    const m = this.memory;
    const at = m.hostOffset(m.ramBase, m.ramSize);
    return m.bytes.subarray(at, at + m.ramSize);
  }

  /** Feeds the watchdog one sample of the hart; ends the run with 'stalled' when it says so. */
  private checkProgress(budget: number): void {
    const w = this.watchdog;
    if (!w) return;
    const h = this.hart;
    const stuckMs = w.sample({
      priv: h.getPrivilege(),
      sepc: Number((h.readCsr(Csr.sepc) ?? 0n) & 0xffff_ffffn),
      scause: Number((h.readCsr(Csr.scause) ?? 0n) & 0xffffn),
      timer: h.timerDeadline(),
    }, budget);
    if (stuckMs === undefined) return;
    this.stalled(stuckMs, `it ran in ${h.getPrivilege() === Priv.M ? 'M' : 'S'}-mode without taking a trap, setting its timer, idling or printing (pc 0x${h.getPc().toString(16)})`);
  }

  /** Ends the run as stalled: for how long, what the guest did (`what`), and what its kernel logged. */
  private stalled(stuckMs: number, what: string): void {
    const parts = [`the guest stopped making progress: for ${Math.round(stuckMs / 1000)} s (${(this.watchdog!.budgetStuck / 1e9).toFixed(1)} G instructions) ${what}`];
    if (this.consoleBytes === 0) parts.push('nothing ever reached its console');
    const logged = findPanicMessage(this.ram());
    if (logged) parts.push(`its kernel logged "${logged}"`);
    this.finish({ kind: 'stalled', message: parts.join('; ') });
  }

  /** The watchdog's sample of harts on threads of their own (see checkProgress). */
  private checkThreadsProgress(cb: ControlBlock): void {
    const w = this.watchdog;
    if (!w) return;
    let signs = 0, user = false, instret = 0;
    for (let h = 0; h < cb.harts; h++) {
      const life = cb.life(h);
      signs += life.signs;
      user ||= life.user;
      instret += cb.counters(h).instret;
    }
    const stuckMs = w.sampleHarts(signs, user, instret - (this.threadsInstret ?? instret));
    this.threadsInstret = instret;
    if (stuckMs !== undefined) this.stalled(stuckMs, `none of its ${cb.harts} harts took a trap, set its timer, idled, ran a program or printed`);
  }
  /** The harts' instructions at the last sample (a restored machine's start where they left off). */
  private threadsInstret: number | undefined;

  private finish(e: MachineExit): void {
    this.exit ??= e;
    for (const h of this.harts) h.requestStop();
    this.wake?.();
  }

  /** Ends run() at the next instruction boundary (SIGINT, the API, a test). */
  stop(): void {
    this.finish({ kind: 'stopped' });
  }

  /**
   * Pause/resume (Firecracker's PATCH /vm): a paused machine executes nothing, and with a PausableClock
   * (the default) guest time stands still too. Called between run() slices, the hart is already at an
   * instruction boundary; requestStop covers a call from inside a slice (a device callback).
   */
  pause(): void {
    this.paused = true;
    for (const h of this.harts) h.requestStop();
    if (this.control) this.control.paused = true; // hart threads yet to start begin parked
    this.threads?.pause(); // every hart thread parked before this returns
    if (this.clock instanceof PausableClock) this.clock.pause();
  }
  resume(): void {
    this.paused = false;
    if (this.clock instanceof PausableClock) this.clock.resume();
    this.threads?.resume();
    this.wake?.();
  }
  get isPaused(): boolean {
    return this.paused;
  }

  async run(): Promise<MachineExit> {
    if (this.control) return this.runThreaded(this.control);
    if (this.harts.length > 1 || this.deterministic) return this.runInTurn();
    const hart = this.hart;
    while (this.exit === undefined) {
      if (this.paused) { await this.sleep(1000); this.watchdog?.restart(); continue; }
      const until = performance.now() + YIELD_MS;
      let sleepMs = 0;
      let budget = 0;
      while (this.exit === undefined && !this.paused && performance.now() < until) {
        this.clint.update();
        this.rtc.update();
        if (this.input.length > 0) this.feedUart();
        if (this.deferring.length > 0) this.retryDeferred();
        const r = hart.run(SLICE);
        if (r === StopReason.Budget) budget += SLICE;
        if (r === StopReason.Wfi) {
          this.watchdog?.progress();
          const deadline = Math.min(this.clint.nextDeadline(), hart.timerDeadline());
          sleepMs = Math.min(100, (deadline - this.clint.mtime()) / (TIMEBASE_HZ / 1000), this.rtc.nextAlarmDelayNs() / 1e6, this.deferredDelayMs());
          if (sleepMs > 0.05) break;
          sleepMs = 0;
        }
        if (hart.hasBackgroundWork()) break; // let finished translations arrive (one turn of the event loop)
      }
      if (this.exit !== undefined) break;
      this.checkProgress(budget);
      if (this.exit !== undefined) break;
      if (sleepMs > 0) await this.sleep(sleepMs);
      else await new Promise<void>((r) => setImmediate(r));
    }
    return this.exit!;
  }

  /**
   * Several harts on this thread, each running TURN instructions in turn (those HSM has started). In
   * the deterministic mode guest time follows the turns (TURN / INSTRUCTIONS_PER_TICK ticks per
   * round) and jumps to the next deadline when every hart waits, so a run depends on its inputs only.
   */
  private async runInTurn(): Promise<MachineExit> {
    const harts = this.harts, local = this.local!;
    const manual = this.deterministic ? (this.clock as ManualClock) : undefined;
    while (this.exit === undefined) {
      if (this.paused) { await this.sleep(1000); continue; }
      const until = performance.now() + YIELD_MS;
      let sleepMs = 0;
      let background = false;
      while (this.exit === undefined && !this.paused && performance.now() < until) {
        this.clint.update();
        this.rtc.update();
        if (this.input.length > 0) this.feedUart();
        if (this.deferring.length > 0) this.retryDeferred();
        let waiting = true;
        let deadline = this.clint.nextDeadline();
        for (let id = 0; id < harts.length && this.exit === undefined; id++) {
          if (!local.started(id)) continue;
          const h = harts[id];
          if (h.run(TURN) !== StopReason.Wfi) waiting = false;
          else deadline = Math.min(deadline, h.timerDeadline());
          background ||= h.hasBackgroundWork();
        }
        if (manual) {
          if (!waiting) manual.advance(TURN / INSTRUCTIONS_PER_TICK);
          else if ((deadline = Math.min(deadline, manual.ticks + this.rtc.nextAlarmDelayNs() / 100)) !== Infinity) {
            manual.ticks = Math.max(manual.ticks + 1, Math.ceil(deadline));
          }
          else { sleepMs = 100; break; } // nothing but the host (console input) can wake it
        } else if (waiting) {
          sleepMs = Math.min(100, (deadline - this.clint.mtime()) / (TIMEBASE_HZ / 1000), this.rtc.nextAlarmDelayNs() / 1e6, this.deferredDelayMs());
          if (sleepMs > 0.05) break;
          sleepMs = 0;
        }
        if (background) break;
      }
      if (this.exit !== undefined) break;
      if (sleepMs > 0) await this.sleep(sleepMs);
      else await new Promise<void>((r) => setImmediate(r));
    }
    return this.exit!;
  }

  /**
   * Harts on threads of their own: this thread owns the devices, answers the harts' device accesses
   * as they come (it waits on the control block's doorbell between them), moves the CLINT and RTC
   * along, and gives the event loop a turn every few milliseconds (console input, the VMM's requests).
   */
  private async runThreaded(cb: ControlBlock): Promise<MachineExit> {
    // Lazy loading belongs to this thread (the page source): a restored machine's RAM comes in whole first.
    this.memory.loadAll();
    const boot = this.threadBoot ?? { entry: 0n, a1: 0n };
    const threads = new HartThreads({
      memory: this.memory, control: cb, bus: this.bus, engine: this.cfg.engine ?? 'jit', jit: this.cfg.jit,
      boot: { kind: 'kernel', entry: boot.entry, a1: boot.a1 }, restore: this.threadRestore,
      console: {
        write: (b) => this.console(b),
        read: () => { const b = this.takeInput(1); return b.length > 0 ? b[0] : -1; },
      },
    });
    this.threads = threads;
    try {
      await threads.start();
      this.threadsReady = true;
      while (this.exit === undefined) {
        if (this.paused) { await this.sleep(1000); this.watchdog?.restart(); continue; }
        const until = performance.now() + YIELD_MS;
        while (this.exit === undefined && !this.paused) {
          const seen = cb.doorbell();
          threads.serve();
          this.clint.update();
          this.rtc.update();
          if (this.input.length > 0) this.feedUart();
          if (this.deferring.length > 0) this.retryDeferred();
          const request = cb.exitRequest();
          if (request.kind !== ExitRequest.None) this.finish(request.kind === ExitRequest.Shutdown ? { kind: 'poweroff' } : this.rebootExit());
          if (threads.failure) throw threads.failure;
          const now = performance.now();
          if (now >= until) break;
          const waitMs = Math.min(until - now, (this.clint.nextDeadline() - this.clint.mtime()) / (TIMEBASE_HZ / 1000),
            this.rtc.nextAlarmDelayNs() / 1e6, this.deferredDelayMs());
          if (this.exit === undefined && threads.serve() === 0 && waitMs > 0) cb.waitDoorbell(seen, waitMs);
        }
        if (this.exit !== undefined) break;
        this.checkThreadsProgress(cb);
        if (this.exit !== undefined) break;
        await new Promise<void>((r) => setImmediate(r));
      }
    } finally {
      await threads.stop();
    }
    return this.exit!;
  }

  /** Lets devices whose hold-back delay has passed process what they held (their IRQ wakes the hart). */
  private retryDeferred(): void {
    for (const d of this.deferring) if (d.retryDelayMs() <= 0) d.retry();
  }

  /** Milliseconds until the first held-back device can continue (Infinity: none is waiting). */
  private deferredDelayMs(): number {
    let ms = Infinity;
    for (const d of this.deferring) ms = Math.min(ms, d.retryDelayMs());
    return ms;
  }

  /** Sleeps until the timeout or until something wakes the machine (input, stop). */
  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const t = setTimeout(done, ms);
      function done() { clearTimeout(t); resolve(); }
      this.wake = () => { this.wake = undefined; done(); };
    });
  }
}

/** The outer shape of a MachineState (each part checks its own fields as it is restored). */
function checkMachineState(state: unknown, harts: number): MachineState {
  const s = checkObject(state, 'machine');
  if (s.version !== 1) throw new StateError(`machine state version ${JSON.stringify(s.version)} is not one this wisp reads (1)`);
  checkInt(s.mtimeTicks, 'machine.mtimeTicks', 0, Number.MAX_SAFE_INTEGER);
  checkArray(s.harts, 'machine.harts', harts);
  if (s.hsm !== undefined) checkArray(s.hsm, 'machine.hsm', harts).forEach((v, i) => checkInt(v, `machine.hsm[${i}]`, 0, 3));
  for (const k of ['clint', 'plic', 'uart', 'rtc']) checkObject(s[k], `machine.${k}`);
  if (!Array.isArray(s.virtio)) throw new StateError('machine.virtio must be a list');
  return s as unknown as MachineState;
}
