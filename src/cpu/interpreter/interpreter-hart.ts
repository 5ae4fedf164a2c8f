import type { Bus } from '../../memory/bus.js';
import type { MachineMemory } from '../../memory/machine-memory.js';
import { F_OFFSET, FENCE_CELL_OFFSET, FFLAGS_OFFSET, FRM_OFFSET, MSTATUS_OFFSET, PAUSE_COUNT_OFFSET, PC_OFFSET, RESERVATION_OFFSET, X_OFFSET } from '../hart-layout.js';
import { StopReason, type EcallHandler, type Hart, type TraceSink } from '../hart.js';
import { Access, Exception, Priv } from '../trap.js';
import { Mmu, FAULT, MMIO } from '../mmu/mmu.js';
import { CsrFile } from '../csr/csr-file.js';
import { MSTATUS_FS, MSTATUS_MIE, MSTATUS_MPIE, MSTATUS_MPP, MSTATUS_MPP_SHIFT, MSTATUS_MPRV, MSTATUS_SIE, MSTATUS_SPIE, MSTATUS_SPP, MSTATUS_TSR, MSTATUS_TVM, MSTATUS_TW } from '../csr/csr-numbers.js';
import { executeFp } from '../fpu/execute-fp.js';
import type { FpState } from '../fpu/fp-state.js';
import { expansionTable } from '../isa/compressed.js';
import { div64, mul64, mulh64, mulhsu64, mulhu64, r64 } from './int64.js';
import type { HartState } from '../hart-state.js';
import { checkArray, checkBool, checkInt, checkObject, parseU64, StateError, u64Hex } from '../../util/plain-state.js';


export interface InterpreterHartOptions {
  id: number;
  memory: MachineMemory;
  bus: Bus;
  /** The platform timer (mtime) in ticks; read by rdtime and compared with stimecmp. */
  time: () => number;
  ecall?: EcallHandler;
}

/**
 * FENCE's predecessor W (bit 24) and successor R (bit 21): the one ordering, store before load, that
 * x86-TSO does not keep by itself (RVWMO's other orders it does).
 */
const FENCE_W_BEFORE_R = (1 << 24) | (1 << 21);

/** PAUSE (Zihintpause): FENCE with pred = W only, succ = 0, fm = 0. */
const PAUSE = 0x0100000f;
/**
 * PAUSEs within one run() after which a hart with others beside it is taken to be spinning (waiting
 * for another hart: a lock, a cross-CPU call): run() stops so its runner can let the host run the
 * others (see takeSpin). A spin loop is a few instructions per PAUSE: some thousands of instructions.
 */
export const SPIN_PAUSES = 500;

/** Slow-path results inside run(): continue normally, a trap was raised, or pc was set by the handler. */
const OK = 0, TRAPPED = 1, JUMPED = 2;

/** What runFast needs to profile blocks for a translating engine (see InterpreterHart.profile). */
export interface BlockProfile {
  /**
   * Executions per block start, by host page then halfword in the page (allocated when a page is
   * first counted), saturating at COUNT_MAX; ENTRY marks a block the engine has a translation of.
   * (One table hashed by halfword was tried: a shared counter's ENTRY mark got cleared for the
   * other block, which then ran interpreted for good: gzip in the guest at times 8x the steps.)
   */
  readonly counts: (Uint16Array | undefined)[];
  readonly threshold: number;
  /** A second count at which the interpreter stops before a block (hotStop), for an early look (-1: none). */
  readonly probe: number;
}
export const COUNT_MAX = 0xfffe;
export const ENTRY = 0xffff;

/**
 * The reference engine: an RV64GC interpreter with the machine and supervisor levels. Registers, pc
 * and TLBs live in the machine memory (hart-layout.ts); privileged state lives in `csr`. The hot loop
 * in run() keeps pc and privilege in locals, fetches through a cached page, and does every 64-bit
 * operation on int32 pairs. Anything unusual (CSRs, traps, MMIO, misaligned or page-crossing
 * accesses, atomics) leaves the fast path through a method and re-synchronises the locals.
 */
export class InterpreterHart implements Hart, FpState {
  readonly id: number;
  readonly i32: Int32Array;
  readonly f64: Float64Array;
  readonly xi: number;
  readonly fi: number;
  readonly fi64: number;
  /** Int32 indices of fcsr's fields in the hart's region (hart-layout FFLAGS_OFFSET, FRM_OFFSET). */
  private readonly fflagsI: number;
  private readonly frmI: number;
  get fflags(): number { return this.i32[this.fflagsI]; }
  set fflags(v: number) { this.i32[this.fflagsI] = v; }
  get frm(): number { return this.i32[this.frmI]; }
  set frm(v: number) { this.i32[this.frmI] = v; }

  readonly mmu: Mmu;
  /** 16-bit RVC word → equivalent 32-bit instruction (0 = reserved). */
  protected readonly expand: Int32Array;
  /** Int32 indices of the read, write and fetch TLBs (fixed: computed once, read on every loop entry). */
  private readonly tlbR: number;
  private readonly tlbW: number;
  private readonly tlbF: number;
  readonly csr: CsrFile;
  /** Retired instructions before the current slice. */
  protected retired = 0;
  /** Instructions retired so far in the running slice (for counters read mid-slice). */
  protected sliceN = 0;
  /** Steps (budget used) by the last runFast() call. */
  protected lastSteps = 0;
  /** Bumped by every FENCE.I: an engine that caches translated code revalidates it when this changes. */
  protected codeEpoch = 0;
  /** Steps of the running slice that retired nothing (traps): they count against the budget only. */
  protected lost = 0;
  protected readonly pci: number;
  private readonly u8: Uint8Array;
  private readonly i8: Int8Array;
  protected readonly u16: Uint16Array;
  private readonly i16: Int16Array;
  private readonly bus: Bus;
  private readonly ecallHandler: EcallHandler | undefined;
  private trace: TraceSink | null = null;

  /**
   * Block profiling for a translating engine (null: the interpreter on its own). runFast counts
   * every block start it reaches by a branch or jump, or by entering another page (by host page and
   * halfword), and stops before the block when its count reaches `threshold` (setting `hotStop`)
   * or when it is marked as a translation's ENTRY: the engine takes over there.
   */
  protected profile: BlockProfile | null = null;
  protected hotStop = false;

  /** Set when something outside the loop must be looked at: stop, interrupt lines, CSR writes. */
  protected loopExit = false;
  protected stopRequested = false;
  protected waiting = false;
  /** Pending trap (set by slow paths, taken by the loop). */
  protected excCause = 0;
  protected excTvalLo = 0;
  protected excTvalHi = 0;
  /**
   * Int32 index of the LR reservation in the hart's region (hart-layout RESERVATION_OFFSET): valid,
   * then the virtual address at +2/+3 and the value read at +4/+5.
   */
  private readonly resi: number;
  /**
   * Other harts share the memory (a machine with several): atomics are atomic across threads, an SC
   * compares against the value its LR read, and FENCE orders stores before loads (see atomic()).
   */
  protected readonly smp: boolean;
  /** The memory as 64-bit words, for the doubleword atomics (smp only). */
  private readonly i64: BigInt64Array | null;
  private readonly fenceCell: number;
  protected readonly memory: MachineMemory;

  constructor(opts: InterpreterHartOptions) {
    this.id = opts.id;
    const mem = opts.memory;
    const region = mem.hartRegion(opts.id);
    this.i32 = mem.i32;
    this.f64 = mem.f64;
    this.u8 = mem.bytes;
    this.u16 = mem.u16;
    this.i8 = new Int8Array(mem.memory.buffer);
    this.i16 = new Int16Array(mem.memory.buffer);
    this.xi = (region + X_OFFSET) >> 2;
    this.fi = (region + F_OFFSET) >> 2;
    this.fi64 = (region + F_OFFSET) >> 3;
    this.fflagsI = (region + FFLAGS_OFFSET) >> 2;
    this.frmI = (region + FRM_OFFSET) >> 2;
    this.i32[this.fflagsI] = 0;
    this.i32[this.frmI] = 0;
    this.pci = (region + PC_OFFSET) >> 2;
    this.resi = (region + RESERVATION_OFFSET) >> 2;
    this.fenceCell = (region + FENCE_CELL_OFFSET) >> 2;
    this.pauseCell = (region + PAUSE_COUNT_OFFSET) >> 2;
    this.memory = mem;
    this.smp = mem.shared;
    this.i64 = this.smp ? new BigInt64Array(mem.memory.buffer) : null;
    this.bus = opts.bus;
    this.ecallHandler = opts.ecall;
    this.mmu = new Mmu(mem, region, (pa) => this.bus.find(pa) !== undefined);
    this.tlbR = this.mmu.tlbIndex(Access.Read);
    this.tlbW = this.mmu.tlbIndex(Access.Write);
    this.tlbF = this.mmu.tlbIndex(Access.Fetch);
    this.csr = new CsrFile(opts.id, opts.time, this.mmu, this.i32, (region + MSTATUS_OFFSET) >> 2);
    this.i32.fill(0, this.xi, this.xi + 64);
    this.i32.fill(0, this.fi, this.fi + 64);
    this.expand = expansionTable();
  }

