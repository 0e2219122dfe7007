'use strict';
// SPDX-License-Identifier: LGPL-2.1-or-later
// The Local API: every method, the Proxy view, named locals, closing, and errors.

const test = require('node:test');
const assert = require('node:assert/strict');
const util = require('node:util');
const tlslocal = require('..');
const { Local, TlslocalError, stats } = tlslocal;
const { uniqueName } = require('./support.js');

const dispose = Symbol.dispose || Symbol.for('nodejs.dispose');

test('module: version, library path, stats, thread id', () => {
  assert.match(tlslocal.version, /^1\.\d+\.\d+$/);
  assert.equal(tlslocal.libraryPath, process.env.TLSLOCAL_LIBRARY);
  const s = stats();
  for (const field of ['locals', 'dicts', 'threads', 'values']) {
    assert.equal(typeof s[field], 'number');
  }
  assert.equal(typeof tlslocal.threadId(), 'bigint');
  assert.ok(tlslocal.threadId() > 0n);
  assert.equal(tlslocal.threadId(), tlslocal.threadId());
});

test('get, set, has, delete, keys, entries, size, clear, typeOf', () => {
  const local = new Local();
  try {
    assert.equal(local.size, 0);
    assert.deepEqual(local.keys(), []);
    assert.equal(local.get('a'), undefined);
    assert.equal(local.get('a', 'fallback'), 'fallback');
    assert.equal(local.has('a'), false);
    assert.equal(local.typeOf('a'), undefined);

    assert.equal(local.set('a', 1), local, 'set() returns the local, as Map#set does');
    local.set('b', 'two').set('c', [3]);
    assert.equal(local.get('a'), 1);
    assert.equal(local.get('a', 'fallback'), 1);
    assert.equal(local.has('b'), true);
    assert.equal(local.typeOf('b'), 's');
    assert.deepEqual(local.keys(), ['a', 'b', 'c'], 'insertion order');
    assert.deepEqual(local.entries(), [['a', 1], ['b', 'two'], ['c', [3]]]);
    assert.deepEqual([...local], local.entries());
    assert.deepEqual(local.toObject(), { a: 1, b: 'two', c: [3] });
    assert.equal(local.size, 3);

    local.set('a', 'replaced');
    assert.equal(local.get('a'), 'replaced');
    assert.deepEqual(local.keys(), ['a', 'b', 'c'], 'an overwrite keeps the position');

    assert.equal(local.delete('a'), true);
    assert.equal(local.delete('a'), false, 'deleting an absent key answers false');
    assert.equal(local.has('a'), false);
    assert.deepEqual(local.keys(), ['b', 'c']);

    local.clear();
    assert.equal(local.size, 0);
    assert.deepEqual(local.keys(), []);
    local.clear(); // clearing an empty dictionary is fine
  } finally {
    local.close();
  }
});

test('values read back are copies: changing them changes nothing stored', () => {
  const local = new Local();
  local.set('o', { list: [1, 2] });
  const copy = local.get('o');
  copy.list.push(3);
  assert.deepEqual(local.get('o'), { list: [1, 2] });
  local.close();
});

test('keys: any UTF-8 string, including empty, non-ASCII and __proto__', () => {
  const local = new Local();
  const keys = ['', 'ключ', '🔑', 'with space', '__proto__', 'constructor', 'a.b[0]'];
  keys.forEach((key, index) => local.set(key, index));
  assert.deepEqual(local.keys(), keys);
  keys.forEach((key, index) => assert.equal(local.get(key), index));
  const object = local.toObject();
  assert.equal(Object.getPrototypeOf(object), Object.prototype);
  assert.deepEqual(Object.keys(object), keys);
  assert.equal(object.__proto__, 4, 'an own property, not the prototype');
  local.close();
});

test('bad keys are a TypeError, never a silently different key', () => {
  const local = new Local();
  for (const key of [1, null, undefined, Symbol('k'), {}]) {
    assert.throws(() => local.set(key, 1), TypeError);
    assert.throws(() => local.get(key), TypeError);
  }
  // koffi would cut 'a\0b' to 'a' and turn a lone surrogate into U+FFFD.
  local.set('a', 'the real a');
  local.set('\uFFFD', 'replacement character');
  for (const key of ['a\0b', '\uD800', 'x\uDC00y']) {
    assert.throws(() => local.get(key), /NUL character or a lone surrogate/);
    assert.throws(() => local.set(key, 1), TypeError);
    assert.throws(() => local.has(key), TypeError);
    assert.throws(() => local.delete(key), TypeError);
  }
  assert.deepEqual(local.toObject(), { a: 'the real a', '\uFFFD': 'replacement character' });
  local.close();
});

