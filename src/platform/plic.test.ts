import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Plic, type PlicOutputs } from './plic.js';

class Recorder implements PlicOutputs {
  meip: boolean[] = [];
  seip: boolean[] = [];
  events: string[] = [];
  setMachineExternal(hart: number, level: boolean): void {
    this.meip[hart] = level;
    this.events.push(`M${hart}=${level ? 1 : 0}`);
  }
  setSupervisorExternal(hart: number, level: boolean): void {
    this.seip[hart] = level;
    this.events.push(`S${hart}=${level ? 1 : 0}`);
  }
}

const PRIO = (src: number) => 4 * src;
const PENDING = (word: number) => 0x1000 + 4 * word;
const ENABLE = (ctx: number, word: number) => 0x2000 + 0x80 * ctx + 4 * word;
const THRESHOLD = (ctx: number) => 0x20_0000 + 0x1000 * ctx;
const CLAIM = (ctx: number) => 0x20_0004 + 0x1000 * ctx;

function setup(harts = 2) {
  const out = new Recorder();
  const plic = new Plic(harts, out);
  return { plic, out };
}

/** Route source `src` with priority `prio` to context `ctx`. */
function route(plic: Plic, src: number, prio: number, ctx: number): void {
  plic.write(PRIO(src), 4, prio);
  const w = src >> 5;
  plic.write(ENABLE(ctx, w), 4, (plic.read(ENABLE(ctx, w), 4) | (1 << (src & 31))) >>> 0);
}

test('priorities: 3-bit WARL per source; source 0 hard-wired to 0', () => {
  const { plic } = setup();
  plic.write(PRIO(10), 4, 0xffff_ffff);
  assert.equal(plic.read(PRIO(10), 4), 7);
  plic.write(PRIO(95), 4, 3);
  assert.equal(plic.read(PRIO(95), 4), 3);
  plic.write(PRIO(0), 4, 5);
  assert.equal(plic.read(PRIO(0), 4), 0);
  assert.equal(plic.read(PRIO(96), 4), 0); // beyond the last source
  assert.equal(plic.metrics.badAccesses, 2);
});

test('enables: per context, 96 bits; source 0 cannot be enabled', () => {
  const { plic } = setup();
  plic.write(ENABLE(3, 0), 4, 0xffff_ffff);
  plic.write(ENABLE(3, 2), 4, 0x8000_0001);
  assert.equal(plic.read(ENABLE(3, 0), 4), 0xffff_fffe);
  assert.equal(plic.read(ENABLE(3, 2), 4), 0x8000_0001);
  assert.equal(plic.read(ENABLE(2, 0), 4), 0);
  assert.equal(plic.read(ENABLE(3, 3), 4), 0); // word 3 would be sources 96…127
  plic.write(ENABLE(4, 0), 4, 1); // context 4 does not exist with 2 harts
  assert.equal(plic.read(ENABLE(4, 0), 4), 0);
  assert.equal(plic.metrics.badAccesses, 3);
});

test('a level on a source sets its pending bit; pending is read-only', () => {
  const { plic } = setup();
  plic.line(10).set(true);
  plic.line(33).set(true);
  assert.equal(plic.read(PENDING(0), 4), 1 << 10);
  assert.equal(plic.read(PENDING(1), 4), 1 << 1);
  plic.write(PENDING(0), 4, 0);
  assert.equal(plic.read(PENDING(0), 4), 1 << 10);
  assert.equal(plic.metrics.badAccesses, 1);
});

