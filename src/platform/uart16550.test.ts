import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LevelIrqLine } from '../devices/irq-line.js';
import { Uart16550, type UartBackend } from './uart16550.js';

const THR = 0, RBR = 0, DLL = 0, IER = 1, DLM = 1, IIR = 2, FCR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7;

class Sink implements UartBackend {
  out: number[] = [];
  ready = 0;
  write(bytes: Uint8Array): void {
    this.out.push(...bytes);
  }
  rxReady(): void {
    this.ready++;
  }
}

function setup(fifo?: number) {
  const sink = new Sink();
  const irq = new LevelIrqLine();
  const uart = new Uart16550(sink, irq, fifo);
  return { sink, irq, uart };
}

const text = (s: string) => new TextEncoder().encode(s);

test('THR writes go to the backend one byte at a time; LSR always shows THRE|TEMT', () => {
  const { uart, sink } = setup();
  for (const b of text('hi\n')) uart.write(THR, 1, b);
  uart.write(THR, 4, 0x1234_5621); // wider access: the low byte counts
  assert.equal(new TextDecoder().decode(Uint8Array.from(sink.out)), 'hi\n!');
  assert.equal(uart.read(LSR, 1), 0x60);
  assert.equal(uart.metrics.txBytes, 4);
});

test('received bytes are read through RBR with LSR.DR; an empty RBR reads 0', () => {
  const { uart, sink } = setup();
  assert.equal(uart.receive(text('ok')), 2);
  assert.equal(uart.read(LSR, 1) & 1, 1);
  assert.equal(uart.read(RBR, 1), 0x6f);
  assert.equal(uart.read(RBR, 1), 0x6b);
  assert.equal(uart.read(LSR, 1) & 1, 0);
  assert.equal(uart.read(RBR, 1), 0);
  assert.equal(sink.ready, 1, 'the backend hears that the FIFO drained');
});

test('the receive FIFO is bounded: overflow is dropped, counted and flagged as overrun', () => {
  const { uart } = setup(4);
  assert.equal(uart.rxSpace(), 4);
  assert.equal(uart.receive(text('abcdef')), 4);
  assert.equal(uart.metrics.rxDropped, 2);
  assert.equal(uart.rxSpace(), 0);
  assert.equal(uart.read(LSR, 1) & 0x03, 0x03, 'DR and OE');
  assert.equal(uart.read(LSR, 1) & 0x02, 0, 'OE clears on read');
  assert.deepEqual([0, 1, 2, 3].map(() => uart.read(RBR, 1)), [...text('abcd')]);
  assert.equal(uart.receive(new Uint8Array(1_000_000)), 4, 'a huge input is cut at the bound');
});

test('RDA interrupt: raised while data waits and enabled, lowered when drained', () => {
  const { uart, irq } = setup();
  uart.receive(text('x'));
  assert.equal(irq.level, false, 'not enabled yet');
  uart.write(IER, 1, 0x01);
  assert.equal(irq.level, true);
  assert.equal(uart.read(IIR, 1) & 0x0f, 0x04);
  uart.read(RBR, 1);
  assert.equal(irq.level, false);
  assert.equal(uart.read(IIR, 1) & 0x0f, 0x01);
});

test('THRE interrupt: raised when enabled with THR empty, acknowledged by reading IIR, re-armed by a write', () => {
  const { uart, irq } = setup();
  uart.write(IER, 1, 0x02);
  assert.equal(irq.level, true);
  assert.equal(uart.read(IIR, 1) & 0x0f, 0x02);
  assert.equal(irq.level, false, 'reading IIR acknowledged THRE');
  assert.equal(uart.read(IIR, 1) & 0x0f, 0x01);
  uart.write(THR, 1, 0x41);
  assert.equal(irq.level, true);
  // Linux's startup THRE test: disable and re-enable ETBEI, expect the interrupt again.
  uart.read(IIR, 1);
  uart.write(IER, 1, 0);
  uart.write(IER, 1, 0x02);
  assert.equal(uart.read(IIR, 1) & 0x0f, 0x02);
  uart.write(IER, 1, 0);
  assert.equal(irq.level, false);
});

test('IIR priorities: line status > received data > THRE > modem status', () => {
  const { uart, irq } = setup(1);
  uart.write(IER, 1, 0x0f);
  uart.write(MCR, 1, 0x10 | 0x01); // loopback with DTR: DSR changes → modem status delta
  assert.equal(uart.read(IIR, 1) & 0x0f, 0x02, 'THRE outranks modem status');
  assert.equal(uart.read(IIR, 1) & 0x0f, 0x00, 'then modem status');
  uart.write(THR, 1, 0x31); // looped back into the 1-byte FIFO, also re-arms THRE
  assert.equal(uart.read(IIR, 1) & 0x0f, 0x04, 'received data outranks THRE');
  uart.write(THR, 1, 0x32); // FIFO full: overrun
  assert.equal(uart.read(IIR, 1) & 0x0f, 0x06, 'line status is first');
  uart.read(LSR, 1);
  assert.equal(uart.read(IIR, 1) & 0x0f, 0x04);
  assert.equal(uart.read(RBR, 1), 0x31);
  assert.equal(uart.read(IIR, 1) & 0x0f, 0x02);
  assert.equal(uart.read(IIR, 1) & 0x0f, 0x00);
  // Entering loopback dropped CTS and DCD (idle line was up) and kept DSR: DSR plus DCTS|DDCD deltas.
  assert.equal(uart.read(MSR, 1), 0x29);
  assert.equal(uart.read(MSR, 1), 0x20, 'deltas clear on read');
  assert.equal(uart.read(IIR, 1) & 0x0f, 0x01);
  assert.equal(irq.level, false);
});

