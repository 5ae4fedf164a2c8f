import type { Hart } from '../../cpu/hart.js';
import { FenceKind, HartState, SBI_ERR_ALREADY_AVAILABLE, SBI_SUCCESS, type SbiHarts } from '../sbi/sbi.js';
import { Attention, FenceRequest, type ControlBlock } from './control-block.js';

/**
 * The machine's harts as the SBI on one hart thread sees them: the others run on threads of their
 * own, so HSM starts, IPIs and fences go through the control block. A remote fence waits until every
 * target has done it (the SBI returns only then); while it waits, the hart keeps answering fence
 * requests sent to itself (`service`), so two harts fencing each other never wait forever.
 */
export class RemoteHarts implements SbiHarts {
  constructor(
    private readonly cb: ControlBlock,
    private readonly self: number,
    /** Takes the calling hart's own attention bits (see hart-thread.ts). */
    private readonly service: () => void,
    /** Runs a fence on the calling hart itself. */
    private readonly local: (kind: number, start: bigint, size: bigint) => void,
  ) {}

  get count(): number {
    return this.cb.harts;
  }

  status(id: number): HartState {
    return this.cb.hsm(id);
  }

  start(id: number, addr: bigint, opaque: bigint): number {
    if (!this.cb.swapHsm(id, HartState.Stopped, HartState.StartPending)) return SBI_ERR_ALREADY_AVAILABLE;
    this.cb.setStart(id, addr, opaque);
    this.cb.notify(id, Attention.Start);
    return SBI_SUCCESS;
  }

  stop(caller: Hart): boolean {
    let others = 0;
    for (let h = 0; h < this.cb.harts; h++) if (h !== this.self && this.cb.hsm(h) !== HartState.Stopped) others++;
    if (others === 0) return false; // the last one running
    this.cb.setHsm(this.self, HartState.Stopped);
    caller.requestStop();
    return true;
  }

  sendIpi(_caller: Hart, mask: bigint): void {
    for (let h = 0; h < this.cb.harts; h++) if ((mask >> BigInt(h)) & 1n) this.cb.notify(h, Attention.Ipi);
  }

  fence(_caller: Hart, mask: bigint, kind: FenceKind, start: bigint, size: bigint): void {
    const req = fenceRequest(kind, start, size);
    const waiting: number[] = [];
    for (let h = 0; h < this.cb.harts; h++) {
      if (((mask >> BigInt(h)) & 1n) === 0n) continue;
      if (h === this.self) continue;
      this.cb.postFence(h, this.self, req, start, size);
      waiting.push(h);
    }
    if ((mask >> BigInt(this.self)) & 1n) this.local(req, start, size);
    for (const h of waiting) {
      while (!this.cb.fenceDone(h, this.self)) {
        this.service();
        this.cb.waitFence(h, this.self, 1);
      }
    }
  }
}

/** Pages a ranged SFENCE.VMA flushes one by one; a larger range flushes everything. */
export const MAX_FENCE_PAGES = 64;

/** The request bits for an SBI fence: FENCE.I, or SFENCE.VMA over a range or everything (SBI 8.3). */
export function fenceRequest(kind: FenceKind, start: bigint, size: bigint): number {
  if (kind === FenceKind.Instruction) return FenceRequest.Instruction;
  const all = (start === 0n && size === 0n) || BigInt.asUintN(64, size) === 0xffff_ffff_ffff_ffffn;
  return all || BigInt.asUintN(64, size) > BigInt(MAX_FENCE_PAGES * 4096) ? FenceRequest.VmaAll : FenceRequest.VmaRange;
}

/** What a hart does for a fence request (bits of FenceRequest). */
export interface FenceTarget {
  instructionFence(): void;
  flushTranslations(): void;
  flushPage(vLo: number, vHi: number): void;
}

/** Runs fence request `req` on hart `h`; a range goes page by page (fenceRequest bounds it). */
export function runFence(h: FenceTarget, req: number, start: bigint, size: bigint): void {
  if (req & FenceRequest.Instruction) h.instructionFence();
  if (req & FenceRequest.VmaAll) h.flushTranslations();
  else if (req & FenceRequest.VmaRange) {
    const first = BigInt.asUintN(64, start) >> 12n;
    const last = (BigInt.asUintN(64, start) + BigInt.asUintN(64, size === 0n ? 1n : size) - 1n) >> 12n;
    for (let p = first; p <= last; p++) {
      const v = p << 12n;
      h.flushPage(Number(BigInt.asIntN(32, v)), Number(BigInt.asIntN(32, v >> 32n)));
    }
  }
}
