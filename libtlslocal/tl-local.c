/* TlLocal: lifecycle, access to the calling thread's dictionary, initializers, exit hooks, visits
 * across threads, snapshots and named locals.
 * The hot path (an existing dictionary) is: TLS load, bounds check, slots[id], hash lookup in a map
 * only this thread writes. No lock, no atomic read-modify-write (a TL_LOCAL_VISITABLE local's writes
 * add one uncontended lock of the dictionary's own). */
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#ifdef _WIN32
#include <malloc.h>
#endif

#include "tl-private.h"

static inline gboolean
local_is_valid(const TlLocal *local)
{
  return local != NULL && local->magic == TL_LOCAL_MAGIC;
}

static int
fail_invalid_local(const TlLocal *local)
{
  if (local == NULL)
    return _tl_fail(TL_ERR_INVALID_ARGUMENT, "local is NULL");
  return _tl_fail(TL_ERR_INVALID_ARGUMENT, local->magic == TL_LOCAL_DEAD
                                               ? "local was already destroyed"
                                               : "local is not a valid TlLocal");
}

/* ---- the dictionary lock of visitable locals ---- */

static inline void
entry_lock(TlEntry *entry)
{
  while (__atomic_exchange_n(&entry->lock_word, 1, __ATOMIC_ACQUIRE) != 0) {
    while (__atomic_load_n(&entry->lock_word, __ATOMIC_RELAXED) != 0)
      sched_yield(); /* held only while a visitor copies references: short */
  }
}

static inline void
entry_unlock(TlEntry *entry)
{
  __atomic_store_n(&entry->lock_word, 0, __ATOMIC_RELEASE);
}

/* Writers lock only when a visitor may read concurrently; the flag is immutable. */
static inline void
write_begin(const TlLocal *local, TlEntry *entry)
{
  if (local->flags & TL_LOCAL_VISITABLE)
    entry_lock(entry);
}

static inline void
write_end(const TlLocal *local, TlEntry *entry)
{
  if (local->flags & TL_LOCAL_VISITABLE)
    entry_unlock(entry);
}

/* ---- entries ---- */

/* The calling thread's entry for local, or NULL. Safe without the lock: only this thread replaces
 * its slots array, and other threads only null a slot whose local has no references left. */
static inline TlEntry *
current_entry(const TlLocal *local)
{
  TlThread *thread = _tl_current_thread;
  guint32 page = local->id >> TL_SLOT_PAGE_BITS;

  if (G_LIKELY(thread != NULL && page < thread->n_slot_pages))
    return thread->slot_pages[page][local->id & (TL_SLOT_PAGE_SIZE - 1)];
  return NULL;
}

/* What entry_create() must install in thread's slot table for id, allocated beforehand: a longer
 * page array (a copy, all of whose new pages are the empty page) and a page. NULLs where nothing
 * is needed. */
typedef struct {
  TlEntry ***slot_pages;
  guint32 n_slot_pages;
  TlEntry **page;
} SlotGrowth;

static int
slot_growth_prepare(const TlThread *thread, guint32 id, SlotGrowth *out)
{
  guint32 page = id >> TL_SLOT_PAGE_BITS, i;

  memset(out, 0, sizeof *out);
  if (page >= thread->n_slot_pages) {
    /* By an eighth at least, so a thread touching ever newer locals copies the array rarely. */
    out->n_slot_pages = MAX(page + 1, thread->n_slot_pages + thread->n_slot_pages / 8);
    out->slot_pages = _tl_new(TlEntry **, out->n_slot_pages);
    if (out->slot_pages == NULL)
      return _tl_fail(TL_ERR_NO_MEMORY, "out of memory growing the thread's slot table");
    if (thread->n_slot_pages > 0)
      memcpy(out->slot_pages, thread->slot_pages, thread->n_slot_pages * sizeof *out->slot_pages);
    for (i = thread->n_slot_pages; i < out->n_slot_pages; i++)
      out->slot_pages[i] = (TlEntry **) _tl_empty_slot_page;
  }
  if ((out->slot_pages != NULL ? out->slot_pages : thread->slot_pages)[page] ==
      (TlEntry **) _tl_empty_slot_page) {
    out->page = _tl_new0(TlEntry *, TL_SLOT_PAGE_SIZE);
    if (out->page == NULL) {
      g_free(out->slot_pages);
      return _tl_fail(TL_ERR_NO_MEMORY, "out of memory growing the thread's slot table");
    }
  }
  return TL_OK;
}

/* Under the registry lock, which keeps other threads (writing NULL into slots of destroyed locals)
 * from reading the array being replaced. @return the replaced array, to free after the lock. */
static TlEntry ***
slot_growth_install(TlThread *thread, guint32 id, const SlotGrowth *growth)
{
  TlEntry ***old = NULL;

  if (growth->slot_pages != NULL) {
    old = thread->slot_pages;
    thread->slot_pages = growth->slot_pages;
    thread->n_slot_pages = growth->n_slot_pages;
  }
  if (growth->page != NULL)
    thread->slot_pages[id >> TL_SLOT_PAGE_BITS] = growth->page;
  return old;
}

