import { constants } from 'node:os';
import { ImageError } from '../../images/image-error.js';
import { pullImage } from '../../images/pull.js';
import { ContainerVm } from '../../runtime/container-vm.js';
import { CliError, parseNumberFlag } from '../cli-error.js';
import { MAX_HARTS } from '../../memory/machine-memory.js';
import { parsePublish, type PublishFlag } from '../net-flags.js';

/**
 * `wisp run [options] IMAGE [COMMAND [ARG...]]`: an OCI image as a microVM, as `docker run` runs a
 * container. Options come before IMAGE; everything after it is the command.
 */
export const IMAGE_HELP = `Usage: wisp run [options] IMAGE [COMMAND [ARG...]]

Runs an OCI image's linux/riscv64 root filesystem in a microVM: Debian's kernel, wisp's own init, the
image's Entrypoint/Cmd (COMMAND replaces Cmd), Env, WorkingDir and User. wisp exits with the
process's status (125: wisp or its init failed, 126: the command cannot run, 127: not found).

IMAGE: oci:DIR[:TAG]  oci-archive:FILE[:TAG]  docker-archive:FILE[:NAME:TAG]
       [docker://]HOST[:PORT]/NAME[:TAG|@DIGEST]  (plain HTTP for localhost and 127.0.0.1)

Options:
  -e, --env KEY=VAL   set an environment variable (KEY alone: take it from wisp's environment)
  -w, --workdir DIR   working directory inside the container
  -u, --user USER[:GROUP]  user (name or number), resolved in the image's /etc/passwd
      --entrypoint CMD  replace the image's Entrypoint (and drop its Cmd)
      --hostname NAME   the container's host name
      --net user|none  user: a network for the container through passt (rootless, started by wisp):
                      eth0 10.0.2.15/24, the host reachable at the gateway 10.0.2.2 (its loopback
                      services too), DNS at 10.0.2.3 (forwarded to the host's nameserver), the
                      host's networks through NAT; none (default): only lo
  -p, --publish HOST:GUEST[/udp]
                      with --net user: connections to HOST on this machine (TCP, or UDP) reach
                      port GUEST in the container (repeatable)
  -t, --tty           give the process a terminal (this terminal is put in raw mode)
  -i, --interactive   keep stdin open and pass it to the process
      --mem MiB       guest RAM (default 256)
      --cpus N        vCPUs (harts), 1-32 (default 1); each runs on a thread of its own
      --pull WHEN     missing (default): use the local image store when the image is there;
                      always: resolve the reference again; never: only the store
      --read-only     mount the root filesystem read-only (no writable layer)
      --rm            accepted for docker compatibility (wisp keeps no container behind anyway)
  -h, --help          show this help
`;

const VALUE_OPTIONS = new Set(['-e', '--env', '-w', '--workdir', '-u', '--user', '--entrypoint', '--hostname', '--mem', '--cpus', '--pull', '--name', '-p', '--publish', '--net', '--network']);
const FLAG_OPTIONS = new Set(['-t', '--tty', '-i', '--interactive', '--read-only', '--rm', '-h', '--help', '-d', '--detach']);
/** Options of plain `wisp run` that take a value (so their values are not mistaken for an IMAGE). */
const PLAIN_VALUE_OPTIONS = new Set(['--kernel', '--initrd', '--append', '--init-cmd', '--script', '--reboot', '--engine', '--differential', '--disk', '--vsock', '--vsock-cid', '--mac', '--cpus']);

/** Whether `wisp run ARGV` names an image (a positional argument before any command). */
export function isImageRun(argv: readonly string[]): boolean {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') return i + 1 < argv.length;
    if (!a.startsWith('-') || a === '-') return true;
    if (a.includes('=')) continue;
    if (VALUE_OPTIONS.has(a) || PLAIN_VALUE_OPTIONS.has(a)) i++;
  }
  return false;
}

interface ImageRunArgs {
  image: string;
  command: string[];
  env: string[];
  workdir?: string;
  user?: string;
  entrypoint?: string;
  hostname?: string;
  tty: boolean;
  interactive: boolean;
  mem?: string;
  cpus?: string;
  pull: 'missing' | 'always' | 'never';
  readOnly: boolean;
  /** --net user */
  net: boolean;
  publish: PublishFlag[];
  help: boolean;
}

