import { GuestError } from './guest-error.js';

/**
 * Kernel module bookkeeping as modprobe sees it: `modules.dep` (modules.dep(5): one line per module,
 * "path: dep-path dep-path ...", paths relative to /lib/modules/<version>) and `modules.builtin` (one
 * path per line for code compiled into the kernel). Module names treat '-' and '_' as the same, so
 * "virtio-rng.ko" is the module virtio_rng.
 */

export interface ModuleEntry {
  name: string;
  /** Path relative to the modules directory, as written in modules.dep (may end in .ko.xz). */
  path: string;
  /** Names of the modules it depends on, as listed. */
  deps: string[];
}

export type ModuleTable = Map<string, ModuleEntry>;

/** "kernel/drivers/char/hw_random/virtio-rng.ko.xz" → "virtio_rng". */
export function moduleName(path: string): string {
  const base = path.slice(path.lastIndexOf('/') + 1);
  return base.replace(/\.ko(\.(xz|gz|zst))?$/, '').replace(/-/g, '_');
}

export function parseModulesDep(text: string): ModuleTable {
  const table: ModuleTable = new Map();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new GuestError('bad-format', `modules.dep: line without "path:" — "${line.slice(0, 80)}"`);
    const path = line.slice(0, colon).trim();
    const deps = line.slice(colon + 1).trim().split(/\s+/).filter(Boolean).map(moduleName);
    table.set(moduleName(path), { name: moduleName(path), path, deps });
  }
  return table;
}

export function parseModulesBuiltin(text: string): Set<string> {
  const out = new Set<string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line !== '' && !line.startsWith('#')) out.add(moduleName(line));
  }
  return out;
}

/** Write a table back in modules.dep format (entries in the given order, deps as paths). */
export function formatModulesDep(entries: Iterable<ModuleEntry>, table: ModuleTable): string {
  let out = '';
  for (const e of entries) {
    const deps = e.deps.map((d) => table.get(d)?.path).filter((p): p is string => p !== undefined);
    out += `${e.path}:${deps.length ? ' ' + deps.join(' ') : ''}\n`;
  }
  return out;
}

export interface LoadPlan {
  /** Modules to insmod, every one after all of its dependencies. */
  order: ModuleEntry[];
  /** Requested (or depended-on) names that are compiled into the kernel: nothing to load. */
  builtin: string[];
  /** Requested names that are neither modules nor built in. */
  missing: string[];
}

/**
 * The insmod order for `wanted` (in that order of preference): a depth-first walk that emits each
 * module after its dependencies, each once, skipping built-in ones. A dependency cycle (which depmod
 * would reject) is a bad-format error naming the modules.
 */
export function resolveLoadOrder(wanted: readonly string[], table: ModuleTable, builtin: ReadonlySet<string>): LoadPlan {
  const plan: LoadPlan = { order: [], builtin: [], missing: [] };
  const done = new Set<string>();
  const onStack: string[] = [];
  const visit = (name: string, requestedBy: string | undefined): void => {
    if (done.has(name)) return;
    const entry = table.get(name);
    if (!entry) {
      done.add(name);
      if (builtin.has(name)) plan.builtin.push(name);
      else if (requestedBy === undefined) plan.missing.push(name);
      else throw new GuestError('bad-format', `modules.dep: ${requestedBy} depends on ${name}, which is neither a module nor built in`);
      return;
    }
    if (onStack.includes(name)) {
      throw new GuestError('bad-format', `modules.dep: dependency cycle ${[...onStack.slice(onStack.indexOf(name)), name].join(' → ')}`);
    }
    onStack.push(name);
    for (const d of entry.deps) visit(d, name);
    onStack.pop();
    done.add(name);
    plan.order.push(entry);
  };
  for (const w of wanted) visit(w.replace(/-/g, '_'), undefined);
  return plan;
}
