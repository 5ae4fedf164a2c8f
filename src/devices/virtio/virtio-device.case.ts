/**
 * The shared case suite every virtio device runs behind the virtio-mmio transport (STYLE.md habit 8:
 * same tests for every implementation of an interface). A device test file calls
 * `virtioDeviceCases(...)` with a factory and one valid request of its kind; everything here is
 * about the transport and the queue, not about what the device does with the bytes.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MachineMemory } from '../../memory/machine-memory.js';
import { LevelIrqLine } from '../irq-line.js';
import { VirtqueueDriver, type BufferSpec } from '../../../test/helpers/virtqueue-driver.js';
import { MmioTransport } from './mmio-transport.js';
import type { QueueMetrics } from './queue.js';
import * as S from './spec.js';
import type { VirtioDevice } from './virtio-device.js';

export interface DeviceCaseSetup {
  /** A fresh device with in-memory backends. */
  make(): VirtioDevice;
  /** One well-formed request for queue 0 and the used len the device must report for it. */
  request(): { buffers: BufferSpec[]; usedLen: number };
}

export interface Rig {
  mem: MachineMemory;
  irq: LevelIrqLine;
  device: VirtioDevice;
  transport: MmioTransport;
  driver: VirtqueueDriver;
}

export function makeRig(device: VirtioDevice, ramSize = 2 << 20): Rig {
  const mem = new MachineMemory(ramSize);
  const irq = new LevelIrqLine();
  const transport = new MmioTransport(device, mem, irq);
  return { mem, irq, device, transport, driver: new VirtqueueDriver(transport, mem) };
}

