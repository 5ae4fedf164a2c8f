import type { FpState } from '../fpu/fp-state.js';
import type { Mmu } from '../mmu/mmu.js';
import { Priv } from '../trap.js';
import type { CsrState } from '../hart-state.js';
import { checkArray, checkInt, checkObject, parseU64, u64Hex } from '../../util/plain-state.js';
import {
  ALL_INTERRUPTS, Csr, MEDELEG_WRITABLE, MENVCFG_HI_STCE, MISA_HI, MISA_LO, MSTATUS_FS, MSTATUS_HI_XL,
  MSTATUS_MPP, MSTATUS_MPP_SHIFT, MSTATUS_MPRV, MSTATUS_MXR, MSTATUS_SUM, MSTATUS_WRITABLE, SSTATUS_HI_XL,
  SSTATUS_MASK, S_INTERRUPTS,
} from './csr-numbers.js';

const TWO32 = 4294967296;
const STIP = 1 << 5;

/**
 * The control and status registers of one hart (privileged spec v1.12 chapters 2–4, Sstc), with their
 * WARL rules and side effects. 64-bit registers are int32 pairs; reads and writes pass through
 * `valLo/valHi` so nothing is allocated. read()/write() return false for an access that must raise an
 * illegal-instruction exception (absent CSR, counter disabled by *counteren, TVM, FS off, STCE off).
 */
export class CsrFile {
  priv: number = Priv.M;
  /** Privilege used for loads and stores: MPP when MPRV is set in M-mode (3.1.6.3). */
  dataPriv: number = Priv.M;
  /**
   * mstatus low word; the high word is fixed (UXL = SXL = 2) plus SD, computed on read. It lives in the
   * machine memory (hart-layout MSTATUS_OFFSET), where translated FP code checks FS.
   */
  get mstatus(): number { return this.status[this.statusI]; }
  set mstatus(v: number) { this.status[this.statusI] = v; }
  mie = 0;
  /** Software-writable mip bits (SSIP, STIP when Sstc is off, SEIP) and lines driven from outside. */
  mipSoft = 0;
  mipLines = 0;
  medeleg = 0;
  mideleg = 0;
  mcounteren = 0;
  scounteren = 0;
  menvcfg = new Int32Array(2);
  senvcfg = 0;
  readonly mtvec = new Int32Array(2);
  readonly stvec = new Int32Array(2);
  readonly mepc = new Int32Array(2);
  readonly sepc = new Int32Array(2);
  readonly mcause = new Int32Array(2);
  readonly scause = new Int32Array(2);
  readonly mtval = new Int32Array(2);
  readonly stval = new Int32Array(2);
  readonly mscratch = new Int32Array(2);
  readonly sscratch = new Int32Array(2);
  readonly satp = new Int32Array(2);
  readonly stimecmp = new Int32Array([-1, -1]);
  /** 16 PMP entries: pmpcfg0/2 (RV64: even numbers only) and pmpaddr0..15 (54 bits each). */
  readonly pmpcfg = new Int32Array(4);
  readonly pmpaddr = new Int32Array(32);
  /** The instret value an instruction in flight sees; set by the hart before each CSR access. */
  instretNow = 0;
  valLo = 0;
  valHi = 0;

  constructor(
    readonly hartId: number, private readonly time: () => number, private readonly mmu: Mmu,
    private readonly status: Int32Array = new Int32Array(1), private readonly statusI = 0,
  ) {
    status[statusI] = 0;
  }

  setPriv(p: number): void {
    this.priv = p;
    this.updateDataPriv();
  }

  private updateDataPriv(): void {
    this.dataPriv = this.priv === Priv.M && (this.mstatus & MSTATUS_MPRV) !== 0
      ? (this.mstatus & MSTATUS_MPP) >>> MSTATUS_MPP_SHIFT : this.priv;
  }

  /** Sstc: below M, stimecmp needs menvcfg.STCE and mcounteren.TM. */
  private stimecmpAllowed(): boolean {
    return this.priv === Priv.M || (this.stce() && (this.mcounteren & 2) !== 0);
  }

