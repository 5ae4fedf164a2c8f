import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { FileBlockBackend, FileBlockError, type FileIo } from './file-block-backend.js';
import { VirtioBlock, BLK_T_FLUSH, BLK_T_OUT, BLK_S_OK } from '../../devices/virtio/block/block.js';
import { makeRig } from '../../devices/virtio/virtio-device.case.js';

const dir = fs.mkdtempSync(join(tmpdir(), 'wisp-fbb-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

function image(name: string, bytes: Uint8Array): string {
  const p = join(dir, name);
  fs.writeFileSync(p, bytes);
  return p;
}

/** node:fs with every call counted, to see that a flush really reaches fsync. */
function spyFs(): FileIo & { fsyncs: number } {
  const io = {
    fsyncs: 0,
    openSync: (p: string, f: string) => fs.openSync(p, f),
    closeSync: (fd: number) => fs.closeSync(fd),
    fstatSync: (fd: number) => fs.fstatSync(fd),
    readSync: (fd: number, b: Uint8Array, o: number, l: number, pos: number) => fs.readSync(fd, b, o, l, pos),
    writeSync: (fd: number, b: Uint8Array, o: number, l: number, pos: number) => fs.writeSync(fd, b, o, l, pos),
    fsyncSync(fd: number) {
      io.fsyncs++;
      fs.fsyncSync(fd);
    },
  };
  return io;
}

describe('FileBlockBackend', () => {
  it('reads and writes at byte offsets, and the writes reach the file', () => {
    const p = image('rw.img', new Uint8Array(4096).fill(1));
    const b = FileBlockBackend.open(p);
    assert.equal(b.size(), 4096);
    b.write(1000, new Uint8Array([7, 8, 9]));
    const got = new Uint8Array(5);
    b.read(999, got);
    assert.deepEqual([...got], [1, 7, 8, 9, 1]);
    b.close();
    const onDisk = fs.readFileSync(p);
    assert.deepEqual([...onDisk.subarray(1000, 1003)], [7, 8, 9]);
  });

  it('writeZeroes zeroes a range larger than its chunk', () => {
    const p = image('wz.img', new Uint8Array(200 * 1024).fill(5));
    const b = FileBlockBackend.open(p);
    b.writeZeroes(1024, 150 * 1024);
    b.close();
    const d = fs.readFileSync(p);
    assert.equal(d[1023], 5);
    assert.ok(d.subarray(1024, 151 * 1024).every((x) => x === 0));
    assert.equal(d[151 * 1024], 5);
  });

  it('reads past the end of a file truncated after open as zeroes', () => {
    const p = image('short.img', new Uint8Array(1024).fill(3));
    const b = FileBlockBackend.open(p);
    fs.truncateSync(p, 512);
    const got = new Uint8Array(1024).fill(0xff);
    b.read(0, got);
    assert.ok(got.subarray(0, 512).every((x) => x === 3));
    assert.ok(got.subarray(512).every((x) => x === 0));
    b.close();
  });

  it('opens read-only and then refuses writes', () => {
    const p = image('ro.img', new Uint8Array(512));
    fs.chmodSync(p, 0o444);
    const b = FileBlockBackend.open(p, { readOnly: true });
    assert.throws(() => b.write(0, new Uint8Array(1)), (e) => e instanceof FileBlockError && e.code === 'read-only');
    b.close();
  });

  it('names the file and the reason when it cannot open it', () => {
    assert.throws(
      () => FileBlockBackend.open(join(dir, 'missing.img')),
      (e) => e instanceof FileBlockError && e.code === 'open-failed' && /missing\.img.*ENOENT/.test(e.message),
    );
    assert.throws(() => FileBlockBackend.open(dir), (e) => e instanceof FileBlockError);
  });

  it('behind virtio-blk with the Writeback cache: guest writes land in the file and FLUSH fsyncs it', () => {
    const p = image('guest.img', new Uint8Array(8 * 512));
    const io = spyFs();
    const backend = FileBlockBackend.open(p, { io });
    const r = makeRig(new VirtioBlock(backend, { cacheType: 'Writeback' }));
    r.driver.init();
    const hdr = new Uint8Array(16);
    new DataView(hdr.buffer).setUint32(0, BLK_T_OUT, true);
    new DataView(hdr.buffer).setUint32(8, 3, true);
    const { addrs } = r.driver.submit(0, [{ data: hdr }, { data: new Uint8Array(512).fill(0x5a) }, { writable: 1 }]);
    assert.equal(r.driver.peek(addrs[2], 1)[0], BLK_S_OK);
    assert.equal(io.fsyncs, 0);
    const flush = new Uint8Array(16);
    new DataView(flush.buffer).setUint32(0, BLK_T_FLUSH, true);
    const f = r.driver.submit(0, [{ data: flush }, { writable: 1 }]);
    assert.equal(r.driver.peek(f.addrs[1], 1)[0], BLK_S_OK);
    assert.equal(io.fsyncs, 1);
    backend.close();
    const d = fs.readFileSync(p);
    assert.ok(d.subarray(3 * 512, 4 * 512).every((x) => x === 0x5a));
    assert.ok(d.subarray(0, 3 * 512).every((x) => x === 0));
  });
});
