'use strict';
// SPDX-License-Identifier: LGPL-2.1-or-later
// The one koffi prototype table of libtlslocal, the loader, and the shared error check.
//
// Every C function of tlslocal.h is declared once, in PROTOTYPES, in the header's order, with its
// check, and bound at load. A symbol the library lacks fails the require() loudly, so a stale
// library is caught at once rather than at the first call.
//
// Marshalling conventions (koffi 3):
//   - TlLocal * and TlValue * are BigInt addresses (null for NULL), never dereferenced here.
//   - Keys and strings are JS strings; koffi encodes them as UTF-8 for the call. It silently cuts a
//     string at a NUL and replaces lone surrogates, so callers validate first (_convert.checkKey).
//   - 64-bit results come back as numbers up to 2**53 in magnitude, BigInts beyond; integer
//     arguments out of the C type's range are silently wrapped by koffi, so callers range-check.
//   - Out-parameters are one-element typed arrays of the C type (BigUint64Array for pointers and
//     size_t, BigInt64Array for int64_t, Int32Array for int, Float64Array for double...): koffi
//     hands C the array's own memory, so nothing is copied back. (koffi's `_Out_ T *` with a JS
//     array is ~4x slower, and reads a string left in the array as an input string buffer.)
//   - 'status' functions throw TlslocalError for a negative status, carrying the code, its name
//     and tl_last_error_message() read at once, on the same thread; 'pointer' functions throw it
//     for NULL. tl_local_peek is unchecked: its NULL is the ordinary "no such key" answer.
//   - char * results the caller must tl_free() are declared void * (koffi would decode a char *
//     result into a JS string and lose the pointer).
//   - Nothing that a call can be in when its Worker is terminated may ask N-API to run JavaScript
//     or make an object. From terminate() on, those N-API calls fail; koffi ignores the failure
//     where it reads a JavaScript array's items (and reads garbage: tl_value_new_vardict was
//     handed keys == values and crashed the process) and aborts the process where it throws
//     (koffi.view(), any koffi error). So calls pass only numbers, BigInts, strings, null and
//     typed arrays or ArrayBuffers (passed as their memory), never a JavaScript array, and get
//     only numbers, BigInts, strings and null back; arguments are checked before the call, so
//     koffi never throws. Native memory is read through memcpy into a Buffer, not koffi.view().
//
// Calls are synchronous, on the calling JavaScript thread (main or Worker): the library's
// "calling thread" is always the thread running the JavaScript. No .async() call is ever made.

const path = require('node:path');
const fs = require('node:fs');
const koffi = require('koffi');

const SONAME = { darwin: 'libtlslocal.1.dylib', win32: 'libtlslocal-1.dll' }[process.platform] ||
  'libtlslocal.so.1';
const ABI_MAJOR = 1;
const MIN_MINOR = 1; // 1.1's symbols are bound above: a 1.0 library fails there, loudly
const MIN_MICRO = 0;

class TlslocalError extends Error {
  // A libtlslocal call failed: code is the status name ("TL_ERR_NOT_FOUND"), status the negative
  // TL_ERR_* value, detail the library's message for the failed call.
  constructor(status, code, detail) {
    super(`${code} (${status}): ${detail}`);
    this.name = 'TlslocalError';
    this.code = code;
    this.status = status;
    this.detail = detail;
  }
}

// The types the prototypes name: registered by name in koffi's type table, which is per module
// instance, so each Worker that loads this module declares its own.
const TYPES = [
  'TlLocal',
  'TlValue',
  'void TlDestroyFunc(void *ptr)',
  'int TlForeachFunc(const char *key, TlValue *value, void *payload)',
  'int TlInitFunc(TlLocal *local, void *user_data)',
  'void TlExitHook(int reason, uint64_t thread_id, TlValue *contents, void *user_data)',
  'int TlVisitFunc(uint64_t thread_id, const char *key, TlValue *value, void *payload)',
];

