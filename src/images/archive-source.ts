import { createReadStream, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { x as extractTar } from 'tar';
import { digestOf, parseDigest } from './digest.js';
import { ImageError } from './image-error.js';
import type { ImageSource } from './image-source.js';
import { MediaType, type Descriptor } from './manifest.js';
import { OciLayoutSource } from './oci-layout.js';

/**
 * Image archives: `oci-archive:` (an OCI layout in a tar) and `docker-archive:` (`docker save`:
 * manifest.json listing Config, RepoTags and Layers by path). Both are unpacked into a private
 * temporary directory that close() removes.
 */

async function unpack(name: string, file: string, tmpRoot: string): Promise<string> {
  try {
    if (!statSync(file).isFile()) throw new Error('not a regular file');
  } catch (e) {
    throw new ImageError('not-found', `${name}: cannot open the archive "${file}" (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { cause: e });
  }
  const dir = mkdtempSync(join(tmpRoot, 'archive-'));
  try {
    // No owners or modes from the archive: it is only read back as data.
    await extractTar({ file, cwd: dir, strict: true, preserveOwner: false, noChmod: true });
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw new ImageError('bad-format', `${name}: "${file}" is not a readable tar archive: ${(e as Error).message}`, { cause: e });
  }
  return dir;
}

export async function openOciArchive(name: string, file: string, tag: string | undefined, tmpRoot: string): Promise<ImageSource> {
  const dir = await unpack(name, file, tmpRoot);
  return new OciLayoutSource(name, dir, tag, async () => rmSync(dir, { recursive: true, force: true }));
}

interface DockerManifestEntry {
  Config: string;
  RepoTags?: string[] | null;
  Layers: string[];
}

/**
 * A docker-archive as a source: its one image (or the one NAME:TAG picks) becomes a synthesized
 * Docker schema 2 manifest. Layer files are named by path, not digest; they are described by the
 * digest of their bytes, and the puller checks their content against the config's diff_ids.
 */
export class DockerArchiveSource implements ImageSource {
  private manifestBytes: Buffer | undefined;
  private readonly paths = new Map<string, string>();

  private constructor(readonly name: string, private readonly dir: string, private readonly wanted?: string) {}

  static async open(name: string, file: string, wanted: string | undefined, tmpRoot: string): Promise<DockerArchiveSource> {
    return new DockerArchiveSource(name, await unpack(name, file, tmpRoot), wanted);
  }

  private file(rel: string, what: string): string {
    const p = join(this.dir, rel);
    if (!p.startsWith(this.dir + '/')) throw new ImageError('bad-format', `${this.name}: ${what} "${rel}" points outside the archive`);
    try {
      statSync(p);
    } catch (e) {
      throw new ImageError('bad-format', `${this.name}: ${what} "${rel}" is missing from the archive`, { cause: e });
    }
    return p;
  }

  async top(): Promise<{ bytes: Uint8Array; digest?: string; mediaType?: string }> {
    let entries: DockerManifestEntry[];
    try {
      entries = JSON.parse(readFileSync(this.file('manifest.json', 'the file'), 'utf8'));
      if (!Array.isArray(entries)) throw new Error('not a list');
    } catch (e) {
      if (e instanceof ImageError) throw e;
      throw new ImageError('bad-format', `${this.name}: manifest.json is not a list of images: ${(e as Error).message}`, { cause: e });
    }
    let entry: DockerManifestEntry | undefined;
    if (this.wanted !== undefined) {
      const want = this.wanted.includes(':') ? this.wanted : `${this.wanted}:latest`;
      entry = entries.find((e) => e.RepoTags?.some((t) => t === want || t.endsWith(`/${want}`)));
      if (!entry) throw new ImageError('not-found', `${this.name}: no image "${want}" in the archive (it has: ${entries.flatMap((e) => e.RepoTags ?? []).join(', ') || 'untagged images'})`);
    } else if (entries.length === 1) {
      entry = entries[0];
    } else {
      throw new ImageError('not-found', `${this.name}: the archive holds ${entries.length} images; name one with :NAME:TAG`);
    }
    if (typeof entry.Config !== 'string' || !Array.isArray(entry.Layers)) throw new ImageError('bad-format', `${this.name}: manifest.json entry lacks Config or Layers`);
    const describe = (rel: string, what: string, mediaType: string): Descriptor => {
      const path = this.file(rel, what);
      const bytes = readFileSync(path);
      const digest = digestOf(bytes);
      // Names like blobs/sha256/<hex> or <hex>.json carry a digest of their own: it must agree.
      const named = /(?:^|\/)(?:blobs\/sha256\/)?([0-9a-f]{64})(?:\.json)?$/.exec(rel);
      if (named && `sha256:${named[1]}` !== digest && /blobs\/sha256\/|\.json$/.test(rel)) {
        throw new ImageError('digest-mismatch', `${this.name}: ${what} "${rel}" does not match the digest in its name (got ${digest})`);
      }
      this.paths.set(digest, path);
      return { mediaType, digest, size: bytes.length };
    };
    const config = describe(entry.Config, 'config', MediaType.dockerConfig);
    // `docker save` writes plain tars (newer Dockers may keep them compressed): described as plain,
    // the layer applier then goes by the bytes' magic number (gzip, zstd or none).
    const layers = entry.Layers.map((l, i) => describe(l, `layer ${i + 1}`, 'application/vnd.oci.image.layer.v1.tar'));
    this.manifestBytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.dockerManifest, config, layers }));
    return { bytes: this.manifestBytes, mediaType: MediaType.dockerManifest };
  }

  async manifest(desc: Descriptor): Promise<Uint8Array> {
    throw new ImageError('bad-format', `${this.name}: a docker archive has no manifest ${desc.digest}`);
  }

  async blob(desc: Descriptor): Promise<Readable> {
    parseDigest(desc.digest);
    const p = this.paths.get(desc.digest);
    if (!p) throw new ImageError('not-found', `${this.name}: no blob ${desc.digest} in the archive`);
    return createReadStream(p);
  }

  async close(): Promise<void> {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
