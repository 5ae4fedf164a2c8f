import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { FileLineWriter, MemoryLineWriter } from './line-writer.js';
import { Logger, formatTimestamp } from './logger.js';

const fixed = new Date(2024, 4, 1, 10, 11, 12, 123);

test('Firecracker line shape, with level and origin shown on request', () => {
  const w = new MemoryLineWriter();
  const l = new Logger(w, 'vm1', () => fixed);
  l.info('api_server', 'hello');
  l.configure({ showLevel: true, showOrigin: true });
  l.warn('vmm::builder', 'careful', 'fc_vcpu 0');
  assert.deepEqual(w.lines, [
    '2024-05-01T10:11:12.123000000 [vm1:main] hello',
    '2024-05-01T10:11:12.123000000 [vm1:fc_vcpu 0:WARN:vmm::builder] careful',
  ]);
  assert.equal(formatTimestamp(fixed), '2024-05-01T10:11:12.123000000');
});

test('level and module filter; Off silences everything', () => {
  const w = new MemoryLineWriter();
  const l = new Logger(w, 'vm', () => fixed);
  l.debug('x', 'hidden at Info');
  l.configure({ level: 'Debug', module: 'api' });
  l.debug('api_server', 'shown');
  l.error('vmm', 'other module');
  l.configure({ level: 'Off', module: undefined });
  l.error('api', 'off');
  assert.deepEqual(w.lines.map((x) => x.split('] ')[1]), ['shown']);
});

test('file and FIFO destinations: the path must exist; a FIFO without reader drops instead of blocking', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wisp-log-'));
  assert.throws(() => FileLineWriter.open(join(dir, 'missing')), /No such file or directory \(os error 2\)/);
  const file = join(dir, 'log');
  writeFileSync(file, 'old\n');
  const w = FileLineWriter.open(file);
  assert.ok(w.writeLine('new'));
  w.close();
  assert.equal(readFileSync(file, 'utf8'), 'old\nnew\n', 'appends');

  const fifo = join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  const f = FileLineWriter.open(fifo); // must not block with nobody reading
  const l = new Logger(f, 'vm');
  const big = 'x'.repeat(1000);
  for (let i = 0; i < 200; i++) l.info('t', big); // > the 64 KiB pipe buffer
  assert.ok(l.missedLogCount > 0, 'lines beyond the pipe buffer are counted as missed');
  assert.equal(f.failures, 0, 'a full pipe is not a failure');
  f.close();
});
