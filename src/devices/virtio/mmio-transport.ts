import type { GuestMemory } from '../../memory/guest-memory.js';
import type { MmioDevice } from '../../memory/mmio-device.js';
import type { IrqLine } from '../irq-line.js';
import { Queue, type QueueState } from './queue.js';
import { checkArray, checkBool, checkInt, checkObject, parseU64, StateError, u64Hex } from '../../util/plain-state.js';
import * as S from './spec.js';
import type { VirtioDevice, VirtioInterrupt } from './virtio-device.js';

/** Guest misbehaviour and notable events on one virtio-mmio slot, Firecracker-style plain counters. */
export interface MmioTransportMetrics {
  /** Reads/writes of offsets that are no register (or the wrong direction): read 0, write ignored. */
  unknownRegisterReads: number;
  unknownRegisterWrites: number;
  /** §4.2.2.2: control registers take 32-bit aligned accesses only; others are ignored. */
  badAccessSize: number;
  /** Status writes that clear bits, skip steps (§3.1.1) or come after FAILED. */
  invalidStatusTransitions: number;
  /** FEATURES_OK refused: VIRTIO_F_VERSION_1 missing or a feature accepted that was not offered. */
  featuresRefused: number;
  /** DriverFeatures / queue configuration written when the state machine does not allow it. */
  lateConfigWrites: number;
  /** QueueNotify for a queue that does not exist, is not ready, or before/after the device runs. */
  notifiesIgnored: number;
  activateFails: number;
  /** Times the device entered DEVICE_NEEDS_RESET. */
  needsReset: number;
  resets: number;
}

/** One virtio-mmio slot in a snapshot: the transport's registers and queues, and the device's own part. */
export interface MmioTransportState {
  version: 1;
  deviceType: number;
  /** Features the device offered when saved (those the driver acked must still be offered). */
  deviceFeatures: string;
  ackedFeatures: string;
  status: number;
  deviceFeaturesSel: number;
  driverFeaturesSel: number;
  queueSel: number;
  interruptStatus: number;
  configGeneration: number;
  running: boolean;
  queues: QueueState[];
  /** VirtioDevice.save(). */
  device: unknown;
}

const DRIVER_READY = S.STATUS_ACKNOWLEDGE | S.STATUS_DRIVER;
const FEATURES_READY = DRIVER_READY | S.STATUS_FEATURES_OK;
const LOW32 = 0xffff_ffffn;

/**
 * The virtio-mmio version 2 register file (virtio 1.2 §4.2.2) in front of one VirtioDevice. It owns
 * the device status state machine (§2.1, §3.1.1), feature negotiation (§2.2), queue configuration,
 * InterruptStatus and the interrupt line, and the configuration generation (§2.5.1).
 *
 * A slot with no device answers Magic, Version and DeviceID 0 (§4.2.2: "a device ID of 0x0 ... the
 * device is a placeholder"), ignoring everything else. Nothing the guest writes makes this throw.
 */
export class MmioTransport implements MmioDevice, VirtioInterrupt {
  readonly metrics: MmioTransportMetrics = {
    unknownRegisterReads: 0,
    unknownRegisterWrites: 0,
    badAccessSize: 0,
    invalidStatusTransitions: 0,
    featuresRefused: 0,
    lateConfigWrites: 0,
    notifiesIgnored: 0,
    activateFails: 0,
    needsReset: 0,
    resets: 0,
  };
  readonly queues: readonly Queue[];

  private status = 0;
  private deviceFeaturesSel = 0;
  private driverFeaturesSel = 0;
  private ackedFeatures = 0n;
  private queueSel = 0;
  private interruptStatus = 0;
  private configGeneration = 0;
  private running = false;
  private irqLevel = false;

  constructor(
    readonly device: VirtioDevice | null,
    private readonly memory: GuestMemory,
    private readonly irq: IrqLine,
    /** VendorID register; 0 is fine for Linux. QEMU reports 0x554d4551 ("QEMU"). */
    private readonly vendorId = 0,
  ) {
    this.queues = device ? device.queueMaxSizes.map((n) => new Queue(n)) : [];
  }