/* Make the calling thread's dictionary for local. */
static TlEntry *
entry_create(TlLocal *local)
{
  TlThread *thread = _tl_thread_get_or_create();
  TlEntry *entry = _tl_new0(TlEntry, 1), ***replaced_pages;
  SlotGrowth growth;

  if (thread == NULL || entry == NULL || slot_growth_prepare(thread, local->id, &growth) != TL_OK) {
    if (thread != NULL && entry == NULL)
      _tl_fail(TL_ERR_NO_MEMORY, "out of memory creating a dictionary");
    g_free(entry);
    _tl_thread_release_if_empty(); /* a thread registered by this call holds nothing: as it was */
    return NULL;
  }
  entry->thread_id = _tl_thread_id();
  _tl_registry_lock();
  replaced_pages = slot_growth_install(thread, local->id, &growth);
  entry->local = local;
  entry->thread = thread;
  entry->local_next = local->entries;
  if (local->entries != NULL)
    local->entries->local_prev = entry;
  local->entries = entry;
  entry->thread_next = thread->entries;
  if (thread->entries != NULL)
    thread->entries->thread_prev = entry;
  thread->entries = entry;
  *_tl_thread_slot(thread, local->id) = entry;
  TL_STAT_ADD(_tl_stats_dicts, 1);
  _tl_registry_unlock();
  g_free(replaced_pages);
  /* No TL_THREAD_CHANGED(): an empty dictionary answers every read as no dictionary did, and an
   * initializer's writes count themselves. */
  return entry;
}

static inline gboolean
has_initializer(const TlLocal *local)
{
  return local->init != NULL && (local->init->fn != NULL || local->init->ffi != NULL);
}

static int
run_initializer(TlLocal *local)
{
  TlInitializer *init = local->init;

  if (init->ffi != NULL)
    return _tl_ffi_call(init->ffi, local);
  return init->fn(local, init->user_data);
}

/* The locals whose initializer this thread is running, or whose failed initializer's dictionary it
 * is dropping, innermost first: frames on the stack of entry_create_initialized(). An access that
 * would run such a local's initializer again fails instead. The initializer's own accesses find
 * the dictionary in place and never get that far: only those after it was freed meanwhile (a
 * destroy function calling tl_thread_clear()), or those of a failed initializer's destroy
 * functions, do, and running the initializer again from them would nest without bound. */
typedef struct InitFrame {
  const TlLocal *local;
  struct InitFrame *outer;
} InitFrame;
static _Thread_local InitFrame *busy_initializers;

static gboolean
initializer_busy(const TlLocal *local)
{
  const InitFrame *frame;

  for (frame = busy_initializers; frame != NULL; frame = frame->outer)
    if (frame->local == local)
      return TRUE;
  return FALSE;
}

/* Drops a dictionary of the calling thread that the current access made, which never became the
 * thread's (so no exit hook runs), and the thread's registration if that was all it held: a
 * failed first access leaves the thread as it was. */
static void
entry_discard(TlEntry *entry)
{
  _tl_registry_lock();
  _tl_entry_detach(entry, TL_FREED_THREAD_CLEAR);
  _tl_registry_unlock();
  _tl_hook_slot_unref(entry->hooks);
  entry->hooks = NULL;
  _tl_entry_free(entry);
  _tl_thread_release_if_empty();
}

/* Slow path of a thread's first access: create the dictionary, then run the initializer with the
 * dictionary already in place, so its own accesses find it instead of recursing. *out_created
 * (nullable) is set when the dictionary returned is new and empty: no initializer filled it. */
static int
entry_create_initialized(TlLocal *local, TlEntry **out, gboolean *out_created)
{
  TlEntry *entry;
  InitFrame frame;
  int result, status;

  /* The first access of a local in a fork() child: free what the fork left first. Its destroy
   * functions may have touched this local, so look again. */
  _tl_fork_release_orphans();
  if ((*out = current_entry(local)) != NULL)
    return TL_OK;
  if (initializer_busy(local))
    return _tl_fail(TL_ERR_INIT_FAILED, "the local's initializer is running, or failed, further up "
                                        "this thread's stack");
  entry = entry_create(local);
  if (entry == NULL)
    return tl_last_error();
  if (!has_initializer(local)) {
    *out = entry;
    if (out_created != NULL)
      *out_created = TRUE;
    return TL_OK;
  }
  frame.local = local;
  frame.outer = busy_initializers;
  busy_initializers = &frame;
  result = run_initializer(local);
  if (current_entry(local) != entry) {
    /* User code it set off freed this very dictionary (a destroy function calling
     * tl_thread_clear()): the entry is gone, and no other could be made meanwhile. */
    status = _tl_fail(TL_ERR_INIT_FAILED, "the thread's dictionary was freed while the local's "
                                          "initializer ran");
  } else if (result == 0) {
    *out = entry;
    status = TL_OK;
  } else {
    entry_discard(entry); /* so the next access tries again */
    TL_THREAD_CHANGED();
    status = _tl_failf(TL_ERR_INIT_FAILED, "the local's initializer returned %d in this thread",
                       result);
  }
  busy_initializers = frame.outer;
  return status;
}

