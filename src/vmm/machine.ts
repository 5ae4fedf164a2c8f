/**
 * The seam between the control plane and the machine. The controller validates the configuration and
 * hands a VmBuilder one plain MachineSpec at InstanceStart; the builder assembles and boots the machine
 * (hart + board, in a worker thread) and returns a MachineHandle through which the controller pauses,
 * resumes, patches drives and collects device metrics. Nothing else of the machine is visible above
 * this file, so the API can be built and tested before the machine exists.
 */
import type { JsonValue } from '../mmds/json-value.js';
import type { MachineState } from '../platform/machine.js';
import type { CacheType, RateLimiterConfig, SnapshotTypeName, TokenBucketConfig } from './vmm-config.js';

export interface DriveSpec {
  /** Firecracker's drive_id; the metrics group is `block_<id>`. */
  id: string;
  /** Host file backing the disk (checked to open with this access at PUT time). */
  path: string;
  readOnly: boolean;
  isRoot: boolean;
  partuuid?: string;
  cacheType: CacheType;
  rateLimiter?: RateLimiterConfig;
}

/** Where a network interface's frames go. */
export type NetBackendSpec =
  /** Firecracker's host_dev_name: an existing tap device. */
  | { kind: 'tap'; hostDevName: string }
  /** wisp's user_mode: passt, started by wisp, publishing these host ports to the guest. */
  | { kind: 'user'; publish: { protocol: 'tcp' | 'udp'; hostPort: number; guestPort: number }[]; ipv4?: UserModeIpv4 };

/** The guest's IPv4 set-up given to passt instead of its defaults (see vmm-config's UserModeIpv4Config). */
export interface UserModeIpv4 {
  address: string;
  prefixLength: number;
  gateway: string;
  /** Where passt answers DNS (forwarded to the host's first nameserver). */
  dnsForward?: string;
}

export interface NetSpec {
  /** Firecracker's iface_id; the metrics group is `net_<id>`. */
  id: string;
  /** guest_mac ("06:00:ac:10:00:02"), offered to the guest as VIRTIO_NET_F_MAC; absent: the guest picks. */
  mac?: string;
  /** Offered as VIRTIO_NET_F_MTU when given. */
  mtu?: number;
  backend: NetBackendSpec;
  rxRateLimiter?: RateLimiterConfig;
  txRateLimiter?: RateLimiterConfig;
}

export interface MachineSpec {
  /** The instance id (`--id`), for logs and metrics. */
  instanceId: string;
  vcpuCount: number;
  memSizeMib: number;
  trackDirtyPages: boolean;
  kernel: {
    path: string;
    initrdPath?: string;
    /** Final kernel command line: the user's boot_args plus root=/ro|rw added for a root drive. */
    cmdline: string;
  };
  /**
   * Block devices in virtio-mmio slot order: the root drive (if any) first, then in insertion order
   * (so the root is /dev/vda, as on Firecracker).
   */
  drives: DriveSpec[];
  /** virtio-rng, placed in the slot after the drives when configured. */
  entropy?: { rateLimiter?: RateLimiterConfig };
  /** virtio-net interfaces, in the slots after the drives and the entropy device, in insertion order. */
  nets?: NetSpec[];
  /**
   * `--boot-timer`: log the time from VMM start to the guest's boot-done signal (Firecracker's boot
   * timer device; the machine chooses the signal, e.g. a write to a reserved MMIO word).
   */
  bootTimer: boolean;
  /** The ns16550a console: to this file/FIFO when given, else to the VMM's stdout. */
  serial: { outPath?: string; rateLimiter?: TokenBucketConfig };
  /**
   * wisp's extension: the execution engine (default 'jit'; `wisp run --engine interpreter` runs the
   * reference interpreter).
   */
  engine?: 'jit' | 'interpreter';
  /**
   * wisp's extension (`wisp run --deterministic`): every hart on the machine's thread in turn, guest
   * time from the instruction count, fixed seeds: a replayable run.
   */
  deterministic?: boolean;
  /** virtio-vsock (PUT /vsock), placed after entropy: the guest's CID and the host-side socket. */
  vsock?: { guestCid: number; udsPath: string };
  /**
   * The metadata service (PUT /mmds/config), served on the named network interfaces, with the data
   * store's contents at InstanceStart (later PUT/PATCH /mmds go through MachineHandle.updateMmds).
   */
  mmds?: MmdsSpec;
}

export interface MmdsSpec {
  version: 'V1' | 'V2';
  ipv4Address: string;
  networkInterfaces: string[];
  imdsCompat: boolean;
  sizeLimit: number;
  data: JsonValue;
  initialized: boolean;
}

