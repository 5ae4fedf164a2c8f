#!/usr/bin/env node
// wisp-runc, the runc-compatible OCI runtime (containers as microVMs); compiled code lives in dist/.
import { main } from '../dist/src/runtime/runc/runc-cli.js';

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => {
    process.stderr.write(`wisp-runc: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
