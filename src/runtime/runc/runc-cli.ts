import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { constants } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readBundle } from './bundle-spec.js';
import type { ExecConfig } from '../container-protocol.js';
import { callControl } from './control-channel.js';
import { execConfigFromProcess, runExecRelay } from './exec-process.js';
import { closeFd, openHostPty, sendFd } from './host-pty.js';
import { executableProblem } from './rootfs-lookup.js';
import { RuncError } from './runc-error.js';
import { logEntry, type LogFormat, type RuncLog } from './runc-log.js';
import {
  checkId, containerDir, DEFAULT_ROOT, isAlive, listIds, liveStatus, makeContainerDir, processStart, readRecord,
  removeContainerDir, stateJson, writeRecord, type ContainerRecord,
} from './state-store.js';
import { LAUNCH_FILE, type Launch } from './vmm-process.js';

/**
 * `wisp-runc`: the command line of runc, as containerd's runc v2 shim (through go-runc) calls it, with
 * each container run in a microVM of its own. Global flags come before the command, as with runc.
 * Output that the shim parses (state, list, ps, features) is JSON on stdout and nothing else; errors
 * go to stderr and, with --log, to the log file in runc's format.
 */

export const VERSION = '0.1.0';
export const SPEC_VERSION = '1.0.2';

const USAGE = `Usage: wisp-runc [global options] COMMAND [options] [ID]

A runc-compatible OCI runtime that runs each container in a wisp microVM (Debian's riscv64 kernel,
wisp's container init). containerd: ctr run --runc-binary wisp-runc, or runtime option BinaryName.

Commands:
  create [--bundle DIR] [--pid-file FILE] [--console-socket SOCK] ID   set a container up, not started
  start ID                  run the container's process
  run [-d] [--bundle DIR] [--pid-file FILE] [--console-socket SOCK] ID   create + start (+ wait)
  exec [-d] [--pid-file FILE] (--process FILE | [--cwd DIR] [-u UID[:GID]] [-e K=V]... ID ARGS...)
                            run another process in the running container (no terminal yet)
  state ID                  the container's state as JSON
  kill [--all] ID [SIGNAL]  send a signal (default SIGTERM) to the process (--all: every process)
  delete [--force] ID       remove a stopped (or created; --force: any) container
  list [--format table|json] [--quiet]
  ps [--format table|json] ID
  pause ID, resume ID       stop the VM's vCPU where it is, and let it run again
  features                  what this runtime supports, as JSON

Global options:
  --root DIR                state directory (default ${DEFAULT_ROOT})
  --log FILE                write errors (and with --debug, more) to FILE
  --log-format text|json    (default text)
  --debug, --systemd-cgroup, --criu PATH, --rootless VALUE   accepted; no effect on a VM
  -v, --version             print the version
`;

interface Globals {
  root: string;
  log: RuncLog;
  debug: boolean;
}

interface Parsed {
  flags: Map<string, string | true>;
  positional: string[];
}

/**
 * Flags of one command: `--name VALUE`, `--name=VALUE`, `-n VALUE`, booleans; anything after the
 * first positional is positional too (go-runc puts the id last, ps options after it).
 */
function parseFlags(argv: readonly string[], valued: Record<string, string>, booleans: Record<string, string>, cmd: string): Parsed {
  const flags = new Map<string, string | true>();
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (positional.length || a === '-' || !a.startsWith('-')) { positional.push(a); continue; }
    if (a === '--') { positional.push(...argv.slice(i + 1)); break; }
    const eq = a.indexOf('=');
    const name = eq > 0 ? a.slice(0, eq) : a;
    const key = valued[name] ?? booleans[name];
    if (!key) throw new RuncError('usage', `${cmd}: unknown option "${name}" (see wisp-runc --help)`);
    if (valued[name]) {
      let value: string | undefined = eq > 0 ? a.slice(eq + 1) : argv[++i];
      if (value === undefined) throw new RuncError('usage', `${cmd}: ${name} needs a value`);
      flags.set(key, value);
    } else {
      if (eq > 0) {
        const v = a.slice(eq + 1);
        if (v !== 'true' && v !== 'false') throw new RuncError('usage', `${cmd}: ${name} takes true or false, got "${v}"`);
        if (v === 'true') flags.set(key, true);
      } else {
        flags.set(key, true);
      }
    }
  }
  return { flags, positional };
}

