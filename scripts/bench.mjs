#!/usr/bin/env node
// `npm run bench`: wisp's speed figures, each side by side with QEMU in the same run where QEMU can
// run the same thing. Prints a table and writes build/bench/results.json. Not part of `npm test`:
// these machines are shared and noisy, so timings never gate CI.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
spawnSync('bash', ['scripts/setup.sh'], { cwd: root, stdio: 'inherit' });
const tsc = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' });
if (tsc.status !== 0) process.exit(1);

const only = process.argv.slice(2);
const suites = {
  interpreter: async () => (await import('../bench/interpreter-mips.mjs')).benchInterpreter(root),
  boot: async () => (await import('../bench/boot.mjs')).benchBoot(root),
  'guest-cpu': async () => (await import('../bench/guest-cpu.mjs')).benchGuestCpu(root),
  debian: async () => (await import('../bench/debian.mjs')).benchDebian(root),
  disk: async () => (await import('../bench/disk.mjs')).benchDisk(root),
  api: async () => (await import('../bench/api.mjs')).benchApi(root),
  net: async () => (await import('../bench/net.mjs')).benchNet(root),
  containers: async () => (await import('../bench/containers.mjs')).benchContainers(root),
  snapshot: async () => (await import('../bench/snapshot.mjs')).benchSnapshot(root),
  vsock: async () => (await import('../bench/vsock.mjs')).benchVsock(root),
  smp: async () => (await import('../bench/smp.mjs')).benchSmp(root),
};
const results = {};
for (const [name, fn] of Object.entries(suites)) {
  if (only.length && !only.includes(name)) continue;
  process.stderr.write(`bench: ${name}…\n`);
  results[name] = await fn();
  console.log(`${name}:`, JSON.stringify(results[name], null, 2));
}
mkdirSync(join(root, 'build/bench'), { recursive: true });
writeFileSync(join(root, 'build/bench/results.json'), JSON.stringify({ date: new Date().toISOString(), results }, null, 2));
