/**
 * The snapshot state file: everything of a microVM but its RAM, as one versioned, checksummed file.
 *
 *   0   8  magic "WISPSNAP"
 *   8   2  format major version (u16 LE)     a different major is refused
 *   10  2  format minor version (u16 LE)     a newer minor is refused (it may hold what this wisp ignores)
 *   12  4  flags (u32 LE, 0)
 *   16  8  body length in bytes (u64 LE)
 *   24  …  body: UTF-8 JSON (plain data: the VM configuration, every hart and device)
 *   …   32 SHA-256 of every byte before it
 *
 * Checks run in that order, so a file gets the most telling refusal: not a snapshot, a version this
 * wisp does not read, truncated, corrupted (checksum), malformed body. Nothing is restored from a file
 * that fails any of them.
 */
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, fsyncSync, openSync, readSync, writeSync, constants } from 'node:fs';
import { osErrorText } from '../util/os-error.js';
import { HostFileError, openHostFile } from '../util/host-file.js';

export const STATE_MAGIC = 'WISPSNAP';
export const FORMAT_MAJOR = 1;
export const FORMAT_MINOR = 0;
const HEADER_BYTES = 24;
const CHECKSUM_BYTES = 32;
/** Firecracker's SNAPSHOT_DESERIALIZATION_BYTES_LIMIT: no state file needs more, and a huge one is refused before it is read. */
export const MAX_BODY_BYTES = 10_000_000;

export type SnapshotFileErrorCode = 'open-failed' | 'not-a-snapshot' | 'unsupported-version' | 'truncated' | 'too-large' | 'corrupted' | 'malformed' | 'write-failed';

export class SnapshotFileError extends Error {
  constructor(readonly code: SnapshotFileErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SnapshotFileError';
  }
}

export interface StateFile {
  major: number;
  minor: number;
  body: unknown;
}

export function encodeStateFile(body: unknown): Uint8Array {
  const json = Buffer.from(JSON.stringify(body), 'utf8');
  if (json.length > MAX_BODY_BYTES) {
    throw new SnapshotFileError('too-large', `the microVM state is ${json.length} bytes, more than a state file may hold (${MAX_BODY_BYTES})`);
  }
  const out = Buffer.alloc(HEADER_BYTES + json.length + CHECKSUM_BYTES);
  out.write(STATE_MAGIC, 0, 'latin1');
  out.writeUInt16LE(FORMAT_MAJOR, 8);
  out.writeUInt16LE(FORMAT_MINOR, 10);
  out.writeUInt32LE(0, 12);
  out.writeBigUInt64LE(BigInt(json.length), 16);
  json.copy(out, HEADER_BYTES);
  createHash('sha256').update(out.subarray(0, HEADER_BYTES + json.length)).digest().copy(out, HEADER_BYTES + json.length);
  return out;
}

/** Checks and decodes a state file's bytes; `name` is how errors refer to it (its path). */
export function decodeStateFile(bytes: Uint8Array, name: string): StateFile {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length < 8 || b.toString('latin1', 0, 8) !== STATE_MAGIC) {
    if (b.length < 8 && STATE_MAGIC.startsWith(b.toString('latin1'))) {
      throw new SnapshotFileError('truncated', `the state file "${name}" is truncated: ${b.length} bytes, not even a header`);
    }
    throw new SnapshotFileError('not-a-snapshot', `"${name}" is not a wisp snapshot state file (it does not start with "${STATE_MAGIC}")`);
  }
  if (b.length < HEADER_BYTES) {
    throw new SnapshotFileError('truncated', `the state file "${name}" is truncated: ${b.length} bytes, shorter than its ${HEADER_BYTES}-byte header`);
  }
  const major = b.readUInt16LE(8), minor = b.readUInt16LE(10);
  if (major !== FORMAT_MAJOR || minor > FORMAT_MINOR) {
    throw new SnapshotFileError('unsupported-version',
      `the state file "${name}" has format version ${major}.${minor}; this wisp reads version ${FORMAT_MAJOR}.0 to ${FORMAT_MAJOR}.${FORMAT_MINOR} (was it written by another wisp version?)`);
  }
  const len = b.readBigUInt64LE(16);
  if (len > BigInt(MAX_BODY_BYTES)) {
    throw new SnapshotFileError('too-large', `the state file "${name}" says its body is ${len} bytes, more than a state file may hold (${MAX_BODY_BYTES}): it is corrupted`);
  }
  const want = HEADER_BYTES + Number(len) + CHECKSUM_BYTES;
  if (b.length < want) {
    throw new SnapshotFileError('truncated', `the state file "${name}" is truncated: ${b.length} bytes of the ${want} its header announces`);
  }
  if (b.length > want) {
    throw new SnapshotFileError('corrupted', `the state file "${name}" is corrupted: ${b.length - want} bytes follow its end`);
  }
  const end = HEADER_BYTES + Number(len);
  const sum = createHash('sha256').update(b.subarray(0, end)).digest();
  if (!sum.equals(b.subarray(end, want))) {
    throw new SnapshotFileError('corrupted', `the state file "${name}" is corrupted: its SHA-256 checksum does not match its contents`);
  }
  let body: unknown;
  try {
    body = JSON.parse(b.toString('utf8', HEADER_BYTES, end));
  } catch (e) {
    throw new SnapshotFileError('malformed', `the state file "${name}" holds no valid state: ${(e as Error).message}`, { cause: e });
  }
  return { major, minor, body };
}

/** Reads and decodes a state file, refusing one larger than any state file can be before reading it. */
export function readStateFile(path: string): StateFile {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    throw new SnapshotFileError('open-failed', `cannot open the state file "${path}": ${osErrorText(e)}`, { cause: e });
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new SnapshotFileError('open-failed', `cannot read the state file "${path}": it is not a regular file`);
    if (st.size > HEADER_BYTES + MAX_BODY_BYTES + CHECKSUM_BYTES) {
      throw new SnapshotFileError('too-large', `the state file "${path}" is ${st.size} bytes, more than a state file can be (${HEADER_BYTES + MAX_BODY_BYTES + CHECKSUM_BYTES})`);
    }
    const buf = Buffer.alloc(st.size);
    let got = 0;
    while (got < buf.length) {
      const n = readSync(fd, buf, got, buf.length - got, got);
      if (n === 0) break;
      got += n;
    }
    return decodeStateFile(buf.subarray(0, got), path);
  } finally {
    closeSync(fd);
  }
}

/** Writes a state file (created or truncated, as Firecracker does) and syncs it to disk. */
export function writeStateFile(path: string, body: unknown): number {
  const bytes = encodeStateFile(body);
  let fd: number;
  try {
    // util/host-file.ts: an existing FIFO or device is refused before it is opened (a FIFO would block).
    fd = openHostFile(path, { what: 'state file', access: 'write', create: true, truncate: true, mode: 0o600, kinds: ['file'] }).fd;
  } catch (e) {
    const why = e instanceof HostFileError ? e.message : osErrorText(e);
    throw new SnapshotFileError('write-failed', `cannot open the state file "${path}" for writing: ${why}`, { cause: e });
  }
  try {
    for (let done = 0; done < bytes.length;) done += writeSync(fd, bytes, done, bytes.length - done, done);
    fsyncSync(fd);
  } catch (e) {
    throw new SnapshotFileError('write-failed', `cannot write the state file "${path}": ${osErrorText(e)}`, { cause: e });
  } finally {
    closeSync(fd);
  }
  return bytes.length;
}
