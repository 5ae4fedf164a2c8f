/**
 * `wisp run --net user -p HOST:GUEST IMAGE`: a container with a network. The image (Debian's riscv64
 * busybox-static plus a layer with a web root) runs busybox httpd on guest port 80; curl on this
 * machine fetches a file from it through the published host port, byte-exact. The container itself
 * reaches a host HTTP server at the gateway address (a download checked by sha256, then a poll that
 * tells it when to exit), and shows the address, route and resolv.conf wisp chose. Then the bad
 * inputs: -p without --net user, a malformed -p, a --net the container cannot use, a published port
 * already taken: one line each, exit 125, no passt left. All traffic stays on this machine's loopback.
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { ensureDebianUserland } from '../../src/guest/debian-userland.js';
import { writeOciLayout } from '../../src/images/testing/image-writer.js';
import { describeResult, ensureGuest, requireTool, runWisp, WispProcess } from '../helpers/guest-fixtures.js';
import { freePort, passtInstalled, passtsFor } from '../helpers/user-net.js';

const PAGE = randomBytes(300 * 1024);
const FROM_HOST = randomBytes(512 * 1024);
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

let work = '';
let env: NodeJS.ProcessEnv;
let image = '';
let server: Server;
let serverPort = 0;
let stopAsked = false;
let hostFetches = 0;

before(async () => {
  requireTool('mke2fs', 'e2fsprogs');
  requireTool('debugfs', 'e2fsprogs');
  requireTool('curl', 'curl');
  work = mkdtempSync(join(tmpdir(), 'wisp-run-image-net-'));
  env = { ...process.env, WISP_IMAGE_CACHE: join(work, 'store') };
  await ensureGuest();
  server = createHttpServer((req, res) => {
    if (req.url === '/blob') {
      hostFetches++;
      res.writeHead(200, { 'content-length': FROM_HOST.length, 'content-type': 'application/octet-stream' }).end(FROM_HOST);
    } else if (req.url === '/stop') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end(stopAsked ? 'yes' : 'no');
    } else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  serverPort = (server.address() as AddressInfo).port;
  const u = await ensureDebianUserland({ packages: ['busybox-static'] });
  const base = spawnSync('tar', ['-C', u.rootDir, '--numeric-owner', '--owner=0', '--group=0', '-cf', '-', '.'], { maxBuffer: 1 << 30 });
  assert.equal(base.status, 0, String(base.stderr));
  const B = '/bin/busybox';
  // The container: its network as it sees it, a download from the host through the gateway, then
  // httpd on port 80 until the host server says stop. (10.0.2.2 and 10.0.2.3 are wisp's choice,
  // given to passt and to the init; the test checks the container sees exactly those.)
  const script = [
    `echo "addr: $(${B} ip -4 -o addr show dev eth0 | ${B} grep -o 'inet [0-9./]*')"`,
    `echo "route: $(${B} ip route show default)"`,
    `echo "resolv: $(${B} cat /etc/resolv.conf)"`,
    `${B} wget -q -O /tmp/from-host http://10.0.2.2:${serverPort}/blob || exit 3`,
    `echo "from-host: $(${B} sha256sum /tmp/from-host | ${B} cut -d' ' -f1)"`,
    `${B} httpd -p 80 -h /www || exit 4`,
    'echo serving',
    `while [ "$(${B} wget -q -O - http://10.0.2.2:${serverPort}/stop)" != yes ]; do ${B} sleep 1; done`,
    'exit 7',
  ].join('\n');
  writeOciLayout(join(work, 'layout'), {
    tag: 'web',
    config: { Entrypoint: [B, 'sh', '-c'], Cmd: [script], Env: ['PATH=/usr/bin:/bin'] },
    layers: [
      { tar: base.stdout, compression: 'gzip' },
      { compression: 'none', entries: [{ path: 'www', type: 'dir' }, { path: 'www/page.bin', content: PAGE }] },
    ],
  });
  image = `oci:${join(work, 'layout')}:web`;
});
after(async () => {
  await new Promise((r) => server?.close(r));
  rmSync(work, { recursive: true, force: true });
});

test('--net user -p HOST:80: curl fetches from httpd in the container, the container fetches from the host via the gateway', { timeout: 900_000 }, async (t) => {
  if (!passtInstalled()) {
    t.skip('passt is not installed (Debian package passt; scripts/setup.sh installs it)');
    return;
  }
  const hostPort = await freePort('0.0.0.0');
  const w = new WispProcess(['run', '--net', 'user', '-p', `${hostPort}:80`, image], { timeoutMs: 800_000, env, closeStdin: true });
  try {
    await w.waitFor(/^serving$/m, 700_000);
    const lines = w.stdout.split('\n');
    const said = (key: string): string | undefined => lines.find((l) => l.startsWith(`${key}: `))?.slice(key.length + 2);
    assert.equal(said('addr'), 'inet 10.0.2.15/24', w.describe());
    assert.match(said('route') ?? '', /^default via 10\.0\.2\.2 dev eth0\b/, w.describe());
    assert.equal(said('resolv'), 'nameserver 10.0.2.3', w.describe());
    assert.equal(said('from-host'), sha(FROM_HOST), w.describe());
    assert.equal(hostFetches, 1);

    const out = join(work, 'page.bin');
    await promisify(execFile)('curl', ['-sS', '--fail', '--max-time', '120', '-o', out, `http://127.0.0.1:${hostPort}/page.bin`]);
    const got = readFileSync(out);
    assert.equal(got.length, PAGE.length);
    assert.ok(got.equals(PAGE), 'the page curl fetched through the published port is byte-exact');
  } catch (e) {
    w.kill();
    throw e;
  } finally {
    stopAsked = true;
  }
  const r = await w.exited;
  assert.equal(r.code, 7, describeResult(r));
  assert.deepEqual(passtsFor(hostPort), [], 'no passt is left running');
});

test('bad network inputs: one line each, exit 125, no passt left', { timeout: 600_000 }, async (t) => {
  const taken = createServer();
  await new Promise<void>((r) => taken.listen(0, '0.0.0.0', r));
  const takenPort = (taken.address() as AddressInfo).port;
  try {
    const cases: { name: string; args: string[]; message: RegExp; port?: number; needsPasst?: boolean }[] = [
      { name: '-p without --net user', args: ['-p', '8080:80'], message: /^wisp run: -p\/--publish needs the user-mode network: add --net user$/ },
      { name: 'a malformed -p', args: ['--net', 'user', '-p', '80'], message: /^wisp run: -p must be HOSTPORT:GUESTPORT with ports 1 to 65535, optionally \/udp \(e\.g\. 8080:80\), got "80"$/ },
      { name: 'a port out of range', args: ['--net', 'user', '--publish', '70000:80'], message: /^wisp run: --publish must be HOSTPORT:GUESTPORT .* got "70000:80"$/ },
      { name: 'a tap for a container', args: ['--net', 'tap:tap0'], message: /^wisp run: --net must be "user" or "none" for an image, got "tap:tap0"$/ },
      { name: 'an unknown --network', args: ['--network=bridge'], message: /^wisp run: --network must be "user" or "none" for an image, got "bridge"$/ },
      { name: 'a published port already taken', args: ['--net', 'user', '-p', `${takenPort}:80`], message: new RegExp(`^wisp run: Cannot attach network interface "eth0": Cannot publish TCP port ${takenPort} \\(to guest port 80\\): it is already in use; choose another host port$`), port: takenPort, needsPasst: true },
    ];
    for (const c of cases) {
      await t.test(c.name, { timeout: 300_000 }, async (st) => {
        if (c.needsPasst && !passtInstalled()) {
          st.skip('passt is not installed');
          return;
        }
        const r = await runWisp(['run', ...c.args, image, 'true'], { timeoutMs: 250_000, env });
        assert.equal(r.code, 125, describeResult(r));
        // Pull progress may precede the error; the error is one line, the last.
        const errLines = r.stderr.split('\n').filter((l) => l.startsWith('wisp run: '));
        assert.equal(errLines.length, 1, describeResult(r));
        assert.match(errLines[0], c.message, describeResult(r));
        assert.equal(r.stderr.trimEnd().split('\n').at(-1), errLines[0], describeResult(r));
        if (c.port !== undefined) assert.deepEqual(passtsFor(c.port), []);
      });
    }
  } finally {
    await new Promise((r) => taken.close(r));
  }
});
