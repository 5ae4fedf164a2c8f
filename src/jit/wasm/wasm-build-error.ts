/**
 * A mistake by the code that drives the builder (the JIT), caught while encoding: wrong nesting, a
 * label or immediate out of range, declarations in an order the index spaces cannot take. Never a
 * consequence of guest behaviour, so throwing is right. The message names the function.
 */
export type WasmBuildErrorCode =
  | 'unbalanced-end'
  | 'unclosed-block'
  | 'else-without-if'
  | 'label-out-of-range'
  | 'bad-immediate'
  | 'bad-order'
  | 'bad-index';

export class WasmBuildError extends Error {
  override readonly name = 'WasmBuildError';
  constructor(
    readonly code: WasmBuildErrorCode,
    message: string,
  ) {
    super(message);
  }
}
