/**
 * The machine's device counters in Firecracker's metrics groups. Devices keep running totals in their
 * own camelCase shapes; this file names them as Firecracker does (each device's metrics.rs under
 * src/vmm/src/devices/ there), and MetricsDeltas turns totals into the per-flush deltas the
 * MachineHandle reports.
 */
import type { BlockMetrics } from '../devices/virtio/block/block.js';
import type { NetMetrics } from '../devices/virtio/net/net.js';
import type { RngMetrics } from '../devices/virtio/rng/rng.js';
import type { SbiMetrics } from '../platform/sbi/sbi.js';
import type { UartMetrics } from '../platform/uart16550.js';
import type { VcpuCounters } from '../platform/machine.js';
import type { VsockMetrics } from '../devices/virtio/vsock/vsock-metrics.js';
import type { VsockUnixMetrics } from './backends/vsock-unix-backend.js';
import type { MmdsMetrics } from '../mmds/mmds-metrics.js';
import type { MachineMetrics } from './machine.js';

/** What the worker counts itself, beside the devices: console output the host side could not take. */
export interface SerialSinkMetrics {
  /** Console writes dropped because the destination failed (FIFO full or gone, disk error). */
  droppedWrites: number;
}

export interface MachineCounterSources {
  blocks: ReadonlyArray<{ id: string; metrics: BlockMetrics }>;
  rng?: RngMetrics;
  uart: UartMetrics;
  serial: SerialSinkMetrics;
  sbi: SbiMetrics;
  vsock?: VsockMetrics;
  vsockHost?: VsockUnixMetrics;
  mmds?: MmdsMetrics;
  /** Per hart (vCPU): instructions retired and device accesses. */
  vcpus: readonly VcpuCounters[];
  nets?: ReadonlyArray<{ id: string; metrics: NetMetrics; backend: { readFails: number; writeFails: number } }>;
}

function netGroup(m: NetMetrics, backend: { readFails: number; writeFails: number }): Record<string, number> {
  return {
    activate_fails: m.activateFails,
    cfg_fails: m.cfgFails,
    no_rx_avail_buffer: m.noRxAvailBuffer,
    no_tx_avail_buffer: m.noTxAvailBuffer,
    event_fails: m.eventFails,
    rx_queue_event_count: m.rxQueueEventCount,
    rx_event_rate_limiter_count: m.rxEventRateLimiterCount,
    rx_rate_limiter_throttled: m.rxRateLimiterThrottled,
    rx_tap_event_count: m.rxTapEventCount,
    rx_bytes_count: m.rxBytesCount,
    rx_packets_count: m.rxPacketsCount,
    rx_fails: m.rxFails,
    rx_count: m.rxCount,
    tap_read_fails: backend.readFails,
    tap_write_fails: backend.writeFails,
    tx_bytes_count: m.txBytesCount,
    tx_malformed_frames: m.txMalformedFrames,
    tx_fails: m.txFails,
    tx_count: m.txCount,
    tx_packets_count: m.txPacketsCount,
    tx_queue_event_count: m.txQueueEventCount,
    tx_rate_limiter_event_count: m.txRateLimiterEventCount,
    tx_rate_limiter_throttled: m.txRateLimiterThrottled,
    tx_spoofed_mac_count: m.txSpoofedMacCount,
    // wisp's own: no Firecracker counterpart.
    rx_dropped_frames: m.rxDroppedFrames,
    rx_invalid_buffers: m.rxInvalidBuffers,
    tx_checksums_completed: m.txChecksumsCompleted,
    tx_segments_offloaded: m.txSegmentsOffloaded,
    rx_backpressure: m.rxBackpressure,
  };
}

function blockGroup(m: BlockMetrics): Record<string, number> {
  return {
    activate_fails: m.activateFails,
    cfg_fails: m.cfgFails,
    execute_fails: m.executeFails,
    // Firecracker counts every malformed or refused request here; wisp splits out the read-only and
    // unsupported ones as well (below), and counts them here too so the Firecracker figure is whole.
    invalid_reqs_count: m.invalidReqsCount + m.roWriteFails + m.unsupportedReqs,
    flush_count: m.flushCount,
    queue_event_count: m.queueEventCount,
    update_count: m.updateCount,
    read_bytes: m.readBytes,
    write_bytes: m.writeBytes,
    read_count: m.readCount,
    write_count: m.writeCount,
    rate_limiter_throttled_events: m.rateLimiterThrottledEvents,
    rate_limiter_event_count: m.rateLimiterEvents,
    // wisp's own: no Firecracker counterpart.
    discard_count: m.discardCount,
    write_zeroes_count: m.writeZeroesCount,
    get_id_count: m.getIdCount,
    ro_write_fails: m.roWriteFails,
    unsupported_reqs: m.unsupportedReqs,
  };
}

/**
 * Running totals, keyed like Firecracker's groups: `block` (all drives) and `block_<drive_id>`,
 * `net` (all interfaces) and `net_<iface_id>`, `entropy`, `uart`, `vcpu` (all vCPUs) and `vcpu_<n>`, and
 * wisp's own `sbi`.
 */
