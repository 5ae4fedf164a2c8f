/**
 * The configuration objects of Firecracker's API (firecracker-api.yaml "definitions") as wisp reads them:
 * one plain type and one decoder per body. The API and the JSON config file both decode through these,
 * so a field means the same thing (and fails with the same message) wherever it comes from.
 * Field names are Firecracker's snake_case, so a value round-trips to GET /vm/config unchanged.
 */
import { arrayOf, bool, enumOf, opt, req, str, stringMap, struct, uint, anyValue, JsonBodyError, type Decoder, type JsonNode } from './json-body.js';
import { jsonNumber, type JsonValue } from '../mmds/json-value.js';
import { ipv4FromString } from '../mmds/frames.js';

export interface TokenBucketConfig {
  size: number;
  one_time_burst?: number;
  refill_time: number;
}
export const tokenBucket: Decoder<TokenBucketConfig> = struct('TokenBucketConfig', {
  size: req(uint('u64')),
  one_time_burst: opt(uint('u64')),
  refill_time: req(uint('u64')),
});

export interface RateLimiterConfig {
  bandwidth?: TokenBucketConfig;
  ops?: TokenBucketConfig;
}
export const rateLimiter: Decoder<RateLimiterConfig> = struct('RateLimiterConfig', {
  bandwidth: opt(tokenBucket),
  ops: opt(tokenBucket),
});

export interface BootSourceConfig {
  kernel_image_path: string;
  initrd_path?: string;
  boot_args?: string;
}
export const bootSource: Decoder<BootSourceConfig> = struct('BootSourceConfig', {
  kernel_image_path: req(str),
  initrd_path: opt(str),
  boot_args: opt(str),
});

export const CACHE_TYPES = ['Unsafe', 'Writeback'] as const;
export type CacheType = (typeof CACHE_TYPES)[number];
export const IO_ENGINES = ['Sync', 'Async'] as const;
export type IoEngine = (typeof IO_ENGINES)[number];

/** PUT /drives/{id}. `path_on_host`/`is_read_only` are required for virtio-block (checked in VmResources). */
export interface BlockDeviceConfig {
  drive_id: string;
  partuuid?: string;
  is_root_device: boolean;
  cache_type?: CacheType;
  is_read_only?: boolean;
  path_on_host?: string;
  rate_limiter?: RateLimiterConfig;
  io_engine?: IoEngine;
  socket?: string;
}
export const blockDevice: Decoder<BlockDeviceConfig> = struct('BlockDeviceConfig', {
  drive_id: req(str),
  partuuid: opt(str),
  is_root_device: req(bool),
  cache_type: opt(enumOf(CACHE_TYPES)),
  is_read_only: opt(bool),
  path_on_host: opt(str),
  rate_limiter: opt(rateLimiter),
  io_engine: opt(enumOf(IO_ENGINES)),
  socket: opt(str),
});

/** PATCH /drives/{id}: post-boot, a new backing file and/or rate limiter. */
export interface BlockDeviceUpdateConfig {
  drive_id: string;
  path_on_host?: string;
  rate_limiter?: RateLimiterConfig;
}
export const blockDeviceUpdate: Decoder<BlockDeviceUpdateConfig> = struct('BlockDeviceUpdateConfig', {
  drive_id: req(str),
  path_on_host: opt(str),
  rate_limiter: opt(rateLimiter),
});

export const CPU_TEMPLATES = ['C3', 'T2', 'T2S', 'T2CL', 'T2A', 'V1N1', 'None'] as const;
export type CpuTemplate = (typeof CPU_TEMPLATES)[number];
export const HUGE_PAGES = ['None', 'Transparent', '2M'] as const;
export type HugePages = (typeof HUGE_PAGES)[number];

/** GET/PUT /machine-config (all of it) and PATCH (any non-empty subset). */
export interface MachineConfig {
  vcpu_count: number;
  mem_size_mib: number;
  smt: boolean;
  cpu_template?: CpuTemplate;
  track_dirty_pages: boolean;
  huge_pages: HugePages;
}
export type MachineConfigUpdate = Partial<MachineConfig>;

