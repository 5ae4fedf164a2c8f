/**
 * An interrupt line from a device to an interrupt controller. Devices only ever raise or lower their
 * line; who listens (the PLIC, a test) is not their business.
 */
export interface IrqLine {
  set(level: boolean): void;
}

/** A line that remembers its level: handy for tests and for devices with no controller attached. */
export class LevelIrqLine implements IrqLine {
  level = false;
  edges = 0;
  set(level: boolean): void {
    if (level && !this.level) this.edges++;
    this.level = level;
  }
}
