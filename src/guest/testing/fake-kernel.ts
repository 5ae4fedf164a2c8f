import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/**
 * Test fixtures for the guest tooling: a minimal ELF64 "module" with a .modinfo section, and a fake
 * kernel modules tree of such modules compressed with the host's xz, as Debian ships them.
 */

/** A 64-bit little-endian ELF with sections: null, .modinfo (the given key=value strings), .shstrtab. */
export function fakeModule(modinfo: Record<string, string>): Buffer {
  const info = Buffer.from(Object.entries(modinfo).map(([k, v]) => `${k}=${v}\0`).join(''));
  const shstr = Buffer.from('\0.modinfo\0.shstrtab\0');
  const infoOff = 64;
  const shstrOff = infoOff + info.length;
  const shoff = Math.ceil((shstrOff + shstr.length) / 8) * 8;
  const buf = Buffer.alloc(shoff + 3 * 64);
  buf.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1], 0); // ELFCLASS64, ELFDATA2LSB, EV_CURRENT
  buf.writeUInt16LE(1, 0x10); // ET_REL, as a .ko is
  buf.writeUInt16LE(243, 0x12); // EM_RISCV
  buf.writeUInt32LE(1, 0x14);
  buf.writeBigUInt64LE(BigInt(shoff), 0x28);
  buf.writeUInt16LE(64, 0x34); // e_ehsize
  buf.writeUInt16LE(64, 0x3a); // e_shentsize
  buf.writeUInt16LE(3, 0x3c); // e_shnum
  buf.writeUInt16LE(2, 0x3e); // e_shstrndx
  info.copy(buf, infoOff);
  shstr.copy(buf, shstrOff);
  const sh = (i: number, name: number, type: number, off: number, size: number): void => {
    const at = shoff + i * 64;
    buf.writeUInt32LE(name, at);
    buf.writeUInt32LE(type, at + 4);
    buf.writeBigUInt64LE(BigInt(off), at + 0x18);
    buf.writeBigUInt64LE(BigInt(size), at + 0x20);
  };
  sh(1, 1, 1 /* SHT_PROGBITS */, infoOff, info.length);
  sh(2, 10, 3 /* SHT_STRTAB */, shstrOff, shstr.length);
  return buf;
}

export interface FakeModuleSpec {
  /** Path under the modules directory, e.g. "kernel/fs/ext4/ext4.ko.xz". */
  path: string;
  depends?: string[];
}

/**
 * A modules directory of xz-compressed fake modules. Writes modules.dep only when `modulesDep` is
 * given (hand-written, to test the parser) and modules.builtin from `builtin` paths.
 */
export function fakeModulesDir(mods: FakeModuleSpec[], opts: { modulesDep?: string; builtin?: string[] } = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'wisp-fake-modules-'));
  for (const m of mods) {
    const name = m.path.slice(m.path.lastIndexOf('/') + 1).replace(/\.ko(\.xz)?$/, '').replace(/-/g, '_');
    const elf = fakeModule({ name, depends: (m.depends ?? []).join(','), license: 'GPL' });
    const file = join(dir, m.path);
    mkdirSync(dirname(file), { recursive: true });
    if (m.path.endsWith('.xz')) {
      try {
        writeFileSync(file, execFileSync('xz', ['-c', '--check=crc32'], { input: elf }));
      } catch (e) {
        throw new Error(`host "xz" is needed for this test (Debian package xz-utils): ${(e as Error).message}`);
      }
    } else {
      writeFileSync(file, elf);
    }
  }
  if (opts.modulesDep !== undefined) writeFileSync(join(dir, 'modules.dep'), opts.modulesDep);
  if (opts.builtin) writeFileSync(join(dir, 'modules.builtin'), opts.builtin.join('\n') + '\n');
  return dir;
}
