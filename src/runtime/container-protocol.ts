/**
 * The host's side of the wire protocol with wisp's container init (src/guest/container-init/protocol.h,
 * whose numbers a test holds equal to these): frames MAGIC0 MAGIC1 TYPE LEN(u16 LE) PAYLOAD over the
 * guest's serial port. Anything the port carries outside a frame (the kernel's boot messages before
 * the init is up, a late panic) is handed to `onNoise`.
 */
export const MAGIC0 = 0xd7;
export const MAGIC1 = 0x77;
export const MAX_PAYLOAD = 4096;
export const PROTOCOL_VERSION = 1;

export const Guest = {
  READY: 1, STDOUT: 2, STDERR: 3, EXIT: 4, ERROR: 5, CREATED: 6, STARTED: 7,
  EXEC_STARTED: 8, EXEC_STDOUT: 9, EXEC_STDERR: 10, EXEC_EXIT: 11, EXEC_ERROR: 12,
} as const;
export const Host = {
  CONFIG: 0x41, CONFIG_END: 0x42, STDIN: 0x43, STDIN_EOF: 0x44, SIGNAL: 0x45, WINSIZE: 0x46, START: 0x47,
  EXEC_CONFIG: 0x48, EXEC_START: 0x49, EXEC_STDIN: 0x4a, EXEC_STDIN_EOF: 0x4b, EXEC_SIGNAL: 0x4c,
} as const;
export const Config = {
  ARG: 1, ENV: 2, CWD: 3, USER: 4, HOSTNAME: 5, TTY: 6, STDIN: 7, WAIT_START: 8, READONLY: 9, MOUNT: 10, GROUP: 11, UMASK: 12,
  NET: 13, RESOLV: 14,
} as const;

export function encodeFrames(type: number, payload: Uint8Array = new Uint8Array(0)): Buffer {
  const parts: Buffer[] = [];
  let off = 0;
  do {
    const n = Math.min(MAX_PAYLOAD, payload.length - off);
    parts.push(Buffer.from([MAGIC0, MAGIC1, type, n & 0xff, n >> 8]), Buffer.from(payload.subarray(off, off + n)));
    off += n;
  } while (off < payload.length);
  return Buffer.concat(parts);
}

export class FrameDecoder {
  private buf = Buffer.alloc(0);

  constructor(
    private readonly onFrame: (type: number, payload: Buffer) => void,
    private readonly onNoise: (bytes: Buffer) => void,
  ) {}

  push(bytes: Uint8Array): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, bytes]) : Buffer.from(bytes);
    let i = 0;
    const b = this.buf;
    let noiseFrom = 0;
    for (;;) {
      while (i < b.length && b[i] !== MAGIC0) i++;
      if (b.length - i < 5) break;
      const n = b[i + 3] | (b[i + 4] << 8);
      if (b[i + 1] !== MAGIC1 || n > MAX_PAYLOAD) { i++; continue; }
      if (b.length - i < 5 + n) break;
      if (i > noiseFrom) this.onNoise(b.subarray(noiseFrom, i));
      this.onFrame(b[i + 2], b.subarray(i + 5, i + 5 + n));
      i += 5 + n;
      noiseFrom = i;
    }
    // Keep a possible frame start; pass on noise that cannot be part of one.
    const keepFrom = Math.min(i, b.length);
    if (keepFrom > noiseFrom) this.onNoise(b.subarray(noiseFrom, keepFrom));
    this.buf = Buffer.from(b.subarray(keepFrom));
  }
}

export interface ContainerConfig {
  args: string[];
  env: string[];
  cwd: string;
  /** "user[:group]" as names or numbers, resolved in the container's /etc/passwd and /etc/group. */
  user?: string;
  additionalGids?: number[];
  hostname?: string;
  terminal: boolean;
  /** Keep stdin open (else the process reads /dev/null). */
  stdin: boolean;
  waitStart?: boolean;
  readonlyRoot?: boolean;
  mounts?: { type: string; source: string; target: string; options: string }[];
  umask?: number;
  /** An interface to configure: its address with prefix length, and the default gateway. */
  net?: { ifname: string; address: string; prefixLength: number; gateway: string };
  /** Content for the container's /etc/resolv.conf. */
  resolvConf?: string;
}

/** A process started in the running container (runc exec): no terminal (not built yet). */
export interface ExecConfig {
  args: string[];
  env: string[];
  cwd: string;
  user?: string;
  additionalGids?: number[];
  stdin: boolean;
  umask?: number;
}

/** Frames whose payload starts with an exec's id, split at the payload limit. */
export function encodeExecFrames(type: number, id: number, payload: Uint8Array = new Uint8Array(0)): Buffer {
  const parts: Buffer[] = [];
  let off = 0;
  do {
    const n = Math.min(MAX_PAYLOAD - 1, payload.length - off);
    parts.push(Buffer.from([MAGIC0, MAGIC1, type, (n + 1) & 0xff, (n + 1) >> 8, id]), Buffer.from(payload.subarray(off, off + n)));
    off += n;
  } while (off < payload.length);
  return Buffer.concat(parts);
}

/** An exec's config records as EXEC_CONFIG frames, then EXEC_START. */
export function encodeExec(id: number, c: ExecConfig): Buffer {
  const recs = configRecords({ ...c, terminal: false });
  return Buffer.concat([encodeExecFrames(Host.EXEC_CONFIG, id, recs), encodeExecFrames(Host.EXEC_START, id)]);
}

/** The config records (TAG, LEN u32 LE, bytes ending in NUL), as CONFIG frames and CONFIG_END. */
export function encodeConfig(c: ContainerConfig): Buffer {
  return Buffer.concat([encodeFrames(Host.CONFIG, configRecords(c)), encodeFrames(Host.CONFIG_END)]);
}

function configRecords(c: ContainerConfig): Buffer {
  const recs: Buffer[] = [];
  const rec = (tag: number, value = ''): void => {
    const v = Buffer.from(value + '\0', 'utf8');
    const h = Buffer.alloc(5);
    h[0] = tag;
    h.writeUInt32LE(v.length, 1);
    recs.push(h, v);
  };
  for (const a of c.args) rec(Config.ARG, a);
  for (const e of c.env) rec(Config.ENV, e);
  rec(Config.CWD, c.cwd);
  if (c.user) rec(Config.USER, c.user);
  for (const g of c.additionalGids ?? []) rec(Config.GROUP, String(g));
  if (c.hostname) rec(Config.HOSTNAME, c.hostname);
  if (c.terminal) rec(Config.TTY);
  if (c.stdin) rec(Config.STDIN);
  if (c.waitStart) rec(Config.WAIT_START);
  if (c.readonlyRoot) rec(Config.READONLY);
  for (const m of c.mounts ?? []) rec(Config.MOUNT, `${m.type}\0${m.source}\0${m.target}\0${m.options}`);
  if (c.umask !== undefined) rec(Config.UMASK, c.umask.toString(8));
  if (c.net) rec(Config.NET, `${c.net.ifname} ${c.net.address} ${c.net.prefixLength} ${c.net.gateway}`);
  if (c.resolvConf !== undefined) rec(Config.RESOLV, c.resolvConf);
  return Buffer.concat(recs);
}
