/**
 * The metadata service from the guest, with Debian's curl, as Firecracker's MMDS user guide uses it:
 * a VMM driven through the API (firecracker mode) with a user-mode network interface (passt), the MMDS
 * configured on it, contents put before the start.
 *
 *   V2: no token is 401; PUT /latest/api/token with X-metadata-token-ttl-seconds gives a token that
 *       reads the data (IMDS text by default, JSON on Accept: application/json) until it expires (401
 *       again); a PATCH /mmds through the API while the guest polls is seen by the guest at once.
 *       The mmds metrics (PUT /metrics, FlushMetrics) count the refused requests.
 *   V1 (on an ipv4_address of its own): no token needed, even before the guide's route (the request
 *       goes to the gateway's MAC and is taken by its address); the IMDS text format; a token can still
 *       be asked for and used; a 30 KB value read whole (many segments), two requests on one kept-alive
 *       connection, eight clients at once, busybox's wget as a second client; a request too big for
 *       the receive buffer is reset and the MMDS answers the next one.
 *
 * The guest routes the MMDS address onto eth0 (ip route add 169.254.169.254 dev eth0, as the guide
 * says), so its ARP for the address is answered by wisp too. eth0 gets its address from passt by DHCP,
 * and the same interface still reaches the network: the guest fetches a page from an HTTP server this
 * test runs on the host's loopback, through passt's gateway, before and after its MMDS requests.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { buildInitramfs } from '../../src/guest/index.js';
import { ensureDebianUserland } from '../../src/guest/debian-userland.js';
import { curl } from '../helpers/curl.js';
import { checkRequest, checkResponse, loadApiSpec } from '../helpers/api-spec.js';
import { buildDisk, consoleLines, ensureGuest, requireTool, WispProcess } from '../helpers/guest-fixtures.js';

const STEP_MS = 300_000;
const spec = loadApiSpec();

let work = '';
let kernel = '';
let disk = '';
let busybox: { busyboxPath: string; modulesDir: string; kernelVersion: string };
let server: Server | undefined;
let serverPort = 0;
/** What the host's HTTP server answers on /hello: the guest must see it through passt. */
const HELLO = `hello-from-the-host-${process.pid}`;

