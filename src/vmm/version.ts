/** wisp's version, reported as Firecracker's `vmm_version` and `firecracker_version` (kept equal to package.json's by a test). */
export const WISP_VERSION = '0.1.0';
