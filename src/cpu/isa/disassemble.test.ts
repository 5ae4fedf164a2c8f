import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { csrName } from './csr-names.js';
import { disassemble, disassembleCompressed } from './disassemble.js';
import { decode } from './decode.js';
import { INSTRUCTIONS } from './instruction-table.js';
import { assembleToBytes, insnSource, objdumpSource, type ListingLine } from './testing/binutils.js';
import { allowedNameDifference, opcodeSweep, tableVariants } from './testing/reference-words.js';

const MARCH32 = 'rv64g_zihintpause';
const BRANCHES = new Set(['beq', 'bne', 'blt', 'bge', 'bltu', 'bgeu', 'jal', 'c.j', 'c.beqz', 'c.bnez']);

/** objdump's text in wisp's spelling: one space after the mnemonic, `0x` on branch targets. */
function theirText(line: ListingLine): string {
  let ops = line.operands;
  if (BRANCHES.has(line.mnemonic)) ops = ops.replace(/([0-9a-f]+)$/, '0x$1');
  return ops === '' ? line.mnemonic : `${line.mnemonic} ${ops}`;
}

const hex8 = (w: number): string => `0x${(w >>> 0).toString(16).padStart(8, '0')}`;

describe('disassemble (32-bit)', () => {
  it('prints the examples of objdump -M no-aliases', () => {
    assert.equal(disassemble(0x00150513), 'addi a0,a0,1');
    assert.equal(disassemble(0x00813083), 'ld ra,8(sp)');
    assert.equal(disassemble(0x00b50863, 0x80000000n), 'beq a0,a1,0x80000010');
    assert.equal(disassemble(0x00b50863), 'beq a0,a1,.+16');
    assert.equal(disassemble(0xfea018e3), 'bne zero,a0,.-16');
    assert.equal(disassemble(0xffdff06f, 0n), 'jal zero,0xfffffffffffffffc'); // wraps like a 64-bit pc
    assert.equal(disassemble(0x0ff0000f), 'fence iorw,iorw');
    assert.equal(disassemble(0x02c58553), 'fadd.d fa0,fa1,fa2,rne');
    assert.equal(disassemble(0x02c5f553), 'fadd.d fa0,fa1,fa2'); // dynamic rm is not shown
    assert.equal(disassemble(0x1605b52f), 'lr.d.aqrl a0,(a1)');
    assert.equal(disassemble(0x14d02573), 'csrrs a0,stimecmp,zero');
    assert.equal(disassemble(0x30a02573), 'csrrs a0,menvcfg,zero');
    assert.equal(disassemble(0x7ff02573), 'csrrs a0,0x7ff,zero');
    assert.equal(disassemble(0xffffffff), '.4byte 0xffffffff');
    assert.equal(disassemble(0x0001), 'c.addi zero,0'); // low bits ≠ 11: a 16-bit word
  });

  it('matches objdump on every table entry and a sweep of every opcode (pc = address)', (t) => {
    const extra = [0xc0001073];
    // A third of the opcode sweep: decode.test.ts runs all of it, the text only needs the variety.
    const sweep = opcodeSweep(4).filter((_, i) => i % 3 === 0);
    const words = [...tableVariants(40, 3).map((v) => v.word), ...sweep, ...extra];
    const listing = objdumpSource(insnSource(words, 4), MARCH32);
    assert.equal(listing.length, words.length);
    const failures: string[] = [];
    const allowed = new Map<string, number>();
    const roundTrip: number[] = [];
    for (const line of listing) {
      const word = words[line.address / 4]!;
      const ours = disassemble(word, BigInt(line.address));
      const theirs = theirText(line);
      if (ours === theirs) {
        if (!ours.includes('unknown') && decode(word) !== undefined) roundTrip.push(word);
        continue;
      }
      const theirName = line.mnemonic === '.4byte' ? undefined : line.mnemonic.replace(/\.(aqrl|aq|rl)$/, '');
      const why = allowedNameDifference(word, decode(word)?.name, theirName);
      if (why !== undefined) {
        allowed.set(why, (allowed.get(why) ?? 0) + 1);
        continue;
      }
      if (failures.length < 40) failures.push(`${hex8(word)}: wisp "${ours}", objdump "${theirs}"`);
    }
    t.diagnostic(`documented differences seen: ${[...allowed.keys()].join('; ')}`);
    assert.deepEqual(failures, [], 'disassembly differs from objdump');

    // The text (with pc-relative `.+off` targets) must also assemble back to the same word.
    // All table variants that objdump agrees with, and a fifth of the sweep.
    const variants = new Set(words.slice(0, words.length - sweep.length - extra.length));
    const sample = roundTrip.filter((w, i) => variants.has(w) || i % 5 === 0);
    const covered = new Set(sample.map((w) => decode(w)?.name));
    assert.deepEqual(INSTRUCTIONS.filter((e) => !covered.has(e.name)).map((e) => e.name), [], 'entries not round-tripped');
    const source = ['.option norvc', ...sample.map((w) => disassemble(w))].join('\n') + '\n';
    const bytes = assembleToBytes(source, MARCH32);
    assert.equal(bytes.length, sample.length * 4);
    const mismatches: string[] = [];
    sample.forEach((w, i) => {
      const back = bytes.readInt32LE(i * 4);
      if (back !== (w | 0) && mismatches.length < 20) mismatches.push(`${disassemble(w)}: ${hex8(w)} → ${hex8(back)}`);
    });
    assert.deepEqual(mismatches, [], 'text does not assemble back to the word');
  });

  it('names all 4096 CSR numbers as objdump does', () => {
    const words: number[] = [];
    for (let n = 0; n < 4096; n++) words.push((n << 20) | (2 << 12) | (10 << 7) | 0x73); // csrrs a0,n,zero
    const listing = objdumpSource(insnSource(words, 4), MARCH32);
    const failures: string[] = [];
    for (const line of listing) {
      const n = line.address / 4;
      const ours = disassemble(words[n]!);
      if (ours !== theirText(line)) failures.push(`csr 0x${n.toString(16)}: wisp "${ours}", objdump "${theirText(line)}"`);
    }
    assert.deepEqual(failures, []);
    assert.equal(csrName(0x30a), 'menvcfg');
    assert.equal(csrName(0x14d), 'stimecmp');
    assert.equal(csrName(0x3bf), 'pmpaddr15');
    assert.equal(csrName(0x3ef), 'pmpaddr63');
    assert.equal(csrName(0xb1f), 'mhpmcounter31');
    assert.equal(csrName(0x7ff), undefined);
  });
});