  get instret(): number {
    return this.retired + this.sliceN;
  }

  // ---------------------------------------------------------------- the hot loop

  run(budget: number): StopReason {
    if (this.trace === null) return this.runFast(budget);
    // Observed path (--trace, differential runs): one instruction at a time, each reported.
    for (let i = 0; i < budget; i++) {
      const pc = this.getPc();
      const word = this.peek(pc);
      const r = this.runFast(1);
      this.trace?.instruction(pc, word, (word & 3) === 3 ? 4 : 2);
      if (r !== StopReason.Budget) return r;
    }
    return StopReason.Budget;
  }

  /** The instruction word at pc without side effects (0 if it cannot be fetched). */
  private peek(pc: bigint): number {
    const lo = Number(BigInt.asIntN(32, pc)), hi = Number(BigInt.asIntN(32, pc >> 32n));
    const saved = [this.excCause, this.excTvalLo, this.excTvalHi];
    const word = this.fetchSlow(lo, hi, this.csr.priv);
    const ok = this.excCause < 0;
    [this.excCause, this.excTvalLo, this.excTvalHi] = saved;
    return ok ? ((word & 3) === 3 ? word : word & 0xffff) : 0;
  }

  /**
   * The interpreter loop. `quick`: the caller (the JIT's dispatcher) has just checked for stop and
   * interrupts, so skip that on entry unless something asked for it since.
   */
  protected runFast(budget: number, quick = false): StopReason {
    const i32 = this.i32, u16 = this.u16, u8 = this.u8, i8 = this.i8, i16 = this.i16;
    // With other harts on other threads, aligned doublewords move as one 8-byte access, through the
    // Float64Array view: V8 copies the bits unchanged (no arithmetic touches them, so a signalling
    // NaN pattern stays as it is; a test holds it to that), and x86 makes an aligned 8-byte access
    // single-copy atomic as RVWMO requires. Two int32 halves could tear against another hart's store.
    const f64 = this.f64, smp = this.smp;
    const X = this.xi, F = this.fi, pci = this.pci;
    const expand = this.expand;
    const csr = this.csr;
    const TR = this.tlbR, TW = this.tlbW, TF = this.tlbF;
    const prof = this.profile;
    let n = 0;
    let blockStart = false; // the instruction before transferred control (branch, JAL, JALR)
    this.sliceN = 0;
    this.lost = 0;
    // (No try/finally here: it costs the optimiser; every exit below settles `retired` itself.)
    let check = !quick || this.loopExit;
    outer: while (n < budget) {
      if (this.stopRequested) {
        this.stopRequested = false;
        this.retired += n - this.lost; this.sliceN = 0; this.lastSteps = n;
        return StopReason.Stopped;
      }
      if (check) {
        this.loopExit = false;
        this.sliceN = n - this.lost;
        this.checkInterrupts();
        if (this.waiting) { this.retired += n - this.lost; this.sliceN = 0; this.lastSteps = n; return StopReason.Wfi; }
      }
      check = true;
      let pcLo = i32[pci], pcHi = i32[pci + 1];
      let priv = csr.priv;
      let dp = csr.dataPriv;
      let fTag = -1, fHi = 0, fAdd = 0; // cached fetch page: tag (page | priv), high word, host addend
      while (n < budget) {
        // ---- fetch
        let insn: number;
        let o = -1; // host halfword index of the instruction, when it came from the cached page or the TLB
        if ((pcLo & -4096 | priv) === fTag && pcHi === fHi && (pcLo & 0xffe) !== 0xffe) {
          o = (pcLo + fAdd) >>> 1;
        } else {
          const e = TF + ((pcLo >>> 10) & 0xffc);
          if (i32[e] === (pcLo & -4096 | priv) && i32[e + 1] === pcHi && (pcLo & 0xffe) !== 0xffe) {
            fTag = i32[e]; fHi = pcHi; fAdd = i32[e + 2];
            o = (pcLo + fAdd) >>> 1;
          }
          // Entering another page, even by running off the end of one, starts a block for the profile:
          // straight-line code continued there (after an instruction straddling the boundary, which no
          // translation takes) would otherwise never be counted.
          if (n > 0) blockStart = true;
        }
        if (blockStart) {
          blockStart = false;
          if (prof !== null && o >= 0) {
            const counts = prof.counts[o >>> 11] ?? (prof.counts[o >>> 11] = new Uint16Array(2048));
            const i = o & 2047, c = counts[i];
            if (c === ENTRY || (c < COUNT_MAX && ((counts[i] = c + 1) === prof.threshold || c + 1 === prof.probe) && (this.hotStop = true))) {
              budget = n; // stop before this block: pc is written back below
              break;
            }
          }
        }
        if (o >= 0) {
          insn = u16[o] | (u16[o + 1] << 16);
        } else {
          insn = this.fetchSlow(pcLo, pcHi, priv);
          if (this.excCause >= 0) {
            n++; this.lost++; // a fetch fault uses up budget (a trap storm must still end the slice) but retires nothing
            this.sliceN = n - this.lost;
            this.takeTrap(this.excCause, false, this.excTvalLo, this.excTvalHi, pcLo, pcHi);
            pcLo = i32[pci]; pcHi = i32[pci + 1]; priv = csr.priv; dp = csr.dataPriv; fTag = -1;
            if (this.loopExit) continue outer;
            continue;
          }
        }
        n++;
        let len = 4;
        let raw = insn;
        if ((insn & 3) !== 3) {
          raw = insn & 0xffff;
          insn = expand[raw];
          len = 2;
          if (insn === 0) insn = 0x7f; // reserved RVC encoding: an opcode that decodes as illegal
        }
        let npcLo = (pcLo + len) | 0, npcHi = pcHi;
        if ((npcLo >>> 0) < (pcLo >>> 0)) npcHi = (npcHi + 1) | 0; // carry out of the low word
        const rd = (insn >>> 7) & 31;
        const s1 = X + (((insn >>> 15) & 31) << 1);
        const s2 = X + (((insn >>> 20) & 31) << 1);
        let rLo = 0, rHi = 0;
        let slow = -1;
        switch ((insn >>> 2) & 31) { // opcode[6:2]; bits 1:0 are 11 for every 32-bit and expanded instruction
          case 4: /* 0x13 */ { // OP-IMM
            const aLo = i32[s1], aHi = i32[s1 + 1], imm = insn >> 20;
            switch ((insn >>> 12) & 7) {
              case 0: rLo = (aLo + imm) | 0; rHi = (aHi + (imm >> 31) + ((rLo >>> 0) < (aLo >>> 0) ? 1 : 0)) | 0; break;
              case 1: { // SLLI
                if ((insn >>> 26) !== 0) { slow = this.illegal(raw); break; }
                const sh = imm & 63;
                if (sh === 0) { rLo = aLo; rHi = aHi; } else if (sh < 32) { rLo = aLo << sh; rHi = (aHi << sh) | (aLo >>> (32 - sh)); } else { rLo = 0; rHi = aLo << (sh - 32); }
                break;
              }
              case 2: rLo = aHi < (imm >> 31) || (aHi === (imm >> 31) && (aLo >>> 0) < (imm >>> 0)) ? 1 : 0; break;
              case 3: rLo = (aHi >>> 0) < ((imm >> 31) >>> 0) || (aHi === (imm >> 31) && (aLo >>> 0) < (imm >>> 0)) ? 1 : 0; break;
              case 4: rLo = aLo ^ imm; rHi = aHi ^ (imm >> 31); break;
              case 5: { // SRLI / SRAI
                const f6 = insn >>> 26;
                const sh = imm & 63;
                if (f6 === 0) {
                  if (sh === 0) { rLo = aLo; rHi = aHi; } else if (sh < 32) { rLo = (aLo >>> sh) | (aHi << (32 - sh)); rHi = aHi >>> sh; } else { rLo = aHi >>> (sh - 32); rHi = 0; }
                } else if (f6 === 0x10) {
                  if (sh === 0) { rLo = aLo; rHi = aHi; } else if (sh < 32) { rLo = (aLo >>> sh) | (aHi << (32 - sh)); rHi = aHi >> sh; } else { rLo = aHi >> (sh - 32); rHi = aHi >> 31; }
                } else slow = this.illegal(raw);
                break;
              }
              case 6: rLo = aLo | imm; rHi = aHi | (imm >> 31); break;
              case 7: rLo = aLo & imm; rHi = aHi & (imm >> 31); break;
            }
            break;
          }
          case 12: /* 0x33 */ { // OP
            const aLo = i32[s1], aHi = i32[s1 + 1], bLo = i32[s2], bHi = i32[s2 + 1];
            const f7 = insn >>> 25, f3 = (insn >>> 12) & 7;
            if (f7 === 0) {
              switch (f3) {
                case 0: rLo = (aLo + bLo) | 0; rHi = (aHi + bHi + ((rLo >>> 0) < (aLo >>> 0) ? 1 : 0)) | 0; break;
                case 1: { const sh = bLo & 63; if (sh === 0) { rLo = aLo; rHi = aHi; } else if (sh < 32) { rLo = aLo << sh; rHi = (aHi << sh) | (aLo >>> (32 - sh)); } else { rLo = 0; rHi = aLo << (sh - 32); } break; }
                case 2: rLo = aHi < bHi || (aHi === bHi && (aLo >>> 0) < (bLo >>> 0)) ? 1 : 0; break;
                case 3: rLo = (aHi >>> 0) < (bHi >>> 0) || (aHi === bHi && (aLo >>> 0) < (bLo >>> 0)) ? 1 : 0; break;
                case 4: rLo = aLo ^ bLo; rHi = aHi ^ bHi; break;
                case 5: { const sh = bLo & 63; if (sh === 0) { rLo = aLo; rHi = aHi; } else if (sh < 32) { rLo = (aLo >>> sh) | (aHi << (32 - sh)); rHi = aHi >>> sh; } else { rLo = aHi >>> (sh - 32); rHi = 0; } break; }
                case 6: rLo = aLo | bLo; rHi = aHi | bHi; break;
                case 7: rLo = aLo & bLo; rHi = aHi & bHi; break;
              }
            } else if (f7 === 0x20) {
              if (f3 === 0) { rLo = (aLo - bLo) | 0; rHi = (aHi - bHi - ((aLo >>> 0) < (bLo >>> 0) ? 1 : 0)) | 0; }
              else if (f3 === 5) { const sh = bLo & 63; if (sh === 0) { rLo = aLo; rHi = aHi; } else if (sh < 32) { rLo = (aLo >>> sh) | (aHi << (32 - sh)); rHi = aHi >> sh; } else { rLo = aHi >> (sh - 32); rHi = aHi >> 31; } }
              else slow = this.illegal(raw);
            } else if (f7 === 1) {
              switch (f3) {
                case 0: mul64(aLo, aHi, bLo, bHi); break;
                case 1: mulh64(aLo, aHi, bLo, bHi); break;
                case 2: mulhsu64(aLo, aHi, bLo, bHi); break;
                case 3: mulhu64(aLo, aHi, bLo, bHi); break;
                default: div64(aLo, aHi, bLo, bHi, (f3 & 1) === 1, f3 >= 6); break;
              }
              rLo = r64[0]; rHi = r64[1];
            } else slow = this.illegal(raw);
            break;
          }
          case 0: /* 0x03 */ { // LOAD
            const bLo = i32[s1], imm = insn >> 20;
            const aLo = (bLo + imm) | 0;
            const aHi = (i32[s1 + 1] + (imm >> 31) + ((aLo >>> 0) < (bLo >>> 0) ? 1 : 0)) | 0;
            const f3 = (insn >>> 12) & 7;
            const e = TR + ((aLo >>> 10) & 0xffc);
            if (i32[e] === (aLo & -4096 | dp) && i32[e + 1] === aHi && (aLo & ((1 << (f3 & 3)) - 1)) === 0) {
              const o = (aLo + i32[e + 2]) >>> 0;
              switch (f3) {
                case 0: rLo = i8[o]; rHi = rLo >> 31; break;
                case 1: rLo = i16[o >>> 1]; rHi = rLo >> 31; break;
                case 2: rLo = i32[o >>> 2]; rHi = rLo >> 31; break;
                case 3:
                  if (smp) { // one 8-byte access: aligned doublewords are single-copy atomic (see f64Copy)
                    if (rd !== 0) f64[(X >> 1) + rd] = f64[o >>> 3];
                    pcLo = npcLo; pcHi = npcHi;
                    continue;
                  }
                  rLo = i32[o >>> 2]; rHi = i32[(o >>> 2) + 1]; break;
                case 4: rLo = u8[o]; break;
                case 5: rLo = u16[o >>> 1]; break;
                case 6: rLo = i32[o >>> 2]; break;
                default: slow = this.illegal(raw);
              }
            } else if (f3 === 7) slow = this.illegal(raw);
            else slow = this.loadSlow(aLo, aHi, f3, rd === 0 ? -1 : X + (rd << 1), dp);
            break;
          }
          case 8: /* 0x23 */ { // STORE
            const bLo = i32[s1], imm = ((insn >> 25) << 5) | ((insn >>> 7) & 31);
            const aLo = (bLo + imm) | 0;
            const aHi = (i32[s1 + 1] + (imm >> 31) + ((aLo >>> 0) < (bLo >>> 0) ? 1 : 0)) | 0;
            const f3 = (insn >>> 12) & 7;
            const e = TW + ((aLo >>> 10) & 0xffc);
            if (f3 < 4 && i32[e] === (aLo & -4096 | dp) && i32[e + 1] === aHi && (aLo & ((1 << f3) - 1)) === 0) {
              const o = (aLo + i32[e + 2]) >>> 0;
              switch (f3) {
                case 0: u8[o] = i32[s2]; break;
                case 1: u16[o >>> 1] = i32[s2]; break;
                case 2: i32[o >>> 2] = i32[s2]; break;
                case 3:
                  if (smp) f64[o >>> 3] = f64[s2 >> 1]; // one 8-byte access (see the load)
                  else { i32[o >>> 2] = i32[s2]; i32[(o >>> 2) + 1] = i32[s2 + 1]; }
                  break;
              }
              pcLo = npcLo; pcHi = npcHi;
              continue;
            }
            slow = f3 < 4 ? this.storeSlow(aLo, aHi, f3, i32[s2], i32[s2 + 1], dp) : this.illegal(raw);
            break;
          }
          case 24: /* 0x63 */ { // BRANCH
            const aLo = i32[s1], aHi = i32[s1 + 1], bLo = i32[s2], bHi = i32[s2 + 1];
            let taken: boolean;
            switch ((insn >>> 12) & 7) {
              case 0: taken = aLo === bLo && aHi === bHi; break;
              case 1: taken = aLo !== bLo || aHi !== bHi; break;
              case 4: taken = aHi < bHi || (aHi === bHi && (aLo >>> 0) < (bLo >>> 0)); break;
              case 5: taken = !(aHi < bHi || (aHi === bHi && (aLo >>> 0) < (bLo >>> 0))); break;
              case 6: taken = (aHi >>> 0) < (bHi >>> 0) || (aHi === bHi && (aLo >>> 0) < (bLo >>> 0)); break;
              case 7: taken = !((aHi >>> 0) < (bHi >>> 0) || (aHi === bHi && (aLo >>> 0) < (bLo >>> 0))); break;
              default: slow = this.illegal(raw); taken = false;
            }
            if (slow >= 0) break;
            blockStart = true;
            if (taken) {
              const imm = ((insn >> 31) << 12) | (((insn >>> 7) & 1) << 11) | (((insn >>> 25) & 63) << 5) | (((insn >>> 8) & 15) << 1);
              const t = (pcLo + imm) | 0;
              pcHi = (pcHi + (imm >> 31) + ((t >>> 0) < (pcLo >>> 0) ? 1 : 0)) | 0;
              pcLo = t;
            } else { pcLo = npcLo; pcHi = npcHi; }
            continue;
          }
          case 27: /* 0x6f */ { // JAL
            blockStart = true;
            const imm = ((insn >> 31) << 20) | (insn & 0xff000) | (((insn >>> 20) & 1) << 11) | (((insn >>> 21) & 0x3ff) << 1);
            rLo = npcLo; rHi = npcHi;
            npcLo = (pcLo + imm) | 0;
            npcHi = (pcHi + (imm >> 31) + ((npcLo >>> 0) < (pcLo >>> 0) ? 1 : 0)) | 0;
            break;
          }
          case 25: /* 0x67 */ { // JALR
            if (((insn >>> 12) & 7) !== 0) { slow = this.illegal(raw); break; }
            blockStart = true;
            const bLo = i32[s1], imm = insn >> 20;
            const t = (bLo + imm) | 0;
            rLo = npcLo; rHi = npcHi;
            npcHi = (i32[s1 + 1] + (imm >> 31) + ((t >>> 0) < (bLo >>> 0) ? 1 : 0)) | 0;
            npcLo = t & ~1;
            break;
          }
          case 13: /* 0x37 */ rLo = insn & 0xfffff000; rHi = rLo >> 31; break; // LUI
          case 5: /* 0x17 */ { // AUIPC
            const imm = insn & 0xfffff000;
            rLo = (pcLo + imm) | 0;
            rHi = (pcHi + (imm >> 31) + ((rLo >>> 0) < (pcLo >>> 0) ? 1 : 0)) | 0;
            break;
          }
          case 6: /* 0x1b */ { // OP-IMM-32
            const a = i32[s1], imm = insn >> 20;
            switch ((insn >>> 12) & 7) {
              case 0: rLo = (a + imm) | 0; break;
              case 1: if ((insn >>> 25) !== 0) slow = this.illegal(raw); else rLo = a << (imm & 31); break;
              case 5: {
                const f7 = insn >>> 25;
                if (f7 === 0) rLo = a >>> (imm & 31) | 0; else if (f7 === 0x20) rLo = a >> (imm & 31); else slow = this.illegal(raw);
                break;
              }
              default: slow = this.illegal(raw);
            }
            rHi = rLo >> 31;
            break;
          }
          case 14: /* 0x3b */ { // OP-32
            const a = i32[s1], b = i32[s2];
            const f7 = insn >>> 25, f3 = (insn >>> 12) & 7;
            if (f7 === 0) {
              if (f3 === 0) rLo = (a + b) | 0; else if (f3 === 1) rLo = a << (b & 31); else if (f3 === 5) rLo = (a >>> (b & 31)) | 0; else slow = this.illegal(raw);
            } else if (f7 === 0x20) {
              if (f3 === 0) rLo = (a - b) | 0; else if (f3 === 5) rLo = a >> (b & 31); else slow = this.illegal(raw);
            } else if (f7 === 1) {
              switch (f3) {
                case 0: rLo = Math.imul(a, b); break;
                case 4: rLo = b === 0 ? -1 : (a / b) | 0; break; // MIN/-1 wraps to MIN through |0
                case 5: rLo = b === 0 ? -1 : ((a >>> 0) / (b >>> 0)) | 0; break;
                case 6: rLo = b === 0 ? a : (a % b) | 0; break;
                case 7: rLo = b === 0 ? a : ((a >>> 0) % (b >>> 0)) | 0; break;
                default: slow = this.illegal(raw);
              }
            } else slow = this.illegal(raw);
            rHi = rLo >> 31;
            break;
          }
          case 3: /* 0x0f */ { // MISC-MEM: FENCE (and PAUSE), FENCE.I — one hart, in-order: nothing to wait for
            const f3 = (insn >>> 12) & 7;
            if (f3 !== 0 && f3 !== 1) slow = this.illegal(raw);
            else if (f3 === 1) this.codeEpoch++; // FENCE.I: translated code must be checked against memory again
            else if (this.smp && (insn & FENCE_W_BEFORE_R) === FENCE_W_BEFORE_R) this.fullFence(); // x86 may run a later load before an earlier store
            else if (this.smp && insn === PAUSE && ++i32[this.pauseCell] >= SPIN_PAUSES) slow = this.spinning();
            pcLo = npcLo; pcHi = npcHi;
            if (slow < 0) continue;
            break;
          }
          case 1: /* 0x07 */ { // LOAD-FP
            const f3 = (insn >>> 12) & 7;
            if ((f3 !== 2 && f3 !== 3) || (csr.mstatus & MSTATUS_FS) === 0) { slow = this.illegal(raw); break; }
            const bLo = i32[s1], imm = insn >> 20;
            const aLo = (bLo + imm) | 0;
            const aHi = (i32[s1 + 1] + (imm >> 31) + ((aLo >>> 0) < (bLo >>> 0) ? 1 : 0)) | 0;
            const e = TR + ((aLo >>> 10) & 0xffc);
            const d = F + (rd << 1);
            csr.mstatus |= MSTATUS_FS;
            if (i32[e] === (aLo & -4096 | dp) && i32[e + 1] === aHi && (aLo & ((1 << f3) - 1)) === 0) {
              const o = (aLo + i32[e + 2]) >>> 2;
              i32[d] = i32[o];
              i32[d + 1] = f3 === 3 ? i32[o + 1] : -1; // singles are NaN-boxed
              pcLo = npcLo; pcHi = npcHi;
              continue;
            }
            slow = this.loadSlow(aLo, aHi, f3 === 3 ? 3 : 8, d, dp);
            break;
          }
          case 9: /* 0x27 */ { // STORE-FP
            const f3 = (insn >>> 12) & 7;
            if ((f3 !== 2 && f3 !== 3) || (csr.mstatus & MSTATUS_FS) === 0) { slow = this.illegal(raw); break; }
            const bLo = i32[s1], imm = ((insn >> 25) << 5) | ((insn >>> 7) & 31);
            const aLo = (bLo + imm) | 0;
            const aHi = (i32[s1 + 1] + (imm >> 31) + ((aLo >>> 0) < (bLo >>> 0) ? 1 : 0)) | 0;
            const v = F + (((insn >>> 20) & 31) << 1);
            const e = TW + ((aLo >>> 10) & 0xffc);
            if (i32[e] === (aLo & -4096 | dp) && i32[e + 1] === aHi && (aLo & ((1 << f3) - 1)) === 0) {
              const o = (aLo + i32[e + 2]) >>> 2;
              i32[o] = i32[v];
              if (f3 === 3) i32[o + 1] = i32[v + 1];
              pcLo = npcLo; pcHi = npcHi;
              continue;
            }
            slow = this.storeSlow(aLo, aHi, f3, i32[v], i32[v + 1], dp);
            break;
          }
          case 20: case 16: case 17: case 18: case 19: // OP-FP (0x53) and the fused multiply-adds (0x43..0x4f)
            if ((csr.mstatus & MSTATUS_FS) === 0 || !executeFp(this, insn)) { slow = this.illegal(raw); break; }
            csr.mstatus |= MSTATUS_FS; // state may have changed: Dirty (tracking may be conservative)
            pcLo = npcLo; pcHi = npcHi;
            continue;
          case 11: /* 0x2f */ // AMO
            slow = this.atomic(insn, raw, dp);
            break;
          case 28: /* 0x73 */ // SYSTEM
            this.sliceN = n - this.lost;
            slow = this.system(insn, raw, pcLo, pcHi, npcLo, npcHi);
            break;
          default:
            slow = this.illegal(raw);
        }
        if (slow >= 0) {
          if (slow === TRAPPED) {
            this.lost++; // the instruction did not retire (but used up budget)
            this.sliceN = n - this.lost;
            this.takeTrap(this.excCause, false, this.excTvalLo, this.excTvalHi, pcLo, pcHi);
          } else if (slow === OK) {
            i32[pci] = npcLo; i32[pci + 1] = npcHi; // slow paths write their own destination register
          }
          pcLo = i32[pci]; pcHi = i32[pci + 1];
          priv = csr.priv; dp = csr.dataPriv; fTag = -1;
          if (this.loopExit) continue outer;
          continue;
        }
        if (rd !== 0) { i32[X + (rd << 1)] = rLo; i32[X + (rd << 1) + 1] = rHi; }
        pcLo = npcLo; pcHi = npcHi;
      }
      i32[pci] = pcLo; i32[pci + 1] = pcHi;
    }
    this.retired += n - this.lost; this.sliceN = 0; this.lastSteps = n;
    return StopReason.Budget;
  }

