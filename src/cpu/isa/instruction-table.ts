/**
 * The one list of 32-bit instructions wisp executes: RV64G (RV64I + M + A + F + D + Zicsr + Zifencei)
 * plus the privileged instructions a Linux guest uses (MRET, SRET, WFI, SFENCE.VMA). The decoder,
 * disassembler, interpreter/JIT conformance checks and the binutils cross-check are all derived from it.
 * Compressed (RVC) words are expanded to one of these first (see compressed.ts).
 *
 * An instruction is identified by `(insn & mask) === match`. Fields the ISA leaves free are outside the
 * mask: aq/rl of the AMOs, rm of the floating-point operations (reserved rm values 5 and 6 are decoded
 * and rejected at execution, as the F spec §11.2 says: "illegal instruction" at run time, not decode), and
 * the reserved-for-future-hints fields of FENCE and FENCE.I (unprivileged spec §2.7 and §3.1: base
 * implementations "shall ignore these fields"). This follows QEMU's decoder; binutils is stricter there.
 *
 * Encodings: RISC-V Unprivileged ISA 20191213, chapter 24 "RV32/64G Instruction Set Listings", and the
 * Privileged ISA 20211203 §3.3 / §4.2.1.
 */

export type Extension = 'I' | 'M' | 'A' | 'F' | 'D' | 'Zicsr' | 'Zifencei' | 'priv';

/**
 * Operand layout, as the disassembler prints it. `x` = integer register, `f` = float register, `rm` =
 * rounding mode shown only when it is not dynamic (objdump's habit).
 */
export type Format =
  | 'R' // rd, rs1, rs2
  | 'I' // rd, rs1, imm12
  | 'shift' // rd, rs1, shamt (6 bits, 5 for the *W forms: the mask decides)
  | 'load' // rd, imm12(rs1)
  | 'S' // rs2, imm12(rs1)
  | 'B' // rs1, rs2, pc + immB
  | 'U' // rd, imm20
  | 'J' // rd, pc + immJ
  | 'jalr' // rd, imm12(rs1)
  | 'fence' // pred, succ
  | 'none' // no operands
  | 'csr' // rd, csr, rs1
  | 'csri' // rd, csr, uimm5
  | 'amo' // rd, rs2, (rs1) with .aq/.rl suffix
  | 'lr' // rd, (rs1) with .aq/.rl suffix
  | 'sfence' // rs1, rs2
  | 'fload' // fd, imm12(rs1)
  | 'fstore' // fs2, imm12(rs1)
  | 'R4' // fd, fs1, fs2, fs3, rm
  | 'fff-rm' // fd, fs1, fs2, rm
  | 'fff' // fd, fs1, fs2
  | 'ff-rm' // fd, fs1, rm
  | 'ff' // fd, fs1 (rm field present but exact: fcvt.d.s)
  | 'xf-rm' // rd, fs1, rm
  | 'xf' // rd, fs1
  | 'fx-rm' // fd, rs1, rm
  | 'fx' // fd, rs1 (fmv.w.x, and the exact fcvt.d.w/fcvt.d.wu)
  | 'xff'; // rd, fs1, fs2

export interface InstructionSpec {
  /** Lower-case mnemonic as binutils spells it ("addi", "fcvt.w.d", "amoadd.w"). */
  readonly name: string;
  /** Signed int32 (so it compares directly with the result of `insn & mask`). */
  readonly mask: number;
  readonly match: number;
  readonly format: Format;
  readonly ext: Extension;
}

// Field masks used to build the table (Unprivileged spec §2.2, figure 2.2).
const OPCODE = 0x7f;
const F3 = 0x7000;
const F7 = 0xfe000000;
const RS2 = 0x01f00000;
const RD = 0x00000f80;
const F5 = 0xf8000000; // AMO funct5 (aq/rl free)
const F6 = 0xfc000000; // RV64 shift-immediate funct6
const FMT = 0x06000000; // R4-type fmt

const table: InstructionSpec[] = [];

function add(name: string, mask: number, match: number, format: Format, ext: Extension): void {
  table.push({ name, mask: mask | 0, match: match | 0, format, ext });
}
const f3 = (v: number): number => v << 12;
const f7 = (v: number): number => v << 25;
const rs2v = (v: number): number => v << 20;

