import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatF64, fromPlain, jsonNumber, mergePatch, pointer, stringify } from './json-value.js';

describe('MMDS JSON values (serde_json behaviour)', () => {
  it('writes objects with sorted keys and no spaces', () => {
    assert.equal(stringify(fromPlain({ name: { second: 'Doe', first: 'John' }, age: 43, phones: [1, 'x', null, true] })), '{"age":43,"name":{"first":"John","second":"Doe"},"phones":[1,"x",null,true]}');
  });

  it('keeps 64-bit integers exact and prints other numbers as f64, the way ryu does', () => {
    assert.equal(jsonNumber('18446744073709551615').num, '18446744073709551615');
    assert.equal(jsonNumber('-9223372036854775808').num, '-9223372036854775808');
    assert.equal(jsonNumber('18446744073709551616').num, '1.8446744073709552e19');
    assert.equal(jsonNumber('-0').num, '0');
    for (const [raw, out] of [['1.0', '1.0'], ['1e2', '100.0'], ['0.5', '0.5'], ['1e21', '1e21'], ['1.5e-7', '1.5e-7'], ['0.0001', '0.0001'], ['1e16', '1e16'], ['1234567890123456.7', '1234567890123456.8'], ['-2.5E3', '-2500.0'], ['0.00001', '0.00001'], ['0.000001', '1e-6']] as const) {
      assert.equal(jsonNumber(raw).num, out, raw);
    }
    assert.equal(formatF64(-0), '-0.0');
  });

  it('merges patches as RFC 7396 says', () => {
    const doc = fromPlain({ a: 'b', c: { d: 'e', f: 'g' } });
    const out = mergePatch(doc, fromPlain({ a: 'z', c: { f: null } }));
    assert.equal(stringify(out), '{"a":"z","c":{"d":"e"}}');
    assert.equal(stringify(mergePatch(fromPlain(['x']), fromPlain({ k: 1 }))), '{"k":1}');
    assert.equal(stringify(mergePatch(fromPlain({ k: 1 }), fromPlain('s'))), '"s"');
  });

  it('looks values up by JSON pointer, with escapes and array indexes', () => {
    const doc = fromPlain({ 'a/b': { 'm~n': [10, 20] }, '': 5 });
    assert.equal(stringify(pointer(doc, '/a~1b/m~0n/1')!), '20');
    assert.equal(stringify(pointer(doc, '/')!), '5');
    assert.equal(pointer(doc, '/a~1b/m~0n/01'), undefined);
    assert.equal(pointer(doc, '/a~1b/m~0n/2'), undefined);
    assert.equal(pointer(doc, 'x'), undefined);
    assert.equal(stringify(pointer(doc, '')!), stringify(doc));
  });
});
