import type { MmioDevice } from '../memory/mmio-device.js';

/**
 * The SiFive test finisher ("sifive,test1"), QEMU virt's way for a guest to end the machine: one 32-bit
 * register at offset 0 whose low 16 bits say what to do and whose high 16 bits carry a failure code.
 * Linux reaches it through the syscon-poweroff / syscon-reboot nodes (value 0x5555 / 0x7777); bare-metal
 * tests write (code << 16) | 0x3333 to fail. Values from QEMU's hw/misc/sifive_test.h.
 *
 * Reads return 0. A write of any other value, at another offset, or narrower than 16 bits is ignored
 * and counted: the guest cannot end the VMM by accident with a stray byte store.
 */

export type ExitKind = 'poweroff' | 'reset' | 'fail';

export interface ExitRequest {
  kind: ExitKind;
  /** 0 for poweroff and reset; the guest's code (0…0xffff) for fail. */
  code: number;
}

export interface SysconMetrics {
  ignoredWrites: number;
  badAccesses: number;
}

const FINISHER_FAIL = 0x3333;
const FINISHER_PASS = 0x5555;
const FINISHER_RESET = 0x7777;

export class Syscon implements MmioDevice {
  readonly metrics: SysconMetrics = { ignoredWrites: 0, badAccesses: 0 };

  constructor(private readonly onExit: (request: ExitRequest) => void) {}

  read(offset: number, _size: 1 | 2 | 4): number {
    if (offset !== 0) this.metrics.badAccesses++;
    return 0;
  }

  write(offset: number, size: 1 | 2 | 4, value: number): void {
    if (offset !== 0 || size === 1) {
      this.metrics.badAccesses++;
      return;
    }
    const status = value & 0xffff;
    // A 16-bit store carries no code half: QEMU's finisher accepts 2- and 4-byte writes.
    const code = size === 4 ? value >>> 16 : 0;
    switch (status) {
      case FINISHER_PASS:
        this.onExit({ kind: 'poweroff', code: 0 });
        return;
      case FINISHER_RESET:
        this.onExit({ kind: 'reset', code: 0 });
        return;
      case FINISHER_FAIL:
        this.onExit({ kind: 'fail', code });
        return;
      default:
        this.metrics.ignoredWrites++;
    }
  }
}