function oneId(p: Parsed, cmd: string): string {
  if (p.positional.length !== 1) throw new RuncError('usage', `${cmd} needs exactly one container id, got ${p.positional.length ? `"${p.positional.join(' ')}"` : 'none'}`);
  return checkId(p.positional[0]);
}

/** SIGNAL as a number or a name with or without SIG. */
export function parseSignal(text: string): number {
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    if (n >= 1 && n <= 64) return n;
  } else {
    const name = text.toUpperCase().startsWith('SIG') ? text.toUpperCase() : `SIG${text.toUpperCase()}`;
    const n = (constants.signals as Record<string, number>)[name];
    if (n !== undefined) return n;
  }
  throw new RuncError('usage', `invalid signal "${text}"`);
}

function print(text: string): void {
  process.stdout.write(text);
}

/** The VMM process's entry (spawned with Node). */
function vmmMain(): string {
  return fileURLToPath(new URL('./vmm-main.js', import.meta.url));
}

function writePidFile(path: string, pid: number): void {
  const tmp = join(dirname(path), `.${process.pid}.pid.tmp`);
  writeFileSync(tmp, String(pid));
  renameSync(tmp, path);
}

/** Reads fd 3 of the VMM process up to its first line, or its exit. */
function awaitReport(child: ChildProcess): Promise<string> {
  return new Promise((resolvePromise) => {
    const pipe = child.stdio[3] as NodeJS.ReadableStream | null;
    let buf = '';
    let done = false;
    const finish = (line: string): void => {
      if (done) return;
      done = true;
      resolvePromise(line);
    };
    pipe?.setEncoding('utf8');
    pipe?.on('data', (c: string) => {
      buf += c;
      const nl = buf.indexOf('\n');
      if (nl >= 0) finish(buf.slice(0, nl));
    });
    pipe?.on('error', () => {});
    child.on('exit', (code, signal) => finish(`error: the VMM process ended (${signal ?? `status ${code}`}) before the container was created${buf ? `: ${buf.trim()}` : ''}`));
  });
}

interface CreateOptions {
  bundle: string;
  pidFile?: string;
  consoleSocket?: string;
  /** run in the foreground: the VMM process stays our child. */
  attached: boolean;
}