export const machineConfigPut: Decoder<MachineConfigUpdate> = (n) => {
  const c = struct('MachineConfig', {
    vcpu_count: req(uint('u8')),
    mem_size_mib: req(uint('usize')),
    smt: opt(bool),
    cpu_template: opt(enumOf(CPU_TEMPLATES)),
    track_dirty_pages: opt(bool),
    huge_pages: opt(enumOf(HUGE_PAGES)),
  })(n);
  // PUT resets every optional field to its default (firecracker-api.yaml, putMachineConfiguration).
  return { smt: false, track_dirty_pages: false, huge_pages: 'None', ...c };
};
export const machineConfigPatch: Decoder<MachineConfigUpdate> = struct('MachineConfigUpdate', {
  vcpu_count: opt(uint('u8')),
  mem_size_mib: opt(uint('usize')),
  smt: opt(bool),
  cpu_template: opt(enumOf(CPU_TEMPLATES)),
  track_dirty_pages: opt(bool),
  huge_pages: opt(enumOf(HUGE_PAGES)),
});

export const LOG_LEVELS = ['Off', 'Error', 'Warning', 'Info', 'Debug', 'Trace'] as const;
export type LogLevelName = (typeof LOG_LEVELS)[number];

/** The level names are case-insensitive (firecracker-api.yaml, Logger.level); "Warn" is accepted too. */
const logLevel: Decoder<LogLevelName> = (n) => {
  if (n.kind === 'string') {
    const lower = n.value.toLowerCase();
    const hit = LOG_LEVELS.find((l) => l.toLowerCase() === lower) ?? (lower === 'warn' ? 'Warning' : undefined);
    if (hit) return hit;
  }
  return enumOf(LOG_LEVELS)(n);
};

export interface LoggerConfig {
  log_path?: string;
  level?: LogLevelName;
  show_level?: boolean;
  show_log_origin?: boolean;
  module?: string;
}
export const loggerConfig: Decoder<LoggerConfig> = struct('LoggerConfig', {
  log_path: opt(str),
  level: opt(logLevel),
  show_level: opt(bool),
  show_log_origin: opt(bool),
  module: opt(str),
});

export interface MetricsConfig {
  metrics_path: string;
  emit_id?: boolean;
  properties?: Record<string, string>;
}
export const metricsConfig: Decoder<MetricsConfig> = struct('MetricsConfig', {
  metrics_path: req(str),
  emit_id: opt(bool),
  properties: opt(stringMap),
});

export interface EntropyDeviceConfig {
  rate_limiter?: RateLimiterConfig;
}
export const entropyDevice: Decoder<EntropyDeviceConfig> = struct('EntropyDeviceConfig', {
  rate_limiter: opt(rateLimiter),
});

/** PUT /vsock (firecracker-api.yaml Vsock): the guest's CID and the host-side Unix socket. */
export interface VsockDeviceConfig {
  /** Deprecated in Firecracker (it warns and ignores it). */
  vsock_id?: string;
  guest_cid: number;
  uds_path: string;
}
export const vsockDevice: Decoder<VsockDeviceConfig> = struct('VsockDeviceConfig', {
  vsock_id: opt(str),
  guest_cid: req(uint('u32')),
  uds_path: req(str),
});

export const MMDS_VERSIONS = ['V1', 'V2'] as const;
export type MmdsVersionName = (typeof MMDS_VERSIONS)[number];

/** PUT /mmds/config (firecracker-api.yaml MmdsConfig). */
export interface MmdsConfig {
  version?: MmdsVersionName;
  network_interfaces: string[];
  ipv4_address?: string;
  imds_compat?: boolean;
}
export const mmdsConfig: Decoder<MmdsConfig> = struct('MmdsConfig', {
  version: opt(enumOf(MMDS_VERSIONS)),
  network_interfaces: req(arrayOf(str)),
  ipv4_address: opt(ipv4Address),
  imds_compat: opt(bool),
});

/** A dotted-quad IPv4 address, as Rust's Ipv4Addr::from_str reads one (no leading zeros). */
function ipv4Address(n: JsonNode): string {
  const s = str(n);
  if (ipv4FromString(s) === null) throw new JsonBodyError('invalid IPv4 address syntax', n.end);
  return s;
}

