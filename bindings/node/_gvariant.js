'use strict';
// SPDX-License-Identifier: LGPL-2.1-or-later
// The binary form of values (GVariant normal form, little-endian: tl_value_serialize() and
// tl_value_deserialize()) written and read in JavaScript, so that a container crosses into C in one
// call instead of one per element.
//
// The format (GLib's gvariant-serialiser.c; the GVariant specification, "Serialisation"): each
// value starts at a multiple of its type's alignment (relative to the outermost value, which starts
// at 0), padding bytes are zero; strings end with a NUL; a variant is its child, a NUL and the
// child's type string; a maybe is empty (nothing) or its child, plus a NUL when the child's size
// varies; an array of fixed-size items is the items; one of variable-size items is the items, then
// each item's end as a framing offset; a tuple or dict entry is its members, then the end of each
// variable-size member but the last, in reverse order; a fixed-size tuple is padded to its size.
// Framing offsets are little-endian, all of one width, the smallest of 1, 2, 4 and 8 bytes in which
// the container's total size (offsets included) fits.
//
// encode() writes what _convert.js's plan() says (the typed form it chose for each JavaScript
// value, with the items it read); decode() reads any definite type, giving what _convert.js's
// fromValue() gives for the same value.

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const TWO_32 = 2 ** 32;

// ---- types ---------------------------------------------------------------------------------

// What the serialiser needs of a type: its alignment (as a mask: alignment - 1), its fixed size (0
// when its size varies), and its parts.
class TypeInfo {
  constructor(type, code, alignMask, fixedSize, element, members) {
    this.type = type;
    this.code = code; // the first character
    this.alignMask = alignMask;
    this.fixedSize = fixedSize;
    this.element = element; // arrays and maybes: the item's TypeInfo
    this.members = members; // tuples and dict entries: the members' TypeInfos
    this.isDict = code === 'a' && element.code === '{';
  }
}

const BASIC = {
  b: [0, 1], y: [0, 1], n: [1, 2], q: [1, 2], i: [3, 4], u: [3, 4], h: [3, 4],
  x: [7, 8], t: [7, 8], d: [7, 8], s: [0, 0], o: [0, 0], g: [0, 0], v: [7, 0],
};

// Types by their string; bounded, as stored values may carry any number of types.
const infos = new Map();
const INFOS_MAX = 4096;

// The TypeInfo of the one complete type starting at type[at]; sets parsedEnd past it.
let parsedEnd = 0;
function parse(type, at) {
  const c = type[at];
  const basic = BASIC[c];
  if (basic !== undefined) {
    parsedEnd = at + 1;
    return new TypeInfo(c, c, basic[0], basic[1], null, null);
  }
  if (c === 'a' || c === 'm') {
    const element = parse(type, at + 1);
    return new TypeInfo(type.slice(at, parsedEnd), c, element.alignMask, 0, element, null);
  }
  if (c === '(' || c === '{') {
    const close = c === '(' ? ')' : '}';
    const members = [];
    let position = at + 1;
    while (type[position] !== close) {
      if (position >= type.length) throw new TypeError(`tlslocal: bad type string ${type}`);
      members.push(parse(type, position));
      position = parsedEnd;
    }
    parsedEnd = position + 1;
    let alignMask = 0;
    let size = 0;
    let fixed = true;
    for (const member of members) {
      alignMask |= member.alignMask;
      if (member.fixedSize === 0) fixed = false;
      else size = ((size + member.alignMask) & ~member.alignMask) + member.fixedSize;
    }
    let fixedSize = 0;
    if (fixed) fixedSize = members.length === 0 ? 1 : (size + alignMask) & ~alignMask;
    return new TypeInfo(type.slice(at, parsedEnd), c, alignMask, fixedSize, null, members);
  }
  throw new TypeError(`tlslocal: no binary form for the type ${JSON.stringify(type)}`);
}

// The basic types' TypeInfos by character code, for the one-character type of most variants.
const basicInfos = [];
for (const c of Object.keys(BASIC)) basicInfos[c.charCodeAt(0)] = parse(c, 0);

