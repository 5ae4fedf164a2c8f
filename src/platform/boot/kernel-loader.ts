import type { MachineMemory } from '../../memory/machine-memory.js';
import { isElf, parseElf, ElfError } from './elf.js';

/**
 * Places a kernel, an initrd and a DTB in guest RAM (DESIGN.md "Boot contract"): a RISC-V `Image`
 * (Documentation/arch/riscv/boot-image-header.rst) at DRAM + text_offset, or an ELF at its physical
 * addresses; the initrd and the DTB high in RAM, clear of the kernel's image_size. Every check that
 * can fail does so before a byte is written, with a message naming the file.
 */
export type BootErrorCode = 'not-kernel' | 'too-small' | 'initrd-too-large' | 'truncated';

export class BootError extends Error {
  constructor(readonly code: BootErrorCode, message: string) {
    super(message);
    this.name = 'BootError';
  }
}

export interface ImageHeader {
  textOffset: number;
  imageSize: number;
  version: number;
}

const IMAGE_MAGIC2 = 0x05435352; // "RSC\x05" at 0x38
/** Where Linux expects the kernel when the header says text_offset 0 (a 2 MiB-aligned slot). */
const DEFAULT_TEXT_OFFSET = 0x20_0000;

export function parseImageHeader(bytes: Uint8Array): ImageHeader | undefined {
  if (bytes.length < 64) return undefined;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dv.getUint32(0x38, true) !== IMAGE_MAGIC2) return undefined;
  return {
    textOffset: Number(dv.getBigUint64(8, true)),
    imageSize: Number(dv.getBigUint64(16, true)),
    version: dv.getUint32(32, true),
  };
}

/** Bytes of a kernel file's start that promisedKernelBytes needs (its headers are there). */
export const KERNEL_HEAD_BYTES = 4096;

/**
 * How many bytes a kernel file's own headers say it holds, where they say so: an Image with an EFI
 * stub carries a PE/COFF header (its offset at 0x3c, Linux arch/riscv/kernel/efi-header.S) whose
 * sections' raw data must lie in the file; an ELF's PT_LOAD segments and section header table must too.
 * Only the file's first bytes are needed, so this is checked at configuration time without reading
 * the whole kernel. undefined: nothing checkable (a plain Image without EFI stub, not a kernel).
 */
export function promisedKernelBytes(head: Uint8Array): number | undefined {
  const dv = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const u16 = (o: number) => (o + 2 <= head.length ? dv.getUint16(o, true) : undefined);
  const u32 = (o: number) => (o + 4 <= head.length ? dv.getUint32(o, true) : undefined);
  const u64 = (o: number) => (o + 8 <= head.length ? Number(dv.getBigUint64(o, true)) : undefined);
  if (parseImageHeader(head)) {
    if (head[0] !== 0x4d || head[1] !== 0x5a) return undefined; // no "MZ": no EFI stub, no PE header
    const pe = u32(0x3c);
    if (pe === undefined || u32(pe) !== 0x0000_4550) return undefined; // "PE\0\0"
    const sections = u16(pe + 6), optSize = u16(pe + 20);
    if (sections === undefined || optSize === undefined) return undefined;
    const table = pe + 24 + optSize;
    let end = 0;
    for (let i = 0; i < sections; i++) {
      const rawSize = u32(table + 40 * i + 16), rawPtr = u32(table + 40 * i + 20);
      if (rawSize === undefined || rawPtr === undefined) return undefined;
      if (rawSize > 0) end = Math.max(end, rawPtr + rawSize);
    }
    return end || undefined;
  }
  if (isElf(head) && head[4] === 2 && head[5] === 1) {
    const phoff = u64(32), shoff = u64(40), phent = u16(54), phnum = u16(56), shent = u16(58), shnum = u16(60);
    if (phoff === undefined || shoff === undefined || phent === undefined || phnum === undefined || shent === undefined || shnum === undefined) return undefined;
    let end = 0;
    for (let i = 0; i < phnum; i++) {
      const at = phoff + i * phent;
      if (u32(at) !== 1) continue; // PT_LOAD
      const off = u64(at + 8), filesz = u64(at + 32);
      if (off === undefined || filesz === undefined) return undefined;
      end = Math.max(end, off + filesz);
    }
    if (shoff > 0 && shnum > 0) end = Math.max(end, shoff + shnum * shent);
    return end || undefined;
  }
  return undefined;
}

/** Refuses a kernel file shorter than its headers promise (a truncated download or copy). */
export function checkKernelComplete(head: Uint8Array, fileBytes: number, name: string): void {
  const promised = promisedKernelBytes(head);
  if (promised !== undefined && promised > fileBytes) {
    throw new BootError(
      'truncated',
      `Cannot boot "${name}": the file is truncated: its headers promise ${promised} bytes, the file has ${fileBytes}`,
    );
  }
}

/**
 * The size of an initrd's contents once unpacked (a lower bound): a raw cpio is its contents; a gzip
 * archive says its uncompressed size in its last 4 bytes (RFC 1952 ISIZE) when it is one member, taken
 * if plausible; anything else (other compressions, concatenations) counts as at least its own size.
 */
export function initrdContentsBytes(initrd: Uint8Array): number {
  const n = initrd.length;
  if (n >= 18 && initrd[0] === 0x1f && initrd[1] === 0x8b) {
    const isize = (initrd[n - 4]! | (initrd[n - 3]! << 8) | (initrd[n - 2]! << 16) | (initrd[n - 1]! << 24)) >>> 0;
    if (isize >= n && isize <= n * 50) return isize;
  }
  return n;
}

