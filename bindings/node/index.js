'use strict';
// SPDX-License-Identifier: LGPL-2.1-or-later
// tlslocal: per-thread dictionaries backed by libtlslocal, so that C code (and Python) in the same
// thread sees the values, and each worker_threads Worker (its own OS thread) has its own.
//
//   const { Local } = require('tlslocal');
//   const ctx = Local.open('request').view;  // the named local C opens with tl_local_open("request")
//   ctx.requestId = 'a1';                    // C: tl_local_peek(local, "requestId") -> 'a1'
//
// README.md documents the API and the value mapping; _convert.js implements the mapping and
// _ffi.js holds the C prototypes.

const {
  lib, raw, koffi, TlslocalError, errorFor, LIBRARY_PATH, LOCAL_UNREF,
} = require('./_ffi.js');
const {
  store, load, materialize, checkKey, NativePointer, Packed, ABSENT, UNCACHED, PACKED_MAX, MAX_DEPTH,
} = require('./_convert.js');
const { isMainThread } = require('node:worker_threads');

const dispose = Symbol.dispose || Symbol.for('nodejs.dispose');
const CREATE = Symbol('tlslocal.create');
const inspect = Symbol.for('nodejs.util.inspect.custom');
const MISSING = Symbol('tlslocal.missing');
const TL_ERR_NOT_FOUND = -3;
const outStrv = new BigUint64Array(1); // char ***out_keys
const outCount = new BigUint64Array(1); // size_t *

// The calling thread's change counter (tl_thread_change_counter()), read as two 32-bit words of the
// library's own thread-local memory: while it stands still, no dictionary of this thread has
// changed (through JavaScript, C or Python), so what a Local read or wrote before is what C holds
// still. Each thread loads its own instance of this module, so the counter is the right thread's.
// null where external ArrayBuffers are forbidden (Electron): every read then asks C.
const changes = (() => {
  try {
    return new Uint32Array(koffi.view(lib.tl_thread_change_counter(), 8));
  } catch {
    return null;
  }
})();
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const LO = LITTLE_ENDIAN ? 0 : 1;
const HI = 1 - LO;
function changeCount() {
  return changes[HI] * 2 ** 32 + changes[LO];
}
// The per-Local read cache: for at most CACHE_MAX keys, what a read gives (load()'s answer: a
// primitive, ABSENT, or a Packed binary form, decoded anew for each read so that callers get
// their own copy), while the counter reads #seen.
const CACHE_MAX = 1024;

// Every reference to a local that this thread's JavaScript holds is owned by a pointer value in
// this thread's dictionary of the keeper, a named local of this binding's own, with tl_local_unref
// as its destroy function. So the thread's exit drops the references however the thread ends:
// worker.terminate() runs no JavaScript ('exit' listeners, FinalizationRegistry callbacks), but
// the library's thread-exit cleanup frees the thread's dictionaries all the same. close(), the
// FinalizationRegistry and a Worker's 'exit' listener release a reference by deleting its key.
// The keeper's own reference, this module's, is held the same way, in the keeper.
const KEEPER_NAME = 'tlslocal.node: the references JavaScript holds';
let keeper = null;
let serial = 0;

// The keeper's handle, opened on first use (and again after clearThread()).
function keeperHandle() {
  if (keeper === null) {
    const handle = lib.tl_local_open(KEEPER_NAME);
    adopt(handle, handle, 'keeper');
    keeper = handle;
  }
  return keeper;
}

// Give the reference handle to a pointer value under key in this thread's dictionary of the
// keeper, whose handle is holder; if that fails, the reference is released and this throws.
function adopt(holder, handle, key) {
  const value = raw.tl_value_new_pointer(handle, LOCAL_UNREF);
  if (value === null) {
    const error = errorFor(lib.tl_last_error());
    raw.tl_local_unref(handle);
    throw error;
  }
  lib.tl_local_set_take(holder, key, value);
}

// One record per reference this thread's JavaScript holds: { handle, key } (handle null once
// released), key its key in the keeper. A Local reaches its handle through the record, so a
// release by close(), by the FinalizationRegistry or at the Worker's exit is seen by every later
// call.
const live = new Set();

