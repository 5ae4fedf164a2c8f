/**
 * Fast `wisp run`: the default guest is booted once, snapshotted when its shell first shows a prompt
 * (with no input typed yet), and later runs with the same kernel, initramfs and configuration resume
 * from that snapshot instead of booting. The snapshot is cached beside the guest
 * (`<guest dir>/warm/<key>/`), the key covering everything that shapes the saved machine: the guest's
 * packages and files, the VM's configuration, the snapshot format and wisp's own code. Anything
 * changed gives another key, so a stale snapshot is never used; one that fails to restore is removed
 * and the guest boots.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FORMAT_MAJOR, FORMAT_MINOR } from '../snapshot/snapshot-file.js';
import type { MachineHandle, MachineSpec } from '../vmm/machine.js';
import { saveSnapshot } from '../vmm/snapshot.js';
import { WISP_VERSION } from '../vmm/version.js';
import type { VmResources } from '../vmm/vm-resources.js';

export interface WarmStart {
  dir: string;
  statePath: string;
  memPath: string;
  /** The console's last line when the snapshot was taken (the prompt), shown again on resume. */
  promptPath: string;
}

/** Snapshots of other keys kept beside the newest (other configurations in use). */
const KEEP_OTHERS = 2;

/** What the key covers: the guest's files and packages, and the machine the spec describes. */
export interface WarmInputs {
  guestDir: string;
  packages: readonly string[];
  /** Files the guest is made of (kernel, busybox, modules.dep): identified by size, mtime and inode. */
  files: readonly string[];
  spec: MachineSpec;
}

/** Where warm-start snapshots live: beside the guest, or $WISP_WARM_DIR (tests keep theirs apart). */
export function warmRoot(guestDir: string, env: NodeJS.ProcessEnv = process.env): string {
  const dir = env.WISP_WARM_DIR;
  return dir !== undefined && dir !== '' ? dir : join(guestDir, 'warm');
}

export function warmStartFor(inputs: WarmInputs): WarmStart {
  const h = createHash('sha256');
  h.update(`wisp ${WISP_VERSION} snapshot format ${FORMAT_MAJOR}.${FORMAT_MINOR}\n`);
  h.update(`code ${codeSignature()}\n`);
  for (const p of inputs.packages) h.update(`package ${p}\n`);
  for (const f of inputs.files) {
    const st = statSync(f);
    h.update(`file ${f} ${st.size} ${st.mtimeMs} ${st.ino}\n`);
  }
  // The machine: everything of the spec but the temporary initrd path and the engine (a machine's
  // state is the same under either engine).
  const { instanceId: _i, engine: _e, kernel, ...machine } = inputs.spec;
  h.update(JSON.stringify({ ...machine, kernel: { path: kernel.path, cmdline: kernel.cmdline } }));
  const dir = join(warmRoot(inputs.guestDir), h.digest('hex').slice(0, 24));
  return { dir, statePath: join(dir, 'vm.state'), memPath: join(dir, 'vm.mem'), promptPath: join(dir, 'prompt') };
}

/** Whether a complete snapshot is cached (the directory only ever appears whole: see capture). */
export function warmStartExists(w: WarmStart): boolean {
  return existsSync(w.statePath) && existsSync(w.memPath) && existsSync(w.promptPath);
}

export function forgetWarmStart(w: WarmStart): void {
  rmSync(w.dir, { recursive: true, force: true });
}

export function warmPrompt(w: WarmStart): Uint8Array {
  return readFileSync(w.promptPath);
}

/**
 * Snapshots the running machine into the cache: pause, Full snapshot into a fresh directory, resume,
 * then the directory is renamed into place (so a reader never sees half a snapshot, and two wisps
 * capturing at once leave one whole snapshot). `stillClean()` is asked once the snapshot is written:
 * if console input reached the guest meanwhile (it would be in the saved UART), it is thrown away.
 */
