import { statSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import type { ContainerConfig } from '../container-protocol.js';
import { HostFileError, readHostFile } from '../../util/host-file.js';
import { RuncError } from './runc-error.js';

/**
 * An OCI runtime-spec bundle (config.json + root filesystem) read into what a container VM needs.
 * The runtime spec describes a process isolated by namespaces and cgroups on the host's kernel; wisp
 * gives it a kernel of its own instead, so each part is one of:
 *
 * - honoured: process args/env/cwd/user (uid, gid, additionalGids)/umask/terminal/consoleSize, root
 *   path and readonly, hostname (the host's when absent, as runc's new UTS namespace has), mounts of proc, sysfs, devpts, tmpfs, mqueue and cgroup (type and
 *   options; the standard /proc /sys /dev /dev/pts /dev/shm are the init's own), annotations (kept
 *   in the state), linux.resources.memory.limit (the VM's RAM);
 * - accepted without effect, because the VM is the boundary: linux namespaces without a path (the
 *   VM has all of its own), cgroupsPath and the other resources, capabilities, rlimits,
 *   noNewPrivileges, oomScoreAdj, apparmor/selinux labels, seccomp, maskedPaths/readonlyPaths,
 *   rootfsPropagation, devices that the guest's devtmpfs already has;
 * - refused with an error naming the field: bind mounts and other filesystems (no host sharing),
 *   joining a namespace by path, uid/gid mappings, sysctls, hooks, other devices, domainname,
 *   personality, intelRdt, and non-Linux sections.
 */

export interface BundleSpec {
  bundle: string;
  /** The root filesystem directory (absolute). */
  rootfs: string;
  config: ContainerConfig;
  /** The VM's RAM. */
  memMiB: number;
  consoleSize?: { rows: number; cols: number };
  annotations: Record<string, string>;
}

export const DEFAULT_MEM_MIB = 256;
export const MIN_MEM_MIB = 128;
const MIB = 1024 * 1024;

/** Mounts the container init makes itself, as runc would from a default spec. */
const INIT_MOUNTS: Record<string, readonly string[]> = {
  '/proc': ['proc'],
  '/sys': ['sysfs'],
  '/dev': ['tmpfs', 'devtmpfs'],
  '/dev/pts': ['devpts'],
  '/dev/shm': ['tmpfs'],
};
/** Filesystems the init can mount anywhere inside the container (the guest kernel has them). */
const MOUNTABLE = new Set(['proc', 'sysfs', 'tmpfs', 'devpts', 'mqueue', 'cgroup', 'cgroup2']);
/** Device nodes the guest's devtmpfs provides (runc's default devices and the usual extras). */
const GUEST_DEVICES = new Set(['/dev/null', '/dev/zero', '/dev/full', '/dev/random', '/dev/urandom', '/dev/tty', '/dev/console', '/dev/ptmx', '/dev/fuse']);
const NAMESPACES = new Set(['pid', 'network', 'mount', 'ipc', 'uts', 'user', 'cgroup', 'time']);
const HOOKS = ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'];

type Json = Record<string, unknown>;

class SpecReader {
  constructor(private readonly bundle: string) {}

  fail(field: string, why: string): never {
    throw new RuncError('bad-bundle', `Invalid ${this.bundle}/config.json: "${field}" ${why}`);
  }

  refuse(field: string, why: string): never {
    throw new RuncError('unsupported', `Cannot run the bundle ${this.bundle}: config.json "${field}" ${why}`);
  }

  obj(v: unknown, field: string): Json {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(field, 'must be an object');
    return v as Json;
  }

  optObj(v: unknown, field: string): Json | undefined {
    return v === undefined || v === null ? undefined : this.obj(v, field);
  }

  str(v: unknown, field: string): string {
    if (typeof v !== 'string') this.fail(field, 'must be a string');
    if (v.includes('\0')) this.fail(field, 'must not hold a NUL character');
    return v;
  }

  optStr(v: unknown, field: string): string | undefined {
    return v === undefined || v === null ? undefined : this.str(v, field);
  }

  strList(v: unknown, field: string): string[] {
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) this.fail(field, 'must be a list of strings');
    return v.map((x, i) => this.str(x, `${field}[${i}]`));
  }

  u32(v: unknown, field: string): number {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffffffff) this.fail(field, 'must be an integer from 0 to 4294967295');
    return v;
  }

  bool(v: unknown, field: string): boolean {
    if (v === undefined || v === null) return false;
    if (typeof v !== 'boolean') this.fail(field, 'must be true or false');
    return v;
  }

  /** A field that must be absent or empty, or the bundle is refused. */
  mustBeEmpty(v: unknown, field: string, why: string): void {
    if (v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0)) return;
    if (typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0) return;
    this.refuse(field, why);
  }
}

function checkPath(r: SpecReader, p: string, field: string): string {
  if (!p.startsWith('/')) r.fail(field, `must be an absolute path, got "${p}"`);
  if (p.split('/').includes('..')) r.fail(field, `must not hold "..", got "${p}"`);
  return p.replace(/\/+$/, '') || '/';
}

