/**
 * The API through a real Unix socket against the real controller (the machine seam only records).
 * Every request a case sends and every answer it gets is checked against firecracker-api.yaml.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { checkRequest, checkResponse, loadApiSpec } from '../../test/helpers/api-spec.js';
import { RecordingVmBuilder } from '../../test/helpers/recording-vm-builder.js';
import { exchange, request, type RawResponse } from '../../test/helpers/unix-http-client.js';
import { MemoryLineWriter } from '../logger/line-writer.js';
import { Logger } from '../logger/logger.js';
import { createMetrics } from '../metrics/metrics.js';
import { VmmController } from '../vmm/controller.js';
import { ApiServer, MAX_CONNECTIONS } from './api-server.js';

const spec = loadApiSpec();
const dir = mkdtempSync(join(tmpdir(), 'wisp-api-'));
const kernel = join(dir, 'vmlinux');
const disk = join(dir, 'rootfs.ext4');
writeFileSync(kernel, 'k');
writeFileSync(disk, 'd');

interface Env {
  sock: string;
  server: ApiServer;
  controller: VmmController;
  builder: RecordingVmBuilder;
  log: MemoryLineWriter;
  metrics: ReturnType<typeof createMetrics>;
}

let n = 0;
async function startEnv(maxPayload?: number, opts: { mmdsSizeLimit?: number } = {}): Promise<Env> {
  const sock = join(dir, `api-${n++}.sock`);
  const builder = new RecordingVmBuilder();
  const log = new MemoryLineWriter();
  const logger = new Logger(log, 'api-test');
  const metrics = createMetrics();
  const controller = new VmmController({ instanceId: 'api-test', builder, logger, metrics, ...opts });
  const server = new ApiServer({ socketPath: sock, backend: controller, logger, metrics, maxPayload });
  await server.listen();
  return { sock, server, controller, builder, log, metrics };
}

/** Sends a request and checks both directions against the spec (a request expected to succeed must be valid). */
async function call(env: Env, method: string, path: string, body?: unknown): Promise<RawResponse> {
  const r = await request(env.sock, method, path, body);
  const bodyValue = typeof body === 'string' ? safeJson(body) : body;
  if (r.status < 300 && typeof body !== 'string') assert.deepEqual(checkRequest(spec, method, path, bodyValue), [], `${method} ${path}: request breaks the spec`);
  assert.deepEqual(checkResponse(spec, method, path, r.status, r.body), [], `${method} ${path} → ${r.status}: response breaks the spec`);
  return r;
}
function safeJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return s;
  }
}

let env: Env;
before(async () => {
  env = await startEnv();
});
after(async () => {
  await env.server.close();
});

const NOT_BEFORE = 'The requested operation is not supported before starting the microVM.';

interface Case {
  name: string;
  method: string;
  path: string;
  body?: unknown;
  fault: string | RegExp;
  /** The spec itself rejects this request body (so the refusal is required, not a wisp choice). */
  specRejects?: boolean;
}

