import { ByteWriter } from './byte-writer.js';
import { Imm, OPS, type OpName } from './opcodes.js';
import { BlockType, type ValType } from './value-type.js';
import { WasmBuildError } from './wasm-build-error.js';

// Kinds of open control frames; `else` is only valid directly inside an `if` frame (§3.3.8.5).
const FRAME_BLOCK = 0;
const FRAME_LOOP = 1;
const FRAME_IF = 2;
const FRAME_ELSE = 3;

const TWO_POW_32 = 0x1_0000_0000;

type ImmOf<K extends OpName> = (typeof OPS)[K][1];
type Builds = FunctionBuilder;

/** `i32Add()`, `memoryFill()`, `atomicFence()`: opcodes whose immediates (if any) are fixed. */
type PlainEmitters = {
  [K in OpName as ImmOf<K> extends typeof Imm.None | typeof Imm.Zero1 | typeof Imm.Zero2 ? Uncapitalize<K> : never]: () => Builds;
};
/**
 * `i64Load(offset, align)`: offset in bytes (u32), align in bytes (a power of two, at most the access
 * width; default the natural alignment). Guest accesses may be misaligned: the hint never changes
 * semantics in wasm (§4.4.7), it only tells the engine what to expect.
 */
type MemoryEmitters = {
  [K in OpName as ImmOf<K> extends typeof Imm.MemArg ? Uncapitalize<K> : never]: (offset?: number, align?: number) => Builds;
};
/** `localGet(i)`, `globalSet(i)`, `call(f)`, `returnCall(f)`, `tableGet(t)`. */
type IndexEmitters = {
  [K in OpName as ImmOf<K> extends typeof Imm.Index ? Uncapitalize<K> : never]: (index: number) => Builds;
};

// The generated emitters below are installed on the prototype; this merges their types in.
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export interface FunctionBuilder extends PlainEmitters, MemoryEmitters, IndexEmitters {}

