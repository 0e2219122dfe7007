/* Internal declarations shared by the library's source files. Not installed. */
#ifndef TL_PRIVATE_H
#define TL_PRIVATE_H

#include <glib.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "tlslocal.h"

/* ---- errors (tl-error.c) ---- */

/* Record a failure for the calling thread and return status, so callers can `return _tl_fail(...)`.
 * message is a static string: no formatting cost on paths that fail often (a peek miss). */
int _tl_fail(int status, const char *message);
int _tl_failf(int status, const char *format, ...) G_GNUC_PRINTF(2, 3);

/* The calling thread's last error, kept across user code (a destroy function) that may fail calls
 * of its own. */
typedef struct {
  int status;
  const char *message;
  char text[256];
} TlSavedError;
void _tl_error_save(TlSavedError *saved);
void _tl_error_restore(const TlSavedError *saved);

/* ---- memory ----
 * Library-owned memory comes from malloc() itself, never from GLib's allocators (which abort when
 * memory runs out), so that every such allocation can fail with TL_ERR_NO_MEMORY; calling malloc()
 * directly also lets the fault-injection test (tests/fault) tell the library's allocations from
 * GLib's by their caller. It is freed with g_free(), which is free() since GLib 2.46. */

static inline void *
_tl_alloc_n(size_t n, size_t size, gboolean zeroed)
{
  if (size != 0 && n > G_MAXSIZE / size)
    return NULL;
  if (n == 0 || size == 0) /* malloc(0) may return NULL: always ask for at least a byte */
    n = size = 1;
  return zeroed ? calloc(n, size) : malloc(n * size);
}

static inline void *
_tl_realloc_n(void *memory, size_t n, size_t size)
{
  if (size != 0 && n > G_MAXSIZE / size)
    return NULL;
  return realloc(memory, MAX(n * size, 1));
}

/* NULL if out of memory. n 0 still gives a block (of one byte) that g_free() takes. */
#define _tl_new(type, n) ((type *) _tl_alloc_n((n), sizeof(type), FALSE))
#define _tl_new0(type, n) ((type *) _tl_alloc_n((n), sizeof(type), TRUE))
#define _tl_renew(type, memory, n) ((type *) _tl_realloc_n((memory), (n), sizeof(type)))

/* A NUL-terminated copy of the len bytes at string; NULL if out of memory. */
char *_tl_strndup(const char *string, size_t len);

/* ---- reference counts ----
 * Every refcount in the library (values, locals, hooks) is counted with these two. Taking a
 * reference needs no ordering: the taker already holds one. Dropping one releases the dropper's
 * writes and, for the last, acquires everyone else's before the object is freed. */

static inline void
_tl_refcount_inc(gint *refcount)
{
  __atomic_fetch_add(refcount, 1, __ATOMIC_RELAXED);
}

/* @return TRUE if that was the last reference. */
static inline gboolean
_tl_refcount_dec(gint *refcount)
{
  return __atomic_fetch_sub(refcount, 1, __ATOMIC_ACQ_REL) == 1;
}

/* ---- values (tl-value.c) ---- */

#define TL_VALUE_MAGIC 0x7456616cu /* "tVal" */

typedef enum { TL_VALUE_VARIANT, TL_VALUE_POINTER } TlValueKind;

struct _TlValue {
  guint32 magic;
  gint refcount; /* atomic */
  TlValueKind kind;
  guint32 n_handles;
  /* Basic values' payload, read once at creation: accessors never enter GLib, whose every read of a
   * GVariant takes the value's bit lock (an atomic read-modify-write on memory shared by all the
   * threads reading one value, and a lock a fork() child may find held). scalar_type is the type
   * character for one-character types, 'A' for "ay", 0 otherwise. */
  char scalar_type;
  /* Container levels in the value and its type (TL_VALUE_MAX_DEPTH at most), or TL_DEPTH_UNKNOWN
   * until something asks (_tl_value_depth): known at once for values built here, found by a walk
   * for values parsed or taken from GLib. Written once, relaxed: every writer writes the same. */
  guint8 depth;
  gsize bytes_size;
  union {
    gint64 i64;
    guint64 u64;
    double d;
    const char *str;   /* into the serialised data */
    const void *bytes; /* into the serialised data */
    struct _TlValue *free_next; /* once the last reference is gone: _tl_value_free's work list */
  } scalar;
  union {
    /* Owned, never floating. NULL for a basic value made by a typed constructor until something
     * needs its GVariant form (a container, text, a snapshot): _tl_value_variant() makes it then,
     * so the typed setters cost a malloc, not GLib's allocation and serialisation. */
    GVariant *variant;
    struct {
      void *ptr;
      TlDestroyFunc destroy;
    } pointer;
  } u;
  /* A snapshot's out-of-band values (as D-Bus carries fds): a "h" value N inside the variant stands
   * for handles[N]. NULL for every other value. */
  TlValue **handles;
};

