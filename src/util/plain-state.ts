/**
 * Checks for plain, versioned state being restored (a snapshot's parts): each names the field it
 * refuses, so a state file that parses but does not fit gets a clear error, never a half-restored
 * machine. 64-bit values travel as hex strings ("0x…"): exact, and readable in `wisp snapshot info`.
 */

/** A field of a state being restored did not have the shape it must have. */
export class StateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StateError';
  }
}

/** int32 pair → "0x…" (unsigned, lower case, no padding). */
export function u64Hex(lo: number, hi: number): string {
  return '0x' + ((BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0)).toString(16);
}

/** "0x…" → int32 pair [lo, hi]; throws StateError naming `what` for anything else. */
export function parseU64(s: unknown, what: string): [number, number] {
  if (typeof s !== 'string' || !/^0x[0-9a-f]{1,16}$/.test(s)) {
    throw new StateError(`${what} must be a 64-bit hex string ("0x…"), got ${JSON.stringify(s)?.slice(0, 40)}`);
  }
  const v = BigInt(s);
  return [Number(BigInt.asIntN(32, v)), Number(BigInt.asIntN(32, v >> 32n))];
}

/** An integer in [min, max], or a StateError naming `what`. */
export function checkInt(v: unknown, what: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new StateError(`${what} must be an integer in [${min}, ${max}], got ${JSON.stringify(v)?.slice(0, 40)}`);
  }
  return v;
}

export function checkBool(v: unknown, what: string): boolean {
  if (typeof v !== 'boolean') throw new StateError(`${what} must be true or false, got ${JSON.stringify(v)?.slice(0, 40)}`);
  return v;
}

export function checkArray(v: unknown, what: string, length: number): unknown[] {
  if (!Array.isArray(v) || v.length !== length) throw new StateError(`${what} must be a list of ${length}, got ${Array.isArray(v) ? `${v.length} entries` : typeof v}`);
  return v;
}

export function checkString(v: unknown, what: string): string {
  if (typeof v !== 'string') throw new StateError(`${what} must be a string, got ${JSON.stringify(v)?.slice(0, 40)}`);
  return v;
}

export function checkObject(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new StateError(`${what} must be an object`);
  return v as Record<string, unknown>;
}
