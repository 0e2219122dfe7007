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

const { lib, raw, crt, koffi, errorFor } = require('./_ffi.js');
const gvariant = require('./_gvariant.js');

// Deeper containers are refused: GVariant limits type strings to 128 levels, and the Python
// binding uses the same bound, so what one language writes the other reads.
const MAX_DEPTH = 64;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
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
//
// In two steps: plan() checks a value and finds its typed form, reading each item once; then the
// value is built in C, containers from their binary form in one tl_value_deserialize() call (the
// usual way) or bottom-up through the constructors, one call per item (construct(): for values
// nested too deep for the binary form, where it gives the constructors' errors, and for tests,
// which check that both ways build the same values).

// GVariant container levels of the value plan() last typed, counted high (each variant as one).
let levels = 0;
// Values deeper than this go through the constructors, whose depth error then stands, rather than
// tl_value_deserialize() (TL_VALUE_MAX_DEPTH is 127).
const BINARY_LEVELS_MAX = 100;

function numberType(n) {
  return Number.isSafeInteger(n) && !Object.is(n, -0) ? 'x' : 'd';
}

function bigintType(n, path) {
  if (n >= INT64_MIN && n <= INT64_MAX) return 'x';
  if (n > INT64_MAX && n <= UINT64_MAX) return 't';
  throw new RangeError(`tlslocal: the bigint ${n}${where(path)} is outside [-2**63, 2**64): ` +
    'no 64-bit integer type holds it');
}

function checkString(s, path) {
  if (!isCString(s)) {
    throw new TypeError(`tlslocal: the string${where(path)} cannot be stored: it holds a NUL ` +
      'character or a lone surrogate (store it as a Buffer instead)');
  }
}

function planArray(array, depth, stack, path, records) {
  const n = array.length;
  const items = new Array(n);
  for (let i = 0; i < n; i++) {
    if (!(i in array)) {
      throw new TypeError(`tlslocal: the array${where(path)} has a hole at index ${i}: ` +
        'holes have no typed form');
    }
    items[i] = array[i];
  }
  const types = new Array(n);
  records.push({ keys: null, values: items, types });
  let deepest = 0;
  let same = true;
  for (let i = 0; i < n; i++) {
    path.push(`[${i}]`);
    const type = plan(items[i], depth, stack, path, records);
    path.pop();
    types[i] = type;
    if (levels > deepest) deepest = levels;
    if (type !== types[0]) same = false;
  }
  const element = n > 0 && same ? types[0] : 'v';
  levels = deepest + (element === 'v' ? 2 : 1);
  return `a${element}`;
}

function planObject(object, depth, stack, path, records) {
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
  const n = keys.length;
  const items = new Array(n);
  for (let i = 0; i < n; i++) items[i] = object[keys[i]];
  const types = new Array(n);
  records.push({ keys, values: items, types });
  let deepest = 0;
  for (let i = 0; i < n; i++) {
    path.push(`.${keys[i]}`);
    types[i] = plan(items[i], depth, stack, path, records);
    path.pop();
    if (levels > deepest) deepest = levels;
  }
  levels = deepest + 3;
  return 'a{sv}';
}

function isPlainObject(x) {
  const proto = Object.getPrototypeOf(x);
  return proto === Object.prototype || proto === null;
}

