'use strict';
// SPDX-License-Identifier: LGPL-2.1-or-later
// The read cache: a Local answers reads of what this thread wrote or read from memory while the
// thread's change counter stands still. Whatever it answers must be what C holds, and every read of
// a container must give the caller a copy of its own.

const test = require('node:test');
const assert = require('node:assert/strict');
const { Worker } = require('node:worker_threads');
const path = require('node:path');
const { Local } = require('..');
const { raw } = require('../_ffi.js');
const { loadHelper, uniqueName } = require('./support.js');

const helper = loadHelper();

test('a read after the own write gives what was written, as C reads it', () => {
  const name = uniqueName('cache');
  const local = Local.open(name);
  const values = [
    ['n', 5, 'x|int64 5'], ['f', 1.5, 'd|1.5'], ['z', -0, 'd|-0.0'], ['s', 'text', "s|'text'"],
    ['b', true, 'b|true'], ['big', 2n ** 60n, 'x|int64 1152921504606846976'],
    ['small', 5n, 'x|int64 5'], ['u', 2n ** 64n - 1n, 't|uint64 18446744073709551615'],
    ['null', null, 'mv|@mv nothing'],
  ];
  for (let round = 0; round < 50; round++) {
    for (const [key, value, described] of values) {
      local.set(key, value);
      const expected = typeof value === 'bigint' && value <= 2n ** 53n ? Number(value) : value;
      assert.ok(Object.is(local.get(key), expected), `${key} round ${round}`);
      assert.equal(helper.describe(name, key), described);
      assert.ok(local.has(key));
    }
    local.delete('n');
    assert.equal(local.get('n'), undefined);
    assert.equal(local.has('n'), false);
    assert.equal(local.get('n', 'default'), 'default');
  }
  local.close();
});

test('a container read back is a copy of its own: neither the caller nor the writer changes it', () => {
  const local = new Local();
  const stored = { list: [1, 2], inner: { a: 'x' }, bytes: Buffer.from('abc') };
  const top = Buffer.from('raw');
  local.set('o', stored);
  local.set('b', top);
  stored.list.push(3); // the writer's object changes after the write: the stored value does not
  stored.inner.a = 'changed';
  stored.bytes[0] = 0;
  top[0] = 0;
  for (let i = 0; i < 20; i++) {
    const read = local.get('o');
    assert.deepEqual(read, { list: [1, 2], inner: { a: 'x' }, bytes: Buffer.from('abc') });
    assert.ok(Buffer.isBuffer(read.bytes));
    read.list.push(99); // the reader's copy changes: the next read does not
    read.inner.a = 'mine';
    read.bytes[1] = 0;
    delete read.list;
    const bytes = local.get('b');
    assert.deepEqual(bytes, Buffer.from('raw'));
    bytes.fill(7);
  }
  assert.notEqual(local.get('o'), local.get('o'));
  local.close();
});

test('what C, another Local or Python-like code changes is seen at the next read', () => {
  const name = uniqueName('cache');
  const a = Local.open(name);
  const b = Local.open(name); // another handle of the same local: a cache of its own
  for (let round = 0; round < 100; round++) {
    a.set('k', round);
    assert.equal(a.get('k'), round);
    assert.equal(b.get('k'), round);
    b.set('k', `b${round}`);
    assert.equal(a.get('k'), `b${round}`, 'a write through the other handle');
    assert.equal(helper.setText(name, 'k', 'x', String(-round - 1)), 0);
    assert.equal(a.get('k'), -round - 1, 'a write by C');
    assert.equal(b.get('k'), -round - 1);
    a.set('o', { round });
    assert.deepEqual(b.get('o'), { round });
    assert.equal(helper.setText(name, 'o', 'a{sv}', `{'c': <${round}>}`), 0);
    assert.deepEqual(a.get('o'), { c: round }, 'a container written by C');
    b.delete('k');
    assert.equal(a.get('k'), undefined, 'a delete through the other handle');
    assert.equal(a.has('k'), false);
    raw.tl_local_set_int64(b.address, 'k', round); // a write below the binding
    assert.equal(a.get('k'), round);
  }
  a.clear();
  assert.equal(b.get('o'), undefined);
  a.close();
  b.close();
});

test('a write to another key keeps the cache, a write to another local does not fool it', () => {
  const local = new Local();
  const other = new Local();
  local.set('a', 1);
  local.set('b', { x: 1 });
  for (let i = 0; i < 100; i++) {
    local.set('c', i);
    other.set('a', -i);
    assert.equal(local.get('a'), 1);
    assert.deepEqual(local.get('b'), { x: 1 });
    assert.equal(local.get('c'), i);
    assert.equal(other.get('a'), -i);
  }
  local.close();
  other.close();
});

test('each Worker reads its own writes, never the main thread\'s cached ones', async () => {
  const name = uniqueName('cache');
  const local = Local.open(name);
  local.set('who', 'main');
  local.set('obj', { who: 'main' });
  assert.equal(local.get('who'), 'main');
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    const { Local } = require(workerData.binding);
    const local = Local.open(workerData.name);
    const seen = [local.get('who'), local.get('obj')];
    for (let i = 0; i < 200; i++) {
      local.set('who', 'worker' + i);
      if (local.get('who') !== 'worker' + i) throw new Error('read after write ' + i);
      local.set('obj', { i });
      if (local.get('obj').i !== i) throw new Error('container read after write ' + i);
    }
    parentPort.postMessage(seen);`;
  const workers = Array.from({ length: 3 }, () => new Promise((resolve, reject) => {
    const worker = new Worker(code, {
      eval: true, workerData: { name, binding: path.join(__dirname, '..') },
    });
    let message = null;
    worker.on('message', (m) => { message = m; });
    worker.on('error', reject);
    worker.on('exit', (code) => (code === 0 ? resolve(message) : reject(new Error(`exit ${code}`))));
  }));
  for (const seen of await Promise.all(workers)) assert.deepEqual(seen, [undefined, undefined]);
  assert.equal(local.get('who'), 'main');
  assert.deepEqual(local.get('obj'), { who: 'main' });
  local.close();
});
