// Snapshots, timed (issue 11), beside a cold boot of the same guest and QEMU's boot, all in one run:
//   - per RAM size (256 MiB, 2 GiB): a guest booted through the API (Debian's kernel, a busybox
//     initramfs printing a tick every 100 ms) to its ready line; Full snapshot create time and file
//     size on disk; a Diff after a few ticks; then, in fresh VMMs (started 2 s earlier, as a VMM
//     process already waiting for its load), restore-to-Running (PUT /snapshot/load with resume_vm
//     until the 204) and to the guest's next tick, with the memory file read lazily and eagerly;
//   - `wisp run` (the default guest, its shell): warm start (resumed from the cached snapshot at the
//     prompt) against `--cold`, to the prompt and to the answer of a first command;
//   - QEMU (TCG, OpenSBI) booting the same kernel and initramfs: to the ready line, and the default
//     initramfs to its shell prompt.
// Medians of `rounds`. Needs dist/, the cached Debian guest, curl and qemu-system-riscv64.
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);
const TIMEOUT_MS = 600_000;
const READY = 'WISP-SNAP-READY';
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const ms = (x) => Math.round(x * 10) / 10;

/** A process with its stdout collected, and a way to wait for a pattern in it after some offset. */
function proc(cmd, args, { env, cwd, stdin = 'ignore' } = {}) {
  const t0 = performance.now();
  const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: [stdin, 'pipe', 'pipe'] });
  const p = { child, t0, out: '', err: '', waiters: [] };
  child.stdout.setEncoding('latin1').on('data', (d) => { p.out += d; for (const w of [...p.waiters]) w(); });
  child.stderr.setEncoding('latin1').on('data', (d) => (p.err += d));
  p.exited = new Promise((r) => child.once('exit', (code, sig) => { for (const w of [...p.waiters]) w(); r(code ?? sig); }));
  p.waitFor = (re, from = 0, timeoutMs = TIMEOUT_MS) => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${re}:\n${p.out.slice(-1500)}\n${p.err.slice(-1500)}`)), timeoutMs);
    const check = () => {
      const m = re.exec(p.out.slice(from));
      if (m) { clearTimeout(timer); p.waiters.splice(p.waiters.indexOf(check), 1); resolve(performance.now()); }
      else if (child.exitCode !== null || child.signalCode !== null) { clearTimeout(timer); reject(new Error(`exited before ${re}:\n${p.out.slice(-1500)}\n${p.err.slice(-1500)}`)); }
    };
    p.waiters.push(check);
    check();
  });
  return p;
}

async function curl(sock, method, path, body) {
  const args = ['-sS', '--unix-socket', sock, '-X', method, `http://localhost${path}`, '-w', '\n%{http_code}'];
  if (body !== undefined) args.push('-H', 'Content-Type: application/json', '-d', JSON.stringify(body));
  const t0 = performance.now();
  const { stdout } = await exec('curl', args);
  const took = performance.now() - t0;
  const nl = stdout.lastIndexOf('\n');
  const status = Number(stdout.slice(nl + 1));
  if (status >= 300) throw new Error(`${method} ${path}: ${status} ${stdout.slice(0, nl)}`);
  return took;
}

async function vmm(root, dir, name, env) {
  const sock = join(dir, `${name}.sock`);
  const p = proc(process.execPath, [join(root, 'bin/wisp.js'), '--api-sock', sock, '--level', 'Warning'], { cwd: root, env });
  while (!existsSync(sock)) await sleep(10);
  return { p, sock };
}

/** Bytes a file occupies on disk. */
const onDisk = (path) => statSync(path).blocks * 512;

