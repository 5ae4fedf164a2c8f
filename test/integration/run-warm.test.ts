/**
 * Fast `wisp run` (issue 11): the default guest, booted once, is snapshotted at its shell prompt, and
 * the next `wisp run` with the same configuration resumes from it instead of booting. Through the real
 * CLI, with its warm-start cache in a directory of the test's own ($WISP_WARM_DIR):
 *   1. a first run boots, and its snapshot appears once the prompt is quiet; the shell answers;
 *   2. the next run shows the prompt without booting (no kernel banner), the shell answers, and the
 *      guest's clock went on from the snapshot;
 *   3. --cold boots anyway; another --mem is another configuration: it boots, and is cached apart;
 *   4. a cached snapshot that does not restore (a flipped byte) is said so, removed, and the guest boots.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ensureGuest, WispProcess } from '../helpers/guest-fixtures.js';

const RUN_TIMEOUT_MS = 300_000;
const PROMPT = /\/ # (\x1b\[6n)?$/;
let warmDir = '';
const env = () => ({ ...process.env, WISP_WARM_DIR: warmDir });
const entries = () => (existsSync(warmDir) ? readdirSync(warmDir).filter((n) => !n.startsWith('.')) : []);

before(async () => {
  warmDir = mkdtempSync(join(tmpdir(), `wisp-run-warm-${process.pid}-`));
  await ensureGuest();
});
after(() => rmSync(warmDir, { recursive: true, force: true }));

/** One `wisp run`: waits for the prompt (then `settle`), runs a command, powers off. */
async function run(args: string[], command: string, settle: () => Promise<void> = async () => {}): Promise<{ out: string; err: string; answer: string }> {
  const p = new WispProcess(['run', ...args], { timeoutMs: RUN_TIMEOUT_MS, env: env() });
  try {
    await p.waitFor(PROMPT, RUN_TIMEOUT_MS);
    await settle();
    const from = p.stdout.length;
    p.write(`${command}\n`);
    const m = await p.waitForLine(/^ANSWER (.*?)\r?\n/m, 60_000, from);
    p.write('poweroff -f\n');
    const r = await p.exited;
    assert.equal(r.code, 0, p.describe());
    return { out: r.stdout, err: r.stderr, answer: m[1]! };
  } finally {
    p.kill();
  }
}

async function until(what: string, ok: () => boolean, ms: number): Promise<void> {
  for (const end = Date.now() + ms; !ok();) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('wisp run resumes the default guest from its snapshot at the prompt; --cold, another config and a broken snapshot boot', { timeout: 6 * RUN_TIMEOUT_MS }, async () => {
  // 1. Boot; the snapshot is taken at the quiet prompt (before anything is typed).
  const first = await run([], 'echo "ANSWER $((6 * 7)) $(cut -d. -f1 /proc/uptime)"', () => until('the warm-start snapshot', () => entries().length === 1, 60_000));
  assert.match(first.out, /Linux version/, 'the first run booted');
  const [key] = entries();
  // The kernel's last log line before the prompt: the snapshot was taken later, at the quiet prompt.
  const stamps = [...first.out.slice(0, first.out.indexOf('/ # ')).matchAll(/^\[ *(\d+)\.\d+\] /gm)];
  const promptUptime = Number(stamps.at(-1)?.[1]);
  assert.ok(promptUptime >= 1, `the kernel logged its uptime before the prompt (${promptUptime})`);
  assert.equal(first.answer.split(' ')[0], '42');

  // 2. Resumed: the prompt, no boot; the guest's clock goes on from the snapshot.
  const warm = await run([], 'echo "ANSWER $((6 * 7)) $(cut -d. -f1 /proc/uptime)"');
  assert.doesNotMatch(warm.out, /Linux version|wisp-init:/, 'no boot: the guest resumed at its prompt');
  assert.equal(warm.answer.split(' ')[0], '42');
  assert.ok(Number(warm.answer.split(' ')[1]) >= promptUptime, `uptime ${warm.answer} goes on from the snapshot's (the first run reached its prompt at ${promptUptime} s)`);
  assert.deepEqual(entries(), [key], 'the snapshot is reused, not taken again');

  // 3. --cold boots; --mem 200 is another configuration: it boots, and gets its own snapshot.
  const cold = await run(['--cold'], 'echo "ANSWER cold"');
  assert.match(cold.out, /Linux version/);
  const other = await run(['--mem', '200'], 'echo "ANSWER $(grep MemTotal /proc/meminfo)"', () => until('a second snapshot', () => entries().length === 2, 60_000));
  assert.match(other.out, /Linux version/, 'another --mem boots');
  assert.equal(entries().length, 2);

  // 4. A snapshot that does not restore: said so, removed, the guest boots (and is snapshotted again).
  const state = join(warmDir, key!, 'vm.state');
  const bytes = readFileSync(state);
  bytes[bytes.length >> 1] ^= 1;
  writeFileSync(state, bytes);
  const broken = await run([], 'echo "ANSWER ok"', () => until('the snapshot taken again', () => existsSync(join(warmDir, key!, 'vm.state')), 60_000));
  assert.match(broken.err, /the cached snapshot of this guest does not restore \(.*corrupted.*\); booting it instead/);
  assert.match(broken.out, /Linux version/);
  assert.equal(broken.answer, 'ok');
});
