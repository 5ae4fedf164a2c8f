import assert from 'node:assert/strict';
import { test } from 'node:test';
import { execConfigFromProcess } from './exec-process.js';

test('exec --process: a runtime-spec Process becomes the exec\'d process', () => {
  assert.deepEqual(execConfigFromProcess({
    terminal: false, args: ['sh', '-c', 'x'], env: ['A=1'], cwd: '/srv', user: { uid: 1000, gid: 100, additionalGids: [5, 6], umask: 0o27 },
    capabilities: { bounding: ['CAP_KILL'] }, noNewPrivileges: true,
  }, 'p.json'), { args: ['sh', '-c', 'x'], env: ['A=1'], cwd: '/srv', user: '1000:100', additionalGids: [5, 6], stdin: true, umask: 0o27 });
  assert.deepEqual(execConfigFromProcess({ args: ['true'] }, 'p.json'), { args: ['true'], env: [], cwd: '/', user: '0:0', additionalGids: [], stdin: true });
});

test('exec --process: what cannot be run is refused, naming the field', () => {
  const bad: [unknown, RegExp][] = [
    [{ args: ['sh'], terminal: true }, /process\.terminal is not supported for exec/],
    [{ args: [] }, /process\.args must name the program/],
    [{ args: 'sh' }, /process\.args must be a list of strings/],
    [{ args: ['sh'], cwd: 'relative' }, /process\.cwd must be an absolute path/],
    [{ args: ['sh'], user: { uid: -1 } }, /process\.user\.uid must be a whole number/],
    [{ args: ['sh'], env: [1] }, /process\.env must be a list of strings/],
    [[], /process\.\(top level\) must be an object/],
  ];
  for (const [json, re] of bad) assert.throws(() => execConfigFromProcess(json, 'p.json'), re, JSON.stringify(json));
});