const S = 'status';
const P = 'pointer';
// [C prototype, check]: every function of tlslocal.h, in the header's order.
const PROTOTYPES = [
  ['const char *tl_version(void)', null],
  ['int tl_version_check(unsigned int major, unsigned int minor, unsigned int micro)', null],
  ['const char *tl_strerror(int status)', null],
  ['const char *tl_status_name(int status)', null],
  ['const char *tl_last_error_message(void)', null],
  ['int tl_last_error(void)', null],
  // locals
  ['TlLocal *tl_local_new(void)', P],
  ['TlLocal *tl_local_new_full(unsigned int flags, TlInitFunc *init, void *user_data, ' +
    'TlDestroyFunc *user_data_destroy)', P],
  // fn is a C function of any signature (TlCallback): a plain address.
  ['TlLocal *tl_local_new_with_args(unsigned int flags, void *fn, int fn_returns_int, ' +
    'TlValue *args)', P],
  ['TlLocal *tl_local_open(const char *name)', P],
  ['int tl_local_unregister(const char *name)', S],
  ['TlLocal *tl_local_ref(TlLocal *local)', P],
  ['void tl_local_unref(TlLocal *local)', null],
  ['int tl_local_set(TlLocal *local, const char *key, TlValue *value)', S],
  ['int tl_local_set_take(TlLocal *local, const char *key, TlValue *value)', S],
  ['int tl_local_set_bool(TlLocal *local, const char *key, int value)', S],
  ['int tl_local_set_int64(TlLocal *local, const char *key, int64_t value)', S],
  ['int tl_local_set_uint64(TlLocal *local, const char *key, uint64_t value)', S],
  ['int tl_local_set_double(TlLocal *local, const char *key, double value)', S],
  ['int tl_local_set_string(TlLocal *local, const char *key, const char *value)', S],
  ['int tl_local_get(TlLocal *local, const char *key, TlValue **out)', S],
  ['TlValue *tl_local_peek(TlLocal *local, const char *key)', null], // NULL: absent
  ['int tl_local_get_bool(TlLocal *local, const char *key, int *out)', S],
  ['int tl_local_get_int64(TlLocal *local, const char *key, int64_t *out)', S],
  ['int tl_local_get_uint64(TlLocal *local, const char *key, uint64_t *out)', S],
  ['int tl_local_get_double(TlLocal *local, const char *key, double *out)', S],
  ['int tl_local_get_string(TlLocal *local, const char *key, const char **out)', S],
  ['int tl_local_get_scalar(TlLocal *local, const char *key, int *out_type, uint64_t *out_bits, ' +
    'const char **out_string)', S],
  ['int tl_local_delete(TlLocal *local, const char *key)', S],
  ['int tl_local_contains(TlLocal *local, const char *key)', S],
  ['int tl_local_size(TlLocal *local, size_t *out_size)', S],
  ['int tl_local_clear(TlLocal *local)', S],
  ['int tl_local_keys(TlLocal *local, char ***out_keys, size_t *out_n_keys)', S],
  ['int tl_local_foreach(TlLocal *local, TlForeachFunc *fn, void *payload)', S],
  // quarks (TlQuark is uint32_t); 0 and NULL are the errors of the first two
  ['uint32_t tl_quark_from_string(const char *string)', null],
  ['const char *tl_quark_to_string(uint32_t quark)', null],
  ['TlValue *tl_local_peek_quark(TlLocal *local, uint32_t key)', null], // NULL: absent
  ['int tl_local_get_quark(TlLocal *local, uint32_t key, TlValue **out)', S],
  ['int tl_local_set_quark(TlLocal *local, uint32_t key, TlValue *value)', S],
  ['int tl_local_delete_quark(TlLocal *local, uint32_t key)', S],
  ['int tl_local_set_exit_hook(TlLocal *local, TlExitHook *hook, void *user_data, ' +
    'TlDestroyFunc *user_data_destroy)', S],
  ['int tl_local_visit(TlLocal *local, const char *key, TlVisitFunc *fn, void *payload)', S],
  ['int tl_local_snapshot(TlLocal *local, TlValue **out)', S],
  ['int tl_local_apply(TlLocal *local, const TlValue *snapshot, int mode)', S],
  // values
  ['TlValue *tl_value_new_bool(int value)', P],
  ['TlValue *tl_value_new_byte(uint8_t value)', P],
  ['TlValue *tl_value_new_int16(int16_t value)', P],
  ['TlValue *tl_value_new_uint16(uint16_t value)', P],
  ['TlValue *tl_value_new_int32(int32_t value)', P],
  ['TlValue *tl_value_new_uint32(uint32_t value)', P],
  ['TlValue *tl_value_new_int64(int64_t value)', P],
  ['TlValue *tl_value_new_uint64(uint64_t value)', P],
  ['TlValue *tl_value_new_double(double value)', P],
  ['TlValue *tl_value_new_handle(int32_t value)', P],
  ['TlValue *tl_value_new_string(const char *string)', P],
  ['TlValue *tl_value_new_bytes(const void *data, size_t size)', P],
  ['TlValue *tl_value_new_pointer(void *ptr, TlDestroyFunc *destroy)', P],
  ['TlValue *tl_value_new_tuple(TlValue **items, size_t n_items)', P],
  ['TlValue *tl_value_new_array(const char *element_type, TlValue **items, size_t n_items)', P],
  ['TlValue *tl_value_new_maybe(const char *element_type, TlValue *child)', P],
  ['TlValue *tl_value_new_vardict(const char **keys, TlValue **values, size_t n_items)', P],
  ['int tl_value_parse(const char *type, const char *text, TlValue **out)', S],
  ['void *tl_value_print(const TlValue *value, int type_annotate)', P], // a char * to tl_free()
  ['int tl_value_serialize(const TlValue *value, void **out_data, size_t *out_size)', S],
  ['int tl_value_deserialize(const char *type, const void *data, size_t size, TlValue **out)', S],
  ['TlValue *tl_value_ref(TlValue *value)', P],
  ['void tl_value_unref(TlValue *value)', null],
  ['const char *tl_value_type(const TlValue *value)', null],
  ['int tl_value_equal(const TlValue *a, const TlValue *b)', S],
  ['int tl_value_get_bool(const TlValue *value, int *out)', S],
  ['int tl_value_get_byte(const TlValue *value, uint8_t *out)', S],
  ['int tl_value_get_int16(const TlValue *value, int16_t *out)', S],
  ['int tl_value_get_uint16(const TlValue *value, uint16_t *out)', S],
  ['int tl_value_get_int32(const TlValue *value, int32_t *out)', S],
  ['int tl_value_get_uint32(const TlValue *value, uint32_t *out)', S],
  ['int tl_value_get_int64(const TlValue *value, int64_t *out)', S],
  ['int tl_value_get_uint64(const TlValue *value, uint64_t *out)', S],
  ['int tl_value_get_double(const TlValue *value, double *out)', S],
  ['int tl_value_get_string(const TlValue *value, const char **out)', S],
  ['int tl_value_get_bytes(const TlValue *value, const void **out_data, size_t *out_size)',
    S],
  ['int tl_value_get_handle(const TlValue *value, int32_t *out)', S],
  ['int tl_value_get_pointer(const TlValue *value, void **out)', S],
  ['int tl_value_n_children(const TlValue *value, size_t *out)', S],
  ['int tl_value_get_child(const TlValue *value, size_t index, TlValue **out)', S],
  ['int tl_value_lookup(const TlValue *value, const char *key, TlValue **out)', S],
  // introspection, threads, memory
  ['size_t tl_stats_live_locals(void)', null],
  ['size_t tl_stats_live_dicts(void)', null],
  ['size_t tl_stats_live_threads(void)', null],
  ['size_t tl_stats_live_values(void)', null],
  // const volatile uint64_t *: read through a view of its memory (index.js)
  ['const void *tl_thread_change_counter(void)', null],
  ['uint64_t tl_thread_id(void)', null],
  ['void tl_thread_clear(void)', null],
  ['void tl_free(void *memory)', null],
  ['void tl_strv_free(char **strings)', null],
];