/* GLib reads a value nested 128 container levels deep (arrays, maybes, tuples, dict entries and
 * variants, counted from the outermost) as "()", and its parser reads type strings back only to
 * 127: values deeper than this are refused where they would be made, never kept corrupted. */
#define TL_VALUE_MAX_DEPTH 127
#define TL_DEPTH_UNKNOWN 0xffu

/* Wraps variant (taking over one reference) with handles (taking over the array and its
 * references; NULL if none), depth if known (else TL_DEPTH_UNKNOWN). NULL (TL_ERR_NO_MEMORY) if out
 * of memory, the variant and handles released. */
TlValue *_tl_value_take_variant(GVariant *variant, TlValue **handles, guint32 n_handles,
                                guint depth);
/* The container levels of value, for the depth limit: 0 for basic and pointer values. */
guint _tl_value_depth(const TlValue *value);
/* @return TL_OK, or TL_ERR_INVALID_ARGUMENT (recorded) if depth is past TL_VALUE_MAX_DEPTH. */
int _tl_value_check_depth(guint depth);
/* Container nesting of a valid type string: "t" 0, "mt" 1, "a{sv}" 2. */
guint _tl_type_nesting(const char *type);
/* The same of the type string from type to end, which may be unchecked text: reads nothing
 * outside it, and reports more than any limit past 128 levels. */
guint _tl_type_nesting_of(const char *type, const char *end);
/* Container levels of variant plus level, counted only to just past TL_VALUE_MAX_DEPTH. */
guint _tl_variant_depth(GVariant *variant, guint level);
/* Wraps variant (taking over one reference; a floating one is sunk), without handles. */
static inline TlValue *
_tl_value_take_variant_plain(GVariant *variant, guint depth)
{
  return _tl_value_take_variant(variant, NULL, 0, depth);
}
/* Records why value is not a valid TlValue. @return TL_ERR_INVALID_ARGUMENT. */
int _tl_value_fail_invalid(const TlValue *value);
void _tl_stats_values_add(int delta);

static inline gboolean
_tl_value_is_valid(const TlValue *value)
{
  return value != NULL && value->magic == TL_VALUE_MAGIC;
}

GVariant *_tl_value_make_variant(const TlValue *value);

/* Frees a value whose last reference is gone, and the values it carries whose last reference that
 * was, without recursion (tl-value.c). */
void _tl_value_free(TlValue *value);

/* Reference counting of values already known valid: tl_value_ref()/unref() after their checks,
 * and the store path inline. */
static inline void
_tl_value_ref_valid(TlValue *value)
{
  _tl_refcount_inc(&value->refcount);
}

static inline void
_tl_value_unref_valid(TlValue *value)
{
  if (_tl_refcount_dec(&value->refcount))
    _tl_value_free(value);
}

/* The GVariant of a TL_VALUE_VARIANT value if it has been made yet, else NULL (a lazy basic value). */
static inline GVariant *
_tl_value_variant_if_made(const TlValue *value)
{
  return __atomic_load_n(&value->u.variant, __ATOMIC_ACQUIRE);
}

/* The GVariant of a valid TL_VALUE_VARIANT value, made on first need (borrowed: the value keeps
 * it). Any thread may ask: the first one to finish publishes its GVariant; the others drop theirs. */
static inline GVariant *
_tl_value_variant(const TlValue *value)
{
  GVariant *variant = _tl_value_variant_if_made(value);

  return G_LIKELY(variant != NULL) ? variant : _tl_value_make_variant(value);
}

