/**
 * The machine's thread (DESIGN.md: "The machine runs off the API's thread, so a busy guest never
 * stalls the API"). Started by builder.ts with a WorkerInit in workerData: builds the machine, says
 * 'started' (or 'startFailed' and ends), then runs the guest, answering requests between run slices,
 * and ends after announcing the exit.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { WorkerEvent, WorkerInit, WorkerInput, WorkerRequest } from './machine-worker-protocol.js';
import { MachineSession } from './machine-worker-session.js';

async function main(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('machine-worker.ts runs as a worker thread started by builder.ts');
  const post = (e: WorkerEvent): void => port.postMessage(e);
  let session: MachineSession;
  try {
    session = await MachineSession.build(workerData as WorkerInit, post);
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
