/**
 * Applies VmmActions (Firecracker's PrebootApiController + RuntimeApiController in one state machine):
 *
 *   Not started ──InstanceStart──▶ Running ◀──Pause/Resume──▶ Paused ──CreateSnapshot──▶ Paused
 *        └──────LoadSnapshot (resume_vm: Running, else Paused)──────▲
 *
 * Before the start only configuration is accepted (runtime operations get "not supported before
 * starting the microVM"); after it, configuration is refused ("… after starting the microVM") and the
 * runtime operations go to the MachineHandle. Actions are applied one at a time, in arrival order, as
 * Firecracker's single VMM thread does; a failed action changes nothing.
 */
import { FileLineWriter, type LineWriter } from '../logger/line-writer.js';
import type { Logger } from '../logger/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import type { FullVmConfig, InstanceInfo, InstanceState, UnsupportedResource, VmmAction, VmmData } from './actions.js';
import type { MachineExit, MachineHandle, VmBuilder } from './machine.js';
import { prepareRestore, saveSnapshot, SnapshotError } from './snapshot.js';
import { MetricsFlusher } from './metrics-flusher.js';
import { osErrorText } from './os-error.js';
import { WISP_VERSION } from './version.js';
import { VmmActionError, type VmmActionErrorCode } from './vmm-action-error.js';
import type { LoggerConfig, MetricsConfig, SnapshotCreateConfig, SnapshotLoadConfig } from './vmm-config.js';
import { VmResources, VmResourcesError } from './vm-resources.js';
import { MmdsError } from '../mmds/mmds-error.js';
import { stringify, type JsonValue } from '../mmds/json-value.js';

export const APP_NAME = 'wisp';

const UNSUPPORTED: Record<UnsupportedResource, string> = {
  balloon: 'wisp does not build the balloon device yet',
  pmem: 'wisp does not build virtio-pmem devices yet',
  'hotplug/memory': 'wisp does not build memory hotplug (virtio-mem) yet',
  'cpu-config': 'custom CPU templates do not apply to riscv64',
};

/** Configuration only a fresh boot uses: after any of it, a snapshot can no longer be loaded. */
const BOOT_PATH_ACTIONS: ReadonlySet<VmmAction['type']> = new Set([
  'ConfigureBootSource', 'InsertBlockDevice', 'SetEntropyDevice', 'PutMachineConfiguration', 'UpdateMachineConfiguration', 'InsertNetworkDevice',
]);

export interface ControllerOptions {
  instanceId: string;
  builder: VmBuilder;
  logger: Logger;
  metrics: Metrics;
  /** Opens log/metrics destinations; FileLineWriter.open by default (tests may inject). */
  openWriter?: (path: string, what: 'log file' | 'metrics file') => LineWriter;
  /** `--boot-timer`. */
  bootTimer?: boolean;
  /** `--mmds-size-limit` (bytes); Firecracker's default is the API's payload limit. */
  mmdsSizeLimit?: number;
}

export class VmmController {
  private vmResources = new VmResources();
  /** Something only a fresh boot uses was configured: a snapshot can no longer be loaded (Firecracker's boot_path). */
  private bootPath = false;
  readonly flusher: MetricsFlusher;
  private machine: MachineHandle | undefined;
  /** The running machine serves the MMDS (it has to hear of PUT/PATCH /mmds). */
  private servesMmds = false;
  private paused = false;
  private queue: Promise<unknown> = Promise.resolve();
  private loggerConfig: LoggerConfig | undefined;
  private metricsConfig: MetricsConfig | undefined;
  private readonly openWriter: (path: string, what: 'log file' | 'metrics file') => LineWriter;
  private resolveExit!: (e: MachineExit) => void;
  /** Settles when a started machine stops by itself (the VMM should then exit with its code). */
  readonly exited: Promise<MachineExit> = new Promise((r) => (this.resolveExit = r));

  constructor(private readonly opts: ControllerOptions) {
    this.openWriter = opts.openWriter ?? ((p, what) => FileLineWriter.open(p, what));
    if (opts.mmdsSizeLimit !== undefined) this.resources.setMmdsSizeLimit(opts.mmdsSizeLimit);
    this.flusher = new MetricsFlusher(opts.metrics, opts.logger, async () => this.machine?.takeMetrics?.());
  }

  get resources(): VmResources {
    return this.vmResources;
  }

  get state(): InstanceState {
    if (!this.machine) return 'Not started';
    return this.paused ? 'Paused' : 'Running';
  }

