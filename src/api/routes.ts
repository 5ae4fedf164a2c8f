/**
 * The API's one route table: (method, first path segment[, second], body presence) → a parser that
 * turns the request into one VmmAction. Rules are tried in order, exactly as Firecracker's
 * `ParsedRequest::try_from` match arms are, so the same request gets the same answer — including the
 * catch-alls ("GET request cannot have a body.", "Empty PUT request.", "Invalid request method and/or
 * path: …"). Like Firecracker, segments after the ones a route reads are ignored.
 */
import type { IncMetric, Metrics } from '../metrics/metrics.js';
import type { UnsupportedResource, VmmAction } from '../vmm/actions.js';
import { JsonBodyError, decodeJson, type Decoder } from '../vmm/json-body.js';
import {
  actionBody,
  blockDevice,
  blockDeviceUpdate,
  bootSource,
  entropyDevice,
  loggerConfig,
  machineConfigPatch,
  machineConfigPut,
  metricsConfig,
  networkInterface,
  networkInterfaceUpdate,
  mmdsConfig,
  mmdsValue,
  pmemId,
  serialConfig,
  snapshotCreate,
  snapshotLoadBody,
  unsupportedBody,
  vmState,
  vsockDevice,
} from '../vmm/vmm-config.js';
import { isValidResourceId } from '../vmm/vm-resources.js';
import { RequestError } from './request-error.js';

export type ApiMethod = 'GET' | 'PUT' | 'PATCH';
export const API_METHODS: readonly string[] = ['GET', 'PUT', 'PATCH'];

export interface ParsedRequest {
  action: VmmAction;
  /** Set when the request used a deprecated field: answered with a `Deprecation` header and logged. */
  deprecation?: string;
  /** Counter to bump if the VMM refuses the action (Firecracker's `*_fails`). */
  fails?: IncMetric;
}

interface Ctx {
  /** Path segments after the ones the rule matched. */
  rest: string[];
  body: Buffer | undefined;
  metrics: Metrics;
}

interface Route {
  method: ApiMethod;
  /** First path segment; '*' matches any. */
  resource: string;
  /** A required second segment (consumed), e.g. "config" in /vm/config. */
  sub?: string;
  body: 'none' | 'some' | 'any';
  parse(ctx: Ctx): ParsedRequest;
}

function decode<T>(body: Buffer | undefined, decoder: Decoder<T>): T {
  try {
    return decodeJson(body ?? Buffer.alloc(0), decoder);
  } catch (err) {
    if (err instanceof JsonBodyError) throw RequestError.serde(err);
    throw err;
  }
}

/** Firecracker's checked_id on the segment after the resource. */
function pathId(rest: string[]): string {
  const id = rest[0];
  if (id === undefined || id === '') throw RequestError.emptyId();
  if (!isValidResourceId(id)) throw RequestError.invalidId();
  return id;
}

/** Counts the request, and its failure if parsing throws; hands the fail counter on for the VMM's answer. */
function counted(count: IncMetric, fails: IncMetric | undefined, parse: () => ParsedRequest): ParsedRequest {
  count.inc();
  try {
    return { fails, ...parse() };
  } catch (err) {
    fails?.inc();
    throw err;
  }
}

function unsupported(resource: UnsupportedResource, method: ApiMethod): ParsedRequest {
  return { action: { type: 'Unsupported', resource, method } };
}

