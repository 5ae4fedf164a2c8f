/**
 * The one table of wasm instructions wisp emits: binary code, immediate kind and (for memory access)
 * natural alignment. FunctionBuilder generates its plain emitters from it and the disassembler reads
 * it back, so encoder and listing cannot disagree. Codes are from WebAssembly Core 2.0 §5.4
 * "Instructions"; codes above 0xff are a prefix byte then a LEB128 sub-opcode (0xfc: §5.4.* saturating
 * truncation and bulk memory; 0xfe: the threads proposal's atomics, which Node 20 ships).
 */

/** How the bytes after an opcode are laid out. */
export const Imm = {
  None: 0,
  /** blocktype (s33) — block, loop, if */
  Block: 1,
  Else: 2,
  End: 3,
  /** label depth (u32) — br, br_if */
  Label: 4,
  /** vec(label) then default label */
  BrTable: 5,
  /** one u32 index: local, global, function, table */
  Index: 6,
  /** type index then table index */
  CallIndirect: 7,
  /** memarg: align (log2, u32) then offset (u32) */
  MemArg: 8,
  I32: 9,
  I64: 10,
  F32: 11,
  F64: 12,
  /** one reserved zero byte (memory index 0 of memory.size/grow/fill, atomic.fence's flags) */
  Zero1: 13,
  /** two reserved zero bytes (memory.copy's two memory indices) */
  Zero2: 14,
} as const;
export type ImmKind = (typeof Imm)[keyof typeof Imm];

/** [code, immediate kind, natural alignment log2 (memory access only), text name if not derivable]. */
type Row = readonly [code: number, imm: ImmKind, align?: number, text?: string];