test('claim/complete flow: notify, claim clears pending, no re-pend while claimed, re-pend on complete', () => {
  const { plic, out } = setup(1);
  route(plic, 10, 1, 1); // S-mode context of hart 0
  const uart = plic.line(10);
  uart.set(true);
  assert.deepEqual(out.events, ['S0=1']);
  assert.equal(plic.read(CLAIM(1), 4), 10);
  assert.equal(plic.read(PENDING(0), 4), 0);
  assert.deepEqual(out.events, ['S0=1', 'S0=0']);
  // The device toggles its line while the source is claimed: nothing is forwarded.
  uart.set(false);
  uart.set(true);
  assert.equal(plic.read(PENDING(0), 4), 0);
  assert.equal(plic.read(CLAIM(1), 4), 0, 'nothing else to claim');
  // Completion with the level still high: the gateway forwards a new request.
  plic.write(CLAIM(1), 4, 10);
  assert.equal(plic.read(PENDING(0), 4), 1 << 10);
  assert.equal(out.seip[0], true);
  assert.equal(plic.read(CLAIM(1), 4), 10);
  uart.set(false);
  plic.write(CLAIM(1), 4, 10);
  assert.equal(plic.read(PENDING(0), 4), 0, 'level low at completion: no new request');
  assert.equal(out.seip[0], false);
});

test('a request stays pending after the level drops (gateway latched it)', () => {
  const { plic, out } = setup(1);
  route(plic, 5, 1, 1);
  plic.line(5).set(true);
  plic.line(5).set(false);
  assert.equal(out.seip[0], true);
  assert.equal(plic.read(CLAIM(1), 4), 5);
});

test('claim picks the highest priority, ties go to the lowest id; priority 0 never interrupts', () => {
  const { plic } = setup(1);
  route(plic, 3, 2, 1);
  route(plic, 7, 5, 1);
  route(plic, 9, 5, 1);
  route(plic, 2, 0, 1);
  for (const s of [2, 3, 7, 9]) plic.line(s).set(true);
  assert.deepEqual([plic.read(CLAIM(1), 4), plic.read(CLAIM(1), 4), plic.read(CLAIM(1), 4)], [7, 9, 3]);
  assert.equal(plic.read(CLAIM(1), 4), 0);
  assert.equal(plic.read(PENDING(0), 4), 1 << 2, 'source 2 stays pending at priority 0');
});

test('threshold masks notification and claim of priorities at or below it', () => {
  const { plic, out } = setup(1);
  route(plic, 4, 3, 1);
  plic.write(THRESHOLD(1), 4, 3);
  assert.equal(plic.read(THRESHOLD(1), 4), 3);
  plic.line(4).set(true);
  assert.equal(out.seip[0], undefined);
  assert.equal(plic.read(CLAIM(1), 4), 0);
  plic.write(THRESHOLD(1), 4, 2);
  assert.equal(out.seip[0], true);
  plic.write(THRESHOLD(1), 4, 0xffff_fff8); // WARL: 3 bits
  assert.equal(plic.read(THRESHOLD(1), 4), 0);
});

test('contexts map to harts: 2h is M-mode (MEIP), 2h+1 is S-mode (SEIP)', () => {
  const { plic, out } = setup(2);
  route(plic, 1, 1, 0);
  route(plic, 2, 1, 3);
  plic.line(1).set(true);
  plic.line(2).set(true);
  assert.deepEqual(out.events, ['M0=1', 'S1=1']);
  assert.equal(plic.read(CLAIM(3), 4), 2);
  assert.equal(plic.read(CLAIM(2), 4), 0);
  assert.equal(plic.read(CLAIM(0), 4), 1);
});

test('a source enabled on two contexts is claimed once', () => {
  const { plic, out } = setup(2);
  route(plic, 8, 1, 1);
  route(plic, 8, 1, 3);
  plic.line(8).set(true);
  assert.deepEqual([out.seip[0], out.seip[1]], [true, true]);
  assert.equal(plic.read(CLAIM(3), 4), 8);
  assert.deepEqual([out.seip[0], out.seip[1]], [false, false]);
  assert.equal(plic.read(CLAIM(1), 4), 0);
});

test('completion of a wrong, disabled or unclaimed id is ignored and counted', () => {
  const { plic } = setup(1);
  route(plic, 6, 1, 1);
  plic.line(6).set(true);
  assert.equal(plic.read(CLAIM(1), 4), 6);
  plic.write(CLAIM(1), 4, 0);
  plic.write(CLAIM(1), 4, 96);
  plic.write(CLAIM(1), 4, 0xffff_ffff);
  plic.write(CLAIM(0), 4, 6); // not enabled for the M context
  plic.write(CLAIM(1), 4, 7); // never claimed
  assert.equal(plic.metrics.ignoredCompletions, 5);
  assert.equal(plic.read(CLAIM(1), 4), 0, 'source 6 is still in flight');
  plic.write(CLAIM(1), 4, 6);
  assert.equal(plic.read(CLAIM(1), 4), 6);
});

