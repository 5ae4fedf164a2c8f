import assert from 'node:assert/strict';
import { test } from 'node:test';
import { JsonBodyError, decodeJson, enumOf, opt, parseJson, req, str, struct, uint, bool } from './json-body.js';
import { blockDevice, machineConfigPut, machineConfigPatch, loggerConfig } from './vmm-config.js';

const msg = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof JsonBodyError, `expected JsonBodyError, got ${String(e)}`);
    return e.message;
  }
  assert.fail('expected an error');
};

const boot = struct('BootSourceConfig', { kernel_image_path: req(str), initrd_path: opt(str), boot_args: opt(str) });

test('syntax errors read like serde_json, with line and column', () => {
  assert.equal(msg(() => parseJson('invalid_payload')), 'expected value at line 1 column 1');
  assert.equal(msg(() => parseJson('{')), 'EOF while parsing an object at line 1 column 1');
  assert.equal(msg(() => parseJson('{"a": 1,}')), 'trailing comma at line 1 column 9');
  assert.equal(msg(() => parseJson('{"a" 1}')), 'expected `:` at line 1 column 6');
  assert.equal(msg(() => parseJson('{"a": 1 "b": 2}')), 'expected `,` or `}` at line 1 column 9');
  assert.equal(msg(() => parseJson('{1: 2}')), 'key must be a string at line 1 column 2');
  assert.equal(msg(() => parseJson('{}x')), 'trailing characters at line 1 column 3');
  assert.equal(msg(() => parseJson('{\n  "a": tru\n}')), 'expected ident at line 2 column 11');
  assert.equal(msg(() => parseJson('"abc')), 'EOF while parsing a string at line 1 column 4');
  assert.equal(msg(() => parseJson('01')), 'invalid number at line 1 column 2');
  assert.equal(msg(() => parseJson('')), 'EOF while parsing a value at line 1 column 0');
});

test('hostile nesting is refused at the recursion limit, not with a stack overflow', () => {
  assert.match(msg(() => parseJson('['.repeat(100_000))), /^recursion limit exceeded/);
  assert.doesNotThrow(() => parseJson('['.repeat(100) + ']'.repeat(100)));
});

test('strings: escapes and surrogates are decoded, control characters refused', () => {
  const n = parseJson('"a\\n\\u00e9\\ud83d\\ude00"');
  assert.equal(n.kind === 'string' && n.value, 'a\né😀');
  assert.match(msg(() => parseJson('"\\ud83d"')), /^lone leading surrogate/);
  assert.match(msg(() => parseJson('"a\u0001"')), /^control character/);
  assert.match(msg(() => parseJson('"\\q"')), /^invalid escape/);
});

test('unknown, duplicate and missing fields name the field and the expected ones', () => {
  assert.equal(
    msg(() => decodeJson('{"kernel_image_path": "k", "foo": 1}', boot)),
    'unknown field `foo`, expected one of `kernel_image_path`, `initrd_path`, `boot_args` at line 1 column 32',
  );
  assert.equal(msg(() => decodeJson('{"initrd_path": "i"}', boot)), 'missing field `kernel_image_path` at line 1 column 20');
  assert.equal(msg(() => decodeJson('{"kernel_image_path": "k", "kernel_image_path": "k"}', boot)), 'duplicate field `kernel_image_path` at line 1 column 46');
  const two = struct('T', { a: req(str), b: req(str) });
  assert.equal(msg(() => decodeJson('{"c": 1}', two)), 'unknown field `c`, expected `a` or `b` at line 1 column 4');
});

test('type errors say what was found and what was expected', () => {
  assert.equal(msg(() => decodeJson('{"kernel_image_path": 5}', boot)), 'invalid type: integer `5`, expected a string at line 1 column 23');
  assert.equal(msg(() => decodeJson('"x"', boot)), 'invalid type: string "x", expected struct BootSourceConfig at line 1 column 3');
  assert.equal(msg(() => decodeJson('[]', boot)), 'invalid type: sequence, expected struct BootSourceConfig at line 1 column 1');
  const u8 = struct('M', { n: req(uint('u8')), b: opt(bool) });
  assert.equal(msg(() => decodeJson('{"n": 300}', u8)), 'invalid value: integer `300`, expected u8 at line 1 column 9');
  assert.equal(msg(() => decodeJson('{"n": -1}', u8)), 'invalid value: integer `-1`, expected u8 at line 1 column 8');
  assert.equal(msg(() => decodeJson('{"n": 1.5}', u8)), 'invalid type: floating point `1.5`, expected u8 at line 1 column 9');
  assert.equal(msg(() => decodeJson('{"n": 1, "b": "yes"}', u8)), 'invalid type: string "yes", expected a boolean at line 1 column 19');
  assert.equal(msg(() => decodeJson('{"n": null}', u8)), 'invalid type: null, expected u8 at line 1 column 10');
  assert.deepEqual(decodeJson('{"n": 7, "b": null}', u8), { n: 7 });
});

