import { closeSync, readFileSync, writeSync } from 'node:fs';
import { constants } from 'node:os';
import type { ExecConfig } from '../container-protocol.js';
import { openExec } from './control-channel.js';
import { RuncError } from './runc-error.js';

/**
 * `wisp-runc exec`: another process in a running container. The process is described as runc takes
 * it (`--process FILE`, a runtime-spec Process, as containerd's shim writes it; or the container's own
 * process with ARGS, --cwd and --user replacing its fields); it runs in the container's VM, started by
 * wisp's init, with stdout and stderr of its own, streamed over the container's control socket.
 *
 * The host side of the process is a relay: its fds 0-2 are the exec'd process's stdio, it forwards
 * the signals it gets, and it exits with the process's status. With --detach (the shim's way) the
 * relay is a detached process whose pid goes to the pid file, so the shim reaps it as the exec'd
 * process; without, wisp-runc itself is the relay.
 */

/** A runtime-spec Process (config.json's `process`) as an exec'd process. A terminal is refused. */
export function execConfigFromProcess(json: unknown, what: string): ExecConfig {
  const fail = (field: string, why: string): never => { throw new RuncError('bad-bundle', `${what}: process.${field} ${why}`); };
  if (typeof json !== 'object' || json === null || Array.isArray(json)) fail('(top level)', 'must be an object');
  const p = json as Record<string, unknown>;
  const strs = (v: unknown, field: string): string[] => {
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) fail(field, 'must be a list of strings');
    return v as string[];
  };
  const u32 = (v: unknown, field: string): number => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffffffff) fail(field, `must be a whole number, got ${JSON.stringify(v)}`);
    return v as number;
  };
  if (p.terminal === true) throw new RuncError('unsupported', `${what}: process.terminal is not supported for exec by wisp-runc yet (exec without -t)`);
  const args = strs(p.args, 'args');
  if (!args.length) fail('args', 'must name the program to run');
  const env = strs(p.env, 'env');
  const cwd = p.cwd === undefined ? '/' : p.cwd;
  if (typeof cwd !== 'string' || !cwd.startsWith('/')) fail('cwd', 'must be an absolute path');
  const user = (p.user ?? {}) as Record<string, unknown>;
  const uid = user.uid === undefined ? 0 : u32(user.uid, 'user.uid');
  const gid = user.gid === undefined ? 0 : u32(user.gid, 'user.gid');
  const additionalGids = (user.additionalGids === undefined || user.additionalGids === null ? [] : user.additionalGids) as unknown[];
  if (!Array.isArray(additionalGids)) fail('user.additionalGids', 'must be a list of numbers');
  const umask = user.umask === undefined || user.umask === null ? undefined : u32(user.umask, 'user.umask');
  return {
    args, env, cwd: cwd as string, user: `${uid}:${gid}`,
    additionalGids: additionalGids.map((g, i) => u32(g, `user.additionalGids[${i}]`)),
    stdin: true,
    ...(umask !== undefined && { umask }),
  };
}

const FORWARDED: NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

/**
 * Relays one exec'd process: this process's stdio ↔ the process in the VM; signals passed on.
 * `report` hears "ok" once it runs, or "error: ..." if it could not start. Resolves with its status.
 */
export async function runExecRelay(dir: string, id: string, config: ExecConfig, report: (line: string) => void): Promise<number> {
  process.stdout.on('error', () => {});
  process.stderr.on('error', () => {});
  const x = openExec(dir, id, config, {
    stdout: (b) => { process.stdout.write(b); },
    stderr: (b) => { process.stderr.write(b); },
  });
  try {
    await x.started;
  } catch (e) {
    report(`error: ${(e as Error).message}`);
    return e instanceof RuncError && e.code === 'bad-state' ? 255 : 126;
  }
  report('ok');
  const onSignal = (sig: NodeJS.Signals): void => x.signal(constants.signals[sig]);
  for (const s of FORWARDED) process.on(s, onSignal);
  const stdin = process.stdin;
  stdin.on('data', (b: Buffer) => x.stdin(b));
  stdin.on('end', () => x.eof());
  stdin.on('error', () => x.eof());
  stdin.resume();
  try {
    const exit = await x.exited;
    return exit.status;
  } catch (e) {
    process.stderr.write(`wisp-runc exec: ${(e as Error).message}\n`);
    return 137;
  } finally {
    for (const s of FORWARDED) process.off(s, onSignal);
    stdin.pause();
    stdin.destroy();
    // What the process wrote last must be out before this one ends.
    await new Promise<void>((r) => process.stdout.write('', () => r()));
  }
}

/** fd 3 of a detached relay: one line back to `wisp-runc exec --detach`, then closed. */
export function reportOnFd3(line: string): void {
  try {
    writeSync(3, line + '\n');
    closeSync(3);
  } catch {
    // exec has gone: nobody to tell.
  }
}

/** The relay's launch file: what `exec-main.js` needs. */
export interface ExecLaunch { dir: string; id: string; config: ExecConfig }
export function readExecLaunch(path: string): ExecLaunch {
  return JSON.parse(readFileSync(path, 'utf8')) as ExecLaunch;
}
