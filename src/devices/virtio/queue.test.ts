import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MachineMemory } from '../../memory/machine-memory.js';
import { Queue } from './queue.js';
import * as S from './spec.js';

const RAM = 0x8000_0000;
const DESC = RAM;
const AVAIL = RAM + 0x1000;
const USED = RAM + 0x2000;
const TABLE = RAM + 0x3000;
const BUF = RAM + 0x4000;

function rig(size = 8, features = S.F_VERSION_1 | S.F_INDIRECT_DESC | S.F_EVENT_IDX) {
  const mem = new MachineMemory(1 << 20);
  const q = new Queue(size);
  q.descAddr = DESC;
  q.driverAddr = AVAIL;
  q.deviceAddr = USED;
  q.ready = true;
  assert.equal(q.activate(mem, features), true);
  const v = mem.view;
  const at = (gpa: number) => mem.hostOffset(gpa, 1);
  const desc = (table: number, i: number, addr: number, len: number, flags: number, next = 0) => {
    const o = at(table + 16 * i);
    v.setUint32(o, addr % 2 ** 32, true);
    v.setUint32(o + 4, Math.floor(addr / 2 ** 32), true);
    v.setUint32(o + 8, len, true);
    v.setUint16(o + 12, flags, true);
    v.setUint16(o + 14, next, true);
  };
  let availIdx = 0;
  const avail = (head: number) => {
    v.setUint16(at(AVAIL + 4 + 2 * (availIdx % size)), head, true);
    availIdx = (availIdx + 1) & 0xffff;
    v.setUint16(at(AVAIL + 2), availIdx, true);
  };
  const setAvailIdx = (n: number) => {
    availIdx = n & 0xffff;
    v.setUint16(at(AVAIL + 2), availIdx, true);
  };
  const usedIdx = () => v.getUint16(at(USED + 2), true);
  const usedElem = (i: number) => ({ id: v.getUint32(at(USED + 4 + 8 * (i % size)), true), len: v.getUint32(at(USED + 8 + 8 * (i % size)), true) });
  const setUsedEvent = (n: number) => v.setUint16(at(AVAIL + 4 + 2 * size), n, true);
  const availEvent = () => v.getUint16(at(USED + 4 + 8 * size), true);
  return { mem, q, desc, avail, setAvailIdx, usedIdx, usedElem, setUsedEvent, availEvent };
}

describe('Queue configuration', () => {
  it('refuses a maximum size that is not a power of 2 up to 32768', () => {
    for (const n of [0, 3, 65536, 1.5]) assert.throws(() => new Queue(n), RangeError);
    assert.equal(new Queue(32768).maxSize, 32768);
  });

  it('validates size, alignment and that the rings lie in RAM (§2.7)', () => {
    const mem = new MachineMemory(1 << 20);
    const q = new Queue(16);
    const ok = () => {
      q.size = 16;
      q.descAddr = DESC;
      q.driverAddr = AVAIL;
      q.deviceAddr = USED;
    };
    ok();
    assert.equal(q.validate(mem), null);
    for (const [tweak, code] of [
      [() => (q.size = 0), 'bad-size'],
      [() => (q.size = 12), 'bad-size'],
      [() => (q.size = 32), 'bad-size'],
      [() => (q.descAddr = DESC + 8), 'misaligned'],
      [() => (q.driverAddr = AVAIL + 1), 'misaligned'],
      [() => (q.deviceAddr = USED + 2), 'misaligned'],
      [() => (q.descAddr = RAM + (1 << 20) - 16 * 8), 'ring-out-of-ram'],
      [() => (q.driverAddr = RAM - 0x1000), 'ring-out-of-ram'],
      [() => (q.deviceAddr = 2 ** 40), 'ring-out-of-ram'],
    ] as const) {
      ok();
      tweak();
      assert.equal(q.validate(mem), code);
      assert.equal(q.activate(mem, 0n), false);
      assert.equal(q.activated, false);
    }
    assert.equal(q.metrics['bad-size'] + q.metrics.misaligned + q.metrics['ring-out-of-ram'], 9);
  });

  it('pops nothing before activation', () => {
    const q = new Queue(8);
    assert.equal(q.pop(), null);
    assert.equal(q.pending(), 0);
    assert.equal(q.needsNotification(), false);
  });
});

