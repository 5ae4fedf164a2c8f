// Network throughput and latency inside the guest, wisp next to QEMU 7.2 (TCG) on the same Debian
// kernel and initramfs, with the same kind of backend on each side:
//   passt: wisp starts its own passt (--fd socketpair); QEMU connects to a passt started for it with
//          `-netdev stream` on passt's Unix socket. The guest gets its address by DHCP.
//   tap:   the same tap device, `--net tap:tap0` for wisp, `-netdev tap` for QEMU; static address.
// The guest (busybox) pings the gateway 10 times (the RTT summary), downloads BYTES three times from an
// HTTP server on the host side (bench/net-peer.mjs) and uploads BYTES three times with wget
// --post-file; the peer times each transfer on the host. Medians are reported, and wisp/QEMU ratios.
// Everything runs inside a network namespace this bench creates (loopback, a veth pair whose
// default route gives passt its template, the tap), so no traffic leaves it. Needs root, passt and
// qemu-system-riscv64; the machine is shared, so figures vary from run to run.
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const MEM_MIB = 256;
const BYTES = 16 * 1024 * 1024;
const REPEAT = 3;
const PORT = 18700;
const MARKER = 'WISP-NET-BENCH-DONE';
const TIMEOUT_MS = 900_000;
const GUEST_TAP_IP = '172.16.0.2';
const HOST_TAP_IP = '172.16.0.1';
const STATIC_IP = `ip=${GUEST_TAP_IP}::${HOST_TAP_IP}:255.255.255.252::eth0:off`;

const SCRIPT = `
GW=$(ip route | awk '/^default/ {print $3}')
echo "GATEWAY $GW"
echo "PING $(ping -c 10 "$GW" | tail -1)"
i=0; while [ $i -lt ${REPEAT} ]; do wget -q -O /dev/null "http://$GW:${PORT}/blob?n=${BYTES}" || echo "DOWNLOAD-FAILED"; i=$((i + 1)); done
# busybox wget sends --post-file's contents as a C string (strlen), so the file must hold no NUL byte.
head -c ${BYTES} /dev/zero | tr '\\0' Z > /tmp/up
i=0; while [ $i -lt ${REPEAT} ]; do wget -q -O /dev/null --post-file=/tmp/up "http://$GW:${PORT}/upload" || echo "UPLOAD-FAILED"; i=$((i + 1)); done
echo ${MARKER}
`;

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function sh(cmd, args) {
  return execFileSync(cmd, args, { encoding: 'utf8' });
}

/** A process in the namespace, collecting its output; `done` settles when it exits. */
function inNs(ns, cmd, args, opts = {}) {
  const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  const p = { child, out: '', err: '' };
  child.stdout.setEncoding('latin1').on('data', (s) => (p.out += s));
  child.stderr.setEncoding('latin1').on('data', (s) => (p.err += s));
  p.done = new Promise((r) => child.on('close', (code, signal) => r({ code, signal })));
  return p;
}

