import assert from 'node:assert/strict';
import { it } from 'node:test';
import { HostEntropySource } from './host-entropy-source.js';

it('HostEntropySource fills the whole buffer, differently each time', () => {
  const s = new HostEntropySource();
  const a = new Uint8Array(64);
  const b = new Uint8Array(64);
  s.fill(a);
  s.fill(b);
  // 2^-512 chance of a false failure: two 64-byte draws from a CSPRNG are never equal, nor all zero.
  assert.notDeepEqual(a, b);
  assert.ok(a.some((x) => x !== 0));
});
