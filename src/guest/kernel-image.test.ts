import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { detectKernelFormat, rawImageFrom, riscvImageHeader } from './kernel-image.js';

/** A fake RISC-V Image header (boot-image-header.rst) with an EFI stub, as Debian's starts. */
function fakeImage(size = 4096): Buffer {
  const b = Buffer.alloc(size);
  b.write('MZ', 0, 'latin1');
  b.writeBigUInt64LE(0x200000n, 0x08); // text_offset
  b.writeBigUInt64LE(0x1e6c000n, 0x10); // image_size
  b.writeUInt32LE(0x2, 0x20); // version 0.2
  b.write('RISCV\0\0\0', 0x30, 'latin1');
  b.write('RSC\x05', 0x38, 'latin1');
  return b;
}

/** An EFI zboot wrapper (zboot-header.S) around a gzip'd payload. */
function fakeZboot(payload: Buffer, comp = 'gzip'): Buffer {
  const gz = gzipSync(payload);
  const b = Buffer.alloc(512 + gz.length);
  b.write('MZ', 0, 'latin1');
  b.write('zimg', 4, 'latin1');
  b.writeUInt32LE(512, 8);
  b.writeUInt32LE(gz.length, 12);
  b.write(comp + '\0', 24, 'latin1');
  gz.copy(b, 512);
  return b;
}

test('a raw Image is recognised by "RSC\\x05" at 0x38 and its header read', () => {
  const img = fakeImage();
  assert.equal(detectKernelFormat(img), 'riscv-image');
  const h = riscvImageHeader(img)!;
  assert.equal(h.textOffset, 0x200000n);
  assert.equal(h.imageSize, 0x1e6c000n);
  assert.equal(h.efiStub, true);
  assert.equal(h.version, 2);
});

test('gzip, zboot, ELF and junk are told apart', () => {
  assert.equal(detectKernelFormat(gzipSync(fakeImage())), 'gzip');
  assert.equal(detectKernelFormat(fakeZboot(fakeImage())), 'efi-zboot');
  assert.equal(detectKernelFormat(Buffer.from('\x7fELF\x02\x01\x01', 'latin1')), 'elf');
  assert.equal(detectKernelFormat(Buffer.alloc(100)), 'unknown');
  assert.equal(detectKernelFormat(Buffer.alloc(0)), 'unknown');
  assert.equal(riscvImageHeader(Buffer.alloc(100)), undefined);
});

test('rawImageFrom unpacks gzip and zboot-gzip to the same Image, and passes a raw one through', async () => {
  const img = fakeImage(10000);
  assert.equal(await rawImageFrom(img, 'k'), img);
  assert.deepEqual(await rawImageFrom(gzipSync(img), 'k'), img);
  assert.deepEqual(await rawImageFrom(fakeZboot(img), 'k'), img);
});

test('rawImageFrom refuses what it cannot turn into an Image, naming the file', async () => {
  await assert.rejects(rawImageFrom(Buffer.from('\x7fELF\x02\x01\x01\0', 'latin1'), 'vmlinux'), /Kernel vmlinux is an ELF file/);
  await assert.rejects(rawImageFrom(gzipSync(Buffer.from('not a kernel')), 'k.gz'), /k.gz: the decompressed gzip payload is not a RISC-V Image/);
  await assert.rejects(rawImageFrom(fakeZboot(fakeImage(), 'lz4'), 'z'), /zboot compression "lz4" is not supported/);
  const z = fakeZboot(fakeImage());
  z.writeUInt32LE(0xfffffff0, 12);
  await assert.rejects(rawImageFrom(z, 'z'), /payload .* lies outside the file/);
  const bad = Buffer.concat([Buffer.from([0x1f, 0x8b]), Buffer.alloc(30)]);
  await assert.rejects(rawImageFrom(bad, 'b'), /Kernel b: gzip data is corrupt/);
});
