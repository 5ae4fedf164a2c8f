/**
 * Fixtures for end-to-end tests that run the real `wisp` CLI as a child process: the default Debian
 * guest (fetched once into the cache), a minimal initramfs around Debian's busybox, ext4 disks made
 * with `wisp guest rootfs`, a child-process handle with a hard timeout (a hung guest fails the test,
 * it never blocks it), and `debugfs` to read files back out of an ext4 image.
 *
 * The CLI is `node bin/wisp.js`, which loads dist/: the tree must be built (`npm test` builds first;
 * with `npx tsx --test` run `npx tsc -p tsconfig.json` before).
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { CpioWriter } from '../../src/guest/cpio.js';
import { ensureDefaultGuest, type DefaultGuest } from '../../src/guest/fetch.js';

/** The repository root: the nearest ancestor holding bin/wisp.js (works from test/ and dist/test/). */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'bin', 'wisp.js')) && existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`Cannot find the wisp repository (bin/wisp.js) above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

/** Path of the CLI entry point; fails clearly when dist/ has not been built. */
export function wispBin(): string {
  const root = repoRoot();
  if (!existsSync(join(root, 'dist', 'src', 'cli', 'main.js'))) {
    throw new Error(`wisp is not built (no ${join(root, 'dist/src/cli/main.js')}): run "npx tsc -p tsconfig.json" first`);
  }
  return join(root, 'bin', 'wisp.js');
}

/** The default Debian guest, fetched into $WISP_CACHE / ~/.cache/wisp if it is not there yet. */
export async function ensureGuest(): Promise<DefaultGuest> {
  return ensureDefaultGuest({ progress: null });
}

/**
 * A gzip'd newc initramfs holding only Debian's static busybox and `/init` = `script` (run by
 * busybox sh): no kernel modules, so the kernel reaches /init as fast as it can. The script should
 * end with `poweroff -f`; PID 1 exiting panics the kernel. `programs` go to /bin under their names.
 */
export function minimalInitramfs(guest: DefaultGuest, script: string, programs: Readonly<Record<string, Uint8Array>> = {}): Buffer {
  const w = new CpioWriter({ mtime: 0 });
  for (const d of ['bin', 'dev', 'proc', 'sys']) w.addDirectory(d);
  // The kernel opens /dev/console for init's stdio before anything could mount devtmpfs
  // (Documentation/admin-guide/devices.txt: console is c 5 1).
  w.addCharDevice('dev/console', 5, 1, { mode: 0o600 });
  w.addFile('bin/busybox', readFileSync(guest.busyboxPath), { mode: 0o755 });
  for (const [name, bytes] of Object.entries(programs)) w.addFile(`bin/${name}`, bytes, { mode: 0o755 });
  w.addSymlink('bin/sh', 'busybox');
  w.addFile('init', Buffer.from(`#!/bin/busybox sh\nexport PATH=/bin\n/bin/busybox --install -s /bin\n${script}\n`), { mode: 0o755 });
  return gzipSync(w.finish());
}

export interface WispResult {
  /** Exit status, or null when a signal ended the process. */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Whether the helper killed the process because the timeout ran out. */
  timedOut: boolean;
  stdout: string;
  stderr: string;
  /** Milliseconds from spawn to exit. */
  wallMs: number;
}

export interface WispOptions {
  /** Hard limit: SIGKILL after this many milliseconds, and `timedOut` is set. */
  timeoutMs: number;
  /** Written to stdin right after spawn; stdin then stays open unless `closeStdin`. */
  input?: string;
  closeStdin?: boolean;
  env?: NodeJS.ProcessEnv;
}

/** Console text without the kernel's log lines (`[    4.984488] …\r\n`), up to its last complete line. */
export function programLines(text: string): string {
  const whole = text.slice(0, text.lastIndexOf('\n') + 1);
  return whole.replace(/\[ *\d+\.\d+\] [^\n]*\n/g, '');
}

/** A running `node bin/wisp.js …` with its output collected. */
export class WispProcess {
  readonly child: ChildProcessWithoutNullStreams;
  stdout = '';
  stderr = '';
  timedOut = false;
  readonly started = performance.now();
  readonly exited: Promise<WispResult>;
  private readonly waiters = new Set<() => void>();
  private finished = false;

