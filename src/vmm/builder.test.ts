/**
 * The worker-thread builder with tiny hand-assembled guests (a RISC-V Image of a few instructions that
 * write to the UART, spin, read the `time` CSR or call SBI SRST), so the whole path — worker start,
 * serial output, pause/resume, metrics, drive updates, exits and build failures — runs in
 * milliseconds. The Debian boot through the API is test/integration/api-boot.test.ts.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { closeSync, mkdtempSync, openSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createVmBuilder } from './builder.js';
import type { MachineHandle, MachineSpec } from './machine.js';

// --- A few RV64I encodings (RISC-V unprivileged ISA, chapter 2 "RV32I Base Integer Instruction Set") ---
const T0 = 5, T1 = 6, T2 = 7, T3 = 28, T4 = 29, T5 = 30, A0 = 10, A1 = 11, A6 = 16, A7 = 17;
const lui = (rd: number, imm20: number) => ((imm20 << 12) | (rd << 7) | 0x37) >>> 0;
const iType = (f3: number, op: number) => (rd: number, rs1: number, imm: number) => (((imm & 0xfff) << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op) >>> 0;
const addi = iType(0, 0x13);
const srli = iType(5, 0x13);
const add = (rd: number, rs1: number, rs2: number) => ((rs2 << 20) | (rs1 << 15) | (rd << 7) | 0x33) >>> 0;
const sb = (rs2: number, rs1: number, imm: number) => ((((imm >> 5) & 0x7f) << 25) | (rs2 << 20) | (rs1 << 15) | ((imm & 0x1f) << 7) | 0x23) >>> 0;
const bType = (f3: number) => (rs1: number, rs2: number, off: number) =>
  ((((off >> 12) & 1) << 31) | (((off >> 5) & 0x3f) << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | (((off >> 1) & 0xf) << 8) | (((off >> 11) & 1) << 7) | 0x63) >>> 0;
const bne = bType(1);
const bltu = bType(6);
const jal = (rd: number, off: number) =>
  ((((off >> 20) & 1) << 31) | (((off >> 1) & 0x3ff) << 21) | (((off >> 11) & 1) << 20) | (((off >> 12) & 0xff) << 12) | (rd << 7) | 0x6f) >>> 0;
const ECALL = 0x73;
const A2 = 12;
const auipc = (rd: number, imm20: number) => ((imm20 << 12) | (rd << 7) | 0x17) >>> 0;
/** csrrs rd, time, x0 (Zicntr: `time` is CSR 0xC01). */
const rdtime = (rd: number) => ((0xc01 << 20) | (2 << 12) | (rd << 7) | 0x73) >>> 0;

/** The UART's transmit register (DESIGN.md memory map: ns16550a at 0x1000_0000). */
function print(text: string): number[] {
  const out = [lui(T0, 0x10000)];
  for (const c of Buffer.from(text)) out.push(addi(T1, 0, c), sb(T1, T0, 0));
  return out;
}

/** SBI SRST system_reset(type, reason 0): EID "SRST" 0x53525354, FID 0 (SBI spec v2.0 §10.1). */
function systemReset(type: number): number[] {
  return [lui(A7, 0x53525), addi(A7, A7, 0x354), addi(A6, 0, 0), addi(A0, 0, type), addi(A1, 0, 0), ECALL, jal(0, 0)];
}

/**
 * A RISC-V Linux Image (Documentation/arch/riscv/boot-image-header.rst): a 64-byte header whose code0
 * jumps over it, text_offset 2 MiB, magic "RISCV" and magic2 "RSC\x05" at 0x38; the code follows.
 */
function image(code: number[]): Buffer {
  const buf = Buffer.alloc(64 + code.length * 4);
  buf.writeUInt32LE(jal(0, 64), 0);
  buf.writeUInt32LE(addi(0, 0, 0), 4);
  buf.writeBigUInt64LE(0x20_0000n, 8);
  buf.writeBigUInt64LE(BigInt(buf.length), 16);
  buf.writeUInt32LE(2, 32);
  buf.write('RISCV\0\0\0', 48, 'latin1');
  buf.write('RSC\x05', 56, 'latin1');
  code.forEach((w, i) => buf.writeUInt32LE(w, 64 + i * 4));
  return buf;
}