  // ---------------------------------------------------------------- slow paths

  private illegal(raw: number): number {
    return this.raise(Exception.IllegalInstruction, raw, 0); // tval = the instruction bits, zero-extended
  }

  private raise(cause: number, tvalLo: number, tvalHi: number): number {
    this.excCause = cause;
    this.excTvalLo = tvalLo | 0;
    this.excTvalHi = tvalHi | 0;
    return TRAPPED;
  }

  /** Fetch outside the cached page: TLB miss, page crossing, or a fault (excCause >= 0 then). */
  protected fetchSlow(pcLo: number, pcHi: number, priv: number): number {
    this.excCause = -1;
    const h = this.mmu.translate(pcLo, pcHi, Access.Fetch, priv);
    if (h < 0) { this.raise(this.mmu.cause, pcLo, pcHi); return 0; }
    const low = this.u16[h >>> 1];
    if ((low & 3) !== 3) return low;
    if ((pcLo & 0xfff) !== 0xffe) return low | (this.u16[(h >>> 1) + 1] << 16);
    // A 32-bit instruction straddling two pages: the second half may fault on its own (tval = its address).
    const lo2 = (pcLo + 2) | 0, hi2 = (pcHi + ((lo2 >>> 0) < (pcLo >>> 0) ? 1 : 0)) | 0;
    const h2 = this.mmu.translate(lo2, hi2, Access.Fetch, priv);
    if (h2 < 0) { this.raise(this.mmu.cause, lo2, hi2); return 0; }
    return low | (this.u16[h2 >>> 1] << 16);
  }