test('enums: unknown variants list the variants; a non-string is "expected ident"', () => {
  const e = struct('D', { c: req(enumOf(['Unsafe', 'Writeback'] as const)) });
  assert.equal(msg(() => decodeJson('{"c": "Fast"}', e)), 'unknown variant `Fast`, expected `Unsafe` or `Writeback` at line 1 column 12');
  assert.equal(msg(() => decodeJson('{"c": 1}', e)), 'expected ident at line 1 column 7');
});

test('Firecracker bodies: drive, machine-config PUT defaults and PATCH subsets, case-insensitive log level', () => {
  assert.deepEqual(decodeJson('{"drive_id":"r","path_on_host":"/x","is_root_device":true,"is_read_only":false}', blockDevice), {
    drive_id: 'r', path_on_host: '/x', is_root_device: true, is_read_only: false,
  });
  assert.match(msg(() => decodeJson('{"drive_id":"r","is_root_device":true,"direct":1}', blockDevice)), /^unknown field `direct`, expected one of `drive_id`/);
  assert.deepEqual(decodeJson('{"vcpu_count": 2, "mem_size_mib": 256}', machineConfigPut), {
    vcpu_count: 2, mem_size_mib: 256, smt: false, track_dirty_pages: false, huge_pages: 'None',
  });
  assert.equal(msg(() => decodeJson('{"vcpu_count": 2}', machineConfigPut)), 'missing field `mem_size_mib` at line 1 column 17');
  assert.deepEqual(decodeJson('{"mem_size_mib": 64}', machineConfigPatch), { mem_size_mib: 64 });
  assert.deepEqual(decodeJson('{"level": "wArNiNg"}', loggerConfig), { level: 'Warning' });
  assert.match(msg(() => decodeJson('{"level": "loud"}', loggerConfig)), /^unknown variant `loud`, expected one of `Off`, `Error`/);
});

test('bytes that are not UTF-8 are refused as such, at the position of the first bad byte', () => {
  assert.equal(msg(() => parseJson(new Uint8Array([0x22, 0xff, 0x22]))), 'invalid unicode code point at line 1 column 2');
  const bytes = (s: string, bad: number[]) => new Uint8Array([...Buffer.from(s), ...bad, ...Buffer.from('"}')]);
  // Line 2, after 14 characters (the é counts once): the lone continuation byte is column 15.
  assert.equal(msg(() => parseJson(bytes('{\n  "kernel": "é', [0x80]))), 'invalid unicode code point at line 2 column 15');
  // Overlong and surrogate encodings are not UTF-8 either.
  assert.equal(msg(() => parseJson(bytes('{"a": "', [0xc0, 0xaf]))), 'invalid unicode code point at line 1 column 8');
  assert.equal(msg(() => parseJson(bytes('{"a": "x', [0xed, 0xa0, 0x80]))), 'invalid unicode code point at line 1 column 9');
  // A sequence cut short by the end of the body.
  assert.equal(msg(() => parseJson(new Uint8Array([0x7b, 0x22, 0xe2, 0x82]))), 'invalid unicode code point at line 1 column 3');
});

test('integers are exact: a value beyond 2^53 - 1 is refused with its own digits, never rounded', () => {
  const m = struct('MachineConfig', { mem_size_mib: req(uint('usize')) });
  assert.deepEqual(decodeJson('{"mem_size_mib": 9007199254740991}', m), { mem_size_mib: 9007199254740991 });
  assert.equal(
    msg(() => decodeJson('{"mem_size_mib": 9007199254740993}', m)),
    'invalid value: integer `9007199254740993`, expected usize of at most 9007199254740991 (2^53 - 1, the largest wisp holds exactly) at line 1 column 33',
  );
});
