// Containers as microVMs, next to a plain boot and QEMU in the same run: an image built from Debian's
// riscv64 busybox-static (wisp's writer), served by Debian's docker-registry on loopback (pushed with
// skopeo). Measured, wall clock from process start:
//   - pull + first run: `wisp run REGISTRY/IMAGE` with an empty image store → first output line, exit;
//   - warm second run: the same with the store filled (no pull, no root disk build);
//   - wisp-runc: create (disk from the bundle + VM boot until the init waits), then start → the
//     process's first output line, as containerd's shim sees it;
//   - a cold `wisp run --kernel --initrd` boot to a marker (bench boot's initramfs), and QEMU's boot of
//     the same kernel + initramfs (TCG, OpenSBI) to the same marker.
// Rounds alternate the kinds so a change in the machine's load hits them alike; medians.
// Needs a built tree, docker-registry, skopeo and qemu-system-riscv64; not part of `npm test`.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, cpSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bootFixtures, timeToMarker } from './boot.mjs';

const MARKER = 'WISP-CONTAINER-BENCH 42';
const BOOT_MARKER = 'WISP-BENCH-MARKER 42';
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const round2 = (x) => Math.round(x * 100) / 100;

/** Seconds from spawn to the marker line and to exit of `wisp run IMAGE`, with its own store. */
function wispRunImage(root, ref, store) {
  return timeToMarker(process.execPath, [join(root, 'bin/wisp.js'), 'run', ref], MARKER,
    { cwd: root, env: { ...process.env, WISP_IMAGE_CACHE: store } });
}

/** wisp-runc create (timed), then start → the first line in the container's stdout file (timed). */
async function runcStartToOutput(root, stateRoot, bundle, id) {
  const bin = join(root, 'bin/wisp-runc.js');
  const out = join(bundle, `${id}.out`);
  const fd = openSync(out, 'w');
  const t0 = performance.now();
  const created = await new Promise((resolve) => {
    const c = spawn(process.execPath, [bin, '--root', stateRoot, 'create', '--bundle', bundle, '--pid-file', join(bundle, `${id}.pid`), id],
      { stdio: ['ignore', fd, 'inherit'] });
    c.on('exit', resolve);
  });
  closeSync(fd);
  if (created !== 0) throw new Error(`wisp-runc create exited ${created}`);
  const createSeconds = (performance.now() - t0) / 1000;
  const t1 = performance.now();
  const s = spawnSync(process.execPath, [bin, '--root', stateRoot, 'start', id], { encoding: 'utf8' });
  if (s.status !== 0) throw new Error(`wisp-runc start: ${s.stderr}`);
  let startToOutput;
  for (const deadline = Date.now() + 300_000; Date.now() < deadline;) {
    if (readFileSync(out, 'utf8').split('\n').includes(MARKER)) { startToOutput = (performance.now() - t1) / 1000; break; }
    await new Promise((r) => setTimeout(r, 10));
  }
  const pid = Number(readFileSync(join(bundle, `${id}.pid`), 'utf8'));
  for (const deadline = Date.now() + 60_000; Date.now() < deadline;) {
    try { process.kill(pid, 0); } catch { break; }
    await new Promise((r) => setTimeout(r, 50));
  }
  spawnSync(process.execPath, [bin, '--root', stateRoot, 'delete', '--force', id]);
  if (startToOutput === undefined) throw new Error('the container never printed its marker');
  return { createSeconds, startToOutput };
}