// The dynamic linker's own functions, for the one-registry rule below: from the process's global
// scope (koffi.load(null) is dlopen(NULL)), where they are whatever the C runtime calls them
// (libc since glibc 2.34, libdl before it, which node links; musl's libc). Linux only: there
// RTLD_NOLOAD and RTLD_LAZY have these values in glibc and musl alike.
const RTLD_LAZY = 1;
const RTLD_NOLOAD = 4;
function dynamicLinker() {
  if (process.platform !== 'linux') return null;
  const self = koffi.load(null);
  const DlInfo = koffi.struct({ // anonymous: an application's own koffi may declare a Dl_info
    dli_fname: 'const char *', dli_fbase: 'void *', dli_sname: 'const char *', dli_saddr: 'void *',
  });
  const dlopen = self.func('void *dlopen(const char *file, int mode)');
  const dlclose = self.func('int dlclose(void *handle)');
  const dlsym = self.func('void *dlsym(void *handle, const char *symbol)');
  const dladdr = self.func('dladdr', 'int', ['void *', koffi.out(koffi.pointer(DlInfo))]);
  return {
    // The object the process already has under this name or file (the address of its link map,
    // the same for every name of one object), or null; loads nothing. glibc and musl match a bare
    // name against every loaded object's SONAME, and a path against their files (device and
    // inode), whoever loaded them: the host program, a C addon, Python's ctypes.
    loaded(name) {
      const object = dlopen(name, RTLD_LAZY | RTLD_NOLOAD);
      if (object !== null) dlclose(object); // the NOLOAD open's reference: it stays loaded
      return object;
    },
    // The file of a loaded libtlslocal, as the dynamic linker names it, or null.
    fileOf(object) {
      const info = {};
      const symbol = dlsym(object, 'tl_version');
      return symbol !== null && dladdr(symbol, info) ? info.dli_fname : null;
    },
  };
}

