/* The per-thread dictionary: string key -> TlValue reference. See tl-private.h for the layout. */
#include <string.h>

#include "tl-private.h"

#define TL_DICT_MIN_INDEX 8

/* Rebuild index and items with room for at least twice the live items, dropping deleted ones. */
static int
resize(TlDict *dict)
{
  guint32 index_size = TL_DICT_MIN_INDEX, capacity, i, n = 0;
  guint32 *index;
  TlDictItem *items;

  while (index_size / 3 * 2 < dict->n_live * 2 + 1)
    index_size *= 2;
  capacity = index_size / 3 * 2;

  index = g_try_new0(guint32, index_size);
  items = g_try_new(TlDictItem, capacity);
  if (index == NULL || items == NULL) {
    g_free(index);
    g_free(items);
    return _tl_fail(TL_ERR_NO_MEMORY, "out of memory growing a dictionary");
  }
  for (i = 0; i < dict->n_items; i++) {
    guint32 position;

    if (dict->items[i].key == NULL)
      continue;
    items[n] = dict->items[i];
    for (position = items[n].hash & (index_size - 1); index[position] != 0;
         position = (position + 1) & (index_size - 1))
      ;
    index[position] = ++n;
  }
  /* A fork() child frees the dictionaries of threads caught mid-write, walking items[0, n_items):
   * shrink the count first (n never exceeds it: resizing only drops deleted items), publish the new
   * arrays, and free the old ones last. At worst the child leaks; it never reads freed memory. */
  TlDictItem *old_items = dict->items;
  guint32 *old_index = dict->index;
  dict->n_items = n;
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  dict->items = items;
  dict->index = index;
  dict->items_capacity = capacity;
  dict->index_mask = index_size - 1;
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  g_free(old_items);
  g_free(old_index);
  return TL_OK;
}

int
_tl_dict_insert(TlDict *dict, const TlKey *key, TlValue *value, TlValue **out_old)
{
  gssize found = _tl_dict_find_position(dict, key);

  if (found >= 0) {
    *out_old = _tl_dict_swap(dict, found, value);
    return TL_OK;
  }
  *out_old = NULL;
  return _tl_dict_insert_new(dict, key, value);
}

int
_tl_dict_insert_new(TlDict *dict, const TlKey *key, TlValue *value)
{
  guint32 position;
  TlDictItem *item;
  char *key_copy;

  if (dict->n_items == dict->items_capacity) {
    int status = resize(dict);
    if (status != TL_OK)
      return status;
  }
  key_copy = g_try_malloc(key->len + 1);
  if (key_copy == NULL)
    return _tl_fail(TL_ERR_NO_MEMORY, "out of memory copying a key");
  memcpy(key_copy, key->str, key->len + 1);

  /* Reuse the first tombstone on the probe path, if any, so deletes do not lengthen probes. */
  for (position = key->hash & dict->index_mask;
       dict->index[position] != 0 && dict->index[position] != TL_DICT_DELETED;
       position = (position + 1) & dict->index_mask)
    ;
  item = &dict->items[dict->n_items];
  item->key = key_copy;
  item->key_len = key->len;
  item->hash = key->hash;
  item->value = value;
  __atomic_signal_fence(__ATOMIC_SEQ_CST); /* the item is whole before a fork() child may count it */
  dict->index[position] = ++dict->n_items;
  dict->n_live++;
  return TL_OK;
}

int
_tl_dict_remove(TlDict *dict, const TlKey *key, TlValue **out_old)
{
  gssize position = _tl_dict_find_position(dict, key);
  TlDictItem *item;
  char *key_copy;

  *out_old = NULL;
  if (position < 0)
    return _tl_fail(TL_ERR_NOT_FOUND, "no such key in the calling thread's dictionary");
  item = &dict->items[dict->index[position] - 1];
  *out_old = item->value;
  key_copy = item->key;
  item->key = NULL;
  item->value = NULL;
  dict->index[position] = TL_DICT_DELETED;
  dict->n_live--;
  /* Free only once the dictionary no longer points at it: a fork() child frees the dictionaries of
   * threads caught mid-write, and must never find a freed key still linked. */
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  g_free(key_copy);
  return TL_OK;
}

void
_tl_dict_steal(TlDict *dict, TlDictItem **out_items, guint32 *out_n_items)
{
  guint32 *index = dict->index;

  *out_items = dict->items;
  *out_n_items = dict->n_items;
  memset(dict, 0, sizeof *dict);
  __atomic_signal_fence(__ATOMIC_SEQ_CST); /* emptied before freed, for a fork() child */
  g_free(index);
}

void
_tl_dict_items_release(TlDictItem *items, guint32 n_items)
{
  guint32 i;

  for (i = 0; i < n_items; i++) {
    if (items[i].key == NULL)
      continue;
    g_free(items[i].key);
    tl_value_unref(items[i].value);
  }
  g_free(items);
}

void
_tl_dict_free_contents(TlDict *dict)
{
  TlDictItem *items;
  guint32 n_items;

  _tl_dict_steal(dict, &items, &n_items);
  _tl_dict_items_release(items, n_items);
}

TlValue *
_tl_dict_snapshot(const TlDict *dict)
{
  GVariant **pairs = g_new(GVariant *, dict->n_live + 1);
  TlValue **handles = NULL;
  guint32 i, n_pairs = 0, n_handles = 0;

  for (i = 0; i < dict->n_items; i++) {
    const TlDictItem *item = &dict->items[i];
    GVariant *boxed;

    if (item->key == NULL)
      continue;
    /* Pointer values, snapshots that carry some, and "h" values (which would otherwise be mistaken
     * for handles) travel by reference beside the variant. */
    if (item->value->kind == TL_VALUE_POINTER || item->value->handles != NULL ||
        item->value->scalar_type == 'h') {
      if (handles == NULL)
        handles = g_new(TlValue *, dict->n_live);
      handles[n_handles] = tl_value_ref(item->value);
      boxed = g_variant_new_variant(g_variant_new_handle((gint32) n_handles++));
    } else {
      boxed = g_variant_new_variant(_tl_value_variant(item->value));
    }
    pairs[n_pairs++] = g_variant_new_dict_entry(g_variant_new_string(item->key), boxed);
  }
  TlValue *snapshot = _tl_value_take_variant(
      g_variant_new_array(G_VARIANT_TYPE("{sv}"), pairs, n_pairs), handles, n_handles);
  g_free(pairs);
  return snapshot;
}
