import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { CpioWriter } from './cpio.js';
import { readModuleFile } from './depmod.js';
import { isElf } from './elf-modinfo.js';
import { GuestError } from './guest-error.js';
import { initScript, UDHCPC_SCRIPT, UDHCPC_SCRIPT_PATH } from './init-script.js';
import { formatModulesDep, parseModulesBuiltin, parseModulesDep, resolveLoadOrder, type LoadPlan, type ModuleEntry } from './module-deps.js';

/**
 * The modules wisp's machine needs from Debian's kernel (DESIGN.md "Default guest"): ext4 with its
 * checksum and journal helpers, virtio-mmio transport, virtio-blk and virtio-net. They are loadable
 * modules in Debian's riscv64 config; any that a kernel has built in is skipped (modules.builtin).
 */
export const REQUIRED_MODULES: readonly string[] = [
  'crc32c_generic', 'libcrc32c', 'crc16', 'mbcache', 'jbd2', 'ext4',
  'virtio_mmio', 'virtio_blk', 'failover', 'net_failover', 'virtio_net',
];
/**
 * Loaded when the kernel has them. The hw_random core (CONFIG_HW_RANDOM) is the module rng_core
 * (rng-core.ko), built into Debian's 6.12; virtio_rng (virtio-rng.ko) is a module there.
 */
export const OPTIONAL_MODULES: readonly string[] = ['rng_core', 'virtio_rng'];

export interface InitramfsOptions {
  busyboxPath: string;
  /** The kernel's modules directory (…/lib/modules/<kernelVersion>), with modules.dep. */
  modulesDir: string;
  kernelVersion: string;
  /** Module names to load instead of REQUIRED_MODULES + OPTIONAL_MODULES; all must exist. */
  modules?: readonly string[];
  /** Module names to load in addition to the default set; all must exist. */
  extraModules?: readonly string[];
  /** A script to run as the guest's job instead of a shell (bytes of a file, `#!` or plain sh). */
  script?: Uint8Array;
  /** Shorthand for a one-line script. */
  initCmd?: string;
  /** Timestamp of every entry (seconds); fixed so the same inputs give the same bytes. */
  mtime?: number;
  /** gzip the archive (default true; the kernel's RD_GZIP is built in). */
  gzip?: boolean;
}

/** Which modules would go in, in load order, and which are built in or absent. */
export async function planModules(modulesDir: string, choice: { modules?: readonly string[]; extraModules?: readonly string[] } = {}): Promise<LoadPlan> {
  let depText: string;
  try {
    depText = await readFile(join(modulesDir, 'modules.dep'), 'utf8');
  } catch (e) {
    throw new GuestError('not-found', `Cannot read ${join(modulesDir, 'modules.dep')}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message} (is ${modulesDir} a kernel modules directory?)`, { cause: e });
  }
  let builtinText = '';
  try {
    builtinText = await readFile(join(modulesDir, 'modules.builtin'), 'utf8');
  } catch {
    // A kernel without modules.builtin simply has nothing built in that we need to know about.
  }
  const table = parseModulesDep(depText);
  const builtin = parseModulesBuiltin(builtinText);
  if (choice.modules !== undefined && choice.extraModules !== undefined) {
    throw new GuestError('bad-input', 'Give either a module list or extra modules, not both');
  }
  const wanted = choice.modules ?? [...REQUIRED_MODULES, ...OPTIONAL_MODULES, ...(choice.extraModules ?? [])];
  const plan = resolveLoadOrder(wanted, table, builtin);
  // Only the optional defaults may be absent; anything named explicitly must be there.
  const optional = choice.modules === undefined ? OPTIONAL_MODULES.filter((m) => !choice.extraModules?.includes(m)) : [];
  const missingRequired = plan.missing.filter((m) => !optional.includes(m));
  if (missingRequired.length) {
    throw new GuestError('not-found', `Kernel module${missingRequired.length > 1 ? 's' : ''} ${missingRequired.join(', ')} not found in ${modulesDir} (neither in modules.dep nor built in)`);
  }
  return plan;
}