export async function captureWarmStart(w: WarmStart, handle: MachineHandle, resources: VmResources, prompt: Uint8Array, stillClean: () => boolean): Promise<boolean> {
  const root = dirname(w.dir);
  mkdirSync(root, { recursive: true });
  const tmp = mkdtempSync(join(root, '.capture-'));
  let kept = false;
  try {
    await handle.pause();
    try {
      await saveSnapshot(handle, resources, { type: 'Full', statePath: join(tmp, 'vm.state'), memPath: join(tmp, 'vm.mem') });
    } finally {
      await handle.resume();
    }
    if (!stillClean()) return false;
    writeFileSync(join(tmp, 'prompt'), prompt);
    if (existsSync(w.dir)) return false; // another wisp got there first
    renameSync(tmp, w.dir);
    kept = true;
    prune(root, w.dir);
    return true;
  } finally {
    if (!kept) rmSync(tmp, { recursive: true, force: true });
  }
}

/** Removes cached snapshots of other keys beyond the newest few, and captures that never finished. */
function prune(root: string, keep: string): void {
  const entries = readdirSync(root, { withFileTypes: true })
    .filter((e) => e.isDirectory() && join(root, e.name) !== keep)
    .map((e) => ({ path: join(root, e.name), capture: e.name.startsWith('.capture-'), mtime: statSync(join(root, e.name)).mtimeMs }))
    .sort((a, b) => b.mtime - a.mtime);
  const old = Date.now() - 3_600_000;
  entries.filter((e) => !e.capture).slice(KEEP_OTHERS).forEach((e) => rmSync(e.path, { recursive: true, force: true }));
  entries.filter((e) => e.capture && e.mtime < old).forEach((e) => rmSync(e.path, { recursive: true, force: true }));
}

/**
 * A signature of wisp's own code (size and mtime of every module of the running tree): a snapshot
 * saved by other code may not restore the same, so another build gets another key.
 */
function codeSignature(): string {
  const root = fileURLToPath(new URL('../', import.meta.url));
  const h = createHash('sha256');
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(js|ts)$/.test(e.name) && !/\.test\.(js|ts)$/.test(e.name)) {
        const st = statSync(p);
        h.update(`${p} ${st.size} ${st.mtimeMs}\n`);
      }
    }
  };
  walk(root);
  return h.digest('hex');
}

/**
 * Watches the console for the default guest's shell prompt: after init says it starts the shell,
 * output that ends in "# " and then stays quiet for `quietMs`. Calls `ready(promptLine)` once.
 */
/** A root shell's prompt ("/ # "), perhaps followed by terminal control sequences. */
const PROMPT_END = /# (\x1b\[[0-9;?]*[A-Za-z])*$/;

/**
 * Input that is not typing: a terminal's answer to the shell's cursor position query (ESC [ r ; c R).
 * It may reach the guest before the snapshot: the shell takes it as the answer it asked for.
 */
export function isTerminalReport(bytes: Uint8Array): boolean {
  return /^(\x1b\[\d+;\d+R)+$/.test(Buffer.from(bytes).toString('latin1'));
}

export class PromptWatcher {
  private tail = '';
  private shellStarted = false;
  private timer: NodeJS.Timeout | undefined;
  private done = false;

  constructor(private readonly ready: (prompt: Uint8Array) => void, private readonly quietMs = 300) {}

  output(bytes: Uint8Array): void {
    if (this.done) return;
    this.tail = (this.tail + Buffer.from(bytes).toString('latin1')).slice(-4096);
    if (!this.shellStarted) {
      const at = this.tail.indexOf('wisp-init: starting a shell');
      if (at < 0) return;
      this.shellStarted = true;
      this.tail = this.tail.slice(at);
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    // Busybox's line editor follows the prompt with a cursor position query (ESC [ 6 n).
    if (!PROMPT_END.test(this.tail)) return;
    this.timer = setTimeout(() => {
      this.done = true;
      const line = this.tail.slice(this.tail.lastIndexOf('\n') + 1);
      this.ready(Buffer.from(line, 'latin1'));
    }, this.quietMs);
    this.timer.unref();
  }

  /** Stops watching (input was typed, the machine stopped). */
  cancel(): void {
    this.done = true;
    if (this.timer) clearTimeout(this.timer);
  }
}
