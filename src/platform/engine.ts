import { InterpreterHart, type InterpreterHartOptions } from '../cpu/interpreter/interpreter-hart.js';
import { warmUp } from '../cpu/interpreter/warm-up.js';
import { Bus } from '../memory/bus.js';
import { JitHart, type JitOptions } from '../jit/jit-hart.js';

/** The execution engines behind the one Hart interface: the reference interpreter, and the JIT. */
export type Engine = 'interpreter' | 'jit';

export const ENGINES: readonly Engine[] = ['interpreter', 'jit'];

/** Engines warmed up in this process (see warmUp: once is enough, V8 keeps the feedback). */
const warm = new Set<Engine>();

export function createHart(engine: Engine, opts: InterpreterHartOptions, jit: JitOptions = {}): InterpreterHart {
  warmEngine(engine);
  return engine === 'jit' ? new JitHart(opts, jit) : new InterpreterHart(opts);
}

/**
 * Warms an engine up (once per process; createHart does it on first use): a thread that will run a
 * machine can do it before it knows which, so a boot or a snapshot restore does not wait for it.
 */
export function warmEngine(engine: Engine): void {
  if (!warm.has(engine)) {
    warm.add(engine);
    warmUp((memory) => {
      const scratch = { id: 0, memory, bus: new Bus(), time: () => 0 };
      // The JIT's scratch hart never translates: a second trampoline and other region functions seen
      // at the dispatcher's call sites made them polymorphic, and the boot slower (measured).
      return engine === 'jit' ? new JitHart(scratch, { threshold: 0xffff_fff0 }) : new InterpreterHart(scratch);
    });
  }
}
