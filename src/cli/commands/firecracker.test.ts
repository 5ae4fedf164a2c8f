import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { RecordingVmBuilder } from '../../../test/helpers/recording-vm-builder.js';
import { WISP_VERSION } from '../../vmm/version.js';
import { ArgError, EXIT, checkInstanceId, parseArgs, run } from './firecracker.js';

const dir = mkdtempSync(join(tmpdir(), 'wisp-fc-'));
const kernel = join(dir, 'vmlinux');
writeFileSync(kernel, 'k');
const sink = () => {
  const out: string[] = [];
  return { out, w: { write: (s: string) => out.push(s) } };
};

test('flags: Firecracker\'s names, values after a space or =, no repeats, --no-api needs --config-file', () => {
  assert.deepEqual(parseArgs(['--api-sock', '/s', '--level=Debug', '--boot-timer']), { 'api-sock': '/s', level: 'Debug', 'boot-timer': true });
  assert.throws(() => parseArgs(['--frobnicate']), ArgError);
  assert.throws(() => parseArgs(['--api-sock']), /requires a value/);
  assert.throws(() => parseArgs(['--id', 'a', '--id', 'b']), /more than once/);
  assert.throws(() => parseArgs(['--no-api']), /Argument 'config-file' required/);
  assert.doesNotThrow(() => parseArgs(['--no-seccomp', '--start-time-us', '1']), 'jailer flags are accepted');
  assert.throws(() => checkInstanceId('bad_id'), /Invalid char \(_\) at position 3/);
  assert.throws(() => checkInstanceId('x'.repeat(65)), /Invalid len/);
  checkInstanceId('vm-1');
});

test('--version, --help and argument errors answer with Firecracker\'s exit codes', async () => {
  const o = sink();
  assert.equal(await run(['--version'], { stdout: o.w }), EXIT.Ok);
  assert.match(o.out.join(''), new RegExp(`^wisp v${WISP_VERSION.replace(/\./g, '\\.')}`));
  assert.equal(await run(['--help'], { stdout: o.w }), EXIT.Ok);
  assert.match(o.out.join(''), /--api-sock <path>/);
  const e = sink();
  assert.equal(await run(['--no-api'], { stderr: e.w }), EXIT.ArgParsing);
  assert.match(e.out.join(''), /^Arguments parsing error: Argument 'config-file' required/);
  assert.equal(await run(['--level', 'loud'], { stderr: e.w }), EXIT.ArgParsing);
});

test('WISP_VERSION matches package.json', () => {
  // From src/… (tsx) or dist/src/… (npm test): the nearest package.json up the tree is the project's.
  let url = new URL('.', import.meta.url);
  while (!existsSync(new URL('package.json', url))) url = new URL('..', url);
  const pkg = JSON.parse(readFileSync(new URL('package.json', url), 'utf8')) as { name: string; version: string };
  assert.equal(pkg.name, 'wisp');
  assert.equal(WISP_VERSION, pkg.version);
});

test('--no-api --config-file: configures, starts, and exits with the guest\'s status', async () => {
  const cfg = join(dir, 'vm.json');
  writeFileSync(cfg, JSON.stringify({ 'boot-source': { kernel_image_path: kernel }, 'machine-config': { vcpu_count: 1, mem_size_mib: 64 } }));
  const builder = new RecordingVmBuilder();
  const code = run(['--no-api', '--config-file', cfg, '--boot-timer'], { builder, stderr: sink().w });
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(builder.specs.length, 1);
  assert.equal(builder.specs[0]!.memSizeMib, 64);
  assert.equal(builder.specs[0]!.bootTimer, true);
  builder.exit({ reason: 'shutdown', exitCode: 0 });
  assert.equal(await code, 0);
});

test('a bad config file ends with BadConfiguration and says why', async () => {
  const cfg = join(dir, 'bad.json');
  writeFileSync(cfg, JSON.stringify({ 'boot-source': { kernel_image_path: join(dir, 'nope') } }));
  const e = sink();
  assert.equal(await run(['--no-api', '--config-file', cfg], { builder: new RecordingVmBuilder(), stderr: e.w }), EXIT.BadConfiguration);
  assert.match(e.out.join(''), /Configuration for VMM from one single json failed: The kernel file cannot be opened: No such file or directory/);
});

test('an API socket path that already exists is refused', async () => {
  const sock = join(dir, 'taken.sock');
  writeFileSync(sock, '');
  const e = sink();
  assert.equal(await run(['--api-sock', sock], { builder: new RecordingVmBuilder(), stderr: e.w }), EXIT.GenericError);
  assert.match(e.out.join(''), /the path already exists/);
});

test('--metrics-path writes a metrics line when the VMM ends', async () => {
  const metrics = join(dir, 'metrics');
  writeFileSync(metrics, '');
  const cfg = join(dir, 'vm2.json');
  writeFileSync(cfg, JSON.stringify({ 'boot-source': { kernel_image_path: kernel } }));
  const builder = new RecordingVmBuilder();
  const code = run(['--no-api', '--config-file', cfg, '--metrics-path', metrics], { builder, stderr: sink().w });
  await new Promise((r) => setTimeout(r, 100));
  builder.exit({ reason: 'shutdown', exitCode: 3 });
  assert.equal(await code, 3);
  const lines = readFileSync(metrics, 'utf8').trim().split('\n');
  assert.equal(lines.length, 1);
  assert.equal(typeof JSON.parse(lines[0]!).utc_timestamp_ms, 'number');
});

test('--http-api-max-payload-size and --mmds-size-limit: decimal digits only, 1 byte to 16 MiB, refused before anything starts', async () => {
  for (const [flag, bad] of [
    ['--http-api-max-payload-size', '0'],
    ['--http-api-max-payload-size', '1e3'],
    ['--http-api-max-payload-size', '0x40'],
    ['--http-api-max-payload-size', String(16 * 1024 * 1024 + 1)],
    ['--http-api-max-payload-size', '99999999999999999999'],
    ['--mmds-size-limit', '-1'],
  ] as const) {
    const e = sink();
    const sock = join(dir, `payload-${bad.length}.sock`);
    assert.equal(await run(['--api-sock', sock, flag, bad], { stderr: e.w }), EXIT.ArgParsing, `${flag} ${bad}`);
    assert.match(e.out.join(''), new RegExp(`^Arguments parsing error: Invalid value: ${flag} must be`), `${flag} ${bad}`);
    assert.equal(existsSync(sock), false, 'no API socket was created');
  }
});