/* ---- per-thread dictionary (tl-dict.c) ----
 * A compact, insertion-ordered open-addressing map (the layout CPython's dict uses): a dense item
 * array in insertion order plus a power-of-two index of item positions probed linearly. Only its
 * owner thread touches it, so it needs no synchronisation. */

/* Keys shorter than this live in the item itself: no allocation per key, and a lookup touches one
 * cache line fewer. Longer keys are allocated. */
#define TL_DICT_INLINE_KEY 16

typedef struct {
  union {
    char *heap;                             /* key_len >= TL_DICT_INLINE_KEY */
    char inline_bytes[TL_DICT_INLINE_KEY]; /* shorter keys, NUL-terminated */
  } key;
  TlValue *value; /* NULL marks a deleted item (its key_len is 0) */
  guint32 hash;
  guint32 key_len;
} TlDictItem;

static inline const char *
_tl_item_key(const TlDictItem *item)
{
  return item->key_len < TL_DICT_INLINE_KEY ? item->key.inline_bytes : item->key.heap;
}

/* Gives item a copy of the len bytes at str (plus a NUL), inline or allocated. FALSE (nothing
 * recorded) if out of memory. */
gboolean _tl_item_set_key(TlDictItem *item, const char *str, guint32 len);

static inline void
_tl_item_free_key(TlDictItem *item)
{
  if (item->key_len >= TL_DICT_INLINE_KEY)
    g_free(item->key.heap);
}

typedef struct {
  TlDictItem *items;
  guint32 *index; /* 0 = empty, TL_DICT_DELETED = tombstone, else item position + 1 */
  guint32 n_items; /* used item slots, deleted ones included */
  guint32 n_live;
  guint32 items_capacity;
  guint32 index_mask; /* index size - 1; the index is NULL while no key was ever set */
} TlDict;

/* A key checked and hashed once, then used for lookup and insertion. */
typedef struct {
  const char *str;
  guint32 len;
  guint32 hash;
} TlKey;

#define TL_DICT_DELETED G_MAXUINT32

/* Loads 1..8 bytes without reading past them: two overlapping loads, or three byte loads. A
 * variable-length memcpy into a zeroed word would compile to a byte loop whose stores the following
 * 8-byte load cannot forward from, a stall measured at half the cost of a whole lookup. */
static inline guint64
_tl_load_short(const unsigned char *bytes, size_t n)
{
  if (n >= 4) {
    guint32 low, high;
    memcpy(&low, bytes, 4);
    memcpy(&high, bytes + n - 4, 4);
    return ((guint64) high << 32) | low;
  }
  return bytes[0] | ((guint64) bytes[n >> 1] << 8) | ((guint64) bytes[n - 1] << 16);
}

/* The key hash's secret keys, drawn from the system's random source when the library is loaded:
 * keys often come from outside (header names, user ids), and an attacker who could compute the
 * hash could choose thousands of keys that share one index slot, making each insert and lookup
 * a linear walk (hash flooding). Never written after load. */
extern guint64 _tl_hash_keys[8];

/* The folded product of a and b: all 128 bits of a * b folded to 64. */
static inline guint64
_tl_hash_fold(guint64 a, guint64 b)
{
#ifdef __SIZEOF_INT128__
  unsigned __int128 product = (unsigned __int128) a * b;

  return (guint64) product ^ (guint64) (product >> 64);
#else
  guint64 a_low = (guint32) a, a_high = a >> 32, b_low = (guint32) b, b_high = b >> 32;
  guint64 low = a_low * b_low, middle1 = a_high * b_low, middle2 = a_low * b_high;
  guint64 high = a_high * b_high, carry = ((low >> 32) + (guint32) middle1 + (guint32) middle2) >> 32;

  return (low + (middle1 << 32) + (middle2 << 32)) ^
         (high + (middle1 >> 32) + (middle2 >> 32) + carry);
#endif
}

static inline guint64
_tl_load64(const unsigned char *bytes)
{
  guint64 word;

  memcpy(&word, bytes, sizeof word);
  return word;
}

static inline guint64
_tl_load32(const unsigned char *bytes)
{
  guint32 word;

  memcpy(&word, bytes, sizeof word);
  return word;
}

