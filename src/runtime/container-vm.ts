import type { Writable } from 'node:stream';
import { ensureDefaultGuest } from '../guest/fetch.js';
import { ensureContainerInitramfs } from '../guest/container-initramfs.js';
import { wispCacheDir } from '../guest/cache-dir.js';
import { createVmBuilder, type ConsoleInput } from '../vmm/builder.js';
import type { MachineHandle } from '../vmm/machine.js';
import { VmResources } from '../vmm/vm-resources.js';
import type { PublishedPortConfig } from '../vmm/vmm-config.js';
import { encodeConfig, encodeExec, encodeExecFrames, encodeFrames, FrameDecoder, Guest, Host, type ContainerConfig, type ExecConfig } from './container-protocol.js';

/**
 * One container as a microVM: Debian's default kernel, wisp's container initramfs, the image's root
 * disk attached read-only, built through the VMM's one construction path (VmResources → MachineSpec →
 * the worker builder). The serial port carries the protocol with the init (container-protocol.ts):
 * wisp sends the process's config once the init says READY, relays stdin, signals and window size,
 * and receives stdout, stderr and, after the last of them, the exit status.
 */

export interface ContainerIo {
  stdout(bytes: Uint8Array): void;
  stderr(bytes: Uint8Array): void;
}

export interface ContainerVmOptions {
  /** The ext4 image with the container's root filesystem (attached read-only; writes go to a tmpfs overlay). */
  rootfs: string;
  config: ContainerConfig;
  io: ContainerIo;
  memMiB?: number;
  /** vCPUs (harts), 1-32 (default 1). */
  cpus?: number;
  /**
   * User-mode networking (passt, started by the VMM): eth0 with CONTAINER_NET's fixed addresses
   * (the init configures them; the image needs no DHCP client), the host at the gateway address,
   * DNS at CONTAINER_NET.dns, and these host ports published to the container.
   */
  net?: { publish?: readonly PublishedPortConfig[] };
  instanceId?: string;
  /** Kernel command line additions (e.g. more boot messages while debugging). */
  appendCmdline?: string;
  progress?: Writable | null;
}

export interface ContainerExit {
  /** The shell-style status: the exit code, 128 + signal when killed, 125 when wisp or its init failed. */
  status: number;
  /** Why the process could not be started, or why the machine ended without a status. */
  error?: string;
  signal?: number;
}

/** A process started in the running container (`ContainerVm.exec`). */
export interface ExecProcess {
  /** Settles with its guest pid once it runs (never, if it could not be started). */
  readonly started: Promise<number>;
  /** Its status; 137 with an error when the container ended first. */
  readonly exited: Promise<ContainerExit>;
  writeStdin(bytes: Uint8Array): void;
  closeStdin(): void;
  signal(signo: number): void;
}

interface ExecState {
  io: ContainerIo;
  errorText: string;
  resolveStarted(pid: number): void;
  resolveExit(e: ContainerExit): void;
}

/** At most this many exec'd processes at once (the init's table, MAX_EXECS in init.c). */
export const MAX_EXECS = 8;

/** ConsoleInput the builder reads from: here, frames wisp writes rather than a terminal. */
class FrameInput implements ConsoleInput {
  private readonly listeners = new Set<(chunk: Buffer | string) => void>();
  isTTY = false;
  on(_e: 'data', l: (chunk: Buffer | string) => void): this { this.listeners.add(l); return this; }
  off(_e: 'data', l: (chunk: Buffer | string) => void): this { this.listeners.delete(l); return this; }
  pause(): this { return this; }
  send(bytes: Buffer): void { for (const l of this.listeners) l(bytes); }
}

/** Why the container's VM could not be built (a taken published port, passt missing, ...). */
export class ContainerVmError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ContainerVmError';
  }
}

/**
 * A container's network with `net`: chosen by wisp and given both to passt (so it does not derive
 * them from the host's upstream interface) and to the init (so the two agree without DHCP). The
 * addresses are QEMU user networking's, familiar from slirp; passt's MTU avoids fragmenting.
 */
export const CONTAINER_NET = {
  ifname: 'eth0', address: '10.0.2.15', prefixLength: 24, gateway: '10.0.2.2', dns: '10.0.2.3', mtu: 65520,
} as const;

const BOOT_LOG_LIMIT = 64 * 1024;
export const CONTAINER_CMDLINE = 'console=ttyS0 quiet loglevel=1 panic=-1';