/* The calling thread's dictionary for a read: NULL without error if it has none and nothing
 * (no initializer) would create it. */
static inline int
entry_for_read(TlLocal *local, TlEntry **out)
{
  *out = current_entry(local);
  if (G_LIKELY(*out != NULL) || !has_initializer(local))
    return TL_OK;
  /* While the thread's dictionaries are freed (its exit, tl_thread_clear()), a read by an exit hook
   * or destroy function finds none rather than making one that would outlive the cleanup. */
  if (_tl_thread_releasing())
    return TL_OK;
  return entry_create_initialized(local, out, NULL);
}

/* The calling thread's dictionary for a write, made if need be. *out_created is set (and must be
 * FALSE before) when the dictionary is new and empty: a write that then fails discards it. */
static inline int
entry_for_write(TlLocal *local, TlEntry **out, gboolean *out_created)
{
  *out = current_entry(local);
  if (G_LIKELY(*out != NULL))
    return TL_OK;
  return entry_create_initialized(local, out, out_created);
}

/* ---- lifecycle ---- */

/* A TlLocal gets a cache line of its own: every thread reads it on every access, so an
 * unrelated object sharing its line and written often (the value a program allocated next, its
 * refcount changing with every set) would bounce the line between cores. bench-scaling's two
 * threads measured that: 2.2x per set, from the value created right after the local. */
#define TL_CACHE_LINE 64
G_STATIC_ASSERT(sizeof(TlLocal) <= TL_CACHE_LINE);

static TlLocal *
local_alloc(void)
{
  void *memory;

#ifdef _WIN32
  memory = _aligned_malloc(TL_CACHE_LINE, TL_CACHE_LINE);
#else
  if (posix_memalign(&memory, TL_CACHE_LINE, TL_CACHE_LINE) != 0)
    memory = NULL;
#endif
  if (memory != NULL)
    memset(memory, 0, TL_CACHE_LINE);
  return memory;
}

static void
local_free(TlLocal *local)
{
#ifdef _WIN32
  _aligned_free(local);
#else
  free(local);
#endif
}

/* Under the registry lock. */
static TlLocal *
local_create_locked(guint32 flags, TlInitializer *init)
{
  TlLocal *local = local_alloc();

  if (local == NULL) {
    _tl_fail(TL_ERR_NO_MEMORY, "out of memory creating a local");
    return NULL;
  }
  if (_tl_registry_id_acquire(&local->id) != TL_OK) {
    local_free(local);
    return NULL;
  }
  local->magic = TL_LOCAL_MAGIC;
  local->refcount = 1;
  local->flags = flags;
  local->init = init;
  TL_STAT_ADD(_tl_stats_locals, 1);
  return local;
}

static TlLocal *
local_create(guint32 flags, TlInitializer *init)
{
  TlLocal *local;

  _tl_fork_release_orphans();
  _tl_registry_lock();
  local = local_create_locked(flags, init);
  _tl_registry_unlock();
  return local;
}

static void
initializer_free(TlInitializer *init)
{
  if (init == NULL)
    return;
  if (init->ffi != NULL)
    _tl_ffi_free(init->ffi);
  if (init->user_data_destroy != NULL)
    init->user_data_destroy(init->user_data);
  g_free(init);
}

static gboolean
flags_are_valid(unsigned int flags)
{
  if ((flags & ~(unsigned int) TL_LOCAL_VISITABLE) == 0)
    return TRUE;
  _tl_failf(TL_ERR_INVALID_ARGUMENT, "unknown flags 0x%x", flags);
  return FALSE;
}

TlLocal *
tl_local_new(void)
{
  return local_create(TL_LOCAL_DEFAULT, NULL);
}

TlLocal *
tl_local_new_full(unsigned int flags, TlInitFunc init, void *user_data,
                  TlDestroyFunc user_data_destroy)
{
  TlInitializer *initializer = NULL;
  TlLocal *local;

  if (!flags_are_valid(flags))
    return NULL;
  /* Kept even without init when there is a user_data_destroy to run at destruction. */
  if (init != NULL || user_data_destroy != NULL) {
    initializer = _tl_new0(TlInitializer, 1);
    if (initializer == NULL) {
      _tl_fail(TL_ERR_NO_MEMORY, "out of memory creating a local");
      return NULL;
    }
    initializer->fn = init;
    initializer->user_data = user_data;
    initializer->user_data_destroy = user_data_destroy;
  }
  local = local_create(flags, initializer);
  if (local == NULL)
    g_free(initializer); /* nothing taken over: user_data_destroy does not run */
  return local;
}

