import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ensureDefaultGuest } from '../../guest/fetch.js';
import { GuestError } from '../../guest/guest-error.js';
import { buildInitramfs, planModules } from '../../guest/initramfs.js';
import { buildRootfs, parseSize } from '../../guest/rootfs.js';

/**
 * `wisp guest …`: fetch Debian's riscv64 kernel and busybox, build an initramfs that loads the
 * kernel's virtio/ext4 modules, build an ext4 root disk from a directory.
 */

const HELP = `Usage: wisp guest <command> [options]

Commands:
  fetch       Download Debian trixie's riscv64 kernel and busybox-static into the cache
                --cache DIR    cache directory (default: $WISP_CACHE or ~/.cache/wisp)
                --mirror URL   Debian mirror (default: the one the host's apt sources use)
                --refresh      fetch again even if the cache is complete
                --quiet        no progress on stderr
  initramfs   Build a busybox initramfs for the default guest (fetches it if needed)
                -o, --output FILE     where to write it (default: initramfs.cpio.gz)
                --script FILE         run this script instead of a shell, then power off
                --init-cmd CMD        run this shell command instead of a shell, then power off
                --modules a,b,...     load these modules instead of the default set;
                                      "+a,b" adds to the default set
                --cache DIR           cache directory
  rootfs DIR  Build an ext4 disk image from DIR (no root needed; uses mke2fs -d)
                -o, --output FILE     the image to write (required)
                --size SIZE           image size, e.g. 64M, 1G (default: content + headroom)
                --label NAME          volume label (default: wisp-root)

Kernel command line understood by the initramfs /init:
  root=/dev/vdX (or wisp.root=, UUID=, LABEL=)  rootfstype=  rootflags=  ro|rw  init=  wisp.shell
`;

export interface GuestIo {
  out: Writable;
  err: Writable;
}

class UsageError extends Error {}

