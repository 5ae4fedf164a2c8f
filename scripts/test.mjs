#!/usr/bin/env node
// `npm test`: build (type errors fail), check the layer rule, then run every compiled *.test.js with
// Node's own test runner. Node 20 does not expand globs, so the file list is gathered here.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const run = (cmd, args, opts = {}) => {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...opts });
  if (r.status !== 0) process.exit(r.status ?? 1);
};

// Tests that need host tools (the RISC-V cross compiler, e2fsprogs, the Debian guest) get them from
// the project's own setup script; it is idempotent and quick when everything is present.
if (!process.env.WISP_SKIP_SETUP) run('bash', ['scripts/setup.sh']);
run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json']);
run(process.execPath, [join(root, 'scripts/check-layers.mjs')]);

function collect(dir, out) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) collect(p, out);
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}
const filter = process.argv.slice(2);
let files = [...collect(join(root, 'dist/src'), []), ...collect(join(root, 'dist/test'), [])].sort();
if (filter.length) files = files.filter((f) => filter.some((s) => f.includes(s)));
console.log(`running ${files.length} test files`);
// A test that hangs (a machine left running keeps its file's process alive) must fail the run, not
// stall CI: every test gets 10 minutes and the whole run 50.
const r = spawnSync(process.execPath, ['--test', '--test-reporter=spec', '--test-timeout=600000', ...files.map((f) => relative(root, f))],
  { cwd: root, stdio: 'inherit', timeout: 50 * 60_000, killSignal: 'SIGKILL' });
if (r.error) console.error(`test run stopped: ${r.error.message}`);
process.exit(r.status ?? 1);
