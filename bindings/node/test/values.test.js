'use strict';
// SPDX-License-Identifier: LGPL-2.1-or-later
// The value mapping, both ways, with its edges: what JavaScript stores is checked by its type
// string (typeOf) and by what C prints; what C stores (parsed text) is checked as JavaScript reads it.

const test = require('node:test');
const assert = require('node:assert/strict');
const { Local, NativePointer, MAX_DEPTH, stats } = require('..');
const { loadHelper, uniqueName } = require('./support.js');

const name = uniqueName('values');
const local = Local.open(name);
const helper = loadHelper();

// Store value, check its type string, the text C prints, and what reads back.
function roundTrip(value, type, printed, readBack = value) {
  local.set('k', value);
  assert.equal(local.typeOf('k'), type, `type of ${typeof value} ${type}`);
  if (printed !== undefined) assert.equal(helper.describe(name, 'k'), `${type}|${printed}`);
  const back = local.get('k');
  assert.deepEqual(back, readBack);
  return back;
}

test('numbers: safe integers are int64, everything else double', () => {
  roundTrip(0, 'x', 'int64 0');
  roundTrip(42, 'x', 'int64 42');
  roundTrip(-7, 'x', 'int64 -7');
  roundTrip(2 ** 53 - 1, 'x', 'int64 9007199254740991');
  roundTrip(-(2 ** 53 - 1), 'x', 'int64 -9007199254740991');
  roundTrip(2 ** 53, 'd', '9007199254740992.0');
  roundTrip(-(2 ** 53), 'd', '-9007199254740992.0');
  roundTrip(1e300, 'd');
  roundTrip(1.5, 'd', '1.5');
  roundTrip(0.1, 'd', '0.10000000000000001');
  roundTrip(Number.MIN_VALUE, 'd');
  roundTrip(Number.MAX_VALUE, 'd');
  roundTrip(Infinity, 'd', 'inf');
  roundTrip(-Infinity, 'd', '-inf');
  assert.ok(Number.isNaN(roundTrip(NaN, 'd', 'nan', NaN)));
  assert.ok(Object.is(roundTrip(-0, 'd', '-0.0', -0), -0), '-0 keeps its sign');
  assert.ok(Object.is(roundTrip(0, 'x', 'int64 0'), 0));
});

test('bigints: int64, then uint64, else RangeError; read back as numbers when safe', () => {
  roundTrip(5n, 'x', 'int64 5', 5);
  roundTrip(-5n, 'x', 'int64 -5', -5);
  roundTrip(2n ** 53n - 1n, 'x', 'int64 9007199254740991', 2 ** 53 - 1);
  roundTrip(2n ** 53n, 'x', 'int64 9007199254740992', 2n ** 53n);
  roundTrip(-(2n ** 53n), 'x', 'int64 -9007199254740992', -(2n ** 53n));
  roundTrip(2n ** 53n + 1n, 'x', 'int64 9007199254740993', 2n ** 53n + 1n);
  roundTrip(2n ** 63n - 1n, 'x', 'int64 9223372036854775807', 2n ** 63n - 1n);
  roundTrip(-(2n ** 63n), 'x', 'int64 -9223372036854775808', -(2n ** 63n));
  roundTrip(2n ** 63n, 't', 'uint64 9223372036854775808', 2n ** 63n);
  roundTrip(2n ** 64n - 1n, 't', 'uint64 18446744073709551615', 2n ** 64n - 1n);
  for (const n of [2n ** 64n, -(2n ** 63n) - 1n, 10n ** 30n]) {
    assert.throws(() => local.set('big', n), RangeError);
  }
  assert.throws(() => local.set('big', [1n, 2n ** 64n]), /bigint 18446744073709551616 at big\[1\]/);
});

test('strings, booleans, null, bytes', () => {
  roundTrip('', 's', "''");
  roundTrip('hello', 's', "'hello'");
  roundTrip('ünïcødé 🎉 中文', 's', "'ünïcødé 🎉 中文'");
  roundTrip("it's \"quoted\"\n", 's');
  roundTrip('x'.repeat(100000), 's');
  roundTrip(true, 'b', 'true');
  roundTrip(false, 'b', 'false');
  roundTrip(null, 'mv', '@mv nothing');
  roundTrip(Buffer.from([0, 1, 2, 255]), 'ay', '[byte 0x00, 0x01, 0x02, 0xff]');
  roundTrip(Buffer.alloc(0), 'ay', "@ay []");
  const bytes = local.get('k');
  assert.ok(Buffer.isBuffer(bytes));
  roundTrip(new Uint8Array([104, 105]), 'ay', '[byte 0x68, 0x69]', Buffer.from('hi'));
  const big = new Uint8Array([9, 8, 7, 6, 5]);
  roundTrip(big.subarray(1, 4), 'ay', undefined, Buffer.from([8, 7, 6]));
  roundTrip(new Uint8Array([1, 2]).buffer, 'ay', undefined, Buffer.from([1, 2]));
  for (const bad of ['a\0b', '\uD800', 'ok\uDFFF']) {
    assert.throws(() => local.set('s', bad), /NUL character or a lone surrogate/);
  }
});

