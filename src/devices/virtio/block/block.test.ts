import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BufferSpec } from '../../../../test/helpers/virtqueue-driver.js';
import * as S from '../spec.js';
import { makeRig, type Rig } from '../virtio-device.case.js';
import { virtioDeviceCases } from '../virtio-device.case.js';
import {
  BLK_F_DISCARD,
  BLK_F_FLUSH,
  BLK_F_RO,
  BLK_F_WRITE_ZEROES,
  BLK_S_IOERR,
  BLK_S_OK,
  BLK_S_UNSUPP,
  BLK_T_DISCARD,
  BLK_T_FLUSH,
  BLK_T_GET_ID,
  BLK_T_IN,
  BLK_T_OUT,
  BLK_T_WRITE_ZEROES,
  CFG_CAPACITY,
  CFG_MAX_DISCARD_SEG,
  CFG_SEG_MAX,
  VirtioBlock,
  type BlockOptions,
} from './block.js';
import type { BlockBackend } from './block-backend.js';
import { MemoryBlockBackend } from './memory-block-backend.js';
import { ManualClock } from '../../../rate-limiter/manual-clock.js';
import { RateLimiter, type RateLimiterConfig } from '../../../rate-limiter/rate-limiter.js';

const DISK_SECTORS = 64;

function header(type: number, sector = 0): Uint8Array {
  const b = new Uint8Array(16);
  const v = new DataView(b.buffer);
  v.setUint32(0, type, true);
  v.setUint32(8, sector % 0x1_0000_0000, true);
  v.setUint32(12, Math.floor(sector / 0x1_0000_0000), true);
  return b;
}

function dwz(segs: Array<[sector: number, count: number, flags?: number]>): Uint8Array {
  const b = new Uint8Array(16 * segs.length);
  const v = new DataView(b.buffer);
  segs.forEach(([sector, count, flags], i) => {
    v.setUint32(16 * i, sector, true);
    v.setUint32(16 * i + 8, count, true);
    v.setUint32(16 * i + 12, flags ?? 0, true);
  });
  return b;
}

/** A disk whose sector s is filled with byte (s + 1), so reads show exactly where they came from. */
function patternDisk(): MemoryBlockBackend {
  const d = new MemoryBlockBackend(DISK_SECTORS * 512);
  for (let s = 0; s < DISK_SECTORS; s++) d.data.fill(s + 1, s * 512, (s + 1) * 512);
  return d;
}

virtioDeviceCases('virtio-blk', {
  make: () => new VirtioBlock(patternDisk(), { cacheType: 'Writeback' }),
  request: () => ({ buffers: [{ data: header(BLK_T_IN, 1) }, { writable: 512 }, { writable: 1 }], usedLen: 513 }),
});

interface BlkRig extends Rig {
  disk: MemoryBlockBackend;
  blk: VirtioBlock;
  /** Submits a request; returns the status byte, the used len and the writable buffers' addresses. */
  req(buffers: BufferSpec[], indirect?: boolean): { status: number; len: number; addrs: number[] };
}

function blkRig(opts: BlockOptions = {}, disk: BlockBackend = patternDisk(), accept?: (f: bigint) => bigint): BlkRig {
  const blk = new VirtioBlock(disk, opts);
  const r = makeRig(blk, 4 << 20);
  r.driver.init(accept ? { accept } : {});
  return {
    ...r,
    disk: disk as MemoryBlockBackend,
    blk,
    req(buffers, indirect = false) {
      const { head, addrs } = r.driver.submit(0, buffers, { indirect });
      const used = r.driver.used(0);
      assert.equal(used.length, 1);
      assert.equal(used[0].id, head);
      const last = buffers.length - 1;
      const lastLen = buffers[last].data?.length ?? buffers[last].writable ?? 0;
      const status = used[0].len > 0 ? r.driver.peek(addrs[last] + lastLen - 1, 1)[0] : -1;
      return { status, len: used[0].len, addrs };
    },
  };
}

