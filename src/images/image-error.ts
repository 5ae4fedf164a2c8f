/**
 * The one error family of the image tooling (references, sources, registries, layers, root disks).
 * `code` lets callers switch exhaustively; `message` is a complete sentence naming the image, blob or
 * file involved, ready for a one-line CLI error.
 */
export type ImageErrorCode =
  | 'bad-reference' // the image reference does not parse
  | 'not-found' // the image, tag, blob or file does not exist
  | 'unreachable' // the registry or file could not be reached or read
  | 'auth-failed' // the registry refused our credentials or token
  | 'no-platform' // the index has no linux/riscv64 manifest
  | 'digest-mismatch' // bytes do not hash to the digest that names them
  | 'bad-format' // a manifest, config, index or archive is malformed or of an unsupported type
  | 'corrupt-layer' // a layer does not decompress or is not a valid tar
  | 'build-failed'; // the root disk could not be built (mke2fs/debugfs failed, disk full)

export class ImageError extends Error {
  readonly code: ImageErrorCode;

  constructor(code: ImageErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ImageError';
    this.code = code;
  }
}
