import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { csr, decode, funct3, funct7, immB, immI, immJ, immS, immU, rd, rs1, rs2, rs3, shamt } from './decode.js';
import { INSTRUCTIONS } from './instruction-table.js';
import { insnSource, objdumpSource } from './testing/binutils.js';
import { allowedNameDifference, opcodeSweep, tableVariants } from './testing/reference-words.js';

// March for the 32-bit reference: G plus Zihintpause, so objdump names PAUSE as wisp does.
const MARCH = 'rv64g_zihintpause';

describe('field extractors', () => {
  it('take register fields from their fixed positions', () => {
    // fmadd.d fa0,fa1,fa2,fa3,rup = 0x6ac5b543 (rd 10, rs1 11, rs2 12, rs3 13, rm 3)
    const w = 0x6ac5b543;
    assert.deepEqual([rd(w), rs1(w), rs2(w), rs3(w), funct3(w), funct7(w)], [10, 11, 12, 13, 3, 0x35]);
    assert.equal(csr(0x14d02573), 0x14d);
    assert.equal(shamt(0x03f59513), 63); // slli a0,a1,63
  });

  it('sign-extend every immediate format', () => {
    assert.equal(immI(0xfff5c513), -1); // xori a0,a1,-1
    assert.equal(immI(0x7ff00513), 2047);
    assert.equal(immI(0x80000513), -2048);
    assert.equal(immS(0xfe113c23), -8); // sd ra,-8(sp)
    assert.equal(immS(0x7e113fa3), 2047);
    assert.equal(immB(0xfea018e3), -16); // bne zero,a0,.-16
    assert.equal(immB(0x00050863), 16); // beq a0,zero,.+16
    assert.equal(immB(0x80000063), -4096);
    assert.equal(immB(0x7e000fe3), 4094);
    assert.equal(immU(0xfffff517), -4096); // auipc a0,0xfffff
    assert.equal(immU(0x12345537), 0x12345000);
    assert.equal(immJ(0x0080006f), 8);
    assert.equal(immJ(0x8000006f), -(1 << 20));
    assert.equal(immJ(0x7ffff06f), (1 << 20) - 2);
  });
});

describe('decode', () => {
  it('finds every table entry from its own match value, or a more specific entry', () => {
    for (const spec of INSTRUCTIONS) {
      const got = decode(spec.match);
      assert.ok(got, `${spec.name}: match 0x${(spec.match >>> 0).toString(16)} does not decode`);
      assert.equal(spec.match & got.mask, got.match);
    }
  });

  it('returns undefined for 16-bit words and for words no entry matches', () => {
    assert.equal(decode(0x0001), undefined); // c.nop: expand first
    assert.equal(decode(0x0000), undefined);
    assert.equal(decode(0xffffffff), undefined);
    assert.equal(decode(0x0000007f), undefined);
    assert.equal(decode(0x0205951b), undefined); // slliw with shamt[5] set: reserved (§5.2)
  });

  it('accepts signed and unsigned forms of the same word', () => {
    assert.equal(decode(0xc0001073)?.name, 'csrrw');
    assert.equal(decode(0xc0001073 | 0)?.name, 'csrrw');
  });

  it('names every word as objdump -M no-aliases does (table variants and an opcode sweep)', (t) => {
    // Plus the encodings behind each documented difference: unimp, dret, uret, sfence.vm.
    const extra = [0xc0001073, 0x7b200073, 0x00200073, 0x10458073];
    const words = [...tableVariants(40).map((v) => v.word), ...opcodeSweep(), ...extra];
    const listing = objdumpSource(insnSource(words, 4), MARCH);
    assert.equal(listing.length, words.length, 'objdump listed a different number of instructions');
    const failures: string[] = [];
    const allowed = new Map<string, number>();
    for (const line of listing) {
      const word = words[line.address / 4]!;
      const theirs = line.mnemonic === '.4byte' ? undefined : line.mnemonic.replace(/\.(aqrl|aq|rl)$/, '');
      const ours = decode(word)?.name;
      if (ours === theirs) continue;
      const why = allowedNameDifference(word, ours, theirs);
      if (why !== undefined) {
        allowed.set(why, (allowed.get(why) ?? 0) + 1);
        continue;
      }
      if (failures.length < 40) failures.push(`0x${(word >>> 0).toString(16).padStart(8, '0')}: wisp ${ours ?? '(none)'}, objdump ${line.mnemonic}`);
      else failures.push('…');
    }
    t.diagnostic(`documented differences seen: ${JSON.stringify(Object.fromEntries(allowed))}`);
    assert.deepEqual(failures, [], `decode disagrees with objdump on ${failures.length} words`);
    // The allowances are for specific encodings; each must actually have been exercised.
    assert.equal(allowed.size, 6, `expected the documented differences to occur: ${[...allowed.keys()].join('; ')}`);
  });

  it('is fast enough for a disassembler (1M decodes well under a second)', () => {
    const t0 = performance.now();
    let n = 0;
    for (let i = 0; i < 1_000_000; i++) if (decode(Math.imul(i, 0x9e3779b1) | 3) !== undefined) n++;
    const ms = performance.now() - t0;
    assert.ok(n > 0);
    assert.ok(ms < 1000, `1M decodes took ${ms.toFixed(0)} ms`);
  });
});
