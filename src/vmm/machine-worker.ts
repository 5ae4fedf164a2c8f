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
  let console: { write(bytes: Uint8Array): void; flush(): void } | undefined;
  try {
    const init = workerData as WorkerInit;
    if (init.consoleFd === 'message') console = consoleMessages(post);
    session = MachineSession.build(init, console?.write);
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
  // The guest's last words go before the news of its end.
  console?.flush();
  post({ type: 'exit', exit, requested, metrics });
  port.close();
}

/**
 * Console bytes as messages: the UART hands them over a byte at a time, so they are gathered and sent
 * when the machine next yields to the event loop (at most ~10 ms later) or once 64 KiB wait.
 */
function consoleMessages(post: (e: WorkerEvent) => void): { write(bytes: Uint8Array): void; flush(): void } {
  let parts: Uint8Array[] = [];
  let size = 0;
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    if (size === 0) return;
    const bytes = Buffer.concat(parts, size);
    parts = [];
    size = 0;
    post({ type: 'console', bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length) });
  };
  const write = (bytes: Uint8Array): void => {
    parts.push(bytes.slice());
    size += bytes.length;
    if (size >= 65536) flush();
    else if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };
  return { write, flush };
}

void main();
