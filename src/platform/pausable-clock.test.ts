import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PausableClock } from './pausable-clock.js';

/** 1 ms of host time is 10_000 ticks of the 10 MHz timebase. */
const TICKS_PER_MS = 10_000;

test('pausable clock: follows the host clock from 0 while running', () => {
  let host = 5_000;
  const c = new PausableClock(() => host);
  assert.equal(c.now(), 0);
  host += 2.5;
  assert.equal(c.now(), 2.5 * TICKS_PER_MS);
  assert.equal(c.paused, false);
});

test('pausable clock: stands still while paused and resumes without a jump', () => {
  let host = 0;
  const c = new PausableClock(() => host);
  host = 10;
  c.pause();
  assert.equal(c.paused, true);
  host = 1_000;
  assert.equal(c.now(), 10 * TICKS_PER_MS, 'no time passes while paused');
  c.pause(); // idempotent: does not restart the pause
  host = 2_000;
  c.resume();
  assert.equal(c.now(), 10 * TICKS_PER_MS, 'resuming does not skip the paused span');
  host = 2_003;
  assert.equal(c.now(), 13 * TICKS_PER_MS);
  c.resume(); // idempotent
  assert.equal(c.now(), 13 * TICKS_PER_MS);
});

test('pausable clock: repeated pauses accumulate and time never goes backwards', () => {
  let host = 0;
  const c = new PausableClock(() => host);
  let last = c.now();
  for (let i = 0; i < 100; i++) {
    host += 7;
    if (i % 3 === 0) c.pause(); else c.resume();
    const t = c.now();
    assert.ok(t >= last, `step ${i}: ${t} < ${last}`);
    last = t;
  }
  c.resume();
  // 100 steps of 7 ms; the steps that began while paused did not count (i % 3 === 1 follows a pause).
  const runningSteps = Array.from({ length: 100 }, (_, i) => i).filter((i) => i === 0 || (i - 1) % 3 !== 0).length;
  assert.equal(c.now(), runningSteps * 7 * TICKS_PER_MS);
});

test('pausable clock: defaults to the host monotonic clock', async () => {
  const c = new PausableClock();
  await new Promise((r) => setTimeout(r, 20));
  assert.ok(c.now() >= 15 * TICKS_PER_MS, `now() = ${c.now()}`);
});
