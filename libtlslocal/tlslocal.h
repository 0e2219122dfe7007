/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libtlslocal: per-object thread-local storage, the C counterpart of Python's threading.local.
 *
 * A TlLocal holds one separate dictionary per thread (string key -> TlValue). A thread's dictionary
 * is created on its first write (or, for a local with an initializer, its first access of any kind;
 * otherwise reads of a thread with no dictionary simply find nothing), freed when the thread exits,
 * and freed in every thread at once when the local's last reference is dropped. Locals are
 * unlimited in number: a local is not a pthread key.
 *
 * This header is the whole contract. It needs no GLib header; GLib users may also include
 * <tlslocal-glib.h> for GVariant interop.
 *
 * Conventions used below:
 *  - "new reference": the caller owns it and must release it with the matching _unref().
 *  - "borrowed": the library keeps ownership; the comment says how long the pointer stays valid.
 *  - Functions returning int return TL_OK (0) or a negative TL_ERR_* code. Functions returning a
 *    pointer return NULL on failure. Either way a failure also records a detailed message for the
 *    calling thread, read with tl_last_error_message(). Bad input never aborts or prints, and a
 *    failed call leaves every dictionary as it was.
 *  - Memory: every allocation the library makes for itself (dictionaries, keys, locals, values,
 *    the thread's tables, snapshots' arrays) can fail with TL_ERR_NO_MEMORY, state unchanged. The
 *    lists below name TL_ERR_NO_MEMORY where a call allocates; besides, any access that gives a
 *    thread its dictionary of a local with an initializer (a read too) can return it. GLib aborts
 *    the process when its own allocations fail (GLib's policy, g_malloc()), and the library calls
 *    GLib for GVariants: making a container, bytes or parsed value, printing, giving a basic value
 *    its GVariant form (when a container, text, snapshot or tl_value_dup_gvariant() first needs
 *    it), taking a snapshot (tl_local_snapshot(), and the contents passed to exit hooks by
 *    tl_local_unref(), tl_thread_clear() and thread exit), reading one (tl_local_apply(),
 *    tl_value_lookup(), tl_value_get_child()), comparing containers, unpacking
 *    tl_local_new_with_args()'s arguments, serialising a value that is not basic
 *    (tl_value_serialize()) and reading one back (tl_value_deserialize()). Those calls abort, not
 *    fail, when GLib runs out of memory (the suite in tests/fault lists every such site). Locals,
 *    keys, basic values and their storage (new, set, set_take and the typed setters, get, peek,
 *    delete, clear, keys, foreach, visit, open, unregister, set_exit_hook, a thread's first write),
 *    the typed reads, quarks and the reads and writes by quark never allocate through GLib.
 *  - Thread safety: TlLocal and TlValue handles may be shared between threads freely. A tl_local_*
 *    call on a local always acts on the *calling* thread's dictionary. The caller of any tl_local_*
 *    function must hold a reference to that local for the duration of the call.
 *
 * Copyright the libtlslocal authors.
 */
#ifndef TLSLOCAL_H
#define TLSLOCAL_H

#include <stddef.h>
#include <stdint.h>

#include "tlslocal-version.h"

/* ------------------------------------------------------------------------------------------------
 * Export macro
 * --------------------------------------------------------------------------------------------- */
#if defined(_WIN32) || defined(__CYGWIN__)
#  if defined(TL_BUILDING_LIBRARY)
#    define TL_API __declspec(dllexport)
#  elif defined(TL_STATIC)
#    define TL_API
#  else
#    define TL_API __declspec(dllimport)
#  endif
#elif defined(__GNUC__) && __GNUC__ >= 4
#  define TL_API __attribute__((visibility("default")))
#else
#  define TL_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------------------------------
 * Version
 * --------------------------------------------------------------------------------------------- */

/* @return the library's version as "MAJOR.MINOR.MICRO" (static string, never NULL). Compare it with
 * TL_VERSION_STRING to detect a header/library mismatch. Thread-safe. */
TL_API const char *tl_version(void);

/* @return nonzero when the library loaded at run time is at least major.minor.micro and has the
 * same major version (the same ABI). Thread-safe. */
TL_API int tl_version_check(unsigned int major, unsigned int minor, unsigned int micro);

/* ------------------------------------------------------------------------------------------------
 * Status codes. Values are pinned: a released code never changes value.
 * --------------------------------------------------------------------------------------------- */
#define TL_STATUS_MAP(XX)                                                                          \
  XX(OK, 0, "success")                                                                             \
  XX(ERR_INVALID_ARGUMENT, -1, "invalid argument (NULL or invalid handle, or NULL out-pointer)")   \
  XX(ERR_INVALID_KEY, -2, "key is NULL or not valid UTF-8")                                        \
  XX(ERR_NOT_FOUND, -3, "no such key in the calling thread's dictionary")                          \
  XX(ERR_WRONG_TYPE, -4, "value has another type than the one asked for")                          \
  XX(ERR_PARSE, -5, "text does not parse as a value of the requested type")                        \
  XX(ERR_NO_MEMORY, -6, "out of memory")                                                           \
  XX(ERR_INVALID_UTF8, -7, "string is not valid UTF-8")                                            \
  XX(ERR_OUT_OF_RANGE, -8, "index out of range")                                                   \
  XX(ERR_INIT_FAILED, -9, "the local's initializer failed in this thread")                         \
  XX(ERR_UNSUPPORTED, -10, "the local was not created with the option this call needs")

typedef enum {
/* clang-format off: the X-macro expansion looks like an expression to it */
#define TL_STATUS_ENUM_ENTRY_(name, value, text) TL_##name = value,
  TL_STATUS_MAP(TL_STATUS_ENUM_ENTRY_)
#undef TL_STATUS_ENUM_ENTRY_
      TL_STATUS_END_ = 1 /* not a status: closes the list (C89 allows no trailing comma) */
  /* clang-format on */
} TlStatus;

/* @return a static English sentence for status (never NULL; "unknown status" for unknown codes). */
TL_API const char *tl_strerror(int status);

/* @return the status's symbolic name such as "TL_ERR_NOT_FOUND" (static; "TL_UNKNOWN" if
 * unknown). */
TL_API const char *tl_status_name(int status);

/* @return a description of the calling thread's most recent failure (borrowed, valid until the next
 * tl_* call on this thread; never NULL). Only meaningful right after a call reported failure:
 * success does not reset it. */
TL_API const char *tl_last_error_message(void);

/* @return the status code of the calling thread's most recent failure (TL_OK if none yet). */
TL_API int tl_last_error(void);

/* ------------------------------------------------------------------------------------------------
 * Types
 * --------------------------------------------------------------------------------------------- */

/* A local object: one dictionary per thread. Refcounted: tl_local_ref() / tl_local_unref(). */
typedef struct _TlLocal TlLocal;

/* An immutable typed value: a GVariant, or a native pointer with a destroy function.
 * Refcounted, atomically: tl_value_ref() / tl_value_unref(); may be shared by any number of threads
 * and dictionaries. */
typedef struct _TlValue TlValue;

/* Called with the native pointer of a pointer value when its last reference is released, on
 * whatever thread releases it (a thread exit, a local's destruction, an overwrite, a delete, or an
 * unref). It may call into the library, but must not use a local whose last reference is being
 * dropped. */
typedef void (*TlDestroyFunc)(void *ptr);

/* Visitor for tl_local_foreach(): key and value are borrowed for the duration of the call.
 * @return 0 to continue; any other value stops the walk and is returned by tl_local_foreach(). */
typedef int (*TlForeachFunc)(const char *key, TlValue *value, void *payload);

/* ------------------------------------------------------------------------------------------------
 * Locals. Every function acts on the calling thread's dictionary of the local.
 * --------------------------------------------------------------------------------------------- */

/* Create a local object with no dictionary in any thread yet.
 * @return new reference; NULL only if memory is exhausted (TL_ERR_NO_MEMORY). Thread-safe. */
TL_API TlLocal *tl_local_new(void);

/* Options for tl_local_new_full() and tl_local_new_with_args(), or-ed together. */
typedef enum {
  TL_LOCAL_DEFAULT = 0,
  /* Allow tl_local_visit() from any thread. The price: every write to one of this local's
   * dictionaries takes that dictionary's own lock, uncontended except during a visit (reads take
   * none). Without it, writes take no lock at all. */
  TL_LOCAL_VISITABLE = 1 << 0
} TlLocalFlags;

/* A per-thread initializer, the counterpart of a threading.local subclass's __init__: it runs once
 * in each thread, on that thread's first access of any kind to the local (a read too), after the
 * thread's dictionary exists and before the access proceeds. It may read and write the local: those
 * accesses see the dictionary being initialized (no recursion, no lock held).
 * @return 0 for success; anything else fails the access with TL_ERR_INIT_FAILED, drops that
 * thread's dictionary (no exit hook runs for it) and lets the thread's next access try again;
 * the destroy functions of what it stored run then, and their own accesses to the local are
 * TL_ERR_INIT_FAILED too (the initializer does not run again from inside them).
 * It must not call tl_thread_clear() or drop the local's last reference; if something it sets off
 * frees the thread's dictionary anyway (a destroy function calling tl_thread_clear()), the access
 * is TL_ERR_INIT_FAILED, and so are the initializer's own later uses of the local (they would
 * have to run it again, nested). Exit hooks and destroy functions run by a thread's exit or
 * tl_thread_clear() may read locals with initializers as anywhere, in the first round of that
 * cleanup; reads in the later rounds (freeing what the first round's hooks and destroy functions
 * created) run no initializer and find no dictionary, so a hook that reads its own local cannot
 * recreate it round after round. */
typedef int (*TlInitFunc)(TlLocal *local, void *user_data);

/* Create a local with options and an optional initializer.
 * @param flags TlLocalFlags.
 * @param init (nullable) per-thread initializer, called with user_data.
 * @param user_data_destroy (nullable) called with user_data when the local is destroyed.
 * @return new reference; NULL with TL_ERR_INVALID_ARGUMENT for unknown flags, or TL_ERR_NO_MEMORY
 * (then nothing was taken over: user_data_destroy is not called). */
TL_API TlLocal *tl_local_new_full(unsigned int flags, TlInitFunc init, void *user_data,
                                  TlDestroyFunc user_data_destroy);

/* Any C function pointer, called through libffi with the signature its arguments describe. */
typedef void (*TlCallback)(void);

/* Create a local whose per-thread initializer is a plain C function of any signature, called in
 * each thread's first access as fn(local, arg0, arg1, ...) with the arguments unpacked from the
 * tuple args: the C counterpart of MyLocal(color='red') replaying its arguments into __init__ in
 * every thread. At most 126 arguments (127 parameters with the local, the number C compilers must
 * accept; libffi copies them onto the calling thread's stack). Argument types: "b" int; "y"
 * uint8_t; "n" int16_t; "q" uint16_t; "i" int32_t; "u" uint32_t; "x" int64_t; "t" uint64_t; "d"
 * double; "s", "o", "g" const char * (borrowed for the call); any other type a borrowed const
 * TlValue *. @param fn the function; if fn_returns_int it must return int (0 for success, as
 * TlInitFunc), else
 *        void (always succeeds).
 * @param args a tuple value (borrowed; the local keeps its own reference). "()" means no arguments.
 * @return new reference; NULL with TL_ERR_INVALID_ARGUMENT when fn is NULL (arguments without an
 * initializer, as Python's TypeError), flags are unknown or args has more than 126 items,
 * TL_ERR_WRONG_TYPE when args is not a tuple, TL_ERR_NO_MEMORY. */
TL_API TlLocal *tl_local_new_with_args(unsigned int flags, TlCallback fn, int fn_returns_int,
                                       TlValue *args);

/* The process-wide local registered under name, created (plain, no initializer) on first use, so
 * libraries and languages in one process share a local without passing pointers. The registry holds
 * its own reference to each named local until tl_local_unregister(name).
 * @return new reference; NULL with TL_ERR_INVALID_KEY if name is NULL or not UTF-8, or
 * TL_ERR_NO_MEMORY. Thread-safe. */
TL_API TlLocal *tl_local_open(const char *name);

/* Drop the registry's reference to the named local and forget the name: handles already opened stay
 * valid (the local lives until its last reference goes), and a later tl_local_open(name) creates a
 * new local. @return TL_OK, TL_ERR_NOT_FOUND, TL_ERR_INVALID_KEY. Thread-safe. */
TL_API int tl_local_unregister(const char *name);

/* @return local, with one more reference (NULL if local is NULL). Thread-safe. */
TL_API TlLocal *tl_local_ref(TlLocal *local);

/* Drop a reference. On the last one, every thread's dictionary for this local is freed at once,
 * including those of threads still running: their values are unreferenced (destroy functions run on
 * the calling thread, with no library lock held). NULL is a no-op. Thread-safe. */
TL_API void tl_local_unref(TlLocal *local);

/* Store value under key in the calling thread's dictionary, creating the dictionary on first use
 * and replacing (and unreferencing) any previous value of that key. value is not stolen: the
 * dictionary takes its own reference.
 * @return TL_OK; TL_ERR_INVALID_ARGUMENT for a NULL or invalid local or value; TL_ERR_INVALID_KEY
 * for a NULL or non-UTF-8 key; TL_ERR_INIT_FAILED; TL_ERR_NO_MEMORY. */
TL_API int tl_local_set(TlLocal *local, const char *key, TlValue *value);

/* As tl_local_set(), but steals value: the dictionary takes over the caller's reference, on success
 * and on failure alike (then the value is released). Saves a ref/unref pair, and a call for
 * bindings: `tl_local_set_take(local, "n", tl_value_new_int64(5))`. A NULL value (a failed
 * constructor) is TL_ERR_INVALID_ARGUMENT. A failure's status and message are the call's own,
 * whatever the released value's destroy function does. */
TL_API int tl_local_set_take(TlLocal *local, const char *key, TlValue *value);

/* Typed setters: build the value and store it in one call. Same errors as tl_local_set();
 * tl_local_set_string() also TL_ERR_INVALID_ARGUMENT for NULL and TL_ERR_INVALID_UTF8. Without
 * memory for the value they return TL_ERR_NO_MEMORY, whatever else is wrong. */
TL_API int tl_local_set_bool(TlLocal *local, const char *key, int value);
TL_API int tl_local_set_int64(TlLocal *local, const char *key, int64_t value);
TL_API int tl_local_set_uint64(TlLocal *local, const char *key, uint64_t value);
TL_API int tl_local_set_double(TlLocal *local, const char *key, double value);
TL_API int tl_local_set_string(TlLocal *local, const char *key, const char *value);

/* Read key from the calling thread's dictionary.
 * @param out receives a new reference on success, NULL on any error.
 * @return TL_OK; TL_ERR_NOT_FOUND if this thread has no such key; TL_ERR_INVALID_ARGUMENT (local or
 * out NULL or invalid); TL_ERR_INVALID_KEY; TL_ERR_INIT_FAILED. */
TL_API int tl_local_get(TlLocal *local, const char *key, TlValue **out);

/* The fast read: no reference is taken.
 * @return borrowed pointer, valid until the calling thread changes or deletes that key, clears the
 * dictionary, exits or calls tl_thread_clear(), or the local is destroyed; NULL if absent (last
 * error TL_ERR_NOT_FOUND), on bad input (TL_ERR_INVALID_ARGUMENT, TL_ERR_INVALID_KEY) or with
 * TL_ERR_INIT_FAILED. */
TL_API TlValue *tl_local_peek(TlLocal *local, const char *key);

/* Typed reads in one call, the mirror of the typed setters: tl_local_peek() and the matching
 * tl_value_get_*() accessor at once. *out is untouched on error.
 * @return TL_OK; the errors of tl_local_peek() (TL_ERR_NOT_FOUND, TL_ERR_INVALID_ARGUMENT,
 * TL_ERR_INVALID_KEY, TL_ERR_INIT_FAILED); TL_ERR_WRONG_TYPE if the value has another type (the
 * accessor's rule: tl_local_get_string() accepts "s", "o" and "g"); TL_ERR_INVALID_ARGUMENT for a
 * NULL out. Since 1.1. */
TL_API int tl_local_get_bool(TlLocal *local, const char *key, int *out); /* *out is 0 or 1 */
TL_API int tl_local_get_int64(TlLocal *local, const char *key, int64_t *out);
TL_API int tl_local_get_uint64(TlLocal *local, const char *key, uint64_t *out);
TL_API int tl_local_get_double(TlLocal *local, const char *key, double *out);
/* *out is borrowed, valid as long as tl_local_peek()'s result would be. */
TL_API int tl_local_get_string(TlLocal *local, const char *key, const char **out);

/* A read of a value of unknown type in one call, for bindings: its kind and payload at once.
 * @param out_type receives the type character of a basic value ('b', 'y', 'n', 'q', 'i', 'u', 'x',
 *        't', 'h', 'd', 's', 'o', 'g'), or 0 for any other value (a container, bytes, a pointer
 *        value, a snapshot): read those with tl_local_peek().
 * @param out_bits (nullable) receives the payload of a basic value other than a string, as 64 bits:
 *        0 or 1 for "b"; an unsigned type's value; a signed type's value as int64_t (two's
 *        complement); a double's IEEE 754 bits (memcpy them into a double); 0 otherwise.
 * @param out_string (nullable) receives a string value's text ("s", "o", "g"), borrowed as
 *        tl_local_peek()'s result is; NULL otherwise.
 * @return TL_OK, or the errors of tl_local_peek(); TL_ERR_INVALID_ARGUMENT for a NULL out_type.
 *         Outputs are untouched on error. Since 1.1. */
TL_API int tl_local_get_scalar(TlLocal *local, const char *key, int *out_type, uint64_t *out_bits,
                               const char **out_string);

/* Remove key from the calling thread's dictionary and unreference its value.
 * @return TL_OK; TL_ERR_NOT_FOUND if absent; TL_ERR_INVALID_ARGUMENT; TL_ERR_INVALID_KEY;
 * TL_ERR_INIT_FAILED. */
TL_API int tl_local_delete(TlLocal *local, const char *key);

/* @return 1 if the calling thread's dictionary has key, 0 if not; TL_ERR_INVALID_ARGUMENT or
 * TL_ERR_INVALID_KEY on bad input; TL_ERR_INIT_FAILED. */
TL_API int tl_local_contains(TlLocal *local, const char *key);

/* @param out_size receives the number of keys in the calling thread's dictionary (0 if it has
 * none). @return TL_OK, TL_ERR_INVALID_ARGUMENT or TL_ERR_INIT_FAILED. */
TL_API int tl_local_size(TlLocal *local, size_t *out_size);

/* Remove every key of the calling thread's dictionary (the dictionary itself stays).
 * @return TL_OK, TL_ERR_INVALID_ARGUMENT or TL_ERR_INIT_FAILED. */
TL_API int tl_local_clear(TlLocal *local);

/* The calling thread's keys, in insertion order.
 * @param out_keys receives a new NULL-terminated array of new UTF-8 strings, to free with
 *        tl_strv_free(); NULL on error.
 * @param out_n_keys (nullable) receives the number of keys.
 * @return TL_OK, TL_ERR_INVALID_ARGUMENT, TL_ERR_INIT_FAILED or TL_ERR_NO_MEMORY. */
TL_API int tl_local_keys(TlLocal *local, char ***out_keys, size_t *out_n_keys);

/* Call fn for each (key, value) of the calling thread's dictionary, in insertion order, over a
 * snapshot taken at the start: fn may set, delete or clear keys of this very dictionary.
 * @return TL_OK after a full walk; fn's nonzero return value if it stopped the walk;
 * TL_ERR_INVALID_ARGUMENT (local or fn NULL); TL_ERR_INIT_FAILED; TL_ERR_NO_MEMORY. */
TL_API int tl_local_foreach(TlLocal *local, TlForeachFunc fn, void *payload);

/* ------------------------------------------------------------------------------------------------
 * Interned keys (quarks): a key's string interned once for the process, then named by a number.
 * A quark and its string name the same key of a dictionary: a value set by quark is read by string
 * and the other way round. Reads by quark skip what a string key costs on every call (its length,
 * its UTF-8 check, its hash): for a well-known key read in a hot loop. Since 1.1.
 * --------------------------------------------------------------------------------------------- */

typedef uint32_t TlQuark; /* 0 is never a valid quark */

/* Intern string: the same string always gives the same quark, in every thread, for the life of the
 * process (interned strings are never freed: intern a bounded set of names, not untrusted input).
 * Thread-safe; async-signal-unsafe; usable in a fork() child.
 * @return the quark; 0 for a NULL (TL_ERR_INVALID_KEY) or non-UTF-8 string (TL_ERR_INVALID_KEY), or
 * TL_ERR_NO_MEMORY. */
TL_API TlQuark tl_quark_from_string(const char *string);

/* @return the quark's string: borrowed and immortal (valid until the process ends); NULL for 0 or
 * a number no tl_quark_from_string() returned (TL_ERR_INVALID_KEY). Lock-free; thread-safe. */
TL_API const char *tl_quark_to_string(TlQuark quark);

/* As tl_local_peek(), tl_local_get(), tl_local_set() and tl_local_delete(), with key given as a
 * quark. An unknown quark (0, or one no tl_quark_from_string() returned) is TL_ERR_INVALID_KEY. */
TL_API TlValue *tl_local_peek_quark(TlLocal *local, TlQuark key);
TL_API int tl_local_get_quark(TlLocal *local, TlQuark key, TlValue **out);
TL_API int tl_local_set_quark(TlLocal *local, TlQuark key, TlValue *value);
TL_API int tl_local_delete_quark(TlLocal *local, TlQuark key);

/* ------------------------------------------------------------------------------------------------
 * Exit hooks, visits across threads, and context hand-off
 * --------------------------------------------------------------------------------------------- */

/* Why a dictionary is being freed, as told to an exit hook. */
typedef enum {
  TL_FREED_THREAD_EXIT = 1,    /* its thread is exiting (runs on that thread) */
  TL_FREED_THREAD_CLEAR = 2,   /* its thread called tl_thread_clear() (runs on that thread) */
  TL_FREED_LOCAL_DESTROYED = 3 /* the local's last reference was dropped (runs on that caller) */
} TlFreeReason;

/* Runs exactly once for each dictionary of the local that is about to be freed, without any library
 * lock held, so per-thread buffers and counters can be flushed.
 * @param contents a snapshot of the dictionary (as tl_local_snapshot() makes: an "a{sv}" whose
 *        pointer values travel by reference), borrowed for the call; NULL only if the library ran
 *        out of memory making it (freeing cannot fail, so the hook runs regardless).
 * @param thread_id the dictionary's thread, as tl_thread_id() named it. */
typedef void (*TlExitHook)(int reason, uint64_t thread_id, TlValue *contents, void *user_data);

/* Set (or, with hook NULL, remove) the local's exit hook. Every dictionary freed once this returns
 * runs the new hook, even one detached before (a dictionary looks its hook up as it is freed); a
 * call of the old hook already under way finishes, and the old hook's user_data_destroy runs once
 * no call of it is in progress.
 * @return TL_OK, TL_ERR_INVALID_ARGUMENT or TL_ERR_NO_MEMORY (nothing taken over:
 * user_data_destroy is not called). Thread-safe. */
TL_API int tl_local_set_exit_hook(TlLocal *local, TlExitHook hook, void *user_data,
                                  TlDestroyFunc user_data_destroy);

/* Visitor for tl_local_visit(): key and value borrowed for the call. Nonzero stops the visit. */
typedef int (*TlVisitFunc)(uint64_t thread_id, const char *key, TlValue *value, void *payload);

/* Visit, from any thread, the value of key (or with key NULL, every key) in every thread's
 * dictionary of the local, e.g. to sum per-thread counters. Guarantee: the visit sees exactly the
 * threads that had a dictionary for the local at one instant during the call, each with the values
 * it held at that instant; threads that start or exit meanwhile are safe, and fn runs after that
 * instant with no lock held (so fn may use the library, and may see a thread that has since
 * exited). Order: unspecified between threads, insertion order within one.
 * @return TL_OK after a full visit; fn's nonzero return if it stopped the visit; TL_ERR_UNSUPPORTED
 * unless the local was created with TL_LOCAL_VISITABLE; TL_ERR_INVALID_ARGUMENT;
 * TL_ERR_INVALID_KEY; TL_ERR_NO_MEMORY (then fn was not called). */
TL_API int tl_local_visit(TlLocal *local, const char *key, TlVisitFunc fn, void *payload);

/* Snapshot the calling thread's dictionary as an "a{sv}" value (running the initializer first if
 * the thread has no dictionary yet). Pointer values, values of type "h", snapshots that carry
 * values, and values nested more than 124 levels deep (which a variant three levels down could not
 * hold: see the depth limit under Values) travel by reference: the snapshot shows them as <handle
 * N> and carries the values themselves, so tl_local_apply(), tl_value_lookup() and a walk with
 * tl_value_get_child() on the snapshot give back the very same value. A context that records its
 * parent (snapshot, store the snapshot, snapshot again) so stays whole at any depth, and freeing,
 * comparing or printing such a chain takes no stack in proportion to its length.
 * @param out receives a new reference; NULL on error.
 * @return TL_OK, TL_ERR_INVALID_ARGUMENT, TL_ERR_INIT_FAILED, TL_ERR_NO_MEMORY. */
TL_API int tl_local_snapshot(TlLocal *local, TlValue **out);

/* How tl_local_apply() treats keys the snapshot lacks. */
typedef enum {
  TL_APPLY_UPDATE = 0, /* keep them (dict.update) */
  TL_APPLY_REPLACE = 1 /* delete them: the dictionary becomes equal to the snapshot */
} TlApplyMode;

/* Apply a snapshot (any "a{sv}": from tl_local_snapshot(), possibly of another thread, or parsed
 * from text) to the calling thread's dictionary of local: the producer-to-worker hand-off that
 * Python's contextvars.copy_context() gives. All or nothing: on error the dictionary is unchanged.
 * @return TL_OK; TL_ERR_WRONG_TYPE if snapshot is not "a{sv}"; TL_ERR_INVALID_ARGUMENT for a NULL
 * or invalid argument, an unknown mode, or a <handle N> the snapshot does not carry (text parsed
 * from a printed snapshot of pointer values); TL_ERR_INIT_FAILED; TL_ERR_NO_MEMORY. A key the
 * snapshot gives twice (parsed text) takes its last value. */
TL_API int tl_local_apply(TlLocal *local, const TlValue *snapshot, int mode);

/* ------------------------------------------------------------------------------------------------
 * Values. Immutable; every constructor returns a new reference, or NULL on bad input or with
 * TL_ERR_NO_MEMORY (with the last error set). Every accessor checks the type: asking an int64 of a
 * string is TL_ERR_WRONG_TYPE.
 *
 * Depth limit: a value nests at most 127 container levels, counting each array, maybe, tuple, dict
 * entry and variant from the outermost, in the value and in its type ("av" holding <[<1>]>: 4; an
 * empty "aai": 2). GLib reads anything deeper back as "()" and cannot parse its text, so the step
 * that would pass the limit is refused: the constructors below with TL_ERR_INVALID_ARGUMENT,
 * tl_value_parse() with TL_ERR_PARSE, tl_value_new_from_gvariant() with TL_ERR_INVALID_ARGUMENT.
 * Snapshots carry values too deep to box by reference instead (tl_local_snapshot()).
 * --------------------------------------------------------------------------------------------- */

TL_API TlValue *tl_value_new_bool(int value);        /* "b"; any nonzero is true */
TL_API TlValue *tl_value_new_byte(uint8_t value);    /* "y" */
TL_API TlValue *tl_value_new_int16(int16_t value);   /* "n" */
TL_API TlValue *tl_value_new_uint16(uint16_t value); /* "q" */
TL_API TlValue *tl_value_new_int32(int32_t value);   /* "i" */
TL_API TlValue *tl_value_new_uint32(uint32_t value); /* "u" */
TL_API TlValue *tl_value_new_int64(int64_t value);   /* "x" */
TL_API TlValue *tl_value_new_uint64(uint64_t value); /* "t" */
TL_API TlValue *tl_value_new_double(double value);   /* "d" */
/* "h": a D-Bus style index into an out-of-band array; in a snapshot (tl_local_snapshot) a "h" value
 * travels by reference like a pointer value, so tl_local_apply() gives back this very value. */
TL_API TlValue *tl_value_new_handle(int32_t value);

/* "s": copies string. NULL on a NULL (TL_ERR_INVALID_ARGUMENT) or non-UTF-8 string
 * (TL_ERR_INVALID_UTF8). */
TL_API TlValue *tl_value_new_string(const char *string);

/* "ay": copies size bytes from data (data may be NULL only when size is 0). */
TL_API TlValue *tl_value_new_bytes(const void *data, size_t size);

/* A native pointer value (type "p", which is not a GVariant type). destroy (nullable) runs once,
 * with ptr, when the value's last reference is released, on the releasing thread. A pointer value
 * cannot be put inside a container and has no text form. */
TL_API TlValue *tl_value_new_pointer(void *ptr, TlDestroyFunc destroy);

/* A tuple of n_items values (borrowed; each is copied by reference). n_items 0 gives the unit "()".
 * NULL on a NULL item, a pointer value, or a snapshot carrying pointer values
 * (TL_ERR_INVALID_ARGUMENT): a GVariant container cannot hold them. The same holds for arrays and
 * vardicts below. */
TL_API TlValue *tl_value_new_tuple(TlValue *const *items, size_t n_items);

/* An array of n_items values of one type. element_type is a GVariant type string such as "i" or
 * "s"; if it is NULL the first item's type is used (then n_items must be > 0). With element_type
 * "v" each item is boxed as a variant, so items may have mixed types ("av").
 * NULL with TL_ERR_INVALID_ARGUMENT for an invalid type string, NULL or pointer item, or an empty
 * array without element_type; TL_ERR_WRONG_TYPE if an item has another type than element_type. */
TL_API TlValue *tl_value_new_array(const char *element_type, TlValue *const *items, size_t n_items);

/* A maybe, "m" + type: child (borrowed; copied by reference), or with child NULL the empty maybe
 * ("nothing") of element_type. element_type may be NULL when child is given (the child's type is
 * used). NULL with TL_ERR_INVALID_ARGUMENT for both NULL, an invalid or indefinite type string, or
 * a pointer child; TL_ERR_WRONG_TYPE if child's type is not element_type. */
TL_API TlValue *tl_value_new_maybe(const char *element_type, TlValue *child);

/* An "a{sv}" dictionary of n_items pairs (keys copied, values borrowed and boxed as variants).
 * NULL on NULL or non-UTF-8 keys (TL_ERR_INVALID_KEY) or NULL or pointer values
 * (TL_ERR_INVALID_ARGUMENT). A key given twice keeps its last value in its first place, as
 * assigning twice to a dict would. */
TL_API TlValue *tl_value_new_vardict(const char *const *keys, TlValue *const *values,
                                     size_t n_items);

/* Parse GVariant text format, e.g. "int64 5", "'hello'", "[1, 2]", "{'a': <1>}".
 * @param type (nullable) definite GVariant type string the result must have, e.g. "x" (not "m*");
 *        NULL lets the text
 *        decide. Given a type, GLib's parser reads a number in the text as that type even where the
 *        text annotates another (type "i" and "int64 5" give the int32 5).
 * @param out receives a new reference, NULL on error.
 * @return TL_OK; TL_ERR_PARSE with the parser's message as last error (also for a value nested more
 * than 127 levels deep, refused before GLib's parser sees it); TL_ERR_INVALID_ARGUMENT for an
 * invalid or indefinite type string or NULL text or out; TL_ERR_INVALID_UTF8; TL_ERR_NO_MEMORY. */
TL_API int tl_value_parse(const char *type, const char *text, TlValue **out);

/* Print value in GVariant text format, parseable by tl_value_parse() with one exception: GLib's
 * parser rejects subnormal doubles (below 2.2250738585072014e-308 in magnitude) that it prints.
 * @param type_annotate nonzero to add type annotations where the type would be ambiguous.
 * @return new string to free with tl_free(); NULL for a NULL value (TL_ERR_INVALID_ARGUMENT) or a
 * pointer value (TL_ERR_WRONG_TYPE). */
TL_API char *tl_value_print(const TlValue *value, int type_annotate);

/* The binary form of a value: its serialised GVariant in normal form, little-endian on every host,
 * for a value handed to another process (a pipe, a message queue, an RPC header) or built in one
 * call by a binding. Read back with tl_value_deserialize() and the same type string.
 * @param out_data receives a new buffer to free with tl_free() (never NULL on success, even for a
 *        value of 0 bytes); @param out_size its size. Both untouched on error.
 * @return TL_OK; TL_ERR_INVALID_ARGUMENT for a NULL or invalid value, out_data or out_size;
 * TL_ERR_WRONG_TYPE for a pointer value or a snapshot that carries values by reference (see
 * tl_local_snapshot(): pointer values, "h" values, snapshots, very deep values), which bytes cannot
 * hold (no process can read another's pointers); TL_ERR_NO_MEMORY. Since 1.1. */
TL_API int tl_value_serialize(const TlValue *value, void **out_data, size_t *out_size);

/* Read a value of type from size bytes at data, validating them as untrusted input: the bytes must
 * be exactly a normal-form serialisation of a value of that type, nested at most 127 levels deep;
 * anything else (truncated, padded, bad offsets, a string without its NUL or not UTF-8) is
 * refused, never read out of bounds. data is copied; the caller keeps it.
 * @param type definite GVariant type string, e.g. "a{sv}" (not "p", not indefinite).
 * @param data may be NULL when size is 0.
 * @param out receives a new reference, NULL on error.
 * @return TL_OK; TL_ERR_PARSE if the bytes are not a normal-form value of type (or nest past 127
 * levels through the variants inside); TL_ERR_INVALID_ARGUMENT for a NULL, invalid or indefinite
 * type string or one nested past 127 levels, NULL data with a nonzero size, or NULL out;
 * TL_ERR_NO_MEMORY. An "a{sv}" read back holds "h" values as plain numbers: tl_local_apply()
 * refuses a <handle N> it does not carry. Since 1.1. */
TL_API int tl_value_deserialize(const char *type, const void *data, size_t size, TlValue **out);

/* @return value, with one more reference (NULL if value is NULL). Thread-safe. */
TL_API TlValue *tl_value_ref(TlValue *value);

/* Drop a reference; on the last one a pointer value's destroy function runs. NULL is a no-op. */
TL_API void tl_value_unref(TlValue *value);

/* @return the value's GVariant type string (borrowed, valid while value lives), "p" for a pointer
 * value, NULL for a NULL value. */
TL_API const char *tl_value_type(const TlValue *value);

/* @return 1 if both values have the same type and contents (pointer values: same pointer and
 * destroy function; snapshots: also equal carried values, however deep a chain of them), 0
 * otherwise; TL_ERR_INVALID_ARGUMENT if either is NULL; TL_ERR_NO_MEMORY comparing long chains of
 * snapshots. */
TL_API int tl_value_equal(const TlValue *a, const TlValue *b);

/* Checked accessors. @return TL_OK; TL_ERR_WRONG_TYPE if value has another type (out untouched);
 * TL_ERR_INVALID_ARGUMENT if value or out is NULL. */
TL_API int tl_value_get_bool(const TlValue *value, int *out); /* *out is 0 or 1 */
TL_API int tl_value_get_byte(const TlValue *value, uint8_t *out);
TL_API int tl_value_get_int16(const TlValue *value, int16_t *out);
TL_API int tl_value_get_uint16(const TlValue *value, uint16_t *out);
TL_API int tl_value_get_int32(const TlValue *value, int32_t *out);
TL_API int tl_value_get_uint32(const TlValue *value, uint32_t *out);
TL_API int tl_value_get_int64(const TlValue *value, int64_t *out);
TL_API int tl_value_get_uint64(const TlValue *value, uint64_t *out);
TL_API int tl_value_get_double(const TlValue *value, double *out);

/* Accepts "s", "o" and "g" values. *out is borrowed, valid while value lives. */
TL_API int tl_value_get_string(const TlValue *value, const char **out);

/* Accepts "ay". *out_data is borrowed, valid while value lives (may be NULL when *out_size is 0);
 * out_size may not be NULL. */
TL_API int tl_value_get_bytes(const TlValue *value, const void **out_data, size_t *out_size);

/* Accepts "h" only (an "i" is not a handle). */
TL_API int tl_value_get_handle(const TlValue *value, int32_t *out);

/* Accepts "p". *out is the stored pointer; the value keeps ownership. */
TL_API int tl_value_get_pointer(const TlValue *value, void **out);

/* Containers (arrays, tuples, dict entries, dictionaries, maybes, variants).
 * @param out receives the number of children. @return TL_OK, TL_ERR_INVALID_ARGUMENT (value or out
 * NULL) or TL_ERR_WRONG_TYPE for a non-container. */
TL_API int tl_value_n_children(const TlValue *value, size_t *out);

/* @param out receives a new reference to child index (a variant "v" has one child: its contents).
 * In a snapshot, the parts that name a carried value carry it (as <handle 0>), and the innermost is
 * the carried value itself, as tl_value_lookup() gives it.
 * @return TL_OK, TL_ERR_INVALID_ARGUMENT (value or out NULL), TL_ERR_WRONG_TYPE for a
 * non-container, TL_ERR_OUT_OF_RANGE, TL_ERR_NO_MEMORY. */
TL_API int tl_value_get_child(const TlValue *value, size_t index, TlValue **out);

/* Look key up in a string-keyed dictionary ("a{sv}", "a{ss}", ...); variants are unboxed. A key the
 * dictionary holds twice (parsed text) gives its last value, the one tl_local_apply() keeps.
 * @param out receives a new reference, NULL on error.
 * @return TL_OK, TL_ERR_NOT_FOUND, TL_ERR_INVALID_ARGUMENT (value or out NULL or invalid),
 * TL_ERR_WRONG_TYPE if value is not a string-keyed dictionary, TL_ERR_INVALID_KEY,
 * TL_ERR_NO_MEMORY. */
TL_API int tl_value_lookup(const TlValue *value, const char *key, TlValue **out);

/* ------------------------------------------------------------------------------------------------
 * Introspection: process-wide counts, so tests and programs can see leaks. Exact whenever no other
 * thread is changing them at the same time. Thread-safe.
 * --------------------------------------------------------------------------------------------- */

TL_API size_t tl_stats_live_locals(void); /* locals not yet destroyed */
/* Per-thread dictionaries, over all locals and threads. */
TL_API size_t tl_stats_live_dicts(void);
TL_API size_t tl_stats_live_threads(void); /* threads that currently hold library state */
TL_API size_t tl_stats_live_values(void);  /* TlValues not yet freed, in any thread or holder */

/* The calling thread's change counter: a number that grows whenever any dictionary of the calling
 * thread changes (a set, delete, clear or apply; a dictionary freed by this thread, by
 * tl_thread_clear() or by dropping a local's last reference), read with a plain load. (The last
 * unref of a local on another thread frees this thread's dictionary of it without a change here: a
 * binding that holds a reference to the local never meets that case.) Bindings cache what they read
 * from a local and trust the cache while the counter stands still, so a read costs no call into the
 * library. @return pointer valid until the calling thread exits; only the calling thread may read
 * it. */
TL_API const volatile uint64_t *tl_thread_change_counter(void);

/* @return the calling thread's id as the library sees it (and passes to exit hooks and visitors):
 * nonzero, unique in the process, never reused, stable across tl_thread_clear(). */
TL_API uint64_t tl_thread_id(void);

/* ------------------------------------------------------------------------------------------------
 * Threads and memory
 * --------------------------------------------------------------------------------------------- */

/* Free every dictionary of the calling thread, in every local, as its exit would. For thread pools
 * that reuse threads between tasks, and for the main thread before exit() (whose thread-exit
 * cleanup never runs). The thread may use locals again afterwards; it starts with no dictionaries.
 * Destroy functions that recreate dictionaries while this runs are cleaned up too, in a bounded
 * number of rounds. */
TL_API void tl_thread_clear(void);

/* Fork and unloading need no call. After fork() the child can use the library at once, even if
 * another parent thread held its lock at the fork; the forking thread's dictionaries survive. Every
 * other thread's dictionaries are detached inside fork() and released at the child's first call
 * that creates or opens a local, gives a thread its first dictionary of a local, reads a tl_stats_*
 * count, or is tl_thread_clear(); a child that only exec()s never pays for them. Releasing them
 * enters no GLib code, since GLib does not reset its own locks in a child and another parent thread
 * may have held one: their pointer values are released (destroy functions run), their GVariant
 * values are abandoned (the parent's memory, copied on write; tl_stats_live_values still counts
 * them), and no exit hook runs (the thread lives on in the parent, where its hook will run).
 * Reading the forking thread's scalar and string values never enters GLib either. What the child
 * does with GLib itself is bound by GLib's rules: if another parent thread was inside GLib's
 * GVariant type cache or (before GLib 2.76) GSlice at the fork, building or freeing GVariants in
 * the child may block. The library is linked -z nodelete, so dlclose() never unmaps the code its
 * thread-exit cleanup runs: dlopen()/dlclose() cycles are safe while threads with values come and
 * go. */

/* Free a string returned by the library (tl_value_print()). NULL is a no-op. */
TL_API void tl_free(void *memory);

/* Free a NULL-terminated string array returned by the library (tl_local_keys()). NULL is a
 * no-op. */
TL_API void tl_strv_free(char **strings);

#ifdef __cplusplus
}
#endif

#endif /* TLSLOCAL_H */
