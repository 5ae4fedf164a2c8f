import { existsSync, linkSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { wispCacheDir } from './cache-dir.js';
import { hostDebianMirror } from './debian-mirror.js';
import { writeModulesDep } from './depmod.js';
import { withDirLock } from './dir-lock.js';
import { GuestError } from './guest-error.js';
import { runTool } from './host-tool.js';
import { detectKernelFormat, rawImageFrom, type KernelFormat } from './kernel-image.js';
import { kernelPackageFromDepends, PrivateApt } from './private-apt.js';

/**
 * `wisp guest fetch`: the default Debian guest of DESIGN.md "Default guest" — Debian trixie's riscv64
 * kernel (resolved from the `linux-image-riscv64` metapackage) with its modules, and busybox-static —
 * downloaded with a private apt, extracted with `dpkg-deb -x`, and cached.
 *
 * Cache layout, under `<cache>/debian-<suite>-<arch>/`:
 *   apt/            private apt state, lists, caches and sources.list
 *   debs/           the downloaded .deb files
 *   root/           both packages extracted (boot/, usr/lib/modules/<version>/, usr/bin/busybox)
 *   kernel/Image    the raw RISC-V Image the boot loader takes directly
 *   guest.json      the manifest, written last: its presence makes the next call offline
 *
 * Found for trixie (6.12.x): /boot/vmlinux-<version> is an uncompressed RISC-V Image with an EFI stub
 * ("MZ", "RSC\x05" at 0x38), so kernel/Image is a hard link to it. Modules ship as .ko.xz under
 * usr/lib/modules/<version>/kernel/ with no modules.dep (Debian's postinst runs depmod); we generate it.
 */

export interface DefaultGuest {
  /** Raw RISC-V Image (header magic "RSC\x05" at 0x38), ready for the boot loader. */
  kernelPath: string;
  /** `uname -r` of the kernel, e.g. "6.12.117+deb13-riscv64"; also the modules directory's name. */
  kernelVersion: string;
  /** <root>/usr/lib/modules/<kernelVersion>, with modules.dep and modules.builtin. */
  modulesDir: string;
  /** The static riscv64 busybox binary. */
  busyboxPath: string;
  /** The kernel file as Debian ships it, and what format it is. */
  shippedKernelPath: string;
  shippedKernelFormat: KernelFormat;
  /** Package name=version pairs, for reports. */
  packages: string[];
  /** The directory everything above lives in. */
  guestDir: string;
}

export interface EnsureDefaultGuestOptions {
  /** Defaults to `$WISP_CACHE` or `~/.cache/wisp`. */
  cacheDir?: string;
  /** Debian mirror; defaults to the one the host's own apt sources use. */
  mirror?: string;
  suite?: string;
  arch?: string;
  /** apt's output and our progress lines go here (the CLI passes stderr); null for quiet. */
  progress?: Writable | null;
  /** Fetch again even if the cache is complete (picks up a newer kernel). */
  refresh?: boolean;
  /** Never touch the network: fail with a clear message if the cache is incomplete. */
  offline?: boolean;
}

const MANIFEST = 'guest.json';
const MANIFEST_VERSION = 1;

export async function ensureDefaultGuest(opts: EnsureDefaultGuestOptions = {}): Promise<DefaultGuest> {
  const suite = opts.suite ?? 'trixie';
  const arch = opts.arch ?? 'riscv64';
  const guestDir = join(opts.cacheDir ?? wispCacheDir(), `debian-${suite}-${arch}`);
  const say = (line: string): void => {
    opts.progress?.write(`wisp guest: ${line}\n`);
  };

  if (!opts.refresh) {
    const cached = readManifest(guestDir);
    if (cached) return cached;
  }
  if (opts.offline) {
    throw new GuestError('not-found', `The default guest is not in the cache ${guestDir}; run "wisp guest fetch" first`);
  }
  mkdirSync(guestDir, { recursive: true });
  return withDirLock(guestDir, 'fetch.lock', say, async () => {
    // Another process may have completed the cache while we waited for the lock.
    const cached = opts.refresh ? undefined : readManifest(guestDir);
    return cached ?? fetchInto(guestDir, suite, arch, opts, say);
  });
}

async function fetchInto(guestDir: string, suite: string, arch: string, opts: EnsureDefaultGuestOptions, say: (line: string) => void): Promise<DefaultGuest> {
  const mirror = opts.mirror ?? hostDebianMirror();
  const apt = new PrivateApt({ dir: join(guestDir, 'apt'), mirror, suite, arch, progress: opts.progress });
  say(`reading Debian ${suite} ${arch} package lists from ${mirror}`);
  await apt.update();

  const meta = await apt.show(`linux-image-${arch}`);
  const kernelPkg = kernelPackageFromDepends(meta.get('depends') ?? '');
  if (!kernelPkg) {
    throw new GuestError('fetch-failed', `linux-image-${arch} in Debian ${suite} depends on no linux-image-<version> package ("${meta.get('depends') ?? ''}")`);
  }
  const pkgs = [kernelPkg, 'busybox-static'];
  const debsDir = join(guestDir, 'debs');
  mkdirSync(debsDir, { recursive: true });
  const debs: string[] = [];
  const versions: string[] = [];
  for (const pkg of pkgs) {
    const info = await apt.show(pkg);
    const version = info.get('version') ?? '';
    const size = Number(info.get('size') ?? NaN);
    versions.push(`${pkg}=${version}`);
    let deb = findDeb(debsDir, pkg, version);
    if (deb && statSync(deb).size === size) {
      say(`${pkg} ${version} already downloaded`);
    } else {
      say(`downloading ${pkg} ${version} (${(size / 1e6).toFixed(1)} MB)`);
      await apt.download([pkg], debsDir);
      deb = findDeb(debsDir, pkg, version);
      if (!deb) throw new GuestError('fetch-failed', `apt-get download ${pkg} finished but left no .deb in ${debsDir}`);
    }
    debs.push(deb);
  }

  // Extract into a fresh directory and swap it in, so an interrupted run never leaves a half tree.
  const rootTmp = join(guestDir, `root.tmp-${process.pid}`);
  const root = join(guestDir, 'root');
  rmSync(rootTmp, { recursive: true, force: true });
  mkdirSync(rootTmp, { recursive: true });
  try {
    for (const deb of debs) {
      say(`extracting ${deb}`);
      await runTool('dpkg-deb', ['-x', deb, rootTmp]);
    }
    rmSync(root, { recursive: true, force: true });
    renameSync(rootTmp, root);
  } catch (e) {
    rmSync(rootTmp, { recursive: true, force: true });
    throw e;
  }

  const kernelVersion = kernelPkg.slice('linux-image-'.length);
  const modulesDir = firstExisting([join(root, 'usr/lib/modules', kernelVersion), join(root, 'lib/modules', kernelVersion)]);
  if (!modulesDir) throw new GuestError('bad-format', `${kernelPkg} has no modules directory for ${kernelVersion}`);
  const shippedKernelPath = firstExisting(['vmlinux', 'vmlinuz', 'Image'].map((n) => join(root, 'boot', `${n}-${kernelVersion}`)));
  if (!shippedKernelPath) throw new GuestError('bad-format', `${kernelPkg} has no /boot/vmlinu[xz]-${kernelVersion}`);
  const busyboxPath = firstExisting([join(root, 'usr/bin/busybox'), join(root, 'bin/busybox')]);
  if (!busyboxPath) throw new GuestError('bad-format', 'busybox-static has no usr/bin/busybox');

  const shipped = readFileSync(shippedKernelPath);
  const shippedKernelFormat = detectKernelFormat(shipped);
  const kernelDir = join(guestDir, 'kernel');
  const kernelPath = join(kernelDir, 'Image');
  mkdirSync(kernelDir, { recursive: true });
  rmSync(kernelPath, { force: true });
  if (shippedKernelFormat === 'riscv-image') {
    linkOrCopy(shippedKernelPath, kernelPath, shipped);
  } else {
    say(`decompressing the ${shippedKernelFormat} kernel to ${kernelPath}`);
    writeAtomic(kernelPath, await rawImageFrom(shipped, shippedKernelPath));
  }

  if (!existsSync(join(modulesDir, 'modules.dep'))) {
    say('indexing kernel modules (modules.dep)');
    await writeModulesDep(modulesDir);
  }

  // Drop .debs of older versions once the new ones are in place.
  for (const name of readdirSync(debsDir)) {
    if (!debs.some((d) => d.endsWith(`/${name}`))) rmSync(join(debsDir, name), { force: true });
  }

  const guest: DefaultGuest = {
    kernelPath,
    kernelVersion,
    modulesDir,
    busyboxPath,
    shippedKernelPath,
    shippedKernelFormat,
    packages: versions,
    guestDir,
  };
  writeAtomic(join(guestDir, MANIFEST), JSON.stringify({ version: MANIFEST_VERSION, ...guest }, null, 2) + '\n');
  return guest;
}

/** The cached guest if its manifest is readable and every file it names still exists. */
function readManifest(guestDir: string): DefaultGuest | undefined {
  let m: Record<string, unknown>;
  try {
    m = JSON.parse(readFileSync(join(guestDir, MANIFEST), 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (m.version !== MANIFEST_VERSION || m.guestDir !== guestDir) return undefined;
  const paths = [m.kernelPath, m.modulesDir, m.busyboxPath, m.shippedKernelPath];
  if (!paths.every((p) => typeof p === 'string' && existsSync(p))) return undefined;
  if (!existsSync(join(m.modulesDir as string, 'modules.dep'))) return undefined;
  const { version: _v, ...guest } = m;
  return guest as unknown as DefaultGuest;
}

/** apt-get download names files <pkg>_<version with ':' as %3a>_<arch>.deb. */
function findDeb(dir: string, pkg: string, version: string): string | undefined {
  const prefix = `${pkg}_${version.replace(/:/g, '%3a')}_`;
  const name = readdirSync(dir).find((n) => n.startsWith(prefix) && n.endsWith('.deb'));
  return name ? join(dir, name) : undefined;
}

function firstExisting(paths: readonly string[]): string | undefined {
  return paths.find((p) => existsSync(p));
}

function linkOrCopy(from: string, to: string, bytes: Buffer): void {
  try {
    linkSync(from, to);
  } catch {
    writeAtomic(to, bytes);
  }
}

function writeAtomic(path: string, data: string | Uint8Array): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}