  private stce(): boolean {
    return (this.menvcfg[1] & MENVCFG_HI_STCE) !== 0;
  }

  /** The effective mip: software bits, external lines, and STIP from stimecmp when Sstc is enabled. */
  mipValue(): number {
    let v = this.mipSoft | this.mipLines;
    if (this.stce()) {
      v &= ~STIP;
      if (this.time() >= this.stimecmpDeadline()) v |= STIP;
    }
    return v;
  }

  setLine(bit: number, level: boolean): void {
    if (level) this.mipLines |= 1 << bit; else this.mipLines &= ~(1 << bit);
  }

  /** stimecmp as a tick count (Infinity when Sstc is off). */
  stimecmpDeadline(): number {
    if (!this.stce()) return Infinity;
    return (this.stimecmp[1] >>> 0) * TWO32 + (this.stimecmp[0] >>> 0);
  }

  private set(lo: number, hi: number): true {
    this.valLo = lo | 0;
    this.valHi = hi | 0;
    return true;
  }
  private pair(r: Int32Array): true {
    return this.set(r[0], r[1]);
  }
  private setNumber(v: number): true {
    return this.set(v >>> 0, Math.floor(v / TWO32));
  }

  /** Counter access from S/U needs the bit in mcounteren (and scounteren for U) (3.1.11, 4.1.4). */
  private counterAllowed(bit: number): boolean {
    if (this.priv < Priv.M && ((this.mcounteren >>> bit) & 1) === 0) return false;
    if (this.priv === Priv.U && ((this.scounteren >>> bit) & 1) === 0) return false;
    return true;
  }

  exists(num: number, fp: FpState): boolean {
    return this.read(num, fp);
  }

  read(num: number, fp: FpState): boolean {
    switch (num) {
      case Csr.fflags: if ((this.mstatus & MSTATUS_FS) === 0) return false; return this.set(fp.fflags, 0);
      case Csr.frm: if ((this.mstatus & MSTATUS_FS) === 0) return false; return this.set(fp.frm, 0);
      case Csr.fcsr: if ((this.mstatus & MSTATUS_FS) === 0) return false; return this.set((fp.frm << 5) | fp.fflags, 0);
      case Csr.cycle: case Csr.instret: return this.counterAllowed(num & 31) && this.setNumber(this.instretNow);
      case Csr.time: return this.counterAllowed(1) && this.setNumber(this.time());
      case Csr.sstatus: return this.set(this.mstatus & SSTATUS_MASK, SSTATUS_HI_XL | this.sd());
      case Csr.sie: return this.set(this.mie & this.mideleg, 0);
      case Csr.stvec: return this.pair(this.stvec);
      case Csr.scounteren: return this.set(this.scounteren, 0);
      case Csr.senvcfg: return this.set(this.senvcfg, 0);
      case Csr.sscratch: return this.pair(this.sscratch);
      case Csr.sepc: return this.pair(this.sepc);
      case Csr.scause: return this.pair(this.scause);
      case Csr.stval: return this.pair(this.stval);
      case Csr.sip: return this.set(this.mipValue() & this.mideleg, 0);
      case Csr.stimecmp: if (!this.stimecmpAllowed()) return false; return this.pair(this.stimecmp);
      case Csr.satp: if (this.priv === Priv.S && (this.mstatus & (1 << 20)) !== 0) return false; return this.pair(this.satp);
      case Csr.mvendorid: case Csr.marchid: case Csr.mimpid: case Csr.mconfigptr: return this.set(0, 0);
      case Csr.mhartid: return this.set(this.hartId, 0);
      case Csr.mstatus: return this.set(this.mstatus, MSTATUS_HI_XL | this.sd());
      case Csr.misa: return this.set(MISA_LO, MISA_HI);
      case Csr.medeleg: return this.set(this.medeleg, 0);
      case Csr.mideleg: return this.set(this.mideleg, 0);
      case Csr.mie: return this.set(this.mie, 0);
      case Csr.mtvec: return this.pair(this.mtvec);
      case Csr.mcounteren: return this.set(this.mcounteren, 0);
      case Csr.menvcfg: return this.pair(this.menvcfg);
      case Csr.mcountinhibit: return this.set(0, 0);
      case Csr.mscratch: return this.pair(this.mscratch);
      case Csr.mepc: return this.pair(this.mepc);
      case Csr.mcause: return this.pair(this.mcause);
      case Csr.mtval: return this.pair(this.mtval);
      case Csr.mip: return this.set(this.mipValue(), 0);
      case Csr.mcycle: case Csr.minstret: return this.setNumber(this.instretNow);
      case Csr.tselect: case Csr.tdata1: return this.set(0, 0); // no triggers: tselect reads 0, writes ignored
    }
    if (num >= 0xc03 && num <= 0xc1f) return this.counterAllowed(num & 31) && this.set(0, 0); // hpmcounters: 0
    if ((num >= 0xb03 && num <= 0xb1f) || (num >= 0x323 && num <= 0x33f)) return this.set(0, 0); // mhpmcounter/event
    if (num >= Csr.pmpcfg0 && num <= Csr.pmpcfg0 + 15) {
      const i = num - Csr.pmpcfg0;
      if (i & 1) return false; // RV64: odd pmpcfg registers do not exist
      if (i >= 4) return this.set(0, 0); // entries 16..63 not implemented: read as zero
      return this.set(this.pmpcfg[i], this.pmpcfg[i + 1]);
    }
    if (num >= Csr.pmpaddr0 && num < Csr.pmpaddr0 + 64) {
      const i = num - Csr.pmpaddr0;
      if (i >= 16) return this.set(0, 0);
      return this.set(this.pmpaddr[2 * i], this.pmpaddr[2 * i + 1]);
    }
    return false;
  }

