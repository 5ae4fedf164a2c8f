import { Imm, OP_BY_CODE } from './opcodes.js';
import { valTypeText } from './value-type.js';

/**
 * A wat-like listing of a wasm module, for debugging and for the JIT's golden tests: one
 * instruction per line, indented by nesting, memargs shown as in the text format (offset= and align=
 * only when not the default). Reads only what ModuleBuilder writes; unknown sections are listed by id.
 * Malformed input gives an Error naming the byte offset (this is a tool, not a guest-facing path).
 */
export function disassemble(bytes: Uint8Array, options: { func?: number } = {}): string {
  return new Disassembler(bytes).run(options.func);
}

const SECTION_NAMES = ['custom', 'type', 'import', 'function', 'table', 'memory', 'global', 'export', 'start', 'element', 'code', 'data', 'datacount'];
const KIND_TEXT = ['func', 'table', 'memory', 'global'];

class Disassembler {
  private p = 0;
  private readonly types: string[] = [];
  private readonly typeParams: number[][] = [];
  private importedFuncs = 0;
  private readonly funcTypes: number[] = [];
  private readonly exportNames = new Map<number, string[]>();
  private readonly head: string[] = [];
  private readonly bodies: string[][] = [];

  constructor(private readonly b: Uint8Array) {}

  run(only: number | undefined): string {
    const b = this.b;
    if (b.length < 8 || b[0] !== 0 || b[1] !== 0x61 || b[2] !== 0x73 || b[3] !== 0x6d) this.fail('no wasm magic');
    this.p = 8;
    while (this.p < b.length) {
      const id = this.u8();
      const size = this.u32();
      const end = this.p + size;
      this.section(id, end);
      this.p = end;
    }
    if (only !== undefined) {
      const body = this.bodies[only - this.importedFuncs];
      if (body === undefined) throw new Error(`Cannot list function ${only}: the module does not define it`);
      return body.join('\n') + '\n';
    }
    const lines = ['(module', ...this.head];
    for (const body of this.bodies) lines.push(...body.map((l) => '  ' + l));
    lines.push(')');
    return lines.join('\n') + '\n';
  }

  private fail(what: string): never {
    throw new Error(`Cannot disassemble at byte ${this.p}: ${what}`);
  }

  private u8(): number {
    if (this.p >= this.b.length) this.fail('unexpected end of input');
    return this.b[this.p++]!;
  }

