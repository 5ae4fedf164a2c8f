/**
 * Notices a guest that has stopped making progress, so the VMM can say so instead of running a dead
 * guest forever in silence (issue 15: a kernel that panics before its console is up spins in panic()'s
 * delay loop with interrupts off; a kernel jumped into zeroes traps on itself forever).
 *
 * Progress is anything only a live guest does: console output, WFI (idle), running in U-mode, running
 * with S-mode interrupts enabled, or taking a trap (seen as a change of sepc/scause between samples).
 * A guest is stalled when none of that happened for `stallMs` of wall time *and* at least
 * `stallInstructions` of instruction budget were spent meanwhile, so a slow, loaded or paused host
 * never makes a healthy guest look stuck; the longest stretch a healthy Linux boot runs without any
 * of those (the start of start_kernel, before the first local_irq_enable) is far below both limits
 * (measured in the note of issue 15).
 */
export interface WatchdogLimits {
  stallMs: number;
  stallInstructions: number;
}

/**
 * Debian's kernel runs ~0.2-0.4 G instructions with interrupts off at the start of its boot (with
 * 2 GiB of RAM, where struct pages take longest); 4 G is ten times that and, in a panic loop, about
 * 5-10 s of the JIT or a minute of the interpreter.
 */
export const DEFAULT_WATCHDOG: WatchdogLimits = { stallMs: 20_000, stallInstructions: 4_000_000_000 };

/** What the machine samples from its hart between run slices (every few ms). */
export interface HartSample {
  /** Current privilege (0 U, 1 S, 3 M). */
  priv: number;
  /** sstatus.SIE. */
  sie: boolean;
  /** sepc and scause as numbers (low 32 bits are enough to see a change). */
  sepc: number;
  scause: number;
}

export class ProgressWatchdog {
  private lastProgressAt: number;
  private budgetSinceProgress = 0;
  private lastTrap = '';
  /** The hart has run in U-mode at least once (the kernel got as far as starting init). */
  reachedUserSpace = false;

  constructor(
    private readonly limits: WatchdogLimits = DEFAULT_WATCHDOG,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.lastProgressAt = this.now();
  }

  /** Something only a live guest does (console output, WFI). */
  progress(): void {
    this.lastProgressAt = this.now();
    this.budgetSinceProgress = 0;
  }

  /** Time not spent running (paused, sleeping in WFI) does not count towards a stall. */
  restart(): void {
    this.progress();
  }

  /**
   * One sample after some run slices that used `budget` instructions (retired or lost to traps).
   * Returns how long the guest has been stuck (ms) once it counts as stalled, else undefined.
   */
  sample(s: HartSample, budget: number): number | undefined {
    const trap = `${s.sepc}:${s.scause}`;
    if (s.priv === 0) this.reachedUserSpace = true;
    if (s.priv === 0 || (s.priv === 1 && s.sie) || trap !== this.lastTrap) {
      this.lastTrap = trap;
      this.progress();
      return undefined;
    }
    this.budgetSinceProgress += budget;
    const stuckMs = this.now() - this.lastProgressAt;
    if (stuckMs >= this.limits.stallMs && this.budgetSinceProgress >= this.limits.stallInstructions) return stuckMs;
    return undefined;
  }

  /** Instruction budget spent since the last sign of progress (for the report). */
  get budgetStuck(): number {
    return this.budgetSinceProgress;
  }
}

/**
 * The panic message a kernel logged in RAM, if it did: a kernel that panics before its console is up
 * still writes the message into its printk ring buffer, so a VMM can say why a silent guest died. The
 * format string in the kernel's rodata ("...not syncing: %s") is skipped.
 */
export function findPanicMessage(ram: Uint8Array): string | undefined {
  const mark = Buffer.from('Kernel panic - not syncing: ', 'latin1');
  const buf = Buffer.from(ram.buffer, ram.byteOffset, ram.byteLength);
  for (let at = buf.indexOf(mark); at >= 0; at = buf.indexOf(mark, at + 1)) {
    let end = at + mark.length;
    if (buf[end] === 0x25 /* % */) continue;
    const limit = Math.min(buf.length, end + 200);
    while (end < limit && buf[end]! >= 0x20 && buf[end]! < 0x7f) end++;
    const text = buf.toString('latin1', at, end).trim();
    if (text.length > mark.length) return text;
  }
  return undefined;
}