export const OPS = {
  // Control (§5.4.1)
  Unreachable: [0x00, Imm.None],
  Nop: [0x01, Imm.None],
  Block: [0x02, Imm.Block],
  Loop: [0x03, Imm.Block],
  If: [0x04, Imm.Block],
  Else: [0x05, Imm.Else],
  End: [0x0b, Imm.End],
  Br: [0x0c, Imm.Label],
  BrIf: [0x0d, Imm.Label],
  BrTable: [0x0e, Imm.BrTable],
  Return: [0x0f, Imm.None],
  Call: [0x10, Imm.Index],
  CallIndirect: [0x11, Imm.CallIndirect],
  ReturnCall: [0x12, Imm.Index],
  ReturnCallIndirect: [0x13, Imm.CallIndirect],
  // Parametric (§5.4.3)
  Drop: [0x1a, Imm.None],
  Select: [0x1b, Imm.None],
  // Variable (§5.4.4) and table (§5.4.5)
  LocalGet: [0x20, Imm.Index],
  LocalSet: [0x21, Imm.Index],
  LocalTee: [0x22, Imm.Index],
  GlobalGet: [0x23, Imm.Index],
  GlobalSet: [0x24, Imm.Index],
  TableGet: [0x25, Imm.Index],
  TableSet: [0x26, Imm.Index],
  // Memory (§5.4.6)
  I32Load: [0x28, Imm.MemArg, 2],
  I64Load: [0x29, Imm.MemArg, 3],
  F32Load: [0x2a, Imm.MemArg, 2],
  F64Load: [0x2b, Imm.MemArg, 3],
  I32Load8S: [0x2c, Imm.MemArg, 0],
  I32Load8U: [0x2d, Imm.MemArg, 0],
  I32Load16S: [0x2e, Imm.MemArg, 1],
  I32Load16U: [0x2f, Imm.MemArg, 1],
  I64Load8S: [0x30, Imm.MemArg, 0],
  I64Load8U: [0x31, Imm.MemArg, 0],
  I64Load16S: [0x32, Imm.MemArg, 1],
  I64Load16U: [0x33, Imm.MemArg, 1],
  I64Load32S: [0x34, Imm.MemArg, 2],
  I64Load32U: [0x35, Imm.MemArg, 2],
  I32Store: [0x36, Imm.MemArg, 2],
  I64Store: [0x37, Imm.MemArg, 3],
  F32Store: [0x38, Imm.MemArg, 2],
  F64Store: [0x39, Imm.MemArg, 3],
  I32Store8: [0x3a, Imm.MemArg, 0],
  I32Store16: [0x3b, Imm.MemArg, 1],
  I64Store8: [0x3c, Imm.MemArg, 0],
  I64Store16: [0x3d, Imm.MemArg, 1],
  I64Store32: [0x3e, Imm.MemArg, 2],
  MemorySize: [0x3f, Imm.Zero1],
  MemoryGrow: [0x40, Imm.Zero1],
  // Numeric (§5.4.7)
  I32Const: [0x41, Imm.I32],
  I64Const: [0x42, Imm.I64],
  F32Const: [0x43, Imm.F32],
  F64Const: [0x44, Imm.F64],
  I32Eqz: [0x45, Imm.None],
  I32Eq: [0x46, Imm.None],
  I32Ne: [0x47, Imm.None],
  I32LtS: [0x48, Imm.None],
  I32LtU: [0x49, Imm.None],
  I32GtS: [0x4a, Imm.None],
  I32GtU: [0x4b, Imm.None],
  I32LeS: [0x4c, Imm.None],
  I32LeU: [0x4d, Imm.None],
  I32GeS: [0x4e, Imm.None],
  I32GeU: [0x4f, Imm.None],
  I64Eqz: [0x50, Imm.None],
  I64Eq: [0x51, Imm.None],
  I64Ne: [0x52, Imm.None],
  I64LtS: [0x53, Imm.None],
  I64LtU: [0x54, Imm.None],
  I64GtS: [0x55, Imm.None],
  I64GtU: [0x56, Imm.None],
  I64LeS: [0x57, Imm.None],
  I64LeU: [0x58, Imm.None],
  I64GeS: [0x59, Imm.None],
  I64GeU: [0x5a, Imm.None],
  F32Eq: [0x5b, Imm.None],
  F32Ne: [0x5c, Imm.None],
  F32Lt: [0x5d, Imm.None],
  F32Gt: [0x5e, Imm.None],
  F32Le: [0x5f, Imm.None],
  F32Ge: [0x60, Imm.None],
  F64Eq: [0x61, Imm.None],
  F64Ne: [0x62, Imm.None],
  F64Lt: [0x63, Imm.None],
  F64Gt: [0x64, Imm.None],
  F64Le: [0x65, Imm.None],
  F64Ge: [0x66, Imm.None],
  I32Clz: [0x67, Imm.None],
  I32Ctz: [0x68, Imm.None],
  I32Popcnt: [0x69, Imm.None],
  I32Add: [0x6a, Imm.None],
  I32Sub: [0x6b, Imm.None],
  I32Mul: [0x6c, Imm.None],
  I32DivS: [0x6d, Imm.None],
  I32DivU: [0x6e, Imm.None],
  I32RemS: [0x6f, Imm.None],
  I32RemU: [0x70, Imm.None],
  I32And: [0x71, Imm.None],
  I32Or: [0x72, Imm.None],
  I32Xor: [0x73, Imm.None],
  I32Shl: [0x74, Imm.None],
  I32ShrS: [0x75, Imm.None],
  I32ShrU: [0x76, Imm.None],
  I32Rotl: [0x77, Imm.None],
  I32Rotr: [0x78, Imm.None],
  I64Clz: [0x79, Imm.None],
  I64Ctz: [0x7a, Imm.None],
  I64Popcnt: [0x7b, Imm.None],
  I64Add: [0x7c, Imm.None],
  I64Sub: [0x7d, Imm.None],
  I64Mul: [0x7e, Imm.None],
  I64DivS: [0x7f, Imm.None],
  I64DivU: [0x80, Imm.None],
  I64RemS: [0x81, Imm.None],
  I64RemU: [0x82, Imm.None],
  I64And: [0x83, Imm.None],
  I64Or: [0x84, Imm.None],
  I64Xor: [0x85, Imm.None],
  I64Shl: [0x86, Imm.None],
  I64ShrS: [0x87, Imm.None],
  I64ShrU: [0x88, Imm.None],
  I64Rotl: [0x89, Imm.None],
  I64Rotr: [0x8a, Imm.None],
  F32Abs: [0x8b, Imm.None],
  F32Neg: [0x8c, Imm.None],
  F32Ceil: [0x8d, Imm.None],
  F32Floor: [0x8e, Imm.None],
  F32Trunc: [0x8f, Imm.None],
  F32Nearest: [0x90, Imm.None],
  F32Sqrt: [0x91, Imm.None],
  F32Add: [0x92, Imm.None],
  F32Sub: [0x93, Imm.None],
  F32Mul: [0x94, Imm.None],
  F32Div: [0x95, Imm.None],
  F32Min: [0x96, Imm.None],
  F32Max: [0x97, Imm.None],
  F32Copysign: [0x98, Imm.None],
  F64Abs: [0x99, Imm.None],
  F64Neg: [0x9a, Imm.None],
  F64Ceil: [0x9b, Imm.None],
  F64Floor: [0x9c, Imm.None],
  F64Trunc: [0x9d, Imm.None],
  F64Nearest: [0x9e, Imm.None],
  F64Sqrt: [0x9f, Imm.None],
  F64Add: [0xa0, Imm.None],
  F64Sub: [0xa1, Imm.None],
  F64Mul: [0xa2, Imm.None],
  F64Div: [0xa3, Imm.None],
  F64Min: [0xa4, Imm.None],
  F64Max: [0xa5, Imm.None],
  F64Copysign: [0xa6, Imm.None],
  I32WrapI64: [0xa7, Imm.None],
  I32TruncF32S: [0xa8, Imm.None],
  I32TruncF32U: [0xa9, Imm.None],
  I32TruncF64S: [0xaa, Imm.None],
  I32TruncF64U: [0xab, Imm.None],
  I64ExtendI32S: [0xac, Imm.None],
  I64ExtendI32U: [0xad, Imm.None],
  I64TruncF32S: [0xae, Imm.None],
  I64TruncF32U: [0xaf, Imm.None],
  I64TruncF64S: [0xb0, Imm.None],
  I64TruncF64U: [0xb1, Imm.None],
  F32ConvertI32S: [0xb2, Imm.None],
  F32ConvertI32U: [0xb3, Imm.None],
  F32ConvertI64S: [0xb4, Imm.None],
  F32ConvertI64U: [0xb5, Imm.None],
  F32DemoteF64: [0xb6, Imm.None],
  F64ConvertI32S: [0xb7, Imm.None],
  F64ConvertI32U: [0xb8, Imm.None],
  F64ConvertI64S: [0xb9, Imm.None],
  F64ConvertI64U: [0xba, Imm.None],
  F64PromoteF32: [0xbb, Imm.None],
  I32ReinterpretF32: [0xbc, Imm.None],
  I64ReinterpretF64: [0xbd, Imm.None],
  F32ReinterpretI32: [0xbe, Imm.None],
  F64ReinterpretI64: [0xbf, Imm.None],
  I32Extend8S: [0xc0, Imm.None],
  I32Extend16S: [0xc1, Imm.None],
  I64Extend8S: [0xc2, Imm.None],
  I64Extend16S: [0xc3, Imm.None],
  I64Extend32S: [0xc4, Imm.None],
  // 0xfc prefix: saturating truncation (RISC-V fcvt clamps like these) and bulk memory.
  I32TruncSatF32S: [0xfc00, Imm.None],
  I32TruncSatF32U: [0xfc01, Imm.None],
  I32TruncSatF64S: [0xfc02, Imm.None],
  I32TruncSatF64U: [0xfc03, Imm.None],
  I64TruncSatF32S: [0xfc04, Imm.None],
  I64TruncSatF32U: [0xfc05, Imm.None],
  I64TruncSatF64S: [0xfc06, Imm.None],
  I64TruncSatF64U: [0xfc07, Imm.None],
  MemoryCopy: [0xfc0a, Imm.Zero2],
  MemoryFill: [0xfc0b, Imm.Zero1],
  // 0xfe prefix: atomics (threads proposal), what RV64A needs on a shared memory. Their memarg
  // alignment must be exactly the natural one.
  AtomicFence: [0xfe03, Imm.Zero1, undefined, 'atomic.fence'],
  I32AtomicLoad: [0xfe10, Imm.MemArg, 2, 'i32.atomic.load'],
  I64AtomicLoad: [0xfe11, Imm.MemArg, 3, 'i64.atomic.load'],
  I32AtomicStore: [0xfe17, Imm.MemArg, 2, 'i32.atomic.store'],
  I64AtomicStore: [0xfe18, Imm.MemArg, 3, 'i64.atomic.store'],
  I32AtomicRmwAdd: [0xfe1e, Imm.MemArg, 2, 'i32.atomic.rmw.add'],
  I64AtomicRmwAdd: [0xfe1f, Imm.MemArg, 3, 'i64.atomic.rmw.add'],
  I32AtomicRmwSub: [0xfe25, Imm.MemArg, 2, 'i32.atomic.rmw.sub'],
  I64AtomicRmwSub: [0xfe26, Imm.MemArg, 3, 'i64.atomic.rmw.sub'],
  I32AtomicRmwAnd: [0xfe2c, Imm.MemArg, 2, 'i32.atomic.rmw.and'],
  I64AtomicRmwAnd: [0xfe2d, Imm.MemArg, 3, 'i64.atomic.rmw.and'],
  I32AtomicRmwOr: [0xfe33, Imm.MemArg, 2, 'i32.atomic.rmw.or'],
  I64AtomicRmwOr: [0xfe34, Imm.MemArg, 3, 'i64.atomic.rmw.or'],
  I32AtomicRmwXor: [0xfe3a, Imm.MemArg, 2, 'i32.atomic.rmw.xor'],
  I64AtomicRmwXor: [0xfe3b, Imm.MemArg, 3, 'i64.atomic.rmw.xor'],
  I32AtomicRmwXchg: [0xfe41, Imm.MemArg, 2, 'i32.atomic.rmw.xchg'],
  I64AtomicRmwXchg: [0xfe42, Imm.MemArg, 3, 'i64.atomic.rmw.xchg'],
  I32AtomicRmwCmpxchg: [0xfe48, Imm.MemArg, 2, 'i32.atomic.rmw.cmpxchg'],
  I64AtomicRmwCmpxchg: [0xfe49, Imm.MemArg, 3, 'i64.atomic.rmw.cmpxchg'],
} as const satisfies Record<string, Row>;

