/**
 * `wisp --api-sock …`: wisp behaving as the firecracker binary, so firectl and firecracker-go-sdk can
 * drive it. Starts the API server on the socket (unless --no-api), and with --config-file configures
 * and starts the VM from the file. Returns the exit status (Firecracker's FcExitCode values) when the
 * VMM ends: the guest powered off, a signal, or a bad configuration.
 */
import { ApiServer } from '../../api/api-server.js';
import { DEFAULT_MAX_PAYLOAD, MAX_PAYLOAD_LIMIT } from '../../api/http-parser.js';
import { parseWholeNumber, WholeNumberError } from '../../util/whole-number.js';
import { FileLineWriter, StreamLineWriter } from '../../logger/line-writer.js';
import { DEFAULT_INSTANCE_ID, Logger, type LogLevel } from '../../logger/logger.js';
import { createMetrics } from '../../metrics/metrics.js';
import { configFileActions, metadataAction } from '../../vmm/config-file.js';
import { readConfigFile, readMetadataFile } from '../../vmm/guest-files.js';
import { VmmController } from '../../vmm/controller.js';
import type { VmBuilder } from '../../vmm/machine.js';
import { WISP_VERSION } from '../../vmm/version.js';

/** Firecracker's FcExitCode (src/firecracker/src/main.rs). */
export const EXIT = { Ok: 0, GenericError: 1, BadConfiguration: 152, ArgParsing: 153 } as const;

export const DEFAULT_API_SOCK = '/run/firecracker.socket';

/** The firecracker binary's flags: name → takes a value. Flags the jailer passes that mean nothing here are accepted and ignored. */
const FLAGS: Record<string, boolean> = {
  'api-sock': true,
  'config-file': true,
  'no-api': false,
  id: true,
  'boot-timer': false,
  level: true,
  'log-path': true,
  'show-level': false,
  'show-log-origin': false,
  module: true,
  'metrics-path': true,
  'http-api-max-payload-size': true,
  version: false,
  help: false,
  // Accepted for compatibility; wisp has no seccomp filters or process-time accounting to apply them to.
  'no-seccomp': false,
  'seccomp-filter': true,
  'start-time-us': true,
  'start-time-cpu-us': true,
  'parent-cpu-time-us': true,
  'mmds-size-limit': true,
  metadata: true,
};

const HELP = `wisp (Firecracker API) v${WISP_VERSION}

Usage: wisp --api-sock <path> [options]

  --api-sock <path>                   Path to the API socket [default: ${DEFAULT_API_SOCK}]
  --config-file <path>                Configure and start the microVM from this JSON file
  --no-api                            Do not start the API server (requires --config-file)
  --id <id>                           MicroVM instance id [default: ${DEFAULT_INSTANCE_ID}]
  --boot-timer                        Log the guest boot time
  --level <level>                     Log level: Off, Error, Warning, Info, Debug, Trace [default: Info]
  --log-path <path>                   Log to this file or named pipe (it must exist)
  --show-level                        Show the level in log lines
  --show-log-origin                   Show the origin in log lines
  --module <prefix>                   Only log messages from this module
  --metrics-path <path>               Write metrics to this file or named pipe (it must exist)
  --http-api-max-payload-size <bytes> Largest accepted request body [default: ${DEFAULT_MAX_PAYLOAD}]
  --mmds-size-limit <bytes>           Largest MMDS data store [default: the payload size limit]
  --metadata <path>                   Put this JSON file's contents in the MMDS data store
  --version                           Print the version
  --help                              Print this help
`;

export class ArgError extends Error {}

export interface FirecrackerArgs {
  [flag: string]: string | true | undefined;
}

/** `--flag value` or `--flag=value`; each flag at most once (Firecracker's arg parser rule). */
export function parseArgs(argv: string[]): FirecrackerArgs {
  const out: FirecrackerArgs = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) throw new ArgError(`Found argument '${a}' which wasn't expected, or isn't valid in this context.`);
    const eq = a.indexOf('=');
    const name = a.slice(2, eq < 0 ? undefined : eq);
    if (!(name in FLAGS)) throw new ArgError(`Found argument '--${name}' which wasn't expected, or isn't valid in this context.`);
    if (name in out) throw new ArgError(`The argument '--${name}' was provided more than once.`);
    if (FLAGS[name]) {
      const v = eq >= 0 ? a.slice(eq + 1) : argv[++i];
      if (v === undefined) throw new ArgError(`The argument '--${name}' requires a value but none was supplied`);
      out[name] = v;
    } else {
      if (eq >= 0) throw new ArgError(`The argument '--${name}' takes no value.`);
      out[name] = true;
    }
  }
  if (out['no-api'] && out['config-file'] === undefined) throw new ArgError("Argument 'config-file' required, but not found.");
  return out;
}