  /**
   * Loads that missed the TLB, are misaligned, or hit MMIO. kind: funct3 of the load (0..6), or 8 for
   * a NaN-boxed single (FLW). dest: int32 index of the destination register, -1 to discard.
   */
  protected loadSlow(aLo: number, aHi: number, kind: number, dest: number, dp: number): number {
    const size = kind === 8 ? 4 : 1 << (kind & 3);
    const aligned = (aLo & (size - 1)) === 0;
    let lo = 0, hi = 0;
    let inPage: number = MMIO; // host offset of a misaligned access inside one RAM page
    if (!aligned && (aLo & 0xfff) <= 4096 - size) {
      // One translation, not one per byte (MMIO still goes byte by byte below).
      inPage = this.hostOf(aLo, aHi, Access.Read, dp);
      if (inPage === FAULT) return this.raise(this.mmu.cause, aLo, aHi);
    }
    if (inPage >= 0) {
      const h = inPage;
      for (let i = 0; i < size; i++) {
        const b = this.u8[h + i];
        if (i < 4) lo |= b << (8 * i); else hi |= b << (8 * (i - 4));
      }
    } else if (aligned) {
      const h = this.mmu.translate(aLo, aHi, Access.Read, dp);
      if (h === FAULT) return this.raise(this.mmu.cause, aLo, aHi);
      if (h === MMIO) {
        const pa = this.mmu.pa;
        const r = this.bus.find(pa)!;
        const off = pa - r.base;
        if (size === 8) { lo = r.device.read(off, 4) | 0; hi = r.device.read(off + 4, 4) | 0; }
        else lo = r.device.read(off, size as 1 | 2 | 4) | 0;
        this.mmioReads++;
        this.loopExit = true; // a device read can change interrupt lines (e.g. a UART RX drain)
      } else {
        const v = this.bytesAt(h, size);
        lo = v[0]; hi = v[1];
      }
    } else {
      // Misaligned across pages or on MMIO: byte by byte, each byte translated; a fault reports the byte's own address.
      for (let i = 0; i < size; i++) {
        const bLo = (aLo + i) | 0, bHi = (aHi + ((bLo >>> 0) < (aLo >>> 0) ? 1 : 0)) | 0;
        const h = this.mmu.translate(bLo, bHi, Access.Read, dp);
        if (h === FAULT) return this.raise(this.mmu.cause, bLo, bHi);
        let b: number;
        if (h === MMIO) { const r = this.bus.find(this.mmu.pa)!; b = r.device.read(this.mmu.pa - r.base, 1) & 0xff; }
        else b = this.u8[h];
        if (i < 4) lo |= b << (8 * i); else hi |= b << (8 * (i - 4));
      }
    }
    // Extend per the load kind.
    switch (kind) {
      case 0: lo = (lo << 24) >> 24; hi = lo >> 31; break;
      case 1: lo = (lo << 16) >> 16; hi = lo >> 31; break;
      case 2: hi = lo >> 31; break;
      case 4: lo &= 0xff; hi = 0; break;
      case 5: lo &= 0xffff; hi = 0; break;
      case 6: hi = 0; break;
      case 8: hi = -1; break;
    }
    if (dest >= 0) { this.i32[dest] = lo; this.i32[dest + 1] = hi; }
    return OK;
  }