export async function benchContainers(root, { rounds = 3 } = {}) {
  const { ensureDebianUserland } = await import(join(root, 'dist/src/guest/debian-userland.js'));
  const { writeOciLayout } = await import(join(root, 'dist/src/images/testing/image-writer.js'));
  const { LocalRegistry, skopeoCopy } = await import(join(root, 'dist/test/helpers/registry.js'));
  const { kernel, initrd } = await bootFixtures(root);
  const work = mkdtempSync(join(tmpdir(), 'wisp-bench-containers-'));
  let registry;
  try {
    const u = await ensureDebianUserland({ packages: ['busybox-static'] });
    const base = spawnSync('tar', ['-C', u.rootDir, '--numeric-owner', '--owner=0', '--group=0', '-cf', '-', '.'], { maxBuffer: 1 << 30 });
    const cmd = ['/bin/busybox', 'sh', '-c', `echo "WISP-CONTAINER-BENCH $((6 * 7))"`];
    writeOciLayout(join(work, 'layout'), { tag: 'v1', config: { Cmd: cmd, Env: ['PATH=/usr/bin:/bin'] }, layers: [{ tar: base.stdout, compression: 'gzip' }] });
    registry = await LocalRegistry.start(join(work, 'registry'));
    const ref = `${registry.host}/bench/busybox:v1`;
    skopeoCopy(`oci:${join(work, 'layout')}:v1`, `docker://${ref}`);
    // A runtime bundle of the same root filesystem, for wisp-runc.
    const bundle = join(work, 'bundle');
    mkdirSync(bundle);
    cpSync(u.rootDir, join(bundle, 'rootfs'), { recursive: true, verbatimSymlinks: true });
    writeFileSync(join(bundle, 'config.json'), JSON.stringify({
      ociVersion: '1.0.2', root: { path: 'rootfs' }, process: { args: cmd, env: ['PATH=/usr/bin:/bin'], cwd: '/' },
      mounts: [{ destination: '/proc', type: 'proc', source: 'proc' }],
    }));

    const first = [], warm = [], runc = [], boot = [], qemu = [];
    let qemuError;
    for (let i = 0; i < rounds; i++) {
      const store = join(work, `store-${i}`);
      first.push(await wispRunImage(root, ref, store));
      warm.push(await wispRunImage(root, ref, store));
      runc.push(await runcStartToOutput(root, join(work, 'runc-state'), bundle, `bench-${process.pid}-${i}`));
      boot.push(await timeToMarker(process.execPath, [join(root, 'bin/wisp.js'), 'run', '--kernel', kernel, '--initrd', initrd, '--mem', '128'],
        BOOT_MARKER, { cwd: root }));
      if (!qemuError) {
        try {
          qemu.push(await timeToMarker('qemu-system-riscv64', ['-M', 'virt', '-m', '128', '-nographic', '-bios', 'default',
            '-kernel', kernel, '-initrd', initrd, '-append', 'console=ttyS0 panic=-1'], BOOT_MARKER));
        } catch (e) {
          qemuError = e.message.split('\n')[0];
        }
      }
    }
    const bootMedian = median(boot.map((r) => r.toMarker));
    const qemuMedian = qemu.length ? median(qemu.map((r) => r.toMarker)) : undefined;
    const row = (seconds) => ({
      seconds: round2(seconds),
      vsColdWispBoot: round2(seconds / bootMedian),
      ...(qemuMedian ? { vsQemuBoot: round2(seconds / qemuMedian) } : {}),
    });
    return {
      rounds,
      note: 'wall seconds, medians; the machine is shared (other engineers\' builds and tests run beside)',
      pullAndFirstRunToOutput: row(median(first.map((r) => r.toMarker))),
      pullAndFirstRunToExit: row(median(first.map((r) => r.toExit))),
      warmRunToOutput: row(median(warm.map((r) => r.toMarker))),
      warmRunToExit: row(median(warm.map((r) => r.toExit))),
      runcCreate: row(median(runc.map((r) => r.createSeconds))),
      runcStartToFirstOutput: row(median(runc.map((r) => r.startToOutput))),
      coldWispBootToMarker: row(bootMedian),
      qemuBootToMarker: qemuMedian ? { seconds: round2(qemuMedian) } : { error: qemuError },
    };
  } finally {
    registry?.stop();
    rmSync(work, { recursive: true, force: true });
  }
}
