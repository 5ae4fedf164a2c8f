import assert from 'node:assert/strict';
import { test } from 'node:test';
import { YamlSubsetError, parseYamlSubset } from './yaml-subset.js';

test('the subset: nested maps, sequences at the key\'s indent, "- k: v" items, scalars, flow lists, folded text', () => {
  const doc = parseYamlSubset(`
# comment
a:
  b: 1
  c: "q: #x"
  d: [Error, "Two", 3]
  list:
  - name: x
    in: body
  - plain
  text: >-
    folded
    lines
  multi: first
    second
  flag: true
`);
  assert.deepEqual(doc, {
    a: { b: 1, c: 'q: #x', d: ['Error', 'Two', 3], list: [{ name: 'x', in: 'body' }, 'plain'], text: 'folded lines', multi: 'first second', flag: true },
  });
  assert.throws(() => parseYamlSubset('a: {b: 1}'), YamlSubsetError);
});
