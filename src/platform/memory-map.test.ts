import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Bus } from '../memory/bus.js';
import type { MmioDevice } from '../memory/mmio-device.js';
import {
  CLINT, DRAM_BASE, MMIO_REGIONS, PLIC, PLIC_NUM_SOURCES, RTC, SYSCON, UART, VIRTIO_SLOT_COUNT, dramRegion,
  unitName, virtioSlot,
} from './memory-map.js';

const nullDevice: MmioDevice = { read: () => 0, write: () => {} };

test('every MMIO window maps on the bus without overlap and stays below DRAM', () => {
  const bus = new Bus();
  for (const r of MMIO_REGIONS) bus.add(r.name, r.base, r.size, nullDevice);
  assert.equal(bus.list().length, MMIO_REGIONS.length);
  for (const r of MMIO_REGIONS) assert.ok(r.base + r.size <= DRAM_BASE, `${r.name} ends below DRAM`);
});

test('the table matches QEMU virt addresses and IRQ numbers', () => {
  assert.deepEqual([SYSCON.base, SYSCON.size], [0x100000, 0x1000]);
  assert.deepEqual([RTC.base, RTC.irq], [0x101000, 11]);
  assert.deepEqual([CLINT.base, CLINT.size], [0x2000000, 0x10000]);
  assert.deepEqual([PLIC.base, PLIC.size], [0xc000000, 0x4000000]);
  assert.deepEqual([UART.base, UART.size, UART.irq], [0x10000000, 0x100, 10]);
  for (let n = 0; n < VIRTIO_SLOT_COUNT; n++) {
    assert.equal(virtioSlot(n).base, 0x10001000 + n * 0x1000);
    assert.equal(virtioSlot(n).irq, 1 + n);
  }
  assert.equal(DRAM_BASE, 0x80000000);
  assert.equal(dramRegion(128 << 20).size, 128 << 20);
});

test('IRQ numbers are unique, non-zero and inside the PLIC', () => {
  const irqs = MMIO_REGIONS.flatMap((r) => (r.irq === undefined ? [] : [r.irq]));
  assert.equal(new Set(irqs).size, irqs.length);
  for (const irq of irqs) assert.ok(irq > 0 && irq < PLIC_NUM_SOURCES);
});

test('slots outside 0…7 are rejected with a clear message', () => {
  assert.throws(() => virtioSlot(8), /slot 8/);
  assert.throws(() => virtioSlot(-1), RangeError);
  assert.throws(() => virtioSlot(1.5), RangeError);
});

test('unit names use lower-case hex without leading zeros', () => {
  assert.equal(unitName(UART), 'serial@10000000');
  assert.equal(unitName(RTC), 'rtc@101000');
  assert.equal(unitName(PLIC), 'plic@c000000');
});
