import { readFileSync, statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Machine, type MachineConfig, type MachineExit } from '../../platform/machine.js';
import { ManualClock } from '../../platform/clint.js';
import { lockstep } from '../../jit/differential.js';
import type { JitHart } from '../../jit/jit-hart.js';
import { BootError } from '../../platform/boot/kernel-loader.js';
import { ensureDefaultGuest } from '../../guest/fetch.js';
import { buildInitramfs } from '../../guest/initramfs.js';
import { attachBlock, attachEntropy, type AttachedBlock } from '../../vmm/virtio-attach.js';
import { FileBlockError } from '../../vmm/backends/file-block-backend.js';
import { CliError, parseNumberFlag } from '../cli-error.js';
import { MAX_HARTS } from '../../memory/machine-memory.js';
import { Console } from '../console.js';

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
  --init-cmd CMD     default guest only: run CMD in the initramfs instead of a shell, then power off
  --script FILE      default guest only: run FILE (sh) in the initramfs instead of a shell
  --engine NAME      execution engine: jit (default: hot code translated to WebAssembly) or
                     interpreter (the reference)
  --differential N   run the first N instructions on the interpreter and the JIT in lock-step with
                     deterministic time; report the first difference (exit 125) or agreement (0)
  --reboot MODE      on guest reboot: "restart" the guest (default) or "exit" with status 3
  -h, --help         show this help

Exit status: 0 when the guest powers off, 1 on a kernel panic or error, 3 on reboot with
--reboot exit, 130/143 when interrupted.
`;

const BASE_CMDLINE = 'console=ttyS0 panic=-1';

export async function run(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: {
        kernel: { type: 'string' },
        initrd: { type: 'string' },
        append: { type: 'string' },
        mem: { type: 'string' },
        cpus: { type: 'string' },
        deterministic: { type: 'boolean' },
        'init-cmd': { type: 'string' },
        script: { type: 'string' },
        reboot: { type: 'string' },
        engine: { type: 'string' },
        differential: { type: 'string' },
        disk: { type: 'string', multiple: true },
        root: { type: 'boolean' },
        'no-entropy': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    process.stderr.write(`wisp run: ${(e as Error).message}\n`);
    return 2;
  }
  const v = args.values;
  if (v.help) { process.stdout.write(HELP); return 0; }
  const console = new Console();
  try {
    const memMiB = parseNumberFlag('--mem', v.mem, 256);
    const harts = parseNumberFlag('--cpus', v.cpus, 1);
    if (!Number.isInteger(harts) || harts < 1 || harts > MAX_HARTS) throw new CliError(`--cpus must be 1…${MAX_HARTS}, got "${v.cpus}"`);
    const engine = v.engine ?? 'jit';
    if (engine !== 'interpreter' && engine !== 'jit') throw new CliError(`--engine must be "interpreter" or "jit", got "${engine}"`);
    const rebootMode = v.reboot ?? 'restart';
    if (rebootMode !== 'restart' && rebootMode !== 'exit') throw new CliError(`--reboot must be "restart" or "exit", got "${rebootMode}"`);
    if (v.kernel && (v['init-cmd'] || v.script)) throw new CliError('--init-cmd and --script build the default initramfs; they cannot be used with --kernel');
    if (v['init-cmd'] && v.script) throw new CliError('give either --init-cmd or --script, not both');
    const disks = (v.disk ?? []).map(parseDisk);
    if (v.differential !== undefined) {
      const n = parseNumberFlag('--differential', v.differential, 0);
      if (disks.length) throw new CliError('--differential runs without disks (both engines would share them)');
      const files = await loadGuest(v);
      const cmdline = v.append ? `${BASE_CMDLINE} ${v.append}` : BASE_CMDLINE;
      try {
        return differentialBoot({ memMiB, cmdline, ...files }, n, (b) => console.write(b));
      } finally {
        console.flush();
      }
    }
    if (v.root && disks.length === 0) throw new CliError('--root needs a --disk to boot into');
    const files = await loadGuest(v);
    let cmdline = v.append ? `${BASE_CMDLINE} ${v.append}` : BASE_CMDLINE;
    if (v.root) cmdline += ` root=/dev/vda ${disks[0].readOnly ? 'ro' : 'rw'}`;
    for (;;) {
      let blocks: AttachedBlock[] = [];
      try {
        blocks = disks.map((d, i) => attachBlock({ id: `vd${String.fromCharCode(97 + i)}`, ...d }));
      } catch (e) {
        if (e instanceof FileBlockError) throw new CliError(e.message);
        throw e;
      }
      const virtio = blocks.map((b) => b.factory);
      if (!v['no-entropy']) virtio.push(attachEntropy().factory);
      let exit: MachineExit;
      try {
        const machine = new Machine({ memMiB, cmdline, engine, consoleOut: (b) => console.write(b), virtio, harts, deterministic: v.deterministic, ...files });
        exit = await console.attach(machine, () => machine.run());
      } finally {
        for (const b of blocks) b.backend.close();
      }
      if (console.signal) return console.signal === 'SIGINT' ? 130 : 143;
      const code = report(exit);
      if (exit.kind === 'reboot' && rebootMode === 'restart') {
        process.stderr.write('wisp: guest rebooted; restarting it\n');
        continue;
      }
      return code;
    }
  } catch (e) {
    if (e instanceof CliError || e instanceof BootError || e instanceof RangeError || (e as { name?: string }).name === 'GuestError') {
      process.stderr.write(`wisp run: ${(e as Error).message}\n`);
      return 1;
    }
    throw e;
  } finally {
    console.restore();
  }
}

interface GuestFiles {
  kernel: Uint8Array;
  kernelName: string;
  initrd?: Uint8Array;
  initrdName?: string;
}

/** Two machines, one per engine, stepped in lock-step; time follows the instruction count. */
function differentialBoot(cfg: Omit<MachineConfig, 'consoleOut'>, instructions: number, out: (b: Uint8Array) => void): number {
  const clock = new ManualClock();
  const start = BigInt(Date.now()) * 1_000_000n;
  const fixed = { clock, rngSeed: new Uint8Array(32).fill(7), wallClock: { nowNs: () => start + BigInt(clock.now()) * 100n } };
  const ref = new Machine({ ...cfg, ...fixed, engine: 'interpreter', consoleOut: () => {} });
  // Translations are made synchronously here: lock-step runs never give the event loop a turn.
  const jit = new Machine({ ...cfg, ...fixed, engine: 'jit', jit: { background: false }, consoleOut: out });
  const r = lockstep(ref.hart, ref.memory.bytes, jit.hart as JitHart, jit.memory.bytes, {
    maxSteps: Infinity,
    maxInstructions: instructions,
    ramEvery: 200_000,
    beforeStep: (instret) => {
      clock.ticks = Math.floor(instret / 10);
      for (const m of [ref, jit]) { m.clint.update(); m.rtc.update(); }
    },
  });
  if (r.divergence) {
    const d = r.divergence;
    process.stderr.write(`\nwisp run: the engines diverged after ${d.instret} instructions, in the step starting at 0x${d.pc.toString(16)}:\n  ${d.differences.join('\n  ')}\n`);
    return 125;
  }
  process.stderr.write(`\nwisp run: interpreter and jit agreed for ${r.instret} instructions (${r.steps} steps)\n`);
  return 0;
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

function readFlagFile(flag: string, path: string): Uint8Array {
  try {
    if (!statSync(path).isFile()) throw new CliError(`${flag} "${path}" is not a regular file`);
    return readFileSync(path);
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw new CliError(`Cannot read ${flag} "${path}": ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

