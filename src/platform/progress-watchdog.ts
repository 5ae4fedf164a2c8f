/**
 * Notices a guest that has stopped making progress, so the VMM can say so instead of running a dead
 * guest forever in silence (issue 15: a kernel that panics before its console is up spins in panic()'s
 * delay loop with interrupts off; a kernel jumped into zeroes traps on itself forever).
 *
 * Progress is anything only a live guest does: console output, WFI (idle), running in U-mode, taking
 * a trap (seen as a change of sepc/scause between samples) or reprogramming its timer (stimecmp). Having
 * interrupts enabled is not enough: since Linux 6.x panic() enables them before its final delay loop,
 * and a kernel that panicked before time_init has no interrupt that could ever come.
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
 * A healthy boot of Debian's kernel goes at most ~0.1 G instructions without any sign of progress
 * (measured: 99 M at --mem 256 and 101 M at --mem 2048, both at the very start of the kernel, before
 * its first trap), so 0.5 G is five times that; 15 s keeps a fast JIT from calling a short stretch a
 * stall. A panic loop is then reported after 15-50 s (its delay loop ran at 10-35 M instructions per
 * second on a loaded machine).
 */
export const DEFAULT_WATCHDOG: WatchdogLimits = { stallMs: 15_000, stallInstructions: 500_000_000 };

/** What the machine samples from its hart between run slices (every few ms). */
export interface HartSample {
  /** Current privilege (0 U, 1 S, 3 M). */
  priv: number;
  /** sepc and scause as numbers (low 32 bits are enough to see a change). */
  sepc: number;
  scause: number;
  /** The armed timer deadline (stimecmp), Infinity if none. */
  timer: number;
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
    const trap = `${s.sepc}:${s.scause}:${s.timer}`;
    if (s.priv === 0) this.reachedUserSpace = true;
    if (s.priv === 0 || trap !== this.lastTrap) {
      this.lastTrap = trap;
      this.progress();
      return undefined;
    }
    return this.spent(budget);
  }

  /**
   * One sample of harts on threads of their own, which count their signs of life themselves
   * (smp/hart-thread.ts): `signs` is the sum of their counts, `user` whether any ever ran in U-mode,
   * `budget` the instructions they retired since the last sample. As sample().
   */
  sampleHarts(signs: number, user: boolean, budget: number): number | undefined {
    if (user) this.reachedUserSpace = true;
    if (signs !== this.lastSigns) {
      this.lastSigns = signs;
      this.progress();
      return undefined;
    }
    return this.spent(budget);
  }

  private lastSigns = 0;

  /** `budget` spent without a sign of life: how long the guest has been stuck once that is a stall. */
  private spent(budget: number): number | undefined {
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
 * still writes "Kernel panic - not syncing: <message>" into its printk ring buffer, so a VMM can say why
 * a silent guest died. The ring holds the text without an end mark (its length is kept elsewhere), so
 * the exact message is taken from panic()'s own NUL-terminated copy (kernel/panic.c formats it into a
 * static buffer first) when it is found. The format string in the kernel's rodata ("%s") is skipped.
 */
export function findPanicMessage(ram: Uint8Array): string | undefined {
  const mark = Buffer.from('Kernel panic - not syncing: ', 'latin1');
  const buf = Buffer.from(ram.buffer, ram.byteOffset, ram.byteLength);
  const printable = (b: number) => b >= 0x20 && b < 0x7f;
  for (let at = buf.indexOf(mark); at >= 0; at = buf.indexOf(mark, at + 1)) {
    const start = at + mark.length;
    if (buf[start] === 0x25 /* % */ || !printable(buf[start] ?? 0)) continue;
    let end = start;
    const limit = Math.min(buf.length, start + 256);
    while (end < limit && printable(buf[end]!)) end++;
    const rough = buf.toString('latin1', start, end);
    const key = buf.subarray(start, Math.min(end, start + 24));
    for (let j = buf.indexOf(key); j >= 0; j = buf.indexOf(key, j + 1)) {
      if (j === start) continue;
      const nul = buf.indexOf(0, j);
      if (nul < 0 || nul - j > 1024) continue;
      const exact = buf.toString('latin1', j, nul);
      if (rough.startsWith(exact) && [...exact].every((c) => printable(c.charCodeAt(0)))) return `Kernel panic - not syncing: ${exact.trim()}`;
    }
    return `Kernel panic - not syncing: ${rough.trim()}`;
  }
  return undefined;
}
