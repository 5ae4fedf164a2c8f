import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ImageConfig } from './manifest.js';

/**
 * wisp's local image store, under `<cache>/images/`:
 *   refs/<hash>.json      a reference (with, for files, their size and time) → the manifest it resolved to
 *   images/<hex>.json     one image by manifest digest: its config and root disk
 *   rootfs/<key>.ext4     root disks, named by a hash of the layers' diff_ids (content, not source)
 *   tmp/                  downloads and staging trees of pulls in progress
 * Records are written to a temporary name and renamed, and an image record only after its root disk
 * is complete, so an interrupted or failed pull leaves nothing that a later run would trust.
 */
export const STORE_VERSION = 1;

export interface ImageRecord {
  version: number;
  reference: string;
  manifestDigest: string;
  configDigest: string;
  config: ImageConfig;
  /** File name under rootfs/. */
  rootfs: string;
  layers: number;
}

interface RefRecord {
  version: number;
  reference: string;
  manifestDigest: string;
}

export class ImageStore {
  readonly root: string;

  constructor(cacheDir: string) {
    this.root = join(cacheDir, 'images');
  }

  dir(name: 'refs' | 'images' | 'rootfs' | 'tmp'): string {
    const d = join(this.root, name);
    mkdirSync(d, { recursive: true });
    return d;
  }

  static hash(text: string): string {
    return createHash('sha256').update(text).digest('hex');
  }

  rootfsName(diffIds: readonly string[]): string {
    return `${ImageStore.hash(`wisp-rootfs v${STORE_VERSION}\n${diffIds.join('\n')}`)}.ext4`;
  }

  rootfsPath(name: string): string {
    return join(this.dir('rootfs'), name);
  }

  private writeJson(path: string, value: unknown): void {
    const tmp = `${path}.tmp-${process.pid}`;
    writeFileSync(tmp, JSON.stringify(value, null, 2));
    renameSync(tmp, path);
  }

  private readJson<T>(path: string): T | undefined {
    try {
      return JSON.parse(readFileSync(path, 'utf8')) as T;
    } catch {
      return undefined;
    }
  }

  /** An image whose record and root disk are both present. */
  image(manifestDigest: string): ImageRecord | undefined {
    const r = this.readJson<ImageRecord>(join(this.dir('images'), `${manifestDigest.replace(':', '-')}.json`));
    if (!r || r.version !== STORE_VERSION) return undefined;
    try {
      statSync(this.rootfsPath(r.rootfs));
    } catch {
      return undefined;
    }
    return r;
  }

  putImage(r: ImageRecord): void {
    this.writeJson(join(this.dir('images'), `${r.manifestDigest.replace(':', '-')}.json`), r);
  }

  resolve(refKey: string): string | undefined {
    const r = this.readJson<RefRecord>(join(this.dir('refs'), `${ImageStore.hash(refKey)}.json`));
    return r?.version === STORE_VERSION ? r.manifestDigest : undefined;
  }

  putRef(refKey: string, reference: string, manifestDigest: string): void {
    this.writeJson(join(this.dir('refs'), `${ImageStore.hash(refKey)}.json`), { version: STORE_VERSION, reference, manifestDigest } satisfies RefRecord);
  }
}
