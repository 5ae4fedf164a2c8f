import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadFirecrackerSpec, validate } from './firecracker-spec.js';
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

test('Firecracker\'s spec reads completely, and the validator catches what it should', () => {
  const spec = loadFirecrackerSpec();
  assert.equal(Object.keys(spec.paths).length, 26);
  assert.ok(spec.paths['/drives/{drive_id}']?.['put']);
  const drive = { $ref: '#/definitions/Drive' };
  assert.deepEqual(validate(spec, { drive_id: 'a', is_root_device: true, cache_type: 'Unsafe' }, drive, false), []);
  assert.deepEqual(validate(spec, { drive_id: 'a', is_root_device: true, cache_type: 'Fast' }, drive, false), ['$.cache_type: "Fast" is not one of ["Unsafe","Writeback"]']);
  assert.deepEqual(validate(spec, { vcpu_count: 33, mem_size_mib: 1 }, { $ref: '#/definitions/MachineConfiguration' }, false), ['$.vcpu_count: above maximum 32']);
  assert.deepEqual(validate(spec, { fault_message: 'x', extra: 1 }, { $ref: '#/definitions/Error' }, true), ['$: property extra is not in the schema']);
  const hp = spec.definitions['MachineConfiguration']!['properties'] as Record<string, Record<string, unknown>>;
  assert.deepEqual(hp['huge_pages']!['enum'], ['None', 'Transparent', '2M']);
  assert.match(String(hp['huge_pages']!['description']), /^Which huge pages configuration .* explicit hugetlbfs 2MB pages\.$/);
});