describe('Queue chains', () => {
  it('splits a chain into readable and writable streams and returns it in the used ring', () => {
    const r = rig();
    r.mem.write(BUF, new Uint8Array([1, 2, 3, 4, 5]));
    r.desc(DESC, 2, BUF, 3, S.DESC_F_NEXT, 5);
    r.desc(DESC, 5, BUF + 3, 2, S.DESC_F_NEXT, 1);
    r.desc(DESC, 1, BUF + 0x100, 4, S.DESC_F_WRITE | S.DESC_F_NEXT, 0);
    r.desc(DESC, 0, BUF + 0x200, 4, S.DESC_F_WRITE);
    r.avail(2);
    const c = r.q.pop()!;
    assert.equal(c.error, null);
    assert.equal(c.head, 2);
    const rd = c.reader();
    assert.equal(rd.total, 5);
    const got = new Uint8Array(5);
    assert.equal(rd.read(got), 5);
    assert.deepEqual([...got], [1, 2, 3, 4, 5]);
    const w = c.writer();
    assert.equal(w.total, 8);
    w.skip(2);
    assert.equal(w.write(new Uint8Array([9, 9, 9, 9, 9, 9, 9])), 6, 'the writer stops at the end of the buffers');
    const b1 = new Uint8Array(4);
    const b2 = new Uint8Array(4);
    r.mem.read(BUF + 0x100, b1);
    r.mem.read(BUF + 0x200, b2);
    assert.deepEqual([...b1, ...b2], [0, 0, 9, 9, 9, 9, 9, 9]);
    r.q.addUsed(c.head, 8);
    assert.equal(r.usedIdx(), 1);
    assert.deepEqual(r.usedElem(0), { id: 2, len: 8 });
    assert.equal(r.q.pop(), null);
  });

  it('reports what the device writes to the machine memory (translated code must learn of it)', () => {
    const r = rig();
    const seen: number[] = [];
    const written = () => { r.mem.watch.takeWritten(0, (page) => seen.push(page)); return seen; };
    r.mem.watch.watch(r.mem.hostOffset(BUF, 1) >>> 12, 0, true); // as the JIT does for a page it translated
    r.desc(DESC, 0, BUF, 4, S.DESC_F_NEXT, 1);
    r.desc(DESC, 1, BUF + 0x1000, 4, S.DESC_F_WRITE);
    r.avail(0);
    const c = r.q.pop()!;
    c.reader().read(new Uint8Array(4));
    assert.deepEqual(written(), [], 'reading the guest buffer is no write');
    c.writer().write(new Uint8Array([1, 2, 3, 4]));
    assert.deepEqual(written(), [], 'the written buffer is on a page nobody watches');
    r.mem.watch.watch(r.mem.hostOffset(BUF + 0x1000, 1) >>> 12, 0, true);
    r.avail(0);
    r.q.pop()!.writer().zero(4);
    assert.deepEqual(written(), [r.mem.hostOffset(BUF + 0x1000, 1) >>> 12]);
  });

  it('follows direct descriptors into a final indirect table (§2.7.5.3.2)', () => {
    const r = rig();
    r.desc(DESC, 0, BUF, 16, S.DESC_F_NEXT, 1);
    r.desc(DESC, 1, TABLE, 32, S.DESC_F_INDIRECT);
    r.desc(TABLE, 0, BUF + 16, 8, S.DESC_F_NEXT, 1);
    r.desc(TABLE, 1, BUF + 32, 1, S.DESC_F_WRITE);
    r.avail(0);
    const c = r.q.pop()!;
    assert.equal(c.error, null);
    assert.deepEqual([c.reader().total, c.writer().total], [24, 1]);
  });

  it('allows a chain exactly as long as the queue, not one entry longer', () => {
    const r = rig(4);
    for (let i = 0; i < 4; i++) r.desc(DESC, i, BUF, 1, i < 3 ? S.DESC_F_NEXT : 0, i + 1);
    r.avail(0);
    assert.equal(r.q.pop()!.error, null);
    for (let i = 0; i < 5; i++) r.desc(TABLE, i, BUF, 1, i < 4 ? S.DESC_F_NEXT : 0, i + 1);
    r.desc(DESC, 0, TABLE, 5 * 16, S.DESC_F_INDIRECT);
    r.avail(0);
    assert.equal(r.q.pop()!.error, 'chain-too-long');
  });

  it('counts a zero-length buffer as a buffer, not an error', () => {
    const r = rig();
    r.desc(DESC, 0, BUF, 0, S.DESC_F_WRITE);
    r.avail(0);
    const c = r.q.pop()!;
    assert.equal(c.error, null);
    assert.equal(c.writer().total, 0);
  });

  it('stops the queue when the avail index jumps more than the queue size', () => {
    const r = rig(8);
    r.setAvailIdx(9);
    assert.equal(r.q.pop(), null);
    assert.equal(r.q.broken, true);
    assert.equal(r.q.metrics['avail-index-jump'], 1);
    r.q.addUsed(0, 0);
    assert.equal(r.usedIdx(), 0, 'a broken queue writes nothing');
  });

  it('handles avail and used indices wrapping at 2^16', () => {
    const r = rig(8);
    r.q.restore({ ...r.q.save(), nextAvail: 0xfffe, nextUsed: 0xfffe });
    r.q.activate(r.mem, S.F_VERSION_1);
    r.setAvailIdx(0xfffe);
    r.desc(DESC, 3, BUF, 1, S.DESC_F_WRITE);
    r.avail(3);
    r.avail(3);
    r.avail(3);
    assert.equal(r.q.pending(), 3);
    for (let i = 0; i < 3; i++) {
      const c = r.q.pop()!;
      r.q.addUsed(c.head, 1);
    }
    assert.equal(r.q.pop(), null);
    assert.equal(r.usedIdx(), 1);
  });
});