/**
 * Emits one function body. Every emitter appends bytes and returns `this`, so code reads as a chain.
 * Obtain one from `ModuleBuilder.function`; the module writes it out in `finish()`.
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class FunctionBuilder {
  /** The instruction bytes so far (without locals and the final `end`). */
  readonly code = new ByteWriter(512);
  private readonly localTypes: ValType[] = [];
  private frames = new Uint8Array(16);
  private depth = 0;
  private params: readonly ValType[] = [];
  /** Function index in the module (imports first), type index, optional export name. */
  index = 0;
  typeIndex = 0;
  exportName: string | undefined;

  /** @internal ModuleBuilder (re)initialises pooled builders through this. */
  init(index: number, typeIndex: number, params: readonly ValType[], exportName: string | undefined): void {
    this.code.reset();
    this.localTypes.length = 0;
    this.depth = 0;
    this.index = index;
    this.typeIndex = typeIndex;
    this.params = params;
    this.exportName = exportName;
  }

  /** How the function is named in errors: `function 3 "b0"`. */
  get label(): string {
    return this.exportName === undefined ? `function ${this.index}` : `function ${this.index} "${this.exportName}"`;
  }

  /** Declares a local of the given type and returns its index (parameters come first). */
  local(type: ValType): number {
    this.localTypes.push(type);
    return this.params.length + this.localTypes.length - 1;
  }

  /** Number of currently open blocks (0 at the function's top level). */
  get openBlocks(): number {
    return this.depth;
  }

  // ---- structured control (§5.4.1) ----

  private open(kind: number, opcode: number, type: BlockType): this {
    if (this.depth === this.frames.length) {
      const next = new Uint8Array(this.frames.length * 2);
      next.set(this.frames);
      this.frames = next;
    }
    this.frames[this.depth++] = kind;
    this.code.u8(opcode);
    this.code.s32(type); // blocktype is s33; type indices beyond 2^31 cannot occur
    return this;
  }

  block(type: BlockType = BlockType.Void): this {
    return this.open(FRAME_BLOCK, OPS.Block[0], type);
  }

  loop(type: BlockType = BlockType.Void): this {
    return this.open(FRAME_LOOP, OPS.Loop[0], type);
  }

  if(type: BlockType = BlockType.Void): this {
    return this.open(FRAME_IF, OPS.If[0], type);
  }

  else(): this {
    if (this.depth === 0 || this.frames[this.depth - 1] !== FRAME_IF) {
      throw new WasmBuildError('else-without-if', `Cannot emit else in ${this.label}: the innermost open block is not an if`);
    }
    this.frames[this.depth - 1] = FRAME_ELSE;
    this.code.u8(OPS.Else[0]);
    return this;
  }

  end(): this {
    if (this.depth === 0) {
      throw new WasmBuildError('unbalanced-end', `Cannot emit end in ${this.label}: no block is open (the function's own end is added by finish)`);
    }
    this.depth--;
    this.code.u8(OPS.End[0]);
    return this;
  }

  private label_(depth: number): number {
    // Label `openBlocks` is the function body itself (a branch to it returns).
    if (!Number.isInteger(depth) || depth < 0 || depth > this.depth) {
      throw new WasmBuildError('label-out-of-range', `Cannot branch to label ${depth} in ${this.label}: ${this.depth} block(s) open`);
    }
    return depth;
  }

  br(depth: number): this {
    this.code.u8(OPS.Br[0]);
    this.code.u32(this.label_(depth));
    return this;
  }

  brIf(depth: number): this {
    this.code.u8(OPS.BrIf[0]);
    this.code.u32(this.label_(depth));
    return this;
  }

  /** br_table: `labels[i]` for an operand i in range, `defaultLabel` otherwise. */
  brTable(labels: ArrayLike<number>, defaultLabel: number): this {
    this.code.u8(OPS.BrTable[0]);
    this.code.u32(labels.length);
    for (let i = 0; i < labels.length; i++) this.code.u32(this.label_(labels[i]!));
    this.code.u32(this.label_(defaultLabel));
    return this;
  }

  callIndirect(typeIndex: number, tableIndex = 0): this {
    this.code.u8(OPS.CallIndirect[0]);
    this.code.u32(this.index_(typeIndex));
    this.code.u32(this.index_(tableIndex));
    return this;
  }

  returnCallIndirect(typeIndex: number, tableIndex = 0): this {
    this.code.u8(OPS.ReturnCallIndirect[0]);
    this.code.u32(this.index_(typeIndex));
    this.code.u32(this.index_(tableIndex));
    return this;
  }

  // ---- constants (§5.4.7) ----

  /** i32.const of an int32 or uint32 value (uint32 wraps to the same bits). */
  i32Const(v: number): this {
    if (!(v >= -0x8000_0000 && v < TWO_POW_32) || v !== Math.floor(v)) {
      throw new WasmBuildError('bad-immediate', `Cannot emit i32.const ${v} in ${this.label}: not a 32-bit integer`);
    }
    this.code.u8(OPS.I32Const[0]);
    this.code.s32(v);
    return this;
  }

  /**
   * i64.const of a safe-integer number or a bigint (taken modulo 2^64). Numbers never allocate a
   * BigInt; for full 64-bit patterns without BigInt use `i64ConstPair`.
   */
  i64Const(v: number | bigint): this {
    if (typeof v === 'bigint') {
      const n = BigInt.asUintN(64, v);
      return this.i64ConstPair(Number(n & 0xffff_ffffn), Number(n >> 32n));
    }
    if (!Number.isSafeInteger(v)) {
      throw new WasmBuildError('bad-immediate', `Cannot emit i64.const ${v} in ${this.label}: not a safe integer (use a bigint or i64ConstPair)`);
    }
    // ToInt32 is exact modulo 2^32 for safe integers; floor division gives the two's-complement high word.
    return this.i64ConstPair(v | 0, Math.floor(v / TWO_POW_32) | 0);
  }

  /** i64.const of the 64-bit value hi:lo (each word taken modulo 2^32). */
  i64ConstPair(lo: number, hi: number): this {
    this.code.u8(OPS.I64Const[0]);
    this.code.s64(lo, hi);
    return this;
  }

  f32Const(v: number): this {
    this.code.u8(OPS.F32Const[0]);
    this.code.f32(v);
    return this;
  }

  /** f32.const from raw bits (exact NaN payloads, as RISC-V NaN boxing needs). */
  f32ConstBits(bits: number): this {
    this.code.u8(OPS.F32Const[0]);
    this.code.f32Bits(bits);
    return this;
  }

  f64Const(v: number): this {
    this.code.u8(OPS.F64Const[0]);
    this.code.f64(v);
    return this;
  }

  f64ConstBits(lo: number, hi: number): this {
    this.code.u8(OPS.F64Const[0]);
    this.code.f64Bits(lo, hi);
    return this;
  }

  /** @internal */
  index_(i: number): number {
    if (!(i >= 0 && i < TWO_POW_32) || i !== Math.floor(i)) {
      throw new WasmBuildError('bad-index', `Cannot use index ${i} in ${this.label}: not a u32`);
    }
    return i;
  }

  /** @internal */
  memArg(op: string, natural: number, offset: number, align: number): void {
    if (!(offset >= 0 && offset < TWO_POW_32) || offset !== Math.floor(offset)) {
      throw new WasmBuildError('bad-immediate', `Cannot emit ${op} offset=${offset} in ${this.label}: offset is not a u32`);
    }
    const log2 = 31 - Math.clz32(align);
    if (align <= 0 || (align & (align - 1)) !== 0 || log2 > natural) {
      throw new WasmBuildError('bad-immediate', `Cannot emit ${op} align=${align} in ${this.label}: alignment must be a power of two up to ${1 << natural}`);
    }
    this.code.u32(log2);
    this.code.u32(offset);
  }

  /**
   * @internal Writes the complete body entry of the code section (§5.5.13): size, local declarations
   * grouped in runs of one type, the instructions and the final `end`.
   */
  writeBody(out: ByteWriter): void {
    if (this.depth !== 0) {
      throw new WasmBuildError('unclosed-block', `Cannot finish ${this.label}: ${this.depth} block(s) still open`);
    }
    const sizeAt = out.reserveU32();
    const start = out.length;
    const locals = this.localTypes;
    let groups = 0;
    for (let i = 0; i < locals.length; i++) if (i === 0 || locals[i] !== locals[i - 1]) groups++;
    out.u32(groups);
    for (let i = 0; i < locals.length; ) {
      let j = i + 1;
      while (j < locals.length && locals[j] === locals[i]) j++;
      out.u32(j - i);
      out.u8(locals[i]!);
      i = j;
    }
    out.bytes(this.code.view());
    out.u8(OPS.End[0]);
    out.patchU32(sizeAt, out.length - start);
  }
}