const ROUTES: Route[] = [
  { method: 'GET', resource: '', body: 'none', parse: ({ metrics: m }) => counted(m.get_api_requests.instance_info_count, undefined, () => ({ action: { type: 'GetVmInstanceInfo' } })) },
  { method: 'GET', resource: 'balloon', body: 'none', parse: () => unsupported('balloon', 'GET') },
  { method: 'GET', resource: 'version', body: 'none', parse: ({ metrics: m }) => counted(m.get_api_requests.vmm_version_count, undefined, () => ({ action: { type: 'GetVmmVersion' } })) },
  { method: 'GET', resource: 'vm', sub: 'config', body: 'none', parse: () => ({ action: { type: 'GetFullVmConfig' } }) },
  { method: 'GET', resource: 'machine-config', body: 'none', parse: ({ metrics: m }) => counted(m.get_api_requests.machine_cfg_count, undefined, () => ({ action: { type: 'GetVmMachineConfig' } })) },
  { method: 'GET', resource: 'mmds', body: 'none', parse: ({ metrics: m }) => counted(m.get_api_requests.mmds_count, undefined, () => ({ action: { type: 'GetMmds' } })) },
  { method: 'GET', resource: 'hotplug', sub: 'memory', body: 'none', parse: ({ metrics: m }) => counted(m.get_api_requests.hotplug_memory_count, undefined, () => unsupported('hotplug/memory', 'GET')) },
  { method: 'GET', resource: '*', body: 'some', parse: () => { throw RequestError.getWithBody(); } },

  {
    method: 'PUT', resource: 'actions', body: 'some',
    parse: ({ body, metrics: m }) => counted(m.put_api_requests.actions_count, m.put_api_requests.actions_fails, () => {
      const { action_type } = decode(body, actionBody);
      switch (action_type) {
        case 'InstanceStart': return { action: { type: 'StartMicroVm' } };
        case 'FlushMetrics': return { action: { type: 'FlushMetrics' } };
        case 'SendCtrlAltDel': return { action: { type: 'SendCtrlAltDel' } };
      }
    }),
  },
  { method: 'PUT', resource: 'balloon', body: 'some', parse: ({ body }) => (decode(body, unsupportedBody), unsupported('balloon', 'PUT')) },
  {
    method: 'PUT', resource: 'boot-source', body: 'some',
    parse: ({ body, metrics: m }) => counted(m.put_api_requests.boot_source_count, m.put_api_requests.boot_source_fails, () => ({ action: { type: 'ConfigureBootSource', config: decode(body, bootSource) } })),
  },
  {
    method: 'PUT', resource: 'cpu-config', body: 'some',
    parse: ({ body, metrics: m }) => counted(m.put_api_requests.cpu_cfg_count, m.put_api_requests.cpu_cfg_fails, () => (decode(body, unsupportedBody), unsupported('cpu-config', 'PUT'))),
  },
  {
    method: 'PUT', resource: 'drives', body: 'some',
    parse: ({ rest, body, metrics: m }) => counted(m.put_api_requests.drive_count, m.put_api_requests.drive_fails, () => {
      const id = pathId(rest);
      const config = decode(body, blockDevice);
      if (config.drive_id !== id) throw RequestError.idMismatch();
      return { action: { type: 'InsertBlockDevice', config } };
    }),
  },
  {
    method: 'PUT', resource: 'pmem', body: 'some',
    parse: ({ rest, body, metrics: m }) => counted(m.put_api_requests.pmem_count, m.put_api_requests.pmem_fails, () => {
      const id = pathId(rest);
      if (decode(body, pmemId).id !== id) throw RequestError.idMismatch();
      return unsupported('pmem', 'PUT');
    }),
  },
  {
    method: 'PUT', resource: 'logger', body: 'some',
    parse: ({ body, metrics: m }) => counted(m.put_api_requests.logger_count, m.put_api_requests.logger_fails, () => ({ action: { type: 'ConfigureLogger', config: decode(body, loggerConfig) } })),
  },
  {
    method: 'PUT', resource: 'serial', body: 'some',
    parse: ({ body, metrics: m }) => counted(m.put_api_requests.serial_count, m.put_api_requests.serial_fails, () => ({ action: { type: 'ConfigureSerial', config: decode(body, serialConfig) } })),
  },
  {
    method: 'PUT', resource: 'machine-config', body: 'some',
    parse: ({ body, metrics: m }) => counted(m.put_api_requests.machine_cfg_count, m.put_api_requests.machine_cfg_fails, () => {
      const config = decode(body, machineConfigPut);
      return { action: { type: 'PutMachineConfiguration', config }, ...(config.cpu_template !== undefined && { deprecation: 'PUT /machine-config: cpu_template field is deprecated.' }) };
    }),
  },
  {
    method: 'PUT', resource: 'metrics', body: 'some',
    parse: ({ body, metrics: m }) => counted(m.put_api_requests.metrics_count, m.put_api_requests.metrics_fails, () => ({ action: { type: 'ConfigureMetrics', config: decode(body, metricsConfig) } })),
  },
  {
    method: 'PUT', resource: 'mmds', body: 'some',
    parse: ({ rest, body, metrics: m }) => counted(m.put_api_requests.mmds_count, m.put_api_requests.mmds_fails, () => {
      // Firecracker's parse_put_mmds: /mmds replaces the store, /mmds/config configures, anything else is refused.
      if (rest[0] === undefined) return { action: { type: 'PutMmds', value: decode(body, mmdsValue) } };
      if (rest[0] !== 'config') throw RequestError.generic(`Unrecognized PUT request path \`${rest[0]}\`.`);
      const config = decode(body, mmdsConfig);
      return {
        action: { type: 'SetMmdsConfiguration', config },
        ...((config.version ?? 'V1') === 'V1' && { deprecation: 'PUT /mmds/config: V1 is deprecated. Use V2 instead.' }),
      };
    }),
  },
  {
    method: 'PUT', resource: 'network-interfaces', body: 'some',
    parse: ({ rest, body, metrics: m }) => counted(m.put_api_requests.network_count, m.put_api_requests.network_fails, () => {
      const id = pathId(rest);
      const config = decode(body, networkInterface);
      if (config.iface_id !== id) throw RequestError.idMismatch();
      return { action: { type: 'InsertNetworkDevice', config } };
    }),
  },
  {
    method: 'PUT', resource: 'snapshot', body: 'some',
    parse: ({ rest, body }) => {
      const what = rest[0];
      if (what === undefined) throw RequestError.generic('Missing snapshot operation type.');
      if (what === 'create') return { action: { type: 'CreateSnapshot', config: decode(body, snapshotCreate) } };
      if (what === 'load') return parseSnapshotLoad(body);
      throw RequestError.invalidPathMethod('PUT', `/snapshot/${what}`);
    },
  },
  {
    method: 'PUT', resource: 'vsock', body: 'some',
    parse: ({ body, metrics: m }) => counted(m.put_api_requests.vsock_count, m.put_api_requests.vsock_fails, () => {
      const config = decode(body, vsockDevice);
      return { action: { type: 'SetVsockDevice', config }, ...(config.vsock_id !== undefined && { deprecation: 'PUT /vsock: vsock_id field is deprecated.' }) };
    }),
  },
  { method: 'PUT', resource: 'entropy', body: 'some', parse: ({ body }) => ({ action: { type: 'SetEntropyDevice', config: decode(body, entropyDevice) } }) },
  {
    method: 'PUT', resource: 'hotplug', sub: 'memory', body: 'some',
    parse: ({ body, metrics: m }) => counted(m.put_api_requests.hotplug_memory_count, m.put_api_requests.hotplug_memory_fails, () => (decode(body, unsupportedBody), unsupported('hotplug/memory', 'PUT'))),
  },
  { method: 'PUT', resource: '*', body: 'none', parse: () => { throw RequestError.emptyBody('PUT'); } },

  { method: 'PATCH', resource: 'balloon', body: 'any', parse: ({ body }) => (body && decode(body, unsupportedBody), unsupported('balloon', 'PATCH')) },
  {
    method: 'PATCH', resource: 'drives', body: 'some',
    parse: ({ rest, body, metrics: m }) => counted(m.patch_api_requests.drive_count, m.patch_api_requests.drive_fails, () => {
      const id = pathId(rest);
      const config = decode(body, blockDeviceUpdate);
      if (config.drive_id !== id) throw RequestError.idMismatch();
      return { action: { type: 'UpdateBlockDevice', config } };
    }),
  },
  {
    method: 'PATCH', resource: 'machine-config', body: 'some',
    parse: ({ body, metrics: m }) => counted(m.patch_api_requests.machine_cfg_count, m.patch_api_requests.machine_cfg_fails, () => {
      const config = decode(body, machineConfigPatch);
      if (Object.keys(config).length === 0) throw RequestError.emptyBody('PATCH');
      return { action: { type: 'UpdateMachineConfiguration', config }, ...(config.cpu_template !== undefined && { deprecation: 'PATCH /machine-config: cpu_template field is deprecated.' }) };
    }),
  },
  {
    method: 'PATCH', resource: 'mmds', body: 'some',
    parse: ({ body, metrics: m }) => counted(m.patch_api_requests.mmds_count, m.patch_api_requests.mmds_fails, () => ({ action: { type: 'PatchMmds', value: decode(body, mmdsValue) } })),
  },
  {
    method: 'PATCH', resource: 'network-interfaces', body: 'some',
    parse: ({ rest, body, metrics: m }) => counted(m.patch_api_requests.network_count, m.patch_api_requests.network_fails, () => {
      const id = pathId(rest);
      const config = decode(body, networkInterfaceUpdate);
      if (config.iface_id !== id) throw RequestError.idMismatch();
      return { action: { type: 'UpdateNetworkInterface', config } };
    }),
  },
  {
    method: 'PATCH', resource: 'vm', body: 'some',
    parse: ({ body }) => ({ action: { type: decode(body, vmState).state === 'Paused' ? 'Pause' : 'Resume' } }),
  },
  {
    method: 'PATCH', resource: 'hotplug', sub: 'memory', body: 'some',
    parse: ({ body, metrics: m }) => counted(m.patch_api_requests.hotplug_memory_count, m.patch_api_requests.hotplug_memory_fails, () => (decode(body, unsupportedBody), unsupported('hotplug/memory', 'PATCH'))),
  },
  { method: 'PATCH', resource: '*', body: 'none', parse: () => { throw RequestError.emptyBody('PATCH'); } },
];

