import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock as FakeClock } from './manual-clock.js';
import { RateLimiter, type TimeSource } from './rate-limiter.js';

describe('RateLimiter', () => {
  it('with no buckets lets everything through and never reads the clock', () => {
    const clock = { now: () => assert.fail('the clock was read') } as TimeSource;
    const l = new RateLimiter(clock);
    assert.equal(l.enabled, false);
    assert.ok(l.consume(Number.MAX_SAFE_INTEGER, 'bytes'));
    assert.ok(l.admit(1 << 30));
    assert.equal(l.blockedForMs(), 0);
  });

  it('a bucket of size 0 or refill_time 0 is off', () => {
    const l = new RateLimiter(new FakeClock(), { bandwidth: { size: 0, refill_time: 100 }, ops: { size: 10, refill_time: 0 } });
    assert.equal(l.enabled, false);
  });

  it('limits bytes: a short bucket blocks every consume until it has refilled enough', () => {
    const c = new FakeClock();
    const l = new RateLimiter(c, { bandwidth: { size: 1000, refill_time: 1000 } });
    assert.ok(l.consume(u64max(), 'ops'), 'ops are unlimited');
    assert.ok(l.consume(1000, 'bytes'));
    assert.equal(l.consume(100, 'bytes'), false);
    assert.ok(l.isBlocked);
    assert.equal(l.blockedForMs(), 100);
    // Blocked means blocked for every token type (Firecracker's timer_active).
    assert.equal(l.consume(1, 'ops'), false);
    c.advance(50);
    assert.equal(l.blockedForMs(), 50);
    assert.equal(l.consume(100, 'bytes'), false);
    c.advance(50);
    assert.equal(l.blockedForMs(), 0);
    assert.ok(l.consume(100, 'bytes'));
  });

  it('limits ops', () => {
    const c = new FakeClock();
    const l = new RateLimiter(c, { ops: { size: 10, refill_time: 1000 } });
    for (let i = 0; i < 10; i++) assert.ok(l.consume(1, 'ops'));
    assert.equal(l.consume(1, 'ops'), false);
    assert.equal(l.blockedForMs(), 100);
    c.advance(100);
    assert.ok(l.consume(1, 'ops'));
    assert.equal(l.consume(1, 'ops'), false);
  });

  it('admit charges one op and the bytes, and gives the op back when the bytes are refused', () => {
    const c = new FakeClock();
    const l = new RateLimiter(c, { bandwidth: { size: 1000, refill_time: 1000 }, ops: { size: 2, refill_time: 1000 } });
    assert.ok(l.admit(600));
    assert.equal(l.admit(600), false, 'bytes short');
    assert.equal(l.state().ops?.budget, 1, 'the op of the refused request was given back');
    c.advance(l.blockedForMs());
    assert.ok(l.admit(600));
    assert.equal(l.state().ops?.budget, 0 + 200 * 2 / 1000);
  });

  it('a request larger than the bucket goes through once, then blocks for the excess refill time', () => {
    const c = new FakeClock();
    const l = new RateLimiter(c, { bandwidth: { size: 1000, refill_time: 1000 } });
    assert.ok(l.consume(2500, 'bytes'));
    assert.equal(l.blockedForMs(), 1500);
    c.advance(1000);
    assert.equal(l.consume(1, 'bytes'), false, 'still blocked after one refill time');
    c.advance(500);
    assert.ok(l.consume(1, 'bytes'));
  });

  it('one_time_burst lets an initial burst through beyond size', () => {
    const c = new FakeClock();
    const l = new RateLimiter(c, { bandwidth: { size: 100, refill_time: 1000, one_time_burst: 400 } });
    assert.ok(l.consume(500, 'bytes'));
    assert.equal(l.consume(1, 'bytes'), false);
    c.advance(10);
    assert.ok(l.consume(1, 'bytes'));
  });

  it('update replaces given buckets full, switches off zero-sized ones, keeps absent ones, and unblocks', () => {
    const c = new FakeClock();
    const l = new RateLimiter(c, { bandwidth: { size: 1000, refill_time: 1000 }, ops: { size: 5, refill_time: 1000 } });
    assert.ok(l.consume(1000, 'bytes'));
    assert.ok(l.consume(5, 'ops'));
    assert.equal(l.consume(1, 'bytes'), false);
    assert.ok(l.isBlocked);
    l.update({ bandwidth: { size: 50, refill_time: 100 } });
    assert.equal(l.isBlocked, false);
    assert.equal(l.state().bandwidth?.budget, 50, 'new bucket starts full');
    assert.equal(l.state().ops?.size, 5, 'ops bucket kept');
    assert.equal(l.state().ops?.budget, 0, 'with its budget');
    l.update({ ops: { size: 0, refill_time: 0 } });
    assert.equal(l.state().ops, null);
    assert.ok(l.consume(1_000_000, 'ops'));
    l.update({ bandwidth: { size: 0, refill_time: 1 } });
    assert.equal(l.enabled, false);
    assert.ok(l.admit(1e12));
    // From nothing to limited, at run time.
    l.update({ ops: { size: 1, refill_time: 1000 } });
    assert.ok(l.admit(1));
    assert.equal(l.admit(1), false);
  });

  it('an empty update changes nothing', () => {
    const c = new FakeClock();
    const l = new RateLimiter(c, { ops: { size: 1, refill_time: 1000 } });
    assert.ok(l.consume(1, 'ops'));
    assert.equal(l.consume(1, 'ops'), false);
    l.update({});
    assert.ok(l.isBlocked);
  });
});

function u64max(): number {
  return Number.MAX_SAFE_INTEGER;
}
