import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * One writer at a time per cache directory (test files run in parallel processes, and two shells may
 * run `wisp guest fetch` at once): an exclusive lock file `name` in `dir` holding the owner's pid; a
 * lock whose owner is gone is taken over.
 */
export async function withDirLock<T>(dir: string, name: string, say: (line: string) => void, fn: () => Promise<T>): Promise<T> {
  const lock = join(dir, name);
  let told = false;
  for (;;) {
    try {
      writeFileSync(lock, String(process.pid), { flag: 'wx' });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    let owner: number;
    try {
      owner = Number(readFileSync(lock, 'utf8').trim());
    } catch {
      continue; // released between our attempt and this read
    }
    if (!Number.isInteger(owner) || owner <= 0 || !alive(owner)) {
      rmSync(lock, { force: true });
      continue;
    }
    if (!told) say(`waiting for another fetch into ${dir} (pid ${owner})`);
    told = true;
    await new Promise((r) => setTimeout(r, 500));
  }
  try {
    return await fn();
  } finally {
    rmSync(lock, { force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
