import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/** wisp's download cache (DESIGN.md "Default guest"): `$WISP_CACHE`, else `~/.cache/wisp`. */
export function wispCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.WISP_CACHE;
  if (fromEnv !== undefined && fromEnv !== '') return resolve(fromEnv);
  return join(homedir(), '.cache', 'wisp');
}