  /** The device status as the driver reads it (§2.1). */
  get deviceStatus(): number {
    return this.status;
  }

  get negotiatedFeatures(): bigint {
    return this.ackedFeatures;
  }

  get isActivated(): boolean {
    return this.running;
  }

  read(offset: number, size: 1 | 2 | 4): number {
    if (offset >= S.MMIO_CONFIG) {
      return this.device ? this.device.readConfig(offset - S.MMIO_CONFIG, size) >>> 0 : 0;
    }
    if (size !== 4 || offset % 4 !== 0) {
      this.metrics.badAccessSize++;
      return 0;
    }
    switch (offset) {
      case S.MMIO_MAGIC_VALUE:
        return S.MMIO_MAGIC;
      case S.MMIO_VERSION:
        return S.MMIO_VERSION_2;
      case S.MMIO_DEVICE_ID:
        return this.device ? this.device.deviceType : S.DEVICE_ID_NONE;
      case S.MMIO_VENDOR_ID:
        return this.device ? this.vendorId >>> 0 : 0;
    }
    if (!this.device) return 0;
    const q = this.queues[this.queueSel];
    switch (offset) {
      case S.MMIO_DEVICE_FEATURES:
        return this.featureWord(this.device.availableFeatures, this.deviceFeaturesSel);
      case S.MMIO_QUEUE_NUM_MAX:
        // §4.2.2: 0 means the selected queue is not available.
        return q ? q.maxSize : 0;
      case S.MMIO_QUEUE_READY:
        return q && q.ready ? 1 : 0;
      case S.MMIO_INTERRUPT_STATUS:
        return this.interruptStatus;
      case S.MMIO_STATUS:
        return this.status;
      case S.MMIO_SHM_LEN_LOW:
      case S.MMIO_SHM_LEN_HIGH:
      case S.MMIO_SHM_BASE_LOW:
      case S.MMIO_SHM_BASE_HIGH:
        // §4.2.2: a region that does not exist reads as length -1; no device here has one.
        return 0xffff_ffff;
      case S.MMIO_QUEUE_RESET:
        return 0;
      case S.MMIO_CONFIG_GENERATION:
        return this.configGeneration >>> 0;
    }
    this.metrics.unknownRegisterReads++;
    return 0;
  }

  write(offset: number, size: 1 | 2 | 4, value: number): void {
    value >>>= 0;
    if (!this.device) {
      this.metrics.unknownRegisterWrites++;
      return;
    }
    if (offset >= S.MMIO_CONFIG) {
      this.device.writeConfig(offset - S.MMIO_CONFIG, size, value);
      return;
    }
    if (size !== 4 || offset % 4 !== 0) {
      this.metrics.badAccessSize++;
      return;
    }
    switch (offset) {
      case S.MMIO_DEVICE_FEATURES_SEL:
        this.deviceFeaturesSel = value;
        return;
      case S.MMIO_DRIVER_FEATURES_SEL:
        this.driverFeaturesSel = value;
        return;
      case S.MMIO_DRIVER_FEATURES:
        this.writeDriverFeatures(value);
        return;
      case S.MMIO_QUEUE_SEL:
        this.queueSel = value;
        return;
      case S.MMIO_QUEUE_NUM:
      case S.MMIO_QUEUE_READY:
      case S.MMIO_QUEUE_DESC_LOW:
      case S.MMIO_QUEUE_DESC_HIGH:
      case S.MMIO_QUEUE_DRIVER_LOW:
      case S.MMIO_QUEUE_DRIVER_HIGH:
      case S.MMIO_QUEUE_DEVICE_LOW:
      case S.MMIO_QUEUE_DEVICE_HIGH:
        this.writeQueueRegister(offset, value);
        return;
      case S.MMIO_QUEUE_NOTIFY:
        this.notify(value);
        return;
      case S.MMIO_INTERRUPT_ACK:
        this.interruptStatus &= ~value;
        this.updateIrq();
        return;
      case S.MMIO_STATUS:
        this.writeStatus(value & 0xff);
        return;
      case S.MMIO_SHM_SEL:
      case S.MMIO_QUEUE_RESET:
        // No shared memory regions; VIRTIO_F_RING_RESET is not offered, so QueueReset does nothing.
        return;
    }
    this.metrics.unknownRegisterWrites++;
  }