export class ContainerVm {
  readonly exited: Promise<ContainerExit>;
  /** Settles when the init has set the container up and waits for start() (config.waitStart). */
  readonly created: Promise<void>;
  /** Settles with the process's guest pid once it runs (never, if it could not be started). */
  readonly started: Promise<number>;
  /** The guest pid of the process, once it runs. */
  guestPid: number | undefined;
  private resolveExit!: (e: ContainerExit) => void;
  private resolveCreated!: () => void;
  private resolveStarted!: (pid: number) => void;
  private readonly input = new FrameInput();
  private handle: MachineHandle | undefined;
  private bootLog: Buffer[] = [];
  private bootLogSize = 0;
  private errorText = '';
  private status: ContainerExit | undefined;
  private ready = false;
  private pendingInput: Buffer[] = [];
  private readonly execs = new Map<number, ExecState>();
  private nextExecId = 0;

  private constructor(private readonly opts: ContainerVmOptions) {
    this.exited = new Promise((r) => (this.resolveExit = r));
    this.created = new Promise((r) => (this.resolveCreated = r));
    this.started = new Promise((r) => (this.resolveStarted = r));
  }

  static async start(opts: ContainerVmOptions): Promise<ContainerVm> {
    // The default guest and the container initramfs live in wisp's shared cache.
    const cacheDir = wispCacheDir();
    const guest = await ensureDefaultGuest({ cacheDir, progress: opts.progress ?? null });
    const initrd = await ensureContainerInitramfs({ modulesDir: guest.modulesDir, kernelVersion: guest.kernelVersion, cacheDir });
    const res = new VmResources();
    res.updateMachineConfig({ mem_size_mib: opts.memMiB ?? 256, vcpu_count: opts.cpus ?? 1 });
    res.setBootSource({
      kernel_image_path: guest.kernelPath, initrd_path: initrd,
      boot_args: opts.appendCmdline ? `${CONTAINER_CMDLINE} ${opts.appendCmdline}` : CONTAINER_CMDLINE,
    });
    res.insertBlockDevice({ drive_id: 'rootfs', path_on_host: opts.rootfs, is_root_device: false, is_read_only: true });
    res.setEntropyDevice({});
    if (opts.net) {
      const n = CONTAINER_NET;
      res.insertNetworkInterface({
        iface_id: n.ifname, mtu: n.mtu,
        user_mode: { publish: [...(opts.net.publish ?? [])], ipv4: { address: n.address, prefix_length: n.prefixLength, gateway: n.gateway, dns_forward: n.dns } },
      });
      opts = {
        ...opts,
        config: {
          ...opts.config,
          net: { ifname: n.ifname, address: n.address, prefixLength: n.prefixLength, gateway: n.gateway },
          resolvConf: opts.config.resolvConf ?? `nameserver ${n.dns}\n`,
        },
      };
    }
    const vm = new ContainerVm(opts);
    const decoder = new FrameDecoder((t, p) => vm.frame(t, p), (b) => vm.noise(b));
    const builder = createVmBuilder({ stdin: vm.input, consoleOut: (b) => decoder.push(b) });
    try {
      vm.handle = await builder.build(res.machineSpec(opts.instanceId ?? 'wisp-container'));
    } catch (e) {
      throw new ContainerVmError((e as Error).message, { cause: e });
    }
    void vm.handle.exited.then((e) => {
      vm.endExecs();
      if (vm.status) return vm.resolveExit(vm.status);
      const log = Buffer.concat(vm.bootLog).toString('utf8').trim().split('\n').slice(-15).join('\n');
      vm.resolveExit({ status: 125, error: `the container's machine ended before the process reported its status (${e.message ?? e.reason})${log ? `; its last console lines:\n${log}` : ''}` });
    });
    return vm;
  }

  private noise(b: Buffer): void {
    if (this.bootLogSize > BOOT_LOG_LIMIT) return;
    this.bootLog.push(Buffer.from(b));
    this.bootLogSize += b.length;
  }