before(async () => {
  requireTool('curl', 'curl');
  requireTool('passt', 'passt');
  requireTool('mke2fs', 'e2fsprogs');
  requireTool('dpkg-deb', 'dpkg');
  work = mkdtempSync(join(tmpdir(), `wisp-mmds-${process.pid}-`));
  const g = await ensureGuest();
  kernel = g.kernelPath;
  busybox = g;
  const u = await ensureDebianUserland({ packages: ['curl'] });
  const tree = join(work, 'tree');
  assert.equal(spawnSync('cp', ['-al', u.rootDir, tree]).status, 0);
  disk = join(work, 'curl.ext4');
  await buildDisk(tree, disk, '96M');
  server = createHttpServer((req, res) => {
    if (req.url !== '/hello') { res.writeHead(404).end(); return; }
    res.writeHead(200, { 'content-type': 'text/plain' }).end(HELLO);
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  serverPort = (server.address() as AddressInfo).port;
});
after(async () => {
  if (server) await new Promise((r) => server!.close(r));
  rmSync(work, { recursive: true, force: true });
});

/**
 * The guest's side: curl from the Debian disk, chrooted; every answer printed on the console. The
 * initramfs has brought eth0 up by DHCP (passt's lease, default route via passt's gateway).
 */
const prelude = (mmdsIp: string): string => `
i=0; while [ ! -b /dev/vda ] && [ $i -lt 100 ]; do usleep 100000; i=$((i + 1)); done
mkdir -p /mnt && mount -t ext4 -o ro /dev/vda /mnt
GW=$(ip route | awk '/^default/ {print $3}')
echo "GATEWAY $GW"
C="chroot /mnt /usr/bin/curl -sS --max-time 20"
M=http://${mmdsIp}
H=http://$GW:${serverPort}/hello
# body and status on one line: "<body>|<status>" (newlines in the body as ",")
get() { $C -w '|%{http_code}' "$@" | tr '\\n' ','; echo; }
echo "BACKEND-BEFORE $(get $H)"
`;

const v2Script = (): string => `${prelude('169.254.169.254')}
ip route add 169.254.169.254 dev eth0
echo "NO-TOKEN $(get $M/latest/meta-data/ami-id)"
echo "BAD-TOKEN $(get -H 'X-metadata-token: bogus' $M/latest/meta-data/ami-id)"
T=$($C -X PUT -H 'X-metadata-token-ttl-seconds: 300' $M/latest/api/token)
echo "TOKEN-LENGTH \${#T}"
echo "WITH-TOKEN $(get -H "X-metadata-token: $T" $M/latest/meta-data/ami-id)"
echo "IMDS $(get -H "X-metadata-token: $T" $M/latest/meta-data/)"
echo "JSON $(get -H "X-metadata-token: $T" -H 'Accept: application/json' $M/latest/meta-data)"
echo "JSON-LEAF $(get -H "X-metadata-token: $T" -H 'Accept: application/json' $M/latest/meta-data/ami-id)"
echo "BACKEND-AFTER $(get $H)"
# A token that lives one second is refused once it has expired.
S=$($C -X PUT -H 'X-metadata-token-ttl-seconds: 1' $M/latest/api/token)
sleep 3
echo "EXPIRED $(get -H "X-metadata-token: $S" $M/latest/meta-data/ami-id)"
echo "NO-TTL $(get -X PUT $M/latest/api/token)"
T=$($C -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 600' $M/latest/api/token)
echo WAIT-PATCH
i=0
while [ $i -lt 600 ]; do
  v=$($C -H "X-aws-ec2-metadata-token: $T" $M/latest/meta-data/ami-id)
  [ "$v" = ami-patched ] && break
  usleep 200000; i=$((i + 1))
done
echo "PATCH-SEEN $v"
# The host reads GET /mmds while the VMM still runs, then lets the guest go (console input).
read line
echo "HOST-SAID $line"
poweroff -f
`;

const v1Script = (): string => `${prelude(V1_MMDS_IP)}
# Before the guide's route: the request leaves through the default route (to passt's gateway's MAC);
# the MMDS takes it by its destination address all the same and answers the sender's MAC.
echo "V1-VIA-GATEWAY $(get $M/latest/meta-data/ami-id)"
ip route add ${V1_MMDS_IP} dev eth0
echo "V1-NO-TOKEN $(get $M/latest/meta-data/ami-id)"
echo "V1-IMDS $(get $M/latest/meta-data)"
echo "V1-NESTED $(get $M/latest/meta-data/network/interfaces/macs/)"
echo "V1-NOT-FOUND $(get $M/latest/nothing)"
echo "V1-METHOD $(get -X DELETE $M/latest)"
T=$($C -X PUT -H 'X-metadata-token-ttl-seconds: 60' $M/latest/api/token)
echo "V1-WITH-TOKEN $(get -H "X-metadata-token: $T" $M/latest/meta-data/ami-id)"
echo "V1-JSON $(get -H 'Accept: application/json' $M/latest/meta-data/reservation-id)"
# A value of many segments, read whole.
echo "V1-BIG $($C $M/latest/user-data | sha256sum | cut -d' ' -f1) $($C $M/latest/user-data | wc -c)"
# Two requests on one connection (curl keeps it alive when the server does).
echo "V1-TWO $($C -w ' %{num_connects},' $M/latest/meta-data/ami-id $M/latest/meta-data/reservation-id)"
# Eight clients at once.
for i in 1 2 3 4 5 6 7 8; do $C $M/latest/meta-data/ami-id > /tmp/par$i 2>&1 & done; wait
echo "V1-PARALLEL $(for i in 1 2 3 4 5 6 7 8; do cat /tmp/par$i; echo -n ,; done)"
# busybox's wget, another client.
echo "V1-WGET $(wget -q -O - $M/latest/meta-data/ami-id)"
# A request that does not fit the MMDS's 2500-byte receive buffer: the connection is reset.
$C -o /dev/null -H "X-Pad: $(head -c 3000 /dev/zero | tr '\\0' a)" $M/latest/meta-data/ami-id 2>/tmp/oversize.err
echo "V1-OVERSIZE $? $(cat /tmp/oversize.err)"
echo "V1-AFTER-OVERSIZE $(get $M/latest/meta-data/ami-id)"
echo "BACKEND-AFTER $(get $H)"
poweroff -f
`;

/** The V1 VM's MMDS answers on an address of its own (mmds-config's ipv4_address). */
const V1_MMDS_IP = '169.254.170.2';

/** A user-data value of many TCP segments (the default store limit is 51200 bytes). */
const USER_DATA = Array.from({ length: 30_000 }, (_, i) => 'abcdefghijklmnopqrstuvwxyz0123456789'[(i * 7 + (i >> 5)) % 36]).join('');
const DATA = {
  latest: {
    'user-data': USER_DATA,
    'meta-data': {
      'ami-id': 'ami-87654321',
      'reservation-id': 'r-79054aef',
      network: { interfaces: { macs: { '02:29:96:8f:6a:2d': { 'device-number': '13345342' } } } },
    },
  },
};

async function vmm(name: string, script: string) {
  const initrd = join(work, `${name}.cpio.gz`);
  writeFileSync(initrd, await buildInitramfs({ ...busybox, script: Buffer.from(script) }));
  const sock = join(work, `${name}.api`);
  const p = new WispProcess(['--api-sock', sock, '--id', name], { timeoutMs: 2 * STEP_MS });
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
  await api('PUT', '/boot-source', { kernel_image_path: kernel, initrd_path: initrd, boot_args: 'console=ttyS0 quiet panic=-1' });
  await api('PUT', '/machine-config', { vcpu_count: 1, mem_size_mib: 256 });
  await api('PUT', '/drives/tools', { drive_id: 'tools', path_on_host: disk, is_root_device: false, is_read_only: true });
  await api('PUT', '/network-interfaces/eth0', { iface_id: 'eth0', user_mode: {} });
  return { p, api };
}

/** "<body>|<status>" of the console line starting with `tag`. */
function answer(out: string, tag: string): { body: string; status: number } {
  const line = consoleLines(out).find((l) => l.startsWith(`${tag} `));
  assert.ok(line, `no ${tag} line in the console:\n${out.slice(-3000)}`);
  const rest = line.slice(tag.length + 1);
  const bar = rest.lastIndexOf('|');
  return { body: rest.slice(0, bar).replace(/,$/, ''), status: Number(rest.slice(bar + 1)) };
}

test('MMDS V2 from the guest with curl: 401 without a token, tokens that expire, IMDS and JSON, a PATCH seen at once', { timeout: 2 * STEP_MS }, async () => {
  const v = await vmm('v2', v2Script());
  try {
    const metricsPath = join(work, 'v2.metrics');
    writeFileSync(metricsPath, ''); // Firecracker opens the metrics file; it does not create it
    await v.api('PUT', '/metrics', { metrics_path: metricsPath });
    await v.api('PUT', '/mmds/config', { version: 'V2', network_interfaces: ['eth0'] });
    await v.api('PUT', '/mmds', DATA);
    await v.api('PUT', '/actions', { action_type: 'InstanceStart' });
    await v.p.waitFor(/WAIT-PATCH/, STEP_MS);
    await v.api('PUT', '/actions', { action_type: 'FlushMetrics' });
    // Each line holds the counts since the previous one (Firecracker's per-flush deltas): add them up.
    const mmds: Record<string, number> = {};
    for (const line of readFileSync(metricsPath, 'utf8').trim().split('\n')) {
      for (const [k, n] of Object.entries((JSON.parse(line) as Record<string, Record<string, number>>)['mmds'] ?? {})) mmds[k] = (mmds[k] ?? 0) + n;
    }
    await v.api('PATCH', '/mmds', { latest: { 'meta-data': { 'ami-id': 'ami-patched' } } });
    await v.p.waitFor(/^PATCH-SEEN [^\r\n]*\r?\n/m, STEP_MS); // the whole line
    const out = v.p.stdout;
    assert.deepEqual(answer(out, 'NO-TOKEN'), { body: 'No MMDS token provided. Use `X-metadata-token` or `X-aws-ec2-metadata-token` header to specify the session token.', status: 401 });
    assert.deepEqual(answer(out, 'BAD-TOKEN'), { body: 'MMDS token not valid.', status: 401 });
    assert.ok(consoleLines(out).includes('TOKEN-LENGTH 48'), out.slice(-3000));
    assert.deepEqual(answer(out, 'WITH-TOKEN'), { body: 'ami-87654321', status: 200 });
    assert.deepEqual(answer(out, 'IMDS'), { body: 'ami-id,network/,reservation-id', status: 200 });
    // serde_json's order: keys sorted.
    assert.deepEqual(answer(out, 'JSON'), { body: '{"ami-id":"ami-87654321","network":{"interfaces":{"macs":{"02:29:96:8f:6a:2d":{"device-number":"13345342"}}}},"reservation-id":"r-79054aef"}', status: 200 });
    assert.deepEqual(answer(out, 'EXPIRED'), { body: 'MMDS token not valid.', status: 401 });
    assert.deepEqual(answer(out, 'JSON-LEAF'), { body: '"ami-87654321"', status: 200 });
    assert.deepEqual(answer(out, 'NO-TTL'), {
      body: "Token time to live value not found. Use `X-metadata-token-ttl-seconds` or `X-aws-ec2-metadata-token-ttl-seconds` header to specify the token's lifetime.",
      status: 400,
    });
    // The rest of eth0's traffic still went to the backend (passt), before and after the MMDS's.
    assert.deepEqual(answer(out, 'BACKEND-BEFORE'), { body: HELLO, status: 200 });
    assert.deepEqual(answer(out, 'BACKEND-AFTER'), { body: HELLO, status: 200 });
    assert.ok(consoleLines(out).includes('PATCH-SEEN ami-patched'), out.slice(-3000));
    // The mmds metrics (Firecracker's names) counted what the guest did before WAIT-PATCH: one GET
    // without a token, two with a bad one (bogus, expired), eleven connections at least (more may
    // have begun in the polling loop by the flush).
    assert.equal(mmds['rx_no_token'], 1, JSON.stringify(mmds));
    assert.equal(mmds['rx_invalid_token'], 2, JSON.stringify(mmds));
    assert.ok(mmds['connections_created']! >= 11, JSON.stringify(mmds));
    assert.ok(mmds['rx_accepted']! > 0 && mmds['tx_frames']! > 0 && mmds['tx_bytes']! > 0, JSON.stringify(mmds));
    assert.equal(mmds['rx_bad_eth'], 0, JSON.stringify(mmds));
    assert.equal(mmds['tx_errors'], 0, JSON.stringify(mmds));
    const got = (await v.api('GET', '/mmds', undefined, 200)) as typeof DATA;
    assert.equal(got.latest['meta-data']['ami-id'], 'ami-patched');
    v.p.write('done\n');
    const r = await v.p.exited;
    assert.equal(r.code, 0, v.p.describe());
    assert.ok(consoleLines(r.stdout).includes('HOST-SAID done'), v.p.describe());
  } finally {
    v.p.kill('SIGKILL');
    await v.p.exited;
  }
});

test('MMDS V1 from the guest with curl: no token needed, IMDS text, Firecracker\'s errors', { timeout: 2 * STEP_MS }, async () => {
  const v = await vmm('v1', v1Script());
  try {
    await v.api('PUT', '/mmds/config', { network_interfaces: ['eth0'], ipv4_address: V1_MMDS_IP }); // V1 by default
    await v.api('PUT', '/mmds', DATA);
    await v.api('PUT', '/actions', { action_type: 'InstanceStart' });
    const r = await v.p.exited;
    const out = r.stdout;
    assert.equal(r.code, 0, v.p.describe());
    assert.deepEqual(answer(out, 'V1-VIA-GATEWAY'), { body: 'ami-87654321', status: 200 });
    assert.deepEqual(answer(out, 'V1-NO-TOKEN'), { body: 'ami-87654321', status: 200 });
    assert.deepEqual(answer(out, 'V1-IMDS'), { body: 'ami-id,network/,reservation-id', status: 200 });
    assert.deepEqual(answer(out, 'V1-NESTED'), { body: '02:29:96:8f:6a:2d/', status: 200 });
    assert.deepEqual(answer(out, 'V1-NOT-FOUND'), { body: 'Resource not found: /latest/nothing.', status: 404 });
    assert.deepEqual(answer(out, 'V1-METHOD'), { body: 'Not allowed HTTP method.', status: 405 });
    assert.deepEqual(answer(out, 'V1-WITH-TOKEN'), { body: 'ami-87654321', status: 200 });
    assert.deepEqual(answer(out, 'V1-JSON'), { body: '"r-79054aef"', status: 200 });
    const line = (tag: string): string | undefined => consoleLines(out).find((l) => l.startsWith(`${tag} `))?.slice(tag.length + 1);
    assert.equal(line('V1-BIG'), `${createHash('sha256').update(USER_DATA).digest('hex')} ${USER_DATA.length}`, out.slice(-3000));
    // The second request went on the first one's connection (curl's num_connects 0).
    assert.equal(line('V1-TWO'), 'ami-87654321 1,r-79054aef 0,', out.slice(-3000));
    assert.equal(line('V1-PARALLEL'), 'ami-87654321,'.repeat(8), out.slice(-3000));
    assert.equal(line('V1-WGET'), 'ami-87654321', out.slice(-3000));
    // Firecracker resets a connection whose request outgrows the receive buffer; the MMDS goes on.
    // (curl's exit 56 is "failure in receiving network data"; its text may change between versions.)
    assert.match(line('V1-OVERSIZE') ?? '', /^56 .*reset by peer/, out.slice(-3000));
    assert.deepEqual(answer(out, 'V1-AFTER-OVERSIZE'), { body: 'ami-87654321', status: 200 });
    assert.deepEqual(answer(out, 'BACKEND-BEFORE'), { body: HELLO, status: 200 });
    assert.deepEqual(answer(out, 'BACKEND-AFTER'), { body: HELLO, status: 200 });
  } finally {
    v.p.kill('SIGKILL');
    await v.p.exited;
  }
});