async function apiSnapshots(root, dir, kernel, initrd, memMiB, rounds) {
  const r = { memMiB };
  const snap = (n) => ({ state: join(dir, `${memMiB}-${n}.state`), mem: join(dir, `${memMiB}-${n}.mem`) });
  const full = snap('full'), diff = snap('diff');
  // Boot, through the API, to the ready line.
  const a = await vmm(root, dir, `boot-${memMiB}`);
  await curl(a.sock, 'PUT', '/boot-source', { kernel_image_path: kernel, initrd_path: initrd, boot_args: 'console=ttyS0 quiet panic=-1' });
  await curl(a.sock, 'PUT', '/machine-config', { vcpu_count: 1, mem_size_mib: memMiB, track_dirty_pages: true });
  const t0 = performance.now();
  await curl(a.sock, 'PUT', '/actions', { action_type: 'InstanceStart' });
  const ready = await a.p.waitFor(new RegExp(READY));
  r.coldBootSecondsToReady = ms((ready - t0) / 1000);
  await a.p.waitFor(/tick 5\r?\n/);
  await curl(a.sock, 'PATCH', '/vm', { state: 'Paused' });
  r.fullCreateMs = ms(await curl(a.sock, 'PUT', '/snapshot/create', { snapshot_type: 'Full', snapshot_path: full.state, mem_file_path: full.mem }));
  r.fullMemoryFileMiBOnDisk = ms(onDisk(full.mem) / 2 ** 20);
  await curl(a.sock, 'PATCH', '/vm', { state: 'Resumed' });
  const from = a.p.out.length;
  await a.p.waitFor(/tick \d+\r?\n[^]*tick \d+\r?\n[^]*tick \d+\r?\n/, from);
  await curl(a.sock, 'PATCH', '/vm', { state: 'Paused' });
  r.diffCreateMs = ms(await curl(a.sock, 'PUT', '/snapshot/create', { snapshot_type: 'Diff', snapshot_path: diff.state, mem_file_path: diff.mem }));
  r.diffMemoryFileMiBOnDisk = ms(onDisk(diff.mem) / 2 ** 20);
  a.p.child.kill('SIGKILL');
  await a.p.exited;

  // Restores, lazy and eager, alternating.
  const runs = { lazy: [], eager: [] };
  for (let i = 0; i < rounds; i++) {
    for (const mode of ['lazy', 'eager']) {
      const b = await vmm(root, dir, `load-${memMiB}-${mode}-${i}`, { WISP_RESTORE: mode });
      await sleep(2000); // a VMM waiting for its load (its machine thread started and warm)
      const before = b.p.out.length;
      const t = performance.now();
      const load = await curl(b.sock, 'PUT', '/snapshot/load', { snapshot_path: full.state, mem_backend: { backend_type: 'File', backend_path: full.mem }, resume_vm: true });
      const tick = await b.p.waitFor(/tick \d+\r?\n/, before);
      runs[mode].push({ loadMs: ms(load), toTickMs: ms(tick - t) });
      b.p.child.kill('SIGKILL');
      await b.p.exited;
    }
  }
  for (const mode of ['lazy', 'eager']) {
    r[mode] = { restoreToRunningMs: median(runs[mode].map((x) => x.loadMs)), restoreToGuestTickMs: median(runs[mode].map((x) => x.toTickMs)), runs: runs[mode] };
  }
  return r;
}

/**
 * `wisp run` of the default guest, to its prompt and to the answer of `echo`. With `settle`, waits for
 * that long before typing (a first run takes its warm-start snapshot once the prompt is quiet).
 */
