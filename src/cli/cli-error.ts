import { parseWholeNumber, WholeNumberError, type WholeNumberRange } from '../util/whole-number.js';

/** A user error on the command line: printed as one line, exit status non-zero, no stack trace. */
export class CliError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliError';
  }
}

/**
 * A whole-number flag (util/whole-number.ts: decimal digits only, never rounded), positive unless
 * `range` says otherwise, with a message naming the flag.
 */
export function parseNumberFlag(flag: string, value: string | undefined, fallback: number, range: WholeNumberRange = {}): number {
  if (value === undefined) return fallback;
  try {
    return parseWholeNumber(flag, value, { min: 1, ...range });
  } catch (e) {
    if (e instanceof WholeNumberError) throw new CliError(e.message);
    throw e;
  }
}
