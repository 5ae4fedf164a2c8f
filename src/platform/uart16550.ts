import type { IrqLine } from '../devices/irq-line.js';
import type { MmioDevice } from '../memory/mmio-device.js';

/**
 * An ns16550a UART as Linux's 8250 driver drives it on QEMU virt (byte registers, reg-shift 0).
 * Register map and interrupt priorities from the TI/National PC16550D datasheet, "Register Description".
 *
 * Transmission is instant: a THR write goes straight to the output backend, so THRE and TEMT are always
 * set and the THRE interrupt re-arms after every write. Receive data waits in a bounded FIFO; bytes that
 * do not fit are dropped, counted and flagged as an overrun (LSR.OE), as the chip would.
 *
 * Threat model (after vm-superio's): the guest controls every register write. Nothing it writes can
 * grow memory (the FIFO is fixed), block (the backend is called synchronously per byte; its errors are
 * counted, never thrown), or throw (unknown offsets read 0 and are counted). Accesses wider than a byte
 * act on the addressed register with the low byte, as a byte-wide bus would.
 */

/** Where guest output goes, and how the device asks for more input once the guest drained the FIFO. */
export interface UartBackend {
  write(bytes: Uint8Array): void;
  /** Called when the receive FIFO has become empty, so a backend holding input can call receive() again. */
  rxReady?(): void;
}

export interface UartMetrics {
  txBytes: number;
  rxBytes: number;
  /** Input bytes dropped because the receive FIFO was full (or the UART was in loopback). */
  rxDropped: number;
  /** Output bytes whose backend write threw. */
  txErrors: number;
  /** Accesses beyond the eight registers. */
  badAccesses: number;
}

/** Plain, versioned register state (vm-superio's SerialState idea). */
export interface UartState {
  version: 1;
  ier: number;
  lcr: number;
  mcr: number;
  fcr: number;
  scr: number;
  dll: number;
  dlm: number;
  /** LSR error bits latched until LSR is read (only OE here). */
  lsrErrors: number;
  /** MSR delta bits (3:0) latched until MSR is read. */
  msrDelta: number;
  threPending: boolean;
  rx: number[];
}

// Register offsets (PC16550D Table 2); the DLAB bit of LCR switches 0 and 1 to the divisor latches.
const RBR_THR_DLL = 0;
const IER_DLM = 1;
const IIR_FCR = 2;
const LCR = 3;
const MCR = 4;
const LSR = 5;
const MSR = 6;
const SCR = 7;

const IER_RDA = 0x01; // received data available
const IER_THRE = 0x02; // transmitter holding register empty
const IER_RLS = 0x04; // receiver line status
const IER_MS = 0x08; // modem status
const IER_MASK = 0x0f;

// IIR values in priority order (datasheet Table 4); bit 0 set means "no interrupt pending".
const IIR_NONE = 0x01;
const IIR_RLS = 0x06;
const IIR_RDA = 0x04;
const IIR_THRE = 0x02;
const IIR_MS = 0x00;
const IIR_FIFO_ENABLED = 0xc0;

const FCR_ENABLE = 0x01;
const FCR_CLEAR_RX = 0x02;
const FCR_STORED = 0xc9; // enable, DMA mode, RX trigger level; the clear bits self-clear

const LCR_DLAB = 0x80;
const MCR_MASK = 0x1f;
const MCR_LOOP = 0x10;

const LSR_DR = 0x01;
const LSR_OE = 0x02;
const LSR_THRE = 0x20;
const LSR_TEMT = 0x40;

// MSR: with nothing attached, report the line as up (CTS, DSR, DCD), as vm-superio does.
const MSR_CTS = 0x10;
const MSR_DSR = 0x20;
const MSR_RI = 0x40;
const MSR_DCD = 0x80;
const MSR_IDLE = MSR_CTS | MSR_DSR | MSR_DCD;

/** Default FIFO depth: larger than the chip's 16 bytes so pasted console input survives between polls. */
export const UART_DEFAULT_FIFO = 64;

export class Uart16550 implements MmioDevice {
  readonly metrics: UartMetrics = { txBytes: 0, rxBytes: 0, rxDropped: 0, txErrors: 0, badAccesses: 0 };
  private ier = 0;
  private lcr = 0x03; // 8N1, the usual reset value of firmware-less boards
  private mcr = 0;
  private fcr = 0;
  private scr = 0;
  private dll = 12; // 9600 baud at 1.8432 MHz; the value is only stored
  private dlm = 0;
  private lsrErrors = 0;
  private msrDelta = 0;
  private threPending = false;
  private irqLevel = false;
  private readonly rx: Uint8Array;
  private rxHead = 0;
  private rxCount = 0;

