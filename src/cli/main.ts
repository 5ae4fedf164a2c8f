/**
 * wisp's command line. Each subcommand lives in commands/<name>.ts and exports `run(argv)`; main only
 * dispatches, so adding a command is one file and one line here. (Firecracker's own flags, given
 * without a subcommand, are handled by the `firecracker` command: wisp then behaves as that binary.)
 */
export interface Command {
  summary: string;
  load: () => Promise<{ run(argv: string[]): Promise<number> }>;
}

export const commands: Record<string, Command> = {
  bare: { summary: 'Run a bare-metal M-mode test program (riscv-tests tohost convention)', load: () => import('./commands/bare.js') },
  run: { summary: 'Boot a guest (Debian by default) with its console on this terminal', load: () => import('./commands/run.js') },
  guest: { summary: 'Fetch the default Debian guest, build initramfs and root disks', load: () => import('./commands/guest.js') },
  snapshot: { summary: 'Snapshot files: rebase a Diff onto a full memory file, show a state file', load: () => import('./commands/snapshot.js') },
};

export function usage(): string {
  const lines = ['Usage: wisp <command> [options]', '', 'Commands:'];
  for (const [name, c] of Object.entries(commands)) lines.push(`  ${name.padEnd(8)} ${c.summary}`);
  lines.push('', 'Run `wisp <command> --help` for the options of one command.');
  return lines.join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage() + '\n');
    return name === undefined ? 1 : 0;
  }
  if (name.startsWith('--')) return (await import('./commands/firecracker.js')).run(argv);
  const cmd = commands[name];
  if (!cmd) {
    process.stderr.write(`wisp: unknown command "${name}"\n${usage()}\n`);
    return 2;
  }
  const mod = await cmd.load();
  return mod.run(rest);
}
