import { DRAM_BASE, MAX_HARTS, MAX_RAM_BYTES } from '../../memory/machine-memory.js';
import {
  MMIO_REGIONS, PLIC_NDEV, TIMEBASE_HZ, UART, UART_CLOCK_HZ, VIRTIO_SLOT_COUNT, dramRegion, unitName,
  virtioSlot, type MemoryRegion,
} from '../memory-map.js';
import { FdtWriter } from './fdt-writer.js';

/**
 * The device tree of wisp's board, generated from memory-map.ts so the tree and the bus cannot disagree.
 * Shape and bindings follow QEMU's virt machine (what Debian's kernel is tested on): /cpus with one
 * riscv,cpu-intc per hart, /memory, /soc (simple-bus) with CLINT, PLIC, ns16550a, goldfish RTC, the
 * sifive,test1 finisher and the attached virtio-mmio slots, syscon-poweroff/-reboot, and /chosen.
 * Bindings: Documentation/devicetree/bindings/ in Linux (riscv/cpus.yaml, interrupt-controller/
 * sifive,plic-1.0.0.yaml, timer/sifive,clint.yaml, power/reset/syscon-*.yaml, chosen.yaml).
 */

export type MmuType = 'riscv,sv39' | 'riscv,sv48' | 'riscv,sv57';

export interface FdtOptions {
  harts: number;
  /** ISA string, e.g. "rv64imafdc_zicsr_zifencei_zicntr_zihintpause_sstc". */
  isa: string;
  mmuType: MmuType;
  memBytes: number;
  bootargs: string;
  /** Guest-physical initrd range, end exclusive. */
  initrd?: { start: number; end: number };
  /** virtio-mmio slots (0…7) with a device attached; only these get a node. */
  virtioSlots: readonly number[];
  /** Entropy for the kernel's early RNG (`rng-seed`). */
  rngSeed?: Uint8Array;
}

export type BuildFdtErrorCode = 'bad-harts' | 'bad-isa' | 'bad-mmu-type' | 'bad-memory' | 'bad-initrd' | 'bad-virtio-slot';

export class BuildFdtError extends Error {
  constructor(readonly code: BuildFdtErrorCode, message: string) {
    super(message);
    this.name = 'BuildFdtError';
  }
}

// Local interrupt numbers of the hart (privileged spec, mip/mie bits) used in interrupts-extended.
const IRQ_M_SOFT = 3;
const IRQ_M_TIMER = 7;
const IRQ_S_EXT = 9;
const IRQ_M_EXT = 11;
/** Finisher values Linux's syscon-poweroff / syscon-reboot write (see syscon.ts). */
const POWEROFF_VALUE = 0x5555;
const REBOOT_VALUE = 0x7777;
const MMU_TYPES: readonly MmuType[] = ['riscv,sv39', 'riscv,sv48', 'riscv,sv57'];

/** The base ISA and the extension names of an ISA string, as riscv,isa-base / riscv,isa-extensions want. */
export function parseIsa(isa: string): { base: string; extensions: string[] } {
  const m = /^rv64([a-z]+)((?:_[a-z][a-z0-9]+)*)$/.exec(isa);
  if (!m || (m[1]![0] !== 'i' && m[1]![0] !== 'g')) {
    throw new BuildFdtError('bad-isa', `Cannot describe ISA "${isa}": expected rv64 then i or g, e.g. "rv64imafdc_zicsr_zifencei"`);
  }
  const extensions: string[] = [];
  const add = (e: string) => {
    if (!extensions.includes(e)) extensions.push(e);
  };
  for (const letter of m[1]!) {
    // "g" is shorthand for imafd plus Zicsr and Zifencei (unprivileged spec, "G" extension).
    if (letter === 'g') ['i', 'm', 'a', 'f', 'd'].forEach(add);
    else add(letter);
  }
  if (m[1]!.includes('g')) ['zicsr', 'zifencei'].forEach(add);
  for (const multi of m[2]!.split('_').slice(1)) {
    if (!/^[zsx]/.test(multi)) {
      throw new BuildFdtError('bad-isa', `Cannot describe ISA "${isa}": multi-letter extension "${multi}" must start with z, s or x`);
    }
    add(multi);
  }
  return { base: 'rv64i', extensions };
}

