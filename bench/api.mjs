// The control plane's speed: how soon `wisp --api-sock` accepts requests, and API latency with no
// guest (pre-boot) and while a guest spins the CPU (the machine runs on a worker thread, so the API's
// thread should not notice). Uses the compiled CLI (bin/wisp.js → dist/) and the cached Debian guest.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const STARTS = 5;
const SAMPLES = 200;
const PAUSES = 5;
const BOOT_TIMEOUT_MS = 600_000;
const MARKER = 'WISP-BENCH-SPINNING';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
function percentile(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}
const round = (ms) => Math.round(ms * 1000) / 1000;

function spawnWisp(root, args) {
  const child = spawn(process.execPath, [join(root, 'bin/wisp.js'), ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('latin1').on('data', (d) => (out += d));
  child.stderr.setEncoding('latin1').on('data', (d) => (err += d));
  const exited = new Promise((r) => child.once('exit', (code) => r(code)));
  return { child, exited, out: () => out, err: () => err };
}

function accepts(path) {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

async function waitForSocket(path, vmm, timeoutMs = 30_000) {
  const end = performance.now() + timeoutMs;
  while (!(await accepts(path))) {
    if (performance.now() > end) throw new Error(`wisp's API socket never accepted: ${vmm.err()}`);
    await sleep(2);
  }
}

/** One request on a fresh connection (as curl and the Firecracker SDKs do); resolves with status and body. */
function call(socketPath, method, path, body) {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = httpRequest({
      socketPath, method, path,
      headers: { Accept: 'application/json', ...(payload && { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) }) },
      agent: false,
    }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d) => (text += d)).on('end', () => resolve({ status: res.statusCode, body: text }));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

async function expect(socketPath, method, path, body, status) {
  const r = await call(socketPath, method, path, body);
  if (r.status !== status) throw new Error(`${method} ${path}: ${r.status} ${r.body} (expected ${status})`);
  return r;
}

/** p50/p99 in milliseconds of `n` sequential requests, each checked for its status. */
async function latency(socketPath, method, path, body, status, n = SAMPLES) {
  const ms = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await expect(socketPath, method, path, body, status);
    ms.push(performance.now() - t);
  }
  return { n, p50Ms: round(percentile(ms, 50)), p99Ms: round(percentile(ms, 99)), maxMs: round(Math.max(...ms)) };
}

async function stopWisp(vmm) {
  vmm.child.kill('SIGTERM');
  const code = await Promise.race([vmm.exited, sleep(10_000).then(() => 'timeout')]);
  if (code === 'timeout') vmm.child.kill('SIGKILL');
  return code;
}

export async function benchApi(root) {
  const dir = mkdtempSync(join(tmpdir(), 'wisp-bench-api-'));
  try {
    // Process start → socket ready.
    const starts = [];
    for (let i = 0; i < STARTS; i++) {
      const sock = join(dir, `start-${i}.socket`);
      const t = performance.now();
      const vmm = spawnWisp(root, ['--api-sock', sock]);
      await waitForSocket(sock, vmm);
      starts.push(performance.now() - t);
      await stopWisp(vmm);
    }

    const sock = join(dir, 'api.socket');
    const vmm = spawnWisp(root, ['--api-sock', sock, '--id', 'bench']);
    try {
      await waitForSocket(sock, vmm);
      const idle = {
        'GET /': await latency(sock, 'GET', '/', undefined, 200),
        'PUT /machine-config': await latency(sock, 'PUT', '/machine-config', { vcpu_count: 1, mem_size_mib: 256 }, 204),
      };

      // A guest that spins the CPU once booted.
      const { ensureDefaultGuest, buildInitramfs } = await import(join(root, 'dist/src/guest/index.js'));
      const g = await ensureDefaultGuest({ progress: null });
      const initrd = join(dir, 'spin.cpio.gz');
      writeFileSync(initrd, await buildInitramfs({
        busyboxPath: g.busyboxPath, modulesDir: g.modulesDir, kernelVersion: g.kernelVersion, modules: [],
        script: Buffer.from(`echo ${MARKER}\nwhile :; do :; done\n`),
      }));
      await expect(sock, 'PUT', '/boot-source', { kernel_image_path: g.kernelPath, initrd_path: initrd, boot_args: 'console=ttyS0 quiet panic=-1' }, 204);
      const t0 = performance.now();
      await expect(sock, 'PUT', '/actions', { action_type: 'InstanceStart' }, 204);
      const instanceStartMs = performance.now() - t0;
      while (!vmm.out().includes(MARKER)) {
        if (performance.now() - t0 > BOOT_TIMEOUT_MS) throw new Error(`the guest never printed ${MARKER}: ${vmm.err()}`);
        await sleep(20);
      }
      const bootToMarkerS = (performance.now() - t0) / 1000;
      const busy = {
        'GET /': await latency(sock, 'GET', '/', undefined, 200),
        'GET /machine-config': await latency(sock, 'GET', '/machine-config', undefined, 200),
      };
      const pause = [];
      const resume = [];
      for (let i = 0; i < PAUSES; i++) {
        let t = performance.now();
        await expect(sock, 'PATCH', '/vm', { state: 'Paused' }, 204);
        pause.push(performance.now() - t);
        t = performance.now();
        await expect(sock, 'PATCH', '/vm', { state: 'Resumed' }, 204);
        resume.push(performance.now() - t);
      }
      return {
        startToSocketReadyMs: { median: round(median(starts)), runs: starts.map(round) },
        idlePreBoot: idle,
        instanceStartMs: round(instanceStartMs),
        bootToGuestScriptS: Math.round(bootToMarkerS * 10) / 10,
        guestSpinningCpu: busy,
        pauseMs: { median: round(median(pause)), max: round(Math.max(...pause)) },
        resumeMs: { median: round(median(resume)), max: round(Math.max(...resume)) },
      };
    } finally {
      await stopWisp(vmm);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// `node bench/api.mjs` runs it alone (after a build).
if (import.meta.url === `file://${process.argv[1]}`) {
  const { fileURLToPath } = await import('node:url');
  console.log(JSON.stringify(await benchApi(fileURLToPath(new URL('..', import.meta.url))), null, 2));
}
