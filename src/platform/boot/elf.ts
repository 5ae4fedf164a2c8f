/**
 * ELF64 (little-endian, RISC-V) reading for the boot loader and the bare-metal runner: PT_LOAD
 * segments, the entry point and the symbol table (for `tohost`). Every offset and size read from the
 * file is checked against the file's length before use, so a truncated or hostile file gives an
 * ElfError naming what is wrong, never an exception from a typed array.
 */
export type ElfErrorCode = 'not-elf' | 'unsupported' | 'truncated';

export class ElfError extends Error {
  constructor(readonly code: ElfErrorCode, message: string) {
    super(message);
    this.name = 'ElfError';
  }
}

export interface ElfSegment {
  /** Physical load address (p_paddr), as the loader places bytes in guest-physical memory. */
  paddr: number;
  vaddr: bigint;
  /** Bytes from the file, then memSize - data.length zero bytes. */
  data: Uint8Array;
  memSize: number;
}

export interface ElfImage {
  entry: bigint;
  segments: ElfSegment[];
  symbols: Map<string, bigint>;
}

const EM_RISCV = 243;
const PT_LOAD = 1;
const SHT_SYMTAB = 2;

export function isElf(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46;
}

export function parseElf(bytes: Uint8Array): ElfImage {
  if (!isElf(bytes)) throw new ElfError('not-elf', 'not an ELF file (bad magic)');
  if (bytes.length < 64) throw new ElfError('truncated', `truncated ELF header (${bytes.length} bytes)`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes[4] !== 2) throw new ElfError('unsupported', 'not a 64-bit ELF (RV64 needs ELFCLASS64)');
  if (bytes[5] !== 1) throw new ElfError('unsupported', 'not a little-endian ELF');
  const machine = dv.getUint16(18, true);
  if (machine !== EM_RISCV) throw new ElfError('unsupported', `not a RISC-V ELF (e_machine ${machine}, expected ${EM_RISCV})`);
  const entry = dv.getBigUint64(24, true);
  const phoff = Number(dv.getBigUint64(32, true));
  const shoff = Number(dv.getBigUint64(40, true));
  const phentsize = dv.getUint16(54, true), phnum = dv.getUint16(56, true);
  const shentsize = dv.getUint16(58, true), shnum = dv.getUint16(60, true);
  const need = (off: number, len: number, what: string) => {
    if (!(off >= 0) || !(len >= 0) || off + len > bytes.length) {
      throw new ElfError('truncated', `truncated ELF: ${what} lies outside the file (offset ${off}, ${len} bytes, file has ${bytes.length})`);
    }
  };
  if (phnum > 0 && phentsize < 56) throw new ElfError('unsupported', `bad program header size ${phentsize}`);
  need(phoff, phnum * phentsize, 'the program header table');
  const segments: ElfSegment[] = [];
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * phentsize;
    if (dv.getUint32(at, true) !== PT_LOAD) continue;
    const offset = Number(dv.getBigUint64(at + 8, true));
    const vaddr = dv.getBigUint64(at + 16, true);
    const paddr = Number(dv.getBigUint64(at + 24, true));
    const filesz = Number(dv.getBigUint64(at + 32, true));
    const memsz = Number(dv.getBigUint64(at + 40, true));
    if (memsz < filesz) throw new ElfError('unsupported', `segment ${i} has p_memsz < p_filesz`);
    if (memsz === 0) continue;
    need(offset, filesz, `segment ${i}`);
    segments.push({ paddr, vaddr, data: bytes.subarray(offset, offset + filesz), memSize: memsz });
  }
  if (segments.length === 0) throw new ElfError('unsupported', 'no loadable segments');
  const symbols = new Map<string, bigint>();
  if (shoff !== 0 && shnum > 0 && shentsize >= 64) {
    need(shoff, shnum * shentsize, 'the section header table');
    for (let i = 0; i < shnum; i++) {
      const at = shoff + i * shentsize;
      if (dv.getUint32(at + 4, true) !== SHT_SYMTAB) continue;
      const off = Number(dv.getBigUint64(at + 24, true));
      const size = Number(dv.getBigUint64(at + 32, true));
      const link = dv.getUint32(at + 40, true);
      const entsize = Number(dv.getBigUint64(at + 56, true)) || 24;
      if (link >= shnum) continue;
      const strAt = shoff + link * shentsize;
      const strOff = Number(dv.getBigUint64(strAt + 24, true));
      const strSize = Number(dv.getBigUint64(strAt + 32, true));
      need(off, size, 'the symbol table');
      need(strOff, strSize, 'the string table');
      for (let s = off; s + 24 <= off + size; s += entsize) {
        const nameOff = dv.getUint32(s, true);
        if (nameOff === 0 || nameOff >= strSize) continue;
        let end = strOff + nameOff;
        while (end < strOff + strSize && bytes[end] !== 0) end++;
        const name = new TextDecoder().decode(bytes.subarray(strOff + nameOff, end));
        symbols.set(name, dv.getBigUint64(s + 8, true));
      }
    }
  }
  return { entry, segments, symbols };
}