/** Why a machine stopped on its own (not through MachineHandle.stop()). */
export interface MachineExit {
  /**
   * 'shutdown': SBI SRST or the test finisher; 'reboot': reset requested; 'crash': VMM-side failure;
   * 'stalled': the guest stopped making progress (a panic loop with interrupts off, a trap loop).
   */
  reason: 'shutdown' | 'reboot' | 'crash' | 'stalled';
  /** Exit status the VMM process should end with (0 for a clean guest poweroff). */
  exitCode: number;
  message?: string;
  /**
   * What the guest did, when it stopped by itself: powered off, rebooted, panicked (with panic=-1 the
   * kernel reboots after a panic) or reported a failure through the test finisher. `wisp run` tells a
   * reboot to restart from a panic with it.
   */
  guest?: 'poweroff' | 'reboot' | 'panic' | 'fail' | 'stalled';
  /** A reboot before the guest's console came up or any program ran: a restart would most likely do the same. */
  early?: boolean;
}

/** Per-device counters, keyed like Firecracker's metrics groups ("block_rootfs", "uart", "vcpu", ...). */
export type MachineMetrics = Record<string, Record<string, number>>;

/** PUT /snapshot/create as the machine sees it. */
export interface SnapshotRequest {
  type: SnapshotTypeName;
  memFilePath: string;
  /** Diff: only the pages written since the last snapshot (else every resident page). */
  trackDirtyPages: boolean;
}

/** What the machine saved: its state (for the state file) and what went into the memory file. */
export interface SnapshotTaken {
  machine: MachineState;
  /** Pages the memory file holds data for; for a Diff, which ones (snapshot/memory-file encodePageMap). */
  memory: { pages: number; pageMap?: string };
  /** Milliseconds spent saving the state and writing the memory file. */
  saveMs: number;
  memoryMs: number;
}

/** Build the machine from a snapshot instead of booting it (PUT /snapshot/load). */
export interface RestoreSpec {
  machine: MachineState;
  /** The memory file (File backend): opened, and read page by page as the guest touches memory. */
  memFilePath: string;
  /** Run at once (resume_vm), or stay Paused. */
  resume: boolean;
}

export interface MachineHandle {
  /** Stops all vCPUs at an instruction boundary; resolves once they are stopped. */
  pause(): Promise<void>;
  /** Lets paused vCPUs run again. */
  resume(): Promise<void>;
  /**
   * Firecracker's SendCtrlAltDel (an i8042 key press on x86). Rejects with a message if the machine has
   * no way to ask the guest to shut down.
   */
  sendCtrlAltDel(): Promise<void>;
  /**
   * PUT/PATCH /mmds after the start: the data store's new contents for the machine's MMDS. Optional:
   * only a machine that serves the MMDS needs it.
   */
  updateMmds?(data: JsonValue, initialized: boolean): Promise<void>;
  /** PATCH /drives/{id}: swap the backing file (the guest sees a config-change) and/or rate limiter. */
  updateDrive(id: string, update: { path?: string; rateLimiter?: RateLimiterConfig }): Promise<void>;
  /** PATCH /network-interfaces/{id}: the rate limiters (a bucket left out stays as it is). */
  updateNet?(id: string, update: { rxRateLimiter?: RateLimiterConfig; txRateLimiter?: RateLimiterConfig }): Promise<void>;
  /**
   * Counters accumulated since the previous call (Firecracker metrics are per-flush deltas), merged into
   * the next metrics line. Optional: a machine without device metrics leaves it out.
   */
  takeMetrics?(): Promise<MachineMetrics>;
  /**
   * Writes the memory file and returns the machine's state, while Paused (the controller checks).
   * Rejects, naming them, when devices that cannot be snapshotted are present. Optional: a machine
   * without snapshot support leaves it out.
   */
  createSnapshot?(req: SnapshotRequest): Promise<SnapshotTaken>;
  /**
   * Console input for the guest's UART (what a terminal typed). Optional: the API's VMM feeds the
   * console from its own stdin through the builder.
   */
  sendInput?(bytes: Uint8Array): void;
  /** Settles once when the machine stops by itself; never rejects. */
  readonly exited: Promise<MachineExit>;
  /** Tears the machine down (VMM exit). Idempotent. */
  stop(): Promise<void>;
}

export interface VmBuilder {
  /**
   * Builds the machine from a validated spec and starts its vCPUs (or, with `restore`, builds it as a
   * snapshot left it: Paused unless `restore.resume`). Resolves when the guest is running;
   * rejects with an Error whose message says what failed (it becomes the InstanceStart fault_message)
   * and must leave nothing running behind.
   */
  build(spec: MachineSpec, restore?: RestoreSpec): Promise<MachineHandle>;
  /** Releases what the builder holds ahead of a build (a machine thread started in advance). */
  dispose?(): void;
}
