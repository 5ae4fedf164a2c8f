import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { containerInitPath } from '../guest/container-initramfs.js';
import { Config, encodeConfig, encodeExec, encodeExecFrames, encodeFrames, FrameDecoder, Guest, Host, MAGIC0, MAGIC1, MAX_PAYLOAD, PROTOCOL_VERSION } from './container-protocol.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const header = readFileSync(join(root, 'src/guest/container-init/protocol.h'), 'utf8');

test('the host\'s protocol numbers are the init\'s (protocol.h)', () => {
  const defs = new Map([...header.matchAll(/#define WISP_(\w+) (0x[0-9a-f]+|\d+)/g)].map((m) => [m[1], Number(m[2])]));
  const expect: Record<string, number> = { MAGIC0, MAGIC1, MAX_PAYLOAD, PROTOCOL_VERSION };
  for (const [k, v] of Object.entries(Guest)) expect[`G_${k}`] = v;
  for (const [k, v] of Object.entries(Host)) expect[`H_${k}`] = v;
  for (const [k, v] of Object.entries(Config)) expect[`C_${k}`] = v;
  assert.deepEqual(Object.fromEntries([...defs].sort()), Object.fromEntries(Object.entries(expect).sort()));
});

test('frames split at the payload limit and decode around noise', () => {
  const seen: [number, string][] = [];
  let noise = '';
  const d = new FrameDecoder((t, p) => seen.push([t, p.toString('latin1')]), (b) => { noise += b.toString('latin1'); });
  const big = 'x'.repeat(MAX_PAYLOAD + 10);
  const bytes = Buffer.concat([Buffer.from('[ boot log ]'), encodeFrames(Guest.STDOUT, Buffer.from(big)), Buffer.from([MAGIC0]), encodeFrames(Guest.EXIT, Buffer.from([0, 7]))]);
  for (let i = 0; i < bytes.length; i += 7) d.push(bytes.subarray(i, i + 7));
  assert.equal(noise, '[ boot log ]' + String.fromCharCode(MAGIC0));
  assert.deepEqual(seen.map(([t]) => t), [Guest.STDOUT, Guest.STDOUT, Guest.EXIT]);
  assert.equal(seen[0][1] + seen[1][1], big);
  const cfg = encodeConfig({ args: ['sh', '-c', 'x'], env: ['A=1'], cwd: '/', terminal: false, stdin: false });
  assert.equal(cfg[2], Host.CONFIG);
  assert.equal(cfg.subarray(-5)[2], Host.CONFIG_END);
});

test('exec frames carry the id first and split below the payload limit', () => {
  const seen: [number, Buffer][] = [];
  const d = new FrameDecoder((t, p) => seen.push([t, Buffer.from(p)]), () => {});
  const env = ['BIG=' + 'y'.repeat(MAX_PAYLOAD)];
  d.push(encodeExec(7, { args: ['sh'], env, cwd: '/', stdin: true }));
  assert.deepEqual(seen.map(([t]) => t), [Host.EXEC_CONFIG, Host.EXEC_CONFIG, Host.EXEC_START]);
  for (const [, p] of seen) { assert.equal(p[0], 7); assert.ok(p.length <= MAX_PAYLOAD); }
  const recs = Buffer.concat(seen.slice(0, 2).map(([, p]) => p.subarray(1)));
  assert.ok(recs.includes(Buffer.from(env[0] + '\0')));
  assert.equal(recs[recs.length - 6], Config.STDIN, 'STDIN is the last record');
  assert.ok(!recs.includes(Buffer.from([Config.TTY, 1, 0, 0, 0, 0])), 'no terminal');
  assert.deepEqual(encodeExecFrames(Host.EXEC_SIGNAL, 3, Uint8Array.of(15)), Buffer.from([MAGIC0, MAGIC1, Host.EXEC_SIGNAL, 2, 0, 3, 15]));
});

test('the committed init binary is what init.c builds', { skip: spawnSync('riscv64-unknown-elf-gcc', ['--version']).error ? 'riscv64-unknown-elf-gcc is not installed (scripts/setup.sh installs it)' : false }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'wisp-init-build-'));
  try {
    const out = join(dir, 'wisp-init');
    const r = spawnSync(process.execPath, [join(root, 'scripts/build-container-init.mjs'), out], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.ok(readFileSync(out).equals(readFileSync(containerInitPath())), 'rebuild src/guest/container-init/wisp-init with node scripts/build-container-init.mjs');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