/** Firecracker's snapshot.rs: exactly one of mem_backend and the deprecated mem_file_path. */
const LOAD_MISSING_FIELD = 'missing field: either `mem_backend` or `mem_file_path` is required';
const LOAD_TOO_MANY_FIELDS = 'too many fields: either `mem_backend` or `mem_file_path` exclusively is required';
const LOAD_DEPRECATION = 'PUT /snapshot/load: mem_file_path and enable_diff_snapshots fields are deprecated.';

function parseSnapshotLoad(body: Buffer | undefined): ParsedRequest {
  const c = decode(body, snapshotLoadBody);
  if (c.mem_backend && c.mem_file_path !== undefined) throw RequestError.serde(new JsonBodyError(LOAD_TOO_MANY_FIELDS, undefined));
  if (!c.mem_backend && c.mem_file_path === undefined) throw RequestError.serde(new JsonBodyError(LOAD_MISSING_FIELD, undefined));
  // (The server counts the deprecated call when it sends the Deprecation header.)
  const deprecated = c.mem_file_path !== undefined || c.enable_diff_snapshots === true;
  return {
    action: {
      type: 'LoadSnapshot',
      config: {
        snapshot_path: c.snapshot_path,
        mem_backend: c.mem_backend ?? { backend_type: 'File', backend_path: c.mem_file_path! },
        track_dirty_pages: c.enable_diff_snapshots === true || c.track_dirty_pages === true,
        resume_vm: c.resume_vm ?? false,
        network_overrides: c.network_overrides ?? [],
        ...(c.vsock_override && { vsock_override: c.vsock_override }),
        clock_realtime: c.clock_realtime ?? false,
        huge_pages: c.huge_pages ?? 'Snapshot',
      },
    },
    ...(deprecated && { deprecation: LOAD_DEPRECATION }),
  };
}

/**
 * Turns one request into a VmmAction, or throws RequestError with Firecracker's message.
 * `path` is the request path ("/drives/rootfs"); `body` is undefined when Content-Length is 0.
 */
export function parseRequest(method: ApiMethod, path: string, body: Buffer | undefined, metrics: Metrics): ParsedRequest {
  // Firecracker: trim leading '/', then split_terminator('/') (a trailing '/' adds no empty segment).
  const trimmed = path.replace(/^\/+/, '');
  const tokens = trimmed === '' ? [] : trimmed.split('/');
  if (tokens.length > 0 && tokens[tokens.length - 1] === '') tokens.pop();
  const resource = tokens[0] ?? '';
  for (const r of ROUTES) {
    if (r.method !== method) continue;
    if (r.resource !== '*' && r.resource !== resource) continue;
    if (r.body === 'none' && body !== undefined) continue;
    if (r.body === 'some' && body === undefined) continue;
    if (r.sub !== undefined && tokens[1] !== r.sub) continue;
    const rest = tokens.slice(r.sub !== undefined ? 2 : 1);
    return r.parse({ rest, body, metrics });
  }
  throw RequestError.invalidPathMethod(method, resource);
}
