/**
 * TEST DOUBLE for the machine seam (src/vmm/machine.ts): builds nothing, only records what the control
 * plane asked for (the MachineSpec at InstanceStart, then pause/resume/drive updates) so API and
 * controller tests can assert on it. `failWith` makes the next build reject; `exit()` plays a guest
 * that powers off.
 */
import { stringify } from '../../src/mmds/json-value.js';
import type { MachineExit, MachineHandle, MachineMetrics, MachineSpec, RestoreSpec, SnapshotRequest, SnapshotTaken, VmBuilder } from '../../src/vmm/machine.js';

export class RecordingVmBuilder implements VmBuilder {
  readonly specs: MachineSpec[] = [];
  /** The restore of each build from a snapshot (PUT /snapshot/load). */
  readonly restores: RestoreSpec[] = [];
  /** What createSnapshot answers (a test sets the machine state it wants saved); requests are recorded. */
  snapshot: SnapshotTaken | undefined;
  readonly snapshotRequests: SnapshotRequest[] = [];
  readonly calls: string[] = [];
  failWith: string | undefined;
  metrics: MachineMetrics = {};
  private resolveExit: ((e: MachineExit) => void) | undefined;

  async build(spec: MachineSpec, restore?: RestoreSpec): Promise<MachineHandle> {
    this.calls.push(restore ? 'restore' : 'build');
    if (this.failWith !== undefined) {
      const msg = this.failWith;
      this.failWith = undefined;
      throw new Error(msg);
    }
    this.specs.push(spec);
    if (restore) this.restores.push(restore);
    const exited = new Promise<MachineExit>((r) => (this.resolveExit = r));
    return {
      pause: async () => void this.calls.push('pause'),
      resume: async () => void this.calls.push('resume'),
      sendCtrlAltDel: async () => {
        this.calls.push('ctrl-alt-del');
        throw new Error('the test machine has no keyboard');
      },
      updateDrive: async (id, u) => void this.calls.push(`update-drive ${id} ${u.path ?? ''}`),
      updateNet: async (id) => void this.calls.push(`update-net ${id}`),
      updateMmds: async (data) => void this.calls.push(`update-mmds ${stringify(data)}`),
      takeMetrics: async () => {
        const m = this.metrics;
        this.metrics = {};
        return m;
      },
      exited,
      stop: async () => void this.calls.push('stop'),
      createSnapshot: async (req) => {
        this.calls.push(`snapshot ${req.type}`);
        this.snapshotRequests.push(req);
        if (!this.snapshot) throw new Error('the test machine has no state to save');
        return this.snapshot;
      },
    };
  }

  /** The guest powers off (or crashes) with this exit. */
  exit(e: MachineExit = { reason: 'shutdown', exitCode: 0 }): void {
    this.resolveExit?.(e);
  }
}
