// Guest speed on CPU-bound work inside Debian's guest, wisp next to QEMU: the same kernel, initramfs
// and memory; /init builds a file (busybox's own binary, four times over) and then hashes it with
// sha256sum and compresses it with gzip, printing a marker line before and after each. The figure is
// the wall time between a workload's markers, as the host sees the console lines arrive.
//
// MIPS: the guest instructions between the markers are counted once in wisp (the hart's instret;
// the work is the same deterministic user-space code on both, plus the kernel's timer ticks), and
// divided by each side's time. The ratio wisp/QEMU is the ratio of the times, whatever the count.
// Correctness: the sha256 printed by the guest must equal the host's hash of the same bytes, and
// gzip's output (as an md5) must be the same on wisp and on QEMU.
import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const MEM_MIB = 256;
const COPIES = 4;
const WORKLOADS = [
  { name: 'sha256', cmd: 'sha256sum /data' },
  { name: 'gzip', cmd: 'gzip -c /data | md5sum' },
];
const TIMEOUT_MS = 600_000;

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function initScript() {
  const lines = [`for i in ${Array.from({ length: COPIES }, (_, i) => i).join(' ')}; do cat /bin/busybox; done > /data`];
  for (const w of WORKLOADS) lines.push(`echo WISP-CPU-START ${w.name}`, `${w.cmd} | sed 's/^/WISP-CPU-OUT ${w.name} /'`, `echo WISP-CPU-END ${w.name}`);
  lines.push('poweroff -f');
  return lines.join('\n');
}

/** Runs cmd, timestamps each console line; resolves with { lines: [{ t, text }] } once it exits 0. */
function consoleLines(cmd, args) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const lines = [];
    let buf = '';
    let err = '';
    child.stdout.setEncoding('latin1');
    child.stdout.on('data', (s) => {
      buf += s;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        lines.push({ t: (performance.now() - t0) / 1000, text: buf.slice(0, i).replace(/\r/g, '') });
        buf = buf.slice(i + 1);
      }
    });
    child.stderr.on('data', (b) => (err += b));
    const timer = setTimeout(() => child.kill('SIGKILL'), TIMEOUT_MS);
    child.on('error', (e) => { clearTimeout(timer); reject(new Error(`cannot run ${cmd}: ${e.message}`)); });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) reject(new Error(`${cmd} ${code === null ? `killed by ${signal}` : `exited ${code}`}:\n${lines.slice(-10).map((l) => l.text).join('\n')}\n${err.slice(-1000)}`));
      else resolve(lines);
    });
  });
}

/** Per workload: seconds between its markers and what it printed. */
function measure(lines, who) {
  const out = {};
  for (const w of WORKLOADS) {
    const start = lines.find((l) => l.text === `WISP-CPU-START ${w.name}`);
    const end = lines.find((l) => l.text === `WISP-CPU-END ${w.name}`);
    const printed = lines.find((l) => l.text.startsWith(`WISP-CPU-OUT ${w.name} `));
    if (!start || !end || !printed) throw new Error(`${who}: the ${w.name} workload's markers or output are missing`);
    out[w.name] = { seconds: end.t - start.t, output: printed.text.slice(`WISP-CPU-OUT ${w.name} `.length).split(/\s+/)[0] };
  }
  return out;
}

/** The guest instructions between each workload's markers, counted in wisp's hart. */
async function countInstructions(root, kernel, initrd) {
  const { Machine } = await import(join(root, 'dist/src/platform/machine.js'));
  let m;
  let line = '';
  const marks = {};
  m = new Machine({
    engine: 'jit', memMiB: MEM_MIB, kernel: readFileSync(kernel), kernelName: kernel, initrd: readFileSync(initrd),
    cmdline: 'console=ttyS0 panic=-1',
    consoleOut: (b) => {
      for (const c of Buffer.from(b).toString('latin1')) {
        if (c === '\n') { marks[line] = m.hart.instret; line = ''; } else if (c !== '\r') line += c;
      }
    },
  });
  const exit = await m.run();
  if (exit.kind !== 'poweroff') throw new Error(`wisp (counting run) ended with ${exit.kind}`);
  const counts = {};
  for (const w of WORKLOADS) counts[w.name] = marks[`WISP-CPU-END ${w.name}`] - marks[`WISP-CPU-START ${w.name}`];
  return counts;
}

export async function benchGuestCpu(root, { runs = 3 } = {}) {
  const { ensureGuest, minimalInitramfs } = await import(join(root, 'dist/test/helpers/guest-fixtures.js'));
  const guest = await ensureGuest();
  const dir = join(root, 'build/bench');
  mkdirSync(dir, { recursive: true });
  const initrd = join(dir, 'guest-cpu.cpio.gz');
  writeFileSync(initrd, minimalInitramfs(guest, initScript()));
  const busybox = readFileSync(guest.busyboxPath);
  const expectedSha = createHash('sha256').update(Buffer.concat(Array(COPIES).fill(busybox))).digest('hex');

  const wispArgs = [join(root, 'bin/wisp.js'), 'run', '--kernel', guest.kernelPath, '--initrd', initrd, '--mem', String(MEM_MIB)];
  const qemuArgs = ['-M', 'virt', '-m', String(MEM_MIB), '-nographic', '-bios', 'default', '-kernel', guest.kernelPath,
    '-initrd', initrd, '-append', 'console=ttyS0 panic=-1'];
  const sides = { wisp: [], qemu: [] };
  for (let i = 0; i < runs; i++) {
    sides.wisp.push(measure(await consoleLines(process.execPath, wispArgs), 'wisp'));
    sides.qemu.push(measure(await consoleLines('qemu-system-riscv64', qemuArgs), 'qemu'));
  }
  const instructions = await countInstructions(root, guest.kernelPath, initrd);
  const result = { memMiB: MEM_MIB, dataBytes: busybox.length * COPIES, runs };
  for (const w of WORKLOADS) {
    const outputs = new Set([...sides.wisp, ...sides.qemu].map((r) => r[w.name].output));
    if (outputs.size !== 1) throw new Error(`${w.name}: wisp and QEMU disagree on the output: ${[...outputs].join(', ')}`);
    if (w.name === 'sha256' && !outputs.has(expectedSha)) throw new Error(`sha256: the guest printed ${[...outputs][0]}, the host computes ${expectedSha}`);
    const wispS = median(sides.wisp.map((r) => r[w.name].seconds));
    const qemuS = median(sides.qemu.map((r) => r[w.name].seconds));
    result[w.name] = {
      instructions: instructions[w.name],
      wispSeconds: wispS, qemuSeconds: qemuS,
      wispMips: instructions[w.name] / wispS / 1e6, qemuMips: instructions[w.name] / qemuS / 1e6,
      ratioWispToQemu: qemuS / wispS,
      wispRuns: sides.wisp.map((r) => r[w.name].seconds), qemuRuns: sides.qemu.map((r) => r[w.name].seconds),
    };
  }
  return result;
}
