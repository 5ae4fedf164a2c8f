/**
 * wisp's API description (src/api/wisp-api.yaml): it reads completely, every $ref resolves, the
 * validator the API tests use catches what it should; and, where Firecracker's firecracker-api.yaml is
 * beside the clone, every path and schema the two share agree (compareWithFirecracker).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareWithFirecracker, loadApiSpec, loadFirecrackerReference, validate, type ApiSpec } from './api-spec.js';

function refs(v: unknown, out: string[] = []): string[] {
  if (Array.isArray(v)) v.forEach((x) => refs(x, out));
  else if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      if (k === '$ref' && typeof x === 'string') out.push(x);
      else refs(x, out);
    }
  }
  return out;
}

test("wisp's API description reads completely, its $refs resolve, and the validator catches what it should", () => {
  const spec = loadApiSpec();
  assert.ok(spec.paths['/drives/{drive_id}']?.['put']);
  assert.ok(spec.paths['/vm/config']?.['get']);
  for (const r of refs(spec)) {
    assert.match(r, /^#\/definitions\/[A-Za-z]+$/, r);
    assert.ok(spec.definitions[r.slice('#/definitions/'.length)], `${r} resolves`);
  }
  const drive = { $ref: '#/definitions/Drive' };
  assert.deepEqual(validate(spec, { drive_id: 'a', is_root_device: true, cache_type: 'Unsafe' }, drive, false), []);
  assert.deepEqual(validate(spec, { drive_id: 'a', is_root_device: true, cache_type: 'Fast' }, drive, false), ['$.cache_type: "Fast" is not one of ["Unsafe","Writeback"]']);
  assert.deepEqual(validate(spec, { vcpu_count: 33, mem_size_mib: 1 }, { $ref: '#/definitions/MachineConfiguration' }, false), ['$.vcpu_count: above maximum 32']);
  assert.deepEqual(validate(spec, { fault_message: 'x', extra: 1 }, { $ref: '#/definitions/Error' }, true), ['$: property extra is not in the schema']);
  const hp = spec.definitions['MachineConfiguration']!['properties'] as Record<string, Record<string, unknown>>;
  assert.deepEqual(hp['huge_pages']!['enum'], ['None', 'Transparent', '2M']);
});

test("every path and schema wisp's description shares with Firecracker's agree", (t) => {
  const ref = loadFirecrackerReference();
  if ('missing' in ref) {
    t.skip(`Firecracker's firecracker-api.yaml is not at ${ref.missing} (set WISP_FIRECRACKER_API_YAML to compare)`);
    return;
  }
  assert.ok(Object.keys(ref.spec.paths).length >= 20, `${ref.path} reads as a whole API`);
  assert.deepEqual(compareWithFirecracker(loadApiSpec(), ref.spec), []);
});

test('the comparison finds each kind of disagreement', () => {
  const fc: ApiSpec = {
    paths: {
      '/a': { put: { parameters: [{ in: 'body', name: 'body', required: true, schema: { $ref: '#/definitions/A' } }], responses: { 204: {}, 400: {} } } },
      '/b': { get: { responses: { 200: { schema: { $ref: '#/definitions/A' } } } } },
    },
    definitions: {
      A: { type: 'object', required: ['x', 'y'], properties: { x: { type: 'string' }, y: { type: 'integer', maximum: 9 }, z: { type: 'boolean' } } },
    },
  };
  const same = structuredClone(fc);
  same['x-wisp-unserved-paths'] = [];
  assert.deepEqual(compareWithFirecracker(same, fc), []);

  const w = structuredClone(fc);
  delete w.paths['/b'];
  w.paths['/c'] = { get: { responses: { 200: {} } } };
  w.paths['/a']!['put']!.responses = { 200: {}, 400: {} };
  const a = w.definitions['A']!;
  (a['properties'] as Record<string, unknown>)['y'] = { type: 'integer', maximum: 10 };
  delete (a['properties'] as Record<string, unknown>)['z'];
  (a['properties'] as Record<string, unknown>)['ext'] = { type: 'string' };
  a['required'] = ['x'];
  w.definitions['Mine'] = { type: 'object' };
  assert.deepEqual(compareWithFirecracker(w, fc).sort(), [
    '/b: Firecracker serves it; wisp neither describes it nor lists it in x-wisp-unserved-paths',
    '/c: only wisp has it, and it is not marked x-wisp-extension: true',
    'PUT /a: success responses 200 vs Firecracker\'s 204',
    'definitions.A.ext: only wisp has it, and it is not marked x-wisp-extension: true',
    'definitions.A.y: maximum 10 vs Firecracker\'s 9',
    'definitions.A.z: in Firecracker\'s, neither in wisp\'s nor in its x-wisp-omitted',
    'definitions.A: Firecracker requires y, wisp\'s does not (nor lists it in x-wisp-optional)',
    'definitions.Mine: only wisp has it, and it is not marked x-wisp-extension: true',
  ].sort());

  // The documented differences are accepted.
  w['x-wisp-unserved-paths'] = ['/b'];
  (w.paths['/c'] as Record<string, unknown>)['x-wisp-extension'] = true;
  w.paths['/a']!['put']!.responses = { 204: {}, 400: {} };
  (a['properties'] as Record<string, Record<string, unknown>>)['y'] = { type: 'integer', maximum: 9 };
  (a['properties'] as Record<string, Record<string, unknown>>)['ext']!['x-wisp-extension'] = true;
  a['x-wisp-omitted'] = ['z'];
  a['x-wisp-optional'] = ['y'];
  w.definitions['Mine']!['x-wisp-extension'] = true;
  assert.deepEqual(compareWithFirecracker(w, fc), []);
});
