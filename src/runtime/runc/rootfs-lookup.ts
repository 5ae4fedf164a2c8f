import { lstatSync, readlinkSync, statSync } from 'node:fs';
import { join, posix } from 'node:path';

/**
 * Paths inside a container's root filesystem directory, resolved as the container will see them:
 * symlinks (absolute ones too) stay inside the root, ".." stops at it. Used by create to find the
 * program before a VM is booted, so a missing executable fails create with runc's words.
 */

const MAX_LINKS = 40; // ELOOP after as many links as Linux follows

/** The host path of `path` inside `root` with every symlink resolved, or undefined if it is missing. */
export function resolveInRoot(root: string, path: string): string | undefined {
  const todo = path.split('/').filter((c) => c && c !== '.');
  const at: string[] = [];
  let links = 0;
  while (todo.length) {
    const c = todo.shift()!;
    if (c === '..') { at.pop(); continue; }
    const host = join(root, ...at, c);
    let st;
    try { st = lstatSync(host); } catch { return undefined; }
    if (st.isSymbolicLink()) {
      if (++links > MAX_LINKS) return undefined;
      const target = readlinkSync(host);
      if (target.startsWith('/')) at.length = 0;
      todo.unshift(...target.split('/').filter((x) => x && x !== '.'));
      continue;
    }
    at.push(c);
  }
  return join(root, ...at);
}

function isExecutableFile(hostPath: string | undefined): boolean {
  if (!hostPath) return false;
  try {
    const st = statSync(hostPath);
    return st.isFile() && (st.mode & 0o111) !== 0;
  } catch {
    return false;
  }
}

/**
 * Why `argv0` cannot be run in the container (as runc says it), or undefined when it can be found:
 * a name without "/" is looked for in PATH from `env` (the container's), as execvp does.
 */
export function executableProblem(root: string, argv0: string, env: readonly string[], cwd: string): string | undefined {
  if (argv0.includes('/')) {
    const p = posix.isAbsolute(argv0) ? argv0 : posix.join(cwd, argv0);
    const host = resolveInRoot(root, p);
    if (!host) return `exec: "${argv0}": stat ${argv0}: no such file or directory`;
    if (!isExecutableFile(host)) return `exec: "${argv0}": permission denied`;
    return undefined;
  }
  const pathVar = env.find((e) => e.startsWith('PATH='))?.slice(5) ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
  for (const dir of pathVar.split(':')) {
    const d = dir || '.';
    const p = posix.isAbsolute(d) ? posix.join(d, argv0) : posix.join(cwd, d, argv0);
    if (isExecutableFile(resolveInRoot(root, p))) return undefined;
  }
  return `exec: "${argv0}": executable file not found in $PATH`;
}
