import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseWholeNumber } from './whole-number.js';

test('whole numbers: decimal digits only, one syntax for every flag; never rounded', () => {
  assert.equal(parseWholeNumber('--mem', '512'), 512);
  assert.equal(parseWholeNumber('--mem', '0512'), 512);
  for (const bad of ['1e3', '0x40', '64.5', '1_000', '-1', '+5', '', ' ', '12MiB', 'Infinity', 'NaN', '１２']) {
    assert.throws(() => parseWholeNumber('--mem', bad), new RegExp(`^WholeNumberError: --mem must be a whole number in decimal digits, got "${bad.replace(/[.+*]/g, '\\$&')}"$`), bad);
  }
  assert.throws(() => parseWholeNumber('--http-api-max-payload-size', '0', { min: 1, max: 100, unit: 'bytes' }), /must be from 1 to 100 bytes, got 0$/);
  // The range is checked on the digits: 2^53 + 1 is not rounded to 2^53 on the way.
  assert.throws(() => parseWholeNumber('--differential', '9007199254740993'), /must be at least 0, got 9007199254740993$/);
  assert.throws(() => parseWholeNumber('--x', '99999999999999999999999999', { max: 10 }), /from 0 to 10, got 99999999999999999999999999$/);
});