  constructor(
    private readonly backend: UartBackend,
    private readonly irq: IrqLine,
    readonly fifoCapacity = UART_DEFAULT_FIFO,
  ) {
    if (!Number.isInteger(fifoCapacity) || fifoCapacity < 1 || fifoCapacity > 0x10000) {
      throw new RangeError(`Cannot create UART with a ${fifoCapacity}-byte FIFO: must be 1…65536`);
    }
    this.rx = new Uint8Array(fifoCapacity);
  }

  /** True once the guest's driver listens (receive-data interrupt enabled): input sent earlier would be lost to its probe. */
  get listening(): boolean {
    return (this.ier & IER_RDA) !== 0;
  }

  /** Host input: queue what fits in the receive FIFO; returns how many bytes were accepted. */
  receive(bytes: Uint8Array): number {
    const accepted = this.mcr & MCR_LOOP ? 0 : Math.min(bytes.length, this.rxSpace());
    for (let i = 0; i < accepted; i++) this.push(bytes[i]!);
    this.metrics.rxBytes += accepted;
    if (accepted < bytes.length) {
      this.metrics.rxDropped += bytes.length - accepted;
      if (!(this.mcr & MCR_LOOP)) this.lsrErrors |= LSR_OE;
    }
    this.update();
    return accepted;
  }

  /** Free bytes in the receive FIFO. */
  rxSpace(): number {
    return this.rx.length - this.rxCount;
  }

  read(offset: number, _size: 1 | 2 | 4): number {
    const dlab = (this.lcr & LCR_DLAB) !== 0;
    switch (offset) {
      case RBR_THR_DLL:
        return dlab ? this.dll : this.readRbr();
      case IER_DLM:
        return dlab ? this.dlm : this.ier;
      case IIR_FCR:
        return this.readIir();
      case LCR:
        return this.lcr;
      case MCR:
        return this.mcr;
      case LSR: {
        const lsr = this.lsr();
        this.lsrErrors = 0; // reading LSR clears the error bits and with them the RLS interrupt
        this.update();
        return lsr;
      }
      case MSR: {
        const msr = this.msrLines() | this.msrDelta;
        this.msrDelta = 0;
        this.update();
        return msr;
      }
      case SCR:
        return this.scr;
      default:
        this.metrics.badAccesses++;
        return 0;
    }
  }

  write(offset: number, _size: 1 | 2 | 4, value: number): void {
    const byte = value & 0xff;
    const dlab = (this.lcr & LCR_DLAB) !== 0;
    switch (offset) {
      case RBR_THR_DLL:
        if (dlab) this.dll = byte;
        else this.writeThr(byte);
        break;
      case IER_DLM:
        if (dlab) {
          this.dlm = byte;
        } else {
          const old = this.ier;
          this.ier = byte & IER_MASK;
          // Enabling THRE while the holding register is empty raises the interrupt (PC16550D; Linux's
          // THRE test at startup relies on it).
          if (this.ier & IER_THRE && !(old & IER_THRE)) this.threPending = true;
        }
        break;
      case IIR_FCR:
        if ((byte ^ this.fcr) & FCR_ENABLE || byte & FCR_CLEAR_RX) this.clearRx(); // toggling FIFO mode resets it
        this.fcr = byte & FCR_STORED;
        break;
      case LCR:
        this.lcr = byte;
        break;
      case MCR: {
        const before = this.msrLines();
        this.mcr = byte & MCR_MASK;
        this.noteMsrChange(before, this.msrLines());
        break;
      }
      case LSR:
      case MSR:
        break; // read-only status (factory-test writes are not modelled)
      case SCR:
        this.scr = byte;
        break;
      default:
        this.metrics.badAccesses++;
        return;
    }
    this.update();
  }

  save(): UartState {
    const rx: number[] = [];
    for (let i = 0; i < this.rxCount; i++) rx.push(this.rx[(this.rxHead + i) % this.rx.length]!);
    return {
      version: 1, ier: this.ier, lcr: this.lcr, mcr: this.mcr, fcr: this.fcr, scr: this.scr, dll: this.dll,
      dlm: this.dlm, lsrErrors: this.lsrErrors, msrDelta: this.msrDelta, threPending: this.threPending, rx,
    };
  }

