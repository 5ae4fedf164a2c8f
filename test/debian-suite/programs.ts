/**
 * The Debian differential suite's programs: real Debian riscv64 programs with fixed inputs (made by
 * suite-data.ts), each a dash script run chrooted in the guest on the suite's disk. Their output must
 * be identical on wisp and on QEMU (same kernel, initramfs and disk). Outputs are kept small (hashes,
 * counts, results) so a difference reads as a short diff; the work is sized to take a second or two
 * of guest time on QEMU, so the whole suite fits in CI.
 */

export interface SuiteProgram {
  /** A word: the script's file name under /suite/prog and the key in results. */
  name: string;
  /** What the program exercises, for the bench table. */
  kind: 'compress' | 'interpreter' | 'database' | 'crypto' | 'text' | 'tool' | 'fp';
  /** The dash script (runs with cwd /tmp, a tmpfs; inputs under /suite/data, read-only). */
  script: string;
  /** Extra files under /suite/prog (scripts for the interpreters). */
  files?: Record<string, string>;
}

/**
 * Micro-benchmarks in C (test/debian-suite/c), built for the suite with Debian's riscv64-unknown-elf-gcc
 * (no libc: raw Linux syscalls), installed as /suite/bin/NAME: the bench's FP and integer MIPS figures.
 */
export const C_PROGRAMS = ['fp-kernel', 'int-kernel'] as const;

/** Debian packages the programs need (their dependency closure comes along). */
export const SUITE_PACKAGES = [
  'dash', 'coreutils', 'gzip', 'xz-utils', 'zstd', 'bzip2', 'tar', 'python3-minimal', 'perl-base', 'lua5.4',
  'sqlite3', 'openssl', 'gawk', 'jq',
] as const;

const PYTHON = String.raw`
import json, re, sys

def mandel(w, h, it):
    total = 0
    for y in range(h):
        ci = -1.2 + 2.4 * y / h
        for x in range(w):
            cr = -2.0 + 3.0 * x / w
            zr = zi = 0.0
            n = 0
            while n < it and zr * zr + zi * zi < 4.0:
                zr, zi = zr * zr - zi * zi + cr, 2.0 * zr * zi + ci
                n += 1
            total += n
    return total

words = {}
with open('/suite/data/corpus.txt') as f:
    for line in f:
        for w in re.findall(r'[a-z]+', line):
            words[w] = words.get(w, 0) + 1
top = sorted(words.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
print('words', len(words), top)
print('mandel', mandel(40, 20, 80))
fib = [0, 1]
for i in range(300):
    fib.append(fib[-1] + fib[-2])
print('fib300', fib[300], pow(3, 10007, 2**521 - 1) % 1000000007)
with open('/suite/data/records.json') as f:
    recs = json.load(f)
by = {}
for r in recs:
    by.setdefault(r['group'], []).append(r['v'])
print('groups', json.dumps({k: round(sum(v) / len(v), 9) for k, v in sorted(by.items())}, sort_keys=True))
print('repr', repr(0.1 + 0.2), 1e300 * 10, -0.0, 2.0 ** -1074, float('nan') != float('nan'))
`;

const PERL = String.raw`
use strict;
use warnings;
my %count;
open(my $fh, '<', '/suite/data/corpus.txt') or die;
while (my $line = <$fh>) {
  $count{lc $1}++ while $line =~ /([A-Za-z]+)/g;
}
close $fh;
my @top = (sort { $count{$b} <=> $count{$a} || $a cmp $b } keys %count)[0 .. 9];
print "words ", scalar(keys %count), " @top\n";
my $s = 0;
for my $i (1 .. 30000) { $s += sin($i) * exp(-$i / 100000) + log($i) / $i; }
printf "series %.12g\n", $s;
my $text = join('', map { chr(97 + ($_ * 7919) % 26) } 1 .. 50000);
(my $t = $text) =~ s/([aeiou])([^aeiou])/$2$1/g;
my $n = () = $t =~ /ab|ba|cd/g;
print "subst ", length($t), " $n ", substr($t, 0, 40), "\n";
my @sorted = sort { $a <=> $b } map { ($_ * 2654435761) % 1000003 } 1 .. 100000;
print "sorted @sorted[0..4] $sorted[-1]\n";
`;

