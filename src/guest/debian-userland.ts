import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { wispCacheDir } from './cache-dir.js';
import { hostDebianMirror } from './debian-mirror.js';
import { withDirLock } from './dir-lock.js';
import { GuestError } from './guest-error.js';
import { runTool } from './host-tool.js';
import { PrivateApt, type PackageVersion } from './private-apt.js';

/**
 * A Debian userland for guests: the named riscv64 packages and their whole dependency closure (no
 * Recommends) from Debian's archive, unpacked into one directory tree, cached. Tests and tools put it on
 * an ext4 disk (`buildRootfs`) or into an image, and run real Debian programs in the guest.
 *
 * Packages are unpacked, not configured: no maintainer script runs (they would need the guest's CPU).
 * What the scripts would have done and programs commonly need is done here instead: the merged-/usr
 * links (/bin, /sbin, /lib → usr/…, as Debian 13 systems have them), and a minimal /etc/passwd and
 * /etc/group when base-passwd's postinst is not there to make them. Alternatives (`awk` → gawk, …) are
 * not set up: call programs by their real names.
 *
 * Cache layout, under `<cache>/debian-<suite>-<arch>/userland/`:
 *   apt/           private apt state shared by every request (lists, downloaded .debs)
 *   <key>/root/    one request's unpacked tree (key: hash of the sorted package names)
 *   <key>/userland.json  the manifest, written last: its presence makes the next call offline
 *
 * The returned tree is shared: never write into it. To add files, copy it first; `cp -al` (hard links)
 * is instant and safe as long as the copy's existing files are replaced, not modified in place.
 */

export interface DebianUserlandOptions {
  /** Package names (Debian trixie, riscv64 by default), e.g. ['socat', 'curl']. */
  packages: readonly string[];
  /** Defaults to `$WISP_CACHE` or `~/.cache/wisp`. */
  cacheDir?: string;
  /** Debian mirror; defaults to the one the host's own apt sources use. */
  mirror?: string;
  suite?: string;
  arch?: string;
  /** apt's output and progress lines go here; null (the default) for quiet. */
  progress?: Writable | null;
  /** Resolve and fetch again even if this request is cached (picks up newer versions). */
  refresh?: boolean;
  /** Never touch the network: fail clearly when the request is not cached. */
  offline?: boolean;
}

export interface DebianUserland {
  /** The unpacked tree (read-only for callers). */
  rootDir: string;
  /** The requested package names, sorted. */
  requested: string[];
  /** Everything unpacked, as name=version, in apt's install order. */
  packages: string[];
}

const MANIFEST = 'userland.json';
const MANIFEST_VERSION = 1;
/** Debian 13's merged /usr: these top-level directories are links into usr/. */
const MERGED_USR = ['bin', 'sbin', 'lib', 'lib64'];

export async function ensureDebianUserland(opts: DebianUserlandOptions): Promise<DebianUserland> {
  const suite = opts.suite ?? 'trixie';
  const arch = opts.arch ?? 'riscv64';
  const requested = [...new Set(opts.packages)].sort();
  if (requested.length === 0) throw new GuestError('bad-input', 'A Debian userland needs at least one package name');
  const bad = requested.find((p) => !/^[a-z0-9][a-z0-9+.-]+$/.test(p));
  if (bad !== undefined) throw new GuestError('bad-input', `"${bad}" is not a Debian package name`);

  const base = join(opts.cacheDir ?? wispCacheDir(), `debian-${suite}-${arch}`, 'userland');
  const key = createHash('sha256').update(requested.join('\n')).digest('hex').slice(0, 16);
  const dir = join(base, key);
  const say = (line: string): void => {
    opts.progress?.write(`wisp guest: ${line}\n`);
  };
  if (!opts.refresh) {
    const cached = readManifest(dir, requested);
    if (cached) return cached;
  }
  if (opts.offline) {
    throw new GuestError('not-found', `The Debian userland with ${requested.join(', ')} is not in the cache ${dir}`);
  }
  mkdirSync(dir, { recursive: true });
  // One apt state for every request, so the lock covers the whole userland cache.
  return withDirLock(base, 'fetch.lock', say, async () => {
    const cached = opts.refresh ? undefined : readManifest(dir, requested);
    return cached ?? fetchInto(base, dir, requested, { ...opts, suite, arch }, say);
  });
}

