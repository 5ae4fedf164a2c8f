import assert from 'node:assert/strict';
import { test } from 'node:test';
import { kernelPackageFromDepends, parseControlStanza, PrivateApt } from './private-apt.js';

test('apt options confine state, lists, caches, sources and pinning to the private directory', () => {
  const apt = new PrivateApt({ dir: '/c/apt', mirror: 'http://m/debian', suite: 'trixie', arch: 'riscv64' });
  const opts = apt.options();
  const values = opts.filter((_, i) => opts[i - 1] === '-o');
  const get = (k: string): string | undefined => values.find((v) => v.startsWith(`${k}=`))?.slice(k.length + 1);
  assert.equal(get('APT::Architecture'), 'riscv64');
  assert.equal(get('APT::Architectures::'), 'riscv64');
  assert.equal(get('Dir::State'), '/c/apt/state');
  assert.equal(get('Dir::State::status'), '/c/apt/state/status');
  assert.equal(get('Dir::Cache'), '/c/apt/cache');
  assert.equal(get('Dir::Etc::SourceList'), '/c/apt/sources.list');
  assert.equal(get('Dir::Etc::SourceParts'), '/dev/null');
  assert.equal(get('Dir::Etc::Preferences'), '/dev/null');
  // Nothing points into the host's apt directories.
  assert.ok(!values.some((v) => /\/var\/lib\/apt|\/var\/cache\/apt|\/etc\/apt/.test(v)), values.join(' '));
  assert.match(apt.sourcesLine(), /^deb \[arch=riscv64[^\]]*\] http:\/\/m\/debian trixie main\n$/);
});

test('control stanzas parse with continuation lines; only the first stanza counts', () => {
  const f = parseControlStanza('Package: linux-image-riscv64\nVersion: 6.12.117-1\nDescription: Linux\n more text\n\nPackage: other\n');
  assert.equal(f.get('package'), 'linux-image-riscv64');
  assert.equal(f.get('version'), '6.12.117-1');
  assert.equal(f.get('description'), 'Linux\nmore text');
});

test('the real kernel package is found in the metapackage Depends', () => {
  assert.equal(kernelPackageFromDepends('linux-image-6.12.117+deb13-riscv64 (= 6.12.117-1)'), 'linux-image-6.12.117+deb13-riscv64');
  assert.equal(kernelPackageFromDepends('foo, linux-image-6.1.0-9-riscv64 | bar'), 'linux-image-6.1.0-9-riscv64');
  assert.equal(kernelPackageFromDepends('linux-image-riscv64-signed'), undefined);
  assert.equal(kernelPackageFromDepends(''), undefined);
});