const ERROR_CASES: Case[] = [
  { name: 'unknown path', method: 'GET', path: '/foo', fault: 'Invalid request method and/or path: GET foo.' },
  { name: 'GET /vm without /config', method: 'GET', path: '/vm', fault: 'Invalid request method and/or path: GET vm.' },
  { name: 'PUT on a PATCH-only path', method: 'PUT', path: '/vm', body: { state: 'Paused' }, fault: 'Invalid request method and/or path: PUT vm.' },
  { name: 'PATCH on a PUT-only path', method: 'PATCH', path: '/boot-source', body: { kernel_image_path: kernel }, fault: 'Invalid request method and/or path: PATCH boot-source.' },
  { name: 'GET with a body', method: 'GET', path: '/', body: {}, fault: 'GET request cannot have a body.' },
  { name: 'GET machine-config with a body', method: 'GET', path: '/machine-config', body: '{"a":1}', fault: 'GET request cannot have a body.' },
  { name: 'empty PUT', method: 'PUT', path: '/boot-source', fault: 'Empty PUT request.' },
  { name: 'empty PUT on an unknown path', method: 'PUT', path: '/nothing', fault: 'Empty PUT request.' },
  { name: 'empty PATCH', method: 'PATCH', path: '/drives/rootfs', fault: 'Empty PATCH request.' },
  { name: 'PATCH machine-config with nothing in it', method: 'PATCH', path: '/machine-config', body: {}, fault: 'Empty PATCH request.' },
  { name: 'drive without id', method: 'PUT', path: '/drives', body: { drive_id: 'a', is_root_device: false }, fault: 'The ID cannot be empty.' },
  { name: 'drive with trailing slash only', method: 'PUT', path: '/drives/', body: { drive_id: 'a', is_root_device: false }, fault: 'The ID cannot be empty.' },
  { name: 'invalid drive id', method: 'PUT', path: '/drives/root-fs', body: { drive_id: 'root-fs', is_root_device: false }, fault: 'API Resource IDs can only contain alphanumeric characters and underscores.' },
  { name: 'path id ≠ body id (PUT drive)', method: 'PUT', path: '/drives/a', body: { drive_id: 'b', path_on_host: disk, is_root_device: false, is_read_only: false }, fault: 'The id from the path does not match the id from the body!' },
  { name: 'path id ≠ body id (PATCH drive)', method: 'PATCH', path: '/drives/a', body: { drive_id: 'b' }, fault: 'The id from the path does not match the id from the body!' },
  { name: 'path id ≠ body id (net)', method: 'PUT', path: '/network-interfaces/eth0', body: { iface_id: 'eth1', host_dev_name: 'tap0' }, fault: 'The id from the path does not match the id from the body!' },
  {
    name: 'unknown field', method: 'PUT', path: '/boot-source', body: { kernel_image_path: kernel, kernel_args: 'x' },
    fault: /^An error occurred when deserializing the json body of a request: unknown field `kernel_args`, expected one of `kernel_image_path`, `initrd_path`, `boot_args` at line 1 column \d+\.$/,
  },
  { name: 'missing field', method: 'PUT', path: '/machine-config', body: { vcpu_count: 2 }, fault: /deserializing the json body of a request: missing field `mem_size_mib` at line 1 column 16\.$/, specRejects: true },
  { name: 'wrong type', method: 'PUT', path: '/drives/a', body: { drive_id: 'a', is_root_device: 'yes' }, fault: /invalid type: string "yes", expected a boolean/, specRejects: true },
  { name: 'not JSON', method: 'PUT', path: '/boot-source', body: 'kernel=/x', fault: 'An error occurred when deserializing the json body of a request: expected value at line 1 column 1.' },
  { name: 'unknown action', method: 'PUT', path: '/actions', body: { action_type: 'Reboot' }, fault: /unknown variant `Reboot`, expected one of `FlushMetrics`, `InstanceStart`, `SendCtrlAltDel`/, specRejects: true },
  { name: 'vcpu count 0', method: 'PUT', path: '/machine-config', body: { vcpu_count: 0, mem_size_mib: 128 }, fault: /^The number of vCPUs must be greater than 0/, specRejects: true },
  { name: 'kernel that does not exist', method: 'PUT', path: '/boot-source', body: { kernel_image_path: join(dir, 'nope') }, fault: 'The kernel file cannot be opened: No such file or directory (os error 2)' },
  { name: 'drive path that does not exist', method: 'PUT', path: '/drives/rootfs', body: { drive_id: 'rootfs', path_on_host: join(dir, 'nope'), is_root_device: true, is_read_only: false }, fault: /^Cannot attach drive "rootfs": the block device path ".*nope" cannot be opened: No such file or directory \(os error 2\)$/ },
  { name: 'bad cache type', method: 'PUT', path: '/drives/rootfs', body: { drive_id: 'rootfs', path_on_host: disk, is_root_device: true, is_read_only: false, cache_type: 'Fast' }, fault: /unknown variant `Fast`, expected `Unsafe` or `Writeback`/, specRejects: true },
  { name: 'FlushMetrics before boot', method: 'PUT', path: '/actions', body: { action_type: 'FlushMetrics' }, fault: NOT_BEFORE },
  { name: 'pause before boot', method: 'PATCH', path: '/vm', body: { state: 'Paused' }, fault: NOT_BEFORE },
  { name: 'PATCH drive before boot', method: 'PATCH', path: '/drives/rootfs', body: { drive_id: 'rootfs', path_on_host: disk }, fault: NOT_BEFORE },
  { name: 'bad vm state', method: 'PATCH', path: '/vm', body: { state: 'Stopped' }, fault: /unknown variant `Stopped`, expected `Paused` or `Resumed`/, specRejects: true },
  { name: 'InstanceStart without kernel', method: 'PUT', path: '/actions', body: { action_type: 'InstanceStart' }, fault: 'Cannot start microvm without kernel configuration.' },
  { name: 'tap that does not exist', method: 'PUT', path: '/network-interfaces/eth0', body: { iface_id: 'eth0', host_dev_name: 'wispnotap0' }, fault: /^Could not create the network device: Open tap device failed: Tap device "wispnotap0" does not exist: create it first \(ip tuntap add dev wispnotap0 mode tap/ },
  { name: 'tap name no interface can have', method: 'PUT', path: '/network-interfaces/eth0', body: { iface_id: 'eth0', host_dev_name: 'a/b' }, fault: /^Could not create the network device: Open tap device failed: "a\/b" is not a valid network interface name/ },
  { name: 'malformed MAC', method: 'PUT', path: '/network-interfaces/eth0', body: { iface_id: 'eth0', guest_mac: '06:00:AC:10:00', user_mode: {} }, fault: /^Cannot attach network interface "eth0": guest_mac "06:00:AC:10:00" is not a MAC address: expected six hex bytes/ },
  { name: 'multicast MAC', method: 'PUT', path: '/network-interfaces/eth0', body: { iface_id: 'eth0', guest_mac: '01:00:5e:00:00:01', user_mode: {} }, fault: /is a multicast address/ },
  { name: 'neither tap nor user mode', method: 'PUT', path: '/network-interfaces/eth0', body: { iface_id: 'eth0' }, fault: /^Cannot attach network interface "eth0": give host_dev_name \(a tap device\) or wisp's user_mode/ },
  { name: 'both tap and user mode', method: 'PUT', path: '/network-interfaces/eth0', body: { iface_id: 'eth0', host_dev_name: 'tap0', user_mode: {} }, fault: /give host_dev_name or user_mode, not both/ },
  { name: 'MTU out of range', method: 'PUT', path: '/network-interfaces/eth0', body: { iface_id: 'eth0', mtu: 67, user_mode: {} }, fault: 'Could not create the network device: MTU 67 is out of range [68, 65535]', specRejects: true },
  { name: 'published port 0', method: 'PUT', path: '/network-interfaces/eth0', body: { iface_id: 'eth0', user_mode: { publish: [{ host_port: 0, guest_port: 80 }] } }, fault: /published ports must be 1 to 65535, got 0:80/, specRejects: true },
  { name: 'published port beyond u16', method: 'PUT', path: '/network-interfaces/eth0', body: { iface_id: 'eth0', user_mode: { publish: [{ host_port: 70000, guest_port: 80 }] } }, fault: /invalid value: integer `70000`, expected u16/, specRejects: true },
  { name: 'user-mode address not IPv4', method: 'PUT', path: '/network-interfaces/eth0', body: { iface_id: 'eth0', user_mode: { ipv4: { address: '10.0.2.256', prefix_length: 24, gateway: '10.0.2.2' } } }, fault: /invalid IPv4 address syntax/ },
  { name: 'user-mode gateway outside the subnet', method: 'PUT', path: '/network-interfaces/eth0', body: { iface_id: 'eth0', user_mode: { ipv4: { address: '10.0.2.15', prefix_length: 24, gateway: '10.0.3.2' } } }, fault: 'Cannot attach network interface "eth0": user_mode.ipv4 gateway 10.0.3.2 is outside 10.0.2.15/24' },
  { name: 'user-mode prefix too long', method: 'PUT', path: '/network-interfaces/eth0', body: { iface_id: 'eth0', user_mode: { ipv4: { address: '10.0.2.15', prefix_length: 31, gateway: '10.0.2.14' } } }, fault: 'Cannot attach network interface "eth0": user_mode.ipv4 prefix_length must be 8 to 30, got 31', specRejects: true },
  { name: 'user-mode ipv4 without gateway', method: 'PUT', path: '/network-interfaces/eth0', body: { iface_id: 'eth0', user_mode: { ipv4: { address: '10.0.2.15', prefix_length: 24 } } }, fault: /missing field `gateway`/, specRejects: true },
  { name: 'invalid iface id', method: 'PUT', path: '/network-interfaces/eth-0', body: { iface_id: 'eth-0', user_mode: {} }, fault: 'API Resource IDs can only contain alphanumeric characters and underscores.' },
  { name: 'PATCH network interface before boot', method: 'PATCH', path: '/network-interfaces/eth0', body: { iface_id: 'eth0', rx_rate_limiter: { ops: { size: 1, refill_time: 100 } } }, fault: NOT_BEFORE },
  { name: 'vsock with a reserved CID', method: 'PUT', path: '/vsock', body: { guest_cid: 2, uds_path: join(dir, 'v.sock') }, fault: /guest_cid 2 is reserved/, specRejects: true },
  { name: 'vsock on a path that exists', method: 'PUT', path: '/vsock', body: { guest_cid: 3, uds_path: disk }, fault: /^Cannot create backend for vsock device: Error binding to the host-side Unix socket ".*": Address already in use \(os error 98\)$/ },
  { name: 'vsock in a directory that does not exist', method: 'PUT', path: '/vsock', body: { guest_cid: 3, uds_path: join(dir, 'no', 'v.sock') }, fault: /No such file or directory \(os error 2\)$/ },
  { name: 'vsock CID past u32', method: 'PUT', path: '/vsock', body: { guest_cid: 2 ** 32, uds_path: join(dir, 'v.sock') }, fault: /invalid value: integer `4294967296`, expected u32/ },
  { name: 'balloon (not built)', method: 'PUT', path: '/balloon', body: { amount_mib: 1, deflate_on_oom: true }, fault: /not supported: wisp does not build the balloon device/ },
  { name: 'balloon GET (not built)', method: 'GET', path: '/balloon', fault: /not supported: wisp does not build the balloon device/ },
  { name: 'mmds PATCH before any PUT', method: 'PATCH', path: '/mmds', body: { latest: {} }, fault: 'The MMDS data store is not initialized.' },
  { name: 'mmds not JSON', method: 'PUT', path: '/mmds', body: '{"a":', fault: /deserializing the json body of a request: EOF while parsing a value/ },
  { name: 'mmds other path', method: 'PUT', path: '/mmds/data', body: {}, fault: 'Unrecognized PUT request path `data`.' },
  { name: 'mmds config for an interface that does not exist', method: 'PUT', path: '/mmds/config', body: { network_interfaces: ['eth0'] }, fault: 'The list of network interface IDs provided contains at least one ID that does not correspond to any existing network interface.' },
  { name: 'mmds config with no interface', method: 'PUT', path: '/mmds/config', body: { network_interfaces: [] }, fault: 'The list of network interface IDs that allow forwarding MMDS requests is empty.' },
  { name: 'mmds config off link-local', method: 'PUT', path: '/mmds/config', body: { network_interfaces: ['eth0'], ipv4_address: '10.0.0.1' }, fault: 'The MMDS IPv4 address is not link local.' },
  { name: 'mmds config with a bad address', method: 'PUT', path: '/mmds/config', body: { network_interfaces: ['eth0'], ipv4_address: '169.254.1.256' }, fault: /invalid IPv4 address syntax/ },
  { name: 'mmds config with a bad version', method: 'PUT', path: '/mmds/config', body: { network_interfaces: ['eth0'], version: 'V3' }, fault: /unknown variant `V3`, expected `V1` or `V2`/, specRejects: true },
  { name: 'snapshot create before boot', method: 'PUT', path: '/snapshot/create', body: { mem_file_path: '/m', snapshot_path: '/s' }, fault: NOT_BEFORE },
  { name: 'snapshot create, bad type', method: 'PUT', path: '/snapshot/create', body: { snapshot_type: 'Half', mem_file_path: '/m', snapshot_path: '/s' }, fault: /unknown variant `Half`, expected `Full` or `Diff`/, specRejects: true },
  { name: 'snapshot load without memory', method: 'PUT', path: '/snapshot/load', body: { snapshot_path: '/s' }, fault: 'An error occurred when deserializing the json body of a request: missing field: either `mem_backend` or `mem_file_path` is required.' },
  {
    name: 'snapshot load with both memory fields', method: 'PUT', path: '/snapshot/load', body: { snapshot_path: '/s', mem_file_path: '/m', mem_backend: { backend_type: 'File', backend_path: '/m' } },
    fault: 'An error occurred when deserializing the json body of a request: too many fields: either `mem_backend` or `mem_file_path` exclusively is required.',
  },
  // (Earlier cases configured the machine: loading a snapshot is then closed, as on Firecracker.)
  { name: 'snapshot load after boot configuration', method: 'PUT', path: '/snapshot/load', body: { snapshot_path: join(dir, 'nope.state'), mem_backend: { backend_type: 'File', backend_path: '/m' } }, fault: 'Load snapshot error: Loading a microVM snapshot not allowed after configuring boot-specific resources.' },
  { name: 'snapshot, unknown operation', method: 'PUT', path: '/snapshot/restore', body: { snapshot_path: '/s' }, fault: 'Invalid request method and/or path: PUT /snapshot/restore.' },
  { name: 'pmem (not built)', method: 'PUT', path: '/pmem/p0', body: { id: 'p0', path_on_host: disk }, fault: /not supported: wisp does not build virtio-pmem/ },
  { name: 'hotplug memory (not built)', method: 'PUT', path: '/hotplug/memory', body: { total_size_mib: 1024 }, fault: /not supported: wisp does not build memory hotplug/ },
];

test('error cases: every one is a 400 with Firecracker\'s fault_message, valid per the spec', async () => {
  for (const c of ERROR_CASES) {
    const r = await call(env, c.method, c.path, c.body);
    assert.equal(r.status, 400, c.name);
    assert.equal(r.headers.get('content-type'), 'application/json', c.name);
    const fault = (r.body as { fault_message: string }).fault_message;
    if (typeof c.fault === 'string') assert.equal(fault, c.fault, c.name);
    else assert.match(fault, c.fault, c.name);
    if (c.specRejects) {
      assert.notDeepEqual(checkRequest(spec, c.method, c.path, typeof c.body === 'string' ? safeJson(c.body) : c.body), [], `${c.name}: the spec should reject this body too`);
    }
  }
  // Nothing in the table may have changed the VM.
  assert.equal(env.controller.state, 'Not started');
  assert.equal(env.builder.calls.length, 0);
});

test('unsupported HTTP methods get micro_http\'s answer and the connection lives on', async () => {
  const ex = await exchange(env.sock, 'POST /actions HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}GET / HTTP/1.1\r\n\r\n', { expect: 2 });
  assert.equal(ex.responses.length, 2);
  assert.equal(ex.responses[0]!.status, 400);
  // Without micro_http's "All previous unanswered requests will be dropped": nothing is dropped here.
  assert.deepEqual(ex.responses[0]!.body, { fault_message: 'Invalid HTTP Method: Unsupported HTTP method.' });
  assert.equal(ex.responses[1]!.status, 200);
});

test('successful configuration answers 204 without a body; GETs answer 200 with spec-valid JSON', async () => {
  const e = await startEnv();
  try {
    const ok = async (m: string, p: string, b?: unknown) => {
      const r = await call(e, m, p, b);
      assert.equal(r.status, 204, `${m} ${p}: ${r.rawBody}`);
      assert.equal(r.rawBody, '');
      assert.equal(r.headers.get('content-length'), undefined);
      return r;
    };
    await ok('PUT', '/logger', { level: 'Debug', show_level: true });
    await ok('PUT', '/boot-source', { kernel_image_path: kernel, boot_args: 'console=ttyS0 reboot=k panic=1' });
    await ok('PUT', '/drives/rootfs', { drive_id: 'rootfs', path_on_host: disk, is_root_device: true, is_read_only: false });
    await ok('PUT', '/machine-config', { vcpu_count: 2, mem_size_mib: 256 });
    await ok('PATCH', '/machine-config', { mem_size_mib: 512 });
    await ok('PUT', '/entropy', {});
    await ok('PUT', '/serial', {});
    const dep = await ok('PUT', '/machine-config', { vcpu_count: 2, mem_size_mib: 512, cpu_template: 'None' });
    assert.equal(dep.headers.get('deprecation'), 'true');
    assert.equal(e.metrics.deprecated_api.deprecated_http_api_calls.count, 1);

    const mc = await call(e, 'GET', '/machine-config');
    assert.deepEqual(mc.body, { vcpu_count: 2, mem_size_mib: 512, smt: false, track_dirty_pages: false, huge_pages: 'None' });
    const v = await call(e, 'GET', '/version');
    assert.deepEqual(v.body, { firecracker_version: '0.1.0' });
    const full = await call(e, 'GET', '/vm/config');
    const cfg = full.body as Record<string, unknown>;
    assert.deepEqual(cfg['boot-source'], { kernel_image_path: kernel, boot_args: 'console=ttyS0 reboot=k panic=1' });
    assert.equal((cfg['drives'] as unknown[]).length, 1);
    assert.deepEqual(cfg['entropy'], {});
    assert.deepEqual(cfg['logger'], { level: 'Debug', show_level: true });
    // The logger took effect: later lines carry the level.
    assert.ok(e.log.lines.some((l) => / \[api-test:main:INFO\] /.test(l)), 'show_level applied');
    assert.equal(e.metrics.put_api_requests.drive_count.count, 1);
    assert.equal(e.metrics.get_api_requests.machine_cfg_count.count, 1);
  } finally {
    await e.server.close();
  }
});

test('network interfaces: PUT (tap or user mode), replace, MAC in use, GET /vm/config, start, PATCH rate limiters', async () => {
  const e = await startEnv();
  try {
    const ok = async (m: string, p: string, b?: unknown) => {
      const r = await call(e, m, p, b);
      assert.equal(r.status, 204, `${m} ${p}: ${r.rawBody}`);
    };
    const fault = async (m: string, p: string, b: unknown, re: RegExp) => {
      const r = await call(e, m, p, b);
      assert.equal(r.status, 400, `${m} ${p}`);
      assert.match((r.body as { fault_message: string }).fault_message, re);
    };
    await ok('PUT', '/boot-source', { kernel_image_path: kernel });
    const eth0 = { iface_id: 'eth0', guest_mac: '06:00:AC:10:00:02', user_mode: { publish: [{ host_port: 18080, guest_port: 80 }, { host_port: 18053, guest_port: 53, protocol: 'udp' }] } };
    await ok('PUT', '/network-interfaces/eth0', eth0);
    await fault('PUT', '/network-interfaces/eth1', { iface_id: 'eth1', guest_mac: '06:00:ac:10:00:02', user_mode: {} }, /^The MAC address is already in use: 06:00:ac:10:00:02$/);
    await fault('PUT', '/network-interfaces/eth1', { iface_id: 'eth1', user_mode: { publish: [{ host_port: 18080, guest_port: 8080 }] } }, /host TCP port 18080 is published twice/);
    await ok('PUT', '/network-interfaces/eth1', { iface_id: 'eth1', user_mode: {}, mtu: 1500, tx_rate_limiter: { bandwidth: { size: 1000, refill_time: 100 } } });
    // Replacing eth0 keeps its place; the same MAC on the same interface is no conflict.
    await ok('PUT', '/network-interfaces/eth0', { ...eth0, rx_rate_limiter: { ops: { size: 10, refill_time: 1000 } } });
    const cfg = (await call(e, 'GET', '/vm/config')).body as { 'network-interfaces': Array<Record<string, unknown>> };
    assert.deepEqual(cfg['network-interfaces'].map((n) => n['iface_id']), ['eth0', 'eth1']);
    assert.deepEqual(cfg['network-interfaces'][0]!['user_mode'], eth0.user_mode);
    assert.deepEqual(cfg['network-interfaces'][0]!['rx_rate_limiter'], { ops: { size: 10, refill_time: 1000 } });
    assert.equal(e.metrics.put_api_requests.network_count.count, 5);
    assert.equal(e.metrics.put_api_requests.network_fails.count, 2);

    await ok('PUT', '/actions', { action_type: 'InstanceStart' });
    const nets = e.builder.specs[0]!.nets!;
    assert.deepEqual(nets.map((n) => [n.id, n.mac, n.mtu]), [['eth0', '06:00:ac:10:00:02', undefined], ['eth1', undefined, 1500]]);
    assert.deepEqual(nets[0]!.backend, { kind: 'user', publish: [{ protocol: 'tcp', hostPort: 18080, guestPort: 80 }, { protocol: 'udp', hostPort: 18053, guestPort: 53 }] });
    await ok('PATCH', '/network-interfaces/eth1', { iface_id: 'eth1', tx_rate_limiter: { ops: { size: 5, refill_time: 100 } } });
    assert.ok(e.builder.calls.includes('update-net eth1'));
    const after = (await call(e, 'GET', '/vm/config')).body as { 'network-interfaces': Array<Record<string, unknown>> };
    assert.deepEqual(after['network-interfaces'][1]!['tx_rate_limiter'], { bandwidth: { size: 1000, refill_time: 100 }, ops: { size: 5, refill_time: 100 } });
    await fault('PATCH', '/network-interfaces/eth9', { iface_id: 'eth9', rx_rate_limiter: {} }, /^Unable to update the net device: Invalid network interface ID - "eth9" was not configured$/);
    await fault('PUT', '/network-interfaces/eth2', { iface_id: 'eth2', user_mode: {} }, /not supported after starting the microVM/);
    assert.equal(e.metrics.patch_api_requests.network_count.count, 2);
  } finally {
    await e.server.close();
  }
});

test('vsock and MMDS: configured, reported by GET /vm/config, MMDS contents put, patched and read back', async () => {
  const e = await startEnv();
  try {
    const uds = join(dir, `api-${process.pid}.sock`);
    let r = await call(e, 'PUT', '/vsock', { guest_cid: 52, uds_path: uds });
    assert.equal(r.status, 204, r.rawBody);
    r = await call(e, 'PUT', '/vsock', { guest_cid: 7, uds_path: uds, vsock_id: 'v' });
    assert.equal(r.status, 204, r.rawBody);
    assert.equal(r.headers.get('deprecation'), 'true');
    const cfg = (await call(e, 'GET', '/vm/config')).body as Record<string, unknown>;
    assert.deepEqual(cfg['vsock'], { guest_cid: 7, uds_path: uds });
    assert.deepEqual(checkResponse(spec, 'GET', '/vm/config', 200, cfg), []);

    r = await call(e, 'GET', '/mmds');
    assert.equal(r.rawBody, '{}', 'an empty store reads as {} (Firecracker)');
    r = await call(e, 'PUT', '/mmds', '{"latest": {"meta-data": {"ami-id": "ami-1", "n": 1.0, "big": 18446744073709551615}}}');
    assert.equal(r.status, 204, r.rawBody);
    r = await call(e, 'PATCH', '/mmds', { latest: { 'meta-data': { 'ami-id': null, zone: 'z' } } });
    assert.equal(r.status, 204, r.rawBody);
    r = await call(e, 'GET', '/mmds');
    assert.equal(r.status, 200);
    assert.equal(r.rawBody, '{"latest":{"meta-data":{"big":18446744073709551615,"n":1.0,"zone":"z"}}}', 'serde_json\'s sorted keys and number forms');
    assert.deepEqual(checkResponse(spec, 'GET', '/mmds', 200, JSON.parse(r.rawBody)), []);
    assert.equal(e.metrics.put_api_requests.mmds_count.count, 1);
    assert.equal(e.metrics.patch_api_requests.mmds_count.count, 1);
    assert.equal(e.metrics.get_api_requests.mmds_count.count, 2);
  } finally {
    await e.server.close();
  }
});

test('an MMDS write past --mmds-size-limit is 413 and changes nothing', async () => {
  const e = await startEnv(undefined, { mmdsSizeLimit: 40 });
  try {
    assert.equal((await call(e, 'PUT', '/mmds', { a: 'x'.repeat(20) })).status, 204);
    let r = await call(e, 'PUT', '/mmds', { a: 'x'.repeat(40) });
    assert.equal(r.status, 413);
    assert.deepEqual(r.body, { fault_message: "The MMDS patch request doesn't fit." });
    r = await call(e, 'PATCH', '/mmds', { b: 'y'.repeat(30) });
    assert.equal(r.status, 413);
    assert.equal((await call(e, 'GET', '/mmds')).rawBody, `{"a":"${'x'.repeat(20)}"}`);
  } finally {
    await e.server.close();
  }
});

test('keep-alive: pipelined requests on one connection are answered in order', async () => {
  const body = JSON.stringify({ vcpu_count: 1, mem_size_mib: 64 });
  const bytes =
    'GET /version HTTP/1.1\r\n\r\n' +
    `PUT /machine-config HTTP/1.1\r\nContent-Length: ${body.length}\r\n\r\n${body}` +
    'GET /machine-config HTTP/1.1\r\n\r\n';
  const ex = await exchange(env.sock, bytes, { expect: 3 });
  assert.deepEqual(ex.responses.map((r) => r.status), [200, 204, 200]);
  assert.equal((ex.responses[2]!.body as { mem_size_mib: number }).mem_size_mib, 64);
  assert.equal(ex.closed, false);
  assert.equal(ex.responses[0]!.headers.get('connection'), 'keep-alive');
});

test('Connection: close and HTTP/1.0 close after the answer; a half-closed client still gets it', async () => {
  let ex = await exchange(env.sock, 'GET / HTTP/1.1\r\nConnection: close\r\n\r\n', { expect: 2, timeoutMs: 1000 });
  assert.equal(ex.responses.length, 1);
  assert.equal(ex.closed, true);
  ex = await exchange(env.sock, 'GET / HTTP/1.0\r\n\r\n', { expect: 2, timeoutMs: 1000 });
  assert.equal(ex.responses.length, 1);
  assert.equal(ex.closed, true);
  ex = await exchange(env.sock, 'GET /version HTTP/1.1\r\n\r\n', { expect: 2, timeoutMs: 1000, halfClose: true });
  assert.equal(ex.responses.length, 1);
  assert.equal(ex.responses[0]!.status, 200);
});

test('Expect: 100-continue gets 100 before the body is sent', async () => {
  const ex = await exchange(env.sock, 'PUT /machine-config HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 37\r\n\r\n', { expect: 1, timeoutMs: 500 });
  assert.equal(ex.interim, 1, 'HTTP/1.1 100 Continue was sent');
  assert.equal(ex.responses.length, 0, 'the final answer cannot come before the body');
});

test('payload limit: a larger body is refused with Firecracker\'s message and the connection closes', async () => {
  const e = await startEnv(250);
  try {
    const body = 'x'.repeat(260);
    const ex = await exchange(e.sock, `PUT /boot-source HTTP/1.1\r\nContent-Length: 260\r\n\r\n${body}`, { expect: 2, timeoutMs: 1000 });
    assert.equal(ex.responses.length, 1);
    assert.equal(ex.responses[0]!.status, 400);
    assert.deepEqual(ex.responses[0]!.body, {
      fault_message: 'Request payload with size 260 is larger than the limit of 250 allowed by server.\nAll previous unanswered requests will be dropped.',
    });
    assert.equal(ex.closed, true);
    // A body at the limit is read normally.
    const atLimit = JSON.stringify({ kernel_image_path: kernel, boot_args: 'a'.repeat(250 - 50 - kernel.length) });
    assert.ok(atLimit.length <= 250);
    assert.equal((await request(e.sock, 'PUT', '/boot-source', atLimit)).status, 204);
  } finally {
    await e.server.close();
  }
});

test(`more than ${MAX_CONNECTIONS} open connections: the next one gets 503 and is closed`, async () => {
  const { connect } = await import('node:net');
  const held = await Promise.all(
    Array.from({ length: MAX_CONNECTIONS }, () => new Promise<import('node:net').Socket>((r) => { const s = connect(env.sock, () => r(s)); })),
  );
  try {
    await new Promise((r) => setTimeout(r, 50));
    const ex = await exchange(env.sock, 'GET / HTTP/1.1\r\n\r\n', { expect: 1, timeoutMs: 1000 });
    assert.equal(ex.responses[0]?.status, 503);
    assert.deepEqual(checkResponse(spec, 'GET', '/', 503, ex.responses[0]!.body), []);
  } finally {
    for (const s of held) s.destroy();
  }
  await new Promise((r) => setTimeout(r, 50));
  assert.equal((await request(env.sock, 'GET', '/')).status, 200);
});

/** mulberry32: a tiny seeded PRNG, so the fuzz run is the same every time. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('fuzz (seed 0x5eed): malformed HTTP and JSON never crash the server; every answer is a well-formed 400 or success', async () => {
  const e = await startEnv(4096);
  const rnd = prng(0x5eed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const methods = ['GET', 'PUT', 'PATCH', 'POST', 'DELETE', 'get', 'P\u00dcT', ''];
  const paths = ['/', '/actions', '/boot-source', '/drives/rootfs', '/drives/', '/drives/a-b', '/machine-config', '/vm', '/vm/config', '/logger', '/metrics', '/mmds', '/network-interfaces/eth0', '/%00', '//', '/version/x/y', 'nope', '*'];
  const bodies = [
    { action_type: 'InstanceStart' },
    { kernel_image_path: kernel, boot_args: 'console=ttyS0' },
    { drive_id: 'rootfs', path_on_host: disk, is_root_device: true, is_read_only: false },
    { vcpu_count: 2, mem_size_mib: 128 },
    { state: 'Paused' },
    { level: 'Info' },
  ];
  const mutate = (s: string): string => {
    const chars = [...s];
    const k = 1 + Math.floor(rnd() * 4);
    for (let i = 0; i < k; i++) {
      const at = Math.floor(rnd() * (chars.length + 1));
      const op = rnd();
      const junk = pick(['{', '}', '"', ',', ':', '[', '\\', '\u0000', 'null', '1e999', '-', '\n', '\u00e9', '9'.repeat(30)]);
      if (op < 0.4) chars.splice(at, 1);
      else if (op < 0.8) chars.splice(at, 0, junk);
      else chars.splice(at, 1, junk);
    }
    return chars.join('');
  };
  let answered = 0;
  let closedWithoutAnswer = 0;
  for (let i = 0; i < 250; i++) {
    const kind = rnd();
    let bytes: string;
    if (kind < 0.15) {
      // Raw garbage, sometimes with a head terminator in it.
      const len = Math.floor(rnd() * 300);
      bytes = Array.from({ length: len }, () => String.fromCharCode(Math.floor(rnd() * 256))).join('') + (rnd() < 0.5 ? '\r\n\r\n' : '');
    } else {
      const body = rnd() < 0.8 ? mutate(JSON.stringify(pick(bodies))) : JSON.stringify(pick(bodies));
      const method = rnd() < 0.85 ? pick(methods.slice(0, 3)) : pick(methods);
      const path = pick(paths);
      const version = rnd() < 0.93 ? 'HTTP/1.1' : pick(['HTTP/2.0', 'HTTP/1', 'http/1.1']);
      let len = Buffer.byteLength(body, 'latin1');
      if (rnd() < 0.08) len = pick([len + 5, Math.max(0, len - 3), 999999, -1]);
      let head = `${method} ${path} ${version}\r\nHost: localhost\r\n`;
      if (rnd() < 0.05) head += 'Transfer-Encoding: chunked\r\n';
      if (rnd() < 0.05) head += 'Bad Header Line\r\n';
      const withBody = rnd() < 0.85;
      bytes = head + (withBody ? `Content-Length: ${len}\r\n\r\n${body}` : '\r\n');
    }
    // Half-close so that an incomplete request ends instead of waiting for more bytes.
    const ex = await exchange(e.sock, Buffer.from(bytes, 'latin1'), { expect: 1, timeoutMs: 2000, halfClose: true });
    assert.equal(ex.leftover, '', `case ${i}: partial response ${JSON.stringify(ex.leftover)}`);
    if (ex.responses.length === 0) {
      assert.ok(ex.closed, `case ${i}: no answer and the connection stayed open`);
      closedWithoutAnswer++;
      continue;
    }
    for (const r of ex.responses) {
      answered++;
      assert.ok([200, 204, 400].includes(r.status), `case ${i}: status ${r.status}`);
      if (r.status === 400) {
        assert.equal(typeof (r.body as { fault_message?: unknown }).fault_message, 'string', `case ${i}: ${r.rawBody}`);
        assert.deepEqual(checkResponse(spec, 'GET', '/', 400, r.body), []);
      }
    }
  }
  assert.ok(answered > 200, `most fuzz cases get an answer (${answered} answered, ${closedWithoutAnswer} closed)`);
  // Still alive and correct afterwards.
  const r = await call(e, 'GET', '/');
  assert.equal(r.status, 200);
  assert.equal((r.body as { id: string }).id, 'api-test');
  await e.server.close();
});