// --- RV64I (§2, §5) ---------------------------------------------------------------------------------
add('lui', OPCODE, 0x37, 'U', 'I');
add('auipc', OPCODE, 0x17, 'U', 'I');
add('jal', OPCODE, 0x6f, 'J', 'I');
add('jalr', OPCODE | F3, 0x67, 'jalr', 'I');
for (const [name, fn] of [['beq', 0], ['bne', 1], ['blt', 4], ['bge', 5], ['bltu', 6], ['bgeu', 7]] as const) {
  add(name, OPCODE | F3, 0x63 | f3(fn), 'B', 'I');
}
for (const [name, fn] of [['lb', 0], ['lh', 1], ['lw', 2], ['ld', 3], ['lbu', 4], ['lhu', 5], ['lwu', 6]] as const) {
  add(name, OPCODE | F3, 0x03 | f3(fn), 'load', 'I');
}
for (const [name, fn] of [['sb', 0], ['sh', 1], ['sw', 2], ['sd', 3]] as const) {
  add(name, OPCODE | F3, 0x23 | f3(fn), 'S', 'I');
}
for (const [name, fn] of [['addi', 0], ['slti', 2], ['sltiu', 3], ['xori', 4], ['ori', 6], ['andi', 7]] as const) {
  add(name, OPCODE | F3, 0x13 | f3(fn), 'I', 'I');
}
// RV64 shifts take a 6-bit shamt, so only funct6 is fixed (§5.2).
add('slli', OPCODE | F3 | F6, 0x13 | f3(1), 'shift', 'I');
add('srli', OPCODE | F3 | F6, 0x13 | f3(5), 'shift', 'I');
add('srai', OPCODE | F3 | F6, 0x13 | f3(5) | 0x40000000, 'shift', 'I');
const opR: ReadonlyArray<readonly [string, number, number]> = [
  ['add', 0, 0], ['sub', 0x20, 0], ['sll', 0, 1], ['slt', 0, 2], ['sltu', 0, 3],
  ['xor', 0, 4], ['srl', 0, 5], ['sra', 0x20, 5], ['or', 0, 6], ['and', 0, 7],
];
for (const [name, fn7, fn3] of opR) add(name, OPCODE | F3 | F7, 0x33 | f3(fn3) | f7(fn7), 'R', 'I');
add('addiw', OPCODE | F3, 0x1b, 'I', 'I');
// The *W shifts keep a 5-bit shamt: imm[5] set is reserved (§5.2), so the whole funct7 is fixed.
add('slliw', OPCODE | F3 | F7, 0x1b | f3(1), 'shift', 'I');
add('srliw', OPCODE | F3 | F7, 0x1b | f3(5), 'shift', 'I');
add('sraiw', OPCODE | F3 | F7, 0x1b | f3(5) | f7(0x20), 'shift', 'I');
for (const [name, fn7, fn3] of [['addw', 0, 0], ['subw', 0x20, 0], ['sllw', 0, 1], ['srlw', 0, 5], ['sraw', 0x20, 5]] as const) {
  add(name, OPCODE | F3 | F7, 0x3b | f3(fn3) | f7(fn7), 'R', 'I');
}
// FENCE: fm, rs1 and rd are ignored (§2.7). FENCE.TSO is fm=1000 with pred=succ=RW; PAUSE (Zihintpause)
// is the FENCE hint pred=W, succ=0, fm=0, rs1=rd=x0. They are listed so that decode names them; all three
// execute as a fence.
add('fence', OPCODE | F3, 0x0f, 'fence', 'I');
add('fence.tso', 0xfff0707f, 0x8330000f, 'none', 'I');
add('pause', 0xffffffff, 0x0100000f, 'none', 'I');
add('ecall', 0xffffffff, 0x00000073, 'none', 'I');
add('ebreak', 0xffffffff, 0x00100073, 'none', 'I');

// --- Zifencei (§3.1): imm, rs1 and rd are ignored ----------------------------------------------------
add('fence.i', OPCODE | F3, 0x0f | f3(1), 'none', 'Zifencei');

// --- Zicsr (§9.1) ---------------------------------------------------------------------------------------
for (const [name, fn] of [['csrrw', 1], ['csrrs', 2], ['csrrc', 3]] as const) {
  add(name, OPCODE | F3, 0x73 | f3(fn), 'csr', 'Zicsr');
}
for (const [name, fn] of [['csrrwi', 5], ['csrrsi', 6], ['csrrci', 7]] as const) {
  add(name, OPCODE | F3, 0x73 | f3(fn), 'csri', 'Zicsr');
}

// --- M (§7) --------------------------------------------------------------------------------------------
for (const [name, fn] of [['mul', 0], ['mulh', 1], ['mulhsu', 2], ['mulhu', 3], ['div', 4], ['divu', 5], ['rem', 6], ['remu', 7]] as const) {
  add(name, OPCODE | F3 | F7, 0x33 | f3(fn) | f7(1), 'R', 'M');
}
for (const [name, fn] of [['mulw', 0], ['divw', 4], ['divuw', 5], ['remw', 6], ['remuw', 7]] as const) {
  add(name, OPCODE | F3 | F7, 0x3b | f3(fn) | f7(1), 'R', 'M');
}