TlLocal *
tl_local_new_with_args(unsigned int flags, TlCallback fn, int fn_returns_int, TlValue *args)
{
  TlInitializer *initializer;
  struct _TlFfiCall *call;
  TlLocal *local;

  if (!flags_are_valid(flags))
    return NULL;
  if (_tl_ffi_prepare(fn, fn_returns_int, args, &call) != TL_OK)
    return NULL;
  initializer = _tl_new0(TlInitializer, 1);
  if (initializer == NULL) {
    _tl_ffi_free(call);
    _tl_fail(TL_ERR_NO_MEMORY, "out of memory creating a local");
    return NULL;
  }
  initializer->ffi = call;
  local = local_create(flags, initializer);
  if (local == NULL)
    initializer_free(initializer);
  return local;
}

TlLocal *
tl_local_ref(TlLocal *local)
{
  if (G_UNLIKELY(!local_is_valid(local))) {
    if (local != NULL)
      fail_invalid_local(local);
    return NULL;
  }
  g_atomic_int_inc(&local->refcount);
  return local;
}

void
_tl_hook_unref(TlHook *hook)
{
  if (hook == NULL || !g_atomic_int_dec_and_test(&hook->refcount))
    return;
  if (hook->user_data_destroy != NULL)
    hook->user_data_destroy(hook->user_data);
  g_free(hook);
}

void
_tl_hook_slot_unref(TlHookSlot *slot)
{
  if (slot == NULL || !g_atomic_int_dec_and_test(&slot->refcount))
    return;
  _tl_hook_unref(slot->hook);
  g_free(slot);
}

/* Detach every thread's entry under the lock, release the id, then free the dictionaries (running
 * exit hooks and destroy functions) without the lock. */
static void
local_destroy(TlLocal *local)
{
  TlEntry *detached = NULL, *entry;
  TlHookSlot *hooks;
  /* The calling thread's own dictionary is freed too: a change its counter must show. */
  gboolean frees_own = current_entry(local) != NULL;

  _tl_registry_lock();
  while ((entry = local->entries) != NULL) {
    _tl_entry_detach(entry, TL_FREED_LOCAL_DESTROYED);
    entry->local_next = detached;
    detached = entry;
  }
  _tl_registry_id_release(local->id);
  local->magic = TL_LOCAL_DEAD;
  hooks = local->hooks;
  local->hooks = NULL;
  _tl_registry_unlock();
  TL_STAT_ADD(_tl_stats_locals, -1);
  if (frees_own)
    TL_THREAD_CHANGED();

  while ((entry = detached) != NULL) {
    detached = entry->local_next;
    _tl_entry_free(entry);
  }
  _tl_hook_slot_unref(hooks);
  initializer_free(local->init);
  local_free(local);
}

void
tl_local_unref(TlLocal *local)
{
  if (G_UNLIKELY(!local_is_valid(local))) {
    if (local != NULL)
      fail_invalid_local(local);
    return;
  }
  if (g_atomic_int_dec_and_test(&local->refcount))
    local_destroy(local);
}

/* ---- access ---- */

/* Validates local and key. */
static inline int
check_access(const TlLocal *local, const char *key, TlKey *out_key)
{
  if (G_UNLIKELY(!local_is_valid(local)))
    return fail_invalid_local(local);
  if (G_UNLIKELY(_tl_key_prepare(key, out_key) != TL_OK))
    return TL_ERR_INVALID_KEY;
  return TL_OK;
}

/* Drops a reference to value after a failure was recorded: its destroy function may make failing
 * calls of its own, and the call's own failure must be what the caller reads. */
static void
unref_keeping_error(TlValue *value)
{
  TlSavedError saved;

  _tl_error_save(&saved);
  tl_value_unref(value);
  _tl_error_restore(&saved);
}

/* The one store path. owned: value is a reference the caller hands over (released on failure). */
static int
store(TlLocal *local, const char *key, TlValue *value, gboolean owned)
{
  TlEntry *entry;
  TlValue *old = NULL;
  TlKey k = {NULL, 0, 0};
  gssize position;
  gboolean created = FALSE;
  int status = check_access(local, key, &k);

  if (G_LIKELY(status == TL_OK) && G_UNLIKELY(!_tl_value_is_valid(value)))
    status = _tl_fail(TL_ERR_INVALID_ARGUMENT, value == NULL ? "value is NULL" : "value is not a valid TlValue");
  if (G_LIKELY(status == TL_OK))
    status = entry_for_write(local, &entry, &created);
  if (G_UNLIKELY(status != TL_OK)) {
    if (owned && _tl_value_is_valid(value))
      unref_keeping_error(value);
    return status;
  }
  if (!owned)
    _tl_value_ref_valid(value);
  /* The owner is the dictionary's only writer: no need to lock for the search. */
  position = _tl_dict_find_position(&entry->dict, &k);
  write_begin(local, entry);
  if (G_LIKELY(position >= 0))
    old = _tl_dict_swap(&entry->dict, position, value); /* an existing key: the usual case */
  else
    status = _tl_dict_insert_new(&entry->dict, &k, value);
  write_end(local, entry);
  TL_THREAD_CHANGED();
  if (G_UNLIKELY(status != TL_OK)) { /* out of memory: as before the call */
    if (created)
      entry_discard(entry);
    unref_keeping_error(value);
  }
  /* Last: dropping the old value may run a destroy function that uses this very dictionary. */
  if (old != NULL)
    _tl_value_unref_valid(old);
  return status;
}

