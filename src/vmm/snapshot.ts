/**
 * What a wisp snapshot's state file holds (snapshot/snapshot-file.ts is the container): the VM's
 * configuration (what GET /vm/config showed, so a restore rebuilds the same devices, reopening their
 * host files), the machine's state (every hart and device) and a description of the memory file.
 * Reading one checks all of it before anything is built.
 */
import type { MachineState } from '../platform/machine.js';
import { decodePageMap, MemoryFileError } from '../snapshot/memory-file.js';
import { readStateFile, SnapshotFileError, writeStateFile } from '../snapshot/snapshot-file.js';
import { TIMEBASE_HZ } from '../platform/memory-map.js';
import { JsonBodyError, anyValue, arrayOf, decodeJson, opt, req, struct } from './json-body.js';
import type { MachineHandle, MachineSpec, RestoreSpec, SnapshotTaken } from './machine.js';
import { WISP_VERSION } from './version.js';
import { VmResources } from './vm-resources.js';
import {
  blockDevice,
  bootSource,
  entropyDevice,
  machineConfigPut,
  mmdsConfig,
  networkInterface,
  type BlockDeviceConfig,
  type BootSourceConfig,
  type EntropyDeviceConfig,
  type MachineConfig,
  type MmdsConfig,
  type NetworkInterfaceConfig,
  type NetworkOverride,
  type SnapshotTypeName,
  type VsockOverride,
} from './vmm-config.js';

/** The VM's configuration as saved: the sections of GET /vm/config that describe the machine. */
export interface SnapshotVmConfig {
  'machine-config': MachineConfig;
  'boot-source'?: BootSourceConfig;
  drives: BlockDeviceConfig[];
  entropy?: EntropyDeviceConfig;
  /** Interfaces as configured (network_overrides may change their host device on load). */
  'network-interfaces': NetworkInterfaceConfig[];
  vsock?: Record<string, unknown>;
  /** Which interfaces the MMDS answers on (its data store is not saved). */
  'mmds-config'?: MmdsConfig;
}

export interface SnapshotBody {
  /** The wisp that wrote it (informational: the format version is what is checked). */
  wisp_version: string;
  snapshot_type: SnapshotTypeName;
  /** Wall-clock time of the snapshot, ns since the epoch (decimal string), for clock_realtime. */
  created_at_ns: string;
  vm_config: SnapshotVmConfig;
  machine: MachineState;
  memory: {
    size_bytes: number;
    /** Diff only: the RAM pages its memory file carries (a base64 bitmap). */
    page_map?: string;
  };
}

export class SnapshotError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SnapshotError';
  }
}

const vmConfigDecoder = struct('SnapshotVmConfig', {
  'machine-config': req(machineConfigPut),
  'boot-source': opt(bootSource),
  drives: req(arrayOf(blockDevice)),
  entropy: opt(entropyDevice),
  'network-interfaces': opt(arrayOf(networkInterface)),
  vsock: opt(anyValue),
  'mmds-config': opt(mmdsConfig),
});

/** Reads a state file and checks the shape of everything in it but the machine (checked as it is restored). */
export function readSnapshot(path: string): SnapshotBody {
  let body: unknown;
  try {
    body = readStateFile(path).body;
  } catch (e) {
    if (e instanceof SnapshotFileError) throw new SnapshotError(e.message, { cause: e });
    throw e;
  }
  const bad = (what: string): never => {
    throw new SnapshotError(`the state file "${path}" holds no valid microVM state: ${what}`);
  };
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return bad('it is not an object');
  const b = body as Record<string, unknown>;
  if (b.snapshot_type !== 'Full' && b.snapshot_type !== 'Diff') bad('snapshot_type must be "Full" or "Diff"');
  if (typeof b.created_at_ns !== 'string' || !/^\d{1,20}$/.test(b.created_at_ns)) bad('created_at_ns must be a decimal string');
  let vm: SnapshotVmConfig;
  try {
    const c = decodeJson(JSON.stringify(b.vm_config ?? null), vmConfigDecoder);
    vm = {
      'machine-config': c['machine-config'] as MachineConfig,
      drives: c.drives,
      'network-interfaces': c['network-interfaces'] ?? [],
      ...(c['boot-source'] && { 'boot-source': c['boot-source'] }),
      ...(c.entropy && { entropy: c.entropy }),
      ...(c.vsock !== undefined && { vsock: c.vsock as Record<string, unknown> }),
      ...(c['mmds-config'] && { 'mmds-config': c['mmds-config'] }),
    };
  } catch (e) {
    if (e instanceof JsonBodyError) return bad(`vm_config: ${e.detail}`);
    throw e;
  }
  if (typeof b.machine !== 'object' || b.machine === null) bad('machine must be an object');
  const mem = b.memory as Record<string, unknown> | undefined;
  const ramBytes = vm['machine-config'].mem_size_mib * 0x10_0000;
  if (typeof mem !== 'object' || mem === null || mem.size_bytes !== ramBytes) {
    bad(`memory.size_bytes must be the configured RAM, ${ramBytes} bytes`);
  }
  if (b.snapshot_type === 'Diff') {
    try {
      decodePageMap(mem!.page_map, ramBytes / 4096);
    } catch (e) {
      if (e instanceof MemoryFileError) bad(e.message);
      throw e;
    }
  }
  return { ...(b as unknown as SnapshotBody), vm_config: vm };
}

