/* The per-thread dictionary: string key -> TlValue reference. See tl-private.h for the layout. */
#include <string.h>

#include "tl-private.h"

#define TL_DICT_MIN_INDEX 8
#define TL_DICT_MIN_GROWTH 2

gboolean
_tl_item_set_key(TlDictItem *item, const char *str, guint32 len)
{
  char *copy = item->key.inline_bytes;

  if (len >= TL_DICT_INLINE_KEY) {
    copy = g_try_malloc((gsize) len + 1);
    if (copy == NULL)
      return FALSE;
    item->key.heap = copy;
  }
  memcpy(copy, str, len);
  copy[len] = '\0';
  item->key_len = len;
  return TRUE;
}

/* The index size for capacity items: a power of two at least twice the capacity, so linear probing
 * averages under 1.5 probes, and eight times it while that stays within 4096 slots (16 KiB). Small
 * dictionaries, the usual ones, then find nearly every key at its first probe, and a lookup's cost
 * (its branches mispredicted on second probes) stays flat from 1 to 64 keys: callgrind counts 0.32
 * mispredicts per peek of 64 keys at twice the capacity, 0.07 at four times, none at eight. The
 * first item array holds TL_DICT_MIN_GROWTH items, so a one-key dictionary's index is 16 slots. */
static guint32
index_size_for(guint32 capacity)
{
  guint64 size = TL_DICT_MIN_INDEX;

  while (size < (guint64) capacity * 8 && size < 4096)
    size *= 2;
  while (size / 2 < capacity)
    size *= 2;
  return (guint32) size;
}

/* Room for one more item. The item array grows by a quarter (at least TL_DICT_MIN_GROWTH), or is
 * compacted when a quarter of it is deleted items; the index (index_size_for) is rebuilt only when
 * it must grow or positions moved. A quarter, not the usual double: a dictionary stays within
 * ~1.25 items' room per key (docs/performance.md measures bytes per entry), and growth without
 * compaction only copies the items, whose positions stay. */
static int
make_room(TlDict *dict)
{
  guint32 n_deleted = dict->n_items - dict->n_live, index_size = dict->index_mask + 1;
  gboolean compact = n_deleted > 0 && n_deleted >= dict->n_items / 4;
  guint32 base = compact ? dict->n_live : dict->n_items;
  guint32 capacity = base + MAX(base / 4, TL_DICT_MIN_GROWTH), i, n = 0;
  guint32 wanted_index_size = index_size_for(capacity);
  gboolean reindex = compact || dict->index == NULL || wanted_index_size > index_size;
  guint32 *index = NULL;
  TlDictItem *items;

  if (capacity < base)
    return _tl_fail(TL_ERR_NO_MEMORY, "a dictionary cannot hold more keys");
  if (reindex) {
    index_size = wanted_index_size;
    index = g_try_new0(guint32, index_size);
  }
  items = g_try_new(TlDictItem, capacity);
  if (items == NULL || (reindex && index == NULL)) {
    g_free(index);
    g_free(items);
    return _tl_fail(TL_ERR_NO_MEMORY, "out of memory growing a dictionary");
  }
  if (compact) {
    for (i = 0; i < dict->n_items; i++)
      if (dict->items[i].value != NULL)
        items[n++] = dict->items[i];
  } else if (dict->n_items > 0) {
    memcpy(items, dict->items, dict->n_items * sizeof *items);
    n = dict->n_items;
  }
  for (i = 0; reindex && i < n; i++) {
    guint32 position;

    if (items[i].value == NULL) /* a deleted item kept by growth without compaction */
      continue;
    for (position = items[i].hash & (index_size - 1); index[position] != 0;
         position = (position + 1) & (index_size - 1))
      ;
    index[position] = i + 1;
  }
  /* A fork() child frees the dictionaries of threads caught mid-write, walking items[0, n_items):
   * shrink the count first (n never exceeds it: compaction only drops deleted items), publish the
   * new arrays, and free the old ones last. At worst the child leaks; it never reads freed memory. */
  TlDictItem *old_items = dict->items;
  guint32 *old_index = reindex ? dict->index : NULL;
  dict->n_items = n;
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  dict->items = items;
  dict->items_capacity = capacity;
  if (reindex) {
    dict->index = index;
    dict->index_mask = index_size - 1;
  }
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

  if (dict->n_items == dict->items_capacity) {
    int status = make_room(dict);
    if (status != TL_OK)
      return status;
  }
  item = &dict->items[dict->n_items]; /* not counted yet: a fork() child would not see it */
  if (!_tl_item_set_key(item, key->str, key->len))
    return _tl_fail(TL_ERR_NO_MEMORY, "out of memory copying a key");

  /* Reuse the first tombstone on the probe path, if any, so deletes do not lengthen probes. */
  for (position = key->hash & dict->index_mask;
       dict->index[position] != 0 && dict->index[position] != TL_DICT_DELETED;
       position = (position + 1) & dict->index_mask)
    ;
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
  char *heap_key;

  *out_old = NULL;
  if (position < 0)
    return _tl_fail(TL_ERR_NOT_FOUND, "no such key in the calling thread's dictionary");
  item = &dict->items[dict->index[position] - 1];
  *out_old = item->value;
  heap_key = item->key_len >= TL_DICT_INLINE_KEY ? item->key.heap : NULL;
  item->value = NULL;
  item->key_len = 0; /* an empty inline key: nothing left to free */
  dict->index[position] = TL_DICT_DELETED;
  dict->n_live--;
  /* Free only once the dictionary no longer points at it: a fork() child frees the dictionaries of
   * threads caught mid-write, and must never find a freed key still linked. */
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  g_free(heap_key);
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
    _tl_item_free_key(&items[i]);
    if (items[i].value != NULL)
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

    if (item->value == NULL)
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
    pairs[n_pairs++] = g_variant_new_dict_entry(g_variant_new_string(_tl_item_key(item)), boxed);
  }
  TlValue *snapshot = _tl_value_take_variant(
      g_variant_new_array(G_VARIANT_TYPE("{sv}"), pairs, n_pairs), handles, n_handles);
  g_free(pairs);
  return snapshot;
}
