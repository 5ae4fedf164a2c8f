import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { GuestMemory } from '../../memory/guest-memory.js';
import { MachineMemory } from '../../memory/machine-memory.js';
import { LevelIrqLine } from '../irq-line.js';
import { MmioTransport } from './mmio-transport.js';
import type { Queue } from './queue.js';
import * as S from './spec.js';
import type { ActivateError, VirtioDevice, VirtioInterrupt } from './virtio-device.js';

/** A device that records what the transport does to it; two queues, a 8-byte config space. */
class RecordingDevice implements VirtioDevice {
  readonly deviceType = 42;
  readonly availableFeatures = S.F_VERSION_1 | (1n << 3n) | (1n << 35n);
  readonly queueMaxSizes = [16, 8];
  config = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);
  log: string[] = [];
  queues: readonly Queue[] = [];
  interrupt: VirtioInterrupt | null = null;
  acked = 0n;
  refuse: ActivateError | null = null;

  readConfig(offset: number, size: 1 | 2 | 4): number {
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = v * 256 + (this.config[offset + i] ?? 0);
    return v;
  }
  writeConfig(offset: number, size: 1 | 2 | 4, value: number): void {
    this.log.push(`cfg ${offset} ${size} ${value}`);
  }
  activate(_m: GuestMemory, queues: readonly Queue[], interrupt: VirtioInterrupt, acked: bigint): ActivateError | null {
    this.log.push('activate');
    this.queues = queues;
    this.interrupt = interrupt;
    this.acked = acked;
    return this.refuse;
  }
  reset(): void {
    this.log.push('reset');
  }
  processQueue(index: number): void {
    this.log.push(`process ${index}`);
  }
}

function setup() {
  const mem = new MachineMemory(1 << 20);
  const irq = new LevelIrqLine();
  const dev = new RecordingDevice();
  const t = new MmioTransport(dev, mem, irq, 0x554d4551);
  const w = (o: number, v: number) => t.write(o, 4, v);
  const r = (o: number) => t.read(o, 4);
  const toFeaturesOk = (features = S.F_VERSION_1) => {
    w(S.MMIO_STATUS, S.STATUS_ACKNOWLEDGE);
    w(S.MMIO_STATUS, S.STATUS_ACKNOWLEDGE | S.STATUS_DRIVER);
    w(S.MMIO_DRIVER_FEATURES_SEL, 0);
    w(S.MMIO_DRIVER_FEATURES, Number(features & 0xffff_ffffn));
    w(S.MMIO_DRIVER_FEATURES_SEL, 1);
    w(S.MMIO_DRIVER_FEATURES, Number(features >> 32n));
    w(S.MMIO_STATUS, S.STATUS_ACKNOWLEDGE | S.STATUS_DRIVER | S.STATUS_FEATURES_OK);
  };
  const queue = (i: number, base: number, size = 8) => {
    w(S.MMIO_QUEUE_SEL, i);
    w(S.MMIO_QUEUE_NUM, size);
    w(S.MMIO_QUEUE_DESC_LOW, base);
    w(S.MMIO_QUEUE_DRIVER_LOW, base + 0x400);
    w(S.MMIO_QUEUE_DEVICE_LOW, base + 0x800);
    w(S.MMIO_QUEUE_READY, 1);
  };
  const driverOk = () => w(S.MMIO_STATUS, S.STATUS_ACKNOWLEDGE | S.STATUS_DRIVER | S.STATUS_FEATURES_OK | S.STATUS_DRIVER_OK);
  return { mem, irq, dev, t, w, r, toFeaturesOk, queue, driverOk };
}

