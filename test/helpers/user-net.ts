/**
 * What the user-mode network tests share: whether passt is installed, a free host port, the passt
 * processes still publishing a port (none may outlive their VMM), and a whole HTTP body from the host.
 */
import { execFileSync } from 'node:child_process';
import { get as httpGet } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';

export function passtInstalled(): boolean {
  try {
    execFileSync('passt', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A port nobody listens on right now on `host` (the kernel picks it). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, host, r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** passt processes publishing `hostPort` (there must be none once the VMM that owned it has gone). */
export function passtsFor(hostPort: number): string[] {
  const out = execFileSync('ps', ['-eo', 'pid=,stat=,args='], { encoding: 'utf8' });
  return out.split('\n').filter((l) => /\bpasst/.test(l) && l.includes(`${hostPort}:`) && !/^\s*\d+\s+Z/.test(l));
}

/** The body of a GET answered 200 (any other status is an error). */
export function fetchBytes(url: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    httpGet(url, (res) => {
      if (res.statusCode !== 200) { reject(new Error(`${url}: HTTP ${res.statusCode}`)); res.resume(); return; }
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => resolve(Buffer.concat(parts)));
      res.on('error', reject);
    }).on('error', reject);
  });
}