int
tl_local_set(TlLocal *local, const char *key, TlValue *value)
{
  return store(local, key, value, FALSE);
}

int
tl_local_set_take(TlLocal *local, const char *key, TlValue *value)
{
  return store(local, key, value, TRUE);
}

/* Stores a value a constructor just made, keeping the constructor's own status if it failed (out
 * of memory; a NULL or non-UTF-8 string) rather than "value is NULL". */
static inline int
store_made(TlLocal *local, const char *key, TlValue *made)
{
  return G_LIKELY(made != NULL) ? store(local, key, made, TRUE) : tl_last_error();
}

int
tl_local_set_bool(TlLocal *local, const char *key, int value)
{
  return store_made(local, key, tl_value_new_bool(value));
}

int
tl_local_set_int64(TlLocal *local, const char *key, int64_t value)
{
  return store_made(local, key, tl_value_new_int64(value));
}

int
tl_local_set_uint64(TlLocal *local, const char *key, uint64_t value)
{
  return store_made(local, key, tl_value_new_uint64(value));
}

int
tl_local_set_double(TlLocal *local, const char *key, double value)
{
  return store_made(local, key, tl_value_new_double(value));
}

int
tl_local_set_string(TlLocal *local, const char *key, const char *value)
{
  return store_made(local, key, tl_value_new_string(value));
}

TlValue *
tl_local_peek(TlLocal *local, const char *key)
{
  TlEntry *entry;
  TlValue *value;
  TlKey k = {NULL, 0, 0};

  if (G_UNLIKELY(check_access(local, key, &k) != TL_OK || entry_for_read(local, &entry) != TL_OK))
    return NULL;
  if (G_UNLIKELY(entry == NULL || (value = _tl_dict_lookup(&entry->dict, &k)) == NULL)) {
    _tl_fail(TL_ERR_NOT_FOUND, "no such key in the calling thread's dictionary");
    return NULL;
  }
  return value;
}

int
tl_local_get(TlLocal *local, const char *key, TlValue **out)
{
  TlValue *value;

  if (G_UNLIKELY(out == NULL))
    return _tl_fail(TL_ERR_INVALID_ARGUMENT, "out is NULL");
  value = tl_local_peek(local, key);
  *out = value != NULL ? tl_value_ref(value) : NULL;
  return value != NULL ? TL_OK : tl_last_error();
}

int
tl_local_delete(TlLocal *local, const char *key)
{
  TlEntry *entry;
  TlValue *old = NULL;
  TlKey k = {NULL, 0, 0};
  int status = check_access(local, key, &k);

  if (G_UNLIKELY(status != TL_OK) || (status = entry_for_read(local, &entry)) != TL_OK)
    return status;
  if (entry == NULL)
    return _tl_fail(TL_ERR_NOT_FOUND, "no such key in the calling thread's dictionary");
  write_begin(local, entry);
  status = _tl_dict_remove(&entry->dict, &k, &old);
  write_end(local, entry);
  TL_THREAD_CHANGED();
  tl_value_unref(old);
  return status;
}

int
tl_local_contains(TlLocal *local, const char *key)
{
  TlEntry *entry;
  TlKey k = {NULL, 0, 0};
  int status = check_access(local, key, &k);

  if (G_UNLIKELY(status != TL_OK) || (status = entry_for_read(local, &entry)) != TL_OK)
    return status;
  return entry != NULL && _tl_dict_lookup(&entry->dict, &k) != NULL;
}

int
tl_local_size(TlLocal *local, size_t *out_size)
{
  TlEntry *entry;
  int status;

  if (!local_is_valid(local))
    return fail_invalid_local(local);
  if (out_size == NULL)
    return _tl_fail(TL_ERR_INVALID_ARGUMENT, "out_size is NULL");
  if ((status = entry_for_read(local, &entry)) != TL_OK)
    return status;
  *out_size = entry != NULL ? entry->dict.n_live : 0;
  return TL_OK;
}

int
tl_local_clear(TlLocal *local)
{
  TlEntry *entry;
  TlDictItem *items;
  guint32 n_items;
  int status;

  if (!local_is_valid(local))
    return fail_invalid_local(local);
  if ((status = entry_for_read(local, &entry)) != TL_OK || entry == NULL)
    return status;
  /* Empty the dictionary first, then drop the values: destroy functions may write to it. */
  write_begin(local, entry);
  _tl_dict_steal(&entry->dict, &items, &n_items);
  write_end(local, entry);
  TL_THREAD_CHANGED();
  _tl_dict_items_release(items, n_items);
  return TL_OK;
}

