import { appendFileSync } from 'node:fs';

/**
 * `--log FILE` and `--log-format text|json`, as runc writes them: one entry per line. containerd's
 * shim reads the JSON form after a failed command and shows the last entry of level "error" as the
 * reason (`{"level":"error","msg":"...","time":"..."}`).
 */
export type LogFormat = 'text' | 'json';

export interface RuncLog {
  path?: string;
  format: LogFormat;
}

export function logEntry(log: RuncLog, level: 'error' | 'warning' | 'info' | 'debug', msg: string): void {
  if (!log.path) return;
  const time = new Date().toISOString();
  const line = log.format === 'json'
    ? JSON.stringify({ level, msg, time })
    : `time="${time}" level=${level} msg=${JSON.stringify(msg)}`;
  try {
    appendFileSync(log.path, line + '\n');
  } catch {
    // A log that cannot be written must not turn a working command into a failed one.
  }
}
