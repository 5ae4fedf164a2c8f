import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GuestError } from './guest-error.js';
import { moduleName, parseModulesBuiltin, parseModulesDep, resolveLoadOrder } from './module-deps.js';

// Shaped like Debian 6.12's: depmod lists all transitive deps, last to be loaded first.
const DEP = `kernel/fs/ext4/ext4.ko.xz: kernel/lib/crc16.ko.xz kernel/fs/mbcache.ko.xz kernel/fs/jbd2/jbd2.ko.xz
kernel/fs/jbd2/jbd2.ko.xz:
kernel/fs/mbcache.ko.xz:
kernel/lib/crc16.ko.xz:
kernel/drivers/net/virtio_net.ko.xz: kernel/drivers/net/net_failover.ko.xz kernel/net/core/failover.ko.xz
kernel/drivers/net/net_failover.ko.xz: kernel/net/core/failover.ko.xz
kernel/net/core/failover.ko.xz:
kernel/drivers/char/hw_random/virtio-rng.ko.xz: kernel/drivers/char/hw_random/rng-core.ko
kernel/drivers/virtio/virtio_mmio.ko.xz:
`;
const BUILTIN = 'kernel/drivers/char/hw_random/rng-core.ko\nkernel/drivers/virtio/virtio.ko\n';

const names = (p: { order: { name: string }[] }): string[] => p.order.map((e) => e.name);

test('module names: basename without .ko and compression suffix, "-" as "_"', () => {
  assert.equal(moduleName('kernel/drivers/char/hw_random/virtio-rng.ko.xz'), 'virtio_rng');
  assert.equal(moduleName('kernel/fs/ext4/ext4.ko'), 'ext4');
  assert.equal(moduleName('a/b-c.ko.zst'), 'b_c');
});

test('every module comes after all of its dependencies, each once', () => {
  const t = parseModulesDep(DEP);
  const plan = resolveLoadOrder(['ext4', 'virtio_net', 'net_failover', 'virtio_mmio'], t, new Set());
  assert.deepEqual(names(plan), ['crc16', 'mbcache', 'jbd2', 'ext4', 'failover', 'net_failover', 'virtio_net', 'virtio_mmio']);
  assert.deepEqual(plan.missing, []);
  assert.equal(plan.order[3]!.path, 'kernel/fs/ext4/ext4.ko.xz');
});

test('the order of the wanted list is kept where dependencies allow', () => {
  const t = parseModulesDep(DEP);
  assert.deepEqual(names(resolveLoadOrder(['virtio_mmio', 'crc16', 'ext4'], t, new Set())), ['virtio_mmio', 'crc16', 'mbcache', 'jbd2', 'ext4']);
});

test('built-in modules are skipped and reported, missing ones reported', () => {
  const t = parseModulesDep(DEP);
  const b = parseModulesBuiltin(BUILTIN);
  const plan = resolveLoadOrder(['rng_core', 'virtio-rng', 'virtio', 'no_such'], t, b);
  assert.deepEqual(names(plan), ['virtio_rng']);
  assert.deepEqual(plan.builtin, ['rng_core', 'virtio']);
  assert.deepEqual(plan.missing, ['no_such']);
});

test('a dependency that is neither module nor built in is a format error naming both', () => {
  const t = parseModulesDep('kernel/a.ko: kernel/b.ko\n');
  assert.throws(() => resolveLoadOrder(['a'], t, new Set()), (e: unknown) => e instanceof GuestError && e.code === 'bad-format' && /a depends on b/.test(e.message));
});

test('a dependency cycle is refused with the cycle named', () => {
  const t = parseModulesDep('kernel/a.ko: kernel/b.ko\nkernel/b.ko: kernel/c.ko\nkernel/c.ko: kernel/a.ko\n');
  assert.throws(() => resolveLoadOrder(['a'], t, new Set()), /cycle a → b → c → a/);
});

test('malformed modules.dep lines are refused; blanks and comments are fine', () => {
  assert.throws(() => parseModulesDep('kernel/a.ko kernel/b.ko\n'), /line without "path:"/);
  assert.equal(parseModulesDep('\n# comment\nkernel/a.ko:\n').size, 1);
});
