import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LevelIrqLine } from '../devices/irq-line.js';
import { GoldfishRtc, systemWallClock, type WallClock } from './goldfish-rtc.js';

const TIME_LOW = 0x00, TIME_HIGH = 0x04, ALARM_LOW = 0x08, ALARM_HIGH = 0x0c, IRQ_ENABLED = 0x10;
const CLEAR_ALARM = 0x14, ALARM_STATUS = 0x18, CLEAR_INTERRUPT = 0x1c;

class FakeWall implements WallClock {
  constructor(public ns: bigint) {}
  nowNs(): bigint {
    return this.ns;
  }
}

const T0 = 1_700_000_000_123_456_789n; // a moment in 2023

function setup(ns = T0) {
  const clock = new FakeWall(ns);
  const irq = new LevelIrqLine();
  const rtc = new GoldfishRtc(clock, irq);
  return { clock, irq, rtc };
}

function readTime(rtc: GoldfishRtc): bigint {
  const lo = rtc.read(TIME_LOW, 4);
  const hi = rtc.read(TIME_HIGH, 4);
  return (BigInt(hi) << 32n) | BigInt(lo);
}

test('time reads the wall clock in ns; TIME_HIGH is latched by the TIME_LOW read', () => {
  const { rtc, clock } = setup();
  assert.equal(readTime(rtc), T0);
  const lo = rtc.read(TIME_LOW, 4);
  clock.ns += 1n << 32n; // the high half moves between the two reads
  assert.equal(rtc.read(TIME_HIGH, 4), Number(T0 >> 32n));
  assert.equal(lo, Number(T0 & 0xffff_ffffn));
  assert.equal(readTime(rtc), T0 + (1n << 32n));
});

test('setting the time (HIGH then LOW, as Linux does) shifts the guest clock only', () => {
  const { rtc, clock } = setup();
  const target = 946_684_800_000_000_000n; // 2000-01-01
  rtc.write(TIME_HIGH, 4, Number(target >> 32n));
  rtc.write(TIME_LOW, 4, Number(target & 0xffff_ffffn));
  assert.equal(readTime(rtc), target);
  clock.ns += 5_000n;
  assert.equal(readTime(rtc), target + 5_000n, 'the guest clock keeps running');
  assert.equal(clock.ns, T0 + 5_000n, 'the wall clock is untouched');
});

test('an alarm fires once at its time, raising the line only while enabled and not cleared', () => {
  const { rtc, clock, irq } = setup();
  const at = T0 + 1_000_000n;
  rtc.write(ALARM_HIGH, 4, Number(at >> 32n));
  rtc.write(ALARM_LOW, 4, Number(at & 0xffff_ffffn));
  rtc.write(IRQ_ENABLED, 4, 1);
  assert.equal(rtc.read(ALARM_STATUS, 4), 1);
  assert.equal(rtc.read(ALARM_LOW, 4), Number(at & 0xffff_ffffn));
  assert.equal(rtc.read(ALARM_HIGH, 4), Number(at >> 32n));
  assert.equal(rtc.read(IRQ_ENABLED, 4), 1);
  assert.equal(rtc.nextAlarmDelayNs(), 1_000_000);
  clock.ns = at - 1n;
  rtc.update();
  assert.equal(irq.level, false);
  clock.ns = at;
  rtc.update();
  assert.equal(irq.level, true);
  assert.equal(rtc.read(ALARM_STATUS, 4), 0, 'one-shot: disarmed when fired');
  assert.equal(rtc.nextAlarmDelayNs(), Infinity);
  rtc.write(IRQ_ENABLED, 4, 0);
  assert.equal(irq.level, false, 'masked');
  rtc.write(IRQ_ENABLED, 4, 1);
  assert.equal(irq.level, true, 'still pending');
  rtc.write(CLEAR_INTERRUPT, 4, 1);
  assert.equal(irq.level, false);
  assert.equal(rtc.metrics.alarmsFired, 1);
  assert.equal(irq.edges, 2);
});

