#!/usr/bin/env node
// The installed entry point: the compiled CLI lives in dist/ (built by `npm ci` via the prepare script).
import { main } from '../dist/src/cli/main.js';

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => {
    process.stderr.write(`wisp: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