// The type string of x's typed form, x at depth levels inside containers, or the error that x has
// none; stack holds the containers being planned (for cycles), path the route from the top (for
// messages). Each container met is added to records, in order, as { keys (null for an array),
// values (its items, read once), types (theirs) }: what construct() and encode() build from.
function plan(x, depth, stack, path, records) {
  levels = 0;
  switch (typeof x) {
    case 'number':
      return numberType(x);
    case 'string':
      checkString(x, path);
      return 's';
    case 'boolean':
      return 'b';
    case 'bigint':
      return bigintType(x, path);
    case 'object':
      break;
    default:
      throw new TypeError(`tlslocal: ${describe(x)}${where(path)} has no typed form` +
        (x === undefined ? ' (use delete() to remove a key, or null for "no value")' : ''));
  }
  if (x === null) {
    levels = 2;
    return 'mv';
  }
  if (x instanceof Uint8Array || x instanceof ArrayBuffer) {
    levels = 1;
    return 'ay';
  }
  if (x instanceof NativePointer) {
    if (depth > 0) {
      throw new TypeError(`tlslocal: a NativePointer${where(path)} cannot be inside a ` +
        'container: pointer values have no GVariant form');
    }
    return 'p';
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
    return isArray ? planArray(x, depth + 1, stack, path, records) :
      planObject(x, depth + 1, stack, path, records);
  } finally {
    stack.pop();
  }
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

// A new reference for x of type (as plan() found it), bottom-up through the constructors;
// cursor.list holds plan()'s records, from cursor.next on.
function construct(x, type, cursor) {
  switch (type) {
    case 'x':
      return lib.tl_value_new_int64(x);
    case 't':
      return lib.tl_value_new_uint64(x);
    case 'd':
      return lib.tl_value_new_double(x);
    case 'b':
      return lib.tl_value_new_bool(x ? 1 : 0);
    case 's':
      return lib.tl_value_new_string(x);
    case 'mv':
      return lib.tl_value_new_maybe('v', null);
    case 'ay':
      return lib.tl_value_new_bytes(x, x.byteLength);
    case 'p':
      return lib.tl_value_new_pointer(x.address, null);
    default:
      break;
  }
  const { keys, values: items, types } = cursor.list[cursor.next++];
  const values = [];
  try {
    for (let i = 0; i < items.length; i++) values.push(construct(items[i], types[i], cursor));
  } catch (error) {
    releaseAll(values);
    throw error;
  }
  try {
    const n = values.length;
    if (keys === null) return lib.tl_value_new_array(type.slice(1), arenaFor(values, 8 * n).items, n);
    const a = dictArena(values, keys);
    return lib.tl_value_new_vardict(a.address + 8 * n, a.items, n);
  } finally {
    releaseAll(values);
  }
}

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

// A value in its binary form: type and bytes (a Buffer nobody else holds), for a read to decode
// into a new JavaScript value each time.
class Packed {
  constructor(type, bytes) {
    this.type = type;
    this.bytes = bytes;
  }
}
// What a read of a value would give cannot be kept: it is an object made anew for each read
// (a NativePointer), or unknown.
const UNCACHED = Symbol('tlslocal.uncached');

// A new TlValue reference for x's typed form of type, container or not, as plan() described it in
// records: from its binary form when it is not nested too deep, else through the constructors.
// Sets built to the binary form (in _gvariant's out.bytes) or to null.
let built = null;
function build(x, type, records) {
  built = null;
  if (records.length === 0 || levels > BINARY_LEVELS_MAX) {
    return construct(x, type, { list: records, next: 0 });
  }
  const size = gvariant.encode(x, type, records);
  const status = raw.tl_value_deserialize(type, gvariant.out.bytes, size, outPtr);
  if (status < 0) throw errorFor(status);
  built = size;
  return outPtr[0];
}

// A new TlValue reference for x (release it with tl_value_unref). label (nullable) names x in
// error messages, e.g. the key it is stored under.
function toValue(x, label = null) {
  const records = [];
  const type = plan(x, 0, [], label === null ? [] : [label], records);
  return build(x, type, records);
}

// The same through the constructors only, one call per item (for tests).
function toValueByItems(x, label = null) {
  const records = [];
  const type = plan(x, 0, [], label === null ? [] : [label], records);
  return construct(x, type, { list: records, next: 0 });
}

// The cached read-back of a binary form of size bytes: at most this much is kept per key.
const PACKED_MAX = 64 * 1024;

// Store x under key (validated) in the calling thread's dictionary of handle: scalars through the
// one-call typed setters (tl_local_set_int64 and friends), anything else built and handed over
// with tl_local_set_take (which releases it on failure too). Returns what a read of key would now
// give: a primitive, a Packed to decode, or UNCACHED.
function store(handle, key, x) {
  let status;
  switch (typeof x) {
    case 'number':
      if (Number.isSafeInteger(x) && !Object.is(x, -0)) {
        status = raw.tl_local_set_int64(handle, key, x);
      } else {
        status = raw.tl_local_set_double(handle, key, x);
      }
      if (status < 0) throw errorFor(status);
      return x;
    case 'string':
      checkString(x, [key]);
      status = raw.tl_local_set_string(handle, key, x);
      if (status < 0) throw errorFor(status);
      return x;
    case 'boolean':
      status = raw.tl_local_set_bool(handle, key, x ? 1 : 0);
      if (status < 0) throw errorFor(status);
      return x;
    case 'bigint':
      if (bigintType(x, [key]) === 'x') status = raw.tl_local_set_int64(handle, key, x);
      else status = raw.tl_local_set_uint64(handle, key, x);
      if (status < 0) throw errorFor(status);
      return x >= -MAX_SAFE && x <= MAX_SAFE ? Number(x) : x; // as readInt64 gives it back
    default:
      break;
  }
  const records = [];
  const type = plan(x, 0, [], [key], records);
  lib.tl_local_set_take(handle, key, build(x, type, records));
  if (type === 'mv') return null;
  if (type === 'ay') return new Packed('ay', Buffer.from(x instanceof Uint8Array ? x : new Uint8Array(x)));
  if (built === null || built > PACKED_MAX) return UNCACHED;
  return new Packed(type, Buffer.from(gvariant.out.bytes.subarray(0, built)));
}

// ---- TlValue -> JavaScript ---------------------------------------------------------------------

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

// ---- a key's value, in as few calls as can be --------------------------------------------------

const TL_ERR_NOT_FOUND = -3;
const TL_ERR_WRONG_TYPE = -6;
// The answer for a key the calling thread's dictionary lacks.
const ABSENT = Symbol('tlslocal.absent');
const scalarType = new Int32Array(1); // tl_local_get_scalar's int *out_type
const scalarBits = new ArrayBuffer(8); // its uint64_t *out_bits
const bitsI32 = new Int32Array(scalarBits);
const bitsU32 = new Uint32Array(scalarBits);
const bitsF64 = new Float64Array(scalarBits);
const bitsI64 = new BigInt64Array(scalarBits);
const bitsU64 = new BigUint64Array(scalarBits);
const scalarString = new BigUint64Array(1); // its const char **out_string

// What the calling thread's dictionary of handle holds under key (a checked key): ABSENT; a basic
// value as a primitive, in one call (tl_local_get_scalar); any other value in its binary form, a
// Packed (peek, serialise, copy, free); or, for a value without one (a pointer value, a snapshot
// carrying them), the JavaScript value itself, an object made for this read.
function load(handle, key) {
  const status = raw.tl_local_get_scalar(handle, key, scalarType, scalarBits, scalarString);
  if (status < 0) {
    if (status === TL_ERR_NOT_FOUND) return ABSENT;
    throw errorFor(status);
  }
  switch (scalarType[0]) {
    case 98: // b
      return bitsU32[LO] !== 0;
    case 121: // y
    case 113: // q
    case 117: // u
      return bitsU32[LO];
    case 110: // n
    case 105: // i
    case 104: // h
      return bitsI32[LO];
    case 120: { // x
      const hi = bitsI32[HI];
      const lo = bitsU32[LO];
      if (hi >= -0x200000 && hi < 0x200000 && !(hi === -0x200000 && lo === 0)) {
        return hi * TWO_32 + lo;
      }
      return bitsI64[0];
    }
    case 116: { // t
      const hi = bitsU32[HI];
      return hi < 0x200000 ? hi * TWO_32 + bitsU32[LO] : bitsU64[0];
    }
    case 100: // d
      return bitsF64[0];
    case 115: // s
    case 111: // o
    case 103: // g
      return koffi.decode(scalarString, 'const char *');
    default: // 0: not a basic value
      break;
  }
  const value = raw.tl_local_peek(handle, key);
  if (value === null) throw errorFor(raw.tl_last_error());
  const type = raw.tl_value_type(value);
  const serialized = type === 'p' ? TL_ERR_WRONG_TYPE :
    raw.tl_value_serialize(value, outPtr, outSize);
  if (serialized === TL_ERR_WRONG_TYPE) return fromValue(value);
  if (serialized < 0) throw errorFor(serialized);
  const data = outPtr[0];
  const size = Number(outSize[0]);
  try {
    if (size >= 2 ** 31) return fromValue(value); // beyond _gvariant's 32-bit arithmetic
    const bytes = Buffer.allocUnsafe(size);
    if (size > 0) crt.memcpy(bytes, data, size);
    return new Packed(type, bytes);
  } finally {
    raw.tl_free(data);
  }
}

// The JavaScript value of what load() gave (not ABSENT): a new one each time for a Packed.
function materialize(entry) {
  return entry instanceof Packed ? gvariant.decode(entry.type, entry.bytes) : entry;
}

module.exports = {
  toValue, toValueByItems, fromValue, store, load, materialize, checkKey, NativePointer, Packed,
  ABSENT, UNCACHED, PACKED_MAX, MAX_DEPTH,
};
