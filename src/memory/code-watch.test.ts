import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { CodeWatch } from './code-watch.js';

const taken = (w: CodeWatch, hart: number): { pages: number[]; complete: boolean } => {
  const pages: number[] = [];
  const complete = w.takeWritten(hart, (p) => pages.push(p));
  return { pages, complete };
};

test('a write is listed for each hart that watches the page, once, until it looks', () => {
  const w = new CodeWatch(64, 3);
  assert.equal(w.watch(5, 0, true), true, 'first watcher: the page has just become watched');
  assert.equal(w.watch(5, 2, true), false, 'a second watcher: it already was');
  w.watch(9, 1, true);
  w.noteWrite(5 * 4096 + 10, 4);
  w.noteWrite(5 * 4096 + 100, 8);
  w.noteWrite(7 * 4096, 4096); // nobody watches page 7
  assert.deepEqual(taken(w, 0), { pages: [5], complete: true });
  assert.deepEqual(taken(w, 1), { pages: [], complete: true });
  assert.deepEqual(taken(w, 2), { pages: [5], complete: true });
  assert.deepEqual(taken(w, 0), { pages: [], complete: true }, 'taken once');
  w.noteWrite(9 * 4096 - 2, 4); // straddles pages 8 and 9
  assert.deepEqual(taken(w, 1), { pages: [9], complete: true });
  w.watch(5, 0, false);
  w.noteWrite(5 * 4096, 1);
  assert.deepEqual(taken(w, 0), { pages: [], complete: true }, 'no longer watching');
  assert.deepEqual(taken(w, 2), { pages: [5], complete: true });
});

test('more written pages than the list holds: the hart is told to recheck everything', () => {
  const pages = 3000;
  const w = new CodeWatch(pages, 1);
  for (let p = 0; p < pages; p++) w.watch(p, 0, true);
  for (let p = 0; p < pages; p++) w.noteWrite(p * 4096, 1);
  const t = taken(w, 0);
  assert.equal(t.complete, false);
  w.noteWrite(17 * 4096, 1);
  assert.deepEqual(taken(w, 0), { pages: [17], complete: true }, 'after an overflow, marks start afresh');
});

test('writers on other threads: every written page reaches the watching hart', async () => {
  const pages = 256;
  const w = new CodeWatch(pages, 2, { shared: true });
  for (let p = 0; p < pages; p++) w.watch(p, 1, true);
  // Another thread writes every page over and over while this one takes the list: each page must be seen.
  const seen = new Set<number>();
  const writer = new Worker(
    `const { workerData } = require('node:worker_threads');
     import(workerData.module).then(({ CodeWatch }) => {
       const w = new CodeWatch(workerData.pages, 2, { buffer: workerData.buffer });
       for (let round = 0; round < 20; round++) for (let p = 0; p < workerData.pages; p++) w.noteWrite(p * 4096 + round, 1);
     });`,
    { eval: true, workerData: { buffer: w.buffer, pages, module: new URL('./code-watch.js', import.meta.url).href } },
  );
  const ended = new Promise((r) => writer.once('exit', r));
  let done = false;
  void ended.then(() => (done = true));
  while (!done) {
    taken(w, 1).pages.forEach((p) => seen.add(p));
    await new Promise((r) => setImmediate(r));
  }
  const last = taken(w, 1);
  last.pages.forEach((p) => seen.add(p));
  assert.equal(seen.size, pages, 'every page written was listed');
});
