import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { wispCacheDir } from '../guest/cache-dir.js';
import { DockerArchiveSource, openOciArchive } from './archive-source.js';
import { digestOf, DigestVerifier, verifyBlob } from './digest.js';
import { ImageError } from './image-error.js';
import type { ImageSource } from './image-source.js';
import { ImageStore, STORE_VERSION, type ImageRecord } from './image-store.js';
import { applyLayer } from './layer-apply.js';
import { LayerTree } from './layer-tree.js';
import { parseImageConfig, parseManifestOrIndex, pickPlatform, WANTED_PLATFORM, type Manifest } from './manifest.js';
import { OciLayoutSource, readAll } from './oci-layout.js';
import { formatReference, parseReference, type ImageReference } from './reference.js';
import { RegistrySource, type RegistryCredentials } from './registry-client.js';
import { buildRootfsImage } from './rootfs-image.js';

/**
 * `wisp run IMAGE`'s first step: resolve a reference to a linux/riscv64 image, check every document and
 * blob against its digest (and each layer's content against the config's diff_id), apply the layers
 * into an ext4 root disk, and keep it in the image store. A reference seen before resolves from the
 * store without reading the source again (pull: 'always' re-reads it; 'never' refuses to fetch).
 */

export interface PullOptions {
  /** Where images/ lives; default $WISP_IMAGE_CACHE, else wisp's cache ($WISP_CACHE or ~/.cache/wisp). */
  cacheDir?: string;
  /** 'missing' (default): use the store when the reference was resolved before. */
  pull?: 'missing' | 'always' | 'never';
  progress?: Writable | null;
  credentials?: RegistryCredentials;
}

export interface PulledImage extends ImageRecord {
  /** Absolute path of the (read-only, shared) root disk. */
  rootfsPath: string;
  /** Whether anything was fetched or built this time. */
  fresh: boolean;
}

/** A key that changes when the reference would resolve differently: files add their size and time. */
function refKey(ref: ImageReference): string {
  const text = formatReference(ref);
  if (ref.transport === 'registry') return text;
  const file = ref.transport === 'oci' ? join(ref.path, 'index.json') : ref.path;
  try {
    const st = statSync(file);
    return `${resolve(ref.path)}\n${text}\n${st.size}\n${st.mtimeMs}\n${st.ino}`;
  } catch {
    return '';
  }
}

async function openSource(ref: ImageReference, text: string, tmp: string, opts: PullOptions): Promise<ImageSource> {
  switch (ref.transport) {
    case 'oci': return new OciLayoutSource(text, ref.path, ref.tag);
    case 'oci-archive': return openOciArchive(text, ref.path, ref.tag, tmp);
    case 'docker-archive': return DockerArchiveSource.open(text, ref.path, ref.name, tmp);
    case 'registry': return new RegistrySource(text, ref.registry, ref.repository, ref.tag, ref.digest, { credentials: opts.credentials });
  }
}