int
tl_local_keys(TlLocal *local, char ***out_keys, size_t *out_n_keys)
{
  TlEntry *entry;
  char **keys;
  guint32 i, n = 0;
  int status;

  if (out_keys == NULL)
    return _tl_fail(TL_ERR_INVALID_ARGUMENT, "out_keys is NULL");
  *out_keys = NULL;
  if (!local_is_valid(local))
    return fail_invalid_local(local);
  if ((status = entry_for_read(local, &entry)) != TL_OK)
    return status;
  keys = _tl_new(char *, (entry != NULL ? entry->dict.n_live : 0) + 1);
  if (keys == NULL)
    return _tl_fail(TL_ERR_NO_MEMORY, "out of memory listing keys");
  for (i = 0; entry != NULL && i < entry->dict.n_items; i++) {
    const TlDictItem *item = &entry->dict.items[i];

    if (item->value == NULL)
      continue;
    keys[n] = _tl_strndup(_tl_item_key(item), item->key_len);
    if (keys[n++] == NULL) {
      keys[n - 1] = NULL;
      g_strfreev(keys);
      return _tl_fail(TL_ERR_NO_MEMORY, "out of memory listing keys");
    }
  }
  keys[n] = NULL;
  *out_keys = keys;
  if (out_n_keys != NULL)
    *out_n_keys = n;
  return TL_OK;
}

/* Owned copies of the items of dict (keys duplicated, values referenced), or of its item for key
 * alone when key is not NULL (none if absent). @return TL_OK or TL_ERR_NO_MEMORY (recorded). */
static int
copy_items(const TlDict *dict, const TlKey *key, TlDictItem **out_items, guint32 *out_n)
{
  TlDictItem *copy;
  guint32 i, n = 0;

  *out_items = NULL;
  *out_n = 0;
  if (key != NULL) {
    gssize position = _tl_dict_find_position(dict, key);

    if (position < 0)
      return TL_OK;
    if ((copy = _tl_new(TlDictItem, 1)) != NULL)
      copy[n++] = dict->items[dict->index[position] - 1];
  } else {
    copy = _tl_new(TlDictItem, dict->n_live);
    for (i = 0; copy != NULL && i < dict->n_items; i++)
      if (dict->items[i].value != NULL)
        copy[n++] = dict->items[i];
  }
  if (copy == NULL)
    return _tl_fail(TL_ERR_NO_MEMORY, "out of memory copying a dictionary");
  for (i = 0; i < n; i++) {
    /* Inline keys came along with the struct; allocated ones are copied. */
    if (copy[i].key_len >= TL_DICT_INLINE_KEY &&
        (copy[i].key.heap = _tl_strndup(copy[i].key.heap, copy[i].key_len)) == NULL) {
      _tl_dict_items_release(copy, i); /* the items before i are whole copies, the rest own nothing */
      return _tl_fail(TL_ERR_NO_MEMORY, "out of memory copying a dictionary");
    }
    _tl_value_ref_valid(copy[i].value);
  }
  *out_items = copy;
  *out_n = n;
  return TL_OK;
}

int
tl_local_foreach(TlLocal *local, TlForeachFunc fn, void *payload)
{
  TlEntry *entry;
  TlDictItem *snapshot;
  guint32 i, n;
  int status;

  if (!local_is_valid(local))
    return fail_invalid_local(local);
  if (fn == NULL)
    return _tl_fail(TL_ERR_INVALID_ARGUMENT, "fn is NULL");
  if ((status = entry_for_read(local, &entry)) != TL_OK || entry == NULL)
    return status;
  /* Over owned copies, so fn may change the dictionary freely. */
  if ((status = copy_items(&entry->dict, NULL, &snapshot, &n)) != TL_OK)
    return status;
  for (i = 0; i < n && status == TL_OK; i++)
    status = fn(_tl_item_key(&snapshot[i]), snapshot[i].value, payload);
  _tl_dict_items_release(snapshot, n);
  return status;
}

/* ---- exit hooks ---- */

