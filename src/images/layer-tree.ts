import { closeSync, linkSync, lstatSync, mkdirSync, openSync, readdirSync, readlinkSync, rmSync, symlinkSync, unlinkSync, writeSync, lutimesSync, chmodSync, fchmodSync } from 'node:fs';
import { join, posix } from 'node:path';
import { ImageError } from './image-error.js';

/**
 * The root filesystem being assembled from an image's layers: a staging directory on the host that
 * holds the content (files, directories, symlinks, hard links), and beside it the metadata the layers
 * asked for. The host tree is owned by whoever runs wisp and keeps owner read/write/search bits, so
 * later layers can always write into it without root; the real owners, modes, device numbers and
 * times live in `meta` and are written into the ext4 image afterwards (rootfs-image.ts).
 *
 * Paths are always resolved inside the tree: a symlink met on the way is followed as the container
 * would see it (absolute targets from the tree's root, `..` stopping at the root), so no layer can
 * make wisp write outside the staging directory.
 */

export type EntryKind = 'file' | 'dir' | 'symlink' | 'char' | 'block' | 'fifo';

export interface EntryMeta {
  kind: EntryKind;
  /** Permission bits with setuid/setgid/sticky (07777). */
  mode: number;
  uid: number;
  gid: number;
  /** Seconds since the epoch. */
  mtime: number;
  /** Device numbers for char/block nodes. */
  major?: number;
  minor?: number;
}

/** Linux's limit on symlinks followed in one lookup (MAXSYMLINKS, include/linux/namei.h). */
const MAX_SYMLINKS = 40;
export const WHITEOUT_PREFIX = '.wh.';
export const OPAQUE_MARKER = '.wh..wh..opq';

export class LayerTree {
  /** Metadata by tree path ("etc/passwd"); the root is "". */
  readonly meta = new Map<string, EntryMeta>();
  /** Paths created or changed by the layer being applied (whiteouts do not reach them). */
  private current = new Set<string>();

  constructor(readonly root: string) {
    mkdirSync(root, { recursive: true });
    this.meta.set('', { kind: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: 0 });
  }

  /** Starts a new layer: whiteouts from now on hide only what earlier layers made. */
  beginLayer(): void {
    this.current = new Set();
  }

  /**
   * A tar member's name as a clean tree path: "./a//b/" → "a/b". Names that climb out ("../x") are
   * refused as a corrupt layer, as containerd refuses them.
   */
  static cleanName(name: string, layer: string): string {
    const parts: string[] = [];
    for (const p of name.split('/')) {
      if (p === '' || p === '.') continue;
      if (p === '..') throw new ImageError('corrupt-layer', `${layer}: member "${name}" points outside the root`);
      parts.push(p);
    }
    return parts.join('/');
  }

  /**
   * The real tree path for `path` with every directory component resolved (symlinks followed inside
   * the tree); the last component is not followed. Returns [parentTreePath, baseName].
   */
  resolveParent(path: string): [string, string] {
    const parts = path.split('/');
    const base = parts.pop()!;
    return [this.resolveDir(parts), base];
  }

  private resolveDir(parts: string[]): string {
    const out: string[] = [];
    const todo = [...parts];
    let hops = 0;
    while (todo.length) {
      const p = todo.shift()!;
      if (p === '' || p === '.') continue;
      if (p === '..') { out.pop(); continue; }
      const candidate = [...out, p].join('/');
      let st;
      try {
        st = lstatSync(join(this.root, candidate));
      } catch {
        out.push(p);
        continue;
      }
      if (st.isSymbolicLink()) {
        if (++hops > MAX_SYMLINKS) throw new ImageError('corrupt-layer', `Too many levels of symbolic links resolving "${parts.join('/')}"`);
        const target = readlinkSync(join(this.root, candidate));
        if (target.startsWith('/')) out.length = 0;
        todo.unshift(...target.split('/'));
        continue;
      }
      out.push(p);
    }
    return out.join('/');
  }

  private host(treePath: string): string {
    return treePath === '' ? this.root : join(this.root, treePath);
  }

  /** Makes sure the directory exists (and its parents), recording implicit ones as root's 0755. */
  private ensureDir(treePath: string): void {
    if (treePath === '') return;
    const st = lstatOrNull(this.host(treePath));
    if (st?.isDirectory()) return;
    const parent = posix.dirname(treePath);
    this.ensureDir(parent === '.' ? '' : parent);
    if (st) rmSync(this.host(treePath), { recursive: true, force: true });
    mkdirSync(this.host(treePath), { mode: 0o755 });
    if (!this.meta.has(treePath)) this.meta.set(treePath, { kind: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: 0 });
  }

