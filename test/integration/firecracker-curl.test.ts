/**
 * Firecracker's getting-started sequence, driven by the real curl binary over the API socket of
 * `wisp --api-sock …` (the CLI command itself, in-process): logger → boot-source → drives →
 * machine-config → InstanceStart, then GET / and PATCH /vm. The machine seam is the recording test
 * double, so what this proves is the control plane: the spec the machine would boot from, the state
 * machine, the log file and the answers — checked against firecracker-api.yaml.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { run } from '../../src/cli/commands/firecracker.js';
import { checkRequest, checkResponse, loadApiSpec } from '../helpers/api-spec.js';
import { RecordingVmBuilder } from '../helpers/recording-vm-builder.js';
import { curl } from '../helpers/curl.js';



test('getting started with curl: configure, start, inspect, pause and resume', async () => {
  const spec = loadApiSpec();
  const dir = mkdtempSync(join(tmpdir(), 'wisp-curl-'));
  const sock = join(dir, 'firecracker.socket');
  const kernel = join(dir, 'vmlinux');
  const rootfs = join(dir, 'rootfs.ext4');
  const logPath = join(dir, 'fc.log');
  writeFileSync(kernel, 'kernel');
  writeFileSync(rootfs, 'rootfs');
  writeFileSync(logPath, '');

  const builder = new RecordingVmBuilder();
  let stop!: () => void;
  let onReady!: () => void;
  const ready = new Promise<void>((r) => (onReady = r));
  const exitCode = run(['--api-sock', sock, '--id', 'curl-vm'], {
    builder,
    stop: new Promise<void>((r) => (stop = r)),
    stderr: { write: () => true },
    onReady: () => onReady(),
  });
  await Promise.race([ready, exitCode.then((c) => assert.fail(`wisp exited early with ${c}`))]);

  const step = async (method: string, path: string, body: unknown, status: number) => {
    assert.deepEqual(checkRequest(spec, method, path, body), [], `${method} ${path}`);
    const r = await curl(sock, method, path, body);
    assert.equal(r.status, status, `${method} ${path}: ${JSON.stringify(r.body)}`);
    assert.deepEqual(checkResponse(spec, method, path, r.status, r.body), [], `${method} ${path} response`);
    return r;
  };

  await step('PUT', '/logger', { log_path: logPath, level: 'Debug', show_level: true, show_log_origin: true }, 204);
  await step('PUT', '/boot-source', { kernel_image_path: kernel, boot_args: 'console=ttyS0 reboot=k panic=1 pci=off' }, 204);
  await step('PUT', '/drives/rootfs', { drive_id: 'rootfs', path_on_host: rootfs, is_root_device: true, is_read_only: false }, 204);
  await step('PUT', '/machine-config', { vcpu_count: 2, mem_size_mib: 1024 }, 204);
  let info = await step('GET', '/', undefined, 200);
  assert.equal((info.body as { state: string }).state, 'Not started');
  await step('PUT', '/actions', { action_type: 'InstanceStart' }, 204);

  // What the machine was asked to boot.
  assert.equal(builder.specs.length, 1);
  const s = builder.specs[0]!;
  assert.equal(s.instanceId, 'curl-vm');
  assert.equal(s.vcpuCount, 2);
  assert.equal(s.memSizeMib, 1024);
  assert.equal(s.kernel.path, kernel);
  assert.equal(s.kernel.cmdline, 'console=ttyS0 reboot=k panic=1 pci=off root=/dev/vda rw');
  assert.deepEqual(s.drives.map((d) => [d.id, d.path, d.isRoot, d.readOnly]), [['rootfs', rootfs, true, false]]);

  info = await step('GET', '/', undefined, 200);
  assert.deepEqual(info.body, { id: 'curl-vm', state: 'Running', vmm_version: '0.1.0', app_name: 'wisp' });
  await step('PATCH', '/vm', { state: 'Paused' }, 204);
  assert.equal(((await step('GET', '/', undefined, 200)).body as { state: string }).state, 'Paused');
  await step('PATCH', '/vm', { state: 'Resumed' }, 204);
  assert.equal(((await step('GET', '/', undefined, 200)).body as { state: string }).state, 'Running');
  assert.deepEqual(builder.calls, ['build', 'pause', 'resume']);
  // Configuration is closed now.
  const late = await step('PUT', '/machine-config', { vcpu_count: 1, mem_size_mib: 128 }, 400);
  assert.equal((late.body as { fault_message: string }).fault_message, 'The requested operation is not supported after starting the microVM.');

  // The log file got Firecracker-shaped lines with level and origin.
  const log = readFileSync(logPath, 'utf8');
  assert.match(log, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9} \[curl-vm:main:INFO:api_server\] The API server received a Put request on "\/boot-source" with body /m);
  assert.match(log, /\[curl-vm:main:INFO:api_server\] 'pause vm' API request took \d+ us\./);

  stop();
  assert.equal(await exitCode, 0);
  assert.ok(builder.calls.includes('stop'), 'the machine is stopped when the VMM ends');
});