  private readonly tmp = new Int32Array(2);
  /** The same 8 bytes as a double: an 8-byte access in one move (see runFast). */
  private readonly tmp64 = new Float64Array(this.tmp.buffer);
  private bytesAt(h: number, size: number): Int32Array {
    const t = this.tmp;
    switch (size) {
      case 1: t[0] = this.u8[h]; t[1] = 0; break;
      case 2: t[0] = this.u16[h >>> 1]; t[1] = 0; break;
      case 4: t[0] = this.i32[h >>> 2]; t[1] = 0; break;
      default:
        if (this.smp) this.tmp64[0] = this.f64[h >>> 3]; // one 8-byte access (see runFast)
        else { t[0] = this.i32[h >>> 2]; t[1] = this.i32[(h >>> 2) + 1]; }
    }
    return t;
  }

  /** The host offset of a RAM access from the TLB, or translate()'s answer (which fills it). */
  private hostOf(aLo: number, aHi: number, access: Access, dp: number): number {
    const i32 = this.i32;
    const e = this.mmu.tlbIndex(access) + ((aLo >>> 10) & 0xffc);
    if (i32[e] === ((aLo & -4096) | dp) && i32[e + 1] === aHi) return (aLo + i32[e + 2]) >>> 0;
    return this.mmu.translate(aLo, aHi, access, dp);
  }

  /** Stores that missed the TLB, are misaligned, or hit MMIO. f3: log2 of the size. */
  protected storeSlow(aLo: number, aHi: number, f3: number, vLo: number, vHi: number, dp: number): number {
    const size = 1 << f3;
    if ((aLo & (size - 1)) !== 0 && (aLo & 0xfff) <= 4096 - size) {
      // Misaligned inside one page: one translation (MMIO falls through to the byte-wise path).
      const h = this.hostOf(aLo, aHi, Access.Write, dp);
      if (h === FAULT) return this.raise(this.mmu.cause, aLo, aHi);
      if (h >= 0) {
        for (let i = 0; i < size; i++) this.u8[h + i] = (i < 4 ? vLo >>> (8 * i) : vHi >>> (8 * (i - 4))) & 0xff;
        this.memory.noteWrite(h, size);
        return OK;
      }
    }
    if ((aLo & (size - 1)) === 0) {
      const h = this.mmu.translate(aLo, aHi, Access.Write, dp);
      if (h === FAULT) return this.raise(this.mmu.cause, aLo, aHi);
      if (h === MMIO) {
        const pa = this.mmu.pa;
        const r = this.bus.find(pa)!;
        const off = pa - r.base;
        if (size === 8) { r.device.write(off, 4, vLo >>> 0); r.device.write(off + 4, 4, vHi >>> 0); }
        else r.device.write(off, size as 1 | 2 | 4, (size === 4 ? vLo : vLo & ((1 << (8 * size)) - 1)) >>> 0);
        this.mmioWrites++;
        this.loopExit = true; // devices raise interrupts and stop requests from their registers
        return OK;
      }
      switch (size) {
        case 1: this.u8[h] = vLo; break;
        case 2: this.u16[h >>> 1] = vLo; break;
        case 4: this.i32[h >>> 2] = vLo; break;
        default:
          this.tmp[0] = vLo; this.tmp[1] = vHi;
          if (this.smp) this.f64[h >>> 3] = this.tmp64[0]; // one 8-byte access (see runFast)
          else { this.i32[h >>> 2] = vLo; this.i32[(h >>> 2) + 1] = vHi; }
      }
      this.memory.noteWrite(h, size); // after the store: see CodeWatch
      return OK;
    }
    // Misaligned: translate every byte first so a fault leaves memory untouched, then write.
    const hosts: number[] = [];
    for (let i = 0; i < size; i++) {
      const bLo = (aLo + i) | 0, bHi = (aHi + ((bLo >>> 0) < (aLo >>> 0) ? 1 : 0)) | 0;
      const h = this.mmu.translate(bLo, bHi, Access.Write, dp);
      if (h === FAULT) return this.raise(this.mmu.cause, bLo, bHi);
      hosts.push(h === MMIO ? -1 - this.mmu.pa : h);
    }
    for (let i = 0; i < size; i++) {
      const b = (i < 4 ? vLo >>> (8 * i) : vHi >>> (8 * (i - 4))) & 0xff;
      const h = hosts[i];
      if (h >= 0) { this.u8[h] = b; this.memory.noteWrite(h, 1); }
      else { const pa = -1 - h; const r = this.bus.find(pa)!; r.device.write(pa - r.base, 1, b); this.loopExit = true; }
    }
    return OK;
  }

