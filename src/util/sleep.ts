const cell = new Int32Array(new SharedArrayBuffer(4));

/**
 * Blocks the calling thread for `ms` milliseconds without spinning (Atomics.wait on a private cell).
 * The machine loop uses it while a hart sits in WFI; it runs on its own thread, so blocking is right.
 */
export function sleepSync(ms: number): void {
  if (ms > 0) Atomics.wait(cell, 0, 0, ms);
}