async function until(what, probe, ms) {
  const end = Date.now() + ms;
  while (!probe()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

function setUpNamespace(ns) {
  sh('ip', ['netns', 'add', ns]);
  const run = (...a) => sh('ip', ['netns', 'exec', ns, ...a]);
  run('ip', 'link', 'set', 'lo', 'up');
  // passt takes its addresses from the interface with the default route: one end of a veth pair here
  // (both ends up, so it has a carrier; kernels without the dummy driver have veth).
  run('ip', 'link', 'add', 'uplink0', 'type', 'veth', 'peer', 'name', 'uplink1');
  run('ip', 'addr', 'add', '10.0.2.15/24', 'dev', 'uplink0');
  run('ip', 'link', 'set', 'uplink1', 'up');
  run('ip', 'link', 'set', 'uplink0', 'up');
  run('ip', 'route', 'add', 'default', 'via', '10.0.2.2', 'dev', 'uplink0');
  run('ip', 'tuntap', 'add', 'dev', 'tap0', 'mode', 'tap');
  run('ip', 'addr', 'add', `${HOST_TAP_IP}/30`, 'dev', 'tap0');
  run('ip', 'link', 'set', 'tap0', 'up');
  // passt answers the guest's pings with ICMP echo sockets as "nobody": allow them in this namespace.
  run('sysctl', '-q', '-w', 'net.ipv4.ping_group_range=0 2147483647');
}

/** One boot: the peer, the VMM (and passt for QEMU), the guest's figures. */
async function measure(ns, root, peerHost, vmm) {
  const peer = inNs(ns, process.execPath, [join(root, 'bench/net-peer.mjs'), peerHost, String(PORT)]);
  let helper;
  try {
    await until('the peer', () => peer.out.includes('PEER-READY'), 30_000);
    if (vmm.before) helper = await vmm.before();
    const t0 = performance.now();
    const vm = inNs(ns, vmm.cmd, vmm.args, { cwd: root });
    const timer = setTimeout(() => vm.child.kill('SIGKILL'), TIMEOUT_MS);
    const { code, signal } = await vm.done;
    clearTimeout(timer);
    const out = vm.out.replace(/\r/g, '');
    if (code !== 0 || !out.split('\n').includes(MARKER)) {
      throw new Error(`${vmm.name}: ${code ?? signal}${out.includes(MARKER) ? '' : ', no marker'}:\n${out.slice(-1500)}\n${vm.err.slice(-1000)}`);
    }
    if (/DOWNLOAD-FAILED|UPLOAD-FAILED/.test(out)) throw new Error(`${vmm.name}: a transfer failed:\n${out.slice(-1500)}`);
    const ping = /^PING round-trip min\/avg\/max = ([\d.]+)\/([\d.]+)\/([\d.]+) ms$/m.exec(out);
    const transfers = peer.out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
    const rate = (dir) => {
      const t = transfers.filter((x) => x.dir === dir);
      if (t.length !== REPEAT || t.some((x) => x.bytes !== BYTES)) throw new Error(`${vmm.name}: expected ${REPEAT} ${dir} transfers of ${BYTES} bytes, got ${JSON.stringify(t)}`);
      const s = median(t.map((x) => x.seconds));
      return { seconds: s, mibPerSecond: BYTES / 1048576 / s, runs: t.map((x) => x.seconds) };
    };
    return {
      hostToGuest: rate('down'),
      guestToHost: rate('up'),
      pingMs: ping ? { min: Number(ping[1]), avg: Number(ping[2]), max: Number(ping[3]) } : `no ping summary: ${/^PING .*$/m.exec(out)?.[0] ?? 'none'}`,
      wallSeconds: (performance.now() - t0) / 1000,
    };
  } finally {
    peer.child.kill('SIGTERM');
    await peer.done;
    if (helper) { helper.child.kill('SIGTERM'); await helper.done; }
  }
}

export async function benchNet(root) {
  if (process.getuid?.() !== 0) return 'not measured: needs root (it creates a network namespace with a tap)';
  for (const [tool, pkg] of [['passt', 'passt'], ['qemu-system-riscv64', 'qemu-system-misc'], ['ip', 'iproute2']]) {
    try { execFileSync('sh', ['-c', `command -v ${tool}`]); } catch { return `not measured: ${tool} is missing (Debian package ${pkg})`; }
  }
  const { ensureGuest } = await import(join(root, 'dist/test/helpers/guest-fixtures.js'));
  const { buildInitramfs } = await import(join(root, 'dist/src/guest/initramfs.js'));
  const guest = await ensureGuest();
  const dir = join(root, 'build/bench');
  mkdirSync(dir, { recursive: true });
  const initrd = join(dir, 'net-bench.cpio.gz');
  writeFileSync(initrd, await buildInitramfs({ busyboxPath: guest.busyboxPath, modulesDir: guest.modulesDir, kernelVersion: guest.kernelVersion, script: Buffer.from(SCRIPT) }));

  const ns = `wisp-net-bench-${process.pid}`;
  const work = mkdtempSync(join(tmpdir(), 'wisp-net-bench-'));
  // QEMU's passt makes its socket here after dropping root (bookworm's passt), so anyone may write.
  chmodSync(work, 0o1777);
  setUpNamespace(ns);
  const wispArgs = (...extra) => [join(root, 'bin/wisp.js'), 'run', '--kernel', guest.kernelPath, '--initrd', initrd, '--mem', String(MEM_MIB), ...extra];
  const qemuArgs = (append, ...extra) => ['-M', 'virt', '-m', String(MEM_MIB), '-nographic', '-bios', 'default', '-kernel', guest.kernelPath,
    '-initrd', initrd, '-append', `console=ttyS0 panic=-1${append}`, ...extra, '-device', 'virtio-net-device,netdev=n0,mac=06:00:ac:10:00:02'];
  const passtSock = join(work, 'passt.sock');
  const vmms = {
    passt: {
      wisp: { name: 'wisp+passt', cmd: process.execPath, args: wispArgs('--net', 'user') },
      qemu: {
        name: 'qemu+passt', cmd: 'qemu-system-riscv64',
        args: qemuArgs('', '-netdev', `stream,id=n0,server=off,addr.type=unix,addr.path=${passtSock}`),
        before: async () => {
          rmSync(passtSock, { force: true });
          const p = inNs(ns, 'passt', ['--foreground', '--quiet', '--socket', passtSock]);
          await until('passt\'s socket', () => existsSync(passtSock), 20_000);
          return p;
        },
      },
    },
    tap: {
      wisp: { name: 'wisp+tap', cmd: process.execPath, args: wispArgs('--net', 'tap:tap0', '--append', STATIC_IP) },
      qemu: { name: 'qemu+tap', cmd: 'qemu-system-riscv64', args: qemuArgs(` ${STATIC_IP}`, '-netdev', 'tap,id=n0,ifname=tap0,script=no,downscript=no') },
    },
  };
  const result = { bytes: BYTES, repeat: REPEAT, memMiB: MEM_MIB };
  try {
    for (const [backend, pair] of Object.entries(vmms)) {
      const peerHost = backend === 'passt' ? '127.0.0.1' : HOST_TAP_IP;
      const r = {};
      for (const side of ['wisp', 'qemu']) {
        try {
          r[side] = await measure(ns, root, peerHost, pair[side]);
        } catch (e) {
          r[side] = `not measured: ${e.message}`;
        }
      }
      if (typeof r.wisp === 'object' && typeof r.qemu === 'object') {
        r.ratios = {
          hostToGuestWispToQemu: r.wisp.hostToGuest.mibPerSecond / r.qemu.hostToGuest.mibPerSecond,
          guestToHostWispToQemu: r.wisp.guestToHost.mibPerSecond / r.qemu.guestToHost.mibPerSecond,
          // Latency: above 1 means wisp answers faster (QEMU's RTT over wisp's).
          pingQemuToWisp: typeof r.wisp.pingMs === 'object' && typeof r.qemu.pingMs === 'object' ? r.qemu.pingMs.avg / r.wisp.pingMs.avg : undefined,
        };
      }
      result[backend] = r;
    }
  } finally {
    try { sh('ip', ['netns', 'del', ns]); } catch { /* gone */ }
    rmSync(work, { recursive: true, force: true });
  }
  return result;
}