test('arrays: one item type gives aT, mixed types av, [] is av', () => {
  roundTrip([], 'av', '@av []');
  roundTrip([1, 2, 3], 'ax', '[int64 1, 2, 3]');
  roundTrip([1.5, 2.5], 'ad', '[1.5, 2.5]');
  roundTrip([1, 2.5], 'av', '[<int64 1>, <2.5>]');
  roundTrip(['a', 'b'], 'as', "['a', 'b']");
  roundTrip([true, 1], 'av');
  roundTrip([null, null], 'amv');
  roundTrip([[1, 2], [3]], 'aax', '[[int64 1, 2], [3]]');
  roundTrip([[1], ['a']], 'av');
  roundTrip([[], []], 'aav');
  roundTrip([Buffer.from('x'), Buffer.from('yz')], 'aay', undefined,
    [Buffer.from('x'), Buffer.from('yz')]);
  roundTrip([{ a: 1 }, { b: 'two' }], 'aa{sv}');
  roundTrip([2n ** 63n, 1n], 'av', undefined, [2n ** 63n, 1]);
  assert.throws(() => local.set('a', [1, , 3]), /hole at index 1/); // eslint-disable-line no-sparse-arrays
  assert.throws(() => local.set('a', [1, undefined]), /undefined at a\[1\]/);
});

test('plain objects: a{sv}, nested, with null prototype, read back as plain objects', () => {
  roundTrip({}, 'a{sv}', '@a{sv} {}');
  roundTrip({ a: 1, b: 'x' }, 'a{sv}', "{'a': <int64 1>, 'b': <'x'>}");
  const nested = { user: { id: 7, tags: ['x', 'y'], meta: { deep: [{ z: null }] } }, n: 1.5 };
  roundTrip(nested, 'a{sv}');
  const bare = Object.create(null);
  bare.k = 'v';
  const back = roundTrip(bare, 'a{sv}', undefined, { k: 'v' });
  assert.equal(Object.getPrototypeOf(back), Object.prototype);
  const withProto = JSON.parse('{"__proto__": {"x": 1}, "y": 2}');
  const read = roundTrip(withProto, 'a{sv}', "{'__proto__': <{'x': <int64 1>}>, 'y': <int64 2>}");
  assert.equal(Object.getPrototypeOf(read), Object.prototype, 'no prototype pollution');
  assert.deepEqual(Object.keys(read), ['__proto__', 'y']);
  assert.deepEqual(Object.getOwnPropertyDescriptor(read, '__proto__').value, { x: 1 });
  roundTrip({ 'ключ': 1, '': 2 }, 'a{sv}');
  // Only own enumerable string keys count.
  const withHidden = { shown: 1 };
  Object.defineProperty(withHidden, 'hidden', { value: 2, enumerable: false });
  roundTrip(withHidden, 'a{sv}', undefined, { shown: 1 });
});

test('containers of any size, keys of any width: the arrays C reads are native memory', () => {
  // Keys of 1- to 4-byte UTF-8 characters, each container built after its children.
  const wide = { a: 1, 'é': { '中文': ['🎉', { '🎉🎉': 'x' }] }, 'ключ': [[1], [2, 3]] };
  roundTrip(wide, 'a{sv}');
  // Enough to grow the scratch memory several times, then more than it keeps (its own, for one
  // call), then small again.
  for (const count of [10, 1000, 20000]) {
    const many = {};
    for (let i = 0; i < count; i++) many[`key-${i}-${'é'.repeat(i % 7)}`] = i;
    roundTrip(many, 'a{sv}');
    roundTrip(Object.values(many), 'ax');
  }
  const huge = {};
  for (let i = 0; i < 3000; i++) huge[`${i}:${'中'.repeat(200)}`] = [i, `${i}`];
  roundTrip(huge, 'a{sv}');
  roundTrip({ after: 'small' }, 'a{sv}', "{'after': <'small'>}");
  for (const size of [0, 1, 7, 8, 4096, 1 << 20]) {
    const bytes = Buffer.alloc(size);
    for (let i = 0; i < size; i++) bytes[i] = (i * 31) & 255;
    roundTrip(bytes, 'ay');
    roundTrip({ nested: [bytes] }, 'a{sv}');
  }
});