test('hostile accesses: partial, misaligned, absent contexts, reserved registers, the far end', () => {
  const { plic } = setup(1);
  route(plic, 6, 1, 1);
  plic.line(6).set(true);
  assert.equal(plic.read(CLAIM(1), 1), 0, 'a byte read must not claim');
  assert.equal(plic.read(CLAIM(1) + 1, 4), 0);
  plic.write(PRIO(6), 2, 0);
  assert.equal(plic.read(PRIO(6), 4), 1);
  assert.equal(plic.read(CLAIM(2), 4), 0);
  plic.write(THRESHOLD(2), 4, 1);
  assert.equal(plic.read(THRESHOLD(1) + 8, 4), 0);
  plic.write(THRESHOLD(1) + 0xffc, 4, 1);
  assert.equal(plic.read(0x3ff_fffc, 4), 0);
  plic.write(0x3ff_fffc, 4, 0xffff_ffff);
  assert.equal(plic.read(0x1f_fffc, 4), 0); // last enable word of the last context in the window
  assert.equal(plic.metrics.badAccesses, 10);
  assert.equal(plic.read(CLAIM(1), 4), 6, 'state intact');
});

test('lines outside 1…95 are refused at wiring time; constructor checks harts', () => {
  const { plic } = setup(1);
  assert.throws(() => plic.line(0), /source 0/);
  assert.throws(() => plic.line(96), RangeError);
  assert.equal(plic.line(10), plic.line(10));
  assert.throws(() => new Plic(0, new Recorder()), RangeError);
});

test('save/restore round-trips pending, claimed and outputs', () => {
  const a = setup(1);
  route(a.plic, 10, 2, 1);
  route(a.plic, 11, 1, 1);
  a.plic.line(10).set(true);
  a.plic.line(11).set(true);
  assert.equal(a.plic.read(CLAIM(1), 4), 10);
  const state = a.plic.save();
  const b = setup(1);
  b.plic.restore(structuredClone(state));
  assert.deepEqual(b.plic.save(), state);
  assert.equal(b.out.seip[0], true);
  assert.equal(b.plic.read(CLAIM(1), 4), 11);
  b.plic.write(CLAIM(1), 4, 10); // the claim made before the snapshot completes after restore
  assert.equal(b.plic.read(CLAIM(1), 4), 10);
  assert.throws(() => setup(2).plic.restore(state), /2 harts/);
});

test('random guest traffic and line changes never throw; claims stay in range', () => {
  let seed = 0x9e37_79b9;
  const rand = () => ((seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0), seed);
  const { plic } = setup(2);
  const sizes = [1, 2, 4] as const;
  const hot = [0, 0x28, 0x1000, 0x2000, 0x2080, 0x2100, 0x2180, 0x20_0000, 0x20_0004, 0x20_1004, 0x20_3004];
  for (let i = 0; i < 20_000; i++) {
    const r = rand();
    if ((r & 7) === 0) {
      plic.line(1 + (rand() % 95)).set((rand() & 1) === 1);
      continue;
    }
    const offset = r & 8 ? rand() % 0x400_0000 : hot[rand() % hot.length]! + 4 * (rand() % 4);
    const size = r & 16 ? sizes[rand() % 3]! : 4;
    if (r & 32) plic.write(offset, size, r & 64 ? rand() % 100 : rand());
    else {
      const v = plic.read(offset, size);
      assert.ok(Number.isInteger(v) && v >= 0 && v <= 0xffff_ffff);
      if (size === 4 && offset >= 0x20_0000 && (offset & 0xfff) === 4) assert.ok(v < 96, `claimed id ${v}`);
    }
  }
});