/** Build the initramfs (gzip'd newc cpio) described in init-script.ts. */
export async function buildInitramfs(opts: InitramfsOptions): Promise<Buffer> {
  if (opts.script !== undefined && opts.initCmd !== undefined) {
    throw new GuestError('bad-input', 'Give either a script or an init command, not both');
  }
  if (!/^[A-Za-z0-9._+-]+$/.test(opts.kernelVersion)) {
    throw new GuestError('bad-input', `Kernel version "${opts.kernelVersion}" is not a plain directory name`);
  }
  let busybox: Buffer;
  try {
    busybox = await readFile(opts.busyboxPath);
  } catch (e) {
    throw new GuestError('not-found', `Cannot read busybox ${opts.busyboxPath}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
  if (!isElf(busybox)) throw new GuestError('bad-format', `busybox ${opts.busyboxPath} is not an ELF executable`);

  const plan = await planModules(opts.modulesDir, { modules: opts.modules, extraModules: opts.extraModules });
  const script = opts.initCmd !== undefined ? Buffer.from(`#!/bin/sh\n${opts.initCmd}\n`) : opts.script;

  const w = new CpioWriter({ mtime: opts.mtime ?? 0 });
  const dirs = new Set<string>();
  const dir = (path: string, mode = 0o755): void => {
    const parts = path.split('/');
    for (let i = 1; i <= parts.length; i++) {
      const p = parts.slice(0, i).join('/');
      if (dirs.has(p)) continue;
      dirs.add(p);
      w.addDirectory(p, { mode: p === path ? mode : 0o755 });
    }
  };
  for (const d of ['bin', 'dev', 'etc', 'lib', 'mnt', 'newroot', 'proc', 'run', 'sbin', 'sys', 'usr/bin', 'usr/sbin']) dir(d);
  dir('root', 0o700);
  dir('tmp', 0o1777);
  // The kernel opens /dev/console for init's stdio before /init can mount devtmpfs
  // (Documentation/admin-guide/devices.txt: console is c 5 1, null is c 1 3).
  w.addCharDevice('dev/console', 5, 1, { mode: 0o600 });
  w.addCharDevice('dev/null', 1, 3, { mode: 0o666 });
  w.addFile('etc/passwd', Buffer.from('root:x:0:0:root:/root:/bin/sh\n'));
  w.addFile('etc/group', Buffer.from('root:x:0:\ntty:x:5:\n'));
  w.addFile('bin/busybox', busybox, { mode: 0o755 });
  w.addSymlink('bin/sh', 'busybox');

  // Modules go in decompressed: loading .ko.xz would need the kernel's own decompressor, and an
  // emulated CPU is slow at xz. Their paths drop the compression suffix, as modules.dep says.
  const modRoot = `lib/modules/${opts.kernelVersion}`;
  dir(modRoot);
  const entries: ModuleEntry[] = [];
  const table = new Map<string, ModuleEntry>();
  for (const m of plan.order) {
    const bytes = await readModuleFile(join(opts.modulesDir, m.path));
    if (!isElf(bytes)) throw new GuestError('bad-format', `Module ${m.path} in ${opts.modulesDir} is not an ELF file once decompressed`);
    const path = m.path.replace(/\.(xz|gz|zst)$/, '');
    const slash = path.lastIndexOf('/');
    if (slash > 0) dir(`${modRoot}/${path.slice(0, slash)}`);
    w.addFile(`${modRoot}/${path}`, bytes);
    const e = { ...m, path };
    entries.push(e);
    table.set(e.name, e);
  }
  // A modules.dep for just these, so `modprobe` inside the guest works too.
  w.addFile(`${modRoot}/modules.dep`, Buffer.from(formatModulesDep(entries, table)));

  dir('usr/share/udhcpc');
  w.addFile(UDHCPC_SCRIPT_PATH.slice(1), Buffer.from(UDHCPC_SCRIPT), { mode: 0o755 });

  if (script !== undefined) {
    dir('wisp');
    w.addFile('wisp/run', script, { mode: 0o755 });
  }
  w.addFile('init', Buffer.from(initScript({ kernelVersion: opts.kernelVersion, modulePaths: entries.map((e) => e.path), hasScript: script !== undefined })), { mode: 0o755 });

  const cpio = w.finish();
  return opts.gzip === false ? cpio : gzipSync(cpio, { level: 9 });
}
