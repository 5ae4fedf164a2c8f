import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { ensureDefaultGuest } from './fetch.js';
import { GuestError } from './guest-error.js';
import { buildInitramfs, planModules, REQUIRED_MODULES } from './initramfs.js';
import { detectKernelFormat, riscvImageHeader } from './kernel-image.js';

/** ELF e_machine (offset 0x12) of RISC-V. */
const EM_RISCV = 243;

test('offline with an empty cache fails with a clear message and touches no network', async () => {
  const cache = mkdtempSync(join(tmpdir(), 'wisp-cache-'));
  try {
    await assert.rejects(ensureDefaultGuest({ cacheDir: cache, offline: true }), (e: unknown) => e instanceof GuestError && e.code === 'not-found' && /run "wisp guest fetch" first/.test(e.message));
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
});

// The real thing, from Debian's archive into the shared cache ($WISP_CACHE or ~/.cache/wisp): about
// 115 MB and ~20 s the first time on a fresh machine, well under a second afterwards.
test("Debian trixie's riscv64 kernel and busybox are fetched, cached and usable", async () => {
  const g = await ensureDefaultGuest({ progress: null });
  assert.match(g.kernelVersion, /^\d+\.\d+\.\d+\S*-riscv64$/);
  const kernel = readFileSync(g.kernelPath);
  assert.equal(detectKernelFormat(kernel), 'riscv-image');
  const h = riscvImageHeader(kernel)!;
  assert.equal(h.textOffset, 0x200000n);
  assert.ok(h.imageSize >= BigInt(kernel.length), 'image_size covers the file');
  const busybox = readFileSync(g.busyboxPath);
  assert.equal(busybox.readUInt16LE(0x12), EM_RISCV);
  assert.match(readFileSync(join(g.modulesDir, 'modules.dep'), 'utf8'), /^kernel\/fs\/ext4\/ext4\.ko\.xz: /m);

  // The second time the manifest answers, without apt.
  const t0 = Date.now();
  const again = await ensureDefaultGuest({ offline: true });
  assert.deepEqual(again, g);
  assert.ok(Date.now() - t0 < 2000);

  // Every module DESIGN.md needs is there (or built in), and goes in decompressed and in order.
  const plan = await planModules(g.modulesDir);
  for (const m of REQUIRED_MODULES) assert.ok(plan.order.some((e) => e.name === m) || plan.builtin.includes(m), m);
  const img = await buildInitramfs(g);
  const r = spawnSync('cpio', ['-it', '--quiet'], { input: gunzipSync(img), encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.error) assert.fail(`host "cpio" is needed for this test (Debian package cpio): ${r.error.message}`);
  const names = r.stdout.trim().split('\n');
  const kos = names.filter((n) => n.endsWith('.ko'));
  assert.equal(kos.length, plan.order.length);
  const ext4 = kos.findIndex((n) => n.endsWith('/ext4.ko'));
  const jbd2 = kos.findIndex((n) => n.endsWith('/jbd2.ko'));
  assert.ok(jbd2 >= 0 && jbd2 < ext4, 'jbd2 before ext4');
  const ko = spawnSync('cpio', ['-i', '--quiet', '--to-stdout', kos[ext4]!], { input: gunzipSync(img), maxBuffer: 1 << 26 });
  assert.equal(ko.stdout.subarray(0, 4).toString('latin1'), '\x7fELF');
  assert.equal(ko.stdout.readUInt16LE(0x12), EM_RISCV);
});
