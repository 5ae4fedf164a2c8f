import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { JitHart } from '../../jit/jit-hart.js';
import { BootError } from '../../platform/boot/kernel-loader.js';
import { ensureDefaultGuest } from '../../guest/fetch.js';
import { buildInitramfs } from '../../guest/initramfs.js';
import type { AssembledMachine } from '../../vmm/assemble-machine.js';
import { createVmBuilder } from '../../vmm/builder.js';
import type { MachineExit, MachineHandle, MachineSpec, VmBuilder } from '../../vmm/machine.js';
import { VmResources, VmResourcesError } from '../../vmm/vm-resources.js';
import { formatMac, randomMac } from '../../devices/virtio/net/mac-address.js';
import { CliError, parseNumberFlag } from '../cli-error.js';
import { MAX_HARTS } from '../../memory/machine-memory.js';
import { Console } from '../console.js';
import { parseNet, parsePublish } from '../net-flags.js';
import { captureWarmStart, forgetWarmStart, isTerminalReport, PromptWatcher, warmPrompt, warmStartExists, warmStartFor, type WarmStart } from '../warm-start.js';
import { prepareRestore } from '../../vmm/snapshot.js';

const HELP = `Usage: wisp run [options]

Boots a guest with its console on this terminal. With no --kernel, the default guest: Debian
trixie's riscv64 kernel and a busybox initramfs (fetched once into $WISP_CACHE or ~/.cache/wisp).
In a terminal, Ctrl-A X quits; with piped stdin, input goes to the guest's console as it comes.

Options:
  --kernel FILE      kernel: a RISC-V Image or ELF (default: Debian's, fetched if needed)
  --initrd FILE      initial ramdisk (default with the default kernel: wisp's busybox initramfs)
  --append ARGS      extra kernel command line (after "console=ttyS0 panic=-1")
  --mem MiB          guest RAM (default 256)
  --cpus N           harts (vCPUs), 1-32 (default 1); each runs on a thread of its own
  --deterministic    replayable run: every hart on one thread in turn, guest time from the
                     instruction count, fixed wall clock and seeds (for debugging multi-hart runs)
  --disk PATH[,ro][,writeback]
                     attach a virtio-blk drive (repeatable: /dev/vda, /dev/vdb, ... in order);
                     ro = read-only, writeback = guest flushes reach the host file (fsync)
  --root             boot into the first disk: root=/dev/vda (the initramfs switch_roots to it)
  --no-entropy       do not attach the virtio-rng entropy device (attached by default)
  --net user|tap:NAME
                     attach a virtio-net interface (repeatable: eth0, eth1, ...). user: rootless
                     user-mode networking through passt, started by wisp (the default guest gets
                     its address by DHCP; the host is reachable at the gateway address); tap:NAME:
                     an existing host tap device, as Firecracker's host_dev_name
  --publish HOST:GUEST[/udp]
                     with --net user: connections to HOST on this machine reach GUEST in the
                     guest (TCP, or UDP with /udp; repeatable)
  --mac MAC          the guest MAC of the interfaces, in --net order (default: a random one)
  --vsock PATH       attach virtio-vsock with its host side at the Unix socket PATH, as Firecracker's
                     hybrid model: host programs connect to PATH and send "CONNECT <port>\\n"; the
                     guest's connections to CID 2 port P go to PATH_P (the default guest loads the
                     vsock modules)
  --vsock-cid N      the guest's vsock CID (default 3)
  --init-cmd CMD     default guest only: run CMD in the initramfs instead of a shell, then power off
  --script FILE      default guest only: run FILE (sh) in the initramfs instead of a shell
  --engine NAME      execution engine: jit (default: hot code translated to WebAssembly) or
                     interpreter (the reference)
  --differential N   run the first N instructions on the interpreter and the JIT in lock-step with
                     deterministic time; report the first difference (exit 125) or agreement (0)
  --reboot MODE      on guest reboot: "restart" the guest (default) or "exit" with status 3
  --cold             boot the default guest even when a snapshot of it at its shell prompt is cached
  -h, --help         show this help

Fast start: the default guest's shell (no --kernel, --initrd, --init-cmd, --script or --disk) is
snapshotted the first time it shows a prompt before anything was typed, and later runs with the same
configuration resume from that snapshot (cached beside the guest) instead of booting.

wisp run [options] IMAGE [COMMAND...] runs an OCI image instead; its options follow.

Exit status: 0 when the guest powers off, 1 on a kernel panic or error, 3 on reboot with
--reboot exit, 130/143 when interrupted.
`;

