import { BlockType, I32, I64, ModuleBuilder, type FunctionBuilder } from './wasm/index.js';
import type { BlockInsn } from './block-scan.js';

/** Where the block's code finds the hart's state in the machine memory (byte offsets). */
export interface HartLayout {
  x: number;
  pc: number;
  tlbRead: number;
  tlbWrite: number;
}

/** A block returns the number of instructions it retired; this bit says the next one trapped. */
export const TRAP_FLAG = 0x1000;

/** The JS side of the slow paths, with the interpreter's signatures (see InterpreterHart.loadSlow/storeSlow). */
export interface SlowPaths {
  /** Returns 0 done, 1 trapped (pending on the hart), 2 done but leave the block (a device wants attention). */
  load(aLo: number, aHi: number, kind: number, dest: number, dp: number): number;
  store(aLo: number, aHi: number, f3: number, vLo: number, vHi: number, dp: number): number;
}

const LOAD_OPS = ['i64Load8S', 'i64Load16S', 'i64Load32S', 'i64Load', 'i64Load8U', 'i64Load16U', 'i64Load32U'] as const;
const STORE_OPS = ['i64Store8', 'i64Store16', 'i64Store32', 'i64Store'] as const;

/**
 * Translates one block into a wasm module exporting `run(dp: i32) -> i32`. The code is position
 * independent: it reads pc from the machine memory at entry and computes every pc-relative value
 * from it, so one translation serves every virtual address the same physical code is mapped at.
 * Registers live in i64 locals for the block and are written back at every exit and before every
 * call to a slow path, so a trap sees exactly the state the interpreter would leave.
 */
