/**
 * One hart on a thread of its own (a worker started by HartThreads): it runs on the machine's shared
 * memory, reaches the devices through its MMIO mailbox (the machine's thread owns them), answers the
 * kernel's SBI calls itself (HSM, IPI and remote fences go to the other harts through the control
 * block), and sleeps on its attention word while it waits for an interrupt, is stopped or paused.
 */
import type { MessagePort } from 'node:worker_threads';
import { Bus } from '../../memory/bus.js';
import type { HartState as HartSnapshot } from '../../cpu/hart-state.js';
import { MachineMemory, type SharedMachineMemory } from '../../memory/machine-memory.js';
import type { MmioDevice } from '../../memory/mmio-device.js';
import { StopReason } from '../../cpu/hart.js';
import type { InterpreterHart } from '../../cpu/interpreter/interpreter-hart.js';
import { Priv } from '../../cpu/trap.js';
import { Csr } from '../../cpu/csr/csr-numbers.js';
import type { JitOptions } from '../../jit/jit-hart.js';
import { createHart, type Engine } from '../engine.js';
import { TIMEBASE_HZ } from '../memory-map.js';
import { PausableClock } from '../pausable-clock.js';
import { HartState, Sbi } from '../sbi/sbi.js';
import { Attention, ControlBlock, ExitRequest, MailboxOp, RunState } from './control-block.js';
import { enterSupervisor, firmwareSetup } from './hart-reset.js';
import { RemoteHarts, runFence } from './remote-harts.js';

/** What a hart thread is started with (workerData). */
export interface HartThreadInit {
  id: number;
  memory: SharedMachineMemory;
  control: SharedArrayBuffer;
  engine: Engine;
  jit?: JitOptions;
  /** The machine's device windows: accesses to them go to the machine's thread. */
  mmio: { name: string; base: number; size: number }[];
  /**
   * How the hart begins: 'kernel' answers SBI calls and enters S-mode at `entry` with a1 = `a1` when
   * started (hart 0 at once, the others by HSM); 'bare' starts in M-mode at `entry` with a0 = hartid,
   * every hart at once, as QEMU's virt board with -bios none does.
   */
  boot: { kind: 'kernel'; entry: bigint; a1: bigint } | { kind: 'bare'; entry: bigint };
  /** The state to begin from instead (a restored snapshot; its HSM state is in the control block). */
  restore?: HartSnapshot;
  /** Where the hart sends its state when the machine saves it (Attention.Save). */
  statePort: MessagePort;
}

/** Instructions per hart.run(): how often a running hart looks at its attention word at the latest. */
const SLICE = 10_000;
/** Longest sleep between looks at the clock when nothing else wakes the hart. */
const MAX_SLEEP_MS = 100;
/** How long a spinning hart lets the host run others (the host's timer slack makes it ~0.1 ms). */
const SPIN_SLEEP_MS = 0.05;
/** A hart with translations compiling lets its event loop turn this often (they arrive through it). */
const TURN_MS = 2;

/**
 * What the machine's progress watchdog needs from a hart on a thread of its own: a count of the signs
 * of life it shows (WFI, U-mode, a trap taken, its timer set; see progress-watchdog.ts), looked at
 * after every slice that idled and after every LOOK_SLICES others (the CSRs are read as BigInts).
 */
class SignsOfLife {
  signs = 0;
  user = false;
  private slices = 0;
  private trap = '';
  constructor(private readonly hart: InterpreterHart) {}

  /** After a slice that ended with `r`; true when the count changed. */
  look(r: StopReason): boolean {
    if (r === StopReason.Wfi) { this.signs++; return true; }
    if (++this.slices < LOOK_SLICES) return false;
    this.slices = 0;
    const h = this.hart;
    const user = h.getPrivilege() === Priv.U;
    const trap = `${h.readCsr(Csr.sepc)}:${h.readCsr(Csr.scause)}:${h.timerDeadline()}`;
    if (!user && trap === this.trap) return false;
    this.trap = trap;
    this.user ||= user;
    this.signs++;
    return true;
  }
}
/** Slices between looks at a running hart's trap CSRs (~1-5 ms of guest time). */
const LOOK_SLICES = 64;