  /** Applies one action after every earlier one has finished. Rejects only with VmmActionError. */
  handle(action: VmmAction): Promise<VmmData> {
    const run = this.queue.then(() => this.apply(action));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async apply(action: VmmAction): Promise<VmmData> {
    try {
      return await (this.machine ? this.runtime(action, this.machine) : this.preboot(action));
    } catch (err) {
      if (err instanceof VmmActionError) throw err;
      // Anything else is a bug or a host failure; it must still become an answer, not a crash.
      throw new VmmActionError('InternalVmm', `Internal Vmm error: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }

  private async preboot(a: VmmAction): Promise<VmmData> {
    if (BOOT_PATH_ACTIONS.has(a.type)) this.bootPath = true;
    switch (a.type) {
      case 'ConfigureBootSource':
        return this.config('BootSource', () => this.vmResources.setBootSource(a.config));
      case 'InsertBlockDevice':
        return this.config('DriveConfig', () => this.vmResources.insertBlockDevice(a.config));
      case 'SetEntropyDevice':
        return this.config('EntropyDevice', () => this.vmResources.setEntropyDevice(a.config));
      case 'InsertNetworkDevice':
        return this.config('NetworkConfig', () => this.vmResources.insertNetworkInterface(a.config));
      case 'ConfigureSerial':
        return this.config('SerialConfig', () => this.vmResources.setSerial(a.config));
      case 'SetVsockDevice':
        return this.config('VsockConfig', () => this.vmResources.setVsockDevice(a.config));
      case 'SetMmdsConfiguration':
        return this.config('MmdsConfig', () => this.vmResources.setMmdsConfig(a.config));
      case 'PutMmds':
      case 'PatchMmds':
        return this.writeMmds(a.type, a.value, undefined);
      case 'GetMmds':
        return this.getMmds();
      case 'PutMachineConfiguration':
      case 'UpdateMachineConfiguration':
        return this.config('MachineConfig', () => this.vmResources.updateMachineConfig(a.config));
      case 'ConfigureLogger':
        return this.configureLogger(a.config);
      case 'ConfigureMetrics':
        return this.configureMetrics(a.config);
      case 'StartMicroVm':
        return this.start();
      case 'LoadSnapshot':
        return this.loadSnapshot(a.config);
      case 'GetVmMachineConfig':
      case 'GetFullVmConfig':
      case 'GetVmInstanceInfo':
      case 'GetVmmVersion':
        return this.query(a.type);
      case 'Unsupported':
        throw new VmmActionError('NotSupported', `The requested operation is not supported: ${UNSUPPORTED[a.resource]}.`);
      case 'UpdateBlockDevice':
      case 'UpdateNetworkInterface':
      case 'FlushMetrics':
      case 'SendCtrlAltDel':
      case 'Pause':
      case 'Resume':
      case 'CreateSnapshot':
        throw VmmActionError.preBoot();
    }
  }

  private async runtime(a: VmmAction, m: MachineHandle): Promise<VmmData> {
    switch (a.type) {
      case 'GetVmMachineConfig':
      case 'GetFullVmConfig':
      case 'GetVmInstanceInfo':
      case 'GetVmmVersion':
        return this.query(a.type);
      case 'FlushMetrics':
        if (!this.flusher.configured) {
          throw new VmmActionError('Metrics', 'Failed to write metrics: the metrics system was never configured (PUT /metrics or --metrics-path).');
        }
        await this.flusher.flush();
        return { type: 'Empty' };
      case 'Pause': {
        const t0 = performance.now();
        if (!this.paused) await this.machineCall('pause the microVM', () => m.pause());
        this.paused = true;
        this.opts.metrics.latencies_us.vmm_pause_vm.set(Math.round((performance.now() - t0) * 1000));
        return { type: 'Empty' };
      }
      case 'Resume': {
        const t0 = performance.now();
        if (this.paused) await this.machineCall('resume the microVM', () => m.resume());
        this.paused = false;
        this.opts.metrics.latencies_us.vmm_resume_vm.set(Math.round((performance.now() - t0) * 1000));
        return { type: 'Empty' };
      }
      case 'SendCtrlAltDel':
        await this.machineCall('send Ctrl+Alt+Del', () => m.sendCtrlAltDel());
        return { type: 'Empty' };
      case 'UpdateBlockDevice': {
        const { drive_id: id, path_on_host: path, rate_limiter: rateLimiter } = a.config;
        this.config('DriveConfig', () => this.vmResources.checkDriveUpdate(id, path));
        await this.machineCall(`update drive "${id}"`, () => m.updateDrive(id, { path, rateLimiter }), 'DriveConfig');
        this.vmResources.recordDriveUpdate(id, path, rateLimiter);
        return { type: 'Empty' };
      }
      case 'UpdateNetworkInterface': {
        const { iface_id: id, rx_rate_limiter: rx, tx_rate_limiter: tx } = a.config;
        this.config('NetworkConfig', () => this.vmResources.checkNetUpdate(id));
        const update = m.updateNet;
        if (!update) throw new VmmActionError('NetworkConfig', `Unable to update the net device: this machine cannot update "${id}"`);
        await this.machineCall(`update network interface "${id}"`, () => update.call(m, id, { rxRateLimiter: rx, txRateLimiter: tx }), 'NetworkConfig');
        this.vmResources.recordNetUpdate(id, rx, tx);
        return { type: 'Empty' };
      }
      case 'PutMmds':
      case 'PatchMmds':
        return this.writeMmds(a.type, a.value, m);
      case 'GetMmds':
        return this.getMmds();
      case 'CreateSnapshot':
        return this.createSnapshot(a.config, m);
      case 'Unsupported':
        throw new VmmActionError('NotSupported', `The requested operation is not supported: ${UNSUPPORTED[a.resource]}.`);
      case 'InsertNetworkDevice':
      case 'LoadSnapshot':
      case 'SetVsockDevice':
      case 'SetMmdsConfiguration':
      case 'ConfigureBootSource':
      case 'InsertBlockDevice':
      case 'SetEntropyDevice':
      case 'ConfigureSerial':
      case 'PutMachineConfiguration':
      case 'UpdateMachineConfiguration':
      case 'ConfigureLogger':
      case 'ConfigureMetrics':
      case 'StartMicroVm':
        throw VmmActionError.postBoot();
    }
  }

  private config(code: VmmActionErrorCode, apply: () => void): VmmData {
    try {
      apply();
    } catch (err) {
      if (err instanceof VmResourcesError) throw new VmmActionError(code, err.message, { cause: err });
      throw err;
    }
    return { type: 'Empty' };
  }

  /**
   * PUT / PATCH /mmds, before or after the start. The store changes first (a refusal changes nothing);
   * a running machine that serves the MMDS gets the new contents before the answer goes out, so the
   * guest sees a PATCH at once.
   */
  private async writeMmds(kind: 'PutMmds' | 'PatchMmds', value: JsonValue, m: MachineHandle | undefined): Promise<VmmData> {
    const store = this.resources.mmds;
    try {
      if (kind === 'PutMmds') store.put(value);
      else store.patch(value);
    } catch (err) {
      if (err instanceof MmdsError) throw new VmmActionError(err.code === 'limit-exceeded' ? 'MmdsLimitExceeded' : 'Mmds', err.message, { cause: err });
      throw err;
    }
    if (m && this.servesMmds && m.updateMmds) await this.machineCall('update the MMDS', () => m.updateMmds!(store.value, store.isInitialized), 'Mmds');
    return { type: 'Empty' };
  }

  private getMmds(): VmmData {
    const v = this.resources.mmds.value;
    return { type: 'MmdsValue', json: v === null ? '{}' : stringify(v) };
  }

  private async machineCall(what: string, call: () => Promise<void>, code: VmmActionErrorCode = 'InternalVmm'): Promise<void> {
    try {
      await call();
    } catch (err) {
      throw new VmmActionError(code, `Cannot ${what}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }

  private configureLogger(cfg: LoggerConfig): VmmData {
    let writer: LineWriter | undefined;
    if (cfg.log_path !== undefined) {
      try {
        writer = this.openWriter(cfg.log_path, 'log file');
      } catch (err) {
        throw new VmmActionError('Logger', `Failed to open target file "${cfg.log_path}": ${osErrorText(err)}`, { cause: err });
      }
    }
    this.opts.logger.configure(
      {
        ...(cfg.level !== undefined && { level: cfg.level }),
        ...(cfg.show_level !== undefined && { showLevel: cfg.show_level }),
        ...(cfg.show_log_origin !== undefined && { showOrigin: cfg.show_log_origin }),
        ...(cfg.module !== undefined && { module: cfg.module }),
      },
      writer,
    );
    this.loggerConfig = { ...this.loggerConfig, ...cfg };
    return { type: 'Empty' };
  }

  private configureMetrics(cfg: MetricsConfig): VmmData {
    if (this.flusher.configured) throw new VmmActionError('Metrics', 'Reinitialization of metrics not allowed.');
    let writer: LineWriter;
    try {
      writer = this.openWriter(cfg.metrics_path, 'metrics file');
    } catch (err) {
      throw new VmmActionError('Metrics', `Failed to open target file "${cfg.metrics_path}": ${osErrorText(err)}`, { cause: err });
    }
    this.flusher.configure(writer, { emitId: cfg.emit_id ? this.opts.instanceId : undefined, properties: cfg.properties });
    this.metricsConfig = { ...cfg };
    return { type: 'Empty' };
  }

  private async start(): Promise<VmmData> {
    if (!this.vmResources.bootSourceConfig) {
      throw new VmmActionError('StartMicrovm', 'Cannot start microvm without kernel configuration.');
    }
    let spec;
    try {
      spec = this.vmResources.machineSpec(this.opts.instanceId, this.opts.bootTimer ?? false);
    } catch (err) {
      throw new VmmActionError('StartMicrovm', err instanceof Error ? err.message : String(err), { cause: err });
    }
    let handle: MachineHandle;
    try {
      handle = await this.opts.builder.build(spec);
    } catch (err) {
      this.opts.logger.error('vmm::builder', `Failed to start microVM: ${err instanceof Error ? err.message : String(err)}`);
      throw new VmmActionError('StartMicrovm', err instanceof Error ? err.message : String(err), { cause: err });
    }
    this.machine = handle;
    this.servesMmds = spec.mmds !== undefined;
    this.paused = false;
    this.opts.logger.info('vmm::controller', 'Successfully started microvm.');
    void handle.exited.then((e) => {
      const line = `Vmm is stopping (${e.reason}${e.message ? `: ${e.message}` : ''}).`;
      // A guest that died (stalled, crashed, panicked) is an error in the log, not news.
      if (e.exitCode !== 0) this.opts.logger.error('vmm::controller', line);
      else this.opts.logger.info('vmm::controller', line);
      this.resolveExit(e);
    });
    return { type: 'Empty' };
  }

  /**
   * PUT /snapshot/create on a Paused VM: the machine writes the memory file and returns its state; the
   * state file gets that and the VM's configuration. The VM stays Paused.
   */
  private async createSnapshot(cfg: SnapshotCreateConfig, m: MachineHandle): Promise<VmmData> {
    const fail = (msg: string, cause?: unknown) => new VmmActionError('CreateSnapshot', `Create snapshot error: ${msg}`, { cause });
    if (!this.paused) throw fail('Cannot save the microVM state: the microVM is not Paused (PATCH /vm {"state": "Paused"} first).');
    const t0 = performance.now();
    let taken;
    try {
      taken = await saveSnapshot(m, this.vmResources, { type: cfg.snapshot_type, statePath: cfg.snapshot_path, memPath: cfg.mem_file_path });
    } catch (err) {
      if (err instanceof SnapshotError) throw fail(err.message, err);
      throw err;
    }
    const us = Math.round((performance.now() - t0) * 1000);
    const l = this.opts.metrics.latencies_us;
    (cfg.snapshot_type === 'Full' ? l.vmm_full_create_snapshot : l.vmm_diff_create_snapshot).set(us);
    (cfg.snapshot_type === 'Full' ? l.full_create_snapshot : l.diff_create_snapshot).set(us);
    this.opts.logger.info('vmm::controller',
      `'create ${cfg.snapshot_type.toLowerCase()} snapshot' VMM action took ${us} us (state ${taken.saveMs.toFixed(1)} ms, memory file ${taken.memoryMs.toFixed(1)} ms, ${taken.memory.pages} pages).`);
    return { type: 'Empty' };
  }

  /**
   * PUT /snapshot/load in a fresh VMM: reads and checks the state file, rebuilds the saved
   * configuration (drives reopened, network_overrides applied) and builds the machine from the
   * snapshot, its memory file opened, not read. Nothing is kept of a load that fails: the VMM stays
   * Not started and usable (another load, or a boot).
   */
  private async loadSnapshot(cfg: SnapshotLoadConfig): Promise<VmmData> {
    if (this.bootPath) {
      throw new VmmActionError('LoadSnapshot', 'Load snapshot error: Loading a microVM snapshot not allowed after configuring boot-specific resources.');
    }
    const fail = (msg: string, cause?: unknown) => new VmmActionError('LoadSnapshot', `Load snapshot error: Failed to restore from snapshot: ${msg}`, { cause });
    const t0 = performance.now();
    if (cfg.mem_backend.backend_type === 'Uffd') {
      throw fail('the Uffd memory backend is not supported: wisp loads snapshot memory lazily from a File backend itself (its software MMU sees every first touch of a page), which is what a Uffd page-fault handler does for Firecracker; use backend_type "File"');
    }
    if (cfg.huge_pages === '2M' || cfg.huge_pages === 'Transparent') {
      throw fail(`huge pages (${cfg.huge_pages}) are not supported by wisp: guest memory is a WebAssembly.Memory`);
    }
    let prepared;
    try {
      prepared = prepareRestore(cfg.snapshot_path, {
        memPath: cfg.mem_backend.backend_path, trackDirtyPages: cfg.track_dirty_pages, resume: cfg.resume_vm,
        networkOverrides: cfg.network_overrides, vsockOverride: cfg.vsock_override, clockRealtime: cfg.clock_realtime,
        instanceId: this.opts.instanceId, bootTimer: this.opts.bootTimer, mmdsSizeLimit: this.opts.mmdsSizeLimit,
      });
    } catch (err) {
      if (err instanceof SnapshotError) throw fail(err.message, err);
      throw err;
    }
    let handle: MachineHandle;
    try {
      handle = await this.opts.builder.build(prepared.spec, prepared.restore);
    } catch (err) {
      this.opts.logger.error('vmm::builder', `Failed to restore microVM: ${err instanceof Error ? err.message : String(err)}`);
      throw fail(err instanceof Error ? err.message : String(err), err);
    }
    this.vmResources = prepared.resources;
    this.machine = handle;
    this.servesMmds = prepared.spec.mmds !== undefined;
    this.paused = !cfg.resume_vm;
    const us = Math.round((performance.now() - t0) * 1000);
    this.opts.metrics.latencies_us.vmm_load_snapshot.set(us);
    this.opts.metrics.latencies_us.load_snapshot.set(us);
    this.opts.logger.info('vmm::controller', `'load snapshot' VMM action took ${us} us.`);
    void handle.exited.then((e) => {
      this.opts.logger.info('vmm::controller', `Vmm is stopping (${e.reason}${e.message ? `: ${e.message}` : ''}).`);
      this.resolveExit(e);
    });
    return { type: 'Empty' };
  }

  private query(type: 'GetVmMachineConfig' | 'GetFullVmConfig' | 'GetVmInstanceInfo' | 'GetVmmVersion'): VmmData {
    switch (type) {
      case 'GetVmMachineConfig':
        return { type: 'MachineConfiguration', config: this.vmResources.machineConfig };
      case 'GetVmmVersion':
        return { type: 'VmmVersion', version: WISP_VERSION };
      case 'GetVmInstanceInfo':
        return { type: 'InstanceInformation', info: this.instanceInfo() };
      case 'GetFullVmConfig':
        return { type: 'FullVmConfig', config: this.fullConfig() };
    }
  }

  instanceInfo(): InstanceInfo {
    return { id: this.opts.instanceId, state: this.state, vmm_version: WISP_VERSION, app_name: APP_NAME };
  }

  private fullConfig(): FullVmConfig {
    const r = this.vmResources;
    const cfg: FullVmConfig = { drives: r.blockDevices, 'machine-config': r.machineConfig, 'network-interfaces': r.networkInterfaces };
    const boot = r.bootSourceConfig;
    if (boot) cfg['boot-source'] = boot;
    if (this.loggerConfig) cfg.logger = { ...this.loggerConfig };
    if (this.metricsConfig) cfg.metrics = { ...this.metricsConfig };
    const entropy = r.entropyConfig;
    if (entropy) cfg.entropy = entropy;
    const vsock = r.vsockConfig;
    if (vsock) cfg.vsock = vsock;
    const mmds = r.mmdsConfig;
    if (mmds) cfg['mmds-config'] = mmds;
    return cfg;
  }

  /** Ends the machine (if any) and writes a last metrics line, as Firecracker does on exit. */
  async shutdown(): Promise<void> {
    await this.queue;
    this.opts.builder.dispose?.();
    if (this.machine) {
      await this.machine.stop().catch(() => undefined);
    }
    await this.flusher.flush();
    this.flusher.close();
  }
}
