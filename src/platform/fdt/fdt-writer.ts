/**
 * A generic flattened-device-tree writer producing a DTB of version 17 (Devicetree Specification v0.4,
 * chapter 5 "Flattened Devicetree (DTB) Format"): header, memory reservation block, structure block and
 * strings block (property names de-duplicated).
 *
 * Nodes are opened and closed explicitly; the writer refuses what would give a malformed tree instead of
 * emitting it: closing a node other than the innermost open one, a property after a child node (the
 * structure block lists a node's properties before its children), a second root, a duplicate property or
 * sibling name, invalid names, and finishing with nodes still open.
 */

export type FdtErrorCode =
  | 'bad-nesting' // end without begin, mismatched end, node outside the root, second root
  | 'property-after-child'
  | 'property-outside-node'
  | 'duplicate-property'
  | 'duplicate-node'
  | 'bad-name'
  | 'bad-value'
  | 'unfinished'
  | 'finished';

export class FdtError extends Error {
  constructor(readonly code: FdtErrorCode, message: string) {
    super(message);
    this.name = 'FdtError';
  }
}

/** An open node, handed back to endNode() so mismatched nesting is caught. */
export interface FdtNode {
  readonly path: string;
}

export interface FdtReservation {
  address: number | bigint;
  size: number | bigint;
}

export interface FdtWriterOptions {
  /** Entries of the memory reservation block (spec 5.3). */
  reservations?: readonly FdtReservation[];
  /** boot_cpuid_phys of the header (spec 5.2). */
  bootCpuId?: number;
}

// Spec 5.2 header and 5.4.1 structure tokens.
const FDT_MAGIC = 0xd00dfeed;
const FDT_VERSION = 17;
const FDT_LAST_COMP_VERSION = 16;
const HEADER_SIZE = 40;
const FDT_BEGIN_NODE = 0x1;
const FDT_END_NODE = 0x2;
const FDT_PROP = 0x3;
const FDT_END = 0x9;

// Spec 2.2.1 (node names: 1–31 characters, then an optional unit address) and 2.2.4 (property names).
const NODE_NAME = /^[0-9A-Za-z,._+-]{1,31}(@[0-9A-Za-z,._+-]+)?$/;
const PROPERTY_NAME = /^[0-9A-Za-z,._+?#-]{1,31}$/;

interface OpenNode extends FdtNode {
  hasChild: boolean;
  properties: Set<string>;
  children: Set<string>;
}

/** A growable big-endian byte buffer. */
class ByteSink {
  bytes = new Uint8Array(4096);
  length = 0;

  private reserve(n: number): void {
    if (this.length + n <= this.bytes.length) return;
    let cap = this.bytes.length * 2;
    while (cap < this.length + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.bytes.subarray(0, this.length));
    this.bytes = next;
  }

  u32(value: number): void {
    this.reserve(4);
    new DataView(this.bytes.buffer).setUint32(this.length, value);
    this.length += 4;
  }

  raw(data: Uint8Array): void {
    this.reserve(data.length);
    this.bytes.set(data, this.length);
    this.length += data.length;
  }

  /** Zero-pad to a multiple of 4 (spec 5.4.2: every token is 32-bit aligned). */
  align4(): void {
    const pad = (4 - (this.length & 3)) & 3;
    this.reserve(pad);
    this.bytes.fill(0, this.length, this.length + pad);
    this.length += pad;
  }

  view(): Uint8Array {
    return this.bytes.subarray(0, this.length);
  }
}

const utf8 = new TextEncoder();

function cString(s: string, what: string): Uint8Array {
  if (s.includes('\0')) throw new FdtError('bad-value', `Cannot write ${what}: the string contains a NUL byte`);
  const bytes = utf8.encode(s);
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  return out;
}

function checkU32(value: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xffff_ffff) {
    throw new FdtError('bad-value', `Cannot write ${what}: ${value} is not a 32-bit unsigned integer`);
  }
}

function toU64(value: number | bigint, what: string): bigint {
  const v = typeof value === 'bigint' ? value : Number.isSafeInteger(value) ? BigInt(value) : -1n;
  if (v < 0n || v > 0xffff_ffff_ffff_ffffn) {
    throw new FdtError('bad-value', `Cannot write ${what}: ${String(value)} is not a 64-bit unsigned integer`);
  }
  return v;
}

export class FdtWriter {
  private readonly structure = new ByteSink();
  private readonly strings = new ByteSink();
  private readonly stringOffsets = new Map<string, number>();
  private readonly stack: OpenNode[] = [];
  private readonly reservations: { address: bigint; size: bigint }[];
  private readonly bootCpuId: number;
  private rootDone = false;
  private finished = false;

  constructor(options: FdtWriterOptions = {}) {
    this.reservations = (options.reservations ?? []).map((r, i) => ({
      address: toU64(r.address, `reservation ${i} address`),
      size: toU64(r.size, `reservation ${i} size`),
    }));
    this.bootCpuId = options.bootCpuId ?? 0;
    checkU32(this.bootCpuId, 'boot_cpuid_phys');
  }

