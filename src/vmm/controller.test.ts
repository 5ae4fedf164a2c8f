import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { RecordingVmBuilder } from '../../test/helpers/recording-vm-builder.js';
import { MemoryLineWriter } from '../logger/line-writer.js';
import { Logger } from '../logger/logger.js';
import { createMetrics } from '../metrics/metrics.js';
import type { VmmAction } from './actions.js';
import { VmmController } from './controller.js';
import { VmmActionError } from './vmm-action-error.js';

const dir = mkdtempSync(join(tmpdir(), 'wisp-ctl-'));
const kernel = join(dir, 'kernel');
writeFileSync(kernel, 'k');
const disk = join(dir, 'disk');
writeFileSync(disk, 'd');

function setup() {
  const builder = new RecordingVmBuilder();
  const log = new MemoryLineWriter();
  const logger = new Logger(log, 'ctl-test');
  const metrics = createMetrics();
  const c = new VmmController({ instanceId: 'ctl-test', builder, logger, metrics });
  return { c, builder, log, metrics };
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

const RUNTIME_ONLY: VmmAction[] = [
  { type: 'Pause' },
  { type: 'Resume' },
  { type: 'FlushMetrics' },
  { type: 'SendCtrlAltDel' },
  { type: 'UpdateBlockDevice', config: { drive_id: 'rootfs' } },
];

test('before the start: runtime operations are refused with Firecracker\'s message', async () => {
  const { c } = setup();
  for (const a of RUNTIME_ONLY) {
    const e = await refused(c, a);
    assert.equal(e.code, 'OperationNotSupportedPreBoot', a.type);
    assert.equal(e.message, 'The requested operation is not supported before starting the microVM.');
  }
  assert.equal(c.state, 'Not started');
});

test('InstanceStart needs a kernel, hands the builder the spec, then configuration is closed', async () => {
  const { c, builder } = setup();
  assert.equal((await refused(c, { type: 'StartMicroVm' })).message, 'Cannot start microvm without kernel configuration.');
  await c.handle({ type: 'ConfigureBootSource', config: { kernel_image_path: kernel, boot_args: 'console=ttyS0' } });
  await c.handle({ type: 'InsertBlockDevice', config: { drive_id: 'rootfs', path_on_host: disk, is_root_device: true, is_read_only: false } });
  await c.handle({ type: 'PutMachineConfiguration', config: { vcpu_count: 2, mem_size_mib: 256, smt: false, track_dirty_pages: false, huge_pages: 'None' } });
  assert.deepEqual(await c.handle({ type: 'StartMicroVm' }), { type: 'Empty' });
  assert.equal(c.state, 'Running');
  assert.equal(builder.specs.length, 1);
  assert.equal(builder.specs[0]!.vcpuCount, 2);
  assert.equal(builder.specs[0]!.kernel.cmdline, 'console=ttyS0 root=/dev/vda rw');
  const preboot: VmmAction[] = [
    { type: 'ConfigureBootSource', config: { kernel_image_path: kernel } },
    { type: 'InsertBlockDevice', config: { drive_id: 'x', path_on_host: disk, is_root_device: false, is_read_only: true } },
    { type: 'UpdateMachineConfiguration', config: { vcpu_count: 1 } },
    { type: 'SetEntropyDevice', config: {} },
    { type: 'ConfigureSerial', config: {} },
    { type: 'ConfigureLogger', config: {} },
    { type: 'ConfigureMetrics', config: { metrics_path: disk } },
    { type: 'StartMicroVm' },
  ];
  for (const a of preboot) {
    const e = await refused(c, a);
    assert.equal(e.message, 'The requested operation is not supported after starting the microVM.', a.type);
  }
  assert.equal(builder.calls.filter((x) => x === 'build').length, 1);
});

test('Running ↔ Paused through the machine handle; pause twice is one pause', async () => {
  const { c, builder } = setup();
  await c.handle({ type: 'ConfigureBootSource', config: { kernel_image_path: kernel } });
  await c.handle({ type: 'StartMicroVm' });
  await c.handle({ type: 'Pause' });
  await c.handle({ type: 'Pause' });
  assert.equal(c.state, 'Paused');
  const info = await c.handle({ type: 'GetVmInstanceInfo' });
  assert.deepEqual(info, { type: 'InstanceInformation', info: { id: 'ctl-test', state: 'Paused', vmm_version: '0.1.0', app_name: 'wisp' } });
  await c.handle({ type: 'Resume' });
  assert.equal(c.state, 'Running');
  assert.deepEqual(builder.calls, ['build', 'pause', 'resume']);
  // A machine error becomes a VmmActionError, not a crash.
  const e = await refused(c, { type: 'SendCtrlAltDel' });
  assert.match(e.message, /^Cannot send Ctrl\+Alt\+Del: the test machine has no keyboard$/);
});

test('a failed build leaves the VM not started and can be retried', async () => {
  const { c, builder } = setup();
  await c.handle({ type: 'ConfigureBootSource', config: { kernel_image_path: kernel } });
  builder.failWith = 'kernel image is not a RISC-V Image';
  const e = await refused(c, { type: 'StartMicroVm' });
  assert.equal(e.code, 'StartMicrovm');
  assert.equal(e.message, 'kernel image is not a RISC-V Image');
  assert.equal(c.state, 'Not started');
  await c.handle({ type: 'StartMicroVm' });
  assert.equal(c.state, 'Running');
});

test('PATCH drive after boot: unknown id and unopenable path refused; success recorded in /vm/config', async () => {
  const { c, builder } = setup();
  await c.handle({ type: 'ConfigureBootSource', config: { kernel_image_path: kernel } });
  await c.handle({ type: 'InsertBlockDevice', config: { drive_id: 'data', path_on_host: disk, is_root_device: false, is_read_only: false } });
  await c.handle({ type: 'StartMicroVm' });
  assert.match((await refused(c, { type: 'UpdateBlockDevice', config: { drive_id: 'nope' } })).message, /no drive with this id/);
  assert.match((await refused(c, { type: 'UpdateBlockDevice', config: { drive_id: 'data', path_on_host: join(dir, 'gone') } })).message, /cannot be opened: No such file/);
  const disk2 = join(dir, 'disk2');
  writeFileSync(disk2, '');
  await c.handle({ type: 'UpdateBlockDevice', config: { drive_id: 'data', path_on_host: disk2 } });
  assert.ok(builder.calls.includes(`update-drive data ${disk2}`));
  const full = await c.handle({ type: 'GetFullVmConfig' });
  assert.equal(full.type === 'FullVmConfig' && full.config.drives[0]!.path_on_host, disk2);
});

test('resources without devices are refused by name, before and after boot', async () => {
  const { c } = setup();
  const e = await refused(c, { type: 'Unsupported', resource: 'balloon', method: 'PUT' });
  assert.equal(e.code, 'NotSupported');
  assert.match(e.message, /^The requested operation is not supported: wisp does not build the balloon device/);
});

test('actions are applied one at a time in arrival order', async () => {
  const { c } = setup();
  const order: string[] = [];
  const ps = [
    c.handle({ type: 'UpdateMachineConfiguration', config: { vcpu_count: 2 } }).then(() => order.push('a')),
    c.handle({ type: 'UpdateMachineConfiguration', config: { vcpu_count: 0 } }).catch(() => order.push('b-failed')),
    c.handle({ type: 'GetVmMachineConfig' }).then((d) => order.push(`c:${d.type === 'MachineConfiguration' && d.config.vcpu_count}`)),
  ];
  await Promise.all(ps);
  assert.deepEqual(order, ['a', 'b-failed', 'c:2']);
});

test('metrics: configured once, flushed on FlushMetrics with machine counters folded in', async () => {
  const { c, builder, metrics } = setup();
  const path = join(dir, 'metrics.ndjson');
  writeFileSync(path, '');
  await c.handle({ type: 'ConfigureMetrics', config: { metrics_path: path, emit_id: true } });
  assert.equal((await refused(c, { type: 'ConfigureMetrics', config: { metrics_path: path } })).message, 'Reinitialization of metrics not allowed.');
  await c.handle({ type: 'ConfigureBootSource', config: { kernel_image_path: kernel } });
  await c.handle({ type: 'StartMicroVm' });
  metrics.put_api_requests.drive_count.inc(3);
  builder.metrics = { block_rootfs: { read_count: 5 }, uart: { write_count: 7 } };
  await c.handle({ type: 'FlushMetrics' });
  await c.handle({ type: 'FlushMetrics' });
  const lines = readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.length, 2);
  assert.equal(lines[0].id, 'ctl-test');
  assert.equal(lines[0].put_api_requests.drive_count, 3);
  assert.equal(lines[0].block_rootfs.read_count, 5);
  assert.equal(lines[0].uart.write_count, 7);
  assert.equal(lines[1].put_api_requests.drive_count, 0, 'counters report the delta since the previous flush');
  assert.equal(lines[1].block_rootfs, undefined);
  await c.shutdown();
});

test('the guest powering off settles `exited` with its exit code', async () => {
  const { c, builder } = setup();
  await c.handle({ type: 'ConfigureBootSource', config: { kernel_image_path: kernel } });
  await c.handle({ type: 'StartMicroVm' });
  builder.exit({ reason: 'shutdown', exitCode: 0 });
  assert.deepEqual(await c.exited, { reason: 'shutdown', exitCode: 0 });
});