describe('virtio-blk requests', () => {
  it('reports capacity, seg_max and discard limits in the config space', () => {
    const r = blkRig();
    assert.equal(r.transport.read(0x100 + CFG_CAPACITY, 4), DISK_SECTORS);
    assert.equal(r.transport.read(0x100 + CFG_CAPACITY + 4, 4), 0);
    assert.equal(r.transport.read(0x100 + CFG_SEG_MAX, 4), 254);
    assert.equal(r.transport.read(0x100 + CFG_MAX_DISCARD_SEG, 4), 16);
    assert.equal(r.transport.read(0x100 + 0x1000, 4), 0, 'past the config space reads 0');
  });

  it('IN reads sectors into the guest, across buffers split at odd places', () => {
    const r = blkRig();
    const { status, len, addrs } = r.req([{ data: header(BLK_T_IN, 2) }, { writable: 100 }, { writable: 924 }, { writable: 1 }]);
    assert.equal(status, BLK_S_OK);
    assert.equal(len, 1025);
    const got = new Uint8Array([...r.driver.peek(addrs[1], 100), ...r.driver.peek(addrs[2], 924)]);
    assert.ok(got.subarray(0, 512).every((b) => b === 3));
    assert.ok(got.subarray(512).every((b) => b === 4));
    assert.equal(r.blk.metrics.readCount, 1);
    assert.equal(r.blk.metrics.readBytes, 1024);
  });

  it('IN with the status byte sharing the data buffer (no framing assumptions, §2.7.4)', () => {
    const r = blkRig();
    const { status, len, addrs } = r.req([{ data: header(BLK_T_IN, 5) }, { writable: 513 }], true);
    assert.equal(status, BLK_S_OK);
    assert.equal(len, 513);
    assert.ok(r.driver.peek(addrs[1], 512).every((b) => b === 6));
  });

  it('OUT writes guest data to the disk, header and data in one buffer', () => {
    const r = blkRig();
    const req = new Uint8Array(16 + 1024);
    req.set(header(BLK_T_OUT, 10));
    req.fill(0xab, 16);
    const { status, len } = r.req([{ data: req }, { writable: 1 }]);
    assert.equal(status, BLK_S_OK);
    assert.equal(len, 1);
    assert.ok(r.disk.data.subarray(10 * 512, 12 * 512).every((b) => b === 0xab));
    assert.equal(r.disk.data[12 * 512], 13, 'the next sector is untouched');
    assert.equal(r.disk.data[10 * 512 - 1], 10, 'the previous sector is untouched');
    assert.equal(r.blk.metrics.writeBytes, 1024);
  });

  it('IN and OUT past the end of the disk get IOERR and move no data', () => {
    const r = blkRig();
    const a = r.req([{ data: header(BLK_T_IN, DISK_SECTORS - 1) }, { writable: 1024 }, { writable: 1 }]);
    assert.equal(a.status, BLK_S_IOERR);
    assert.ok(r.driver.peek(a.addrs[1], 1024).every((b) => b === 0));
    const b = r.req([{ data: header(BLK_T_OUT, DISK_SECTORS) }, { data: new Uint8Array(512).fill(9) }, { writable: 1 }]);
    assert.equal(b.status, BLK_S_IOERR);
    const c = r.req([{ data: header(BLK_T_IN, 2 ** 60) }, { writable: 512 }, { writable: 1 }]);
    assert.equal(c.status, BLK_S_IOERR);
    const d = r.req([{ data: header(BLK_T_IN, 0xffff_ffff_0000) }, { writable: 512 }, { writable: 1 }]);
    assert.equal(d.status, BLK_S_IOERR);
    assert.equal(r.blk.metrics.invalidReqsCount, 4);
    assert.deepEqual(r.disk.data, patternDisk().data, 'the disk is unchanged');
  });

  it('IN and OUT with a length that is not a multiple of 512 get IOERR', () => {
    const r = blkRig();
    assert.equal(r.req([{ data: header(BLK_T_IN, 0) }, { writable: 100 }, { writable: 1 }]).status, BLK_S_IOERR);
    assert.equal(r.req([{ data: header(BLK_T_OUT, 0) }, { data: new Uint8Array(100) }, { writable: 1 }]).status, BLK_S_IOERR);
    assert.equal(r.disk.data[0], 1);
  });

  it('a header shorter than 16 bytes gets IOERR', () => {
    const r = blkRig();
    const { status, len } = r.req([{ data: new Uint8Array(8) }, { writable: 1 }]);
    assert.equal(status, BLK_S_IOERR);
    assert.equal(len, 1);
    assert.equal(r.blk.metrics.invalidReqsCount, 1);
  });

  it('a request with no device-writable byte for the status is returned with len 0', () => {
    const r = blkRig();
    const { len } = r.req([{ data: header(BLK_T_IN, 0) }, { data: new Uint8Array(512) }]);
    assert.equal(len, 0);
    assert.equal(r.blk.metrics.invalidReqsCount, 1);
  });

  it('a header placed in a device-writable buffer is not read: IOERR, nothing done', () => {
    const r = blkRig();
    const { status } = r.req([{ writable: 16 }, { writable: 1 }]);
    assert.equal(status, BLK_S_IOERR);
    assert.equal(r.blk.metrics.readCount + r.blk.metrics.writeCount, 0);
  });

  it('zero-fills unused writable bytes before the status so used len is honest', () => {
    const r = blkRig({ cacheType: 'Writeback' });
    const buf = r.driver.alloc(8);
    r.driver.poke(buf, new Uint8Array(8).fill(0xee));
    const { len, addrs } = r.req([{ data: header(BLK_T_FLUSH) }, { addr: buf, writable: 8 }]);
    assert.equal(len, 8);
    assert.deepEqual([...r.driver.peek(addrs[1], 8)], [0, 0, 0, 0, 0, 0, 0, BLK_S_OK]);
  });

  it('unknown request types get UNSUPP', () => {
    const r = blkRig();
    assert.equal(r.req([{ data: header(99) }, { writable: 1 }]).status, BLK_S_UNSUPP);
    assert.equal(r.blk.metrics.unsupportedReqs, 1);
  });

  it('GET_ID answers the drive id, zero padded to 20 bytes', () => {
    const r = blkRig({ id: 'rootfs' });
    const { status, len, addrs } = r.req([{ data: header(BLK_T_GET_ID) }, { writable: 20 }, { writable: 1 }]);
    assert.equal(status, BLK_S_OK);
    assert.equal(len, 21);
    const id = r.driver.peek(addrs[1], 20);
    assert.equal(new TextDecoder().decode(id.subarray(0, 6)), 'rootfs');
    assert.ok(id.subarray(6).every((b) => b === 0));
  });

  it('GET_ID truncates an id longer than 20 bytes without a NUL', () => {
    const r = blkRig({ id: 'a-very-long-drive-identifier' });
    const { addrs } = r.req([{ data: header(BLK_T_GET_ID) }, { writable: 20 }, { writable: 1 }]);
    assert.equal(new TextDecoder().decode(r.driver.peek(addrs[1], 20)), 'a-very-long-drive-id');
  });
});