// A record for a new reference to a local, tl_local_open(name) or with name null tl_local_new(),
// owned by the keeper. From the call that makes the reference to the one that gives it to the
// keeper no JavaScript function is called: that is where a terminating Worker's JavaScript stops,
// and it would leave the reference held by nothing.
function hold(name) {
  const holder = keeperHandle();
  const key = String(++serial);
  const handle = name === null ? raw.tl_local_new() : raw.tl_local_open(name);
  const value = handle === null ? null : raw.tl_value_new_pointer(handle, LOCAL_UNREF);
  const status = value === null ? -1 : raw.tl_local_set_take(holder, key, value);
  if (status < 0) {
    const error = errorFor(raw.tl_last_error());
    if (value === null) raw.tl_local_unref(handle); // with a value, set_take released it
    throw error;
  }
  const record = { handle, key };
  live.add(record);
  return record;
}

function release(record) {
  if (record.handle === null) return;
  record.handle = null;
  live.delete(record);
  raw.tl_local_delete(keeperHandle(), record.key); // runs tl_local_unref
}

// The safety net: a Local that is garbage collected without close() drops its reference.
const registry = new FinalizationRegistry(release);

// A Worker's Locals cannot outlive it (a JavaScript object belongs to one thread), so its
// references are dropped when it exits rather than leaked. The main thread's are left to the
// process's end, so that other 'exit' listeners may still use them.
if (!isMainThread) {
  process.once('exit', () => {
    for (const record of [...live]) release(record);
  });
}

function closedError() {
  return new TlslocalError(-1, 'TL_ERR_INVALID_ARGUMENT',
    'this Local is closed (close(), Symbol.dispose, or its Worker exited)');
}

function viewHandler(local) {
  // Every string property is a key of the calling thread's dictionary; symbols are not stored.
  return {
    get(target, property) {
      if (typeof property === 'symbol') {
        if (property === dispose) return () => local.close();
        if (property === Symbol.toStringTag) return 'tlslocal.View';
        return undefined;
      }
      return local.get(property);
    },
    set(target, property, value) {
      if (typeof property === 'symbol') {
        throw new TypeError('tlslocal: a view stores string keys only, not symbols');
      }
      local.set(property, value);
      return true;
    },
    deleteProperty(target, property) {
      if (typeof property !== 'symbol') local.delete(property);
      return true;
    },
    has(target, property) {
      return typeof property !== 'symbol' && local.has(property);
    },
    ownKeys() {
      return local.keys();
    },
    getOwnPropertyDescriptor(target, property) {
      if (typeof property === 'symbol') return undefined;
      const value = local.get(property, MISSING);
      if (value === MISSING) return undefined;
      return { value, writable: true, enumerable: true, configurable: true };
    },
    defineProperty(target, property, descriptor) {
      if (typeof property === 'symbol' || !('value' in descriptor)) {
        throw new TypeError('tlslocal: a view holds plain data properties with string keys only');
      }
      local.set(property, descriptor.value);
      return true;
    },
    setPrototypeOf() {
      return false;
    },
    preventExtensions() {
      return false;
    },
  };
}

class Local {
  #record;
  #name;
  #view = null;
  #cache = new Map(); // key -> load()'s answer, valid while changeCount() is #seen
  #seen = -1;

  // A new local, with no dictionary in any thread yet (tl_local_new()).
  constructor(...args) {
    if (args[0] === CREATE) {
      this.#name = args[1];
    } else {
      if (args.length > 0) throw new TypeError('tlslocal: new Local() takes no arguments');
      this.#name = null;
    }
    this.#record = hold(this.#name);
    registry.register(this, this.#record, this.#record);
  }

  // The process-wide local registered under name (tl_local_open()), created on first use: C code
  // calling tl_local_open(name), Python's tlslocal.open(name) and every Worker's Local.open(name)
  // reach the same local, each thread with its own dictionary.
  static open(name) {
    checkKey(name, 'local name');
    return new Local(CREATE, name);
  }

  // Forget the name (tl_local_unregister()): handles already opened stay valid, and a later
  // open(name) creates a new local. Returns false if no local was registered under name.
  static unregister(name) {
    checkKey(name, 'local name');
    const status = raw.tl_local_unregister(name);
    if (status === 0) return true;
    if (status === TL_ERR_NOT_FOUND) return false;
    throw errorFor(status);
  }

  #handle() {
    const handle = this.#record.handle;
    if (handle === null) throw closedError();
    return handle;
  }

