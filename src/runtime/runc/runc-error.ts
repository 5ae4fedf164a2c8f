/**
 * The one error family of wisp-runc. `message` is a complete sentence naming the container, file or
 * runtime-spec field involved; the CLI prints it on stderr and writes it to the --log file, where
 * containerd's shim reads the last "error" entry to explain a failed command.
 *
 * Some messages keep the words runc uses, because the shim matches them: "does not exist" (delete and
 * kill of a container that is gone), "container not running" (kill after the process ended).
 */
export type RuncErrorCode =
  | 'usage' // a bad command line: unknown command or flag, missing argument
  | 'bad-bundle' // the bundle or its config.json is missing or malformed
  | 'unsupported' // config.json asks for something wisp-runc does not do (named in the message)
  | 'not-found' // no container with that id
  | 'exists' // create: the id is taken
  | 'bad-state' // the container is not in a state that allows the command
  | 'failed'; // the container's VM could not be built, booted or reached

export class RuncError extends Error {
  readonly code: RuncErrorCode;

  constructor(code: RuncErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RuncError';
    this.code = code;
  }
}
