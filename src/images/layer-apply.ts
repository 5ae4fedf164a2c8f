import { createReadStream } from 'node:fs';
import { Transform, Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { Decompress as ZstdDecompress } from 'fzstd';
import { Parser, type ReadEntry } from 'tar';
import { DigestVerifier } from './digest.js';
import { ImageError } from './image-error.js';
import { LayerTree, OPAQUE_MARKER, WHITEOUT_PREFIX } from './layer-tree.js';

/**
 * Applies one layer (image-spec layer.md: a tar changeset, possibly gzip- or zstd-compressed) onto a
 * LayerTree, in member order: whiteouts `.wh.NAME` delete NAME from lower layers, `.wh..wh..opq`
 * hides a directory's lower contents, everything else is created or replaces what was there.
 * The uncompressed stream is hashed as it goes and checked against the layer's diff_id (from the
 * image config), so a layer that decompresses to other bytes is refused.
 */

export type Compression = 'gzip' | 'zstd' | 'none';

export function compressionOf(mediaType: string | undefined, head: Uint8Array): Compression {
  // The bytes decide when they carry a magic number (docker-archive layers have no media type); a
  // media type that promises compression over bytes without it then fails in the decompressor.
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return 'zstd';
  if (mediaType?.endsWith('+gzip') || mediaType?.endsWith('.tar.gzip')) return 'gzip';
  if (mediaType?.endsWith('+zstd')) return 'zstd';
  return 'none';
}

/** fzstd's streaming decoder as a Node Transform (Node 20's zlib has no zstd). */
function zstdStream(): Transform {
  let out: Transform;
  const z = new ZstdDecompress((chunk) => { out.push(Buffer.from(chunk)); });
  out = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      try { z.push(chunk); cb(); } catch (e) { cb(e as Error); }
    },
    flush(cb) {
      try { z.push(new Uint8Array(0), true); cb(); } catch (e) { cb(e as Error); }
    },
  });
  return out;
}

export interface LayerInput {
  /** For messages: "layer 2 of 3 (sha256:…)". */
  name: string;
  /** The blob on disk (already checked against its own digest). */
  path: string;
  mediaType?: string;
  /** The uncompressed digest from the config's rootfs.diff_ids, when known. */
  diffId?: string;
}

async function readHead(path: string): Promise<Uint8Array> {
  const s = createReadStream(path, { start: 0, end: 3 });
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

export async function applyLayer(tree: LayerTree, layer: LayerInput): Promise<void> {
  const compression = compressionOf(layer.mediaType, await readHead(layer.path));
  const verifier = layer.diffId ? new DigestVerifier(layer.diffId) : undefined;
  const hasher = new Transform({
    transform(chunk: Buffer, _e, cb) { verifier?.update(chunk); cb(null, chunk); },
  });
  tree.beginLayer();
  let failure: Error | undefined;
  const fail = (e: unknown): void => {
    failure ??= e instanceof ImageError ? e : new ImageError('corrupt-layer', `${layer.name}: ${(e as Error).message}`, { cause: e });
  };
  const parser = new Parser({ strict: true });
  parser.on('entry', (entry: ReadEntry) => {
    if (failure) { entry.resume(); return; }
    try {
      applyEntry(tree, entry, layer.name, fail);
    } catch (e) {
      fail(e);
      entry.resume();
    }
  });
  parser.on('warn', (_code: string, message: string) => fail(new Error(message)));
  const sink = new Writable({
    write(chunk: Buffer, _e, cb) {
      // Parser.write returns false while an entry's reader is behind; wait for it to drain.
      if (parser.write(chunk)) cb(); else parser.once('drain', () => cb());
    },
    final(cb) {
      parser.once('end', () => cb());
      parser.once('error', (e: Error) => cb(e));
      parser.end();
    },
  });
  parser.on('error', (e: Error) => fail(e));
  const stages: (Readable | Transform | Writable)[] = [createReadStream(layer.path)];
  if (compression === 'gzip') stages.push(createGunzip());
  if (compression === 'zstd') stages.push(zstdStream());
  stages.push(hasher, sink);
  try {
    await pipeline(stages as [Readable, ...Transform[], Writable]);
  } catch (e) {
    fail(e);
  }
  if (failure) throw failure;
  verifier?.check(`${layer.name} (uncompressed)`);
}

function applyEntry(tree: LayerTree, entry: ReadEntry, layerName: string, fail: (e: unknown) => void): void {
  const path = LayerTree.cleanName(entry.path, layerName);
  const slash = path.lastIndexOf('/');
  const dir = slash < 0 ? '' : path.slice(0, slash);
  const base = slash < 0 ? path : path.slice(slash + 1);
  const meta = {
    mode: (entry.mode ?? 0o644) & 0o7777,
    uid: entry.uid ?? 0,
    gid: entry.gid ?? 0,
    mtime: entry.mtime ? Math.floor(entry.mtime.getTime() / 1000) : 0,
  };
  if (base.startsWith(WHITEOUT_PREFIX)) {
    if (base === OPAQUE_MARKER) tree.opaque(dir);
    else tree.whiteout(dir, base.slice(WHITEOUT_PREFIX.length));
    entry.resume();
    return;
  }
  switch (entry.type) {
    case 'Directory':
      tree.addDirectory(path, meta);
      entry.resume();
      return;
    case 'File':
    case 'OldFile':
    case 'ContiguousFile': {
      if (path === '') throw new ImageError('corrupt-layer', `${layerName}: a file member names the root`);
      const w = tree.addFile(path, meta);
      entry.on('data', (b: Buffer) => { try { w.write(b); } catch (e) { fail(e); } });
      entry.on('end', () => { try { w.close(); } catch (e) { fail(e); } });
      return;
    }
    case 'SymbolicLink':
      tree.addSymlink(path, entry.linkpath ?? '', meta);
      entry.resume();
      return;
    case 'Link':
      tree.addHardLink(path, LayerTree.cleanName(entry.linkpath ?? '', layerName), layerName);
      entry.resume();
      return;
    case 'CharacterDevice':
    case 'BlockDevice':
    case 'FIFO':
      tree.addNode(path, entry.type === 'FIFO' ? 'fifo' : entry.type === 'CharacterDevice' ? 'char' : 'block', {
        ...meta, major: entry.header.devmaj ?? 0, minor: entry.header.devmin ?? 0,
      });
      entry.resume();
      return;
    default:
      // Pax/GNU meta entries are consumed by the parser; anything else (sockets, sparse files) is refused.
      throw new ImageError('corrupt-layer', `${layerName}: member "${entry.path}" has the unsupported type ${entry.type}`);
  }
}