/* Validate (NULL, UTF-8) and hash key in one pass. @return TL_OK or TL_ERR_INVALID_KEY (recorded).
 * Inline: it is most of the hot path's work. After a vectorised strlen, the bytes are read as two
 * words, overlapping, for keys up to 16 bytes (the usual ones) and 16 at a time beyond, and
 * mixed by folded 128-bit multiplies with the secret keys (the construction of wyhash, and of Go's
 * map hash, both seeded per process for the same reason). The same reads OR every byte, so ASCII
 * keys (the common case) are known valid UTF-8 for free. */
static inline int
_tl_key_prepare(const char *key, TlKey *out)
{
  const unsigned char *bytes = (const unsigned char *) key;
  guint64 seed, a, b, high_bits;
  size_t len;

  if (G_UNLIKELY(key == NULL))
    return _tl_fail(TL_ERR_INVALID_KEY, "key is NULL");
  len = strlen(key);
  seed = _tl_hash_keys[0] ^ len;
  if (G_LIKELY(len <= 16)) {
    if (len >= 8) { /* two words that overlap below 16 bytes */
      a = _tl_load64(bytes);
      b = _tl_load64(bytes + len - 8);
    } else if (len >= 4) {
      a = _tl_load32(bytes);
      b = _tl_load32(bytes + len - 4);
    } else {
      a = len > 0 ? _tl_load_short(bytes, len) : 0;
      b = 0;
    }
    high_bits = a | b;
  } else {
    const unsigned char *end = bytes + len;

    for (high_bits = 0; end - bytes > 16; bytes += 16) {
      a = _tl_load64(bytes);
      b = _tl_load64(bytes + 8);
      high_bits |= a | b;
      seed = _tl_hash_fold(a ^ _tl_hash_keys[1], b ^ seed);
    }
    a = _tl_load64(end - 16);
    b = _tl_load64(end - 8);
    high_bits |= a | b;
  }
  if (G_UNLIKELY(high_bits & G_GUINT64_CONSTANT(0x8080808080808080)) &&
      !g_utf8_validate(key, (gssize) len, NULL))
    return _tl_fail(TL_ERR_INVALID_KEY, "key is not valid UTF-8");
  if (G_UNLIKELY(len >= G_MAXUINT32))
    return _tl_fail(TL_ERR_INVALID_KEY, "key is longer than 4 GiB");
  out->str = key;
  out->len = (guint32) len;
  out->hash = (guint32) _tl_hash_fold(_tl_hash_keys[2] ^ len,
                                      _tl_hash_fold(a ^ _tl_hash_keys[1], b ^ seed));
  return TL_OK;
}

static inline gboolean
_tl_key_equal(const TlDictItem *item, const TlKey *key)
{
  if (item->hash != key->hash || item->key_len != key->len)
    return FALSE;
  if (key->len - 1u < 8u) /* 1..8 bytes, inline: no memcmp call, no pointer to follow */
    return _tl_load_short((const unsigned char *) item->key.inline_bytes, key->len) ==
           _tl_load_short((const unsigned char *) key->str, key->len);
  return memcmp(_tl_item_key(item), key->str, key->len) == 0;
}

/* @return the index position holding key, or -1. */
static inline gssize
_tl_dict_find_position(const TlDict *dict, const TlKey *key)
{
  guint32 position;

  if (dict->index == NULL)
    return -1;
  for (position = key->hash & dict->index_mask;; position = (position + 1) & dict->index_mask) {
    guint32 slot = dict->index[position];

    if (slot == 0)
      return -1;
    if (slot != TL_DICT_DELETED && _tl_key_equal(&dict->items[slot - 1], key))
      return position;
  }
}

static inline TlValue *
_tl_dict_lookup(const TlDict *dict, const TlKey *key)
{
  gssize position = _tl_dict_find_position(dict, key);

  return position < 0 ? NULL : dict->items[dict->index[position] - 1].value;
}

/* Stores value, taking over one reference the caller owns (on success only); *out_old receives the
 * replaced value (a reference the caller must drop after the dict is consistent again, since
 * dropping it may run user code). */
