#!/usr/bin/env node
// Rebuilds wisp's container init (src/guest/container-init/wisp-init) from init.c with Debian's
// bare-metal RISC-V compiler (gcc-riscv64-unknown-elf; the binary needs no libc). The binary is kept in
// the repository so `wisp run IMAGE` works without a cross compiler; a test rebuilds it and checks
// that the bytes are the same.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('../src/guest/container-init/', import.meta.url));
export const FLAGS = [
  '-march=rv64gc', '-mabi=lp64d', '-Os', '-static', '-nostdlib', '-ffreestanding', '-fno-builtin',
  '-fno-stack-protector', '-fno-pic', '-fno-asynchronous-unwind-tables', '-ffunction-sections', '-fdata-sections',
  '-ffile-prefix-map=' + dir + '=.', '-Wall', '-Wextra', '-Wno-unused-parameter', '-Werror',
  '-Wl,--build-id=none', '-Wl,--gc-sections', '-e', '_start',
];
const out = process.argv[2] ?? dir + 'wisp-init';
const r = spawnSync('riscv64-unknown-elf-gcc', [...FLAGS, '-o', out, 'init.c'], { cwd: dir, stdio: 'inherit' });
if (r.error) { console.error(`build-container-init: ${r.error.message} (Debian package gcc-riscv64-unknown-elf)`); process.exit(1); }
process.exit(r.status ?? 1);