export function virtioDeviceCases(name: string, setup: DeviceCaseSetup): void {
  const rig = (): Rig => makeRig(setup.make());
  const q0 = (r: Rig): QueueMetrics => r.transport.queues[0].metrics;
  const sum = (m: QueueMetrics): number => Object.values(m).reduce((a, b) => a + b, 0);

  describe(`${name} behind virtio-mmio (shared transport cases)`, () => {
    it('identifies itself: magic "virt", version 2, its device ID', () => {
      const r = rig();
      assert.equal(r.transport.read(S.MMIO_MAGIC_VALUE, 4), 0x74726976);
      assert.equal(r.transport.read(S.MMIO_VERSION, 4), 2);
      assert.equal(r.transport.read(S.MMIO_DEVICE_ID, 4), r.device.deviceType);
      assert.notEqual(r.device.deviceType, 0);
      assert.equal(r.transport.read(S.MMIO_STATUS, 4), 0);
    });

    it('offers VIRTIO_F_VERSION_1 and shows its features through DeviceFeaturesSel 0 and 1', () => {
      const r = rig();
      assert.equal(r.driver.deviceFeatures(), r.device.availableFeatures);
      assert.ok(r.device.availableFeatures & S.F_VERSION_1);
      r.driver.write(S.MMIO_DEVICE_FEATURES_SEL, 2);
      assert.equal(r.driver.read(S.MMIO_DEVICE_FEATURES), 0);
    });

    it('refuses FEATURES_OK when the driver does not accept VIRTIO_F_VERSION_1', () => {
      const r = rig();
      assert.throws(() => r.driver.init({ accept: (f) => f & ~S.F_VERSION_1 }), /refused/);
      assert.equal(r.driver.status, S.STATUS_ACKNOWLEDGE | S.STATUS_DRIVER);
      assert.equal(r.transport.metrics.featuresRefused, 1);
    });

    it('refuses FEATURES_OK when the driver accepts a feature that was not offered', () => {
      const r = rig();
      assert.throws(() => r.driver.init({ accept: (f) => f | (1n << 40n) }), /refused/);
      assert.equal(r.transport.metrics.featuresRefused, 1);
    });

    it('ignores DriverFeatures written after FEATURES_OK', () => {
      const r = rig();
      r.driver.init({ accept: (f) => f & ~S.F_EVENT_IDX, skipDriverOk: true });
      const before = r.transport.negotiatedFeatures;
      r.driver.writeDriverFeatures(r.device.availableFeatures);
      assert.equal(r.transport.negotiatedFeatures, before);
      assert.ok(r.transport.metrics.lateConfigWrites >= 1);
    });

    it('follows the status order of §3.1.1 and ignores steps out of order or bits cleared', () => {
      const r = rig();
      r.driver.setStatus(S.STATUS_DRIVER); // DRIVER before ACKNOWLEDGE
      assert.equal(r.driver.status, 0);
      r.driver.setStatus(S.STATUS_ACKNOWLEDGE);
      r.driver.setStatus(S.STATUS_ACKNOWLEDGE | S.STATUS_DRIVER_OK); // skips DRIVER and FEATURES_OK
      assert.equal(r.driver.status, S.STATUS_ACKNOWLEDGE);
      r.driver.addStatus(S.STATUS_DRIVER);
      r.driver.setStatus(S.STATUS_DRIVER); // clears ACKNOWLEDGE
      assert.equal(r.driver.status, S.STATUS_ACKNOWLEDGE | S.STATUS_DRIVER);
      assert.equal(r.transport.metrics.invalidStatusTransitions, 3);
      assert.equal(r.transport.isActivated, false);
    });

    it('keeps FAILED until reset and processes nothing meanwhile', () => {
      const r = rig();
      r.driver.init();
      r.driver.addStatus(S.STATUS_FAILED);
      assert.ok(r.driver.status & S.STATUS_FAILED);
      const req = setup.request();
      r.driver.submit(0, req.buffers);
      assert.deepEqual(r.driver.used(0), []);
      r.driver.setStatus(S.STATUS_ACKNOWLEDGE);
      assert.ok(r.driver.status & S.STATUS_FAILED);
      r.driver.setStatus(0);
      assert.equal(r.driver.status, 0);
    });

    it('reports QueueNumMax per queue and 0 past the last one', () => {
      const r = rig();
      r.device.queueMaxSizes.forEach((n, i) => {
        r.driver.write(S.MMIO_QUEUE_SEL, i);
        assert.equal(r.driver.read(S.MMIO_QUEUE_NUM_MAX), n);
      });
      r.driver.write(S.MMIO_QUEUE_SEL, r.device.queueMaxSizes.length);
      assert.equal(r.driver.read(S.MMIO_QUEUE_NUM_MAX), 0);
      assert.equal(r.driver.read(S.MMIO_QUEUE_READY), 0);
      r.driver.write(S.MMIO_QUEUE_READY, 1); // no such queue: ignored
      assert.equal(r.driver.read(S.MMIO_QUEUE_READY), 0);
    });

    it('freezes a queue configuration once QueueReady is set, and reads QueueReady back', () => {
      const r = rig();
      r.driver.init({ skipDriverOk: true });
      r.driver.write(S.MMIO_QUEUE_SEL, 0);
      assert.equal(r.driver.read(S.MMIO_QUEUE_READY), 1);
      const q = r.transport.queues[0];
      const desc = q.descAddr;
      r.driver.write(S.MMIO_QUEUE_DESC_LOW, 0x1234_0000);
      r.driver.write(S.MMIO_QUEUE_NUM, 2);
      assert.equal(q.descAddr, desc);
      assert.equal(q.size, r.device.queueMaxSizes[0]);
      r.driver.write(S.MMIO_QUEUE_READY, 0);
      assert.equal(r.driver.read(S.MMIO_QUEUE_READY), 0);
    });

    it('serves a request, raises the used-buffer interrupt, and InterruptACK lowers it', () => {
      const r = rig();
      r.driver.init();
      assert.equal(r.transport.isActivated, true);
      const req = setup.request();
      const { head } = r.driver.submit(0, req.buffers);
      assert.deepEqual(r.driver.used(0), [{ id: head, len: req.usedLen }]);
      assert.equal(r.irq.level, true);
      assert.equal(r.driver.read(S.MMIO_INTERRUPT_STATUS), S.INT_USED_BUFFER);
      r.driver.write(S.MMIO_INTERRUPT_ACK, S.INT_USED_BUFFER);
      assert.equal(r.irq.level, false);
      assert.equal(r.driver.read(S.MMIO_INTERRUPT_STATUS), 0);
    });

    it('serves the same request through an indirect table', () => {
      const r = rig();
      r.driver.init();
      const req = setup.request();
      const { head } = r.driver.submit(0, req.buffers, { indirect: true });
      assert.deepEqual(r.driver.used(0), [{ id: head, len: req.usedLen }]);
    });

    it('resets on Status 0: interrupts, queues and features cleared; it then works again', () => {
      const r = rig();
      r.driver.init();
      r.driver.submit(0, setup.request().buffers);
      assert.equal(r.irq.level, true);
      r.driver.setStatus(0);
      assert.equal(r.irq.level, false);
      assert.equal(r.driver.read(S.MMIO_INTERRUPT_STATUS), 0);
      assert.equal(r.driver.status, 0);
      assert.equal(r.transport.negotiatedFeatures, 0n);
      r.driver.write(S.MMIO_QUEUE_SEL, 0);
      assert.equal(r.driver.read(S.MMIO_QUEUE_READY), 0);
      r.driver.init();
      const req = setup.request();
      const { head } = r.driver.submit(0, req.buffers);
      assert.deepEqual(r.driver.used(0), [{ id: head, len: req.usedLen }]);
    });

    it('ignores notifications before DRIVER_OK and for queues that do not exist', () => {
      const r = rig();
      r.driver.init({ skipDriverOk: true });
      r.driver.submit(0, setup.request().buffers);
      r.driver.kick(99);
      assert.equal(r.transport.metrics.notifiesIgnored, 2);
      assert.equal(r.driver.usedIdx(0), 0);
    });

    it('takes only 32-bit aligned accesses to control registers', () => {
      const r = rig();
      assert.equal(r.transport.read(S.MMIO_MAGIC_VALUE, 2), 0);
      assert.equal(r.transport.read(S.MMIO_MAGIC_VALUE + 1, 4), 0);
      r.transport.write(S.MMIO_STATUS, 1, S.STATUS_ACKNOWLEDGE);
      assert.equal(r.driver.status, 0);
      assert.equal(r.transport.metrics.badAccessSize, 3);
      assert.equal(r.transport.read(0x0f0, 4), 0);
      r.transport.write(0x0f0, 4, 1);
      assert.equal(r.transport.metrics.unknownRegisterReads, 1);
      assert.equal(r.transport.metrics.unknownRegisterWrites, 1);
    });

    it('answers a missing shared memory region with length -1', () => {
      const r = rig();
      assert.equal(r.driver.read(S.MMIO_SHM_LEN_LOW), 0xffff_ffff);
      assert.equal(r.driver.read(S.MMIO_SHM_LEN_HIGH), 0xffff_ffff);
    });

    it('bumps ConfigGeneration on a config change and interrupts only after DRIVER_OK', () => {
      const r = rig();
      const g0 = r.driver.read(S.MMIO_CONFIG_GENERATION);
      r.transport.signalConfigChange();
      assert.equal(r.driver.read(S.MMIO_CONFIG_GENERATION), g0 + 1);
      assert.equal(r.irq.level, false);
      r.driver.init();
      r.transport.signalConfigChange();
      assert.equal(r.driver.read(S.MMIO_INTERRUPT_STATUS), S.INT_CONFIG_CHANGE);
      assert.equal(r.irq.level, true);
    });

    for (const [what, tweak] of [
      ['a queue size that is not a power of 2', (d: VirtqueueDriver) => d.write(S.MMIO_QUEUE_NUM, 3)],
      ['a queue larger than QueueNumMax', (d: VirtqueueDriver) => d.write(S.MMIO_QUEUE_NUM, 1 << 16)],
      ['a misaligned descriptor table', (d: VirtqueueDriver) => d.write(S.MMIO_QUEUE_DESC_LOW, 0x8000_1008)],
      ['a used ring outside RAM', (d: VirtqueueDriver) => d.write(S.MMIO_QUEUE_DEVICE_HIGH, 7)],
    ] as const) {
      it(`sets DEVICE_NEEDS_RESET at DRIVER_OK for ${what}`, () => {
        const r = rig();
        r.driver.init({ skipDriverOk: true });
        r.driver.write(S.MMIO_QUEUE_SEL, 0);
        r.driver.write(S.MMIO_QUEUE_READY, 0);
        tweak(r.driver);
        r.driver.write(S.MMIO_QUEUE_READY, 1);
        r.driver.addStatus(S.STATUS_DRIVER_OK);
        assert.ok(r.driver.status & S.STATUS_DEVICE_NEEDS_RESET);
        assert.equal(r.transport.isActivated, false);
        assert.equal(r.transport.metrics.activateFails, 1);
        assert.equal(r.driver.read(S.MMIO_INTERRUPT_STATUS), S.INT_CONFIG_CHANGE);
      });
    }

    it('fails activation with DEVICE_NEEDS_RESET when queue 0 was never made ready', () => {
      const r = rig();
      r.driver.init({ skipDriverOk: true });
      r.driver.write(S.MMIO_QUEUE_SEL, 0);
      r.driver.write(S.MMIO_QUEUE_READY, 0);
      r.driver.addStatus(S.STATUS_DRIVER_OK);
      assert.ok(r.driver.status & S.STATUS_DEVICE_NEEDS_RESET);
    });

    it('with EVENT_IDX, interrupts only when used_event is passed and publishes avail_event', () => {
      const r = rig();
      const f = r.driver.init();
      assert.ok(f & S.F_EVENT_IDX, 'the device must offer EVENT_IDX');
      r.driver.setUsedEvent(0, 2); // interrupt when used idx goes past 2, i.e. on the 3rd buffer
      for (let i = 0; i < 2; i++) r.driver.submit(0, setup.request().buffers);
      assert.equal(r.irq.level, false);
      assert.equal(r.driver.availEvent(0), 2);
      r.driver.submit(0, setup.request().buffers);
      assert.equal(r.irq.level, true);
      assert.equal(r.driver.used(0).length, 3);
      assert.equal(q0(r).suppressedNotifications, 2);
    });

    it('without EVENT_IDX, honours VIRTQ_AVAIL_F_NO_INTERRUPT', () => {
      const r = rig();
      r.driver.init({ accept: (f) => f & ~S.F_EVENT_IDX });
      r.driver.setAvailFlags(0, S.AVAIL_F_NO_INTERRUPT);
      r.driver.submit(0, setup.request().buffers);
      assert.equal(r.driver.used(0).length, 1);
      assert.equal(r.irq.level, false);
      r.driver.setAvailFlags(0, 0);
      r.driver.submit(0, setup.request().buffers);
      assert.equal(r.irq.level, true);
    });

    // Hostile chains: each is returned with len 0, counted, and the device keeps working.
    const hostile: Array<[string, keyof QueueMetrics, (r: Rig) => number, ((f: bigint) => bigint)?]> = [
      [
        'a descriptor loop',
        'chain-too-long',
        (r) => {
          const a = r.driver.alloc(16);
          r.driver.writeDesc(0, 0, { addr: a, len: 16, flags: S.DESC_F_NEXT | S.DESC_F_WRITE, next: 1 });
          r.driver.writeDesc(0, 1, { addr: a, len: 16, flags: S.DESC_F_NEXT | S.DESC_F_WRITE, next: 0 });
          return 0;
        },
      ],
      [
        'a next index past the queue size',
        'next-out-of-range',
        (r) => {
          r.driver.writeDesc(0, 0, { addr: r.driver.alloc(16), len: 16, flags: S.DESC_F_NEXT | S.DESC_F_WRITE, next: 0xfff0 });
          return 0;
        },
      ],
      [
        'a buffer outside RAM',
        'address-out-of-ram',
        (r) => {
          r.driver.writeDesc(0, 0, { addr: 0x1000, len: 16, flags: S.DESC_F_WRITE, next: 0 });
          return 0;
        },
      ],
      [
        'a buffer that runs off the end of RAM',
        'address-out-of-ram',
        (r) => {
          const end = r.mem.ramBase + r.mem.ramSize;
          r.driver.writeDesc(0, 0, { addr: end - 8, len: 16, flags: S.DESC_F_WRITE, next: 0 });
          return 0;
        },
      ],
      [
        'a huge length',
        'address-out-of-ram',
        (r) => {
          r.driver.writeDesc(0, 0, { addr: r.mem.ramBase, len: 0xffff_ffff, flags: S.DESC_F_WRITE, next: 0 });
          return 0;
        },
      ],
      [
        'a nested indirect table',
        'nested-indirect',
        (r) => {
          const t = r.driver.alloc(32);
          r.driver.writeDescAt(t, { addr: t, len: 32, flags: S.DESC_F_INDIRECT, next: 0 });
          r.driver.writeDesc(0, 0, { addr: t, len: 32, flags: S.DESC_F_INDIRECT, next: 0 });
          return 0;
        },
      ],
      [
        'a zero-length indirect table',
        'indirect-bad-length',
        (r) => {
          r.driver.writeDesc(0, 0, { addr: r.driver.alloc(16), len: 0, flags: S.DESC_F_INDIRECT, next: 0 });
          return 0;
        },
      ],
      [
        'an indirect table whose length is not a multiple of 16',
        'indirect-bad-length',
        (r) => {
          r.driver.writeDesc(0, 0, { addr: r.driver.alloc(32), len: 24, flags: S.DESC_F_INDIRECT, next: 0 });
          return 0;
        },
      ],
      [
        'an indirect descriptor with NEXT',
        'indirect-with-next',
        (r) => {
          r.driver.writeDesc(0, 0, { addr: r.driver.alloc(16), len: 16, flags: S.DESC_F_INDIRECT | S.DESC_F_NEXT, next: 1 });
          return 0;
        },
      ],
      [
        'a loop inside an indirect table',
        'chain-too-long',
        (r) => {
          const t = r.driver.alloc(32);
          const b = r.driver.alloc(8);
          r.driver.writeDescAt(t, { addr: b, len: 8, flags: S.DESC_F_WRITE | S.DESC_F_NEXT, next: 1 });
          r.driver.writeDescAt(t + 16, { addr: b, len: 8, flags: S.DESC_F_WRITE | S.DESC_F_NEXT, next: 0 });
          r.driver.writeDesc(0, 0, { addr: t, len: 32, flags: S.DESC_F_INDIRECT, next: 0 });
          return 0;
        },
      ],
      [
        'an indirect table that was not negotiated',
        'indirect-not-negotiated',
        (r) => {
          const t = r.driver.alloc(16);
          r.driver.writeDescAt(t, { addr: r.driver.alloc(8), len: 8, flags: S.DESC_F_WRITE, next: 0 });
          r.driver.writeDesc(0, 0, { addr: t, len: 16, flags: S.DESC_F_INDIRECT, next: 0 });
          return 0;
        },
        (f) => f & ~S.F_INDIRECT_DESC,
      ],
    ];
    for (const [what, counter, build, accept] of hostile) {
      it(`returns ${what} with len 0, counts it as ${counter}, and keeps serving`, () => {
        const r = rig();
        r.driver.init(accept ? { accept } : {});
        r.driver.queues[0].free = r.driver.queues[0].free.filter((d) => d > 1);
        const head = build(r);
        r.driver.pushAvail(0, head);
        r.driver.kick(0);
        assert.deepEqual(r.driver.used(0), [{ id: head, len: 0 }]);
        assert.equal(q0(r)[counter], 1);
        assert.equal(r.driver.status & S.STATUS_DEVICE_NEEDS_RESET, 0);
        const req = setup.request();
        const { head: h2 } = r.driver.submit(0, req.buffers);
        assert.deepEqual(r.driver.used(0), [{ id: h2, len: req.usedLen }]);
      });
    }

    it('sets DEVICE_NEEDS_RESET when the avail index runs more than the queue size ahead', () => {
      const r = rig();
      r.driver.init();
      r.driver.setAvailIdx(0, r.device.queueMaxSizes[0] + 1);
      r.driver.kick(0);
      assert.ok(r.driver.status & S.STATUS_DEVICE_NEEDS_RESET);
      assert.equal(q0(r)['avail-index-jump'], 1);
      assert.equal(r.driver.usedIdx(0), 0);
      assert.equal(r.driver.read(S.MMIO_INTERRUPT_STATUS), S.INT_CONFIG_CHANGE);
      r.driver.kick(0); // ignored now, until reset
      assert.ok(r.transport.metrics.notifiesIgnored >= 1);
      r.driver.init();
      assert.equal(r.driver.status & S.STATUS_DEVICE_NEEDS_RESET, 0);
    });

    it('sets DEVICE_NEEDS_RESET for a head index past the queue size', () => {
      const r = rig();
      r.driver.init();
      r.driver.pushAvail(0, 0xffff);
      r.driver.kick(0);
      assert.ok(r.driver.status & S.STATUS_DEVICE_NEEDS_RESET);
      assert.equal(q0(r)['head-out-of-range'], 1);
      assert.equal(r.driver.usedIdx(0), 0);
    });

    it('counts nothing for well-behaved traffic', () => {
      const r = rig();
      r.driver.init();
      for (let i = 0; i < 5; i++) r.driver.submit(0, setup.request().buffers, { indirect: i % 2 === 1 });
      const m = q0(r);
      assert.equal(sum(m) - m.chains - m.notifications - m.suppressedNotifications, 0);
      assert.equal(m.chains, 5);
      const t = r.transport.metrics;
      assert.equal(t.badAccessSize + t.invalidStatusTransitions + t.featuresRefused + t.notifiesIgnored + t.activateFails, 0);
    });
  });
}
