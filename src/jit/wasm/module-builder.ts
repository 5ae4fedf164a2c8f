import { ByteWriter } from './byte-writer.js';
import { FunctionBuilder } from './function-builder.js';
import { FUNCREF, I32, I64, F32, F64, type ValType } from './value-type.js';
import { WasmBuildError } from './wasm-build-error.js';

// Section ids (Core 2.0 §5.5.2) and external kinds (§5.5.5, §5.5.10).
const SEC_TYPE = 1;
const SEC_IMPORT = 2;
const SEC_FUNCTION = 3;
const SEC_TABLE = 4;
const SEC_MEMORY = 5;
const SEC_GLOBAL = 6;
const SEC_EXPORT = 7;
const SEC_CODE = 10;
const KIND_FUNC = 0;
const KIND_TABLE = 1;
const KIND_MEMORY = 2;
const KIND_GLOBAL = 3;
const FUNC_TYPE_TAG = 0x60; // §5.3.6
const MAGIC_AND_VERSION = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]); // §5.5.16

/** Memory limits in 64 KiB pages. A shared memory needs a maximum (threads proposal). */
export interface MemoryLimits {
  readonly min: number;
  readonly max?: number;
  readonly shared?: boolean;
}

export interface TableLimits {
  readonly min: number;
  readonly max?: number;
  /** Element type, funcref by default. */
  readonly elem?: ValType;
}

type Import =
  | { kind: typeof KIND_FUNC; module: string; name: string; typeIndex: number }
  | { kind: typeof KIND_TABLE; module: string; name: string; table: TableLimits }
  | { kind: typeof KIND_MEMORY; module: string; name: string; memory: MemoryLimits }
  | { kind: typeof KIND_GLOBAL; module: string; name: string; type: ValType; mutable: boolean };

interface GlobalDef {
  type: ValType;
  mutable: boolean;
  init: number | bigint;
}

interface Export {
  name: string;
  kind: number;
  index: number;
}

/**
 * Builds one wasm module (Core 2.0 binary format, plus tail calls and atomics as Node 20 ships them).
 * Index spaces follow the spec: imports of a kind come before definitions of that kind, so import
 * everything first. `reset()` makes the builder reusable without reallocating its buffers, which
 * matters when the JIT emits thousands of small modules.
 */
export class ModuleBuilder {
  private readonly out = new ByteWriter(1024);
  private readonly types: ValType[][][] = []; // [params, results]
  private readonly typeKeys = new Map<string, number>();
  private readonly imports: Import[] = [];
  private readonly tables: TableLimits[] = [];
  private readonly memories: MemoryLimits[] = [];
  private readonly globals: GlobalDef[] = [];
  private readonly exports: Export[] = [];
  private readonly pool: FunctionBuilder[] = [];
  private funcCount = 0;
  private importedFuncs = 0;
  private importedTables = 0;
  private importedMemories = 0;
  private importedGlobals = 0;

  reset(): this {
    this.types.length = 0;
    this.typeKeys.clear();
    this.imports.length = 0;
    this.tables.length = 0;
    this.memories.length = 0;
    this.globals.length = 0;
    this.exports.length = 0;
    this.funcCount = 0;
    this.importedFuncs = this.importedTables = this.importedMemories = this.importedGlobals = 0;
    return this;
  }

  /** The index of the function type params → results, declaring it on first use. */
  type(params: readonly ValType[], results: readonly ValType[]): number {
    let key = '';
    for (let i = 0; i < params.length; i++) key += String.fromCharCode(params[i]!);
    key += ':';
    for (let i = 0; i < results.length; i++) key += String.fromCharCode(results[i]!);
    const known = this.typeKeys.get(key);
    if (known !== undefined) return known;
    const index = this.types.length;
    this.types.push([params.slice(), results.slice()]);
    this.typeKeys.set(key, index);
    return index;
  }

  private checkType(typeIndex: number, what: string): void {
    if (!(typeIndex >= 0 && typeIndex < this.types.length) || typeIndex !== Math.floor(typeIndex)) {
      throw new WasmBuildError('bad-index', `Cannot declare ${what}: type ${typeIndex} is not declared`);
    }
  }

  private checkImportOrder(defined: number, what: string): void {
    if (defined > 0) {
      throw new WasmBuildError('bad-order', `Cannot import ${what} after defining one of its kind: imports take the first indices`);
    }
  }

