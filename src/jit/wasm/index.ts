// The jit/wasm boundary: a WebAssembly binary encoder that knows Wasm, not RISC-V.
export { ByteWriter } from './byte-writer.js';
export { disassemble } from './disassemble.js';
export { FunctionBuilder } from './function-builder.js';
export { ModuleBuilder, type MemoryLimits, type TableLimits } from './module-builder.js';
export { OPS, OP_BY_CODE, opText, type OpName } from './opcodes.js';
export { BlockType, EXTERNREF, F32, F64, FUNCREF, I32, I64, type FuncType, type ValType } from './value-type.js';
export { WasmBuildError, type WasmBuildErrorCode } from './wasm-build-error.js';
