/**
 * PUT /snapshot/create and /snapshot/load in the controller, against a recording machine: the states
 * each is allowed in, Firecracker's refusals, what the state file holds, and that a load that fails
 * (bad file, bad field) leaves the VMM Not started and able to load again.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { RecordingVmBuilder } from '../../test/helpers/recording-vm-builder.js';
import { MemoryLineWriter } from '../logger/line-writer.js';
import { Logger } from '../logger/logger.js';
import { createMetrics } from '../metrics/metrics.js';
import type { MachineState } from '../platform/machine.js';
import type { VmmAction } from './actions.js';
import { VmmController } from './controller.js';
import { readSnapshot } from './snapshot.js';
import { writeStateFile } from '../snapshot/snapshot-file.js';
import { VmmActionError } from './vmm-action-error.js';
import type { SnapshotLoadConfig } from './vmm-config.js';

const dir = mkdtempSync(join(tmpdir(), 'wisp-snapshot-ctl-'));
const kernel = join(dir, 'kernel');
writeFileSync(kernel, 'k');
const disk = join(dir, 'disk');
writeFileSync(disk, 'd');
const FAKE_MACHINE = { version: 1, mtimeTicks: 5, harts: [{ pc: '0x80200000' }], clint: {}, plic: {}, uart: {}, rtc: {}, virtio: [] } as unknown as MachineState;

function setup() {
  const builder = new RecordingVmBuilder();
  const log = new MemoryLineWriter();
  const metrics = createMetrics();
  const c = new VmmController({ instanceId: 'snap-test', builder, logger: new Logger(log, 'snap-test'), metrics });
  return { c, builder, metrics };
}

async function refused(c: VmmController, a: VmmAction): Promise<VmmActionError> {
  try {
    await c.handle(a);
  } catch (e) {
    assert.ok(e instanceof VmmActionError, String(e));
    return e;
  }
  assert.fail(`${a.type} was accepted`);
}

function load(snapshot_path: string, more: Partial<SnapshotLoadConfig> = {}): VmmAction {
  return {
    type: 'LoadSnapshot',
    config: {
      snapshot_path, mem_backend: { backend_type: 'File', backend_path: join(dir, 'mem') }, track_dirty_pages: false, resume_vm: false,
      network_overrides: [], clock_realtime: false, huge_pages: 'Snapshot', ...more,
    },
  };
}

/** Boots a recording machine with a drive and entropy, pauses it and snapshots it to `name`. */
async function snapshotTo(name: string, type: 'Full' | 'Diff' = 'Full'): Promise<string> {
  const { c, builder } = setup();
  await c.handle({ type: 'PutMachineConfiguration', config: { vcpu_count: 1, mem_size_mib: 64, smt: false, track_dirty_pages: true, huge_pages: 'None' } });
  await c.handle({ type: 'ConfigureBootSource', config: { kernel_image_path: kernel, boot_args: 'console=ttyS0 quiet' } });
  await c.handle({ type: 'InsertBlockDevice', config: { drive_id: 'data', path_on_host: disk, is_root_device: false, is_read_only: false, rate_limiter: { ops: { size: 10, refill_time: 100 } } } });
  await c.handle({ type: 'SetEntropyDevice', config: {} });
  await c.handle({ type: 'StartMicroVm' });
  const path = join(dir, name);
  const create: VmmAction = { type: 'CreateSnapshot', config: { snapshot_type: type, snapshot_path: path, mem_file_path: join(dir, `${name}.mem`) } };
  const running = await refused(c, create);
  assert.equal(running.code, 'CreateSnapshot');
  assert.match(running.message, /^Create snapshot error: Cannot save the microVM state: the microVM is not Paused/);
  await c.handle({ type: 'Pause' });
  builder.snapshot = { machine: FAKE_MACHINE, memory: { pages: 3, ...(type === 'Diff' && { pageMap: Buffer.alloc(64 * 256 / 8).toString('base64') }) }, saveMs: 1, memoryMs: 2 };
  await c.handle(create);
  assert.deepEqual(builder.snapshotRequests, [{ type, memFilePath: join(dir, `${name}.mem`), trackDirtyPages: true }]);
  assert.equal(c.state, 'Paused', 'the VM stays Paused');
  return path;
}