int _tl_dict_insert(TlDict *dict, const TlKey *key, TlValue *value, TlValue **out_old);
/* _tl_dict_insert() of a key known to be absent. */
int _tl_dict_insert_new(TlDict *dict, const TlKey *key, TlValue *value);
/* Makes room for n_more new keys, so that as many _tl_dict_insert_item() calls cannot fail.
 * @return TL_OK or TL_ERR_NO_MEMORY (recorded; dict unchanged). */
int _tl_dict_reserve(TlDict *dict, guint32 n_more);
/* Moves item (a key known to be absent, its copy and its value's reference) into dict, whose room
 * was reserved; item is left empty, and the dictionary it came from fit only to be freed. */
void _tl_dict_insert_item(TlDict *dict, TlDictItem *item);

/* Puts value at position (from _tl_dict_find_position) and returns the value it replaces, whose
 * reference passes to the caller. */
static inline TlValue *
_tl_dict_swap(TlDict *dict, gssize position, TlValue *value)
{
  TlDictItem *item = &dict->items[dict->index[position] - 1];
  TlValue *old = item->value;

  item->value = value;
  return old;
}
/* Removes key; *out_old receives the removed value's reference. @return TL_OK or TL_ERR_NOT_FOUND. */
int _tl_dict_remove(TlDict *dict, const TlKey *key, TlValue **out_old);
/* Empties dict and returns its former items array (caller frees it with _tl_dict_items_release(),
 * which also frees arrays of copied items: allocated keys, and values that are not NULL). */
void _tl_dict_steal(TlDict *dict, TlDictItem **out_items, guint32 *out_n_items);
void _tl_dict_items_release(TlDictItem *items, guint32 n_items);
void _tl_dict_free_contents(TlDict *dict);
/* Frees a dictionary whose values were never referenced by it (a scratch map of borrowed values). */
void _tl_dict_free_borrowed(TlDict *dict);
/* Moves from's contents into dict, which is empty; from becomes empty. */
void _tl_dict_adopt(TlDict *dict, TlDict *from);

/* ---- locals, threads and the registry (tl-local.c, tl-thread.c, tl-registry.c) ---- */

#define TL_LOCAL_MAGIC 0x744c6f63u /* "tLoc" */
#define TL_LOCAL_DEAD 0x64656164u  /* "dead": catches most uses of a destroyed handle */

typedef struct _TlThread TlThread;
typedef struct _TlEntry TlEntry;

typedef struct _TlInitializer TlInitializer;
typedef struct _TlHook TlHook;
typedef struct _TlHookSlot TlHookSlot;

struct _TlLocal {
  guint32 magic;
  guint32 id;    /* index into every thread's slots; reused after destruction */
  gint refcount; /* atomic */
  guint32 flags; /* TlLocalFlags; immutable */
  TlInitializer *init; /* NULL if none; immutable */
  TlEntry *entries; /* every thread's entry for this local; registry lock */
  TlHookSlot *hooks; /* NULL until an exit hook is first set; registry lock */
};

/* The per-thread initializer: a C callback, or a function of any signature called through libffi. */
struct _TlInitializer {
  TlInitFunc fn;
  void *user_data;
  TlDestroyFunc user_data_destroy;
  struct _TlFfiCall *ffi; /* tl-ffi-init.c; NULL for a plain TlInitFunc */
};

int _tl_ffi_prepare(TlCallback fn, int fn_returns_int, TlValue *args, struct _TlFfiCall **out);
int _tl_ffi_call(struct _TlFfiCall *call, TlLocal *local);
void _tl_ffi_free(struct _TlFfiCall *call);

/* An exit hook, refcounted so a dictionary detached under the lock can run it after the lock is
 * released even if the local is destroyed or the hook replaced meanwhile. */
struct _TlHook {
  gint refcount; /* atomic */
  TlExitHook fn;
  void *user_data;
  TlDestroyFunc user_data_destroy;
};

/* Where a local keeps its exit hook, shared by the local and the dictionaries detached from it: a
 * dictionary looks its hook up when it is freed, not when it is detached, so a hook removed or
 * replaced runs for no dictionary freed afterwards, even one detached before (a thread exit
 * detaches all its dictionaries at once, then frees them one by one, running destroy functions
 * in between). Refcounted, atomically. */
