import type { Hart } from '../../cpu/hart.js';
import { Csr } from '../../cpu/csr/csr-numbers.js';
import { Priv } from '../../cpu/trap.js';

/**
 * The machine-mode state firmware would leave on every hart before the kernel runs (DESIGN.md "Boot
 * contract"): every exception and S interrupt delegated to the kernel (ecall from S is answered by
 * the SBI before it traps), counters readable from S and U, stimecmp handed to S, MPP = S.
 */
export function firmwareSetup(h: Hart): void {
  h.writeCsr(Csr.medeleg, 0xb1ffn);
  h.writeCsr(Csr.mideleg, 0x222n);
  h.writeCsr(Csr.mcounteren, 0xffff_ffffn);
  // U-mode's cycle/time/instret (CY, TM, IR): firmware enables them before entering S-mode, and Linux
  // changes scounteren only from its SBI PMU driver, which wisp's SBI (no PMU extension) leaves out
  // (the legacy PMU driver never writes it). Without TM the vDSO's rdtime is an illegal instruction:
  // every clock_gettime() in user space would die with SIGILL.
  h.writeCsr(Csr.scounteren, 7n);
  h.writeCsr(Csr.menvcfg, 1n << 63n);
  h.writeCsr(Csr.mstatus, BigInt(Priv.S) << 11n); // MPP = S, interrupts off
}

/**
 * A hart entering the kernel in S-mode, as the boot hart does and as SBI hart_start leaves a started
 * hart (SBI spec v2.0, 9.1): pc = `entry`, a0 = hartid, a1 = `a1` (the DTB, or hart_start's opaque),
 * satp = 0, sstatus.SIE = 0.
 */
export function enterSupervisor(h: Hart, entry: bigint, a1: bigint): void {
  h.writeCsr(Csr.satp, 0n);
  h.writeCsr(Csr.sstatus, (h.readCsr(Csr.sstatus) ?? 0n) & ~2n);
  h.setPrivilege(Priv.S);
  h.setX(10, BigInt(h.id));
  h.setX(11, a1);
  h.setPc(entry);
}
