/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Access to the calling thread's dictionary of a local: set, get, delete, contains, size, clear,
 * keys, foreach.
 * The hot path (an existing dictionary) is: TLS load, bounds check, slots[id], hash lookup in a map
 * only this thread writes. No lock, no atomic read-modify-write (a TL_LOCAL_VISITABLE local's
 * writes add one uncontended lock of the dictionary's own). */
#include "tl-dict-private.h"
#include "tl-error-private.h"
#include "tl-local-private.h"
#include "tl-memory-private.h"
#include "tl-quark-private.h"
#include "tl-thread-private.h"
#include "tl-value-private.h"

/* Validates local and key. */
static inline int
check_access(const TlLocal *local, const char *key, TlKey *out_key)
{
  if (G_UNLIKELY(!_tl_local_is_valid(local)))
    return _tl_local_fail_invalid(local);
  if (G_UNLIKELY(_tl_key_prepare(key, out_key) != TL_OK))
    return TL_ERR_INVALID_KEY;
  return TL_OK;
}

/* Validates local and quark: *out_key is the quark's key, prepared when it was interned. */
static TL_ALWAYS_INLINE int
check_access_quark(const TlLocal *local, TlQuark quark, const TlKey **out_key)
{
  if (G_UNLIKELY(!_tl_local_is_valid(local)))
    return _tl_local_fail_invalid(local);
  if (G_UNLIKELY((*out_key = _tl_quark_key(quark)) == NULL))
    return _tl_fail(TL_ERR_INVALID_KEY, "not a quark of this process");
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

/* The one store path, after the checks of local and key (status: their outcome; k: the key if
 * TL_OK). owned: value is a reference the caller hands over (released on failure). */
static int
store(TlLocal *local, int status, const TlKey *k, TlValue *value, gboolean owned)
{
  TlEntry *entry;
  TlValue *old = NULL;
  gssize position;
  gboolean created = FALSE;

  if (G_LIKELY(status == TL_OK) && G_UNLIKELY(!_tl_value_is_valid(value)))
    status = _tl_fail(TL_ERR_INVALID_ARGUMENT,
                      value == NULL ? "value is NULL" : "value is not a valid TlValue");
  if (G_LIKELY(status == TL_OK))
    status = _tl_entry_for_write(local, &entry, &created);
  if (G_UNLIKELY(status != TL_OK)) {
    if (owned && _tl_value_is_valid(value))
      unref_keeping_error(value);
    return status;
  }
  if (!owned)
    _tl_value_ref_valid(value);
  /* The owner is the dictionary's only writer: no need to lock for the search. */
  position = _tl_dict_find_position(&entry->dict, k);
  _tl_entry_write_begin(local, entry);
  if (G_LIKELY(position >= 0))
    old = _tl_dict_swap(&entry->dict, position, value); /* an existing key: the usual case */
  else
    status = _tl_dict_insert_new(&entry->dict, k, value);
  _tl_entry_write_end(local, entry);
  TL_THREAD_CHANGED();
  if (G_UNLIKELY(status != TL_OK)) { /* out of memory: as before the call */
    if (created)
      _tl_entry_discard(entry);
    unref_keeping_error(value);
  }
  /* Last: dropping the old value may run a destroy function that uses this very dictionary. */
  if (old != NULL)
    _tl_value_unref_valid(old);
  return status;
}

/* store() of a string key. */
static inline int
store_string(TlLocal *local, const char *key, TlValue *value, gboolean owned)
{
  TlKey k = {NULL, 0, 0};
  int status = check_access(local, key, &k);

  return store(local, status, &k, value, owned);
}

int
tl_local_set(TlLocal *local, const char *key, TlValue *value)
{
  return store_string(local, key, value, FALSE);
}

int
tl_local_set_take(TlLocal *local, const char *key, TlValue *value)
{
  return store_string(local, key, value, TRUE);
}

int
tl_local_set_quark(TlLocal *local, TlQuark key, TlValue *value)
{
  const TlKey *k = NULL;
  int status = check_access_quark(local, key, &k);

  return store(local, status, k, value, FALSE);
}

/* Stores a value a constructor just made, keeping the constructor's own status if it failed (out
 * of memory; a NULL or non-UTF-8 string) rather than "value is NULL". */
static inline int
store_made(TlLocal *local, const char *key, TlValue *made)
{
  return G_LIKELY(made != NULL) ? store_string(local, key, made, TRUE) : tl_last_error();
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

/* The one read path, after the checks of local and key. */
static TL_ALWAYS_INLINE TlValue *
peek(TlLocal *local, const TlKey *k)
{
  TlEntry *entry;
  TlValue *value;

  if (G_UNLIKELY(_tl_entry_for_read(local, &entry) != TL_OK))
    return NULL;
  if (G_UNLIKELY(entry == NULL || (value = _tl_dict_lookup(&entry->dict, k)) == NULL)) {
    _tl_fail(TL_ERR_NOT_FOUND, "no such key in the calling thread's dictionary");
    return NULL;
  }
  return value;
}

TlValue *
tl_local_peek(TlLocal *local, const char *key)
{
  TlKey k = {NULL, 0, 0};

  return G_LIKELY(check_access(local, key, &k) == TL_OK) ? peek(local, &k) : NULL;
}

/* A read by quark that the cache could not answer: looked up, and remembered if found. */
static G_GNUC_NO_INLINE TlValue *
peek_quark_uncached(TlLocal *local, TlQuark key)
{
  const TlKey *k;
  TlValue *value;
  TlThread *thread;

  if (G_UNLIKELY(check_access_quark(local, key, &k) != TL_OK) || (value = peek(local, k)) == NULL)
    return NULL;
  if (G_LIKELY((thread = _tl_current_thread) != NULL)) { /* NULL: an initializer-less miss */
    TlQuarkCacheSlot *slot = _tl_quark_cache_slot(thread, local, key);

    slot->local = local;
    slot->quark = key;
    slot->value = value;
    slot->stamp = _tl_quark_cache_stamp();
  }
  return value;
}

TlValue *
tl_local_peek_quark(TlLocal *local, TlQuark key)
{
  TlThread *thread = _tl_current_thread;

  /* A slot holds only a valid quark's value: matching it checks the quark too. */
  if (G_LIKELY(thread != NULL && _tl_local_is_valid(local))) {
    const TlQuarkCacheSlot *slot = _tl_quark_cache_slot(thread, local, key);

    if (G_LIKELY(slot->local == local && slot->quark == key &&
                 slot->stamp == _tl_quark_cache_stamp()))
      return slot->value;
  }
  return peek_quark_uncached(local, key);
}

/* A new reference to what peek found (value), or the failure it recorded. */
static inline int
get_result(TlValue *value, TlValue **out)
{
  *out = value != NULL ? tl_value_ref(value) : NULL;
  return value != NULL ? TL_OK : tl_last_error();
}

int
tl_local_get(TlLocal *local, const char *key, TlValue **out)
{
  if (G_UNLIKELY(out == NULL))
    return _tl_fail(TL_ERR_INVALID_ARGUMENT, "out is NULL");
  return get_result(tl_local_peek(local, key), out);
}

int
tl_local_get_quark(TlLocal *local, TlQuark key, TlValue **out)
{
  if (G_UNLIKELY(out == NULL))
    return _tl_fail(TL_ERR_INVALID_ARGUMENT, "out is NULL");
  return get_result(tl_local_peek_quark(local, key), out);
}

/* The one delete path, after the checks of local and key. */
static int
delete_key(TlLocal *local, int status, const TlKey *k)
{
  TlEntry *entry;
  TlValue *old = NULL;

  if (G_UNLIKELY(status != TL_OK) || (status = _tl_entry_for_read(local, &entry)) != TL_OK)
    return status;
  if (entry == NULL)
    return _tl_fail(TL_ERR_NOT_FOUND, "no such key in the calling thread's dictionary");
  _tl_entry_write_begin(local, entry);
  status = _tl_dict_remove(&entry->dict, k, &old);
  _tl_entry_write_end(local, entry);
  TL_THREAD_CHANGED();
  tl_value_unref(old);
  return status;
}

int
tl_local_delete(TlLocal *local, const char *key)
{
  TlKey k = {NULL, 0, 0};
  int status = check_access(local, key, &k);

  return delete_key(local, status, &k);
}

int
tl_local_delete_quark(TlLocal *local, TlQuark key)
{
  const TlKey *k = NULL;
  int status = check_access_quark(local, key, &k);

  return delete_key(local, status, k);
}

int
tl_local_contains(TlLocal *local, const char *key)
{
  TlEntry *entry;
  TlKey k = {NULL, 0, 0};
  int status = check_access(local, key, &k);

  if (G_UNLIKELY(status != TL_OK) || (status = _tl_entry_for_read(local, &entry)) != TL_OK)
    return status;
  return entry != NULL && _tl_dict_lookup(&entry->dict, &k) != NULL;
}

int
tl_local_size(TlLocal *local, size_t *out_size)
{
  TlEntry *entry;
  int status;

  if (!_tl_local_is_valid(local))
    return _tl_local_fail_invalid(local);
  if (out_size == NULL)
    return _tl_fail(TL_ERR_INVALID_ARGUMENT, "out_size is NULL");
  if ((status = _tl_entry_for_read(local, &entry)) != TL_OK)
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

  if (!_tl_local_is_valid(local))
    return _tl_local_fail_invalid(local);
  if ((status = _tl_entry_for_read(local, &entry)) != TL_OK || entry == NULL)
    return status;
  /* Empty the dictionary first, then drop the values: destroy functions may write to it. */
  _tl_entry_write_begin(local, entry);
  _tl_dict_steal(&entry->dict, &items, &n_items);
  _tl_entry_write_end(local, entry);
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
  if (!_tl_local_is_valid(local))
    return _tl_local_fail_invalid(local);
  if ((status = _tl_entry_for_read(local, &entry)) != TL_OK)
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

int
tl_local_foreach(TlLocal *local, TlForeachFunc fn, void *payload)
{
  TlEntry *entry;
  TlDictItem *snapshot;
  guint32 i, n;
  int status;

  if (!_tl_local_is_valid(local))
    return _tl_local_fail_invalid(local);
  if (fn == NULL)
    return _tl_fail(TL_ERR_INVALID_ARGUMENT, "fn is NULL");
  if ((status = _tl_entry_for_read(local, &entry)) != TL_OK || entry == NULL)
    return status;
  /* Over owned copies, so fn may change the dictionary freely. */
  if ((status = _tl_dict_copy_items(&entry->dict, NULL, &snapshot, &n)) != TL_OK)
    return status;
  for (i = 0; i < n && status == TL_OK; i++)
    status = fn(_tl_item_key(&snapshot[i]), snapshot[i].value, payload);
  _tl_dict_items_release(snapshot, n);
  return status;
}
