import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { RuncError } from './runc-error.js';
import { checkId, listIds, liveStatus, makeContainerDir, processStart, readRecord, stateJson, writeRecord, type ContainerRecord } from './state-store.js';

const root = mkdtempSync(join(tmpdir(), 'wisp-runc-state-'));
after(() => rmSync(root, { recursive: true, force: true }));

test('container ids follow runc\'s rule', () => {
  assert.equal(checkId('abc_1.2-x+y'), 'abc_1.2-x+y');
  for (const bad of ['', '.', '..', 'a/b', 'a b', '../x']) assert.throws(() => checkId(bad), RuncError);
});

test('a record round-trips; a dead pid makes the container stopped (pid 0 in state)', () => {
  const dir = makeContainerDir(root, 'one');
  assert.throws(() => makeContainerDir(root, 'one'), /container with id exists: one/);
  const rec: ContainerRecord = {
    version: 1, id: 'one', bundle: '/b', rootfs: '/b/rootfs', created: new Date(0).toISOString(), owner: 'root',
    annotations: {}, pid: process.pid, pidStart: processStart(process.pid)!, status: 'running',
  };
  writeRecord(dir, rec);
  assert.deepEqual(readRecord(root, 'one'), rec);
  assert.equal(liveStatus(rec), 'running');
  assert.equal(stateJson(rec).pid, process.pid);
  // A pid whose start time differs is a recycled pid: not the container.
  assert.equal(liveStatus({ ...rec, pidStart: '1' }), 'stopped');
  const dead = spawnSync('true').pid!;
  assert.equal(liveStatus({ ...rec, pid: dead }), 'stopped');
  assert.deepEqual({ ...stateJson({ ...rec, pid: dead }), created: '' }, {
    ociVersion: '1.0.2', id: 'one', pid: 0, status: 'stopped', bundle: '/b', rootfs: '/b/rootfs', created: '', owner: 'root',
  });
  assert.deepEqual(listIds(root), ['one']);
  assert.throws(() => readRecord(root, 'two'), /container "two" does not exist/);
  assert.deepEqual(listIds(join(root, 'absent')), []);
});
