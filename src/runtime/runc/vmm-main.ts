/**
 * Entry point of a container's VMM process (see vmm-process.ts): `node vmm-main.js STATE_DIR`, spawned
 * by `wisp-runc create`, never run by hand. Its exit status is the container's.
 */
import { runVmmProcess } from './vmm-process.js';

const dir = process.argv[2];
if (!dir) {
  process.stderr.write('wisp-runc VMM process: needs the container\'s state directory\n');
  process.exit(125);
}
runVmmProcess(dir).then(
  (status) => process.exit(status),
  (e: unknown) => {
    process.stderr.write(`wisp-runc VMM process: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
    process.exit(125);
  },
);
