/**
 * virtio-vsock end to end, with Debian's socat in the guest (VSOCK-LISTEN / VSOCK-CONNECT) and real
 * Unix sockets on the host, through `wisp run --vsock PATH` (Firecracker's hybrid model):
 * - host-initiated: CONNECT <port> on PATH, "OK <host_port>", megabytes echoed byte-exact by the guest;
 * - 50 host connections at once, each echoed exactly;
 * - a port nobody listens on in the guest: the host socket is closed without a byte (Firecracker);
 * - guest-initiated: the guest's connection to CID 2 port 6000 reaches the host listener at PATH_6000,
 *   a megabyte arrives with the guest's checksum; a guest connection to a port with no host listener
 *   is reset.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ensureDebianUserland } from '../../src/guest/debian-userland.js';
import { buildDisk, consoleLines, ensureGuest, requireTool, WispProcess } from '../helpers/guest-fixtures.js';

let work = '';
let disk = '';
before(async () => {
  requireTool('mke2fs', 'e2fsprogs');
  requireTool('dpkg-deb', 'dpkg');
  work = mkdtempSync(join(tmpdir(), `wisp-vsock-${process.pid}-`));
  await ensureGuest();
  const u = await ensureDebianUserland({ packages: ['socat'] });
  const tree = join(work, 'tree');
  assert.equal(spawnSync('cp', ['-al', u.rootDir, tree]).status, 0);
  disk = join(work, 'socat.ext4');
  await buildDisk(tree, disk, '64M');
});
after(() => rmSync(work, { recursive: true, force: true }));

/** What one host client saw: the hybrid protocol's acknowledgement line and the bytes after it. */
interface HostResult {
  ack: string | null;
  data: Buffer;
  closedWithoutAck: boolean;
}

/** Connects to the vsock socket, asks for `port`, sends `payload` once acknowledged, reads `expect` bytes back. */
function hostConnect(uds: string, port: number, payload: Buffer, expect: number, halfClose = false): Promise<HostResult> {
  return new Promise((resolve) => {
    const s = connect(uds);
    let buf = Buffer.alloc(0);
    let ack: string | null = null;
    const done = (closedWithoutAck: boolean): void => {
      s.destroy();
      resolve({ ack, data: buf, closedWithoutAck });
    };
    s.on('data', (b) => {
      buf = Buffer.concat([buf, b]);
      if (ack === null) {
        const nl = buf.indexOf(10);
        if (nl < 0) return;
        ack = buf.subarray(0, nl).toString();
        buf = buf.subarray(nl + 1);
        if (halfClose) s.end(payload);
        else s.write(payload);
      }
      if (buf.length >= expect) done(false);
    });
    s.on('error', () => {});
    s.on('close', () => done(ack === null));
    s.write(`CONNECT ${port}\n`);
  });
}

const GUEST_SCRIPT = `
mkdir -p /mnt && mount -t ext4 -o ro /dev/vda /mnt && mount -t proc proc /mnt/proc
S="chroot /mnt /usr/bin/socat"
# An echo service on port 5000 (PIPE sends back what it reads), room for 50 pending connections;
# socat -d -d says when it listens (a loaded machine can take seconds to start it).
$S -d -d VSOCK-LISTEN:5000,fork,reuseaddr,backlog=128 PIPE 2>/tmp/echo.log &
i=0; while ! grep -q 'listening on' /tmp/echo.log && [ $i -lt 600 ]; do usleep 100000; i=$((i + 1)); done
dd if=/dev/urandom of=/tmp/blob bs=1024 count=1024 2>/dev/null
echo "GUEST-SHA $(sha256sum /tmp/blob | cut -d' ' -f1)"
cat /tmp/blob | $S -u STDIN VSOCK-CONNECT:2:6000 2>/dev/null; echo "GUEST-SENT $?"
$S -u VSOCK-CONNECT:2:6001 STDOUT 2>&1 | grep -o 'Connection reset by peer'; echo NOLISTENER-DONE
echo VSOCK-READY
$S -u VSOCK-LISTEN:5999 STDOUT 2>/dev/null
poweroff -f
`;

test('vsock with socat in the guest: host and guest connections, megabytes byte-exact, 50 at once, refusals as Firecracker', { timeout: 900_000 }, async () => {
  const uds = join(work, 'v.sock');
  const script = join(work, 'guest.sh');
  writeFileSync(script, GUEST_SCRIPT);
  // The guest-initiated connection's host end, listening before the guest boots.
  const received = createHash('sha256');
  let receivedBytes = 0;
  let server: Server | undefined;
  const gotAll = new Promise<void>((resolve) => {
    server = createServer((s) => {
      s.on('data', (b) => {
        received.update(b);
        receivedBytes += b.length;
      });
      s.on('end', () => {
        s.end();
        resolve();
      });
    });
    server.listen(`${uds}_6000`);
  });

  const w = new WispProcess(['run', '--disk', `${disk},ro`, '--vsock', uds, '--script', script], { timeoutMs: 800_000, closeStdin: true });
  try {
    await w.waitFor(/VSOCK-READY/, 600_000);
    await gotAll;
    const lines = consoleLines(w.stdout);
    const guestSha = lines.find((l) => l.startsWith('GUEST-SHA '))?.slice(10);
    assert.equal(receivedBytes, 1 << 20, w.describe());
    assert.equal(received.digest('hex'), guestSha, 'the guest-initiated megabyte arrived byte-exact');
    assert.ok(lines.includes('GUEST-SENT 0'), w.describe());
    assert.ok(lines.includes('Connection reset by peer'), `a guest connect to a port with no host listener is reset\n${w.describe()}`);

    // Host-initiated: 2 MiB through the guest's echo service and back.
    const big = randomBytes(2 << 20);
    const echo = await hostConnect(uds, 5000, big, big.length);
    assert.match(echo.ack ?? '', /^OK \d+$/);
    assert.ok(Number(echo.ack!.slice(3)) >= 2 ** 30, 'host ports are handed out from 2^30, as Firecracker does');
    assert.ok(echo.data.subarray(0, big.length).equals(big), 'echoed byte-exact');

    // 50 connections at once.
    const payloads = Array.from({ length: 50 }, () => randomBytes(64 * 1024));
    const many = await Promise.all(payloads.map((p) => hostConnect(uds, 5000, p, p.length)));
    const exact = many.filter((r, i) => r.data.subarray(0, payloads[i].length).equals(payloads[i])).length;
    assert.equal(exact, 50, `${exact} of 50 echoed exactly`);
    assert.equal(new Set(many.map((r) => r.ack)).size, 50, 'each connection has its own host port');

    // Nobody listens on 7777 in the guest: the guest resets, wisp closes the host socket, no OK.
    const refused = await hostConnect(uds, 7777, Buffer.from('x'), 1);
    assert.equal(refused.closedWithoutAck, true);
    assert.equal(refused.data.length, 0);

    // Done: tell the guest to power off.
    const bye = await hostConnect(uds, 5999, Buffer.from('bye\n'), Infinity, true);
    assert.match(bye.ack ?? '', /^OK /);
    const r = await w.exited;
    assert.equal(r.code, 0, w.describe());
    assert.ok(!existsSync(uds), 'the socket file goes with the VMM');
  } finally {
    // Whatever happened, nothing may keep this file's process alive.
    server?.close();
    w.kill();
    await w.exited.catch(() => undefined);
  }
});
