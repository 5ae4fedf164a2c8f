/**
 * The one place a MachineSpec becomes a board with its devices (Firecracker's builder.rs and its
 * attach_* steps): kernel and initrd read, drives in slot order, then entropy, then network
 * interfaces, then the board. The
 * worker's MachineSession uses it for every VM (API, --config-file, `wisp run`), and `wisp run
 * --differential` uses it twice in-process (one machine per engine, deterministic time). A new device
 * is attached here, from its MachineSpec field; nowhere else.
 *
 * Everything that can fail does so before the board exists, and closes what it had opened, so a failed
 * build leaves nothing behind.
 */
import { join } from 'node:path';
import { wispCacheDir } from '../guest/cache-dir.js';
import type { VirtioRng } from '../devices/virtio/rng/rng.js';
import { VirtioVsock } from '../devices/virtio/vsock/vsock.js';
import { MmioTransport } from '../devices/virtio/mmio-transport.js';
import type { VsockBackend } from '../devices/virtio/vsock/vsock-backend.js';
import { MmdsDataStore } from '../mmds/data-store.js';
import { newMmdsMetrics } from '../mmds/mmds-metrics.js';
import type { MmdsService } from '../mmds/mmds-http.js';
import { TokenAuthority } from '../mmds/token-authority.js';
import { ipv4FromString } from '../mmds/frames.js';
import { DEFAULT_MMDS_IPV4, MmdsNetworkStack } from '../mmds/mmds-stack.js';
import { filterPort } from '../devices/virtio/net/frame-port.js';
import { MmdsFrameFilter } from './mmds-frame-filter.js';
import { Machine, type MachineConfig, type MachineState, type VirtioFactory } from '../platform/machine.js';
import { FilePageSource, MemoryFileError } from '../snapshot/memory-file.js';
import { FileBlockError } from './backends/file-block-backend.js';
import type { MachineSpec } from './machine.js';
import { osErrorText } from './os-error.js';
import { readInitrdFile, readKernelFile } from './guest-files.js';
import type { OpenedNetBackend } from './backends/net-backend.js';
import { attachBlock, attachEntropy, attachNet, type AttachedBlock, type AttachedNet } from './virtio-attach.js';

/** Board settings a lock-step run fixes (clock, wall clock, rng seed, synchronous JIT, engine). */
export type BoardOverrides = Pick<MachineConfig, 'clock' | 'wallClock' | 'rngSeed' | 'jit' | 'engine'>;

export interface AssembleOptions {
  /** Where the guest's console output goes. */
  consoleOut: (bytes: Uint8Array) => void;
  board?: BoardOverrides;
  /**
   * The opened host side of each of spec.nets, in the same order (opening may be asynchronous, e.g.
   * starting passt, so MachineSession does it first). Closed with the machine.
   */
  nets?: readonly OpenedNetBackend[];
  /**
   * Host backends that need asynchronous set-up, opened by the caller before assembling (the vsock
   * socket is bound in MachineSession.build). Required when the spec has the device.
   */
  backends?: { vsock?: VsockBackend };
  /**
   * Build the board as a snapshot left it (PUT /snapshot/load): same devices from the spec, their host
   * files reopened; RAM from the memory file, read as the guest touches it. No kernel is read.
   */
  restore?: { state: MachineState; memFilePath: string };
}

/** The board and the devices the VMM keeps talking to (metrics, PATCH updates, closing). */
export interface AssembledMachine {
  machine: Machine;
  blocks: AttachedBlock[];
  rng: VirtioRng | undefined;
  nets: { attached: AttachedNet; backend: OpenedNetBackend }[];
  vsock: VirtioVsock | undefined;
  /** The metadata service the machine's MMDS network stacks answer from (spec.mmds). */
  mmds: MmdsService | undefined;
  /** What each virtio slot holds, as a snapshot refusal names it ("block(id: rootfs)", "entropy"). */
  slotNames: string[];
  /** Closes the devices' host backends (files, taps, passt). Idempotent. */
  close(): void;
  /** Settles once every host backend is released (passt exited, taps closed). */
  released(): Promise<void>;
}