describe('virtio-blk cache types, read-only drives, discard and write zeroes', () => {
  it('Unsafe offers no FLUSH; a FLUSH anyway gets UNSUPP and never reaches the backend', () => {
    const r = blkRig({ cacheType: 'Unsafe' });
    assert.equal(r.blk.availableFeatures & BLK_F_FLUSH, 0n);
    assert.equal(r.req([{ data: header(BLK_T_FLUSH) }, { writable: 1 }]).status, BLK_S_UNSUPP);
    assert.equal(r.disk.flushes, 0);
  });

  it('Writeback offers FLUSH and a FLUSH request flushes the backend', () => {
    const r = blkRig({ cacheType: 'Writeback' });
    assert.ok(r.blk.availableFeatures & BLK_F_FLUSH);
    assert.equal(r.req([{ data: header(BLK_T_FLUSH) }, { writable: 1 }]).status, BLK_S_OK);
    assert.equal(r.disk.flushes, 1);
    assert.equal(r.blk.metrics.flushCount, 1);
  });

  it('a read-only drive offers VIRTIO_BLK_F_RO, reads fine, and answers writes with IOERR and no data written', () => {
    const r = blkRig({ readOnly: true });
    assert.ok(r.blk.availableFeatures & BLK_F_RO);
    assert.equal(r.blk.availableFeatures & (BLK_F_DISCARD | BLK_F_WRITE_ZEROES), 0n);
    assert.equal(r.req([{ data: header(BLK_T_IN, 0) }, { writable: 512 }, { writable: 1 }]).status, BLK_S_OK);
    const w = r.req([{ data: header(BLK_T_OUT, 0) }, { data: new Uint8Array(512).fill(7) }, { writable: 1 }]);
    assert.equal(w.status, BLK_S_IOERR);
    assert.equal(r.disk.data[0], 1);
    assert.equal(r.req([{ data: header(BLK_T_WRITE_ZEROES) }, { data: dwz([[0, 1]]) }, { writable: 1 }]).status, BLK_S_IOERR);
    assert.equal(r.disk.data[0], 1);
    assert.equal(r.blk.metrics.roWriteFails, 1);
  });

  it('WRITE_ZEROES zeroes the ranges of every segment', () => {
    const r = blkRig();
    const { status } = r.req([{ data: header(BLK_T_WRITE_ZEROES) }, { data: dwz([[1, 2], [10, 1, 1]]) }, { writable: 1 }]);
    assert.equal(status, BLK_S_OK);
    assert.ok(r.disk.data.subarray(512, 3 * 512).every((b) => b === 0));
    assert.ok(r.disk.data.subarray(10 * 512, 11 * 512).every((b) => b === 0));
    assert.equal(r.disk.data[0], 1);
    assert.equal(r.disk.data[3 * 512], 4);
    assert.equal(r.disk.data[11 * 512], 12);
  });

  it('DISCARD reaches the backend; the unmap flag on a discard gets UNSUPP (§5.2.6.2)', () => {
    const r = blkRig();
    assert.equal(r.req([{ data: header(BLK_T_DISCARD) }, { data: dwz([[8, 8]]) }, { writable: 1 }]).status, BLK_S_OK);
    assert.equal(r.disk.discards, 1);
    assert.equal(r.req([{ data: header(BLK_T_DISCARD) }, { data: dwz([[8, 8, 1]]) }, { writable: 1 }]).status, BLK_S_UNSUPP);
    assert.equal(r.req([{ data: header(BLK_T_WRITE_ZEROES) }, { data: dwz([[8, 8, 2]]) }, { writable: 1 }]).status, BLK_S_UNSUPP);
    assert.equal(r.disk.discards, 1);
  });

  it('DISCARD / WRITE_ZEROES beyond capacity or malformed get IOERR and change nothing', () => {
    const r = blkRig();
    const before = r.disk.data.slice();
    for (const body of [dwz([[0, 1], [DISK_SECTORS - 1, 2]]), new Uint8Array(10), new Uint8Array(0), dwz(Array(17).fill([0, 1]))]) {
      assert.equal(r.req([{ data: header(BLK_T_WRITE_ZEROES) }, ...(body.length ? [{ data: body }] : []), { writable: 1 }]).status, BLK_S_IOERR);
    }
    assert.deepEqual(r.disk.data, before);
  });

  it('DISCARD and WRITE_ZEROES not negotiated get UNSUPP', () => {
    const r = blkRig({}, patternDisk(), (f) => f & ~(BLK_F_DISCARD | BLK_F_WRITE_ZEROES));
    assert.equal(r.req([{ data: header(BLK_T_WRITE_ZEROES) }, { data: dwz([[0, 1]]) }, { writable: 1 }]).status, BLK_S_UNSUPP);
    assert.equal(r.disk.data[0], 1);
  });

  it('a backend error becomes IOERR and is counted', () => {
    const failing: BlockBackend = {
      size: () => 4096,
      read() {
        throw new Error('EIO');
      },
      write() {
        throw new Error('EIO');
      },
      flush() {
        throw new Error('EIO');
      },
      discard() {},
      writeZeroes() {},
    };
    const r = blkRig({ cacheType: 'Writeback' }, failing);
    assert.equal(r.req([{ data: header(BLK_T_IN, 0) }, { writable: 512 }, { writable: 1 }]).status, BLK_S_IOERR);
    assert.equal(r.req([{ data: header(BLK_T_OUT, 0) }, { data: new Uint8Array(512) }, { writable: 1 }]).status, BLK_S_IOERR);
    assert.equal(r.req([{ data: header(BLK_T_FLUSH) }, { writable: 1 }]).status, BLK_S_IOERR);
    assert.equal(r.blk.metrics.executeFails, 3);
  });

  it('a backend swap updates the capacity and raises a config-change interrupt', () => {
    const r = blkRig();
    r.driver.ackInterrupts();
    const gen = r.driver.read(S.MMIO_CONFIG_GENERATION);
    r.blk.updateBackend(new MemoryBlockBackend(128 * 512 + 100));
    assert.equal(r.transport.read(0x100 + CFG_CAPACITY, 4), 128);
    assert.equal(r.driver.read(S.MMIO_CONFIG_GENERATION), gen + 1);
    assert.equal(r.driver.read(S.MMIO_INTERRUPT_STATUS), S.INT_CONFIG_CHANGE);
    assert.equal(r.req([{ data: header(BLK_T_IN, 127) }, { writable: 512 }, { writable: 1 }]).status, BLK_S_OK);
  });
});

