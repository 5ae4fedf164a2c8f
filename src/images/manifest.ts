import { parseDigest } from './digest.js';
import { ImageError } from './image-error.js';

/**
 * The JSON documents of an image (OCI image-spec v1.1 and Docker's schema 2, which registries still
 * serve): index / manifest list, manifest, config. Parsed strictly enough that a malformed document
 * fails here with its name, not later as an undefined field.
 */
export const MediaType = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
} as const;

export const MANIFEST_ACCEPT = [MediaType.ociIndex, MediaType.ociManifest, MediaType.dockerList, MediaType.dockerManifest];

const LAYER_TYPES = new Set([
  'application/vnd.oci.image.layer.v1.tar',
  'application/vnd.oci.image.layer.v1.tar+gzip',
  'application/vnd.oci.image.layer.v1.tar+zstd',
  'application/vnd.oci.image.layer.nondistributable.v1.tar',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
  'application/vnd.docker.image.rootfs.diff.tar.gzip',
  'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
]);

export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform;
  annotations?: Record<string, string>;
  urls?: string[];
}

export interface Index {
  kind: 'index';
  manifests: Descriptor[];
}

export interface Manifest {
  kind: 'manifest';
  config: Descriptor;
  layers: Descriptor[];
}

/** The parts of the image config (image-spec config.md) that wisp runs by. */
export interface ImageConfig {
  architecture: string;
  os: string;
  config: {
    User?: string;
    Env?: string[];
    Entrypoint?: string[] | null;
    Cmd?: string[] | null;
    WorkingDir?: string;
    ExposedPorts?: Record<string, unknown>;
    StopSignal?: string;
    Labels?: Record<string, string>;
  };
  rootfs: { type: string; diff_ids: string[] };
}

function obj(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ImageError('bad-format', `${what} is not a JSON object`);
  return v as Record<string, unknown>;
}

function parseJson(bytes: Uint8Array, what: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (e) {
    throw new ImageError('bad-format', `${what} is not valid JSON: ${(e as Error).message}`, { cause: e });
  }
  return obj(v, what);
}

export function parseDescriptor(v: unknown, what: string): Descriptor {
  const d = obj(v, what);
  if (typeof d.mediaType !== 'string') throw new ImageError('bad-format', `${what} has no mediaType`);
  if (typeof d.digest !== 'string') throw new ImageError('bad-format', `${what} has no digest`);
  parseDigest(d.digest);
  if (typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0) throw new ImageError('bad-format', `${what} has no valid size`);
  const out: Descriptor = { mediaType: d.mediaType, digest: d.digest, size: d.size };
  if (d.platform !== undefined) {
    const p = obj(d.platform, `${what}'s platform`);
    if (typeof p.architecture !== 'string' || typeof p.os !== 'string') throw new ImageError('bad-format', `${what}'s platform lacks architecture or os`);
    out.platform = { architecture: p.architecture, os: p.os, variant: typeof p.variant === 'string' ? p.variant : undefined };
  }
  if (d.annotations !== undefined) out.annotations = obj(d.annotations, `${what}'s annotations`) as Record<string, string>;
  if (Array.isArray(d.urls)) out.urls = d.urls.filter((u): u is string => typeof u === 'string');
  return out;
}

/** An index or a manifest, told apart by mediaType (in the document or from the transport) or shape. */
export function parseManifestOrIndex(bytes: Uint8Array, what: string, transportType?: string): Index | Manifest {
  const doc = parseJson(bytes, what);
  const type = (typeof doc.mediaType === 'string' ? doc.mediaType : undefined) ?? transportType;
  const isIndex = type === MediaType.ociIndex || type === MediaType.dockerList || (type === undefined && Array.isArray(doc.manifests));
  if (isIndex) {
    if (!Array.isArray(doc.manifests)) throw new ImageError('bad-format', `${what} is an index without "manifests"`);
    return { kind: 'index', manifests: doc.manifests.map((m, i) => parseDescriptor(m, `${what}, manifests[${i}]`)) };
  }
  if (type !== undefined && type !== MediaType.ociManifest && type !== MediaType.dockerManifest) {
    throw new ImageError('bad-format', `${what} has the unsupported media type "${type}"`);
  }
  if (doc.schemaVersion !== 2) throw new ImageError('bad-format', `${what} is not a schema version 2 manifest`);
  if (!Array.isArray(doc.layers)) throw new ImageError('bad-format', `${what} has no "layers"`);
  const config = parseDescriptor(doc.config, `${what}'s config`);
  const layers = doc.layers.map((l, i) => parseDescriptor(l, `${what}, layers[${i}]`));
  for (const [i, l] of layers.entries()) {
    if (!LAYER_TYPES.has(l.mediaType)) throw new ImageError('bad-format', `${what}, layers[${i}] has the unsupported media type "${l.mediaType}"`);
  }
  return { kind: 'manifest', config, layers };
}

export function parseImageConfig(bytes: Uint8Array, what: string): ImageConfig {
  const doc = parseJson(bytes, what);
  if (typeof doc.architecture !== 'string' || typeof doc.os !== 'string') throw new ImageError('bad-format', `${what} lacks architecture or os`);
  const rootfs = obj(doc.rootfs, `${what}'s rootfs`);
  if (rootfs.type !== 'layers' || !Array.isArray(rootfs.diff_ids) || rootfs.diff_ids.some((d) => typeof d !== 'string')) {
    throw new ImageError('bad-format', `${what}'s rootfs is not {"type": "layers", "diff_ids": [...]}`);
  }
  for (const d of rootfs.diff_ids as string[]) parseDigest(d);
  const c = doc.config === undefined || doc.config === null ? {} : obj(doc.config, `${what}'s config`);
  const strings = (k: string): string[] | undefined => {
    const v = c[k];
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new ImageError('bad-format', `${what}: config.${k} is not a list of strings`);
    return v as string[];
  };
  const str = (k: string): string | undefined => {
    const v = c[k];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') throw new ImageError('bad-format', `${what}: config.${k} is not a string`);
    return v;
  };
  return {
    architecture: doc.architecture,
    os: doc.os,
    config: {
      User: str('User'), Env: strings('Env'), Entrypoint: strings('Entrypoint'), Cmd: strings('Cmd'), WorkingDir: str('WorkingDir'),
      StopSignal: str('StopSignal'),
      ExposedPorts: c.ExposedPorts as Record<string, unknown> | undefined,
      Labels: c.Labels as Record<string, string> | undefined,
    },
    rootfs: { type: 'layers', diff_ids: rootfs.diff_ids as string[] },
  };
}

export const WANTED_PLATFORM: Platform = { os: 'linux', architecture: 'riscv64' };

/** The index entry for linux/riscv64, or a no-platform error that lists what the index has. */
export function pickPlatform(index: Index, what: string, want: Platform = WANTED_PLATFORM): Descriptor {
  const match = index.manifests.find((m) => m.platform?.os === want.os && m.platform.architecture === want.architecture
    && (want.variant === undefined || m.platform.variant === want.variant));
  if (match) return match;
  const have = index.manifests.map((m) => (m.platform ? `${m.platform.os}/${m.platform.architecture}${m.platform.variant ? `/${m.platform.variant}` : ''}` : 'unknown'));
  throw new ImageError('no-platform', `${what} has no ${want.os}/${want.architecture} image (it has: ${[...new Set(have)].join(', ') || 'nothing'})`);
}
