/**
 * Firecracker's rate limiter (its src/rate_limiter): an optional bandwidth bucket (bytes) and an
 * optional ops bucket (operations), accounted independently. When a consume() finds a bucket short,
 * the limiter *blocks*: every consume fails until the time the short bucket will have refilled
 * enough, and the device holding the request retries then. A request larger than a whole bucket goes
 * through once and blocks the limiter for as long as the excess takes to refill.
 *
 * Where Firecracker arms a fixed 100 ms timer after a failure, wisp blocks exactly until the bucket
 * covers the failed request (the owner polls blockedForMs()), so throughput tracks the configured
 * rate more closely. Time is injected (TimeSource): nothing here reads a host clock.
 */
import { TokenBucket, type TokenBucketConfig, type TokenBucketState } from './token-bucket.js';

/** Milliseconds on a monotonic clock: the host's in the VMM, a fake one in tests. */
export interface TimeSource {
  now(): number;
}

/** Firecracker's RateLimiter body: each bucket optional; a bucket of size or refill_time 0 is off. */
export interface RateLimiterConfig {
  bandwidth?: TokenBucketConfig;
  ops?: TokenBucketConfig;
}

export type TokenType = 'bytes' | 'ops';

export interface RateLimiterState {
  bandwidth: TokenBucketState | null;
  ops: TokenBucketState | null;
  /** Clock time before which every consume fails (0: not blocked). */
  blockedUntilMs: number;
}

/** A limiter in a snapshot: its buckets (Firecracker persists budgets too) and the rest of its block. */
export interface RateLimiterSnapshot {
  version: 1;
  bandwidth: TokenBucketState | null;
  ops: TokenBucketState | null;
  /** Milliseconds the limiter still had to stay blocked when saved (0: not blocked). */
  blockedForMs: number;
}

export class RateLimiter {
  private bandwidth: TokenBucket | null;
  private ops: TokenBucket | null;
  private blockedUntil = 0;

  constructor(
    private readonly clock: TimeSource,
    cfg: RateLimiterConfig = {},
  ) {
    const now = cfg.bandwidth || cfg.ops ? clock.now() : 0;
    this.bandwidth = cfg.bandwidth ? TokenBucket.create(cfg.bandwidth, now) : null;
    this.ops = cfg.ops ? TokenBucket.create(cfg.ops, now) : null;
  }

  /** Whether any bucket limits anything (a limiter with none lets everything through at no cost). */
  get enabled(): boolean {
    return this.bandwidth !== null || this.ops !== null;
  }

  /**
   * Takes `tokens` of one type; false (nothing taken) while blocked or when the bucket is short, which
   * blocks the limiter until the bucket has refilled enough. A type without a bucket always succeeds
   * unless the limiter is blocked.
   */
  consume(tokens: number, type: TokenType): boolean {
    if (!this.enabled) return true;
    const now = this.clock.now();
    if (now < this.blockedUntil) return false;
    const bucket = type === 'bytes' ? this.bandwidth : this.ops;
    if (!bucket) return true;
    const r = bucket.reduce(tokens, now);
    switch (r.kind) {
      case 'ok':
        return true;
      case 'short':
        this.blockedUntil = now + r.ms;
        return false;
      case 'overdrawn':
        this.blockedUntil = now + r.ms;
        return true;
    }
  }

  /**
   * One request of `bytes` bytes (Firecracker's devices: one op, then the bytes; if the bytes are
   * refused, the op is given back so a retry is charged once). True if it may proceed.
   */
  admit(bytes: number): boolean {
    if (!this.enabled) return true;
    if (!this.consume(1, 'ops')) return false;
    if (bytes > 0 && !this.consume(bytes, 'bytes')) {
      this.replenish(1, 'ops');
      return false;
    }
    return true;
  }

  /** Gives back tokens taken by a consume() that is being reverted. */
  replenish(tokens: number, type: TokenType): void {
    (type === 'bytes' ? this.bandwidth : this.ops)?.replenish(tokens);
  }

  /** Milliseconds until consume() can succeed again (0: not blocked now). */
  blockedForMs(): number {
    if (this.blockedUntil === 0) return 0;
    const left = this.blockedUntil - this.clock.now();
    if (left > 0) return left;
    this.blockedUntil = 0;
    return 0;
  }

  get isBlocked(): boolean {
    return this.blockedForMs() > 0;
  }

  /**
   * PATCH semantics (Firecracker's update_buckets): a bucket given in `cfg` replaces the current one,
   * full; one given with size or refill_time 0 switches that limit off; one left out stays as it is.
   * The block is lifted, so held-back requests are retried against the new buckets at once.
   */
  update(cfg: RateLimiterConfig): void {
    if (!cfg.bandwidth && !cfg.ops) return;
    const now = this.clock.now();
    if (cfg.bandwidth) this.bandwidth = TokenBucket.create(cfg.bandwidth, now);
    if (cfg.ops) this.ops = TokenBucket.create(cfg.ops, now);
    this.blockedUntil = 0;
  }

  /** The limiter as a snapshot holds it: buckets, and how much longer it stays blocked. */
  save(): RateLimiterSnapshot {
    return { version: 1, bandwidth: this.bandwidth?.state() ?? null, ops: this.ops?.state() ?? null, blockedForMs: this.blockedForMs() };
  }

  /**
   * Takes the buckets and block of a saved limiter (same process or another: times are made relative
   * to this limiter's clock). Throws RangeError on a malformed state, changing nothing.
   */
  restore(s: RateLimiterSnapshot): void {
    if (typeof s !== 'object' || s === null || s.version !== 1 || !(typeof s.blockedForMs === 'number' && s.blockedForMs >= 0)) {
      throw new RangeError('Cannot restore a rate limiter: its state is not a version 1 limiter state');
    }
    const now = this.clock.now();
    const bucket = (b: TokenBucketState | null, what: string): TokenBucket | null => {
      if (b === null) return null;
      const t = typeof b === 'object' ? TokenBucket.fromState(b, now) : null;
      if (!t) throw new RangeError(`Cannot restore a rate limiter: its ${what} bucket state is malformed`);
      return t;
    };
    const bandwidth = bucket(s.bandwidth, 'bandwidth');
    const ops = bucket(s.ops, 'ops');
    this.bandwidth = bandwidth;
    this.ops = ops;
    this.blockedUntil = s.blockedForMs > 0 ? now + s.blockedForMs : 0;
  }

  state(): RateLimiterState {
    return { bandwidth: this.bandwidth?.state() ?? null, ops: this.ops?.state() ?? null, blockedUntilMs: this.blockedUntil };
  }
}
