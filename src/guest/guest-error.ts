/**
 * The one error family of the guest tooling. `code` lets callers switch exhaustively; `message` is a
 * complete sentence naming the file, flag or tool involved, ready for a one-line CLI error.
 */
export type GuestErrorCode =
  | 'bad-input' // a flag, file or argument the user gave is wrong
  | 'not-found' // a file or directory that should exist does not
  | 'missing-tool' // a host program (xz, mke2fs, apt-get, ...) is not installed
  | 'tool-failed' // a host program ran and failed
  | 'bad-format' // bytes are not what they claim to be (kernel, module, package)
  | 'fetch-failed'; // Debian's archive could not be reached or did not have what we need

export class GuestError extends Error {
  readonly code: GuestErrorCode;

  constructor(code: GuestErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'GuestError';
    this.code = code;
  }
}