export function translateBlock(block: readonly BlockInsn[], layout: HartLayout, memory: { min: number; max: number; shared: boolean }): Uint8Array {
  const m = new ModuleBuilder();
  m.importMemory('env', 'mem', memory);
  const tLoad = m.type([I32, I32, I32, I32, I32], [I32]);
  const tStore = m.type([I32, I32, I32, I32, I32, I32], [I32]);
  const fLoad = m.importFunction('env', 'load', tLoad);
  const fStore = m.importFunction('env', 'store', tStore);
  const f = m.function(m.type([I32], [I32]), { export: 'run' });
  const DP = 0;
  const pc0 = f.local(I64);
  const addr = f.local(I64);
  const lo = f.local(I32);
  const ent = f.local(I32);
  const st = f.local(I32);
  // Registers used anywhere in the block get a local, loaded at entry.
  const used = new Set<number>();
  const written = new Set<number>();
  for (const { insn } of block) {
    const op = insn & 0x7f;
    const rd = (insn >>> 7) & 31, rs1 = (insn >>> 15) & 31, rs2 = (insn >>> 20) & 31;
    if (op !== 0x37 && op !== 0x17 && op !== 0x6f) used.add(rs1);
    if (op === 0x33 || op === 0x3b || op === 0x23 || op === 0x63) used.add(rs2);
    if (op !== 0x23 && op !== 0x63) { used.add(rd); written.add(rd); }
  }
  used.delete(0);
  written.delete(0);
  const reg = new Map<number, number>();
  for (const r of used) reg.set(r, f.local(I64));
  const regAddr = (r: number) => layout.x + 8 * r;

  f.i32Const(0).i64Load(layout.pc).localSet(pc0);
  for (const [r, l] of reg) f.i32Const(0).i64Load(regAddr(r)).localSet(l);

  const get = (r: number) => (r === 0 ? f.i64Const(0) : f.localGet(reg.get(r)!));
  /** Pops an i64 into rd (dropped for x0). */
  const set = (rd: number) => (rd === 0 ? f.drop() : f.localSet(reg.get(rd)!));
  const flush = () => { for (const r of written) f.i32Const(0).localGet(reg.get(r)!).i64Store(regAddr(r)); };
  const pcPlus = (delta: number) => { f.localGet(pc0).i64Const(delta).i64Add(); };
  const setPc = (delta: number) => { f.i32Const(0); pcPlus(delta); f.i64Store(layout.pc); };
  const exitWith = (retired: number) => { flush(); f.i32Const(retired).return(); };

  /** Leaves the TLB entry's int32 address in `ent` and pushes "hit" (tag, high word and alignment match). */
  const tlbHit = (tlb: number, size: number) => {
    f.localGet(addr).i32WrapI64().localSet(lo);
    f.localGet(lo).i32Const(12).i32ShrU().i32Const(1023).i32And().i32Const(4).i32Shl().i32Const(tlb).i32Add().localSet(ent);
    f.localGet(ent).i32Load(0).localGet(lo).i32Const(-4096).i32And().localGet(DP).i32Or().i32Eq();
    f.localGet(ent).i32Load(4).localGet(addr).i64Const(32).i64ShrU().i32WrapI64().i32Eq().i32And();
    if (size > 1) f.localGet(lo).i32Const(size - 1).i32And().i32Eqz().i32And();
  };
  const hostAddr = () => { f.localGet(lo).localGet(ent).i32Load(8).i32Add(); };
  const effAddr = (rs1: number, imm: number) => { get(rs1); f.i64Const(imm).i64Add().localSet(addr); };

  block.forEach(({ insn, len, offset }, k) => {
    const op = insn & 0x7f;
    const rd = (insn >>> 7) & 31, rs1 = (insn >>> 15) & 31, rs2 = (insn >>> 20) & 31;
    const f3 = (insn >>> 12) & 7, f7 = insn >>> 25;
    const immI = insn >> 20;
    switch (op) {
      case 0x37: f.i64Const(insn & 0xfffff000); set(rd); break; // LUI (sign-extended)
      case 0x17: pcPlus(offset + (insn & 0xfffff000)); set(rd); break; // AUIPC
      case 0x13: { // OP-IMM
        const sh = immI & 63;
        if (f3 === 1) { get(rs1); f.i64Const(sh).i64Shl(); }
        else if (f3 === 5) { get(rs1); f.i64Const(sh); if (f7 & 0x20) f.i64ShrS(); else f.i64ShrU(); }
        else {
          get(rs1); f.i64Const(immI);
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
      case 0x1b: { // OP-IMM-32
        get(rs1); f.i32WrapI64();
        f.i32Const(f3 === 0 ? immI : immI & 31);
        if (f3 === 0) f.i32Add(); else if (f3 === 1) f.i32Shl(); else if (f7 & 0x20) f.i32ShrS(); else f.i32ShrU();
        f.i64ExtendI32S();
        set(rd);
        break;
      }
      case 0x33: { // OP (MUL is the only M instruction the scanner lets through)
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
      case 0x3b: { // OP-32 (MULW the only M one)
        get(rs1); f.i32WrapI64(); get(rs2); f.i32WrapI64();
        if (f7 === 1) f.i32Mul();
        else if (f7 === 0x20) { if (f3 === 0) f.i32Sub(); else f.i32ShrS(); }
        else if (f3 === 0) f.i32Add(); else if (f3 === 1) f.i32Shl(); else f.i32ShrU();
        f.i64ExtendI32S();
        set(rd);
        break;
      }
      case 0x03: { // LOAD: inline TLB probe, slow path through the interpreter's loadSlow
        const size = 1 << (f3 & 3);
        effAddr(rs1, immI);
        tlbHit(layout.tlbRead, size);
        f.if(BlockType.I64);
        hostAddr();
        (f[LOAD_OPS[f3]] as (o?: number, a?: number) => FunctionBuilder)(0, 1);
        f.else();
        slowCall(() => {
          f.localGet(lo).localGet(addr).i64Const(32).i64ShrU().i32WrapI64().i32Const(f3).i32Const(rd === 0 ? -1 : regAddr(rd) >> 2).localGet(DP).call(fLoad);
        }, k, offset, len);
        if (rd === 0) f.i64Const(0); else f.i32Const(0).i64Load(regAddr(rd));
        f.end();
        set(rd);
        break;
      }
      case 0x23: { // STORE
        const size = 1 << f3;
        const immS = ((insn >> 25) << 5) | ((insn >>> 7) & 31);
        effAddr(rs1, immS);
        tlbHit(layout.tlbWrite, size);
        f.if();
        hostAddr(); get(rs2);
        (f[STORE_OPS[f3]] as (o?: number, a?: number) => FunctionBuilder)(0, 1);
        f.else();
        slowCall(() => {
          f.localGet(lo).localGet(addr).i64Const(32).i64ShrU().i32WrapI64().i32Const(f3);
          get(rs2); f.i32WrapI64(); get(rs2); f.i64Const(32).i64ShrU().i32WrapI64();
          f.localGet(DP).call(fStore);
        }, k, offset, len);
        f.end();
        break;
      }
      case 0x63: { // BRANCH: the block's last instruction
        const immB = ((insn >> 31) << 12) | (((insn >>> 7) & 1) << 11) | (((insn >>> 25) & 63) << 5) | (((insn >>> 8) & 15) << 1);
        get(rs1); get(rs2);
        switch (f3) {
          case 0: f.i64Eq(); break;
          case 1: f.i64Ne(); break;
          case 4: f.i64LtS(); break;
          case 5: f.i64GeS(); break;
          case 6: f.i64LtU(); break;
          case 7: f.i64GeU(); break;
        }
        f.if();
        setPc(offset + immB);
        f.else();
        setPc(offset + len);
        f.end();
        exitWith(k + 1);
        return;
      }
      case 0x6f: { // JAL
        const immJ = ((insn >> 31) << 20) | (insn & 0xff000) | (((insn >>> 20) & 1) << 11) | (((insn >>> 21) & 0x3ff) << 1);
        pcPlus(offset + len); set(rd);
        setPc(offset + immJ);
        exitWith(k + 1);
        return;
      }
      case 0x67: { // JALR: target from rs1 before rd is written (they may be the same register)
        f.i32Const(0); get(rs1); f.i64Const(immI).i64Add().i64Const(-2).i64And().i64Store(layout.pc);
        pcPlus(offset + len); set(rd);
        exitWith(k + 1);
        return;
      }
    }
  });
  const last = block[block.length - 1];
  const endOp = last.insn & 0x7f;
  if (endOp !== 0x63 && endOp !== 0x6f && endOp !== 0x67) {
    setPc(last.offset + last.len);
    exitWith(block.length);
  }
  f.i32Const(0); // unreachable in practice: every path above returned
  return m.finish();

  /**
   * Calls a slow path for instruction k: state written back and pc set first (a trap must see it);
   * on a trap, return k with TRAP_FLAG; on "leave", finish this instruction and return k + 1.
   */
  function slowCall(emitCall: () => void, k: number, offset: number, len: number): void {
    flush();
    setPc(offset);
    emitCall();
    f.localTee(st).i32Const(1).i32Eq();
    f.if(); f.i32Const(k | TRAP_FLAG).return(); f.end();
    f.localGet(st).i32Const(2).i32Eq();
    f.if(); setPc(offset + len); f.i32Const(k + 1).return(); f.end();
  }
}