async function fetchInto(
  base: string,
  dir: string,
  requested: string[],
  opts: DebianUserlandOptions & { suite: string; arch: string },
  say: (line: string) => void,
): Promise<DebianUserland> {
  const mirror = opts.mirror ?? hostDebianMirror();
  const apt = new PrivateApt({ dir: join(base, 'apt'), mirror, suite: opts.suite, arch: opts.arch, progress: opts.progress });
  say(`reading Debian ${opts.suite} ${opts.arch} package lists from ${mirror}`);
  await apt.update();
  const closure = await apt.closure(requested);
  if (closure.length === 0) throw new GuestError('fetch-failed', `apt resolved ${requested.join(', ')} to no packages`);
  say(`fetching ${closure.length} packages for ${requested.join(', ')}`);
  await apt.downloadClosure(requested);
  const debs = closure.map((p) => {
    const deb = findDeb(apt.archivesDir, p);
    if (!deb) throw new GuestError('fetch-failed', `apt downloaded ${requested.join(', ')} but left no .deb of ${p.name} ${p.version} in ${apt.archivesDir}`);
    return deb;
  });

  // Unpack into a fresh directory and swap it in, so an interrupted run never leaves a half tree.
  const tmp = join(dir, `root.tmp-${process.pid}`);
  const root = join(dir, 'root');
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    for (const deb of debs) await runTool('dpkg-deb', ['-x', deb, tmp]);
    mergeUsr(tmp);
    addMinimalAccounts(tmp);
    rmSync(root, { recursive: true, force: true });
    renameSync(tmp, root);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  const userland: DebianUserland = { rootDir: root, requested, packages: closure.map((p) => `${p.name}=${p.version}`) };
  const manifest = join(dir, MANIFEST);
  writeFileSync(`${manifest}.tmp-${process.pid}`, JSON.stringify({ version: MANIFEST_VERSION, ...userland }, null, 2) + '\n');
  renameSync(`${manifest}.tmp-${process.pid}`, manifest);
  return userland;
}

/**
 * Moves what packages still ship under /bin, /sbin, /lib into usr/ and makes those directories links,
 * as on an installed Debian 13 system (the dynamic loader is looked up as /lib/ld-linux-riscv64-lp64d.so.1).
 */
export function mergeUsr(root: string): void {
  for (const name of MERGED_USR) {
    const top = join(root, name);
    const under = join(root, 'usr', name);
    const st = lstatOrUndefined(top);
    if (st?.isSymbolicLink()) continue;
    if (st?.isDirectory()) {
      mkdirSync(under, { recursive: true });
      moveContents(top, under);
      rmSync(top, { recursive: true });
    } else if (st) {
      throw new GuestError('bad-format', `/${name} in the unpacked packages is neither a directory nor a link`);
    }
    if (name === 'lib64' && !existsSync(under)) continue;
    mkdirSync(under, { recursive: true });
    symlinkSync(`usr/${name}`, top);
  }
}

/** Moves every entry of `from` into `to`, merging directories that exist on both sides. */
function moveContents(from: string, to: string): void {
  for (const name of readdirSync(from)) {
    const src = join(from, name);
    const dst = join(to, name);
    const d = lstatOrUndefined(dst);
    if (d?.isDirectory() && lstatSync(src).isDirectory()) {
      moveContents(src, dst);
    } else {
      if (d) rmSync(dst, { recursive: true, force: true });
      renameSync(src, dst);
    }
  }
}

/** root and nobody, plus what base-passwd's master files hold when that package is unpacked. */
export function addMinimalAccounts(root: string): void {
  const etc = join(root, 'etc');
  mkdirSync(etc, { recursive: true });
  const master = (n: string): string | undefined => {
    const p = join(root, 'usr/share/base-passwd', `${n}.master`);
    return existsSync(p) ? readFileSync(p, 'utf8') : undefined;
  };
  if (!existsSync(join(etc, 'passwd'))) {
    writeFileSync(join(etc, 'passwd'), master('passwd') ?? 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n');
  }
  if (!existsSync(join(etc, 'group'))) {
    writeFileSync(join(etc, 'group'), master('group') ?? 'root:x:0:\nnogroup:x:65534:\n');
  }
  mkdirSync(join(root, 'root'), { recursive: true, mode: 0o700 });
  mkdirSync(join(root, 'tmp'), { recursive: true, mode: 0o1777 });
}

function lstatOrUndefined(p: string): ReturnType<typeof lstatSync> | undefined {
  try {
    return lstatSync(p);
  } catch {
    return undefined;
  }
}

/** apt names files <name>_<version with ':' as %3a>_<arch>.deb. */
function findDeb(dir: string, p: PackageVersion): string | undefined {
  const prefix = `${p.name}_${p.version.replace(/:/g, '%3a')}_`;
  const name = readdirSync(dir).find((n) => n.startsWith(prefix) && n.endsWith('.deb'));
  return name ? join(dir, name) : undefined;
}

function readManifest(dir: string, requested: string[]): DebianUserland | undefined {
  let m: Record<string, unknown>;
  try {
    m = JSON.parse(readFileSync(join(dir, MANIFEST), 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (m.version !== MANIFEST_VERSION || m.rootDir !== join(dir, 'root') || !existsSync(m.rootDir as string)) return undefined;
  if (JSON.stringify(m.requested) !== JSON.stringify(requested)) return undefined;
  const { version: _v, ...userland } = m;
  return userland as unknown as DebianUserland;
}
