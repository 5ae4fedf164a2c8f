#!/usr/bin/env node
// The layer rule of DESIGN.md: dependencies point one way. Each top-level folder of src/ may import only
// from the folders listed for it; anything else fails CI with the offending import named.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const src = fileURLToPath(new URL('../src', import.meta.url));
const leaves = ['util', 'rate-limiter', 'metrics', 'logger', 'mmds'];
const allowed = {
  util: [],
  'rate-limiter': ['util'],
  metrics: ['util'],
  logger: ['util'],
  // The metadata service: a leaf that sees Ethernet frames and HTTP, never devices (DESIGN.md).
  mmds: ['util'],
  memory: ['util'],
  cpu: ['util', 'memory'],
  jit: ['util', 'memory', 'cpu'],
  devices: ['util', 'memory', 'rate-limiter', 'metrics', 'logger'],
  platform: ['util', 'memory', 'cpu', 'jit', 'devices', 'metrics', 'logger'],
  snapshot: ['util', 'memory'],
  guest: ['util', 'logger'],
  images: ['util', 'logger', 'guest'],
  vmm: ['util', 'memory', 'cpu', 'jit', 'devices', 'platform', 'snapshot', 'guest', ...leaves],
  api: ['util', 'vmm', 'metrics', 'logger'],
  runtime: ['util', 'vmm', 'guest', 'images', ...leaves],
  cli: ['util', 'memory', 'cpu', 'jit', 'devices', 'platform', 'vmm', 'api', 'guest', 'images', 'runtime', 'snapshot', ...leaves],
};

const problems = [];
function walk(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (name.endsWith('.ts')) check(p);
  }
}
function layerOf(file) {
  return relative(src, file).split(sep)[0];
}
function check(file) {
  const layer = layerOf(file);
  const ok = allowed[layer];
  if (!ok) {
    problems.push(`${relative(src, file)}: folder "${layer}" is not in the layer table`);
    return;
  }
  const text = readFileSync(file, 'utf8');
  for (const m of text.matchAll(/(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)) {
    const spec = m[1] ?? m[2];
    if (!spec.startsWith('.')) continue;
    const target = resolve(dirname(file), spec);
    if (!target.startsWith(src + sep)) continue;
    const to = layerOf(target);
    if (to !== layer && !ok.includes(to)) {
      problems.push(`${relative(src, file)} imports ${spec}: ${layer} may not depend on ${to}`);
    }
  }
}
walk(src);
if (problems.length) {
  console.error(`Layer rule broken (see DESIGN.md "Layers"):\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log('layers: ok');