// A copy next to the package (a packed package bundles one), then the SONAME through the dynamic
// linker's own search (LD_LIBRARY_PATH, ld.so.cache, the default directories).
function candidates() {
  return [path.join(__dirname, SONAME), SONAME];
}

// One registry per process: a libtlslocal.so.1 the process already has (the host program's, a C
// addon's, the one Python's binding loaded) is the one to use, never a second file mapped beside
// it, which would be a second, separate set of locals: named locals set here would be invisible
// to that C code. So it comes first, even before TLSLOCAL_LIBRARY; a TLSLOCAL_LIBRARY naming
// another file is then overridden with a warning, never silently (as the Python binding does).
// Returns [handle, the file loaded].
function load() {
  const linker = dynamicLinker();
  const loaded = linker ? linker.loaded(SONAME) : null;
  const explicit = process.env.TLSLOCAL_LIBRARY;
  if (loaded !== null) {
    if (explicit && linker.loaded(explicit) !== loaded) {
      process.emitWarning(`tlslocal: TLSLOCAL_LIBRARY=${JSON.stringify(explicit)} is not the ` +
        `${SONAME} this process has loaded already (${linker.fileOf(loaded)}); using that one, ` +
        'as a second copy would keep a second registry that C code never sees');
    }
    return [koffi.load(SONAME), linker.fileOf(loaded) || SONAME];
  }
  if (explicit) {
    try {
      return [koffi.load(explicit), explicit];
    } catch (error) {
      throw new Error(`tlslocal: cannot load TLSLOCAL_LIBRARY=${JSON.stringify(explicit)}: ` +
        `${error.message}. Point TLSLOCAL_LIBRARY at a built libtlslocal (${SONAME}), or unset ` +
        'it to search the default places.');
    }
  }
  const tried = [];
  for (const candidate of candidates()) {
    if (candidate.includes(path.sep) && !fs.existsSync(candidate)) {
      tried.push(`${candidate} (absent)`);
      continue;
    }
    let handle;
    try {
      handle = koffi.load(candidate);
    } catch (error) {
      tried.push(`${candidate} (${error.message})`);
      continue;
    }
    // The file the search found, where the dynamic linker can say.
    const found = candidate === SONAME && linker && linker.loaded(SONAME);
    return [handle, (found && linker.fileOf(found)) || candidate];
  }
  throw new Error(`tlslocal: cannot find the libtlslocal C library. Tried: ${tried.join('; ')}. ` +
    `Install it (\`meson install\` puts ${SONAME} in the libdir), add its directory to ` +
    'LD_LIBRARY_PATH, or set TLSLOCAL_LIBRARY to the library file\'s path.');
}