async function create(g: Globals, id: string, o: CreateOptions): Promise<ChildProcess> {
  const spec = readBundle(o.bundle);
  const problem = executableProblem(spec.rootfs, spec.config.args[0], spec.config.env, spec.config.cwd);
  if (problem) throw new RuncError('failed', `unable to start container process: ${problem}`);
  if (spec.config.terminal && !o.consoleSocket && !o.attached) {
    throw new RuncError('usage', 'cannot allocate tty if wisp-runc will detach without setting console socket');
  }
  if (!spec.config.terminal && o.consoleSocket) {
    throw new RuncError('usage', 'cannot use console socket if wisp-runc will not detach or allocate tty');
  }
  const pidFile = o.pidFile ? resolve(o.pidFile) : undefined;
  const dir = makeContainerDir(g.root, id);
  let child: ChildProcess | undefined;
  let pty: ReturnType<typeof openHostPty> | undefined;
  try {
    const rec: ContainerRecord = {
      version: 1, id, bundle: spec.bundle, rootfs: spec.rootfs, created: new Date().toISOString(),
      owner: process.getuid?.() === 0 ? 'root' : String(process.getuid?.() ?? ''),
      annotations: spec.annotations, pid: 0, pidStart: '', status: 'creating',
    };
    writeRecord(dir, rec);
    const launch: Launch = { version: 1, id, spec, log: g.log };
    let stdio: (number | 'inherit' | 'pipe' | 'ignore')[] = ['inherit', 'inherit', 'inherit', 'pipe'];
    if (spec.config.terminal && o.consoleSocket) {
      pty = openHostPty();
      launch.ptsPath = pty.path;
      stdio = [pty.slave, pty.slave, pty.slave, 'pipe'];
    }
    writeFileSync(join(dir, LAUNCH_FILE), JSON.stringify(launch));
    child = spawn(process.execPath, [vmmMain(), dir], { cwd: dir, detached: !o.attached, stdio, env: process.env });
    if (child.pid === undefined) throw new RuncError('failed', `Cannot start the VMM process for container "${id}"`);
    rec.pid = child.pid;
    rec.pidStart = processStart(child.pid) ?? '';
    writeRecord(dir, rec);
    const line = await awaitReport(child);
    if (line !== 'ok') throw new RuncError('failed', line.replace(/^error: /, ''));
    if (pty) {
      sendFd(o.consoleSocket!, pty.master, pty.path);
      closeFd(pty.master);
      closeFd(pty.slave);
      pty = undefined;
    }
    if (pidFile) writePidFile(pidFile, child.pid);
    (child.stdio[3] as NodeJS.ReadableStream & { destroy(): void } | null)?.destroy();
    if (!o.attached) child.unref();
    return child;
  } catch (e) {
    if (child?.pid !== undefined && child.exitCode === null) child.kill('SIGKILL');
    if (pty) { closeFd(pty.master); closeFd(pty.slave); }
    removeContainerDir(g.root, id);
    throw e;
  }
}

function commandCreateOptions(p: Parsed): CreateOptions {
  if (p.flags.has('preserve-fds') && p.flags.get('preserve-fds') !== '0') {
    throw new RuncError('unsupported', '--preserve-fds is not supported: host file descriptors cannot be passed into a container VM');
  }
  if (p.flags.has('pidfd-socket')) throw new RuncError('unsupported', '--pidfd-socket is not supported: the VMM process has no pidfd to give for the container\'s process');
  return {
    bundle: (p.flags.get('bundle') as string | undefined) ?? process.cwd(),
    pidFile: p.flags.get('pid-file') as string | undefined,
    consoleSocket: p.flags.get('console-socket') as string | undefined,
    attached: false,
  };
}

const CREATE_VALUED = { '--bundle': 'bundle', '-b': 'bundle', '--pid-file': 'pid-file', '--console-socket': 'console-socket', '--preserve-fds': 'preserve-fds', '--pidfd-socket': 'pidfd-socket' };
const CREATE_BOOL = { '--no-pivot': 'no-pivot', '--no-new-keyring': 'no-new-keyring' };

async function start(g: Globals, id: string): Promise<void> {
  const rec = readRecord(g.root, id);
  const status = liveStatus(rec);
  if (status === 'stopped') throw new RuncError('bad-state', 'cannot start a container that has stopped');
  if (status === 'running' || status === 'paused') throw new RuncError('bad-state', 'cannot start an already running container');
  const reply = await callControl(containerDir(g.root, id), id, { op: 'start' });
  if (!reply.ok) throw new RuncError(reply.code, reply.error);
}

async function kill(g: Globals, id: string, signal: number, all: boolean): Promise<void> {
  const rec = readRecord(g.root, id);
  if (liveStatus(rec) === 'stopped') throw new RuncError('bad-state', 'container not running');
  const reply = await callControl(containerDir(g.root, id), id, { op: 'kill', signal, all });
  if (!reply.ok) throw new RuncError(reply.code, reply.error);
}

