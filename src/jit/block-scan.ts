import { decode } from '../cpu/isa/decode.js';

/** One guest instruction of a block: the 32-bit form (RVC already expanded), its length and offset from the block start. */
export interface BlockInsn {
  insn: number;
  len: 2 | 4;
  offset: number;
}

/** At most this many instructions per block: bounds the work between interrupt checks and the code size. */
export const MAX_BLOCK_INSNS = 64;

/**
 * Which major opcodes the translator handles. Everything else (SYSTEM, AMO, FP, FENCE, and M's
 * high-half multiplies and divisions, see translatable()) ends the block before it and runs in the
 * interpreter, which stays the reference.
 */
function translatable(insn: number): boolean {
  switch (insn & 0x7f) {
    case 0x13: case 0x1b: case 0x37: case 0x17: case 0x03: case 0x23: case 0x63: case 0x6f: case 0x67:
      return true;
    case 0x33: { // OP: everything but MULH/MULHSU/MULHU/DIV*/REM*
      const f7 = insn >>> 25, f3 = (insn >>> 12) & 7;
      return f7 !== 1 || f3 === 0;
    }
    case 0x3b: { // OP-32: everything but DIVW/REMW
      const f7 = insn >>> 25, f3 = (insn >>> 12) & 7;
      return f7 !== 1 || f3 === 0;
    }
    default:
      return false;
  }
}

const endsBlock = (insn: number) => {
  const op = insn & 0x7f;
  return op === 0x63 || op === 0x6f || op === 0x67;
};

/**
 * Reads the straight-line run of translatable instructions starting at host byte offset `host` (a
 * block never leaves its 4 KiB page: the next page may map elsewhere). A branch or jump is included
 * as the block's last instruction. Returns [] when the first instruction is not translatable.
 */
export function scanBlock(u16: Uint16Array, host: number, expansion: Int32Array): BlockInsn[] {
  const out: BlockInsn[] = [];
  const pageEnd = (host | 0xfff) + 1;
  let at = host;
  while (out.length < MAX_BLOCK_INSNS && at + 2 <= pageEnd) {
    const low = u16[at >>> 1];
    let insn: number, len: 2 | 4;
    if ((low & 3) !== 3) {
      insn = expansion[low];
      len = 2;
      if (insn === 0) break;
    } else {
      if (at + 4 > pageEnd) break; // straddles the page end: the interpreter fetches it
      insn = low | (u16[(at >>> 1) + 1] << 16);
      len = 4;
    }
    if (decode(insn) === undefined || !translatable(insn)) break;
    out.push({ insn, len, offset: at - host });
    at += len;
    if (endsBlock(insn)) break;
  }
  return out;
}
