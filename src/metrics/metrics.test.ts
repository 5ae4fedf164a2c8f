import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createMetrics, serializeMetrics } from './metrics.js';

test('one JSON object per flush in Firecracker\'s shape; counters report deltas, stores report values', () => {
  const m = createMetrics();
  m.put_api_requests.drive_count.inc();
  m.put_api_requests.drive_count.inc(2);
  m.latencies_us.pause_vm.set(42);
  const first = JSON.parse(serializeMetrics(m, { now: new Date(1000), id: 'vm1', properties: { team: 'a' } }));
  assert.equal(first.utc_timestamp_ms, 1000);
  assert.equal(first.id, 'vm1');
  assert.deepEqual(first.properties, { team: 'a' });
  assert.equal(first.put_api_requests.drive_count, 3);
  assert.equal(first.latencies_us.pause_vm, 42);
  for (const g of ['api_server', 'get_api_requests', 'put_api_requests', 'patch_api_requests', 'block', 'entropy', 'uart', 'vcpu', 'vmm', 'logger', 'signals']) {
    assert.equal(typeof first[g], 'object', g);
  }
  const second = JSON.parse(serializeMetrics(m));
  assert.equal(second.put_api_requests.drive_count, 0);
  assert.equal(second.latencies_us.pause_vm, 42);
  assert.equal(second.id, undefined);
});

test('machine groups add to existing groups or appear on their own; non-numbers are ignored', () => {
  const m = createMetrics();
  m.uart.write_count.inc(1);
  const out = JSON.parse(serializeMetrics(m, { extra: { uart: { write_count: 4, bogus: Number.NaN }, block_rootfs: { read_bytes: 512 } } }));
  assert.equal(out.uart.write_count, 5);
  assert.equal(out.uart.bogus, undefined);
  assert.deepEqual(out.block_rootfs, { read_bytes: 512 });
});
