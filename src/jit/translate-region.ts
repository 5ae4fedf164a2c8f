import { BlockType, I32, I64, ModuleBuilder, type FunctionBuilder } from './wasm/index.js';
import { staticTarget, translation, type BlockAt } from './block-scan.js';
import { SPIN_PAUSES } from '../cpu/interpreter/interpreter-hart.js';
import { emitFpCompute, FpSupport, fpOperands, isFp, type FpContext, type FpOperands } from './translate-fp.js';

/** Where the generated code finds the hart's state in the machine memory (byte offsets). */
export interface HartLayout {
  x: number;
  pc: number;
  tlbRead: number;
  tlbWrite: number;
  tlbFetch: number;
  /** The LR reservation (hart-layout RESERVATION_OFFSET): int32 valid, i64 address at +8, value at +16. */
  reservation: number;
  /** The PAUSE counter (hart-layout PAUSE_COUNT_OFFSET), for harts with others beside them. */
  pauseCount: number;
  /** f0..f31 (raw bits), fflags, frm and mstatus's low word (hart-layout). */
  f: number;
  fflags: number;
  frm: number;
  mstatus: number;
}

/** A region returns the instructions it retired; this bit says the instruction after them trapped. */
export const TRAP_FLAG = 0x4000_0000;
/** This bit says the region stopped for the dispatcher (a device, a CSR or a stop wants attention). */
export const LEAVE_FLAG = 0x2000_0000;

/**
 * One block of the region: its offset from the start of the region's page (4096 and up: in the next
 * virtual page, see translateRegion) and its instructions.
 */
export type RegionBlock = BlockAt;

/** FENCE's predecessor W and successor R: the order x86-TSO does not keep (see the interpreter's FENCE). */
const FENCE_W_BEFORE_R = (1 << 24) | (1 << 21);
/** PAUSE (Zihintpause). */
const PAUSE = 0x0100000f;

const LOAD_OPS = ['i64Load8S', 'i64Load16S', 'i64Load32S', 'i64Load', 'i64Load8U', 'i64Load16U', 'i64Load32U'] as const;
const STORE_OPS = ['i64Store8', 'i64Store16', 'i64Store32', 'i64Store'] as const;
type MemOp = (offset?: number, align?: number) => FunctionBuilder;

/**
 * Translates the hot blocks of one guest page into a wasm module exporting
 * `run(priv: i32, dp: i32, entry: i32, budget: i32) -> i32`: it starts at the block at page offset
 * `entry` and keeps going from block to block inside the page (a `loop` around a `br_table` on the
 * page offset) until control leaves the page, reaches code that is not in the region, or `budget`
 * instructions have retired. Then it writes pc and the registers back and returns the count (TRAP_FLAG set if
 * the next instruction trapped: pc is then that instruction's and the trap is pending on the hart;
 * LEAVE_FLAG if the dispatcher must look before going on). Entered at an offset where it has no
 * block, it retires nothing and leaves pc as it was.
 *
 * The code is position independent: the page's virtual base comes from pc at entry, so one
 * translation serves every virtual address the physical page is mapped at. Staying inside the same
 * virtual page keeps the translation valid without a TLB check: nothing in a region changes
 * satp, privilege or the TLB (those instructions are never translated).
 *
 * Blocks at offsets 4096 and up come from the page that followed it in virtual memory when it was
 * translated (host page `nextHost`): loops often straddle a page boundary (busybox's sha256 rounds
 * cross it twice per round). Control crosses into them only by a static edge (a branch, a jump, or
 * falling off the page's end), after the fetch TLB (tagged with `priv`) shows that the next virtual
 * page still maps to that host page; otherwise it leaves.
 */
