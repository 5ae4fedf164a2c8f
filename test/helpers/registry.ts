/**
 * A container registry on loopback for tests: Debian's `docker-registry` (the distribution project's
 * registry), with its storage in the test's temp dir and a free port, and `skopeo` to push images to
 * it. Started and stopped by the test; nothing outside the temp dir is touched.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export class LocalRegistry {
  private constructor(readonly host: string, private readonly child: ChildProcess, private readonly log: () => string) {}

  /** Starts a registry storing under `dir`; resolves once GET /v2/ answers. */
  static async start(dir: string): Promise<LocalRegistry> {
    for (let attempt = 0; ; attempt++) {
      const port = await freePort();
      mkdirSync(join(dir, 'data'), { recursive: true });
      const config = join(dir, 'config.yml');
      writeFileSync(config, [
        'version: 0.1',
        'log:', '  level: warn', '  accesslog:', '    disabled: true',
        'storage:', '  filesystem:', `    rootdirectory: ${join(dir, 'data')}`,
        'http:', `  addr: 127.0.0.1:${port}`, '',
      ].join('\n'));
      const child = spawn('docker-registry', ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
      let log = '';
      child.stderr!.setEncoding('utf8');
      child.stderr!.on('data', (s: string) => { log = (log + s).slice(-4000); });
      const spawned = await new Promise<Error | undefined>((r) => { child.once('spawn', () => r(undefined)); child.once('error', r); });
      if (spawned) throw new Error(`Cannot start docker-registry (Debian package docker-registry; scripts/setup.sh installs it): ${spawned.message}`);
      const reg = new LocalRegistry(`127.0.0.1:${port}`, child, () => log);
      const until = Date.now() + 60_000;
      while (Date.now() < until && child.exitCode === null) {
        try {
          const r = await fetch(`http://127.0.0.1:${port}/v2/`);
          if (r.status === 200) return reg;
        } catch { /* not listening yet */ }
        await new Promise((r) => setTimeout(r, 100));
      }
      reg.stop();
      // Another process may have taken the port between freePort() and the registry's listen.
      if (attempt < 2 && /address already in use/.test(log)) continue;
      throw new Error(`docker-registry did not come up on 127.0.0.1:${port}: ${log}`);
    }
  }

  stop(): void {
    if (this.child.exitCode === null) this.child.kill('SIGTERM');
  }

  describe(): string {
    return this.log();
  }
}

/** `skopeo copy` into (or out of) a loopback registry, plain HTTP; throws with skopeo's words. */
export function skopeoCopy(src: string, dest: string, extra: string[] = []): void {
  const r = spawnSync('skopeo', ['--insecure-policy', 'copy', '--quiet', '--src-tls-verify=false', '--dest-tls-verify=false', ...extra, src, dest],
    { encoding: 'utf8', timeout: 300_000 });
  if (r.error) throw new Error(`Cannot run skopeo (Debian package skopeo; scripts/setup.sh installs it): ${r.error.message}`);
  if (r.status !== 0) throw new Error(`skopeo copy ${src} ${dest} failed: ${r.stderr}`);
}
