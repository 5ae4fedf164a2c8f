import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { decodeStateFile, encodeStateFile, MAX_BODY_BYTES, readStateFile, SnapshotFileError, writeStateFile } from './snapshot-file.js';

const dir = mkdtempSync(join(tmpdir(), 'wisp-state-file-'));
const BODY = { snapshot_type: 'Full', machine: { harts: [{ pc: '0x80200000', x: ['0x0', '0xffffffffffffffff'] }] }, text: 'héllo' };

function refusal(bytes: Uint8Array): SnapshotFileError {
  try {
    decodeStateFile(bytes, 'vm.state');
  } catch (e) {
    assert.ok(e instanceof SnapshotFileError, String(e));
    return e;
  }
  assert.fail('the state file was accepted');
}

test('a state file round-trips its body through a file', () => {
  const path = join(dir, 'ok.state');
  writeStateFile(path, BODY);
  const f = readStateFile(path);
  assert.deepEqual(f.body, BODY);
  assert.deepEqual([f.major, f.minor], [1, 0]);
  assert.equal(readFileSync(path).subarray(0, 8).toString('latin1'), 'WISPSNAP');
});

test('every truncation is refused as truncated', () => {
  const good = encodeStateFile(BODY);
  for (const len of [0, 3, 8, 20, 24, 30, good.length - 33, good.length - 1]) {
    const e = refusal(good.subarray(0, len));
    assert.equal(e.code, 'truncated', `length ${len}: ${e.message}`);
  }
});

test('one flipped byte anywhere is refused, never decoded', () => {
  const good = encodeStateFile(BODY);
  for (let at = 0; at < good.length; at++) {
    const bad = Uint8Array.from(good);
    bad[at] ^= 0x20;
    const e = refusal(bad);
    // Header fields get their own words; the body and the checksum are caught by the checksum.
    const expected = at < 8 ? 'not-a-snapshot' : at < 12 ? 'unsupported-version' : at >= 16 && at < 24 ? /truncated|too-large|corrupted/ : 'corrupted';
    if (typeof expected === 'string') assert.equal(e.code, expected, `byte ${at}: ${e.message}`);
    else assert.match(e.code, expected, `byte ${at}: ${e.message}`);
  }
});

test('a file from another format version is refused by its version, even with a valid checksum', () => {
  const good = Buffer.from(encodeStateFile(BODY));
  for (const [major, minor] of [[2, 0], [0, 9], [1, 1]]) {
    const b = Buffer.from(good);
    b.writeUInt16LE(major, 8);
    b.writeUInt16LE(minor, 10);
    const e = refusal(b);
    assert.equal(e.code, 'unsupported-version');
    assert.match(e.message, new RegExp(`format version ${major}\\.${minor}; this wisp reads version 1\\.0 to 1\\.0`));
  }
});

test('trailing bytes, absurd lengths and non-JSON bodies are refused', () => {
  const good = Buffer.from(encodeStateFile(BODY));
  assert.equal(refusal(Buffer.concat([good, Buffer.from([0])])).code, 'corrupted');
  const huge = Buffer.from(good);
  huge.writeBigUInt64LE(BigInt(MAX_BODY_BYTES + 1), 16);
  assert.equal(refusal(huge).code, 'too-large');
  assert.equal(refusal(Buffer.from('not a snapshot at all, just text')).code, 'not-a-snapshot');
  const path = join(dir, 'big.state');
  writeFileSync(path, Buffer.alloc(MAX_BODY_BYTES + 100));
  assert.throws(() => readStateFile(path), (e: unknown) => e instanceof SnapshotFileError && e.code === 'too-large');
  assert.throws(() => readStateFile(join(dir, 'missing.state')), (e: unknown) => e instanceof SnapshotFileError && e.code === 'open-failed' && /No such file or directory \(os error 2\)/.test(e.message));
  assert.throws(() => readStateFile(dir), (e: unknown) => e instanceof SnapshotFileError && /not a regular file/.test(e.message));
});