const BASE_CMDLINE = 'console=ttyS0 panic=-1';
/**
 * Reboots in a row before the console came up or any program ran, after which `wisp run` stops
 * restarting: a guest that cannot boot would otherwise restart a few times a second, forever, in silence.
 */
const MAX_EARLY_REBOOTS = 3;
/** The instance id `wisp run` gives its VM (Firecracker's default is "anonymous-instance"). */
const INSTANCE_ID = 'wisp-run';

type Flags = {
  kernel?: string; initrd?: string; append?: string; mem?: string; 'init-cmd'?: string; script?: string;
  reboot?: string; engine?: string; differential?: string; disk?: string[]; root?: boolean; 'no-entropy'?: boolean;
  cpus?: string; deterministic?: boolean;
  net?: string[]; publish?: string[]; mac?: string[];
  cold?: boolean;
  vsock?: string; 'vsock-cid'?: string;
};

/** The guest modules virtio-vsock needs (vsock.ko, the virtio transport and its common part). */
const VSOCK_MODULES = ['vsock', 'vmw_vsock_virtio_transport_common', 'vmw_vsock_virtio_transport'];

export async function run(argv: string[]): Promise<number> {
  const images = await import('./run-image.js');
  if (images.isImageRun(argv)) return images.runImage(argv);
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: {
        kernel: { type: 'string' },
        initrd: { type: 'string' },
        append: { type: 'string' },
        mem: { type: 'string' },
        'init-cmd': { type: 'string' },
        script: { type: 'string' },
        reboot: { type: 'string' },
        engine: { type: 'string' },
        cpus: { type: 'string' },
        deterministic: { type: 'boolean' },
        differential: { type: 'string' },
        disk: { type: 'string', multiple: true },
        root: { type: 'boolean' },
        'no-entropy': { type: 'boolean' },
        net: { type: 'string', multiple: true },
        publish: { type: 'string', multiple: true },
        mac: { type: 'string', multiple: true },
        cold: { type: 'boolean' },
        vsock: { type: 'string' },
        'vsock-cid': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    process.stderr.write(`wisp run: ${(e as Error).message}\n`);
    return 2;
  }
  const v = args.values;
  if (v.help) { process.stdout.write(HELP + '\n' + images.IMAGE_HELP); return 0; }
  const console = new Console();
  let scratch: string | undefined;
  let builder: (VmBuilder & { dispose(): void }) | undefined;
  try {
    const rebootMode = v.reboot ?? 'restart';
    if (rebootMode !== 'restart' && rebootMode !== 'exit') throw new CliError(`--reboot must be "restart" or "exit", got "${rebootMode}"`);
    const differential = v.differential !== undefined ? parseNumberFlag('--differential', v.differential, 0) : undefined;
    checkFlags(v, differential !== undefined);
    // The machine's thread starts now, loading and warming up while the guest's files are checked.
    let watcher: PromptWatcher | undefined;
    if (differential === undefined) builder = createVmBuilder({ stdin: null, consoleOut: (b) => { console.write(b); watcher?.output(b); }, prestart: true });
    scratch = mkdtempSync(join(tmpdir(), 'wisp-run-'));
    // (A network interface keeps the guest cold: virtio-net has no snapshot state yet, and its passt or
    // tap belongs to one boot.)
    const warmable = differential === undefined && !v.kernel && !v.initrd && !v['init-cmd'] && !v.script && !v.disk?.length && !v.net?.length;
    let guest = await loadGuest(v, scratch, warmable);
    const resources = describeVm(v, guest, differential !== undefined);
    const spec = resources.machineSpec(INSTANCE_ID);
    if (differential !== undefined) {
      try {
        return await differentialBoot(spec, differential, (b) => console.write(b));
      } finally {
        console.flush();
      }
    }
    if (!builder) throw new Error('no machine builder');
    const warm = warmable && guest.warm ? warmStartFor({ ...guest.warm, spec }) : undefined;
    let building: Promise<MachineHandle> | undefined;
    if (warm && !v.cold && warmStartExists(warm)) {
      const handle = await resumeWarm(builder, warm, v, console).catch(() => undefined);
      if (handle) building = Promise.resolve(handle);
    }
    let earlyReboots = 0;
    for (;;) {
      if (!building) {
        guest = await ensureInitramfs(guest, scratch);
        building = buildWith(builder, spec, guest);
        if (warm && !v.cold && !warmStartExists(warm)) watcher = captureAtPrompt(warm, building, resources);
      }
      const handle = building;
      building = undefined;
      const exit = await boot(handle, console, (b) => { if (!isTerminalReport(b)) watcher?.cancel(); });
      watcher?.cancel();
      watcher = undefined;
      if (console.signal) return console.signal === 'SIGINT' ? 130 : 143;
      if (exit === 'stopped') return 0;
      if (exit.guest === 'reboot' && rebootMode === 'restart') {
        earlyReboots = exit.early ? earlyReboots + 1 : 0;
        if (earlyReboots >= MAX_EARLY_REBOOTS) {
          process.stderr.write(`wisp: the guest rebooted ${earlyReboots} times in a row before its console came up or any program ran; not restarting it again (too little memory for this kernel and initrd? a kernel for another machine?)\n`);
          return 1;
        }
        process.stderr.write(`wisp: guest rebooted${exit.early ? ' before its console came up' : ''}; restarting it\n`);
        continue;
      }
      return report(exit);
    }
  } catch (e) {
    if (e instanceof CliError || e instanceof BootError || e instanceof VmResourcesError || e instanceof RangeError || (e as { name?: string }).name === 'GuestError') {
      process.stderr.write(`wisp run: ${(e as Error).message}\n`);
      return 1;
    }
    throw e;
  } finally {
    builder?.dispose();
    console.restore();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  }
}

