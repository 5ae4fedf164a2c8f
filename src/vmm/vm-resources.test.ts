import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DEFAULT_KERNEL_CMDLINE, VmResources, VmResourcesError, isValidResourceId, type VmResourcesErrorCode } from './vm-resources.js';

const dir = mkdtempSync(join(tmpdir(), 'wisp-res-'));
const file = (name: string): string => {
  const p = join(dir, name);
  writeFileSync(p, 'x');
  return p;
};
const kernel = file('vmlinux');
const disk = file('disk.img');

function code(f: () => void): VmResourcesErrorCode {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof VmResourcesError, String(e));
    return e.code;
  }
  assert.fail('expected a VmResourcesError');
}

test('machine config: Firecracker defaults, vCPU and memory rules, nothing half-applied', () => {
  const r = new VmResources();
  assert.deepEqual(r.machineConfig, { vcpu_count: 1, mem_size_mib: 128, smt: false, track_dirty_pages: false, huge_pages: 'None' });
  assert.equal(code(() => r.updateMachineConfig({ vcpu_count: 0 })), 'invalid-vcpu-count');
  assert.equal(code(() => r.updateMachineConfig({ vcpu_count: 33 })), 'invalid-vcpu-count');
  assert.equal(code(() => r.updateMachineConfig({ mem_size_mib: 0 })), 'invalid-memory-size');
  assert.equal(code(() => r.updateMachineConfig({ mem_size_mib: 1 << 20 })), 'invalid-memory-size');
  assert.equal(code(() => r.updateMachineConfig({ smt: true })), 'smt-not-supported');
  assert.equal(code(() => r.updateMachineConfig({ cpu_template: 'T2' })), 'cpu-template-not-supported');
  assert.equal(code(() => r.updateMachineConfig({ huge_pages: '2M' })), 'huge-pages-not-supported');
  // A failing update with a valid field in it changes nothing.
  assert.equal(code(() => r.updateMachineConfig({ vcpu_count: 2, mem_size_mib: 0 })), 'invalid-memory-size');
  assert.equal(r.machineConfig.vcpu_count, 1);
  r.updateMachineConfig({ vcpu_count: 2, mem_size_mib: 256, cpu_template: 'None', track_dirty_pages: true });
  assert.deepEqual(r.machineConfig, { vcpu_count: 2, mem_size_mib: 256, smt: false, track_dirty_pages: true, huge_pages: 'None' });
});

test('boot source: kernel and initrd must open now; the command line must fit', () => {
  const r = new VmResources();
  assert.equal(code(() => r.setBootSource({ kernel_image_path: join(dir, 'missing') })), 'invalid-kernel-path');
  try {
    r.setBootSource({ kernel_image_path: join(dir, 'missing') });
  } catch (e) {
    assert.match((e as Error).message, /^The kernel file cannot be opened: No such file or directory \(os error 2\)$/);
  }
  assert.equal(code(() => r.setBootSource({ kernel_image_path: kernel, initrd_path: join(dir, 'nope') })), 'invalid-initrd-path');
  assert.equal(code(() => r.setBootSource({ kernel_image_path: kernel, boot_args: 'x'.repeat(1024) })), 'invalid-kernel-cmdline');
  assert.equal(code(() => r.setBootSource({ kernel_image_path: kernel, boot_args: 'a\nb' })), 'invalid-kernel-cmdline');
  assert.equal(r.bootSourceConfig, undefined);
  r.setBootSource({ kernel_image_path: kernel });
  assert.deepEqual(r.bootSourceConfig, { kernel_image_path: kernel });
});

