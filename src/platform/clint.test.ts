import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Clint, ManualClock, monotonicClock, type ClintOutputs } from './clint.js';

class Recorder implements ClintOutputs {
  events: string[] = [];
  soft: boolean[] = [];
  timer: boolean[] = [];
  setSoftware(hart: number, level: boolean): void {
    this.soft[hart] = level;
    this.events.push(`msip${hart}=${level ? 1 : 0}`);
  }
  setTimer(hart: number, level: boolean): void {
    this.timer[hart] = level;
    this.events.push(`mtip${hart}=${level ? 1 : 0}`);
  }
}

function setup(harts = 2, ticks = 0) {
  const clock = new ManualClock(ticks);
  const out = new Recorder();
  const clint = new Clint(harts, clock, out);
  return { clock, out, clint };
}

test('msip: bit 0 per hart drives the software interrupt; other bits read as zero', () => {
  const { clint, out } = setup();
  clint.write(0x4, 4, 0xffff_ffff);
  assert.equal(clint.read(0x4, 4), 1);
  assert.equal(clint.read(0x0, 4), 0);
  assert.deepEqual(out.events, ['msip1=1']);
  clint.write(0x4, 4, 1); // no change, no event
  clint.write(0x4, 1, 0); // byte write clears bit 0
  assert.deepEqual(out.events, ['msip1=1', 'msip1=0']);
  clint.write(0x0, 2, 1);
  assert.equal(clint.read(0x0, 1), 1);
  assert.equal(out.soft[0], true);
});

test('mtime reads the injected clock, 64 bits as two halves', () => {
  const { clint, clock } = setup(1, 0x1_2345_6789);
  assert.equal(clint.read(0xbff8, 4), 0x2345_6789);
  assert.equal(clint.read(0xbffc, 4), 1);
  clock.ticks = 2 ** 40 + 5;
  assert.equal(clint.read(0xbff8, 4), 5);
  assert.equal(clint.read(0xbffc, 4), 2 ** 8);
  assert.equal(clint.read(0xbff8, 2), 5);
});

test('a 64-bit mtime read (low then high) is not torn across a carry', () => {
  const { clint, clock } = setup(1, 0xffff_ffff);
  const lo = clint.read(0xbff8, 4);
  clock.advance(1); // the low word wraps between the two halves of the bus's split access
  const hi = clint.read(0xbffc, 4);
  assert.deepEqual([hi, lo], [0, 0xffff_ffff]);
  // A lone high read afterwards sees the live clock.
  assert.equal(clint.read(0xbffc, 4), 1);
});

test('mtime is read-only: writes are ignored and counted', () => {
  const { clint } = setup(1, 42);
  clint.write(0xbff8, 4, 0);
  clint.write(0xbffc, 4, 7);
  assert.equal(clint.read(0xbff8, 4), 42);
  assert.equal(clint.read(0xbffc, 4), 0);
  assert.equal(clint.metrics.badAccesses, 2);
});

test('mtimecmp resets to all-ones, stores both halves, and is readable', () => {
  const { clint } = setup();
  assert.equal(clint.read(0x4000, 4), 0xffff_ffff);
  assert.equal(clint.read(0x4004, 4), 0xffff_ffff);
  assert.equal(clint.deadline(0), Infinity);
  clint.write(0x4008, 4, 0x1234);
  clint.write(0x400c, 4, 0x2);
  assert.equal(clint.read(0x4008, 4), 0x1234);
  assert.equal(clint.read(0x400c, 4), 2);
  assert.equal(clint.deadline(1), 2 * 2 ** 32 + 0x1234);
  clint.write(0x4009, 1, 0xab); // byte lane 1 of the low half
  assert.equal(clint.read(0x4008, 4), 0xab34);
});