test('an alarm in the past fires at once; CLEAR_ALARM disarms', () => {
  const { rtc, irq, clock } = setup();
  rtc.write(IRQ_ENABLED, 4, 1);
  rtc.write(ALARM_HIGH, 4, 0);
  rtc.write(ALARM_LOW, 4, 5);
  assert.equal(irq.level, true);
  rtc.write(CLEAR_INTERRUPT, 4, 1);
  const at = T0 + 10n;
  rtc.write(ALARM_HIGH, 4, Number(at >> 32n));
  rtc.write(ALARM_LOW, 4, Number(at & 0xffff_ffffn));
  rtc.write(CLEAR_ALARM, 4, 1);
  assert.equal(rtc.read(ALARM_STATUS, 4), 0);
  clock.ns = at + 1n;
  rtc.update();
  assert.equal(irq.level, false);
});

test('hostile accesses: partial, misaligned, unknown, write-only and read-only registers', () => {
  const { rtc } = setup();
  assert.equal(rtc.read(TIME_LOW, 1), 0);
  rtc.write(TIME_LOW, 2, 0);
  assert.equal(rtc.read(0x2, 4), 0);
  assert.equal(rtc.read(0x20, 4), 0);
  rtc.write(0xffc, 4, 0xffff_ffff);
  assert.equal(rtc.metrics.badAccesses, 5);
  assert.equal(rtc.read(CLEAR_ALARM, 4), 0);
  assert.equal(rtc.read(CLEAR_INTERRUPT, 4), 0);
  rtc.write(ALARM_STATUS, 4, 1);
  assert.equal(rtc.read(ALARM_STATUS, 4), 0);
  assert.equal(readTime(rtc), T0, 'time unaffected');
  rtc.write(TIME_HIGH, 4, 0xffff_ffff); // far future: wraps within 64 bits, no throw
  assert.equal(readTime(rtc) >> 32n, 0xffff_ffffn);
});

test('save/restore keeps the guest clock offset and the interrupt', () => {
  const a = setup();
  a.rtc.write(TIME_HIGH, 4, 0);
  a.rtc.write(TIME_LOW, 4, 1000);
  a.rtc.write(IRQ_ENABLED, 4, 1);
  a.rtc.write(ALARM_LOW, 4, 0);
  const state = JSON.parse(JSON.stringify(a.rtc.save()));
  const b = setup();
  b.rtc.restore(state);
  assert.deepEqual(b.rtc.save(), a.rtc.save());
  assert.equal(readTime(b.rtc), 1000n);
  assert.equal(b.irq.level, true);
  assert.throws(() => b.rtc.restore({ ...state, offsetNs: 'x' }), /decimal/);
});

test('the system wall clock is near Date.now()', () => {
  const ns = systemWallClock.nowNs();
  const ms = Number(ns / 1_000_000n);
  assert.ok(Math.abs(ms - Date.now()) < 1000);
});

test('random guest traffic never throws; the guest clock stays within 64 bits', () => {
  let seed = 0x0bad_cafe;
  const rand = () => ((seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0), seed);
  const { rtc, clock } = setup();
  const sizes = [1, 2, 4] as const;
  for (let i = 0; i < 5_000; i++) {
    const r = rand();
    const offset = r & 1 ? rand() % 0x1000 : 4 * (rand() % 8);
    const size = r & 2 ? sizes[rand() % 3]! : 4;
    if (r & 4) rtc.write(offset, size, rand());
    else {
      const v = rtc.read(offset, size);
      assert.ok(Number.isInteger(v) && v >= 0 && v <= 0xffff_ffff);
    }
    clock.ns += BigInt(rand() % 1_000_000);
    rtc.update();
    const t = rtc.timeNs();
    assert.ok(t >= 0n && t <= 0xffff_ffff_ffff_ffffn);
  }
});