test('boot source: a kernel shorter than its own headers promise is refused at PUT time', () => {
  // An Image with an EFI stub whose one PE section (at 0x1000, 0x10000 bytes) ends past the 8 KiB file.
  const b = Buffer.alloc(0x2000);
  b.write('MZ', 0, 'latin1');
  b.writeUInt32LE(0x05435352, 0x38);
  b.writeUInt32LE(0x40, 0x3c);
  b.writeUInt32LE(0x4550, 0x40);
  b.writeUInt16LE(1, 0x46);
  b.writeUInt32LE(0x10000, 0x58 + 16);
  b.writeUInt32LE(0x1000, 0x58 + 20);
  const cut = join(dir, 'cut-Image');
  writeFileSync(cut, b);
  const r = new VmResources();
  assert.throws(() => r.setBootSource({ kernel_image_path: cut }), /^VmResourcesError: The kernel file cannot be used: the file is truncated: its headers promise 69632 bytes, the file has 8192$/);
  assert.equal(r.bootSourceConfig, undefined);
});

test('drives: id rule, one root kept first, path opened with the requested access, replace in place', () => {
  const r = new VmResources();
  const d = (drive_id: string, is_root_device: boolean, extra = {}) => ({ drive_id, path_on_host: disk, is_root_device, is_read_only: false, ...extra });
  assert.equal(code(() => r.insertBlockDevice(d('bad-id', false))), 'invalid-drive-id');
  assert.equal(code(() => r.insertBlockDevice({ drive_id: 'a', is_root_device: false, is_read_only: true })), 'missing-drive-field');
  assert.equal(code(() => r.insertBlockDevice({ drive_id: 'a', is_root_device: false, path_on_host: disk })), 'missing-drive-field');
  assert.equal(code(() => r.insertBlockDevice(d('a', false, { socket: '/s' }))), 'vhost-user-not-supported');
  assert.equal(code(() => r.insertBlockDevice(d('a', false, { io_engine: 'Async' }))), 'io-engine-not-supported');
  assert.equal(code(() => r.insertBlockDevice(d('a', false, { path_on_host: join(dir, 'none') }))), 'invalid-block-device-path');
  assert.equal(code(() => r.insertBlockDevice(d('a', false, { path_on_host: dir }))), 'invalid-block-device-path');
  r.insertBlockDevice(d('data', false));
  r.insertBlockDevice(d('rootfs', true));
  assert.equal(code(() => r.insertBlockDevice(d('other', true))), 'root-device-already-added');
  r.insertBlockDevice(d('rootfs', true, { is_read_only: true })); // updating the root itself is fine
  assert.deepEqual(r.blockDevices.map((x) => [x.drive_id, x.is_read_only, x.cache_type]), [['rootfs', true, 'Unsafe'], ['data', false, 'Unsafe']]);
  // A PATCHed rate limiter keeps the buckets the PATCH left out, as the running device does.
  r.insertBlockDevice(d('data', false, { rate_limiter: { bandwidth: { size: 1000, refill_time: 100 }, ops: { size: 5, refill_time: 100 } } }));
  r.recordDriveUpdate('data', undefined, { ops: { size: 9, refill_time: 50 } });
  assert.deepEqual(r.blockDevices.find((x) => x.drive_id === 'data')!.rate_limiter, { bandwidth: { size: 1000, refill_time: 100 }, ops: { size: 9, refill_time: 50 } });
  for (let i = 0; i < 6; i++) r.insertBlockDevice(d(`x${i}`, false));
  assert.equal(code(() => r.insertBlockDevice(d('ninth', false))), 'no-free-device-slot');
  assert.equal(code(() => r.setEntropyDevice({})), 'no-free-device-slot');
});

