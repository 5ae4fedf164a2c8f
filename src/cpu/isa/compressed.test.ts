import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildExpansionTable, expandCompressed } from './compressed.js';
import { decode } from './decode.js';
import { assembleToBytes, insnSource, objdumpSource } from './testing/binutils.js';

/**
 * The expansion of each c.* form, restated in assembler syntax from the spec's RVC chapter (§16.3–16.6),
 * independently of compressed.ts: objdump supplies the operands, gas the 32-bit encoding.
 */
const same = (op: string) => (ops: string[]): string => `${op} ${ops.join(',')}`;
const rdrd = (op: string) => ([r, v]: string[]): string => `${op} ${r},${r},${v}`;
const EXPANSION: Record<string, (ops: string[]) => string> = {
  'c.addi4spn': ([rd, sp, imm]) => `addi ${rd},${sp},${imm}`,
  'c.fld': same('fld'), 'c.lw': same('lw'), 'c.ld': same('ld'),
  'c.fsd': same('fsd'), 'c.sw': same('sw'), 'c.sd': same('sd'),
  'c.fldsp': same('fld'), 'c.lwsp': same('lw'), 'c.ldsp': same('ld'),
  'c.fsdsp': same('fsd'), 'c.swsp': same('sw'), 'c.sdsp': same('sd'),
  'c.addi': rdrd('addi'), 'c.addiw': rdrd('addiw'), 'c.andi': rdrd('andi'),
  'c.li': ([rd, imm]) => `addi ${rd},zero,${imm}`,
  'c.lui': same('lui'),
  'c.addi16sp': ([sp, imm]) => `addi ${sp},${sp},${imm}`,
  'c.slli': rdrd('slli'), 'c.srli': rdrd('srli'), 'c.srai': rdrd('srai'),
  // RV128's shift-by-64 encodings are shift-by-0 HINTs in RV64C (§16.7).
  'c.slli64': ([rd]) => `slli ${rd},${rd},0`, 'c.srli64': ([rd]) => `srli ${rd},${rd},0`,
  'c.srai64': ([rd]) => `srai ${rd},${rd},0`,
  'c.sub': rdrd('sub'), 'c.xor': rdrd('xor'), 'c.or': rdrd('or'), 'c.and': rdrd('and'),
  'c.subw': rdrd('subw'), 'c.addw': rdrd('addw'), 'c.add': rdrd('add'),
  'c.mv': ([rd, rs]) => `add ${rd},zero,${rs}`,
  'c.j': ([t]) => `jal zero,${t}`,
  'c.beqz': ([rs, t]) => `beq ${rs},zero,${t}`, 'c.bnez': ([rs, t]) => `bne ${rs},zero,${t}`,
  'c.jr': ([rs]) => `jalr zero,0(${rs})`, 'c.jalr': ([rs]) => `jalr ra,0(${rs})`,
  'c.ebreak': () => 'ebreak',
};
const TARGETS = new Set(['c.j', 'c.beqz', 'c.bnez']);