test('snapshot/create: refused before boot and while Running; on a Paused VM the state file holds the configuration and machine state', async () => {
  const { c } = setup();
  const pre = await refused(c, { type: 'CreateSnapshot', config: { snapshot_type: 'Full', snapshot_path: join(dir, 'x'), mem_file_path: join(dir, 'y') } });
  assert.equal(pre.message, 'The requested operation is not supported before starting the microVM.');

  const path = await snapshotTo('vm.state');
  const s = readSnapshot(path);
  assert.equal(s.snapshot_type, 'Full');
  assert.deepEqual(s.machine, FAKE_MACHINE);
  assert.equal(s.memory.size_bytes, 64 << 20);
  assert.deepEqual(s.vm_config['machine-config'], { vcpu_count: 1, mem_size_mib: 64, smt: false, track_dirty_pages: true, huge_pages: 'None' });
  assert.deepEqual(s.vm_config['boot-source'], { kernel_image_path: kernel, boot_args: 'console=ttyS0 quiet' });
  assert.equal(s.vm_config.drives[0]!.path_on_host, disk);
  assert.deepEqual(s.vm_config.drives[0]!.rate_limiter, { ops: { size: 10, refill_time: 100 } });
  assert.deepEqual(s.vm_config.entropy, {});
});

test('snapshot/load: a fresh VMM becomes the saved VM, Paused, showing the saved configuration; loading twice is refused', async () => {
  const path = await snapshotTo('load.state');
  const { c, builder, metrics } = setup();
  await c.handle({ type: 'ConfigureLogger', config: { level: 'Info' } }); // logger and metrics do not count as boot resources
  await c.handle(load(path, { track_dirty_pages: false }));
  assert.deepEqual(builder.calls, ['restore']);
  assert.deepEqual(builder.restores[0], { machine: FAKE_MACHINE, memFilePath: join(dir, 'mem'), resume: false });
  assert.equal(builder.specs[0]!.drives[0]!.path, disk);
  assert.deepEqual(builder.specs[0]!.drives[0]!.rateLimiter, { ops: { size: 10, refill_time: 100 } });
  assert.equal(c.state, 'Paused');
  const cfg = await c.handle({ type: 'GetFullVmConfig' });
  assert.equal(cfg.type, 'FullVmConfig');
  if (cfg.type === 'FullVmConfig') {
    assert.equal(cfg.config['machine-config'].mem_size_mib, 64);
    assert.equal(cfg.config['machine-config'].track_dirty_pages, false, "the load's own setting");
    assert.equal(cfg.config.drives[0]!.drive_id, 'data');
    assert.equal(cfg.config['boot-source']!.kernel_image_path, kernel);
  }
  assert.ok(metrics.latencies_us.vmm_load_snapshot.value >= 0);
  assert.equal((await refused(c, load(path))).message, 'The requested operation is not supported after starting the microVM.');
  await c.handle({ type: 'Resume' });
  assert.equal(c.state, 'Running');
});

test('snapshot/load with resume_vm runs the VM at once', async () => {
  const path = await snapshotTo('resume.state');
  const { c, builder } = setup();
  await c.handle(load(path, { resume_vm: true }));
  assert.equal(builder.restores[0]!.resume, true);
  assert.equal(c.state, 'Running');
});