test('a value that cannot be stored leaves the old value in place', () => {
  const local = new Local();
  local.set('k', 'old');
  assert.throws(() => local.set('k', { f() {} }), /a function \(f\) at k\.f has no typed form/);
  assert.equal(local.get('k'), 'old');
  local.close();
});

test('Local.open: the same named local from every handle; unregister', () => {
  const name = uniqueName();
  const a = Local.open(name);
  const b = Local.open(name);
  assert.equal(a.name, name);
  assert.equal(new Local().name, null);
  assert.equal(a.address, b.address, 'one C local');
  a.set('shared', 42);
  assert.equal(b.get('shared'), 42);

  assert.equal(Local.unregister(name), true);
  assert.equal(Local.unregister(name), false, 'no longer registered');
  assert.equal(a.get('shared'), 42, 'handles already opened stay valid');
  const c = Local.open(name);
  assert.notEqual(c.address, a.address, 'a later open() creates a new local');
  assert.equal(c.get('shared'), undefined);
  for (const local of [a, b, c]) local.close();
  Local.unregister(name);

  assert.throws(() => Local.open('bad\0name'), TypeError);
  assert.throws(() => Local.open(7), TypeError);
  assert.throws(() => new Local('name'), /takes no arguments/);
});

test('close(): idempotent; any later use throws TlslocalError, never crashes', () => {
  const before = stats().locals;
  const local = new Local();
  local.set('k', 1);
  const view = local.view;
  assert.equal(stats().locals, before + 1);
  assert.equal(local.closed, false);
  local.close();
  assert.equal(local.closed, true);
  assert.equal(stats().locals, before, 'the last reference went: the local is destroyed');
  local.close();
  const calls = [
    () => local.get('k'), () => local.set('k', 1), () => local.has('k'), () => local.delete('k'),
    () => local.keys(), () => local.entries(), () => local.clear(), () => local.size,
    () => local.typeOf('k'), () => local.address, () => local.toObject(), () => local.view,
    () => view.k, () => { view.k = 1; }, () => Object.keys(view), () => 'k' in view,
  ];
  for (const call of calls) {
    assert.throws(call, (error) => error instanceof TlslocalError &&
      error.code === 'TL_ERR_INVALID_ARGUMENT' && /closed/.test(error.message));
  }
  assert.match(util.inspect(local), /closed/);
});

test('Symbol.dispose closes (what `using` calls)', () => {
  const before = stats().locals;
  const local = new Local();
  {
    // `using local = new Local()` compiles to this try/finally.
    try {
      local.set('k', 1);
    } finally {
      local[dispose]();
    }
  }
  assert.equal(local.closed, true);
  assert.equal(stats().locals, before);
  const other = new Local();
  other.view[dispose]();
  assert.equal(other.closed, true, 'the view disposes of its local too');
});

test('closing one handle of a named local leaves the others working', () => {
  const name = uniqueName();
  const a = Local.open(name);
  const b = Local.open(name);
  a.set('k', 'v');
  a.close();
  assert.equal(b.get('k'), 'v');
  b.close();
  const c = Local.open(name);
  assert.equal(c.get('k'), 'v', 'the registry keeps the local and this thread\'s dictionary');
  c.close();
  Local.unregister(name);
});

test('a destroyed local frees this thread\'s dictionary and its values', () => {
  const before = stats();
  const local = new Local();
  local.set('a', { nested: ['x', 'y'] }).set('b', 2);
  assert.equal(stats().dicts, before.dicts + 1);
  assert.ok(stats().values > before.values);
  local.close();
  assert.deepEqual(stats(), before);
});

test('clearThread() frees the calling thread\'s dictionaries in every local', () => {
  const local = new Local();
  const name = uniqueName();
  const named = Local.open(name);
  local.set('k', 1);
  named.set('k', 2);
  tlslocal.clearThread();
  assert.equal(local.get('k'), undefined);
  assert.equal(named.get('k'), undefined);
  local.set('k', 3);
  assert.equal(local.get('k'), 3, 'the thread may use locals again');
  local.close();
  named.close();
  Local.unregister(name);
});

