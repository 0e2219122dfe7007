'use strict';
// SPDX-License-Identifier: LGPL-2.1-or-later
// Marshalling between JavaScript values and TlValue references (GVariant-backed or native pointers),
// through the C API's constructors and accessors only (no text round trip, except for "h").
//
// toValue(x) -> a new TlValue reference (BigInt address); throws TypeError/RangeError when x has no
//               typed form.
// store(handle, key, x) -> tl_local_set of x's typed form, in one call for scalars.
// fromValue(v) -> the JavaScript value for the TlValue v (borrowed: the caller keeps its reference).
//
// The mapping (README.md, "Value mapping", is the reference for users):
//
//   JavaScript                          typed value
//   null                                "mv" nothing (any maybe reads back as null or its value)
//   boolean                             "b"
//   number, a safe integer, not -0      "x"
//   any other number (NaN, ±Infinity,   "d"
//     -0, fractions, |n| >= 2**53)
//   bigint in [-2**63, 2**63)           "x"
//   bigint in [2**63, 2**64)            "t"
//   string                              "s" (TypeError if it holds a NUL or a lone surrogate)
//   Uint8Array (Buffer), ArrayBuffer    "ay"
//   Array                               "aT" when every item has the one type T, else "av";
//                                       [] is "av"
//   plain object (prototype Object      "a{sv}" of its own enumerable string keys
//     .prototype or null)
//   NativePointer (top level only)      "p", a native pointer value with no destroy function
//   undefined, functions, symbols, other objects, cycles, nesting deeper than MAX_DEPTH: an error.
//
// Read back: "b" boolean; "y" "n" "q" "i" "u" "h" number; "x" "t" number when a safe integer,
// else bigint; "d" number; "s" "o" "g" string; "ay" Buffer (a copy); other arrays Array;
// dictionaries ("a{..}") plain objects (keys converted with String()); tuples Array; "v" unboxed;
// maybes null or their value; a dict entry outside a dictionary [key, value]; "p" NativePointer.

const { lib, raw, crt, koffi } = require('./_ffi.js');

// Deeper containers are refused: GVariant limits type strings to 128 levels, and the Python
// binding uses the same bound, so what one language writes the other reads.
const MAX_DEPTH = 64;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;
// The low and high 32-bit words of a 64-bit integer in a Uint32Array.
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const LO = LITTLE_ENDIAN ? 0 : 1;
const HI = 1 - LO;
const TWO_32 = 2 ** 32;

class NativePointer {
  // A native pointer value ("p"): its address as a BigInt. Storing one gives C a pointer value with
  // no destroy function; reading a "p" value (stored by C) gives one.
  constructor(address) {
    if (typeof address !== 'bigint' || address < 0n || address > UINT64_MAX) {
      throw new TypeError('tlslocal: NativePointer takes an address as a non-negative BigInt');
    }
    this.address = address;
    Object.freeze(this);
  }
}

const hasIsWellFormed = typeof String.prototype.isWellFormed === 'function';
const LONE_SURROGATE = /\p{Cs}/u; // with the u flag only unpaired surrogates are code points in Cs

// Whether C can hold s exactly: koffi would cut it at a NUL and replace lone surrogates.
function isCString(s) {
  if (s.includes('\0')) return false;
  return hasIsWellFormed ? s.isWellFormed() : !LONE_SURROGATE.test(s);
}

function describe(x) {
  if (typeof x === 'function') return `a function (${x.name || 'anonymous'})`;
  if (typeof x === 'symbol') return `a symbol (${x.toString()})`;
  if (x === undefined) return 'undefined';
  const name = x?.constructor?.name;
  return name ? `an object of class ${name}` : 'an object';
}

// Validate a dictionary key (or a local's name); returns it.
function checkKey(key, what = 'key') {
  if (typeof key !== 'string') {
    throw new TypeError(`tlslocal: a ${what} must be a string, not ${typeof key}`);
  }
  if (!isCString(key)) {
    throw new TypeError(`tlslocal: ${what} ${JSON.stringify(key)} cannot be a C string ` +
      '(it holds a NUL character or a lone surrogate)');
  }
  return key;
}

function where(path) {
  return path.length ? ` at ${path.join('')}` : '';
}

// ---- JavaScript -> TlValue ---------------------------------------------------------------------

// The type string of the value the last convert() call returned, so containers know their items'
// types without asking C.
let lastType = '';

function fromNumber(n) {
  if (Number.isSafeInteger(n) && !Object.is(n, -0)) {
    lastType = 'x';
    return lib.tl_value_new_int64(n);
  }
  lastType = 'd';
  return lib.tl_value_new_double(n);
}

