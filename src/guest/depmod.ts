import { readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join, relative } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { readModinfo } from './elf-modinfo.js';
import { runTool, xzDecompressFile } from './host-tool.js';
import { formatModulesDep, moduleName, resolveLoadOrder, type ModuleEntry, type ModuleTable } from './module-deps.js';

/**
 * A module file's bytes, decompressed: Debian compresses every module with xz
 * (CONFIG_MODULE_COMPRESS_XZ); .gz and .zst are handled for other kernels.
 */
export async function readModuleFile(path: string): Promise<Buffer> {
  if (path.endsWith('.ko.xz')) return xzDecompressFile(path);
  if (path.endsWith('.ko.gz')) return gunzipSync(await readFile(path));
  if (path.endsWith('.ko.zst')) return (await runTool('zstd', ['-dc', '--', path])).stdout;
  return readFile(path);
}

async function listModules(dir: string, out: string[] = []): Promise<string[]> {
  for (const ent of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, ent.name);
    if (ent.isDirectory()) await listModules(p, out);
    else if (/\.ko(\.(xz|gz|zst))?$/.test(ent.name)) out.push(p);
  }
  return out;
}

/**
 * Build the module table of a modules directory from each module's own `.modinfo` "depends=" field —
 * what `depmod` does, for hosts without kmod. Debian's linux-image package does not ship
 * modules.dep (its postinst runs depmod), so `wisp guest fetch` calls this once after extraction.
 * Decompressing Debian's ~3100 modules takes a few seconds on two cores.
 */
export async function scanModules(modulesDir: string): Promise<ModuleTable> {
  const files = (await listModules(modulesDir)).sort();
  const table: ModuleTable = new Map();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < files.length) {
      const file = files[next++]!;
      const rel = relative(modulesDir, file);
      const info = readModinfo(await readModuleFile(file), rel);
      const deps = (info.get('depends')?.[0] ?? '').split(',').filter(Boolean).map((d) => d.replace(/-/g, '_'));
      const name = moduleName(rel);
      table.set(name, { name, path: rel, deps });
    }
  };
  await Promise.all(Array.from({ length: Math.max(2, availableParallelism() * 2) }, worker));
  return table;
}

/**
 * modules.dep text for a table, as depmod writes it: every module with all of its transitive
 * dependencies, listed so that the last one is loaded first (modules.dep(5)).
 */
export function modulesDepText(table: ModuleTable): string {
  const entries: ModuleEntry[] = [];
  for (const name of [...table.keys()].sort((a, b) => table.get(a)!.path.localeCompare(table.get(b)!.path))) {
    const order = resolveLoadOrder([name], table, new Set()).order.map((e) => e.name);
    order.pop(); // the module itself
    entries.push({ ...table.get(name)!, deps: order.reverse() });
  }
  return formatModulesDep(entries, table);
}

/** Scan `modulesDir` and write its modules.dep (atomically). Returns the table. */
export async function writeModulesDep(modulesDir: string): Promise<ModuleTable> {
  const table = await scanModules(modulesDir);
  const target = join(modulesDir, 'modules.dep');
  await writeFile(`${target}.tmp`, modulesDepText(table));
  await rename(`${target}.tmp`, target);
  return table;
}
