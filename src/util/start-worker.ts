import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * Starts a worker thread whose entry is the module `entry` (a URL resolved against the caller's
 * module, e.g. new URL('./x.js', import.meta.url)): the compiled .js beside the caller, or, when the
 * caller itself runs as TypeScript (tsx, in development), the .ts through tsx's loader. The worker
 * inherits node's flags, except one that only means something for `node -e`.
 */
export function startWorker(entry: URL, opts: WorkerOptions = {}): Worker {
  const execArgv = opts.execArgv ?? process.execArgv.filter((a) => !a.startsWith('--input-type'));
  if (entry.href.endsWith('.js')) return new Worker(entry, { ...opts, execArgv });
  const tsx = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(entry.href)}); })`;
  return new Worker(boot, { ...opts, eval: true, execArgv });
}
