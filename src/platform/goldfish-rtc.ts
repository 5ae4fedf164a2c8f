import type { IrqLine } from '../devices/irq-line.js';
import type { MmioDevice } from '../memory/mmio-device.js';

/**
 * The Goldfish real-time clock ("google,goldfish-rtc"), as Linux's drivers/rtc/rtc-goldfish.c uses it:
 * 64-bit nanoseconds since the epoch read as TIME_LOW (which latches the high half) then TIME_HIGH; a
 * one-shot alarm armed by writing ALARM_LOW after ALARM_HIGH; a level interrupt while an alarm has fired,
 * the interrupt is enabled and the guest has not cleared it. Register layout from the Goldfish virtual
 * hardware spec (Android emulator, "goldfish-rtc").
 *
 * Time is kept as an offset from an injected wall clock, so setting the clock never touches the host.
 * BigInt is fine here: the RTC is read a few times per boot, far from any hot path.
 * Only aligned 4-byte accesses are honoured; anything else reads 0, is ignored and counted.
 */

/** Wall-clock time in nanoseconds since the Unix epoch. */
export interface WallClock {
  nowNs(): bigint;
}

export interface GoldfishRtcMetrics {
  badAccesses: number;
  alarmsFired: number;
}

/** Plain, versioned state; 64-bit values as decimal strings so the state survives JSON. */
export interface GoldfishRtcState {
  version: 1;
  /** Guest time minus wall-clock time, ns. */
  offsetNs: string;
  alarmNs: string;
  alarmRunning: boolean;
  irqEnabled: boolean;
  irqPending: boolean;
  timeHighLatch: number;
}

const TIME_LOW = 0x00; // R: current time low 32 bits, latches the high half; W: set low half
const TIME_HIGH = 0x04; // R: high half latched by the last TIME_LOW read; W: set high half
const ALARM_LOW = 0x08; // W: low half of the alarm, and arm it
const ALARM_HIGH = 0x0c; // W: high half of the alarm
const IRQ_ENABLED = 0x10; // RW: bit 0
const CLEAR_ALARM = 0x14; // W: disarm
const ALARM_STATUS = 0x18; // R: 1 while armed
const CLEAR_INTERRUPT = 0x1c; // W: lower the interrupt

const MASK32 = 0xffff_ffffn;
const MASK64 = 0xffff_ffff_ffff_ffffn;

/** The host's wall clock (sub-millisecond where the host offers it). */
export const systemWallClock: WallClock = {
  nowNs: () => BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000)) * 1000n,
};

export class GoldfishRtc implements MmioDevice {
  readonly metrics: GoldfishRtcMetrics = { badAccesses: 0, alarmsFired: 0 };
  private offsetNs = 0n;
  private alarmNs = 0n;
  private alarmRunning = false;
  private irqEnabled = false;
  private irqPending = false;
  private timeHighLatch = 0;
  private irqLevel = false;

  constructor(private readonly clock: WallClock, private readonly irq: IrqLine) {}

  /** Guest-visible time, ns since the epoch (wrapped to 64 bits as the register pair would). */
  timeNs(): bigint {
    return (this.clock.nowNs() + this.offsetNs) & MASK64;
  }

  read(offset: number, size: 1 | 2 | 4): number {
    if (size !== 4 || (offset & 3) !== 0) return this.bad();
    this.update();
    switch (offset) {
      case TIME_LOW: {
        const now = this.timeNs();
        this.timeHighLatch = Number(now >> 32n);
        return Number(now & MASK32);
      }
      case TIME_HIGH:
        return this.timeHighLatch;
      case ALARM_LOW:
        return Number(this.alarmNs & MASK32);
      case ALARM_HIGH:
        return Number(this.alarmNs >> 32n);
      case IRQ_ENABLED:
        return this.irqEnabled ? 1 : 0;
      case ALARM_STATUS:
        return this.alarmRunning ? 1 : 0;
      case CLEAR_ALARM:
      case CLEAR_INTERRUPT:
        return 0; // write-only
      default:
        return this.bad();
    }
  }

  write(offset: number, size: 1 | 2 | 4, value: number): void {
    if (size !== 4 || (offset & 3) !== 0) return void this.bad();
    const v = BigInt(value >>> 0);
    switch (offset) {
      case TIME_LOW:
      case TIME_HIGH: {
        // Replace one half of the current time, keep the other (Linux writes HIGH, then LOW).
        const now = this.timeNs();
        const next = offset === TIME_LOW ? (now & ~MASK32 & MASK64) | v : (now & MASK32) | (v << 32n);
        this.offsetNs += next - now;
        break;
      }
      case ALARM_LOW:
        this.alarmNs = (this.alarmNs & ~MASK32 & MASK64) | v;
        this.alarmRunning = true;
        break;
      case ALARM_HIGH:
        this.alarmNs = (this.alarmNs & MASK32) | (v << 32n);
        break;
      case IRQ_ENABLED:
        this.irqEnabled = (value & 1) === 1;
        break;
      case CLEAR_ALARM:
        this.alarmRunning = false;
        break;
      case CLEAR_INTERRUPT:
        this.irqPending = false;
        break;
      case ALARM_STATUS:
        break; // read-only
      default:
        this.bad();
        return;
    }
    this.update();
  }

  /** Fire the alarm if its time has come, and drive the interrupt line. The machine calls this on its timer. */
  update(): void {
    if (this.alarmRunning && this.timeNs() >= this.alarmNs) {
      this.alarmRunning = false;
      this.irqPending = true;
      this.metrics.alarmsFired++;
    }
    const level = this.irqPending && this.irqEnabled;
    if (level !== this.irqLevel) {
      this.irqLevel = level;
      this.irq.set(level);
    }
  }

  /** Nanoseconds of wall-clock time until the armed alarm is due: 0 if due now, Infinity if none. */
  nextAlarmDelayNs(): number {
    if (!this.alarmRunning) return Infinity;
    const delay = this.alarmNs - this.timeNs();
    return delay <= 0n ? 0 : Number(delay);
  }

  save(): GoldfishRtcState {
    return {
      version: 1, offsetNs: this.offsetNs.toString(), alarmNs: this.alarmNs.toString(),
      alarmRunning: this.alarmRunning, irqEnabled: this.irqEnabled, irqPending: this.irqPending,
      timeHighLatch: this.timeHighLatch,
    };
  }

  restore(s: GoldfishRtcState): void {
    if (s.version !== 1) throw new RangeError(`Cannot restore RTC state: unknown version ${String(s.version)}`);
    let offset: bigint;
    let alarm: bigint;
    try {
      offset = BigInt(s.offsetNs);
      alarm = BigInt(s.alarmNs) & MASK64;
    } catch (cause) {
      throw new RangeError('Cannot restore RTC state: offsetNs and alarmNs must be decimal integers', { cause });
    }
    this.offsetNs = offset;
    this.alarmNs = alarm;
    this.alarmRunning = s.alarmRunning;
    this.irqEnabled = s.irqEnabled;
    this.irqPending = s.irqPending;
    this.timeHighLatch = s.timeHighLatch >>> 0;
    this.irqLevel = !(this.irqPending && this.irqEnabled); // force the line to be driven
    this.update();
  }

  private bad(): number {
    this.metrics.badAccesses++;
    return 0;
  }
}
