/**
 * The guest tooling's public face for the rest of wisp (vmm, cli): the default Debian guest, the
 * initramfs and root-disk builders, and what a kernel file is.
 */
export { wispCacheDir } from './cache-dir.js';
export { CpioWriter } from './cpio.js';
export { ensureDefaultGuest, type DefaultGuest, type EnsureDefaultGuestOptions } from './fetch.js';
export { GuestError, type GuestErrorCode } from './guest-error.js';
export { buildInitramfs, OPTIONAL_MODULES, planModules, REQUIRED_MODULES, type InitramfsOptions } from './initramfs.js';
export { ensureDebianUserland, type DebianUserland, type DebianUserlandOptions } from './debian-userland.js';
export { detectKernelFormat, rawImageFrom, riscvImageHeader, type KernelFormat, type RiscvImageHeader } from './kernel-image.js';
export { buildRootfs, parseSize, type RootfsOptions, type RootfsResult } from './rootfs.js';
