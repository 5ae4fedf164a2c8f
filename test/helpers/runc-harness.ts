/**
 * What the wisp-runc integration tests share: a scratch directory with wisp-runc's state root in it,
 * a rootfs of Debian's riscv64 busybox-static, wisp-runc run against that root, and the clean-up of
 * containers a failed test left behind (their VMM processes end with them).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { ensureDebianUserland } from '../../src/guest/debian-userland.js';
import { ensureGuest, repoRoot, requireTool } from './guest-fixtures.js';

export interface RuncResult { code: number | null; stdout: string; stderr: string }

export interface RuncHarness {
  /** The scratch directory (set in `before`). */
  readonly work: string;
  /** The busybox-static rootfs to copy into bundles (set in `before`). */
  readonly rootfs: string;
  readonly runcBin: string;
  stateRoot(): string;
  /** wisp-runc --root STATE ARGS, to its end; `input` on its stdin. */
  runc(args: string[], input?: string): RuncResult;
}

/** Registers the suite's before/after hooks; `prefix` names the scratch directory. */
export function runcHarness(prefix: string): RuncHarness {
  let work = '', rootfs = '';
  const runcBin = join(repoRoot(), 'bin/wisp-runc.js');
  const stateRoot = (): string => join(work, 'state');
  before(async () => {
    requireTool('mke2fs', 'e2fsprogs');
    work = mkdtempSync(join(tmpdir(), prefix));
    await ensureGuest();
    rootfs = (await ensureDebianUserland({ packages: ['busybox-static'] })).rootDir;
  });
  after(() => {
    if (existsSync(stateRoot())) spawnSync(process.execPath, [runcBin, '--root', stateRoot(), 'list', '-q'], { encoding: 'utf8' }).stdout
      .split('\n').filter(Boolean).forEach((id) => spawnSync(process.execPath, [runcBin, '--root', stateRoot(), 'delete', '--force', id]));
    rmSync(work, { recursive: true, force: true });
  });
  return {
    get work() { return work; },
    get rootfs() { return rootfs; },
    runcBin,
    stateRoot,
    runc(args, input) {
      const r = spawnSync(process.execPath, [runcBin, '--root', stateRoot(), ...args], { encoding: 'utf8', timeout: 300_000, ...(input !== undefined && { input }) });
      return { code: r.status, stdout: r.stdout, stderr: r.stderr };
    },
  };
}

/** Waits (polling every 200 ms) until `cond` holds; throws naming `what` after `ms`. */
export async function until(what: string, cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