/**
 * Any JSON value, for the metadata store (serde_json::Value): objects as Maps (the last of duplicate
 * keys wins, as in serde_json's map), numbers kept as their exact text.
 */
export const mmdsValue: Decoder<JsonValue> = (n) => {
  switch (n.kind) {
    case 'null':
      return null;
    case 'bool':
    case 'string':
      return n.value;
    case 'number':
      return jsonNumber(n.raw);
    case 'array':
      return n.items.map(mmdsValue);
    case 'object':
      return new Map(n.entries.map((e) => [e.key, mmdsValue(e.value)]));
  }
};

export interface SerialConfig {
  serial_out_path?: string;
  rate_limiter?: TokenBucketConfig;
}
export const serialConfig: Decoder<SerialConfig> = struct('SerialConfig', {
  serial_out_path: opt(str),
  rate_limiter: opt(tokenBucket),
});

export const SNAPSHOT_TYPES = ['Full', 'Diff'] as const;
export type SnapshotTypeName = (typeof SNAPSHOT_TYPES)[number];

/** PUT /snapshot/create (Firecracker's CreateSnapshotParams; snapshot_type defaults to Full). */
export interface SnapshotCreateConfig {
  snapshot_type: SnapshotTypeName;
  snapshot_path: string;
  mem_file_path: string;
}
export const snapshotCreate: Decoder<SnapshotCreateConfig> = (n) => {
  const c = struct('CreateSnapshotParams', {
    snapshot_type: opt(enumOf(SNAPSHOT_TYPES)),
    snapshot_path: req(str),
    mem_file_path: req(str),
  })(n);
  return { snapshot_type: c.snapshot_type ?? 'Full', snapshot_path: c.snapshot_path, mem_file_path: c.mem_file_path };
};

export const MEM_BACKEND_TYPES = ['File', 'Uffd'] as const;
export interface MemBackendConfig {
  backend_type: (typeof MEM_BACKEND_TYPES)[number];
  backend_path: string;
}
const memBackend: Decoder<MemBackendConfig> = struct('MemBackendConfig', {
  backend_path: req(str),
  backend_type: req(enumOf(MEM_BACKEND_TYPES)),
});

/** network_overrides[]: a restored interface gets another host device (Firecracker's NetworkOverride). */
export interface NetworkOverride {
  iface_id: string;
  host_dev_name: string;
}
const networkOverride: Decoder<NetworkOverride> = struct('NetworkOverride', { iface_id: req(str), host_dev_name: req(str) }, { allowUnknown: true });
export interface VsockOverride {
  uds_path: string;
}
const vsockOverride: Decoder<VsockOverride> = struct('VsockOverride', { uds_path: req(str) }, { allowUnknown: true });

export const SNAPSHOT_HUGE_PAGES = ['Snapshot', 'None', 'Transparent', '2M'] as const;

/** PUT /snapshot/load as sent (Firecracker's LoadSnapshotConfig); the route checks the mem_* fields. */
export const snapshotLoadBody = struct('LoadSnapshotConfig', {
  snapshot_path: req(str),
  mem_file_path: opt(str),
  mem_backend: opt(memBackend),
  enable_diff_snapshots: opt(bool),
  track_dirty_pages: opt(bool),
  resume_vm: opt(bool),
  network_overrides: opt(arrayOf(networkOverride)),
  vsock_override: opt(vsockOverride),
  clock_realtime: opt(bool),
  huge_pages: opt(enumOf(SNAPSHOT_HUGE_PAGES)),
});

/** What the VMM loads (Firecracker's LoadSnapshotParams): the deprecated fields folded in. */
export interface SnapshotLoadConfig {
  snapshot_path: string;
  mem_backend: MemBackendConfig;
  track_dirty_pages: boolean;
  resume_vm: boolean;
  network_overrides: NetworkOverride[];
  vsock_override?: VsockOverride;
  clock_realtime: boolean;
  huge_pages: (typeof SNAPSHOT_HUGE_PAGES)[number];
}

export const VM_STATES = ['Paused', 'Resumed'] as const;
export const vmState: Decoder<{ state: (typeof VM_STATES)[number] }> = struct('VmUpdateConfig', {
  state: req(enumOf(VM_STATES)),
});