  // The cached answer for key, or undefined for "ask C"; forgets the cache when this thread's
  // dictionaries changed since it was filled.
  #cached(key) {
    if (changes === null) return undefined;
    const now = changeCount();
    if (now === this.#seen) return this.#cache.get(key);
    this.#cache.clear();
    this.#seen = now;
    return undefined;
  }

  #remember(key, entry) {
    const cache = this.#cache;
    if (cache.size >= CACHE_MAX) cache.clear();
    cache.set(key, entry);
  }

  // After this Local's own change of key, from the count before it: when the change was the only
  // one since (the counter moved by one), the cache stays valid, with entry (what a read of key now
  // gives, or UNCACHED) for key.
  #changed(key, before, entry) {
    if (changeCount() !== before + 1) return; // something else changed too: #cached() clears
    if (before !== this.#seen) this.#cache.clear();
    this.#seen = before + 1;
    if (entry === UNCACHED || (entry instanceof Packed && entry.bytes.length > PACKED_MAX)) {
      this.#cache.delete(key);
    } else {
      this.#remember(key, entry);
    }
  }

  // The calling thread's value for key, or defaultValue when this thread has none.
  get(key, defaultValue = undefined) {
    const handle = this.#handle();
    let entry = this.#cached(key);
    if (entry === undefined) {
      entry = load(handle, checkKey(key));
      if (typeof entry === 'object' && entry !== null && !(entry instanceof Packed)) {
        return entry; // made for this read (a NativePointer...): not kept
      }
      if (changes !== null && !(entry instanceof Packed && entry.bytes.length > PACKED_MAX)) {
        this.#remember(key, entry);
      }
    }
    if (entry === ABSENT) return defaultValue;
    return entry instanceof Packed ? materialize(entry) : entry;
  }

  // Store value under key in the calling thread's dictionary. Returns this.
  set(key, value) {
    const handle = this.#handle();
    checkKey(key);
    if (changes === null) {
      store(handle, key, value);
      return this;
    }
    const before = changeCount();
    this.#changed(key, before, store(handle, key, value));
    return this;
  }

  // Remove key from the calling thread's dictionary; false if it was absent.
  delete(key) {
    const handle = this.#handle();
    const before = changes === null ? 0 : changeCount();
    const status = raw.tl_local_delete(handle, checkKey(key));
    if (status === 0) {
      if (changes !== null) this.#changed(key, before, ABSENT);
      return true;
    }
    if (status === TL_ERR_NOT_FOUND) return false;
    throw errorFor(status);
  }

  has(key) {
    const handle = this.#handle();
    const entry = this.#cached(key);
    if (entry !== undefined) return entry !== ABSENT;
    return lib.tl_local_contains(handle, checkKey(key)) === 1;
  }

  // The calling thread's keys, in insertion order.
  keys() {
    const handle = this.#handle();
    lib.tl_local_keys(handle, outStrv, outCount);
    const strv = outStrv[0];
    try {
      // One string at a time: koffi would fill an array of them through N-API (_ffi.js).
      const n = Number(outCount[0]);
      const keys = new Array(n);
      for (let i = 0; i < n; i++) keys[i] = koffi.decode(strv, 8 * i, 'const char *');
      return keys;
    } finally {
      raw.tl_strv_free(strv);
    }
  }

  // [key, value] pairs of the calling thread's dictionary, in insertion order.
  entries() {
    const handle = this.#handle();
    const result = [];
    for (const key of this.keys()) {
      const entry = load(handle, key);
      if (entry !== ABSENT) result.push([key, materialize(entry)]);
    }
    return result;
  }

  // The calling thread's dictionary as a plain object (a copy).
  toObject() {
    const result = {};
    for (const [key, value] of this.entries()) {
      Object.defineProperty(result, key, { value, writable: true, enumerable: true,
        configurable: true });
    }
    return result;
  }

  // The GVariant type string of the calling thread's value for key ("x", "s", "a{sv}", "p"...), or
  // undefined when this thread has none.
  typeOf(key) {
    const value = raw.tl_local_peek(this.#handle(), checkKey(key));
    return value === null ? undefined : raw.tl_value_type(value);
  }

  // Remove every key of the calling thread's dictionary.
  clear() {
    lib.tl_local_clear(this.#handle());
  }

  get size() {
    lib.tl_local_size(this.#handle(), outCount);
    return Number(outCount[0]);
  }

  // The name given to Local.open(), or null.
  get name() {
    return this.#name;
  }

  // The TlLocal * as a BigInt, for C code called from JavaScript (borrowed: valid while this Local
  // is open).
  get address() {
    return this.#handle();
  }

  get closed() {
    return this.#record.handle === null;
  }

  // A Proxy over this local: view.requestId = 'a1', view.requestId, delete view.requestId,
  // 'requestId' in view, Object.keys(view). The same object every time.
  get view() {
    this.#handle();
    if (this.#view === null) {
      // util.inspect() looks at a Proxy's target, not through the traps: the target carries the
      // custom inspect function (configurable, so the traps may hide it from everything else).
      const target = Object.create(null);
      Object.defineProperty(target, inspect, { value: () => this.toObject(), configurable: true });
      this.#view = new Proxy(target, viewHandler(this));
    }
    return this.#view;
  }

  // Drop this handle's reference (the local itself lives while other references remain: other
  // handles, other threads, the name registry). Idempotent; any later call throws.
  close() {
    const record = this.#record;
    if (record.handle === null) return;
    registry.unregister(record);
    release(record);
  }

  [dispose]() {
    this.close();
  }

  *[Symbol.iterator]() {
    yield* this.entries();
  }

  [inspect](depth, options, inspectFn) {
    if (this.closed) return `Local <closed>${this.#name === null ? '' : ` ${this.#name}`}`;
    const label = this.#name === null ? 'Local' : `Local ${JSON.stringify(this.#name)}`;
    return `${label} ${(inspectFn || require('node:util').inspect)(this.toObject(), options)}`;
  }
}

// Process-wide counts from the library, to see leaks: locals not yet destroyed, per-thread
// dictionaries, threads holding library state, live values.
function stats() {
  return {
    locals: Number(lib.tl_stats_live_locals()),
    dicts: Number(lib.tl_stats_live_dicts()),
    threads: Number(lib.tl_stats_live_threads()),
    values: Number(lib.tl_stats_live_values()),
  };
}

// The calling thread's id as the library sees it (a BigInt, nonzero, never reused).
function threadId() {
  return BigInt(lib.tl_thread_id());
}

// Free every dictionary of the calling thread in every local, as the thread's exit would
// (tl_thread_clear()): for the main thread, whose exit frees nothing. That frees the keeper's
// dictionary too, with the references this thread's open Locals hold: each takes one more first,
// given back to the keeper after.
function clearThread() {
  const records = [...live];
  for (const record of records) raw.tl_local_ref(record.handle);
  keeper = null; // its reference goes with its dictionary
  lib.tl_thread_clear();
  let failure = null;
  for (const record of records) {
    try {
      adopt(keeperHandle(), record.handle, record.key);
    } catch (error) {
      record.handle = null; // adopt() released it: this Local is closed
      live.delete(record);
      failure ??= error;
    }
  }
  if (failure !== null) throw failure;
}

keeperHandle(); // now, so that stats() counts it from the start

const version = lib.tl_version();
const libraryPath = LIBRARY_PATH;

// Names only, no other expression: Node finds a CommonJS module's exports for ESM's named imports
// by reading this statement (cjs-module-lexer), and stops at the first value that is not a name.
module.exports = {
  Local,
  NativePointer,
  TlslocalError,
  stats,
  threadId,
  clearThread,
  version,
  libraryPath,
  MAX_DEPTH,
};