export type OpName = keyof typeof OPS;

const DOTTED_PREFIXES = new Set(['i32', 'i64', 'f32', 'f64', 'local', 'global', 'memory', 'table']);

/**
 * The text-format mnemonic of a table key: "I64ExtendI32S" → "i64.extend_i32_s", "BrIf" → "br_if",
 * "LocalGet" → "local.get" (§6.5 names), unless the row spells it out.
 */
export function opText(name: OpName): string {
  const row: Row = OPS[name];
  if (row[3] !== undefined) return row[3];
  const words = name.match(/[A-Z][a-z0-9]*/g)!.map((w) => w.toLowerCase());
  if (words.length > 1 && DOTTED_PREFIXES.has(words[0]!)) return `${words[0]}.${words.slice(1).join('_')}`;
  return words.join('_');
}

export interface OpInfo {
  readonly name: OpName;
  readonly text: string;
  readonly code: number;
  readonly imm: ImmKind;
  readonly align: number;
}

/** Instruction metadata by binary code (prefixed codes as 0xPPSS), for decoding. */
export const OP_BY_CODE: ReadonlyMap<number, OpInfo> = new Map(
  (Object.keys(OPS) as OpName[]).map((name) => {
    const row: Row = OPS[name];
    return [row[0], { name, text: opText(name), code: row[0], imm: row[1], align: row[2] ?? 0 }];
  }),
);
