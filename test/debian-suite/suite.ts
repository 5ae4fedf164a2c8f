/**
 * The Debian differential suite's machinery: the disk (Debian's riscv64 userland with the programs'
 * packages, plus /suite: the programs' scripts and inputs), the initramfs whose script runs every
 * program chrooted into that disk, and a runner for either side — wisp (`node bin/wisp.js run`) or
 * QEMU's `virt` board with OpenSBI — with the same kernel, initramfs and disk. Each program's output,
 * exit status and guest time (coreutils `date +%s%N` in the guest around it) come back parsed.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureDebianUserland } from '../../src/guest/debian-userland.js';
import type { DefaultGuest } from '../../src/guest/fetch.js';
import { buildInitramfs } from '../../src/guest/initramfs.js';
import { buildRootfs } from '../../src/guest/rootfs.js';
import { C_PROGRAMS, PROGRAMS, SUITE_PACKAGES, type SuiteProgram } from './programs.js';
import { makeSuiteData } from './suite-data.js';
import { repoRoot } from '../helpers/guest-fixtures.js';

export const SUITE_MEM_MIB = 512;
const CMDLINE_EXTRA = 'quiet';

export interface SuiteImage {
  disk: string;
  initrd: string;
  kernel: string;
  programs: readonly SuiteProgram[];
}

export interface ProgramResult {
  /** Output lines (stdout and stderr together). */
  out: string[];
  status: number;
  /** Guest time around the program, in seconds. */
  seconds: number;
}

export interface SuiteRun {
  results: Map<string, ProgramResult>;
  /** Host wall time of the whole run (boot included), seconds. */
  wallSeconds: number;
  /** The console, for failure messages. */
  console: string;
}

/** Runs one program in the chroot: cwd a fresh directory on the tmpfs, its output to /tmp/NAME.out. */
const RUN_ONE = `#!/bin/sh
export PATH=/usr/bin:/bin LC_ALL=C TZ=UTC HOME=/tmp
mkdir -p "/tmp/w-$1" && cd "/tmp/w-$1" || exit 1
t0=$(date +%s%N)
/bin/sh "/suite/prog/$1.sh" >"/tmp/$1.out" 2>&1
st=$?
t1=$(date +%s%N)
cd / && rm -rf "/tmp/w-$1"
echo "SUITE-STATUS $1 $st"
echo "SUITE-TIME $1 $((t1 - t0))"
`;

/** The initramfs job (busybox sh): mount the disk, run each program, print its output with a prefix. */
function guestScript(names: readonly string[]): string {
  return `#!/bin/sh
i=0; while [ ! -b /dev/vda ] && [ $i -lt 100 ]; do usleep 100000; i=$((i + 1)); done
mkdir -p /mnt
mount -t ext4 -o ro /dev/vda /mnt || { echo "SUITE-ERROR cannot mount the suite disk"; exit 1; }
mount -t tmpfs -o size=320m tmpfs /mnt/tmp
mount -t proc proc /mnt/proc
mount -o bind /dev /mnt/dev
echo SUITE-READY
for p in ${names.join(' ')}; do
  echo "SUITE-BEGIN $p"
  chroot /mnt /bin/sh /suite/run-one "$p"
  sed "s/^/SUITE-OUT $p /" "/mnt/tmp/$p.out"
  rm -f "/mnt/tmp/$p.out"
  echo "SUITE-END $p"
done
echo SUITE-DONE
`;
}

/**
 * Builds the suite's disk and initramfs in `dir` (fetching the userland into the cache the first
 * time). `only` restricts the programs (by name).
 */