const lib = {}; // checked functions, by C name
const raw = {}; // the same functions unchecked, for call sites that test the result themselves

// The TlslocalError for status, with the calling thread's last error message. Call it right after
// the failed call, on the same thread: the next tl_* call may replace the message.
function errorFor(status) {
  return new TlslocalError(status, lib.tl_status_name(status), lib.tl_last_error_message());
}

function checked(fn, check) {
  if (check === S) {
    return (...args) => {
      const result = fn(...args);
      if (result < 0) throw errorFor(result);
      return result;
    };
  }
  if (check === P) {
    return (...args) => {
      const result = fn(...args);
      if (result === null) throw errorFor(lib.tl_last_error());
      return result;
    };
  }
  return fn;
}

const [handle, LIBRARY_PATH] = load();
for (const type of TYPES) {
  if (type.includes('(')) koffi.proto(type);
  else koffi.opaque(type);
}
for (const [prototype, check] of PROTOTYPES) {
  const name = /([A-Za-z0-9_]+)\(/.exec(prototype)[1];
  let fn;
  try {
    fn = handle.func(prototype);
  } catch (error) {
    throw new Error(`tlslocal: ${LIBRARY_PATH} has no usable symbol ${name} (${error.message}): ` +
      `it is not libtlslocal ${ABI_MAJOR}.x, or it is older than this binding`);
  }
  lib[name] = checked(fn, check);
  raw[name] = fn;
}
if (!lib.tl_version_check(ABI_MAJOR, MIN_MINOR, MIN_MICRO)) {
  throw new Error(`tlslocal: ${LIBRARY_PATH} is libtlslocal ${lib.tl_version()}; this binding ` +
    `needs ${ABI_MAJOR}.x, at least ${ABI_MAJOR}.${MIN_MINOR}.${MIN_MICRO}`);
}

// Outside the table, as they are not tlslocal.h's: memcpy, to copy native bytes into a Buffer (see
// above), from the C runtime the library links (a library handle's symbol lookup searches its
// dependencies on ELF and Mach-O; Windows has msvcrt.dll everywhere); and tl_local_unref's
// address, a TlDestroyFunc for pointer values that own a reference to a local (index.js).
const crt = (() => {
  const prototype = 'void memcpy(void *dest, const void *src, size_t n)'; // its result unused
  try {
    const runtime = process.platform === 'win32' ? koffi.load('msvcrt.dll') : handle;
    return { memcpy: runtime.func(prototype) };
  } catch (error) {
    throw new Error(`tlslocal: no memcpy found beside ${LIBRARY_PATH} (${error.message})`);
  }
})();
const LOCAL_UNREF = handle.symbol('tl_local_unref');

module.exports = {
  lib, raw, crt, koffi, TlslocalError, errorFor, LIBRARY_PATH, LOCAL_UNREF, PROTOTYPES, SONAME,
};
