/**
 * How `wisp run` ends, through the real CLI (it builds its VM through VmResources and the worker-thread
 * builder, as the API does): a guest reboot restarts the guest by default and exits 3 with `--reboot
 * exit`; a kernel panic exits 1 with the panic line; SIGTERM and SIGINT stop the machine with 143 and
 * 130; on a terminal the console is raw (Ctrl-C goes to the guest) and Ctrl-A X quits with 0. The
 * interpreter engine boots too (`--engine interpreter`).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { DefaultGuest } from '../../src/guest/fetch.js';
import { consoleLines, describeResult, ensureGuest, minimalInitramfs, repoRoot, runWisp, WispProcess, wispBin } from '../helpers/guest-fixtures.js';

const BOOT_TIMEOUT_MS = 240_000;
let work = '';
let guest: DefaultGuest;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'wisp-run-lifecycle-'));
  guest = await ensureGuest();
});
after(() => rmSync(work, { recursive: true, force: true }));

function initrd(name: string, script: string): string {
  const p = join(work, `${name}.cpio.gz`);
  writeFileSync(p, minimalInitramfs(guest, script));
  return p;
}

test('a guest reboot restarts the guest (the disk carries state across), then poweroff exits 0', { timeout: 2 * BOOT_TIMEOUT_MS }, async () => {
  const disk = join(work, 'state.img');
  writeFileSync(disk, Buffer.alloc(64 * 1024));
  const script = join(work, 'reboot-once.sh');
  // The first boot leaves a mark on the raw disk and reboots; the restarted guest finds it.
  writeFileSync(script, `
if [ "$(head -c 5 /dev/vda)" = "BOOTS" ]; then
  echo "SECOND-BOOT $((40 + 2))"
else
  printf BOOTS | dd of=/dev/vda conv=fsync 2>/dev/null
  echo "FIRST-BOOT $((20 + 1))"
  reboot -f
fi
`);
  const r = await runWisp(['run', '--script', script, '--disk', disk], { timeoutMs: 2 * BOOT_TIMEOUT_MS - 30_000 });
  assert.equal(r.timedOut, false, describeResult(r));
  assert.equal(r.code, 0, describeResult(r));
  const lines = consoleLines(r.stdout);
  assert.ok(lines.includes('FIRST-BOOT 21'), describeResult(r));
  assert.ok(lines.includes('SECOND-BOOT 42'), describeResult(r));
  assert.ok(lines.indexOf('FIRST-BOOT 21') < lines.indexOf('SECOND-BOOT 42'));
  assert.match(r.stderr, /guest rebooted; restarting it/);
  assert.equal(readFileSync(disk).subarray(0, 5).toString(), 'BOOTS');
});

test('--reboot exit: a guest reboot ends wisp with status 3', { timeout: BOOT_TIMEOUT_MS + 30_000 }, async () => {
  const r = await runWisp(['run', '--kernel', guest.kernelPath, '--initrd', initrd('reboot', 'echo "REBOOTING $((6 * 7))"\nreboot -f'), '--reboot', 'exit'], { timeoutMs: BOOT_TIMEOUT_MS });
  assert.equal(r.timedOut, false, describeResult(r));
  assert.equal(r.code, 3, describeResult(r));
  assert.ok(consoleLines(r.stdout).includes('REBOOTING 42'), describeResult(r));
  assert.doesNotMatch(r.stderr, /restarting/);
});

test('a kernel panic ends wisp with status 1 and the panic line', { timeout: BOOT_TIMEOUT_MS + 30_000 }, async () => {
  // PID 1 exiting panics the kernel; with panic=-1 it reboots at once, which wisp reports. The init
  // waits a second before exiting: the panic does not flush the tty, so a line still in its buffer
  // (a loaded host slows the guest's UART interrupts) would never reach the console.
  const r = await runWisp(['run', '--kernel', guest.kernelPath, '--initrd', initrd('panic', 'echo "PANICKING $((6 * 7))"\nsleep 1\nexit 3')], { timeoutMs: BOOT_TIMEOUT_MS });
  assert.equal(r.timedOut, false, describeResult(r));
  assert.equal(r.code, 1, describeResult(r));
  assert.ok(consoleLines(r.stdout).includes('PANICKING 42'), describeResult(r));
  assert.match(r.stderr, /^wisp: guest kernel panic: Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000300/m);
});

for (const [signal, status] of [['SIGTERM', 143], ['SIGINT', 130]] as const) {
  test(`${signal} stops the running guest and wisp exits ${status}`, { timeout: BOOT_TIMEOUT_MS + 30_000 }, async () => {
    const p = new WispProcess(['run', '--kernel', guest.kernelPath, '--initrd', initrd(`spin-${signal}`, 'echo "SPINNING $((6 * 7))"\nwhile :; do sleep 1; done')], { timeoutMs: BOOT_TIMEOUT_MS });
    try {
      await p.waitFor(/SPINNING 42/, BOOT_TIMEOUT_MS - 10_000);
    } catch (e) {
      p.kill();
      throw e;
    }
    p.kill(signal);
    const r = await p.exited;
    assert.equal(r.timedOut, false, describeResult(r));
    assert.equal(r.signal, null, describeResult(r));
    assert.equal(r.code, status, describeResult(r));
  });
}

test('on a terminal: raw console (Ctrl-C reaches the guest), Ctrl-A X quits with 0', { timeout: BOOT_TIMEOUT_MS + 30_000 }, async () => {
  // The guest reads its console byte by byte and names what it got; a Ctrl-C that became SIGINT in
  // wisp would end the run with 130 instead.
  const spin = initrd('tty', [
    'stty -F /dev/console raw -echo',
    'echo "READY $((6 * 7))"',
    'while :; do c=$(dd if=/dev/console bs=1 count=1 2>/dev/null | od -An -tx1 | tr -d " "); echo "GOT-$c"; done',
  ].join('\n'));
  const cmd = [process.execPath, wispBin(), 'run', '--kernel', guest.kernelPath, '--initrd', spin].map((a) => `'${a}'`).join(' ');
  // util-linux script(1) runs wisp on a pseudo-terminal and relays this pipe to it; -e: its status.
  const child = spawn('script', ['-qfec', cmd, '/dev/null'], { cwd: repoRoot(), stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('latin1').on('data', (s: string) => (out += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (out += s));
  const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  const timer = setTimeout(() => child.kill('SIGKILL'), BOOT_TIMEOUT_MS);
  const waitFor = async (re: RegExp): Promise<void> => {
    while (!re.test(out)) {
      if (child.exitCode !== null) assert.fail(`wisp ended before ${re}:\n${out.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  try {
    await waitFor(/READY 42/);
    child.stdin.write('\x03');
    await waitFor(/GOT-03/);
    child.stdin.write('\x01x');
    const code = await exited;
    assert.equal(code, 0, out.slice(-3000));
    assert.match(out, /terminated by Ctrl-A X/);
  } finally {
    clearTimeout(timer);
    child.kill('SIGKILL');
  }
});

test('--engine interpreter boots the kernel to the marker', { timeout: 2 * BOOT_TIMEOUT_MS }, async () => {
  const r = await runWisp(['run', '--engine', 'interpreter', '--no-entropy', '--kernel', guest.kernelPath, '--initrd', initrd('interp', 'echo "INTERPRETED $((6 * 7))"\npoweroff -f')], { timeoutMs: 2 * BOOT_TIMEOUT_MS - 30_000 });
  assert.equal(r.timedOut, false, describeResult(r));
  assert.equal(r.code, 0, describeResult(r));
  assert.ok(consoleLines(r.stdout).includes('INTERPRETED 42'), describeResult(r));
});