export const ACTION_TYPES = ['FlushMetrics', 'InstanceStart', 'SendCtrlAltDel'] as const;
export const actionBody: Decoder<{ action_type: (typeof ACTION_TYPES)[number] }> = struct('ActionBody', {
  action_type: req(enumOf(ACTION_TYPES)),
});

export const PUBLISH_PROTOCOLS = ['tcp', 'udp'] as const;

/** wisp's extension: a host port published to the guest by the user-mode backend. */
export interface PublishedPortConfig {
  host_port: number;
  guest_port: number;
  protocol?: (typeof PUBLISH_PROTOCOLS)[number];
}
export const publishedPort: Decoder<PublishedPortConfig> = struct('PublishedPort', {
  host_port: req(uint('u16')),
  guest_port: req(uint('u16')),
  protocol: opt(enumOf(PUBLISH_PROTOCOLS)),
});

/**
 * wisp's extension: rootless user-mode networking (passt, started and owned by wisp) instead of a
 * host tap: DHCP, NAT to the host's networks, the host at the gateway address, published ports.
 */
export interface UserModeConfig {
  publish?: PublishedPortConfig[];
  ipv4?: UserModeIpv4Config;
}

/**
 * wisp's extension: the guest's IPv4 set-up chosen by the caller instead of passt's defaults (the
 * host's upstream address, prefix and gateway): passt hands these out by DHCP and maps the gateway to
 * the host. `dns_forward`: an address in the guest's network where passt answers DNS by forwarding
 * to the host's first nameserver. (Used by `wisp run IMAGE --net user`, whose init configures the
 * interface statically with the same values.)
 */
export interface UserModeIpv4Config {
  address: string;
  prefix_length: number;
  gateway: string;
  dns_forward?: string;
}
export const userModeIpv4: Decoder<UserModeIpv4Config> = struct('UserModeAddresses', {
  address: req(ipv4Address),
  prefix_length: req(uint('u8')),
  gateway: req(ipv4Address),
  dns_forward: opt(ipv4Address),
});

export const userMode: Decoder<UserModeConfig> = struct('UserModeNetwork', {
  publish: opt(arrayOf(publishedPort)),
  ipv4: opt(userModeIpv4),
});

/**
 * PUT /network-interfaces/{id}. Firecracker requires host_dev_name; wisp takes either it or its
 * `user_mode` extension (exactly one, checked in VmResources).
 */
export interface NetworkInterfaceConfig {
  iface_id: string;
  host_dev_name?: string;
  guest_mac?: string;
  mtu?: number;
  rx_rate_limiter?: RateLimiterConfig;
  tx_rate_limiter?: RateLimiterConfig;
  user_mode?: UserModeConfig;
}
export const networkInterface: Decoder<NetworkInterfaceConfig> = struct('NetworkInterfaceConfig', {
  iface_id: req(str),
  host_dev_name: opt(str),
  guest_mac: opt(str),
  mtu: opt(uint('u16')),
  rx_rate_limiter: opt(rateLimiter),
  tx_rate_limiter: opt(rateLimiter),
  user_mode: opt(userMode),
});

/** PATCH /network-interfaces/{id}: post-boot, the rate limiters. */
export interface NetworkInterfaceUpdateConfig {
  iface_id: string;
  rx_rate_limiter?: RateLimiterConfig;
  tx_rate_limiter?: RateLimiterConfig;
}
export const networkInterfaceUpdate: Decoder<NetworkInterfaceUpdateConfig> = struct('NetworkInterfaceUpdateConfig', {
  iface_id: req(str),
  rx_rate_limiter: opt(rateLimiter),
  tx_rate_limiter: opt(rateLimiter),
});

/**
 * Bodies of resources whose devices wisp does not build yet (vsock, balloon, mmds, snapshots,
 * pmem, memory hotplug, cpu-config). They are still read as JSON so that a malformed body gets the
 * same answer as on Firecracker; the controller then refuses them by name.
 */
export const unsupportedBody: Decoder<unknown> = anyValue;

/** The id-carrying shapes among those, so the path id can be checked against the body id. */
export const pmemId: Decoder<{ id: string }> = struct('PmemConfig', { id: req(str) }, { allowUnknown: true });

export const stringList = arrayOf(str);
