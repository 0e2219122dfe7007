// SPDX-License-Identifier: LGPL-2.1-or-later
// Types for the tlslocal package (README.md documents the API and the value mapping).
//
// Self-contained: they need no @types/node (a Buffer read back is typed Buffer where Node's types
// are loaded, Uint8Array otherwise) and no lib with Disposable (declared below, as TypeScript's
// own esnext.disposable lib and @types/node declare it); any lib from ES2015 on will do. Checked
// with `tsc --strict` by test/types (TypeScript 5 and 7).

declare global {
  interface SymbolConstructor {
    readonly dispose: unique symbol;
  }
  interface Disposable {
    [Symbol.dispose](): void;
  }
}

/** Node's Buffer where its types are loaded (@types/node), else the Uint8Array a Buffer is. */
export type BufferRead = typeof globalThis extends {
  Buffer: { alloc(size: number, ...rest: any[]): infer B };
}
  ? B
  : Uint8Array;

/**
 * What a value reads back as. A NativePointer inside a container comes only from C (a snapshot
 * carrying a pointer value); JavaScript stores one at the top level only.
 */
export type TypedValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | BufferRead
  | NativePointer
  | TypedValue[]
  | { [key: string]: TypedValue };

/** What stores as a scalar or bytes, at any depth. */
export type StorableScalar = null | boolean | number | bigint | string | Uint8Array | ArrayBuffer;

/**
 * T where the runtime stores it inside a container, else never: scalars, arrays and objects of
 * them. Checked property by property, so values typed by an interface pass. Refused, as at run
 * time: NativePointer, undefined, functions, symbols, symbol keys, and objects with methods
 * (Date, Map, Set, other typed arrays...). What a type cannot tell: the runtime also refuses
 * class instances with data fields only, cycles, array holes, and nesting deeper than MAX_DEPTH.
 */
export type StorableData<T> = T extends ArrayBufferView
  ? T extends Uint8Array
    ? T
    : never
  : T extends StorableScalar | StorableDataValue
    ? T
    : T extends NativePointer | ((...args: never[]) => unknown)
      ? never
      : T extends readonly unknown[]
        ? { readonly [I in keyof T]: StorableData<T[I]> }
        : T extends object
          ? { readonly [K in keyof T]: K extends symbol ? never : StorableData<T[K]> }
          : never;

/** T where the runtime stores it as a value: what StorableData<T> allows, or a NativePointer. */
export type Storable<T> = T extends NativePointer ? T : StorableData<T>;

/**
 * A value that stores (see "Value mapping" in README.md), for code that holds one without a
 * type of its own. Local.set() takes more: any T that Storable<T> allows, interfaces included.
 */
export type StorableValue =
  | StorableScalar
  | NativePointer
  | readonly StorableDataValue[]
  | { readonly [key: string]: StorableDataValue };

/** StorableValue inside a container: no NativePointer. */
export type StorableDataValue =
  | StorableScalar
  | readonly StorableDataValue[]
  | { readonly [key: string]: StorableDataValue };

/**
 * A Proxy over a Local: every string property is a key of the calling thread's dictionary
 * (reads give TypedValue or undefined; writes take what Local.set() takes, unchecked here).
 */
export type LocalView = { [key: string]: any } & Disposable;

/** A native pointer value ("p"): its address. Storing one gives C a pointer with no destroy function. */
export class NativePointer {
  #brand: unknown; // nominal: an object with an address is not a NativePointer
  constructor(address: bigint);
  readonly address: bigint;
}

/** A libtlslocal call failed, or a closed Local was used. */
export class TlslocalError extends Error {
  constructor(status: number, code: string, detail: string);
  /** The status name, e.g. "TL_ERR_NOT_FOUND". */
  readonly code: string;
  /** The negative TL_ERR_* value. */
  readonly status: number;
  /** The library's message for the failed call. */
  readonly detail: string;
}

/**
 * A local: one separate dictionary per OS thread (the main thread and each Worker), shared by all
 * the asynchronous tasks a thread runs: not AsyncLocalStorage (README.md, "Threads, lifetimes,
 * errors").
 */
export class Local implements Disposable, Iterable<[string, TypedValue]> {
  /** A new local, with no dictionary in any thread yet. */
  constructor();
  /** The process-wide local registered under name, created on first use. */
  static open(name: string): Local;
  /** Forget the name; false if nothing was registered under it. */
  static unregister(name: string): boolean;

  get(key: string): TypedValue | undefined;
  get<D>(key: string, defaultValue: D): TypedValue | D;
  /** Stores value if Storable<T> allows it (T is inferred from value, then checked). */
  set<T>(key: string, value: T & Storable<T>): this;
  delete(key: string): boolean;
  has(key: string): boolean;
  keys(): string[];
  entries(): [string, TypedValue][];
  toObject(): { [key: string]: TypedValue };
  /** The value's GVariant type string ("x", "s", "a{sv}", "p"...), or undefined if absent. */
  typeOf(key: string): string | undefined;
  clear(): void;
  readonly size: number;
  /** The name given to Local.open(), or null. */
  readonly name: string | null;
  /** The TlLocal * for C code called from this thread (valid while this Local is open). */
  readonly address: bigint;
  readonly closed: boolean;
  /** The Proxy view (the same object every time). */
  readonly view: LocalView;
  close(): void;
  [Symbol.dispose](): void;
  [Symbol.iterator](): Iterator<[string, TypedValue]>;
}

export interface Stats {
  locals: number;
  dicts: number;
  threads: number;
  values: number;
}

/** Process-wide counts from the library, to see leaks. */
export function stats(): Stats;
/** The calling thread's id as the library sees it. */
export function threadId(): bigint;
/** Free every dictionary of the calling thread, in every local (tl_thread_clear()); open Locals stay open. */
export function clearThread(): void;

/** The loaded library's version, "MAJOR.MINOR.MICRO". */
export const version: string;
/**
 * The library file in use: TLSLOCAL_LIBRARY as given, else the file as the dynamic linker names it
 * (a copy the process had already loaded, the package's bundled copy, or what its search found).
 */
export const libraryPath: string;
/** How deeply containers may nest. */
export const MAX_DEPTH: number;
