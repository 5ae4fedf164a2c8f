import { GuestError } from './guest-error.js';

/** True if `buf` starts with the ELF magic (ELF spec, e_ident[EI_MAG0..3]). */
export function isElf(buf: Uint8Array): boolean {
  return buf.length >= 4 && buf[0] === 0x7f && buf[1] === 0x45 && buf[2] === 0x4c && buf[3] === 0x46;
}

/**
 * The `key=value` strings of a kernel module's `.modinfo` section (the data `modinfo` prints):
 * name, depends, softdep, alias, vermagic, ... A key may repeat (alias), so values are lists.
 * Only 64-bit little-endian ELF is read (what riscv64 modules are); `what` names the file in errors.
 */
export function readModinfo(buf: Uint8Array, what: string): Map<string, string[]> {
  const bad = (why: string): GuestError => new GuestError('bad-format', `Module ${what}: ${why}`);
  if (!isElf(buf)) throw bad('not an ELF file');
  // e_ident[EI_CLASS] = 2 (ELFCLASS64), e_ident[EI_DATA] = 1 (ELFDATA2LSB).
  if (buf[4] !== 2 || buf[5] !== 1) throw bad('not a 64-bit little-endian ELF file');
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const size = buf.byteLength;
  if (size < 64) throw bad('truncated ELF header');
  // ELF64 header: e_shoff at 0x28, e_shentsize at 0x3a, e_shnum at 0x3c, e_shstrndx at 0x3e.
  const shoff = Number(dv.getBigUint64(0x28, true));
  const shentsize = dv.getUint16(0x3a, true);
  const shnum = dv.getUint16(0x3c, true);
  const shstrndx = dv.getUint16(0x3e, true);
  if (shentsize < 64 || shoff + shnum * shentsize > size || shstrndx >= shnum) throw bad('section headers lie outside the file');
  // Elf64_Shdr: sh_name at 0, sh_offset at 0x18, sh_size at 0x20.
  const section = (i: number): { name: number; offset: number; size: number } => {
    const at = shoff + i * shentsize;
    const offset = Number(dv.getBigUint64(at + 0x18, true));
    const len = Number(dv.getBigUint64(at + 0x20, true));
    if (offset + len > size) throw bad(`section ${i} lies outside the file`);
    return { name: dv.getUint32(at, true), offset, size: len };
  };
  const strtab = section(shstrndx);
  const nameAt = (off: number): string => {
    const start = strtab.offset + off;
    const end = buf.indexOf(0, start);
    return Buffer.from(buf.subarray(start, end < 0 || end > strtab.offset + strtab.size ? strtab.offset + strtab.size : end)).toString('latin1');
  };
  for (let i = 0; i < shnum; i++) {
    const s = section(i);
    if (nameAt(s.name) !== '.modinfo') continue;
    const out = new Map<string, string[]>();
    const text = Buffer.from(buf.subarray(s.offset, s.offset + s.size)).toString('utf8');
    for (const entry of text.split('\0')) {
      const eq = entry.indexOf('=');
      if (eq <= 0) continue;
      const key = entry.slice(0, eq);
      const list = out.get(key) ?? [];
      list.push(entry.slice(eq + 1));
      out.set(key, list);
    }
    return out;
  }
  throw bad('has no .modinfo section');
}