/** Flag combinations that cannot work, refused before anything is fetched or built. */
function checkFlags(v: Flags, differential: boolean): void {
  parseNumberFlag('--mem', v.mem, 256);
  const cpus = parseNumberFlag('--cpus', v.cpus, 1);
  if (!Number.isInteger(cpus) || cpus < 1 || cpus > MAX_HARTS) throw new CliError(`--cpus must be 1…${MAX_HARTS}, got "${v.cpus}"`);
  if (differential && (cpus > 1 || v.deterministic)) throw new CliError('--differential runs one hart in lock-step: use --deterministic for a replayable multi-hart run');
  const engine = v.engine ?? 'jit';
  if (engine !== 'interpreter' && engine !== 'jit') throw new CliError(`--engine must be "interpreter" or "jit", got "${engine}"`);
  if (v.kernel && (v['init-cmd'] || v.script)) throw new CliError('--init-cmd and --script build the default initramfs; they cannot be used with --kernel');
  if (v['init-cmd'] && v.script) throw new CliError('give either --init-cmd or --script, not both');
  for (const d of v.disk ?? []) parseDisk(d);
  if (differential && v.disk?.length) throw new CliError('--differential runs without disks (both engines would share them)');
  if (v.root && !v.disk?.length) throw new CliError('--root needs a --disk to boot into');
  const nets = (v.net ?? []).map(parseNet);
  if (differential && nets.length) throw new CliError('--differential runs without network interfaces (both engines would share them)');
  const publish = (v.publish ?? []).map((s) => parsePublish(s));
  if (publish.length && !nets.some((n) => n.kind === 'user')) throw new CliError('--publish needs a user-mode interface: add --net user');
  if ((v.mac?.length ?? 0) > nets.length) throw new CliError(`--mac was given ${v.mac!.length} times for ${nets.length} --net interface${nets.length === 1 ? '' : 's'}`);
  if (differential && v.vsock !== undefined) throw new CliError('--differential runs without vsock (host sockets would make the two runs differ)');
  if (v['vsock-cid'] !== undefined && v.vsock === undefined) throw new CliError('--vsock-cid needs --vsock');
  parseNumberFlag('--vsock-cid', v['vsock-cid'], 3);
}