export function machineCounters(s: MachineCounterSources): MachineMetrics {
  const out: MachineMetrics = {};
  const all: Record<string, number> = {};
  for (const b of s.blocks) {
    const g = blockGroup(b.metrics);
    out[`block_${b.id}`] = g;
    for (const [k, v] of Object.entries(g)) all[k] = (all[k] ?? 0) + v;
  }
  if (s.blocks.length > 0) out['block'] = all;
  const nets = s.nets ?? [];
  const netAll: Record<string, number> = {};
  for (const n of nets) {
    const g = netGroup(n.metrics, n.backend);
    out[`net_${n.id}`] = g;
    for (const [k, v] of Object.entries(g)) netAll[k] = (netAll[k] ?? 0) + v;
  }
  if (nets.length > 0) out['net'] = netAll;
  if (s.rng) {
    const r = s.rng;
    out['entropy'] = {
      activate_fails: r.activateFails,
      entropy_event_count: r.queueEvents,
      entropy_event_fails: r.invalidRequests,
      entropy_bytes: r.bytes,
      host_rng_fails: r.entropyFails,
      entropy_rate_limiter_throttled: r.rateLimiterThrottled,
      rate_limiter_event_count: r.rateLimiterEvents,
    };
  }
  // Firecracker's uart read/write counts are register accesses of RBR/THR, one byte each.
  out['uart'] = {
    write_count: s.uart.txBytes,
    read_count: s.uart.rxBytes,
    missed_read_count: s.uart.rxDropped,
    missed_write_count: s.serial.droppedWrites,
    error_count: s.uart.txErrors + s.uart.badAccesses,
  };
  if (s.vsock) out['vsock'] = vsockGroup(s.vsock, s.vsockHost);
  if (s.mmds) {
    const m = s.mmds;
    out['mmds'] = {
      rx_accepted: m.rxAccepted,
      rx_accepted_err: m.rxAcceptedErr,
      rx_accepted_unusual: m.rxAcceptedUnusual,
      rx_bad_eth: m.rxBadEth,
      rx_invalid_token: m.rxInvalidToken,
      rx_no_token: m.rxNoToken,
      rx_count: m.rxCount,
      tx_bytes: m.txBytes,
      tx_count: m.txCount,
      tx_errors: m.txErrors,
      tx_frames: m.txFrames,
      connections_created: m.connectionsCreated,
      connections_destroyed: m.connectionsDestroyed,
    };
  }
  // Firecracker's vcpu group counts MMIO exits; here every device access is one. `vcpu` sums the
  // vCPUs, `vcpu_<n>` is vCPU n alone (as `block` and `block_<id>`); `instructions` is wisp's own.
  const cpus: Record<string, number> = { exit_mmio_read: 0, exit_mmio_write: 0, failures: 0, instructions: 0 };
  s.vcpus.forEach((v, n) => {
    const g = { exit_mmio_read: v.mmioReads, exit_mmio_write: v.mmioWrites, failures: 0, instructions: v.instret };
    out[`vcpu_${n}`] = g;
    for (const [k, x] of Object.entries(g)) cpus[k] += x;
  });
  out['vcpu'] = cpus;
  out['sbi'] = { calls: s.sbi.calls, unsupported: s.sbi.unsupported };
  return out;
}

/** Firecracker's `vsock` group (VsockDeviceMetrics), then wisp's own counters. */
function vsockGroup(m: VsockMetrics, h: VsockUnixMetrics | undefined): Record<string, number> {
  return {
    activate_fails: m.activateFails,
    cfg_fails: m.cfgFails,
    rx_queue_event_fails: m.rxQueueEventFails + m.rxInvalidBuffers,
    tx_queue_event_fails: m.txQueueEventFails + m.txInvalidPackets,
    ev_queue_event_fails: m.evQueueEventFails,
    // Firecracker counts host-side trouble here: malformed CONNECT lines, refused host sockets.
    muxer_event_fails: m.muxerEventFails + (h ? h.badConnectLines + h.hostRefused : 0),
    conn_event_fails: m.connEventFails + (h?.streamErrors ?? 0),
    rx_queue_event_count: m.rxQueueEventCount,
    tx_queue_event_count: m.txQueueEventCount,
    rx_bytes_count: m.rxBytesCount,
    tx_bytes_count: m.txBytesCount,
    rx_packets_count: m.rxPacketsCount,
    tx_packets_count: m.txPacketsCount,
    conns_added: m.connsAdded,
    conns_killed: m.connsKilled,
    conns_removed: m.connsRemoved,
    killq_resync: m.killqResync,
    tx_flush_fails: m.txFlushFails,
    tx_write_fails: m.txWriteFails,
    rx_read_fails: m.rxReadFails,
    // wisp's own: no Firecracker counterpart.
    tx_invalid_packets: m.txInvalidPackets,
    rx_invalid_buffers: m.rxInvalidBuffers,
    tx_dropped_packets: m.txDroppedPackets,
    tx_wrong_cid: m.txWrongCid,
    tx_credit_violations: m.txCreditViolations,
    conns_closed: m.connsClosed,
    conns_refused: m.connsRefused,
    rst_dropped: m.rstDropped,
    transport_resets: m.transportResets,
    host_accepts: h?.hostAccepts ?? 0,
    host_connect_fails: h?.connectFails ?? 0,
  };
}

/** Turns running totals into deltas since the previous take (Firecracker's per-flush counters). */
export class MetricsDeltas {
  private last: MachineMetrics = {};

  take(totals: MachineMetrics): MachineMetrics {
    const out: MachineMetrics = {};
    for (const [group, counters] of Object.entries(totals)) {
      const prev = this.last[group] ?? {};
      const g: Record<string, number> = {};
      for (const [name, v] of Object.entries(counters)) g[name] = v - (prev[name] ?? 0);
      out[group] = g;
    }
    this.last = totals;
    return out;
  }
}
