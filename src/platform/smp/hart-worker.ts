/** The entry of a hart's worker thread (see hart-thread.ts; started by HartThreads). */
import { parentPort, workerData } from 'node:worker_threads';
import { runHartThread, type HartThreadInit } from './hart-thread.js';

const port = parentPort;
if (!port) throw new Error('hart-worker.ts runs as a worker thread started by HartThreads');
await runHartThread(workerData as HartThreadInit, () => port.postMessage({ type: 'ready' }));
port.postMessage({ type: 'done' });
port.close();
