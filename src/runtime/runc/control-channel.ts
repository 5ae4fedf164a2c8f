import { existsSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join, relative } from 'node:path';
import type { ExecConfig } from '../container-protocol.js';
import { RuncError, type RuncErrorCode } from './runc-error.js';
import { CONTROL_SOCKET } from './state-store.js';

/**
 * The control socket between the wisp-runc commands and a container's VMM process: one JSON request
 * line, one JSON reply line, per connection. The socket lives in the container's state directory,
 * and is addressed relative to it where the absolute path would pass the 107 bytes a Unix socket
 * address holds (containerd's state roots and 64-character ids come close).
 */

export type ControlRequest =
  | { op: 'start' }
  | { op: 'kill'; signal: number; all: boolean }
  | { op: 'pause' }
  | { op: 'resume' };

export type ControlReply = { ok: true } | { ok: false; code: RuncErrorCode; error: string };

/**
 * `{"op":"exec","process":ExecConfig}` turns the connection into one exec'd process's stream, JSON
 * lines both ways. From the VMM: `{"ok":false,...}` (not started), or `{"started":PID}`, then
 * `{"o":BASE64}` / `{"e":BASE64}` (stdout / stderr), and last `{"exit":STATUS,"error"?:TEXT}`. From
 * the client: `{"i":BASE64}` (stdin), `{"eof":true}`, `{"signal":N}`. A client that goes away before
 * the exit takes the process with it (SIGKILL), as a runc exec'd process dies with its pid.
 */
export interface ExecRequest { op: 'exec'; process: ExecConfig }
export type ExecServer = (req: ExecRequest, sock: Socket, rest: string) => void;

const MAX_LINE = 64 * 1024;

/** Where to connect or listen for `dir`'s socket: absolute if it fits, else relative to the cwd. */
function socketAddress(dir: string): string {
  const abs = join(dir, CONTROL_SOCKET);
  if (Buffer.byteLength(abs) < 100) return abs;
  const rel = relative(process.cwd(), abs);
  if (Buffer.byteLength(rel) < 100) return rel;
  process.chdir(dir); // only in the short-lived CLI, whose other paths are already absolute
  return CONTROL_SOCKET;
}

