/**
 * The messages between the VMM's thread (builder.ts) and the machine's worker thread
 * (machine-worker.ts). The spec travels in workerData; after that the VMM sends requests, each answered
 * by one reply with the same id, and the worker announces its start and, once, its exit.
 */
import type { MachineExit, MachineMetrics, MachineSpec, RestoreSpec, SnapshotRequest, SnapshotTaken } from './machine.js';
import type { RateLimiterConfig } from './vmm-config.js';
import type { JsonValue } from '../mmds/json-value.js';

/**
 * Where the console goes when the spec names no serial output path: a host fd (the VMM's stdout, as
 * Firecracker writes it), or 'port': 'console' events to the VMM's thread (`wisp run`, whose terminal
 * handling lives there).
 */
export type WorkerConsole = { kind: 'fd'; fd: number } | { kind: 'port' };

export interface WorkerInit {
  spec: MachineSpec;
  console: WorkerConsole;
  /** Build from a snapshot instead of booting. */
  restore?: RestoreSpec;
}

export type WorkerRequest =
  | { id: number; op: 'pause' }
  | { id: number; op: 'resume' }
  | { id: number; op: 'stop' }
  | { id: number; op: 'takeMetrics' }
  | { id: number; op: 'ctrlAltDel' }
  | { id: number; op: 'updateDrive'; driveId: string; path?: string; rateLimiter?: RateLimiterConfig }
  | { id: number; op: 'updateNet'; ifaceId: string; rxRateLimiter?: RateLimiterConfig; txRateLimiter?: RateLimiterConfig }
  | { id: number; op: 'updateMmds'; data: JsonValue; initialized: boolean }
  | { id: number; op: 'createSnapshot'; snapshot: SnapshotRequest };

/** Console input from the host (no reply). */
export interface WorkerInput {
  op: 'input';
  bytes: Uint8Array;
}

export type WorkerReply =
  | { type: 'reply'; id: number; ok: true; metrics?: MachineMetrics; snapshot?: SnapshotTaken }
  | { type: 'reply'; id: number; ok: false; message: string };

export type WorkerEvent =
  /** The machine is built and its hart runs. */
  | { type: 'started' }
  /** Building failed; the worker ends without running anything. */
  | { type: 'startFailed'; message: string }
  | WorkerReply
  /** Guest console output, when WorkerInit.console is 'port'. */
  | { type: 'console'; bytes: Uint8Array }
  /**
   * The machine stopped (by itself, or after a stop request), with the counters not yet taken (for
   * the VMM's last metrics line); the worker ends after this.
   */
  | { type: 'exit'; exit: MachineExit; requested: boolean; metrics: MachineMetrics };
