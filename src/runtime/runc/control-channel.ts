import { existsSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join, relative } from 'node:path';
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

export function serveControl(dir: string, handle: (req: ControlRequest) => Promise<ControlReply>): Promise<Server> {
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