  /**
   * The A extension: LR/SC and the AMOs, on RAM only (an AMO on MMIO is an access fault: PMA). With
   * one hart (`smp` off) they are plain reads and writes, and an SC succeeds when the reservation is
   * for its address. With several harts (the memory shared, harts on other threads) every AMO is one
   * atomic read-modify-write (Atomics; BigInt64Array for the doublewords), and an SC is a
   * compare-and-swap against the value its LR read: it fails if another hart changed the word since,
   * which is what software emulators commonly do (a store of the very same value goes unnoticed: an
   * ABA that the spec's reservation would catch and that no lock or lock-free algorithm relies on).
   * Locked read-modify-writes are full barriers on the host, so aq/rl need nothing more; an LR with
   * rl set orders earlier stores before it (a full fence).
   */
  private atomic(insn: number, raw: number, dp: number): number {
    const f3 = (insn >>> 12) & 7;
    if (f3 !== 2 && f3 !== 3) return this.illegal(raw);
    const f5 = insn >>> 27;
    const X = this.xi, i32 = this.i32;
    const s1 = X + (((insn >>> 15) & 31) << 1), s2 = X + (((insn >>> 20) & 31) << 1);
    const rd = (insn >>> 7) & 31;
    const aLo = i32[s1], aHi = i32[s1 + 1];
    const dbl = f3 === 3;
    const isLr = f5 === 0x02, isSc = f5 === 0x03;
    if (isLr && ((insn >>> 20) & 31) !== 0) return this.illegal(raw);
    if (f5 !== 0x02 && f5 !== 0x03 && f5 !== 0x01 && f5 !== 0x00 && f5 !== 0x04 && f5 !== 0x0c && f5 !== 0x08 &&
        f5 !== 0x10 && f5 !== 0x14 && f5 !== 0x18 && f5 !== 0x1c) return this.illegal(raw);
    if ((aLo & (dbl ? 7 : 3)) !== 0) {
      return this.raise(isLr ? Exception.LoadMisaligned : Exception.StoreMisaligned, aLo, aHi);
    }
    const r = this.resi;
    if (isSc) {
      const ok = i32[r] !== 0 && i32[r + 2] === aLo && i32[r + 3] === aHi;
      i32[r] = 0;
      let stored = ok;
      if (ok) {
        const h = this.mmu.translate(aLo, aHi, Access.Write, dp);
        if (h === FAULT) return this.raise(this.mmu.cause, aLo, aHi);
        if (h === MMIO) return this.raise(Exception.StoreAccessFault, aLo, aHi);
        const w = h >>> 2;
        if (!this.smp) {
          i32[w] = i32[s2];
          if (dbl) i32[w + 1] = i32[s2 + 1];
        } else if (!dbl) {
          stored = Atomics.compareExchange(i32, w, i32[r + 4], i32[s2]) === i32[r + 4];
        } else {
          const expect = (BigInt(i32[r + 5]) << 32n) | BigInt(i32[r + 4] >>> 0);
          const value = (BigInt(i32[s2 + 1]) << 32n) | BigInt(i32[s2] >>> 0);
          stored = Atomics.compareExchange(this.i64!, h >>> 3, expect, value) === expect;
        }
        if (stored) this.memory.noteWrite(h, dbl ? 8 : 4);
      }
      if (rd !== 0) { i32[X + (rd << 1)] = stored ? 0 : 1; i32[X + (rd << 1) + 1] = 0; }
      return OK;
    }
    const h = this.mmu.translate(aLo, aHi, isLr ? Access.Read : Access.Write, dp);
    if (h === FAULT) return this.raise(this.mmu.cause, aLo, aHi);
    if (h === MMIO) return this.raise(isLr ? Exception.LoadAccessFault : Exception.StoreAccessFault, aLo, aHi);
    const w = h >>> 2;
    let oLo: number, oHi: number;
    if (isLr) {
      if (this.smp && (insn & (1 << 25)) !== 0) this.fullFence(); // .rl: earlier stores first
      oLo = i32[w]; oHi = dbl ? i32[w + 1] : oLo >> 31;
      i32[r] = 1; i32[r + 2] = aLo; i32[r + 3] = aHi; i32[r + 4] = oLo; i32[r + 5] = oHi;
    } else if (this.smp) {
      const b = i32[s2];
      if (!dbl) {
        switch (f5) {
          case 0x01: oLo = Atomics.exchange(i32, w, b); break;
          case 0x00: oLo = Atomics.add(i32, w, b); break;
          case 0x04: oLo = Atomics.xor(i32, w, b); break;
          case 0x0c: oLo = Atomics.and(i32, w, b); break;
          case 0x08: oLo = Atomics.or(i32, w, b); break;
          default: { // min/max: compare-and-swap until no other hart got in between
            for (;;) {
              const o = Atomics.load(i32, w);
              const n = f5 === 0x10 ? (b < o ? b : o) : f5 === 0x14 ? (b > o ? b : o)
                : f5 === 0x18 ? ((b >>> 0) < (o >>> 0) ? b : o) : ((b >>> 0) > (o >>> 0) ? b : o);
              if (Atomics.compareExchange(i32, w, o, n) === o) { oLo = o; break; }
            }
          }
        }
        oHi = oLo >> 31;
      } else {
        const i64 = this.i64!, q = h >>> 3;
        const v = (BigInt(i32[s2 + 1]) << 32n) | BigInt(b >>> 0);
        let o: bigint;
        switch (f5) {
          case 0x01: o = Atomics.exchange(i64, q, v); break;
          case 0x00: o = Atomics.add(i64, q, v); break;
          case 0x04: o = Atomics.xor(i64, q, v); break;
          case 0x0c: o = Atomics.and(i64, q, v); break;
          case 0x08: o = Atomics.or(i64, q, v); break;
          default: {
            const u = BigInt.asUintN(64, v);
            for (;;) {
              o = Atomics.load(i64, q);
              const ou = BigInt.asUintN(64, o);
              const n = f5 === 0x10 ? (v < o ? v : o) : f5 === 0x14 ? (v > o ? v : o)
                : f5 === 0x18 ? (u < ou ? v : o) : (u > ou ? v : o);
              if (Atomics.compareExchange(i64, q, o, n) === o) break;
            }
          }
        }
        oLo = Number(BigInt.asIntN(32, o)); oHi = Number(o >> 32n);
      }
      this.memory.noteWrite(h, dbl ? 8 : 4);
    } else {
      oLo = i32[w]; oHi = dbl ? i32[w + 1] : i32[w] >> 31;
      const bLo = i32[s2], bHi = dbl ? i32[s2 + 1] : i32[s2] >> 31;
      let nLo: number, nHi: number;
      const lt = oHi < bHi || (oHi === bHi && (oLo >>> 0) < (bLo >>> 0));
      const ltu = (oHi >>> 0) < (bHi >>> 0) || (oHi === bHi && (oLo >>> 0) < (bLo >>> 0));
      switch (f5) {
        case 0x01: nLo = bLo; nHi = bHi; break; // AMOSWAP
        case 0x00: nLo = (oLo + bLo) | 0; nHi = (oHi + bHi + ((nLo >>> 0) < (oLo >>> 0) ? 1 : 0)) | 0; break; // AMOADD
        case 0x04: nLo = oLo ^ bLo; nHi = oHi ^ bHi; break;
        case 0x0c: nLo = oLo & bLo; nHi = oHi & bHi; break;
        case 0x08: nLo = oLo | bLo; nHi = oHi | bHi; break;
        case 0x10: nLo = lt ? oLo : bLo; nHi = lt ? oHi : bHi; break; // AMOMIN
        case 0x14: nLo = lt ? bLo : oLo; nHi = lt ? bHi : oHi; break; // AMOMAX
        case 0x18: nLo = ltu ? oLo : bLo; nHi = ltu ? oHi : bHi; break; // AMOMINU
        default: nLo = ltu ? bLo : oLo; nHi = ltu ? bHi : oHi; break; // AMOMAXU
      }
      i32[w] = nLo;
      if (dbl) i32[w + 1] = nHi;
      this.memory.noteWrite(h, dbl ? 8 : 4);
    }
    if (rd !== 0) { i32[X + (rd << 1)] = oLo; i32[X + (rd << 1) + 1] = oHi; }
    return OK;
  }