test('clearThread() keeps open Locals open, though it frees the dictionary holding them', () => {
  const before = stats();
  const local = new Local(); // the only reference to this local is this thread's JavaScript's
  const name = uniqueName();
  const named = Local.open(name);
  local.set('k', { a: [1] });
  tlslocal.clearThread();
  assert.equal(stats().locals, before.locals + 2, 'both still alive');
  assert.equal(local.get('k'), undefined);
  local.set('k', 2);
  named.set('k', 3);
  assert.deepEqual([local.get('k'), named.get('k')], [2, 3]);
  tlslocal.clearThread();
  tlslocal.clearThread();
  local.close();
  named.close();
  Local.unregister(name);
  assert.equal(stats().locals, before.locals, 'closing still releases them');
});

test('view: get, set, delete, has/in, ownKeys, Object.keys, spread, JSON', () => {
  const local = new Local();
  const ctx = local.view;
  assert.equal(local.view, ctx, 'one view per Local');
  ctx.requestId = 'a1';
  ctx.user = { id: 7, roles: ['admin'] };
  assert.equal(ctx.requestId, 'a1');
  assert.equal(local.get('requestId'), 'a1', 'the view writes the local');
  assert.deepEqual(ctx.user, { id: 7, roles: ['admin'] });
  assert.equal(ctx.missing, undefined);
  assert.equal('requestId' in ctx, true);
  assert.equal('missing' in ctx, false);
  assert.deepEqual(Object.keys(ctx), ['requestId', 'user']);
  assert.deepEqual(Reflect.ownKeys(ctx), ['requestId', 'user']);
  assert.deepEqual(Object.entries(ctx), [['requestId', 'a1'], ['user', { id: 7, roles: ['admin'] }]]);
  assert.deepEqual({ ...ctx }, { requestId: 'a1', user: { id: 7, roles: ['admin'] } });
  assert.equal(JSON.stringify(ctx), '{"requestId":"a1","user":{"id":7,"roles":["admin"]}}');
  assert.deepEqual(Object.getOwnPropertyDescriptor(ctx, 'requestId'),
    { value: 'a1', writable: true, enumerable: true, configurable: true });
  assert.equal(Object.getOwnPropertyDescriptor(ctx, 'missing'), undefined);
  assert.equal(Object.hasOwn(ctx, 'user'), true);
  const keys = [];
  for (const key in ctx) keys.push(key);
  assert.deepEqual(keys, ['requestId', 'user']);

  assert.equal(delete ctx.requestId, true);
  assert.equal(delete ctx.requestId, true, 'deleting an absent property is true, as in JS');
  assert.equal(local.has('requestId'), false);
  Object.defineProperty(ctx, 'defined', { value: 5, enumerable: true, configurable: true });
  assert.equal(local.get('defined'), 5);
  assert.throws(() => Object.defineProperty(ctx, 'getter', { get() { return 1; } }), TypeError);
  assert.throws(() => { ctx[Symbol('s')] = 1; }, TypeError);
  assert.equal(ctx[Symbol('s')], undefined);
  assert.equal(Symbol('s') in ctx, false);
  assert.throws(() => { ctx.bad = () => 1; }, TypeError, 'the mapping errors come through');
  assert.throws(() => Object.setPrototypeOf(ctx, {}), TypeError);
  assert.throws(() => Object.freeze(ctx), TypeError);
  assert.equal(Object.prototype.toString.call(ctx), '[object tlslocal.View]');
  // A view is a plain object to the mapping: storing one stores a copy of its dictionary.
  const other = new Local();
  other.set('snapshot', ctx);
  assert.deepEqual(other.get('snapshot'), { user: { id: 7, roles: ['admin'] }, defined: 5 });
  other.close();
  local.close();
});

test('util.inspect shows the dictionary', () => {
  const local = Local.open(uniqueName('inspect'));
  local.set('a', 1);
  assert.match(util.inspect(local), /^Local "inspect-.*" \{ a: 1 \}$/);
  assert.match(util.inspect(local.view), /a: 1/);
  Local.unregister(local.name);
  local.close();
});

test('errors from C carry the status, its name and the library message', () => {
  const error = new TlslocalError(-3, 'TL_ERR_NOT_FOUND', 'detail');
  assert.equal(error.name, 'TlslocalError');
  assert.equal(error.message, 'TL_ERR_NOT_FOUND (-3): detail');
  assert.ok(error instanceof Error);
});