const SPIN = image([...print('hello\n'), jal(0, 0)]);
/** Greets, then enables the UART's receive interrupt (IER bit 0) as a driver would: the machine holds console input until then. */
const LISTEN = image([...print('hello\n'), addi(T1, 0, 1), sb(T1, T0, 1), jal(0, 0)]);
const POWEROFF = image([...print('bye\n'), ...systemReset(0)]);
/**
 * Two harts: hart 0 greets, starts hart 1 with SBI HSM hart_start (EID "HSM" 0x48534D, FID 0: hartid,
 * start_addr, opaque; SBI spec v2.0 §9.1) and spins; hart 1 greets from the start address and spins.
 */
const secondary = print('hart 1\n');
const primary = [...print('hart 0\n'), lui(A7, 0x485), addi(A7, A7, 0x34d), addi(A6, 0, 0), addi(A0, 0, 1), auipc(A1, 0), addi(A1, A1, 4 * 5), addi(A2, 0, 0), ECALL, jal(0, 0)];
const TWO_HARTS = image([bne(A0, 0, 4 * (primary.length + 1)), ...primary, ...secondary, jal(0, 0)]);
const REBOOT = image(systemReset(1));
/** Every ~50 ms of guest time (499_712 ticks of the 10 MHz timebase), the `time` CSR as 8 raw bytes. */
const CLOCK = image([
  lui(T0, 0x10000), addi(T3, 0, 0), lui(T4, 0x7a),
  /* loop: */ rdtime(T2), bltu(T2, T3, -4), add(T3, T2, T4), addi(T5, 0, 8),
  /* emit: */ sb(T2, T0, 0), srli(T2, T2, 8), addi(T5, T5, -1), bne(T5, 0, -12), jal(0, -32),
]);

const dir = mkdtempSync(join(tmpdir(), 'wisp-builder-'));
let files = 0;
function file(bytes: Uint8Array | string): string {
  const p = join(dir, `f${files++}`);
  writeFileSync(p, bytes);
  return p;
}

function spec(kernel: Uint8Array, over: Partial<MachineSpec> = {}): MachineSpec {
  return {
    instanceId: 'test', vcpuCount: 1, memSizeMib: 16, trackDirtyPages: false,
    kernel: { path: file(kernel), cmdline: 'console=ttyS0' },
    drives: [], bootTimer: false, serial: { outPath: join(dir, `serial${files++}`) },
    ...over,
  };
}

const builder = createVmBuilder({ stdin: null });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until<T>(what: string, probe: () => T | undefined, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await sleep(10);
  }
}
const serialText = (s: MachineSpec) => { try { return readFileSync(s.serial.outPath!, 'latin1'); } catch { return ''; } };
const notYet = Symbol('pending');
const settled = (p: Promise<unknown>) => Promise.race([p, sleep(50).then(() => notYet)]);

test('builder: the guest runs in a worker; pause really stops the hart, resume continues', async () => {
  const s = spec(SPIN);
  const m = await builder.build(s);
  try {
    await until('the greeting on the serial file', () => serialText(s).includes('hello\n'));
    const first = await m.takeMetrics!();
    assert.ok(first['vcpu']!['instructions']! > 0, 'the hart retires instructions');
    assert.equal(first['uart']!['write_count'], 6);
    assert.equal(first['sbi']!['calls'], 0);

    await m.pause();
    await m.takeMetrics!(); // whatever ran up to the pause
    await sleep(100);
    assert.equal((await m.takeMetrics!())['vcpu']!['instructions'], 0, 'no instruction retires while paused');
    await m.pause(); // pausing twice is harmless
    await m.resume();
    await sleep(50);
    const after = await m.takeMetrics!();
    assert.ok(after['vcpu']!['instructions']! > 0, 'instructions retire again after resume');
    assert.equal(after['uart']!['write_count'], 0, 'metrics are deltas: the greeting was counted once');

    await assert.rejects(m.sendCtrlAltDel(), /no keyboard controller/);
    assert.equal(await settled(m.exited), notYet, 'a running machine has not exited');
  } finally {
    await m.stop();
  }
  await m.stop(); // idempotent
  await assert.rejects(m.pause(), /the machine has stopped/);
  assert.equal(await settled(m.exited), notYet, 'stop() is not a guest exit');
});