function fromBigint(n, path) {
  if (n >= INT64_MIN && n <= INT64_MAX) {
    lastType = 'x';
    return lib.tl_value_new_int64(n);
  }
  if (n > INT64_MAX && n <= UINT64_MAX) {
    lastType = 't';
    return lib.tl_value_new_uint64(n);
  }
  throw new RangeError(`tlslocal: the bigint ${n}${where(path)} is outside [-2**63, 2**64): ` +
    'no 64-bit integer type holds it');
}

function fromString(s, path) {
  if (!isCString(s)) {
    throw new TypeError(`tlslocal: the string${where(path)} cannot be stored: it holds a NUL ` +
      'character or a lone surrogate (store it as a Buffer instead)');
  }
  lastType = 's';
  return lib.tl_value_new_string(s);
}

function fromNull() {
  lastType = 'mv';
  return lib.tl_value_new_maybe('v', null);
}

function releaseAll(values) {
  for (const v of values) raw.tl_value_unref(v);
}

// The arrays that tl_value_new_array and tl_value_new_vardict read (TlValue *items[], and a
// vardict's const char *keys[] with the keys' bytes) are written into an ArrayBuffer, whose memory
// koffi passes as is: a JavaScript array would be read item by item through N-API, which a Worker's
// termination breaks (_ffi.js). An ArrayBuffer's memory never moves. Containers are built bottom-up
// and each call reads its arrays before the next container's are written, so one arena serves all;
// it grows up to ARENA_MAX, and a container needing more gets an arena of its own for its call.
const ARENA_MAX = 1 << 20;
let arena = null;

function newArena(size) {
  const buffer = new ArrayBuffer(size);
  const address = Number(koffi.address(buffer));
  if (!Number.isSafeInteger(address)) throw new Error('tlslocal: an address beyond 2**53');
  return {
    size,
    address,
    items: new BigUint64Array(buffer), // TlValue * (and char *, written as two words)
    words: new Uint32Array(buffer),
    bytes: Buffer.from(buffer),
  };
}

// An arena of at least size bytes, with values (TlValue * BigInts) at items[0..n).
function arenaFor(values, size) {
  let a = arena;
  if (a === null || a.size < size) {
    if (size > ARENA_MAX) {
      a = newArena(Math.ceil(size / 8) * 8);
    } else {
      let grown = a === null ? 4096 : a.size * 2;
      while (grown < size) grown *= 2;
      a = arena = newArena(grown);
    }
  }
  const items = a.items;
  for (let i = 0; i < values.length; i++) items[i] = values[i];
  return a;
}

// An arena with values at items[0..n), then keys (checked C strings) as const char *keys[n] at
// items[n..2n), then the keys' NUL-terminated UTF-8.
function dictArena(values, keys) {
  const n = values.length;
  let size = 16 * n;
  for (let i = 0; i < n; i++) size += 3 * keys[i].length + 1; // UTF-8: <= 3 bytes a UTF-16 unit
  const a = arenaFor(values, size);
  const { words, bytes, address } = a;
  let offset = 16 * n;
  for (let i = 0; i < n; i++) {
    const pointer = address + offset;
    words[2 * (n + i) + LO] = pointer % TWO_32;
    words[2 * (n + i) + HI] = Math.floor(pointer / TWO_32);
    offset += bytes.write(keys[i], offset, 'utf8');
    bytes[offset++] = 0;
  }
  return a;
}

// New references for items (nothing held if one fails); their types in types.
function convertItems(items, keys, types, depth, stack, path) {
  const values = [];
  try {
    for (let i = 0; i < items.length; i++) {
      path.push(keys === null ? `[${i}]` : `.${keys[i]}`);
      values.push(convert(items[i], depth, stack, path));
      path.pop();
      types.push(lastType);
    }
  } catch (error) {
    releaseAll(values);
    throw error;
  }
  return values;
}

function fromArray(array, depth, stack, path) {
  const items = new Array(array.length);
  for (let i = 0; i < array.length; i++) {
    if (!(i in array)) {
      throw new TypeError(`tlslocal: the array${where(path)} has a hole at index ${i}: ` +
        'holes have no typed form');
    }
    items[i] = array[i];
  }
  const types = [];
  const values = convertItems(items, null, types, depth, stack, path);
  try {
    let element = 'v';
    if (types.length > 0 && types.every((t) => t === types[0])) element = types[0];
    const result = lib.tl_value_new_array(element, arenaFor(values, 8 * values.length).items,
      values.length);
    lastType = `a${element}`;
    return result;
  } finally {
    releaseAll(values);
  }
}

