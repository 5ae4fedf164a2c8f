/**
 * Firecracker's VsockDeviceMetrics (src/vmm/src/devices/virtio/vsock/metrics.rs), in camelCase, plus a
 * few of wisp's own. vmm/machine-worker-metrics.ts names them as Firecracker does.
 */
export interface VsockMetrics {
  activateFails: number;
  /** Writes to the (read-only) configuration space. */
  cfgFails: number;
  rxQueueEventFails: number;
  txQueueEventFails: number;
  /** Event queue use that failed (a transport reset with no event buffer to put it in). */
  evQueueEventFails: number;
  muxerEventFails: number;
  connEventFails: number;
  rxQueueEventCount: number;
  txQueueEventCount: number;
  /** Payload bytes to the guest (RX) and from the guest (TX). */
  rxBytesCount: number;
  txBytesCount: number;
  /** Packets to the guest / from the guest. */
  rxPacketsCount: number;
  txPacketsCount: number;
  connsAdded: number;
  connsKilled: number;
  connsRemoved: number;
  killqResync: number;
  txFlushFails: number;
  txWriteFails: number;
  rxReadFails: number;
  // wisp's own:
  /** Malformed TX chains or headers (too short, len past the chain or 64 KiB): returned unread. */
  txInvalidPackets: number;
  /** RX chains too short for a header: returned with len 0. */
  rxInvalidBuffers: number;
  /** Well-formed packets that meant nothing in the connection's state (dropped, as Firecracker does). */
  txDroppedPackets: number;
  /** Packets for a CID other than the host's. */
  txWrongCid: number;
  /** Data sent past the advertised credit: the connection is killed. */
  txCreditViolations: number;
  /** Clean closes (both sides shut down, then RST). */
  connsClosed: number;
  /** Connections refused: the table was full, or the host had no listener for the port. */
  connsRefused: number;
  /** RSTs for unknown connections dropped because their queue was full. */
  rstDropped: number;
  /** Transport reset events sent (before a snapshot). */
  transportResets: number;
}

export function newVsockMetrics(): VsockMetrics {
  return {
    activateFails: 0,
    cfgFails: 0,
    rxQueueEventFails: 0,
    txQueueEventFails: 0,
    evQueueEventFails: 0,
    muxerEventFails: 0,
    connEventFails: 0,
    rxQueueEventCount: 0,
    txQueueEventCount: 0,
    rxBytesCount: 0,
    txBytesCount: 0,
    rxPacketsCount: 0,
    txPacketsCount: 0,
    connsAdded: 0,
    connsKilled: 0,
    connsRemoved: 0,
    killqResync: 0,
    txFlushFails: 0,
    txWriteFails: 0,
    rxReadFails: 0,
    txInvalidPackets: 0,
    rxInvalidBuffers: 0,
    txDroppedPackets: 0,
    txWrongCid: 0,
    txCreditViolations: 0,
    connsClosed: 0,
    connsRefused: 0,
    rstDropped: 0,
    transportResets: 0,
  };
}