describe('expandCompressed', () => {
  it('expands by the spec tables', () => {
    assert.equal(expandCompressed(0x0001), 0x00000013); // c.nop → addi zero,zero,0
    assert.equal(expandCompressed(0x9002), 0x00100073); // c.ebreak
    assert.equal(expandCompressed(0x60a2), 0x00813083); // c.ldsp ra,8(sp) → ld ra,8(sp)
    assert.equal(expandCompressed(0x8082), 0x00008067); // c.jr ra → jalr zero,0(ra)
    assert.equal(expandCompressed(0x7101), 0xe0010113 | 0); // c.addi16sp sp,-512
    assert.equal(expandCompressed(0x1141), 0xff010113 | 0); // c.addi sp,-16
    assert.equal(expandCompressed(0x0003), 0); // not compressed
    assert.equal(expandCompressed(0x10001), 0x00000013); // only the low half counts
  });

  it('gives 0 for reserved and illegal encodings and expands the HINTs', () => {
    const reserved: Record<string, number> = {
      'all zero': 0x0000, 'c.addi4spn imm 0': 0x0004, 'quadrant 0 funct3 100': 0x8000,
      'c.addiw rd 0': 0x2001, 'c.lui nzimm 0': 0x6081, 'c.lui rd 0 nzimm 0': 0x6001,
      'c.addi16sp nzimm 0': 0x6101, 'c.lwsp rd 0': 0x4002, 'c.ldsp rd 0': 0x6002, 'c.jr rs1 0': 0x8002,
      'misc-alu funct2 10 with bit 12': 0x9c41, 'misc-alu funct2 11 with bit 12': 0x9c61,
    };
    for (const [what, h] of Object.entries(reserved)) assert.equal(expandCompressed(h), 0, what);
    const hints: Record<string, number> = {
      'c.nop imm 1': 0x0005, 'c.addi a0,0': 0x0501, 'c.li zero,5': 0x4015, 'c.lui zero,1': 0x6005,
      'c.mv zero,a0': 0x802a, 'c.add zero,a0': 0x902a, 'c.slli zero,1': 0x0006, 'c.slli64 a0': 0x0502,
      'c.srli64 a0': 0x8101, 'c.srai64 a0': 0x8501,
    };
    for (const [what, h] of Object.entries(hints)) {
      const e = expandCompressed(h);
      assert.notEqual(e, 0, what);
      assert.ok(decode(e), `${what}: expansion 0x${(e >>> 0).toString(16)} does not decode`);
    }
  });

  it('agrees with gas on every 16-bit word objdump decodes, and with objdump on which are reserved', () => {
    const words: number[] = [];
    for (let h = 0; h < 65536; h++) if ((h & 3) !== 3) words.push(h);
    const listing = objdumpSource(insnSource(words, 2), 'rv64gc');
    assert.equal(listing.length, words.length);

    const failures: string[] = [];
    const expanded: { h: number; text: string }[] = [];
    for (const line of listing) {
      const h = words[line.address / 2]!;
      const ours = expandCompressed(h);
      if (line.mnemonic === '.2byte' || line.mnemonic === 'c.unimp') {
        if (ours !== 0) failures.push(`0x${h.toString(16)}: objdump ${line.mnemonic}, wisp expands it`);
        continue;
      }
      // binutils 2.40 decodes C.ADDI16SP with nzimm = 0, which §16.5 reserves.
      if (h === 0x6101) {
        if (ours !== 0) failures.push('0x6101: reserved c.addi16sp sp,0 expands');
        continue;
      }
      const rule = EXPANSION[line.mnemonic];
      if (rule === undefined) {
        failures.push(`0x${h.toString(16)}: no expansion rule for ${line.mnemonic}`);
        continue;
      }
      const ops = line.operands === '' ? [] : line.operands.split(',');
      if (TARGETS.has(line.mnemonic)) {
        const target = parseInt(ops[ops.length - 1]!, 16);
        const off = target - line.address;
        ops[ops.length - 1] = off < 0 ? `.${off}` : `.+${off}`;
      }
      expanded.push({ h, text: rule(ops) });
    }
    assert.deepEqual(failures.slice(0, 40), []);
    assert.ok(expanded.length > 45000, `only ${expanded.length} decodable words`);

    const source = ['.option norvc', ...expanded.map((e) => e.text)].join('\n') + '\n';
    const bytes = assembleToBytes(source, 'rv64g');
    assert.equal(bytes.length, expanded.length * 4);
    expanded.forEach(({ h, text }, i) => {
      const want = bytes.readInt32LE(i * 4);
      const got = expandCompressed(h);
      if (got !== want && failures.length < 40) {
        failures.push(`0x${h.toString(16)} (${text}): wisp 0x${(got >>> 0).toString(16)}, gas 0x${(want >>> 0).toString(16)}`);
      }
    });
    assert.deepEqual(failures, []);
  });
});

describe('buildExpansionTable', () => {
  it('holds expandCompressed of every 16-bit word and 0 for 32-bit parcels', () => {
    const table = buildExpansionTable();
    assert.equal(table.length, 65536);
    for (let h = 0; h < 65536; h++) {
      if ((h & 3) === 3) assert.equal(table[h], 0);
      else assert.equal(table[h], expandCompressed(h));
    }
    // Every expansion is an instruction of the table (RV64C maps into RV64G).
    for (let h = 0; h < 65536; h++) if (table[h] !== 0) assert.ok(decode(table[h]!), `0x${h.toString(16)}`);
  });

  it('builds in under 50 ms (best of 3)', () => {
    let best = Infinity;
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      buildExpansionTable();
      best = Math.min(best, performance.now() - t0);
    }
    assert.ok(best < 50, `buildExpansionTable took ${best.toFixed(1)} ms`);
  });
});
