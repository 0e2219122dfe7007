// Types for the tlslocal package (README.md documents the API and the value mapping).

/** What a value reads back as. */
export type TypedValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Buffer
  | NativePointer
  | TypedValue[]
  | { [key: string]: TypedValue };

/** What a value may be stored as (see "Value mapping" in README.md). */
export type StorableValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | ArrayBuffer
  | NativePointer
  | readonly StorableValue[]
  | { readonly [key: string]: StorableValue };

/** A Proxy over a Local: every string property is a key of the calling thread's dictionary. */
export type LocalView = { [key: string]: any } & Disposable;

/** A native pointer value ("p"): its address. Storing one gives C a pointer with no destroy function. */
export class NativePointer {
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

/** A local: one separate dictionary per thread (the main thread and each Worker). */
export class Local implements Disposable, Iterable<[string, TypedValue]> {
  /** A new local, with no dictionary in any thread yet. */
  constructor();
  /** The process-wide local registered under name, created on first use. */
  static open(name: string): Local;
  /** Forget the name; false if nothing was registered under it. */
  static unregister(name: string): boolean;

  get(key: string): TypedValue | undefined;
  get<D>(key: string, defaultValue: D): TypedValue | D;
  set(key: string, value: StorableValue): this;
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
/** Free every dictionary of the calling thread, in every local (tl_thread_clear()). */
export function clearThread(): void;

/** The loaded library's version, "MAJOR.MINOR.MICRO". */
export const version: string;
/** The file koffi loaded the library from. */
export const libraryPath: string;
/** How deeply containers may nest. */
export const MAX_DEPTH: number;
