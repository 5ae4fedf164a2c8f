import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { modulesDepText, readModuleFile, scanModules, writeModulesDep } from './depmod.js';
import { isElf, readModinfo } from './elf-modinfo.js';
import { parseModulesDep, resolveLoadOrder } from './module-deps.js';
import { fakeModule, fakeModulesDir } from './testing/fake-kernel.js';

test('readModinfo returns the .modinfo strings of an ELF module', () => {
  const info = readModinfo(fakeModule({ name: 'ext4', depends: 'jbd2,mbcache', alias: 'fs-ext4' }), 'ext4.ko');
  assert.deepEqual(info.get('depends'), ['jbd2,mbcache']);
  assert.deepEqual(info.get('alias'), ['fs-ext4']);
});

test('readModinfo refuses non-ELF, truncated and 32-bit input with the file named', () => {
  assert.throws(() => readModinfo(Buffer.from('hello world'), 'x.ko'), /Module x.ko: not an ELF file/);
  const m = fakeModule({ name: 'a' });
  assert.throws(() => readModinfo(m.subarray(0, m.length - 10), 't.ko'), /t.ko: section headers lie outside/);
  const m32 = Buffer.from(m);
  m32[4] = 1;
  assert.throws(() => readModinfo(m32, 'c.ko'), /64-bit little-endian/);
  const broken = Buffer.from(m);
  const shoff = Number(broken.readBigUInt64LE(0x28));
  broken.writeBigUInt64LE(1n << 40n, shoff + 64 + 0x18); // section 1's sh_offset points far away
  assert.throws(() => readModinfo(broken, 'w.ko'), /w.ko: section 1 lies outside/);
});

test('scanning .ko.xz files builds the dependency table depmod would', async () => {
  const dir = fakeModulesDir([
    { path: 'kernel/fs/ext4/ext4.ko.xz', depends: ['jbd2', 'mbcache', 'crc16'] },
    { path: 'kernel/fs/jbd2/jbd2.ko.xz' },
    { path: 'kernel/fs/mbcache.ko.xz' },
    { path: 'kernel/lib/crc16.ko.xz' },
    { path: 'kernel/drivers/char/hw_random/virtio-rng.ko.xz' },
  ]);
  try {
    const bytes = await readModuleFile(join(dir, 'kernel/fs/mbcache.ko.xz'));
    assert.ok(isElf(bytes), 'xz-compressed module decompresses to ELF');
    const table = await scanModules(dir);
    assert.deepEqual(table.get('ext4')!.deps, ['jbd2', 'mbcache', 'crc16']);
    assert.equal(table.get('virtio_rng')!.path, 'kernel/drivers/char/hw_random/virtio-rng.ko.xz');
    const text = modulesDepText(table);
    // Transitive deps, listed last-loaded-first, as modules.dep(5) has them.
    assert.match(text, /^kernel\/fs\/ext4\/ext4.ko.xz: kernel\/lib\/crc16.ko.xz kernel\/fs\/mbcache.ko.xz kernel\/fs\/jbd2\/jbd2.ko.xz$/m);
    await writeModulesDep(dir);
    const parsed = parseModulesDep(readFileSync(join(dir, 'modules.dep'), 'utf8'));
    assert.equal(parsed.size, 5);
    assert.deepEqual(resolveLoadOrder(['ext4'], parsed, new Set()).order.map((e) => e.name).pop(), 'ext4');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a corrupt .ko.xz fails naming xz', async () => {
  const dir = fakeModulesDir([]);
  try {
    writeFileSync(join(dir, 'bad.ko.xz'), 'not xz');
    await assert.rejects(scanModules(dir), /xz exited with status 1/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
