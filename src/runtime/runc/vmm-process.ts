import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import type { Server } from 'node:net';
import { constants } from 'node:os';
import { join } from 'node:path';
import { buildRootfs } from '../../guest/rootfs.js';
import { ContainerVm, type ContainerExit } from '../container-vm.js';
import type { BundleSpec } from './bundle-spec.js';
import { onJsonLines, serveControl, type ControlReply, type ControlRequest, type ExecServer } from './control-channel.js';
import { logEntry, type RuncLog } from './runc-log.js';
import { CONTROL_SOCKET, ROOT_DISK, writeRecord, type ContainerRecord } from './state-store.js';

/**
 * The VMM process of one container: `wisp-runc create` spawns it detached (a session of its own) and
 * returns once it says the container is created; its pid is the one in the pid file, so containerd's
 * shim, which reaps it as the container's init, gets the container's exit status from it (the
 * process exits with that status: the code, or 128 + signal). It
 *   1. makes the root disk (ext4) from the bundle's root directory into the state directory;
 *   2. boots the container VM (ContainerVm: wisp's init sets the container up, says CREATED, and waits);
 *   3. serves the control socket (start, kill) and keeps the state record;
 *   4. relays stdio: its own fds 0-2, which are the shim's pipes or, for a terminal, the host pty's
 *      terminal side whose master the shim got over the console socket;
 *   5. passes signals it receives on to the container's process, as runc's pid would take them.
 */

export interface Launch {
  version: 1;
  id: string;
  spec: BundleSpec;
  log: RuncLog;
  /** The terminal side of the host pty (fds 0-2 are it); reopened to make it the controlling terminal. */
  ptsPath?: string;
}

export const LAUNCH_FILE = 'launch.json';
/** fd 3 of the VMM process: one line back to create ("ok" or "error: ..."), then closed. */
const REPORT_FD = 3;
const FORWARDED: NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];
/** Signals whose default action is not to end a process (signal(7)): a created container keeps them. */
const HARMLESS = new Set([0, constants.signals.SIGCHLD, constants.signals.SIGCONT, constants.signals.SIGURG, constants.signals.SIGWINCH]);

function report(line: string): void {
  try {
    writeSync(REPORT_FD, line + '\n');
    closeSync(REPORT_FD);
  } catch {
    // create has gone (killed): nobody to tell.
  }
}

