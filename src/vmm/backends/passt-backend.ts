/**
 * Rootless user-mode networking: wisp starts Debian's `passt` as its own child, connected over a
 * socketpair (`--fd 3`, which also makes passt quit when its end closes: `--one-off`), and carries the
 * guest's frames on it as a StreamFramePort. passt answers the guest's DHCP/NDP, translates its TCP,
 * UDP and ICMP to ordinary sockets of this process's user, makes the host reachable at the gateway
 * address, and publishes host ports to the guest (`-t`/`-u HOST:GUEST`).
 *
 * Nothing outlives wisp: close() ends passt, and if wisp itself dies, the kernel closes the socketpair
 * and passt quits on its own.
 *
 * bookworm's passt (0.0~git20230309) as root drops to "nobody" before writing its PID file, so the
 * file lives in a private directory it can traverse, pre-created writable; and its `-d` crashes, so
 * it is never passed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import type { UserModeIpv4 } from '../machine.js';
import { StreamFramePort } from './stream-frame-port.js';
import { createFrameSocketPair } from './frame-socket-pair.js';

export type PasstErrorCode = 'not-installed' | 'port-taken' | 'bad-port' | 'start-failed';

export class PasstError extends Error {
  constructor(
    readonly code: PasstErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'PasstError';
  }
}

/** A host port published to the guest: connections to HOST on this machine reach GUEST in the VM. */
export interface PublishedPort {
  protocol: 'tcp' | 'udp';
  hostPort: number;
  guestPort: number;
}

export interface PasstOptions {
  publish?: readonly PublishedPort[];
  /**
   * The guest's IPv4 address, prefix and gateway passt uses (and hands out by DHCP) instead of the
   * host's upstream ones (`-a`, `-n`, `-g`), and the address where it answers DNS by forwarding to the
   * host's first nameserver (`--dns-forward`). The gateway stays mapped to the host (connections to
   * it reach the host's loopback).
   */
  ipv4?: UserModeIpv4;
  /** MTU passt hands out by DHCP/NDP (default passt's own, 65520). */
  mtu?: number;
  /** The passt program (default $WISP_PASST, else `passt` on PATH). */
  command?: string;
  /** How long passt may take to come up before wisp gives up on it. */
  startTimeoutMs?: number;
}

const DEFAULT_START_TIMEOUT_MS = 20_000;
/** passt's own messages kept for an error report (its stderr), at most this many bytes. */
const STDERR_KEEP = 8192;

export class PasstBackend {
  readonly port: StreamFramePort;
  /** Settles when the passt process has ended. */
  readonly exited: Promise<void>;
  private closed = false;