// --- A (§8): funct5 in bits 31:27, aq bit 26 and rl bit 25 free; LR has rs2 = 0 ----------------------
for (const [suffix, fn3] of [['w', 2], ['d', 3]] as const) {
  add(`lr.${suffix}`, OPCODE | F3 | F5 | RS2, 0x2f | f3(fn3) | (0x02 << 27), 'lr', 'A');
  add(`sc.${suffix}`, OPCODE | F3 | F5, 0x2f | f3(fn3) | (0x03 << 27), 'amo', 'A');
  const amos: ReadonlyArray<readonly [string, number]> = [
    ['amoswap', 0x01], ['amoadd', 0x00], ['amoxor', 0x04], ['amoand', 0x0c], ['amoor', 0x08],
    ['amomin', 0x10], ['amomax', 0x14], ['amominu', 0x18], ['amomaxu', 0x1c],
  ];
  for (const [name, fn5] of amos) add(`${name}.${suffix}`, OPCODE | F3 | F5, 0x2f | f3(fn3) | (fn5 << 27), 'amo', 'A');
}

// --- F and D (§11, §12): fmt = 0 (S) or 1 (D) in bits 26:25 ---------------------------------------------
for (const [s, fmt, ext] of [['s', 0, 'F'], ['d', 1, 'D']] as const) {
  const fn3Width = s === 's' ? 2 : 3;
  add(`fl${s === 's' ? 'w' : 'd'}`, OPCODE | F3, 0x07 | f3(fn3Width), 'fload', ext);
  add(`fs${s === 's' ? 'w' : 'd'}`, OPCODE | F3, 0x27 | f3(fn3Width), 'fstore', ext);
  for (const [name, op] of [['fmadd', 0x43], ['fmsub', 0x47], ['fnmsub', 0x4b], ['fnmadd', 0x4f]] as const) {
    add(`${name}.${s}`, OPCODE | FMT, op | (fmt << 25), 'R4', ext);
  }
  const op = (fn7: number): number => 0x53 | f7(fn7 | fmt);
  for (const [name, fn7] of [['fadd', 0x00], ['fsub', 0x04], ['fmul', 0x08], ['fdiv', 0x0c]] as const) {
    add(`${name}.${s}`, OPCODE | F7, op(fn7), 'fff-rm', ext);
  }
  add(`fsqrt.${s}`, OPCODE | F7 | RS2, op(0x2c), 'ff-rm', ext);
  for (const [name, fn3] of [['fsgnj', 0], ['fsgnjn', 1], ['fsgnjx', 2]] as const) {
    add(`${name}.${s}`, OPCODE | F7 | F3, op(0x10) | f3(fn3), 'fff', ext);
  }
  add(`fmin.${s}`, OPCODE | F7 | F3, op(0x14), 'fff', ext);
  add(`fmax.${s}`, OPCODE | F7 | F3, op(0x14) | f3(1), 'fff', ext);
  for (const [name, fn3] of [['feq', 2], ['flt', 1], ['fle', 0]] as const) {
    add(`${name}.${s}`, OPCODE | F7 | F3, op(0x50) | f3(fn3), 'xff', ext);
  }
  const ints: ReadonlyArray<readonly [string, number]> = [['w', 0], ['wu', 1], ['l', 2], ['lu', 3]];
  for (const [t, sel] of ints) add(`fcvt.${t}.${s}`, OPCODE | F7 | RS2, op(0x60) | rs2v(sel), 'xf-rm', ext);
  for (const [t, sel] of ints) {
    // int32 -> double is always exact, so its rm is never shown (binutils: "D,s").
    const exact = s === 'd' && (t === 'w' || t === 'wu');
    add(`fcvt.${s}.${t}`, OPCODE | F7 | RS2, op(0x68) | rs2v(sel), exact ? 'fx' : 'fx-rm', ext);
  }
  add(`fmv.x.${s === 's' ? 'w' : 'd'}`, OPCODE | F7 | RS2 | F3, op(0x70), 'xf', ext);
  add(`fclass.${s}`, OPCODE | F7 | RS2 | F3, op(0x70) | f3(1), 'xf', ext);
  add(`fmv.${s === 's' ? 'w' : 'd'}.x`, OPCODE | F7 | RS2 | F3, op(0x78), 'fx', ext);
}
// Between the two formats (§12.5): narrowing rounds, widening is exact.
add('fcvt.s.d', OPCODE | F7 | RS2, 0x53 | f7(0x20) | rs2v(1), 'ff-rm', 'D');
add('fcvt.d.s', OPCODE | F7 | RS2, 0x53 | f7(0x21), 'ff', 'D');

// --- privileged (Privileged spec §3.3.2, §3.3.3, §4.2.1) ------------------------------------------------
add('sret', 0xffffffff, 0x10200073, 'none', 'priv');
add('mret', 0xffffffff, 0x30200073, 'none', 'priv');
add('wfi', 0xffffffff, 0x10500073, 'none', 'priv');
add('sfence.vma', OPCODE | F3 | F7 | RD, 0x12000073, 'sfence', 'priv');

/** Every instruction wisp supports, in a stable order. */
export const INSTRUCTIONS: readonly InstructionSpec[] = Object.freeze(table.map((e) => Object.freeze(e)));
