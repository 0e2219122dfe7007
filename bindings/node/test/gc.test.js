'use strict';
// SPDX-License-Identifier: LGPL-2.1-or-later
// The FinalizationRegistry safety net: a Local dropped without close() releases its reference
// once it is garbage collected.

const test = require('node:test');
const assert = require('node:assert/strict');
const { Local, stats } = require('..');
const { eventually, gc } = require('./support.js');

test('an unreachable Local is released by the garbage collector', async () => {
  gc();
  const before = stats();
  (() => {
    for (let i = 0; i < 20; i++) {
      const local = new Local();
      local.set('payload', { index: i, list: [1, 2, 3] });
      local.view.other = 'x'; // the view keeps its Local alive only while it is reachable
    }
  })();
  assert.equal(stats().locals, before.locals + 20);
  assert.ok(await eventually(() => stats().locals === before.locals),
    `locals still alive: ${stats().locals - before.locals}`);
  const after = stats();
  assert.equal(after.dicts, before.dicts, 'their dictionaries went with them');
  assert.equal(after.values, before.values, 'and their values');
});

test('a reachable view keeps its Local alive; a closed Local is not released twice', async () => {
  const before = stats();
  let view = new Local().view;
  view.k = 1;
  const closed = new Local();
  closed.set('k', 2);
  closed.close();
  gc();
  await new Promise((resolve) => setTimeout(resolve, 20));
  gc();
  assert.equal(view.k, 1);
  assert.equal(stats().locals, before.locals + 1);
  view = null;
  assert.ok(await eventually(() => stats().locals === before.locals));
  assert.equal(stats().locals, before.locals);
});

test('garbage-collected handles of a named local leave it to the registry', async () => {
  const name = `gc-${process.pid}`;
  const keep = Local.open(name);
  keep.set('k', 'v');
  const before = stats();
  (() => {
    for (let i = 0; i < 10; i++) Local.open(name).set('k', 'v');
  })();
  await eventually(() => false, 200); // collect a few times
  assert.equal(stats().locals, before.locals, 'the named local lives on');
  assert.equal(keep.get('k'), 'v');
  keep.close();
  Local.unregister(name);
});
