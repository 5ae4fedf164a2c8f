/**
 * GNU binutils as the reference for the ISA tests: assemble a source with riscv64-linux-gnu-as, list it
 * with riscv64-linux-gnu-objdump, or extract its bytes with riscv64-linux-gnu-objcopy. Test support only;
 * nothing in the VMM imports this. The tools come from Debian's binutils-riscv64-linux-gnu, which
 * scripts/setup.sh installs; a missing tool is a test failure that says so.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const AS = 'riscv64-linux-gnu-as';
const OBJDUMP = 'riscv64-linux-gnu-objdump';
const OBJCOPY = 'riscv64-linux-gnu-objcopy';

function run(tool: string, args: string[], cwd: string): string {
  const r = spawnSync(tool, args, { cwd, encoding: 'utf8', maxBuffer: 1 << 30 });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') {
    throw new Error(`Cannot run ${tool}: not installed (scripts/setup.sh installs binutils-riscv64-linux-gnu)`);
  }
  if (r.status !== 0) {
    const msg = (r.stderr || r.stdout).split('\n').slice(0, 20).join('\n');
    throw new Error(`${tool} ${args.join(' ')} failed (status ${r.status}):\n${msg}`);
  }
  return r.stdout;
}

function withTempDir<T>(body: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'wisp-isa-'));
  try {
    return body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface ListingLine {
  /** Byte address in .text. */
  readonly address: number;
  /** Mnemonic as objdump prints it (`.4byte` / `.2byte` for words it cannot decode). */
  readonly mnemonic: string;
  /** Operands with objdump's `# …` comments and `<symbol>` annotations removed. */
  readonly operands: string;
}

/** Assemble `source` with `-march` and `-mno-relax` (so `.+off` targets resolve in place); object path. */
function assemble(dir: string, source: string, march: string): string {
  writeFileSync(join(dir, 'in.s'), source);
  run(AS, [`-march=${march}`, '-mno-relax', '-o', 'in.o', 'in.s'], dir);
  return 'in.o';
}

/** objdump -d of an assembled source; `noAliases` adds `-M no-aliases`. One entry per instruction. */
export function objdumpSource(source: string, march: string, noAliases = true): ListingLine[] {
  return withTempDir((dir) => {
    const obj = assemble(dir, source, march);
    const out = run(OBJDUMP, ['-d', '-z', ...(noAliases ? ['-M', 'no-aliases'] : []), obj], dir);
    const lines: ListingLine[] = [];
    for (const line of out.split('\n')) {
      const m = /^\s*([0-9a-f]+):\t[0-9a-f ]+\t(\S+)(?:\t(.*))?$/.exec(line);
      if (!m) continue;
      const operands = (m[3] ?? '').replace(/\s+#.*$/, '').replace(/\s*<[^>]*>/g, '').trim();
      lines.push({ address: parseInt(m[1]!, 16), mnemonic: m[2]!, operands });
    }
    return lines;
  });
}

/** The .text bytes of an assembled source. */
export function assembleToBytes(source: string, march: string): Buffer {
  return withTempDir((dir) => {
    const obj = assemble(dir, source, march);
    run(OBJCOPY, ['-O', 'binary', '-j', '.text', obj, 'out.bin'], dir);
    return readFileSync(join(dir, 'out.bin'));
  });
}

/** Source listing raw instruction words (`.insn` marks them as code, unlike `.word`). */
export function insnSource(words: readonly number[], bytes: 2 | 4): string {
  const mask = bytes === 2 ? 0xffff : 0xffffffff;
  const lines = [bytes === 2 ? '.option rvc' : '.option norvc'];
  for (const w of words) lines.push(`.insn ${bytes}, 0x${((w & mask) >>> 0).toString(16)}`);
  return lines.join('\n') + '\n';
}

/** Deterministic PRNG (mulberry32) so every run checks the same words. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}
