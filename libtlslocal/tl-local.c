/* TlLocal: lifecycle and access to the calling thread's dictionary.
 * The hot path (an existing dictionary) is: TLS load, bounds check, slots[id], hash lookup in a map
 * only this thread writes. No lock, no atomic read-modify-write. */
#include <string.h>

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

/* The calling thread's entry for local, or NULL. Safe without the lock: only this thread replaces
 * its slots array, and other threads only null a slot whose local has no references left. */
static inline TlEntry *
current_entry(const TlLocal *local)
{
  TlThread *thread = _tl_current_thread;

  if (G_LIKELY(thread != NULL && local->id < thread->n_slots))
    return thread->slots[local->id];
  return NULL;
}

/* Slow path of a first write: make the calling thread's dictionary for local. */
static TlEntry *
entry_create(TlLocal *local)
{
  TlThread *thread = _tl_thread_get_or_create();
  TlEntry *entry = g_try_new0(TlEntry, 1);

  if (entry == NULL) {
    _tl_fail(TL_ERR_NO_MEMORY, "out of memory creating a dictionary");
    return NULL;
  }
  _tl_registry_lock();
  /* Under the lock: other threads write NULL into this array when they destroy a local. */
  if (local->id >= thread->n_slots) {
    guint32 n_slots = MAX(MAX(16u, local->id + 1), thread->n_slots * 2);
    TlEntry **slots = g_try_renew(TlEntry *, thread->slots, n_slots);

    if (slots == NULL) {
      _tl_registry_unlock();
      g_free(entry);
      _tl_fail(TL_ERR_NO_MEMORY, "out of memory growing the thread's slot array");
      return NULL;
    }
    memset(slots + thread->n_slots, 0, (n_slots - thread->n_slots) * sizeof *slots);
    thread->slots = slots;
    thread->n_slots = n_slots;
  }
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
  thread->slots[local->id] = entry;
  TL_STAT_ADD(_tl_stats_dicts, 1);
  _tl_registry_unlock();
  return entry;
}

