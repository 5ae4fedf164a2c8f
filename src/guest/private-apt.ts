import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { GuestError } from './guest-error.js';
import { runTool } from './host-tool.js';

/** Debian's keyring as installed by debian-archive-keyring; bookworm's also holds trixie's signing keys. */
const DEBIAN_KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';

export interface PrivateAptOptions {
  /** Directory that holds all of apt's state, lists, caches and our sources.list. */
  dir: string;
  mirror: string;
  suite: string;
  arch: string;
  progress?: Writable | null;
}

/**
 * apt-get and apt-cache pointed at a private state directory, so wisp never reads or writes the host's
 * package lists, status, caches, sources or pinning (apt.conf(5) "DIRECTORIES"). The host's apt.conf.d
 * still applies, on purpose: it is where proxies are configured.
 */
export class PrivateApt {
  readonly dir: string;
  private readonly opts: PrivateAptOptions;

  constructor(opts: PrivateAptOptions) {
    this.opts = opts;
    this.dir = opts.dir;
  }

  /** The `-o` options that confine apt to `dir` and to one foreign architecture. */
  options(): string[] {
    const d = this.dir;
    const o = (k: string, v: string): string[] => ['-o', `${k}=${v}`];
    return [
      ...o('APT::Architecture', this.opts.arch),
      // "::" appends to the (otherwise unset) list, so only this architecture's lists are fetched.
      ...o('APT::Architectures::', this.opts.arch),
      ...o('Dir::State', join(d, 'state')),
      ...o('Dir::State::Lists', join(d, 'state', 'lists')),
      ...o('Dir::State::status', join(d, 'state', 'status')),
      ...o('Dir::Cache', join(d, 'cache')),
      ...o('Dir::Cache::Archives', join(d, 'cache', 'archives')),
      ...o('Dir::Etc::SourceList', join(d, 'sources.list')),
      ...o('Dir::Etc::SourceParts', '/dev/null'),
      ...o('Dir::Etc::Preferences', '/dev/null'),
      ...o('Dir::Etc::PreferencesParts', '/dev/null'),
      // Downloads land in our own directories; root's _apt sandbox user may not be able to write there.
      ...(process.getuid?.() === 0 ? o('APT::Sandbox::User', 'root') : []),
    ];
  }

  /** The one line of our sources.list. */
  sourcesLine(): string {
    const signed = existsSync(DEBIAN_KEYRING) ? ` signed-by=${DEBIAN_KEYRING}` : '';
    return `deb [arch=${this.opts.arch}${signed}] ${this.opts.mirror} ${this.opts.suite} main\n`;
  }

  private prepare(): void {
    for (const sub of ['state/lists/partial', 'cache/archives/partial']) mkdirSync(join(this.dir, sub), { recursive: true });
    const status = join(this.dir, 'state', 'status');
    if (!existsSync(status)) writeFileSync(status, '');
    writeFileSync(join(this.dir, 'sources.list'), this.sourcesLine());
  }

  /** `apt-get update` of the private lists; progress on `progress`. */
  async update(): Promise<void> {
    this.prepare();
    try {
      await runTool('apt-get', [...this.options(), 'update'], { progress: this.opts.progress, stdoutIsProgress: true, env: { LC_ALL: 'C' } });
    } catch (e) {
      if (e instanceof GuestError && e.code === 'missing-tool') throw e;
      throw new GuestError('fetch-failed', `Cannot read Debian ${this.opts.suite} package lists from ${this.opts.mirror}: ${(e as Error).message}`, { cause: e });
    }
  }

  /** The stanza `apt-cache show` prints for the candidate version of `pkg`, as a field map. */
  async show(pkg: string): Promise<Map<string, string>> {
    let text: string;
    try {
      text = (await runTool('apt-cache', [...this.options(), 'show', '--no-all-versions', pkg], { env: { LC_ALL: 'C' } })).stdout.toString('utf8');
    } catch (e) {
      if (e instanceof GuestError && e.code === 'missing-tool') throw e;
      throw new GuestError('fetch-failed', `Package "${pkg}" is not in Debian ${this.opts.suite} for ${this.opts.arch}: ${(e as Error).message}`, { cause: e });
    }
    return parseControlStanza(text);
  }

