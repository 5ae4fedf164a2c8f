/**
 * Wasm value and block types as their binary codes (WebAssembly Core 2.0 §5.3.1 "Number Types",
 * §5.3.4 "Value Types", §5.4.1 "Control Instructions" blocktype).
 */
export const I32 = 0x7f;
export const I64 = 0x7e;
export const F32 = 0x7d;
export const F64 = 0x7c;
export const FUNCREF = 0x70;
export const EXTERNREF = 0x6f;

/** A number or reference type, stored as its one-byte binary code. */
export type ValType = typeof I32 | typeof I64 | typeof F32 | typeof F64 | typeof FUNCREF | typeof EXTERNREF;

/** A function or block signature, as declared with `ModuleBuilder.type`. */
export interface FuncType {
  readonly params: readonly ValType[];
  readonly results: readonly ValType[];
}

/**
 * A block type is an s33 in the binary format (§5.4.1): the empty type and single value types are
 * negative (their byte read as a signed 7-bit number), a non-negative value is a type index for a
 * multi-value block. Keeping that representation makes encoding one signed LEB128 and keeps value
 * types and block types apart at the type level (the brand), so `block(I32)` is a compile error.
 */
export type BlockType = number & { readonly __blockType: true };

export const BlockType = {
  Void: -0x40 as BlockType,
  I32: -0x01 as BlockType,
  I64: -0x02 as BlockType,
  F32: -0x03 as BlockType,
  F64: -0x04 as BlockType,
  /** A block with the signature of a type from `ModuleBuilder.type` (multi-value, block params). */
  of(typeIndex: number): BlockType {
    if (!Number.isInteger(typeIndex) || typeIndex < 0) throw new RangeError(`Cannot use ${typeIndex} as a block type index`);
    return typeIndex as BlockType;
  },
} as const;

const VAL_TYPE_TEXT: Record<number, string> = {
  [I32]: 'i32',
  [I64]: 'i64',
  [F32]: 'f32',
  [F64]: 'f64',
  [FUNCREF]: 'funcref',
  [EXTERNREF]: 'externref',
};

/** The text-format name of a value type code ("i32"), or a hex placeholder for an unknown code. */
export function valTypeText(code: number): string {
  return VAL_TYPE_TEXT[code] ?? `<type 0x${code.toString(16)}>`;
}

export function isValType(code: number): code is ValType {
  return VAL_TYPE_TEXT[code] !== undefined;
}
