// Boot time, wisp next to QEMU: Debian's riscv64 kernel and one minimal initramfs (busybox, an /init
// that prints a marker and powers off), wall time from process start to the marker on stdout.
// QEMU runs the virt board with OpenSBI (-bios default) under TCG; wisp boots the kernel directly
// with its built-in SBI. Same kernel, same initramfs, same RAM, same command line.
// Needs a built tree (dist/) and qemu-system-riscv64; not part of `npm test`.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const MEM_MIB = 128;
const MARKER = 'WISP-BENCH-MARKER 42';
const TIMEOUT_MS = 300_000;

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * Spawns `cmd args`, resolves with seconds from spawn to the first stdout line equal to `marker`
 * and to exit (and, not enumerable, the console text as `stdout`). Fails on timeout, on a non-zero
 * exit, or when the marker never shows.
 */
export function timeToMarker(cmd, args, marker, { timeoutMs = TIMEOUT_MS, cwd, env } = {}) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let markerAt;
    child.stdout.setEncoding('latin1');
    child.stdout.on('data', (s) => {
      out += s;
      if (markerAt === undefined && out.replace(/\r/g, '').split('\n').includes(marker)) markerAt = performance.now();
    });
    child.stderr.on('data', (b) => (err += b));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => { clearTimeout(timer); reject(new Error(`cannot run ${cmd}: ${e.message}`)); });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const exitAt = performance.now();
      if (markerAt === undefined || code !== 0) {
        reject(new Error(`${cmd} ${code === null ? `killed by ${signal}` : `exited ${code}`}${markerAt === undefined ? ' without the marker' : ''}:\n${out.slice(-1500)}\n${err.slice(-1000)}`));
        return;
      }
      // The kernel's own clock at the hand-over to /init, for a look inside the total.
      const kernelInit = /\[\s*([\d.]+)\] Run \/init/.exec(out)?.[1];
      const result = { toMarker: (markerAt - t0) / 1000, toExit: (exitAt - t0) / 1000, kernelSecondsAtInit: kernelInit ? Number(kernelInit) : undefined };
      // Not enumerable: the console text is for callers to parse, not for results.json.
      Object.defineProperty(result, 'stdout', { value: out, enumerable: false });
      resolve(result);
    });
  });
}

/** Debian's kernel (cached by `wisp guest fetch`) and the marker initramfs, written under build/bench. */
export async function bootFixtures(root) {
  const { ensureGuest, minimalInitramfs } = await import(join(root, 'dist/test/helpers/guest-fixtures.js'));
  const guest = await ensureGuest();
  const dir = join(root, 'build/bench');
  mkdirSync(dir, { recursive: true });
  const initrd = join(dir, 'boot-marker.cpio.gz');
  writeFileSync(initrd, minimalInitramfs(guest, `echo "WISP-BENCH-MARKER $((6 * 7))"\npoweroff -f`));
  return { kernel: guest.kernelPath, initrd };
}

/**
 * The interpreter once (a reference figure, ~13 s), then the JIT and QEMU in alternation, `rounds`
 * times each, so a change in the machine's load hits both sides alike; medians. The JIT keeps its
 * translations between runs (jit/translation-cache.ts): it runs here with a cache directory of its
 * own, empty at the start, so the first JIT run is the cold boot of a fresh install (reported on its
 * own) and the others are warm, whatever earlier runs left in the user's cache.
 */
export async function benchBoot(root, { rounds = 5 } = {}) {
  const { kernel, initrd } = await bootFixtures(root);
  const result = { kernel, memMiB: MEM_MIB };
  const cacheDir = mkdtempSync(join(tmpdir(), 'wisp-bench-jit-'));
  try {
    const env = { ...process.env, WISP_JIT_CACHE: cacheDir };
    const wisp = (engine) => timeToMarker(process.execPath, [join(root, 'bin/wisp.js'), 'run', '--engine', engine, '--kernel', kernel,
      '--initrd', initrd, '--mem', String(MEM_MIB)], MARKER, { cwd: root, env });
    const qemuBoot = () => timeToMarker('qemu-system-riscv64', ['-M', 'virt', '-m', String(MEM_MIB), '-nographic', '-bios', 'default',
      '-kernel', kernel, '-initrd', initrd, '-append', 'console=ttyS0 panic=-1'], MARKER);
    const interp = await wisp('interpreter');
    result.interpreter = { secondsToMarker: interp.toMarker, runs: [interp] };
    const cold = await wisp('jit');
    const jit = [], qemu = [];
    let qemuError;
    for (let i = 0; i < rounds; i++) {
      jit.push(await wisp('jit'));
      if (qemuError === undefined) {
        try { qemu.push(await qemuBoot()); } catch (e) { qemuError = e; }
      }
    }
    result.jit = { secondsToMarker: median(jit.map((r) => r.toMarker)), runs: jit, coldSecondsToMarker: cold.toMarker };
    if (qemuError !== undefined) {
      result.qemu = `not measured: ${qemuError.message}`;
      return result;
    }
    const q = median(qemu.map((r) => r.toMarker));
    Object.assign(result, {
      qemuSecondsToMarker: q, qemuRuns: qemu,
      ratioInterpreterToQemu: result.interpreter.secondsToMarker / q,
      ratioJitToQemu: result.jit.secondsToMarker / q,
      ratioJitColdToQemu: cold.toMarker / q,
    });
    return result;
  } finally {
    rmSync(cacheDir, { recursive: true, force: true });
  }
}
