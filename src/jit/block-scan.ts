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
 * How the translator handles an instruction: 'inline' as wasm; 'helper' by calling back into the
 * interpreter for that one instruction and carrying on (CSR accesses:
 * correct by construction, and the region keeps running; F/D and A are inline and take the helper for
 * the cases they leave out); 'stop' ends the block before it (ECALL,
 * xRET, WFI, SFENCE.VMA, FENCE.I and anything illegal run in the dispatcher's interpreter, as they
 * change control flow or translation state).
 */
export function translation(insn: number): 'inline' | 'helper' | 'stop' {
  switch (insn & 0x7f) {
    // OP and OP-32 include all of M: the divisions were 1.1M helper calls in a Debian boot.
    case 0x13: case 0x1b: case 0x37: case 0x17: case 0x03: case 0x23: case 0x63: case 0x6f: case 0x67: case 0x33: case 0x3b:
      return 'inline';
    case 0x2f: // A: inline, with the interpreter for what the inline path does not take (translate-region amo)
      return 'inline';
    case 0x07: case 0x27: case 0x53: case 0x43: case 0x47: case 0x4b: case 0x4f:
      return 'inline'; // F and D: inline where exact (translate-fp), the interpreter for the rest
    case 0x0f: // FENCE (and PAUSE) are no-ops for one hart (inline: nothing); FENCE.I must reach the dispatcher
      return ((insn >>> 12) & 7) === 0 ? 'inline' : 'stop';
    case 0x73: // Zicsr; the privileged instructions (funct3 = 0) stop
      return ((insn >>> 12) & 7) !== 0 ? 'helper' : 'stop';
    default:
      return 'stop';
  }
}

const endsBlock = (insn: number) => {
  const op = insn & 0x7f;
  return op === 0x63 || op === 0x6f || op === 0x67;
};

/** A block as the translator sees it: its offset from the start of a page and its instructions. */
export interface BlockAt {
  offset: number;
  insns: readonly BlockInsn[];
}

/**
 * The offset a conditional branch or JAL goes to, for an instruction `offset` bytes into a block at
 * `blockStart` (undefined for other instructions).
 */
export function staticTarget({ insn, offset }: BlockInsn, blockStart: number): number | undefined {
  const at = blockStart + offset;
  switch (insn & 0x7f) {
    case 0x63: return at + (((insn >> 31) << 12) | (((insn >>> 7) & 1) << 11) | (((insn >>> 25) & 63) << 5) | (((insn >>> 8) & 15) << 1));
    case 0x6f: return at + (((insn >> 31) << 20) | (insn & 0xff000) | (((insn >>> 20) & 1) << 11) | (((insn >>> 21) & 0x3ff) << 1));
    default: return undefined;
  }
}

/** The offset after a block that ends without a branch or jump (cut short, or before an instruction it does not take). */
export function fallThrough({ offset, insns }: BlockAt): number | undefined {
  const last = insns[insns.length - 1];
  return last === undefined || endsBlock(last.insn) ? undefined : offset + last.offset + last.len;
}

/**
 * Where control can go after a block, as far as the code itself says: a branch's two ways, a jump's
 * target, or the next instruction for a block that ends before an instruction it does not take.
 * JALR's target is dynamic: none.
 */
export function staticSuccessors(b: BlockAt): number[] {
  const last = b.insns[b.insns.length - 1];
  if (last === undefined) return [];
  const target = staticTarget(last, b.offset);
  const next = b.offset + last.offset + last.len;
  switch (last.insn & 0x7f) {
    case 0x63: return [target!, next];
    case 0x6f: return [target!];
    case 0x67: return [];
    default: return [next];
  }
}

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
    if (decode(insn) === undefined || translation(insn) === 'stop') break;
    out.push({ insn, len, offset: at - host });
    at += len;
    if (endsBlock(insn)) break;
  }
  return out;
}
