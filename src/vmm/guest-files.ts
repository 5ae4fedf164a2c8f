/**
 * The host files a VM is configured with, one rule each (util/host-file.ts does the opening): what
 * types each accepts and how much of it may be read. The API (vm-resources.ts, at PUT time), the
 * machine's builder (machine-worker-session.ts, at InstanceStart), the logger/metrics setup, the
 * config file reader and `wisp run` all go through these, so a path is judged the same way wherever
 * it comes from, and at configuration time.
 */
import { MAX_RAM_BYTES } from '../memory/machine-memory.js';
import { checkKernelComplete, KERNEL_HEAD_BYTES } from '../platform/boot/kernel-loader.js';
import {
  checkHostPath,
  HostFileError,
  openHostFile,
  probeHostFile,
  readAtMost,
  readHostFile,
  readHostFileAsync,
  type HostFile,
  type HostFileRule,
} from '../util/host-file.js';

/** A kernel or initrd larger than the most RAM a guest can have could never be loaded. */
const KERNEL: Omit<HostFileRule, 'access'> & { maxBytes: number } = { what: 'kernel image', kinds: ['file'], maxBytes: MAX_RAM_BYTES };
const INITRD: Omit<HostFileRule, 'access'> & { maxBytes: number } = { what: 'initrd', kinds: ['file'], maxBytes: MAX_RAM_BYTES };
/**
 * Firecracker's config files are a few KiB; 1 MiB leaves room for any real one and stops `/dev/zero`
 * or an endless pipe. A FIFO is accepted (`--config-file <(generate-config)`), read on the event loop.
 */
export const MAX_CONFIG_FILE_BYTES = 1 << 20;
const CONFIG: Omit<HostFileRule, 'access'> & { maxBytes: number } = { what: 'config file', kinds: ['file', 'fifo'], maxBytes: MAX_CONFIG_FILE_BYTES };

/** The serial console's output: created if missing (as Firecracker does), or an existing FIFO/device. */
const SERIAL_OUT: HostFileRule = { what: 'serial output', access: 'write', create: true, append: true, kinds: ['file', 'fifo', 'char-device'] };

/** Checks the kernel now: a regular file, not larger than any guest RAM, not shorter than its headers say. */
export function probeKernelFile(path: string): void {
  const f = openHostFile(path, { ...KERNEL, access: 'read' });
  try {
    let head: Buffer;
    try {
      head = readAtMost(f.fd, KERNEL_HEAD_BYTES, 0, KERNEL_HEAD_BYTES);
    } catch (e) {
      throw new HostFileError('os', path, (e as Error).message, { cause: e });
    }
    try {
      checkKernelComplete(head, f.size, path);
    } catch (e) {
      throw new HostFileError('bad-content', path, (e as Error).message.replace(/^Cannot boot "[^"]*": /, ''), { cause: e });
    }
  } finally {
    f.close();
  }
}

export function probeInitrdFile(path: string): void {
  probeHostFile(path, { ...INITRD, access: 'read' });
}

/** The whole kernel (InstanceStart). */
export function readKernelFile(path: string): Buffer {
  return readHostFile(path, KERNEL);
}

export function readInitrdFile(path: string): Buffer {
  return readHostFile(path, INITRD);
}

/** A drive's backing file: a regular file or a block device, with the drive's access. */
export function driveRule(readOnly: boolean): HostFileRule {
  return { what: 'drive', access: readOnly ? 'read' : 'read-write', kinds: ['file', 'block-device'] };
}

export function probeDriveFile(path: string, readOnly: boolean): void {
  probeHostFile(path, driveRule(readOnly));
}

export function openDriveFile(path: string, readOnly: boolean): HostFile {
  return openHostFile(path, driveRule(readOnly));
}

/** PUT /serial: the output path is opened when the machine starts (a FIFO's reader may come later). */
export function checkSerialOutPath(path: string): void {
  checkHostPath(path, SERIAL_OUT);
}

export function openSerialOut(path: string): HostFile {
  return openHostFile(path, SERIAL_OUT);
}

/**
 * `--metadata`: the MMDS's initial contents, a regular file or a pipe. The data store holds at most
 * --mmds-size-limit (≤ 16 MiB) of JSON; a file four times that (whitespace) is refused unread.
 */
export const MAX_METADATA_FILE_BYTES = 64 << 20;
export async function readMetadataFile(path: string): Promise<Buffer> {
  try {
    return await readHostFileAsync(path, { what: 'metadata file', kinds: ['file', 'fifo'], maxBytes: MAX_METADATA_FILE_BYTES });
  } catch (e) {
    if (e instanceof HostFileError && e.code === 'os') throw new HostFileError('os', path, `Cannot read the metadata file "${path}": ${e.message}`, { cause: e.cause });
    throw e;
  }
}

/** `--config-file`: a regular file or a pipe, at most MAX_CONFIG_FILE_BYTES. */
export async function readConfigFile(path: string): Promise<Buffer> {
  try {
    return await readHostFileAsync(path, CONFIG);
  } catch (e) {
    // An errno alone ("No such file or directory") would not say which file.
    if (e instanceof HostFileError && e.code === 'os') throw new HostFileError('os', path, `Cannot read the config file "${path}": ${e.message}`, { cause: e.cause });
    throw e;
  }
}
