/**
 * Firecracker's `--config-file` (its VmmConfig JSON: "boot-source", "drives", "machine-config",
 * "logger", "metrics", "entropy", "serial", …) read into the ordered list of VmmActions that configures
 * the same VM through the API; the caller applies them and then starts the VM. Sections for devices
 * wisp does not build yet are refused by name rather than silently ignored (an empty list is fine, as
 * many config files carry empty placeholders).
 */
import type { VmmAction } from './actions.js';
import { JsonBodyError, anyValue, arrayOf, decodeJson, opt, struct, str } from './json-body.js';
import {
  blockDevice,
  bootSource,
  entropyDevice,
  loggerConfig,
  machineConfigPut,
  metricsConfig,
  mmdsConfig,
  mmdsValue,
  networkInterface,
  serialConfig,
  vsockDevice,
} from './vmm-config.js';

export type ConfigFileErrorCode = 'invalid-json' | 'unsupported-section';

export class ConfigFileError extends Error {
  constructor(
    readonly code: ConfigFileErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ConfigFileError';
  }
}

const vmmConfig = struct('VmmConfig', {
  balloon: opt(anyValue),
  drives: opt(arrayOf(blockDevice)),
  'boot-source': opt(bootSource),
  'cpu-config': opt(str),
  logger: opt(loggerConfig),
  'machine-config': opt(machineConfigPut),
  metrics: opt(metricsConfig),
  'mmds-config': opt(mmdsConfig),
  'network-interfaces': opt(arrayOf(networkInterface)),
  vsock: opt(vsockDevice),
  entropy: opt(entropyDevice),
  serial: opt(serialConfig),
  pmem: opt(anyValue),
  'memory-hotplug': opt(anyValue),
});

const NOT_BUILT: Record<string, string> = {
  balloon: 'the balloon device',
  pmem: 'virtio-pmem devices',
  'memory-hotplug': 'memory hotplug (virtio-mem)',
  'cpu-config': 'custom CPU templates',
};

/** Firecracker's `--metadata <file>`: the file's JSON becomes the MMDS data store (PUT /mmds). */
export function metadataAction(text: string | Uint8Array): VmmAction {
  try {
    return { type: 'PutMmds', value: decodeJson(text, mmdsValue) };
  } catch (err) {
    if (err instanceof JsonBodyError) throw new ConfigFileError('invalid-json', err.message, { cause: err });
    throw err;
  }
}

/**
 * The actions that configure the VM described by `text`, in Firecracker's order (logger and metrics
 * first, so that the rest is logged and counted; then machine, boot source, drives, network interfaces, entropy, serial).
 * InstanceStart is not included.
 */
export function configFileActions(text: string | Uint8Array): VmmAction[] {
  let cfg;
  try {
    cfg = decodeJson(text, vmmConfig);
  } catch (err) {
    if (err instanceof JsonBodyError) throw new ConfigFileError('invalid-json', err.message, { cause: err });
    throw err;
  }
  for (const [section, what] of Object.entries(NOT_BUILT)) {
    const v = (cfg as Record<string, unknown>)[section];
    if (v === undefined || (Array.isArray(v) && v.length === 0)) continue;
    throw new ConfigFileError('unsupported-section', `The "${section}" section is not supported: wisp does not build ${what} yet.`);
  }
  const actions: VmmAction[] = [];
  if (cfg.logger) actions.push({ type: 'ConfigureLogger', config: cfg.logger });
  if (cfg.metrics) actions.push({ type: 'ConfigureMetrics', config: cfg.metrics });
  if (cfg['machine-config']) actions.push({ type: 'PutMachineConfiguration', config: cfg['machine-config'] });
  if (cfg['boot-source']) actions.push({ type: 'ConfigureBootSource', config: cfg['boot-source'] });
  for (const d of cfg.drives ?? []) actions.push({ type: 'InsertBlockDevice', config: d });
  // Firecracker's build_microvm_from_json: net devices after the drives.
  for (const n of cfg['network-interfaces'] ?? []) actions.push({ type: 'InsertNetworkDevice', config: n });
  if (cfg.vsock) actions.push({ type: 'SetVsockDevice', config: cfg.vsock });
  if (cfg['mmds-config']) actions.push({ type: 'SetMmdsConfiguration', config: cfg['mmds-config'] });
  if (cfg.entropy) actions.push({ type: 'SetEntropyDevice', config: cfg.entropy });
  if (cfg.serial) actions.push({ type: 'ConfigureSerial', config: cfg.serial });
  return actions;
}