int
tl_local_set_exit_hook(TlLocal *local, TlExitHook hook, void *user_data,
                       TlDestroyFunc user_data_destroy)
{
  TlHook *new_hook = NULL, *old_hook;
  TlHookSlot *new_slot = NULL;

  if (!local_is_valid(local))
    return fail_invalid_local(local);
  if (hook != NULL) {
    new_hook = _tl_new(TlHook, 1);
    new_slot = _tl_new0(TlHookSlot, 1); /* in case the local has none yet */
    if (new_hook == NULL || new_slot == NULL) { /* nothing taken over: user_data_destroy won't run */
      g_free(new_hook);
      g_free(new_slot);
      return _tl_fail(TL_ERR_NO_MEMORY, "out of memory setting an exit hook");
    }
    new_slot->refcount = 1;
    new_hook->refcount = 1;
    new_hook->fn = hook;
    new_hook->user_data = user_data;
    new_hook->user_data_destroy = user_data_destroy;
  } else if (user_data_destroy != NULL) {
    user_data_destroy(user_data); /* nothing will hold user_data */
  }
  _tl_registry_lock();
  if (local->hooks == NULL) {
    local->hooks = new_slot; /* stays NULL when removing a hook from a local that never had one */
    new_slot = NULL;
  }
  old_hook = NULL;
  if (local->hooks != NULL) {
    old_hook = local->hooks->hook;
    local->hooks->hook = new_hook;
  }
  _tl_registry_unlock();
  g_free(new_slot);
  _tl_hook_unref(old_hook);
  return TL_OK;
}

/* ---- visits ---- */

typedef struct {
  guint64 thread_id;
  TlDictItem *items;
  guint32 n_items;
} VisitedThread;

int
tl_local_visit(TlLocal *local, const char *key, TlVisitFunc fn, void *payload)
{
  VisitedThread *visited;
  TlEntry *entry;
  TlKey k = {NULL, 0, 0};
  guint32 n_threads = 0, capacity = 8, i, j;
  int status = TL_OK;

  if (!local_is_valid(local))
    return fail_invalid_local(local);
  if (fn == NULL)
    return _tl_fail(TL_ERR_INVALID_ARGUMENT, "fn is NULL");
  if (key != NULL && _tl_key_prepare(key, &k) != TL_OK)
    return TL_ERR_INVALID_KEY;
  if (!(local->flags & TL_LOCAL_VISITABLE))
    return _tl_fail(TL_ERR_UNSUPPORTED, "the local was not created with TL_LOCAL_VISITABLE");

  /* The instant the guarantee speaks of: the registry lock keeps threads from exiting or creating
   * dictionaries, each dictionary's lock keeps its owner from writing while it is copied. */
  visited = _tl_new(VisitedThread, capacity);
  if (visited == NULL)
    return _tl_fail(TL_ERR_NO_MEMORY, "out of memory visiting a local");
  _tl_registry_lock();
  /* Every dictionary is locked before any is copied, so all are seen as of one instant. No
   * deadlock: a writer holds only its own dictionary's lock and waits for nothing while it does,
   * and visitors are serialised by the registry lock. */
  for (entry = local->entries; entry != NULL; entry = entry->local_next)
    entry_lock(entry);
  for (entry = local->entries; entry != NULL && status == TL_OK; entry = entry->local_next) {
    if (n_threads == capacity) {
      VisitedThread *grown = _tl_renew(VisitedThread, visited, (gsize) capacity * 2);

      if (grown == NULL) {
        status = _tl_fail(TL_ERR_NO_MEMORY, "out of memory visiting a local");
        break;
      }
      visited = grown;
      capacity *= 2;
    }
    status = copy_items(&entry->dict, key != NULL ? &k : NULL, &visited[n_threads].items,
                        &visited[n_threads].n_items);
    visited[n_threads].thread_id = entry->thread_id;
    if (status == TL_OK)
      n_threads++;
  }
  for (entry = local->entries; entry != NULL; entry = entry->local_next)
    entry_unlock(entry);
  _tl_registry_unlock();

  /* fn sees nothing unless every dictionary was copied: a visit is of one instant or none. */
  for (i = 0; i < n_threads; i++) {
    for (j = 0; j < visited[i].n_items && status == TL_OK; j++)
      status = fn(visited[i].thread_id, _tl_item_key(&visited[i].items[j]), visited[i].items[j].value,
                  payload);
    _tl_dict_items_release(visited[i].items, visited[i].n_items);
  }
  g_free(visited);
  return status;
}

/* ---- snapshots ---- */

int
tl_local_snapshot(TlLocal *local, TlValue **out)
{
  TlEntry *entry;
  TlDict empty = {0};
  int status;

  if (out == NULL)
    return _tl_fail(TL_ERR_INVALID_ARGUMENT, "out is NULL");
  *out = NULL;
  if (!local_is_valid(local))
    return fail_invalid_local(local);
  if ((status = entry_for_read(local, &entry)) != TL_OK)
    return status;
  *out = _tl_dict_snapshot(entry != NULL ? &entry->dict : &empty);
  return *out != NULL ? TL_OK : _tl_fail(TL_ERR_NO_MEMORY, "out of memory taking a snapshot");
}

