import { createReadStream, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { parseDigest } from './digest.js';
import { ImageError } from './image-error.js';
import type { ImageSource } from './image-source.js';
import { parseDescriptor, type Descriptor } from './manifest.js';

/**
 * An OCI image layout (image-spec image-layout.md): `oci-layout`, `index.json`, `blobs/<alg>/<hex>`.
 * The tag picks the index.json entry whose `org.opencontainers.image.ref.name` annotation equals it;
 * without a tag the layout must hold exactly one entry.
 */
export const REF_NAME = 'org.opencontainers.image.ref.name';

export class OciLayoutSource implements ImageSource {
  constructor(readonly name: string, private readonly dir: string, private readonly tag?: string, private readonly cleanup?: () => Promise<void>) {}

  private read(rel: string, what: string): Buffer {
    try {
      return readFileSync(join(this.dir, rel));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new ImageError(code === 'ENOENT' ? 'not-found' : 'unreachable', `${this.name}: cannot read ${what} (${code ?? (e as Error).message})`, { cause: e });
    }
  }

  async top(): Promise<{ bytes: Uint8Array; digest?: string; mediaType?: string }> {
    try {
      if (!statSync(this.dir).isDirectory()) throw new ImageError('not-found', `${this.name}: "${this.dir}" is not a directory`);
    } catch (e) {
      if (e instanceof ImageError) throw e;
      throw new ImageError('not-found', `${this.name}: no such image layout directory "${this.dir}"`, { cause: e });
    }
    let layout: unknown;
    try {
      layout = JSON.parse(this.read('oci-layout', 'the oci-layout file').toString('utf8'));
    } catch (e) {
      if (e instanceof ImageError) throw e;
      throw new ImageError('bad-format', `${this.name}: oci-layout is not valid JSON`, { cause: e });
    }
    if ((layout as { imageLayoutVersion?: unknown })?.imageLayoutVersion !== '1.0.0') {
      throw new ImageError('bad-format', `${this.name}: oci-layout does not say imageLayoutVersion 1.0.0`);
    }
    let index: { manifests?: unknown };
    try {
      index = JSON.parse(this.read('index.json', 'index.json').toString('utf8'));
    } catch (e) {
      if (e instanceof ImageError) throw e;
      throw new ImageError('bad-format', `${this.name}: index.json is not valid JSON`, { cause: e });
    }
    if (!Array.isArray(index.manifests)) throw new ImageError('bad-format', `${this.name}: index.json has no "manifests"`);
    const entries = index.manifests.map((m, i) => parseDescriptor(m, `${this.name}: index.json manifests[${i}]`));
    let chosen: Descriptor | undefined;
    if (this.tag !== undefined) {
      chosen = entries.find((e) => e.annotations?.[REF_NAME] === this.tag);
      if (!chosen) {
        const tags = entries.map((e) => e.annotations?.[REF_NAME]).filter(Boolean);
        throw new ImageError('not-found', `${this.name}: no image tagged "${this.tag}" in the layout (tags: ${tags.join(', ') || 'none'})`);
      }
    } else if (entries.length === 1) {
      chosen = entries[0];
    } else {
      throw new ImageError('not-found', `${this.name}: the layout holds ${entries.length} images; name one with :TAG`);
    }
    const bytes = await readAll(await this.blob(chosen));
    return { bytes, digest: chosen.digest, mediaType: chosen.mediaType };
  }

  async manifest(desc: Descriptor): Promise<Uint8Array> {
    return readAll(await this.blob(desc));
  }

  async blob(desc: Descriptor): Promise<Readable> {
    const d = parseDigest(desc.digest);
    const path = join(this.dir, 'blobs', d.algorithm, d.hex);
    try {
      statSync(path);
    } catch (e) {
      throw new ImageError('not-found', `${this.name}: blob ${desc.digest} is missing from the layout`, { cause: e });
    }
    return createReadStream(path);
  }

  async close(): Promise<void> {
    await this.cleanup?.();
  }
}

export async function readAll(s: Readable, limit = 16 * 1024 * 1024): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of s) {
    n += (c as Buffer).length;
    if (n > limit) {
      s.destroy();
      throw new ImageError('bad-format', `A document is larger than ${limit} bytes`);
    }
    parts.push(c as Buffer);
  }
  return Buffer.concat(parts);
}