/**
 * Snapshots a Paused machine: the machine writes the memory file and returns its state; the state
 * file gets that with the VM's configuration. Throws SnapshotError with what failed.
 */
export async function saveSnapshot(
  m: MachineHandle,
  resources: VmResources,
  cfg: { type: SnapshotTypeName; statePath: string; memPath: string },
): Promise<SnapshotTaken> {
  if (!m.createSnapshot) throw new SnapshotError('Cannot save the microVM state: this machine has no snapshot support.');
  let taken: SnapshotTaken;
  try {
    taken = await m.createSnapshot({ type: cfg.type, memFilePath: cfg.memPath, trackDirtyPages: resources.machineConfig.track_dirty_pages });
  } catch (err) {
    throw new SnapshotError(err instanceof Error ? err.message : String(err), { cause: err });
  }
  const body: SnapshotBody = {
    wisp_version: WISP_VERSION,
    snapshot_type: cfg.type,
    created_at_ns: String(BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000)) * 1000n),
    vm_config: resources.snapshotConfig(),
    machine: taken.machine,
    memory: { size_bytes: resources.machineConfig.mem_size_mib * 0x10_0000, ...(taken.memory.pageMap !== undefined && { page_map: taken.memory.pageMap }) },
  };
  try {
    writeStateFile(cfg.statePath, body);
  } catch (err) {
    throw new SnapshotError(`Cannot perform write on the snapshot backing file: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  return taken;
}

export interface RestoreOptions {
  memPath: string;
  trackDirtyPages: boolean;
  resume: boolean;
  networkOverrides?: NetworkOverride[];
  vsockOverride?: VsockOverride;
  /** Advance the guest's timebase by the wall-clock time since the snapshot (clock_realtime). */
  clockRealtime?: boolean;
  instanceId: string;
  bootTimer?: boolean;
  /** wisp's own choice of execution engine (`wisp run --engine`); the default otherwise. */
  engine?: 'jit' | 'interpreter';
  /** `--mmds-size-limit` of the VMM loading the snapshot. */
  mmdsSizeLimit?: number;
}

/**
 * Everything a restore needs from a state file, checked before anything is built: the resources it
 * describes (GET /vm/config afterwards), the machine spec (the same attach steps as a boot) and the
 * restore itself. Throws SnapshotError.
 */
export function prepareRestore(statePath: string, o: RestoreOptions): { resources: VmResources; spec: MachineSpec; restore: RestoreSpec; snapshot: SnapshotBody } {
  const snap = readSnapshot(statePath);
  const nets = snap.vm_config['network-interfaces'];
  for (const ov of o.networkOverrides ?? []) {
    const iface = nets.find((n) => n.iface_id === ov.iface_id);
    if (!iface) throw new SnapshotError(`Failed to get snapshot state from file: Unknown Network Device. (no interface "${ov.iface_id}" in the snapshot)`);
    if (iface.user_mode !== undefined) {
      // The device offered what passt's frames allow (GUEST_CSUM); a tap under the same guest is not that device.
      throw new SnapshotError(`Failed to get snapshot state from file: network interface "${ov.iface_id}" uses wisp's user-mode networking (passt), not a host device: network_overrides cannot give it one (it gets a new passt on its own)`);
    }
    iface.host_dev_name = ov.host_dev_name;
  }
  if (o.vsockOverride) {
    if (!snap.vm_config.vsock) throw new SnapshotError('Failed to get snapshot state from file: Unknown Vsock Device.');
    snap.vm_config.vsock.uds_path = o.vsockOverride.uds_path;
  }
  let resources: VmResources;
  let spec: MachineSpec;
  try {
    resources = VmResources.fromSnapshot(snap.vm_config, o.trackDirtyPages, o.mmdsSizeLimit);
    if (o.engine) resources.setEngine(o.engine);
    spec = resources.machineSpec(o.instanceId, o.bootTimer ?? false);
  } catch (err) {
    throw new SnapshotError(err instanceof Error ? err.message : String(err), { cause: err });
  }
  let machine = snap.machine;
  if (o.clockRealtime) {
    // The guest's timebase jumps forward by the wall-clock time the snapshot spent saved.
    const elapsedMs = Math.max(0, Date.now() - Number(BigInt(snap.created_at_ns) / 1_000_000n));
    machine = { ...machine, mtimeTicks: machine.mtimeTicks + Math.floor(elapsedMs * (TIMEBASE_HZ / 1000)) };
  }
  return { resources, spec, restore: { machine, memFilePath: o.memPath, resume: o.resume }, snapshot: snap };
}
