// SPDX-License-Identifier: LGPL-2.1-or-later
// The types (index.d.ts) against what the runtime does: every line without a directive must
// compile; every line after `// @ts-expect-error` must not (tsc reports an error where it does).
// Compiled, not run, by run-types.js with each TypeScript it installs, with and without
// a lib that has Disposable, and without @types/node.

import {
  Local,
  NativePointer,
  TlslocalError,
  stats,
  threadId,
  clearThread,
  version,
  libraryPath,
  MAX_DEPTH,
} from 'tlslocal';
import type {
  BufferRead,
  LocalView,
  Storable,
  StorableValue,
  Stats,
  TypedValue,
} from 'tlslocal';

const local = new Local();
const pointer = new NativePointer(0x1000n);

// Scalars, bytes, a NativePointer at the top level.
local.set('n', 1).set('s', 'x').set('b', true).set('big', 2n ** 64n - 1n).set('none', null);
local.set('bytes', new Uint8Array([1, 2])).set('buffer', new ArrayBuffer(2)).set('p', pointer);

// Containers, however their type is spelled.
interface User {
  id: number;
  name: string;
  roles: string[];
  address?: { city: string };
  scores: readonly number[];
  pair: [number, string];
  avatar: Uint8Array | null;
  meta: Record<string, string | number>;
}
const user: User = { id: 1, name: 'a', roles: [], scores: [1], pair: [1, 'a'], avatar: null,
  meta: {} };
local.set('user', user); // an interface: no index signature, yet the runtime stores it
local.set('users', [user, user]);
type Point = { x: number; y: number };
const point: Point = { x: 1, y: 2 };
local.set('point', point);
local.set('literal', { a: 1, nested: { list: [1, 'two', null, [true]] }, 'é': 2 });
const stored: StorableValue = { list: [1, { deep: new Uint8Array(1) }] };
local.set('annotated', stored);
local.set('top', pointer as StorableValue);
const loose: any = new Date();
local.set('any', loose); // any is unchecked, as everywhere
function storeGeneric<T>(value: T & Storable<T>): void {
  local.set('generic', value);
}
storeGeneric({ ok: [1] });

// What the runtime refuses (TypeError), the types refuse.
// @ts-expect-error a NativePointer inside an object
local.set('nested', { p: pointer });
// @ts-expect-error a NativePointer inside an array
local.set('list', [pointer]);
interface WithPointer { name: string; p: NativePointer }
declare const withPointer: WithPointer;
// @ts-expect-error a NativePointer inside an interface-typed value
local.set('wp', withPointer);
// @ts-expect-error a NativePointer inside a StorableValue object
const bad: StorableValue = { p: pointer };
// @ts-expect-error undefined (delete the key, or store null)
local.set('u', undefined);
// @ts-expect-error undefined inside
local.set('u', { u: undefined as undefined });
// @ts-expect-error a function
local.set('f', () => 1);
// @ts-expect-error a function inside
local.set('f', { f: () => 1 });
// @ts-expect-error a symbol
local.set('sym', Symbol('x'));
// @ts-expect-error an object with methods (a Date)
local.set('d', new Date());
// @ts-expect-error a Map
local.set('m', new Map<string, number>());
// @ts-expect-error another typed array
local.set('i16', new Int16Array(2));
declare const opaque: unknown;
// @ts-expect-error unknown must be narrowed first
local.set('unknown', opaque);
// @ts-expect-error an object with an address is not a NativePointer
const fake: NativePointer = { address: 1n };

// Reads.
const value: TypedValue | undefined = local.get('k');
const withDefault: TypedValue | 0 = local.get('k', 0 as const);
if (value instanceof Uint8Array) {
  const bytes: BufferRead = value as BufferRead;
  const asBytes: Uint8Array = bytes;
}
if (value instanceof NativePointer) {
  const address: bigint = value.address;
}
// @ts-expect-error a read may be absent
const mustBeThere: TypedValue = local.get('k');
for (const [key, item] of local) {
  const k: string = key;
  const v: TypedValue = item;
}
const keys: string[] = local.keys();
const entries: [string, TypedValue][] = local.entries();
const object: { [key: string]: TypedValue } = local.toObject();
const type: string | undefined = local.typeOf('k');
const size: number = local.size;
const name: string | null = local.name;
const address: bigint = local.address;
const closed: boolean = local.closed;

// The view, disposal, the rest of the module.
const view: LocalView = local.view;
view.requestId = 'a1';
const disposable: Disposable = local;
local[Symbol.dispose]();
view[Symbol.dispose]();
const named: Local = Local.open('name');
const unregistered: boolean = Local.unregister('name');
const counts: Stats = stats();
const id: bigint = threadId();
clearThread();
const strings: string[] = [version, libraryPath];
const depth: number = MAX_DEPTH;
const error = new TlslocalError(-3, 'TL_ERR_NOT_FOUND', 'detail');
const fields: [string, number, string] = [error.code, error.status, error.detail];
