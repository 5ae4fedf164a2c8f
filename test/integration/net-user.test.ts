/**
 * Issue "Networking", rootless user-mode networking end to end through `wisp run --net user
 * --publish` with the default guest: the initramfs gets eth0's address by DHCP from passt (started and
 * owned by wisp); the guest downloads a multi-megabyte file from an HTTP server this test runs on the
 * host's loopback, through the gateway address; the host fetches a file the guest made from busybox
 * httpd in the guest, through the published port; both byte-exact (sha256). Then the bad inputs: passt
 * not installed, a published port already taken, a malformed MAC, a missing tap, each a one-line error,
 * a non-zero exit, and no passt left running. All traffic stays on this machine's loopback.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { consoleLines, describeResult, ensureGuest, runWisp, WispProcess } from '../helpers/guest-fixtures.js';
import { fetchBytes, freePort, passtInstalled, passtsFor } from '../helpers/user-net.js';

const BOOT_TIMEOUT_MS = 300_000;
const DOWNLOAD_BYTES = 6 * 1024 * 1024;
const UPLOAD_BYTES = 4 * 1024 * 1024;

let work = '';
let server: Server;
let serverPort = 0;
const blob = randomBytes(DOWNLOAD_BYTES);
const blobSha = createHash('sha256').update(blob).digest('hex');

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'wisp-net-user-'));
  await ensureGuest();
  server = createHttpServer((req, res) => {
    if (req.url !== '/blob') { res.writeHead(404).end(); return; }
    res.writeHead(200, { 'content-length': blob.length, 'content-type': 'application/octet-stream' });
    res.end(blob);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  serverPort = (server.address() as AddressInfo).port;
});
after(async () => {
  await new Promise((r) => server?.close(r));
  rmSync(work, { recursive: true, force: true });
});

test('--net user --publish: DHCP, a 6 MiB download from the host via the gateway, a 4 MiB fetch from the guest via the published port, both byte-exact', { timeout: BOOT_TIMEOUT_MS + 60_000 }, async (t) => {
  if (!passtInstalled()) {
    t.skip('passt is not installed (Debian package passt; scripts/setup.sh installs it)');
    return;
  }
  const hostPort = await freePort();
  const script = join(work, 'net.sh');
  writeFileSync(script, `
GW=$(ip route | awk '/^default/ {print $3}')
echo "GATEWAY $GW"
echo "MTU $(cat /sys/class/net/eth0/mtu)"
echo "MAC $(cat /sys/class/net/eth0/address)"
wget -q -O /tmp/blob "http://$GW:${serverPort}/blob"
echo "DOWNLOAD-STATUS $?"
echo "DOWNLOAD-SHA $(sha256sum /tmp/blob | cut -d' ' -f1) $(wc -c < /tmp/blob)"
rm -f /tmp/blob
mkdir -p /www
head -c ${UPLOAD_BYTES} /dev/urandom > /www/blob
echo "UPLOAD-SHA $(sha256sum /www/blob | cut -d' ' -f1)"
httpd -p 8080 -h /www
echo "SERVING $((4 * 2))"
read line
echo "HOST-SAID $line"
`);
  const p = new WispProcess(['run', '--net', 'user', '--publish', `${hostPort}:8080`, '--mac', '06:00:ac:10:00:02', '--script', script], { timeoutMs: BOOT_TIMEOUT_MS });
  let fetched: Buffer | undefined;
  let fetchError: unknown;
  try {
    await p.waitFor(/^SERVING 8\r?$/m, BOOT_TIMEOUT_MS - 30_000);
    try {
      fetched = await fetchBytes(`http://127.0.0.1:${hostPort}/blob`);
    } catch (e) {
      fetchError = e;
    }
    p.write('fetched\n');
  } catch (e) {
    p.kill();
    throw e;
  }
  const r = await p.exited;
  assert.equal(r.timedOut, false, describeResult(r));
  assert.equal(r.code, 0, describeResult(r));
  const lines = consoleLines(r.stdout);
  const said = (key: string): string | undefined => lines.find((l) => l.startsWith(`${key} `))?.slice(key.length + 1);

  await t.test('eth0 got its address by DHCP from passt, with passt\'s MTU', () => {
    assert.ok(lines.some((l) => /^wisp-init: eth0 \d+\.\d+\.\d+\.\d+\/\d+ by DHCP$/.test(l)), describeResult(r));
    assert.match(said('GATEWAY') ?? '', /^\d+\.\d+\.\d+\.\d+$/);
    assert.equal(said('MTU'), '65520');
  });

  await t.test('the guest downloaded the host file through the gateway, byte-exact', () => {
    assert.equal(said('DOWNLOAD-STATUS'), '0', describeResult(r));
    assert.equal(said('DOWNLOAD-SHA'), `${blobSha} ${DOWNLOAD_BYTES}`);
  });

  await t.test('the host fetched the guest file through the published port, byte-exact', () => {
    assert.equal(fetchError, undefined, String(fetchError));
    assert.equal(fetched?.length, UPLOAD_BYTES);
    assert.equal(createHash('sha256').update(fetched!).digest('hex'), said('UPLOAD-SHA'));
    assert.equal(said('HOST-SAID'), 'fetched');
  });

  await t.test('the guest\'s eth0 has the MAC given with --mac', () => {
    assert.equal(said('MAC'), '06:00:ac:10:00:02');
  });

  await t.test('no passt is left running', () => {
    assert.deepEqual(passtsFor(hostPort), []);
  });
});

test('bad input for networking: one-line errors, a non-zero exit, nothing left running', async (t) => {
  const taken = createServer();
  await new Promise<void>((r) => taken.listen(0, '0.0.0.0', r));
  const takenPort = (taken.address() as AddressInfo).port;
  const kernelArgs: string[] = [];
  try {
    const cases: { name: string; args: string[]; env?: NodeJS.ProcessEnv; message: RegExp; port?: number; needsPasst?: boolean }[] = [
      { name: 'passt not installed', args: ['--net', 'user'], env: { ...process.env, WISP_PASST: join(work, 'no-such-passt') }, message: /^wisp run: Cannot attach network interface "eth0": Cannot start passt for user-mode networking: ".*no-such-passt" is not installed \(Debian: apt-get install passt/ },
      { name: 'a published port already taken', args: ['--net', 'user', '--publish', `${takenPort}:80`], message: new RegExp(`^wisp run: Cannot attach network interface "eth0": Cannot publish TCP port ${takenPort} \\(to guest port 80\\): it is already in use; choose another host port$`), port: takenPort, needsPasst: true },
      { name: 'a malformed MAC', args: ['--net', 'user', '--mac', '06:00:ac:10:00'], message: /^wisp run: Cannot attach network interface "eth0": guest_mac "06:00:ac:10:00" is not a MAC address/ },
      { name: 'a missing tap', args: ['--net', 'tap:wispnotap0'], message: /^wisp run: Could not create the network device: Open tap device failed: Tap device "wispnotap0" does not exist: create it first \(ip tuntap add dev wispnotap0 mode tap/ },
      { name: 'a bad --net', args: ['--net', 'slirp'], message: /^wisp run: --net must be "user" or "tap:NAME", got "slirp"$/ },
      { name: 'a bad --publish', args: ['--net', 'user', '--publish', '80'], message: /^wisp run: --publish must be HOSTPORT:GUESTPORT/ },
      { name: '--publish without a user-mode interface', args: ['--publish', '8080:80'], message: /^wisp run: --publish needs a user-mode interface: add --net user$/ },
    ];
    for (const c of cases) {
      await t.test(c.name, async (st) => {
        if (c.needsPasst && !passtInstalled()) {
          st.skip('passt is not installed');
          return;
        }
        const r = await runWisp(['run', ...kernelArgs, ...c.args, '--init-cmd', 'echo SHOULD-NOT-BOOT'], { timeoutMs: 120_000, env: c.env });
        assert.equal(r.timedOut, false, describeResult(r));
        assert.notEqual(r.code, 0, describeResult(r));
        assert.notEqual(r.code, null, describeResult(r));
        const err = r.stderr.trimEnd().split('\n').filter((l) => !/^wisp: (fetching|using)/i.test(l)).join('\n');
        assert.equal(err.split('\n').length, 1, `one line on stderr:\n${r.stderr}`);
        assert.match(err, c.message);
        assert.doesNotMatch(r.stdout, /SHOULD-NOT-BOOT/);
        if (c.port !== undefined) assert.deepEqual(passtsFor(c.port), []);
      });
    }
  } finally {
    await new Promise((r) => taken.close(r));
  }
});