/** Firecracker's validate_instance_id: 1..64 characters, alphanumeric or '-'. */
export function checkInstanceId(id: string): void {
  if (id.length < 1 || id.length > 64) throw new ArgError('Invalid instance ID: Invalid len for instance ID');
  for (let i = 0; i < id.length; i++) {
    if (!/[A-Za-z0-9-]/.test(id[i]!)) throw new ArgError(`Invalid instance ID: Invalid char (${id[i]}) at position ${i}`);
  }
}

function logLevel(v: string): LogLevel {
  const levels: LogLevel[] = ['Off', 'Error', 'Warning', 'Info', 'Debug', 'Trace'];
  const hit = levels.find((l) => l.toLowerCase() === v.toLowerCase()) ?? (v.toLowerCase() === 'warn' ? 'Warning' : undefined);
  if (!hit) throw new ArgError(`Invalid value for --level: "${v}" (expected one of ${levels.join(', ')})`);
  return hit;
}

/**
 * The machine. The platform provides `src/vmm/builder.ts` exporting `createVmBuilder(): VmBuilder`;
 * until it exists, InstanceStart answers with an error saying so (the API still works).
 */
async function defaultBuilder(): Promise<VmBuilder> {
  const spec = '../../vmm/builder.js';
  try {
    const mod = (await import(spec)) as { createVmBuilder(opts?: { prestart?: boolean }): VmBuilder };
    // The machine's thread starts with the VMM: an InstanceStart or snapshot load then finds it ready.
    return mod.createVmBuilder({ prestart: true });
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    return {
      build: async () => {
        throw new Error(`Cannot start microvm: this wisp build has no machine builder (${why})`);
      },
    };
  }
}

export interface FirecrackerDeps {
  builder?: VmBuilder;
  /** Called once the API socket accepts requests (tests); never called with --no-api. */
  onReady?: (info: { socketPath: string; controller: VmmController }) => void;
  /** Resolving this ends the VMM as SIGTERM would (tests). */
  stop?: Promise<void>;
  stdout?: { write(s: string): unknown };
  stderr?: { write(s: string): unknown };
}