export async function run(argv: string[], io: GuestIo = { out: process.stdout, err: process.stderr }): Promise<number> {
  const [sub, ...rest] = argv;
  try {
    switch (sub) {
      case undefined:
        io.err.write(HELP);
        return 2;
      case '--help':
      case '-h':
      case 'help':
        io.out.write(HELP);
        return 0;
      case 'fetch':
        return await fetchCommand(rest, io);
      case 'initramfs':
        return await initramfsCommand(rest, io);
      case 'rootfs':
        return await rootfsCommand(rest, io);
      default:
        throw new UsageError(`unknown command "${sub}" (try "wisp guest --help")`);
    }
  } catch (e) {
    const where = sub && ['fetch', 'initramfs', 'rootfs'].includes(sub) ? `wisp guest ${sub}` : 'wisp guest';
    if (e instanceof UsageError) {
      io.err.write(`${where}: ${e.message}\n`);
      return 2;
    }
    if (e instanceof GuestError) {
      io.err.write(`${where}: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}

/** node:util parseArgs in strict mode, its errors turned into one-line usage errors. */
function parse<T extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: T, positionals: number) {
  let r;
  try {
    r = parseArgs({ args, options: { help: { type: 'boolean', short: 'h' }, ...options }, strict: true, allowPositionals: positionals > 0 });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const flag = /'([^']+)'/.exec(err.message)?.[1];
    if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') throw new UsageError(`unknown option "${flag}"`);
    if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      throw new UsageError(`option "${/--[\w-]+/.exec(err.message)?.[0] ?? flag}" needs a value`);
    }
    if (err.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') throw new UsageError(`unexpected argument "${flag}"`);
    throw new UsageError(err.message.split('\n')[0]!);
  }
  if (r.positionals.length > positionals) throw new UsageError(`unexpected argument "${r.positionals[positionals]}"`);
  return r;
}

async function fetchCommand(args: string[], io: GuestIo): Promise<number> {
  const { values } = parse(args, {
    cache: { type: 'string' },
    mirror: { type: 'string' },
    refresh: { type: 'boolean' },
    quiet: { type: 'boolean', short: 'q' },
  }, 0);
  if (values.help) return help(io);
  if (values.mirror !== undefined && !/^https?:\/\/\S+$/.test(values.mirror)) {
    throw new UsageError(`--mirror "${values.mirror}" is not an http(s) URL`);
  }
  const g = await ensureDefaultGuest({
    cacheDir: values.cache === undefined ? undefined : resolve(values.cache),
    mirror: values.mirror?.replace(/\/+$/, ''),
    refresh: values.refresh,
    progress: values.quiet ? null : io.err,
  });
  const plan = await planModules(g.modulesDir);
  io.out.write(
    [
      `kernel:          ${g.kernelPath}`,
      `kernel version:  ${g.kernelVersion}`,
      `shipped kernel:  ${g.shippedKernelPath} (${g.shippedKernelFormat})`,
      `modules:         ${g.modulesDir}`,
      `busybox:         ${g.busyboxPath}`,
      `packages:        ${g.packages.join(' ')}`,
      `initramfs loads: ${plan.order.map((m) => m.name).join(' ')}`,
      `built in:        ${plan.builtin.join(' ') || '(none)'}`,
      '',
    ].join('\n'),
  );
  return 0;
}

async function initramfsCommand(args: string[], io: GuestIo): Promise<number> {
  const { values } = parse(args, {
    output: { type: 'string', short: 'o' },
    script: { type: 'string' },
    'init-cmd': { type: 'string' },
    modules: { type: 'string' },
    cache: { type: 'string' },
  }, 0);
  if (values.help) return help(io);
  if (values.script !== undefined && values['init-cmd'] !== undefined) throw new UsageError('give --script or --init-cmd, not both');
  let modules: string[] | undefined;
  let extraModules: string[] | undefined;
  if (values.modules !== undefined) {
    const add = values.modules.startsWith('+');
    const list = (add ? values.modules.slice(1) : values.modules).split(',').map((s) => s.trim()).filter(Boolean);
    const bad = list.find((m) => !/^[A-Za-z0-9_-]+$/.test(m));
    if (bad !== undefined) throw new UsageError(`--modules: "${bad}" is not a module name`);
    if (add) extraModules = list;
    else modules = list;
  }
  let script: Buffer | undefined;
  if (values.script !== undefined) {
    try {
      script = await readFile(values.script);
    } catch (e) {
      throw new GuestError('not-found', `Cannot read --script "${values.script}": ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
  const output = resolve(values.output ?? 'initramfs.cpio.gz');
  const g = await ensureDefaultGuest({ cacheDir: values.cache === undefined ? undefined : resolve(values.cache), progress: io.err });
  const image = await buildInitramfs({ ...g, modules, extraModules, script, initCmd: values['init-cmd'] });
  await writeAtomic(output, image, values.output ?? 'initramfs.cpio.gz');
  io.out.write(`${output}\n`);
  return 0;
}

async function rootfsCommand(args: string[], io: GuestIo): Promise<number> {
  const { values, positionals } = parse(args, {
    output: { type: 'string', short: 'o' },
    size: { type: 'string' },
    label: { type: 'string' },
  }, 1);
  if (values.help) return help(io);
  const dir = positionals[0];
  if (dir === undefined) throw new UsageError('missing DIR (usage: wisp guest rootfs DIR -o disk.ext4 [--size 64M])');
  if (values.output === undefined) throw new UsageError('missing -o FILE, the image to write');
  let size: number | undefined;
  if (values.size !== undefined) {
    size = parseSize(values.size);
    if (size === undefined) throw new UsageError(`--size "${values.size}" is not a size (e.g. 64M, 1G, 1048576)`);
  }
  const r = await buildRootfs({ dir, output: values.output, size, label: values.label });
  io.out.write(`${r.output} (${Math.round(r.size / (1024 * 1024))} MiB, ${r.usage.inodes} entries)\n`);
  return 0;
}

function help(io: GuestIo): number {
  io.out.write(HELP);
  return 0;
}

async function writeAtomic(path: string, data: Uint8Array, shown: string): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}`);
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw new GuestError('bad-input', `Cannot write "${shown}": ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
}