struct _TlHookSlot {
  gint refcount;
  TlHook *hook; /* registry lock */
};
TlHookSlot *_tl_hook_slot_ref(TlHookSlot *slot); /* NULL-safe */
void _tl_hook_slot_unref(TlHookSlot *slot);
/* Runs the hook slot holds now (if any, and slot if not NULL) with a snapshot of dict's contents. */
void _tl_hook_run(TlHookSlot *slot, TlFreeReason reason, guint64 thread_id, const TlDict *dict);

/* One (local, thread) pair: that thread's dictionary for that local. */
struct _TlEntry {
  TlDict dict;     /* written by the owner thread only (under lock_word if the local is visitable) */
  gint lock_word;  /* visitable locals: writers and visitors; a spin lock, uncontended but for visits */
  TlFreeReason free_reason; /* set when detached */
  guint64 thread_id;
  TlHookSlot *hooks; /* the local's, referenced when detached */
  TlLocal *local;  /* registry lock */
  TlThread *thread;
  TlEntry *local_prev, *local_next;   /* in local->entries; registry lock */
  TlEntry *thread_prev, *thread_next; /* in thread->entries; registry lock */
};

/* A thread's entries by local id, in pages of TL_SLOT_PAGE_SIZE slots: a thread pays for the pages
 * of the locals it touches (and 8 bytes per page of ids in the process), not 8 bytes for every id
 * in the process: with a million live locals, a thread writing to the newest allocated 8 MB. The
 * pages it never wrote are all the one read-only empty page, so a read needs no NULL check. */
#define TL_SLOT_PAGE_BITS 8
#define TL_SLOT_PAGE_SIZE (1u << TL_SLOT_PAGE_BITS)
extern TlEntry *const _tl_empty_slot_page[TL_SLOT_PAGE_SIZE];

struct _TlThread {
  /* slot_pages[id >> TL_SLOT_PAGE_BITS][id % TL_SLOT_PAGE_SIZE]. Only the owner thread replaces the
   * array or a page (under the registry lock); others write NULL into a slot of a local that has
   * no references left, under the lock. */
  TlEntry ***slot_pages;
  guint32 n_slot_pages;
  TlEntry *entries;    /* registry lock */
  TlThread *prev, *next; /* in the registry's thread list; registry lock */
};

/* The slot of local id in thread's pages, which hold it (a real page: an entry is there). */
static inline TlEntry **
_tl_thread_slot(TlThread *thread, guint32 id)
{
  return &thread->slot_pages[id >> TL_SLOT_PAGE_BITS][id & (TL_SLOT_PAGE_SIZE - 1)];
}

/* The calling thread's state, or NULL. Initial-exec TLS: a plain fs-relative load, no
 * __tls_get_addr call, which is what keeps the hot path fast. */
extern _Thread_local TlThread *_tl_current_thread __attribute__((tls_model("initial-exec")));

/* tl_thread_change_counter(): bumped by every change to the calling thread's dictionaries. A plain
 * thread-local increment: the owner is its only writer and reader. */
extern _Thread_local volatile guint64 _tl_thread_changes __attribute__((tls_model("initial-exec")));
#define TL_THREAD_CHANGED() (_tl_thread_changes++)

/* The registry lock: a pthread mutex (not GMutex) so ThreadSanitizer and helgrind see it. */
void _tl_registry_lock(void);
void _tl_registry_unlock(void);

/* All under the registry lock. */
/* @return TL_OK with *out_id, or TL_ERR_NO_MEMORY (recorded). */
int _tl_registry_id_acquire(guint32 *out_id);
void _tl_registry_id_release(guint32 id);
void _tl_registry_thread_add(TlThread *thread);
void _tl_registry_thread_remove(TlThread *thread);

/* Counts for introspection, changed on slow paths only, read without the lock. */
extern gsize _tl_stats_locals, _tl_stats_dicts, _tl_stats_threads;
#define TL_STAT_ADD(counter, delta) ((void) __atomic_fetch_add(&(counter), (gsize) (delta), __ATOMIC_RELAXED))

/* The calling thread's state, created (and registered for thread-exit cleanup) if needed. NULL
 * (TL_ERR_NO_MEMORY recorded) if out of memory. */
