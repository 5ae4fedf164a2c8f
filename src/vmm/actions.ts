/**
 * The api ↔ vmm contract (Firecracker's `rpc_interface.rs`): the API turns each request into one
 * VmmAction, the controller answers with VmmData or a VmmActionError. Nothing else crosses the line.
 */
import type {
  BlockDeviceConfig,
  BlockDeviceUpdateConfig,
  BootSourceConfig,
  EntropyDeviceConfig,
  LoggerConfig,
  MachineConfig,
  MachineConfigUpdate,
  MetricsConfig,
  NetworkInterfaceConfig,
  NetworkInterfaceUpdateConfig,
  MmdsConfig,
  SerialConfig,
  SnapshotCreateConfig,
  SnapshotLoadConfig,
  VsockDeviceConfig,
} from './vmm-config.js';
import type { JsonValue } from '../mmds/json-value.js';

/** Resources whose devices wisp does not build yet; the controller refuses them by this name. */
export type UnsupportedResource =
  | 'balloon'
  | 'pmem'
  | 'hotplug/memory'
  | 'cpu-config';

export type VmmAction =
  | { type: 'ConfigureBootSource'; config: BootSourceConfig }
  | { type: 'ConfigureLogger'; config: LoggerConfig }
  | { type: 'ConfigureMetrics'; config: MetricsConfig }
  | { type: 'ConfigureSerial'; config: SerialConfig }
  | { type: 'InsertBlockDevice'; config: BlockDeviceConfig }
  | { type: 'UpdateBlockDevice'; config: BlockDeviceUpdateConfig }
  | { type: 'SetEntropyDevice'; config: EntropyDeviceConfig }
  | { type: 'InsertNetworkDevice'; config: NetworkInterfaceConfig }
  | { type: 'UpdateNetworkInterface'; config: NetworkInterfaceUpdateConfig }
  | { type: 'SetVsockDevice'; config: VsockDeviceConfig }
  /** PUT /mmds/config (pre-boot). */
  | { type: 'SetMmdsConfiguration'; config: MmdsConfig }
  /** PUT /mmds: the whole data store; PATCH /mmds: an RFC 7396 merge patch; GET /mmds. */
  | { type: 'PutMmds'; value: JsonValue }
  | { type: 'PatchMmds'; value: JsonValue }
  | { type: 'GetMmds' }
  /** PUT /machine-config: every field given (defaults filled in by the decoder). */
  | { type: 'PutMachineConfiguration'; config: MachineConfigUpdate }
  /** PATCH /machine-config: only the given fields change. */
  | { type: 'UpdateMachineConfiguration'; config: MachineConfigUpdate }
  | { type: 'StartMicroVm' }
  | { type: 'FlushMetrics' }
  | { type: 'SendCtrlAltDel' }
  | { type: 'Pause' }
  /** PUT /snapshot/create: a Paused VM's state and memory to files. */
  | { type: 'CreateSnapshot'; config: SnapshotCreateConfig }
  /** PUT /snapshot/load: a fresh VMM becomes the snapshotted VM (Paused, or Running with resume_vm). */
  | { type: 'LoadSnapshot'; config: SnapshotLoadConfig }
  | { type: 'Resume' }
  | { type: 'GetVmMachineConfig' }
  | { type: 'GetFullVmConfig' }
  | { type: 'GetVmInstanceInfo' }
  | { type: 'GetVmmVersion' }
  /** A request on a resource whose device is not built yet (`method` says which verb). */
  | { type: 'Unsupported'; resource: UnsupportedResource; method: 'GET' | 'PUT' | 'PATCH' };

export type VmmActionType = VmmAction['type'];

export type InstanceState = 'Not started' | 'Running' | 'Paused';

export interface InstanceInfo {
  id: string;
  state: InstanceState;
  vmm_version: string;
  app_name: string;
}

/** GET /vm/config (firecracker-api.yaml FullVmConfiguration): only configured parts are present. */
export interface FullVmConfig {
  'boot-source'?: BootSourceConfig;
  drives: BlockDeviceConfig[];
  'machine-config': MachineConfig;
  logger?: LoggerConfig;
  metrics?: MetricsConfig;
  entropy?: EntropyDeviceConfig;
  'network-interfaces': NetworkInterfaceConfig[];
  vsock?: VsockDeviceConfig;
  'mmds-config'?: MmdsConfig;
}

export type VmmData =
  | { type: 'Empty' }
  | { type: 'MachineConfiguration'; config: MachineConfig }
  | { type: 'FullVmConfig'; config: FullVmConfig }
  | { type: 'InstanceInformation'; info: InstanceInfo }
  | { type: 'VmmVersion'; version: string }
  /** GET /mmds: the data store as compact JSON (serde_json's form; "{}" when empty, as Firecracker answers). */
  | { type: 'MmdsValue'; json: string };