test('snapshot/load after boot-specific configuration is refused with Firecracker\'s message', async () => {
  const path = await snapshotTo('late.state');
  const firsts: VmmAction[] = [
    { type: 'ConfigureBootSource', config: { kernel_image_path: kernel } },
    { type: 'UpdateMachineConfiguration', config: { mem_size_mib: 0 } }, // refused, and still closes the snapshot path
    { type: 'InsertBlockDevice', config: { drive_id: 'd', path_on_host: disk, is_root_device: false, is_read_only: true } },
    { type: 'SetEntropyDevice', config: {} },
  ];
  for (const first of firsts) {
    const { c } = setup();
    await c.handle(first).catch(() => undefined);
    const e = await refused(c, load(path));
    assert.equal(e.message, 'Load snapshot error: Loading a microVM snapshot not allowed after configuring boot-specific resources.', first.type);
  }
});

test('snapshot/load of a missing, truncated, corrupted or other-version file, or with bad fields, fails clearly and leaves the VMM able to load', async () => {
  const path = await snapshotTo('good.state');
  const bytes = readFileSync(path);
  const variant = (name: string, f: (b: Buffer) => Buffer) => {
    const p = join(dir, name);
    writeFileSync(p, f(Buffer.from(bytes)));
    return p;
  };
  const { c, builder } = setup();
  const cases: [string, VmmAction, RegExp][] = [
    ['missing', load(join(dir, 'nope.state')), /cannot open the state file ".*nope\.state": No such file or directory \(os error 2\)/],
    ['truncated', load(variant('trunc.state', (b) => b.subarray(0, b.length - 40))), /is truncated: \d+ bytes of the \d+ its header announces/],
    ['corrupted', load(variant('flip.state', (b) => { b[b.length >> 1] ^= 1; return b; })), /is corrupted: its SHA-256 checksum does not match its contents/],
    ['version', load(variant('v2.state', (b) => { b.writeUInt16LE(2, 8); return b; })), /has format version 2\.0; this wisp reads version 1\.0 to 1\.0/],
    ['not a snapshot', load(kernel), /is not a wisp snapshot state file/],
    ['uffd', load(path, { mem_backend: { backend_type: 'Uffd', backend_path: '/tmp/uffd.sock' } }), /the Uffd memory backend is not supported/],
    ['net override', load(path, { network_overrides: [{ iface_id: 'eth0', host_dev_name: 'tap9' }] }), /Unknown Network Device\. \(no interface "eth0" in the snapshot\)/],
    ['vsock override', load(path, { vsock_override: { uds_path: '/tmp/v.sock' } }), /Unknown Vsock Device\./],
    ['huge pages', load(path, { huge_pages: '2M' }), /huge pages \(2M\) are not supported/],
  ];
  for (const [what, action, re] of cases) {
    const e = await refused(c, action);
    assert.equal(e.code, 'LoadSnapshot', what);
    assert.match(e.message, /^Load snapshot error: Failed to restore from snapshot: /, what);
    assert.match(e.message, re, what);
    assert.equal(c.state, 'Not started', `${what}: nothing was built`);
  }
  builder.failWith = 'Cannot restore drive "data": No such file or directory (os error 2)';
  assert.match((await refused(c, load(path))).message, /Failed to restore from snapshot: Cannot restore drive "data": No such file/);
  assert.equal(c.state, 'Not started');
  await c.handle(load(path));
  assert.equal(c.state, 'Paused', 'after all those refusals, a good load still works');
});

test('a Diff state file carries its page map', async () => {
  const s = readSnapshot(await snapshotTo('diff.state', 'Diff'));
  assert.equal(s.snapshot_type, 'Diff');
  assert.equal(typeof s.memory.page_map, 'string');
});