function fromObject(object, depth, stack, path) {
  if (Object.getOwnPropertySymbols(object).some((s) => Object.prototype.propertyIsEnumerable
    .call(object, s))) {
    throw new TypeError(`tlslocal: the object${where(path)} has symbol keys: a typed dictionary ` +
      'has string keys only');
  }
  const keys = Object.keys(object);
  for (const key of keys) {
    if (!isCString(key)) {
      throw new TypeError(`tlslocal: the object${where(path)} has the key ` +
        `${JSON.stringify(key)}, which holds a NUL character or a lone surrogate`);
    }
  }
  const items = keys.map((key) => object[key]);
  const values = convertItems(items, keys, [], depth, stack, path);
  try {
    const n = values.length;
    const a = dictArena(values, keys);
    const result = lib.tl_value_new_vardict(a.address + 8 * n, a.items, n);
    lastType = 'a{sv}';
    return result;
  } finally {
    releaseAll(values);
  }
}

function isPlainObject(x) {
  const proto = Object.getPrototypeOf(x);
  return proto === Object.prototype || proto === null;
}

// A new reference for x, at depth levels inside containers; stack holds the containers being
// converted (for cycles), path the route from the top (for messages).
function convert(x, depth, stack, path) {
  switch (typeof x) {
    case 'number':
      return fromNumber(x);
    case 'string':
      return fromString(x, path);
    case 'boolean':
      lastType = 'b';
      return lib.tl_value_new_bool(x ? 1 : 0);
    case 'bigint':
      return fromBigint(x, path);
    case 'object':
      break;
    default:
      throw new TypeError(`tlslocal: ${describe(x)}${where(path)} has no typed form` +
        (x === undefined ? ' (use delete() to remove a key, or null for "no value")' : ''));
  }
  if (x === null) return fromNull();
  if (x instanceof Uint8Array || x instanceof ArrayBuffer) {
    lastType = 'ay';
    return lib.tl_value_new_bytes(x, x.byteLength);
  }
  if (x instanceof NativePointer) {
    if (depth > 0) {
      throw new TypeError(`tlslocal: a NativePointer${where(path)} cannot be inside a ` +
        'container: pointer values have no GVariant form');
    }
    lastType = 'p';
    return lib.tl_value_new_pointer(x.address, null);
  }
  const isArray = Array.isArray(x);
  if (!isArray && !isPlainObject(x)) {
    throw new TypeError(`tlslocal: ${describe(x)}${where(path)} has no typed form: only null, ` +
      'booleans, numbers, bigints, strings, Uint8Array/Buffer, arrays and plain objects have one');
  }
  if (stack.includes(x)) {
    throw new TypeError(`tlslocal: the value has a cycle${where(path)}: ` +
      'a typed value is a tree');
  }
  if (depth >= MAX_DEPTH) {
    throw new RangeError(`tlslocal: the value${where(path)} is nested deeper than ${MAX_DEPTH} ` +
      'levels');
  }
  stack.push(x);
  try {
    return isArray ? fromArray(x, depth + 1, stack, path) : fromObject(x, depth + 1, stack, path);
  } finally {
    stack.pop();
  }
}

// A new TlValue reference for x (release it with tl_value_unref). label (nullable) names x in
// error messages, e.g. the key it is stored under.
function toValue(x, label = null) {
  if (typeof x === 'number') return fromNumber(x);
  return convert(x, 0, [], label === null ? [] : [label]);
}

// Store x under key (validated) in the calling thread's dictionary of handle: scalars through the
// one-call typed setters (tl_local_set_int64 and friends), anything else built and handed over
// with tl_local_set_take (which releases it on failure too).
function store(handle, key, x) {
  switch (typeof x) {
    case 'number':
      if (Number.isSafeInteger(x) && !Object.is(x, -0)) lib.tl_local_set_int64(handle, key, x);
      else lib.tl_local_set_double(handle, key, x);
      return;
    case 'string':
      if (!isCString(x)) fromString(x, [key]); // throws the TypeError
      lib.tl_local_set_string(handle, key, x);
      return;
    case 'boolean':
      lib.tl_local_set_bool(handle, key, x ? 1 : 0);
      return;
    case 'bigint':
      if (x >= INT64_MIN && x <= INT64_MAX) lib.tl_local_set_int64(handle, key, x);
      else if (x > INT64_MAX && x <= UINT64_MAX) lib.tl_local_set_uint64(handle, key, x);
      else fromBigint(x, [key]); // throws the RangeError
      return;
    default:
      lib.tl_local_set_take(handle, key, convert(x, 0, [], [key]));
  }
}

// ---- TlValue -> JavaScript ---------------------------------------------------------------------