  private sd(): number {
    return (this.mstatus & MSTATUS_FS) === MSTATUS_FS ? 0x8000_0000 | 0 : 0;
  }

  write(num: number, lo: number, hi: number, fp: FpState): boolean {
    switch (num) {
      case Csr.fflags: if ((this.mstatus & MSTATUS_FS) === 0) return false; fp.fflags = lo & 31; this.mstatus |= MSTATUS_FS; return true;
      case Csr.frm: if ((this.mstatus & MSTATUS_FS) === 0) return false; fp.frm = lo & 7; this.mstatus |= MSTATUS_FS; return true;
      case Csr.fcsr: if ((this.mstatus & MSTATUS_FS) === 0) return false; fp.fflags = lo & 31; fp.frm = (lo >>> 5) & 7; this.mstatus |= MSTATUS_FS; return true;
      case Csr.sstatus: this.writeMstatus((this.mstatus & ~SSTATUS_MASK) | (lo & SSTATUS_MASK)); return true;
      case Csr.sie: this.mie = (this.mie & ~this.mideleg) | (lo & this.mideleg); return true;
      case Csr.stvec: return this.writeTvec(this.stvec, lo, hi);
      case Csr.scounteren: this.scounteren = lo; return true;
      case Csr.senvcfg: this.senvcfg = lo & 1; return true; // FIOM only
      case Csr.sscratch: this.sscratch[0] = lo; this.sscratch[1] = hi; return true;
      case Csr.sepc: this.sepc[0] = lo & ~1; this.sepc[1] = hi; return true;
      case Csr.scause: this.scause[0] = lo; this.scause[1] = hi; return true;
      case Csr.stval: this.stval[0] = lo; this.stval[1] = hi; return true;
      case Csr.sip: { // only SSIP is writable through sip, and only when delegated
        const m = this.mideleg & (1 << 1);
        this.mipSoft = (this.mipSoft & ~m) | (lo & m);
        return true;
      }
      case Csr.stimecmp:
        if (!this.stimecmpAllowed()) return false;
        this.stimecmp[0] = lo; this.stimecmp[1] = hi;
        return true;
      case Csr.satp: return this.writeSatp(lo, hi);
      case Csr.mstatus: this.writeMstatus(lo); return true;
      case Csr.misa: return true; // WARL, fixed: writes ignored
      case Csr.medeleg: this.medeleg = lo & MEDELEG_WRITABLE; return true;
      case Csr.mideleg: this.mideleg = lo & S_INTERRUPTS; return true;
      case Csr.mie: this.mie = lo & ALL_INTERRUPTS; return true;
      case Csr.mtvec: return this.writeTvec(this.mtvec, lo, hi);
      case Csr.mcounteren: this.mcounteren = lo; return true;
      case Csr.menvcfg: this.menvcfg[0] = lo & 1; this.menvcfg[1] = hi & MENVCFG_HI_STCE; return true;
      case Csr.mcountinhibit: return true;
      case Csr.mscratch: this.mscratch[0] = lo; this.mscratch[1] = hi; return true;
      case Csr.mepc: this.mepc[0] = lo & ~1; this.mepc[1] = hi; return true;
      case Csr.mcause: this.mcause[0] = lo; this.mcause[1] = hi; return true;
      case Csr.mtval: this.mtval[0] = lo; this.mtval[1] = hi; return true;
      case Csr.mip: {
        // SSIP and SEIP always; STIP only while Sstc does not own it (3.1.9, Sstc).
        const m = (1 << 1) | (1 << 9) | (this.stce() ? 0 : STIP);
        this.mipSoft = (this.mipSoft & ~m) | (lo & m);
        return true;
      }
      case Csr.mcycle: case Csr.minstret:
        this.instretNow = (hi >>> 0) * TWO32 + (lo >>> 0);
        return true;
      case Csr.tselect: case Csr.tdata1: return true;
    }
    if ((num >= 0xb03 && num <= 0xb1f) || (num >= 0x323 && num <= 0x33f)) return true;
    if (num >= Csr.pmpcfg0 && num <= Csr.pmpcfg0 + 15) {
      const i = num - Csr.pmpcfg0;
      if (i & 1) return false;
      if (i < 4) { this.pmpcfg[i] = lo; this.pmpcfg[i + 1] = hi; }
      return true;
    }
    if (num >= Csr.pmpaddr0 && num < Csr.pmpaddr0 + 64) {
      const i = num - Csr.pmpaddr0;
      if (i < 16) { this.pmpaddr[2 * i] = lo; this.pmpaddr[2 * i + 1] = hi & 0x3fffff; }
      return true;
    }
    return false;
  }

