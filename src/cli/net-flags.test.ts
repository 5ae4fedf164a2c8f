import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CliError } from './cli-error.js';
import { parseNet, parsePublish } from './net-flags.js';

test('--net: user or tap:NAME', () => {
  assert.deepEqual(parseNet('user'), { kind: 'user' });
  assert.deepEqual(parseNet('tap:tap0'), { kind: 'tap', name: 'tap0' });
  for (const bad of ['', 'tap:', 'bridge', 'User']) assert.throws(() => parseNet(bad), (e) => e instanceof CliError && /--net must be "user" or "tap:NAME"/.test(e.message));
});

test('--publish: HOST:GUEST[/tcp|/udp], ports 1 to 65535, the flag named as typed', () => {
  assert.deepEqual(parsePublish('8080:80'), { host_port: 8080, guest_port: 80, protocol: 'tcp' });
  assert.deepEqual(parsePublish('5353:53/udp'), { host_port: 5353, guest_port: 53, protocol: 'udp' });
  assert.deepEqual(parsePublish('65535:1/tcp'), { host_port: 65535, guest_port: 1, protocol: 'tcp' });
  for (const bad of ['80', '0:80', '80:0', '65536:80', '8080:80/sctp', ':80', '8080:', '-1:80', '8080:80 ', '1e3:80']) {
    assert.throws(() => parsePublish(bad), (e) => e instanceof CliError && e.message.startsWith('--publish must be HOSTPORT:GUESTPORT') && e.message.endsWith(`got "${bad}"`), bad);
  }
  assert.throws(() => parsePublish('x', '-p'), /^CliError: -p must be HOSTPORT:GUESTPORT/);
});