/** A bundle's config.json larger than this is refused (runc's own are a few KiB). */
const MAX_BUNDLE_CONFIG_BYTES = 4 << 20;

/** Reads and checks BUNDLE/config.json; throws RuncError naming the first field it cannot honour. */
export function readBundle(bundleDir: string): BundleSpec {
  const bundle = resolve(bundleDir);
  let text: string;
  try {
    if (!statSync(bundle).isDirectory()) throw new RuncError('bad-bundle', `The bundle ${bundle} is not a directory`);
    // util/host-file.ts: a regular file only (a FIFO would block the open), at most 4 MiB.
    text = readHostFile(join(bundle, 'config.json'), { what: 'bundle config.json', kinds: ['file'], maxBytes: MAX_BUNDLE_CONFIG_BYTES }).toString('utf8');
  } catch (e) {
    if (e instanceof RuncError) throw e;
    const code = e instanceof HostFileError ? e.errno : (e as NodeJS.ErrnoException).code;
    throw new RuncError('bad-bundle', code === 'ENOENT'
      ? `The bundle ${bundle} has no config.json (or does not exist)`
      : `Cannot read ${bundle}/config.json: ${(e as Error).message}`, { cause: e });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new RuncError('bad-bundle', `Invalid ${bundle}/config.json: not JSON (${(e as Error).message})`, { cause: e });
  }
  return specFromJson(json, bundle);
}