export async function run(argv: string[], deps: FirecrackerDeps = {}): Promise<number> {
  const stdout = deps.stdout ?? process.stdout;
  const stderr = deps.stderr ?? process.stderr;
  let args: FirecrackerArgs;
  let level: LogLevel;
  let maxPayload = DEFAULT_MAX_PAYLOAD;
  let mmdsSizeLimit: number | undefined;
  try {
    args = parseArgs(argv);
    if (args['help']) {
      stdout.write(HELP);
      return EXIT.Ok;
    }
    if (args['version']) {
      stdout.write(`wisp v${WISP_VERSION} (Firecracker API compatible)\n`);
      return EXIT.Ok;
    }
    if (typeof args['id'] === 'string') checkInstanceId(args['id']);
    level = typeof args['level'] === 'string' ? logLevel(args['level']) : 'Info';
    const mp = args['http-api-max-payload-size'];
    if (typeof mp === 'string') {
      try {
        maxPayload = parseWholeNumber('--http-api-max-payload-size', mp, { min: 1, max: MAX_PAYLOAD_LIMIT, unit: 'bytes' });
      } catch (e) {
        if (e instanceof WholeNumberError) throw new ArgError(`Invalid value: ${e.message}`);
        throw e;
      }
    }
    const ml = args['mmds-size-limit'];
    if (typeof ml === 'string') {
      try {
        mmdsSizeLimit = parseWholeNumber('--mmds-size-limit', ml, { min: 1, max: MAX_PAYLOAD_LIMIT, unit: 'bytes' });
      } catch (e) {
        if (e instanceof WholeNumberError) throw new ArgError(`Invalid value: ${e.message}`);
        throw e;
      }
    }
  } catch (err) {
    if (err instanceof ArgError) {
      stderr.write(`Arguments parsing error: ${err.message}\n\nFor more information try --help.\n`);
      return EXIT.ArgParsing;
    }
    throw err;
  }

  const id = typeof args['id'] === 'string' ? args['id'] : DEFAULT_INSTANCE_ID;
  const logger = new Logger(new StreamLineWriter(stderr), id);
  logger.configure({
    level,
    showLevel: args['show-level'] === true,
    showOrigin: args['show-log-origin'] === true,
    ...(typeof args['module'] === 'string' && { module: args['module'] }),
  });
  if (typeof args['log-path'] === 'string') {
    try {
      logger.configure({}, FileLineWriter.open(args['log-path']));
    } catch (err) {
      stderr.write(`Failed to initialize logger: cannot open ${args['log-path']}: ${(err as Error).message}\n`);
      return EXIT.GenericError;
    }
  }
  logger.info('main', `Running wisp v${WISP_VERSION} (Firecracker API)`);

  const metrics = createMetrics();
  metrics.api_server.process_startup_time_us.set(Math.round(performance.now() * 1000));
  metrics.api_server.process_startup_time_cpu_us.set(process.cpuUsage().user + process.cpuUsage().system);
  const controller = new VmmController({
    instanceId: id,
    builder: deps.builder ?? (await defaultBuilder()),
    logger,
    metrics,
    bootTimer: args['boot-timer'] === true,
    // Firecracker: the data store's limit defaults to the API's payload limit.
    mmdsSizeLimit: mmdsSizeLimit ?? maxPayload,
  });

  const fail = async (code: number, message: string): Promise<number> => {
    logger.error('main', message);
    stderr.write(`${message}\n`);
    await controller.shutdown();
    logger.close();
    return code;
  };

  if (typeof args['metrics-path'] === 'string') {
    try {
      await controller.handle({ type: 'ConfigureMetrics', config: { metrics_path: args['metrics-path'] } });
    } catch (err) {
      return fail(EXIT.GenericError, `Failed to initialize metrics: ${(err as Error).message}`);
    }
  }

  let api: ApiServer | undefined;
  if (!args['no-api']) {
    const socketPath = typeof args['api-sock'] === 'string' ? args['api-sock'] : DEFAULT_API_SOCK;
    api = new ApiServer({ socketPath, backend: controller, logger, metrics, maxPayload });
    try {
      await api.listen();
    } catch (err) {
      return fail(EXIT.GenericError, (err as Error).message);
    }
  }

  if (typeof args['metadata'] === 'string') {
    try {
      await controller.handle(metadataAction(await readMetadataFile(args['metadata'])));
    } catch (err) {
      await api?.close();
      return fail(EXIT.BadConfiguration, `Cannot put the metadata file "${args['metadata']}" in the MMDS: ${(err as Error).message}`);
    }
  }

  if (typeof args['config-file'] === 'string') {
    try {
      for (const action of configFileActions(await readConfigFile(args['config-file']))) await controller.handle(action);
      await controller.handle({ type: 'StartMicroVm' });
      logger.info('main', 'Successfully started microvm that was configured from one single json');
    } catch (err) {
      await api?.close();
      return fail(EXIT.BadConfiguration, `Configuration for VMM from one single json failed: ${(err as Error).message}`);
    }
  }
  if (api) deps.onReady?.({ socketPath: typeof args['api-sock'] === 'string' ? args['api-sock'] : DEFAULT_API_SOCK, controller });

  // The VMM lives until the guest stops it, a signal arrives, or (tests) `stop` resolves.
  let onSignal: ((sig: NodeJS.Signals) => void) | undefined;
  const signals = new Promise<number>((resolve) => {
    onSignal = (sig) => {
      logger.info('main', `Received ${sig}, shutting down.`);
      resolve(EXIT.Ok);
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
  const code = await Promise.race([
    controller.exited.then((e) => e.exitCode),
    signals,
    ...(deps.stop ? [deps.stop.then(() => EXIT.Ok)] : []),
  ]);
  process.off('SIGINT', onSignal!);
  process.off('SIGTERM', onSignal!);
  await api?.close();
  await controller.shutdown();
  logger.close();
  return code;
}
