import { gunzipSync } from 'node:zlib';
import { GuestError } from './guest-error.js';
import { runTool } from './host-tool.js';

/**
 * What a kernel file is, as far as a boot loader cares.
 *
 * Debian trixie's riscv64 kernel (linux-image-6.12.*-riscv64) ships as /boot/vmlinux-<version>, and
 * despite the name it is NOT an ELF: it is the uncompressed RISC-V `Image` (Linux
 * Documentation/arch/riscv/boot-image-header.rst) with an EFI stub, i.e. the file starts with "MZ"
 * (PE/COFF, so UEFI firmware could run it), has "RSC\x05" at 0x38, text_offset 0x200000 at 0x08 and
 * image_size at 0x10. A loader can take it as it is. Other distributions ship gzip'd Images or
 * EFI zboot images ("MZ" + "zimg"), which `rawImageFrom` unpacks.
 */
export type KernelFormat =
  | 'riscv-image' // raw Image, loadable as is (with or without an EFI stub)
  | 'gzip' // a gzip'd Image (Image.gz)
  | 'efi-zboot' // an EFI zboot PE whose payload is a compressed Image
  | 'elf' // an ELF vmlinux
  | 'unknown';

/** RISC-V boot image header (boot-image-header.rst): magic2 "RSC\x05" at 0x38, little-endian. */
const RISCV_IMAGE_MAGIC2_OFFSET = 0x38;
const RISCV_IMAGE_MAGIC2 = 0x05435352; // "RSC\x05"

export interface RiscvImageHeader {
  /** Where the Image wants to sit above the start of DRAM (usually 0x200000 on 64-bit). */
  textOffset: bigint;
  /** Bytes of memory the kernel occupies once running (code + data + bss); initrd/DTB go above. */
  imageSize: bigint;
  /** Header version (major << 16 | minor). */
  version: number;
  /** The file also is a PE/COFF EFI application ("MZ" at 0). */
  efiStub: boolean;
}

export function detectKernelFormat(buf: Uint8Array): KernelFormat {
  if (buf.length >= 64 && readU32(buf, RISCV_IMAGE_MAGIC2_OFFSET) === RISCV_IMAGE_MAGIC2) return 'riscv-image';
  if (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) return 'gzip';
  // zboot-header.S: "MZ" as a 32-bit word, then the image type "zimg".
  if (buf.length >= 64 && buf[0] === 0x4d && buf[1] === 0x5a && ascii(buf, 4, 4) === 'zimg') return 'efi-zboot';
  if (buf.length >= 4 && buf[0] === 0x7f && ascii(buf, 1, 3) === 'ELF') return 'elf';
  return 'unknown';
}

/** The header of a raw RISC-V Image, or undefined if `buf` is not one. */
export function riscvImageHeader(buf: Uint8Array): RiscvImageHeader | undefined {
  if (detectKernelFormat(buf) !== 'riscv-image') return undefined;
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  return {
    textOffset: dv.getBigUint64(0x08, true),
    imageSize: dv.getBigUint64(0x10, true),
    version: dv.getUint32(0x20, true),
    efiStub: buf[0] === 0x4d && buf[1] === 0x5a,
  };
}

/**
 * The raw Image inside a kernel file: itself if already raw, else decompressed (gzip with node:zlib;
 * zboot payloads compressed with zstd or xz through the host tool). Throws a bad-format GuestError
 * naming `what` when the result is not a RISC-V Image.
 */
export async function rawImageFrom(buf: Buffer, what: string): Promise<Buffer> {
  const format = detectKernelFormat(buf);
  let out: Buffer;
  switch (format) {
    case 'riscv-image':
      return buf;
    case 'gzip':
      out = gunzipOrFail(buf, what);
      break;
    case 'efi-zboot': {
      const offset = readU32(buf, 8);
      const size = readU32(buf, 12);
      const comp = cString(buf, 24, 32);
      if (offset + size > buf.length || size === 0) {
        throw new GuestError('bad-format', `Kernel ${what}: zboot payload (offset ${offset}, size ${size}) lies outside the file`);
      }
      const payload = buf.subarray(offset, offset + size);
      if (comp === 'gzip') out = gunzipOrFail(payload, what);
      else if (comp === 'zstd' || comp === 'zstd22') out = (await runTool('zstd', ['-dc'], { input: payload })).stdout;
      else if (comp === 'xzkern' || comp === 'xz') out = (await runTool('xz', ['-dc'], { input: payload })).stdout;
      else throw new GuestError('bad-format', `Kernel ${what}: zboot compression "${comp}" is not supported`);
      break;
    }
    case 'elf':
    case 'unknown':
      throw new GuestError('bad-format', `Kernel ${what} is ${format === 'elf' ? 'an ELF file' : 'not a recognised format'}, not a RISC-V Image`);
  }
  if (detectKernelFormat(out) !== 'riscv-image') {
    throw new GuestError('bad-format', `Kernel ${what}: the decompressed ${format} payload is not a RISC-V Image`);
  }
  return out;
}

function gunzipOrFail(buf: Uint8Array, what: string): Buffer {
  try {
    return gunzipSync(buf);
  } catch (e) {
    throw new GuestError('bad-format', `Kernel ${what}: gzip data is corrupt (${(e as Error).message})`, { cause: e });
  }
}

function readU32(buf: Uint8Array, off: number): number {
  return (buf[off]! | (buf[off + 1]! << 8) | (buf[off + 2]! << 16) | (buf[off + 3]! << 24)) >>> 0;
}

function ascii(buf: Uint8Array, off: number, len: number): string {
  return String.fromCharCode(...buf.subarray(off, off + len));
}

function cString(buf: Uint8Array, off: number, max: number): string {
  const end = buf.subarray(off, off + max).indexOf(0);
  return ascii(buf, off, end < 0 ? max : end);
}
