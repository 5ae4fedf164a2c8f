/**
 * vsock across a snapshot, as Firecracker does it (docs/snapshotting: "vsock device reset"): when a
 * snapshot is taken, the guest is told through the event queue (TRANSPORT_RESET) that every connection
 * is gone, and the host side drops them; the guest's listening sockets stay. So:
 *
 *   P1  boots a guest whose socat echoes on vsock port 5000; a host connection through the vsock socket
 *       echoes; pause, snapshot, resume: that connection is closed on the host, and a new one echoes.
 *   P2  a fresh VMM loads the snapshot with vsock_override (a new socket path): a host connection there
 *       reaches the restored guest's listener and echoes.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { buildInitramfs } from '../../src/guest/index.js';
import { ensureDebianUserland } from '../../src/guest/debian-userland.js';
import { curl } from '../helpers/curl.js';
import { checkRequest, checkResponse, loadApiSpec } from '../helpers/api-spec.js';
import { buildDisk, ensureGuest, requireTool, WispProcess } from '../helpers/guest-fixtures.js';

const STEP_MS = 300_000;
const SCRIPT = `
i=0; while [ ! -b /dev/vda ] && [ $i -lt 100 ]; do usleep 100000; i=$((i + 1)); done
mkdir -p /mnt && mount -t ext4 -o ro /dev/vda /mnt
chroot /mnt /usr/bin/socat -d -d VSOCK-LISTEN:5000,fork,reuseaddr PIPE 2>/tmp/echo.log &
i=0; while ! grep -q 'listening on' /tmp/echo.log && [ $i -lt 600 ]; do usleep 100000; i=$((i + 1)); done
echo VSOCK-LISTENING
while true; do sleep 1; done
`;

let work = '';
let kernel = '';
let initrd = '';
let disk = '';
const spec = loadApiSpec();

before(async () => {
  requireTool('curl', 'curl');
  requireTool('mke2fs', 'e2fsprogs');
  requireTool('dpkg-deb', 'dpkg');
  work = mkdtempSync(join(tmpdir(), `wisp-vsock-snap-${process.pid}-`));
  const g = await ensureGuest();
  kernel = g.kernelPath;
  initrd = join(work, 'vsock.cpio.gz');
  writeFileSync(initrd, await buildInitramfs({
    busyboxPath: g.busyboxPath, modulesDir: g.modulesDir, kernelVersion: g.kernelVersion, script: Buffer.from(SCRIPT),
    modules: ['crc32c_generic', 'virtio_mmio', 'virtio_blk', 'ext4', 'vsock', 'vmw_vsock_virtio_transport_common', 'vmw_vsock_virtio_transport'],
  }));
  const u = await ensureDebianUserland({ packages: ['socat'] });
  const tree = join(work, 'tree');
  assert.equal(spawnSync('cp', ['-al', u.rootDir, tree]).status, 0);
  disk = join(work, 'socat.ext4');
  await buildDisk(tree, disk, '64M');
});
after(() => { if (!process.env.KEEP) rmSync(work, { recursive: true, force: true }); });

async function vmm(name: string) {
  const sock = join(work, `${name}.api`);
  const p = new WispProcess(['--api-sock', sock, '--id', name], { timeoutMs: 3 * STEP_MS });
  for (let i = 0; !existsSync(sock); i++) {
    if (i > 600) assert.fail(`${name}: the API socket never appeared\n${p.describe()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const api = async (method: string, path: string, body?: unknown, status = 204) => {
    assert.deepEqual(checkRequest(spec, method, path, body), [], `${method} ${path} is valid per the API description`);
    const r = await curl(sock, method, path, body);
    assert.equal(r.status, status, `${name}: ${method} ${path} answered ${r.status} ${JSON.stringify(r.body)}\n${p.describe()}`);
    assert.deepEqual(checkResponse(spec, method, path, r.status, r.body), [], `${method} ${path} response`);
    return r.body;
  };
  return { p, api };
}

/** A host connection to guest port 5000 through `uds`, open after "OK"; echo() sends and waits for the bytes back. */
function hostConnection(uds: string, label: string): Promise<{ echo(text: string): Promise<string>; closed: Promise<void>; destroy(): void }> {
  return new Promise((resolve, reject) => {
    const s = connect(uds);
    let buf = '';
    let ok = false;
    let waiter: (() => void) | null = null;
    const closed = new Promise<void>((r) => s.once('close', () => r()));
    s.on('error', () => {});
    s.on('data', (b) => {
      buf += b.toString('latin1');
      if (!ok) {
        const nl = buf.indexOf('\n');
        if (nl < 0) return;
        if (!buf.startsWith('OK ')) return reject(new Error(`${label}: no OK: ${JSON.stringify(buf)}`));
        ok = true;
        buf = buf.slice(nl + 1);
        resolve({
          echo: (text) => new Promise<string>((res, rej) => {
            const t = setTimeout(() => rej(new Error(`no echo of ${text}`)), 60_000);
            waiter = () => {
              if (buf.length < text.length) return;
              clearTimeout(t);
              const got = buf.slice(0, text.length);
              buf = buf.slice(text.length);
              waiter = null;
              res(got);
            };
            s.write(text);
          }),
          closed,
          destroy: () => s.destroy(),
        });
      }
      waiter?.();
    });
    void closed.then(() => { if (!ok) reject(new Error(`${label}: the host socket was closed before OK`)); });
    s.write('CONNECT 5000\n');
  });
}