async function waitGone(rec: ContainerRecord, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (isAlive(rec)) {
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

async function del(g: Globals, id: string, force: boolean): Promise<void> {
  const rec = readRecord(g.root, id);
  const status = liveStatus(rec);
  if ((status === 'running' || status === 'paused') && !force) throw new RuncError('bad-state', `cannot delete container ${id} that is not stopped: ${status}`);
  if (status !== 'stopped') {
    try { process.kill(rec.pid, 'SIGKILL'); } catch { /* gone meanwhile */ }
    if (!(await waitGone(rec, 10_000))) throw new RuncError('failed', `container "${id}": its VMM process (pid ${rec.pid}) does not end`);
  }
  removeContainerDir(g.root, id);
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((v, c) => (c === r.length - 1 ? v : v.padEnd(widths[c] + 3))).join('')).join('\n') + '\n';
}

function list(g: Globals, format: string, quiet: boolean): void {
  const states = listIds(g.root).flatMap((id) => {
    try { return [stateJson(readRecord(g.root, id))]; } catch { return []; }
  });
  if (quiet) { print(states.map((s) => `${s.id}\n`).join('')); return; }
  if (format === 'json') { print(JSON.stringify(states) + '\n'); return; }
  print(table([['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER'],
    ...states.map((s) => [String(s.id), String(s.pid), String(s.status), String(s.bundle), String(s.created), String(s.owner)])]));
}

function ps(g: Globals, id: string, format: string): void {
  const rec = readRecord(g.root, id);
  const pids = liveStatus(rec) === 'stopped' ? [] : [rec.pid];
  if (format === 'json') { print(JSON.stringify(pids) + '\n'); return; }
  print(table([['PID', 'CMD'], ...pids.map((p) => [String(p), `wisp-runc VMM of container ${id}`])]));
}

export function features(): Record<string, unknown> {
  return {
    ociVersionMin: '1.0.0',
    ociVersionMax: SPEC_VERSION,
    hooks: [],
    mountOptions: ['ro', 'rw', 'nosuid', 'suid', 'nodev', 'dev', 'noexec', 'exec', 'sync', 'async', 'dirsync', 'noatime', 'atime',
      'nodiratime', 'diratime', 'relatime', 'norelatime', 'strictatime', 'nostrictatime', 'lazytime', 'nolazytime'],
    linux: {
      namespaces: ['cgroup', 'ipc', 'mount', 'network', 'pid', 'time', 'user', 'uts'],
      capabilities: [],
      cgroup: { v1: false, v2: false, systemd: false, systemdUser: false, rdma: false },
      seccomp: { enabled: false },
      apparmor: { enabled: false },
      selinux: { enabled: false },
    },
    annotations: { 'io.github.wisp.runtime': 'microvm' },
  };
}

const EXEC_VALUED = {
  '--process': 'process', '-p': 'process', '--pid-file': 'pid-file', '--console-socket': 'console-socket', '--cwd': 'cwd',
  '--user': 'user', '-u': 'user', '--env': 'env', '-e': 'env', '--additional-gids': 'additional-gids', '-g': 'additional-gids',
  '--process-label': 'process-label', '--apparmor': 'apparmor', '--cap': 'cap', '-c': 'cap', '--preserve-fds': 'preserve-fds', '--cgroup': 'cgroup',
};
const EXEC_BOOL = { '--detach': 'detach', '-d': 'detach', '--tty': 'tty', '-t': 'tty', '--no-new-privs': 'no-new-privs', '--ignore-paused': 'ignore-paused' };

function execMain(): string {
  return fileURLToPath(new URL('./exec-main.js', import.meta.url));
}

/** Reads fd 3 of an exec relay up to its first line; a relay that closes it without one failed. */
function awaitExecReport(child: ChildProcess): Promise<string> {
  return new Promise((resolvePromise) => {
    const pipe = child.stdio[3] as NodeJS.ReadableStream | null;
    if (!pipe) { resolvePromise('error: the exec relay has no report pipe'); return; }
    let buf = '';
    let done = false;
    const finish = (line: string): void => { if (!done) { done = true; resolvePromise(line); } };
    pipe.setEncoding('utf8');
    pipe.on('data', (c: string) => {
      buf += c;
      const nl = buf.indexOf('\n');
      if (nl >= 0) finish(buf.slice(0, nl));
    });
    pipe.on('error', () => {});
    // (After its last data: a relay that said "ok" and ended at once is still a success.)
    pipe.on('close', () => finish(`error: the exec relay ended (${child.signalCode ?? `status ${child.exitCode}`}) before the process started${buf ? `: ${buf.trim()}` : ''}`));
  });
}

/**
 * runc exec: `--process FILE` (what containerd's shim gives), or ARGS with the container's own process
 * for the rest (--cwd, --user, --env replace or add). See exec-process.ts for the relay.
 */
async function execCommand(g: Globals, args: string[]): Promise<number> {
  const envs: string[] = [];
  // --env/-e may repeat; parseFlags keeps one value per flag, so they are taken out first.
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (rest.some((r) => !r.startsWith('-'))) { rest.push(a); continue; }
    if (a === '-e' || a === '--env') { if (i + 1 >= args.length) throw new RuncError('usage', `exec: ${a} needs a value`); envs.push(args[++i]); continue; }
    if (a.startsWith('--env=')) { envs.push(a.slice(6)); continue; }
    rest.push(a);
  }
  const p = parseFlags(rest, EXEC_VALUED, EXEC_BOOL, 'exec');
  if (!p.positional.length) throw new RuncError('usage', 'exec needs a container id');
  const id = checkId(p.positional[0]);
  const rec = readRecord(g.root, id);
  const status = liveStatus(rec);
  if (status === 'stopped') throw new RuncError('bad-state', 'cannot exec in a stopped container');
  if (status === 'paused' && !p.flags.has('ignore-paused')) throw new RuncError('bad-state', 'cannot exec in a paused container');
  if (p.flags.has('tty') || p.flags.has('console-socket')) throw new RuncError('unsupported', 'exec with a terminal (--tty, --console-socket) is not supported by wisp-runc yet');
  if (p.flags.has('preserve-fds') && p.flags.get('preserve-fds') !== '0') throw new RuncError('unsupported', '--preserve-fds is not supported: host file descriptors cannot be passed into a container VM');
  const dir = containerDir(g.root, id);
  let config: ExecConfig;
  if (p.flags.has('process')) {
    if (p.positional.length > 1) throw new RuncError('usage', 'exec: give either --process FILE or ARGS, not both');
    const file = resolve(p.flags.get('process') as string);
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(file, 'utf8'));
    } catch (e) {
      throw new RuncError('bad-bundle', `exec: cannot read the process file ${file}: ${(e as Error).message}`, { cause: e });
    }
    config = execConfigFromProcess(json, file);
  } else {
    if (p.positional.length < 2) throw new RuncError('usage', 'exec needs a command to run (ID ARGS...) or --process FILE');
    const c = (JSON.parse(readFileSync(join(dir, LAUNCH_FILE), 'utf8')) as Launch).spec.config;
    const gids = p.flags.get('additional-gids') as string | undefined;
    config = {
      args: p.positional.slice(1), env: [...c.env, ...envs], cwd: (p.flags.get('cwd') as string | undefined) ?? c.cwd,
      user: (p.flags.get('user') as string | undefined) ?? c.user,
      additionalGids: gids !== undefined ? gids.split(',').map((x) => { if (!/^\d+$/.test(x)) throw new RuncError('usage', `exec: --additional-gids takes numbers, got "${x}"`); return Number(x); }) : c.additionalGids,
      stdin: true, ...(c.umask !== undefined && { umask: c.umask }),
    };
  }
  const pidFile = p.flags.has('pid-file') ? resolve(p.flags.get('pid-file') as string) : undefined;
  if (!p.flags.has('detach')) {
    if (pidFile) writePidFile(pidFile, process.pid);
    let failed: string | undefined;
    const code = await runExecRelay(dir, id, config, (line) => { if (line !== 'ok') failed = line.replace(/^error: /, ''); });
    if (failed !== undefined) throw new RuncError('failed', failed);
    return code;
  }
  const launchFile = join(dir, `exec-${process.pid}-${Date.now()}.json`);
  writeFileSync(launchFile, JSON.stringify({ dir, id, config }));
  const child = spawn(process.execPath, [execMain(), launchFile], { detached: true, stdio: ['inherit', 'inherit', 'inherit', 'pipe'], env: process.env });
  if (child.pid === undefined) { rmSync(launchFile, { force: true }); throw new RuncError('failed', `Cannot start the exec relay for container "${id}"`); }
  const line = await awaitExecReport(child);
  if (line !== 'ok') {
    rmSync(launchFile, { force: true });
    throw new RuncError('failed', line.replace(/^error: /, ''));
  }
  if (pidFile) writePidFile(pidFile, child.pid);
  (child.stdio[3] as NodeJS.ReadableStream & { destroy(): void } | null)?.destroy();
  child.unref();
  return 0;
}

