import { InterpreterHart, type InterpreterHartOptions } from '../cpu/interpreter/interpreter-hart.js';
import { JitHart } from '../jit/jit-hart.js';

/** The execution engines behind the one Hart interface: the reference interpreter, and the JIT. */
export type Engine = 'interpreter' | 'jit';

export const ENGINES: readonly Engine[] = ['interpreter', 'jit'];

export function createHart(engine: Engine, opts: InterpreterHartOptions): InterpreterHart {
  return engine === 'jit' ? new JitHart(opts) : new InterpreterHart(opts);
}