test('builder: two vCPUs on threads of their own; HSM starts the second; pause stops both; metrics per vCPU', async () => {
  const s = spec(TWO_HARTS, { vcpuCount: 2 });
  const m = await builder.build(s);
  try {
    await until('both greetings on the serial file', () => serialText(s).includes('hart 0\n') && serialText(s).includes('hart 1\n'), 60_000);
    // A hart publishes its counters after each slice: add the deltas up until both have.
    const sum: Record<string, number> = {};
    const add = (m: Record<string, Record<string, number>>) => {
      for (const g of ['vcpu', 'vcpu_0', 'vcpu_1', 'sbi']) for (const [k, v] of Object.entries(m[g] ?? {})) sum[`${g}.${k}`] = (sum[`${g}.${k}`] ?? 0) + v;
    };
    const end = Date.now() + 60_000;
    do {
      add(await m.takeMetrics!());
      await sleep(20);
    } while (!(sum['vcpu_0.exit_mmio_write'] === 7 && sum['vcpu_1.exit_mmio_write'] === 7 && sum['vcpu_1.instructions']! > 0) && Date.now() < end);
    assert.ok(sum['vcpu_0.instructions']! > 0 && sum['vcpu_1.instructions']! > 0, 'both harts retire instructions');
    assert.equal(sum['vcpu_0.exit_mmio_write'], 7, 'hart 0 wrote its greeting');
    assert.equal(sum['vcpu_1.exit_mmio_write'], 7, 'hart 1 wrote its greeting');
    assert.equal(sum['vcpu.exit_mmio_write'], 14, 'vcpu sums the vCPUs');
    assert.equal(sum['sbi.calls'], 1, 'one hart_start');
    await m.pause();
    await m.takeMetrics!();
    await sleep(100);
    const paused = await m.takeMetrics!();
    assert.equal(paused['vcpu_0']!['instructions'], 0, 'hart 0 is stopped while paused');
    assert.equal(paused['vcpu_1']!['instructions'], 0, 'hart 1 is stopped while paused');
    await m.resume();
    await sleep(100);
    const after = await m.takeMetrics!();
    assert.ok(after['vcpu_0']!['instructions']! > 0 && after['vcpu_1']!['instructions']! > 0, 'both run again after resume');
  } finally {
    await m.stop();
  }
});

test('builder: guest time stands still while paused', async () => {
  const s = spec(CLOCK);
  const m = await builder.build(s);
  const records = () => {
    const b = Buffer.from(serialText(s), 'latin1');
    const out: number[] = [];
    for (let i = 0; i + 8 <= b.length; i += 8) out.push(Number(b.readBigUInt64LE(i)));
    return out;
  };
  try {
    await until('a few time records', () => records().length >= 3);
    await m.pause();
    const before = records();
    const sizeAtPause = statSync(s.serial.outPath!).size;
    await sleep(2_000);
    assert.equal(statSync(s.serial.outPath!).size, sizeAtPause, 'nothing is printed while paused');
    await m.resume();
    const after = await until('a record after resume', () => (records().length > before.length ? records() : undefined));
    const last = before[before.length - 1]!;
    const next = after[before.length]!;
    assert.ok(next > last, 'guest time moves forward');
    // With the host clock, the first record after 2 s of pause would be ≥ 20_000_000 ticks later.
    assert.ok(next - last < 10_000_000, `guest time jumped by ${(next - last) / 1e7} s across a 2 s pause`);
    for (let i = 1; i < after.length; i++) assert.ok(after[i]! >= after[i - 1]!, 'guest time never goes backwards');
  } finally {
    await m.stop();
  }
});

test('builder: a guest poweroff resolves exited with status 0; a reboot is reported as such', async () => {
  const s = spec(POWEROFF);
  const m = await builder.build(s);
  assert.deepEqual(await m.exited, { reason: 'shutdown', exitCode: 0, guest: 'poweroff' });
  assert.equal(serialText(s), 'bye\n');
  await assert.rejects(m.pause(), /the machine has stopped/);
  // The counters up to the end are still reported, once (the VMM's exit metrics line).
  const last = await m.takeMetrics!();
  assert.equal(last['uart']!['write_count'], 4);
  assert.equal(last['sbi']!['calls'], 1);
  assert.deepEqual(await m.takeMetrics!(), {});
  await m.stop();

  const r = await builder.build(spec(REBOOT));
  // This guest reboots at once, before any output or program: an "early" reboot (wisp run stops restarting those).
  assert.deepEqual(await r.exited, { reason: 'reboot', exitCode: 0, message: 'the guest rebooted before its console came up or any program ran', guest: 'reboot', early: true });
  await r.stop();
});

