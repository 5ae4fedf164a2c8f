import { lstatSync, rename, rmSync } from 'node:fs';
import { promisify } from 'node:util';
import { basename, dirname, join } from 'node:path';
import { buildRootfs, defaultRootfsSize, treeUsage } from '../guest/rootfs.js';
import { runTool } from '../guest/host-tool.js';
import { ImageError } from './image-error.js';
import type { EntryMeta, LayerTree } from './layer-tree.js';

/**
 * A LayerTree → an ext4 image, without root: e2fsprogs' `mke2fs -d` copies the staging tree (content,
 * symlinks, hard links, times), then one `debugfs -w` session puts in what an unprivileged host tree
 * cannot hold: the layers' owners, exact modes (setuid/setgid, modes without owner write) and device
 * nodes and FIFOs. The image is made under a temporary name and renamed into place when complete.
 */

const S_IFMT = { file: 0o100000, dir: 0o040000, symlink: 0o120000, char: 0o020000, block: 0o060000, fifo: 0o010000 } as const;

export interface RootfsImageOptions {
  /** Extra free space in bytes (default: what defaultRootfsSize leaves). */
  extraBytes?: number;
  label?: string;
}

/** debugfs arguments are parsed by libss: double quotes group, and nothing escapes a quote or newline. */
function quote(path: string): string {
  if (/["\n\r]/.test(path)) throw new ImageError('build-failed', `Cannot put "${path}" into the root disk: its name holds a quote or line break`);
  return `"${path}"`;
}

/** The debugfs commands that make the image's inodes say what the layers said. */
export function fixupCommands(tree: LayerTree): string[] {
  const cmds: string[] = [];
  for (const [path, m] of tree.meta) {
    const p = '/' + path;
    let st;
    try {
      st = lstatSync(path === '' ? tree.root : join(tree.root, path));
    } catch {
      continue;
    }
    const node = m.kind === 'char' || m.kind === 'block' || m.kind === 'fifo';
    if (node) {
      // debugfs's mknod makes the name in its working directory, taken literally.
      const slash = p.lastIndexOf('/');
      const base = quote(p.slice(slash + 1));
      cmds.push(`rm ${quote(p)}`, `cd ${quote(p.slice(0, slash) || '/')}`);
      cmds.push(m.kind === 'fifo' ? `mknod ${base} p` : `mknod ${base} ${m.kind === 'char' ? 'c' : 'b'} ${m.major ?? 0} ${m.minor ?? 0}`);
      cmds.push('cd /');
    }
    const hostMode = st.mode & 0o7777;
    if (node || hostMode !== (m.mode & 0o7777)) cmds.push(`sif ${quote(p)} mode 0${(S_IFMT[m.kind] | (m.mode & 0o7777)).toString(8)}`);
    if (node || st.uid !== m.uid) cmds.push(`sif ${quote(p)} uid ${m.uid}`);
    if (node || st.gid !== m.gid) cmds.push(`sif ${quote(p)} gid ${m.gid}`);
    if (node) cmds.push(`sif ${quote(p)} mtime ${m.mtime}`);
  }
  return cmds;
}

export async function buildRootfsImage(tree: LayerTree, output: string, opts: RootfsImageOptions = {}): Promise<{ size: number }> {
  tree.applyTimes();
  const usage = await treeUsage(tree.root);
  const size = defaultRootfsSize(usage) + Math.ceil((opts.extraBytes ?? 0) / 4096) * 4096;
  const tmp = join(dirname(output), `.${basename(output)}.build-${process.pid}`);
  try {
    await buildRootfs({ dir: tree.root, output: tmp, size, label: opts.label ?? 'wisp-image' });
    const cmds = fixupCommands(tree);
    if (cmds.length) {
      const r = await runTool('debugfs', ['-w', '-f', '-', tmp], { input: Buffer.from(cmds.join('\n') + '\n') });
      // debugfs reports a failed command on stderr and carries on; any such line fails the build.
      const errors = r.stderr.split('\n').filter((l) => l.trim() && !/^debugfs \d/.test(l));
      if (errors.length) throw new ImageError('build-failed', `debugfs could not set owners and modes: ${errors.slice(0, 3).join('; ')}`);
    }
    await promisify(rename)(tmp, output);
  } catch (e) {
    rmSync(tmp, { force: true });
    if (e instanceof ImageError) throw e;
    throw new ImageError('build-failed', `Cannot build the root disk ${output}: ${(e as Error).message}`, { cause: e });
  }
  return { size };
}

export type { EntryMeta };