function validate(o: FdtOptions): void {
  if (!Number.isInteger(o.harts) || o.harts < 1 || o.harts > MAX_HARTS) {
    throw new BuildFdtError('bad-harts', `Cannot build the device tree for ${o.harts} harts: must be 1…${MAX_HARTS}`);
  }
  if (!MMU_TYPES.includes(o.mmuType)) {
    throw new BuildFdtError('bad-mmu-type', `Cannot build the device tree: mmuType "${o.mmuType}" is not one of ${MMU_TYPES.join(', ')}`);
  }
  if (!Number.isInteger(o.memBytes) || o.memBytes <= 0 || o.memBytes % 0x1000 !== 0 || o.memBytes > MAX_RAM_BYTES) {
    throw new BuildFdtError('bad-memory', `Cannot build the device tree: memBytes ${o.memBytes} must be a positive multiple of 4096 up to ${MAX_RAM_BYTES}`);
  }
  if (o.initrd) {
    const { start, end } = o.initrd;
    const ramEnd = DRAM_BASE + o.memBytes;
    if (!Number.isInteger(start) || !Number.isInteger(end) || start < DRAM_BASE || end < start || end > ramEnd) {
      throw new BuildFdtError('bad-initrd', `Cannot build the device tree: initrd 0x${start.toString(16)}…0x${end.toString(16)} is not inside RAM`);
    }
  }
  const seen = new Set<number>();
  for (const slot of o.virtioSlots) {
    if (!Number.isInteger(slot) || slot < 0 || slot >= VIRTIO_SLOT_COUNT || seen.has(slot)) {
      throw new BuildFdtError('bad-virtio-slot', `Cannot build the device tree: virtio slot ${slot} is out of range 0…${VIRTIO_SLOT_COUNT - 1} or repeated`);
    }
    seen.add(slot);
  }
}

/** `reg` with #address-cells = #size-cells = 2. */
function reg64(base: number, size: number): number[] {
  return [Math.floor(base / 2 ** 32), base >>> 0, Math.floor(size / 2 ** 32), size >>> 0];
}

interface Phandles {
  cpu: number[];
  intc: number[];
  plic: number;
  syscon: number;
}

export function buildFdt(o: FdtOptions): Uint8Array {
  validate(o);
  const isa = parseIsa(o.isa);
  let next = 1;
  const ph: Phandles = {
    cpu: Array.from({ length: o.harts }, () => next++),
    intc: Array.from({ length: o.harts }, () => next++),
    plic: next++,
    syscon: next++,
  };

  const w = new FdtWriter();
  const root = w.beginNode('');
  w.propertyU32('#address-cells', 2);
  w.propertyU32('#size-cells', 2);
  w.propertyStrings('compatible', ['riscv-virtio']);
  w.propertyString('model', 'riscv-virtio,wisp');

  chosenNode(w, o);
  memoryNode(w, o.memBytes);
  cpusNode(w, o, isa, ph);
  socNode(w, o, ph);
  finisherNode(w, 'poweroff', 'syscon-poweroff', POWEROFF_VALUE, ph.syscon);
  finisherNode(w, 'reboot', 'syscon-reboot', REBOOT_VALUE, ph.syscon);

  w.endNode(root);
  return w.finish();
}

function chosenNode(w: FdtWriter, o: FdtOptions): void {
  const n = w.beginNode('chosen');
  w.propertyString('bootargs', o.bootargs);
  w.propertyString('stdout-path', `/soc/${unitName(UART)}`);
  if (o.initrd) {
    w.propertyU64('linux,initrd-start', o.initrd.start);
    w.propertyU64('linux,initrd-end', o.initrd.end);
  }
  if (o.rngSeed && o.rngSeed.length > 0) w.property('rng-seed', o.rngSeed);
  w.endNode(n);
}

function memoryNode(w: FdtWriter, memBytes: number): void {
  const dram = dramRegion(memBytes);
  const n = w.beginNode(unitName(dram));
  w.propertyString('device_type', 'memory');
  w.propertyCells('reg', reg64(dram.base, dram.size));
  w.endNode(n);
}

