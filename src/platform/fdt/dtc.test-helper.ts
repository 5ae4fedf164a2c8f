import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Test support (not part of wisp): decompile a DTB with the reference compiler, dtc, and read its DTS
 * output back into a small tree, so tests check our bytes against an independent reader.
 */

const MISSING = 'dtc is missing: install Debian package device-tree-compiler (scripts/setup.sh)';

export interface Decompiled {
  dts: string;
  /** dtc's warnings (one per line), e.g. "Warning (unit_address_vs_reg): ...". */
  warnings: string[];
}

/** Run `dtc -I dtb -O dts` on the bytes; throws with dtc's own message if it rejects them. */
export function decompile(dtb: Uint8Array): Decompiled {
  // Through a file, not stdin: dtc stops reading at the header's totalsize, and a padded blob (QEMU's
  // dump has slack after it) would then fail the write with EPIPE.
  const dir = mkdtempSync(join(tmpdir(), 'wisp-dtc-'));
  const file = join(dir, 'tree.dtb');
  writeFileSync(file, dtb);
  const r = spawnSync('dtc', ['-I', 'dtb', '-O', 'dts', file], { encoding: 'utf8' });
  rmSync(dir, { recursive: true, force: true });
  if (r.error) throw new Error((r.error as NodeJS.ErrnoException).code === 'ENOENT' ? MISSING : r.error.message);
  if (r.status !== 0) throw new Error(`dtc rejected the DTB (status ${r.status}): ${r.stderr}`);
  return { dts: r.stdout, warnings: r.stderr.split('\n').filter((l) => l.includes('Warning')) };
}

export interface DtsNode {
  name: string;
  path: string;
  /** Property name → value text exactly as dtc prints it ('' for an empty property). */
  props: Map<string, string>;
  children: DtsNode[];
}

/** Parse dtc's DTS output (one statement per line) into a tree. */
export function parseDts(dts: string): DtsNode {
  let root: DtsNode | undefined;
  const stack: DtsNode[] = [];
  for (const raw of dts.split('\n')) {
    const line = raw.trim();
    if (line === '' || line === '/dts-v1/;' || line.startsWith('/memreserve/')) continue;
    const open = /^(\S*)\s*\{$/.exec(line);
    if (open) {
      const name = open[1] === '/' ? '' : open[1]!;
      const parent = stack[stack.length - 1];
      const path = !parent ? '/' : parent.path === '/' ? `/${name}` : `${parent.path}/${name}`;
      const node: DtsNode = { name, path, props: new Map(), children: [] };
      if (parent) parent.children.push(node);
      else root = node;
      stack.push(node);
      continue;
    }
    if (line === '};') {
      stack.pop();
      continue;
    }
    const prop = /^([^\s=]+)(?:\s*=\s*(.*))?;$/.exec(line);
    if (!prop || stack.length === 0) throw new Error(`Cannot parse DTS line: ${raw}`);
    stack[stack.length - 1]!.props.set(prop[1]!, prop[2] ?? '');
  }
  if (!root || stack.length !== 0) throw new Error('Cannot parse DTS: unbalanced braces');
  return root;
}

/** The node at an absolute path ("/soc/serial@10000000"), or undefined. */
export function findNode(root: DtsNode, path: string): DtsNode | undefined {
  if (path === '/') return root;
  let node: DtsNode | undefined = root;
  for (const part of path.split('/').slice(1)) {
    node = node?.children.find((c) => c.name === part);
  }
  return node;
}

/** Every node of the tree, depth first. */
export function allNodes(root: DtsNode): DtsNode[] {
  return [root, ...root.children.flatMap(allNodes)];
}

/** Cells of a `<...>` property as numbers. */
export function cells(value: string | undefined): number[] {
  const m = /^<(.*)>$/.exec(value ?? '');
  if (!m) throw new Error(`Not a cell list: ${value}`);
  return m[1]!.trim() === '' ? [] : m[1]!.trim().split(/\s+/).map((c) => Number(c));
}