// Out-parameters: views of one 16-byte scratch buffer, each read right after the call that fills
// it (fromValue recurses, but never between a call and its read).
const scratch = new ArrayBuffer(16);
const outPtr = new BigUint64Array(scratch, 0, 1); // TlValue **, void **, size_t *
const outSize = new BigUint64Array(scratch, 8, 1); // the size_t * beside a pointer
const outI32 = new Int32Array(scratch, 0, 2); // int *, int32_t *, and the words of an int64
const outU32 = new Uint32Array(scratch, 0, 2);
const outU8 = new Uint8Array(scratch, 0, 1);
const outI16 = new Int16Array(scratch, 0, 1);
const outU16 = new Uint16Array(scratch, 0, 1);
const outF64 = new Float64Array(scratch, 0, 1);

// The int64 in the scratch buffer as a number when it is a safe integer, else a BigInt; read
// through its two 32-bit words, so the common case makes no BigInt.
function readInt64() {
  const hi = outI32[HI];
  const lo = outU32[LO];
  // Safe: |n| <= 2**53 - 1, i.e. hi in [-2**21, 2**21) and not -2**53 itself.
  if (hi >= -0x200000 && hi < 0x200000 && !(hi === -0x200000 && lo === 0)) {
    return hi * TWO_32 + lo;
  }
  return new BigInt64Array(scratch, 0, 1)[0];
}

function readUint64() {
  const hi = outU32[HI];
  if (hi < 0x200000) return hi * TWO_32 + outU32[LO];
  return outPtr[0];
}

function readBytes(v) {
  lib.tl_value_get_bytes(v, outPtr, outSize);
  const size = Number(outSize[0]);
  const result = Buffer.allocUnsafe(size);
  if (size > 0) crt.memcpy(result, outPtr[0], size);
  return result;
}

function readHandle(v) {
  lib.tl_value_get_handle(v, outI32);
  return outI32[0];
}

function readString(v) {
  lib.tl_value_get_string(v, outPtr);
  return koffi.decode(outPtr, 'const char *');
}

const READERS = {
  b: (v) => {
    lib.tl_value_get_bool(v, outI32);
    return outI32[0] !== 0;
  },
  y: (v) => {
    lib.tl_value_get_byte(v, outU8);
    return outU8[0];
  },
  n: (v) => {
    lib.tl_value_get_int16(v, outI16);
    return outI16[0];
  },
  q: (v) => {
    lib.tl_value_get_uint16(v, outU16);
    return outU16[0];
  },
  i: (v) => {
    lib.tl_value_get_int32(v, outI32);
    return outI32[0];
  },
  u: (v) => {
    lib.tl_value_get_uint32(v, outU32);
    return outU32[0];
  },
  x: (v) => {
    lib.tl_value_get_int64(v, outPtr);
    return readInt64();
  },
  t: (v) => {
    lib.tl_value_get_uint64(v, outPtr);
    return readUint64();
  },
  d: (v) => {
    lib.tl_value_get_double(v, outF64);
    return outF64[0];
  },
  h: readHandle,
  s: readString,
  o: readString,
  g: readString,
  ay: readBytes,
  p: (v) => {
    lib.tl_value_get_pointer(v, outPtr);
    return new NativePointer(outPtr[0]);
  },
};

function nChildren(v) {
  lib.tl_value_n_children(v, outSize);
  return Number(outSize[0]);
}

// fn(child) for child index of v, with a reference held for the call.
function withChild(v, index, fn) {
  lib.tl_value_get_child(v, index, outPtr);
  const child = outPtr[0];
  try {
    return fn(child);
  } finally {
    raw.tl_value_unref(child);
  }
}

function readChildren(v) {
  const n = nChildren(v);
  const result = new Array(n);
  for (let i = 0; i < n; i++) result[i] = withChild(v, i, fromValue);
  return result;
}

function readDict(v) {
  const n = nChildren(v);
  const result = {};
  for (let i = 0; i < n; i++) {
    withChild(v, i, (entry) => {
      const key = String(withChild(entry, 0, fromValue));
      const value = withChild(entry, 1, fromValue);
      if (key === '__proto__') {
        Object.defineProperty(result, key, { value, writable: true, enumerable: true,
          configurable: true });
      } else {
        result[key] = value;
      }
    });
  }
  return result;
}

// The JavaScript value for the TlValue v (borrowed).
function fromValue(v) {
  const type = raw.tl_value_type(v);
  const reader = READERS[type];
  if (reader !== undefined) return reader(v);
  switch (type[0]) {
    case 'a':
      return type[1] === '{' ? readDict(v) : readChildren(v);
    case '(':
    case '{':
      return readChildren(v);
    case 'v':
      return withChild(v, 0, fromValue);
    case 'm':
      return nChildren(v) === 0 ? null : withChild(v, 0, fromValue);
    default:
      throw new TypeError(`tlslocal: no JavaScript form for a value of type ${type}`);
  }
}

module.exports = { toValue, fromValue, store, checkKey, NativePointer, MAX_DEPTH };
