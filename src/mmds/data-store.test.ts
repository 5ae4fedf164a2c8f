import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MmdsDataStore } from './data-store.js';
import { fromPlain, stringify } from './json-value.js';

const data = fromPlain({ latest: { 'meta-data': { 'ami-id': 'ami-87654321', 'reservation-id': 'r-79054aef', n: 5 } }, list: ['a'] });

describe('MmdsDataStore', () => {
  it('answers JSON or IMDS text by path (trailing "/" ignored)', () => {
    const s = new MmdsDataStore();
    s.put(data);
    assert.equal(s.get('/latest', 'imds'), 'meta-data/');
    assert.equal(s.get('/latest/meta-data/', 'imds'), 'ami-id\nn\nreservation-id');
    assert.equal(s.get('/latest/meta-data/ami-id', 'imds'), 'ami-87654321');
    assert.equal(s.get('/latest/meta-data', 'json'), '{"ami-id":"ami-87654321","n":5,"reservation-id":"r-79054aef"}');
    assert.equal(s.get('/latest/meta-data/ami-id', 'json'), '"ami-87654321"');
    assert.throws(() => s.get('/latest/meta-data/n', 'imds'), /unsupported type/);
    assert.throws(() => s.get('/list', 'imds'), /unsupported type/);
    assert.throws(() => s.get('/nope', 'json'), (e: Error & { code?: string }) => e.code === 'not-found');
    s.imdsCompat = true;
    assert.equal(s.get('/latest/meta-data/ami-id', 'json'), 'ami-87654321');
  });

  it('refuses a PATCH before any PUT, and writes past the limit, changing nothing', () => {
    const s = new MmdsDataStore(60);
    assert.throws(() => s.patch(fromPlain({ a: 1 })), /not initialized/);
    s.put(fromPlain({ a: 'x'.repeat(50) }));
    assert.throws(() => s.put(fromPlain({ a: 'x'.repeat(60) })), /doesn't fit/);
    assert.throws(() => s.patch(fromPlain({ b: 'y'.repeat(20) })), /doesn't fit/);
    assert.equal(stringify(s.value), `{"a":"${'x'.repeat(50)}"}`);
    s.patch(fromPlain({ a: null, b: 'y' }));
    assert.equal(stringify(s.value), '{"b":"y"}');
  });

  it('counts the limit in UTF-8 bytes of the compact JSON', () => {
    const s = new MmdsDataStore(10);
    s.put(fromPlain({ a: 'é' }));
    assert.throws(() => s.put(fromPlain({ a: 'ééé' })), /doesn't fit/);
  });
});
