import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MmioTransport } from '../devices/virtio/mmio-transport.js';
import { DEVICE_ID_ENTROPY, F_VERSION_1 } from '../devices/virtio/spec.js';
import type { VirtioDevice } from '../devices/virtio/virtio-device.js';
import { Machine, type VirtioFactory } from './machine.js';

/** A RISC-V Image (Documentation/arch/riscv/boot-image-header.rst) whose code is `wfi; j .-4`. */
function wfiLoopImage(): Uint8Array {
  const code = [0x1050_0073 /* wfi */, 0xffdf_f06f /* jal x0, -4 */];
  const buf = Buffer.alloc(64 + code.length * 4);
  buf.writeUInt32LE(0x0400_006f, 0); // jal x0, 64: over the header
  buf.writeBigUInt64LE(0x20_0000n, 8); // text_offset
  buf.writeBigUInt64LE(BigInt(buf.length), 16); // image_size
  buf.writeUInt32LE(2, 32); // header version 0.2
  buf.write('RISCV\0\0\0', 48, 'latin1');
  buf.write('RSC\x05', 56, 'latin1');
  code.forEach((w, i) => buf.writeUInt32LE(w, 64 + i * 4));
  return buf;
}

/** A virtio device with nothing to do but the retry hook under test. */
function deferring(hooks: Pick<VirtioDevice, 'retryDelayMs' | 'retry'>): VirtioFactory {
  const dev: VirtioDevice = {
    deviceType: DEVICE_ID_ENTROPY,
    availableFeatures: F_VERSION_1,
    queueMaxSizes: [8],
    readConfig: () => 0,
    writeConfig: () => {},
    activate: () => null,
    reset: () => {},
    processQueue: () => {},
    ...hooks,
  };
  return ({ memory, irq }) => new MmioTransport(dev, memory, irq);
}

test('machine: a virtio device holding requests back is retried once its delay has passed, even while the hart sleeps in WFI', async () => {
  const start = performance.now();
  const DELAY_MS = 60;
  let retriedAt = -1;
  let idleRetries = 0;
  let m!: Machine;
  const throttled = deferring({
    retryDelayMs: () => (retriedAt < 0 ? Math.max(0, start + DELAY_MS - performance.now()) : Infinity),
    retry: () => {
      retriedAt = performance.now();
      m.stop();
    },
  });
  const idle = deferring({ retryDelayMs: () => Infinity, retry: () => void idleRetries++ });
  m = new Machine({
    memMiB: 16, kernel: wfiLoopImage(), kernelName: 'wfi-loop', cmdline: '', consoleOut: () => {},
    virtio: [idle, throttled], engine: 'interpreter', rngSeed: new Uint8Array(32),
  });
  const guard = setTimeout(() => m.stop(), 5000);
  const exit = await m.run();
  clearTimeout(guard);
  assert.deepEqual(exit, { kind: 'stopped' });
  assert.ok(retriedAt >= 0, 'the throttled device was retried (not the 5 s guard stopping the machine)');
  assert.ok(retriedAt - start >= DELAY_MS, `retried after ${retriedAt - start} ms, not before its delay`);
  assert.equal(idleRetries, 0, 'a device with nothing held back is never retried');
});
