/** Firecracker's MmdsMetrics (src/vmm/src/logger/metrics.rs), in camelCase. */
export interface MmdsMetrics {
  /** Frames from the guest taken by the MMDS instead of the network backend. */
  rxAccepted: number;
  /** Of those, segments that could not be handled (not for port 80, malformed, for a reset connection). */
  rxAcceptedErr: number;
  /** Of those, odd ones (non-TCP IPv4, out-of-window data, bad ACKs, ...). */
  rxAcceptedUnusual: number;
  /** Frames too short for an Ethernet header. */
  rxBadEth: number;
  /** GETs with an invalid / no session token. */
  rxInvalidToken: number;
  rxNoToken: number;
  /** Segments processed. */
  rxCount: number;
  /** Bytes and frames sent to the guest. */
  txBytes: number;
  txCount: number;
  txErrors: number;
  txFrames: number;
  connectionsCreated: number;
  connectionsDestroyed: number;
}

export function newMmdsMetrics(): MmdsMetrics {
  return {
    rxAccepted: 0,
    rxAcceptedErr: 0,
    rxAcceptedUnusual: 0,
    rxBadEth: 0,
    rxInvalidToken: 0,
    rxNoToken: 0,
    rxCount: 0,
    txBytes: 0,
    txCount: 0,
    txErrors: 0,
    txFrames: 0,
    connectionsCreated: 0,
    connectionsDestroyed: 0,
  };
}
