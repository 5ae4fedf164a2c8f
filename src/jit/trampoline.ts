import { I32, ModuleBuilder } from './wasm/index.js';
import { LEAVE_FLAG, TRAP_FLAG } from './translate-region.js';

/** The trampoline's result has this bit when it stopped at a pc with no translation to run. */
export const MISS_FLAG = 0x1000_0000;
/** The instructions retired, below the flags. */
export const COUNT_MASK = MISS_FLAG - 1;

/** Where the trampoline finds pc and the fetch TLB in the machine memory (byte offsets). */
export interface TrampolineLayout {
  pc: number;
  tlbFetch: number;
}

/**
 * Runs translated regions one after another without returning to JS: `run(priv, dp, budget)`.
 * `table` holds, per 4 KiB host page, the region translated from it (`miss` where there is none).
 */
export interface Trampoline {
  run: (priv: number, dp: number, budget: number) => number;
  table: WebAssembly.Table;
  miss: RegionRun;
}

/** A region's entry point (translate-region): `run(priv, dp, pageOffset, budget)`. */
export type RegionRun = (priv: number, dp: number, entry: number, budget: number) => number;

/**
 * Builds the trampoline over `memory`. Measured on the Debian boot: ~13M calls from the JS
 * dispatcher into regions, each a different function (so V8 used its generic, slow JS-to-wasm
 * wrapper), most of them only to go on at a pc that has a translation too. The trampoline is one
 * function, always the same call site, and it goes from region to region with a `call_indirect`:
 * it probes the fetch TLB at pc like the dispatcher does, finds the host page's region in the table,
 * and calls it at the page offset. It stops when a region traps or asks for the dispatcher (the
 * flags pass through), when the budget is spent, and with MISS_FLAG when pc misses the fetch TLB or
 * has no translation (the page's entry is `miss`, or the region has no block at that offset, which
 * it answers by retiring nothing). `priv` is the privilege the fetch TLB is tagged with and `dp`
 * the data privilege the regions need: neither changes inside a region (what changes them leaves).
 */
export function createTrampoline(memory: WebAssembly.Memory, layout: TrampolineLayout): Trampoline {
  const miss = new WebAssembly.Instance(new WebAssembly.Module(missModule())).exports.miss as RegionRun;
  const pages = memory.buffer.byteLength >>> 12;
  const table = new WebAssembly.Table({ element: 'anyfunc', initial: pages, maximum: pages }, miss);
  const shared = memory.buffer instanceof SharedArrayBuffer;
  const bytes = trampolineModule(layout, { min: pages >>> 4, max: pages >>> 4, shared }, pages);
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { mem: memory, table } });
  return { run: instance.exports.run as Trampoline['run'], table, miss };
}

/** A module exporting `miss`, the table's filler: retires nothing. */
function missModule(): Uint8Array<ArrayBuffer> {
  const m = new ModuleBuilder();
  const f = m.function(m.type([I32, I32, I32, I32], [I32]), { export: 'miss' });
  f.i32Const(0);
  return m.finish();
}

export function trampolineModule(layout: TrampolineLayout, memory: { min: number; max: number; shared: boolean }, pages: number): Uint8Array<ArrayBuffer> {
  const m = new ModuleBuilder();
  m.importMemory('env', 'mem', memory);
  m.importTable('env', 'table', { min: pages, max: pages });
  const region = m.type([I32, I32, I32, I32], [I32]);
  const f = m.function(m.type([I32, I32, I32], [I32]), { export: 'run' });
  const PRIV = 0, DP = 1, BUDGET = 2;
  const n = f.local(I32), pcLo = f.local(I32), e = f.local(I32), host = f.local(I32), r = f.local(I32);
  const missed = () => { f.localGet(n).i32Const(MISS_FLAG).i32Or().return(); };

  f.loop();
  // The fetch TLB entry for pc (hart-layout: 16-byte entries, tag | priv, high word, host offset).
  f.i32Const(0).i32Load(layout.pc).localTee(pcLo);
  f.i32Const(8).i32ShrU().i32Const(0x3ff0).i32And().i32Const(layout.tlbFetch).i32Add().localSet(e);
  f.localGet(e).i32Load(0).localGet(pcLo).i32Const(-4096).i32And().localGet(PRIV).i32Or().i32Ne();
  f.localGet(e).i32Load(4).i32Const(0).i32Load(layout.pc + 4).i32Ne();
  f.i32Or();
  f.if(); missed(); f.end();
  f.localGet(e).i32Load(8).localGet(pcLo).i32Add().localSet(host);
  f.localGet(PRIV).localGet(DP).localGet(host).i32Const(0xfff).i32And().localGet(BUDGET).localGet(n).i32Sub();
  f.localGet(host).i32Const(12).i32ShrU();
  f.callIndirect(region, 0).localTee(r);
  f.i32Eqz();
  f.if(); missed(); f.end();
  f.localGet(n).localGet(r).i32Add().localSet(n);
  f.localGet(r).i32Const(TRAP_FLAG | LEAVE_FLAG).i32And();
  f.localGet(n).localGet(BUDGET).i32GeS().i32Or();
  f.if(); f.localGet(n).return(); f.end();
  f.br(0);
  f.end();
  f.i32Const(0); // unreachable: the loop only leaves by return
  return m.finish();
}
