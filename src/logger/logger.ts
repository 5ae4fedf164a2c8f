/**
 * wisp's logger, in Firecracker's line shape:
 *
 *   2024-05-01T10:11:12.123456000 [my-vm:fc_api:INFO:api::server] The API server received a Put request on "/actions".
 *
 * i.e. `<local time with 9 fractional digits> [<instance id>:<thread>[:<LEVEL>][:<origin>]] <message>`;
 * the level is shown with `show_level`, the origin with `show_log_origin`, and `module` keeps only
 * messages whose origin starts with it. Levels filter as Firecracker's do (Off < Error < Warning < Info
 * < Debug < Trace). A line that cannot be written is counted, never thrown.
 */
import type { LineWriter } from './line-writer.js';

export type LogLevel = 'Off' | 'Error' | 'Warning' | 'Info' | 'Debug' | 'Trace';

const RANK: Record<LogLevel, number> = { Off: 0, Error: 1, Warning: 2, Info: 3, Debug: 4, Trace: 5 };
/** Firecracker prints log::Level names. */
const LABEL: Record<Exclude<LogLevel, 'Off'>, string> = { Error: 'ERROR', Warning: 'WARN', Info: 'INFO', Debug: 'DEBUG', Trace: 'TRACE' };

export const DEFAULT_INSTANCE_ID = 'anonymous-instance';

export interface LoggerOptions {
  level: LogLevel;
  showLevel: boolean;
  showOrigin: boolean;
  module?: string;
}

export class Logger {
  private opts: LoggerOptions = { level: 'Info', showLevel: false, showOrigin: false };
  /** Lines the writer refused (Firecracker's logger.missed_log_count). */
  missedLogCount = 0;

  constructor(
    private writer: LineWriter,
    public instanceId: string = DEFAULT_INSTANCE_ID,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Replaces options and (if given) the destination; the old destination is closed. */
  configure(opts: Partial<LoggerOptions>, writer?: LineWriter): void {
    this.opts = { ...this.opts, ...opts };
    if (writer && writer !== this.writer) {
      this.writer.close();
      this.writer = writer;
    }
  }

  get options(): Readonly<LoggerOptions> {
    return this.opts;
  }

  enabled(level: Exclude<LogLevel, 'Off'>): boolean {
    return RANK[level] <= RANK[this.opts.level];
  }

  log(level: Exclude<LogLevel, 'Off'>, origin: string, message: string, thread = 'main'): void {
    if (!this.enabled(level)) return;
    if (this.opts.module !== undefined && !origin.startsWith(this.opts.module)) return;
    let tag = `${this.instanceId}:${thread}`;
    if (this.opts.showLevel) tag += `:${LABEL[level]}`;
    if (this.opts.showOrigin) tag += `:${origin}`;
    if (!this.writer.writeLine(`${formatTimestamp(this.now())} [${tag}] ${message}`)) this.missedLogCount++;
  }

  error(origin: string, message: string, thread?: string): void {
    this.log('Error', origin, message, thread);
  }
  warn(origin: string, message: string, thread?: string): void {
    this.log('Warning', origin, message, thread);
  }
  info(origin: string, message: string, thread?: string): void {
    this.log('Info', origin, message, thread);
  }
  debug(origin: string, message: string, thread?: string): void {
    this.log('Debug', origin, message, thread);
  }

  close(): void {
    this.writer.close();
  }
}

/** Local time as `YYYY-MM-DDTHH:MM:SS.nnnnnnnnn` (Firecracker's LocalTime display; ms resolution here). */
export function formatTimestamp(d: Date): string {
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return (
    `${p(d.getFullYear(), 4)}-${p(d.getMonth() + 1)}-${p(d.getDate())}T` +
    `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}000000`
  );
}
