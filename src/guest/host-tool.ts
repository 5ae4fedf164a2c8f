import { spawn } from 'node:child_process';
import type { Writable } from 'node:stream';
import { GuestError } from './guest-error.js';

/** Debian package that provides each host program we run, so a missing tool names its fix. */
const PACKAGE_OF: Record<string, string> = {
  xz: 'xz-utils',
  'apt-get': 'apt',
  'apt-cache': 'apt',
  'dpkg-deb': 'dpkg',
  mke2fs: 'e2fsprogs',
  debugfs: 'e2fsprogs',
  cpio: 'cpio',
  zstd: 'zstd',
};

export interface RunToolOptions {
  cwd?: string;
  /** Where the tool's stderr goes as it runs (progress); otherwise it is kept for the error message. */
  progress?: Writable | null;
  /** Also copy stdout to `progress` (apt-get prints its progress on stdout). */
  stdoutIsProgress?: boolean;
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** Bytes to write on the tool's stdin. */
  input?: Buffer;
}

export interface ToolResult {
  stdout: Buffer;
  stderr: string;
}

/**
 * Run a host program to completion and return its output. Failures become GuestErrors that name the
 * program and quote its last stderr line; a program that is not installed names the Debian package.
 */
export function runTool(cmd: string, args: readonly string[], opts: RunToolOptions = {}): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ? { ...process.env, ...opts.env } : process.env,
      stdio: [opts.input ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (b: Buffer) => {
      out.push(b);
      if (opts.stdoutIsProgress) opts.progress?.write(b);
    });
    child.stderr!.on('data', (b: Buffer) => {
      err.push(b);
      opts.progress?.write(b);
    });
    if (opts.input) {
      // A tool that exits early closes its stdin; that shows up as its exit status, not as EPIPE here.
      child.stdin!.on('error', () => {});
      child.stdin!.end(opts.input);
    }
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') {
        const pkg = PACKAGE_OF[cmd];
        reject(
          new GuestError('missing-tool', `Cannot run "${cmd}": it is not installed${pkg ? ` (Debian package ${pkg})` : ''}`, { cause: e }),
        );
      } else {
        reject(new GuestError('tool-failed', `Cannot run "${cmd}": ${e.message}`, { cause: e }));
      }
    });
    child.on('close', (code, signal) => {
      const stderr = Buffer.concat(err).toString('utf8');
      if (code === 0) {
        resolve({ stdout: Buffer.concat(out), stderr });
        return;
      }
      const last = stderr.trim().split('\n').filter(Boolean).pop() ?? '';
      const how = signal ? `was killed by ${signal}` : `exited with status ${code}`;
      reject(new GuestError('tool-failed', `${cmd} ${how}${last ? `: ${last}` : ''}`));
    });
  });
}

/** Decompress one .xz file with the host's `xz` (Node has no xz decoder). */
export async function xzDecompressFile(path: string): Promise<Buffer> {
  return (await runTool('xz', ['-dc', '--', path])).stdout;
}