TlThread *_tl_thread_get_or_create(void);
/* Frees a thread's own memory (its slot pages), once it has no entries. */
void _tl_thread_free(TlThread *thread);
/* Unregisters the calling thread if it holds no dictionary: a call that registered it and then
 * failed leaves things as they were. */
void _tl_thread_release_if_empty(void);
/* Whether the calling thread is freeing, after the first round of its exit or tl_thread_clear(), the
 * dictionaries that round's exit hooks and destroy functions made. */
gboolean _tl_thread_releasing(void);

/* Under the registry lock: unlink entry from its local and its thread, clear the thread's slot, and
 * take a reference to where the local keeps its exit hook. The caller then owns the entry and frees
 * it with _tl_entry_free() once the lock is released (which runs the hook, told reason). */
void _tl_entry_detach(TlEntry *entry, TlFreeReason reason);
void _tl_entry_free(TlEntry *entry);
/* Detach every entry of thread and unregister it, under the lock; @return the detached entries,
 * chained through thread_next. */
TlEntry *_tl_thread_detach_all(TlThread *thread, TlFreeReason reason);
void _tl_entries_free(TlEntry *detached);

/* The calling thread's library id (tl_thread_id()). */
guint64 _tl_thread_id(void);

/* The snapshot format (tl_local_snapshot, tl_local_apply): an "a{sv}" value whose pointer values,
 * "h" values, snapshots carrying values, and values too deep to box travel beside it as handles.
 * @return a new reference; NULL only if out of memory (TL_ERR_NO_MEMORY recorded). */
TlValue *_tl_snapshot_new(const TlDict *dict);
/* Fills out, an empty dictionary, with snapshot's keys and (new references to) its values; a key
 * given twice (parsed text) keeps its last value. snapshot is a valid "a{sv}".
 * @return TL_OK; TL_ERR_INVALID_ARGUMENT for a handle the snapshot does not carry;
 * TL_ERR_NO_MEMORY. On error out is left empty. */
int _tl_snapshot_read(const TlValue *snapshot, TlDict *out);

/* The first of the threads with state, linked through next; registry lock. */
TlThread *_tl_registry_threads(void);

/* Fork handlers (tl-fork.c), installed once, before the registry lock is first taken. */
void _tl_fork_install_handlers(void);
/* In a fork() child: free the other threads' dictionaries that fork_child detached. Called at API
 * entry points only (never mid-operation: it runs exit hooks and destroy functions). Cheap when
 * there is nothing to do: two loads. */
void _tl_fork_release_orphans(void);

/* ---- locals (tl-local.c) ---- */

/* Records why local is not a valid TlLocal (NULL, destroyed, something else). @return the status. */
int _tl_local_fail_invalid(const TlLocal *local);
/* Under the registry lock: a local with a new id and one reference. NULL if out of memory. */
TlLocal *_tl_local_create_locked(guint32 flags, TlInitializer *init);
/* Frees the memory of a local that nobody ever saw. */
void _tl_local_free(TlLocal *local);

/* ---- initializers (tl-init.c) ---- */

/* Slow path of a thread's first access: create the dictionary, then run the initializer with the
 * dictionary already in place. */
int _tl_entry_create_initialized(TlLocal *local, TlEntry **out, gboolean *out_created);
void _tl_initializer_free(TlInitializer *init);

/* ---- entries (tl-entry.c) ---- */

/* Make the calling thread's dictionary for local. NULL if out of memory (recorded). */
TlEntry *_tl_entry_create(TlLocal *local);
/* Drops a dictionary the current access made, before it became the thread's. */
void _tl_entry_discard(TlEntry *entry);

/* ---- the calling thread's slot table (tl-thread.c) ---- */

/* What _tl_entry_create() must install in thread's slot table for id, allocated beforehand: a
 * longer page array (a copy, all of whose new pages are the empty page) and a page. NULLs where
 * nothing is needed. */
typedef struct {
  TlEntry ***slot_pages;
  guint32 n_slot_pages;
  TlEntry **page;
} TlSlotGrowth;
int _tl_thread_slots_prepare(const TlThread *thread, guint32 id, TlSlotGrowth *out);
TlEntry ***_tl_thread_slots_install(TlThread *thread, guint32 id, const TlSlotGrowth *growth);