  constructor(args: readonly string[], opts: WispOptions) {
    this.child = spawn(process.execPath, [wispBin(), ...args], {
      cwd: repoRoot(),
      env: opts.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    // The console as bytes (latin1 maps each byte to one char), wisp's own messages as UTF-8 text.
    this.child.stdout.setEncoding('latin1');
    this.child.stderr.setEncoding('utf8');
    this.child.stdout.on('data', (s: string) => { this.stdout += s; this.poke(); });
    this.child.stderr.on('data', (s: string) => { this.stderr += s; this.poke(); });
    // A guest that stopped reading stdin must not crash the test with EPIPE.
    this.child.stdin.on('error', () => {});
    const timer = setTimeout(() => { this.timedOut = true; this.child.kill('SIGKILL'); }, opts.timeoutMs);
    this.exited = new Promise<WispResult>((resolve, reject) => {
      this.child.on('error', (e) => { clearTimeout(timer); reject(new Error(`Cannot start wisp: ${e.message}`)); });
      this.child.on('close', (code, signal) => {
        clearTimeout(timer);
        this.finished = true;
        this.poke();
        resolve({ code, signal, timedOut: this.timedOut, stdout: this.stdout, stderr: this.stderr, wallMs: performance.now() - this.started });
      });
    });
    if (opts.input !== undefined) this.child.stdin.write(opts.input);
    if (opts.closeStdin) this.child.stdin.end();
  }

  write(text: string): void {
    this.child.stdin.write(text);
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    this.child.kill(signal);
  }

  /**
   * Resolves with the match once stdout (from `from` on) matches `re`; rejects when the process
   * exits first or `timeoutMs` passes, with the tail of the output in the message.
   */
  waitFor(re: RegExp, timeoutMs: number, from = 0, view: (text: string) => string = (text) => text): Promise<RegExpExecArray> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const m = re.exec(view(this.stdout.slice(from)));
        if (m) { done(); resolve(m); return true; }
        if (this.finished) {
          done();
          reject(new Error(`wisp exited before its output matched ${re}:\n${this.describe()}`));
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`wisp's output did not match ${re} within ${timeoutMs} ms:\n${this.describe()}`));
      }, timeoutMs);
      const done = (): void => { clearTimeout(timer); this.waiters.delete(onPoke); };
      const onPoke = (): void => { check(); };
      if (!check()) this.waiters.add(onPoke);
    });
  }

  /**
   * Like waitFor, for what the guest's programs print: `re` sees only whole lines (the console arrives
   * in pieces, and a line's first half must not match as if it were all of it), with the kernel's log
   * lines cut out wherever they landed (after a host hiccup the kernel may print, say, `hrtimer:
   * interrupt took …` in the middle of a program's line).
   */
  waitForLine(re: RegExp, timeoutMs: number, from = 0): Promise<RegExpExecArray> {
    return this.waitFor(re, timeoutMs, from, programLines);
  }

  /** The last lines of both streams, for assertion messages. */
  describe(): string {
    return `--- stdout (tail) ---\n${this.stdout.slice(-3000)}\n--- stderr (tail) ---\n${this.stderr.slice(-2000)}`;
  }

  private poke(): void {
    for (const w of [...this.waiters]) w();
  }
}

/** Runs wisp to the end (or the timeout) and returns what it printed. */
export function runWisp(args: readonly string[], opts: WispOptions): Promise<WispResult> {
  return new WispProcess(args, { closeStdin: opts.input === undefined, ...opts }).exited;
}

/** A one-line summary of a result, for assertion messages. */
export function describeResult(r: WispResult): string {
  return `exit ${r.code ?? r.signal}${r.timedOut ? ' (timed out, killed)' : ''} after ${(r.wallMs / 1000).toFixed(1)} s\n` +
    `--- stdout (tail) ---\n${r.stdout.slice(-3000)}\n--- stderr (tail) ---\n${r.stderr.slice(-2000)}`;
}

/** Console output as lines: the 8250 driver writes CRLF. */
export function consoleLines(stdout: string): string[] {
  return stdout.replace(/\r/g, '').split('\n');
}

/** `wisp guest rootfs DIR -o IMAGE [--size SIZE]`, through the CLI as a user would. */
export async function buildDisk(dir: string, image: string, size = '16M'): Promise<void> {
  const r = await runWisp(['guest', 'rootfs', dir, '-o', image, '--size', size], { timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`wisp guest rootfs ${dir} failed: ${describeResult(r)}`);
}

function hostTool(tool: string, pkg: string, args: string[]): { status: number | null; stdout: Buffer; stderr: string } {
  const r = spawnSync(tool, args, { maxBuffer: 256 * 1024 * 1024 });
  if (r.error) {
    throw new Error(`These tests need the host tool "${tool}" (Debian package ${pkg}; scripts/setup.sh installs it): ${r.error.message}`);
  }
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString() };
}

/** The bytes of `path` inside the ext4 image, read with `debugfs -R 'cat PATH'`; throws if absent. */
export function debugfsCat(image: string, path: string): Buffer {
  // Ask for the inode first: `cat` of a missing file prints an error but still exits 0.
  const stat = hostTool('debugfs', 'e2fsprogs', ['-R', `stat "${path}"`, image]);
  if (stat.status !== 0 || /not found|cannot|bad/i.test(stat.stderr.replace(/^debugfs [^\n]*\n/, ''))) {
    throw new Error(`debugfs finds no "${path}" in ${image}: ${stat.stderr.trim()}`);
  }
  const r = hostTool('debugfs', 'e2fsprogs', ['-R', `cat "${path}"`, image]);
  if (r.status !== 0) throw new Error(`debugfs cat "${path}" ${image} failed: ${r.stderr.trim()}`);
  return r.stdout;
}

/**
 * Replays the ext4 journal and repairs what a crash left (`e2fsck -fy`), as the kernel would on the
 * next mount. debugfs reads the image as it is and does not replay the journal itself.
 */
export function e2fsckReplay(image: string): string {
  const r = hostTool('e2fsck', 'e2fsprogs', ['-fy', image]);
  // e2fsck(8): 0 clean, 1 errors corrected, 2 corrected and reboot advised; 4 and up are failures.
  if (r.status === null || r.status >= 4) throw new Error(`e2fsck -fy ${image} failed with ${r.status}: ${r.stdout.toString()}${r.stderr}`);
  return r.stdout.toString() + r.stderr;
}

export function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** Fails with a clear message when a host tool the test needs is missing. */
export function requireTool(tool: string, pkg: string): void {
  const r = spawnSync('sh', ['-c', `command -v ${tool}`]);
  if (r.status !== 0) throw new Error(`This test needs the host tool "${tool}" (Debian package ${pkg}; scripts/setup.sh installs it)`);
}