const NOT_SUPPORTED = new Set(['update', 'checkpoint', 'restore', 'events', 'spec', 'init']);

async function runCommand(g: Globals, cmd: string, args: string[]): Promise<number> {
  switch (cmd) {
    case 'create': {
      const p = parseFlags(args, CREATE_VALUED, CREATE_BOOL, cmd);
      await create(g, oneId(p, cmd), commandCreateOptions(p));
      return 0;
    }
    case 'run': {
      const p = parseFlags(args, CREATE_VALUED, { ...CREATE_BOOL, '--detach': 'detach', '-d': 'detach' }, cmd);
      const id = oneId(p, cmd);
      const o = commandCreateOptions(p);
      const detach = p.flags.has('detach');
      o.attached = !detach;
      if (!detach && o.consoleSocket) throw new RuncError('usage', 'run: --console-socket needs --detach');
      const child = await create(g, id, o);
      const exited = new Promise<number>((r) => child.on('exit', (code, sig) => r(code ?? 128 + (sig ? constants.signals[sig] : 0))));
      try {
        await start(g, id);
      } catch (e) {
        if (!detach) await del(g, id, true).catch(() => {});
        throw e;
      }
      if (detach) return 0;
      const code = await exited;
      await del(g, id, true).catch(() => {});
      return code;
    }
    case 'start': await start(g, oneId(parseFlags(args, {}, {}, cmd), cmd)); return 0;
    case 'exec': return await execCommand(g, args);
    case 'pause': case 'resume': {
      const cid = oneId(parseFlags(args, {}, {}, cmd), cmd);
      const rec = readRecord(g.root, cid);
      if (liveStatus(rec) === 'stopped') throw new RuncError('bad-state', 'container not running');
      const reply = await callControl(containerDir(g.root, cid), cid, { op: cmd });
      if (!reply.ok) throw new RuncError(reply.code, reply.error);
      return 0;
    }
    case 'state': print(JSON.stringify(stateJson(readRecord(g.root, oneId(parseFlags(args, {}, {}, cmd), cmd))), null, 2) + '\n'); return 0;
    case 'kill': {
      const p = parseFlags(args, {}, { '--all': 'all', '-a': 'all' }, cmd);
      if (p.positional.length < 1 || p.positional.length > 2) throw new RuncError('usage', 'kill needs a container id and at most one signal');
      await kill(g, checkId(p.positional[0]), parseSignal(p.positional[1] ?? 'SIGTERM'), p.flags.has('all'));
      return 0;
    }
    case 'delete': {
      const p = parseFlags(args, {}, { '--force': 'force', '-f': 'force' }, cmd);
      await del(g, oneId(p, cmd), p.flags.has('force'));
      return 0;
    }
    case 'list': {
      const p = parseFlags(args, { '--format': 'format', '-f': 'format' }, { '--quiet': 'quiet', '-q': 'quiet' }, cmd);
      if (p.positional.length) throw new RuncError('usage', 'list takes no arguments');
      const format = (p.flags.get('format') as string | undefined) ?? 'table';
      if (format !== 'table' && format !== 'json') throw new RuncError('usage', `invalid format option "${format}": use table or json`);
      list(g, format, p.flags.has('quiet'));
      return 0;
    }
    case 'ps': {
      const p = parseFlags(args, { '--format': 'format', '-f': 'format' }, {}, cmd);
      if (p.positional.length < 1) throw new RuncError('usage', 'ps needs a container id');
      const format = (p.flags.get('format') as string | undefined) ?? 'table';
      if (format !== 'table' && format !== 'json') throw new RuncError('usage', `invalid format option "${format}": use table or json`);
      ps(g, checkId(p.positional[0]), format);
      return 0;
    }
    case 'features': print(JSON.stringify(features(), null, 2) + '\n'); return 0;
    default:
      if (NOT_SUPPORTED.has(cmd)) throw new RuncError('unsupported', `"${cmd}" is not supported by wisp-runc`);
      throw new RuncError('usage', `unknown command "${cmd}" (see wisp-runc --help)`);
  }
}

