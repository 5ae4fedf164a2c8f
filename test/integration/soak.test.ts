/**
 * The bounded CI run of scripts/soak.mjs (issue 15): a few seconds of many, slow, idle and
 * non-reading clients, malformed HTTP and JSON and file arguments of every type against a real
 * `wisp --api-sock` process. The script itself checks that nothing hung, that the API still answers
 * and that fds, threads and RSS came back; this test holds it to its report.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../helpers/guest-fixtures.js';

test('soak (bounded): every connection answered or closed, the API alive, fds/threads/RSS back near their start', { timeout: 300_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'wisp-soak-test-'));
  try {
    const report = join(dir, 'report.json');
    const r = spawnSync(process.execPath, [join(repoRoot(), 'scripts/soak.mjs'), '--duration', '8', '--settle', '150', '--json', report, '--quiet'], {
      encoding: 'utf8',
      timeout: 290_000,
    });
    assert.equal(r.error, undefined, String(r.error));
    const rep = JSON.parse(readFileSync(report, 'utf8')) as {
      connections: number; requests: number; hangs: number; apiAnswersAfterwards: boolean; problems: string[];
      answers: Record<string, number>; start: { fds: number }; final: { fds: number };
    };
    assert.deepEqual(rep.problems, [], `${r.stderr}\n${JSON.stringify(rep, null, 2)}`);
    assert.equal(rep.hangs, 0);
    assert.equal(rep.apiAnswersAfterwards, true);
    assert.ok(rep.connections > 100, `${rep.connections} connections`);
    assert.ok((rep.answers['400'] ?? 0) > 0 && (rep.answers['200'] ?? 0) > 0, JSON.stringify(rep.answers));
    assert.ok(rep.final.fds <= rep.start.fds + 2, `fds ${rep.start.fds} -> ${rep.final.fds}`);
    assert.equal(r.status, 0, r.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
