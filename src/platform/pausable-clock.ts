import type { Clock } from './clint.js';
import { TIMEBASE_HZ } from './memory-map.js';

/**
 * A monotonic timebase that stands still while the machine is paused (Firecracker's PATCH /vm
 * "Paused": guest time stops advancing). It counts host milliseconds minus the paused spans, in 10 MHz
 * timebase ticks (memory-map.ts TIMEBASE_HZ), starting at 0 when created.
 */
export class PausableClock implements Clock {
  private readonly start: number;
  /** Host milliseconds spent paused before the current pause (if any). */
  private pausedMs = 0;
  /** Host time the current pause began, or -1 when running. */
  private pausedAt = -1;

  /**
   * `hostMs` is the host's monotonic millisecond clock; injectable for tests. `startTicks` is where
   * the timebase begins: 0 for a boot, the saved mtime for a restored snapshot (guest time then goes
   * on from where it stopped, never back).
   */
  constructor(private readonly hostMs: () => number = () => performance.now(), private readonly startTicks = 0) {
    this.start = hostMs();
  }

  now(): number {
    const host = this.pausedAt >= 0 ? this.pausedAt : this.hostMs();
    return this.startTicks + Math.floor((host - this.start - this.pausedMs) * (TIMEBASE_HZ / 1000));
  }

  get paused(): boolean {
    return this.pausedAt >= 0;
  }

  /** Freezes now() at its current value. Idempotent. */
  pause(): void {
    if (this.pausedAt < 0) this.pausedAt = this.hostMs();
  }

  /** Lets now() advance again from where it stopped. Idempotent. */
  resume(): void {
    if (this.pausedAt < 0) return;
    this.pausedMs += this.hostMs() - this.pausedAt;
    this.pausedAt = -1;
  }
}