const LUA = String.raw`
local s = 0.0
for i = 1, 200000 do
  s = s + math.sin(i) * math.exp(-i / 100000) + math.log(i) / i
end
print(string.format('series %.12g', s))
local t = {}
for i = 1, 50000 do t[i] = (i * 2654435761) % 1000003 end
table.sort(t)
print('sorted', t[1], t[2], t[25000], t[50000])
local words = {}
for line in io.lines('/suite/data/corpus.txt') do
  for w in line:gmatch('%a+') do words[w] = (words[w] or 0) + 1 end
end
local n = 0
for _ in pairs(words) do n = n + 1 end
print('words', n, words['the'], words['of'])
local parts = {}
for i = 1, 10000 do parts[#parts + 1] = string.format('%d:%.3f', i, i / 7) end
local joined = table.concat(parts, ',')
print('concat', #joined, joined:sub(1, 40))
`;

const SQL = String.raw`
CREATE TABLE t(id INTEGER PRIMARY KEY, grp INTEGER, name TEXT, v REAL);
WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < 20000)
INSERT INTO t SELECT i, (i * 7919) % 97, printf('name-%06d', (i * 2654435761) % 1000003), (i % 1000) / 7.0 FROM seq;
CREATE INDEX t_grp ON t(grp);
SELECT count(*), sum(grp), printf('%.6f', avg(v)) FROM t;
SELECT grp, count(*), printf('%.4f', sum(v)), min(name) FROM t GROUP BY grp ORDER BY sum(v) DESC LIMIT 5;
SELECT name FROM t WHERE grp = 42 ORDER BY name LIMIT 3;
UPDATE t SET v = v * 2 WHERE id % 3 = 0;
DELETE FROM t WHERE grp > 90;
SELECT count(*), printf('%.6f', total(v)) FROM t;
SELECT a.grp, count(*) FROM t a JOIN t b ON b.id = a.id - 1 WHERE a.grp % 10 = b.grp % 10 GROUP BY a.grp ORDER BY 2 DESC, 1 LIMIT 3;
`;

const GAWK_WORDS = String.raw`{ for (i = 1; i <= NF; i++) c[tolower($i)]++ }
END { n = 0; for (w in c) n++; print "words", n, c["the"], c["and"] }`;
const GAWK_FP = String.raw`BEGIN { s = 0; for (i = 1; i <= 100000; i++) s += sin(i) * exp(-i / 50000) + log(i) / i; printf "series %.12g\n", s;
  x = 1; for (i = 1; i <= 100000; i++) x = (x * 1103515245 + 12345) % 2147483648; print "lcg", x }`;