test('timer level follows mtime >= mtimecmp on compare writes and on update()', () => {
  const { clint, clock, out } = setup(2, 100);
  clint.write(0x4004, 4, 0);
  clint.write(0x4000, 4, 150);
  assert.deepEqual(out.events, []);
  assert.equal(clint.nextDeadline(), 150);
  clock.ticks = 149;
  clint.update();
  assert.deepEqual(out.events, []);
  clock.ticks = 150;
  clint.update();
  assert.deepEqual(out.events, ['mtip0=1']);
  assert.equal(clint.nextDeadline(), Infinity, 'a pending timer is no deadline to sleep for');
  clint.write(0x4000, 4, 1000); // the handler moves the compare: level drops at once
  assert.deepEqual(out.events, ['mtip0=1', 'mtip0=0']);
  clint.write(0x4008, 4, 500);
  clint.write(0x400c, 4, 0);
  assert.equal(clint.nextDeadline(), 500);
  clint.write(0x4000, 4, 0); // compare in the past: fires immediately
  assert.equal(out.timer[0], true);
});

test('compares beyond 2^53 never fire and are exact', () => {
  const { clint, clock, out } = setup(1, 2 ** 52);
  clint.write(0x4004, 4, 0x0010_0000); // exactly 2^52
  clint.write(0x4000, 4, 1);
  assert.equal(out.timer[0], undefined);
  clock.advance(1);
  clint.update();
  assert.equal(out.timer[0], true);
  clint.write(0x4004, 4, 0x8000_0000);
  assert.equal(out.timer[0], false);
  assert.equal(clint.deadline(0), Infinity);
});

test('hostile accesses: unknown offsets, other harts, crossing words', () => {
  const { clint } = setup(2);
  assert.equal(clint.read(0x8, 4), 0); // msip of hart 2 (absent)
  clint.write(0x8, 4, 1);
  assert.equal(clint.read(0x4010, 4), 0); // mtimecmp of hart 2 (absent)
  clint.write(0x4010, 4, 0);
  assert.equal(clint.read(0x3, 2), 0); // crosses a register boundary
  clint.write(0x2, 4, 1);
  assert.equal(clint.read(0xfff0, 4), 0);
  clint.write(0xffff, 1, 0xff);
  clint.write(0x4000, 4, 2 ** 40); // value wider than 32 bits: only the low word counts
  assert.equal(clint.read(0x4000, 4), 0);
  assert.equal(clint.metrics.badAccesses, 8);
});

test('save/restore round-trips and re-drives the outputs', () => {
  const a = setup(2, 10);
  a.clint.write(0x4, 4, 1);
  a.clint.write(0x4004, 4, 0);
  a.clint.write(0x4000, 4, 5);
  const state = a.clint.save();
  const b = setup(2, 10);
  b.clint.restore(structuredClone(state));
  assert.deepEqual(b.clint.save(), state);
  assert.deepEqual([b.out.soft[1], b.out.timer[0], b.out.timer[1]], [true, true, false]);
  assert.throws(() => setup(3).clint.restore(state), /3 harts/);
});

test('constructor rejects a bad hart count; the host clock is monotonic', () => {
  assert.throws(() => new Clint(0, new ManualClock(), new Recorder()), RangeError);
  const c = monotonicClock();
  const t0 = c.now();
  assert.ok(Number.isInteger(t0) && t0 >= 0);
  assert.ok(c.now() >= t0);
});

test('random guest traffic never throws and reads stay 32-bit', () => {
  let seed = 0x1234_5678;
  const rand = () => ((seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0), seed);
  const { clint, clock } = setup(3);
  const sizes = [1, 2, 4] as const;
  for (let i = 0; i < 20_000; i++) {
    const r = rand();
    const offset = r & 1 ? rand() % 0x1_0000 : [0, 4, 8, 0x4000, 0x4008, 0x4014, 0xbff8, 0xbffc][r % 8]! + (rand() % 4);
    const size = sizes[rand() % 3]!;
    if (r & 2) clint.write(offset, size, rand());
    else {
      const v = clint.read(offset, size);
      assert.ok(Number.isInteger(v) && v >= 0 && v <= 0xffff_ffff);
    }
    if ((r & 0xf0) === 0) {
      clock.advance(rand() % 1000);
      clint.update();
    }
  }
  assert.ok(clint.metrics.badAccesses > 0);
});