/**
 * The VM the flags describe, as the same resources the API and --config-file configure (so every
 * device is built by the one builder): machine config, boot source, drives vda, vdb, … in order (the
 * first is the root with --root), the entropy device unless --no-entropy, and network interfaces
 * eth0, eth1, … (each with a MAC: --mac, else a random locally administered one). A lock-step run has no
 * entropy device: the two machines would read different host randomness.
 */
function describeVm(v: Flags, guest: GuestFiles, differential: boolean): VmResources {
  const r = new VmResources();
  r.updateMachineConfig({ mem_size_mib: parseNumberFlag('--mem', v.mem, 256), vcpu_count: parseNumberFlag('--cpus', v.cpus, 1) });
  r.setEngine((v.engine ?? 'jit') as 'jit' | 'interpreter');
  if (v.deterministic) r.setDeterministic(true);
  r.setBootSource({
    kernel_image_path: guest.kernelPath,
    ...(guest.initrdPath !== undefined && { initrd_path: guest.initrdPath }),
    boot_args: v.append ? `${BASE_CMDLINE} ${v.append}` : BASE_CMDLINE,
  });
  (v.disk ?? []).map(parseDisk).forEach((d, i) => {
    r.insertBlockDevice({
      drive_id: `vd${String.fromCharCode(97 + i)}`,
      path_on_host: d.path,
      is_read_only: d.readOnly,
      is_root_device: i === 0 && v.root === true,
      cache_type: d.cacheType,
    });
  });
  if (!v['no-entropy'] && !differential) r.setEntropyDevice({});
  // The first user-mode interface carries the published ports.
  let publish = (v.publish ?? []).map((s) => parsePublish(s));
  (v.net ?? []).map(parseNet).forEach((n, i) => {
    r.insertNetworkInterface({
      iface_id: `eth${i}`,
      guest_mac: v.mac?.[i] ?? formatMac(randomMac()),
      ...(n.kind === 'tap' ? { host_dev_name: n.name } : { user_mode: { publish } }),
    });
    if (n.kind === 'user') publish = [];
  });
  if (v.vsock !== undefined) r.setVsockDevice({ guest_cid: parseNumberFlag('--vsock-cid', v['vsock-cid'], 3), uds_path: v.vsock });
  return r;
}

/**
 * Runs one boot of the machine with the console attached: resolves with how the guest stopped, or
 * 'stopped' when Ctrl-A X or a signal stopped it. The machine's thread has ended when this resolves.
 */
async function boot(building: Promise<MachineHandle>, console: Console, onInput?: (bytes: Uint8Array) => void): Promise<MachineExit | 'stopped'> {
  let handle: MachineHandle;
  try {
    handle = await building;
  } catch (e) {
    throw new CliError((e as Error).message);
  }
  let requestStop!: () => void;
  const stopRequested = new Promise<'stopped'>((r) => (requestStop = () => r('stopped')));
  try {
    return await console.attach(
      { sendInput: (b) => { onInput?.(b); handle.sendInput?.(b); }, stop: () => requestStop() },
      () => Promise.race([handle.exited, stopRequested]),
    );
  } finally {
    // After an exit the worker is ending by itself; stop() waits for it (and its console output).
    await handle.stop();
  }
}

/**
 * Resumes the default guest from its cached snapshot, showing the prompt it was saved at. A snapshot
 * that will not restore is removed (the caller then boots, and a new one is taken).
 */
async function resumeWarm(builder: VmBuilder, warm: WarmStart, v: Flags, console: Console): Promise<MachineHandle> {
  try {
    const r = prepareRestore(warm.statePath, { memPath: warm.memPath, trackDirtyPages: false, resume: true, instanceId: INSTANCE_ID, engine: (v.engine ?? 'jit') as 'jit' | 'interpreter' });
    const handle = await builder.build(r.spec, r.restore);
    console.write(warmPrompt(warm));
    return handle;
  } catch (e) {
    process.stderr.write(`wisp: the cached snapshot of this guest does not restore (${(e as Error).message}); booting it instead\n`);
    forgetWarmStart(warm);
    throw e;
  }
}

