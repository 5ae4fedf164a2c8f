/**
 * The machine's thread (DESIGN.md: "The machine runs off the API's thread, so a busy guest never
 * stalls the API"). Started by builder.ts with a WorkerInit in workerData: builds the machine, says
 * 'started' (or 'startFailed' and ends), then runs the guest, answering requests between run slices,
 * and ends after announcing the exit. A worker started ahead of its machine (workerData
 * `{ standby: true }`) loads this code and warms the JIT up first, then waits for its WorkerInit in a
 * message: a boot or a snapshot restore then starts without paying for either.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { WorkerEvent, WorkerInit, WorkerInput, WorkerRequest } from './machine-worker-protocol.js';
import { MachineSession } from './machine-worker-session.js';
import { warmEngine } from '../platform/engine.js';

/** workerData of a worker started before its machine is known (builder.ts `prestart`). */
export interface StandbyData {
  standby: true;
}
/** The message that hands a standby worker its machine. */
export interface StandbyInit {
  op: 'init';
  init: WorkerInit;
}

async function main(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('machine-worker.ts runs as a worker thread started by builder.ts');
  const post = (e: WorkerEvent): void => port.postMessage(e);
  let init = workerData as WorkerInit | StandbyData;
  if ('standby' in init) {
    warmEngine('jit');
    init = await new Promise<WorkerInit>((resolve) => port.once('message', (m: StandbyInit) => resolve(m.init)));
  }
  let session: MachineSession;
  try {
    session = await MachineSession.build(init, post);
  } catch (e) {
    post({ type: 'startFailed', message: e instanceof Error ? e.message : String(e) });
    port.close();
    return;
  }
  port.on('message', (m: WorkerRequest | WorkerInput) => {
    if (m.op === 'input') session.input(m.bytes);
    else post(session.handle(m));
  });
  post({ type: 'started' });
  const { exit, requested, metrics } = await session.run();
  post({ type: 'exit', exit, requested, metrics });
  port.close();
}

void main();