export function assembleMachine(spec: MachineSpec, opts: AssembleOptions): AssembledMachine {
  const restore = opts.restore;
  // A restored machine needs neither kernel nor initrd: its RAM holds what they became. Regular
  // files only, never more than any guest's RAM (guest-files.ts); whether they fit this guest's RAM
  // is the boot loader's to say, with the sizes in its message.
  const kernel = restore ? new Uint8Array(0) : readGuestFile('kernel image', spec.kernel.path, readKernelFile);
  const initrd = !restore && spec.kernel.initrdPath !== undefined ? readGuestFile('initrd', spec.kernel.initrdPath, readInitrdFile) : undefined;
  const opened: { close(): void }[] = [];
  const netSpecs = spec.nets ?? [];
  if (netSpecs.length > 0 && opts.nets?.length !== netSpecs.length) {
    throw new Error('Cannot build the machine: its network interfaces have no opened backends');
  }
  // The backends were opened by the caller; from here on this machine owns them.
  for (const b of opts.nets ?? []) opened.push(b);
  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    for (const o of opened.reverse()) o.close();
  };
  try {
    const virtio: VirtioFactory[] = [];
    const slotNames: string[] = [];
    const blocks: AttachedBlock[] = [];
    for (const d of spec.drives) {
      let b: AttachedBlock;
      try {
        b = attachBlock({ id: d.id, path: d.path, readOnly: d.readOnly, cacheType: d.cacheType, rateLimiter: d.rateLimiter });
      } catch (e) {
        throw new Error(`Cannot ${restore ? 'restore' : 'attach'} drive "${d.id}": ${driveErrorText(e)}`, { cause: e });
      }
      // The backend may be swapped by a drive update: close whichever is current.
      opened.push({ close: () => b.backend.close() });
      blocks.push(b);
      virtio.push(b.factory);
      slotNames.push(`block(id: ${d.id})`);
    }
    let rng: VirtioRng | undefined;
    if (spec.entropy) {
      const e = attachEntropy(spec.entropy.rateLimiter);
      rng = e.device;
      virtio.push(e.factory);
      slotNames.push('entropy');
    }
    let memory: FilePageSource | null = null;
    if (restore) {
      try {
        memory = FilePageSource.open(restore.memFilePath, spec.memSizeMib * 0x10_0000);
      } catch (e) {
        throw new Error(e instanceof MemoryFileError ? e.message : osErrorText(e), { cause: e });
      }
      opened.push(memory);
    }
    const mmds = spec.mmds && mmdsService(spec.mmds, spec.instanceId);
    let vsock: VirtioVsock | undefined;
    if (spec.vsock) {
      const backend = opts.backends?.vsock;
      if (!backend) throw new Error('Cannot attach the vsock device: its host socket was not opened');
      const device = new VirtioVsock({ guestCid: spec.vsock.guestCid, backend });
      vsock = device;
      virtio.push(({ memory, irq }) => new MmioTransport(device, memory, irq));
      slotNames.push('vsock');
    }
    const nets: AssembledMachine['nets'] = [];
    netSpecs.forEach((n, i) => {
      const backend = opts.nets![i]!;
      // The MMDS answers on the interfaces mmds-config names, as a filter in front of the backend.
      let port = backend.port;
      if (mmds && spec.mmds!.networkInterfaces.includes(n.id)) {
        const stack = new MmdsNetworkStack(mmds, ipv4FromString(spec.mmds!.ipv4Address) ?? DEFAULT_MMDS_IPV4);
        port = filterPort(port, new MmdsFrameFilter(stack));
      }
      let attached: AttachedNet;
      try {
        attached = attachNet(n, port, backend.buildsOwnFrames);
      } catch (e) {
        throw new Error(`Cannot ${restore ? 'restore' : 'attach'} network interface "${n.id}": ${osErrorText(e)}`, { cause: e });
      }
      // Closing the (filtered) port closes the filter and the backend's port; the backend closes too.
      opened.push({ close: () => port.close() });
      nets.push({ attached, backend });
      virtio.push(attached.factory);
      slotNames.push(`net(id: ${n.id})`);
    });
    let machine: Machine;
    try {
      machine = new Machine({
        memMiB: spec.memSizeMib,
        kernel,
        kernelName: spec.kernel.path,
        initrd,
        initrdName: spec.kernel.initrdPath,
        cmdline: spec.kernel.cmdline,
        consoleOut: opts.consoleOut,
        virtio,
        engine: spec.engine,
        harts: spec.vcpuCount,
        ...(spec.deterministic && { deterministic: true }),
        jit: { cacheDir: jitCacheDir() },
        ...opts.board,
        ...(restore && { restore: { state: restore.state, memory, eager: eagerRestore(spec.memSizeMib) } }),
      });
    } catch (e) {
      throw new Error(`Cannot ${restore ? 'restore' : 'build'} the machine: ${osErrorText(e)}`, { cause: e });
    }
    const released = () => Promise.all((opts.nets ?? []).map((b) => b.released())).then(() => undefined);
    return { machine, blocks, rng, vsock, mmds, nets, slotNames, close, released };
  } catch (e) {
    close();
    throw e;
  }
}

/**
 * Whether a restore reads the whole memory file before the guest runs, rather than page by page as
 * the guest touches memory. Lazy by default: see the README ("Snapshots") for the measurements.
 * WISP_RESTORE=eager|lazy overrides it (for measuring).
 */
const EAGER_RESTORE_MAX_MIB = 0;
function eagerRestore(memMiB: number): boolean {
  const forced = process.env.WISP_RESTORE;
  if (forced === 'eager') return true;
  if (forced === 'lazy') return false;
  return memMiB <= EAGER_RESTORE_MAX_MIB;
}

/** The machine's side of the MMDS: a replica of the API's data store, and the V2 token authority. */
export function mmdsService(m: NonNullable<MachineSpec['mmds']>, instanceId: string): MmdsService {
  const store = new MmdsDataStore(m.sizeLimit, m.imdsCompat);
  store.replace(m.data, m.initialized);
  const tokens = new TokenAuthority();
  tokens.setInstanceId(instanceId);
  return { store, version: m.version, tokens, metrics: newMmdsMetrics() };
}

function readGuestFile(what: string, path: string, read: (path: string) => Uint8Array): Uint8Array {
  try {
    return read(path);
  } catch (e) {
    throw new Error(`Cannot read ${what} "${path}": ${osErrorText(e)}`, { cause: e });
  }
}

/** A drive backend's failure, its errno worded as Firecracker does ("No such file or directory (os error 2)"). */
export function driveErrorText(e: unknown): string {
  if (e instanceof FileBlockError && e.code === 'open-failed' && e.cause !== undefined) {
    return e.message.replace(/: [A-Z0-9]+$/, `: ${osErrorText(e.cause)}`);
  }
  return osErrorText(e);
}

/**
 * Where the JIT keeps translations between runs (jit/translation-cache.ts): `$WISP_JIT_CACHE`, else
 * `jit/` in wisp's cache; `WISP_JIT_CACHE=off` runs without one.
 */
export function jitCacheDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const v = env.WISP_JIT_CACHE;
  if (v === 'off') return undefined;
  return v !== undefined && v !== '' ? v : join(wispCacheDir(env), 'jit');
}
