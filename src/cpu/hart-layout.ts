/**
 * Byte offsets inside one hart's region of the machine memory (see memory/machine-memory.ts). The
 * interpreter and JIT-generated code both address registers and TLBs through these, so they are the one
 * description of where architectural state lives.
 *
 * 64-bit integer registers are stored little-endian, so as int32 pairs: low word at +0, high at +4. The
 * interpreter works on the pairs (no BigInt on the hot path); wasm code loads them as i64.
 */
export const X_OFFSET = 0x000; // x0..x31, 8 bytes each (x0 always reads 0; writes are discarded)
export const F_OFFSET = 0x100; // f0..f31, 8 bytes each, raw IEEE bits (singles NaN-boxed)
export const PC_OFFSET = 0x200; // pc, 8 bytes
/**
 * The LR reservation: int32 valid (0/1) at +0, the reserved virtual address (8 bytes) at +8, and the
 * value the LR read (8 bytes, a word sign-extended) at +16, which an SC on a machine with several
 * harts compares and swaps against. In memory, not in the interpreter's fields, so translated code can
 * run LR/SC itself.
 */
export const RESERVATION_OFFSET = 0x208;
/** A word nothing else uses: the target of the locked no-op that serves as a full fence (4 bytes). */
export const FENCE_CELL_OFFSET = 0x220;
/** PAUSE instructions (Zihintpause) since the hart's runner last looked (int32): how it sees spinning. */
export const PAUSE_COUNT_OFFSET = 0x224;
/**
 * Floating-point and status words the JIT's inline FP code reads and writes, so they live here rather
 * than in the interpreter's fields: fcsr.fflags (int32, 5 bits, accrued), fcsr.frm (int32, 3 bits)
 * and mstatus's low word (int32; FS is bits 13-14). The interpreter reaches them through accessors.
 */
export const FFLAGS_OFFSET = 0x240;
export const FRM_OFFSET = 0x244;
export const MSTATUS_OFFSET = 0x248;

/**
 * Software TLBs, one per access kind so a hit needs no permission check: an entry exists only for an
 * access that the page walk (and PMA) already allowed. Entry = 4 int32: tag low, tag high, host addend,
 * spare. tag low = (vaddr & ~0xfff) | effective privilege; host offset = (vaddr_lo + addend) >>> 0.
 */
export const TLB_ENTRIES = 1024;
export const TLB_ENTRY_BYTES = 16;
export const TLB_READ_OFFSET = 0x1000;
export const TLB_WRITE_OFFSET = TLB_READ_OFFSET + TLB_ENTRIES * TLB_ENTRY_BYTES;
export const TLB_FETCH_OFFSET = TLB_WRITE_OFFSET + TLB_ENTRIES * TLB_ENTRY_BYTES;
export const HART_LAYOUT_END = TLB_FETCH_OFFSET + TLB_ENTRIES * TLB_ENTRY_BYTES;
