import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { digestOf } from '../digest.js';
import { MediaType, type Descriptor, type ImageConfig } from '../manifest.js';
import { REF_NAME } from '../oci-layout.js';
import { tarBytes, type TarEntry } from './tar-writer.js';

/**
 * wisp's own image writer, for tests and benchmarks: an OCI image layout from layer trees (each a list
 * of tar entries, or a ready tar), with gzip, zstd (the host's `zstd`) or no compression per layer, an
 * optional multi-platform index, and the image config. Archives are a tar of the layout (oci-archive)
 * or `docker save`'s shape (docker-archive).
 */
export interface LayerSpec {
  entries?: TarEntry[];
  /** An uncompressed tar made elsewhere (e.g. of an unpacked Debian userland). */
  tar?: Buffer;
  compression?: 'gzip' | 'zstd' | 'none';
}

export interface ImageSpec {
  layers: LayerSpec[];
  config?: Partial<ImageConfig['config']>;
  architecture?: string;
  /** Also list images for these other architectures (with the same layers) in an index. */
  otherPlatforms?: string[];
  /** Wrap the manifest in an index even with one platform. */
  index?: boolean;
  tag?: string;
}

export interface WrittenImage {
  manifestDigest: string;
  configDigest: string;
  layerDigests: string[];
  diffIds: string[];
  /** Blob path by digest, for tests that corrupt one. */
  blobPath(digest: string): string;
}

export function compress(tar: Buffer, how: 'gzip' | 'zstd' | 'none'): Buffer {
  if (how === 'none') return tar;
  if (how === 'gzip') return gzipSync(tar, { level: 1 });
  const r = spawnSync('zstd', ['-q', '-c', '-3'], { input: tar, maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`zstd failed (is the host's zstd installed?): ${r.stderr}`);
  return r.stdout;
}

const LAYER_MEDIA = { gzip: 'application/vnd.oci.image.layer.v1.tar+gzip', zstd: 'application/vnd.oci.image.layer.v1.tar+zstd', none: 'application/vnd.oci.image.layer.v1.tar' };

export function writeOciLayout(dir: string, spec: ImageSpec): WrittenImage {
  const blobs = join(dir, 'blobs', 'sha256');
  mkdirSync(blobs, { recursive: true });
  const put = (bytes: Buffer, mediaType: string): Descriptor => {
    const digest = digestOf(bytes);
    writeFileSync(join(blobs, digest.slice(7)), bytes);
    return { mediaType, digest, size: bytes.length };
  };
  const diffIds: string[] = [];
  const layers = spec.layers.map((l) => {
    const tar = l.tar ?? tarBytes(l.entries ?? []);
    diffIds.push(digestOf(tar));
    const how = l.compression ?? 'gzip';
    return put(compress(tar, how), LAYER_MEDIA[how]);
  });
  let configDigest = '';
  const manifestFor = (arch: string): Descriptor => {
    const config = put(Buffer.from(JSON.stringify({
      architecture: arch, os: 'linux', config: spec.config ?? {}, rootfs: { type: 'layers', diff_ids: diffIds },
    })), MediaType.ociConfig);
    configDigest = config.digest;
    const m = put(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociManifest, config, layers })), MediaType.ociManifest);
    return { ...m, platform: { architecture: arch, os: 'linux' } };
  };
  const arch = spec.architecture ?? 'riscv64';
  const others = (spec.otherPlatforms ?? []).map(manifestFor);
  const main = manifestFor(arch);
  let top: Descriptor = main;
  if (spec.index || spec.otherPlatforms?.length) {
    const entries = [...others, main];
    top = put(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: entries })), MediaType.ociIndex);
  }
  writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const annotated = { ...top, platform: undefined, annotations: spec.tag ? { [REF_NAME]: spec.tag } : undefined };
  writeFileSync(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [annotated] }));
  return {
    manifestDigest: main.digest, configDigest, layerDigests: layers.map((l) => l.digest), diffIds,
    blobPath: (d) => join(blobs, d.slice(7)),
  };
}

/** A tar of every file under `dir` (an OCI layout → oci-archive), via the host's tar. */
export function tarDirectory(dir: string, output: string): void {
  const r = spawnSync('tar', ['-cf', output, '-C', dir, '.']);
  if (r.status !== 0) throw new Error(`tar failed: ${r.stderr}`);
}

/** `docker save`'s layout: manifest.json, <config hex>.json, <n>/layer.tar, then tarred. */
export function writeDockerArchive(output: string, workDir: string, spec: ImageSpec & { repoTag?: string }): void {
  mkdirSync(workDir, { recursive: true });
  const diffIds: string[] = [];
  const layerPaths = spec.layers.map((l, i) => {
    const tar = l.tar ?? tarBytes(l.entries ?? []);
    diffIds.push(digestOf(tar));
    mkdirSync(join(workDir, String(i)), { recursive: true });
    writeFileSync(join(workDir, String(i), 'layer.tar'), compress(tar, l.compression ?? 'none'));
    return `${i}/layer.tar`;
  });
  const config = Buffer.from(JSON.stringify({ architecture: spec.architecture ?? 'riscv64', os: 'linux', config: spec.config ?? {}, rootfs: { type: 'layers', diff_ids: diffIds } }));
  const configName = `${digestOf(config).slice(7)}.json`;
  writeFileSync(join(workDir, configName), config);
  writeFileSync(join(workDir, 'manifest.json'), JSON.stringify([{ Config: configName, RepoTags: spec.repoTag ? [spec.repoTag] : null, Layers: layerPaths }]));
  tarDirectory(workDir, output);
}
