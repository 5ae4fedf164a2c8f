import { createHash, type Hash } from 'node:crypto';
import { ImageError } from './image-error.js';

/**
 * Content digests (OCI image-spec descriptor.md "Digests"): `algorithm:encoded`, with the registered
 * algorithms sha256 (64 lower-case hex digits) and sha512 (128). Every blob wisp reads is hashed and
 * compared with the digest that named it before anything else looks at it.
 */
export interface Digest {
  algorithm: 'sha256' | 'sha512';
  hex: string;
}

const HEX_LENGTH = { sha256: 64, sha512: 128 } as const;

export function parseDigest(text: string): Digest {
  const m = /^([a-z0-9]+(?:[+._-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)$/.exec(text);
  if (!m) throw new ImageError('bad-format', `"${text}" is not a digest (algorithm:hex)`);
  const algorithm = m[1];
  if (algorithm !== 'sha256' && algorithm !== 'sha512') {
    throw new ImageError('bad-format', `Digest "${text}" uses the unsupported algorithm "${algorithm}" (sha256 and sha512 are)`);
  }
  const hex = m[2];
  if (hex.length !== HEX_LENGTH[algorithm] || !/^[0-9a-f]+$/.test(hex)) {
    throw new ImageError('bad-format', `Digest "${text}" is not ${HEX_LENGTH[algorithm]} lower-case hex digits`);
  }
  return { algorithm, hex };
}

export function digestOf(bytes: Uint8Array, algorithm: Digest['algorithm'] = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
}

/** Incremental hashing for a blob streamed to disk. */
export class DigestVerifier {
  private readonly hash: Hash;
  readonly expected: Digest;
  size = 0;

  constructor(readonly digest: string) {
    this.expected = parseDigest(digest);
    this.hash = createHash(this.expected.algorithm);
  }

  update(chunk: Uint8Array): void {
    this.hash.update(chunk);
    this.size += chunk.length;
  }

  /** Throws a digest-mismatch ImageError naming `what` unless the bytes seen hash to the digest. */
  check(what: string, expectedSize?: number): void {
    const got = this.hash.digest('hex');
    if (got !== this.expected.hex) {
      throw new ImageError('digest-mismatch', `${what}: content does not match its digest ${this.digest} (got ${this.expected.algorithm}:${got})`);
    }
    if (expectedSize !== undefined && expectedSize !== this.size) {
      throw new ImageError('digest-mismatch', `${what}: ${this.size} bytes, but its descriptor says ${expectedSize}`);
    }
  }
}

/** Checks a whole blob in memory. */
export function verifyBlob(what: string, digest: string, bytes: Uint8Array, size?: number): void {
  const v = new DigestVerifier(digest);
  v.update(bytes);
  v.check(what, size);
}
