/**
 * Entry point of a detached exec relay (see exec-process.ts): `node exec-main.js LAUNCH_FILE`, spawned
 * by `wisp-runc exec --detach`, never run by hand. Its exit status is the exec'd process's.
 */
import { rmSync } from 'node:fs';
import { readExecLaunch, reportOnFd3, runExecRelay } from './exec-process.js';

const file = process.argv[2];
if (!file) {
  process.stderr.write('wisp-runc exec relay: needs its launch file\n');
  process.exit(125);
}
let launch;
try {
  launch = readExecLaunch(file);
} catch (e) {
  reportOnFd3(`error: cannot read ${file}: ${(e as Error).message}`);
  process.exit(125);
}
rmSync(file, { force: true });
runExecRelay(launch.dir, launch.id, launch.config, reportOnFd3).then(
  (status) => process.exit(status),
  (e: unknown) => {
    reportOnFd3(`error: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(125);
  },
);