async function wispRun(root, args, settle = () => Promise.resolve()) {
  const p = proc(process.execPath, [join(root, 'bin/wisp.js'), 'run', ...args], { cwd: root, stdin: 'pipe' });
  const prompt = await p.waitFor(/# (\x1b\[6n)?$/);
  await settle(p);
  const from = p.out.length;
  p.child.stdin.write('echo BENCH-$((6 * 7))\n');
  const answer = await p.waitFor(/^BENCH-42\r?$/m, from);
  p.child.stdin.write('poweroff -f\n');
  await p.exited;
  return { toPromptMs: ms(prompt - p.t0), toAnswerMs: ms(answer - p.t0) };
}

async function qemu(args, marker) {
  const p = proc('qemu-system-riscv64', ['-M', 'virt', '-nographic', '-bios', 'default', ...args], { stdin: 'pipe' });
  const at = await p.waitFor(marker);
  p.child.kill('SIGKILL');
  await p.exited;
  return ms((at - p.t0) / 1000);
}

export async function benchSnapshot(root, { rounds = 3 } = {}) {
  const { ensureGuest, minimalInitramfs } = await import(join(root, 'dist/test/helpers/guest-fixtures.js'));
  const guest = await ensureGuest();
  const dir = mkdtempSync(join(tmpdir(), 'wisp-bench-snapshot-'));
  try {
    const initrd = join(dir, 'tick.cpio.gz');
    writeFileSync(initrd, minimalInitramfs(guest, `echo ${READY}\ni=0; while :; do i=$((i + 1)); echo "tick $i"; usleep 100000; done`));
    const result = { machine: 'shared (other engineers\' builds and tests ran meanwhile)' };
    result.api = [];
    for (const mib of [256, 2048]) result.api.push(await apiSnapshots(root, dir, guest.kernelPath, initrd, mib, rounds));

    // wisp run: make sure this build's warm-start snapshot exists (a first run takes it), then both ways.
    const warmRoot = join(guest.guestDir, 'warm');
    const names = () => (existsSync(warmRoot) ? readdirSync(warmRoot).filter((n) => !n.startsWith('.')) : []);
    const before = new Set(names());
    // A first run of this build takes the snapshot at its quiet prompt (wait for it before typing);
    // if this build's snapshot is cached already, that run resumes and takes none.
    const taken = () => names().some((n) => !before.has(n));
    const first = await wispRun(root, [], async (p) => {
      if (!/Linux version/.test(p.out)) return; // it resumed: this build's snapshot was there
      for (let i = 0; i < 300 && !taken(); i++) await sleep(100);
    });
    const cold = [], warm = [];
    for (let i = 0; i < rounds; i++) {
      warm.push(await wispRun(root, []));
      cold.push(await wispRun(root, ['--cold']));
    }
    result.wispRun = {
      firstRunTookSnapshot: taken(),
      first,
      warm: { toPromptMs: median(warm.map((x) => x.toPromptMs)), toAnswerMs: median(warm.map((x) => x.toAnswerMs)), runs: warm },
      cold: { toPromptMs: median(cold.map((x) => x.toPromptMs)), toAnswerMs: median(cold.map((x) => x.toAnswerMs)), runs: cold },
    };

    // QEMU: the tick guest to its ready line (256 MiB), the default initramfs to its prompt.
    try {
      const shellInitrd = join(dir, 'default.cpio.gz');
      await exec(process.execPath, [join(root, 'bin/wisp.js'), 'guest', 'initramfs', '-o', shellInitrd]);
      const q1 = [], q2 = [];
      for (let i = 0; i < rounds; i++) {
        q1.push(await qemu(['-m', '256', '-kernel', guest.kernelPath, '-initrd', initrd, '-append', 'console=ttyS0 quiet panic=-1'], new RegExp(READY)));
        q2.push(await qemu(['-m', '256', '-kernel', guest.kernelPath, '-initrd', shellInitrd, '-append', 'console=ttyS0 panic=-1'], /# (\x1b\[6n)?$/));
      }
      result.qemu = { secondsToReady256: median(q1), secondsToShellPrompt256: median(q2), runs: { ready: q1, prompt: q2 } };
      const w = result.wispRun.warm.toPromptMs / 1000;
      result.ratios = {
        wispRunWarmPromptToQemuPrompt: ms(w / result.qemu.secondsToShellPrompt256 * 1000) / 1000,
        wispRunColdPromptToQemuPrompt: ms(result.wispRun.cold.toPromptMs / 1000 / result.qemu.secondsToShellPrompt256 * 1000) / 1000,
        restore256ToQemuBoot: ms(result.api[0].lazy.restoreToGuestTickMs / 1000 / result.qemu.secondsToReady256 * 1000) / 1000,
      };
    } catch (e) {
      result.qemu = `not measured: ${e.message}`;
    }
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
