import assert from 'node:assert/strict';
import { test } from 'node:test';
import { machineCounters, MetricsDeltas, type MachineCounterSources } from './machine-worker-metrics.js';

function block(over: Record<string, number> = {}) {
  return {
    activateFails: 0, cfgFails: 0, queueEventCount: 0, readCount: 0, writeCount: 0, readBytes: 0, writeBytes: 0,
    flushCount: 0, discardCount: 0, writeZeroesCount: 0, getIdCount: 0, invalidReqsCount: 0, roWriteFails: 0,
    unsupportedReqs: 0, executeFails: 0, updateCount: 0, rateLimiterThrottledEvents: 0, rateLimiterEvents: 0, ...over,
  };
}

function sources(): MachineCounterSources {
  return {
    blocks: [
      { id: 'rootfs', metrics: block({ readCount: 3, readBytes: 1536, invalidReqsCount: 1, roWriteFails: 2 }) },
      { id: 'scratch', metrics: block({ readCount: 1, readBytes: 512, writeCount: 4, rateLimiterThrottledEvents: 6, rateLimiterEvents: 5 }) },
    ],
    rng: { activateFails: 0, queueEvents: 2, requests: 2, bytes: 64, truncatedRequests: 0, invalidRequests: 1, entropyFails: 0, configWritesIgnored: 0, rateLimiterThrottled: 4, rateLimiterEvents: 3 },
    uart: { txBytes: 100, rxBytes: 5, rxDropped: 1, txErrors: 0, badAccesses: 2 },
    serial: { droppedWrites: 3 },
    sbi: { calls: 7, unsupported: 1 },
    vcpus: [{ instret: 1000, mmioReads: 10, mmioWrites: 20 }],
  };
}

test('machine counters: Firecracker group and counter names, per drive and in aggregate', () => {
  const m = machineCounters(sources());
  assert.equal(m['block_rootfs']!['read_count'], 3);
  assert.equal(m['block_rootfs']!['invalid_reqs_count'], 3, 'read-only write refusals count as invalid requests too');
  assert.equal(m['block_rootfs']!['ro_write_fails'], 2);
  assert.equal(m['block_scratch']!['write_count'], 4);
  assert.equal(m['block']!['read_bytes'], 2048, 'the block group sums the drives');
  assert.equal(m['block_scratch']!['rate_limiter_throttled_events'], 6);
  assert.equal(m['block_scratch']!['rate_limiter_event_count'], 5);
  assert.deepEqual(m['entropy'], {
    activate_fails: 0, entropy_event_count: 2, entropy_event_fails: 1, entropy_bytes: 64, host_rng_fails: 0,
    entropy_rate_limiter_throttled: 4, rate_limiter_event_count: 3,
  });
  assert.deepEqual(m['uart'], { write_count: 100, read_count: 5, missed_read_count: 1, missed_write_count: 3, error_count: 2 });
  assert.deepEqual(m['vcpu'], { exit_mmio_read: 10, exit_mmio_write: 20, failures: 0, instructions: 1000 });
  assert.deepEqual(m['vcpu_0'], m['vcpu'], 'one vCPU: its group is the sum');
});

test('machine counters: one group per vCPU, and their sum', () => {
  const m = machineCounters({ ...sources(), vcpus: [{ instret: 5, mmioReads: 1, mmioWrites: 2 }, { instret: 7, mmioReads: 3, mmioWrites: 4 }] });
  assert.deepEqual(m['vcpu_0'], { exit_mmio_read: 1, exit_mmio_write: 2, failures: 0, instructions: 5 });
  assert.deepEqual(m['vcpu_1'], { exit_mmio_read: 3, exit_mmio_write: 4, failures: 0, instructions: 7 });
  assert.deepEqual(m['vcpu'], { exit_mmio_read: 4, exit_mmio_write: 6, failures: 0, instructions: 12 });
  assert.deepEqual(m['sbi'], { calls: 7, unsupported: 1 });
});

test('machine counters: no drives, no entropy → no block or entropy groups', () => {
  const m = machineCounters({ ...sources(), blocks: [], rng: undefined });
  assert.deepEqual(Object.keys(m).sort(), ['sbi', 'uart', 'vcpu', 'vcpu_0']);
});

test('metrics deltas: each take reports what happened since the previous one', () => {
  const d = new MetricsDeltas();
  const s = sources();
  assert.equal(d.take(machineCounters(s))['vcpu']!['instructions'], 1000);
  s.vcpus = [{ instret: 1500, mmioReads: 10, mmioWrites: 20 }];
  s.uart.txBytes = 110;
  const second = d.take(machineCounters(s));
  assert.equal(second['vcpu']!['instructions'], 500);
  assert.equal(second['uart']!['write_count'], 10);
  assert.equal(second['block_rootfs']!['read_count'], 0);
  assert.equal(d.take(machineCounters(s))['vcpu']!['instructions'], 0);
});
