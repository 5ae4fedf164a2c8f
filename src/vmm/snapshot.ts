/**
 * What a wisp snapshot's state file holds (snapshot/snapshot-file.ts is the container): the VM's
 * configuration (what GET /vm/config showed, so a restore rebuilds the same devices, reopening their
 * host files), the machine's state (every hart and device) and a description of the memory file.
 * Reading one checks all of it before anything is built.
 */
import type { MachineState } from '../platform/machine.js';
import { decodePageMap, MemoryFileError } from '../snapshot/memory-file.js';
import { readStateFile, SnapshotFileError } from '../snapshot/snapshot-file.js';
import { JsonBodyError, anyValue, arrayOf, decodeJson, opt, req, struct } from './json-body.js';
import {
  blockDevice,
  bootSource,
  entropyDevice,
  machineConfigPut,
  type BlockDeviceConfig,
  type BootSourceConfig,
  type EntropyDeviceConfig,
  type MachineConfig,
  type SnapshotTypeName,
} from './vmm-config.js';

/** The VM's configuration as saved: the sections of GET /vm/config that describe the machine. */
export interface SnapshotVmConfig {
  'machine-config': MachineConfig;
  'boot-source'?: BootSourceConfig;
  drives: BlockDeviceConfig[];
  entropy?: EntropyDeviceConfig;
  /** Interfaces as configured (network_overrides may change their host device on load). */
  'network-interfaces': Record<string, unknown>[];
  vsock?: Record<string, unknown>;
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
  'network-interfaces': opt(arrayOf(anyValue)),
  vsock: opt(anyValue),
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
      'network-interfaces': (c['network-interfaces'] ?? []) as Record<string, unknown>[],
      ...(c['boot-source'] && { 'boot-source': c['boot-source'] }),
      ...(c.entropy && { entropy: c.entropy }),
      ...(c.vsock !== undefined && { vsock: c.vsock as Record<string, unknown> }),
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