describe('disassembleCompressed', () => {
  it('prints c.* mnemonics like objdump -M no-aliases', () => {
    assert.equal(disassembleCompressed(0x0000), 'c.unimp');
    assert.equal(disassembleCompressed(0x0001), 'c.addi zero,0');
    assert.equal(disassembleCompressed(0x60a2), 'c.ldsp ra,8(sp)');
    assert.equal(disassembleCompressed(0x9002), 'c.ebreak');
    assert.equal(disassembleCompressed(0x0002), 'c.slli64 zero');
    assert.equal(disassembleCompressed(0xa63d, 0xf95cn), 'c.j 0xfc8a');
    assert.equal(disassembleCompressed(0xa63d), 'c.j .+814');
    assert.equal(disassembleCompressed(0x8002), '.2byte 0x8002'); // c.jr zero: reserved
  });

  it('matches objdump on all 49152 16-bit words', () => {
    const words: number[] = [];
    for (let h = 0; h < 65536; h++) if ((h & 3) !== 3) words.push(h);
    const listing = objdumpSource(insnSource(words, 2), 'rv64gc');
    assert.equal(listing.length, words.length);
    const failures: string[] = [];
    let quirks = 0;
    for (const line of listing) {
      const h = words[line.address / 2]!;
      const ours = disassembleCompressed(h, BigInt(line.address));
      const theirs = theirText(line);
      if (ours === theirs) continue;
      // C.ADDI16SP with nzimm = 0 is reserved (§16.5); binutils 2.40 decodes it anyway.
      if (h === 0x6101 && theirs === 'c.addi16sp sp,0' && ours === '.2byte 0x6101') {
        quirks++;
        continue;
      }
      if (failures.length < 40) failures.push(`0x${h.toString(16)}: wisp "${ours}", objdump "${theirs}"`);
    }
    assert.deepEqual(failures, []);
    assert.equal(quirks, 1);
  });
});