export async function buildSuiteImage(guest: DefaultGuest, dir: string, only?: readonly string[]): Promise<SuiteImage> {
  const programs = only ? PROGRAMS.filter((p) => only.includes(p.name)) : PROGRAMS;
  if (programs.length === 0) throw new Error(`No suite program matches ${only?.join(', ')}`);
  const userland = await ensureDebianUserland({ packages: SUITE_PACKAGES });
  const tree = join(dir, 'tree');
  // Hard links: instant, and the shared tree is never written (only new files are added).
  const cp = spawnSync('cp', ['-al', userland.rootDir, tree]);
  if (cp.status !== 0) throw new Error(`cp -al ${userland.rootDir} ${tree} failed: ${cp.stderr.toString()}`);
  for (const d of ['tmp', 'proc', 'dev', 'suite/prog', 'suite/data']) mkdirSync(join(tree, d), { recursive: true });
  chmodSync(join(tree, 'tmp'), 0o1777);
  writeFileSync(join(tree, 'suite/run-one'), RUN_ONE, { mode: 0o755 });
  for (const p of programs) {
    writeFileSync(join(tree, `suite/prog/${p.name}.sh`), p.script + '\n');
    for (const [f, text] of Object.entries(p.files ?? {})) writeFileSync(join(tree, 'suite/prog', f), text);
  }
  for (const [f, bytes] of Object.entries(makeSuiteData().files)) writeFileSync(join(tree, 'suite/data', f), bytes);
  mkdirSync(join(tree, 'suite/bin'));
  const src = join(repoRoot(), 'test/debian-suite/c');
  for (const c of C_PROGRAMS) {
    const cc = spawnSync('riscv64-unknown-elf-gcc', ['-march=rv64gc', '-mabi=lp64d', '-O2', '-static', '-nostdlib', '-nostartfiles',
      '-ffreestanding', '-fno-builtin', '-mno-relax', '-Wl,--no-relax', '-Wl,--no-warn-rwx-segments', '-I', src, '-o', join(tree, 'suite/bin', c), join(src, `${c}.c`)]);
    if (cc.status !== 0) throw new Error(`Cannot build ${c}.c: ${cc.error?.message ?? cc.stderr.toString()}`);
  }
  const disk = join(dir, 'suite.ext4');
  await buildRootfs({ dir: tree, output: disk });
  spawnSync('rm', ['-rf', tree]);
  const initrd = join(dir, 'suite.cpio.gz');
  writeFileSync(initrd, await buildInitramfs({ ...guest, script: Buffer.from(guestScript(programs.map((p) => p.name))) }));
  return { disk, initrd, kernel: guest.kernelPath, programs };
}

export type Side = 'wisp' | 'qemu';

/** The command line that boots the suite on one side. */
export function suiteCommand(side: Side, img: SuiteImage, engine = 'jit'): { cmd: string; args: string[] } {
  if (side === 'wisp') {
    return {
      cmd: process.execPath,
      args: [join(repoRoot(), 'bin/wisp.js'), 'run', '--engine', engine, '--kernel', img.kernel, '--initrd', img.initrd,
        '--disk', `${img.disk},ro`, '--mem', String(SUITE_MEM_MIB), '--append', CMDLINE_EXTRA],
    };
  }
  return {
    cmd: 'qemu-system-riscv64',
    args: ['-M', 'virt', '-m', String(SUITE_MEM_MIB), '-smp', '1', '-nographic', '-no-reboot', '-bios', 'default',
      '-kernel', img.kernel, '-initrd', img.initrd, '-append', `console=ttyS0 panic=-1 ${CMDLINE_EXTRA}`,
      '-drive', `file=${img.disk},format=raw,if=none,id=d0,readonly=on`, '-device', 'virtio-blk-device,drive=d0',
      '-device', 'virtio-rng-device'],
  };
}

/** Boots the suite on one side and parses what each program did. Rejects on a hang or a bad exit. */
export function runSuite(side: Side, img: SuiteImage, opts: { timeoutMs: number; engine?: string }): Promise<SuiteRun> {
  const { cmd, args } = suiteCommand(side, img, opts.engine);
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('latin1');
    child.stdout.on('data', (s: string) => (out += s));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
    child.on('error', (e) => { clearTimeout(timer); reject(new Error(`Cannot run ${cmd}: ${e.message}`)); });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const text = out.replace(/\r/g, '');
      const tail = `\n--- console (tail) ---\n${text.slice(-4000)}\n--- stderr (tail) ---\n${err.slice(-2000)}`;
      if (!text.includes('SUITE-DONE')) {
        reject(new Error(`${side}: the suite did not finish (exit ${code ?? signal})${tail}`));
        return;
      }
      try {
        resolve({ results: parseSuite(text, img.programs), wallSeconds: (performance.now() - t0) / 1000, console: text });
      } catch (e) {
        reject(new Error(`${side}: ${(e as Error).message}${tail}`));
      }
    });
  });
}

export function parseSuite(text: string, programs: readonly SuiteProgram[]): Map<string, ProgramResult> {
  const lines = text.split('\n');
  const results = new Map<string, ProgramResult>();
  for (const p of programs) {
    const outPrefix = `SUITE-OUT ${p.name} `;
    const out = lines.filter((l) => l.startsWith(outPrefix) || l === outPrefix.trimEnd()).map((l) => l.slice(outPrefix.length));
    const status = lines.find((l) => l.startsWith(`SUITE-STATUS ${p.name} `));
    const time = lines.find((l) => l.startsWith(`SUITE-TIME ${p.name} `));
    if (status === undefined || time === undefined) throw new Error(`program ${p.name}: no status or time line`);
    results.set(p.name, {
      out,
      status: Number(status.split(' ')[2]),
      seconds: Number(time.split(' ')[2]) / 1e9,
    });
  }
  return results;
}