/** A device window whose accesses are answered by the machine's thread. */
class MmioProxy implements MmioDevice {
  constructor(private readonly cb: ControlBlock, private readonly hart: number, private readonly base: number) {}
  read(offset: number, size: 1 | 2 | 4): number {
    return this.cb.call(this.hart, MailboxOp.Read, this.base + offset, size, 0) >>> 0;
  }
  write(offset: number, size: 1 | 2 | 4, value: number): void {
    this.cb.call(this.hart, MailboxOp.Write, this.base + offset, size, value);
  }
}

export async function runHartThread(init: HartThreadInit, ready: () => void): Promise<void> {
  const id = init.id;
  const cb = new ControlBlock(init.memory.harts, init.control);
  const memory = MachineMemory.attach(init.memory);
  const clock = PausableClock.attach(cb.clockState());
  const bus = new Bus();
  for (const r of init.mmio) bus.add(r.name, r.base, r.size, new MmioProxy(cb, id, r.base));

  let hart!: InterpreterHart;
  /** Attention bits the run loop handles itself (start, pause, exit), collected by `service`. */
  let control = 0;
  const service = (): void => {
    const a = cb.take(id);
    if (a === 0) return;
    if (a & Attention.Lines) hart.setInterruptLines(cb.lines(id));
    if (a & Attention.Ipi) hart.csr.mipSoft |= 1 << 1; // SSIP (SBI IPI)
    if (a & Attention.Requests) cb.runFences(id, (kind, sLo, sHi, zLo, zHi) => runFence(hart, kind, pair(sLo, sHi), pair(zLo, zHi)));
    if (a & (Attention.Start | Attention.Pause | Attention.Exit | Attention.Save)) {
      control |= a & (Attention.Start | Attention.Pause | Attention.Exit | Attention.Save);
      hart.requestStop();
    }
  };

  let sbi: Sbi | undefined;
  if (init.boot.kind === 'kernel') {
    const harts = new RemoteHarts(cb, id, service, (req, start, size) => runFence(hart, req, start, size));
    sbi = new Sbi({
      memory,
      harts,
      // The debug console belongs to the machine's thread: a few bytes per mailbox call (it is rare).
      consoleWrite: (bytes) => {
        for (let i = 0; i < bytes.length; i += 4) {
          const n = Math.min(4, bytes.length - i);
          let v = 0;
          for (let k = 0; k < n; k++) v |= bytes[i + k] << (8 * k);
          cb.call(id, MailboxOp.ConsoleWrite, 0, n, v);
        }
      },
      consoleRead: (max) => {
        const out: number[] = [];
        while (out.length < max) {
          const b = cb.call(id, MailboxOp.ConsoleRead, 0, 1, 0);
          if (b < 0) break;
          out.push(b);
        }
        return Uint8Array.from(out);
      },
      systemReset: (type, reason) => cb.requestExit(type === 0 ? ExitRequest.Shutdown : ExitRequest.Reboot, reason),
    });
  }
  hart = createHart(init.engine, { id, memory, bus, time: () => clock.now(), ecall: sbi }, { background: true, ...init.jit });
  hart.setAttention(cb.attentionCell(), cb.attentionIndex(id), service);

  // (Each hart's HSM state was set by the machine before any hart thread began: see HartThreads.start.)
  const boot = init.boot;
  if (init.restore) {
    hart.restore(init.restore);
  } else if (boot.kind === 'kernel') {
    firmwareSetup(hart);
    if (id === 0) enterSupervisor(hart, boot.entry, boot.a1);
  } else {
    hart.setPrivilege(Priv.M);
    hart.setX(10, BigInt(id));
    hart.setPc(boot.entry);
  }
  ready();
  cb.waitGo(); // every hart thread is ready: none runs before the others exist

  const publish = () => cb.setCounters(id, {
    instret: hart.instret, mmioReads: hart.mmioReads, mmioWrites: hart.mmioWrites,
    sbiCalls: sbi?.metrics.calls ?? 0, sbiUnsupported: sbi?.metrics.unsupported ?? 0,
  });
  let lastTurn = performance.now();
  const life = new SignsOfLife(hart);
  let sleeps = 0, sleptMs = 0, spins = 0;
  const samples = process.env.WISP_SMP_STATS ? new Map<string, number>() : undefined;
  for (;;) {
    service();
    if (control & Attention.Exit) break;
    if (control & Attention.Save) { // (the machine asks only while paused: the hart is between slices)
      control &= ~Attention.Save;
      init.statePort.postMessage(hart.save());
      cb.setSaved(id, true);
    }
    if (cb.paused) {
      publish();
      cb.setRunState(id, RunState.Parked);
      cb.sleep(id, MAX_SLEEP_MS);
      continue;
    }
    control &= ~Attention.Pause;
    if (control & Attention.Start) {
      control &= ~Attention.Start;
      if (boot.kind === 'kernel' && cb.hsm(id) === HartState.StartPending) {
        const { addr, opaque } = cb.start(id);
        enterSupervisor(hart, addr, opaque);
        cb.setHsm(id, HartState.Started);
      }
    }
    if (cb.hsm(id) !== HartState.Started) {
      cb.setRunState(id, RunState.Sleeping);
      cb.sleep(id, MAX_SLEEP_MS);
      continue;
    }
    cb.setRunState(id, RunState.Running);
    const r = hart.run(SLICE);
    if (life.look(r)) cb.setLife(id, life.signs, life.user);
    publish();
    if (samples) { // where the slices end, a cheap profile (WISP_SMP_STATS)
      const pc = hart.getPc().toString(16) + (r === StopReason.Wfi ? ' wfi' : '');
      samples.set(pc, (samples.get(pc) ?? 0) + 1);
    }
    if (hart.takeSpin()) {
      // Spinning on PAUSE: the hart waits for another (a lock, a cross-CPU call). With more harts than
      // host cores, that one may not be running: give the host a moment to run it (an interrupt or
      // IPI for this hart ends the wait at once).
      spins++;
      cb.sleep(id, SPIN_SLEEP_MS);
      continue;
    }
    if (r === StopReason.Wfi && !cb.pending(id)) {
      const ms = Math.min(MAX_SLEEP_MS, (hart.timerDeadline() - clock.now()) / (TIMEBASE_HZ / 1000));
      if (ms > 0.02) {
        cb.setRunState(id, RunState.Sleeping);
        const t = performance.now();
        cb.sleep(id, ms);
        sleeps++; sleptMs += performance.now() - t;
      }
    }
    if (hart.hasBackgroundWork() && performance.now() - lastTurn >= TURN_MS) {
      await new Promise<void>((r) => setImmediate(r)); // finished translations arrive through the event loop
      lastTurn = performance.now();
    }
  }
  publish();
  cb.setRunState(id, RunState.Exited);
  if (samples) { // a figure for the record: how a hart thread spent its time
    const jit = (hart as { stats?: object }).stats;
    process.stderr.write(`hart ${id}: ${JSON.stringify({ top: [...samples].sort((a, b) => b[1] - a[1]).slice(0, 12), instret: hart.instret, spins, mmio: hart.mmioReads + hart.mmioWrites, sleeps, sleptMs: Math.round(sleptMs), mmioMs: Math.round(cb.mailboxMs), jit })}\n`);
  }
}

const pair = (lo: number, hi: number): bigint => (BigInt(hi) << 32n) | BigInt(lo >>> 0);