export function serveControl(dir: string, handle: (req: ControlRequest) => Promise<ControlReply>, exec?: ExecServer): Promise<Server> {
  const server = createServer((sock: Socket) => {
    let buf = '';
    sock.setEncoding('utf8');
    sock.on('error', () => sock.destroy());
    sock.on('data', (chunk: string) => {
      buf += chunk;
      if (buf.length > MAX_LINE) { sock.destroy(); return; }
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      sock.pause();
      let req: ControlRequest;
      try {
        req = JSON.parse(buf.slice(0, nl)) as ControlRequest;
      } catch {
        sock.end(JSON.stringify({ ok: false, code: 'usage', error: 'bad control request' }) + '\n');
        return;
      }
      if ((req as { op: string }).op === 'exec' && exec) {
        sock.removeAllListeners('data');
        exec(req as unknown as ExecRequest, sock, buf.slice(nl + 1));
        sock.resume();
        return;
      }
      handle(req).then(
        (reply) => sock.end(JSON.stringify(reply) + '\n'),
        (e: unknown) => sock.end(JSON.stringify({ ok: false, code: e instanceof RuncError ? e.code : 'failed', error: (e as Error).message }) + '\n'),
      );
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketAddress(dir), () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

/** Sends `req` to the VMM process of the container in `dir`; `id` names it in errors. */
export function callControl(dir: string, id: string, req: ControlRequest, timeoutMs = 120_000): Promise<ControlReply> {
  if (!existsSync(join(dir, CONTROL_SOCKET))) return Promise.reject(new RuncError('bad-state', `container not running: "${id}" has no VMM process listening`));
  return new Promise((resolve, reject) => {
    const sock = connect(socketAddress(dir));
    let buf = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new RuncError('failed', `container "${id}": its VMM process did not answer within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write(JSON.stringify(req) + '\n'));
    sock.on('data', (c: string) => { buf += c; });
    sock.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(e.code === 'ECONNREFUSED' || e.code === 'ENOENT'
        ? new RuncError('bad-state', `container not running: the VMM process of "${id}" is gone`)
        : new RuncError('failed', `Cannot reach the VMM process of container "${id}": ${e.message}`, { cause: e }));
    });
    sock.on('end', () => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(buf.trim()) as ControlReply);
      } catch {
        reject(new RuncError('failed', `The VMM process of container "${id}" closed the control connection without an answer`));
      }
    });
  });
}

/** Line-splitting of a stream's JSON lines (bounded: a longer line ends the stream). */
export function onJsonLines(sock: Socket, rest: string, line: (msg: Record<string, unknown>) => void, tooLong: () => void): void {
  let buf = rest;
  const drain = (): void => {
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      const l = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (!l.trim()) continue;
      try { line(JSON.parse(l) as Record<string, unknown>); } catch { /* a malformed line is skipped */ }
    }
    if (buf.length > MAX_LINE) tooLong();
  };
  sock.setEncoding('utf8');
  sock.on('data', (c: string) => { buf += c; drain(); });
  drain();
}

/** The client side of an exec stream (see ExecRequest). */
export interface ExecClient {
  /** The guest pid, once the VMM says the process runs; rejects with why it did not start. */
  started: Promise<number>;
  /** The exit status; rejects if the VMM process went away without one. */
  exited: Promise<{ status: number; error?: string }>;
  stdin(b: Uint8Array): void;
  eof(): void;
  signal(n: number): void;
}

export function openExec(dir: string, id: string, process: ExecConfig, out: { stdout(b: Buffer): void; stderr(b: Buffer): void }): ExecClient {
  if (!existsSync(join(dir, CONTROL_SOCKET))) throw new RuncError('bad-state', `container not running: "${id}" has no VMM process listening`);
  const sock = connect(socketAddress(dir));
  let startedOk!: (pid: number) => void, startFail!: (e: Error) => void, exitOk!: (x: { status: number; error?: string }) => void, exitFail!: (e: Error) => void;
  const started = new Promise<number>((a, b) => { startedOk = a; startFail = b; });
  const exited = new Promise<{ status: number; error?: string }>((a, b) => { exitOk = a; exitFail = b; });
  started.catch(() => {});
  exited.catch(() => {});
  let ended = false;
  const send = (m: unknown): void => { if (!ended && !sock.destroyed) sock.write(JSON.stringify(m) + '\n'); };
  sock.on('connect', () => send({ op: 'exec', process }));
  onJsonLines(sock, '', (m) => {
    if (typeof m.started === 'number') startedOk(m.started);
    else if (typeof m.o === 'string') out.stdout(Buffer.from(m.o, 'base64'));
    else if (typeof m.e === 'string') out.stderr(Buffer.from(m.e, 'base64'));
    else if (typeof m.exit === 'number') { ended = true; exitOk({ status: m.exit, ...(typeof m.error === 'string' && { error: m.error }) }); sock.end(); }
    else if (m.ok === false) {
      const e = new RuncError((m.code as RuncErrorCode) ?? 'failed', String(m.error));
      ended = true; startFail(e); exitFail(e); sock.end();
    }
  }, () => sock.destroy());
  const gone = (e?: NodeJS.ErrnoException): void => {
    if (ended) return;
    ended = true;
    const err = e && (e.code === 'ECONNREFUSED' || e.code === 'ENOENT')
      ? new RuncError('bad-state', `container not running: the VMM process of "${id}" is gone`)
      : new RuncError('failed', `The VMM process of container "${id}" closed the exec stream without a status${e ? `: ${e.message}` : ''}`);
    startFail(err); exitFail(err);
  };
  sock.on('error', gone);
  sock.on('close', () => gone());
  return {
    started, exited,
    // (In pieces whose lines stay far below the stream's line limit.)
    stdin: (b) => { for (let o = 0; o < b.length; o += 16384) send({ i: Buffer.from(b.subarray(o, o + 16384)).toString('base64') }); },
    eof: () => send({ eof: true }),
    signal: (n) => send({ signal: n }),
  };
}