  /** Open a node: the root ('') first, then children of the innermost open node. */
  beginNode(name: string): FdtNode {
    this.checkOpen();
    const parent = this.stack[this.stack.length - 1];
    let path: string;
    if (!parent) {
      if (this.rootDone) throw new FdtError('bad-nesting', `Cannot begin node "${name}": the root node is already closed`);
      if (name !== '') throw new FdtError('bad-nesting', `Cannot begin node "${name}": the first node must be the root ("")`);
      path = '/';
    } else {
      if (!NODE_NAME.test(name)) throw new FdtError('bad-name', `Cannot begin node "${name}" in ${parent.path}: invalid node name`);
      if (parent.children.has(name)) throw new FdtError('duplicate-node', `Cannot begin node "${name}": ${parent.path} already has it`);
      parent.children.add(name);
      parent.hasChild = true;
      path = parent.path === '/' ? `/${name}` : `${parent.path}/${name}`;
    }
    this.structure.u32(FDT_BEGIN_NODE);
    this.structure.raw(cString(name, `node "${name}"`));
    this.structure.align4();
    const node: OpenNode = { path, hasChild: false, properties: new Set(), children: new Set() };
    this.stack.push(node);
    return node;
  }

  /** Close the innermost open node, which must be `node`. */
  endNode(node: FdtNode): void {
    this.checkOpen();
    const top = this.stack[this.stack.length - 1];
    if (!top) throw new FdtError('bad-nesting', `Cannot end node ${node.path}: no node is open`);
    if (top !== node) throw new FdtError('bad-nesting', `Cannot end node ${node.path}: the innermost open node is ${top.path}`);
    this.structure.u32(FDT_END_NODE);
    this.stack.pop();
    if (this.stack.length === 0) this.rootDone = true;
  }

  /** A property with raw bytes as its value. */
  property(name: string, value: Uint8Array): void {
    this.checkOpen();
    const node = this.stack[this.stack.length - 1];
    if (!node) throw new FdtError('property-outside-node', `Cannot add property "${name}": no node is open`);
    if (!PROPERTY_NAME.test(name)) throw new FdtError('bad-name', `Cannot add property "${name}" to ${node.path}: invalid property name`);
    if (node.hasChild) {
      throw new FdtError('property-after-child', `Cannot add property "${name}" to ${node.path}: it already has child nodes`);
    }
    if (node.properties.has(name)) throw new FdtError('duplicate-property', `Cannot add property "${name}" to ${node.path} twice`);
    node.properties.add(name);
    this.structure.u32(FDT_PROP);
    this.structure.u32(value.length);
    this.structure.u32(this.stringOffset(name));
    this.structure.raw(value);
    this.structure.align4();
  }

  /** A property without a value (a boolean flag such as `interrupt-controller`). */
  propertyEmpty(name: string): void {
    this.property(name, new Uint8Array(0));
  }

  propertyU32(name: string, value: number): void {
    this.propertyCells(name, [value]);
  }

  /** A list of 32-bit cells (`reg`, `interrupts-extended`, phandle lists). */
  propertyCells(name: string, cells: readonly number[]): void {
    const out = new Uint8Array(4 * cells.length);
    const view = new DataView(out.buffer);
    cells.forEach((c, i) => {
      checkU32(c, `property "${name}" cell ${i}`);
      view.setUint32(4 * i, c);
    });
    this.property(name, out);
  }

  propertyU64(name: string, value: number | bigint): void {
    const v = toU64(value, `property "${name}"`);
    const out = new Uint8Array(8);
    new DataView(out.buffer).setBigUint64(0, v);
    this.property(name, out);
  }

  propertyString(name: string, value: string): void {
    this.property(name, cString(value, `property "${name}"`));
  }

  /** A string list (`compatible`): NUL-terminated strings back to back. */
  propertyStrings(name: string, values: readonly string[]): void {
    const parts = values.map((v) => cString(v, `property "${name}"`));
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    this.property(name, out);
  }

  /** The finished DTB. The writer cannot be used afterwards. */
  finish(): Uint8Array {
    this.checkOpen();
    if (!this.rootDone || this.stack.length > 0) {
      const why = this.stack.length > 0
        ? `nodes still open: ${this.stack.map((n) => n.path).join(', ')}`
        : 'it has no root node';
      throw new FdtError('unfinished', `Cannot finish the device tree: ${why}`);
    }
    this.structure.u32(FDT_END);
    this.finished = true;

    // Layout (spec 5.1): header, reservation block (8-byte aligned), structure block, strings block.
    const rsvOffset = HEADER_SIZE; // 40 is already 8-byte aligned
    const rsvSize = 16 * (this.reservations.length + 1);
    const structOffset = rsvOffset + rsvSize;
    const structSize = this.structure.length;
    const stringsOffset = structOffset + structSize;
    const stringsSize = this.strings.length;
    const total = stringsOffset + stringsSize;

    const dtb = new Uint8Array(total);
    const view = new DataView(dtb.buffer);
    const header = [FDT_MAGIC, total, structOffset, stringsOffset, rsvOffset, FDT_VERSION, FDT_LAST_COMP_VERSION,
      this.bootCpuId, stringsSize, structSize];
    header.forEach((v, i) => view.setUint32(4 * i, v));
    this.reservations.forEach((r, i) => {
      view.setBigUint64(rsvOffset + 16 * i, r.address);
      view.setBigUint64(rsvOffset + 16 * i + 8, r.size);
    }); // the terminating (0, 0) entry is already zero
    dtb.set(this.structure.view(), structOffset);
    dtb.set(this.strings.view(), stringsOffset);
    return dtb;
  }

  private stringOffset(name: string): number {
    let off = this.stringOffsets.get(name);
    if (off === undefined) {
      off = this.strings.length;
      this.strings.raw(cString(name, `property name "${name}"`));
      this.stringOffsets.set(name, off);
    }
    return off;
  }

  private checkOpen(): void {
    if (this.finished) throw new FdtError('finished', 'Cannot change the device tree: finish() was already called');
  }
}
