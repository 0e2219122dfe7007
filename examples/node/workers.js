// SPDX-License-Identifier: LGPL-2.1-or-later
// Each worker_threads Worker is its own OS thread, so one named local gives each Worker its own
// dictionary, and the main thread sees none of theirs.
//
//   TLSLOCAL_LIBRARY=build/libtlslocal/libtlslocal.so.1 node examples/node/workers.js
'use strict';
const assert = require('node:assert');
const path = require('node:path');
const { Worker, isMainThread, workerData, parentPort } = require('node:worker_threads');
const { Local } = require(path.join(__dirname, '..', '..', 'bindings', 'node'));

if (isMainThread) {
  const ctx = Local.open('request').view;
  ctx.requestId = 'main';
  const ids = ['w-1', 'w-2', 'w-3'];
  let done = 0;
  const seen = {};
  for (const id of ids) {
    const worker = new Worker(__filename, { workerData: id });
    worker.on('message', (message) => { seen[id] = message; });
    worker.on('exit', () => {
      if (++done < ids.length) return;
      for (const id of ids) console.log(`${id}: saw requestId=${seen[id].mine}, user=${seen[id].user}`);
      console.log(`main: requestId=${ctx.requestId} (untouched by the workers)`);
      ids.forEach((id) => assert.deepStrictEqual(seen[id], { mine: id, user: `user-of-${id}` }));
      assert.strictEqual(ctx.requestId, 'main');
      Local.unregister('request');
    });
  }
} else {
  const local = Local.open('request');
  const ctx = local.view;
  assert.strictEqual(ctx.requestId, undefined); // a fresh dict in this thread
  ctx.requestId = workerData;
  ctx.user = `user-of-${workerData}`;
  parentPort.postMessage({ mine: ctx.requestId, user: ctx.user });
  local.close();
}