  save(): CsrState {
    const hex = (r: Int32Array, i = 0) => u64Hex(r[i], r[i + 1]);
    return {
      mstatus: this.mstatus, mie: this.mie, mipSoft: this.mipSoft, medeleg: this.medeleg, mideleg: this.mideleg,
      mcounteren: this.mcounteren, scounteren: this.scounteren, senvcfg: this.senvcfg, menvcfg: hex(this.menvcfg),
      mtvec: hex(this.mtvec), stvec: hex(this.stvec), mepc: hex(this.mepc), sepc: hex(this.sepc),
      mcause: hex(this.mcause), scause: hex(this.scause), mtval: hex(this.mtval), stval: hex(this.stval),
      mscratch: hex(this.mscratch), sscratch: hex(this.sscratch), satp: hex(this.satp), stimecmp: hex(this.stimecmp),
      pmpcfg: [hex(this.pmpcfg, 0), hex(this.pmpcfg, 2)],
      pmpaddr: Array.from({ length: 16 }, (_, i) => hex(this.pmpaddr, 2 * i)),
    };
  }

  /**
   * Restores a saved state (every field checked first, nothing changed on error) and brings the MMU
   * in line with satp and mstatus; the MMU's TLBs are emptied. mipLines stay as they are: the CLINT
   * and PLIC drive them again when they are restored.
   */
  restore(state: unknown, priv: number): void {
    const s = checkObject(state, 'csr');
    const int = (k: string) => checkInt(s[k], `csr.${k}`, -0x8000_0000, 0xffff_ffff) | 0;
    const pair = (k: string) => parseU64(s[k], `csr.${k}`);
    const words = {
      mstatus: int('mstatus'), mie: int('mie'), mipSoft: int('mipSoft'), medeleg: int('medeleg'), mideleg: int('mideleg'),
      mcounteren: int('mcounteren'), scounteren: int('scounteren'), senvcfg: int('senvcfg'),
    };
    const pairs = (['menvcfg', 'mtvec', 'stvec', 'mepc', 'sepc', 'mcause', 'scause', 'mtval', 'stval', 'mscratch', 'sscratch', 'satp', 'stimecmp'] as const)
      .map((k) => [k, pair(k)] as const);
    const pmpcfg = checkArray(s.pmpcfg, 'csr.pmpcfg', 2).map((v, i) => parseU64(v, `csr.pmpcfg[${i}]`));
    const pmpaddr = checkArray(s.pmpaddr, 'csr.pmpaddr', 16).map((v, i) => parseU64(v, `csr.pmpaddr[${i}]`));
    const satpMode = pairs.find(([k]) => k === 'satp')![1][1] >>> 28;
    if (satpMode !== 0 && satpMode !== 8 && satpMode !== 9 && satpMode !== 10) throw new RangeError(`csr.satp has an unsupported MODE ${satpMode}`);
    Object.assign(this, words);
    for (const [k, [lo, hi]] of pairs) { this[k][0] = lo; this[k][1] = hi; }
    pmpcfg.forEach(([lo, hi], i) => { this.pmpcfg[2 * i] = lo; this.pmpcfg[2 * i + 1] = hi; });
    pmpaddr.forEach(([lo, hi], i) => { this.pmpaddr[2 * i] = lo; this.pmpaddr[2 * i + 1] = hi; });
    this.mipLines = 0;
    this.mmu.mode = satpMode;
    this.mmu.rootPpn = (this.satp[0] >>> 0) + (this.satp[1] & 0xfff) * TWO32;
    this.mmu.sum = (this.mstatus & MSTATUS_SUM) !== 0;
    this.mmu.mxr = (this.mstatus & MSTATUS_MXR) !== 0;
    this.mmu.flush();
    this.setPriv(priv);
  }

