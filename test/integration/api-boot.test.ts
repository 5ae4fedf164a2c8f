/**
 * The real thing: the `wisp` CLI as a child process, behaving as the firecracker binary, boots
 * Debian's riscv64 kernel with a busybox initramfs in its worker-thread machine.
 *
 *  1. Firecracker's getting-started sequence with the real curl over the API socket: logger, metrics,
 *     boot-source, machine-config, InstanceStart; GET / says Running; the guest's marker and clock
 *     lines come out on the VMM's stdout (its serial console); PATCH /vm Paused stops the guest and its
 *     clock, Resumed continues; FlushMetrics carries the machine's counters; Ctrl+Alt+Del is refused.
 *     Every request and response is checked against firecracker-api.yaml. While the kernel boots (a
 *     CPU-bound guest) GET / must stay responsive: the machine runs off the API's thread.
 *  2. The config-file path (`--no-api --config-file`): a rate-limited drive the guest reads and writes
 *     (the limiter holds requests back and they still complete, correctly), the guest powers off, the
 *     process exits 0 with device counters, throttling included, in its last metrics line.
 *
 * Two full boots of the interpreter: this file takes a minute or two.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { buildInitramfs, ensureDefaultGuest } from '../../src/guest/index.js';
import { checkRequest, checkResponse, loadApiSpec } from '../helpers/api-spec.js';
import { request } from '../helpers/unix-http-client.js';
import { curl } from '../helpers/curl.js';

/** Guest boots in the interpreter take 20–90 s depending on the host's load. */
const BOOT_TIMEOUT_MS = 300_000;

const MARKER = 'WISP-API-BOOT-MARKER';
/** The guest's job: a marker, then its clock (date, and uptime to 10 ms) about once a second. */
const CLOCK_SCRIPT = `echo ${MARKER}
while :; do echo "tick $(date +%s) $(cut -d' ' -f1 /proc/uptime)"; sleep 1; done
`;

const DISK_PATTERN = 'WISP-DISK-PATTERN-0042';
const GUEST_WRITE = 'WRITTEN-BY-THE-GUEST';
/** Reads the drive's first bytes, writes at 4 KiB (block 8 of 512 bytes), then powers off (init does). */
const DISK_SCRIPT = `i=0; while [ ! -b /dev/vda ] && [ $i -lt 100 ]; do usleep 100000; i=$((i + 1)); done
echo "disk says: $(head -c ${DISK_PATTERN.length} /dev/vda)"
printf ${GUEST_WRITE} | dd of=/dev/vda bs=512 seek=8 conv=notrunc,fsync 2>/dev/null
echo "disk written"
`;

const dir = mkdtempSync(join(tmpdir(), 'wisp-api-boot-'));

/** The kernel and an initramfs running `script`, with only the modules it needs (boot time). */
async function guest(name: string, script: string, modules: string[]): Promise<{ kernel: string; initrd: string }> {
  const g = await ensureDefaultGuest({ progress: null });
  const initrd = join(dir, `${name}.cpio.gz`);
  writeFileSync(initrd, await buildInitramfs({
    busyboxPath: g.busyboxPath, modulesDir: g.modulesDir, kernelVersion: g.kernelVersion,
    script: Buffer.from(script), modules,
  }));
  return { kernel: g.kernelPath, initrd };
}

/** The CLI's entry beside this test: src/cli/main.ts under tsx, dist/src/cli/main.js when compiled. */
function spawnWisp(args: string[]): { child: ChildProcess; out: () => string; err: () => string; code: Promise<number | null> } {
  const self = import.meta.url;
  const ts = self.endsWith('.ts');
  const main = new URL(`../../src/cli/main.${ts ? 'ts' : 'js'}`, self).href;
  const code = `import(${JSON.stringify(main)}).then(async (m) => { process.exitCode = await m.main(${JSON.stringify(args)}); })`;
  const root = fileURLToPath(new URL(ts ? '../..' : '../../..', self));
  const child = spawn(process.execPath, [...(ts ? ['--import', 'tsx'] : []), '--input-type=module', '-e', code], {
    cwd: root, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '', err = '';
  child.stdout!.setEncoding('latin1').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('latin1').on('data', (d: string) => (err += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  return { child, out: () => out, err: () => err, code: exited };
}


const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, probe: () => T | undefined | false, ms: number, diag: () => string): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) assert.fail(`timed out after ${ms / 1000} s waiting for ${what}\n${diag()}`);
    await sleep(25);
  }
}