describe('virtio-blk rate limiting', () => {
  function limited(cfg: RateLimiterConfig) {
    const clock = new ManualClock();
    const limiter = new RateLimiter(clock, cfg);
    const r = blkRig({ rateLimiter: limiter });
    /** Submits a one-sector read of `sector`; returns its head and data address. */
    const read = (sector: number) => {
      const { head, addrs } = r.driver.submit(0, [{ data: header(BLK_T_IN, sector) }, { writable: 512 }, { writable: 1 }]);
      return { head, data: addrs[1], status: addrs[2] };
    };
    return { r, clock, limiter, read };
  }

  it('without a limiter, the device never asks to be retried', () => {
    const r = blkRig();
    assert.equal(r.blk.retryDelayMs(), Infinity);
    assert.equal(r.req([{ data: header(BLK_T_IN, 0) }, { writable: 512 }, { writable: 1 }]).status, BLK_S_OK);
    assert.equal(r.blk.retryDelayMs(), Infinity);
  });

  it('holds requests past the ops budget in the avail ring and completes them, in order, once time passes', () => {
    const { r, clock, read } = limited({ ops: { size: 2, refill_time: 1000 } });
    const reqs = [0, 1, 2, 3, 4].map((s) => read(s));
    // Two ops in the bucket: two requests done, the third held, nothing failed.
    assert.deepEqual(r.driver.used(0).map((u) => u.id), [reqs[0].head, reqs[1].head]);
    // Each of the last three kicks found the limiter blocked: one throttled event each.
    assert.equal(r.blk.metrics.rateLimiterThrottledEvents, 3);
    assert.equal(r.transport.queues[0].pending(), 3, 'held requests are still available, not popped');
    assert.equal(r.blk.retryDelayMs(), 500);
    r.blk.retry(); // too early: the limiter still refuses, and nothing is lost
    assert.deepEqual(r.driver.used(0), []);
    clock.advance(500);
    assert.equal(r.blk.retryDelayMs(), 0);
    r.blk.retry();
    assert.deepEqual(r.driver.used(0).map((u) => u.id), [reqs[2].head]);
    clock.advance(1000);
    r.blk.retry();
    assert.deepEqual(r.driver.used(0).map((u) => u.id), [reqs[3].head, reqs[4].head]);
    assert.equal(r.blk.retryDelayMs(), Infinity, 'nothing held back any more');
    // Every request read the right sector and succeeded.
    for (const [i, q] of reqs.entries()) {
      assert.ok(r.driver.peek(q.data, 512).every((b) => b === i + 1), `request ${i} data`);
      assert.equal(r.driver.peek(q.status, 1)[0], BLK_S_OK);
    }
    assert.equal(r.blk.metrics.readCount, 5);
    assert.ok(r.blk.metrics.rateLimiterEvents >= 2);
  });

  it('charges IN and OUT their data bytes against the bandwidth bucket', () => {
    const { r, clock, read } = limited({ bandwidth: { size: 1024, refill_time: 100 } });
    const a = read(0);
    const b = read(1);
    const c = read(2);
    assert.deepEqual(r.driver.used(0).map((u) => u.id), [a.head, b.head]);
    assert.equal(r.blk.retryDelayMs(), 50, '512 bytes of a 1024-per-100 ms bucket');
    clock.advance(50);
    r.blk.retry();
    assert.deepEqual(r.driver.used(0).map((u) => u.id), [c.head]);
    // An OUT of 1024 bytes needs a full bucket again.
    const out = r.driver.submit(0, [{ data: header(BLK_T_OUT, 10) }, { data: new Uint8Array(1024).fill(0xab) }, { writable: 1 }]);
    assert.deepEqual(r.driver.used(0), []);
    assert.equal(r.disk.data[10 * 512], 11, 'the held write has not touched the disk');
    clock.advance(r.blk.retryDelayMs());
    r.blk.retry();
    assert.deepEqual(r.driver.used(0).map((u) => u.id), [out.head]);
    assert.ok(r.disk.data.subarray(10 * 512, 12 * 512).every((x) => x === 0xab));
  });

  it('a request larger than the bandwidth bucket goes through, then the device waits the excess out', () => {
    const { r, clock, read } = limited({ bandwidth: { size: 256, refill_time: 100 } });
    const a = read(0); // 512 bytes: twice the bucket
    const b = read(1);
    assert.deepEqual(r.driver.used(0).map((u) => u.id), [a.head]);
    assert.equal(r.blk.retryDelayMs(), 100, '256 bytes over, at 256 per 100 ms');
    clock.advance(100);
    r.blk.retry();
    // The bucket refilled to 256 while blocked; 512 is again oversized and goes through.
    assert.deepEqual(r.driver.used(0).map((u) => u.id), [b.head]);
  });

  it('malformed requests are answered at once and cost nothing', () => {
    const { r } = limited({ ops: { size: 1, refill_time: 1000 } });
    const bad = r.driver.submit(0, [{ data: new Uint8Array(4) }, { writable: 1 }]); // header too short
    assert.deepEqual(r.driver.used(0).map((u) => u.id), [bad.head]);
    assert.equal(r.blk.metrics.rateLimiterThrottledEvents, 0);
    assert.equal(r.req([{ data: header(BLK_T_GET_ID) }, { writable: 20 }, { writable: 1 }]).status, BLK_S_OK);
  });

  it('an update of the limiter at run time lets held requests through on the next retry', () => {
    const { r, limiter, read } = limited({ ops: { size: 1, refill_time: 60_000 } });
    read(0);
    const held = read(1);
    r.driver.used(0);
    assert.ok(r.blk.retryDelayMs() > 1000);
    limiter.update({ ops: { size: 0, refill_time: 0 } });
    assert.equal(r.blk.retryDelayMs(), 0);
    r.blk.retry();
    assert.deepEqual(r.driver.used(0).map((u) => u.id), [held.head]);
  });

  it('a device reset forgets that it was throttled', () => {
    const { r, read } = limited({ ops: { size: 1, refill_time: 1000 } });
    read(0);
    read(1);
    assert.notEqual(r.blk.retryDelayMs(), Infinity);
    r.driver.setStatus(0);
    assert.equal(r.blk.retryDelayMs(), Infinity);
    r.blk.retry(); // harmless on a reset device
  });
});
