import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { INSTRUCTIONS, type Extension } from './instruction-table.js';

// The instruction sets by extension, typed from the Unprivileged ISA 20191213 chapter 24 listings (RV32I,
// RV64I, RV32M/RV64M, RV32A/RV64A, RV32F/RV64F, RV32D/RV64D, Zicsr, Zifencei) and the privileged
// instructions of Privileged ISA 20211203 §3.3 and §4.2.1, plus FENCE.TSO and PAUSE (FENCE encodings).
const EXPECTED: Record<Extension, string> = {
  I: `lui auipc jal jalr beq bne blt bge bltu bgeu lb lh lw ld lbu lhu lwu sb sh sw sd addi slti sltiu
      xori ori andi slli srli srai add sub sll slt sltu xor srl sra or and addiw slliw srliw sraiw addw subw
      sllw srlw sraw fence fence.tso pause ecall ebreak`,
  M: 'mul mulh mulhsu mulhu div divu rem remu mulw divw divuw remw remuw',
  A: `lr.w sc.w amoswap.w amoadd.w amoxor.w amoand.w amoor.w amomin.w amomax.w amominu.w amomaxu.w
      lr.d sc.d amoswap.d amoadd.d amoxor.d amoand.d amoor.d amomin.d amomax.d amominu.d amomaxu.d`,
  F: `flw fsw fmadd.s fmsub.s fnmsub.s fnmadd.s fadd.s fsub.s fmul.s fdiv.s fsqrt.s fsgnj.s fsgnjn.s
      fsgnjx.s fmin.s fmax.s fcvt.w.s fcvt.wu.s fmv.x.w feq.s flt.s fle.s fclass.s fcvt.s.w fcvt.s.wu
      fmv.w.x fcvt.l.s fcvt.lu.s fcvt.s.l fcvt.s.lu`,
  D: `fld fsd fmadd.d fmsub.d fnmsub.d fnmadd.d fadd.d fsub.d fmul.d fdiv.d fsqrt.d fsgnj.d fsgnjn.d
      fsgnjx.d fmin.d fmax.d fcvt.s.d fcvt.d.s feq.d flt.d fle.d fclass.d fcvt.w.d fcvt.wu.d fcvt.d.w
      fcvt.d.wu fcvt.l.d fcvt.lu.d fmv.x.d fcvt.d.l fcvt.d.lu fmv.d.x`,
  Zicsr: 'csrrw csrrs csrrc csrrwi csrrsi csrrci',
  Zifencei: 'fence.i',
  priv: 'sret mret wfi sfence.vma',
};

const popcount = (v: number): number => {
  let n = 0;
  for (let x = v >>> 0; x !== 0; x &= x - 1) n++;
  return n;
};

describe('instruction table', () => {
  it('lists exactly the RV64G + privileged instructions, each under its extension', () => {
    for (const [ext, names] of Object.entries(EXPECTED)) {
      const want = names.split(/\s+/).filter(Boolean).sort();
      const got = INSTRUCTIONS.filter((e) => e.ext === ext).map((e) => e.name).sort();
      assert.deepEqual(got, want, `extension ${ext}`);
    }
    const total = Object.values(EXPECTED).reduce((n, s) => n + s.split(/\s+/).filter(Boolean).length, 0);
    assert.equal(INSTRUCTIONS.length, total);
  });

  it('has unique names and well-formed mask/match pairs', () => {
    assert.equal(new Set(INSTRUCTIONS.map((e) => e.name)).size, INSTRUCTIONS.length);
    for (const e of INSTRUCTIONS) {
      assert.equal(e.match & ~e.mask, 0, `${e.name}: match has bits outside the mask`);
      assert.equal(e.mask & 0x7f, 0x7f, `${e.name}: opcode not fixed`);
      assert.equal(e.match & 3, 3, `${e.name}: not a 32-bit encoding`);
      assert.equal(e.mask | 0, e.mask, `${e.name}: mask not stored as int32`);
      assert.equal(e.match | 0, e.match, `${e.name}: match not stored as int32`);
    }
  });

  it('leaves aq/rl and rm free where the ISA does', () => {
    for (const e of INSTRUCTIONS) {
      if (e.ext === 'A') assert.equal(e.mask & 0x06000000, 0, `${e.name}: aq/rl fixed`);
      if (e.format.endsWith('-rm') || e.format === 'R4') assert.equal(e.mask & 0x7000, 0, `${e.name}: rm fixed`);
    }
  });

  it('overlaps only where one encoding refines another (FENCE.TSO and PAUSE inside FENCE)', () => {
    const overlaps: string[] = [];
    for (let i = 0; i < INSTRUCTIONS.length; i++) {
      for (let j = i + 1; j < INSTRUCTIONS.length; j++) {
        const a = INSTRUCTIONS[i]!;
        const b = INSTRUCTIONS[j]!;
        if (((a.match ^ b.match) & a.mask & b.mask) !== 0) continue;
        const [general, specific] = popcount(a.mask) < popcount(b.mask) ? [a, b] : [b, a];
        assert.equal(specific.mask & general.mask, general.mask, `${a.name} and ${b.name} overlap ambiguously`);
        overlaps.push(`${general.name} > ${specific.name}`);
      }
    }
    assert.deepEqual(overlaps.sort(), ['fence > fence.tso', 'fence > pause']);
  });
});
