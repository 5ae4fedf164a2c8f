import { StopReason } from '../cpu/hart.js';
import type { InterpreterHart } from '../cpu/interpreter/interpreter-hart.js';
import { X_NAMES } from '../cpu/isa/disassemble.js';
import { Csr } from '../cpu/csr/csr-numbers.js';
import type { JitHart } from './jit-hart.js';
import { RAM_HOST_OFFSET } from '../memory/machine-memory.js';

/** Architectural state compared after every step: the interpreter is the reference. */
const CSRS: readonly [number, string][] = [
  [Csr.mstatus, 'mstatus'], [Csr.mepc, 'mepc'], [Csr.mcause, 'mcause'], [Csr.mtval, 'mtval'],
  [Csr.sepc, 'sepc'], [Csr.scause, 'scause'], [Csr.stval, 'stval'], [Csr.satp, 'satp'], [Csr.fcsr, 'fcsr'],
];

export interface Divergence {
  /** Instructions both engines had retired when the difference showed. */
  instret: number;
  /** pc where the step that diverged started. */
  pc: bigint;
  differences: string[];
}

export interface LockstepResult {
  steps: number;
  instret: number;
  divergence?: Divergence;
  stop: StopReason;
}

const hex = (v: bigint) => '0x' + BigInt.asUintN(64, v).toString(16);

/**
 * Runs the JIT and the interpreter in lock-step on two copies of the same machine: the JIT runs one
 * unit (a translated region or one interpreted block), the interpreter runs the same number of steps,
 * and their architectural state is compared; guest RAM is compared every `ramEvery` steps and at the
 * end. Stops at the first divergence with a report, after `maxSteps` steps, or when either stops.
 * `beforeStep` lets the caller move deterministic clocks so both engines see the same time.
 */
export function lockstep(
  ref: InterpreterHart, refRam: Uint8Array,
  jit: JitHart, jitRam: Uint8Array,
  opts: { maxSteps: number; maxInstructions?: number; ramEvery?: number; beforeStep?: (instret: number) => void },
): LockstepResult {
  let steps = 0;
  const ramEvery = opts.ramEvery ?? 10_000;
  for (;;) {
    const pc = jit.getPc();
    opts.beforeStep?.(jit.instret);
    const a = jit.run(1);
    const n = jit.lastRunSteps;
    const b = n > 0 ? ref.run(n) : StopReason.Budget;
    steps++;
    const diff = compareHarts(ref, jit);
    const done = a !== StopReason.Budget || b !== StopReason.Budget || steps >= opts.maxSteps || jit.instret >= (opts.maxInstructions ?? Infinity);
    if (steps % ramEvery === 0 || done) diff.push(...compareRam(refRam, jitRam));
    if (ref.instret !== jit.instret) diff.unshift(`instret: interpreter ${ref.instret}, jit ${jit.instret}`);
    // (When each engine notices a stop request or WFI may differ by a step; only state is compared.)
    if (diff.length > 0) return { steps, instret: jit.instret, stop: a, divergence: { instret: jit.instret, pc, differences: diff } };
    if (done) return { steps, instret: jit.instret, stop: a !== StopReason.Budget ? a : b };
  }
}

function compareHarts(ref: InterpreterHart, jit: JitHart): string[] {
  const out: string[] = [];
  if (ref.getPc() !== jit.getPc()) out.push(`pc: interpreter ${hex(ref.getPc())}, jit ${hex(jit.getPc())}`);
  if (ref.getPrivilege() !== jit.getPrivilege()) out.push(`privilege: interpreter ${ref.getPrivilege()}, jit ${jit.getPrivilege()}`);
  for (let i = 1; i < 32; i++) {
    const x = ref.getX(i), y = jit.getX(i);
    if (x !== y) out.push(`${X_NAMES[i]}: interpreter ${hex(x)}, jit ${hex(y)}`);
  }
  for (let i = 0; i < 64; i++) {
    if (ref.i32[ref.fi + i] !== jit.i32[jit.fi + i]) out.push(`f${i >> 1} ${i & 1 ? 'high' : 'low'} word differs`);
  }
  for (const [num, name] of CSRS) {
    const x = ref.readCsr(num), y = jit.readCsr(num);
    if (x !== y) out.push(`${name}: interpreter ${x === undefined ? '-' : hex(x)}, jit ${y === undefined ? '-' : hex(y)}`);
  }
  return out;
}

/**
 * Guest RAM only: the harts' regions before it hold the registers (compared one by one) and the
 * TLBs, which are caches and may differ (the JIT keeps pages it translated out of the write TLB).
 */
function compareRam(a: Uint8Array, b: Uint8Array): string[] {
  const n = Math.min(a.length, b.length);
  for (let i = RAM_HOST_OFFSET; i < n; i++) {
    if (a[i] !== b[i]) return [`memory differs first at host offset 0x${i.toString(16)}: interpreter 0x${a[i].toString(16)}, jit 0x${b[i].toString(16)}`];
  }
  return [];
}