async function loadGuest(v: { kernel?: string; initrd?: string; 'init-cmd'?: string; script?: string }): Promise<GuestFiles> {
  if (v.kernel) {
    const kernel = readFlagFile('--kernel', v.kernel);
    const initrd = v.initrd ? readFlagFile('--initrd', v.initrd) : undefined;
    return { kernel, kernelName: v.kernel, initrd, initrdName: v.initrd };
  }
  const guest = await ensureDefaultGuest({ progress: process.stderr });
  const kernel = readFileSync(guest.kernelPath);
  if (v.initrd) return { kernel, kernelName: guest.kernelPath, initrd: readFlagFile('--initrd', v.initrd), initrdName: v.initrd };
  const script = v.script ? readFlagFile('--script', v.script) : undefined;
  const initrd = await buildInitramfs({
    busyboxPath: guest.busyboxPath, modulesDir: guest.modulesDir, kernelVersion: guest.kernelVersion,
    script, initCmd: v['init-cmd'],
  });
  return { kernel, kernelName: guest.kernelPath, initrd, initrdName: 'initramfs (built)' };
}

function report(exit: MachineExit): number {
  switch (exit.kind) {
    case 'poweroff': return 0;
    case 'reboot': return 3;
    case 'panic': process.stderr.write(`wisp: guest kernel panic: ${exit.message}\n`); return 1;
    case 'fail': process.stderr.write(`wisp: guest reported failure ${exit.code} through the test finisher\n`); return exit.code & 0xff || 1;
    case 'stopped': return 0;
  }
}