test('builder: drives and entropy in the metrics; PATCH-style drive updates swap the backing file', async () => {
  const disk = file(Buffer.alloc(1 << 20));
  const s = spec(SPIN, {
    drives: [{ id: 'data', path: disk, readOnly: false, isRoot: false, cacheType: 'Unsafe' }],
    entropy: {},
  });
  const m = await builder.build(s);
  try {
    const first = await m.takeMetrics!();
    assert.equal(first['block_data']!['update_count'], 0);
    assert.equal(first['block']!['read_count'], 0);
    assert.equal(first['entropy']!['entropy_bytes'], 0);

    await m.updateDrive('data', { path: file(Buffer.alloc(2 << 20)) });
    assert.equal((await m.takeMetrics!())['block_data']!['update_count'], 1);
    await assert.rejects(m.updateDrive('nope', { path: disk }), /no drive "nope"/);
    await assert.rejects(m.updateDrive('data', { path: join(dir, 'missing.img') }), /Cannot open drive file .*missing\.img.*No such file/);
    await m.updateDrive('data', {}); // nothing to change
    // A rate-limiter update alone applies to the running device's limiter; no backing file is swapped.
    await m.updateDrive('data', { rateLimiter: { ops: { size: 10, refill_time: 100 }, bandwidth: { size: 0, refill_time: 0 } } });
    assert.equal((await m.takeMetrics!())['block_data']!['update_count'], 0, 'failed updates change nothing');
  } finally {
    await m.stop();
  }
});

test('builder: console to the VMM stdout fd and console input from the host', async () => {
  const out = join(dir, 'stdout');
  const fd = openSync(out, 'w');
  const stdin = new EventEmitter() as EventEmitter & { pause(): void; paused: boolean };
  stdin.paused = false;
  stdin.pause = () => void (stdin.paused = true);
  const m = await createVmBuilder({ stdin, consoleFd: fd }).build(spec(LISTEN, { serial: {} }));
  try {
    await until('the greeting on the console fd', () => readFileSync(out, 'latin1') === 'hello\n');
    stdin.emit('data', Buffer.from('abc'));
    let rx = 0;
    for (let i = 0; i < 100 && rx < 3; i++) {
      rx += (await m.takeMetrics!())['uart']!['read_count']!;
      if (rx < 3) await sleep(10);
    }
    assert.equal(rx, 3, 'the three input bytes reached the UART receive FIFO');
  } finally {
    await m.stop();
  }
  assert.equal(stdin.listenerCount('data'), 0, 'input is detached when the machine stops');
  assert.equal(stdin.paused, true, 'and the host input is no longer read');
  closeSync(fd);
});

test("builder: console to the VMM's thread and input through the handle (wisp run's terminal)", async () => {
  const chunks: Uint8Array[] = [];
  const m = await createVmBuilder({ stdin: null, consoleOut: (b) => chunks.push(b) }).build(spec(LISTEN, { serial: {} }));
  try {
    const text = () => Buffer.concat(chunks).toString('latin1');
    await until('the greeting through consoleOut', () => text() === 'hello\n');
    assert.ok(chunks.length < 6, `output is gathered, not one message per byte (${chunks.length} messages)`);
    m.sendInput!(Uint8Array.from([0x61, 0x62, 0x63]));
    let rx = 0;
    for (let i = 0; i < 100 && rx < 3; i++) {
      rx += (await m.takeMetrics!())['uart']!['read_count']!;
      if (rx < 3) await sleep(10);
    }
    assert.equal(rx, 3, 'the three input bytes reached the UART receive FIFO');
  } finally {
    await m.stop();
  }
  m.sendInput!(Uint8Array.of(0x64)); // after the end: ignored, no throw
});

test('builder: a bad spec rejects with a clear message and leaves nothing running', async () => {
  const missing = join(dir, 'no-such-kernel');
  await assert.rejects(builder.build({ ...spec(SPIN), kernel: { path: missing, cmdline: '' } }), /Cannot read kernel image ".*no-such-kernel": No such file or directory \(os error 2\)/);
  await assert.rejects(builder.build(spec(Buffer.from('not a kernel at all'))), /Cannot build the machine: Cannot boot ".*": not a RISC-V kernel/);
  const s = spec(SPIN, { drives: [{ id: 'rootfs', path: join(dir, 'missing.ext4'), readOnly: false, isRoot: true, cacheType: 'Unsafe' }] });
  await assert.rejects(builder.build(s), /Cannot attach drive "rootfs": Cannot open drive file ".*missing\.ext4"/);
  await assert.rejects(builder.build(spec(SPIN, { serial: { outPath: join(dir, 'no-dir', 'serial') } })), /Cannot open serial output ".*no-dir\/serial"/);
  await assert.rejects(builder.build(spec(SPIN, { memSizeMib: 1 })), /Cannot build the machine: .*RAM/);
  assert.equal(serialText(s), '', 'the failed machine never ran');
});
