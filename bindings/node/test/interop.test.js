'use strict';
// SPDX-License-Identifier: LGPL-2.1-or-later
// C code called from the same thread sees what JavaScript wrote, and the other way round; another
// thread sees neither. The C side is test/tl-nodehelper.c.

const test = require('node:test');
const assert = require('node:assert/strict');
const { Local, NativePointer, stats } = require('..');
const { loadHelper, uniqueName } = require('./support.js');

const helper = loadHelper();

test('C reads what JavaScript wrote, on the same thread', () => {
  const name = uniqueName('interop');
  const ctx = Local.open(name).view;
  ctx.requestId = 'a1';
  assert.equal(helper.readString(name, 'requestId'), 'a1');
  ctx.requestId = 'b2';
  assert.equal(helper.readString(name, 'requestId'), 'b2', 'C sees every write at once');
  ctx.user = { id: 7, name: 'ada' };
  ctx.count = 3;
  assert.equal(helper.describe(name, 'user'), "a{sv}|{'id': <int64 7>, 'name': <'ada'>}");
  assert.equal(helper.describe(name, 'count'), 'x|int64 3');
  delete ctx.requestId;
  assert.equal(helper.readString(name, 'requestId'), null, 'C sees the delete');
  assert.equal(helper.readString(name, 'missing'), null);
  ctx[Symbol.dispose || Symbol.for('nodejs.dispose')]();
  Local.unregister(name);
});

test('JavaScript reads what C wrote, on the same thread', () => {
  const name = uniqueName('interop');
  const local = Local.open(name);
  assert.equal(helper.setText(name, 'deadline', 'x', '1700000000'), 0);
  assert.equal(helper.setText(name, 'user', null, "{'id': <int32 9>, 'roles': <['a', 'b']>}"), 0);
  assert.equal(local.get('deadline'), 1700000000);
  assert.deepEqual(local.get('user'), { id: 9, roles: ['a', 'b'] });
  assert.deepEqual(local.keys(), ['deadline', 'user']);
  local.close();
  Local.unregister(name);
});

test('an unnamed local, passed to C by address', () => {
  const local = new Local();
  local.set('k', [1.5, 2.5]);
  assert.equal(helper.describeAddress(local.address, 'k'), 'ad|[1.5, 2.5]');
  local.close();
});

test('another thread sees nothing of this thread\'s dictionary', () => {
  const name = uniqueName('interop');
  const local = Local.open(name);
  local.set('mine', 'main thread only');
  assert.equal(helper.describe(name, 'mine'), "s|'main thread only'");
  assert.equal(helper.describeInNewThread(name, 'mine'), null);
  local.close();
  Local.unregister(name);
});

test('C pointer values: read as NativePointer; their destroy runs when JavaScript drops them', () => {
  const name = uniqueName('interop');
  const local = Local.open(name);
  const destroyed = helper.pointersDestroyed();
  assert.equal(helper.setPointer(name, 'obj', 0xabcn), 0);
  assert.equal(local.typeOf('obj'), 'p');
  const pointer = local.get('obj');
  assert.ok(pointer instanceof NativePointer);
  assert.equal(pointer.address, 0xabcn);
  local.set('obj', 'overwritten');
  assert.equal(helper.pointersDestroyed(), destroyed + 1, 'an overwrite releases it');
  helper.setPointer(name, 'obj', 1n);
  local.delete('obj');
  assert.equal(helper.pointersDestroyed(), destroyed + 2, 'a delete releases it');
  helper.setPointer(name, 'obj', 1n);
  local.clear();
  assert.equal(helper.pointersDestroyed(), destroyed + 3, 'a clear releases it');
  helper.setPointer(name, 'obj', 1n);
  local.close();
  Local.unregister(name);
  assert.equal(helper.pointersDestroyed(), destroyed + 4,
    'destroying the local (last reference gone) releases it');
});

test('a local destroyed from JavaScript frees what C stored in it', () => {
  const before = stats();
  const name = uniqueName('interop');
  const local = Local.open(name);
  helper.setText(name, 'a', null, "[1, 2, 3]");
  helper.setText(name, 'b', null, "{'x': <'y'>}");
  Local.unregister(name);
  local.close();
  assert.deepEqual(stats(), before);
});

test('reads never serve a stale value: C\'s writes on this thread are seen at once', () => {
  const name = uniqueName('interop');
  const local = Local.open(name);
  const other = Local.open(name);
  local.set('n', 1);
  assert.equal(local.get('n'), 1);
  assert.equal(local.get('absent'), undefined);
  assert.equal(local.has('absent'), false);
  helper.setText(name, 'n', 'x', '2'); // C overwrites what was just read
  assert.equal(local.get('n'), 2);
  helper.setText(name, 'absent', 's', "'now here'");
  assert.equal(local.has('absent'), true);
  assert.equal(local.get('absent'), 'now here');
  other.delete('absent'); // another handle of the same local
  assert.equal(local.get('absent', 'gone'), 'gone');
  other.set('n', 3);
  assert.equal(local.get('n'), 3);
  const unrelated = new Local();
  unrelated.set('x', 1);
  assert.equal(local.get('n'), 3, 'a change to another local is harmless too');
  unrelated.close();
  require('..').clearThread();
  assert.equal(local.get('n'), undefined, 'clearThread() is seen');
  // Objects are never cached: each read is a new copy.
  local.set('o', { a: [1] });
  assert.notEqual(local.get('o'), local.get('o'));
  assert.deepEqual(local.get('o'), { a: [1] });
  local.close();
  other.close();
  Local.unregister(name);
});
