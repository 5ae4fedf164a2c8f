import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { MmdsError } from './mmds-error.js';

/** Firecracker's bounds on a session token's lifetime (seconds). */
export const MIN_TOKEN_TTL_SECONDS = 1;
export const MAX_TOKEN_TTL_SECONDS = 21600;
/** Where a guest asks for a token (PUT). */
export const PATH_TO_TOKEN = '/latest/api/token';
/** Longer tokens are refused before any decoding (a base64 token is 48 characters). */
export const TOKEN_LENGTH_LIMIT = 70;
const IV_LEN = 12;
const PAYLOAD_LEN = 8;
const TAG_LEN = 16;
/** A key encrypts at most 2^32 - 1 tokens (AES-GCM with random nonces); then a new key is drawn. */
const MAX_TOKENS_PER_KEY = 0xffff_ffff;

/**
 * MMDS V2 session tokens (Firecracker's TokenAuthority): a token is the expiry time, encrypted and
 * authenticated with AES-256-GCM under a key that never leaves the VMM, with the instance id as
 * additional data; base64 of nonce, ciphertext and tag. Validating needs no table of issued tokens,
 * so a guest asking for millions of them costs no memory.
 */
export class TokenAuthority {
  private key = randomBytes(32);
  private issued = 0;
  private aad = Buffer.alloc(0);

  constructor(
    /** Milliseconds of a monotonic clock. */
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Binds tokens to this instance (Firecracker: "microvmid=<id>"). */
  setInstanceId(id: string): void {
    this.aad = Buffer.from(`microvmid=${id}`);
  }

  /** A token valid for `ttlSeconds`; throws invalid-ttl outside [1, 21600]. */
  generate(ttlSeconds: number): string {
    if (!Number.isInteger(ttlSeconds) || ttlSeconds < MIN_TOKEN_TTL_SECONDS || ttlSeconds > MAX_TOKEN_TTL_SECONDS) {
      throw new MmdsError(
        'invalid-ttl',
        `Invalid time to live value provided for token: ${ttlSeconds}. Please provide a value between ${MIN_TOKEN_TTL_SECONDS} and ${MAX_TOKEN_TTL_SECONDS}.`,
      );
    }
    if (this.issued >= MAX_TOKENS_PER_KEY) {
      this.key = randomBytes(32);
      this.issued = 0;
    }
    const expiry = Math.floor(this.now()) + ttlSeconds * 1000;
    const payload = Buffer.alloc(PAYLOAD_LEN);
    payload.writeBigUInt64LE(BigInt(expiry));
    const iv = randomBytes(IV_LEN);
    const c = createCipheriv('aes-256-gcm', this.key, iv);
    c.setAAD(this.aad);
    const enc = Buffer.concat([c.update(payload), c.final()]);
    this.issued++;
    return Buffer.concat([iv, enc, c.getAuthTag()]).toString('base64');
  }

  /** Whether `token` was issued here (this key, this instance) and has not expired. Never throws. */
  isValid(token: string): boolean {
    if (token.length > TOKEN_LENGTH_LIMIT || !/^[A-Za-z0-9+/]*={0,2}$/.test(token)) return false;
    const raw = Buffer.from(token, 'base64');
    if (raw.length !== IV_LEN + PAYLOAD_LEN + TAG_LEN) return false;
    try {
      const d = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, IV_LEN));
      d.setAAD(this.aad);
      d.setAuthTag(raw.subarray(IV_LEN + PAYLOAD_LEN));
      const plain = Buffer.concat([d.update(raw.subarray(IV_LEN, IV_LEN + PAYLOAD_LEN)), d.final()]);
      return Number(plain.readBigUInt64LE()) > this.now();
    } catch {
      return false;
    }
  }
}
