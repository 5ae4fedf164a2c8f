/**
 * `wisp bare` through the real CLI with programs that are wrong in each way a user can get wrong:
 * not an ELF, a truncated ELF, an ELF linked outside RAM, a program that never finishes. Each gets
 * a one-line error and its documented exit status; a passing and a failing program are the controls
 * that show the same build really runs. Programs are built here with riscv64-unknown-elf-gcc.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { describeResult, requireTool, runWisp, type WispResult } from '../helpers/guest-fixtures.js';

const CC = 'riscv64-unknown-elf-gcc';
let work = '';

/** The riscv-tests convention: write 1 to tohost to pass, (n << 1) | 1 to fail test n. */
function program(body: string): string {
  return `
  .section .text.init
  .globl _start
_start:
${body}
1: j 1b
  .section .tohost, "aw"
  .align 6
  .globl tohost
tohost: .dword 0
  .globl fromhost
fromhost: .dword 0
`;
}

/** Assembles `source` linked at `base` into work/NAME.elf. */
function build(name: string, source: string, base = 0x8000_0000): string {
  const src = join(work, `${name}.S`);
  const ld = join(work, `${name}.ld`);
  const elf = join(work, `${name}.elf`);
  writeFileSync(src, source);
  writeFileSync(ld, `OUTPUT_ARCH(riscv)\nENTRY(_start)\nSECTIONS {\n  . = 0x${base.toString(16)};\n  .text : { *(.text.init) *(.text*) }\n  . = ALIGN(64);\n  .tohost : { *(.tohost) }\n}\n`);
  execFileSync(CC, ['-march=rv64gc', '-mabi=lp64d', '-mcmodel=medany', '-static', '-nostdlib', '-nostartfiles',
    '-Wl,--no-warn-rwx-segments', '-T', ld, src, '-o', elf]);
  return elf;
}

const passSource = program('  la t0, tohost\n  li t1, 1\n  sd t1, 0(t0)');
let pass = '';

before(() => {
  requireTool(CC, 'gcc-riscv64-unknown-elf');
  work = mkdtempSync(join(tmpdir(), 'wisp-bare-cli-'));
  pass = build('pass', passSource);
});
after(() => rmSync(work, { recursive: true, force: true }));

function bare(...args: string[]): Promise<WispResult> {
  return runWisp(['bare', ...args], { timeoutMs: 60_000 });
}

/** Exit status as documented, exactly one line on stderr, no stack trace. */
function assertOneLineError(r: WispResult, status: number, message: RegExp): void {
  assert.equal(r.timedOut, false, describeResult(r));
  assert.equal(r.code, status, describeResult(r));
  const err = r.stderr.trimEnd();
  assert.equal(err.split('\n').length, 1, `one line on stderr:\n${err}`);
  assert.doesNotMatch(err, /^\s+at /m);
  assert.match(err, message);
}

test('controls: a passing program exits 0, a failing one exits with its test number', async () => {
  const ok = await bare(pass);
  assert.equal(ok.code, 0, describeResult(ok));
  assert.equal(ok.stderr, '');
  const fail = build('fail', program('  la t0, tohost\n  li t1, (5 << 1) | 1\n  sd t1, 0(t0)'));
  const r = await bare(fail);
  assertOneLineError(r, 5, /^wisp bare: ".*fail\.elf" failed test 5 after \d+ instructions$/);
});

test('a file that is not an ELF', async () => {
  const text = join(work, 'notes.txt');
  writeFileSync(text, 'not an ELF at all\n');
  assertOneLineError(await bare(text), 1, /^wisp bare: Cannot load ".*notes\.txt": not an ELF/);
});

test('truncated ELFs: inside the program headers, and inside a segment', async () => {
  const bytes = readFileSync(pass);
  const headers = join(work, 'cut-headers.elf');
  writeFileSync(headers, bytes.subarray(0, 100)); // the ELF header is 64 bytes; the program headers follow
  assertOneLineError(await bare(headers), 1, /^wisp bare: Cannot load ".*cut-headers\.elf": truncated ELF/);
  const segment = join(work, 'cut-segment.elf');
  writeFileSync(segment, bytes.subarray(0, 0x1000 + 8)); // the code segment starts at file offset 0x1000
  assertOneLineError(await bare(segment), 1, /^wisp bare: Cannot load ".*cut-segment\.elf": truncated ELF/);
});

test('an ELF that loads outside RAM', async () => {
  const low = build('low', passSource, 0x4000_0000);
  assertOneLineError(await bare(low), 1, /^wisp bare: Cannot load ".*low\.elf": segment at 0x40000000 .* outside RAM 0x80000000-0x84000000$/);
  // Inside the default 64 MiB but not inside 1 MiB.
  const high = build('high', passSource, 0x8200_0000);
  assert.equal((await bare(high)).code, 0);
  assertOneLineError(await bare('--mem', '1', high), 1, /outside RAM 0x80000000-0x80100000$/);
});

test('a program that never finishes stops at --max-instructions with status 124', async () => {
  const spin = build('spin', program('  nop'));
  const r = await bare('--max-instructions', '100000', spin);
  assertOneLineError(r, 124, /^wisp bare: ".*spin\.elf" did not finish within 100000 instructions \(--max-instructions\)$/);
});

test('usage errors: a missing file, no program, an unknown flag', async () => {
  assertOneLineError(await bare(join(work, 'absent.elf')), 1, /^wisp bare: Cannot read ".*absent\.elf": ENOENT$/);
  assertOneLineError(await bare(), 1, /^wisp bare: expected exactly one PROGRAM\.elf/);
  const r = await bare('--no-such-flag', pass);
  assert.equal(r.code, 2, describeResult(r));
  assert.match(r.stderr, /^wisp bare: .*'--no-such-flag'/);
  assert.doesNotMatch(r.stderr, /^\s+at /m);
});