/**
 * Below this much RAM a Linux Image does not reach its init with this initrd. Measured with Debian's
 * kernel (image_size 30.4 MiB at text_offset 2 MiB) and wisp's initramfs (2.3 MiB gzip, 10.9 MiB of
 * contents): it fails at 92 MiB and boots at 94; with 16 MiB more contents it fails at 108 and boots
 * at 112. Below that it panics before its console is up (at 64 MiB sparse_init cannot allocate its
 * 32 MiB section table; up to 84 MiB "System is deadlocked on memory") or cannot unpack its initramfs
 * (88-92: "VFS: Unable to mount root fs"). So: the image, 1.5 x image_size of what the kernel
 * allocates before init, and the initrd's contents, which is at or just below each failing size.
 */
export function minimumLinuxRamBytes(header: ImageHeader, initrd: Uint8Array | undefined): number {
  const kernel = (header.textOffset || DEFAULT_TEXT_OFFSET) + header.imageSize;
  return kernel + Math.ceil(1.5 * header.imageSize) + (initrd ? initrdContentsBytes(initrd) : 0);
}

export interface BootLayout {
  entry: number;
  kernelStart: number;
  kernelEnd: number;
  initrd?: { start: number; end: number };
  dtbAddress: number;
}

export interface KernelFiles {
  kernel: Uint8Array;
  kernelName: string;
  initrd?: Uint8Array;
  initrdName?: string;
}

const alignUp = (v: number, a: number) => Math.ceil(v / a) * a;
const alignDown = (v: number, a: number) => Math.floor(v / a) * a;

/** Decides where everything goes; writes nothing. `dtbSize` is an upper bound of the DTB's size. */
export function planBoot(mem: MachineMemory, files: KernelFiles, dtbSize: number): BootLayout & { place: () => void } {
  const ramBase = mem.ramBase, ramEnd = mem.ramBase + mem.ramSize;
  const mib = (n: number) => `${Math.ceil(n / 1048576)} MiB`;
  let entry: number, kernelStart: number, kernelEnd: number;
  let place: () => void;
  checkKernelComplete(files.kernel.subarray(0, KERNEL_HEAD_BYTES), files.kernel.length, files.kernelName);
  const header = parseImageHeader(files.kernel);
  if (header) {
    kernelStart = ramBase + (header.textOffset || DEFAULT_TEXT_OFFSET);
    const footprint = Math.max(header.imageSize, files.kernel.length);
    kernelEnd = kernelStart + footprint;
    entry = kernelStart;
    if (kernelEnd > ramEnd) {
      throw new BootError('too-small', `Cannot boot "${files.kernelName}": it needs ${mib(kernelEnd - ramBase)} of RAM (image_size ${mib(header.imageSize)}), the VM has ${mib(mem.ramSize)}`);
    }
    const kernel = files.kernel;
    place = () => { mem.write(kernelStart, kernel); };
  } else if (isElf(files.kernel)) {
    let image;
    try {
      image = parseElf(files.kernel);
    } catch (e) {
      throw new BootError('not-kernel', `Cannot boot "${files.kernelName}": ${(e as ElfError).message}`);
    }
    kernelStart = Math.min(...image.segments.map((s) => s.paddr));
    kernelEnd = Math.max(...image.segments.map((s) => s.paddr + s.memSize));
    for (const s of image.segments) {
      if (mem.hostOffset(s.paddr, s.memSize) < 0) {
        throw new BootError('too-small', `Cannot boot "${files.kernelName}": segment at 0x${s.paddr.toString(16)} (${s.memSize} bytes) lies outside RAM`);
      }
    }
    entry = Number(image.entry);
    if (mem.hostOffset(entry, 4) < 0) throw new BootError('not-kernel', `Cannot boot "${files.kernelName}": entry 0x${entry.toString(16)} is not in RAM`);
    place = () => { for (const s of image.segments) mem.write(s.paddr, s.data); };
  } else {
    throw new BootError('not-kernel', `Cannot boot "${files.kernelName}": not a RISC-V kernel (no Image header "RSC\\x05" at 0x38, not an ELF)`);
  }
  // DTB in the last 64 KiB-aligned slot that fits, the initrd page-aligned just below it.
  const dtbAddress = alignDown(ramEnd - alignUp(dtbSize, 8), 0x1_0000);
  let initrd: { start: number; end: number } | undefined;
  const freeLow = alignUp(kernelEnd, 0x1000);
  if (files.initrd) {
    const start = alignDown(dtbAddress - files.initrd.length, 0x1000);
    if (start < freeLow) {
      throw new BootError('initrd-too-large', `Cannot boot with initrd "${files.initrdName}": ${mib(files.initrd.length)} does not fit in ${mib(mem.ramSize)} of RAM next to the kernel (${mib(kernelEnd - ramBase)})`);
    }
    initrd = { start, end: start + files.initrd.length };
  } else if (dtbAddress < freeLow) {
    throw new BootError('too-small', `Cannot boot "${files.kernelName}": no room for the device tree in ${mib(mem.ramSize)} of RAM`);
  }
  if (header) {
    // Everything fits; whether the kernel can then get as far as its init is the next question.
    const need = minimumLinuxRamBytes(header, files.initrd);
    if (mem.ramSize < need) {
      const contents = files.initrd ? ` and an initrd of ${mib(initrdContentsBytes(files.initrd))} unpacked` : '';
      throw new BootError(
        'too-small',
        `Cannot boot "${files.kernelName}" in ${mib(mem.ramSize)} of RAM: a Linux kernel of image_size ${mib(header.imageSize)}${contents} ` +
          `needs at least ${mib(need)} to reach its init (it would die before its console is up); give the VM more memory`,
      );
    }
  }
  const initrdBytes = files.initrd;
  return {
    entry, kernelStart, kernelEnd, initrd, dtbAddress,
    place: () => {
      place();
      if (initrd && initrdBytes) mem.write(initrd.start, initrdBytes);
    },
  };
}