const GLOBAL_VALUED: Record<string, string> = { '--root': 'root', '--log': 'log', '--log-format': 'log-format', '--criu': 'criu', '--rootless': 'rootless' };
const GLOBAL_BOOL: Record<string, string> = { '--debug': 'debug', '--systemd-cgroup': 'systemd-cgroup', '--help': 'help', '-h': 'help', '--version': 'version', '-v': 'version' };

export async function main(argv: readonly string[]): Promise<number> {
  const g: Globals = { root: DEFAULT_ROOT, log: { format: 'text' }, debug: false };
  try {
    let i = 0;
    const flags = new Map<string, string | true>();
    for (; i < argv.length && argv[i].startsWith('-'); i++) {
      const a = argv[i];
      const eq = a.indexOf('=');
      const name = eq > 0 ? a.slice(0, eq) : a;
      if (GLOBAL_VALUED[name]) {
        const v = eq > 0 ? a.slice(eq + 1) : argv[++i];
        if (v === undefined) throw new RuncError('usage', `${name} needs a value`);
        flags.set(GLOBAL_VALUED[name], v);
      } else if (GLOBAL_BOOL[name]) {
        flags.set(GLOBAL_BOOL[name], eq > 0 ? a.slice(eq + 1) : true);
      } else {
        throw new RuncError('usage', `unknown global option "${name}" (see wisp-runc --help)`);
      }
    }
    if (flags.has('root')) g.root = resolve(flags.get('root') as string);
    if (flags.has('log')) g.log.path = resolve(flags.get('log') as string);
    const format = flags.get('log-format');
    if (format !== undefined) {
      if (format !== 'text' && format !== 'json') throw new RuncError('usage', `--log-format must be text or json, got "${String(format)}"`);
      g.log.format = format as LogFormat;
    }
    g.debug = flags.has('debug');
    if (flags.has('version')) {
      print(`wisp-runc version ${VERSION}\nspec: ${SPEC_VERSION}\n`);
      return 0;
    }
    if (flags.has('help') || i >= argv.length) {
      (i >= argv.length && !flags.has('help') ? process.stderr : process.stdout).write(USAGE);
      return flags.has('help') ? 0 : 1;
    }
    const cmd = argv[i];
    if (g.debug) logEntry(g.log, 'debug', `wisp-runc ${argv.join(' ')}`);
    return await runCommand(g, cmd, argv.slice(i + 1));
  } catch (e) {
    const msg = e instanceof RuncError ? e.message : `internal error: ${e instanceof Error ? e.stack ?? e.message : String(e)}`;
    logEntry(g.log, 'error', msg);
    process.stderr.write(`wisp-runc: ${msg}\n`);
    return 1;
  }
}

/** For tests: what create would refuse in a bundle, without making anything. */
export function checkBundle(bundle: string): void {
  const spec = readBundle(bundle);
  const problem = executableProblem(spec.rootfs, spec.config.args[0], spec.config.env, spec.config.cwd);
  if (problem) throw new RuncError('failed', `unable to start container process: ${problem}`);
}

