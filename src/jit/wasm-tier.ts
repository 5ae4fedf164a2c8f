import { setFlagsFromString } from 'node:v8';
import type { ModuleBuilder } from './wasm/index.js';

/**
 * Which of V8's two wasm compilers compiles a translation. Liftoff (the baseline) compiles in a
 * fraction of a millisecond and its code keeps every local in a stack slot; TurboFan (the optimizing
 * tier) keeps them in registers but takes ~2 ms per KiB of a region's code, on a core the guest would
 * otherwise have. Measured on the Debian boot: V8's own tier-up sent 242 of the boot's ~250
 * translations to TurboFan, 19 s of compiling, and with its budget raised to 2e9 still ~80: the boot
 * took 6.3 s instead of 3.3. With every translation through TurboFan, c-int ran at 1125 MIPS against 885 and
 * c-fp at 246 against 164 (`npm run bench -- debian`, WISP_SUITE_ONLY=c-int,c-fp).
 *
 * So wisp chooses, per module: V8's own tier-up is off, and the functions at indices
 * TOP_TIER_INDEX and up go to TurboFan (V8's tier mask, a function-index bit mask). A module that
 * wants its code optimized puts its functions there (`enterTopTier`); everything else stays at the
 * low indices, in Liftoff. The mask is one process-wide flag, so modules compiling at the same time
 * on any thread cannot take each other's tier.
 */
export const TOP_TIER_INDEX = 16;
/** Function indices TOP_TIER_INDEX..30 (the mask is a signed 32-bit flag: bit 31 is left out). */
const TOP_TIER_MASK = ((1 << 31) - 1) & ~((1 << TOP_TIER_INDEX) - 1);

let selected = false;

/** Sets V8's wasm flags for the choice above (once per process: the flags are process-wide). */
export function selectWasmTiers(): void {
  if (selected) return;
  selected = true;
  setFlagsFromString('--no-wasm-tier-up');
  setFlagsFromString('--no-wasm-dynamic-tiering');
  setFlagsFromString(`--wasm-tier-mask-for-testing=${TOP_TIER_MASK}`);
  // Compiled when created, not at first call: in the background, that is all off the hart's thread.
  setFlagsFromString('--no-wasm-lazy-compilation');
}

/**
 * Pads `m` with empty functions so that the next function it defines, and the ones after it, get
 * TurboFan. Call after the imports, before the first function.
 */
export function enterTopTier(m: ModuleBuilder, importedFunctions: number): void {
  const none = m.type([], []);
  for (let i = importedFunctions; i < TOP_TIER_INDEX; i++) m.function(none);
}
