'use strict';
// SPDX-License-Identifier: LGPL-2.1-or-later
// worker_threads: each Worker is its own OS thread with its own dictionary of every local, freed
// when the Worker exits.

const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { Worker } = require('node:worker_threads');
const tlslocal = require('..');
const { Local, stats } = tlslocal;
const { loadHelper, uniqueName } = require('./support.js');

const WORKER = path.join(__dirname, 'fixtures', 'worker.js');

// Run n Workers on task; resolves with their results once every one has exited (joined).
function runWorkers(n, task, data = {}) {
  const counter = new Int32Array(new SharedArrayBuffer(4));
  return Promise.all(Array.from({ length: n }, (_, index) => new Promise((resolve, reject) => {
    const worker = new Worker(WORKER, {
      workerData: { task, index, counter, parties: n, ...data },
    });
    const messages = [];
    worker.on('message', (message) => messages.push(message));
    worker.on('error', reject);
    worker.on('exit', (code) => {
      if (code !== 0) reject(new Error(`worker ${index} exited with ${code}`));
      else resolve(messages);
    });
  })));
}

test('each Worker sees its own dictionary of a named local; main sees none of theirs', async () => {
  const name = uniqueName('workers');
  const main = Local.open(name);
  main.set('who', 'main');
  const results = await runWorkers(4, 'ownDict', { name });
  const threadIds = new Set([String(tlslocal.threadId())]);
  results.forEach(([{ result }], index) => {
    assert.deepEqual(result.seenFirst, {}, 'a Worker starts with an empty dictionary');
    assert.deepEqual(result.after, { who: `worker ${index}`, index });
    assert.equal(result.cRead, `worker ${index}`, 'C on the Worker\'s thread reads its value');
    threadIds.add(result.threadId);
  });
  assert.equal(threadIds.size, 5, 'five threads as the library sees them');
  assert.deepEqual(main.toObject(), { who: 'main' }, 'nothing the Workers wrote shows in main');
  assert.equal(loadHelper().readString(name, 'who'), 'main');
  main.close();
  Local.unregister(name);
});

test('a Worker\'s dictionaries and Locals are freed when it exits', async () => {
  const name = uniqueName('workers');
  const main = Local.open(name); // keeps the named local alive across the Workers
  const before = stats();
  const results = await runWorkers(3, 'leave', { name });
  const during = results[0][0].result;
  assert.equal(during.dicts, before.dicts + 9,
    'while they ran: 3 named and 3 unnamed dicts, and each Worker\'s of the binding\'s keeper');
  assert.equal(during.locals, before.locals + 3, 'and 3 unnamed locals');
  assert.equal(during.threads, before.threads + 3);
  // 'exit' fires after the Worker's thread was joined: its thread-exit cleanup has run.
  assert.deepEqual(stats(), before);
  main.close();
  Local.unregister(name);
});

test('a handle released at the Worker\'s exit gives an error there, not a crash', async () => {
  const [messages] = await runWorkers(1, 'useAfterExit');
  assert.deepEqual(messages, [{ result: 'set' }, { late: 'TL_ERR_INVALID_ARGUMENT' }]);
});

test('a terminated Worker\'s dictionaries and unclosed Locals are freed too', async () => {
  const name = uniqueName('workers');
  const main = Local.open(name);
  const before = stats();
  const worker = new Worker(WORKER, { workerData: { task: 'hang', name } });
  await new Promise((resolve, reject) => {
    worker.on('message', resolve);
    worker.on('error', reject);
  });
  const during = stats();
  assert.equal(during.dicts, before.dicts + 3, 'the named, the unnamed and the keeper\'s');
  assert.equal(during.locals, before.locals + 1, 'its unclosed new Local()');
  await worker.terminate();
  const after = stats();
  assert.equal(after.dicts, before.dicts, 'the thread exit freed its dictionaries');
  assert.equal(after.values, before.values);
  assert.equal(after.threads, before.threads);
  // terminate() runs no JavaScript in the Worker ('exit' listeners, FinalizationRegistry), but
  // the references its Locals held were in its dictionary of the keeper, which its exit freed.
  assert.equal(after.locals, before.locals, 'its unclosed new Local() was destroyed');
  assert.equal(main.get('hanging'), undefined);
  main.close();
  Local.unregister(name);
});

test('many Workers in turn leave nothing behind', async () => {
  const name = uniqueName('workers');
  const main = Local.open(name);
  const before = stats();
  for (let round = 0; round < 3; round++) await runWorkers(4, 'ownDict', { name });
  assert.deepEqual(stats(), before);
  main.close();
  Local.unregister(name);
});