TlLocal *
tl_local_new(void)
{
  TlLocal *local = g_try_new0(TlLocal, 1);

  if (local == NULL) {
    _tl_fail(TL_ERR_NO_MEMORY, "out of memory creating a local");
    return NULL;
  }
  local->magic = TL_LOCAL_MAGIC;
  local->refcount = 1;
  _tl_registry_lock();
  local->id = _tl_registry_id_acquire();
  _tl_registry_unlock();
  TL_STAT_ADD(_tl_stats_locals, 1);
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

/* Detach every thread's entry under the lock, release the id, then free the dictionaries (which may
 * run destroy functions) without the lock. */
static void
local_destroy(TlLocal *local)
{
  TlEntry *detached = NULL, *entry;

  _tl_registry_lock();
  while ((entry = local->entries) != NULL) {
    _tl_entry_detach(entry);
    entry->local_next = detached;
    detached = entry;
  }
  _tl_registry_id_release(local->id);
  local->magic = TL_LOCAL_DEAD;
  _tl_registry_unlock();
  TL_STAT_ADD(_tl_stats_locals, -1);

  while ((entry = detached) != NULL) {
    detached = entry->local_next;
    _tl_entry_free(entry);
  }
  g_free(local);
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

/* Validates local and key, and finds the calling thread's dictionary (*out_entry NULL if none). */
static inline int
prepare_access(const TlLocal *local, const char *key, TlKey *out_key, TlEntry **out_entry)
{
  if (G_UNLIKELY(!local_is_valid(local)))
    return fail_invalid_local(local);
  if (G_UNLIKELY(_tl_key_prepare(key, out_key) != TL_OK))
    return TL_ERR_INVALID_KEY;
  *out_entry = current_entry(local);
  return TL_OK;
}

int
tl_local_set(TlLocal *local, const char *key, TlValue *value)
{
  TlEntry *entry = NULL;
  TlValue *old;
  TlKey k = {NULL, 0, 0};
  int status = prepare_access(local, key, &k, &entry);

  if (G_UNLIKELY(status != TL_OK))
    return status;
  if (G_UNLIKELY(!_tl_value_is_valid(value)))
    return _tl_fail(TL_ERR_INVALID_ARGUMENT, value == NULL ? "value is NULL" : "value is not a valid TlValue");
  if (G_UNLIKELY(entry == NULL) && (entry = entry_create(local)) == NULL)
    return tl_last_error();
  status = _tl_dict_insert(&entry->dict, &k, value, &old);
  /* Last: dropping the old value may run a destroy function that uses this very dictionary. */
  tl_value_unref(old);
  return status;
}

TlValue *
tl_local_peek(TlLocal *local, const char *key)
{
  TlEntry *entry = NULL;
  TlValue *value;
  TlKey k = {NULL, 0, 0};

  if (G_UNLIKELY(prepare_access(local, key, &k, &entry) != TL_OK))
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
  TlEntry *entry = NULL;
  TlValue *old;
  TlKey k = {NULL, 0, 0};
  int status = prepare_access(local, key, &k, &entry);

  if (G_UNLIKELY(status != TL_OK))
    return status;
  if (entry == NULL)
    return _tl_fail(TL_ERR_NOT_FOUND, "no such key in the calling thread's dictionary");
  status = _tl_dict_remove(&entry->dict, &k, &old);
  tl_value_unref(old);
  return status;
}

int
tl_local_contains(TlLocal *local, const char *key)
{
  TlEntry *entry = NULL;
  TlKey k = {NULL, 0, 0};
  int status = prepare_access(local, key, &k, &entry);

  if (G_UNLIKELY(status != TL_OK))
    return status;
  return entry != NULL && _tl_dict_lookup(&entry->dict, &k) != NULL;
}

int
tl_local_size(TlLocal *local, size_t *out_size)
{
  TlEntry *entry;

  if (!local_is_valid(local))
    return fail_invalid_local(local);
  if (out_size == NULL)
    return _tl_fail(TL_ERR_INVALID_ARGUMENT, "out_size is NULL");
  entry = current_entry(local);
  *out_size = entry != NULL ? entry->dict.n_live : 0;
  return TL_OK;
}

int
tl_local_clear(TlLocal *local)
{
  TlEntry *entry;
  TlDictItem *items;
  guint32 n_items;

  if (!local_is_valid(local))
    return fail_invalid_local(local);
  entry = current_entry(local);
  if (entry == NULL)
    return TL_OK;
  /* Empty the dictionary first, then drop the values: destroy functions may write to it. */
  _tl_dict_steal(&entry->dict, &items, &n_items);
  _tl_dict_items_release(items, n_items);
  return TL_OK;
}

int
tl_local_keys(TlLocal *local, char ***out_keys, size_t *out_n_keys)
{
  TlEntry *entry;
  char **keys;
  guint32 i, n = 0;

  if (out_keys == NULL)
    return _tl_fail(TL_ERR_INVALID_ARGUMENT, "out_keys is NULL");
  *out_keys = NULL;
  if (!local_is_valid(local))
    return fail_invalid_local(local);
  entry = current_entry(local);
  keys = g_try_new(char *, (entry != NULL ? entry->dict.n_live : 0) + 1);
  if (keys == NULL)
    return _tl_fail(TL_ERR_NO_MEMORY, "out of memory listing keys");
  for (i = 0; entry != NULL && i < entry->dict.n_items; i++)
    if (entry->dict.items[i].key != NULL)
      keys[n++] = g_strndup(entry->dict.items[i].key, entry->dict.items[i].key_len);
  keys[n] = NULL;
  *out_keys = keys;
  if (out_n_keys != NULL)
    *out_n_keys = n;
  return TL_OK;
}

int
tl_local_foreach(TlLocal *local, TlForeachFunc fn, void *payload)
{
  TlEntry *entry;
  TlDictItem *snapshot;
  guint32 i, n = 0;
  int status = TL_OK;

  if (!local_is_valid(local))
    return fail_invalid_local(local);
  if (fn == NULL)
    return _tl_fail(TL_ERR_INVALID_ARGUMENT, "fn is NULL");
  entry = current_entry(local);
  if (entry == NULL || entry->dict.n_live == 0)
    return TL_OK;
  /* A snapshot of owned keys and value references, so fn may change the dictionary freely. */
  snapshot = g_try_new(TlDictItem, entry->dict.n_live);
  if (snapshot == NULL)
    return _tl_fail(TL_ERR_NO_MEMORY, "out of memory walking a dictionary");
  for (i = 0; i < entry->dict.n_items; i++) {
    TlDictItem *item = &entry->dict.items[i];
    if (item->key == NULL)
      continue;
    snapshot[n] = *item;
    snapshot[n].key = g_strndup(item->key, item->key_len);
    tl_value_ref(item->value);
    n++;
  }
  for (i = 0; i < n && status == TL_OK; i++)
    status = fn(snapshot[i].key, snapshot[i].value, payload);
  _tl_dict_items_release(snapshot, n);
  return status;
}