/* Owned copies of the items of dict (keys duplicated, values referenced), or of its item for key
 * alone when key is not NULL (none if absent). @return TL_OK or TL_ERR_NO_MEMORY (recorded). */
int _tl_dict_copy_items(const TlDict *dict, const TlKey *key, TlDictItem **out_items, guint32 *out_n);

/* ---- the snapshot format (tl-snapshot.c) ---- */

/* @return the value a snapshot's unboxed child stands for: handles[N] for a "h" child, else a new
 * value wrapping child. Takes over child's reference. NULL if a handle is out of range
 * (TL_ERR_INVALID_ARGUMENT) or out of memory (TL_ERR_NO_MEMORY), with the last error recorded. */
TlValue *_tl_snapshot_resolve_child(const TlValue *snapshot, GVariant *child);
/* Child of a value that carries values (taking over child's reference). NULL if out of memory. */
TlValue *_tl_snapshot_part(const TlValue *parent, GVariant *child);

/* ---- inline helpers of the access paths ---- */

static inline gboolean
_tl_local_is_valid(const TlLocal *local)
{
  return local != NULL && local->magic == TL_LOCAL_MAGIC;
}

/* ---- the dictionary lock of visitable locals ---- */

static inline void
_tl_entry_lock(TlEntry *entry)
{
  while (__atomic_exchange_n(&entry->lock_word, 1, __ATOMIC_ACQUIRE) != 0) {
    while (__atomic_load_n(&entry->lock_word, __ATOMIC_RELAXED) != 0)
      sched_yield(); /* held only while a visitor copies references: short */
  }
}

static inline void
_tl_entry_unlock(TlEntry *entry)
{
  __atomic_store_n(&entry->lock_word, 0, __ATOMIC_RELEASE);
}

/* Writers lock only when a visitor may read concurrently; the flag is immutable. */
static inline void
_tl_entry_write_begin(const TlLocal *local, TlEntry *entry)
{
  if (local->flags & TL_LOCAL_VISITABLE)
    _tl_entry_lock(entry);
}

static inline void
_tl_entry_write_end(const TlLocal *local, TlEntry *entry)
{
  if (local->flags & TL_LOCAL_VISITABLE)
    _tl_entry_unlock(entry);
}

/* The calling thread's entry for local, or NULL. Safe without the lock: only this thread replaces
 * its slots array, and other threads only null a slot whose local has no references left. */
static inline TlEntry *
_tl_entry_current(const TlLocal *local)
{
  TlThread *thread = _tl_current_thread;
  guint32 page = local->id >> TL_SLOT_PAGE_BITS;

  if (G_LIKELY(thread != NULL && page < thread->n_slot_pages))
    return thread->slot_pages[page][local->id & (TL_SLOT_PAGE_SIZE - 1)];
  return NULL;
}

static inline gboolean
_tl_local_has_initializer(const TlLocal *local)
{
  return local->init != NULL && (local->init->fn != NULL || local->init->ffi != NULL);
}

/* The calling thread's dictionary for a read: NULL without error if it has none and nothing
 * (no initializer) would create it. */
static inline int
_tl_entry_for_read(TlLocal *local, TlEntry **out)
{
  *out = _tl_entry_current(local);
  if (G_LIKELY(*out != NULL) || !_tl_local_has_initializer(local))
    return TL_OK;
  /* While the thread's dictionaries are freed (its exit, tl_thread_clear()), a read by an exit hook
   * or destroy function finds none rather than making one that would outlive the cleanup. */
  if (_tl_thread_releasing())
    return TL_OK;
  return _tl_entry_create_initialized(local, out, NULL);
}

/* The calling thread's dictionary for a write, made if need be. *out_created is set (and must be
 * FALSE before) when the dictionary is new and empty: a write that then fails discards it. */
static inline int
_tl_entry_for_write(TlLocal *local, TlEntry **out, gboolean *out_created)
{
  *out = _tl_entry_current(local);
  if (G_LIKELY(*out != NULL))
    return TL_OK;
  return _tl_entry_create_initialized(local, out, out_created);
}

#endif /* TL_PRIVATE_H */
