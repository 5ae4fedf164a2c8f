import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CpioWriter } from './cpio.js';
import { readModuleFile } from './depmod.js';
import { GuestError } from './guest-error.js';
import { planModules } from './initramfs.js';

/**
 * The initramfs of a container microVM: wisp's container init (container-init/init.c, a static
 * riscv64 binary) as /init, and the kernel modules it loads in order (/wisp/modules): the default
 * guest's set (ext4, virtio-mmio, virtio-blk, virtio-net, virtio-rng) plus overlay, which gives the
 * read-only image disk a writable tmpfs layer. Uncompressed: the kernel then copies rather than
 * inflates it, which is cheaper on an emulated CPU. Cached by content under <cache>/containers/.
 */
export const CONTAINER_MODULES = ['overlay'];

/** The init binary: beside the sources (it is not compiled by tsc, so dist/ points back to src/). */
export function containerInitPath(): string {
  for (const rel of ['./container-init/wisp-init', '../../../src/guest/container-init/wisp-init']) {
    const p = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(p)) return p;
  }
  throw new GuestError('not-found', 'wisp\'s container init (src/guest/container-init/wisp-init) is missing; rebuild it with node scripts/build-container-init.mjs');
}

export interface ContainerInitramfsOptions {
  modulesDir: string;
  kernelVersion: string;
  cacheDir: string;
}

export async function ensureContainerInitramfs(o: ContainerInitramfsOptions): Promise<string> {
  const init = readFileSync(containerInitPath());
  const plan = await planModules(o.modulesDir, { extraModules: CONTAINER_MODULES });
  const key = createHash('sha256').update(init).update(o.kernelVersion).update(plan.order.map((m) => m.path).join('\n')).digest('hex').slice(0, 24);
  const dir = join(o.cacheDir, 'containers');
  const out = join(dir, `initramfs-${key}.cpio`);
  if (existsSync(out)) return out;
  mkdirSync(dir, { recursive: true });
  const w = new CpioWriter({ mtime: 0 });
  for (const d of ['dev', 'proc', 'sys', 'mnt', 'wisp', 'lib', 'lib/modules', `lib/modules/${o.kernelVersion}`]) w.addDirectory(d);
  // The kernel opens /dev/console for init's fds 0-2 before anything is mounted (devices.txt: 5:1).
  w.addCharDevice('dev/console', 5, 1, { mode: 0o600 });
  w.addCharDevice('dev/null', 1, 3, { mode: 0o666 });
  const paths: string[] = [];
  const dirs = new Set<string>();
  for (const m of plan.order) {
    const path = m.path.replace(/\.(xz|gz|zst)$/, '');
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const d = `lib/modules/${o.kernelVersion}/${parts.slice(0, i).join('/')}`;
      if (!dirs.has(d)) { dirs.add(d); w.addDirectory(d); }
    }
    w.addFile(`lib/modules/${o.kernelVersion}/${path}`, await readModuleFile(join(o.modulesDir, m.path)));
    paths.push(`/lib/modules/${o.kernelVersion}/${path}`);
  }
  w.addFile('wisp/modules', Buffer.from(paths.join('\n') + '\n'));
  w.addFile('init', init, { mode: 0o755 });
  const tmp = `${out}.tmp-${process.pid}`;
  writeFileSync(tmp, w.finish());
  renameSync(tmp, out);
  return out;
}