  private writeMstatus(v: number): void {
    let nv = (this.mstatus & ~MSTATUS_WRITABLE) | (v & MSTATUS_WRITABLE);
    // MPP is WARL: 2 (H) is not a mode here, keep the old value.
    if (((nv & MSTATUS_MPP) >>> MSTATUS_MPP_SHIFT) === 2) nv = (nv & ~MSTATUS_MPP) | (this.mstatus & MSTATUS_MPP);
    const flush = ((nv ^ this.mstatus) & (MSTATUS_SUM | MSTATUS_MXR)) !== 0;
    this.mstatus = nv;
    this.mmu.sum = (nv & MSTATUS_SUM) !== 0;
    this.mmu.mxr = (nv & MSTATUS_MXR) !== 0;
    if (flush) this.mmu.flush();
    this.updateDataPriv();
  }

  /** xtvec: MODE 0 (direct) or 1 (vectored); other modes are reserved, so such a write is ignored. */
  private writeTvec(r: Int32Array, lo: number, hi: number): true {
    if ((lo & 3) < 2) { r[0] = lo; r[1] = hi; }
    return true;
  }

  /** satp: a write with an unsupported MODE has no effect at all (4.1.11), which is how Linux probes. */
  private writeSatp(lo: number, hi: number): boolean {
    if (this.priv === Priv.S && (this.mstatus & (1 << 20)) !== 0) return false; // TVM
    const mode = hi >>> 28;
    if (mode !== 0 && mode !== 8 && mode !== 9 && mode !== 10) return true;
    this.satp[0] = lo;
    this.satp[1] = mode === 0 ? 0 : hi; // Bare: ASID and PPN are written as zero by convention
    if (mode === 0) this.satp[0] = 0;
    this.mmu.mode = mode;
    this.mmu.rootPpn = (this.satp[0] >>> 0) + (this.satp[1] & 0xfff) * TWO32;
    this.mmu.flush();
    return true;
  }
}
