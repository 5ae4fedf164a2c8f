import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hostLibc } from './host-libc.js';

test('the host C library answers, and errno is the last call\'s', () => {
  const c = hostLibc();
  assert.equal(c.func('int getpid()')(), process.pid);
  assert.equal(c.func('int close(int fd)')(-1), -1);
  assert.equal(c.errno(), 9, 'close(-1) fails with EBADF');
  assert.equal(hostLibc(), c, 'loaded once');
});
