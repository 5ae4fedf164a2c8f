import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Machine } from './machine.js';
import { findPanicMessage, ProgressWatchdog, type HartSample } from './progress-watchdog.js';

/** A RISC-V Image whose code is `words`, then `data` (Documentation/arch/riscv/boot-image-header.rst). */
function image(words: number[], data = ''): Uint8Array {
  const buf = Buffer.alloc(64 + words.length * 4 + data.length);
  buf.writeUInt32LE(0x0400_006f, 0); // jal x0, 64: over the header
  buf.writeBigUInt64LE(0x20_0000n, 8);
  buf.writeBigUInt64LE(BigInt(buf.length), 16);
  buf.writeUInt32LE(2, 32);
  buf.write('RISCV\0\0\0', 48, 'latin1');
  buf.write('RSC\x05', 56, 'latin1');
  words.forEach((w, i) => buf.writeUInt32LE(w, 64 + i * 4));
  buf.write(data, 64 + words.length * 4, 'latin1');
  return buf;
}
const J_SELF = 0x0000_006f; // j .
const WFI = 0x1050_0073;
const J_BACK4 = 0xffdf_f06f; // j .-4

const stuck: HartSample = { priv: 1, sepc: 0, scause: 0, timer: Infinity };

test('watchdog: stalled only after both the time and the instruction budget pass without any sign of life', () => {
  let now = 0;
  const w = new ProgressWatchdog({ stallMs: 1000, stallInstructions: 1_000_000 }, () => now);
  assert.equal(w.sample(stuck, 0), undefined); // the first sample sets the trap baseline
  now = 5000;
  assert.equal(w.sample(stuck, 10), undefined, 'time alone (a paused or starved host) is not a stall');
  assert.equal(w.sample(stuck, 2_000_000), 5000, 'time and work without progress: stalled');
  // Any sign of life starts over: console output or WFI, U-mode, a trap taken, the timer reprogrammed.
  for (const alive of [() => w.progress(), () => w.sample({ ...stuck, priv: 0 }, 0), () => w.sample({ ...stuck, timer: 1234 }, 0), () => w.sample({ ...stuck, scause: 5 }, 0)]) {
    alive();
    now += 5000;
    assert.equal(w.sample({ ...stuck, scause: 5 }, 500_000), undefined);
  }
  assert.equal(w.reachedUserSpace, true);
});

test('the panic message is found in guest memory; the format string of the kernel is not it', () => {
  const ram = Buffer.alloc(8192);
  ram.write('\x010Kernel panic - not syncing: %s\n', 100, 'latin1');
  assert.equal(findPanicMessage(ram), undefined);
  // The ring's text record has no end mark (here trailing bytes "ry" run on, as seen in Debian's);
  // panic()'s own NUL-terminated copy gives the exact text.
  ram.write('Kernel panic - not syncing: System is deadlocked on memoryry\x12', 2000, 'latin1');
  assert.equal(findPanicMessage(ram), 'Kernel panic - not syncing: System is deadlocked on memoryry');
  ram.write('System is deadlocked on memory\x00', 6000, 'latin1');
  assert.equal(findPanicMessage(ram), 'Kernel panic - not syncing: System is deadlocked on memory');
});

test('machine: a guest spinning with interrupts off is reported as stalled, with its pc; an idle one is not', async () => {
  const spin = new Machine({
    memMiB: 16, kernel: image([J_SELF]), kernelName: 'spin', cmdline: '', consoleOut: () => {},
    engine: 'interpreter', rngSeed: new Uint8Array(32), watchdog: { stallMs: 300, stallInstructions: 2_000_000 },
  });
  const guard = setTimeout(() => spin.stop(), 60_000);
  const exit = await spin.run();
  clearTimeout(guard);
  assert.equal(exit.kind, 'stalled', JSON.stringify(exit));
  assert.match((exit as { message: string }).message, /^the guest stopped making progress: .* without taking a trap, setting its timer, idling or printing \(pc 0x80200040\); nothing ever reached its console$/);

  const idle = new Machine({
    memMiB: 16, kernel: image([WFI, J_BACK4]), kernelName: 'idle', cmdline: '', consoleOut: () => {},
    engine: 'interpreter', rngSeed: new Uint8Array(32), watchdog: { stallMs: 300, stallInstructions: 2_000_000 },
  });
  setTimeout(() => idle.stop(), 1500);
  assert.deepEqual(await idle.run(), { kind: 'stopped' });
});

for (const harts of [1, 2]) test(`machine: a guest (${harts} hart${harts > 1 ? 's' : ''}) that reboots before its console is up is reported with the panic message its kernel logged`, async () => {
  // li a7, SRST; li a6, 0; li a0, 1 (cold reboot); li a1, 0; ecall; j .
  const code = [0x5352_58b7, 0x3548_8893, 0x0000_0813, 0x0010_0513, 0x0000_0593, 0x0000_0073, J_SELF];
  const m = new Machine({
    memMiB: 16, harts, kernel: image(code, 'Kernel panic - not syncing: System is deadlocked on memory\n'), kernelName: 'early-panic', cmdline: '',
    consoleOut: () => {}, engine: 'interpreter', rngSeed: new Uint8Array(32),
  });
  const guard = setTimeout(() => m.stop(), 60_000);
  const exit = await m.run();
  clearTimeout(guard);
  assert.deepEqual(exit, {
    kind: 'panic',
    message: "Kernel panic - not syncing: System is deadlocked on memory (from the kernel's log in guest memory; nothing reached the console)",
  });
});

test('machine: harts on threads of their own, spinning with interrupts off, are reported as stalled; idle ones are not', async () => {
  const spin = new Machine({
    memMiB: 16, harts: 2, kernel: image([J_SELF]), kernelName: 'spin', cmdline: '', consoleOut: () => {},
    engine: 'interpreter', rngSeed: new Uint8Array(32), watchdog: { stallMs: 300, stallInstructions: 2_000_000 },
  });
  const guard = setTimeout(() => spin.stop(), 60_000);
  const exit = await spin.run();
  clearTimeout(guard);
  assert.equal(exit.kind, 'stalled', JSON.stringify(exit));
  assert.match((exit as { message: string }).message, /^the guest stopped making progress: .* none of its 2 harts took a trap, set its timer, idled, ran a program or printed; nothing ever reached its console$/);

  const idle = new Machine({
    memMiB: 16, harts: 2, kernel: image([WFI, J_BACK4]), kernelName: 'idle', cmdline: '', consoleOut: () => {},
    engine: 'interpreter', rngSeed: new Uint8Array(32), watchdog: { stallMs: 300, stallInstructions: 2_000_000 },
  });
  setTimeout(() => idle.stop(), 1500);
  assert.deepEqual(await idle.run(), { kind: 'stopped' });
});