  /** Removes whatever is at the (already resolved) tree path, and its metadata. */
  private remove(treePath: string): void {
    const wasDir = lstatOrNull(this.host(treePath))?.isDirectory();
    rmSync(this.host(treePath), { recursive: true, force: true });
    this.meta.delete(treePath);
    if (wasDir) for (const k of [...this.meta.keys()]) if (k.startsWith(treePath + '/')) this.meta.delete(k);
  }

  /** Where a new entry named `path` goes: its parent made real, whatever was there cleared (unless a dir stays a dir). */
  private place(path: string, keepDir: boolean): string {
    const [parent, base] = this.resolveParent(path);
    this.ensureDir(parent);
    const at = parent === '' ? base : `${parent}/${base}`;
    const st = lstatOrNull(this.host(at));
    if (st && !(keepDir && st.isDirectory())) this.remove(at);
    this.current.add(at);
    return at;
  }

  addDirectory(path: string, m: Omit<EntryMeta, 'kind'>): void {
    if (path === '') { this.meta.set('', { kind: 'dir', ...m }); return; }
    const at = this.place(path, true);
    if (!lstatOrNull(this.host(at))) mkdirSync(this.host(at), { mode: 0o755 });
    chmodSync(this.host(at), (m.mode & 0o777) | 0o700);
    this.meta.set(at, { kind: 'dir', ...m });
  }

  /** Opens a new regular file for its content; returns a writer to feed and close. */
  addFile(path: string, m: Omit<EntryMeta, 'kind'>): { write(b: Uint8Array): void; close(): void } {
    const at = this.place(path, false);
    const fd = openSync(this.host(at), 'wx', 0o600);
    // Owner read/write always (later layers may rewrite it); the rest as asked, so fewer fix-ups.
    fchmodSync(fd, (m.mode & 0o777) | 0o600);
    this.meta.set(at, { kind: 'file', ...m });
    return {
      write: (b) => { let o = 0; while (o < b.length) o += writeSync(fd, b, o, b.length - o); },
      close: () => closeSync(fd),
    };
  }

  addSymlink(path: string, target: string, m: Omit<EntryMeta, 'kind'>): void {
    const at = this.place(path, false);
    symlinkSync(target, this.host(at));
    this.meta.set(at, { kind: 'symlink', ...m });
  }

  /** A hard link to an entry an earlier member (of this or a lower layer) made. */
  addHardLink(path: string, target: string, layer: string): void {
    const [tParent, tBase] = this.resolveParent(target);
    const tAt = tParent === '' ? tBase : `${tParent}/${tBase}`;
    const tMeta = this.meta.get(tAt);
    if (!tMeta || !lstatOrNull(this.host(tAt))) throw new ImageError('corrupt-layer', `${layer}: hard link "${path}" names "${target}", which does not exist`);
    if (tMeta.kind === 'dir') throw new ImageError('corrupt-layer', `${layer}: hard link "${path}" names the directory "${target}"`);
    const at = this.place(path, false);
    linkSync(this.host(tAt), this.host(at));
    this.meta.set(at, { ...tMeta });
  }

  /** Device nodes and FIFOs: an empty placeholder here (making them needs root); the image gets the real node. */
  addNode(path: string, kind: 'char' | 'block' | 'fifo', m: Omit<EntryMeta, 'kind'>): void {
    const at = this.place(path, false);
    closeSync(openSync(this.host(at), 'wx', 0o600));
    this.meta.set(at, { kind, ...m });
  }

  /** `.wh.NAME`: NAME (from a lower layer) is deleted. */
  whiteout(dirPath: string, name: string): void {
    const parent = this.resolveDir(dirPath === '' ? [] : dirPath.split('/'));
    const at = parent === '' ? name : `${parent}/${name}`;
    if (this.current.has(at)) return;
    if (lstatOrNull(this.host(at))) this.remove(at);
    else this.meta.delete(at);
  }

  /** `.wh..wh..opq`: the directory hides everything lower layers put in it. */
  opaque(dirPath: string): void {
    const at = this.resolveDir(dirPath === '' ? [] : dirPath.split('/'));
    this.ensureDir(at);
    this.current.add(at);
    this.clearLower(at);
  }

  private clearLower(dir: string): void {
    for (const name of readdirSync(this.host(dir))) {
      const p = dir === '' ? name : `${dir}/${name}`;
      if (!this.current.has(p)) this.remove(p);
      else if (this.meta.get(p)?.kind === 'dir') this.clearLower(p);
    }
  }

  /** Puts the recorded times on the host tree (mke2fs copies them); deepest first, so a parent's is last. */
  applyTimes(): void {
    const paths = [...this.meta.keys()].sort((a, b) => b.length - a.length);
    for (const p of paths) {
      const m = this.meta.get(p)!;
      try {
        lutimesSync(this.host(p), m.mtime, m.mtime);
      } catch {
        // The path vanished under a later whiteout's parent; nothing to date.
      }
    }
  }
}

function lstatOrNull(p: string) {
  try {
    return lstatSync(p);
  } catch {
    return undefined;
  }
}
