'use strict';
// SPDX-License-Identifier: LGPL-2.1-or-later
// Shared by the Node binding's tests: the C helper (tl-nodehelper.c), loaded with koffi, and small
// utilities. The helper stands for C code in the same process: it reads and writes the calling
// thread's dictionaries with tlslocal.h alone.

const koffi = require('koffi');
const v8 = require('node:v8');
const vm = require('node:vm');

const HELPER_PATH = process.env.TLSLOCAL_TEST_HELPER;

let helper = null;

function loadHelper() {
  if (helper !== null) return helper;
  if (!HELPER_PATH) throw new Error('TLSLOCAL_TEST_HELPER is not set (run the tests via meson)');
  const lib = koffi.load(HELPER_PATH);
  const fn = {
    free: lib.func('void helper_free(void *memory)'),
    readString: lib.func('void *helper_read_string(const char *local_name, const char *key)'),
    describe: lib.func('void *helper_describe(const char *local_name, const char *key)'),
    describeAddress: lib.func('void *helper_describe_address(void *local, const char *key)'),
    describeInNewThread: lib.func('void *helper_describe_in_new_thread(const char *local_name, ' +
      'const char *key)'),
    setText: lib.func('int helper_set_text(const char *local_name, const char *key, ' +
      'const char *type, const char *text)'),
    setPointer: lib.func('int helper_set_pointer(const char *local_name, const char *key, ' +
      'void *ptr)'),
    pointersDestroyed: lib.func('int helper_pointers_destroyed(void)'),
  };
  const take = (pointer) => {
    if (pointer === null) return null;
    try {
      return koffi.decode(pointer, 'char', -1);
    } finally {
      fn.free(pointer);
    }
  };
  helper = {
    // The string C reads for key in this thread's dictionary of the named local (or null).
    readString: (name, key) => take(fn.readString(name, key)),
    // "TYPE|TEXT" (type-annotated GVariant text) as C reads it in this thread, or null.
    describe: (name, key) => take(fn.describe(name, key)),
    describeAddress: (address, key) => take(fn.describeAddress(address, key)),
    describeInNewThread: (name, key) => take(fn.describeInNewThread(name, key)),
    // C stores the value parsed from text (type string or null): returns the library's status.
    setText: (name, key, type, text) => fn.setText(name, key, type, text),
    setPointer: (name, key, address) => fn.setPointer(name, key, address),
    pointersDestroyed: () => fn.pointersDestroyed(),
  };
  return helper;
}

// A garbage collector call without --expose-gc on the command line (node --test spawns the files).
let gcFunction = null;
function gc() {
  if (gcFunction === null) {
    v8.setFlagsFromString('--expose-gc');
    gcFunction = vm.runInNewContext('gc');
  }
  gcFunction();
}

// Wait until predicate() is true, collecting garbage and yielding to the event loop (where the
// FinalizationRegistry callbacks run) in between; false after timeoutMs.
async function eventually(predicate, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (predicate()) return true;
    gc();
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return predicate();
}

let counter = 0;
// A fresh local name per test, so tests never see each other's named locals.
function uniqueName(prefix = 'node-test') {
  counter += 1;
  return `${prefix}-${process.pid}-${require('node:worker_threads').threadId}-${counter}`;
}

module.exports = { loadHelper, gc, eventually, uniqueName };
