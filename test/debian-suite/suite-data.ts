/**
 * The Debian suite's fixed inputs, made from a seeded generator (the same bytes on every run and every
 * machine): a text corpus, numbers, records as CSV and JSON, and an Ed25519 key from a fixed seed.
 */

/** mulberry32: a small seeded 32-bit generator, enough for test data (not for anything secret). */
function generator(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const VOCABULARY = (
  'the of and to in a is that for it as was with be by on not he this are or his from at which but have an they ' +
  'you were her she there been one all we their has would when if so no will more out up into do any your what ' +
  'machine virtual kernel memory register page translation interrupt device queue block network clock timer ' +
  'float double round even nearest inexact overflow underflow quiet signalling payload exponent mantissa ' +
  'compress archive stream buffer window dictionary entropy huffman literal match offset length checksum ' +
  'Debian package library interpreter compiler assembler linker loader symbol section segment relocation'
).split(' ');

export interface SuiteData {
  /** File name under /suite/data → contents. */
  files: Record<string, Uint8Array>;
}

/** ~`corpusBytes` of text: lines of 4-16 words, a few numbers and punctuation. */
export function makeSuiteData(corpusBytes = 256 << 10): SuiteData {
  const rnd = generator(0x5eed_1234);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  // A Zipf-like skew, as real text has: low indices come up far more often.
  const word = () => VOCABULARY[Math.floor(VOCABULARY.length * rnd() ** 2.5)]!;
  const lines: string[] = [];
  let size = 0;
  while (size < corpusBytes) {
    const n = 4 + Math.floor(rnd() * 13);
    const ws: string[] = [];
    for (let i = 0; i < n; i++) ws.push(rnd() < 0.05 ? String(Math.floor(rnd() * 100000)) : word());
    ws[0] = ws[0]!.charAt(0).toUpperCase() + ws[0]!.slice(1);
    const line = ws.join(' ') + pick(['.', '.', '.', ',', ';', '?', '!']);
    lines.push(line);
    size += line.length + 1;
  }
  const numbers = Array.from({ length: 30_000 }, () => String(Math.floor(rnd() * 1e9) - 5e8));
  const groups = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta'];
  const records = Array.from({ length: 3_000 }, (_, i) => ({
    name: `${word()}-${i}`,
    group: pick(groups),
    v: Math.round(rnd() * 1e6) / 1e6,
  }));
  // PKCS#8 DER of an Ed25519 private key (RFC 8410 section 7) with a fixed 32-byte seed.
  const seed = Uint8Array.from({ length: 32 }, (_, i) => (i * 37 + 11) & 0xff);
  const ed25519 = new Uint8Array([...Buffer.from('302e020100300506032b657004220420', 'hex'), ...seed]);
  const enc = (s: string) => new TextEncoder().encode(s);
  return {
    files: {
      'corpus.txt': enc(lines.join('\n') + '\n'),
      'numbers.txt': enc(numbers.join('\n') + '\n'),
      'records.csv': enc(records.map((r) => `${r.name},${r.group},${r.v}`).join('\n') + '\n'),
      'records.json': enc(JSON.stringify(records)),
      'ed25519.der': ed25519,
    },
  };
}
