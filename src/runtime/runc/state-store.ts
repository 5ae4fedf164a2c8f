import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RuncError } from './runc-error.js';

/**
 * wisp-runc's state directory: ROOT/ID/ per container, holding `state.json` (this record, replaced
 * atomically by rename), the VMM's control socket and the container's root disk. The VMM process
 * (one per container, see vmm-process.ts) is the only writer once it runs; the CLI commands read.
 *
 * A container whose VMM process is gone is "stopped", whatever the record last said (the process
 * may have been killed). The pid is checked together with its start time, so a recycled pid is not
 * mistaken for the container.
 */

export type ContainerStatus = 'creating' | 'created' | 'running' | 'paused' | 'stopped';

export interface ContainerRecord {
  version: 1;
  id: string;
  bundle: string;
  rootfs: string;
  /** ISO 8601, when create began. */
  created: string;
  owner: string;
  annotations: Record<string, string>;
  /** The VMM process's pid (the pid file's), 0 until it is spawned. */
  pid: number;
  /** Its start time in clock ticks since boot (/proc/PID/stat field 22). */
  pidStart: string;
  status: ContainerStatus;
  /** The container's exit status once stopped (128 + signal when killed by one). */
  exitStatus?: number;
}

export const DEFAULT_ROOT = '/run/wisp-runc';
export const STATE_FILE = 'state.json';
export const CONTROL_SOCKET = 'control.sock';
export const ROOT_DISK = 'rootfs.ext4';

/** runc's rule for container ids: letters, digits, and _ + - . (and not "." or ".."). */
export function checkId(id: string | undefined): string {
  if (!id) throw new RuncError('usage', 'A container id is needed');
  if (!/^[\w+\-.]+$/.test(id) || id === '.' || id === '..' || id.length > 1024) {
    throw new RuncError('usage', `Invalid container id "${id}": use letters, digits, "_", "+", "-" and "."`);
  }
  return id;
}

export function containerDir(root: string, id: string): string {
  return join(root, checkId(id));
}

/** /proc/PID/stat's start time, or undefined when no such process runs. */
export function processStart(pid: number): string | undefined {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // "pid (comm) state ppid ..." — comm may hold spaces and parentheses: fields follow the last ")".
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  if (rest[0] === 'Z' || rest[0] === 'X') return undefined; // a zombie has ended; only its status is left
  return rest[19];
}

export function isAlive(rec: ContainerRecord): boolean {
  return rec.pid > 0 && processStart(rec.pid) === rec.pidStart;
}

/** The status as it is now: "stopped" once the VMM process is gone. */
export function liveStatus(rec: ContainerRecord): ContainerStatus {
  if (rec.status === 'stopped' || (rec.pid > 0 && !isAlive(rec))) return 'stopped';
  return rec.status;
}

export function readRecord(root: string, id: string): ContainerRecord {
  const file = join(containerDir(root, id), STATE_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new RuncError('not-found', `container "${id}" does not exist`);
    throw new RuncError('failed', `Cannot read the state of container "${id}" (${file}): ${(e as Error).message}`, { cause: e });
  }
  try {
    const rec = JSON.parse(text) as ContainerRecord;
    if (rec.version !== 1 || rec.id !== id) throw new Error('not a wisp-runc state record');
    return rec;
  } catch (e) {
    throw new RuncError('failed', `The state of container "${id}" (${file}) is damaged: ${(e as Error).message}`, { cause: e });
  }
}

export function writeRecord(dir: string, rec: ContainerRecord): void {
  const tmp = join(dir, `.${STATE_FILE}.${process.pid}`);
  writeFileSync(tmp, JSON.stringify(rec, null, 2) + '\n', { mode: 0o600 });
  renameSync(tmp, join(dir, STATE_FILE));
}

/** Makes ROOT/ID for a new container; the id must be free. */
export function makeContainerDir(root: string, id: string): string {
  mkdirSync(root, { recursive: true, mode: 0o711 });
  const dir = containerDir(root, id);
  try {
    mkdirSync(dir, { mode: 0o711 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new RuncError('exists', `container with id exists: ${id}`);
    throw new RuncError('failed', `Cannot make the state directory ${dir}: ${(e as Error).message}`, { cause: e });
  }
  return dir;
}

export function removeContainerDir(root: string, id: string): void {
  rmSync(containerDir(root, id), { recursive: true, force: true });
}

/** Ids of the containers under ROOT (those with a state record). */
export function listIds(root: string): string[] {
  let names: string[];
  try {
    names = readdirSync(root);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new RuncError('failed', `Cannot read the state root ${root}: ${(e as Error).message}`, { cause: e });
  }
  return names.filter((n) => {
    try {
      readFileSync(join(root, n, STATE_FILE));
      return true;
    } catch {
      return false;
    }
  }).sort();
}

/** runc's JSON for `state` and `list`. */
export function stateJson(rec: ContainerRecord): Record<string, unknown> {
  const status = liveStatus(rec);
  return {
    ociVersion: '1.0.2',
    id: rec.id,
    pid: status === 'stopped' ? 0 : rec.pid,
    status,
    bundle: rec.bundle,
    rootfs: rec.rootfs,
    created: rec.created,
    owner: rec.owner,
    ...(Object.keys(rec.annotations).length ? { annotations: rec.annotations } : {}),
  };
}
