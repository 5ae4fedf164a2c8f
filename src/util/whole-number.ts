/**
 * The one syntax for a whole number a person types (a flag value such as `--mem 512` or
 * `--http-api-max-payload-size 51200`): decimal digits only. No sign, fraction, exponent, hex or
 * separators, so `1e3`, `0x40`, `64.5` and `1_000` are all refused the same way, and a value is never
 * rounded: the range check is done on the digits, and the message repeats exactly what was given.
 */
export class WholeNumberError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WholeNumberError';
  }
}

export interface WholeNumberRange {
  min?: number;
  max?: number;
  /** Appended to the range message, e.g. "MiB". */
  unit?: string;
}

/** Parses `text` as a whole number for `what` ("--mem"); throws WholeNumberError naming both. */
export function parseWholeNumber(what: string, text: string, range: WholeNumberRange = {}): number {
  const t = text.trim();
  if (!/^[0-9]+$/.test(t)) throw new WholeNumberError(`${what} must be a whole number in decimal digits, got "${text}"`);
  const min = range.min ?? 0;
  const max = range.max ?? Number.MAX_SAFE_INTEGER;
  const v = BigInt(t);
  if (v < BigInt(min) || v > BigInt(max)) {
    const unit = range.unit ? ` ${range.unit}` : '';
    throw new WholeNumberError(`${what} must be ${max === Number.MAX_SAFE_INTEGER ? `at least ${min}` : `from ${min} to ${max}`}${unit}, got ${t}`);
  }
  return Number(v);
}