function socketAccepts(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

interface Tick { host: number; date: number; uptime: number; index: number }

test('API boot: getting started with curl boots Debian; pause stops the guest and its clock', { timeout: BOOT_TIMEOUT_MS * 2 }, async () => {
  const spec = loadApiSpec();
  const { kernel, initrd } = await guest('clock', CLOCK_SCRIPT, []);
  const sock = join(dir, 'api.socket');
  const logPath = join(dir, 'api.log');
  const metricsPath = join(dir, 'api.metrics');
  writeFileSync(logPath, '');
  writeFileSync(metricsPath, '');

  const vmm = spawnWisp(['--api-sock', sock, '--id', 'api-boot']);
  const diag = () => `--- wisp stderr ---\n${vmm.err().slice(-3000)}\n--- wisp stdout (serial) ---\n${vmm.out().slice(-3000)}`;
  try {
    await until('the API socket', () => existsSync(sock), 30_000, diag);
    for (let i = 0; !(await socketAccepts(sock)); i++) {
      if (i > 300) assert.fail(`the API socket never accepted\n${diag()}`);
      await sleep(50);
    }

    const step = async (method: string, path: string, body: unknown, status: number) => {
      assert.deepEqual(checkRequest(spec, method, path, body), [], `${method} ${path}`);
      const r = await curl(sock, method, path, body);
      assert.equal(r.status, status, `${method} ${path}: ${JSON.stringify(r.body)}\n${diag()}`);
      assert.deepEqual(checkResponse(spec, method, path, r.status, r.body), [], `${method} ${path} response`);
      return r;
    };

    await step('PUT', '/logger', { log_path: logPath, level: 'Info' }, 204);
    await step('PUT', '/metrics', { metrics_path: metricsPath }, 204);
    await step('PUT', '/boot-source', { kernel_image_path: kernel, initrd_path: initrd, boot_args: 'console=ttyS0 quiet panic=-1' }, 204);
    await step('PUT', '/machine-config', { vcpu_count: 1, mem_size_mib: 256 }, 204);
    let info = await step('GET', '/', undefined, 200);
    assert.equal((info.body as { state: string }).state, 'Not started');
    await step('PUT', '/actions', { action_type: 'InstanceStart' }, 204);
    info = await step('GET', '/', undefined, 200);
    assert.deepEqual(info.body, { id: 'api-boot', state: 'Running', vmm_version: '0.1.0', app_name: 'wisp' });

    // The kernel boots: a CPU-bound guest. The API answers from its own thread meanwhile.
    const latencies: number[] = [];
    while (!vmm.out().includes(MARKER)) {
      if (latencies.length > BOOT_TIMEOUT_MS / 100) assert.fail(`the guest's marker never came\n${diag()}`);
      const t0 = performance.now();
      const r = await request(sock, 'GET', '/');
      latencies.push(performance.now() - t0);
      assert.equal(r.status, 200);
      await sleep(100);
    }
    const p50 = percentile(latencies, 50), p99 = percentile(latencies, 99);
    process.stderr.write(`api-boot: GET / while the guest boots: n=${latencies.length} p50=${p50.toFixed(1)} ms p99=${p99.toFixed(1)} ms\n`);
    assert.ok(latencies.length >= 20, `the boot was too short to measure (${latencies.length} requests)`);
    assert.ok(p99 < 500, `GET / p99 ${p99.toFixed(1)} ms while the guest runs: the API is stalled by the machine`);

    // The guest's clock lines, stamped with when they reached us.
    const ticks: Tick[] = [];
    let seen = 0;
    const collect = () => {
      const lines = vmm.out().split('\n');
      for (; seen < lines.length - 1; seen++) {
        const m = /^tick (\d+) (\d+\.\d+)\r?$/.exec(lines[seen]!);
        if (m) ticks.push({ host: performance.now(), date: Number(m[1]), uptime: Number(m[2]), index: ticks.length });
      }
    };
    const collector = setInterval(collect, 10);
    try {
      await until('two clock lines', () => ticks.length >= 2, 60_000, diag);

      await step('PATCH', '/vm', { state: 'Paused' }, 204);
      const pausedAt = performance.now();
      assert.equal(((await step('GET', '/', undefined, 200)).body as { state: string }).state, 'Paused');
      await sleep(500); // lines the guest wrote before the pause may still be in the pipe
      const beforeResume = ticks.length;
      const lastBefore = ticks[ticks.length - 1]!;
      await sleep(6_000);
      assert.equal(ticks.length, beforeResume, 'a paused guest prints nothing');
      const resumeAt = performance.now();
      await step('PATCH', '/vm', { state: 'Resumed' }, 204);
      assert.equal(((await step('GET', '/', undefined, 200)).body as { state: string }).state, 'Running');
      await until('two clock lines after resume', () => ticks.length >= beforeResume + 2, 60_000, diag);

      const firstAfter = ticks[beforeResume]!;
      const pausedMs = resumeAt - pausedAt;
      const hostGap = (firstAfter.host - lastBefore.host) / 1000;
      const guestGap = firstAfter.uptime - lastBefore.uptime;
      process.stderr.write(`api-boot: across a ${(pausedMs / 1000).toFixed(1)} s pause: host ${hostGap.toFixed(2)} s, guest ${guestGap.toFixed(2)} s between clock lines\n`);
      assert.ok(guestGap > 0, 'guest time moves on after resume');
      // Guest time missed (at least nearly) the whole pause; 1.5 s covers output and scheduling lag.
      assert.ok(hostGap - guestGap >= pausedMs / 1000 - 1.5, `guest time advanced ${guestGap.toFixed(2)} s in ${hostGap.toFixed(2)} s of host time that included a ${(pausedMs / 1000).toFixed(1)} s pause`);
      assert.ok(firstAfter.date - lastBefore.date < pausedMs / 1000 - 1, 'the guest\'s date did not jump over the pause');
    } finally {
      clearInterval(collector);
    }

    // The machine's counters reach the metrics file.
    await step('PUT', '/actions', { action_type: 'FlushMetrics' }, 204);
    const lines = readFileSync(metricsPath, 'utf8').trim().split('\n');
    const metrics = JSON.parse(lines[lines.length - 1]!) as Record<string, Record<string, number>>;
    assert.ok(metrics['vcpu']!['instructions']! > 1e6, `vcpu.instructions ${metrics['vcpu']!['instructions']}`);
    assert.ok(metrics['uart']!['write_count']! > MARKER.length, `uart.write_count ${metrics['uart']!['write_count']}`);
    assert.ok(metrics['sbi']!['calls']! > 0);

    const cad = await step('PUT', '/actions', { action_type: 'SendCtrlAltDel' }, 400);
    assert.match((cad.body as { fault_message: string }).fault_message, /no keyboard controller/);
    const late = await step('PUT', '/machine-config', { vcpu_count: 1, mem_size_mib: 128 }, 400);
    assert.equal((late.body as { fault_message: string }).fault_message, 'The requested operation is not supported after starting the microVM.');

    assert.match(readFileSync(logPath, 'utf8'), /\[api-boot:.*\] Successfully started microvm\./);
    vmm.child.kill('SIGTERM');
    assert.equal(await vmm.code, 0, `wisp exits 0 on SIGTERM\n${diag()}`);
  } finally {
    vmm.child.kill('SIGKILL');
  }
});

test('API boot: --no-api --config-file boots with a rate-limited drive; the guest reads and writes it, powers off and wisp exits 0', { timeout: BOOT_TIMEOUT_MS }, async () => {
  const { kernel, initrd } = await guest('disk', DISK_SCRIPT, ['virtio_mmio', 'virtio_blk']);
  const disk = join(dir, 'data.img');
  const image = Buffer.alloc(1 << 20);
  image.write(DISK_PATTERN, 0, 'latin1');
  writeFileSync(disk, image);
  const metricsPath = join(dir, 'cfg.metrics');
  writeFileSync(metricsPath, '');
  const cfg = join(dir, 'vm.json');
  writeFileSync(cfg, JSON.stringify({
    'boot-source': { kernel_image_path: kernel, initrd_path: initrd, boot_args: 'console=ttyS0 quiet panic=-1' },
    drives: [{
      drive_id: 'data', path_on_host: disk, is_root_device: false, is_read_only: false,
      // Tight enough that the kernel's partition scan and the reads below get throttled (4 requests a
      // second, 256 KiB/s with larger requests overdrawing the bucket), loose enough to cost seconds.
      rate_limiter: { ops: { size: 2, refill_time: 500 }, bandwidth: { size: 32768, one_time_burst: 4096, refill_time: 125 } },
    }],
    'machine-config': { vcpu_count: 1, mem_size_mib: 256 },
  }));

  const vmm = spawnWisp(['--no-api', '--config-file', cfg, '--id', 'cfg-boot', '--metrics-path', metricsPath]);
  const diag = () => `--- wisp stderr ---\n${vmm.err().slice(-3000)}\n--- wisp stdout (serial) ---\n${vmm.out().slice(-3000)}`;
  try {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), BOOT_TIMEOUT_MS)));
    const code = await Promise.race([vmm.code, timeout]);
    clearTimeout(timer);
    assert.notEqual(code, 'timeout', `the guest did not power off in time\n${diag()}`);
    assert.equal(code, 0, `wisp's exit status after the guest powered off\n${diag()}`);
    assert.match(vmm.out(), new RegExp(`disk says: ${DISK_PATTERN}`), diag());
    assert.match(vmm.out(), /disk written/);
    assert.equal(readFileSync(disk).subarray(4096, 4096 + GUEST_WRITE.length).toString('latin1'), GUEST_WRITE, 'the guest\'s write reached the host file');
    // The exit metrics line has the machine's last counters.
    const lines = readFileSync(metricsPath, 'utf8').trim().split('\n');
    const last = JSON.parse(lines[lines.length - 1]!) as Record<string, Record<string, number>>;
    assert.ok(last['block_data']!['read_count']! > 0, `block_data.read_count ${JSON.stringify(last['block_data'])}`);
    assert.ok(last['block_data']!['write_count']! > 0, `block_data.write_count ${JSON.stringify(last['block_data'])}`);
    // Counters are per-flush deltas: sum every line for the throttling over the whole run.
    const total = (name: string) => lines.reduce((n, l) => n + ((JSON.parse(l) as Record<string, Record<string, number>>)['block_data']?.[name] ?? 0), 0);
    assert.ok(total('rate_limiter_throttled_events') > 0, 'the drive\'s rate limiter held requests back');
    assert.ok(total('rate_limiter_event_count') > 0, 'and let them through later');
  } finally {
    vmm.child.kill('SIGKILL');
  }
});