  private constructor(
    private readonly child: ChildProcess,
    socket: Duplex,
    private readonly dir: string,
  ) {
    this.port = new StreamFramePort(socket, 'passt');
    this.exited = new Promise((r) => {
      if (child.exitCode !== null || child.signalCode !== null) r();
      child.once('exit', () => r());
      // A program that could not be started at all never exits: its 'error' is the end.
      child.once('error', () => child.pid === undefined && r());
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** Checks the published ports, starts passt and waits until it is up. Leaves nothing running on failure. */
  static async start(opts: PasstOptions = {}): Promise<PasstBackend> {
    const publish = opts.publish ?? [];
    for (const p of publish) {
      for (const [what, n] of [['host', p.hostPort], ['guest', p.guestPort]] as const) {
        if (!Number.isInteger(n) || n < 1 || n > 65535) throw new PasstError('bad-port', `Cannot publish ${p.protocol} port ${p.hostPort}:${p.guestPort}: the ${what} port must be 1 to 65535`);
      }
    }
    // passt binds what it can and carries on without a taken port, so wisp checks first.
    for (const p of publish) await checkFree(p);

    const dir = mkdtempSync(join(tmpdir(), 'wisp-passt-'));
    const pidFile = join(dir, 'passt.pid');
    writeFileSync(pidFile, '');
    chmodSync(pidFile, 0o666);
    chmodSync(dir, 0o711);
    const args = ['--foreground', '--quiet', '--fd', '3', '--pid', pidFile];
    if (opts.mtu !== undefined) args.push('--mtu', String(opts.mtu));
    const v4 = opts.ipv4;
    if (v4) {
      args.push('-a', v4.address, '-n', String(v4.prefixLength), '-g', v4.gateway);
      if (v4.dnsForward !== undefined) args.push('--dns-forward', v4.dnsForward);
    }
    for (const p of publish) args.push(p.protocol === 'tcp' ? '-t' : '-u', `${p.hostPort}:${p.guestPort}`);
    const command = opts.command ?? process.env['WISP_PASST'] ?? 'passt';

    // The frames' socketpair: one with large buffers where the FFI can make it (frame-socket-pair.ts
    // says why), else Node's own.
    const pair = createFrameSocketPair();
    let child: ChildProcess;
    try {
      child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe', pair ? pair.childFd : 'pipe'] });
    } catch (e) {
      pair?.socket.destroy();
      rmSync(dir, { recursive: true, force: true });
      throw new PasstError('start-failed', `Cannot start passt ("${command}"): ${(e as Error).message}`, { cause: e });
    } finally {
      pair?.closeChildEnd();
    }
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (s: string) => {
      stderr = (stderr + s).slice(-STDERR_KEEP);
    });
    const said = () => stderr.split('\n').filter((l) => l.trim() && !/^Failed to send \d+ bytes to syslog/.test(l) && !/^Don't run as root/.test(l)).join('; ');
    const backend = new PasstBackend(child, pair ? pair.socket : child.stdio[3] as Duplex, dir);
    try {
      await new Promise<void>((resolve, reject) => {
        const deadline = Date.now() + (opts.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS);
        const onError = (e: NodeJS.ErrnoException) => {
          clearTimeout(timer);
          reject(e.code === 'ENOENT'
            ? new PasstError('not-installed', `Cannot start passt for user-mode networking: "${command}" is not installed (Debian: apt-get install passt; or set WISP_PASST to its path)`, { cause: e })
            : new PasstError('start-failed', `Cannot start passt ("${command}"): ${e.message}`, { cause: e }));
        };
        const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
          clearTimeout(timer);
          // Let its last words arrive before quoting them.
          setImmediate(() => reject(new PasstError('start-failed', `passt exited while starting (${signal ?? `status ${code}`})${said() ? `: ${said()}` : ''}`)));
        };
        child.once('error', onError);
        child.once('exit', onExit);
        let timer: NodeJS.Timeout;
        const poll = () => {
          let pid = '';
          try { pid = readFileSync(pidFile, 'utf8').trim(); } catch { /* not yet */ }
          if (/^\d+$/.test(pid)) {
            child.off('error', onError);
            child.off('exit', onExit);
            resolve();
          } else if (Date.now() > deadline) {
            child.off('exit', onExit);
            reject(new PasstError('start-failed', `passt did not come up within ${opts.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS} ms${said() ? `: ${said()}` : ''}`));
          } else timer = setTimeout(poll, 10);
        };
        timer = setTimeout(poll, 5);
      });
    } catch (e) {
      backend.close();
      await backend.exited;
      throw e;
    }
    child.once('exit', (code, signal) => {
      if (!backend.closed) backend.port.linkLost(`passt exited (${signal ?? `status ${code}`})${said() ? `: ${said()}` : ''}`);
    });
    return backend;
  }

  /** Ends passt (closing its socket makes it quit; SIGTERM makes sure) and removes its directory. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.port.close();
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Fails with a clear message if `p`'s host port is taken on any address passt would bind. */
async function checkFree(p: PublishedPort): Promise<void> {
  for (const host of ['0.0.0.0', '::']) {
    const err = await (p.protocol === 'tcp' ? probeTcp(host, p.hostPort) : probeUdp(host, p.hostPort));
    if (!err || err.code === 'EAFNOSUPPORT' || err.code === 'EADDRNOTAVAIL') continue;
    const why = err.code === 'EADDRINUSE' ? 'it is already in use' : err.code === 'EACCES' ? 'binding it needs privileges (ports below 1024)' : err.message;
    throw new PasstError('port-taken', `Cannot publish ${p.protocol.toUpperCase()} port ${p.hostPort} (to guest port ${p.guestPort}): ${why}; choose another host port`, { cause: err });
  }
}

function probeTcp(host: string, port: number): Promise<NodeJS.ErrnoException | null> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', (e) => resolve(e as NodeJS.ErrnoException));
    s.listen({ host, port, exclusive: true, ipv6Only: host === '::' }, () => s.close(() => resolve(null)));
  });
}

function probeUdp(host: string, port: number): Promise<NodeJS.ErrnoException | null> {
  return new Promise((resolve) => {
    const s = createSocket({ type: host === '::' ? 'udp6' : 'udp4', ipv6Only: host === '::' });
    s.once('error', (e) => { s.close(); resolve(e as NodeJS.ErrnoException); });
    s.bind({ address: host, port, exclusive: true }, () => s.close(() => resolve(null)));
  });
}