test('snapshot with network interfaces: saved with the MMDS config; a load rebuilds them (GET /vm/config shows them), takes network_overrides for a tap, refuses them for an unknown or a user-mode interface', async () => {
  const { c, builder } = setup();
  await c.handle({ type: 'PutMachineConfiguration', config: { vcpu_count: 1, mem_size_mib: 64, smt: false, track_dirty_pages: false, huge_pages: 'None' } });
  await c.handle({ type: 'ConfigureBootSource', config: { kernel_image_path: kernel } });
  const eth0 = { iface_id: 'eth0', guest_mac: '06:00:ac:10:00:02', mtu: 1500, user_mode: { publish: [{ host_port: 18081, guest_port: 80 }] }, rx_rate_limiter: { ops: { size: 10, refill_time: 100 } } };
  await c.handle({ type: 'InsertNetworkDevice', config: eth0 });
  await c.handle({ type: 'SetMmdsConfiguration', config: { network_interfaces: ['eth0'], version: 'V2' } });
  await c.handle({ type: 'StartMicroVm' });
  await c.handle({ type: 'Pause' });
  builder.snapshot = { machine: FAKE_MACHINE, memory: { pages: 3 }, saveMs: 1, memoryMs: 2 };
  const path = join(dir, 'net.state');
  await c.handle({ type: 'CreateSnapshot', config: { snapshot_type: 'Full', snapshot_path: path, mem_file_path: join(dir, 'net.mem') } });
  const saved = readSnapshot(path);
  assert.deepEqual(saved.vm_config['network-interfaces'], [eth0]);
  assert.deepEqual(saved.vm_config['mmds-config'], { version: 'V2', network_interfaces: ['eth0'], ipv4_address: '169.254.169.254', imds_compat: false });

  // A tap interface cannot be configured here (no tap in a unit test): add one to the saved state.
  const withTap = join(dir, 'net-tap.state');
  writeStateFile(withTap, { ...saved, vm_config: { ...saved.vm_config, 'network-interfaces': [eth0, { iface_id: 'net1', host_dev_name: 'wisptapA' }] } });

  const r = setup();
  const unknown = await refused(r.c, load(withTap, { network_overrides: [{ iface_id: 'eth9', host_dev_name: 'wisptapB' }] }));
  assert.match(unknown.message, /^Load snapshot error: Failed to restore from snapshot: Failed to get snapshot state from file: Unknown Network Device\./);
  const user = await refused(r.c, load(withTap, { network_overrides: [{ iface_id: 'eth0', host_dev_name: 'wisptapB' }] }));
  assert.match(user.message, /network interface "eth0" uses wisp's user-mode networking \(passt\), not a host device/);
  assert.equal(r.c.state, 'Not started');
  await r.c.handle(load(withTap, { network_overrides: [{ iface_id: 'net1', host_dev_name: 'wisptapB' }] }));
  const nets = r.builder.specs[0]!.nets!;
  assert.deepEqual(nets.map((n) => [n.id, n.backend]), [
    ['eth0', { kind: 'user', publish: [{ protocol: 'tcp', hostPort: 18081, guestPort: 80 }] }],
    ['net1', { kind: 'tap', hostDevName: 'wisptapB' }],
  ]);
  assert.equal(nets[0]!.mac, '06:00:ac:10:00:02');
  assert.deepEqual(nets[0]!.rxRateLimiter, { ops: { size: 10, refill_time: 100 } });
  assert.deepEqual(r.builder.specs[0]!.mmds?.networkInterfaces, ['eth0']);
  const cfg = await r.c.handle({ type: 'GetFullVmConfig' });
  assert.equal(cfg.type, 'FullVmConfig');
  if (cfg.type === 'FullVmConfig') {
    assert.deepEqual(cfg.config['network-interfaces'], [eth0, { iface_id: 'net1', host_dev_name: 'wisptapB' }]);
    assert.deepEqual(cfg.config['mmds-config']?.network_interfaces, ['eth0']);
  }
  // The restored machine serves the MMDS: its data store (not saved) is filled again through the API.
  await r.c.handle({ type: 'PutMmds', value: new Map([['latest', 'x']]) });
  assert.deepEqual(r.builder.calls.filter((x) => x.startsWith('update-mmds')), ['update-mmds {"latest":"x"}']);

  // The same interface twice cannot be rebuilt into the saved slots.
  const twice = join(dir, 'net-twice.state');
  writeStateFile(twice, { ...saved, vm_config: { ...saved.vm_config, 'network-interfaces': [eth0, eth0] } });
  assert.match((await refused(setup().c, load(twice))).message, /network interface "eth0" appears twice/);
});