  importFunction(module: string, name: string, typeIndex: number): number {
    this.checkImportOrder(this.funcCount, `function "${module}.${name}"`);
    this.checkType(typeIndex, `import "${module}.${name}"`);
    this.imports.push({ kind: KIND_FUNC, module, name, typeIndex });
    return this.importedFuncs++;
  }

  importMemory(module: string, name: string, limits: MemoryLimits): number {
    this.checkImportOrder(this.memories.length, `memory "${module}.${name}"`);
    checkLimits(limits, `memory "${module}.${name}"`);
    this.imports.push({ kind: KIND_MEMORY, module, name, memory: limits });
    return this.importedMemories++;
  }

  importTable(module: string, name: string, limits: TableLimits): number {
    this.checkImportOrder(this.tables.length, `table "${module}.${name}"`);
    checkLimits(limits, `table "${module}.${name}"`);
    this.imports.push({ kind: KIND_TABLE, module, name, table: limits });
    return this.importedTables++;
  }

  importGlobal(module: string, name: string, type: ValType, mutable = false): number {
    this.checkImportOrder(this.globals.length, `global "${module}.${name}"`);
    this.imports.push({ kind: KIND_GLOBAL, module, name, type, mutable });
    return this.importedGlobals++;
  }

  /** Defines a memory; returns its index. */
  memory(limits: MemoryLimits, exportName?: string): number {
    checkLimits(limits, 'memory');
    const index = this.importedMemories + this.memories.length;
    this.memories.push(limits);
    if (exportName !== undefined) this.export(exportName, KIND_MEMORY, index);
    return index;
  }

  /** Defines a table (funcref by default, filled from JS with `Table.set`); returns its index. */
  table(limits: TableLimits, exportName?: string): number {
    checkLimits(limits, 'table');
    const index = this.importedTables + this.tables.length;
    this.tables.push(limits);
    if (exportName !== undefined) this.export(exportName, KIND_TABLE, index);
    return index;
  }

  /** Defines a numeric global with a constant initial value; returns its index. */
  global(type: ValType, mutable: boolean, init: number | bigint, exportName?: string): number {
    if (type !== I32 && type !== I64 && type !== F32 && type !== F64) {
      throw new WasmBuildError('bad-immediate', `Cannot define a global of type 0x${type.toString(16)}: only numeric globals are supported`);
    }
    const index = this.importedGlobals + this.globals.length;
    this.globals.push({ type, mutable, init });
    if (exportName !== undefined) this.export(exportName, KIND_GLOBAL, index);
    return index;
  }

  /** Starts a function of the given type; its index is `builder.index`. */
  function(typeIndex: number, options: { export?: string } = {}): FunctionBuilder {
    this.checkType(typeIndex, 'a function');
    let f = this.pool[this.funcCount];
    if (f === undefined) {
      f = new FunctionBuilder();
      this.pool.push(f);
    }
    const index = this.importedFuncs + this.funcCount++;
    f.init(index, typeIndex, this.types[typeIndex]![0]!, options.export);
    if (options.export !== undefined) this.export(options.export, KIND_FUNC, index);
    return f;
  }

  exportFunction(name: string, index: number): void {
    if (!(index >= 0 && index < this.importedFuncs + this.funcCount)) {
      throw new WasmBuildError('bad-index', `Cannot export "${name}": function ${index} does not exist`);
    }
    this.export(name, KIND_FUNC, index);
  }

  exportMemory(name: string, index = 0): void {
    this.export(name, KIND_MEMORY, index);
  }

  exportTable(name: string, index = 0): void {
    this.export(name, KIND_TABLE, index);
  }

  exportGlobal(name: string, index: number): void {
    this.export(name, KIND_GLOBAL, index);
  }

  private export(name: string, kind: number, index: number): void {
    for (const e of this.exports) {
      if (e.name === name) throw new WasmBuildError('bad-order', `Cannot export "${name}" twice`);
    }
    this.exports.push({ name, kind, index });
  }

