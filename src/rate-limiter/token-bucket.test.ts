import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TokenBucket } from './token-bucket.js';

function bucket(size: number, refill_time: number, one_time_burst?: number, now = 0): TokenBucket {
  const b = TokenBucket.create({ size, refill_time, one_time_burst }, now);
  assert.ok(b, 'bucket should be enabled');
  return b;
}

describe('TokenBucket', () => {
  it('is disabled (null) when size or refill_time is 0, as Firecracker treats them', () => {
    assert.equal(TokenBucket.create({ size: 0, refill_time: 1000 }, 0), null);
    assert.equal(TokenBucket.create({ size: 1000, refill_time: 0 }, 0), null);
    assert.equal(TokenBucket.create({ size: 0, refill_time: 0, one_time_burst: 5 }, 0), null);
  });

  it('starts full and refuses more than it holds without taking anything', () => {
    const b = bucket(1000, 1000);
    assert.equal(b.available(0), 1000);
    assert.deepEqual(b.reduce(600, 0), { kind: 'ok' });
    assert.equal(b.available(0), 400);
    const r = b.reduce(500, 0);
    assert.equal(r.kind, 'short');
    assert.equal(b.available(0), 400, 'a refused reduce takes nothing');
  });

  it('refills continuously at size per refill_time, capped at size', () => {
    const b = bucket(1000, 1000); // 1 token per ms
    assert.equal(b.reduce(1000, 0).kind, 'ok');
    assert.equal(b.available(0), 0);
    assert.equal(b.available(250), 250);
    assert.equal(b.reduce(250, 250).kind, 'ok');
    assert.equal(b.reduce(1, 250).kind, 'short');
    assert.equal(b.available(10_000), 1000, 'never above size');
  });

  it('says how long until a short request fits, and it fits exactly then', () => {
    const b = bucket(100, 1000); // 0.1 token per ms
    assert.equal(b.reduce(100, 0).kind, 'ok');
    const r = b.reduce(30, 0);
    assert.deepEqual(r, { kind: 'short', ms: 300 });
    assert.equal(b.reduce(30, 299).kind, 'short');
    assert.equal(b.reduce(30, 300).kind, 'ok');
  });

  it('rounds a fractional wait up, never down to an early retry', () => {
    const b = bucket(3, 1000); // one token per 333.3 ms
    assert.equal(b.reduce(3, 0).kind, 'ok');
    const r = b.reduce(1, 0);
    assert.equal(r.kind, 'short');
    assert.equal(r.kind === 'short' && r.ms, 334);
    assert.equal(b.reduce(1, 334).kind, 'ok');
  });

  it('spends the one-time burst first, then the budget; the burst never refills', () => {
    const b = bucket(1000, 1000, 1100);
    assert.equal(b.available(0), 2100);
    assert.equal(b.reduce(1000, 0).kind, 'ok');
    assert.equal(b.state().oneTimeBurst, 100);
    assert.equal(b.state().budget, 1000);
    assert.equal(b.reduce(500, 0).kind, 'ok'); // 100 from the burst, 400 from the budget
    assert.equal(b.state().oneTimeBurst, 0);
    assert.equal(b.state().budget, 600);
    assert.equal(b.available(100_000), 1000, 'after a long time: size, no burst');
  });

  it('lets a request larger than the whole bucket through once and charges the excess as time', () => {
    const b = bucket(1000, 1000);
    const r = b.reduce(2500, 0);
    // 1000 came from the full bucket; the 1500 excess takes 1.5 refill times to pay back.
    assert.deepEqual(r, { kind: 'overdrawn', ms: 1500 });
    assert.equal(b.available(0), 0);
  });

  it('counts the burst toward an oversized request', () => {
    const b = bucket(1000, 1000, 500);
    // 500 burst + 1000 budget cover 1500: an ordinary success, not an overdraft.
    assert.equal(b.reduce(1500, 0).kind, 'ok');
    const c = bucket(1000, 1000, 500);
    assert.deepEqual(c.reduce(2000, 0), { kind: 'overdrawn', ms: 500 });
  });

  it('replenish gives tokens back, capped at size, into the burst while one is left', () => {
    const b = bucket(1000, 1000);
    assert.equal(b.reduce(123, 0).kind, 'ok');
    b.replenish(23);
    assert.equal(b.available(0), 900);
    b.replenish(5000);
    assert.equal(b.available(0), 1000);
    const c = bucket(10, 1000, 5);
    assert.equal(c.reduce(3, 0).kind, 'ok');
    c.replenish(3);
    assert.equal(c.state().oneTimeBurst, 5);
  });

  it('ignores a clock that steps back, and zero or garbage token counts', () => {
    const b = bucket(100, 100, undefined, 50);
    assert.equal(b.reduce(100, 50).kind, 'ok');
    assert.equal(b.available(10), 0, 'time going back refills nothing');
    assert.equal(b.available(60), 10);
    assert.equal(b.reduce(0, 60).kind, 'ok');
    assert.equal(b.reduce(NaN, 60).kind, 'ok');
    assert.equal(b.available(60), 10);
  });

  it('msUntil: 0 when there, Infinity beyond size', () => {
    const b = bucket(100, 1000);
    assert.equal(b.msUntil(100), 0);
    assert.equal(b.msUntil(101), Infinity);
  });
});
