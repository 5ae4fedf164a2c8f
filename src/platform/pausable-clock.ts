import type { Clock } from './clint.js';
import { TIMEBASE_HZ } from './memory-map.js';

/**
 * The state's slots: start, paused span total, current pause start (-1 when running), the creator's
 * time origin, and the ticks the timebase starts from.
 */
const START = 0, PAUSED_MS = 1, PAUSED_AT = 2, ORIGIN = 3, START_TICKS = 4;
export const PAUSABLE_CLOCK_SLOTS = 5;

/**
 * A monotonic timebase that stands still while the machine is paused (Firecracker's PATCH /vm
 * "Paused": guest time stops advancing). It counts host milliseconds minus the paused spans, in 10 MHz
 * timebase ticks (memory-map.ts TIMEBASE_HZ), from `startTicks` when created: 0 for a boot, the saved
 * mtime for a restored snapshot (guest time then goes on from where it stopped, never back).
 *
 * Its state can live in shared memory (`shared()`), so harts on other threads read the same time
 * (`attach()`): each thread's performance.now() is moved onto the creator's by the difference of
 * their time origins. Only the creator pauses and resumes it.
 */
export class PausableClock implements Clock {
  readonly state: Float64Array;

  /** `hostMs` is the host's monotonic millisecond clock; injectable for tests. */
  constructor(private readonly hostMs: () => number = () => performance.now(), startTicks = 0, state?: Float64Array) {
    this.state = state ?? new Float64Array(PAUSABLE_CLOCK_SLOTS);
    this.init(startTicks);
  }

  /** A clock whose state another thread can attach to (in `buffer` at `byteOffset`, else a new one). */
  static shared(startTicks = 0, buffer?: SharedArrayBuffer, byteOffset = 0): PausableClock {
    const state = new Float64Array(buffer ?? new SharedArrayBuffer(8 * PAUSABLE_CLOCK_SLOTS), byteOffset, PAUSABLE_CLOCK_SLOTS);
    return new PausableClock(() => performance.now(), startTicks, state);
  }

  /** The same clock on another thread (read-only there: pause and resume belong to the creator). */
  static attach(state: Float64Array): PausableClock {
    const delta = performance.timeOrigin - state[ORIGIN];
    const c = Object.create(PausableClock.prototype) as PausableClock;
    Object.assign(c, { hostMs: () => performance.now() + delta, state });
    return c;
  }

  private init(startTicks: number): void {
    this.state[START] = this.hostMs();
    this.state[PAUSED_MS] = 0;
    this.state[PAUSED_AT] = -1;
    this.state[ORIGIN] = performance.timeOrigin;
    this.state[START_TICKS] = startTicks;
  }

  now(): number {
    const s = this.state;
    const at = s[PAUSED_AT];
    const host = at >= 0 ? at : this.hostMs();
    return s[START_TICKS] + Math.floor((host - s[START] - s[PAUSED_MS]) * (TIMEBASE_HZ / 1000));
  }

  get paused(): boolean {
    return this.state[PAUSED_AT] >= 0;
  }

  /** Freezes now() at its current value. Idempotent. */
  pause(): void {
    if (this.state[PAUSED_AT] < 0) this.state[PAUSED_AT] = this.hostMs();
  }

  /** Lets now() advance again from where it stopped. Idempotent. */
  resume(): void {
    const s = this.state;
    if (s[PAUSED_AT] < 0) return;
    s[PAUSED_MS] += this.hostMs() - s[PAUSED_AT];
    s[PAUSED_AT] = -1;
  }
}