  /**
   * A full barrier on the host (a locked read-modify-write, as x86 runs Atomics.add), also one the
   * JS compiler does not move loads or stores across: what FENCE with a store before and a load after
   * needs (x86-TSO keeps every other order RVWMO asks for).
   */
  private fullFence(): void {
    Atomics.add(this.i32, this.fenceCell, 0);
  }

  /** SYSTEM: ECALL, EBREAK, xRET, WFI, SFENCE.VMA and the CSR instructions. */
  private system(insn: number, raw: number, pcLo: number, pcHi: number, npcLo: number, npcHi: number): number {
    const f3 = (insn >>> 12) & 7;
    const csr = this.csr;
    const priv = csr.priv;
    if (f3 === 0) {
      if ((insn >>> 25) === 0x09 && ((insn >>> 7) & 31) === 0) { // SFENCE.VMA
        if (priv === Priv.U || (priv === Priv.S && (csr.mstatus & MSTATUS_TVM) !== 0)) return this.illegal(raw);
        const rs1 = (insn >>> 15) & 31; // the address; rs2's ASID is ignored (entries carry no ASID: drop them whatever it is)
        if (rs1 === 0) this.mmu.flush();
        else this.mmu.flushPage(this.i32[this.xi + (rs1 << 1)], this.i32[this.xi + (rs1 << 1) + 1]);
        this.loopExit = true;
        return OK;
      }
      switch (insn) {
        case 0x00000073: // ECALL
          if (priv === Priv.S && this.ecallHandler) {
            // The SBI reads and writes a0..a7 and may move pc (HSM, SRST); give it a coherent hart.
            this.i32[this.pci] = npcLo; this.i32[this.pci + 1] = npcHi;
            if (this.ecallHandler.ecall(this)) { this.loopExit = true; return JUMPED; }
          }
          return this.raise(priv === Priv.U ? Exception.EcallFromU : priv === Priv.S ? Exception.EcallFromS : Exception.EcallFromM, 0, 0);
        case 0x00100073: // EBREAK
          return this.raise(Exception.Breakpoint, pcLo, pcHi);
        case 0x30200073: { // MRET
          if (priv !== Priv.M) return this.illegal(raw);
          const s = csr.mstatus;
          const mpp = (s & MSTATUS_MPP) >>> MSTATUS_MPP_SHIFT;
          let ns = (s & ~(MSTATUS_MIE | MSTATUS_MPP)) | MSTATUS_MPIE | ((s & MSTATUS_MPIE) !== 0 ? MSTATUS_MIE : 0);
          if (mpp !== Priv.M) ns &= ~MSTATUS_MPRV;
          csr.mstatus = ns;
          csr.setPriv(mpp);
          this.i32[this.pci] = csr.mepc[0] & ~1; this.i32[this.pci + 1] = csr.mepc[1];
          this.loopExit = true;
          return JUMPED;
        }
        case 0x10200073: { // SRET
          if (priv === Priv.U || (priv === Priv.S && (csr.mstatus & MSTATUS_TSR) !== 0)) return this.illegal(raw);
          const s = csr.mstatus;
          const spp = (s & MSTATUS_SPP) !== 0 ? Priv.S : Priv.U;
          csr.mstatus = (s & ~(MSTATUS_SIE | MSTATUS_SPP | MSTATUS_MPRV)) | MSTATUS_SPIE | ((s & MSTATUS_SPIE) !== 0 ? MSTATUS_SIE : 0);
          csr.setPriv(spp);
          this.i32[this.pci] = csr.sepc[0] & ~1; this.i32[this.pci + 1] = csr.sepc[1];
          this.loopExit = true;
          return JUMPED;
        }
        case 0x10500073: // WFI
          if (priv === Priv.U || (priv === Priv.S && (csr.mstatus & MSTATUS_TW) !== 0)) return this.illegal(raw);
          if (!this.interruptPending()) { this.waiting = true; this.loopExit = true; }
          return OK;
      }
      return this.illegal(raw);
    }
    if (f3 === 4) return this.illegal(raw);
    // Zicsr
    const num = insn >>> 20;
    const rd = (insn >>> 7) & 31, rs1 = (insn >>> 15) & 31;
    const op = f3 & 3;
    const writes = op === 1 || rs1 !== 0;
    let srcLo: number, srcHi: number;
    if (f3 & 4) { srcLo = rs1; srcHi = 0; } else { srcLo = this.i32[this.xi + (rs1 << 1)]; srcHi = this.i32[this.xi + (rs1 << 1) + 1]; }
    if (((num >>> 8) & 3) > priv || (writes && (num >>> 10) === 3)) return this.illegal(raw);
    csr.instretNow = this.retired + this.sliceN - 1;
    if (!(op === 1 && rd === 0)) {
      if (!csr.read(num, this)) return this.illegal(raw);
    } else if (!csr.exists(num, this)) return this.illegal(raw);
    const oLo = csr.valLo, oHi = csr.valHi;
    if (writes) {
      let nLo = srcLo, nHi = srcHi;
      if (op === 2) { nLo = oLo | srcLo; nHi = oHi | srcHi; } else if (op === 3) { nLo = oLo & ~srcLo; nHi = oHi & ~srcHi; }
      if (!csr.write(num, nLo, nHi, this)) return this.illegal(raw);
      if (num === 0xb02 || num === 0xb00) this.retired = csr.instretNow - this.sliceN; // the next instruction reads the written value
      this.loopExit = true;
    }
    if (rd !== 0) { this.i32[this.xi + (rd << 1)] = oLo; this.i32[this.xi + (rd << 1) + 1] = oHi; }
    return OK;
  }

  // ---------------------------------------------------------------- traps and interrupts

  /** Enters the trap handler: delegation, xEPC/xCAUSE/xTVAL, status stack, vectoring (priv. 3.1.6–3.1.7, 4.1.1). */
  takeTrap(cause: number, isInterrupt: boolean, tvalLo: number, tvalHi: number, pcLo: number, pcHi: number): void {
    const csr = this.csr;
    const priv = csr.priv;
    const deleg = priv !== Priv.M && (((isInterrupt ? csr.mideleg : csr.medeleg) >>> cause) & 1) !== 0;
    const causeHi = isInterrupt ? 0x8000_0000 | 0 : 0;
    let base: Int32Array;
    const s = csr.mstatus;
    if (deleg) {
      csr.scause[0] = cause; csr.scause[1] = causeHi;
      csr.sepc[0] = pcLo; csr.sepc[1] = pcHi;
      csr.stval[0] = tvalLo; csr.stval[1] = tvalHi;
      csr.mstatus = (s & ~(MSTATUS_SPIE | MSTATUS_SIE | MSTATUS_SPP)) | ((s & MSTATUS_SIE) !== 0 ? MSTATUS_SPIE : 0) | (priv === Priv.S ? MSTATUS_SPP : 0);
      csr.setPriv(Priv.S);
      base = csr.stvec;
    } else {
      csr.mcause[0] = cause; csr.mcause[1] = causeHi;
      csr.mepc[0] = pcLo; csr.mepc[1] = pcHi;
      csr.mtval[0] = tvalLo; csr.mtval[1] = tvalHi;
      csr.mstatus = (s & ~(MSTATUS_MPIE | MSTATUS_MIE | MSTATUS_MPP)) | ((s & MSTATUS_MIE) !== 0 ? MSTATUS_MPIE : 0) | (priv << MSTATUS_MPP_SHIFT);
      csr.setPriv(Priv.M);
      base = csr.mtvec;
    }
    let lo = base[0] & ~3, hi = base[1];
    if (isInterrupt && (base[0] & 3) === 1) {
      const t = (lo + 4 * cause) | 0;
      hi = (hi + ((t >>> 0) < (lo >>> 0) ? 1 : 0)) | 0;
      lo = t;
    }
    this.i32[this.pci] = lo; this.i32[this.pci + 1] = hi;
    this.i32[this.resi] = 0; // a trap clears the reservation
    this.excCause = -1;
    this.loopExit = true;
  }

  /** Pending-and-enabled interrupts in mip & mie (the WFI wake-up condition, ignoring global enables). */
  interruptPending(): boolean {
    return (this.csr.mipValue() & this.csr.mie) !== 0;
  }

  /** The PAUSE counter in the hart's memory (hart-layout PAUSE_COUNT_OFFSET), int32 index. */
  protected readonly pauseCell: number;
  private spun = false;

  /** SPIN_PAUSES pauses in one run(): stop the slice (the instruction retires). */
  protected spinning(): number {
    this.spun = true;
    this.requestStop();
    return OK;
  }