function cpusNode(w: FdtWriter, o: FdtOptions, isa: { base: string; extensions: string[] }, ph: Phandles): void {
  const cpus = w.beginNode('cpus');
  w.propertyU32('#address-cells', 1);
  w.propertyU32('#size-cells', 0);
  w.propertyU32('timebase-frequency', TIMEBASE_HZ);
  for (let h = 0; h < o.harts; h++) {
    const cpu = w.beginNode(`cpu@${h.toString(16)}`);
    w.propertyU32('phandle', ph.cpu[h]!);
    w.propertyString('device_type', 'cpu');
    w.propertyU32('reg', h);
    w.propertyString('status', 'okay');
    w.propertyStrings('compatible', ['riscv']);
    w.propertyString('riscv,isa', o.isa);
    w.propertyString('riscv,isa-base', isa.base);
    w.propertyStrings('riscv,isa-extensions', isa.extensions);
    w.propertyString('mmu-type', o.mmuType);
    const intc = w.beginNode('interrupt-controller');
    // #address-cells = 0 as for any interrupt provider (dtc's interrupt_provider check; QEMU omits it).
    w.propertyU32('#address-cells', 0);
    w.propertyU32('#interrupt-cells', 1);
    w.propertyEmpty('interrupt-controller');
    w.propertyStrings('compatible', ['riscv,cpu-intc']);
    w.propertyU32('phandle', ph.intc[h]!);
    w.endNode(intc);
    w.endNode(cpu);
  }
  const map = w.beginNode('cpu-map');
  const cluster = w.beginNode('cluster0');
  for (let h = 0; h < o.harts; h++) {
    const core = w.beginNode(`core${h}`);
    w.propertyU32('cpu', ph.cpu[h]!);
    w.endNode(core);
  }
  w.endNode(cluster);
  w.endNode(map);
  w.endNode(cpus);
}

function socNode(w: FdtWriter, o: FdtOptions, ph: Phandles): void {
  const soc = w.beginNode('soc');
  w.propertyU32('#address-cells', 2);
  w.propertyU32('#size-cells', 2);
  w.propertyStrings('compatible', ['simple-bus']);
  w.propertyEmpty('ranges');
  const attached = new Set(o.virtioSlots.map((slot) => virtioSlot(slot).base));
  for (const region of MMIO_REGIONS) {
    if (region.kind === 'virtio' && !attached.has(region.base)) continue;
    const n = w.beginNode(unitName(region));
    w.propertyStrings('compatible', region.compatible);
    w.propertyCells('reg', reg64(region.base, region.size));
    regionProperties(w, region, o.harts, ph);
    w.endNode(n);
  }
  w.endNode(soc);
}

/** What each kind of device adds beyond compatible and reg. */
function regionProperties(w: FdtWriter, region: MemoryRegion, harts: number, ph: Phandles): void {
  switch (region.kind) {
    case 'clint':
      // Per hart: machine software and machine timer interrupts (sifive,clint binding).
      w.propertyCells('interrupts-extended', ph.intc.flatMap((i) => [i, IRQ_M_SOFT, i, IRQ_M_TIMER]));
      break;
    case 'plic':
      // Contexts in order 2h (M external), 2h+1 (S external): the PLIC driver numbers contexts by position.
      w.propertyU32('#address-cells', 0);
      w.propertyU32('#interrupt-cells', 1);
      w.propertyEmpty('interrupt-controller');
      w.propertyCells('interrupts-extended', ph.intc.slice(0, harts).flatMap((i) => [i, IRQ_M_EXT, i, IRQ_S_EXT]));
      w.propertyU32('riscv,ndev', PLIC_NDEV);
      w.propertyU32('phandle', ph.plic);
      break;
    case 'uart':
      w.propertyU32('clock-frequency', UART_CLOCK_HZ);
      interrupts(w, region, ph);
      break;
    case 'rtc':
    case 'virtio':
      interrupts(w, region, ph);
      break;
    case 'syscon':
      w.propertyU32('phandle', ph.syscon);
      break;
    case 'dram':
      break;
  }
}

function interrupts(w: FdtWriter, region: MemoryRegion, ph: Phandles): void {
  w.propertyU32('interrupt-parent', ph.plic);
  w.propertyU32('interrupts', region.irq!);
}

function finisherNode(w: FdtWriter, name: string, compatible: string, value: number, syscon: number): void {
  const n = w.beginNode(name);
  w.propertyStrings('compatible', [compatible]);
  w.propertyU32('regmap', syscon);
  w.propertyU32('offset', 0);
  w.propertyU32('value', value);
  w.endNode(n);
}
