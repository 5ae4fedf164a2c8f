/**
 * The pre-boot configuration store (Firecracker's `resources.rs`): everything set through the API or the
 * config file before InstanceStart, each setter validating with Firecracker's rules and leaving the
 * store unchanged on error. `machineSpec()` turns the store into the seam's MachineSpec.
 */
import { accessSync, closeSync, constants as fsConstants, lstatSync, openSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { MAX_HARTS, MAX_RAM_BYTES } from '../memory/machine-memory.js';
import { HostFileError } from '../util/host-file.js';
import { formatMac, parseMac } from '../devices/virtio/net/mac-address.js';
import { TapBackend, TapError } from './backends/tap-backend.js';
import type { DriveSpec, MachineSpec, NetSpec } from './machine.js';
import { checkSerialOutPath, probeDriveFile, probeKernelFile, probeInitrdFile } from './guest-files.js';
import { DEFAULT_MMDS_SIZE_LIMIT, MmdsDataStore } from '../mmds/data-store.js';
import { ipv4FromString } from '../mmds/frames.js';
import { DEFAULT_MMDS_IPV4, isLinkLocalValid } from '../mmds/mmds-stack.js';
import { ipv4ToString } from '../mmds/frames.js';
import { osErrorText } from './os-error.js';
import type { SnapshotVmConfig } from './snapshot.js';
import type {
  BlockDeviceConfig,
  BootSourceConfig,
  EntropyDeviceConfig,
  MachineConfig,
  MmdsConfig,
  VsockDeviceConfig,
  MachineConfigUpdate,
  NetworkInterfaceConfig,
  RateLimiterConfig,
  SerialConfig,
  UserModeIpv4Config,
} from './vmm-config.js';

export type VmResourcesErrorCode =
  | 'invalid-vcpu-count'
  | 'serial-rate-limiter-not-supported'
  | 'invalid-serial-out-path'
  | 'invalid-memory-size'
  | 'smt-not-supported'
  | 'cpu-template-not-supported'
  | 'huge-pages-not-supported'
  | 'invalid-kernel-path'
  | 'invalid-initrd-path'
  | 'invalid-kernel-cmdline'
  | 'invalid-drive-id'
  | 'root-device-already-added'
  | 'missing-drive-field'
  | 'invalid-block-device-path'
  | 'vhost-user-not-supported'
  | 'io-engine-not-supported'
  | 'no-free-device-slot'
  | 'unknown-drive'
  | 'invalid-iface-id'
  | 'net-backend-choice'
  | 'invalid-guest-mac'
  | 'guest-mac-in-use'
  | 'invalid-mtu'
  | 'host-dev-in-use'
  | 'tap-open-failed'
  | 'publish-conflict'
  | 'invalid-user-mode-ipv4'
  | 'unknown-iface'
  | 'invalid-vsock-cid'
  | 'invalid-vsock-path'
  | 'mmds-empty-iface-list'
  | 'mmds-invalid-ipv4'
  | 'mmds-invalid-iface-id';

export class VmResourcesError extends Error {
  constructor(
    readonly code: VmResourcesErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'VmResourcesError';
  }
}

/** Firecracker's limit (firecracker-api.yaml, putMachineConfiguration: "restricted to the [1, 32] range"). */
export const MAX_SUPPORTED_VCPUS = MAX_HARTS; // Firecracker's limit; wisp runs as many harts
export const DEFAULT_MEM_SIZE_MIB = 128;
/** DESIGN.md guest platform: virtio-mmio slots n = 0…7. */
export const VIRTIO_MMIO_SLOTS = 8;
/** Linux arch/riscv/include/uapi/asm/setup.h: COMMAND_LINE_SIZE, including the terminating NUL. */
export const CMDLINE_MAX_SIZE = 1024;
/**
 * Used when boot_args is absent. Firecracker's own default also disables modules and the 8250 UART;
 * Debian's kernel needs both (virtio_mmio is a module, the console is an 8250), so wisp keeps only the
 * parts that mean something here, plus the console on the UART.
 */
export const DEFAULT_KERNEL_CMDLINE = 'console=ttyS0 reboot=k panic=1';

/** Firecracker's `checked_id`: Unicode letters/digits (Rust's char::is_alphanumeric) and '_'. */
export function isValidResourceId(id: string): boolean {
  return /^[\p{Alphabetic}\p{N}_]+$/u.test(id);
}

/** sun_path holds 108 bytes on Linux, the terminating NUL included. */
export const UDS_PATH_MAX = 107;

export function defaultMachineConfig(): MachineConfig {
  return { vcpu_count: 1, mem_size_mib: DEFAULT_MEM_SIZE_MIB, smt: false, track_dirty_pages: false, huge_pages: 'None' };
}

/** Runs a configuration-time file check; its HostFileError (if any) is returned, anything else thrown. */
function fileProblem(check: () => unknown): HostFileError | undefined {
  try {
    check();
    return undefined;
  } catch (err) {
    if (err instanceof HostFileError) return err;
    throw err;
  }
}

export class VmResources {
  private bootSource: BootSourceConfig | undefined;
  /** Root drive (if any) first, as Firecracker's BlockBuilder keeps it. */
  private drives: BlockDeviceConfig[] = [];
  private vmConfig: MachineConfig = defaultMachineConfig();
  private entropy: EntropyDeviceConfig | undefined;
  private serial: SerialConfig = {};
  /** Network interfaces in insertion order (a replaced one keeps its place). */
  private nets: NetworkInterfaceConfig[] = [];
  private vsock: VsockDeviceConfig | undefined;
  private mmdsCfg: MmdsConfig | undefined;
  private mmdsStore: MmdsDataStore | undefined;
  /** `--mmds-size-limit` (Firecracker: defaults to the API's payload limit). */
  private mmdsLimit = DEFAULT_MMDS_SIZE_LIMIT;
  /** wisp's extension (not in Firecracker's API): `wisp run --engine`. */
  private engine: 'jit' | 'interpreter' | undefined;
  /** wisp's extension: `wisp run --deterministic`. */
  private deterministic = false;

  get machineConfig(): MachineConfig {
    return { ...this.vmConfig };
  }
  get bootSourceConfig(): BootSourceConfig | undefined {
    return this.bootSource && { ...this.bootSource };
  }
  get blockDevices(): BlockDeviceConfig[] {
    return this.drives.map((d) => ({ ...d }));
  }
  get entropyConfig(): EntropyDeviceConfig | undefined {
    return this.entropy && { ...this.entropy };
  }
  get serialConfig(): SerialConfig {
    return { ...this.serial };
  }
  get networkInterfaces(): NetworkInterfaceConfig[] {
    return this.nets.map((n) => structuredClone(n));
  }

  /** PUT /machine-config and PATCH /machine-config (Firecracker's VmConfig::update). */
  updateMachineConfig(update: MachineConfigUpdate): void {
    const next: MachineConfig = { ...this.vmConfig };
    for (const [k, v] of Object.entries(update)) if (v !== undefined) (next as unknown as Record<string, unknown>)[k] = v;
    if (update.cpu_template === 'None') delete next.cpu_template;

    if (next.smt) {
      throw new VmResourcesError('smt-not-supported', 'Enabling simultaneous multithreading is not supported on riscv64.');
    }
    if (next.vcpu_count === 0 || next.vcpu_count > MAX_SUPPORTED_VCPUS) {
      throw new VmResourcesError(
        'invalid-vcpu-count',
        `The number of vCPUs must be greater than 0, less than ${MAX_SUPPORTED_VCPUS} and must be 1 or an even number if SMT is enabled.`,
      );
    }
    if (next.mem_size_mib === 0 || next.mem_size_mib * 0x10_0000 > MAX_RAM_BYTES) {
      throw new VmResourcesError(
        'invalid-memory-size',
        next.mem_size_mib === 0
          ? 'The memory size (MiB) is either 0, or not a multiple of the configured page size.'
          : `Cannot configure ${next.mem_size_mib} MiB of guest memory: wisp supports at most ${Math.floor(MAX_RAM_BYTES / 0x10_0000)} MiB.`,
      );
    }
    if (next.cpu_template !== undefined) {
      throw new VmResourcesError('cpu-template-not-supported', `CPU template ${next.cpu_template} is not supported on riscv64; use "None".`);
    }
    if (next.huge_pages !== 'None') {
      throw new VmResourcesError('huge-pages-not-supported', `Huge pages (${next.huge_pages}) are not supported by wisp: guest memory is a WebAssembly.Memory.`);
    }
    this.vmConfig = next;
  }

  /** PUT /boot-source: the kernel (and initrd) must open now; the command line must fit the guest's. */
  setBootSource(cfg: BootSourceConfig): void {
    const kErr = fileProblem(() => probeKernelFile(cfg.kernel_image_path));
    if (kErr) {
      const what = kErr.code === 'bad-content' ? 'cannot be used' : 'cannot be opened';
      throw new VmResourcesError('invalid-kernel-path', `The kernel file ${what}: ${kErr.message}`, { cause: kErr });
    }
    if (cfg.initrd_path !== undefined) {
      const path = cfg.initrd_path;
      const iErr = fileProblem(() => probeInitrdFile(path));
      if (iErr) {
        throw new VmResourcesError(
          'invalid-initrd-path',
          `The initrd file cannot be opened due to invalid path or invalid permissions. ${iErr.message}`,
          { cause: iErr },
        );
      }
    }
    checkCmdline(cfg.boot_args ?? DEFAULT_KERNEL_CMDLINE);
    this.bootSource = { ...cfg };
  }

  /** PUT /drives/{id}: insert or replace; at most one root device, which is kept first. */
  insertBlockDevice(cfg: BlockDeviceConfig): void {
    const id = cfg.drive_id;
    if (!isValidResourceId(id)) {
      throw new VmResourcesError('invalid-drive-id', `Cannot attach drive "${id}": ids can only contain alphanumeric characters and underscores`);
    }
    if (cfg.socket !== undefined) {
      throw new VmResourcesError('vhost-user-not-supported', `Cannot attach drive "${id}": vhost-user block devices are not supported by wisp`);
    }
    if (cfg.path_on_host === undefined) {
      throw new VmResourcesError('missing-drive-field', `Cannot attach drive "${id}": path_on_host is required for a virtio-block drive`);
    }
    if (cfg.is_read_only === undefined) {
      throw new VmResourcesError('missing-drive-field', `Cannot attach drive "${id}": is_read_only is required for a virtio-block drive`);
    }
    if (cfg.io_engine === 'Async') {
      throw new VmResourcesError('io-engine-not-supported', `Cannot attach drive "${id}": the Async (io_uring) engine is not supported by wisp; use "Sync"`);
    }
    const index = this.drives.findIndex((d) => d.drive_id === id);
    const rootIndex = this.drives.findIndex((d) => d.is_root_device);
    if (cfg.is_root_device && rootIndex >= 0 && rootIndex !== index) {
      throw new VmResourcesError('root-device-already-added', 'A root block device already exists!');
    }
    if (index < 0 && this.deviceCount() >= VIRTIO_MMIO_SLOTS) {
      throw new VmResourcesError('no-free-device-slot', `Cannot attach drive "${id}": all ${VIRTIO_MMIO_SLOTS} virtio-mmio slots are taken`);
    }
    const hostPath = cfg.path_on_host;
    const err = fileProblem(() => probeDriveFile(hostPath, cfg.is_read_only === true));
    if (err) {
      throw new VmResourcesError(
        'invalid-block-device-path',
        err.code === 'os'
          ? `Cannot attach drive "${id}": the block device path "${hostPath}" cannot be opened: ${err.message}`
          : `Cannot attach drive "${id}": ${err.message}`,
        { cause: err },
      );
    }
    const stored: BlockDeviceConfig = { ...cfg, cache_type: cfg.cache_type ?? 'Unsafe', io_engine: cfg.io_engine ?? 'Sync' };
    const next = this.drives.filter((d) => d.drive_id !== id);
    if (index >= 0) next.splice(index, 0, stored);
    else next.push(stored);
    // Root first (Firecracker's BlockBuilder), others in insertion order.
    next.sort((a, b) => Number(b.is_root_device) - Number(a.is_root_device));
    this.drives = next;
  }

  /** PATCH /drives/{id} after boot: the drive must exist and a new path must open with its access. */
  checkDriveUpdate(id: string, path: string | undefined): void {
    const drive = this.drives.find((d) => d.drive_id === id);
    if (!drive) throw new VmResourcesError('unknown-drive', `Cannot update drive "${id}": no drive with this id was configured`);
    if (path !== undefined) {
      const err = fileProblem(() => probeDriveFile(path, drive.is_read_only === true));
      if (err) {
        throw new VmResourcesError(
          'invalid-block-device-path',
          err.code === 'os'
            ? `Cannot update drive "${id}": the block device path "${path}" cannot be opened: ${err.message}`
            : `Cannot update drive "${id}": ${err.message}`,
          { cause: err },
        );
      }
    }
  }

  /** Keeps GET /vm/config truthful after a successful PATCH. */
  recordDriveUpdate(id: string, path: string | undefined, rateLimiter: RateLimiterConfig | undefined): void {
    const d = this.drives.find((x) => x.drive_id === id);
    if (!d) return;
    if (path !== undefined) d.path_on_host = path;
    // PATCH semantics: a bucket left out keeps its value, as the running limiter does.
    if (rateLimiter !== undefined) d.rate_limiter = { ...d.rate_limiter, ...definedBuckets(rateLimiter) };
  }

  setEntropyDevice(cfg: EntropyDeviceConfig): void {
    if (!this.entropy && this.deviceCount() >= VIRTIO_MMIO_SLOTS) {
      throw new VmResourcesError('no-free-device-slot', `Cannot attach the entropy device: all ${VIRTIO_MMIO_SLOTS} virtio-mmio slots are taken`);
    }
    this.entropy = { ...cfg };
  }

  /** PUT /serial. (A token bucket with size or refill_time 0 is disabled, as in Firecracker.) */
  setSerial(cfg: SerialConfig): void {
    // Refused rather than accepted and ignored: wisp's console has no limiter yet.
    const b = cfg.rate_limiter;
    if (b && b.size > 0 && b.refill_time > 0) {
      throw new VmResourcesError('serial-rate-limiter-not-supported', 'Cannot configure the serial device: a serial rate_limiter is not supported by wisp yet');
    }
    if (cfg.serial_out_path !== undefined) {
      const path = cfg.serial_out_path;
      const err = fileProblem(() => checkSerialOutPath(path));
      if (err) throw new VmResourcesError('invalid-serial-out-path', `Cannot configure the serial device: ${err.message}`, { cause: err });
    }
    this.serial = { ...cfg };
  }

  /** `wisp run --deterministic`: every hart on one thread in turn, time from the instruction count (a replayable run). */
  setDeterministic(on: boolean): void {
    this.deterministic = on;
  }

  /**
   * PUT /network-interfaces/{id} (Firecracker's NetBuilder::build): insert or replace. A tap given by
   * host_dev_name must exist and open now, as Firecracker opens it at this point; wisp's user_mode
   * extension (passt) is started at InstanceStart, where taken host ports are refused. A snapshot's
   * interfaces are checked with `openTap: false`: the restored machine opens the tap itself.
   */
  insertNetworkInterface(cfg: NetworkInterfaceConfig, opts: { openTap?: boolean } = {}): void {
    const id = cfg.iface_id;
    const fail = (code: VmResourcesErrorCode, message: string, cause?: unknown): never => {
      throw new VmResourcesError(code, message, cause === undefined ? undefined : { cause });
    };
    if (!isValidResourceId(id)) fail('invalid-iface-id', `Cannot attach network interface "${id}": ids can only contain alphanumeric characters and underscores`);
    const others = this.nets.filter((n) => n.iface_id !== id);
    if ((cfg.host_dev_name === undefined) === (cfg.user_mode === undefined)) {
      fail('net-backend-choice', cfg.host_dev_name === undefined
        ? `Cannot attach network interface "${id}": give host_dev_name (a tap device) or wisp's user_mode (rootless networking through passt)`
        : `Cannot attach network interface "${id}": give host_dev_name or user_mode, not both`);
    }
    let mac: string | undefined;
    if (cfg.guest_mac !== undefined) {
      try {
        mac = formatMac(parseMac(cfg.guest_mac));
      } catch (e) {
        fail('invalid-guest-mac', `Cannot attach network interface "${id}": guest_mac ${(e as Error).message}`, e);
      }
      if (others.some((n) => n.guest_mac !== undefined && formatMac(parseMac(n.guest_mac)) === mac)) {
        fail('guest-mac-in-use', `The MAC address is already in use: ${cfg.guest_mac}`);
      }
    }
    if (cfg.mtu !== undefined && (cfg.mtu < 68 || cfg.mtu > 65535)) {
      fail('invalid-mtu', `Could not create the network device: MTU ${cfg.mtu} is out of range [68, 65535]`);
    }
    if (cfg.host_dev_name !== undefined) {
      const name = cfg.host_dev_name;
      if (others.some((n) => n.host_dev_name === name)) {
        fail('host-dev-in-use', `Cannot attach network interface "${id}": tap device "${name}" is already used by another interface of this VM`);
      }
      if (opts.openTap !== false) {
        try {
          TapBackend.open(name).close();
        } catch (e) {
          if (!(e instanceof TapError)) throw e;
          fail('tap-open-failed', `Could not create the network device: Open tap device failed: ${e.message}`, e);
        }
      }
    }
    if (cfg.user_mode !== undefined) {
      const taken = new Set(others.flatMap((n) => (n.user_mode?.publish ?? []).map((p) => `${p.protocol ?? 'tcp'}/${p.host_port}`)));
      for (const p of cfg.user_mode.publish ?? []) {
        const key = `${p.protocol ?? 'tcp'}/${p.host_port}`;
        if (p.host_port === 0 || p.guest_port === 0) fail('publish-conflict', `Cannot attach network interface "${id}": published ports must be 1 to 65535, got ${p.host_port}:${p.guest_port}`);
        if (taken.has(key)) fail('publish-conflict', `Cannot attach network interface "${id}": host ${(p.protocol ?? 'tcp').toUpperCase()} port ${p.host_port} is published twice`);
        taken.add(key);
      }
      const v4 = cfg.user_mode.ipv4;
      if (v4 !== undefined) {
        const bad = userModeIpv4Problem(v4);
        if (bad) fail('invalid-user-mode-ipv4', `Cannot attach network interface "${id}": user_mode.ipv4 ${bad}`);
      }
    }
    const index = this.nets.findIndex((n) => n.iface_id === id);
    if (index < 0 && this.deviceCount() >= VIRTIO_MMIO_SLOTS) {
      fail('no-free-device-slot', `Cannot attach network interface "${id}": all ${VIRTIO_MMIO_SLOTS} virtio-mmio slots are taken`);
    }
    const stored = structuredClone(cfg);
    if (index >= 0) this.nets[index] = stored;
    else this.nets.push(stored);
  }

  /** PATCH /network-interfaces/{id} after boot: the interface must exist. */
  checkNetUpdate(id: string): void {
    if (!this.nets.some((n) => n.iface_id === id)) {
      throw new VmResourcesError('unknown-iface', `Unable to update the net device: Invalid network interface ID - "${id}" was not configured`);
    }
  }

  /** Keeps GET /vm/config truthful after a successful PATCH. */
  recordNetUpdate(id: string, rx: RateLimiterConfig | undefined, tx: RateLimiterConfig | undefined): void {
    const n = this.nets.find((x) => x.iface_id === id);
    if (!n) return;
    if (rx !== undefined) n.rx_rate_limiter = { ...n.rx_rate_limiter, ...definedBuckets(rx) };
    if (tx !== undefined) n.tx_rate_limiter = { ...n.tx_rate_limiter, ...definedBuckets(tx) };
  }

  get vsockConfig(): VsockDeviceConfig | undefined {
    return this.vsock && { ...this.vsock };
  }

  /**
   * PUT /vsock (pre-boot; a second PUT replaces the first). The guest CID must be one a guest may have
   * (§5.10.4: 3 … 2^32 - 2); the socket must be bindable at uds_path when the VM starts, which is
   * checked now as far as it can be without binding: a free path of at most 107 bytes in a directory
   * wisp can write. (Firecracker binds here; wisp binds in the machine's thread at InstanceStart.)
   */
  setVsockDevice(cfg: VsockDeviceConfig): void {
    if (cfg.guest_cid < 3 || cfg.guest_cid > 0xffff_fffe) {
      throw new VmResourcesError('invalid-vsock-cid', `Cannot configure the vsock device: guest_cid ${cfg.guest_cid} is reserved (a guest's CID is 3 to 4294967294)`);
    }
    const path = cfg.uds_path;
    const fail = (detail: string, cause?: unknown): never => {
      throw new VmResourcesError(
        'invalid-vsock-path',
        `Cannot create backend for vsock device: Error binding to the host-side Unix socket "${path}": ${detail}`,
        { cause },
      );
    };
    if (path === '') fail('the path is empty');
    if (Buffer.byteLength(path) > UDS_PATH_MAX) fail(`a Unix socket path is at most ${UDS_PATH_MAX} bytes`);
    const replacing = this.vsock?.uds_path === path;
    if (!replacing) {
      let exists = true;
      try {
        lstatSync(path);
      } catch {
        exists = false;
      }
      if (exists) fail(osErrorText(Object.assign(new Error('EADDRINUSE'), { code: 'EADDRINUSE' })));
      try {
        accessSync(dirname(path), fsConstants.W_OK | fsConstants.X_OK);
      } catch (e) {
        fail(osErrorText(e), e);
      }
    }
    if (!this.vsock && this.deviceCount() >= VIRTIO_MMIO_SLOTS) {
      throw new VmResourcesError('no-free-device-slot', `Cannot attach the vsock device: all ${VIRTIO_MMIO_SLOTS} virtio-mmio slots are taken`);
    }
    this.vsock = { guest_cid: cfg.guest_cid, uds_path: cfg.uds_path };
  }

  /** `--mmds-size-limit`: applies to the data store when it is first created. */
  setMmdsSizeLimit(bytes: number): void {
    this.mmdsLimit = bytes;
  }

  /** The metadata store (created on first use, as Firecracker's mmds_or_default). */
  get mmds(): MmdsDataStore {
    this.mmdsStore ??= new MmdsDataStore(this.mmdsLimit);
    return this.mmdsStore;
  }

  get mmdsConfig(): MmdsConfig | undefined {
    return this.mmdsCfg && { ...this.mmdsCfg, network_interfaces: [...this.mmdsCfg.network_interfaces] };
  }

  /** PUT /mmds/config (pre-boot), with Firecracker's checks and messages. */
  setMmdsConfig(cfg: MmdsConfig): void {
    const ip = cfg.ipv4_address !== undefined ? ipv4FromString(cfg.ipv4_address) : DEFAULT_MMDS_IPV4;
    if (ip === null || !isLinkLocalValid(ip)) throw new VmResourcesError('mmds-invalid-ipv4', 'The MMDS IPv4 address is not link local.');
    if (cfg.network_interfaces.length === 0) {
      throw new VmResourcesError('mmds-empty-iface-list', 'The list of network interface IDs that allow forwarding MMDS requests is empty.');
    }
    const known = this.networkInterfaceIds();
    if (!cfg.network_interfaces.every((id) => known.includes(id))) {
      throw new VmResourcesError(
        'mmds-invalid-iface-id',
        'The list of network interface IDs provided contains at least one ID that does not correspond to any existing network interface.',
      );
    }
    this.mmds.imdsCompat = cfg.imds_compat ?? false;
    this.mmdsCfg = {
      version: cfg.version ?? 'V1',
      network_interfaces: [...cfg.network_interfaces],
      ipv4_address: ipv4ToString(ip),
      imds_compat: cfg.imds_compat ?? false,
    };
  }

  /** The ids of the configured network interfaces (MMDS can only be reached through one). */
  private networkInterfaceIds(): string[] {
    return this.nets.map((n) => n.iface_id);
  }

  /** `wisp run --engine`: which execution engine runs the guest (default: the JIT). */
  setEngine(engine: 'jit' | 'interpreter'): void {
    this.engine = engine;
  }

  private deviceCount(): number {
    return this.drives.length + (this.entropy ? 1 : 0) + this.nets.length + (this.vsock ? 1 : 0);
  }

  /** True once anything that only a fresh boot uses was configured (Firecracker's `boot_path`). */
  get hasBootResources(): boolean {
    return this.bootSource !== undefined || this.drives.length > 0 || this.entropy !== undefined || this.nets.length > 0 || this.vsock !== undefined;
  }

  /** The configuration a snapshot saves (and fromSnapshot rebuilds): GET /vm/config's machine sections. */
  snapshotConfig(): SnapshotVmConfig {
    return {
      'machine-config': this.machineConfig,
      ...(this.bootSource && { 'boot-source': { ...this.bootSource } }),
      drives: this.blockDevices,
      ...(this.entropy && { entropy: { ...this.entropy } }),
      'network-interfaces': this.networkInterfaces,
      ...(this.vsock && { vsock: { ...this.vsock } }),
      ...(this.mmdsCfg && { 'mmds-config': this.mmdsConfig! }),
    };
  }

  /**
   * The resources of a snapshotted VM (PUT /snapshot/load), checked with the same rules as the API's,
   * except that no host file is opened here: the kernel is not needed at all, and the machine reopens
   * the drives as it is restored (a missing one fails the load, by name). `trackDirtyPages` is the
   * load's own setting, as on Firecracker.
   */
  static fromSnapshot(cfg: SnapshotVmConfig, trackDirtyPages: boolean, mmdsSizeLimit?: number): VmResources {
    const r = new VmResources();
    if (mmdsSizeLimit !== undefined) r.setMmdsSizeLimit(mmdsSizeLimit);
    r.updateMachineConfig({ ...cfg['machine-config'], track_dirty_pages: trackDirtyPages });
    const boot = cfg['boot-source'];
    if (boot) {
      checkCmdline(boot.boot_args ?? DEFAULT_KERNEL_CMDLINE);
      r.bootSource = { ...boot };
    }
    for (const d of cfg.drives) {
      if (!isValidResourceId(d.drive_id) || d.path_on_host === undefined || d.socket !== undefined) {
        throw new VmResourcesError('invalid-drive-id', `Cannot restore drive "${d.drive_id}": the snapshot describes no virtio-block drive wisp can rebuild`);
      }
      if (d.is_root_device && r.drives.some((x) => x.is_root_device)) throw new VmResourcesError('root-device-already-added', 'A root block device already exists!');
      r.drives.push({ ...d, cache_type: d.cache_type ?? 'Unsafe', io_engine: d.io_engine ?? 'Sync' });
    }
    if (cfg.entropy) r.entropy = { ...cfg.entropy };
    // Same checks as PUT /network-interfaces; the tap is opened (and a missing one named) by the
    // machine as it is restored, a user-mode interface gets a new passt there.
    for (const n of cfg['network-interfaces']) {
      if (r.nets.some((x) => x.iface_id === n.iface_id)) {
        throw new VmResourcesError('invalid-iface-id', `Cannot restore the snapshot: network interface "${n.iface_id}" appears twice`);
      }
      r.insertNetworkInterface(n, { openTap: false });
    }
    if (cfg.vsock !== undefined) {
      // The socket is bound anew (vsock_override may move it); connections did not survive the snapshot.
      const { guest_cid: cid, uds_path: path } = cfg.vsock;
      if (typeof cid !== 'number' || typeof path !== 'string') {
        throw new VmResourcesError('invalid-vsock-path', 'Cannot restore the snapshot: its vsock device has no guest_cid and uds_path');
      }
      r.setVsockDevice({ guest_cid: cid, uds_path: path });
    }
    // The MMDS keeps answering on its interfaces (its data store is not saved: PUT /mmds refills it).
    if (cfg['mmds-config']) r.setMmdsConfig(cfg['mmds-config']);
    if (r.deviceCount() > VIRTIO_MMIO_SLOTS) {
      throw new VmResourcesError('no-free-device-slot', `Cannot restore the snapshot: its ${r.deviceCount()} devices exceed the ${VIRTIO_MMIO_SLOTS} virtio-mmio slots`);
    }
    return r;
  }

  /** The seam's spec; undefined fields of the store become the documented defaults here. */
  machineSpec(instanceId: string, bootTimer = false): MachineSpec {
    if (!this.bootSource) throw new VmResourcesError('invalid-kernel-path', 'Cannot start microvm without kernel configuration.');
    const drives: DriveSpec[] = this.drives.map((d) => ({
      id: d.drive_id,
      path: d.path_on_host!,
      readOnly: d.is_read_only ?? false,
      isRoot: d.is_root_device,
      partuuid: d.partuuid,
      cacheType: d.cache_type ?? 'Unsafe',
      rateLimiter: d.rate_limiter,
    }));
    let cmdline = this.bootSource.boot_args ?? DEFAULT_KERNEL_CMDLINE;
    const root = drives.find((d) => d.isRoot);
    if (root) {
      // Firecracker's builder: root=PARTUUID=… when a partuuid is given, else the first virtio disk.
      cmdline += root.partuuid ? ` root=PARTUUID=${root.partuuid}` : ' root=/dev/vda';
      cmdline += root.readOnly ? ' ro' : ' rw';
    }
    checkCmdline(cmdline);
    return {
      instanceId,
      vcpuCount: this.vmConfig.vcpu_count,
      memSizeMib: this.vmConfig.mem_size_mib,
      trackDirtyPages: this.vmConfig.track_dirty_pages,
      kernel: { path: this.bootSource.kernel_image_path, initrdPath: this.bootSource.initrd_path, cmdline },
      drives,
      entropy: this.entropy && { rateLimiter: this.entropy.rate_limiter },
      nets: this.nets.map((n): NetSpec => ({
        id: n.iface_id,
        ...(n.guest_mac !== undefined && { mac: formatMac(parseMac(n.guest_mac)) }),
        ...(n.mtu !== undefined && { mtu: n.mtu }),
        backend: n.host_dev_name !== undefined
          ? { kind: 'tap', hostDevName: n.host_dev_name }
          : {
            kind: 'user',
            publish: (n.user_mode?.publish ?? []).map((p) => ({ protocol: p.protocol ?? 'tcp', hostPort: p.host_port, guestPort: p.guest_port })),
            ...(n.user_mode?.ipv4 && {
              ipv4: {
                address: n.user_mode.ipv4.address, prefixLength: n.user_mode.ipv4.prefix_length, gateway: n.user_mode.ipv4.gateway,
                ...(n.user_mode.ipv4.dns_forward !== undefined && { dnsForward: n.user_mode.ipv4.dns_forward }),
              },
            }),
          },
        ...(n.rx_rate_limiter !== undefined && { rxRateLimiter: n.rx_rate_limiter }),
        ...(n.tx_rate_limiter !== undefined && { txRateLimiter: n.tx_rate_limiter }),
      })),
      bootTimer,
      serial: { outPath: this.serial.serial_out_path, rateLimiter: this.serial.rate_limiter },
      ...(this.engine !== undefined && { engine: this.engine }),
      ...(this.deterministic && { deterministic: true }),
      ...(this.vsock && { vsock: { guestCid: this.vsock.guest_cid, udsPath: this.vsock.uds_path } }),
      ...(this.mmdsCfg && {
        mmds: {
          version: this.mmdsCfg.version ?? 'V1',
          ipv4Address: this.mmdsCfg.ipv4_address ?? ipv4ToString(DEFAULT_MMDS_IPV4),
          networkInterfaces: [...this.mmdsCfg.network_interfaces],
          imdsCompat: this.mmdsCfg.imds_compat ?? false,
          sizeLimit: this.mmds.limit,
          data: this.mmds.value,
          initialized: this.mmds.isInitialized,
        },
      }),
    };
  }
}

/** The guest copies the command line into a NUL-terminated COMMAND_LINE_SIZE buffer; printable ASCII only. */
function checkCmdline(cmdline: string): void {
  if (!/^[\x20-\x7e]*$/.test(cmdline)) {
    throw new VmResourcesError('invalid-kernel-cmdline', 'The kernel command line is invalid: String contains an invalid character');
  }
  if (cmdline.length + 1 > CMDLINE_MAX_SIZE) {
    throw new VmResourcesError(
      'invalid-kernel-cmdline',
      `The kernel command line is invalid: Command line string too large (${cmdline.length} bytes, at most ${CMDLINE_MAX_SIZE - 1})`,
    );
  }
}

/** The buckets a rate_limiter body actually gives (an absent or undefined one means "unchanged"). */
function definedBuckets(r: RateLimiterConfig): RateLimiterConfig {
  const out: RateLimiterConfig = {};
  if (r.bandwidth !== undefined) out.bandwidth = r.bandwidth;
  if (r.ops !== undefined) out.ops = r.ops;
  return out;
}

/**
 * What is wrong with a user-mode interface's chosen IPv4 set-up, or undefined: the guest's address,
 * its gateway and the DNS forwarding address must be distinct hosts of one subnet (prefix 8 to 30).
 */
function userModeIpv4Problem(v4: UserModeIpv4Config): string | undefined {
  const bits = v4.prefix_length;
  if (!Number.isInteger(bits) || bits < 8 || bits > 30) return `prefix_length must be 8 to 30, got ${bits}`;
  const mask = (~0 << (32 - bits)) >>> 0;
  const addrs: [string, string | undefined][] = [['address', v4.address], ['gateway', v4.gateway], ['dns_forward', v4.dns_forward]];
  const seen = new Map<number, string>();
  let net: number | undefined;
  for (const [name, text] of addrs) {
    if (text === undefined) continue;
    const a = ipv4FromString(text);
    if (a === null) return `${name} is not an IPv4 address: "${text}"`;
    const host = a & ~mask;
    if (host === 0 || host === (~mask >>> 0)) return `${name} ${text} is the network or broadcast address of its /${bits}`;
    if (net === undefined) net = (a & mask) >>> 0;
    else if (((a & mask) >>> 0) !== net) return `${name} ${text} is outside ${v4.address}/${bits}`;
    const dup = seen.get(a);
    if (dup) return `${name} and ${dup} are both ${text}`;
    seen.set(a, name);
  }
  return undefined;
}
