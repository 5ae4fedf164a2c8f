// Sequential disk throughput inside the guest, wisp next to QEMU: Debian's kernel and the default
// initramfs (which loads virtio_mmio and virtio_blk) run a script that writes then reads all 128 MiB
// of the raw /dev/vda with busybox dd, bs=1M, O_DIRECT (so the guest's page cache is out of the way),
// timed by the guest's clock. Each VMM gets its own fresh copy of the same 128 MiB image; QEMU attaches
// it as virtio-blk-device on the virt board (virtio-mmio, as wisp). Both use their default cache mode
// (wisp: Unsafe, pwrite without fsync; QEMU: cache=writeback), and dd does not flush, so both
// measure the path to the host page cache. Needs a built tree and qemu-system-riscv64.
import { copyFileSync, mkdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { timeToMarker } from './boot.mjs';

const MEM_MIB = 256;
const DISK_MIB = 128;
const COUNT_MIB = 128;
const QEMU_RUNS = 3;
const MARKER = 'WISP-DISK-BENCH-DONE';

// Debian's busybox dd prints no timing summary, so the script reads the guest's clock around each dd
// (/proc/uptime: 10 ms resolution, which is why the transfer is 128 MiB and QEMU, fast, runs three
// times with the median kept).
const SCRIPT = `
timed() {
  tag=$1; shift
  t0=$(cut -d' ' -f1 /proc/uptime)
  "$@" 2>&1 | sed "s/^/$tag /"
  t1=$(cut -d' ' -f1 /proc/uptime)
  echo "$tag TIME $t0 $t1"
}
timed DD-WRITE dd if=/dev/zero of=/dev/vda bs=1M count=${COUNT_MIB} oflag=direct
timed DD-READ dd if=/dev/vda of=/dev/null bs=1M count=${COUNT_MIB} iflag=direct
echo ${MARKER}
`;

/** dd's record count and the guest-clock interval around it. */
function ddFigures(out, tag) {
  const text = out.replace(/\r/g, '');
  const records = new RegExp(`^${tag} (\\d+)\\+0 records out$`, 'm').exec(text);
  const time = new RegExp(`^${tag} TIME ([\\d.]+) ([\\d.]+)$`, 'm').exec(text);
  if (!records || !time) throw new Error(`no complete "${tag}" figures in the guest's output:\n${text.slice(-2000)}`);
  if (Number(records[1]) !== COUNT_MIB) throw new Error(`dd ${tag} moved ${records[1]} MiB, not ${COUNT_MIB}:\n${text.slice(-2000)}`);
  const seconds = Math.max(Number(time[2]) - Number(time[1]), 0.01);
  return { mib: COUNT_MIB, seconds, mibPerSecond: COUNT_MIB / seconds };
}

async function fixtures(root) {
  const { ensureGuest } = await import(join(root, 'dist/test/helpers/guest-fixtures.js'));
  const { buildInitramfs } = await import(join(root, 'dist/src/guest/initramfs.js'));
  const guest = await ensureGuest();
  const dir = join(root, 'build/bench');
  mkdirSync(dir, { recursive: true });
  const initrd = join(dir, 'disk-bench.cpio.gz');
  writeFileSync(initrd, await buildInitramfs({ busyboxPath: guest.busyboxPath, modulesDir: guest.modulesDir, kernelVersion: guest.kernelVersion, script: Buffer.from(SCRIPT) }));
  const image = join(dir, 'disk-bench.img');
  writeFileSync(image, '');
  truncateSync(image, DISK_MIB * 1024 * 1024);
  return { dir, kernel: guest.kernelPath, initrd, image };
}

/** Runs a VMM on a fresh copy of the image and returns dd's figures from the guest console. */
async function measure(cmd, args, copy, image, opts) {
  copyFileSync(image, copy);
  try {
    const r = await timeToMarker(cmd, args, MARKER, opts);
    return { write: ddFigures(r.stdout, 'DD-WRITE'), read: ddFigures(r.stdout, 'DD-READ'), wallSeconds: r.toExit };
  } finally {
    rmSync(copy, { force: true });
  }
}

export async function benchDisk(root) {
  const { dir, kernel, initrd, image } = await fixtures(root);
  const wispCopy = join(dir, 'disk-bench-wisp.img');
  const wisp = await measure(process.execPath, [join(root, 'bin/wisp.js'), 'run', '--kernel', kernel, '--initrd', initrd,
    '--mem', String(MEM_MIB), '--disk', wispCopy], wispCopy, image, { cwd: root });
  const result = { countMiB: COUNT_MIB, blockSize: '1M', direct: true, wisp };
  try {
    const qemuCopy = join(dir, 'disk-bench-qemu.img');
    const runs = [];
    for (let i = 0; i < QEMU_RUNS; i++) runs.push(await measure('qemu-system-riscv64', ['-M', 'virt', '-m', String(MEM_MIB), '-nographic', '-bios', 'default',
      '-kernel', kernel, '-initrd', initrd, '-append', 'console=ttyS0 panic=-1',
      '-drive', `if=none,format=raw,file=${qemuCopy},id=bench`, '-device', 'virtio-blk-device,drive=bench'], qemuCopy, image, {}));
    const med = (pick) => runs.map(pick).sort((a, b) => a - b)[Math.floor(runs.length / 2)];
    const qemu = {
      write: { mib: COUNT_MIB, seconds: med((r) => r.write.seconds), mibPerSecond: COUNT_MIB / med((r) => r.write.seconds) },
      read: { mib: COUNT_MIB, seconds: med((r) => r.read.seconds), mibPerSecond: COUNT_MIB / med((r) => r.read.seconds) },
      runs,
    };
    Object.assign(result, {
      qemu,
      ratioWriteWispToQemu: wisp.write.mibPerSecond / qemu.write.mibPerSecond,
      ratioReadWispToQemu: wisp.read.mibPerSecond / qemu.read.mibPerSecond,
    });
  } catch (e) {
    result.qemu = `not measured: ${e.message}`;
  }
  return result;
}