int
tl_local_apply(TlLocal *local, const TlValue *snapshot, int mode)
{
  TlEntry *entry;
  TlDict incoming;
  TlDictItem *replaced_items = NULL;
  guint32 n_replaced = 0, n_new = 0, i;
  gboolean created = FALSE;
  int status;

  if (!local_is_valid(local))
    return fail_invalid_local(local);
  if (!_tl_value_is_valid(snapshot))
    return _tl_fail(TL_ERR_INVALID_ARGUMENT, snapshot == NULL ? "snapshot is NULL" : "snapshot is not a valid TlValue");
  if (mode != TL_APPLY_UPDATE && mode != TL_APPLY_REPLACE)
    return _tl_failf(TL_ERR_INVALID_ARGUMENT, "unknown mode %d", mode);
  if (snapshot->kind != TL_VALUE_VARIANT ||
      !g_variant_is_of_type(_tl_value_variant(snapshot), G_VARIANT_TYPE_VARDICT))
    return _tl_failf(TL_ERR_WRONG_TYPE, "snapshot has type '%s', not 'a{sv}'", tl_value_type(snapshot));

  /* All or nothing: every key copied, every value resolved and every byte of room made before
   * the dictionary changes; from there on nothing can fail. */
  if ((status = _tl_dict_from_snapshot(snapshot, &incoming)) != TL_OK)
    return status;
  if ((status = entry_for_write(local, &entry, &created)) != TL_OK) {
    _tl_dict_free_contents(&incoming);
    return status;
  }
  write_begin(local, entry);
  if (mode == TL_APPLY_REPLACE) {
    _tl_dict_steal(&entry->dict, &replaced_items, &n_replaced);
    _tl_dict_adopt(&entry->dict, &incoming);
  } else {
    for (i = 0; i < incoming.n_items; i++) {
      const TlDictItem *item = &incoming.items[i];
      TlKey k = {_tl_item_key(item), item->key_len, item->hash};

      n_new += item->value != NULL && _tl_dict_find_position(&entry->dict, &k) < 0;
    }
    status = _tl_dict_reserve(&entry->dict, n_new);
    for (i = 0; status == TL_OK && i < incoming.n_items; i++) {
      TlDictItem *item = &incoming.items[i];
      TlKey k = {_tl_item_key(item), item->key_len, item->hash};
      gssize position;

      if (item->value == NULL)
        continue;
      position = _tl_dict_find_position(&entry->dict, &k);
      if (position >= 0)
        item->value = _tl_dict_swap(&entry->dict, position, item->value); /* the old one, to drop */
      else
        _tl_dict_insert_item(&entry->dict, item);
    }
  }
  write_end(local, entry);
  if (status == TL_OK)
    TL_THREAD_CHANGED();
  else if (created) /* out of memory reserving room: as before the call */
    entry_discard(entry);

  /* Only now may destroy functions run: incoming holds the values that were replaced. */
  _tl_dict_items_release(replaced_items, n_replaced);
  _tl_dict_free_contents(&incoming);
  return status;
}

/* ---- named locals ---- */

/* name -> TlLocal (the registry's reference); registry lock. A dictionary used as a plain map whose
 * item values are TlLocal pointers: only its lookup, insert and remove touch it, never a function
 * that takes item values for TlValues. */
static TlDict named_locals;

static inline TlLocal *
named_local_at(gssize position)
{
  return (TlLocal *) (void *) named_locals.items[named_locals.index[position] - 1].value;
}

/* Checks and hashes a name. @return TL_OK or TL_ERR_INVALID_KEY (recorded). */
static int
prepare_name(const char *name, TlKey *out)
{
  if (_tl_key_prepare(name, out) == TL_OK)
    return TL_OK;
  return _tl_fail(TL_ERR_INVALID_KEY, "name is NULL or not valid UTF-8");
}

TlLocal *
tl_local_open(const char *name)
{
  TlLocal *local = NULL;
  TlKey k;
  gssize position;

  if (prepare_name(name, &k) != TL_OK)
    return NULL;
  _tl_fork_release_orphans();
  _tl_registry_lock();
  position = _tl_dict_find_position(&named_locals, &k);
  if (position >= 0) {
    local = named_local_at(position);
  } else if ((local = local_create_locked(TL_LOCAL_DEFAULT, NULL)) != NULL &&
             _tl_dict_insert_new(&named_locals, &k, (TlValue *) (void *) local) != TL_OK) {
    /* Never seen by anyone: undone in place, as if never made. */
    _tl_registry_id_release(local->id);
    TL_STAT_ADD(_tl_stats_locals, -1);
    local_free(local);
    local = NULL;
  }
  if (local != NULL)
    g_atomic_int_inc(&local->refcount); /* the caller's; the registry keeps the first */
  _tl_registry_unlock();
  return local;
}

int
tl_local_unregister(const char *name)
{
  TlValue *removed = NULL;
  TlKey k;
  int status;

  if (prepare_name(name, &k) != TL_OK)
    return TL_ERR_INVALID_KEY;
  _tl_registry_lock();
  status = _tl_dict_remove(&named_locals, &k, &removed);
  _tl_registry_unlock();
  if (status != TL_OK)
    return _tl_failf(TL_ERR_NOT_FOUND, "no local is registered as '%s'", name);
  tl_local_unref((TlLocal *) (void *) removed); /* outside the lock: it may be the last reference */
  return TL_OK;
}
