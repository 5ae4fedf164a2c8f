import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { PasstBackend } from './passt-backend.js';

const dir = mkdtempSync(join(tmpdir(), 'wisp-passt-args-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A stand-in for passt: records its arguments, writes its PID file as passt does, then waits. */
function fakePasst(): { command: string; args: () => string[] } {
  const argsFile = join(dir, `args-${Math.random().toString(36).slice(2)}`);
  const command = join(dir, `passt-${Math.random().toString(36).slice(2)}.sh`);
  writeFileSync(command, `#!/bin/sh
printf '%s\\n' "$@" > '${argsFile}'
while [ $# -gt 0 ]; do [ "$1" = --pid ] && echo $$ > "$2"; shift; done
exec sleep 60
`);
  chmodSync(command, 0o755);
  return { command, args: () => readFileSync(argsFile, 'utf8').trimEnd().split('\n') };
}

test('passt is given the chosen IPv4 set-up (-a, -n, -g, --dns-forward) and the MTU', async () => {
  const fake = fakePasst();
  const p = await PasstBackend.start({ command: fake.command, mtu: 65520, ipv4: { address: '10.0.2.15', prefixLength: 24, gateway: '10.0.2.2', dnsForward: '10.0.2.3' } });
  try {
    const args = fake.args();
    const after = (flag: string): string | undefined => args[args.indexOf(flag) + 1];
    assert.equal(after('-a'), '10.0.2.15');
    assert.equal(after('-n'), '24');
    assert.equal(after('-g'), '10.0.2.2');
    assert.equal(after('--dns-forward'), '10.0.2.3');
    assert.equal(after('--mtu'), '65520');
    assert.equal(after('--fd'), '3');
  } finally {
    p.close();
    await p.exited;
  }
});

test('without a chosen set-up passt keeps its own defaults (no -a/-n/-g/--dns-forward)', async () => {
  const fake = fakePasst();
  const p = await PasstBackend.start({ command: fake.command });
  try {
    const args = fake.args();
    for (const f of ['-a', '-n', '-g', '--dns-forward', '--mtu']) assert.ok(!args.includes(f), f);
  } finally {
    p.close();
    await p.exited;
  }
});