export function translateRegion(blocks: readonly RegionBlock[], layout: HartLayout, memory: { min: number; max: number; shared: boolean }, nextHost = -1): Uint8Array {
  const m = new ModuleBuilder();
  m.importMemory('env', 'mem', memory);
  /** Other harts share the memory: atomics, SC by compare-and-swap, fences (see amo). */
  const smp = memory.shared;
  // The slow paths get the instructions retired so far in the region (`pending`, as the helper does):
  // a device may read the time, which follows instret when the clock is deterministic.
  const fLoad = m.importFunction('env', 'load', m.type([I32, I32, I32, I32, I32, I32], [I32]));
  const fStore = m.importFunction('env', 'store', m.type([I32, I32, I32, I32, I32, I32, I32], [I32]));
  const fStep = m.importFunction('env', 'step', m.type([I32], [I32]));
  // A hart spinning on PAUSE (with other harts: see InterpreterHart.SPIN_PAUSES) stops its slice.
  const fSpin = smp ? m.importFunction('env', 'spin', m.type([], [])) : -1;
  const f = m.function(m.type([I32, I32, I32, I32], [I32]), { export: 'run' });
  const PRIV = 0, DP = 1, ENTRY = 2, BUDGET = 3;
  const hasNext = blocks.some((b) => b.offset >= 4096);
  if (hasNext && nextHost < 0) throw new RangeError('blocks past the page need the next page\'s host offset');
  const page = f.local(I64); // virtual address of the page
  const npc = f.local(I64);
  const addr = f.local(I64);
  const lo = f.local(I32);
  const ent = f.local(I32);
  const st = f.local(I32);
  const cnt = f.local(I32);
  const off = f.local(I32);
  const dp64 = f.local(I64); // DP as the low bits of an i64 TLB tag
  const ta = f.local(I64), tb = f.local(I64), tm = f.local(I64), tp = f.local(I64);

  const used = new Set<number>();
  const written = new Set<number>();
  const fUsed = new Set<number>();
  const fWritten = new Set<number>();
  for (const b of blocks) {
    for (const { insn } of b.insns) {
      const op = insn & 0x7f;
      if (isFp(insn)) {
        const o = fpOperands(insn);
        for (const r of o.xr) used.add(r);
        for (const r of o.xw) { used.add(r); written.add(r); }
        for (const r of o.fr) fUsed.add(r);
        for (const r of o.fw) { fUsed.add(r); fWritten.add(r); }
        continue;
      }
      if (translation(insn) !== 'inline' || op === 0x0f) continue; // helpers work on the registers in memory; FENCE on none
      const rd = (insn >>> 7) & 31, rs1 = (insn >>> 15) & 31, rs2 = (insn >>> 20) & 31;
      if (op !== 0x37 && op !== 0x17 && op !== 0x6f) used.add(rs1);
      if (op === 0x33 || op === 0x3b || op === 0x23 || op === 0x63 || op === 0x2f) used.add(rs2);
      if (op !== 0x23 && op !== 0x63) { used.add(rd); written.add(rd); }
    }
  }
  used.delete(0);
  written.delete(0);
  const reg = new Map<number, number>();
  for (const r of [...used].sort((a, b) => a - b)) reg.set(r, f.local(I64));
  const regAddr = (r: number) => layout.x + 8 * r;
  const freg = new Map<number, number>();
  for (const r of [...fUsed].sort((a, b) => a - b)) freg.set(r, f.local(I64));
  const fregAddr = (r: number) => layout.f + 8 * r;
  const getF = (r: number) => f.localGet(freg.get(r)!);
  const setF = (r: number) => f.localSet(freg.get(r)!);

  const get = (r: number) => (r === 0 ? f.i64Const(0) : f.localGet(reg.get(r)!));
  const set = (rd: number) => (rd === 0 ? f.drop() : f.localSet(reg.get(rd)!));
  const flush = () => {
    for (const r of written) f.i32Const(0).localGet(reg.get(r)!).i64Store(regAddr(r));
    for (const r of fWritten) f.i32Const(0).localGet(freg.get(r)!).i64Store(fregAddr(r));
  };
  const at = (pageOffset: number) => { f.localGet(page); if (pageOffset !== 0) f.i64Const(pageOffset).i64Add(); };
  const storePc = (pageOffset: number) => { f.i32Const(0); at(pageOffset); f.i64Store(layout.pc); };

  f.i32Const(0).i64Load(layout.pc).i64Const(-4096).i64And().localSet(page);
  for (const [r, l] of reg) f.i32Const(0).i64Load(regAddr(r)).localSet(l);
  for (const [r, l] of freg) f.i32Const(0).i64Load(fregAddr(r)).localSet(l);
  const fpSupport = new FpSupport(m, f);
  // The FP environment check of the block being emitted (FpContext.env), in a local once computed.
  let envLocal = -1;
  let envKnown = false;
  f.localGet(ENTRY).localSet(off);
  at(0); f.localGet(ENTRY).i64ExtendI32U().i64Add().localSet(npc); // pc stays put if there is no block at the entry
  f.localGet(DP).i64ExtendI32U().localSet(dp64);

  // Labels, innermost first: block k's code follows the `end` of label k. Depths from the br_table:
  // block k ↦ k; exit ↦ blocks.length; dispatch loop ↦ blocks.length + 1.
  const sorted = [...blocks].sort((a, b) => a.offset - b.offset);
  const indexOf = new Map<number, number>(sorted.map((b, i) => [b.offset, i]));
  f.loop(); // dispatch
  f.block(); // exit
  for (let i = sorted.length - 1; i >= 0; i--) f.block();
  const table = new Int32Array(4096).fill(sorted.length);
  for (const [o, i] of indexOf) table[o >>> 1] = i;
  // The table spans the blocks' halfwords only (an index below the first wraps to a huge unsigned one: default).
  const minHalf = sorted[0].offset >>> 1, maxHalf = sorted[sorted.length - 1].offset >>> 1;
  f.localGet(off).i32Const(1).i32ShrU();
  if (minHalf > 0) f.i32Const(minHalf).i32Sub();
  f.brTable(table.subarray(minHalf, maxHalf + 1), sorted.length);

  sorted.forEach((b, bi) => {
    f.end(); // block bi's label: its code starts here
    // Depth from inside block bi's code: exit = sorted.length - bi - 1, dispatch = exit + 1.
    emitBlock(b, bi, sorted.length - bi - 1);
  });
  f.end(); // exit: npc holds the next pc, cnt the instructions retired
  f.i32Const(0).localGet(npc).i64Store(layout.pc);
  flush();
  f.localGet(cnt).return();
  f.end(); // dispatch loop (never falls through)
  f.i32Const(0);
  return m.finish();

  /**
   * Emits one block. `exitDepth` is the branch depth of the exit label from the block's top level
   * (the dispatch loop is one further out).
   */
  function emitBlock(b: RegionBlock, bi: number, outerExitDepth: number): void {
    const insns = b.insns;
    // A block that branches back to its own start (a tight loop) runs inside a wasm `loop` of its
    // own, so each iteration is one `br` instead of a trip through the br_table.
    const lastInsn = insns[insns.length - 1];
    const selfLoop = lastInsn !== undefined && staticTarget(lastInsn, b.offset) === b.offset;
    const inner = selfLoop ? 1 : 0;
    const exitDepth = outerExitDepth + inner;
    if (selfLoop) f.loop();
    /**
     * Control continues at the statically known page offset `t`, from `extra` levels inside the
     * block's top level. A block of this region: straight there while the budget allows (a later
     * block's label is a forward `br`; an earlier one, or this one, goes round the dispatch loop with
     * `off` set, skipping the page check `next` needs); anything else leaves with npc set.
     */
    const goTo = (t: number, extra: number) => {
      const j = t >= 0 && t < 8192 ? indexOf.get(t) : undefined;
      if (j !== undefined) {
        f.localGet(cnt).localGet(BUDGET).i32LtS();
        if (t >= 4096 && b.offset < 4096) { nextPageMapped(); f.i32And(); } // crossing into the next page
        f.if();
        if (j > bi) f.br(j - bi - 1 + inner + extra + 1); // block j's label is j - bi - 1 out from the top level, +1 for the if
        else if (j === bi && selfLoop) f.br(extra + 1);
        else { f.i32Const(t).localSet(off); f.br(exitDepth + 1 + extra + 1); }
        f.end();
      }
      at(t); f.localSet(npc);
      f.br(exitDepth + extra);
    };
    /** Control continues wherever npc says: stay or leave. */
    const next = (depth: number) => {
      // Stay if npc is in the page and the budget allows (the next page's blocks are only reached
      // by static edges); the br_table sends it out again if there is no block at that offset.
      f.localGet(npc).localGet(page).i64Xor().i64Const(12).i64ShrU().i64Eqz();
      f.localGet(cnt).localGet(BUDGET).i32LtS().i32And();
      f.if();
      f.localGet(npc).i32WrapI64().i32Const(0xfff).i32And().localSet(off);
      f.br(depth + 2); // if → dispatch loop is exit + 1 further, +1 for the if itself
      f.end();
      f.br(depth);
    };
    // mstatus.FS is Dirty after any F/D instruction but a store (the interpreter leaves a store's FS
    // as it was), until a CSR instruction (which may write mstatus) runs: no need to check it again.
    let fsDirty = false;
    envKnown = false;
    insns.forEach(({ insn, len, offset: rel }, k) => {
      const o = b.offset + rel;
      const op = insn & 0x7f;
      const rd = (insn >>> 7) & 31, rs1 = (insn >>> 15) & 31, rs2 = (insn >>> 20) & 31;
      const f3 = (insn >>> 12) & 7, f7 = insn >>> 25;
      const immI = insn >> 20;
      const retireUpTo = (n: number) => { f.localGet(cnt).i32Const(n).i32Add().localSet(cnt); };
      if (translation(insn) === 'helper') { helperStep(insn, k, o, exitDepth); fsDirty = false; envKnown = false; }
      else if (isFp(insn)) { fp(insn, k, o, len, exitDepth, fsDirty); if (op !== 0x27) fsDirty = true; }
      else switch (op) {
        case 0x37: f.i64Const(insn & 0xfffff000); set(rd); break;
        case 0x17: at(o + (insn & 0xfffff000)); set(rd); break;
        case 0x13: {
          const sh = immI & 63;
          get(rs1);
          if (f3 === 1) f.i64Const(sh).i64Shl();
          else if (f3 === 5) { f.i64Const(sh); if (f7 & 0x20) f.i64ShrS(); else f.i64ShrU(); }
          else {
            f.i64Const(immI);
            switch (f3) {
              case 0: f.i64Add(); break;
              case 2: f.i64LtS().i64ExtendI32U(); break;
              case 3: f.i64LtU().i64ExtendI32U(); break;
              case 4: f.i64Xor(); break;
              case 6: f.i64Or(); break;
              case 7: f.i64And(); break;
            }
          }
          set(rd);
          break;
        }
        case 0x1b: {
          get(rs1); f.i32WrapI64();
          f.i32Const(f3 === 0 ? immI : immI & 31);
          if (f3 === 0) f.i32Add(); else if (f3 === 1) f.i32Shl(); else if (f7 & 0x20) f.i32ShrS(); else f.i32ShrU();
          f.i64ExtendI32S();
          set(rd);
          break;
        }
        case 0x0f: // FENCE: one hart, devices act at once; with several, x86 may run a later load before an earlier store
          if (smp && (insn & FENCE_W_BEFORE_R) === FENCE_W_BEFORE_R) f.atomicFence();
          else if (smp && insn === PAUSE) pauseHint(k, o, len, exitDepth);
          break;
        case 0x2f: amo(insn, k, o, exitDepth); break;
        case 0x33: {
          if (f7 === 1 && f3 >= 4) { divRem64(rs1, rs2, f3); set(rd); break; }
          if (f7 === 1 && f3 !== 0) { mulHigh(rs1, rs2, f3); set(rd); break; }
          get(rs1); get(rs2);
          if (f7 === 1) f.i64Mul();
          else if (f7 === 0x20) { if (f3 === 0) f.i64Sub(); else f.i64ShrS(); }
          else {
            switch (f3) {
              case 0: f.i64Add(); break;
              case 1: f.i64Shl(); break; // wasm masks the count to 6 bits, as RV64 does
              case 2: f.i64LtS().i64ExtendI32U(); break;
              case 3: f.i64LtU().i64ExtendI32U(); break;
              case 4: f.i64Xor(); break;
              case 5: f.i64ShrU(); break;
              case 6: f.i64Or(); break;
              case 7: f.i64And(); break;
            }
          }
          set(rd);
          break;
        }
        case 0x3b: {
          if (f7 === 1 && f3 >= 4) { divRem32(rs1, rs2, f3); f.i64ExtendI32S(); set(rd); break; }
          get(rs1); f.i32WrapI64(); get(rs2); f.i32WrapI64();
          if (f7 === 1) f.i32Mul();
          else if (f7 === 0x20) { if (f3 === 0) f.i32Sub(); else f.i32ShrS(); }
          else if (f3 === 0) f.i32Add(); else if (f3 === 1) f.i32Shl(); else f.i32ShrU();
          f.i64ExtendI32S();
          set(rd);
          break;
        }
        case 0x03: {
          const size = 1 << (f3 & 3);
          get(rs1); f.i64Const(immI).i64Add().localSet(addr);
          tlbHit(layout.tlbRead, size);
          f.if(BlockType.I64);
          hostAddr();
          (f[LOAD_OPS[f3]] as MemOp)(0, 1);
          f.else();
          f.localGet(lo).localGet(addr).i64Const(32).i64ShrU().i32WrapI64().i32Const(f3).i32Const(rd === 0 ? -1 : regAddr(rd) >> 2).localGet(DP);
          f.localGet(cnt).i32Const(k).i32Add().call(fLoad);
          slowStatus(k, o, len, exitDepth + 1, rd);
          if (rd === 0) f.i64Const(0); else f.i32Const(0).i64Load(regAddr(rd));
          f.end();
          set(rd);
          break;
        }
        case 0x23: {
          const size = 1 << f3;
          const immS = ((insn >> 25) << 5) | ((insn >>> 7) & 31);
          get(rs1); f.i64Const(immS).i64Add().localSet(addr);
          tlbHit(layout.tlbWrite, size);
          f.if();
          hostAddr(); get(rs2);
          (f[STORE_OPS[f3]] as MemOp)(0, 1);
          f.else();
          f.localGet(lo).localGet(addr).i64Const(32).i64ShrU().i32WrapI64().i32Const(f3);
          get(rs2); f.i32WrapI64(); get(rs2); f.i64Const(32).i64ShrU().i32WrapI64();
          f.localGet(DP).localGet(cnt).i32Const(k).i32Add().call(fStore);
          slowStatus(k, o, len, exitDepth + 1);
          f.end();
          break;
        }
        case 0x63: {
          get(rs1); get(rs2);
          switch (f3) {
            case 0: f.i64Eq(); break;
            case 1: f.i64Ne(); break;
            case 4: f.i64LtS(); break;
            case 5: f.i64GeS(); break;
            case 6: f.i64LtU(); break;
            case 7: f.i64GeU(); break;
          }
          retireUpTo(k + 1);
          f.if();
          goTo(staticTarget(b.insns[k], b.offset)!, 1);
          f.else();
          goTo(o + len, 1);
          f.end();
          return;
        }
        case 0x6f: {
          at(o + len); set(rd);
          retireUpTo(k + 1);
          goTo(staticTarget(b.insns[k], b.offset)!, 0);
          return;
        }
        case 0x67: { // JALR: the target from rs1 before rd is written (they may be the same register)
          get(rs1); f.i64Const(immI).i64Add().i64Const(-2).i64And().localSet(npc);
          at(o + len); set(rd);
          retireUpTo(k + 1);
          next(exitDepth);
          return;
        }
      }
      if (k === insns.length - 1) { // the block ended before an instruction the region does not translate
        retireUpTo(k + 1);
        goTo(o + len, 0);
      }
    });
    if (selfLoop) f.end();
  }

  /**
   * Pushes whether the virtual page after the region's still maps to host page `nextHost` in the
   * fetch TLB, for the current privilege (hart-layout: tag | priv and high word as one i64, then the
   * host offset minus the virtual address).
   */
  function nextPageMapped(): void {
    f.localGet(page).i64Const(4096).i64Add().localTee(addr);
    f.i32WrapI64().i32Const(8).i32ShrU().i32Const(0x3ff0).i32And().i32Const(layout.tlbFetch).i32Add().localTee(ent);
    f.i64Load(0).localGet(addr).localGet(PRIV).i64ExtendI32U().i64Or().i64Eq();
    f.localGet(ent).i32Load(8).localGet(addr).i32WrapI64().i32Add().i32Const(nextHost).i32Eq().i32And();
  }

  /**
   * PAUSE with other harts beside this one: counts it, and after SPIN_PAUSES in one run the hart is
   * spinning: tell the runner (`spin`) and leave after the instruction (see InterpreterHart.takeSpin).
   */
  function pauseHint(k: number, o: number, len: number, exitDepth: number): void {
    f.i32Const(0).i32Const(0).i32Load(layout.pauseCount).i32Const(1).i32Add().localTee(st).i32Store(layout.pauseCount);
    f.localGet(st).i32Const(SPIN_PAUSES).i32GeS();
    f.if();
    f.call(fSpin);
    at(o + len); f.localSet(npc);
    f.localGet(cnt).i32Const((k + 1) | LEAVE_FLAG).i32Add().localSet(cnt);
    f.br(exitDepth + 1);
    f.end();
  }

  /**
   * F and D (translate-fp.ts): loads and stores here, like the integer ones (TLB probe, slow path
   * through the interpreter), with mstatus.FS Dirty required (else the helper); the rest there.
   * `exitDepth` is the exit label's depth at the instruction.
   */
  function fp(insn: number, k: number, o: number, len: number, exitDepth: number, fsDirty: boolean): void {
    const op = insn & 0x7f, f3 = (insn >>> 12) & 7, rs1 = (insn >>> 15) & 31;
    const regs = fpOperands(insn);
    if (op !== 0x07 && op !== 0x27) {
      const c: FpContext = {
        f, getX: (r) => get(r), setX: (r) => set(r), getF, setF,
        helper: (depth) => helperStep(insn, k, o, exitDepth + depth, regs),
        fflags: layout.fflags, frm: layout.frm, mstatus: layout.mstatus, support: fpSupport, fsDirty,
        env: () => {
          if (envKnown) { f.localGet(envLocal); return; }
          if (envLocal < 0) envLocal = f.local(I32);
          // fflags (low word) with NX set and frm (high word) RNE, read as one i64; and FS Dirty.
          f.i32Const(0).i64Load(layout.fflags).i64Const(-0x1_0000_0000n | 1n).i64And().i64Const(1).i64Eq();
          if (!fsDirty) f.i32Const(0).i32Load(layout.mstatus).i32Const(0x6000).i32And().i32Const(0x6000).i32Eq().i32And();
          f.localTee(envLocal);
          envKnown = true;
        },
      };
      emitFpCompute(c, insn);
      return;
    }
    if (f3 !== 2 && f3 !== 3) { helperStep(insn, k, o, exitDepth, regs); return; } // illegal width
    const size = f3 === 3 ? 8 : 4;
    const nest = fsDirty ? 0 : 1; // without the FS check, one `if` less around the access
    if (!fsDirty) {
      f.i32Const(0).i32Load(layout.mstatus).i32Const(0x6000).i32And().i32Const(0x6000).i32Eq();
      f.if();
    }
    if (op === 0x07) { // FLW, FLD: a single is NaN-boxed
      const rd = (insn >>> 7) & 31, imm = insn >> 20;
      get(rs1); f.i64Const(imm).i64Add().localSet(addr);
      tlbHit(layout.tlbRead, size);
      f.if(BlockType.I64);
      hostAddr();
      if (size === 8) f.i64Load(0, 1); else f.i64Load32U(0, 1).i64Const(-0x1_0000_0000).i64Or();
      f.else();
      f.localGet(lo).localGet(addr).i64Const(32).i64ShrU().i32WrapI64().i32Const(size === 8 ? 3 : 8).i32Const(fregAddr(rd) >> 2).localGet(DP);
      f.localGet(cnt).i32Const(k).i32Add().call(fLoad);
      slowStatus(k, o, len, exitDepth + 1 + nest, 0, rd);
      f.i32Const(0).i64Load(fregAddr(rd));
      f.end();
      setF(rd);
    } else { // FSW, FSD
      const rs2 = (insn >>> 20) & 31, immS = ((insn >> 25) << 5) | ((insn >>> 7) & 31);
      get(rs1); f.i64Const(immS).i64Add().localSet(addr);
      tlbHit(layout.tlbWrite, size);
      f.if();
      hostAddr(); getF(rs2);
      if (size === 8) f.i64Store(0, 1); else f.i64Store32(0, 1);
      f.else();
      f.localGet(lo).localGet(addr).i64Const(32).i64ShrU().i32WrapI64().i32Const(f3);
      getF(rs2); f.i32WrapI64(); getF(rs2); f.i64Const(32).i64ShrU().i32WrapI64();
      f.localGet(DP).localGet(cnt).i32Const(k).i32Add().call(fStore);
      slowStatus(k, o, len, exitDepth + 1 + nest);
      f.end();
    }
    if (!fsDirty) {
      f.else();
      helperStep(insn, k, o, exitDepth + 1, regs);
      f.end();
    }
  }

  /**
   * MULH (f3 1), MULHSU (2), MULHU (3): the high 64 bits of the 128-bit product, from 32-bit limbs
   * (wasm has no wide multiply); signed forms correct the unsigned product by the two's complement
   * identity hi(a·b) = hiu(a·b) − (a < 0 ? b : 0) − (b < 0 ? a : 0). Pushes the result.
   */
  function mulHigh(rs1: number, rs2: number, f3: number): void {
    const M32 = 0xffffffff;
    get(rs1); f.localSet(ta);
    get(rs2); f.localSet(tb);
    // tm = (a0·b0 >> 32) + lo32(a0·b1) + lo32(a1·b0): the carry column, < 3·2^32
    f.localGet(ta).i64Const(M32).i64And().localGet(tb).i64Const(M32).i64And().i64Mul().i64Const(32).i64ShrU();
    f.localGet(ta).i64Const(M32).i64And().localGet(tb).i64Const(32).i64ShrU().i64Mul().localTee(tp).i64Const(M32).i64And().i64Add();
    f.localGet(ta).i64Const(32).i64ShrU().localGet(tb).i64Const(M32).i64And().i64Mul().localTee(tm).i64Const(M32).i64And().i64Add();
    // result = a1·b1 + hi32(a0·b1) + hi32(a1·b0) + (column >> 32)
    f.i64Const(32).i64ShrU();
    f.localGet(tp).i64Const(32).i64ShrU().i64Add();
    f.localGet(tm).i64Const(32).i64ShrU().i64Add();
    f.localGet(ta).i64Const(32).i64ShrU().localGet(tb).i64Const(32).i64ShrU().i64Mul().i64Add();
    if (f3 === 1 || f3 === 2) { // a signed: subtract b if a < 0
      f.localGet(tb).i64Const(0).localGet(ta).i64Const(0).i64LtS().select().i64Sub();
    }
    if (f3 === 1) { // b signed: subtract a if b < 0
      f.localGet(ta).i64Const(0).localGet(tb).i64Const(0).i64LtS().select().i64Sub();
    }
  }

  /**
   * The A extension (unprivileged spec chapter 8): LR, SC and the AMOs run inline on an aligned
   * address that hits the TLB (the write TLB for SC and the AMOs: an entry there means the page may
   * be written, and so read); anything else (misaligned, a miss, MMIO, an illegal form) goes to the
   * interpreter. The reservation lives in the hart's memory, shared with it. On one hart (`smp` off)
   * they are plain loads and stores and aq/rl order nothing. With several harts they are wasm
   * atomics (locked instructions on x86, full barriers: aq/rl need nothing more); an SC is a
   * compare-and-swap against the value its LR read, as in the interpreter; AMOMIN/MAX, which wasm
   * lacks, loop on a compare-and-swap. `exitDepth` is the exit label's depth at the instruction.
   */
  function amo(insn: number, k: number, o: number, exitDepth: number): void {
    const f5 = insn >>> 27, dbl = ((insn >>> 12) & 7) === 3, size = dbl ? 8 : 4;
    const rd = (insn >>> 7) & 31, rs2 = (insn >>> 20) & 31;
    const known = [0x00, 0x01, 0x02, 0x03, 0x04, 0x08, 0x0c, 0x10, 0x14, 0x18, 0x1c].includes(f5);
    if (!known || (f5 === 0x02 && rs2 !== 0) || (((insn >>> 12) & 7) !== 2 && !dbl)) { helperStep(insn, k, o, exitDepth); return; }
    const res = layout.reservation;
    get((insn >>> 15) & 31); f.localSet(addr);
    const aligned = () => { f.localGet(addr).i32WrapI64().i32Const(size - 1).i32And().i32Eqz(); };
    const load = () => { if (dbl) f.i64Load(); else f.i64Load32S(); };
    const store = () => { if (dbl) f.i64Store(); else f.i64Store32(); };
    const setReservation = (valid: boolean) => {
      f.i32Const(0).i32Const(valid ? 1 : 0).i32Store(res);
      if (valid) f.i32Const(0).localGet(addr).i64Store(res + 8);
    };
    /** rs2 as the operand: a word's low 32 bits sign-extended (or as an i32 for the word atomics). */
    const b = () => { get(rs2); if (!dbl) f.i32WrapI64().i64ExtendI32S(); };
    const b32 = () => { get(rs2); f.i32WrapI64(); };
    if (f5 === 0x03) { // SC: stores only with a reservation on this address; rd = 0 if it did, 1 if not
      aligned();
      f.if();
      f.i32Const(0).i32Load(res).i32Const(0).i64Load(res + 8).localGet(addr).i64Eq().i32And();
      f.if();
      tlbHit(layout.tlbWrite, size);
      f.if();
      if (!smp) {
        hostAddr(); get(rs2); store();
        setReservation(false);
        f.i64Const(0); set(rd);
      } else {
        // Compare-and-swap against the value the LR read: 0 (success) if memory still held it.
        hostAddr();
        if (dbl) { f.i32Const(0).i64Load(res + 16).localTee(tm); get(rs2); f.i64AtomicRmwCmpxchg().localGet(tm).i64Ne(); }
        else { f.i32Const(0).i32Load(res + 16).localTee(st); b32(); f.i32AtomicRmwCmpxchg().localGet(st).i32Ne(); }
        f.i64ExtendI32U(); set(rd);
        setReservation(false);
      }
      f.else();
      helperStep(insn, k, o, exitDepth + 3); // the interpreter translates (the reservation still stands)
      f.end();
      f.else();
      setReservation(false);
      f.i64Const(1); set(rd);
      f.end();
      f.else();
      helperStep(insn, k, o, exitDepth + 1); // misaligned: the interpreter raises it
      f.end();
      return;
    }
    aligned();
    tlbHit(f5 === 0x02 ? layout.tlbRead : layout.tlbWrite, size);
    f.i32And();
    f.if();
    hostAddr(); f.localSet(ent); // (the entry's address is no longer needed: ent holds the host address now)
    if (f5 === 0x02) { // LR
      if (smp && (insn & (1 << 25)) !== 0) f.atomicFence(); // .rl: earlier stores before it
      f.localGet(ent); load();
      if (smp) { f.localTee(tm); set(rd); f.i32Const(0).localGet(tm).i64Store(res + 16); } // what an SC compares against
      else set(rd);
      setReservation(true);
    } else if (smp && f5 >= 0x10) { // min/max: compare-and-swap until no other hart got in between
      f.loop(BlockType.I64);
      f.localGet(ent); if (dbl) f.i64AtomicLoad(); else f.i32AtomicLoad().i64ExtendI32S();
      f.localSet(tm); // the old value, sign-extended for .W
      f.localGet(ent);
      if (dbl) f.localGet(tm); else f.localGet(tm).i32WrapI64();
      pickMinMax(f5, b, dbl);
      if (dbl) f.i64AtomicRmwCmpxchg().localGet(tm).i64Ne();
      else f.i32WrapI64().i32AtomicRmwCmpxchg().localGet(tm).i32WrapI64().i32Ne();
      f.brIf(0);
      f.localGet(tm);
      f.end();
      set(rd);
    } else if (smp) {
      f.localGet(ent);
      switch (f5) {
        case 0x00: if (dbl) { b(); f.i64AtomicRmwAdd(); } else { b32(); f.i32AtomicRmwAdd(); } break;
        case 0x01: if (dbl) { b(); f.i64AtomicRmwXchg(); } else { b32(); f.i32AtomicRmwXchg(); } break;
        case 0x04: if (dbl) { b(); f.i64AtomicRmwXor(); } else { b32(); f.i32AtomicRmwXor(); } break;
        case 0x0c: if (dbl) { b(); f.i64AtomicRmwAnd(); } else { b32(); f.i32AtomicRmwAnd(); } break;
        default: if (dbl) { b(); f.i64AtomicRmwOr(); } else { b32(); f.i32AtomicRmwOr(); } break; // 0x08
      }
      if (!dbl) f.i64ExtendI32S();
      set(rd);
    } else {
      f.localGet(ent); load(); f.localSet(tm); // the old value, sign-extended for .W
      f.localGet(ent);
      switch (f5) {
        case 0x00: f.localGet(tm); b(); f.i64Add(); break; // AMOADD
        case 0x01: b(); break; // AMOSWAP
        case 0x04: f.localGet(tm); b(); f.i64Xor(); break;
        case 0x0c: f.localGet(tm); b(); f.i64And(); break;
        case 0x08: f.localGet(tm); b(); f.i64Or(); break;
        default: pickMinMax(f5, b, dbl);
      }
      store();
      f.localGet(tm); set(rd);
    }
    f.else();
    helperStep(insn, k, o, exitDepth + 1);
    f.end();
  }

  /**
   * Pushes the new value of AMOMIN (f5 0x10), AMOMAX (0x14), AMOMINU (0x18) or AMOMAXU (0x1c) from the
   * old value in `tm` (sign-extended for a word) and the operand `b` pushes; unsigned word compares
   * look at the low 32 bits only.
   */
  function pickMinMax(f5: number, b: () => void, dbl: boolean): void {
    const u = (v: () => void) => { v(); if (!dbl) f.i64Const(0xffff_ffff).i64And(); };
    const old = () => { f.localGet(tm); };
    switch (f5) {
      case 0x10: old(); b(); old(); b(); f.i64LtS().select(); break; // AMOMIN
      case 0x14: b(); old(); old(); b(); f.i64LtS().select(); break; // AMOMAX
      case 0x18: old(); b(); u(old); u(b); f.i64LtU().select(); break; // AMOMINU
      default: b(); old(); u(old); u(b); f.i64LtU().select(); break; // AMOMAXU
    }
  }

  /**
   * DIV (f3 4), DIVU (5), REM (6), REMU (7) with RISC-V's results where wasm would trap (unprivileged
   * spec 13.2): x/0 is all ones and x%0 is x; the overflowing MIN/-1 is MIN (wasm's rem_s already
   * gives 0 there). Pushes the result.
   */
  function divRem64(rs1: number, rs2: number, f3: number): void {
    get(rs2); f.i64Eqz();
    f.if(BlockType.I64);
    if (f3 < 6) f.i64Const(-1); else get(rs1);
    f.else();
    if (f3 === 4) {
      get(rs1); f.i64Const(-(1n << 63n)).i64Eq(); get(rs2); f.i64Const(-1).i64Eq().i32And();
      f.if(BlockType.I64); f.i64Const(-(1n << 63n)); f.else(); get(rs1); get(rs2); f.i64DivS(); f.end();
    } else {
      get(rs1); get(rs2);
      if (f3 === 5) f.i64DivU(); else if (f3 === 6) f.i64RemS(); else f.i64RemU();
    }
    f.end();
  }

  /** DIVW, DIVUW, REMW, REMUW: as divRem64 on the low 32 bits; pushes the 32-bit result. */
  function divRem32(rs1: number, rs2: number, f3: number): void {
    const a = () => { get(rs1); f.i32WrapI64(); };
    const b = () => { get(rs2); f.i32WrapI64(); };
    b(); f.i32Eqz();
    f.if(BlockType.I32);
    if (f3 < 6) f.i32Const(-1); else a();
    f.else();
    if (f3 === 4) {
      a(); f.i32Const(-0x8000_0000).i32Eq(); b(); f.i32Const(-1).i32Eq().i32And();
      f.if(BlockType.I32); f.i32Const(-0x8000_0000); f.else(); a(); b(); f.i32DivS(); f.end();
    } else {
      a(); b();
      if (f3 === 5) f.i32DivU(); else if (f3 === 6) f.i32RemS(); else f.i32RemU();
    }
    f.end();
  }

  /**
   * Runs the k-th instruction of a block (at page offset `o`) in the interpreter, passing along the
   * instructions retired so far (counters must read right). A helper instruction reads at most the
   * integer registers rs1 and rs2 and writes at most rd (CSR, AMO, FP, division: see block-scan), so
   * only those go to memory first and only rd comes back. The interpreter leaves pc where execution
   * goes on; status 1 (it trapped, or a stop is pending) or 2 (it retired, but the dispatcher must look:
   * a CSR changed interrupt or translation state) leaves the region through its one exit.
   */
  function helperStep(insn: number, k: number, o: number, exitDepth: number, fpRegs?: FpOperands): void {
    const rd = (insn >>> 7) & 31;
    // Integer instructions read at most rs1 and rs2 and write at most rd; F/D ones say what they touch.
    const xs = fpRegs ? [...fpRegs.xr, ...fpRegs.xw] : [(insn >>> 15) & 31, (insn >>> 20) & 31, rd];
    for (const r of new Set(xs)) {
      if (written.has(r)) f.i32Const(0).localGet(reg.get(r)!).i64Store(regAddr(r));
    }
    for (const r of new Set(fpRegs ? [...fpRegs.fr, ...fpRegs.fw] : [])) {
      if (fWritten.has(r)) f.i32Const(0).localGet(freg.get(r)!).i64Store(fregAddr(r));
    }
    storePc(o);
    f.localGet(cnt).i32Const(k).i32Add().call(fStep).localTee(st);
    for (const r of fpRegs ? fpRegs.xw : [rd]) if (reg.has(r)) f.i32Const(0).i64Load(regAddr(r)).localSet(reg.get(r)!);
    for (const r of fpRegs ? fpRegs.fw : []) f.i32Const(0).i64Load(fregAddr(r)).localSet(freg.get(r)!);
    f.if();
    f.i32Const(0).i64Load(layout.pc).localSet(npc);
    f.localGet(cnt).i32Const(k | LEAVE_FLAG).i32Add().localGet(st).i32Const(1).i32ShrU().i32Add().localSet(cnt);
    f.br(exitDepth + 1);
    f.end();
  }

  /**
   * Leaves the TLB entry's byte address in `ent`; pushes "hit": the entry's tag word and high word,
   * compared as one little-endian i64 (hart-layout: tag at +0, high word at +4), equal the address's
   * page with the data privilege in its low bits, and the access does not cross into the next page.
   */
  function tlbHit(tlb: number, size: number): void {
    f.localGet(addr).i32WrapI64().localTee(lo);
    f.i32Const(8).i32ShrU().i32Const(0x3ff0).i32And().i32Const(tlb).i32Add().localTee(ent); // 16-byte entry (addr >> 12) & 1023
    f.i64Load(0).localGet(addr).i64Const(-4096).i64And().localGet(dp64).i64Or().i64Eq();
    // Misaligned is fine while the access stays in the page (wasm loads and stores take any address).
    if (size > 1) f.localGet(lo).i32Const(0xfff).i32And().i32Const(4096 - size).i32LeU().i32And();
  }
  function hostAddr(): void {
    f.localGet(lo).localGet(ent).i32Load(8).i32Add();
  }

  /**
   * After the slow path of the k-th instruction of a block (at page offset `o`) returned its status:
   * 0 carries on; 1 (a trap is pending on the hart) and 2 (done, but a device wants the dispatcher)
   * leave through the region's one exit, which writes pc and the registers back. The slow path needs
   * no register in memory (it gets the address and value as arguments) and writes a load's result to
   * rd's memory slot, so that is reloaded on 2; on a trap rd keeps its value. `exitDepth` is the exit
   * label's depth at the call.
   */
  function slowStatus(k: number, o: number, len: number, exitDepth: number, loadedReg = 0, loadedF = -1): void {
    f.localTee(st);
    f.if();
    f.localGet(st).i32Const(1).i32Eq();
    f.if();
    at(o); f.localSet(npc);
    f.localGet(cnt).i32Const(k | TRAP_FLAG).i32Add().localSet(cnt);
    f.else();
    if (loadedReg !== 0) f.i32Const(0).i64Load(regAddr(loadedReg)).localSet(reg.get(loadedReg)!);
    if (loadedF >= 0) f.i32Const(0).i64Load(fregAddr(loadedF)).localSet(freg.get(loadedF)!);
    at(o + len); f.localSet(npc);
    f.localGet(cnt).i32Const((k + 1) | LEAVE_FLAG).i32Add().localSet(cnt);
    f.end();
    f.br(exitDepth + 1);
    f.end();
  }
}
