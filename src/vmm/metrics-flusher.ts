/**
 * Writes the metrics line: on FlushMetrics, every 60 s once a destination is configured (Firecracker's
 * WRITE_METRICS_PERIOD_MS), and once more when the VMM exits. Machine device counters and the logger's
 * own drop counts are folded in at each flush.
 */
import type { LineWriter } from '../logger/line-writer.js';
import type { Logger } from '../logger/logger.js';
import { serializeMetrics, type Metrics } from '../metrics/metrics.js';
import type { MachineMetrics } from './machine.js';

export const WRITE_METRICS_PERIOD_MS = 60_000;

export interface FlushOptions {
  emitId?: string;
  properties?: Record<string, string>;
}

export class MetricsFlusher {
  private writer: LineWriter | undefined;
  private opts: FlushOptions = {};
  private timer: NodeJS.Timeout | undefined;
  private loggedMissed = 0;

  constructor(
    readonly metrics: Metrics,
    private readonly logger: Logger,
    /** Device counters since the previous call, when a machine is running. */
    private readonly machineMetrics: () => Promise<MachineMetrics | undefined>,
    private readonly periodMs = WRITE_METRICS_PERIOD_MS,
  ) {}

  get configured(): boolean {
    return this.writer !== undefined;
  }

  /** Sets the destination once and starts the periodic flush (the timer never keeps the process alive). */
  configure(writer: LineWriter, opts: FlushOptions): void {
    this.writer = writer;
    this.opts = opts;
    this.timer = setInterval(() => void this.flush(), this.periodMs);
    this.timer.unref();
  }

  /** Writes one line; false when there is no destination or the line was dropped. */
  async flush(): Promise<boolean> {
    if (!this.writer) return false;
    let extra: MachineMetrics | undefined;
    try {
      extra = await this.machineMetrics();
    } catch {
      // A machine that cannot report this time reports its deltas next time.
      extra = undefined;
    }
    const missed = this.logger.missedLogCount - this.loggedMissed;
    this.loggedMissed = this.logger.missedLogCount;
    this.metrics.logger.missed_log_count.inc(missed);
    const line = serializeMetrics(this.metrics, { id: this.opts.emitId, properties: this.opts.properties, extra });
    const ok = this.writer.writeLine(line);
    if (!ok) {
      this.metrics.logger.missed_metrics_count.inc();
      this.metrics.logger.metrics_fails.inc();
    }
    return ok;
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.writer?.close();
    this.writer = undefined;
  }
}
