import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ensureDefaultGuest, type DefaultGuest } from './fetch.js';
import { buildInitramfs } from './initramfs.js';
import { buildRootfs } from './rootfs.js';

/**
 * End to end against a reference machine: Debian's kernel, our initramfs and our ext4 disk booted in
 * QEMU's `virt` board (the platform wisp copies), to prove the /init script, the module order and the
 * disk format work on the real kernel, independently of wisp's own emulator. A few seconds per boot.
 */

let work = '';
let guest: DefaultGuest;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'wisp-qemu-'));
  guest = await ensureDefaultGuest({ progress: null });
});
after(() => rmSync(work, { recursive: true, force: true }));

function qemu(initrd: string, append: string, disk: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const args = [
      '-M', 'virt', '-m', '512', '-smp', '1', '-nographic', '-no-reboot',
      '-kernel', guest.kernelPath, '-initrd', initrd, '-append', `console=ttyS0 quiet panic=-1 ${append}`,
      '-drive', `file=${disk},format=raw,if=none,id=d0`, '-device', 'virtio-blk-device,drive=d0',
      '-device', 'virtio-rng-device',
    ];
    const child = spawn('qemu-system-riscv64', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString('latin1')));
    child.stderr.on('data', (b: Buffer) => (out += b.toString('latin1')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`host "qemu-system-riscv64" is needed for this test (Debian package qemu-system-misc): ${e.message}`));
    });
    child.on('close', () => {
      clearTimeout(timer);
      resolve(out.replace(/\r/g, ''));
    });
  });
}

test('script mode: every module loads, the disk mounts, the machine powers off', async () => {
  const tree = join(work, 'data');
  mkdirSync(join(tree, 'etc'), { recursive: true });
  writeFileSync(join(tree, 'etc', 'hostname'), 'disk-content-ok\n');
  const disk = join(work, 'data.ext4');
  await buildRootfs({ dir: tree, output: disk });
  const initrd = join(work, 'script.cpio.gz');
  writeFileSync(initrd, await buildInitramfs({
    ...guest,
    initCmd: 'echo MODULES: $(cut -d" " -f1 /proc/modules | sort | tr "\\n" " "); ls /dev/hwrng; mount -t ext4 -o ro /dev/vda /mnt && cat /mnt/etc/hostname; exit 3',
  }));
  const log = await qemu(initrd, '', disk);
  const mods = /MODULES: (.*)/.exec(log)?.[1]?.trim().split(' ');
  assert.deepEqual(mods, ['crc16', 'crc32c_generic', 'ext4', 'failover', 'jbd2', 'libcrc32c', 'mbcache', 'net_failover', 'virtio_blk', 'virtio_mmio', 'virtio_net', 'virtio_rng'], log);
  assert.match(log, /^\/dev\/hwrng$/m);
  assert.match(log, /^disk-content-ok$/m);
  assert.match(log, /wisp-init: script exited with status 3/);
  assert.match(log, /reboot: Power down/);
  assert.doesNotMatch(log, /cannot load|Kernel panic/);
});

test('root= on the command line: switch_root into the ext4 disk, rw, /dev carried over', async () => {
  const tree = join(work, 'root');
  for (const d of ['bin', 'sbin', 'dev', 'proc', 'sys']) mkdirSync(join(tree, d), { recursive: true });
  copyFileSync(guest.busyboxPath, join(tree, 'bin', 'busybox'));
  chmodSync(join(tree, 'bin', 'busybox'), 0o755);
  writeFileSync(join(tree, 'sbin', 'init'), '#!/bin/busybox sh\nB=/bin/busybox\n$B echo "PID1-ON-ROOT $$"\n$B grep " / " /proc/mounts\n$B ls /dev/console\n$B poweroff -f\n', { mode: 0o755 });
  const disk = join(work, 'root.ext4');
  await buildRootfs({ dir: tree, output: disk });
  const initrd = join(work, 'plain.cpio.gz');
  writeFileSync(initrd, await buildInitramfs(guest));
  const log = await qemu(initrd, 'root=/dev/vda rw', disk);
  assert.match(log, /^PID1-ON-ROOT 1$/m, log);
  assert.match(log, /^\/dev\/vda \/ ext4 rw/m);
  assert.match(log, /^\/dev\/console$/m);
  assert.match(log, /reboot: Power down/);
});
