'use strict';
// SPDX-License-Identifier: LGPL-2.1-or-later
// The binary form written and read in JavaScript (_gvariant.js): the bytes the encoder writes for a
// value are exactly the bytes C gives for the same value built item by item with the constructors,
// and what the decoder reads from C's bytes is what the per-item accessors read; for chosen values
// and for many random ones.

const test = require('node:test');
const assert = require('node:assert/strict');
const { Local } = require('..');
const { lib, raw, crt } = require('../_ffi.js');
const convert = require('../_convert.js');
const gvariant = require('../_gvariant.js');
const { loadHelper, uniqueName } = require('./support.js');

const outPtr = new BigUint64Array(1);
const outSize = new BigUint64Array(1);

// C's binary form of the TlValue v, as a Buffer.
function serialize(v) {
  lib.tl_value_serialize(v, outPtr, outSize);
  const size = Number(outSize[0]);
  const bytes = Buffer.alloc(size);
  try {
    if (size > 0) crt.memcpy(bytes, outPtr[0], size);
  } finally {
    raw.tl_free(outPtr[0]);
  }
  return bytes;
}

function printed(v) {
  const text = lib.tl_value_print(v, 1);
  try {
    return require('koffi').decode(text, 'char', -1);
  } finally {
    raw.tl_free(text);
  }
}

// Build x both ways and compare: type, bytes, equality in C, and what each reads back as.
function checkBothWays(x, label = '') {
  const byItems = convert.toValueByItems(x);
  const binary = convert.toValue(x);
  try {
    const type = raw.tl_value_type(byItems);
    assert.equal(raw.tl_value_type(binary), type, `${label} type`);
    const bytes = serialize(byItems);
    assert.deepEqual(serialize(binary), bytes, `${label} bytes of ${printed(byItems)}`);
    assert.equal(lib.tl_value_equal(binary, byItems), 1, `${label} equal in C`);
    assert.equal(printed(binary), printed(byItems));
    const expected = convert.fromValue(byItems);
    assert.deepEqual(gvariant.decode(type, bytes), expected, `${label} decoded`);
    assert.deepEqual(convert.fromValue(binary), expected);
    return expected;
  } finally {
    raw.tl_value_unref(byItems);
    raw.tl_value_unref(binary);
  }
}

test('the encoder writes the bytes the constructors make, for chosen values', () => {
  const long = 'x'.repeat(300);
  const values = [
    [], [[]], [{}], {}, { a: 1 }, [1, 2, 3], [1, 'a'], [1, 1.5], [true, false, true],
    ['', 'a', 'ab'], [null], [null, null], [null, 1], [1n, 2n ** 63n], [2n ** 63n, 2n ** 64n - 1n],
    [-1, -(2 ** 53 - 1), 2 ** 53 - 1, -0, NaN, Infinity, -Infinity, 0.1],
    [Buffer.from('ab'), Buffer.alloc(0)], [new Uint8Array([1, 2, 3]).buffer], [Buffer.alloc(0)],
    { bytes: Buffer.from([0, 1, 2]), empty: Buffer.alloc(0), ab: new ArrayBuffer(3) },
    { 'é': 'ü', 'ключ': '値', emoji: '😀 ok', '': 'empty key' },
    [[1, 2], [3]], [[1], ['a']], [[1, 'a'], [2, 'b']], [{ a: 1 }, { b: 'x' }], [[], []],
    { nested: { deeper: { deepest: [1, { x: null }] } } },
    { proto: Object.create(null) }, JSON.parse('{"__proto__": {"x": 1}}'),
    [long, long, long], { [long]: long }, Array.from({ length: 300 }, (_, i) => `s${i}`),
    Array.from({ length: 100 }, (_, i) => ({ i, s: 'x'.repeat(i) })),
    // Containers past 255 and 65535 bytes: 2- and 4-byte framing offsets, at every level.
    { big: 'y'.repeat(70000), list: ['z'.repeat(70000), 'a'], small: 1 },
    [Buffer.alloc(70000, 1), Buffer.alloc(3)],
  ];
  for (const [index, value] of values.entries()) checkBothWays(value, `value ${index}`);
});

