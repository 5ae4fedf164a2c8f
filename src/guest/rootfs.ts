import { lstat, readdir, rename, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { GuestError } from './guest-error.js';
import { runTool } from './host-tool.js';

/**
 * `wisp guest rootfs DIR -o disk.ext4`: an ext4 image holding DIR's tree, made without root with
 * e2fsprogs' `mke2fs -d` (which copies modes, ownership, symlinks and device nodes as they are on the
 * host; run it as root, or from a tree owned by root, for root-owned files in the guest).
 *
 * Blocks of 4 KiB and 256-byte inodes are fixed, not left to mke2fs.conf's "small" type (1 KiB blocks,
 * and 128-byte inodes on older hosts, which cannot store dates past 2038). The image is written to a
 * temporary file beside the output and renamed into place only when mke2fs succeeded.
 */

const MIB = 1024 * 1024;
const BLOCK = 4096;
const INODE_SIZE = 256;

export interface RootfsOptions {
  /** Directory whose contents become the filesystem's root. */
  dir: string;
  /** Image to create (replaced atomically if it exists). */
  output: string;
  /** Image size in bytes; default: content plus headroom (see defaultRootfsSize). */
  size?: number;
  /** Volume label (at most 16 bytes). */
  label?: string;
}

export interface TreeUsage {
  /** Bytes of data blocks the tree needs at BLOCK granularity. */
  bytes: number;
  /** Files, directories, links and nodes: one inode each. */
  inodes: number;
}

/** Walk a tree without following symlinks and add up what it will take on disk. */
export async function treeUsage(dir: string): Promise<TreeUsage> {
  const usage: TreeUsage = { bytes: BLOCK, inodes: 1 };
  const walk = async (d: string): Promise<void> => {
    for (const ent of await readdir(d, { withFileTypes: true })) {
      const p = join(d, ent.name);
      const st = await lstat(p);
      usage.inodes++;
      if (st.isDirectory()) {
        usage.bytes += BLOCK;
        await walk(p);
      } else if (st.isFile() || st.isSymbolicLink()) {
        usage.bytes += Math.ceil(st.size / BLOCK) * BLOCK;
      }
    }
  };
  await walk(dir);
  return usage;
}

/** The journal mke2fs gives a filesystem of `blocks` 4 KiB blocks (ext2fs_default_journal_size). */
function journalBytes(blocks: number): number {
  if (blocks < 2048) return 0;
  if (blocks < 32768) return 1024 * BLOCK;
  if (blocks < 256 * 1024) return 4096 * BLOCK;
  if (blocks < 512 * 1024) return 8192 * BLOCK;
  if (blocks < 4096 * 1024) return 16384 * BLOCK;
  return 32768 * BLOCK;
}

/**
 * Content plus a quarter, plus the inode table, the journal and 16 MiB for metadata and a little
 * room to write in the guest; rounded up to whole MiB.
 */
export function defaultRootfsSize(u: TreeUsage): number {
  const base = Math.ceil(u.bytes * 1.25) + inodeCount(u, 0) * INODE_SIZE + 16 * MIB;
  return Math.ceil((base + journalBytes(base / BLOCK)) / MIB) * MIB;
}

/** Inodes to create: what the tree needs plus room, and at least one per 16 KiB of disk. */
function inodeCount(u: TreeUsage, size: number): number {
  return Math.max(Math.ceil(u.inodes * 1.25) + 128, Math.floor(size / 16384));
}

/** "64M", "1G", "512K", "1048576" → bytes (binary units); undefined if it is not a size. */
export function parseSize(text: string): number | undefined {
  const m = /^(\d+)([KMGT]i?B?)?$/i.exec(text.trim());
  if (!m) return undefined;
  const unit = (m[2] ?? '').charAt(0).toUpperCase();
  const mult = { '': 1, K: 1024, M: MIB, G: 1024 * MIB, T: 1024 * 1024 * MIB }[unit];
  const n = Number(m[1]) * (mult ?? NaN);
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

export interface RootfsResult {
  output: string;
  size: number;
  usage: TreeUsage;
}

export async function buildRootfs(opts: RootfsOptions): Promise<RootfsResult> {
  const dir = resolve(opts.dir);
  const output = resolve(opts.output);
  let st;
  try {
    st = await stat(dir);
  } catch (e) {
    throw new GuestError('not-found', `Cannot build a root disk from "${opts.dir}": no such directory`, { cause: e });
  }
  if (!st.isDirectory()) throw new GuestError('bad-input', `Cannot build a root disk from "${opts.dir}": not a directory`);
  if (output === dir || output.startsWith(dir + sep)) {
    throw new GuestError('bad-input', `Cannot write the root disk "${opts.output}" inside the directory it is made from ("${opts.dir}")`);
  }
  if (opts.label !== undefined && Buffer.byteLength(opts.label) > 16) {
    throw new GuestError('bad-input', `Volume label "${opts.label}" is longer than 16 bytes`);
  }
  const usage = await treeUsage(dir);
  const size = opts.size ?? defaultRootfsSize(usage);
  if (size % BLOCK !== 0) throw new GuestError('bad-input', `Disk size ${size} is not a multiple of ${BLOCK} bytes`);
  if (size < usage.bytes) {
    throw new GuestError('bad-input', `Disk size ${fmtMiB(size)} is smaller than the content of "${opts.dir}" (${fmtMiB(usage.bytes)})`);
  }

  const tmp = join(dirname(output), `.${basename(output)}.tmp-${process.pid}`);
  try {
    await writeFile(tmp, '');
    await truncate(tmp, size);
    await runTool('mke2fs', [
      '-q', '-F', '-t', 'ext4',
      '-b', String(BLOCK), '-I', String(INODE_SIZE), '-N', String(inodeCount(usage, size)),
      '-m', '0', // a VM disk: no blocks reserved for root
      '-L', opts.label ?? 'wisp-root',
      '-E', 'root_owner=0:0',
      '-d', dir, tmp,
    ]);
    await rename(tmp, output);
  } catch (e) {
    await rm(tmp, { force: true });
    if (e instanceof GuestError) throw new GuestError(e.code, `Cannot build "${opts.output}" from "${opts.dir}": ${e.message}`, { cause: e });
    throw new GuestError('bad-input', `Cannot write "${opts.output}": ${(e as Error).message}`, { cause: e });
  }
  return { output, size, usage };
}

function fmtMiB(n: number): string {
  return `${(n / MIB).toFixed(1)} MiB`;
}
