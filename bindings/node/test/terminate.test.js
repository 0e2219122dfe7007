'use strict';
// SPDX-License-Identifier: LGPL-2.1-or-later
// worker.terminate() at any moment of a Worker's calls into the library costs that Worker its
// unfinished write, never the process. From terminate() on, N-API refuses what would run
// JavaScript; koffi read JavaScript arrays through it and went on with garbage (a SIGSEGV in
// tl_value_new_vardict in most runs), and koffi.view() aborted the process: _ffi.js says what the
// binding passes instead.
//
// The Workers are terminated once they have loaded the binding: terminating one while koffi
// itself initializes can still abort the process (README.md, "Threads, lifetimes, errors").

const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { Worker } = require('node:worker_threads');
const { Local, stats } = require('..');
const { uniqueName } = require('./support.js');

const WORKER = path.join(__dirname, 'fixtures', 'worker.js');
const ROUNDS = 40;
const WORKERS = 4;
const MAX_DELAY_MS = 30;

// Start a Worker storing and reading in a loop; terminate it delayMs after it is ready. Resolves
// once it has exited (joined); rejects if it failed before (a value read back wrong).
function churnThenTerminate(name, index, delayMs) {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER, { workerData: { task: 'churn', name, index } });
    worker.on('message', (message) => {
      if (message.ready) setTimeout(() => worker.terminate(), delayMs);
    });
    worker.on('error', reject);
    worker.on('exit', resolve);
  });
}

test('Workers terminated in the middle of their calls never take the process down', async () => {
  const name = uniqueName('terminate');
  const main = Local.open(name);
  main.set('context', { who: 'main' });
  const before = stats();
  for (let round = 0; round < ROUNDS; round++) {
    // Delays spread over 0..MAX_DELAY_MS, differently for each Worker of a round.
    await Promise.all(Array.from({ length: WORKERS }, (_, index) =>
      churnThenTerminate(name, index, ((round * WORKERS + index) * 7) % (MAX_DELAY_MS + 1))));
  }
  const after = stats();
  assert.equal(after.dicts, before.dicts, 'every Worker\'s dictionaries were freed');
  assert.equal(after.threads, before.threads);
  // Each Worker held a new Local, another one for a moment in every turn of its loop, and the
  // named local: all released by its exit, which frees its dictionary of the keeper, where the
  // references are held from the call that makes them on (index.js).
  assert.equal(after.locals, before.locals, 'no Local of a terminated Worker left');
  // What JavaScript held when its Worker stopped is not freed: the parts of the value it was
  // converting (at most a dozen here), never what its dictionaries held.
  const terminated = ROUNDS * WORKERS;
  assert.ok(after.values - before.values <= 12 * terminated,
    `${after.values - before.values} values left by ${terminated} terminated Workers`);
  assert.deepEqual(main.get('context'), { who: 'main' });
  main.close();
  Local.unregister(name);
});