// Install the table-driven emitters. One small closure per opcode, created once at load.
const proto = FunctionBuilder.prototype as unknown as Record<string, unknown>;
for (const name of Object.keys(OPS) as OpName[]) {
  const row = OPS[name] as readonly [number, number, number?, string?];
  const code = row[0];
  const method = name[0]!.toLowerCase() + name.slice(1);
  const prefix = code >>> 8;
  const sub = code & 0xff;
  const emit =
    prefix === 0
      ? (w: ByteWriter): void => w.u8(code)
      : (w: ByteWriter): void => {
          w.u8(prefix);
          w.u32(sub);
        };
  switch (row[1]) {
    case Imm.None:
      proto[method] =
        prefix === 0
          ? function (this: FunctionBuilder) {
              this.code.u8(code);
              return this;
            }
          : function (this: FunctionBuilder) {
              emit(this.code);
              return this;
            };
      break;
    case Imm.Zero1:
    case Imm.Zero2: {
      const zeros = row[1] === Imm.Zero1 ? 1 : 2;
      proto[method] = function (this: FunctionBuilder) {
        emit(this.code);
        for (let i = 0; i < zeros; i++) this.code.u8(0);
        return this;
      };
      break;
    }
    case Imm.Index:
      proto[method] = function (this: FunctionBuilder, index: number) {
        emit(this.code);
        this.code.u32(this.index_(index));
        return this;
      };
      break;
    case Imm.MemArg: {
      const natural = row[2]!;
      const naturalBytes = 1 << natural;
      proto[method] = function (this: FunctionBuilder, offset = 0, align = naturalBytes) {
        emit(this.code);
        this.memArg(method, natural, offset, align);
        return this;
      };
      break;
    }
    default:
      break; // hand-written above (control, branches, constants, call_indirect)
  }
}
