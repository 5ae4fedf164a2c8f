/**
 * Issue "virtio-mmio with block and entropy devices", end to end through `wisp run` with Debian's
 * kernel and the default initramfs (which loads virtio_mmio, virtio_blk, ext4 and virtio_rng):
 *   - one boot with a read-write data disk, a read-only disk and the default entropy device: the
 *     guest runs a script found on the data disk, which writes files the test then reads back out of
 *     the image with debugfs; every write to the read-only disk fails and its image is unchanged;
 *     the kernel's hw_random core uses virtio_rng and /dev/hwrng gives bytes;
 *   - one boot with a `,writeback` disk, killed with SIGKILL right after the guest's `sync`: what was
 *     synced must already be in the host file.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  buildDisk, consoleLines, debugfsCat, describeResult, e2fsckReplay, ensureGuest, requireTool, runWisp, sha256File, WispProcess,
} from '../helpers/guest-fixtures.js';

const BOOT_TIMEOUT_MS = 240_000;
let work = '';

before(async () => {
  requireTool('debugfs', 'e2fsprogs');
  requireTool('e2fsck', 'e2fsprogs');
  requireTool('mke2fs', 'e2fsprogs');
  work = mkdtempSync(join(tmpdir(), 'wisp-run-disk-'));
  await ensureGuest();
});
after(() => rmSync(work, { recursive: true, force: true }));

/** What job.sh writes: lines whose numbers a shell computes, so a wrong ALU or lost block shows. */
function expectedLines(): string {
  let s = '';
  for (let i = 0; i < 300; i++) s += `wisp line ${i} ${(i * i * 7919) % 65536}\n`;
  return s;
}

const JOB = `# Found on the data disk and run by the guest: $1 is where the disk is mounted.
i=0
while [ $i -lt 300 ]; do echo "wisp line $i $((i * i * 7919 % 65536))"; i=$((i + 1)); done > "$1/out.txt"
head -c 262144 /dev/urandom > "$1/random.bin"
echo "RANDOM-SHA $(sha256sum "$1/random.bin" | cut -d' ' -f1)"
sync
`;

const GUEST_SCRIPT = `
mkdir -p /mnt/data /mnt/ro
echo "RO-FLAGS vda=$(cat /sys/block/vda/ro) vdb=$(cat /sys/block/vdb/ro)"
if mount -t ext4 /dev/vda /mnt/data; then
  sh /mnt/data/job.sh /mnt/data
  echo "JOB-STATUS $?"
  umount /mnt/data && echo "DATA-UMOUNT ok"
else
  echo "DATA-MOUNT failed"
fi

# The read-only disk: ask for rw; whatever mount makes of it, nothing may reach the image.
if mount -t ext4 -o rw /dev/vdb /mnt/ro; then
  echo "RO-MOUNT $(grep ' /mnt/ro ' /proc/mounts | cut -d' ' -f4 | cut -d, -f1)"
else
  echo "RO-MOUNT refused"
  mount -t ext4 -o ro /dev/vdb /mnt/ro
fi
echo "RO-CONTENT $(cat /mnt/ro/hello.txt)"
if echo overwrite > /mnt/ro/hello.txt; then echo "RO-WRITE accepted"; else echo "RO-WRITE refused"; fi
umount /mnt/ro
if dd if=/dev/zero of=/dev/vdb bs=4096 count=4 conv=fsync 2>/dev/null; then echo "RO-RAW accepted"; else echo "RO-RAW refused"; fi

echo "RNG-CURRENT $(cat /sys/class/misc/hw_random/rng_current)"
echo "RNG-COUNT $(head -c 64 /dev/hwrng | wc -c)"
echo "RNG-HEX $(head -c 32 /dev/hwrng | od -An -tx1 | tr -d ' \\n')"
sync
`;

