import type { TimeSource } from './rate-limiter.js';

/** A TimeSource moved by hand: deterministic tests of anything rate-limited. */
export class ManualClock implements TimeSource {
  constructor(private t = 0) {}

  now(): number {
    return this.t;
  }

  advance(ms: number): void {
    this.t += ms;
  }
}