test('machine spec: root drive adds root= and ro/rw; partuuid wins; defaults filled in', () => {
  const r = new VmResources();
  assert.throws(() => r.machineSpec('i'), /without kernel configuration/);
  r.setBootSource({ kernel_image_path: kernel });
  assert.equal(r.machineSpec('i').kernel.cmdline, DEFAULT_KERNEL_CMDLINE);
  r.insertBlockDevice({ drive_id: 'rootfs', path_on_host: disk, is_root_device: true, is_read_only: true });
  r.setEntropyDevice({});
  const spec = r.machineSpec('vm1', true);
  assert.equal(spec.kernel.cmdline, `${DEFAULT_KERNEL_CMDLINE} root=/dev/vda ro`);
  assert.deepEqual(spec.drives, [{ id: 'rootfs', path: disk, readOnly: true, isRoot: true, partuuid: undefined, cacheType: 'Unsafe', rateLimiter: undefined }]);
  assert.equal(spec.instanceId, 'vm1');
  assert.equal(spec.bootTimer, true);
  assert.deepEqual(spec.entropy, { rateLimiter: undefined });
  r.setBootSource({ kernel_image_path: kernel, boot_args: 'console=ttyS0' });
  r.insertBlockDevice({ drive_id: 'rootfs', path_on_host: disk, is_root_device: true, is_read_only: false, partuuid: '0eaa91a0-01' });
  assert.equal(r.machineSpec('i').kernel.cmdline, 'console=ttyS0 root=PARTUUID=0eaa91a0-01 rw');
});

test('resource ids: alphanumeric (Unicode too) and underscore only', () => {
  for (const ok of ['rootfs', 'a_1', 'é9']) assert.ok(isValidResourceId(ok), ok);
  for (const bad of ['', 'a-b', 'a b', 'a.b', 'a/b']) assert.ok(!isValidResourceId(bad), bad);
});

test('serial: an enabled rate_limiter is refused (not silently ignored); a disabled one is accepted', () => {
  const r = new VmResources();
  assert.throws(() => r.setSerial({ serial_out_path: '/dev/null', rate_limiter: { size: 1000, refill_time: 100 } }),
    (e: unknown) => e instanceof VmResourcesError && e.code === 'serial-rate-limiter-not-supported' && /not supported/.test(e.message));
  assert.equal(r.serialConfig.serial_out_path, undefined, 'nothing half-applied');
  r.setSerial({ serial_out_path: '/dev/null', rate_limiter: { size: 0, refill_time: 100 } });
  assert.equal(r.serialConfig.serial_out_path, '/dev/null');
});

test('user-mode network: a chosen IPv4 set-up is checked and reaches the machine spec', () => {
  const r = new VmResources();
  r.setBootSource({ kernel_image_path: kernel });
  const v4 = (o: Partial<{ address: string; prefix_length: number; gateway: string; dns_forward: string }>) => ({ address: '10.0.2.15', prefix_length: 24, gateway: '10.0.2.2', ...o });
  const put = (ipv4: ReturnType<typeof v4>) => () => r.insertNetworkInterface({ iface_id: 'eth0', user_mode: { ipv4 } });
  assert.equal(code(put(v4({ gateway: '10.0.3.2' }))), 'invalid-user-mode-ipv4');
  assert.equal(code(put(v4({ dns_forward: '10.0.2.15' }))), 'invalid-user-mode-ipv4');
  assert.equal(code(put(v4({ gateway: '10.0.2.255' }))), 'invalid-user-mode-ipv4');
  assert.equal(code(put(v4({ address: '10.0.2.0' }))), 'invalid-user-mode-ipv4');
  assert.equal(code(put(v4({ prefix_length: 31 }))), 'invalid-user-mode-ipv4');
  assert.equal(code(put(v4({ prefix_length: 7 }))), 'invalid-user-mode-ipv4');
  assert.equal(code(put(v4({ gateway: '10.0.2' }))), 'invalid-user-mode-ipv4');
  assert.equal(r.machineSpec('t').nets?.length ?? 0, 0, 'nothing stored by a refused PUT');
  put(v4({ dns_forward: '10.0.2.3' }))();
  r.insertNetworkInterface({ iface_id: 'eth1', user_mode: {} });
  const nets = r.machineSpec('t').nets ?? [];
  assert.deepEqual(nets[0].backend, { kind: 'user', publish: [], ipv4: { address: '10.0.2.15', prefixLength: 24, gateway: '10.0.2.2', dnsForward: '10.0.2.3' } });
  assert.deepEqual(nets[1].backend, { kind: 'user', publish: [] }, 'without ipv4, passt picks its defaults');
});
