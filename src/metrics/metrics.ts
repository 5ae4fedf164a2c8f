/**
 * wisp's metrics in Firecracker's shape: one JSON object per flush, groups of named counters
 * (`{"utc_timestamp_ms": …, "api_server": {...}, "put_api_requests": {...}, "block": {...}, …}`).
 * Like Firecracker's SharedIncMetric, a counter reports what happened since the previous flush; a
 * StoreMetric reports its current value. Devices that live in the machine report their own groups
 * (`block_<id>`, `uart`, `vcpu`, …) as plain deltas, which are added to the groups of the same name.
 */

/** A counter reported as the delta since the previous flush. */
export class IncMetric {
  private total = 0;
  private flushed = 0;
  inc(n = 1): void {
    this.total += n;
  }
  get count(): number {
    return this.total;
  }
  /** The delta since the previous call; the next call starts from here. */
  fetchDiff(): number {
    const d = this.total - this.flushed;
    this.flushed = this.total;
    return d;
  }
}

/** A value reported as-is (startup times, latest latencies). */
export class StoreMetric {
  value = 0;
  set(v: number): void {
    this.value = v;
  }
}

type Group<K extends string> = { [P in K]: IncMetric };
function inc<const K extends string>(names: readonly K[]): Group<K> {
  const g = {} as Group<K>;
  for (const n of names) g[n] = new IncMetric();
  return g;
}
function store<const K extends string>(names: readonly K[]): { [P in K]: StoreMetric } {
  const g = {} as { [P in K]: StoreMetric };
  for (const n of names) g[n] = new StoreMetric();
  return g;
}

/** Firecracker's block device counters (one aggregate group plus one `block_<drive_id>` per drive). */
export const BLOCK_METRICS = [
  'activate_fails', 'cfg_fails', 'no_avail_buffer', 'event_fails', 'execute_fails', 'invalid_reqs_count',
  'flush_count', 'queue_event_count', 'rate_limiter_event_count', 'update_count', 'update_fails',
  'read_bytes', 'write_bytes', 'read_count', 'write_count', 'rate_limiter_throttled_events',
  'io_engine_throttled_events',
] as const;

export function createMetrics() {
  return {
    api_server: {
      ...store(['process_startup_time_us', 'process_startup_time_cpu_us'] as const),
      ...inc(['sync_response_fails', 'sync_vmm_send_timeout_count'] as const),
    },
    get_api_requests: inc(['instance_info_count', 'machine_cfg_count', 'mmds_count', 'vmm_version_count', 'hotplug_memory_count'] as const),
    put_api_requests: inc([
      'actions_count', 'actions_fails', 'boot_source_count', 'boot_source_fails', 'drive_count', 'drive_fails',
      'logger_count', 'logger_fails', 'machine_cfg_count', 'machine_cfg_fails', 'cpu_cfg_count', 'cpu_cfg_fails',
      'metrics_count', 'metrics_fails', 'network_count', 'network_fails', 'mmds_count', 'mmds_fails',
      'vsock_count', 'vsock_fails', 'pmem_count', 'pmem_fails', 'serial_count', 'serial_fails',
      'hotplug_memory_count', 'hotplug_memory_fails',
    ] as const),
    patch_api_requests: inc([
      'drive_count', 'drive_fails', 'network_count', 'network_fails', 'machine_cfg_count', 'machine_cfg_fails',
      'mmds_count', 'mmds_fails', 'hotplug_memory_count', 'hotplug_memory_fails',
    ] as const),
    latencies_us: store([
      'full_create_snapshot', 'diff_create_snapshot', 'load_snapshot', 'pause_vm', 'resume_vm',
      'vmm_full_create_snapshot', 'vmm_diff_create_snapshot', 'vmm_load_snapshot', 'vmm_pause_vm', 'vmm_resume_vm',
    ] as const),
    logger: inc(['missed_metrics_count', 'metrics_fails', 'missed_log_count', 'log_fails'] as const),
    deprecated_api: inc(['deprecated_http_api_calls', 'deprecated_cmd_line_api_calls'] as const),
    block: inc(BLOCK_METRICS),
    entropy: inc([
      'activate_fails', 'entropy_event_fails', 'entropy_event_count', 'entropy_bytes', 'host_rng_fails',
      'entropy_rate_limiter_throttled', 'rate_limiter_event_count',
    ] as const),
    uart: inc(['error_count', 'flush_count', 'missed_read_count', 'missed_write_count', 'read_count', 'write_count'] as const),
    vcpu: inc(['exit_mmio_read', 'exit_mmio_write', 'failures'] as const),
    vmm: inc(['device_events', 'panic_count'] as const),
    signals: inc(['sigbus', 'sigsegv', 'sigxfsz', 'sigxcpu', 'sigpipe', 'sighup', 'sigill'] as const),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
export type MetricGroupName = keyof Metrics;

/** Deltas reported by something outside this tree (the machine's devices), keyed by group. */
export type ExternalMetrics = Record<string, Record<string, number>>;

/**
 * The JSON object of one flush. Inc counters are consumed (the next flush reports only what happens
 * after this one). `extra` groups add to the groups of the same name or appear as groups of their own.
 */
export function serializeMetrics(
  m: Metrics,
  opts: { now?: Date; id?: string; properties?: Record<string, string>; extra?: ExternalMetrics } = {},
): string {
  const out: Record<string, unknown> = { utc_timestamp_ms: (opts.now ?? new Date()).getTime() };
  if (opts.id !== undefined) out['id'] = opts.id;
  if (opts.properties !== undefined) out['properties'] = opts.properties;
  for (const [gname, group] of Object.entries(m)) {
    const g: Record<string, number> = {};
    for (const [name, metric] of Object.entries(group as Record<string, IncMetric | StoreMetric>)) {
      g[name] = metric instanceof IncMetric ? metric.fetchDiff() : metric.value;
    }
    out[gname] = g;
  }
  for (const [gname, group] of Object.entries(opts.extra ?? {})) {
    const target = (out[gname] as Record<string, number> | undefined) ?? {};
    for (const [name, v] of Object.entries(group)) {
      if (typeof v === 'number' && Number.isFinite(v)) target[name] = (target[name] ?? 0) + v;
    }
    out[gname] = target;
  }
  return JSON.stringify(out);
}
