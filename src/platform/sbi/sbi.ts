import type { EcallHandler, Hart } from '../../cpu/hart.js';
import { Csr } from '../../cpu/csr/csr-numbers.js';
import type { GuestMemory } from '../../memory/guest-memory.js';

/** SBI extension ids and error codes (RISC-V SBI spec v2.0, chapters 3–12). */
export const SbiExt = {
  BASE: 0x10,
  TIME: 0x54494d45,
  IPI: 0x735049,
  RFENCE: 0x52464e43,
  HSM: 0x48534d,
  SRST: 0x53525354,
  DBCN: 0x4442434e,
} as const;

export const SBI_SUCCESS = 0;
export const SBI_ERR_FAILED = -1;
export const SBI_ERR_NOT_SUPPORTED = -2;
export const SBI_ERR_INVALID_PARAM = -3;
export const SBI_ERR_INVALID_ADDRESS = -5;
export const SBI_ERR_ALREADY_AVAILABLE = -6;

/** SBI spec version 2.0: major in bits 30:24, minor in 23:0. */
const SPEC_VERSION = 2 << 24;
/** Implementation id: not one of the registered firmwares (OpenSBI is 1, ...); wisp answers itself. */
export const WISP_SBI_IMPL_ID = 0x7769;

/** HSM hart states (SBI spec v2.0, table 9.1). */
export const enum HartState {
  Started = 0,
  Stopped = 1,
  StartPending = 2,
  StopPending = 3,
}

/** The remote fences of the RFENCE extension wisp does (no H extension: no hypervisor ones). */
export const enum FenceKind {
  /** FENCE.I */
  Instruction = 0,
  /** SFENCE.VMA over [start, start + size) (size 0 or all ones: everything), any ASID. */
  Vma = 1,
}

/**
 * The machine's harts as the SBI reaches them (HSM, IPI, RFENCE), wherever they run: on this thread
 * or on threads of their own (platform/smp). Hart ids are 0..count-1.
 */
export interface SbiHarts {
  readonly count: number;
  /** HSM state of hart `id`. */
  status(id: number): HartState;
  /**
   * hart_start: a stopped hart begins in S-mode at `addr` with a0 = id, a1 = opaque, satp = 0 and
   * interrupts off. Returns SBI_SUCCESS, or SBI_ERR_ALREADY_AVAILABLE if it is not stopped.
   */
  start(id: number, addr: bigint, opaque: bigint): number;
  /** hart_stop of the calling hart (it stops at the end of the ecall); false if it may not (the last one running). */
  stop(caller: Hart): boolean;
  /** Raises the supervisor software interrupt (SSIP) of every hart in the mask. */
  sendIpi(caller: Hart, mask: bigint): void;
  /** Runs the fence on every hart in the mask, the caller included; done when this returns (SBI 8.x). */
  fence(caller: Hart, mask: bigint, kind: FenceKind, start: bigint, size: bigint): void;
}

/** What the SBI needs of the machine around it. */
export interface SbiPlatform {
  memory: GuestMemory;
  /** Console bytes for the debug console extension. */
  consoleWrite(bytes: Uint8Array): void;
  /** Reads up to `max` pending console input bytes (may return fewer, or none). */
  consoleRead(max: number): Uint8Array;
  /** SRST: type 0 shutdown, 1 cold reboot, 2 warm reboot; reason 0 none, 1 system failure. */
  systemReset(type: number, reason: number): void;
  harts: SbiHarts;
}

export interface SbiMetrics {
  calls: number;
  unsupported: number;
}

/**
 * wisp's built-in SBI: answers the kernel's ecalls from S-mode itself, as firmware would, so no
 * OpenSBI is needed (DESIGN.md "Boot contract"). Registers: a7 = extension, a6 = function, a0..a5
 * arguments; the answer goes to a0 (error) and a1 (value).
 */
export class Sbi implements EcallHandler {
  readonly metrics: SbiMetrics = { calls: 0, unsupported: 0 };

  constructor(private readonly platform: SbiPlatform) {}

  ecall(hart: Hart): boolean {
    this.metrics.calls++;
    const ext = Number(hart.getX(17) & 0xffff_ffffn);
    const fn = Number(hart.getX(16) & 0xffff_ffffn);
    const [err, value] = this.call(hart, ext, fn);
    hart.setX(10, BigInt(err));
    hart.setX(11, value);
    return true;
  }

