import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FdtError, FdtWriter, type FdtErrorCode } from './fdt-writer.js';
import { decompile, findNode, parseDts } from './dtc.test-helper.js';

function header(dtb: Uint8Array) {
  const v = new DataView(dtb.buffer, dtb.byteOffset, dtb.byteLength);
  const f = (i: number) => v.getUint32(4 * i);
  return {
    magic: f(0), totalsize: f(1), offStruct: f(2), offStrings: f(3), offRsv: f(4), version: f(5),
    lastComp: f(6), bootCpu: f(7), sizeStrings: f(8), sizeStruct: f(9),
  };
}

function sample(): Uint8Array {
  const w = new FdtWriter({ reservations: [{ address: 0x8000_0000, size: 0x1000 }], bootCpuId: 1 });
  const root = w.beginNode('');
  w.propertyU32('#address-cells', 2);
  w.propertyStrings('compatible', ['acme,board', 'acme,family']);
  const a = w.beginNode('dev@1000');
  w.propertyStrings('compatible', ['acme,dev']);
  w.propertyCells('reg', [0, 0x1000, 0, 0x100]);
  w.propertyEmpty('interrupt-controller');
  w.propertyU64('big', 0x1_2345_6789n);
  w.propertyString('label', 'one');
  w.property('raw', Uint8Array.of(1, 2, 3));
  w.endNode(a);
  const b = w.beginNode('dev@2000');
  w.propertyStrings('compatible', ['acme,dev']);
  w.endNode(b);
  w.endNode(root);
  return w.finish();
}

test('header: v17 layout, blocks in order and aligned, sizes consistent', () => {
  const dtb = sample();
  const h = header(dtb);
  assert.equal(h.magic, 0xd00dfeed);
  assert.equal(h.totalsize, dtb.length);
  assert.equal(h.version, 17);
  assert.equal(h.lastComp, 16);
  assert.equal(h.bootCpu, 1);
  assert.equal(h.offRsv, 40);
  assert.equal(h.offRsv % 8, 0);
  assert.equal(h.offStruct, h.offRsv + 32, 'one reservation plus the terminator');
  assert.equal(h.offStruct % 4, 0);
  assert.equal(h.offStrings, h.offStruct + h.sizeStruct);
  assert.equal(h.offStrings + h.sizeStrings, h.totalsize);
  const v = new DataView(dtb.buffer);
  assert.equal(v.getUint32(h.offStruct + h.sizeStruct - 4), 9, 'structure ends with FDT_END');
});

test('the strings block holds each property name once', () => {
  const dtb = sample();
  const h = header(dtb);
  const strings = new TextDecoder().decode(dtb.subarray(h.offStrings, h.offStrings + h.sizeStrings));
  const names = strings.split('\0').filter((s) => s !== '');
  assert.deepEqual(names, ['#address-cells', 'compatible', 'reg', 'interrupt-controller', 'big', 'label', 'raw']);
});

test('dtc reads back every kind of value', () => {
  const { dts } = decompile(sample());
  assert.match(dts, /\/memreserve\/\s+0x0*80000000 0x0*1000;/);
  const root = parseDts(dts);
  assert.equal(root.props.get('compatible'), '"acme,board\\0acme,family"');
  assert.equal(root.props.get('#address-cells'), '<0x02>');
  const dev = findNode(root, '/dev@1000')!;
  assert.equal(dev.props.get('reg'), '<0x00 0x1000 0x00 0x100>');
  assert.equal(dev.props.get('interrupt-controller'), '');
  assert.equal(dev.props.get('big'), '<0x01 0x23456789>');
  assert.equal(dev.props.get('label'), '"one"');
  assert.equal(dev.props.get('raw'), '[01 02 03]');
  assert.ok(findNode(root, '/dev@2000'));
  assert.deepEqual(root.children.map((c) => c.name), ['dev@1000', 'dev@2000']);
});

function expectError(code: FdtErrorCode, fn: (w: FdtWriter) => void, message?: RegExp): void {
  const w = new FdtWriter();
  assert.throws(() => fn(w), (e: unknown) => {
    assert.ok(e instanceof FdtError, `expected FdtError, got ${String(e)}`);
    assert.equal(e.code, code);
    if (message) assert.match(e.message, message);
    return true;
  });
}

test('bad nesting is rejected: end without begin, mismatched end, non-root first, second root', () => {
  expectError('bad-nesting', (w) => w.endNode({ path: '/' }), /no node is open/);
  expectError('bad-nesting', (w) => {
    const root = w.beginNode('');
    w.beginNode('a');
    w.endNode(root);
  }, /innermost open node is \/a/);
  expectError('bad-nesting', (w) => w.beginNode('cpus'), /root/);
  expectError('bad-nesting', (w) => {
    w.endNode(w.beginNode(''));
    w.beginNode('');
  }, /already closed/);
});

test('properties after a child node, outside any node, or twice are rejected', () => {
  expectError('property-after-child', (w) => {
    w.beginNode('');
    w.endNode(w.beginNode('child'));
    w.propertyU32('late', 1);
  }, /"late".*child nodes/);
  expectError('property-outside-node', (w) => w.propertyU32('x', 1));
  expectError('duplicate-property', (w) => {
    w.beginNode('');
    w.propertyU32('x', 1);
    w.propertyU32('x', 2);
  });
  expectError('duplicate-node', (w) => {
    w.beginNode('');
    w.endNode(w.beginNode('a@1'));
    w.beginNode('a@1');
  });
});

test('an unfinished tree cannot be finished, a finished one cannot be changed', () => {
  expectError('unfinished', (w) => w.finish(), /no root/);
  expectError('unfinished', (w) => {
    w.beginNode('');
    w.beginNode('soc');
    w.finish();
  }, /still open: \/, \/soc/);
  expectError('finished', (w) => {
    w.endNode(w.beginNode(''));
    w.finish();
    w.propertyU32('x', 1);
  });
});

test('bad names and values are rejected', () => {
  expectError('bad-name', (w) => {
    w.beginNode('');
    w.beginNode('has space');
  });
  expectError('bad-name', (w) => {
    w.beginNode('');
    w.beginNode('a'.repeat(32));
  });
  expectError('bad-name', (w) => {
    w.beginNode('');
    w.propertyU32('', 1);
  });
  expectError('bad-value', (w) => {
    w.beginNode('');
    w.propertyString('s', 'a\0b');
  });
  expectError('bad-value', (w) => {
    w.beginNode('');
    w.propertyCells('c', [0x1_0000_0000]);
  });
  expectError('bad-value', (w) => {
    w.beginNode('');
    w.propertyU64('q', -1);
  });
  assert.throws(() => new FdtWriter({ reservations: [{ address: 2 ** 64, size: 1 }] }), FdtError);
});

test('a large tree grows the buffers and stays readable', () => {
  const w = new FdtWriter();
  const root = w.beginNode('');
  for (let i = 0; i < 500; i++) {
    const n = w.beginNode(`node@${i.toString(16)}`);
    w.propertyCells('reg', [i]);
    w.property('blob', new Uint8Array(37).fill(i & 0xff));
    w.endNode(n);
  }
  w.endNode(root);
  const tree = parseDts(decompile(w.finish()).dts);
  assert.equal(tree.children.length, 500);
  assert.equal(findNode(tree, '/node@1f3')!.props.get('reg'), '<0x1f3>');
});