test('FCR: FIFO-enabled bits in IIR, RX clear, mode toggle resets the FIFO', () => {
  const { uart } = setup();
  assert.equal(uart.read(IIR, 1) & 0xc0, 0);
  uart.write(FCR, 1, 0xc7);
  assert.equal(uart.read(IIR, 1) & 0xc0, 0xc0);
  uart.receive(text('abc'));
  uart.write(FCR, 1, 0xc3); // clear RX
  assert.equal(uart.read(LSR, 1) & 1, 0);
  uart.receive(text('abc'));
  uart.write(FCR, 1, 0x00); // leaving FIFO mode resets the FIFO
  assert.equal(uart.read(LSR, 1) & 1, 0);
  assert.equal(uart.read(IIR, 1), 0x01);
});

test('DLAB switches offsets 0 and 1 to the divisor latches; LCR, MCR, SCR store', () => {
  const { uart, sink } = setup();
  uart.write(LCR, 1, 0x83);
  uart.write(DLL, 1, 0x01);
  uart.write(DLM, 1, 0x02);
  assert.deepEqual([uart.read(DLL, 1), uart.read(DLM, 1), uart.read(LCR, 1)], [1, 2, 0x83]);
  assert.deepEqual(sink.out, [], 'a divisor write is not output');
  uart.write(LCR, 1, 0x03);
  uart.write(IER, 1, 0xff);
  assert.equal(uart.read(IER, 1), 0x0f, 'IER keeps its four defined bits');
  assert.equal(uart.read(DLL, 1), 0x60 & 0, 'offset 0 is RBR again (empty)');
  uart.write(MCR, 1, 0xff);
  assert.equal(uart.read(MCR, 1), 0x1f);
  uart.write(SCR, 1, 0xa5);
  assert.equal(uart.read(SCR, 1), 0xa5);
});

test('MSR: line up when idle; loopback mirrors MCR and routes THR to RBR', () => {
  const { uart, sink } = setup();
  assert.equal(uart.read(MSR, 1), 0xb0);
  uart.write(MCR, 1, 0x10 | 0x0a); // loopback, RTS, OUT2
  assert.equal(uart.read(MSR, 1) & 0xf0, 0x90);
  uart.write(THR, 1, 0x55);
  assert.deepEqual(sink.out, []);
  assert.equal(uart.read(RBR, 1), 0x55);
  assert.equal(uart.receive(text('z')), 0, 'the outside line is disconnected in loopback');
  assert.equal(uart.metrics.rxDropped, 1);
});

test('hostile accesses: offsets beyond the registers, read-only writes, throwing backends', () => {
  const irq = new LevelIrqLine();
  const uart = new Uart16550({ write: () => { throw new Error('EPIPE'); }, rxReady: () => { throw new Error('x'); } }, irq);
  assert.equal(uart.read(8, 1), 0);
  uart.write(0xff, 4, 0xffff_ffff);
  uart.write(LSR, 1, 0);
  uart.write(MSR, 1, 0);
  assert.equal(uart.read(LSR, 1), 0x60);
  assert.equal(uart.metrics.badAccesses, 2);
  uart.write(THR, 1, 0x41);
  assert.equal(uart.metrics.txErrors, 1);
  uart.receive(text('a'));
  assert.equal(uart.read(RBR, 1), 0x61, 'a throwing rxReady does not escape');
  assert.throws(() => new Uart16550(new Sink(), irq, 0), RangeError);
});

test('save/restore round-trips registers, FIFO and the interrupt line', () => {
  const a = setup();
  a.uart.write(FCR, 1, 0x01);
  a.uart.write(LCR, 1, 0x83);
  a.uart.write(DLL, 1, 3);
  a.uart.write(LCR, 1, 0x03);
  a.uart.write(IER, 1, 0x01);
  a.uart.write(SCR, 1, 9);
  a.uart.receive(text('qr'));
  const state = a.uart.save();
  const b = setup();
  b.uart.restore(structuredClone(state));
  assert.deepEqual(b.uart.save(), state);
  assert.equal(b.irq.level, true);
  assert.equal(b.uart.read(RBR, 1), 0x71);
  const small = setup(1);
  small.uart.restore(state);
  assert.equal(small.uart.metrics.rxDropped, 1);
  assert.throws(() => b.uart.restore({ ...state, version: 2 as 1 }), /version 2/);
});

test('random guest traffic and host input never throw; the FIFO bound holds', () => {
  let seed = 0xdead_beef;
  const rand = () => ((seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0), seed);
  const { uart } = setup(16);
  const sizes = [1, 2, 4] as const;
  for (let i = 0; i < 20_000; i++) {
    const r = rand();
    if ((r & 15) === 0) uart.receive(new Uint8Array(rand() % 40).fill(r & 0xff));
    const offset = r & 16 ? rand() % 0x100 : rand() % 8;
    const size = sizes[rand() % 3]!;
    if (r & 32) uart.write(offset, size, rand());
    else {
      const v = uart.read(offset, size);
      assert.ok(Number.isInteger(v) && v >= 0 && v <= 0xff);
    }
    assert.ok(uart.rxSpace() >= 0 && uart.rxSpace() <= 16);
  }
});
