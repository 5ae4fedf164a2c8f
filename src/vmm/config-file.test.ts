import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigFileError, configFileActions } from './config-file.js';

const FULL = {
  'boot-source': { kernel_image_path: '/k', boot_args: 'console=ttyS0' },
  drives: [{ drive_id: 'rootfs', path_on_host: '/r', is_root_device: true, is_read_only: false }],
  'machine-config': { vcpu_count: 2, mem_size_mib: 1024 },
  logger: { level: 'Debug' },
  metrics: { metrics_path: '/m' },
  entropy: {},
  'network-interfaces': [],
};

test('a Firecracker config file becomes the API actions, logger and metrics first', () => {
  const actions = configFileActions(JSON.stringify(FULL));
  assert.deepEqual(actions.map((a) => a.type), [
    'ConfigureLogger', 'ConfigureMetrics', 'PutMachineConfiguration', 'ConfigureBootSource', 'InsertBlockDevice', 'SetEntropyDevice',
  ]);
  const withNet = configFileActions(JSON.stringify({
    ...FULL,
    'network-interfaces': [{ iface_id: 'eth0', host_dev_name: 'tap0', guest_mac: '06:00:AC:10:00:02' }, { iface_id: 'eth1', user_mode: { publish: [{ host_port: 8080, guest_port: 80 }] } }],
  }));
  assert.deepEqual(withNet.slice(5).map((a) => a.type), ['InsertNetworkDevice', 'InsertNetworkDevice', 'SetEntropyDevice']);
  assert.deepEqual(withNet[6], { type: 'InsertNetworkDevice', config: { iface_id: 'eth1', user_mode: { publish: [{ host_port: 8080, guest_port: 80 }] } } });
  assert.deepEqual(actions[2], { type: 'PutMachineConfiguration', config: { vcpu_count: 2, mem_size_mib: 1024, smt: false, track_dirty_pages: false, huge_pages: 'None' } });
});

test('sections for devices wisp does not build are refused by name (empty lists are fine)', () => {
  for (const [section, value, what] of [
    ['balloon', { amount_mib: 0, deflate_on_oom: false }, /"balloon" section/],
  ] as const) {
    assert.throws(() => configFileActions(JSON.stringify({ ...FULL, [section]: value })), (e: unknown) => e instanceof ConfigFileError && e.code === 'unsupported-section' && what.test(e.message));
  }
});

test('the vsock and mmds-config sections become their actions, after the drives', () => {
  const actions = configFileActions(JSON.stringify({ ...FULL, vsock: { guest_cid: 3, uds_path: '/run/v.sock' }, 'mmds-config': { network_interfaces: ['eth0'], version: 'V2' } }));
  assert.deepEqual(actions.map((a) => a.type), [
    'ConfigureLogger', 'ConfigureMetrics', 'PutMachineConfiguration', 'ConfigureBootSource', 'InsertBlockDevice', 'SetVsockDevice', 'SetMmdsConfiguration', 'SetEntropyDevice',
  ]);
  assert.deepEqual(actions[5], { type: 'SetVsockDevice', config: { guest_cid: 3, uds_path: '/run/v.sock' } });
  assert.throws(() => configFileActions(JSON.stringify({ vsock: { guest_cid: 3 } })), /missing field `uds_path`/);
});

test('bad JSON and unknown sections are reported as serde would', () => {
  assert.throws(() => configFileActions('{"boot-source": {'), (e: unknown) => e instanceof ConfigFileError && e.code === 'invalid-json' && /^EOF while parsing/.test(e.message));
  assert.throws(() => configFileActions('{"machine_config": {}}'), /unknown field `machine_config`, expected one of `balloon`, `drives`, `boot-source`/);
  assert.throws(() => configFileActions('{"drives": [{"drive_id": "a"}]}'), /missing field `is_root_device`/);
});
