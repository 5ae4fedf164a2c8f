import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_TOKEN_TTL_SECONDS, TokenAuthority } from './token-authority.js';

describe('TokenAuthority (MMDS V2 session tokens)', () => {
  it('issues tokens that are valid until their TTL runs out', () => {
    const clock = { t: 1000 };
    const a = new TokenAuthority(() => clock.t);
    a.setInstanceId('vm1');
    const tok = a.generate(2);
    assert.match(tok, /^[A-Za-z0-9+/]{48}$/);
    assert.ok(a.isValid(tok));
    clock.t += 1999;
    assert.ok(a.isValid(tok));
    clock.t += 1;
    assert.ok(!a.isValid(tok), 'expired');
  });

  it('refuses TTLs outside [1, 21600] with Firecracker\'s message', () => {
    const a = new TokenAuthority();
    assert.throws(() => a.generate(0), /Invalid time to live value provided for token: 0\. Please provide a value between 1 and 21600\./);
    assert.throws(() => a.generate(MAX_TOKEN_TTL_SECONDS + 1), /21601/);
  });

  it('rejects tampered, foreign, other-instance and oversized tokens', () => {
    const a = new TokenAuthority();
    a.setInstanceId('vm1');
    const tok = a.generate(60);
    const raw = Buffer.from(tok, 'base64');
    raw[15] ^= 1;
    assert.ok(!a.isValid(raw.toString('base64')));
    assert.ok(!new TokenAuthority().isValid(tok), 'another VMM\'s key');
    const b = new TokenAuthority();
    b.setInstanceId('vm2');
    assert.ok(!b.isValid(b.generate(60).replace(/^./, (c) => (c === 'A' ? 'B' : 'A'))));
    a.setInstanceId('vm2');
    assert.ok(!a.isValid(tok), 'bound to the instance id');
    for (const bad of ['', 'x'.repeat(71), '!!!!', tok.slice(0, 40)]) assert.ok(!a.isValid(bad));
  });
});