describe('MmioTransport', () => {
  it('reports the vendor ID it was given', () => {
    assert.equal(setup().r(S.MMIO_VENDOR_ID), 0x554d4551);
  });

  it('passes config space accesses of every size through to the device, at offset 0x100', () => {
    const { t, dev } = setup();
    assert.equal(t.read(0x100, 1), 1);
    assert.equal(t.read(0x102, 2), 0x0403);
    assert.equal(t.read(0x104, 4), 0x08070605);
    t.write(0x101, 1, 0x7f);
    assert.deepEqual(dev.log, ['cfg 1 1 127']);
  });

  it('combines 64-bit queue addresses from their Low and High registers', () => {
    const { t, w } = setup();
    w(S.MMIO_QUEUE_SEL, 1);
    w(S.MMIO_QUEUE_DESC_HIGH, 0x1);
    w(S.MMIO_QUEUE_DESC_LOW, 0x8000_1000);
    w(S.MMIO_QUEUE_DRIVER_LOW, 0x2000);
    w(S.MMIO_QUEUE_DRIVER_HIGH, 0x2);
    w(S.MMIO_QUEUE_DEVICE_HIGH, 0xffff_ffff);
    w(S.MMIO_QUEUE_DEVICE_LOW, 0xffff_fffc);
    const q = t.queues[1];
    assert.equal(q.descAddr, 0x1_8000_1000);
    assert.equal(q.driverAddr, 0x2_0000_2000);
    assert.equal(q.deviceAddr, 0xffff_ffff * 0x1_0000_0000 + 0xffff_fffc);
    assert.equal(t.queues[0].descAddr, 0, 'QueueSel picks the queue');
  });

  it('activates with the negotiated features and every queue; non-ready queues stay unbound', () => {
    const { t, dev, toFeaturesOk, queue, driverOk } = setup();
    const f = S.F_VERSION_1 | (1n << 35n);
    toFeaturesOk(f);
    queue(0, 0x8000_0000);
    driverOk();
    assert.deepEqual(dev.log, ['activate']);
    assert.equal(dev.acked, f);
    assert.equal(dev.queues.length, 2);
    assert.equal(dev.queues[0].activated, true);
    assert.equal(dev.queues[1].activated, false);
    assert.equal(t.deviceStatus, 15);
  });

  it('routes QueueNotify to the device by queue index, only for running queues', () => {
    const { t, dev, w, toFeaturesOk, queue, driverOk } = setup();
    toFeaturesOk();
    queue(0, 0x8000_0000);
    driverOk();
    w(S.MMIO_QUEUE_NOTIFY, 0);
    w(S.MMIO_QUEUE_NOTIFY, 1);
    assert.deepEqual(dev.log, ['activate', 'process 0']);
    assert.equal(t.metrics.notifiesIgnored, 1);
  });

  it('a device that refuses activation gets DEVICE_NEEDS_RESET, a config interrupt, and no kicks', () => {
    const { t, dev, irq, w, r, toFeaturesOk, queue, driverOk } = setup();
    dev.refuse = 'backend-unavailable';
    toFeaturesOk();
    queue(0, 0x8000_0000);
    driverOk();
    assert.equal(r(S.MMIO_STATUS), 15 | S.STATUS_DEVICE_NEEDS_RESET);
    assert.equal(irq.level, true);
    assert.equal(r(S.MMIO_INTERRUPT_STATUS), S.INT_CONFIG_CHANGE);
    w(S.MMIO_QUEUE_NOTIFY, 0);
    assert.deepEqual(dev.log, ['activate']);
    assert.equal(t.metrics.activateFails, 1);
  });

  it('resets the device only if it was running, and clears everything the driver set', () => {
    const { t, dev, w, r, toFeaturesOk, queue, driverOk } = setup();
    w(S.MMIO_STATUS, 0);
    assert.deepEqual(dev.log, []);
    toFeaturesOk();
    queue(0, 0x8000_0000);
    driverOk();
    dev.interrupt!.signalUsedBuffer(0);
    w(S.MMIO_QUEUE_SEL, 1);
    w(S.MMIO_STATUS, 0);
    assert.deepEqual(dev.log, ['activate', 'reset']);
    assert.equal(r(S.MMIO_INTERRUPT_STATUS), 0);
    assert.equal(t.queues[0].ready, false);
    assert.equal(t.queues[0].descAddr, 0);
    assert.equal(t.queues[0].size, 16);
    assert.equal(r(S.MMIO_QUEUE_NUM_MAX), 16, 'QueueSel is back to 0');
    assert.equal(t.metrics.resets, 2);
  });

  it('ignores used-buffer signals from a device that is not running', () => {
    const { irq, dev, w, toFeaturesOk, queue, driverOk } = setup();
    toFeaturesOk();
    queue(0, 0x8000_0000);
    driverOk();
    const stale = dev.interrupt!;
    w(S.MMIO_STATUS, 0);
    stale.signalUsedBuffer(0);
    assert.equal(irq.level, false);
  });

  it('keeps the line up until every InterruptStatus bit is acknowledged', () => {
    const { irq, dev, w, r, toFeaturesOk, queue, driverOk } = setup();
    toFeaturesOk();
    queue(0, 0x8000_0000);
    driverOk();
    dev.interrupt!.signalUsedBuffer(0);
    dev.interrupt!.signalConfigChange();
    assert.equal(r(S.MMIO_INTERRUPT_STATUS), 3);
    w(S.MMIO_INTERRUPT_ACK, S.INT_USED_BUFFER);
    assert.equal(irq.level, true);
    w(S.MMIO_INTERRUPT_ACK, S.INT_CONFIG_CHANGE);
    assert.equal(irq.level, false);
    assert.equal(irq.edges, 1);
  });

  it('ignores queue configuration after DRIVER_OK', () => {
    const { t, w, toFeaturesOk, queue, driverOk } = setup();
    toFeaturesOk();
    queue(0, 0x8000_0000);
    driverOk();
    w(S.MMIO_QUEUE_SEL, 1);
    w(S.MMIO_QUEUE_READY, 1);
    w(S.MMIO_QUEUE_SEL, 0);
    w(S.MMIO_QUEUE_READY, 0);
    assert.equal(t.queues[1].ready, false);
    assert.equal(t.queues[0].ready, true);
    assert.equal(t.metrics.lateConfigWrites, 2);
  });
});

describe('virtio-mmio slot with no device', () => {
  it('reads magic, version 2 and DeviceID 0, and ignores writes', () => {
    const mem = new MachineMemory(1 << 20);
    const irq = new LevelIrqLine();
    const t = new MmioTransport(null, mem, irq);
    assert.equal(t.read(S.MMIO_MAGIC_VALUE, 4), S.MMIO_MAGIC);
    assert.equal(t.read(S.MMIO_VERSION, 4), 2);
    assert.equal(t.read(S.MMIO_DEVICE_ID, 4), 0);
    assert.equal(t.read(S.MMIO_QUEUE_NUM_MAX, 4), 0);
    t.write(S.MMIO_STATUS, 4, 1);
    assert.equal(t.read(S.MMIO_STATUS, 4), 0);
    assert.equal(t.read(S.MMIO_CONFIG, 4), 0);
    t.write(S.MMIO_QUEUE_NOTIFY, 4, 0);
    assert.equal(irq.level, false);
    assert.equal(t.metrics.unknownRegisterWrites, 2);
  });
});
