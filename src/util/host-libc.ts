import { createRequire } from 'node:module';
import type { LibraryHandle } from 'koffi';

/**
 * The host's C library, for the few system calls Node has no API for: a tap's ioctl and poll
 * (vmm/backends/tap-backend.ts), a socketpair with large buffers (frame-socket-pair.ts), and the
 * pseudo-terminals wisp-runc hands to containerd (runtime/runc/host-pty.ts). It goes through koffi,
 * a maintained FFI library with prebuilt binaries for Node 20 (no compiler at install time); node-pty
 * or a native addon would bring a build step for three small needs. Loaded once, when first asked
 * for, so nothing that does not need it pays for it.
 */
/** A C function called from JS (`.async(...args, callback)` runs it on libuv's thread pool). */
export type LibcFunction = ReturnType<LibraryHandle['func']>;

export interface HostLibc {
  /** A libc function from its C declaration (koffi's syntax: `int close(int fd)`). */
  func(declaration: string): LibcFunction;
  /** errno as the last call through koffi left it. */
  errno(): number;
  /** The address of a buffer's memory, for structures that point at other buffers. */
  address(buf: Buffer): bigint;
}

/** koffi or the C library could not be loaded; `message` says why. */
export class HostLibcUnavailable extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HostLibcUnavailable';
  }
}

let loaded: HostLibc | HostLibcUnavailable | undefined;

/** The host's C library, or throws HostLibcUnavailable (each caller says what it needed it for). */
export function hostLibc(): HostLibc {
  if (loaded === undefined) loaded = load();
  if (loaded instanceof HostLibcUnavailable) throw loaded;
  return loaded;
}

function load(): HostLibc | HostLibcUnavailable {
  let koffi: typeof import('koffi');
  let lib: LibraryHandle;
  try {
    koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
  } catch (e) {
    return new HostLibcUnavailable(`the koffi FFI module did not load (${(e as Error).message}); run npm ci`, { cause: e });
  }
  try {
    lib = koffi.load('libc.so.6');
  } catch (e) {
    return new HostLibcUnavailable(`the C library libc.so.6 did not load (${(e as Error).message})`, { cause: e });
  }
  return {
    func: (declaration) => lib.func(declaration),
    errno: () => koffi.errno(),
    address: (buf) => koffi.address(buf),
  };
}
