import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ImageError } from './image-error.js';
import { formatReference, parseReference } from './reference.js';

test('references in containers/image spelling', () => {
  assert.deepEqual(parseReference('oci:/tmp/layout:v1'), { transport: 'oci', path: '/tmp/layout', tag: 'v1' });
  assert.deepEqual(parseReference('oci:rel/dir'), { transport: 'oci', path: 'rel/dir', tag: undefined });
  assert.deepEqual(parseReference('oci-archive:img.tar'), { transport: 'oci-archive', path: 'img.tar', tag: undefined });
  assert.deepEqual(parseReference('docker-archive:img.tar:example/app:1'), { transport: 'docker-archive', path: 'img.tar', name: 'example/app:1' });
  assert.deepEqual(parseReference('localhost:5000/tests/app:v2'), { transport: 'registry', registry: 'localhost:5000', repository: 'tests/app', tag: 'v2', digest: undefined });
  assert.deepEqual(parseReference('127.0.0.1:5000/app'), { transport: 'registry', registry: '127.0.0.1:5000', repository: 'app', tag: 'latest', digest: undefined });
  const d = `sha256:${'a'.repeat(64)}`;
  assert.deepEqual(parseReference(`docker://quay.io/org/app@${d}`), { transport: 'registry', registry: 'quay.io', repository: 'org/app', tag: undefined, digest: d });
  assert.deepEqual(parseReference('debian:trixie'), { transport: 'registry', registry: 'registry-1.docker.io', repository: 'library/debian', tag: 'trixie', digest: undefined });
  assert.equal(formatReference(parseReference('localhost:5000/a/b:c')), 'localhost:5000/a/b:c');
});

test('bad references are refused, naming the problem', () => {
  for (const [text, why] of [
    ['Upper/Case', /lower-case/],
    ['host.io/app:bad tag', /tag/],
    ['host.io/app@sha256:123', /64/],
    ['http://host/app', /transport/],
    ['oci:', /needs a path/],
  ] as const) {
    assert.throws(() => parseReference(text), (e: ImageError) => e.code === 'bad-reference' && why.test(e.message), text);
  }
});