  /** `apt-get download` into `destDir` (the current directory of apt-get). */
  async download(pkgs: readonly string[], destDir: string): Promise<void> {
    mkdirSync(destDir, { recursive: true });
    try {
      await runTool('apt-get', [...this.options(), 'download', ...pkgs], { cwd: destDir, progress: this.opts.progress, stdoutIsProgress: true, env: { LC_ALL: 'C' } });
    } catch (e) {
      if (e instanceof GuestError && e.code === 'missing-tool') throw e;
      throw new GuestError('fetch-failed', `Cannot download ${pkgs.join(', ')} from ${this.opts.mirror}: ${(e as Error).message}`, { cause: e });
    }
  }
  /**
   * The packages `apt-get install pkgs` would unpack into an empty system (the private status file lists
   * nothing installed): the whole dependency closure without Recommends, in apt's order.
   */
  async closure(pkgs: readonly string[]): Promise<PackageVersion[]> {
    let text: string;
    try {
      text = (await runTool('apt-get', [...this.options(), '--simulate', '--no-install-recommends', 'install', ...pkgs], { env: { LC_ALL: 'C' } })).stdout.toString('utf8');
    } catch (e) {
      if (e instanceof GuestError && e.code === 'missing-tool') throw e;
      throw new GuestError('fetch-failed', `Cannot resolve ${pkgs.join(', ')} in Debian ${this.opts.suite} for ${this.opts.arch}: ${(e as Error).message}`, { cause: e });
    }
    return parseSimulatedInstalls(text);
  }

  /** Downloads every package of `closure(pkgs)` into the private archive cache (`archivesDir`). */
  async downloadClosure(pkgs: readonly string[]): Promise<void> {
    try {
      await runTool('apt-get', [...this.options(), '--download-only', '--no-install-recommends', '--yes', 'install', ...pkgs],
        { progress: this.opts.progress, stdoutIsProgress: true, env: { LC_ALL: 'C' } });
    } catch (e) {
      if (e instanceof GuestError && e.code === 'missing-tool') throw e;
      throw new GuestError('fetch-failed', `Cannot download ${pkgs.join(', ')} from ${this.opts.mirror}: ${(e as Error).message}`, { cause: e });
    }
  }

  /** Where downloadClosure leaves the .deb files. */
  get archivesDir(): string {
    return join(this.dir, 'cache', 'archives');
  }
}

export interface PackageVersion {
  name: string;
  version: string;
}

/** The `Inst name (version …)` lines of `apt-get --simulate install` (apt-get(8) "-s"). */
export function parseSimulatedInstalls(text: string): PackageVersion[] {
  const out: PackageVersion[] = [];
  for (const m of text.matchAll(/^Inst (\S+?)(?::\S+)? (?:\[[^\]]*\] )?\((\S+)/gm)) out.push({ name: m[1]!, version: m[2]! });
  return out;
}

/** The first stanza of Debian control-file text (deb-control(5)) as lower-cased field → value. */
export function parseControlStanza(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  let last = '';
  for (const line of text.split('\n')) {
    if (line.trim() === '') {
      if (fields.size) break;
      continue;
    }
    if (/^\s/.test(line) && last) {
      fields.set(last, `${fields.get(last)}\n${line.trim()}`);
      continue;
    }
    const m = /^([A-Za-z0-9-]+):\s?(.*)$/.exec(line);
    if (!m) continue;
    last = m[1]!.toLowerCase();
    fields.set(last, m[2]!.trim());
  }
  return fields;
}

/**
 * The real kernel package a `linux-image-<flavour>` metapackage depends on, e.g.
 * "linux-image-6.12.117+deb13-riscv64" from "linux-image-6.12.117+deb13-riscv64 (= 6.12.117-1)".
 */
export function kernelPackageFromDepends(depends: string): string | undefined {
  for (const alt of depends.split(/[,|]/)) {
    const name = alt.trim().split(/[\s(]/)[0] ?? '';
    if (/^linux-image-\d/.test(name)) return name;
  }
  return undefined;
}