  private u32(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      const byte = this.u8();
      result += (byte & 0x7f) * 2 ** shift;
      shift += 7;
      if ((byte & 0x80) === 0) return result;
      if (shift >= 35) this.fail('LEB128 too long');
    }
  }

  private sleb(bits: number): bigint {
    let result = 0n;
    let shift = 0n;
    let byte: number;
    do {
      byte = this.u8();
      result |= BigInt(byte & 0x7f) << shift;
      shift += 7n;
      if (shift > BigInt(bits + 7)) this.fail('LEB128 too long');
    } while (byte & 0x80);
    if (byte & 0x40) result -= 1n << shift;
    return BigInt.asIntN(bits, result);
  }

  private name(): string {
    const n = this.u32();
    const s = new TextDecoder().decode(this.b.subarray(this.p, this.p + n));
    this.p += n;
    return JSON.stringify(s);
  }

  private limits(): string {
    const flags = this.u8();
    const min = this.u32();
    const max = flags & 1 ? ` ${this.u32()}` : '';
    return `${min}${max}${flags & 2 ? ' shared' : ''}`;
  }

  private section(id: number, end: number): void {
    const count = id === 0 ? 0 : this.u32();
    switch (id) {
      case 1:
        for (let i = 0; i < count; i++) {
          if (this.u8() !== 0x60) this.fail('function type expected');
          const params = this.vecTypes();
          const results = this.vecTypes();
          this.typeParams.push(params);
          this.types.push(sig(params, results));
          this.head.push(`  (type ${i} (func${this.types[i] ? ' ' + this.types[i] : ''}))`);
        }
        break;
      case 2:
        for (let i = 0; i < count; i++) {
          const mod = this.name();
          const nm = this.name();
          const kind = this.u8();
          let desc: string;
          if (kind === 0) {
            const t = this.u32();
            desc = `(func ${this.importedFuncs++} (type ${t}))`;
          } else if (kind === 1) {
            const elem = valTypeText(this.u8());
            desc = `(table ${this.limits()} ${elem})`;
          } else if (kind === 2) desc = `(memory ${this.limits()})`;
          else {
            const t = valTypeText(this.u8());
            desc = `(global ${this.u8() ? `(mut ${t})` : t})`;
          }
          this.head.push(`  (import ${mod} ${nm} ${desc})`);
        }
        break;
      case 3:
        for (let i = 0; i < count; i++) this.funcTypes.push(this.u32());
        break;
      case 4:
        for (let i = 0; i < count; i++) {
          const elem = valTypeText(this.u8());
          this.head.push(`  (table ${this.limits()} ${elem})`);
        }
        break;
      case 5:
        for (let i = 0; i < count; i++) this.head.push(`  (memory ${this.limits()})`);
        break;
      case 6:
        for (let i = 0; i < count; i++) {
          const t = valTypeText(this.u8());
          const mut = this.u8();
          const init = this.instr();
          if (this.u8() !== 0x0b) this.fail('end of constant expression expected');
          this.head.push(`  (global ${mut ? `(mut ${t})` : t} (${init.text}))`);
        }
        break;
      case 7:
        for (let i = 0; i < count; i++) {
          const nm = this.name();
          const kind = this.u8();
          const index = this.u32();
          if (kind === 0) {
            const list = this.exportNames.get(index) ?? [];
            list.push(nm);
            this.exportNames.set(index, list);
          }
          this.head.push(`  (export ${nm} (${KIND_TEXT[kind] ?? `kind${kind}`} ${index}))`);
        }
        break;
      case 10:
        for (let i = 0; i < count; i++) this.body(this.importedFuncs + i);
        break;
      default:
        this.head.push(`  ;; ${SECTION_NAMES[id] ?? 'unknown'} section (id ${id}, ${end - this.p} bytes) not listed`);
    }
  }

  private vecTypes(): number[] {
    const n = this.u32();
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push(this.u8());
    return out;
  }

  private body(funcIndex: number): void {
    const size = this.u32();
    const end = this.p + size;
    const typeIndex = this.funcTypes[funcIndex - this.importedFuncs] ?? -1;
    const exports = (this.exportNames.get(funcIndex) ?? []).map((n) => ` (export ${n})`).join('');
    const typeText = this.types[typeIndex];
    const lines = [`(func ${funcIndex} (type ${typeIndex})${exports}${typeText ? ' ' + typeText : ''}`];
    let local = this.typeParams[typeIndex]?.length ?? 0;
    const groups = this.u32();
    const locals: string[] = [];
    for (let g = 0; g < groups; g++) {
      const n = this.u32();
      const t = valTypeText(this.u8());
      for (let k = 0; k < n; k++) locals.push(`(local ${local++} ${t})`);
    }
    if (locals.length) lines.push('  ' + locals.join(' '));
    let depth = 1;
    while (this.p < end) {
      const { text, nest } = this.instr();
      if (nest < 0 || text === 'else') depth--;
      if (depth === 0) break; // the function's final end
      lines.push('  '.repeat(depth) + text);
      if (nest > 0 || text === 'else') depth++;
    }
    lines.push(')');
    this.bodies.push(lines);
    this.p = end;
  }

  /** One instruction as text; nest is +1 for block/loop/if, -1 for end. */
  private instr(): { text: string; nest: number } {
    const at = this.p;
    let code = this.u8();
    if (code === 0xfc || code === 0xfe) code = (code << 8) | this.u32();
    const op = OP_BY_CODE.get(code);
    if (op === undefined) {
      this.p = at;
      this.fail(`unknown opcode 0x${code.toString(16)}`);
    }
    const t = op.text;
    switch (op.imm) {
      case Imm.None:
      case Imm.Else:
        return { text: t, nest: 0 };
      case Imm.End:
        return { text: t, nest: -1 };
      case Imm.Zero1:
        this.u8();
        return { text: t, nest: 0 };
      case Imm.Zero2:
        this.u8();
        this.u8();
        return { text: t, nest: 0 };
      case Imm.Block: {
        const bt = Number(this.sleb(33));
        const suffix = bt === -0x40 ? '' : bt < 0 ? ` (result ${valTypeText(bt & 0x7f)})` : ` (type ${bt})`;
        return { text: t + suffix, nest: 1 };
      }
      case Imm.Label:
      case Imm.Index:
        return { text: `${t} ${this.u32()}`, nest: 0 };
      case Imm.BrTable: {
        const n = this.u32();
        const labels: number[] = [];
        for (let i = 0; i <= n; i++) labels.push(this.u32());
        return { text: `${t} ${labels.join(' ')}`, nest: 0 };
      }
      case Imm.CallIndirect: {
        const type = this.u32();
        const table = this.u32();
        return { text: `${t}${table ? ` ${table}` : ''} (type ${type})`, nest: 0 };
      }
      case Imm.MemArg: {
        const align = this.u32();
        const offset = this.u32();
        let s = t;
        if (offset !== 0) s += ` offset=${offset}`;
        if (align !== op.align) s += ` align=${2 ** align}`;
        return { text: s, nest: 0 };
      }
      case Imm.I32:
        return { text: `${t} ${this.sleb(32)}`, nest: 0 };
      case Imm.I64:
        return { text: `${t} ${this.sleb(64)}`, nest: 0 };
      case Imm.F32: {
        const dv = new DataView(this.b.buffer, this.b.byteOffset + this.p, 4);
        this.p += 4;
        return { text: `${t} ${floatText(dv.getFloat32(0, true), dv.getUint32(0, true) >>> 31, dv.getUint32(0, true) & 0x7f_ffff, 23)}`, nest: 0 };
      }
      case Imm.F64: {
        const dv = new DataView(this.b.buffer, this.b.byteOffset + this.p, 8);
        this.p += 8;
        const hi = dv.getUint32(4, true);
        const mant = BigInt(hi & 0xf_ffff) * 2n ** 32n + BigInt(dv.getUint32(0, true));
        return { text: `${t} ${floatText(dv.getFloat64(0, true), hi >>> 31, mant, 52)}`, nest: 0 };
      }
      default:
        this.fail(`opcode ${t} has an immediate kind the listing does not know`);
    }
  }
}

function sig(params: number[], results: number[]): string {
  const parts: string[] = [];
  if (params.length) parts.push(`(param ${params.map(valTypeText).join(' ')})`);
  if (results.length) parts.push(`(result ${results.map(valTypeText).join(' ')})`);
  return parts.join(' ');
}

/** Text-format float (§6.6.2): shortest round-trip decimal, inf, and nan:0x… with the payload. */
function floatText(v: number, sign: number, mantissa: number | bigint, bits: number): string {
  const s = sign ? '-' : '';
  if (Number.isNaN(v)) {
    const canonical = BigInt(mantissa) === 1n << BigInt(bits - 1);
    return canonical ? `${s}nan` : `${s}nan:0x${mantissa.toString(16)}`;
  }
  if (!Number.isFinite(v)) return `${s}inf`;
  if (v === 0) return `${s}0`;
  return String(v);
}
