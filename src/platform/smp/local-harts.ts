import type { Hart } from '../../cpu/hart.js';
import type { InterpreterHart } from '../../cpu/interpreter/interpreter-hart.js';
import { Csr } from '../../cpu/csr/csr-numbers.js';
import { FenceKind, HartState, SBI_ERR_ALREADY_AVAILABLE, SBI_SUCCESS, type SbiHarts } from '../sbi/sbi.js';
import { enterSupervisor } from './hart-reset.js';
import { fenceRequest, runFence } from './remote-harts.js';

/**
 * The harts of a machine that runs them all on its own thread, in turn (one hart, or the
 * deterministic multi-hart mode): the SBI reaches them directly, and nothing runs while it does, so
 * an IPI or a remote fence is done as soon as it is asked.
 */
export class LocalHarts implements SbiHarts {
  private readonly states: HartState[];

  /** `harts` may be filled after this is made (the harts need the SBI that needs this); hart 0 starts. */
  constructor(readonly harts: readonly InterpreterHart[], readonly count: number) {
    this.states = Array.from({ length: count }, (_, i) => (i === 0 ? HartState.Started : HartState.Stopped));
  }

  status(id: number): HartState {
    return this.states[id];
  }

  /** Sets hart `id`'s HSM state (a restored snapshot's). */
  setStatus(id: number, state: HartState): void {
    this.states[id] = state;
  }

  /** Whether hart `id` runs (is not stopped). */
  started(id: number): boolean {
    return this.states[id] === HartState.Started;
  }

  start(id: number, addr: bigint, opaque: bigint): number {
    if (this.states[id] !== HartState.Stopped) return SBI_ERR_ALREADY_AVAILABLE;
    enterSupervisor(this.harts[id], addr, opaque);
    this.states[id] = HartState.Started;
    return SBI_SUCCESS;
  }

  stop(caller: Hart): boolean {
    if (this.states.filter((s) => s === HartState.Started).length <= 1) return false; // the last one running
    this.states[caller.id] = HartState.Stopped;
    caller.requestStop();
    return true;
  }

  sendIpi(_caller: Hart, mask: bigint): void {
    this.each(mask, (h) => h.writeCsr(Csr.mip, (h.readCsr(Csr.mip) ?? 0n) | 2n)); // SSIP
  }

  fence(_caller: Hart, mask: bigint, kind: FenceKind, start: bigint, size: bigint): void {
    const req = fenceRequest(kind, start, size);
    this.each(mask, (h) => runFence(h, req, start, size));
  }

  private each(mask: bigint, fn: (h: InterpreterHart) => void): void {
    for (let id = 0; id < this.harts.length; id++) if ((mask >> BigInt(id)) & 1n) fn(this.harts[id]);
  }
}