  /** Restore a saved state; FIFO contents beyond this device's capacity are dropped and counted. */
  restore(s: UartState): void {
    if (s.version !== 1) throw new RangeError(`Cannot restore UART state: unknown version ${String(s.version)}`);
    this.ier = s.ier & IER_MASK;
    this.lcr = s.lcr & 0xff;
    this.mcr = s.mcr & MCR_MASK;
    this.fcr = s.fcr & FCR_STORED;
    this.scr = s.scr & 0xff;
    this.dll = s.dll & 0xff;
    this.dlm = s.dlm & 0xff;
    this.lsrErrors = s.lsrErrors & LSR_OE;
    this.msrDelta = s.msrDelta & 0x0f;
    this.threPending = s.threPending;
    this.clearRx();
    const keep = Math.min(s.rx.length, this.rx.length);
    for (let i = 0; i < keep; i++) this.push(s.rx[i]! & 0xff);
    this.metrics.rxDropped += s.rx.length - keep;
    this.irqLevel = !this.computeIrq(); // force the line to be driven with the restored level
    this.update();
  }

  private readRbr(): number {
    if (this.rxCount === 0) return 0;
    const byte = this.rx[this.rxHead]!;
    this.rxHead = (this.rxHead + 1) % this.rx.length;
    this.rxCount--;
    this.update();
    if (this.rxCount === 0) this.notifyRxReady();
    return byte;
  }

  private readIir(): number {
    const id = this.interruptId();
    // Reading IIR while it reports THRE acknowledges that interrupt (datasheet Table 4, "Reset").
    if (id === IIR_THRE) {
      this.threPending = false;
      this.update();
    }
    return id | (this.fcr & FCR_ENABLE ? IIR_FIFO_ENABLED : 0);
  }

  private writeThr(byte: number): void {
    if (this.mcr & MCR_LOOP) {
      if (this.rxCount < this.rx.length) this.push(byte);
      else this.lsrErrors |= LSR_OE;
    } else {
      this.metrics.txBytes++;
      try {
        this.backend.write(Uint8Array.of(byte));
      } catch {
        this.metrics.txErrors++;
      }
    }
    this.threPending = true; // the byte left at once: the holding register is empty again
  }

  private lsr(): number {
    return (this.rxCount > 0 ? LSR_DR : 0) | this.lsrErrors | LSR_THRE | LSR_TEMT;
  }

  /** Modem status lines: looped back from MCR in loopback mode (DTR→DSR, RTS→CTS, OUT1→RI, OUT2→DCD). */
  private msrLines(): number {
    if (!(this.mcr & MCR_LOOP)) return MSR_IDLE;
    const m = this.mcr;
    return (m & 0x01 ? MSR_DSR : 0) | (m & 0x02 ? MSR_CTS : 0) | (m & 0x04 ? MSR_RI : 0) | (m & 0x08 ? MSR_DCD : 0);
  }

  private noteMsrChange(before: number, after: number): void {
    const changed = before ^ after;
    if (changed & MSR_CTS) this.msrDelta |= 0x01;
    if (changed & MSR_DSR) this.msrDelta |= 0x02;
    if (before & MSR_RI && !(after & MSR_RI)) this.msrDelta |= 0x04; // TERI: trailing edge only
    if (changed & MSR_DCD) this.msrDelta |= 0x08;
  }

  private interruptId(): number {
    if (this.ier & IER_RLS && this.lsrErrors) return IIR_RLS;
    if (this.ier & IER_RDA && this.rxCount > 0) return IIR_RDA;
    if (this.ier & IER_THRE && this.threPending) return IIR_THRE;
    if (this.ier & IER_MS && this.msrDelta) return IIR_MS;
    return IIR_NONE;
  }

  private computeIrq(): boolean {
    return this.interruptId() !== IIR_NONE;
  }

  private update(): void {
    const level = this.computeIrq();
    if (level !== this.irqLevel) {
      this.irqLevel = level;
      this.irq.set(level);
    }
  }

  private push(byte: number): void {
    this.rx[(this.rxHead + this.rxCount) % this.rx.length] = byte;
    this.rxCount++;
  }

  private clearRx(): void {
    const had = this.rxCount > 0;
    this.rxHead = 0;
    this.rxCount = 0;
    if (had) this.notifyRxReady();
  }

  private notifyRxReady(): void {
    try {
      this.backend.rxReady?.();
    } catch {
      // A backend failure is the host's problem, never the guest's: nothing to unwind here.
    }
  }
}