  /** Whether the device can be snapshotted (it implements save/restore); an empty slot can. */
  get snapshottable(): boolean {
    return this.device === null || (this.device.save !== undefined && this.device.restore !== undefined);
  }

  /** The slot's state for a snapshot (the machine checks `snapshottable` first). */
  save(): MmioTransportState {
    const d = this.device;
    if (d && !d.save) throw new Error(`virtio device type ${d.deviceType} cannot be saved`);
    // The device first: it may settle its queues as it saves (give back chains it holds, post an
    // event), and the queues and interrupt status saved below must include that.
    const device = d?.save?.() ?? null;
    return {
      version: 1,
      deviceType: d ? d.deviceType : S.DEVICE_ID_NONE,
      deviceFeatures: u64Hex(Number((d?.availableFeatures ?? 0n) & LOW32), Number(((d?.availableFeatures ?? 0n) >> 32n) & LOW32)),
      ackedFeatures: u64Hex(Number(this.ackedFeatures & LOW32), Number((this.ackedFeatures >> 32n) & LOW32)),
      status: this.status,
      deviceFeaturesSel: this.deviceFeaturesSel,
      driverFeaturesSel: this.driverFeaturesSel,
      queueSel: this.queueSel,
      interruptStatus: this.interruptStatus,
      configGeneration: this.configGeneration,
      running: this.running,
      queues: this.queues.map((q) => q.save()),
      device,
    };
  }

  /**
   * Restores a saved slot into this freshly built one (same device type and configuration): registers,
   * queues re-bound to guest memory, the device re-activated and given its own state. The interrupt
   * line's level is taken as saved without driving it: the PLIC's restored state holds it. Throws a
   * clear error on a state that does not fit; the caller discards the whole machine then.
   */
  restore(state: unknown, slot: string): void {
    const s = checkObject(state, slot);
    if (s.version !== 1) throw new StateError(`${slot} state version ${JSON.stringify(s.version)} is not one this wisp reads (1)`);
    const d = this.device;
    const type = d ? d.deviceType : S.DEVICE_ID_NONE;
    if (s.deviceType !== type) throw new StateError(`${slot} held a device of type ${JSON.stringify(s.deviceType)}, but the restored configuration puts type ${type} there`);
    const [aLo, aHi] = parseU64(s.ackedFeatures, `${slot}.ackedFeatures`);
    const acked = (BigInt(aHi >>> 0) << 32n) | BigInt(aLo >>> 0);
    const running = checkBool(s.running, `${slot}.running`);
    const queues = checkArray(s.queues, `${slot}.queues`, this.queues.length) as QueueState[];
    const int = (k: string, max = 0xffff_ffff) => checkInt(s[k], `${slot}.${k}`, 0, max);
    const regs = {
      status: int('status', 0xff), deviceFeaturesSel: int('deviceFeaturesSel'), driverFeaturesSel: int('driverFeaturesSel'),
      queueSel: int('queueSel'), interruptStatus: int('interruptStatus', 3), configGeneration: int('configGeneration'),
    };
    if (!d) return;
    if (acked & ~d.availableFeatures) {
      throw new StateError(`${slot}: the driver accepted features 0x${acked.toString(16)}, but the restored device offers only 0x${d.availableFeatures.toString(16)} (was its configuration changed?)`);
    }
    if (running && !d.restore) throw new StateError(`${slot}: the device cannot be restored`);
    queues.forEach((q, i) => {
      try {
        this.queues[i]!.restore(q);
      } catch (e) {
        throw new StateError(`${slot}.queues[${i}]: ${(e as Error).message}`);
      }
    });
    this.status = regs.status;
    this.deviceFeaturesSel = regs.deviceFeaturesSel;
    this.driverFeaturesSel = regs.driverFeaturesSel;
    this.queueSel = regs.queueSel;
    this.interruptStatus = regs.interruptStatus;
    this.configGeneration = regs.configGeneration;
    this.ackedFeatures = acked;
    this.irqLevel = this.interruptStatus !== 0;
    this.running = false;
    if (running) {
      this.queues.forEach((q, i) => {
        if (q.ready && !q.activate(this.memory, acked)) throw new StateError(`${slot}.queues[${i}]: its rings do not lie in guest RAM`);
      });
      const err = d.activate(this.memory, this.queues, this, acked);
      if (err) throw new StateError(`${slot}: the device did not activate (${err})`);
      this.running = true;
    }
    if (d.restore) d.restore(s.device);
  }