  private frame(type: number, p: Buffer): void {
    switch (type) {
      case Guest.READY:
        this.ready = true;
        this.input.send(encodeConfig(this.opts.config));
        for (const b of this.pendingInput) this.input.send(b);
        this.pendingInput = [];
        return;
      case Guest.STDOUT: this.opts.io.stdout(p); return;
      case Guest.STDERR: this.opts.io.stderr(p); return;
      case Guest.ERROR: this.errorText += p.toString('utf8'); return;
      case Guest.CREATED: this.resolveCreated(); return;
      case Guest.STARTED: this.guestPid = p.readUInt32LE(0); this.resolveStarted(this.guestPid); return;
      case Guest.EXEC_STARTED: this.execs.get(p[0])?.resolveStarted(p.readUInt32LE(1)); return;
      case Guest.EXEC_STDOUT: this.execs.get(p[0])?.io.stdout(p.subarray(1)); return;
      case Guest.EXEC_STDERR: this.execs.get(p[0])?.io.stderr(p.subarray(1)); return;
      case Guest.EXEC_ERROR: { const x = this.execs.get(p[0]); if (x) x.errorText += p.subarray(1).toString('utf8'); return; }
      case Guest.EXEC_EXIT: {
        const x = this.execs.get(p[0]);
        if (!x) return;
        this.execs.delete(p[0]);
        const how = p[1], code = p[2];
        x.resolveExit(how === 0 ? { status: code, error: x.errorText || undefined } : { status: 128 + code, signal: code });
        return;
      }
      case Guest.EXIT: {
        const how = p[0], code = p[1];
        this.status = how === 0
          ? { status: code, error: this.errorText || undefined }
          : { status: 128 + code, signal: code };
        // Nothing in the guest needs to outlive its status (the root disk is read-only).
        this.endExecs();
        void this.handle?.stop().then(() => this.resolveExit(this.status!));
        return;
      }
    }
  }

  private send(frames: Buffer): void {
    if (this.ready) this.input.send(frames);
    else this.pendingInput.push(frames);
  }

  writeStdin(bytes: Uint8Array): void {
    for (let o = 0; o < bytes.length; o += 4096) this.send(encodeFrames(Host.STDIN, bytes.subarray(o, o + 4096)));
  }
  closeStdin(): void { this.send(encodeFrames(Host.STDIN_EOF)); }
  /** Sends `signo` to the process, or with `all` to every process of the container. */
  signal(signo: number, all = false): void { this.send(encodeFrames(Host.SIGNAL, all ? Uint8Array.of(signo, 1) : Uint8Array.of(signo))); }
  /** The error text the init reported (why the process could not start), if any. */
  get startError(): string { return this.errorText; }
  resize(rows: number, cols: number): void {
    const b = Buffer.alloc(4);
    b.writeUInt16LE(rows, 0);
    b.writeUInt16LE(cols, 2);
    this.send(encodeFrames(Host.WINSIZE, b));
  }
  start(): void { this.send(encodeFrames(Host.START)); }

  /**
   * Starts another process in the running container (runc exec), with stdout and stderr of its own.
   * Refused (a thrown Error) before the container's process runs or when MAX_EXECS already run.
   */
  exec(config: ExecConfig, io: ContainerIo): ExecProcess {
    if (this.status || this.guestPid === undefined) throw new Error('the container is not running');
    if (this.execs.size >= MAX_EXECS) throw new Error(`at most ${MAX_EXECS} processes can be started in a container at once`);
    let id = this.nextExecId;
    while (this.execs.has(id)) id = (id + 1) & 0xff;
    this.nextExecId = (id + 1) & 0xff;
    let resolveStarted!: (pid: number) => void;
    let resolveExit!: (e: ContainerExit) => void;
    const started = new Promise<number>((r) => (resolveStarted = r));
    const exited = new Promise<ContainerExit>((r) => (resolveExit = r));
    const state: ExecState = { io, errorText: '', resolveStarted, resolveExit };
    this.execs.set(id, state);
    this.send(encodeExec(id, config));
    // (Once it has ended its id may be another process's: nothing more goes out under it.)
    const live = (): boolean => this.execs.get(id) === state;
    return {
      started, exited,
      writeStdin: (bytes) => { for (let o = 0; o < bytes.length && live(); o += 4000) this.send(encodeExecFrames(Host.EXEC_STDIN, id, bytes.subarray(o, o + 4000))); },
      closeStdin: () => { if (live()) this.send(encodeExecFrames(Host.EXEC_STDIN_EOF, id)); },
      signal: (signo) => { if (live()) this.send(encodeExecFrames(Host.EXEC_SIGNAL, id, Uint8Array.of(signo))); },
    };
  }

  private endExecs(): void {
    for (const x of this.execs.values()) x.resolveExit({ status: 137, signal: 9, error: 'the container ended before the process did' });
    this.execs.clear();
  }
  /** Stops the VM's vCPU where it is (the guest sees time jump when it resumes). */
  async pause(): Promise<void> { await this.handle?.pause(); }
  async resume(): Promise<void> { await this.handle?.resume(); }

  async stop(): Promise<void> {
    await this.handle?.stop();
    if (!this.status) this.resolveExit({ status: 137, signal: 9, error: 'the container was stopped' });
  }
}