describe('Queue undoPop', () => {
  it('puts the last popped chain back: the next pop returns it again, across the 2^16 wrap', () => {
    const r = rig(8);
    r.q.restore({ ...r.q.save(), nextAvail: 0xffff, nextUsed: 0xffff });
    r.q.activate(r.mem, S.F_VERSION_1);
    r.setAvailIdx(0xffff);
    r.desc(DESC, 4, BUF, 1, S.DESC_F_WRITE);
    r.desc(DESC, 6, BUF + 8, 1, S.DESC_F_WRITE);
    r.avail(4);
    r.avail(6);
    const used = r.usedIdx();
    assert.equal(r.q.pop()!.head, 4);
    const chains = r.q.metrics.chains;
    r.q.undoPop();
    assert.equal(r.q.pending(), 2);
    assert.equal(r.q.metrics.chains, chains - 1, 'an undone pop is not counted');
    assert.equal(r.q.pop()!.head, 4);
    assert.equal(r.q.pop()!.head, 6);
    r.q.undoPop();
    assert.equal(r.q.pop()!.head, 6);
    assert.equal(r.q.pop(), null);
    assert.equal(r.usedIdx(), used, 'nothing reached the used ring');
  });
});

describe('Queue notifications', () => {
  it('EVENT_IDX: notifies only when used_event falls inside the newly used range, across wrap-around', () => {
    const r = rig(8);
    r.q.restore({ ...r.q.save(), nextAvail: 0xfffc, nextUsed: 0xfffc });
    r.q.activate(r.mem, S.F_VERSION_1 | S.F_EVENT_IDX);
    r.setAvailIdx(0xfffc);
    r.desc(DESC, 0, BUF, 1, S.DESC_F_WRITE);
    r.setUsedEvent(0x0001); // the driver wants to hear once used idx passes 1 (i.e. reaches 2)
    const step = () => {
      r.avail(0);
      const c = r.q.pop()!;
      r.q.addUsed(c.head, 1);
      return r.q.needsNotification();
    };
    const seen = [];
    for (let i = 0; i < 6; i++) seen.push(step()); // used idx: fffd fffe ffff 0 1 2
    assert.deepEqual(seen, [false, false, false, false, false, true]);
    assert.equal(r.q.metrics.notifications, 1);
    assert.equal(r.q.metrics.suppressedNotifications, 5);
  });

  it('EVENT_IDX: publishes avail_event when it runs dry', () => {
    const r = rig(8);
    r.desc(DESC, 0, BUF, 1, S.DESC_F_WRITE);
    r.avail(0);
    r.avail(0);
    r.q.pop();
    assert.equal(r.availEvent(), 0, 'not yet: it has not run dry');
    r.q.pop();
    assert.equal(r.q.pop(), null);
    assert.equal(r.availEvent(), 2);
  });

  it('without EVENT_IDX: follows VIRTQ_AVAIL_F_NO_INTERRUPT and never writes avail_event', () => {
    const r = rig(8, S.F_VERSION_1);
    r.desc(DESC, 0, BUF, 1, S.DESC_F_WRITE);
    r.avail(0);
    r.q.addUsed(r.q.pop()!.head, 1);
    assert.equal(r.q.needsNotification(), true);
    assert.equal(r.q.needsNotification(), false, 'nothing new since the last decision');
    r.mem.view.setUint16(r.mem.hostOffset(AVAIL, 2), S.AVAIL_F_NO_INTERRUPT, true);
    r.avail(0);
    r.q.addUsed(r.q.pop()!.head, 1);
    assert.equal(r.q.pop(), null);
    assert.equal(r.q.needsNotification(), false);
    assert.equal(r.availEvent(), 0);
  });

  it('save/restore keeps the ring position', () => {
    const r = rig(8);
    r.desc(DESC, 0, BUF, 1, S.DESC_F_WRITE);
    r.avail(0);
    r.q.addUsed(r.q.pop()!.head, 1);
    const state = r.q.save();
    assert.deepEqual({ a: state.nextAvail, u: state.nextUsed, s: state.size }, { a: 1, u: 1, s: 8 });
    const q2 = new Queue(8);
    q2.restore(JSON.parse(JSON.stringify(state)));
    assert.equal(q2.activate(r.mem, S.F_VERSION_1), true);
    r.avail(0);
    const c = q2.pop()!;
    q2.addUsed(c.head, 1);
    assert.equal(r.usedIdx(), 2);
    assert.throws(() => new Queue(16).restore(state), RangeError);
  });
});