  /**
   * The module's bytes (a copy the caller owns). Throws a WasmBuildError naming the function if a
   * function still has open blocks. The builder keeps its contents; call `reset()` to start over.
   */
  finish(): Uint8Array<ArrayBuffer> {
    const out = this.out;
    out.reset();
    out.bytes(MAGIC_AND_VERSION);

    if (this.types.length > 0) {
      const at = this.section(SEC_TYPE, this.types.length);
      for (const [params, results] of this.types) {
        out.u8(FUNC_TYPE_TAG);
        out.u32(params!.length);
        for (const t of params!) out.u8(t);
        out.u32(results!.length);
        for (const t of results!) out.u8(t);
      }
      this.endSection(at);
    }
    if (this.imports.length > 0) {
      const at = this.section(SEC_IMPORT, this.imports.length);
      for (const im of this.imports) {
        out.name(im.module);
        out.name(im.name);
        out.u8(im.kind);
        switch (im.kind) {
          case KIND_FUNC:
            out.u32(im.typeIndex);
            break;
          case KIND_TABLE:
            this.tableType(im.table);
            break;
          case KIND_MEMORY:
            this.limits(im.memory);
            break;
          case KIND_GLOBAL:
            out.u8(im.type);
            out.u8(im.mutable ? 1 : 0);
            break;
        }
      }
      this.endSection(at);
    }
    if (this.funcCount > 0) {
      const at = this.section(SEC_FUNCTION, this.funcCount);
      for (let i = 0; i < this.funcCount; i++) out.u32(this.pool[i]!.typeIndex);
      this.endSection(at);
    }
    if (this.tables.length > 0) {
      const at = this.section(SEC_TABLE, this.tables.length);
      for (const t of this.tables) this.tableType(t);
      this.endSection(at);
    }
    if (this.memories.length > 0) {
      const at = this.section(SEC_MEMORY, this.memories.length);
      for (const m of this.memories) this.limits(m);
      this.endSection(at);
    }
    if (this.globals.length > 0) {
      const at = this.section(SEC_GLOBAL, this.globals.length);
      for (const g of this.globals) this.globalDef(g);
      this.endSection(at);
    }
    if (this.exports.length > 0) {
      const at = this.section(SEC_EXPORT, this.exports.length);
      for (const e of this.exports) {
        out.name(e.name);
        out.u8(e.kind);
        out.u32(e.index);
      }
      this.endSection(at);
    }
    if (this.funcCount > 0) {
      const at = this.section(SEC_CODE, this.funcCount);
      for (let i = 0; i < this.funcCount; i++) this.pool[i]!.writeBody(out);
      this.endSection(at);
    }
    return out.toBytes();
  }

  private section(id: number, count: number): number {
    this.out.u8(id);
    const at = this.out.reserveU32();
    this.out.u32(count);
    return at;
  }

  private endSection(sizeAt: number): void {
    this.out.patchU32(sizeAt, this.out.length - sizeAt - 5);
  }

  /** limits (§5.3.7); flag 3 = shared with maximum (threads proposal). */
  private limits(l: { min: number; max?: number; shared?: boolean }): void {
    const out = this.out;
    out.u8(l.max === undefined ? 0 : l.shared ? 3 : 1);
    out.u32(l.min);
    if (l.max !== undefined) out.u32(l.max);
  }

  private tableType(t: TableLimits): void {
    this.out.u8(t.elem ?? FUNCREF);
    this.limits(t);
  }

  private globalDef(g: GlobalDef): void {
    const out = this.out;
    out.u8(g.type);
    out.u8(g.mutable ? 1 : 0);
    // Constant expression (§3.3.10): one const instruction, then end.
    switch (g.type) {
      case I32:
        out.u8(0x41);
        out.s32(Number(g.init));
        break;
      case I64: {
        const n = BigInt.asUintN(64, BigInt(g.init));
        out.u8(0x42);
        out.s64(Number(n & 0xffff_ffffn), Number(n >> 32n));
        break;
      }
      case F32:
        out.u8(0x43);
        out.f32(Number(g.init));
        break;
      default:
        out.u8(0x44);
        out.f64(Number(g.init));
        break;
    }
    out.u8(0x0b);
  }
}

function checkLimits(l: { min: number; max?: number; shared?: boolean }, what: string): void {
  const u32 = (v: number): boolean => v >= 0 && v <= 0xffff_ffff && v === Math.floor(v);
  if (!u32(l.min) || (l.max !== undefined && (!u32(l.max) || l.max < l.min))) {
    throw new WasmBuildError('bad-immediate', `Cannot declare ${what}: limits min=${l.min} max=${l.max} are not u32 with min <= max`);
  }
  if (l.shared && l.max === undefined) {
    throw new WasmBuildError('bad-immediate', `Cannot declare ${what}: a shared memory needs a maximum`);
  }
}