export async function runVmmProcess(dir: string): Promise<number> {
  const launch = JSON.parse(readFileSync(join(dir, LAUNCH_FILE), 'utf8')) as Launch;
  const { id, spec, log } = launch;
  const rec = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as ContainerRecord;
  const setStatus = (status: ContainerRecord['status'], exitStatus?: number): void => {
    rec.status = status;
    if (exitStatus !== undefined) rec.exitStatus = exitStatus;
    try { writeRecord(dir, rec); } catch (e) { logEntry(log, 'warning', `container "${id}": cannot write its state: ${(e as Error).message}`); }
  };
  // A session leader opening a terminal without O_NOCTTY makes it its controlling terminal: the
  // shim's resizes (TIOCSWINSZ on the master) then arrive here as SIGWINCH.
  if (launch.ptsPath) openSync(launch.ptsPath, 'r+');
  process.stdout.on('error', () => {}); // the shim closed its end: output has nowhere to go
  process.stderr.on('error', () => {});

  let vm: ContainerVm;
  let killedWhileCreated: number | undefined;
  try {
    await buildRootfs({ dir: spec.rootfs, output: join(dir, ROOT_DISK), label: 'wisp-runc' });
    vm = await ContainerVm.start({
      rootfs: join(dir, ROOT_DISK),
      config: spec.config,
      memMiB: spec.memMiB,
      instanceId: id,
      progress: null,
      io: {
        stdout: (b) => { process.stdout.write(b); },
        stderr: (b) => { process.stderr.write(b); },
      },
    });
  } catch (e) {
    report(`error: cannot start the container's VM: ${(e as Error).message}`);
    return 1;
  }
  const first = await Promise.race([vm.created.then(() => undefined), vm.exited]);
  if (first) {
    report(`error: ${first.error ?? `the container's VM ended while it was being set up (status ${first.status})`}`);
    return 1;
  }
  if (spec.consoleSize) vm.resize(spec.consoleSize.rows, spec.consoleSize.cols);

  const handle = async (req: ControlRequest): Promise<ControlReply> => {
    if (req.op === 'start') {
      if (rec.status === 'running') return { ok: false, code: 'bad-state', error: 'cannot start an already running container' };
      if (rec.status !== 'created') return { ok: false, code: 'bad-state', error: 'cannot start a container that has stopped' };
      if (launch.ptsPath && process.stdout.isTTY) sendSize(); // in case a resize came before the handler
      vm.start();
      const how = await Promise.race([vm.started.then(() => undefined), vm.exited]);
      if (how) return { ok: false, code: 'failed', error: `unable to start container process: ${how.error ?? `it ended with status ${how.status}`}` };
      setStatus('running');
      return { ok: true };
    }
    if (req.op === 'kill') {
      const sig = req.signal;
      if (!Number.isInteger(sig) || sig < 0 || sig > 64) return { ok: false, code: 'usage', error: `invalid signal ${String(sig)}` };
      if (rec.status === 'stopped') return { ok: false, code: 'bad-state', error: 'container not running' };
      if (rec.status === 'created') {
        // The process has not been started: a signal that would end it ends the container.
        if (!HARMLESS.has(sig)) {
          killedWhileCreated = sig;
          await vm.stop();
        }
        return { ok: true };
      }
      // (Paused: the signal waits in the serial port's queue until the VM runs again, as a frozen
      // process's does until it is thawed.)
      if (sig !== 0) vm.signal(sig, req.all);
      return { ok: true };
    }
    if (req.op === 'pause') {
      if (rec.status === 'paused') return { ok: false, code: 'bad-state', error: 'container already paused' };
      if (rec.status !== 'running') return { ok: false, code: 'bad-state', error: 'container not running' };
      await vm.pause();
      setStatus('paused');
      return { ok: true };
    }
    if (req.op === 'resume') {
      if (rec.status !== 'paused') return { ok: false, code: 'bad-state', error: 'container not paused' };
      await vm.resume();
      setStatus('running');
      return { ok: true };
    }
    return { ok: false, code: 'usage', error: `unknown control request "${(req as { op: string }).op}"` };
  };

  // runc exec: another process in the running container, streamed over its own control connection.
  const execServer: ExecServer = (req, sock, rest) => {
    const say = (m: unknown): void => { if (!sock.destroyed && sock.writable) sock.write(JSON.stringify(m) + '\n'); };
    sock.on('error', () => sock.destroy());
    const refuse = (code: string, error: string): void => { sock.end(JSON.stringify({ ok: false, code, error }) + '\n'); };
    if (rec.status === 'paused') return refuse('bad-state', 'cannot exec in a paused container');
    if (rec.status !== 'running') return refuse('bad-state', `cannot exec in a ${rec.status === 'created' ? 'created' : 'stopped'} container`);
    let x: ReturnType<ContainerVm['exec']>;
    try {
      x = vm.exec(req.process, {
        stdout: (b) => say({ o: Buffer.from(b).toString('base64') }),
        stderr: (b) => say({ e: Buffer.from(b).toString('base64') }),
      });
    } catch (e) {
      return refuse('failed', `cannot exec in container "${id}": ${(e as Error).message}`);
    }
    let started = false, done = false;
    onJsonLines(sock, rest, (m) => {
      if (typeof m.i === 'string') x.writeStdin(Buffer.from(m.i, 'base64'));
      else if (m.eof === true) x.closeStdin();
      else if (typeof m.signal === 'number' && Number.isInteger(m.signal) && m.signal > 0 && m.signal <= 64) x.signal(m.signal);
    }, () => sock.destroy());
    sock.on('close', () => { if (!done) x.signal(constants.signals.SIGKILL); });
    void x.started.then((pid) => { started = true; say({ started: pid }); });
    void x.exited.then((e) => {
      done = true;
      if (!started) return refuse('failed', `unable to start container process: ${e.error ?? `it ended with status ${e.status}`}`);
      sock.end(JSON.stringify({ exit: e.status, ...(e.error && { error: e.error }) }) + '\n');
    });
  };

  let server: Server;
  try {
    server = await serveControl(dir, handle, execServer);
  } catch (e) {
    await vm.stop();
    report(`error: cannot listen on ${join(dir, CONTROL_SOCKET)}: ${(e as Error).message}`);
    return 1;
  }
  setStatus('created');

  const onSignal = (sig: NodeJS.Signals): void => {
    logEntry(log, 'debug', `container "${id}": the VMM process got ${sig}; passing it on`);
    void handle({ op: 'kill', signal: constants.signals[sig], all: false });
  };
  for (const s of FORWARDED) process.on(s, onSignal);
  const stdin = process.stdin;
  // (The terminal was made raw by create; setRawMode would put ONLCR back.)
  const sendSize = (): void => {
    const [cols, rows] = process.stdout.getWindowSize();
    if (rows > 0 && cols > 0) vm.resize(rows, cols);
  };
  if (launch.ptsPath && process.stdout.isTTY) process.stdout.on('resize', sendSize);
  stdin.on('data', (b: Buffer) => vm.writeStdin(b));
  stdin.on('end', () => vm.closeStdin());
  stdin.on('error', () => vm.closeStdin());
  stdin.resume();
  report('ok');

  const exit: ContainerExit = await vm.exited;
  const status = killedWhileCreated !== undefined ? 128 + killedWhileCreated : exit.status;
  if (exit.error && killedWhileCreated === undefined && rec.status === 'running') logEntry(log, 'warning', `container "${id}": ${exit.error}`);
  setStatus('stopped', status);
  for (const s of FORWARDED) process.off(s, onSignal);
  stdin.pause();
  stdin.destroy();
  // Let a pending reply (start, kill) reach its caller before the process ends.
  await new Promise<void>((r) => server.close(() => r()));
  rmSync(join(dir, CONTROL_SOCKET), { force: true });
  return status;
}