test('vsock and snapshots: the guest is told of the reset, its listener lives on, and the restored VM answers on a new socket', { timeout: 4 * STEP_MS }, async () => {
  const udsA = join(work, 'a.sock');
  const udsB = join(work, 'b.sock');
  const p1 = await vmm('p1');
  let p2: Awaited<ReturnType<typeof vmm>> | undefined;
  try {
    await p1.api('PUT', '/boot-source', { kernel_image_path: kernel, initrd_path: initrd, boot_args: 'console=ttyS0 quiet panic=-1' });
    await p1.api('PUT', '/machine-config', { vcpu_count: 1, mem_size_mib: 256 });
    await p1.api('PUT', '/drives/tools', { drive_id: 'tools', path_on_host: disk, is_root_device: false, is_read_only: true });
    await p1.api('PUT', '/vsock', { guest_cid: 3, uds_path: udsA });
    await p1.api('PUT', '/actions', { action_type: 'InstanceStart' });
    await p1.p.waitFor(/VSOCK-LISTENING/, STEP_MS);

    const before = await hostConnection(udsA, 'before the snapshot').catch((e: Error) => assert.fail(`${e.message}\n${p1.p.describe()}`));
    assert.equal(await before.echo('before the snapshot'), 'before the snapshot');
    await p1.api('PATCH', '/vm', { state: 'Paused' });
    await p1.api('PUT', '/snapshot/create', { snapshot_path: join(work, 's.state'), mem_file_path: join(work, 's.mem') });
    await before.closed; // the reset dropped it on the host side
    await p1.api('PATCH', '/vm', { state: 'Resumed' });
    const after1 = await hostConnection(udsA, 'after the reset').catch((e: Error) => assert.fail(`${e.message}\n${p1.p.describe()}`));
    assert.equal(await after1.echo('after the reset'), 'after the reset', 'the guest listener survived TRANSPORT_RESET');
    after1.destroy();
    p1.p.kill('SIGKILL');
    await p1.p.exited;

    p2 = await vmm('p2');
    await p2.api('PUT', '/snapshot/load', {
      snapshot_path: join(work, 's.state'), mem_backend: { backend_type: 'File', backend_path: join(work, 's.mem') },
      resume_vm: true, vsock_override: { uds_path: udsB },
    });
    const cfg = await p2.api('GET', '/vm/config', undefined, 200) as { vsock?: { uds_path: string; guest_cid: number } };
    assert.deepEqual(cfg.vsock, { guest_cid: 3, uds_path: udsB });
    const restored = await hostConnection(udsB, 'restored').catch((e: Error) => assert.fail(`${e.message}\n${p2!.p.describe()}`));
    assert.equal(await restored.echo('from the restored VM'), 'from the restored VM');
    restored.destroy();
  } finally {
    p1.p.kill('SIGKILL');
    p2?.p.kill('SIGKILL');
    await Promise.all([p1.p.exited, p2?.p.exited]);
  }
});