  /**
   * Processes whatever the driver made available while the machine was saved or restored (a kick
   * that was in flight), as Firecracker kicks its devices when a restored VM resumes.
   */
  kick(): void {
    if (!this.running || !this.device) return;
    this.queues.forEach((q, i) => {
      if (q.activated && q.pending() > 0) this.device!.processQueue(i);
    });
  }

  // VirtioInterrupt, handed to the device at activation.

  signalUsedBuffer(_index: number): void {
    if (!this.running) return;
    this.interruptStatus |= S.INT_USED_BUFFER;
    this.updateIrq();
  }

  signalConfigChange(): void {
    // §2.5.1: a new generation whenever the config may have changed, so the driver re-reads it.
    this.configGeneration = (this.configGeneration + 1) >>> 0;
    if (!(this.status & S.STATUS_DRIVER_OK)) return;
    this.interruptStatus |= S.INT_CONFIG_CHANGE;
    this.updateIrq();
  }

  private featureWord(features: bigint, sel: number): number {
    if (sel === 0) return Number(features & LOW32);
    if (sel === 1) return Number((features >> 32n) & LOW32);
    return 0;
  }

  private writeDriverFeatures(value: number): void {
    // §2.2 / §3.1.1: features are accepted between DRIVER and FEATURES_OK only.
    if ((this.status & (FEATURES_READY | S.STATUS_FAILED)) !== DRIVER_READY || this.driverFeaturesSel > 1) {
      this.metrics.lateConfigWrites++;
      return;
    }
    const shift = BigInt(32 * this.driverFeaturesSel);
    this.ackedFeatures = (this.ackedFeatures & ~(LOW32 << shift)) | (BigInt(value) << shift);
  }

  private writeQueueRegister(offset: number, value: number): void {
    const q = this.queues[this.queueSel];
    // §4.2.2.1/§4.2.3.2: a queue is configured before it is made ready and before DRIVER_OK.
    const frozen = (this.status & S.STATUS_DRIVER_OK) !== 0 || (this.status & S.STATUS_FAILED) !== 0;
    if (!q || frozen || (q.ready && offset !== S.MMIO_QUEUE_READY)) {
      this.metrics.lateConfigWrites++;
      return;
    }
    const HI = 0x1_0000_0000;
    switch (offset) {
      case S.MMIO_QUEUE_NUM:
        q.size = value;
        return;
      case S.MMIO_QUEUE_READY:
        q.ready = (value & 1) === 1;
        return;
      case S.MMIO_QUEUE_DESC_LOW:
        q.descAddr = Math.floor(q.descAddr / HI) * HI + value;
        return;
      case S.MMIO_QUEUE_DESC_HIGH:
        q.descAddr = value * HI + (q.descAddr % HI);
        return;
      case S.MMIO_QUEUE_DRIVER_LOW:
        q.driverAddr = Math.floor(q.driverAddr / HI) * HI + value;
        return;
      case S.MMIO_QUEUE_DRIVER_HIGH:
        q.driverAddr = value * HI + (q.driverAddr % HI);
        return;
      case S.MMIO_QUEUE_DEVICE_LOW:
        q.deviceAddr = Math.floor(q.deviceAddr / HI) * HI + value;
        return;
      case S.MMIO_QUEUE_DEVICE_HIGH:
        q.deviceAddr = value * HI + (q.deviceAddr % HI);
        return;
    }
  }

  private notify(index: number): void {
    // Without VIRTIO_F_NOTIFICATION_DATA the value is the queue index (§4.2.2).
    const q = this.queues[index];
    if (!this.running || (this.status & S.STATUS_DEVICE_NEEDS_RESET) || !q || !q.activated) {
      this.metrics.notifiesIgnored++;
      return;
    }
    this.device!.processQueue(index);
    if (this.queues.some((x) => x.broken)) this.enterNeedsReset();
  }

