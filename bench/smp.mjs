// SMP speed-up, wisp next to QEMU's multi-threaded TCG: the same Debian kernel and initramfs whose
// /init runs TWO CPU-bound processes at once (sha256sum of busybox x4, each on its own copy), timed
// between two marker lines as the host sees them arrive. Each side boots once with 1 hart and once
// with 2 (wisp --cpus N, QEMU -smp N -accel tcg,thread=multi), in alternation, `rounds` times; the
// speed-up is the median 1-hart time over the median 2-hart time (2.0 would be perfect scaling).
// Correctness: both processes' hashes must equal the host's.
// The host is shared with other work: the figures move with its load, and both sides see the same.
import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const MEM_MIB = 256;
const COPIES = 4;
const TIMEOUT_MS = 900_000;

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function initScript() {
  return [
    'mount -t proc proc /proc',
    // (busybox sh opens /dev/null for a background job's stdin)
    'mount -t devtmpfs dev /dev',
    `for i in 1 2; do for c in ${Array.from({ length: COPIES }, (_, i) => i).join(' ')}; do cat /bin/busybox; done > /data$i; echo $i >> /data$i; done`,
    'echo WISP-SMP-START',
    'for i in 1 2; do sha256sum /data$i > /sum$i & done; wait',
    'echo WISP-SMP-END',
    'for i in 1 2; do echo "WISP-SMP-OUT $i $(cut -d" " -f1 /sum$i)"; done',
    'poweroff -f',
  ].join('\n');
}

/** Runs cmd; resolves with the seconds between the markers and the hashes printed. */
function measure(cmd, args) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let buf = '', err = '';
    let start, end;
    let tail = '';
    const out = {};
    child.stdout.setEncoding('latin1');
    child.stdout.on('data', (s) => {
      buf += s;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i).replace(/\r/g, '');
        buf = buf.slice(i + 1);
        tail = (tail + line + '\n').slice(-2000);
        const now = (performance.now() - t0) / 1000;
        if (line === 'WISP-SMP-START') start = now;
        else if (line === 'WISP-SMP-END') end = now;
        const m = /^WISP-SMP-OUT (\d) ([0-9a-f]{64})$/.exec(line);
        if (m) out[m[1]] = m[2];
      }
    });
    child.stderr.on('data', (b) => (err += b));
    const timer = setTimeout(() => child.kill('SIGKILL'), TIMEOUT_MS);
    child.on('error', (e) => { clearTimeout(timer); reject(new Error(`cannot run ${cmd}: ${e.message}`)); });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0 || start === undefined || end === undefined) reject(new Error(`${cmd} ${args.join(' ')} exited ${code} without both markers\n${err.slice(-1000)}`));
      else resolve({ seconds: end - start, hashes: out, tail: tail + buf });
    });
  });
}

export async function benchSmp(root, { rounds = 3 } = {}) {
  const { ensureGuest, minimalInitramfs } = await import(join(root, 'dist/test/helpers/guest-fixtures.js'));
  const guest = await ensureGuest();
  const dir = join(root, 'build/bench');
  mkdirSync(dir, { recursive: true });
  const initrd = join(dir, 'smp.cpio.gz');
  writeFileSync(initrd, minimalInitramfs(guest, initScript()));
  const busybox = readFileSync(guest.busyboxPath);
  const expected = (i) => createHash('sha256').update(Buffer.concat([...Array(COPIES).fill(busybox), Buffer.from(`${i}\n`)])).digest('hex');

  const wisp = (harts) => measure(process.execPath, [join(root, 'bin/wisp.js'), 'run', '--cpus', String(harts), '--kernel', guest.kernelPath,
    '--initrd', initrd, '--mem', String(MEM_MIB)]);
  const qemu = (harts) => measure('qemu-system-riscv64', ['-M', 'virt', '-m', String(MEM_MIB), '-smp', String(harts), '-accel', 'tcg,thread=multi',
    '-nographic', '-bios', 'default', '-kernel', guest.kernelPath, '-initrd', initrd, '-append', 'console=ttyS0 panic=-1']);
  const runs = { wisp1: [], wisp2: [], qemu1: [], qemu2: [] };
  for (let r = 0; r < rounds; r++) {
    runs.wisp1.push(await wisp(1));
    runs.wisp2.push(await wisp(2));
    runs.qemu1.push(await qemu(1));
    runs.qemu2.push(await qemu(2));
  }
  for (const [name, list] of Object.entries(runs)) {
    for (const run of list) {
      for (const i of [1, 2]) {
        if (run.hashes[i] !== expected(i)) throw new Error(`${name}: process ${i} printed ${run.hashes[i]}, the host computes ${expected(i)}; the console's end:\n${run.tail}`);
      }
    }
  }
  const s = Object.fromEntries(Object.entries(runs).map(([k, v]) => [k, median(v.map((x) => x.seconds))]));
  return {
    memMiB: MEM_MIB, dataBytesPerProcess: busybox.length * COPIES + 2, rounds,
    wisp: { oneHartSeconds: s.wisp1, twoHartSeconds: s.wisp2, speedup: s.wisp1 / s.wisp2, runs: { oneHart: runs.wisp1.map((x) => x.seconds), twoHarts: runs.wisp2.map((x) => x.seconds) } },
    qemu: { oneHartSeconds: s.qemu1, twoHartSeconds: s.qemu2, speedup: s.qemu1 / s.qemu2, runs: { oneHart: runs.qemu1.map((x) => x.seconds), twoHarts: runs.qemu2.map((x) => x.seconds) } },
    loadAverage: (await import('node:os')).loadavg(),
  };
}
