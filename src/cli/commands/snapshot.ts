/**
 * `wisp snapshot …`: tools for snapshot files, as Firecracker ships `snapshot-editor`.
 *   rebase  lays a Diff memory file onto the memory file of an earlier snapshot (in place)
 *   info    prints what a state file holds
 */
import { parseArgs } from 'node:util';
import { rebaseMemoryFile, MemoryFileError, decodePageMap } from '../../snapshot/memory-file.js';
import { readSnapshot, SnapshotError } from '../../vmm/snapshot.js';

const HELP = `Usage: wisp snapshot <rebase|info> [options]

  wisp snapshot rebase --memory-path BASE --diff-path LAYER --snapshot-path LAYER_STATE
      Copies the pages a Diff snapshot carries (LAYER, created with snapshot_type "Diff") over the
      memory file of the snapshot before it (BASE, Full or already rebased), in place. LAYER_STATE is
      the state file created with LAYER: it lists the pages LAYER holds. BASE then restores, with
      LAYER_STATE, the VM as it was when LAYER was taken. Layers go on in the order they were taken.

  wisp snapshot info STATE
      Prints the state file's type, configuration and devices (checking it as a load would).
`;

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  try {
    switch (sub) {
      case 'rebase': return rebase(rest);
      case 'info': return info(rest);
      case undefined: case '-h': case '--help':
        process.stdout.write(HELP);
        return sub === undefined ? 2 : 0;
      default:
        process.stderr.write(`wisp snapshot: unknown subcommand "${sub}"\n${HELP}`);
        return 2;
    }
  } catch (e) {
    if (e instanceof SnapshotError || e instanceof MemoryFileError || (e as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      process.stderr.write(`wisp snapshot ${sub}: ${(e as Error).message}\n`);
      return 1;
    }
    throw e;
  }
}

function rebase(argv: string[]): number {
  const { values: v } = parseArgs({
    args: argv,
    options: { 'memory-path': { type: 'string' }, 'diff-path': { type: 'string' }, 'snapshot-path': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (v.help) { process.stdout.write(HELP); return 0; }
  const base = v['memory-path'], diff = v['diff-path'], state = v['snapshot-path'];
  if (!base || !diff || !state) {
    process.stderr.write('wisp snapshot rebase: --memory-path, --diff-path and --snapshot-path are all required\n');
    return 2;
  }
  const snap = readSnapshot(state);
  if (snap.snapshot_type !== 'Diff' || snap.memory.page_map === undefined) {
    process.stderr.write(`wisp snapshot rebase: "${state}" is the state file of a ${snap.snapshot_type} snapshot; rebase takes a Diff's\n`);
    return 1;
  }
  const t0 = performance.now();
  const pages = rebaseMemoryFile(base, diff, snap.memory.page_map, snap.memory.size_bytes);
  process.stderr.write(`wisp snapshot rebase: ${pages} pages (${(pages * 4096 / 0x10_0000).toFixed(1)} MiB) copied onto "${base}" in ${(performance.now() - t0).toFixed(0)} ms\n`);
  return 0;
}

function info(argv: string[]): number {
  const path = argv[0];
  if (!path) {
    process.stderr.write('wisp snapshot info: give the path of a state file\n');
    return 2;
  }
  const s = readSnapshot(path);
  const pages = s.memory.size_bytes / 4096;
  const carried = s.memory.page_map !== undefined ? decodePageMap(s.memory.page_map, pages).reduce((a, b) => a + b, 0) : pages;
  const out = {
    snapshot_type: s.snapshot_type,
    wisp_version: s.wisp_version,
    created_at: new Date(Number(BigInt(s.created_at_ns) / 1_000_000n)).toISOString(),
    memory: { size_mib: s.memory.size_bytes / 0x10_0000, pages_in_memory_file: carried },
    vm_config: s.vm_config,
    harts: s.machine.harts.map((h) => ({ id: h.id, pc: h.pc, priv: h.priv, instret: h.instret })),
    virtio: s.machine.virtio.map((d, n) => ({ slot: n, device_type: d.deviceType, status: d.status, running: d.running })),
    mtime_ticks: s.machine.mtimeTicks,
  };
  process.stdout.write(JSON.stringify(out, null, 2) + '\n');
  return 0;
}