  /**
   * Whether the last run() stopped because the hart spins (with other harts beside it: see
   * SPIN_PAUSES), and starts counting afresh. A runner whose harts outnumber the host's cores then
   * lets the host run the others for a moment: the hart waits for one of them.
   */
  takeSpin(): boolean {
    const s = this.spun;
    this.spun = false;
    this.i32[this.pauseCell] = 0;
    return s;
  }

  /** See setAttention. */
  private attnCell: Int32Array | null = null;
  private attnIndex = 0;
  private attnService: (() => void) | null = null;

  /**
   * Lets another thread get the hart's attention: wherever the hart checks for interrupts (every
   * slice, and after anything that may change them: CSR writes, MMIO, traps), if `cell[index]` is
   * not 0, `service` runs first (a hart on its own thread takes its interrupt lines, IPIs and fence
   * requests there; see platform/smp).
   */
  setAttention(cell: Int32Array, index: number, service: () => void): void {
    this.attnCell = cell;
    this.attnIndex = index;
    this.attnService = service;
    this.loopExit = true;
  }

  /** Sets every externally driven mip bit at once (MSIP, MTIP, SEIP, MEIP: the hart's interrupt lines). */
  setInterruptLines(bits: number): void {
    this.csr.mipLines = bits;
    this.loopExit = true;
  }

  /** Device accesses (MMIO reads and writes) so far: Firecracker's vcpu exit_mmio_read / exit_mmio_write. */
  mmioReads = 0;
  mmioWrites = 0;

  /** Takes the highest-priority interrupt that the current mode and enables allow (priv. 3.1.9). */
  protected checkInterrupts(): void {
    if (this.attnCell !== null && this.attnCell[this.attnIndex] !== 0) this.attnService!();
    const csr = this.csr;
    const pending = csr.mipValue() & csr.mie;
    if (pending === 0) return;
    this.waiting = false;
    const priv = csr.priv;
    const mEnabled = priv < Priv.M || (csr.mstatus & MSTATUS_MIE) !== 0;
    const sEnabled = priv < Priv.S || (priv === Priv.S && (csr.mstatus & MSTATUS_SIE) !== 0);
    let take = 0;
    const m = pending & ~csr.mideleg;
    if (m !== 0 && mEnabled) take = m;
    else {
      const s = pending & csr.mideleg;
      if (s !== 0 && sEnabled) take = s;
    }
    if (take === 0) return;
    // Priority: MEI, MSI, MTI, SEI, SSI, STI.
    const order = [11, 3, 7, 9, 1, 5];
    for (const bit of order) {
      if ((take >>> bit) & 1) {
        this.takeTrap(bit, true, 0, 0, this.i32[this.pci], this.i32[this.pci + 1]);
        return;
      }
    }
  }

  // ---------------------------------------------------------------- snapshots

  /** The hart's architectural state (call between run() slices). */
  save(): HartState {
    const i32 = this.i32;
    const hex = (i: number) => u64Hex(i32[i], i32[i + 1]);
    return {
      version: 1,
      id: this.id,
      pc: hex(this.pci),
      x: Array.from({ length: 32 }, (_, r) => hex(this.xi + 2 * r)),
      f: Array.from({ length: 32 }, (_, r) => hex(this.fi + 2 * r)),
      fflags: this.fflags,
      frm: this.frm,
      priv: this.csr.priv,
      instret: this.instret,
      waiting: this.waiting,
      reservation: i32[this.resi] !== 0 ? hex(this.resi + 2) : null,
      csr: this.csr.save(),
    };
  }

  /**
   * Restores a saved state into this (fresh) hart. Every field is checked before anything changes;
   * the TLBs start empty. Interrupt lines are re-driven by the CLINT and PLIC as they are restored.
   */
  restore(state: unknown): void {
    const s = checkObject(state, 'hart');
    if (s.version !== 1) throw new StateError(`hart state version ${JSON.stringify(s.version)} is not one this wisp reads (1)`);
    if (s.id !== this.id) throw new StateError(`hart state is for hart ${JSON.stringify(s.id)}, not hart ${this.id}`);
    const pc = parseU64(s.pc, 'hart.pc');
    const x = checkArray(s.x, 'hart.x', 32).map((v, i) => parseU64(v, `hart.x[${i}]`));
    const f = checkArray(s.f, 'hart.f', 32).map((v, i) => parseU64(v, `hart.f[${i}]`));
    const fflags = checkInt(s.fflags, 'hart.fflags', 0, 31);
    const frm = checkInt(s.frm, 'hart.frm', 0, 7);
    const priv = checkInt(s.priv, 'hart.priv', 0, 3);
    if (priv === 2) throw new StateError('hart.priv 2 is not a privilege level');
    const instret = checkInt(s.instret, 'hart.instret', 0, Number.MAX_SAFE_INTEGER);
    const waiting = checkBool(s.waiting, 'hart.waiting');
    const reservation = s.reservation === null ? null : parseU64(s.reservation, 'hart.reservation');
    this.csr.restore(s.csr, priv); // checks its own fields before changing any
    const i32 = this.i32;
    i32[this.pci] = pc[0]; i32[this.pci + 1] = pc[1];
    x.forEach(([lo, hi], r) => { i32[this.xi + 2 * r] = r === 0 ? 0 : lo; i32[this.xi + 2 * r + 1] = r === 0 ? 0 : hi; });
    f.forEach(([lo, hi], r) => { i32[this.fi + 2 * r] = lo; i32[this.fi + 2 * r + 1] = hi; });
    // With other harts, an SC compares against the value its LR read, which a snapshot does not
    // keep: the reservation goes, and the restored hart's next SC fails (a spurious failure the spec
    // allows: its LR/SC loop tries again).
    i32[this.resi] = reservation && !this.smp ? 1 : 0;
    i32[this.resi + 2] = reservation?.[0] ?? 0; i32[this.resi + 3] = reservation?.[1] ?? 0;
    this.fflags = fflags;
    this.frm = frm;
    this.retired = instret;
    this.sliceN = 0;
    this.waiting = waiting;
    this.excCause = -1;
    this.loopExit = true;
  }

  // ---------------------------------------------------------------- Hart interface

  setInterruptLine(bit: number, level: boolean): void {
    this.csr.setLine(bit, level);
    this.loopExit = true;
  }

  requestStop(): void {
    this.stopRequested = true;
    this.loopExit = true;
  }

  timerDeadline(): number {
    return this.csr.stimecmpDeadline();
  }

  getPc(): bigint {
    return (BigInt(this.i32[this.pci + 1] >>> 0) << 32n) | BigInt(this.i32[this.pci] >>> 0);
  }
  setPc(pc: bigint): void {
    this.i32[this.pci] = Number(BigInt.asIntN(32, pc));
    this.i32[this.pci + 1] = Number(BigInt.asIntN(32, pc >> 32n));
  }
  getX(i: number): bigint {
    if (i === 0) return 0n;
    return (BigInt(this.i32[this.xi + 2 * i + 1]) << 32n) | BigInt(this.i32[this.xi + 2 * i] >>> 0);
  }
  setX(i: number, v: bigint): void {
    if (i === 0) return;
    this.i32[this.xi + 2 * i] = Number(BigInt.asIntN(32, v));
    this.i32[this.xi + 2 * i + 1] = Number(BigInt.asIntN(32, v >> 32n));
  }
  getPrivilege(): number {
    return this.csr.priv;
  }
  setPrivilege(p: number): void {
    this.csr.setPriv(p);
    this.loopExit = true;
  }
  readCsr(num: number): bigint | undefined {
    this.csr.instretNow = this.instret;
    if (!this.csr.read(num, this)) return undefined;
    return (BigInt(this.csr.valHi) << 32n) | BigInt(this.csr.valLo >>> 0);
  }
  writeCsr(num: number, v: bigint): boolean {
    this.loopExit = true;
    return this.csr.write(num, Number(BigInt.asIntN(32, v)), Number(BigInt.asIntN(32, v >> 32n)), this);
  }
  /** Whether work started by the hart finishes on other threads: the caller should let the event loop turn soon. */
  hasBackgroundWork(): boolean {
    return false;
  }

  protected isTracing(): boolean {
    return this.trace !== null;
  }
  instructionFence(): void {
    this.codeEpoch++;
  }
  flushTranslations(): void {
    this.mmu.flush();
    this.loopExit = true;
  }
  /** SFENCE.VMA of one virtual address on behalf of someone else (a remote fence over a range). */
  flushPage(vLo: number, vHi: number): void {
    this.mmu.flushPage(vLo, vHi);
    this.loopExit = true;
  }
  setTrace(sink: TraceSink | null): void {
    this.trace = sink;
    this.loopExit = true;
  }
}
