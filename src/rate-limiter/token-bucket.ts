/**
 * One token bucket with Firecracker's semantics (firecracker-api.yaml "TokenBucket"): it holds up to
 * `size` tokens, starts full, and refills continuously at `size` tokens per `refill_time` ms. An
 * extra `one_time_burst` credit is spent first and never refills. The bucket reads no clock: every
 * call takes the current time in milliseconds, so the owner (RateLimiter) decides where time comes from.
 */

/** A bucket as Firecracker's API spells it (the vmm's decoded TokenBucket config fits it as is). */
export interface TokenBucketConfig {
  /** Capacity in tokens; 0 disables the bucket. */
  size: number;
  /** Initial extra credit, spent before the regular budget and never replenished. */
  one_time_burst?: number;
  /** Milliseconds to refill an empty bucket completely; 0 disables the bucket. */
  refill_time: number;
}

/**
 * What reduce() did:
 * - 'ok': the tokens were taken;
 * - 'short': not enough tokens, nothing taken; `ms` is how long until there would be;
 * - 'overdrawn': a request larger than the whole bucket was let through (it could never fit
 *   otherwise) and emptied it; `ms` is the time the excess needs to refill, during which the owner
 *   must let nothing else through (Firecracker's OverConsumption).
 */
export type Reduction =
  | { readonly kind: 'ok' }
  | { readonly kind: 'short'; readonly ms: number }
  | { readonly kind: 'overdrawn'; readonly ms: number };

const OK: Reduction = { kind: 'ok' };

/** The bucket's plain state, for inspection and snapshots. */
export interface TokenBucketState {
  size: number;
  refillTimeMs: number;
  /** Regular tokens available at `lastUpdateMs` (may be fractional: refill is continuous). */
  budget: number;
  /** One-time burst credit left. */
  oneTimeBurst: number;
  lastUpdateMs: number;
}

export class TokenBucket {
  readonly size: number;
  readonly refillTimeMs: number;
  /**
   * The regular budget in token-milliseconds (tokens × refillTimeMs): refilling `elapsed × size` and
   * comparing `tokens × refillTimeMs` stay in integers for integral clocks, so no rounding drift makes
   * a request miss the moment msUntil() promised.
   */
  private credit: number;
  private readonly fullCredit: number;
  private burst: number;
  private lastUpdate: number;

  private constructor(size: number, burst: number, refillTimeMs: number, nowMs: number) {
    this.size = size;
    this.refillTimeMs = refillTimeMs;
    this.fullCredit = size * refillTimeMs;
    this.credit = this.fullCredit;
    this.burst = burst;
    this.lastUpdate = nowMs;
  }

  /**
   * A full bucket, or null when `size` or `refill_time` is 0: Firecracker treats either as "no limit
   * on this token type" rather than an error.
   */
  static create(cfg: TokenBucketConfig, nowMs: number): TokenBucket | null {
    const size = clampCount(cfg.size);
    const refill = clampCount(cfg.refill_time);
    if (size === 0 || refill === 0) return null;
    return new TokenBucket(size, clampCount(cfg.one_time_burst ?? 0), refill, nowMs);
  }

  /** Tokens available now: regular budget plus what is left of the one-time burst. */
  available(nowMs: number): number {
    this.refill(nowMs);
    return this.credit / this.refillTimeMs + this.burst;
  }

  /** Takes `tokens` if the bucket has them (see Reduction for the other outcomes). */
  reduce(tokens: number, nowMs: number): Reduction {
    this.refill(nowMs);
    if (!(tokens > 0)) return OK;
    if (tokens <= this.burst) {
      this.burst -= tokens;
      return OK;
    }
    const need = tokens - this.burst;
    const needCredit = need * this.refillTimeMs;
    if (needCredit <= this.credit) {
      this.burst = 0;
      this.credit -= needCredit;
      return OK;
    }
    if (need > this.size) {
      // Waiting would never help: the request is bigger than the bucket can ever hold. Let it through,
      // empty the bucket, and charge the excess as time (the refill time of the excess tokens).
      const excess = needCredit - this.credit;
      this.burst = 0;
      this.credit = 0;
      return { kind: 'overdrawn', ms: Math.max(1, Math.ceil(excess / this.size)) };
    }
    // Nothing is taken on failure (also not the burst), so a retry of the same request sees the same
    // budget plus what refilled meanwhile; `ms` is when that covers it.
    return { kind: 'short', ms: this.msUntil(need) };
  }

  /** Gives tokens back (a reverted reduce); never above `size`, into the burst while one is left. */
  replenish(tokens: number): void {
    if (!(tokens > 0)) return;
    if (this.burst > 0) this.burst += tokens;
    else this.credit = Math.min(this.fullCredit, this.credit + tokens * this.refillTimeMs);
  }

  /**
   * Milliseconds until `tokens` regular tokens would be in the bucket, at least 1 when they are not
   * there now (so a retry at that time is never early); 0 when they are; Infinity beyond `size`.
   */
  msUntil(tokens: number): number {
    const needCredit = tokens * this.refillTimeMs;
    if (needCredit <= this.credit) return 0;
    if (tokens > this.size) return Infinity;
    return Math.max(1, Math.ceil((needCredit - this.credit) / this.size));
  }

  /**
   * A bucket as a snapshot held it (Firecracker's TokenBucket persist): same size, refill time, budget
   * and burst; the refill restarts from `nowMs` (the time the VM was saved does not refill it). Null
   * for a state that describes no bucket (size or refill time 0) or holds values that make no sense.
   */
  static fromState(s: TokenBucketState, nowMs: number): TokenBucket | null {
    const ok = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;
    if (!ok(s.size) || !ok(s.refillTimeMs) || !ok(s.budget) || !ok(s.oneTimeBurst)) return null;
    const b = TokenBucket.create({ size: s.size, refill_time: s.refillTimeMs, one_time_burst: s.oneTimeBurst }, nowMs);
    if (b) b.credit = Math.min(b.fullCredit, s.budget * b.refillTimeMs);
    return b;
  }

  state(): TokenBucketState {
    return { size: this.size, refillTimeMs: this.refillTimeMs, budget: this.credit / this.refillTimeMs, oneTimeBurst: this.burst, lastUpdateMs: this.lastUpdate };
  }

  private refill(nowMs: number): void {
    const elapsed = nowMs - this.lastUpdate;
    // A clock that steps back refills nothing (and does not drain either).
    if (!(elapsed > 0)) return;
    this.lastUpdate = nowMs;
    if (this.credit >= this.fullCredit) return;
    this.credit = Math.min(this.fullCredit, this.credit + elapsed * this.size);
  }
}

/** API values are u64; past 2^53 a JS number is approximate anyway, and NaN or negatives mean 0. */
function clampCount(v: number): number {
  return Number.isFinite(v) && v > 0 ? Math.floor(v) : v === Infinity ? Number.MAX_SAFE_INTEGER : 0;
}