function infoOf(type) {
  let info = infos.get(type);
  if (info === undefined) {
    info = parse(type, 0);
    if (parsedEnd !== type.length) throw new TypeError(`tlslocal: bad type string ${type}`);
    if (infos.size >= INFOS_MAX) infos.clear();
    infos.set(type, info);
  }
  return info;
}

// The width of the framing offsets of a container of size bytes.
function offsetWidth(size) {
  if (size === 0) return 0;
  if (size <= 0xff) return 1;
  if (size <= 0xffff) return 2;
  return size <= 0xffffffff ? 4 : 8;
}

// The width for a container of body bytes followed by n framing offsets.
function widthFor(body, n) {
  if (body + n <= 0xff) return 1;
  if (body + 2 * n <= 0xffff) return 2;
  return body + 4 * n <= 0xffffffff ? 4 : 8;
}

// ---- encoding ------------------------------------------------------------------------------

// One output buffer, reused: encode() returns its length, the bytes are in out.bytes[0..length)
// until the next encode().
const out = {
  bytes: null,
  view: null,
};
let pos = 0;
// The framing offsets of the containers being written, innermost last.
let offsets = [];
let nOffsets = 0;

function allocate(size) {
  const bytes = Buffer.alloc(size);
  out.bytes = bytes;
  out.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
allocate(4096);

function reserve(n) {
  if (pos + n <= out.bytes.length) return;
  const old = out.bytes;
  let size = old.length * 2;
  while (size < pos + n) size *= 2;
  allocate(size);
  old.copy(out.bytes, 0, 0, pos);
}

function pad(alignMask) {
  const bytes = out.bytes;
  while ((pos & alignMask) !== 0) bytes[pos++] = 0;
}

function writeOffset(value, width) {
  const bytes = out.bytes;
  for (let i = 0; i < width; i++) {
    bytes[pos++] = value % 256;
    value = Math.floor(value / 256);
  }
}

// A checked C string (no NUL, no lone surrogate) and its NUL.
function writeString(s) {
  const n = s.length;
  reserve(3 * n + 1);
  const bytes = out.bytes;
  let i = 0;
  for (; i < n; i++) { // ASCII, byte by byte: faster than Buffer.write for short strings
    const c = s.charCodeAt(i);
    if (c >= 0x80) break;
    bytes[pos + i] = c;
  }
  pos += i;
  if (i < n) pos += bytes.utf8Write(s.slice(i), pos);
  bytes[pos++] = 0;
}

function writeInt64(n) {
  reserve(8);
  const view = out.view;
  if (typeof n === 'bigint') {
    view.setBigInt64(pos, n, true);
  } else {
    view.setUint32(pos, n >>> 0, true);
    view.setInt32(pos + 4, Math.floor(n / TWO_32), true);
  }
  pos += 8;
}

// Write x, whose typed form plan() found to be type (its TypeInfo info), at pos (aligned already);
// records holds plan()'s containers in the order plan() met them, from records.next on.
function write(x, info, records) {
  switch (info.code) {
    case 'b':
      reserve(1);
      out.bytes[pos++] = x ? 1 : 0;
      return;
    case 'x':
      writeInt64(x);
      return;
    case 't':
      reserve(8);
      out.view.setBigUint64(pos, x, true);
      pos += 8;
      return;
    case 'd':
      reserve(8);
      out.view.setFloat64(pos, x, true);
      pos += 8;
      return;
    case 's':
      writeString(x);
      return;
    case 'm': // null: "mv" nothing, no bytes
      return;
    case 'v':
      throw new Error('tlslocal: plan() never gives a bare variant');
    default:
      break;
  }
  // "ay", "a{sv}" or another array
  const element = info.element;
  if (element.code === 'y') {
    const data = x instanceof Uint8Array ? x : new Uint8Array(x);
    reserve(data.length);
    out.bytes.set(data, pos);
    pos += data.length;
    return;
  }
  const record = records.list[records.next++];
  const { values, types } = record;
  const n = values.length;
  const start = pos;
  if (info.isDict) {
    writeDict(record, records, start);
    return;
  }
  if (element.fixedSize !== 0) { // "ab", "ax", "at", "ad": the items, no offsets
    for (let i = 0; i < n; i++) write(values[i], element, records);
    return;
  }
  const base = nOffsets;
  const isVariant = element.code === 'v';
  for (let i = 0; i < n; i++) {
    reserve(element.alignMask);
    pad(element.alignMask);
    if (isVariant) writeVariant(values[i], types[i], records);
    else write(values[i], element, records);
    offsets[nOffsets++] = pos - start;
  }
  finishOffsets(start, base, false);
}

// The framing offsets offsets[base..nOffsets) of the container started at start, in order or
// reversed, then drops them.
function finishOffsets(start, base, reverse) {
  const n = nOffsets - base;
  const width = widthFor(pos - start, n);
  reserve(width * n);
  if (reverse) for (let i = nOffsets - 1; i >= base; i--) writeOffset(offsets[i], width);
  else for (let i = base; i < nOffsets; i++) writeOffset(offsets[i], width);
  nOffsets = base;
}

// A variant holding x of type (a string), at an 8-aligned pos.
function writeVariant(x, type, records) {
  const info = infoOf(type);
  write(x, info, records);
  reserve(1 + type.length);
  const bytes = out.bytes;
  bytes[pos++] = 0;
  for (let i = 0; i < type.length; i++) bytes[pos++] = type.charCodeAt(i);
}

// An "a{sv}" of record.keys and record.values (of record.types).
function writeDict(record, records, start) {
  const { keys, values, types } = record;
  const base = nOffsets;
  for (let i = 0; i < keys.length; i++) {
    reserve(7);
    pad(7);
    const entry = pos;
    writeString(keys[i]);
    const keyEnd = pos - entry;
    reserve(7);
    pad(7);
    writeVariant(values[i], types[i], records);
    const width = widthFor(pos - entry, 1);
    reserve(width);
    writeOffset(keyEnd, width);
    offsets[nOffsets++] = pos - start;
  }
  finishOffsets(start, base, false);
}

// Serialise x, whose typed form is type, as plan() described it in records (an array of { keys,
// values, types } for each container, in the order met); returns the number of bytes, in
// out.bytes. Throws only for a type plan() cannot give.
function encode(x, type, records) {
  pos = 0;
  nOffsets = 0;
  if (offsets.length > 65536) offsets = [];
  write(x, infoOf(type), { list: records, next: 0 });
  return pos;
}

// ---- decoding ------------------------------------------------------------------------------

// The bytes being read, and a view of them, set by decode().
let src = null;
let srcView = null;

// The framing offset of width bytes at at.
function readOffset(at, width) {
  switch (width) {
    case 1:
      return src[at];
    case 2:
      return srcView.getUint16(at, true);
    case 4:
      return srcView.getUint32(at, true);
    default:
      return srcView.getUint32(at, true) + srcView.getUint32(at + 4, true) * TWO_32;
  }
}

function readInt64(at) {
  const hi = srcView.getInt32(at + 4, true);
  const lo = srcView.getUint32(at, true);
  if (hi >= -0x200000 && hi < 0x200000 && !(hi === -0x200000 && lo === 0)) return hi * TWO_32 + lo;
  return srcView.getBigInt64(at, true);
}

function readUint64(at) {
  const hi = srcView.getUint32(at + 4, true);
  if (hi < 0x200000) return hi * TWO_32 + srcView.getUint32(at, true);
  return srcView.getBigUint64(at, true);
}

// The text of a string value in [start, end) (its NUL last).
function readString(start, end) {
  const n = end - 1 - start;
  if (n <= 0) return '';
  if (n <= 24) { // short ASCII, char by char: faster than Buffer's decoder
    let s = '';
    for (let i = start; i < end - 1; i++) {
      const c = src[i];
      if (c >= 0x80) return src.utf8Slice(start, end - 1);
      s += String.fromCharCode(c);
    }
    return s;
  }
  return src.utf8Slice(start, end - 1);
}

// The JavaScript value of the value of info in src[start, end).
function read(info, start, end) {
  switch (info.code) {
    case 'b':
      return src[start] !== 0;
    case 'y':
      return src[start];
    case 'n':
      return srcView.getInt16(start, true);
    case 'q':
      return srcView.getUint16(start, true);
    case 'i':
    case 'h':
      return srcView.getInt32(start, true);
    case 'u':
      return srcView.getUint32(start, true);
    case 'x':
      return readInt64(start);
    case 't':
      return readUint64(start);
    case 'd':
      return srcView.getFloat64(start, true);
    case 's':
    case 'o':
    case 'g':
      return readString(start, end);
    case 'v': {
      if (src[end - 2] === 0) {
        const basic = basicInfos[src[end - 1]];
        if (basic !== undefined) return read(basic, start, end - 2);
      }
      let zero = end - 1;
      while (zero > start && src[zero] !== 0) zero--;
      return read(infoOf(src.latin1Slice(zero + 1, end)), start, zero);
    }
    case 'm': {
      if (end === start) return null;
      const element = info.element;
      return read(element, start, element.fixedSize !== 0 ? end : end - 1);
    }
    case 'a':
      return readArray(info, start, end);
    default: // a tuple, or a dict entry outside a dictionary: an Array of its members
      return readMembers(info, start, end);
  }
}

function readArray(info, start, end) {
  const element = info.element;
  if (element.code === 'y') return Buffer.from(src.subarray(start, end)); // a copy
  const isDict = info.isDict;
  const result = isDict ? {} : [];
  if (end === start) return result;
  const fixed = element.fixedSize;
  if (fixed !== 0) {
    const n = (end - start) / fixed;
    for (let i = 0; i < n; i++) {
      const at = start + i * fixed;
      if (isDict) setEntry(result, element, at, at + fixed);
      else result.push(read(element, at, at + fixed));
    }
    return result;
  }
  const width = offsetWidth(end - start);
  const table = start + readOffset(end - width, width);
  const n = (end - table) / width;
  const mask = element.alignMask;
  let at = start;
  for (let i = 0; i < n; i++) {
    at = (at + mask) & ~mask; // relative to 0: the array started aligned
    const itemEnd = start + readOffset(table + i * width, width);
    if (isDict) setEntry(result, element, at, itemEnd);
    else result.push(read(element, at, itemEnd));
    at = itemEnd;
  }
  return result;
}

// result[String(key)] = value of the dict entry (of info) in [start, end).
function setEntry(result, info, start, end) {
  const [keyInfo, valueInfo] = info.members;
  let keyEnd;
  let valueStart;
  if (keyInfo.fixedSize !== 0) {
    keyEnd = start + keyInfo.fixedSize;
  } else {
    const width = offsetWidth(end - start);
    keyEnd = start + readOffset(end - width, width);
    end -= width;
  }
  const mask = valueInfo.alignMask;
  valueStart = (keyEnd + mask) & ~mask;
  if (valueInfo.fixedSize !== 0) end = valueStart + valueInfo.fixedSize;
  const key = read(keyInfo, start, keyEnd);
  const value = read(valueInfo, valueStart, end);
  const name = typeof key === 'string' ? key : String(key);
  if (name === '__proto__') {
    Object.defineProperty(result, name, { value, writable: true, enumerable: true,
      configurable: true });
  } else {
    result[name] = value;
  }
}

function readMembers(info, start, end) {
  const members = info.members;
  const result = new Array(members.length);
  const width = offsetWidth(end - start);
  let tableEnd = end; // the framing offsets are read from the end backwards
  let at = start;
  for (let i = 0; i < members.length; i++) {
    const member = members[i];
    at = (at + member.alignMask) & ~member.alignMask;
    let memberEnd;
    if (member.fixedSize !== 0) {
      memberEnd = at + member.fixedSize;
    } else if (i === members.length - 1) {
      memberEnd = tableEnd;
    } else {
      tableEnd -= width;
      memberEnd = start + readOffset(tableEnd, width);
    }
    result[i] = read(member, at, memberEnd);
    at = memberEnd;
  }
  return result;
}

// The JavaScript value of the serialised value of type in bytes (a Buffer; its byteOffset need not
// be aligned: every read goes through a DataView).
function decode(type, bytes) {
  src = bytes;
  srcView = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  try {
    return read(infoOf(type), 0, bytes.length);
  } finally {
    src = null;
    srcView = null;
  }
}

module.exports = { encode, decode, out, LITTLE_ENDIAN };