test('the decoder reads what the accessors read, for values C makes of every type', () => {
  const name = uniqueName('binary');
  const local = Local.open(name);
  const helper = loadHelper();
  const cases = [
    ['b', 'true'], ['y', '200'], ['n', '-300'], ['q', '65535'], ['i', '-2147483648'],
    ['u', '4294967295'], ['x', '-9007199254740992'], ['t', '18446744073709551615'], ['h', '7'],
    ['d', '-0.0'], ['s', "'text'"], ['o', "'/org/example/Object'"], ['g', "'a{sv}'"],
    ['ay', "b'raw'"], ['ai', '[1, 2, 3]'], ['an', '[-1, 2]'], ['aq', '[1, 65535]'],
    ['ay', '[]'], ['as', '[]'], ['(isb)', "(1, 'two', true)"], ['()', '()'], ['a()', '[(), ()]'],
    ['(yx)', '(1, 2)'], ['(sy)', "('a', 3)"], ['(ys)', "(3, 'a')"], ['(ss)', "('a', 'b')"],
    ['(as(i)ay)', "(['a', 'b'], (5,), b'z')"], ['a{ss}', "{'k': 'v'}"],
    ['a{is}', "{1: 'one', 2: 'two'}"], ['a{yy}', '{1: 2, 3: 4}'], ['a{sx}', "{'a': 1, 'b': 2}"],
    ['a{xs}', "{-1: 'minus'}"], ['a{sv}', "{'n': <int32 5>, 'l': <[<'x'>, <uint64 9>]>}"],
    ['v', '<int16 3>'], ['v', "<<('a', 1)>>"], ['av', '[<1>, <byte 2>, <[1.5]>, <@mi nothing>]'],
    ['mi', 'just 4'], ['mi', 'nothing'], ['ms', "just 'in'"], ['mmi', 'just nothing'],
    ['mmi', 'just just 1'], ['mas', "just ['x']"], ['{sx}', "{'key', 1}"], ['a(sv)', "[('a', <1>)]"],
    ['aay', '[[byte 0x78], []]'], ['a{s(ii)}', "{'p': (1, 2)}"], ['ad', '[1.5, -0.0]'],
    ['a{sa{sv}}', "{'outer': {'inner': <'x'>}}"], ['(dy)', '(1.5, 2)'], ['(yd)', '(2, 1.5)'],
    ['a(yd)', '[(1, 2.5), (3, 4.5)]'], ['a(ys)', "[(1, 'a'), (2, 'bc')]"],
    ['a{s(sv)}', "{'k': ('s', <'v'>)}"],
  ];
  for (const [type, text] of cases) {
    assert.equal(helper.setText(name, 'c', type, text), 0, `C parses ${type} ${text}`);
    const value = raw.tl_local_peek(local.address, 'c');
    const expected = convert.fromValue(value);
    assert.deepEqual(gvariant.decode(type, serialize(value)), expected, `${type} ${text}`);
    assert.deepEqual(local.get('c'), expected, `${type} ${text} through get`);
  }
  local.close();
});

// A random value of the binding's mapping, depth levels deep at most.
function randomValue(random, depth) {
  const pick = Math.floor(random() * (depth > 0 ? 12 : 8));
  switch (pick) {
    case 0: return Math.floor((random() - 0.5) * 2 ** (1 + Math.floor(random() * 60)));
    case 1: return (random() - 0.5) * 10 ** Math.floor(random() * 20);
    case 2: return random() < 0.5;
    case 3: return randomString(random);
    case 4: return null;
    case 5: return BigInt.asUintN(64, BigInt(Math.floor(random() * 2 ** 53)) << 11n);
    case 6: return Buffer.from(randomString(random));
    case 7: return [-0, NaN, Infinity, 2 ** 53][Math.floor(random() * 4)];
    case 8:
    case 9: {
      const n = Math.floor(random() * 6);
      // Items of one kind half the time, so that typed arrays ("ax", "as", "aa{sv}") come up.
      const same = random() < 0.5 ? randomValue(random, depth - 1) : undefined;
      return Array.from({ length: n }, () => (same !== undefined && typeof same !== 'object' ?
        (typeof same === 'string' ? randomString(random) : same) : randomValue(random, depth - 1)));
    }
    default: {
      const object = {};
      const n = Math.floor(random() * 6);
      for (let i = 0; i < n; i++) object[randomString(random)] = randomValue(random, depth - 1);
      return object;
    }
  }
}

function randomString(random) {
  const alphabet = ['a', 'b', 'key', 'é', '値', '😀', ' ', 'long'.repeat(20)];
  let s = '';
  const n = Math.floor(random() * 5);
  for (let i = 0; i < n; i++) s += alphabet[Math.floor(random() * alphabet.length)];
  return s;
}

// A small seeded generator (mulberry32), so that a failure can be replayed.
function seeded(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('random values: both ways build the same bytes, and set/get reads them back', () => {
  const local = new Local();
  for (let seed = 1; seed <= 400; seed++) {
    const random = seeded(seed);
    const value = [randomValue(random, 5), randomValue(random, 4)];
    const expected = checkBothWays(value, `seed ${seed}`);
    local.set('r', value);
    assert.deepEqual(local.get('r'), expected, `seed ${seed} set/get`);
    local.set('other', 1); // the cache holds 'r' still: read it from the cache and from C
    assert.deepEqual(local.get('r'), expected, `seed ${seed} cached`);
  }
  local.close();
});

test('values nested past the binary form\'s bound are built item by item, errors unchanged', () => {
  const local = new Local();
  let deep = 'leaf';
  for (let i = 0; i < 60; i++) deep = [deep, 1];
  local.set('deep', deep); // "av" 60 times: 120 levels, under GVariant's limit, over ours
  assert.deepEqual(local.get('deep'), deep);
  let objects = 1;
  for (let i = 0; i < 50; i++) objects = { o: objects };
  // 150 container levels: the constructors refuse it as they did before the binary form
  assert.throws(() => local.set('deep', objects), (error) => error.code === 'TL_ERR_INVALID_ARGUMENT');
  local.close();
});
