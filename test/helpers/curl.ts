import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/** One request with the real curl binary over a Unix socket, as Firecracker's docs do it; JSON body parsed. */
export async function curl(sock: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
  const args = ['-sS', '--unix-socket', sock, '-X', method, `http://localhost${path}`, '-H', 'Accept: application/json', '-w', '\n%{http_code}'];
  if (body !== undefined) args.push('-H', 'Content-Type: application/json', '-d', JSON.stringify(body));
  let out: string;
  try {
    out = (await exec('curl', args)).stdout;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error('This test needs the curl binary (Debian package "curl"); install it, e.g. via scripts/setup.sh');
    }
    throw err;
  }
  const nl = out.lastIndexOf('\n');
  const text = out.slice(0, nl);
  return { status: Number(out.slice(nl + 1)), body: text ? JSON.parse(text) : undefined };
}