/**
 * Takes the warm-start snapshot when the booting guest's shell first shows its prompt, unless input
 * was typed first (the returned watcher is cancelled on input). Failures only cost the cache entry.
 */
function captureAtPrompt(warm: WarmStart, building: Promise<MachineHandle>, resources: VmResources): PromptWatcher {
  let typed = false;
  const watcher = new PromptWatcher((prompt) => {
    if (typed) return;
    void building
      .then((handle) => captureWarmStart(warm, handle, resources, prompt, () => !typed))
      .catch((e: unknown) => process.stderr.write(`\nwisp: could not snapshot the guest for a fast start next time: ${(e as Error).message}\n`));
  });
  const cancel = watcher.cancel.bind(watcher);
  watcher.cancel = () => { typed = true; cancel(); };
  return watcher;
}

interface GuestFiles {
  kernelPath: string;
  initrdPath?: string;
  /** The default guest's identity (warm-start key); set when this run could resume from a snapshot. */
  warm?: { guestDir: string; packages: readonly string[]; files: readonly string[] };
  /** The default initramfs still has to be built (a warm start may not need it). */
  initramfs?: { busyboxPath: string; modulesDir: string; kernelVersion: string; script?: Uint8Array; initCmd?: string; extraModules?: readonly string[] };
  /**
   * The initramfs built for this run, at initrdPath until the first machine has read it, and written
   * again only while a restarted machine reads it.
   */
  builtInitrd?: Uint8Array;
}

/**
 * Builds one machine. A built initramfs exists as a file only while the machine's thread reads it, so
 * a wisp killed mid-run leaves no copy behind in the temporary directory.
 */
async function buildWith(builder: VmBuilder, spec: MachineSpec, guest: GuestFiles): Promise<MachineHandle> {
  if (!guest.builtInitrd) return builder.build(spec);
  if (!existsSync(guest.initrdPath!)) writeFileSync(guest.initrdPath!, guest.builtInitrd);
  try {
    return await builder.build(spec);
  } finally {
    rmSync(guest.initrdPath!, { force: true });
  }
}

/** Two machines, one per engine, stepped in lock-step; time follows the instruction count. */
async function differentialBoot(spec: MachineSpec, instructions: number, out: (b: Uint8Array) => void): Promise<number> {
  // Loaded here only: the machine's code is the worker's business in every other run (start-up time).
  const [{ ManualClock }, { lockstep }, { assembleMachine }] = await Promise.all([
    import('../../platform/clint.js'), import('../../jit/differential.js'), import('../../vmm/assemble-machine.js'),
  ]);
  const clock = new ManualClock();
  const start = BigInt(Date.now()) * 1_000_000n;
  const fixed = { clock, rngSeed: new Uint8Array(32).fill(7), wallClock: { nowNs: () => start + BigInt(clock.now()) * 100n } };
  const machines: AssembledMachine[] = [];
  try {
    const ref = assembleMachine(spec, { consoleOut: () => {}, board: { ...fixed, engine: 'interpreter' } });
    machines.push(ref);
    // Translations are made synchronously here: lock-step runs never give the event loop a turn.
    const jit = assembleMachine(spec, { consoleOut: out, board: { ...fixed, engine: 'jit', jit: { background: false } } });
    machines.push(jit);
    const r = lockstep(ref.machine.hart, ref.machine.memory.bytes, jit.machine.hart as JitHart, jit.machine.memory.bytes, {
      maxSteps: Infinity,
      maxInstructions: instructions,
      ramEvery: 200_000,
      beforeStep: (instret) => {
        clock.ticks = Math.floor(instret / 10);
        for (const { machine: m } of machines) { m.clint.update(); m.rtc.update(); }
      },
    });
    if (r.divergence) {
      const d = r.divergence;
      process.stderr.write(`\nwisp run: the engines diverged after ${d.instret} instructions, in the step starting at 0x${d.pc.toString(16)}:\n  ${d.differences.join('\n  ')}\n`);
      return 125;
    }
    process.stderr.write(`\nwisp run: interpreter and jit agreed for ${r.instret} instructions (${r.steps} steps)\n`);
    return 0;
  } catch (e) {
    if (e instanceof Error && !(e instanceof CliError)) throw new CliError(e.message);
    throw e;
  } finally {
    for (const m of machines) m.close();
  }
}

