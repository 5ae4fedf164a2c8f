/**
 * The ISA test programs: where their sources are, where their ELFs go, and which ones only wisp can pass.
 *
 * A program is wisp-only when the spec lets hardware choose and wisp chose differently from QEMU (our
 * reference for "what hardware does"); the source says so itself, on a line
 * `# WISP-ONLY: <reason>` (or `// WISP-ONLY: ...`), so the reason lives beside the test.
 *
 * A multi-hart program that QEMU's multi-threaded TCG gets wrong (and its single-threaded, round-robin
 * TCG gets right) says `# QEMU-ONE-THREAD: <reason>`: the reference then runs it with
 * `-accel tcg,thread=single`, so the program is still checked on QEMU.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface IsaProgram {
  /** file name without .S, e.g. "rv64i-alu" */
  name: string;
  source: string;
  elf: string;
  /** Why QEMU cannot pass it, or undefined when both must. */
  wispOnly: string | undefined;
  /** Harts the program runs on: its `#define NHARTS n`, else 1. */
  harts: number;
  /** Why QEMU must run it on one host thread (round-robin harts), or undefined. */
  qemuOneThread: string | undefined;
}

/** The repository root, found from this file whether it runs from test/isa (tsx) or dist/test/isa. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'test', 'isa', 'env'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('Cannot find the wisp repository root above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
}

export const isaDir = (): string => join(repoRoot(), 'test', 'isa');
export const isaBuildDir = (): string => join(repoRoot(), 'build', 'isa');

const marker = (name: string): RegExp => new RegExp(`^\\s*(?:#|//|/\\*)\\s*${name}:\\s*(.+?)\\s*(?:\\*/)?\\s*$`, 'm');
const WISP_ONLY = marker('WISP-ONLY');
const QEMU_ONE_THREAD = marker('QEMU-ONE-THREAD');

export function listIsaPrograms(): IsaProgram[] {
  const srcDir = join(isaDir(), 'src');
  const out = resolve(isaBuildDir());
  return readdirSync(srcDir)
    .filter((f) => f.endsWith('.S'))
    .sort()
    .map((f) => {
      const source = join(srcDir, f);
      const name = f.slice(0, -2);
      const text = readFileSync(source, 'utf8');
      const m = WISP_ONLY.exec(text);
      const harts = Number(/^#define NHARTS (\d+)\s*$/m.exec(text)?.[1] ?? 1);
      return { name, source, elf: join(out, `${name}.elf`), wispOnly: m?.[1], harts, qemuOneThread: QEMU_ONE_THREAD.exec(text)?.[1] };
    });
}

/**
 * What a program said about its failure: crt.S prints "FAIL case N line L" (line in the .S file) or,
 * for a trap nobody expected, "unexpected trap mcause=... mepc=... mtval=...".
 */
export function describeFailure(output: string): string | undefined {
  const lines = output.split('\n').filter((l) => /FAIL case|unexpected trap/.test(l));
  return lines.length ? lines.join('; ') : undefined;
}

/** Run `fn` over `items` with at most `limit` in flight; results in input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
