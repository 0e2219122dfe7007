'use strict';
// SPDX-License-Identifier: LGPL-2.1-or-later
// A Local is per OS thread, not per async context (README.md, "Threads, lifetimes, errors"): the
// asynchronous tasks of one thread share its dictionary. The right pattern for per-request
// context that C reads: keep it in AsyncLocalStorage and set the Local synchronously before each
// native call.

const test = require('node:test');
const assert = require('node:assert/strict');
const { AsyncLocalStorage } = require('node:async_hooks');
const { setImmediate: tick } = require('node:timers/promises');
const { Local } = require('..');
const { loadHelper, uniqueName } = require('./support.js');

const helper = loadHelper();

test('two async tasks interleaving on one thread see the same dictionary', async () => {
  const name = uniqueName('async');
  const local = Local.open(name);
  const seen = [];
  async function request(id) {
    local.set('requestId', id);
    await tick(); // the other request runs here, on this same thread
    seen.push([id, local.get('requestId'), helper.readString(name, 'requestId')]);
  }
  await Promise.all([request('a'), request('b')]);
  // Request a stored 'a', then b stored 'b' over it: both, and C, read b's value.
  assert.deepEqual(seen, [['a', 'b', 'b'], ['b', 'b', 'b']]);
  assert.equal(local.size, 1, 'one dictionary, one key');
  local.close();
  Local.unregister(name);
});

test('context in AsyncLocalStorage, set in the Local synchronously before each C call', async () => {
  const name = uniqueName('async');
  const local = Local.open(name);
  const als = new AsyncLocalStorage();
  // The one place that calls C: sets the Local from the async context, then calls, synchronously.
  function callC() {
    local.set('requestId', als.getStore().requestId);
    return helper.readString(name, 'requestId');
  }
  const seen = [];
  async function request(id) {
    await als.run({ requestId: id }, async () => {
      seen.push([id, callC()]);
      await tick(); // the other request calls C here
      seen.push([id, callC()]);
    });
  }
  await Promise.all([request('a'), request('b')]);
  assert.deepEqual(seen, [['a', 'a'], ['b', 'b'], ['a', 'a'], ['b', 'b']]);
  local.close();
  Local.unregister(name);
});