test('what has no typed form is a clear TypeError (RangeError for sizes)', () => {
  const cases = [
    [undefined, /undefined at x has no typed form \(use delete\(\)/],
    [function named() {}, /a function \(named\) at x has no typed form/],
    [() => 1, /a function/],
    [Symbol('sym'), /a symbol \(Symbol\(sym\)\) at x has no typed form/],
    [new Date(0), /an object of class Date/],
    [new Map([['a', 1]]), /an object of class Map/],
    [new Set([1]), /an object of class Set/],
    [/re/, /an object of class RegExp/],
    [new Int32Array(2), /an object of class Int32Array/],
    [new (class Point { constructor() { this.x = 1; } })(), /an object of class Point/],
    [Promise.resolve(1), /an object of class Promise/],
    [{ nested: { fn: Math.max } }, /a function \(max\) at x\.nested\.fn/],
    [{ [Symbol('s')]: 1 }, /symbol keys/],
    [{ 'bad\0key': 1 }, /holds a NUL character or a lone surrogate/],
    [[new NativePointer(1n)], /NativePointer at x\[0\] cannot be inside a container/],
  ];
  local.set('x', 'kept');
  for (const [value, message] of cases) {
    assert.throws(() => local.set('x', value), (error) => error instanceof TypeError &&
      message.test(error.message), `for ${String(message)}`);
  }
  assert.equal(local.get('x'), 'kept');
});

test('cycles are a TypeError; shared (acyclic) references are fine', () => {
  const a = { name: 'a' };
  a.self = a;
  assert.throws(() => local.set('c', a), /cycle at c\.self/);
  const list = [1];
  list.push([list]);
  assert.throws(() => local.set('c', list), /cycle at c\[1\]\[0\]/);
  const shared = { v: 1 };
  roundTrip({ left: shared, right: shared, list: [shared, shared] }, 'a{sv}');
});

test(`nesting: ${MAX_DEPTH} levels store, deeper is a RangeError`, () => {
  let ok = 'leaf';
  for (let i = 0; i < MAX_DEPTH; i++) ok = [ok];
  local.set('deep', ok);
  assert.deepEqual(local.get('deep'), ok);
  assert.throws(() => local.set('deep', [ok]), RangeError);
  let object = 1;
  for (let i = 0; i <= MAX_DEPTH; i++) object = { o: object };
  assert.throws(() => local.set('deep', object), /nested deeper than 64 levels/);
});

test('failed conversions leak nothing', () => {
  local.delete('k');
  const before = stats().values;
  for (let i = 0; i < 50; i++) {
    assert.throws(() => local.set('k', [1, 'two', { three: [3, () => 3] }]), TypeError);
    assert.throws(() => local.set('k', { a: [1, 2], b: 2n ** 64n }), RangeError);
  }
  assert.equal(stats().values, before);
});

test('values C stores read back by type', () => {
  const cases = [
    ['b', 'true', true],
    ['y', '200', 200],
    ['n', '-300', -300],
    ['q', '65535', 65535],
    ['i', '-2147483648', -2147483648],
    ['u', '4294967295', 4294967295],
    ['x', '-9007199254740991', -9007199254740991],
    ['x', '-9007199254740992', -9007199254740992n],
    ['x', '9223372036854775807', 9223372036854775807n],
    ['t', '9007199254740991', 9007199254740991],
    ['t', '9007199254740992', 9007199254740992n],
    ['t', '18446744073709551615', 18446744073709551615n],
    ['h', '7', 7],
    ['d', '2.5', 2.5],
    ['s', "'text'", 'text'],
    ['o', "'/org/example/Object'", '/org/example/Object'],
    ['g', "'a{sv}'", 'a{sv}'],
    ['ay', '[byte 0x72, 0x61, 0x77]', Buffer.from('raw')],
    ['ay', "b'raw'", Buffer.from('raw\0')], // a GVariant bytestring literal ends with its NUL
    ['ai', '[1, 2, 3]', [1, 2, 3]],
    ['as', '[]', []],
    ['(isb)', "(1, 'two', true)", [1, 'two', true]],
    ['()', '()', []],
    ['a{ss}', "{'k': 'v'}", { k: 'v' }],
    ['a{is}', "{1: 'one', 2: 'two'}", { 1: 'one', 2: 'two' }],
    ['a{sv}', "{'n': <int32 5>, 'l': <[<'x'>, <uint64 9>]>}", { n: 5, l: ['x', 9] }],
    ['v', '<int16 3>', 3],
    ['mi', 'just 4', 4],
    ['mi', 'nothing', null],
    ['ms', "just 'in'", 'in'],
    ['mmi', 'just nothing', null],
    ['{sx}', "{'key', 1}", ['key', 1]],
    ['a(sv)', "[('a', <1>)]", [['a', 1]]],
    ['aay', "[[byte 0x78], []]", [Buffer.from('x'), Buffer.alloc(0)]],
  ];
  for (const [type, text, expected] of cases) {
    assert.equal(helper.setText(name, 'c', type, text), 0, `C parses ${type} ${text}`);
    assert.equal(local.typeOf('c'), type);
    assert.deepEqual(local.get('c'), expected, `${type} ${text}`);
  }
});

test('pointer values: NativePointer stored from JS, and C\'s read back', () => {
  local.set('p', new NativePointer(0x1234n));
  assert.equal(local.typeOf('p'), 'p');
  assert.equal(helper.describe(name, 'p'), 'p|pointer');
  const back = local.get('p');
  assert.ok(back instanceof NativePointer);
  assert.equal(back.address, 0x1234n);
  local.set('p', new NativePointer(0n));
  assert.equal(local.get('p').address, 0n);
  assert.throws(() => new NativePointer(5), TypeError);
  assert.throws(() => new NativePointer(-1n), TypeError);
  local.delete('p');
});
