import { StopReason } from '../cpu/hart.js';
import { InterpreterHart, type InterpreterHartOptions } from '../cpu/interpreter/interpreter-hart.js';
import { Access } from '../cpu/trap.js';
import { buildExpansionTable } from '../cpu/isa/compressed.js';
import { PC_OFFSET, TLB_READ_OFFSET, TLB_WRITE_OFFSET, X_OFFSET } from '../cpu/hart-layout.js';
import { scanBlock, type BlockInsn } from './block-scan.js';
import { translateBlock, TRAP_FLAG, type HartLayout } from './translate-block.js';

/** A block of guest code, keyed by the host offset of its first byte (physical identity). */
interface Block {
  insns: BlockInsn[];
  /** Executions so far by the interpreter; translated once it reaches the threshold. */
  count: number;
  run: ((dp: number) => number) | null;
  /** The instruction words it was translated from, to revalidate after a FENCE.I. */
  words: Uint16Array | null;
  epoch: number;
}

export interface JitOptions {
  /** Interpreted executions of a block before it is translated (0: translate on first sight). */
  threshold?: number;
}

export interface JitStats {
  translated: number;
  invalidated: number;
  blockRuns: number;
  interpretedSteps: number;
}

const WASM_PAGE = 65536;

/**
 * The second engine: the interpreter, plus translation of hot straight-line blocks into WebAssembly
 * functions that run on the same machine memory (DESIGN.md "One machine state"). The dispatcher finds
 * the block at pc through the fetch TLB; untranslated or untranslatable code runs in the interpreter,
 * which remains the reference for everything the translator does not cover.
 */
export class JitHart extends InterpreterHart {
  readonly stats: JitStats = { translated: 0, invalidated: 0, blockRuns: 0, interpretedSteps: 0 };
  private readonly blocks = new Map<number, Block>();
  private readonly threshold: number;
  private readonly layout: HartLayout;
  private readonly imports: WebAssembly.Imports;
  private readonly memLimits: { min: number; max: number; shared: boolean };
  private readonly expand = buildExpansionTable();

  constructor(opts: InterpreterHartOptions, jit: JitOptions = {}) {
    super(opts);
    const env = Number(process.env.WISP_JIT_THRESHOLD);
    this.threshold = jit.threshold ?? (Number.isInteger(env) && env >= 0 ? env : 50);
    const region = opts.memory.hartRegion(opts.id);
    this.layout = { x: region + X_OFFSET, pc: region + PC_OFFSET, tlbRead: region + TLB_READ_OFFSET, tlbWrite: region + TLB_WRITE_OFFSET };
    const pages = opts.memory.memory.buffer.byteLength / WASM_PAGE;
    this.memLimits = { min: pages, max: pages, shared: opts.memory.memory.buffer instanceof SharedArrayBuffer };
    this.imports = {
      env: {
        mem: opts.memory.memory,
        load: (aLo: number, aHi: number, kind: number, dest: number, dp: number) => this.slowResult(this.loadSlow(aLo, aHi, kind, dest, dp)),
        store: (aLo: number, aHi: number, f3: number, vLo: number, vHi: number, dp: number) => this.slowResult(this.storeSlow(aLo, aHi, f3, vLo, vHi, dp)),
      },
    };
  }

  /** 0 done, 1 trapped, 2 done but a device or CSR wants the dispatcher's attention. */
  private slowResult(status: number): number {
    if (status !== 0) return 1;
    return this.loopExit ? 2 : 0;
  }

  override run(budget: number): StopReason {
    if (this.isTracing()) return super.run(budget);
    const i32 = this.i32, csr = this.csr;
    const pci = this.layout.pc >> 2;
    const TF = this.mmu.tlbIndex(Access.Fetch);
    let n = 0;
    let check = true;
    while (n < budget) {
      if (this.stopRequested) { this.stopRequested = false; return StopReason.Stopped; }
      if (check || this.loopExit) {
        this.loopExit = false;
        this.sliceN = 0;
        this.checkInterrupts();
        if (this.waiting) return StopReason.Wfi;
        check = false;
      }
      const pcLo = i32[pci], pcHi = i32[pci + 1];
      const e = TF + ((pcLo >>> 10) & 0xffc);
      if (i32[e] !== ((pcLo & -4096) | csr.priv) || i32[e + 1] !== pcHi) {
        // Not in the fetch TLB: one interpreted step fills it (or takes the fault).
        n += this.interpret(1);
        if (this.lastStop !== StopReason.Budget) return this.lastStop;
        continue;
      }
      const host = (pcLo + i32[e + 2]) >>> 0;
      let b = this.blocks.get(host);
      if (b === undefined) {
        b = { insns: scanBlock(this.u16, host, this.expand), count: 0, run: null, words: null, epoch: 0 };
        this.blocks.set(host, b);
      }
      if (b.run !== null && b.epoch !== this.codeEpoch) this.revalidate(b, host);
      if (b.run !== null) {
        const r = b.run(csr.dataPriv);
        this.stats.blockRuns++;
        const retired = r & (TRAP_FLAG - 1);
        this.retired += retired;
        n += retired;
        if (r & TRAP_FLAG) {
          n++;
          this.takeTrap(this.excCause, false, this.excTvalLo, this.excTvalHi, i32[pci], i32[pci + 1]);
        }
        continue;
      }
      if (b.insns.length > 0 && ++b.count > this.threshold) this.translate(b, host);
      n += this.interpret(Math.max(1, b.insns.length));
      if (this.lastStop !== StopReason.Budget) return this.lastStop;
    }
    return StopReason.Budget;
  }

  private lastStop: StopReason = StopReason.Budget;
  private interpret(steps: number): number {
    this.lastStop = this.runFast(steps, true);
    this.stats.interpretedSteps += this.lastSteps;
    return this.lastSteps;
  }

  private translate(b: Block, host: number): void {
    b.insns = scanBlock(this.u16, host, this.expand); // the bytes may have changed since the first scan
    if (b.insns.length === 0) return;
    const bytes = translateBlock(b.insns, this.layout, this.memLimits);
    const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>), this.imports);
    b.run = instance.exports.run as (dp: number) => number;
    const last = b.insns[b.insns.length - 1];
    b.words = this.u16.slice(host >>> 1, (host + last.offset + last.len) >>> 1);
    b.epoch = this.codeEpoch;
    this.stats.translated++;
  }

  /** After a FENCE.I: keep the translation only if the bytes it came from are unchanged. */
  private revalidate(b: Block, host: number): void {
    const w = b.words!;
    const at = host >>> 1;
    for (let i = 0; i < w.length; i++) {
      if (this.u16[at + i] !== w[i]) {
        b.run = null; b.words = null; b.count = 0;
        b.insns = scanBlock(this.u16, host, this.expand);
        this.stats.invalidated++;
        return;
      }
    }
    b.epoch = this.codeEpoch;
  }
}