export async function pullImage(text: string, opts: PullOptions = {}): Promise<PulledImage> {
  const ref = parseReference(text);
  // $WISP_IMAGE_CACHE keeps images apart from the guest cache (tests use a private one).
  const store = new ImageStore(opts.cacheDir ?? (process.env.WISP_IMAGE_CACHE || wispCacheDir()));
  const key = refKey(ref);
  const say = (line: string): void => { opts.progress?.write(`wisp: ${line}\n`); };
  if (opts.pull !== 'always' && key) {
    const known = store.resolve(key);
    const image = known && store.image(known);
    if (image) return { ...image, rootfsPath: store.rootfsPath(image.rootfs), fresh: false };
  }
  if (opts.pull === 'never') throw new ImageError('not-found', `${text} is not in the image store (and pulling was not allowed)`);

  const tmp = mkdtempSync(join(store.dir('tmp'), 'pull-'));
  let source: ImageSource | undefined;
  try {
    source = await openSource(ref, text, tmp, opts);
    const top = await source.top();
    if (top.digest) verifyBlob(`${text}: the manifest`, top.digest, top.bytes);
    let manifestDigest = top.digest ?? digestOf(top.bytes);
    let doc = parseManifestOrIndex(top.bytes, `${text}: the manifest`, top.mediaType);
    if (doc.kind === 'index') {
      const desc = pickPlatform(doc, text);
      const bytes = await source.manifest(desc);
      verifyBlob(`${text}: the ${WANTED_PLATFORM.os}/${WANTED_PLATFORM.architecture} manifest`, desc.digest, bytes, desc.size);
      manifestDigest = desc.digest;
      doc = parseManifestOrIndex(bytes, `${text}: the ${desc.digest} manifest`, desc.mediaType);
      if (doc.kind === 'index') throw new ImageError('bad-format', `${text}: the index entry for riscv64 is itself an index`);
    }
    const manifest: Manifest = doc;
    const configBytes = await readAll(await source.blob(manifest.config));
    verifyBlob(`${text}: the image config`, manifest.config.digest, configBytes, manifest.config.size);
    const config = parseImageConfig(configBytes, `${text}: the image config`);
    if (config.os !== WANTED_PLATFORM.os || config.architecture !== WANTED_PLATFORM.architecture) {
      throw new ImageError('no-platform', `${text} is a ${config.os}/${config.architecture} image, not ${WANTED_PLATFORM.os}/${WANTED_PLATFORM.architecture}`);
    }
    if (config.rootfs.diff_ids.length !== manifest.layers.length) {
      throw new ImageError('bad-format', `${text}: the manifest has ${manifest.layers.length} layers but the config ${config.rootfs.diff_ids.length} diff_ids`);
    }
    const rootfs = store.rootfsName(config.rootfs.diff_ids);
    const record: ImageRecord = {
      version: STORE_VERSION, reference: formatReference(ref), manifestDigest, configDigest: manifest.config.digest, config, rootfs, layers: manifest.layers.length,
    };
    let fresh = false;
    if (!store.image(manifestDigest)) {
      let have = false;
      try { statSync(store.rootfsPath(rootfs)); have = true; } catch { /* build it */ }
      if (!have) {
        fresh = true;
        const layerFiles: string[] = [];
        for (const [i, l] of manifest.layers.entries()) {
          const name = `${text}: layer ${i + 1} of ${manifest.layers.length} (${l.digest})`;
          say(`fetching layer ${i + 1}/${manifest.layers.length} ${l.digest.slice(0, 19)} (${(l.size / 1e6).toFixed(1)} MB)`);
          const file = join(tmp, `layer-${i}`);
          const v = new DigestVerifier(l.digest);
          const hasher = new Transform({ transform(c: Buffer, _e, cb) { v.update(c); cb(null, c); } });
          try {
            await pipeline(await source.blob(l), hasher, createWriteStream(file));
          } catch (e) {
            if (e instanceof ImageError) throw e;
            throw new ImageError('unreachable', `${name}: cannot be read: ${(e as Error).message}`, { cause: e });
          }
          v.check(name, l.size);
          layerFiles.push(file);
        }
        say(`applying ${manifest.layers.length} layer${manifest.layers.length === 1 ? '' : 's'} and building the root disk`);
        const tree = new LayerTree(join(tmp, 'tree'));
        for (const [i, l] of manifest.layers.entries()) {
          await applyLayer(tree, {
            name: `${text}: layer ${i + 1} of ${manifest.layers.length} (${l.digest})`,
            path: layerFiles[i], mediaType: l.mediaType, diffId: config.rootfs.diff_ids[i],
          });
          rmSync(layerFiles[i], { force: true });
        }
        await buildRootfsImage(tree, store.rootfsPath(rootfs));
      }
      store.putImage(record);
    }
    if (key) store.putRef(key, record.reference, manifestDigest);
    return { ...record, rootfsPath: store.rootfsPath(rootfs), fresh };
  } finally {
    await source?.close().catch(() => undefined);
    rmSync(tmp, { recursive: true, force: true });
  }
}
