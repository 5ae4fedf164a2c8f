import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isImageRun, parseImageRunArgs } from './run-image.js';

test('wisp run IMAGE: --net user and -p/--publish (repeatable) are parsed; the command follows IMAGE', () => {
  const a = parseImageRunArgs(['--net', 'user', '-p', '8080:80', '--publish=5353:53/udp', 'oci:/x:v1', 'httpd', '-p', '80']);
  assert.equal(a.net, true);
  assert.deepEqual(a.publish, [{ host_port: 8080, guest_port: 80, protocol: 'tcp' }, { host_port: 5353, guest_port: 53, protocol: 'udp' }]);
  assert.equal(a.image, 'oci:/x:v1');
  assert.deepEqual(a.command, ['httpd', '-p', '80']);
  assert.equal(parseImageRunArgs(['--network=user', 'img']).net, true);
  assert.equal(parseImageRunArgs(['--net', 'none', 'img']).net, false);
  assert.equal(parseImageRunArgs(['img']).net, false);
  assert.ok(isImageRun(['--net', 'user', '-p', '8080:80', 'img']));
  assert.ok(!isImageRun(['--net', 'user', '--publish', '8080:80']));
});

test('wisp run IMAGE: bad network flags are refused with one clear message', () => {
  assert.throws(() => parseImageRunArgs(['-p', '8080:80', 'img']), /^CliError: -p\/--publish needs the user-mode network: add --net user$/);
  assert.throws(() => parseImageRunArgs(['--net', 'none', '-p', '8080:80', 'img']), /needs the user-mode network/);
  assert.throws(() => parseImageRunArgs(['--net', 'user', '-p', '80', 'img']), /^CliError: -p must be HOSTPORT:GUESTPORT .*got "80"$/);
  assert.throws(() => parseImageRunArgs(['--net', 'tap:tap0', 'img']), /^CliError: --net must be "user" or "none" for an image, got "tap:tap0"$/);
  assert.throws(() => parseImageRunArgs(['--net']), /^CliError: --net needs a value$/);
});

test('wisp run IMAGE: --cpus N (1-32) is parsed before IMAGE, and refused outside that', () => {
  assert.equal(parseImageRunArgs(['--cpus', '4', 'img', 'nproc']).cpus, '4');
  assert.equal(parseImageRunArgs(['--cpus=2', 'img']).cpus, '2');
  assert.deepEqual(parseImageRunArgs(['--cpus', '2', 'img', 'nproc']).command, ['nproc']);
  assert.ok(isImageRun(['--cpus', '2', 'img']));
  assert.throws(() => parseImageRunArgs(['--cpus', '0', 'img']), /^CliError: --cpus must be /);
  assert.throws(() => parseImageRunArgs(['--cpus', '33', 'img']), /^CliError: --cpus must be 1…32, got "33"$/);
  assert.throws(() => parseImageRunArgs(['--cpus', '1.5', 'img']), /--cpus/);
});