export function parseImageRunArgs(argv: readonly string[]): ImageRunArgs {
  const out: ImageRunArgs = { image: '', command: [], env: [], tty: false, interactive: false, pull: 'missing', readOnly: false, net: false, publish: [], help: false };
  let i = 0;
  for (; i < argv.length; i++) {
    let a = argv[i];
    if (a === '--') { i++; break; }
    if (!a.startsWith('-') || a === '-') break;
    let value: string | undefined;
    const eq = a.indexOf('=');
    if (a.startsWith('--') && eq > 0) { value = a.slice(eq + 1); a = a.slice(0, eq); }
    // Short flags together: -it, -ti.
    if (/^-[it]{2,}$/.test(a)) {
      for (const c of a.slice(1)) { if (c === 'i') out.interactive = true; else out.tty = true; }
      continue;
    }
    if (VALUE_OPTIONS.has(a)) {
      if (value === undefined) {
        if (i + 1 >= argv.length) throw new CliError(`${a} needs a value`);
        value = argv[++i];
      }
      switch (a) {
        case '-e': case '--env': out.env.push(value.includes('=') ? value : `${value}=${process.env[value] ?? ''}`); break;
        case '-w': case '--workdir': out.workdir = value; break;
        case '-u': case '--user': out.user = value; break;
        case '--entrypoint': out.entrypoint = value; break;
        case '--hostname': out.hostname = value; break;
        case '--mem': out.mem = value; break;
        case '--cpus': out.cpus = value; break;
        case '--name': break;
        case '--pull':
          if (value !== 'missing' && value !== 'always' && value !== 'never') throw new CliError(`--pull must be missing, always or never, got "${value}"`);
          out.pull = value;
          break;
        case '--net': case '--network':
          // (Not tap:NAME: a container's addresses are wisp's own choice, which passt honours.)
          if (value !== 'user' && value !== 'none') throw new CliError(`${a} must be "user" or "none" for an image, got "${value}"`);
          out.net = value === 'user';
          break;
        case '-p': case '--publish': out.publish.push(parsePublish(value, a)); break;
      }
      continue;
    }
    if (!FLAG_OPTIONS.has(a) || value !== undefined) throw new CliError(`unknown option "${argv[i]}" (see wisp run --help)`);
    switch (a) {
      case '-t': case '--tty': out.tty = true; break;
      case '-i': case '--interactive': out.interactive = true; break;
      case '--read-only': out.readOnly = true; break;
      case '-h': case '--help': out.help = true; break;
      case '-d': case '--detach': throw new CliError('-d/--detach is not supported: wisp run stays attached to the container');
    }
  }
  if (out.help) return out;
  const cpus = parseNumberFlag('--cpus', out.cpus, 1);
  if (cpus < 1 || cpus > MAX_HARTS) throw new CliError(`--cpus must be 1…${MAX_HARTS}, got "${out.cpus}"`);
  if (out.publish.length && !out.net) throw new CliError('-p/--publish needs the user-mode network: add --net user');
  if (i >= argv.length) throw new CliError('wisp run needs an IMAGE (see wisp run --help)');
  out.image = argv[i];
  out.command = argv.slice(i + 1);
  return out;
}

/** Env from the image, then -e: a later KEY= replaces an earlier one in place. */
export function mergeEnv(base: readonly string[], extra: readonly string[]): string[] {
  const out = [...base];
  for (const e of extra) {
    const key = e.slice(0, e.indexOf('='));
    const at = out.findIndex((x) => x.slice(0, x.indexOf('=')) === key);
    if (at >= 0) out[at] = e; else out.push(e);
  }
  return out;
}

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

export async function runImage(argv: string[]): Promise<number> {
  let args: ImageRunArgs;
  try {
    args = parseImageRunArgs(argv);
  } catch (e) {
    process.stderr.write(`wisp run: ${(e as Error).message}\n`);
    return 125;
  }
  if (args.help) { process.stdout.write(IMAGE_HELP); return 0; }
  let vm: ContainerVm;
  try {
    const memMiB = parseNumberFlag('--mem', args.mem, 256);
    const cpus = parseNumberFlag('--cpus', args.cpus, 1);
    const image = await pullImage(args.image, { pull: args.pull, progress: process.stderr });
    const c = image.config.config;
    const entrypoint = args.entrypoint !== undefined ? (args.entrypoint ? [args.entrypoint] : []) : (c.Entrypoint ?? []);
    const cmd = args.command.length ? args.command : args.entrypoint !== undefined ? [] : (c.Cmd ?? []);
    const argvIn = [...entrypoint, ...cmd];
    if (argvIn.length === 0) throw new CliError(`${args.image} has no Entrypoint or Cmd: give a COMMAND`);
    const env = mergeEnv(c.Env ?? [], args.env);
    if (!env.some((e) => e.startsWith('PATH='))) env.unshift('PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
    if (args.tty && !env.some((e) => e.startsWith('TERM='))) env.push(`TERM=${process.env.TERM ?? 'xterm'}`);
    vm = await ContainerVm.start({
      rootfs: image.rootfsPath,
      memMiB,
      cpus,
      config: {
        args: argvIn, env, cwd: args.workdir ?? (c.WorkingDir || '/'), user: args.user ?? (c.User || undefined),
        hostname: args.hostname ?? image.manifestDigest.slice(7, 19), terminal: args.tty, stdin: args.interactive, readonlyRoot: args.readOnly,
      },
      ...(args.net && { net: { publish: args.publish } }),
      io: { stdout: (b) => process.stdout.write(b), stderr: (b) => process.stderr.write(b) },
      progress: process.stderr,
    });
  } catch (e) {
    if (e instanceof ImageError || e instanceof CliError || (e as { name?: string }).name === 'GuestError' || (e as { name?: string }).name === 'VmResourcesError' || (e as { name?: string }).name === 'ContainerVmError') {
      process.stderr.write(`wisp run: ${(e as Error).message}\n`);
      return 125;
    }
    throw e;
  }
  const stdin = process.stdin;
  const raw = args.tty && stdin.isTTY;
  const onSignal = (sig: NodeJS.Signals): void => vm.signal(constants.signals[sig]);
  const onResize = (): void => { if (process.stdout.columns) vm.resize(process.stdout.rows, process.stdout.columns); };
  const onData = (b: Buffer): void => vm.writeStdin(b);
  const onEnd = (): void => vm.closeStdin();
  for (const s of FORWARDED) process.on(s, onSignal);
  if (args.tty && process.stdout.isTTY) { onResize(); process.stdout.on('resize', onResize); }
  if (args.interactive) {
    if (raw) stdin.setRawMode(true);
    stdin.on('data', onData);
    stdin.on('end', onEnd);
    stdin.resume();
  }
  try {
    const exit = await vm.exited;
    if (exit.error) process.stderr.write(`wisp run: ${exit.error}\n`);
    return exit.status;
  } finally {
    for (const s of FORWARDED) process.off(s, onSignal);
    process.stdout.off('resize', onResize);
    if (args.interactive) {
      stdin.off('data', onData);
      stdin.off('end', onEnd);
      stdin.pause();
      if (raw) stdin.setRawMode(false);
    }
  }
}
