import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { makeRig, virtioDeviceCases } from '../virtio-device.case.js';
import { RNG_MAX_BYTES_PER_REQUEST, VirtioRng } from './rng.js';
import type { EntropySource } from './entropy-source.js';
import { ManualClock } from '../../../rate-limiter/manual-clock.js';
import { RateLimiter } from '../../../rate-limiter/rate-limiter.js';

/** A deterministic source: counts up, so tests can see exactly which bytes were filled. */
class CountingSource implements EntropySource {
  next = 1;
  calls = 0;
  fill(dst: Uint8Array): void {
    this.calls++;
    for (let i = 0; i < dst.length; i++) {
      // Never 0, so a filled byte is always distinguishable from untouched (zeroed) guest RAM.
      if ((this.next & 0xff) === 0) this.next++;
      dst[i] = this.next++ & 0xff;
    }
  }
}

virtioDeviceCases('virtio-rng', {
  make: () => new VirtioRng(new CountingSource()),
  request: () => ({ buffers: [{ writable: 32 }], usedLen: 32 }),
});

describe('virtio-rng', () => {
  it('fills every device-writable buffer of a chain from the entropy source', () => {
    const src = new CountingSource();
    const r = makeRig(new VirtioRng(src));
    r.driver.init();
    const { head, addrs } = r.driver.submit(0, [{ writable: 3 }, { writable: 5 }]);
    assert.deepEqual(r.driver.used(0), [{ id: head, len: 8 }]);
    assert.deepEqual([...r.driver.peek(addrs[0], 3)], [1, 2, 3]);
    assert.deepEqual([...r.driver.peek(addrs[1], 5)], [4, 5, 6, 7, 8]);
  });

  it(`caps a request at ${RNG_MAX_BYTES_PER_REQUEST} bytes and counts it`, () => {
    const dev = new VirtioRng(new CountingSource());
    const r = makeRig(dev);
    r.driver.init();
    const big = RNG_MAX_BYTES_PER_REQUEST + 4096;
    const { head, addrs } = r.driver.submit(0, [{ writable: big }]);
    assert.deepEqual(r.driver.used(0), [{ id: head, len: RNG_MAX_BYTES_PER_REQUEST }]);
    const tail = r.driver.peek(addrs[0] + RNG_MAX_BYTES_PER_REQUEST, 4096);
    assert.ok(tail.every((b) => b === 0), 'bytes past the cap stay untouched');
    assert.equal(dev.metrics.truncatedRequests, 1);
    assert.equal(dev.metrics.bytes, RNG_MAX_BYTES_PER_REQUEST);
  });

  it('refuses chains with device-readable buffers (§5.4.6.2) with len 0 and writes nothing', () => {
    const dev = new VirtioRng(new CountingSource());
    const r = makeRig(dev);
    r.driver.init();
    const { head, addrs } = r.driver.submit(0, [{ data: new Uint8Array(4) }, { writable: 8 }]);
    assert.deepEqual(r.driver.used(0), [{ id: head, len: 0 }]);
    assert.ok(r.driver.peek(addrs[1], 8).every((b) => b === 0));
    assert.equal(dev.metrics.invalidRequests, 1);
  });

  it('answers len 0 and counts it when the entropy source fails', () => {
    const dev = new VirtioRng({
      fill() {
        throw new Error('host entropy unavailable');
      },
    });
    const r = makeRig(dev);
    r.driver.init();
    const { head } = r.driver.submit(0, [{ writable: 16 }]);
    assert.deepEqual(r.driver.used(0), [{ id: head, len: 0 }]);
    assert.equal(dev.metrics.entropyFails, 1);
  });

  it('has no configuration space: reads 0, writes ignored and counted', () => {
    const dev = new VirtioRng(new CountingSource());
    const r = makeRig(dev);
    assert.equal(r.transport.read(0x100, 4), 0);
    r.transport.write(0x100, 4, 0xdead);
    assert.equal(dev.metrics.configWritesIgnored, 1);
  });
});

describe('virtio-rng rate limiting', () => {
  it('holds requests beyond the bandwidth budget and serves them, without loss, once time passes', () => {
    const clock = new ManualClock();
    const src = new CountingSource();
    const dev = new VirtioRng(src, new RateLimiter(clock, { bandwidth: { size: 64, refill_time: 1000 } }));
    const r = makeRig(dev);
    r.driver.init();
    const reqs = [0, 1, 2, 3].map(() => r.driver.submit(0, [{ writable: 32 }]));
    assert.deepEqual(r.driver.used(0).map((u) => u.id), [reqs[0].head, reqs[1].head]);
    assert.equal(src.calls, 2, 'held requests did not draw entropy');
    assert.equal(r.transport.queues[0].pending(), 2);
    assert.equal(dev.metrics.rateLimiterThrottled, 2, 'the third and the fourth kick found it throttled');
    assert.equal(dev.retryDelayMs(), 500);
    clock.advance(499);
    dev.retry();
    assert.deepEqual(r.driver.used(0), []);
    clock.advance(1);
    dev.retry();
    assert.deepEqual(r.driver.used(0), [{ id: reqs[2].head, len: 32 }]);
    clock.advance(dev.retryDelayMs());
    dev.retry();
    assert.deepEqual(r.driver.used(0), [{ id: reqs[3].head, len: 32 }]);
    assert.equal(dev.retryDelayMs(), Infinity);
    // The bytes are the source's, in request order: nothing was skipped or served twice.
    const all = reqs.flatMap((q) => [...r.driver.peek(q.addrs[0], 32)]);
    assert.deepEqual(all, Array.from({ length: 128 }, (_, i) => i + 1));
    assert.equal(dev.metrics.bytes, 128);
    assert.equal(dev.metrics.rateLimiterEvents, 3);
  });

  it('charges at most the per-request cap, so a huge buffer cannot stall on the limiter', () => {
    const clock = new ManualClock();
    const limiter = new RateLimiter(clock, { bandwidth: { size: RNG_MAX_BYTES_PER_REQUEST, refill_time: 1000 } });
    const dev = new VirtioRng(new CountingSource(), limiter);
    const r = makeRig(dev, 4 << 20);
    r.driver.init();
    const { head } = r.driver.submit(0, [{ writable: RNG_MAX_BYTES_PER_REQUEST * 4 }]);
    assert.deepEqual(r.driver.used(0), [{ id: head, len: RNG_MAX_BYTES_PER_REQUEST }]);
    assert.equal(limiter.isBlocked, false, 'exactly the bucket, not an overdraft');
  });

  it('limits operations with the ops bucket, and bad chains are answered at once without a charge', () => {
    const clock = new ManualClock();
    const dev = new VirtioRng(new CountingSource(), new RateLimiter(clock, { ops: { size: 1, refill_time: 100 } }));
    const r = makeRig(dev);
    r.driver.init();
    const bad = r.driver.submit(0, [{ data: new Uint8Array(4) }, { writable: 8 }]);
    const a = r.driver.submit(0, [{ writable: 1 }]);
    const b = r.driver.submit(0, [{ writable: 1 }]);
    assert.deepEqual(r.driver.used(0).map((u) => u.id), [bad.head, a.head]);
    assert.equal(dev.retryDelayMs(), 100);
    clock.advance(100);
    dev.retry();
    assert.deepEqual(r.driver.used(0).map((u) => u.id), [b.head]);
  });
});