export function specFromJson(json: unknown, bundle: string): BundleSpec {
  const r: SpecReader = new SpecReader(bundle);
  const spec = r.obj(json, '(top level)');
  const version = r.str(spec.ociVersion, 'ociVersion');
  if (!/^1\.\d+\.\d+/.test(version)) r.refuse('ociVersion', `is "${version}": wisp-runc reads runtime-spec 1.x`);

  for (const other of ['windows', 'solaris', 'vm', 'zos']) r.mustBeEmpty(spec[other], other, 'is not for Linux containers');
  const hooks = r.optObj(spec.hooks, 'hooks');
  for (const h of HOOKS) r.mustBeEmpty(hooks?.[h], `hooks.${h}`, 'is not supported: hooks run in the host\'s namespaces, which a container VM does not share');
  r.mustBeEmpty(spec.domainname, 'domainname', 'is not supported');

  // root
  const root = r.obj(spec.root, 'root');
  const rootPath = r.str(root.path, 'root.path');
  const rootfs = isAbsolute(rootPath) ? rootPath : join(bundle, rootPath);
  let isDir = false;
  try { isDir = statSync(rootfs).isDirectory(); } catch { /* below */ }
  if (!isDir) r.fail('root.path', `names ${rootfs}, which is not a directory`);
  const readonlyRoot = r.bool(root.readonly, 'root.readonly');

  // process
  const proc = r.obj(spec.process, 'process');
  const args = r.strList(proc.args, 'process.args');
  if (args.length === 0) r.fail('process.args', 'must name the program to run');
  r.mustBeEmpty(proc.commandLine, 'process.commandLine', 'is for Windows');
  const env = r.strList(proc.env, 'process.env');
  env.forEach((e, i) => { if (!e.includes('=')) r.fail(`process.env[${i}]`, `must be KEY=VALUE, got "${e}"`); });
  const cwd = checkPath(r, r.str(proc.cwd, 'process.cwd'), 'process.cwd');
  const terminal = r.bool(proc.terminal, 'process.terminal');
  let consoleSize: BundleSpec['consoleSize'];
  const cs = r.optObj(proc.consoleSize, 'process.consoleSize');
  if (cs) {
    const rows = r.u32(cs.height, 'process.consoleSize.height'), cols = r.u32(cs.width, 'process.consoleSize.width');
    if (rows > 0xffff || cols > 0xffff) r.fail('process.consoleSize', 'must be at most 65535 by 65535');
    consoleSize = { rows, cols };
  }
  const user = r.optObj(proc.user, 'process.user') ?? {};
  r.mustBeEmpty(user.username, 'process.user.username', 'is for Windows');
  const uid = user.uid === undefined ? 0 : r.u32(user.uid, 'process.user.uid');
  const gid = user.gid === undefined ? 0 : r.u32(user.gid, 'process.user.gid');
  const additional = user.additionalGids === undefined || user.additionalGids === null ? [] : user.additionalGids;
  if (!Array.isArray(additional)) r.fail('process.user.additionalGids', 'must be a list of numbers');
  const additionalGids = additional.map((g, i) => r.u32(g, `process.user.additionalGids[${i}]`));
  if (additionalGids.length > 64) r.refuse('process.user.additionalGids', 'lists more than 64 groups');
  const umask = user.umask === undefined || user.umask === null ? undefined : r.u32(user.umask, 'process.user.umask');
  if (umask !== undefined && umask > 0o777) r.fail('process.user.umask', 'must be at most 0777');

  const hostname = r.optStr(spec.hostname, 'hostname');

  // linux
  const linux = r.optObj(spec.linux, 'linux') ?? {};
  const namespaces = linux.namespaces ?? [];
  if (!Array.isArray(namespaces)) r.fail('linux.namespaces', 'must be a list');
  namespaces.forEach((n, i) => {
    const ns = r.obj(n, `linux.namespaces[${i}]`);
    const type = r.str(ns.type, `linux.namespaces[${i}].type`);
    if (!NAMESPACES.has(type)) r.fail(`linux.namespaces[${i}].type`, `is not a namespace type: "${type}"`);
    r.mustBeEmpty(ns.path, `linux.namespaces[${i}].path`, `(join the ${type} namespace at ${String(ns.path)}) is not supported: the container runs in a VM of its own`);
  });
  r.mustBeEmpty(linux.uidMappings, 'linux.uidMappings', 'is not supported: files keep the owners the root filesystem gives them');
  r.mustBeEmpty(linux.gidMappings, 'linux.gidMappings', 'is not supported: files keep the owners the root filesystem gives them');
  r.mustBeEmpty(linux.sysctl, 'linux.sysctl', `(${Object.keys(r.optObj(linux.sysctl, 'linux.sysctl') ?? {}).join(', ')}) is not supported`);
  r.mustBeEmpty(linux.intelRdt, 'linux.intelRdt', 'is not supported');
  r.mustBeEmpty(linux.personality, 'linux.personality', 'is not supported');
  const devices = linux.devices ?? [];
  if (!Array.isArray(devices)) r.fail('linux.devices', 'must be a list');
  devices.forEach((d, i) => {
    const path = r.str(r.obj(d, `linux.devices[${i}]`).path, `linux.devices[${i}].path`);
    if (!GUEST_DEVICES.has(path)) r.refuse(`linux.devices[${i}]`, `(${path}) is not supported: the container VM has only its own devices`);
  });

  let memMiB = DEFAULT_MEM_MIB;
  const memory = r.optObj(r.optObj(linux.resources, 'linux.resources')?.memory, 'linux.resources.memory');
  if (memory?.limit !== undefined && memory.limit !== null) {
    const limit = memory.limit;
    if (typeof limit !== 'number' || !Number.isInteger(limit)) r.fail('linux.resources.memory.limit', 'must be an integer');
    if (limit > 0) {
      memMiB = Math.ceil(limit / MIB);
      if (memMiB < MIN_MEM_MIB) r.refuse('linux.resources.memory.limit', `is ${memMiB} MiB: a container VM needs at least ${MIN_MEM_MIB} MiB`);
      if (memMiB > 3072) r.refuse('linux.resources.memory.limit', `is ${memMiB} MiB: a container VM has at most 3072 MiB`);
    }
  }

  // mounts
  const mounts: NonNullable<ContainerConfig['mounts']> = [];
  const list = spec.mounts ?? [];
  if (!Array.isArray(list)) r.fail('mounts', 'must be a list');
  list.forEach((m, i) => {
    const f = `mounts[${i}]`;
    const mo = r.obj(m, f);
    const dest = checkPath(r, r.str(mo.destination, `${f}.destination`), `${f}.destination`);
    const options = r.strList(mo.options, `${f}.options`);
    const type = r.optStr(mo.type, `${f}.type`) ?? '';
    const source = r.optStr(mo.source, `${f}.source`) ?? '';
    if (type === 'bind' || options.includes('bind') || options.includes('rbind')) {
      r.refuse(f, `(a bind mount of ${source} on ${dest}) is not supported: a container VM cannot share the host's files`);
    }
    r.mustBeEmpty(mo.uidMappings, `${f}.uidMappings`, 'is not supported');
    r.mustBeEmpty(mo.gidMappings, `${f}.gidMappings`, 'is not supported');
    if (INIT_MOUNTS[dest]?.includes(type)) return;
    if (!MOUNTABLE.has(type)) r.refuse(f, `(${type || 'no type'} on ${dest}) is not supported: wisp-runc mounts proc, sysfs, tmpfs, devpts, mqueue and cgroup filesystems`);
    if (options.some((o) => o.includes(','))) r.fail(`${f}.options`, 'must hold one option per entry');
    // cgroup v1 hierarchies need controllers named; the guest kernel offers the unified hierarchy.
    const t = type === 'cgroup' ? 'cgroup2' : type;
    mounts.push({ type: t, source: source || t, target: dest, options: options.join(',') });
  });
  if (mounts.length > 32) r.refuse('mounts', 'needs more than 32 mounts beyond the standard ones');

  const annotations: Record<string, string> = {};
  const ann = r.optObj(spec.annotations, 'annotations') ?? {};
  for (const [k, v] of Object.entries(ann)) annotations[k] = r.str(v, `annotations.${k}`);

  return {
    bundle,
    rootfs: resolve(rootfs),
    memMiB,
    consoleSize,
    annotations,
    config: {
      args, env, cwd, terminal,
      user: `${uid}:${gid}`,
      additionalGids,
      // Without one, runc's new UTS namespace starts as a copy of the host's: so does the VM's.
      hostname: hostname || osHostname(),
      // The process's stdin is whatever runtime's own stdin is (a pipe from the shim, or /dev/null).
      stdin: true,
      waitStart: true,
      readonlyRoot,
      mounts,
      umask,
    },
  };
}
