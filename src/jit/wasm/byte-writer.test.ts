import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ByteWriter } from './byte-writer.js';

// Reference encoders written straight from §5.2.2 with BigInt, independent of the fast paths.
function refSigned(v: bigint): number[] {
  const out: number[] = [];
  for (;;) {
    const b = Number(v & 0x7fn);
    v >>= 7n;
    if ((v === 0n && !(b & 0x40)) || (v === -1n && b & 0x40)) return [...out, b];
    out.push(b | 0x80);
  }
}
function refUnsigned(v: bigint): number[] {
  const out: number[] = [];
  do {
    const b = Number(v & 0x7fn);
    v >>= 7n;
    out.push(v ? b | 0x80 : b);
  } while (v);
  return out;
}
const bytesOf = (fill: (w: ByteWriter) => void): number[] => {
  const w = new ByteWriter(16);
  fill(w);
  return [...w.toBytes()];
};

const S64_EDGES = [0n, 1n, -1n, 63n, 64n, -64n, -65n, 127n, 128n, 2n ** 31n - 1n, 2n ** 31n, -(2n ** 31n), -(2n ** 31n) - 1n,
  2n ** 32n - 1n, 2n ** 32n, -(2n ** 32n), 2n ** 53n, -(2n ** 53n), 2n ** 63n - 1n, -(2n ** 63n), 0x1234_5678_9abc_def0n, -0x0123_4567_89ab_cdefn];

test('u32 LEB128 matches the reference at the edges', () => {
  for (const v of [0, 1, 127, 128, 16383, 16384, 2 ** 31, 2 ** 32 - 1]) {
    assert.deepEqual(bytesOf((w) => w.u32(v)), refUnsigned(BigInt(v)), `u32 ${v}`);
  }
  assert.deepEqual(bytesOf((w) => w.u32(2 ** 32 - 1)), [0xff, 0xff, 0xff, 0xff, 0x0f]);
});

test('s32 LEB128 matches the reference at the edges', () => {
  for (const v of [0, 1, -1, 63, 64, -64, -65, 8191, -8192, 2 ** 31 - 1, -(2 ** 31)]) {
    assert.deepEqual(bytesOf((w) => w.s32(v)), refSigned(BigInt(v)), `s32 ${v}`);
  }
  assert.deepEqual(bytesOf((w) => w.s32(-1)), [0x7f]);
  assert.deepEqual(bytesOf((w) => w.s32(-(2 ** 31))), [0x80, 0x80, 0x80, 0x80, 0x78]);
});

test('s64 LEB128 from an int32 pair matches the reference, including ±2^63 and 2^32', () => {
  for (const v of S64_EDGES) {
    const lo = Number(BigInt.asIntN(32, v));
    const hi = Number(BigInt.asIntN(32, v >> 32n));
    assert.deepEqual(bytesOf((w) => w.s64(lo, hi)), refSigned(BigInt.asIntN(64, v)), `s64 ${v}`);
  }
  assert.equal(bytesOf((w) => w.s64(0, 0x8000_0000)).length, 10, '-2^63 takes ten bytes');
});

test('a padded u32 slot patches to a value that decodes the same', () => {
  const w = new ByteWriter(16);
  const at = w.reserveU32();
  w.patchU32(at, 300);
  assert.deepEqual([...w.toBytes()], [0xac, 0x82, 0x80, 0x80, 0x00]);
});

test('the buffer grows past its initial capacity and keeps earlier bytes', () => {
  const w = new ByteWriter(16);
  for (let i = 0; i < 1000; i++) w.u8(i & 0xff);
  w.bytes(new Uint8Array(5000).fill(7));
  const out = w.toBytes();
  assert.equal(out.length, 6000);
  assert.equal(out[999], 999 & 0xff);
  assert.equal(out[5999], 7);
  w.reset();
  assert.equal(w.view().length, 0);
});

test('names are length-prefixed UTF-8, ASCII and not', () => {
  assert.deepEqual(bytesOf((w) => w.name('env')), [3, 0x65, 0x6e, 0x76]);
  assert.deepEqual(bytesOf((w) => w.name('é')), [2, 0xc3, 0xa9]);
});

test('floats are little-endian IEEE, raw bits kept exactly', () => {
  assert.deepEqual(bytesOf((w) => w.f32(1.5)), [0, 0, 0xc0, 0x3f]);
  assert.deepEqual(bytesOf((w) => w.f64(-2)), [0, 0, 0, 0, 0, 0, 0, 0xc0]);
  assert.deepEqual(bytesOf((w) => w.f32Bits(0x7fa0_0001)), [0x01, 0x00, 0xa0, 0x7f]);
  assert.deepEqual(bytesOf((w) => w.f64Bits(1, 0x7ff0_0000)), [1, 0, 0, 0, 0, 0, 0xf0, 0x7f]);
});