  private writeStatus(value: number): void {
    if (value === 0) {
      this.reset();
      return;
    }
    const cur = this.status & ~S.STATUS_DEVICE_NEEDS_RESET;
    const next = value & ~S.STATUS_DEVICE_NEEDS_RESET;
    if (cur & S.STATUS_FAILED) {
      if (next !== cur) this.metrics.invalidStatusTransitions++;
      return;
    }
    if (next & S.STATUS_FAILED) {
      // §2.1: the driver gave up; it must reset before trying again. Stop processing meanwhile.
      this.status |= S.STATUS_FAILED;
      this.running = false;
      return;
    }
    // §2.1.1: the driver never clears a bit (except by reset); it sets them in the §3.1.1 order.
    const added = next & ~cur;
    if ((next & cur) !== cur || added & ~(FEATURES_READY | S.STATUS_DRIVER_OK)) {
      this.metrics.invalidStatusTransitions++;
      return;
    }
    for (const [bit, needs] of [
      [S.STATUS_ACKNOWLEDGE, 0],
      [S.STATUS_DRIVER, S.STATUS_ACKNOWLEDGE],
      [S.STATUS_FEATURES_OK, DRIVER_READY],
      [S.STATUS_DRIVER_OK, FEATURES_READY],
    ] as const) {
      if (!(added & bit)) continue;
      if ((this.status & ~S.STATUS_DEVICE_NEEDS_RESET) !== needs) {
        this.metrics.invalidStatusTransitions++;
        return;
      }
      if (bit === S.STATUS_FEATURES_OK) {
        if (!this.featuresAcceptable()) {
          // §3.1.1 step 6: FEATURES_OK stays clear when re-read; the driver sees the refusal.
          this.metrics.featuresRefused++;
          return;
        }
      }
      if (bit === S.STATUS_DRIVER_OK) {
        this.status |= S.STATUS_DRIVER_OK;
        this.activate();
        return;
      }
      this.status |= bit;
    }
  }

  private featuresAcceptable(): boolean {
    const offered = this.device!.availableFeatures;
    // §6.1: a device that offers VERSION_1 may refuse drivers that do not accept it; we are modern-only.
    if (!(this.ackedFeatures & S.F_VERSION_1)) return false;
    // §2.2.1: the driver must not accept a feature the device did not offer.
    return (this.ackedFeatures & ~offered) === 0n;
  }

  private activate(): void {
    for (const q of this.queues) {
      if (q.ready && !q.activate(this.memory, this.ackedFeatures)) {
        this.metrics.activateFails++;
        this.enterNeedsReset();
        return;
      }
    }
    const err = this.device!.activate(this.memory, this.queues, this, this.ackedFeatures);
    if (err) {
      this.metrics.activateFails++;
      this.enterNeedsReset();
      return;
    }
    this.running = true;
  }

  private enterNeedsReset(): void {
    if (this.status & S.STATUS_DEVICE_NEEDS_RESET) return;
    this.metrics.needsReset++;
    this.status |= S.STATUS_DEVICE_NEEDS_RESET;
    const wasRunning = this.running;
    this.running = false;
    if (wasRunning) this.device!.reset();
    // §2.1.2: with DRIVER_OK set, DEVICE_NEEDS_RESET is followed by a configuration change notification.
    this.signalConfigChange();
  }

  /** §2.4 / §4.2.2.1: writing 0 to Status resets the device, its queues and InterruptStatus. */
  private reset(): void {
    this.metrics.resets++;
    if (this.running) this.device!.reset();
    this.running = false;
    for (const q of this.queues) q.reset();
    this.status = 0;
    this.ackedFeatures = 0n;
    this.deviceFeaturesSel = this.driverFeaturesSel = this.queueSel = 0;
    this.interruptStatus = 0;
    this.updateIrq();
  }

  private updateIrq(): void {
    const level = this.interruptStatus !== 0;
    if (level !== this.irqLevel) {
      this.irqLevel = level;
      this.irq.set(level);
    }
  }
}