function parseDisk(spec: string): { path: string; readOnly: boolean; cacheType: 'Unsafe' | 'Writeback' } {
  const [path, ...opts] = spec.split(',');
  if (!path) throw new CliError(`--disk needs a path, got "${spec}"`);
  let readOnly = false, cacheType: 'Unsafe' | 'Writeback' = 'Unsafe';
  for (const o of opts) {
    if (o === 'ro') readOnly = true;
    else if (o === 'rw') readOnly = false;
    else if (o === 'writeback') cacheType = 'Writeback';
    else if (o === 'unsafe') cacheType = 'Unsafe';
    else throw new CliError(`--disk "${spec}": unknown option "${o}" (ro, rw, writeback, unsafe)`);
  }
  return { path, readOnly, cacheType };
}

/** A file named by a flag must be a readable regular file; the message names the flag. */
function checkFlagFile(flag: string, path: string): string {
  try {
    if (!statSync(path).isFile()) throw new CliError(`${flag} "${path}" is not a regular file`);
    return path;
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw new CliError(`Cannot read ${flag} "${path}": ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/**
 * The kernel and initrd files: as given, or the default guest (fetched once) with wisp's initramfs,
 * built for this run into `scratch` (removed when the run ends).
 */
async function loadGuest(v: Flags, scratch: string, warmable: boolean): Promise<GuestFiles> {
  if (v.kernel) {
    return { kernelPath: checkFlagFile('--kernel', v.kernel), initrdPath: v.initrd ? checkFlagFile('--initrd', v.initrd) : undefined };
  }
  if (v.initrd) checkFlagFile('--initrd', v.initrd);
  const script = v.script ? checkFlagFile('--script', v.script) : undefined;
  const guest = await ensureDefaultGuest({ progress: process.stderr });
  if (v.initrd) return { kernelPath: guest.kernelPath, initrdPath: v.initrd };
  const files: GuestFiles = {
    kernelPath: guest.kernelPath,
    initrdPath: join(scratch, 'initramfs.cpio.gz'),
    initramfs: {
      busyboxPath: guest.busyboxPath, modulesDir: guest.modulesDir, kernelVersion: guest.kernelVersion,
      script: script !== undefined ? readScript(script) : undefined, initCmd: v['init-cmd'],
      ...(v.vsock !== undefined && { extraModules: VSOCK_MODULES }),
    },
  };
  if (warmable) {
    files.warm = { guestDir: guest.guestDir, packages: guest.packages, files: [guest.kernelPath, guest.busyboxPath, join(guest.modulesDir, 'modules.dep')] };
    // The initramfs is built only if the guest boots (ensureInitramfs); until then its path holds an
    // empty file, so the VM can be described (a boot source's files must open) and keyed.
    writeFileSync(files.initrdPath!, '');
    return files;
  }
  return ensureInitramfs(files, scratch);
}

/** Builds the default initramfs if this run needs it and it is not built yet. */
async function ensureInitramfs(guest: GuestFiles, scratch: string): Promise<GuestFiles> {
  if (!guest.initramfs || guest.builtInitrd) return guest;
  const initrd = await buildInitramfs(guest.initramfs);
  const initrdPath = join(scratch, 'initramfs.cpio.gz');
  writeFileSync(initrdPath, initrd);
  return { ...guest, initrdPath, builtInitrd: initrd };
}

function readScript(path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new CliError(`Cannot read --script "${path}": ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

function report(exit: MachineExit): number {
  if (exit.guest !== 'poweroff' && exit.guest !== 'reboot' && exit.message) process.stderr.write(`wisp: ${exit.message}\n`);
  if (exit.guest === 'reboot') return 3;
  return exit.exitCode;
}