  private call(hart: Hart, ext: number, fn: number): [number, bigint] {
    const a = (i: number) => hart.getX(10 + i);
    switch (ext) {
      case SbiExt.BASE:
        switch (fn) {
          case 0: return [SBI_SUCCESS, BigInt(SPEC_VERSION)];
          case 1: return [SBI_SUCCESS, BigInt(WISP_SBI_IMPL_ID)];
          case 2: return [SBI_SUCCESS, 1n];
          case 3: return [SBI_SUCCESS, this.supported(Number(BigInt.asUintN(32, a(0)))) ? 1n : 0n];
          case 4: case 5: case 6: return [SBI_SUCCESS, 0n]; // mvendorid, marchid, mimpid
        }
        break;
      case SbiExt.TIME:
        if (fn === 0) {
          // set_timer: program the Sstc compare; the hart raises STIP when time reaches it.
          hart.writeCsr(Csr.stimecmp, a(0));
          return [SBI_SUCCESS, 0n];
        }
        break;
      case SbiExt.IPI:
        if (fn === 0) {
          const mask = this.hartMask(a(0), a(1));
          if (mask === undefined) return [SBI_ERR_INVALID_PARAM, 0n];
          if (mask !== 0n) this.platform.harts.sendIpi(hart, mask);
          return [SBI_SUCCESS, 0n];
        }
        break;
      case SbiExt.RFENCE:
        if (fn <= 6) {
          const mask = this.hartMask(a(0), a(1));
          if (mask === undefined) return [SBI_ERR_INVALID_PARAM, 0n];
          if (fn >= 3) return [SBI_ERR_NOT_SUPPORTED, 0n]; // hypervisor fences: no H extension
          // remote_fence_i (0), remote_sfence_vma (1: start, size), remote_sfence_vma_asid (2: start, size, asid)
          if (mask !== 0n) this.platform.harts.fence(hart, mask, fn === 0 ? FenceKind.Instruction : FenceKind.Vma, a(2), a(3));
          return [SBI_SUCCESS, 0n];
        }
        break;
      case SbiExt.HSM: {
        const harts = this.platform.harts;
        const id = a(0);
        switch (fn) {
          case 0: { // hart_start(hartid, start_addr, opaque)
            if (id < 0n || id >= BigInt(harts.count)) return [SBI_ERR_INVALID_PARAM, 0n];
            const addr = BigInt.asUintN(64, a(1));
            if (this.platform.memory.hostOffset(Number(addr), 2) < 0) return [SBI_ERR_INVALID_ADDRESS, 0n];
            return [harts.start(Number(id), addr, a(2)), 0n];
          }
          case 1: // hart_stop: does not return on success
            if (!harts.stop(hart)) return [SBI_ERR_FAILED, 0n];
            return [SBI_SUCCESS, 0n];
          case 2: // hart_get_status(hartid)
            if (id < 0n || id >= BigInt(harts.count)) return [SBI_ERR_INVALID_PARAM, 0n];
            return [SBI_SUCCESS, BigInt(harts.status(Number(id)))];
          case 3: return [SBI_ERR_NOT_SUPPORTED, 0n]; // hart_suspend
        }
        break;
      }
      case SbiExt.SRST:
        if (fn === 0) {
          const type = Number(BigInt.asUintN(32, a(0))), reason = Number(BigInt.asUintN(32, a(1)));
          if (type > 2) return [SBI_ERR_INVALID_PARAM, 0n];
          this.platform.systemReset(type, reason);
          hart.requestStop();
          return [SBI_SUCCESS, 0n];
        }
        break;
      case SbiExt.DBCN: {
        switch (fn) {
          case 0: case 1: { // console_write / console_read (num_bytes, base_lo, base_hi)
            const n = Number(BigInt.asUintN(32, a(0)) > 0x10000n ? 0x10000n : BigInt.asUintN(32, a(0)));
            const addr = Number(BigInt.asUintN(64, a(1) | (a(2) << 32n)) & 0xffff_ffff_ffffn);
            if (fn === 0) {
              const buf = new Uint8Array(n);
              if (!this.platform.memory.read(addr, buf)) return [SBI_ERR_INVALID_PARAM, 0n];
              this.platform.consoleWrite(buf);
              return [SBI_SUCCESS, BigInt(n)];
            }
            if (this.platform.memory.hostOffset(addr, n) < 0) return [SBI_ERR_INVALID_PARAM, 0n];
            const got = this.platform.consoleRead(n);
            this.platform.memory.write(addr, got);
            return [SBI_SUCCESS, BigInt(got.length)];
          }
          case 2: // console_write_byte
            this.platform.consoleWrite(Uint8Array.of(Number(a(0) & 0xffn)));
            return [SBI_SUCCESS, 0n];
        }
        break;
      }
    }
    this.metrics.unsupported++;
    return [SBI_ERR_NOT_SUPPORTED, 0n];
  }

  private supported(ext: number): boolean {
    return (Object.values(SbiExt) as number[]).includes(ext);
  }

  /** hart_mask/hart_mask_base → a mask of hart ids, or undefined when it names harts that do not exist. */
  private hartMask(mask: bigint, base: bigint): bigint | undefined {
    const n = BigInt(this.platform.harts.count);
    const all = (1n << n) - 1n;
    if (BigInt.asUintN(64, base) === 0xffff_ffff_ffff_ffffn) return all;
    if (BigInt.asUintN(64, base) >= n) return mask === 0n ? 0n : undefined;
    const m = BigInt.asUintN(64, mask) << base;
    if (m & ~all) return undefined;
    return m;
  }
}