test('a data disk, a read-only disk and the entropy device in one boot', { timeout: BOOT_TIMEOUT_MS + 60_000 }, async (t) => {
  const dataTree = join(work, 'data-tree');
  mkdirSync(dataTree);
  writeFileSync(join(dataTree, 'job.sh'), JOB);
  const data = join(work, 'data.ext4');
  await buildDisk(dataTree, data);
  const roTree = join(work, 'ro-tree');
  mkdirSync(roTree);
  writeFileSync(join(roTree, 'hello.txt'), 'read-only content\n');
  const ro = join(work, 'ro.ext4');
  await buildDisk(roTree, ro);
  const roHashBefore = sha256File(ro);
  const script = join(work, 'guest.sh');
  writeFileSync(script, GUEST_SCRIPT);

  const r = await runWisp(['run', '--script', script, '--disk', data, '--disk', `${ro},ro`], { timeoutMs: BOOT_TIMEOUT_MS });
  assert.equal(r.timedOut, false, describeResult(r));
  assert.equal(r.code, 0, describeResult(r));
  const lines = consoleLines(r.stdout);
  const said = (key: string): string | undefined => lines.find((l) => l.startsWith(`${key} `))?.slice(key.length + 1);
  assert.equal(said('wisp-init: script exited with status'), '0', describeResult(r));

  await t.test('the script on the data disk ran and its files are in the image, byte for byte', () => {
    assert.equal(said('JOB-STATUS'), '0', describeResult(r));
    assert.equal(said('DATA-UMOUNT'), 'ok', describeResult(r));
    assert.equal(debugfsCat(data, '/out.txt').toString('latin1'), expectedLines());
    const random = debugfsCat(data, '/random.bin');
    assert.equal(random.length, 262144);
    assert.equal(createHash('sha256').update(random).digest('hex'), said('RANDOM-SHA'), 'the guest hashed the same bytes the host reads');
  });

  await t.test('the ,ro disk: the kernel sees it read-only, writes fail, the image is unchanged', () => {
    assert.equal(said('RO-FLAGS'), 'vda=0 vdb=1', describeResult(r));
    assert.ok(['refused', 'ro'].includes(said('RO-MOUNT') ?? ''), `mount -o rw of the ro disk: ${said('RO-MOUNT')}`);
    assert.equal(said('RO-CONTENT'), 'read-only content', describeResult(r));
    assert.equal(said('RO-WRITE'), 'refused');
    assert.equal(said('RO-RAW'), 'refused');
    assert.equal(sha256File(ro), roHashBefore, 'the read-only image changed');
  });

  await t.test('virtio-rng is the hw_random source and /dev/hwrng gives bytes', () => {
    assert.match(said('RNG-CURRENT') ?? '', /^virtio_rng\.\d+$/, describeResult(r));
    assert.equal(said('RNG-COUNT'), '64');
    const hex = said('RNG-HEX') ?? '';
    assert.match(hex, /^[0-9a-f]{64}$/);
    assert.notEqual(hex, '0'.repeat(64));
  });
});

test('a ,writeback disk: data the guest synced survives SIGKILL of wisp right after the sync', { timeout: BOOT_TIMEOUT_MS + 60_000 }, async () => {
  const tree = join(work, 'wb-tree');
  mkdirSync(tree);
  writeFileSync(join(tree, 'placeholder'), '');
  const disk = join(work, 'writeback.ext4');
  await buildDisk(tree, disk, '32M');
  const script = join(work, 'writeback.sh');
  writeFileSync(script, `
mkdir -p /mnt/data
mount -t ext4 /dev/vda /mnt/data || echo "WB-MOUNT failed"
head -c 1048576 /dev/urandom > /mnt/data/synced.bin
echo "WB-SHA $(sha256sum /mnt/data/synced.bin | cut -d' ' -f1)"
sync
echo "WB-SYNCED $((6 * 7))"
# Keep running: the test kills wisp here, as a host crash would.
while :; do sleep 1; done
`);
  const p = new WispProcess(['run', '--script', script, '--disk', `${disk},writeback`], { timeoutMs: BOOT_TIMEOUT_MS });
  try {
    await p.waitFor(/^WB-SYNCED 42\r?$/m, BOOT_TIMEOUT_MS);
  } finally {
    p.kill('SIGKILL');
  }
  const r = await p.exited;
  assert.equal(r.signal, 'SIGKILL', describeResult(r));
  const sha = /^WB-SHA ([0-9a-f]{64})\r?$/m.exec(r.stdout)?.[1];
  assert.ok(sha, describeResult(r));
  // The guest never unmounted: replay its journal as the next mount would, then read the file.
  e2fsckReplay(disk);
  const bytes = debugfsCat(disk, '/synced.bin');
  assert.equal(bytes.length, 1048576);
  assert.equal(createHash('sha256').update(bytes).digest('hex'), sha);
});
