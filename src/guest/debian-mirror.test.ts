import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DEFAULT_DEBIAN_MIRROR, hostDebianMirror, parseDeb822Sources, parseOneLineSources, pickDebianMirror } from './debian-mirror.js';

const DEB822 = `Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://mirror.example/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main
`;

test('deb822 sources: the main archive mirror is picked, not -security', () => {
  const s = parseDeb822Sources(DEB822);
  assert.equal(s.length, 2);
  assert.deepEqual(s[0]!.suites, ['bookworm', 'bookworm-updates']);
  assert.equal(pickDebianMirror(s), 'http://mirror.example/debian');
  // Security first in the file changes nothing.
  assert.equal(pickDebianMirror([...s].reverse()), 'http://mirror.example/debian');
});

test('deb822: disabled stanzas and deb-src are ignored', () => {
  const s = parseDeb822Sources('Types: deb-src\nURIs: http://a/debian\nSuites: bookworm\n\nTypes: deb\nEnabled: no\nURIs: http://b/debian\nSuites: bookworm\n');
  assert.deepEqual(s, []);
});

test('one-line sources with options and comments', () => {
  const s = parseOneLineSources('# deb http://old/debian buster main\ndeb [arch=amd64 signed-by=/k.gpg] http://m/debian/ bookworm main\ndeb http://m/debian-security bookworm-security main\n');
  assert.equal(s.length, 2);
  assert.equal(pickDebianMirror(s), 'http://m/debian');
});

test('hostDebianMirror reads a given /etc/apt and falls back to deb.debian.org', () => {
  const etc = mkdtempSync(join(tmpdir(), 'wisp-etc-apt-'));
  try {
    assert.equal(hostDebianMirror(etc), DEFAULT_DEBIAN_MIRROR);
    mkdirSync(join(etc, 'sources.list.d'));
    writeFileSync(join(etc, 'sources.list.d', 'debian.sources'), DEB822);
    assert.equal(hostDebianMirror(etc), 'http://mirror.example/debian');
  } finally {
    rmSync(etc, { recursive: true, force: true });
  }
});