export const PROGRAMS: readonly SuiteProgram[] = [
  { name: 'gzip', kind: 'compress', script: `gzip -9 -n -c /suite/data/corpus.txt > c.gz
wc -c < c.gz
sha256sum < c.gz
gzip -dc c.gz | sha256sum` },
  { name: 'xz', kind: 'compress', script: `xz -6 -T1 -c /suite/data/corpus.txt > c.xz
wc -c < c.xz
sha256sum < c.xz
xz -dc c.xz | sha256sum` },
  { name: 'zstd', kind: 'compress', script: `zstd -q -12 -T1 -c /suite/data/corpus.txt > c.zst
wc -c < c.zst
sha256sum < c.zst
zstd -q -dc c.zst | sha256sum` },
  { name: 'bzip2', kind: 'compress', script: `bzip2 -9 -c /suite/data/corpus.txt > c.bz2
sha256sum < c.bz2
bzip2 -dc c.bz2 | sha256sum` },
  { name: 'tar', kind: 'compress', script: `tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf t.tar -C /usr/lib/python3.13 json email -C /suite data
wc -c < t.tar
sha256sum < t.tar
mkdir x && tar -xf t.tar -C x && tar -tvf t.tar | wc -l
tar -xOf t.tar | sha256sum
cat x/data/corpus.txt | sha256sum` },
  { name: 'python3', kind: 'interpreter', script: 'python3 /suite/prog/bench.py', files: { 'bench.py': PYTHON } },
  { name: 'perl', kind: 'interpreter', script: 'perl /suite/prog/bench.pl', files: { 'bench.pl': PERL } },
  { name: 'lua', kind: 'fp', script: 'lua5.4 /suite/prog/bench.lua', files: { 'bench.lua': LUA } },
  { name: 'sqlite3', kind: 'database', script: 'sqlite3 :memory: < /suite/prog/bench.sql', files: { 'bench.sql': SQL } },
  { name: 'openssl', kind: 'crypto', script: `openssl dgst -sha256 -r /suite/data/corpus.txt
openssl dgst -sha512 -r /suite/data/corpus.txt
openssl enc -aes-256-cbc -K 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f -iv 0f0e0d0c0b0a09080706050403020100 -in /suite/data/corpus.txt | sha256sum
openssl enc -chacha20 -K 1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100 -iv 00000000000000000000000000000001 -in /suite/data/corpus.txt | sha256sum
openssl pkey -inform DER -in /suite/data/ed25519.der -pubout -outform PEM
openssl pkeyutl -sign -rawin -inkey /suite/data/ed25519.der -keyform DER -in /suite/data/records.json | sha256sum` },
  { name: 'gawk', kind: 'fp', script: `gawk -f /suite/prog/words.awk /suite/data/corpus.txt
gawk -f /suite/prog/fp.awk`, files: { 'words.awk': GAWK_WORDS, 'fp.awk': GAWK_FP } },
  { name: 'sort', kind: 'text', script: `LC_ALL=C sort /suite/data/corpus.txt | sha256sum
LC_ALL=C sort -n /suite/data/numbers.txt | sha256sum
LC_ALL=C sort -t, -k3,3 -k1,1n /suite/data/records.csv | sha256sum
LC_ALL=C sort -u /suite/data/corpus.txt | wc -l` },
  { name: 'jq', kind: 'text', script: `jq -c '[.[] | select(.v > 0.5)] | length' /suite/data/records.json
jq -c 'group_by(.group) | map({g: .[0].group, n: length, s: (map(.v) | add)}) | .[0:3]' /suite/data/records.json
jq -c 'map(.name | ascii_upcase) | sort | .[0:5]' /suite/data/records.json
jq -c '[.[] | .v * 1000 | floor] | add' /suite/data/records.json` },
  { name: 'c-fp', kind: 'fp', script: '/suite/bin/fp-kernel' },
  { name: 'c-int', kind: 'tool', script: '/suite/bin/int-kernel' },
  { name: 'date', kind: 'tool', script: `date -u -d @1700000000 '+%F %T %A %j %s'
date -u -d '2024-02-29 23:59:59 +0000 + 1 day' '+%F %T %u'
date -u -d '1999-12-31 12:00:00 +0000 - 100 weeks' +%s
now=$(date +%s)
[ "$now" -gt 1700000000 ] && echo clock-ok
a=$(date +%s%N); b=$(date +%s%N); [ "$b" -ge "$a" ] && echo monotone-ok` },
  { name: 'coreutils', kind: 'tool', script: `factor 1000000000000000003 999999999999999989 18446744073709551557 1234567890123456789
seq 1 100000 | sha256sum
seq 1 100000 | tac | tr 0-9 a-j | md5sum
wc /suite/data/corpus.txt
cut -d, -f2 /suite/data/records.csv | LC_ALL=C sort | uniq -c | LC_ALL=C sort -rn | head -3
od -A d -t x1 -N 32 /suite/data/corpus.txt | tail -3 | sha256sum` },
];
