/**
 * Applies VmmActions (Firecracker's PrebootApiController + RuntimeApiController in one state machine):
 *
 *   Not started ──InstanceStart──▶ Running ◀──Pause/Resume──▶ Paused
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
import { MetricsFlusher } from './metrics-flusher.js';
import { osErrorText } from './os-error.js';
import { WISP_VERSION } from './version.js';
import { VmmActionError, type VmmActionErrorCode } from './vmm-action-error.js';
import type { LoggerConfig, MetricsConfig } from './vmm-config.js';
import { VmResources, VmResourcesError } from './vm-resources.js';

export const APP_NAME = 'wisp';

const UNSUPPORTED: Record<UnsupportedResource, string> = {
  'network-interfaces': 'wisp does not build network interfaces (virtio-net) yet',
  vsock: 'wisp does not build the vsock device yet',
  balloon: 'wisp does not build the balloon device yet',
  mmds: 'wisp does not build the MMDS yet (it needs a network interface)',
  'snapshot/create': 'wisp does not create snapshots yet',
  'snapshot/load': 'wisp does not load snapshots yet',
  pmem: 'wisp does not build virtio-pmem devices yet',
  'hotplug/memory': 'wisp does not build memory hotplug (virtio-mem) yet',
  'cpu-config': 'custom CPU templates do not apply to riscv64',
};

export interface ControllerOptions {
  instanceId: string;
  builder: VmBuilder;
  logger: Logger;
  metrics: Metrics;
  /** Opens log/metrics destinations; FileLineWriter.open by default (tests may inject). */
  openWriter?: (path: string, what: 'log file' | 'metrics file') => LineWriter;
  /** `--boot-timer`. */
  bootTimer?: boolean;
}

export class VmmController {
  readonly resources = new VmResources();
  readonly flusher: MetricsFlusher;
  private machine: MachineHandle | undefined;
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
    this.flusher = new MetricsFlusher(opts.metrics, opts.logger, async () => this.machine?.takeMetrics?.());
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
    switch (a.type) {
      case 'ConfigureBootSource':
        return this.config('BootSource', () => this.resources.setBootSource(a.config));
      case 'InsertBlockDevice':
        return this.config('DriveConfig', () => this.resources.insertBlockDevice(a.config));
      case 'SetEntropyDevice':
        return this.config('EntropyDevice', () => this.resources.setEntropyDevice(a.config));
      case 'ConfigureSerial':
        return this.config('SerialConfig', () => this.resources.setSerial(a.config));
      case 'PutMachineConfiguration':
      case 'UpdateMachineConfiguration':
        return this.config('MachineConfig', () => this.resources.updateMachineConfig(a.config));
      case 'ConfigureLogger':
        return this.configureLogger(a.config);
      case 'ConfigureMetrics':
        return this.configureMetrics(a.config);
      case 'StartMicroVm':
        return this.start();
      case 'GetVmMachineConfig':
      case 'GetFullVmConfig':
      case 'GetVmInstanceInfo':
      case 'GetVmmVersion':
        return this.query(a.type);
      case 'Unsupported':
        throw new VmmActionError('NotSupported', `The requested operation is not supported: ${UNSUPPORTED[a.resource]}.`);
      case 'UpdateBlockDevice':
      case 'FlushMetrics':
      case 'SendCtrlAltDel':
      case 'Pause':
      case 'Resume':
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
        this.config('DriveConfig', () => this.resources.checkDriveUpdate(id, path));
        await this.machineCall(`update drive "${id}"`, () => m.updateDrive(id, { path, rateLimiter }), 'DriveConfig');
        this.resources.recordDriveUpdate(id, path, rateLimiter);
        return { type: 'Empty' };
      }
      case 'Unsupported':
        throw new VmmActionError('NotSupported', `The requested operation is not supported: ${UNSUPPORTED[a.resource]}.`);
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
    if (!this.resources.bootSourceConfig) {
      throw new VmmActionError('StartMicrovm', 'Cannot start microvm without kernel configuration.');
    }
    let spec;
    try {
      spec = this.resources.machineSpec(this.opts.instanceId, this.opts.bootTimer ?? false);
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

  private query(type: 'GetVmMachineConfig' | 'GetFullVmConfig' | 'GetVmInstanceInfo' | 'GetVmmVersion'): VmmData {
    switch (type) {
      case 'GetVmMachineConfig':
        return { type: 'MachineConfiguration', config: this.resources.machineConfig };
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
    const r = this.resources;
    const cfg: FullVmConfig = { drives: r.blockDevices, 'machine-config': r.machineConfig, 'network-interfaces': [] };
    const boot = r.bootSourceConfig;
    if (boot) cfg['boot-source'] = boot;
    if (this.loggerConfig) cfg.logger = { ...this.loggerConfig };
    if (this.metricsConfig) cfg.metrics = { ...this.metricsConfig };
    const entropy = r.entropyConfig;
    if (entropy) cfg.entropy = entropy;
    return cfg;
  }

  /** Ends the machine (if any) and writes a last metrics line, as Firecracker does on exit. */
  async shutdown(): Promise<void> {
    await this.queue;
    if (this.machine) {
      await this.machine.stop().catch(() => undefined);
    }
    await this.flusher.flush();
    this.flusher.close();
  }
}
