/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The per-thread dictionary: string key -> TlValue reference. See tl-dict-private.h for the
 * layout. */
#include <string.h>

#include "tl-dict-private.h"
#include "tl-error-private.h"
#include "tl-memory-private.h"
#include "tl-value-private.h"

#define TL_DICT_MIN_INDEX 8
#define TL_DICT_MIN_GROWTH 2

/* Gives item a copy of the len bytes at str (plus a NUL), inline or allocated. FALSE (nothing
 * recorded) if out of memory. */
static gboolean
item_set_key(TlDictItem *item, const char *str, guint32 len)
{
  char *copy = item->key.inline_bytes;

  if (len >= TL_DICT_INLINE_KEY) {
    copy = malloc((size_t) len + 1);
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

/* Room for n_more items. The item array grows by a quarter (at least TL_DICT_MIN_GROWTH), or is
 * compacted when a quarter of it is deleted items; the index (index_size_for) is rebuilt only when
 * it must grow or positions moved. A quarter, not the usual double: a dictionary stays within
 * ~1.25 items' room per key (docs/performance.md measures bytes per entry), and growth without
 * compaction only copies the items, whose positions stay. On failure the dictionary is
 * unchanged. */
static int
make_room(TlDict *dict, guint32 n_more)
{
  guint32 n_deleted = dict->n_items - dict->n_live, index_size = dict->index_mask + 1;
  gboolean compact = n_deleted > 0 && n_deleted >= dict->n_items / 4;
  guint32 base = compact ? dict->n_live : dict->n_items;
  guint64 wanted = (guint64) base + MAX(MAX(base / 4, TL_DICT_MIN_GROWTH), n_more);
  guint32 capacity = (guint32) wanted, i, n = 0, wanted_index_size;
  gboolean reindex;
  guint32 *index = NULL, *old_index;
  TlDictItem *old_items;
  TlDictItem *items;

  /* The index holds positions + 1 in 32 bits, and is at least twice the capacity. */
  if (wanted > G_MAXUINT32 / 4)
    return _tl_fail(TL_ERR_NO_MEMORY, "a dictionary cannot hold more keys");
  wanted_index_size = index_size_for(capacity);
  reindex = compact || dict->index == NULL || wanted_index_size > index_size;
  if (reindex) {
    index_size = wanted_index_size;
    index = _tl_new0(guint32, index_size);
  }
  items = _tl_new(TlDictItem, capacity);
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
   * new arrays, and free the old ones last. At worst the child leaks; it never reads freed
   * memory. */
  old_items = dict->items;
  old_index = reindex ? dict->index : NULL;
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

/* Counts the item written whole at items[n_items] (room made) and links it into the index. */
static void
publish_new_item(TlDict *dict)
{
  guint32 position, hash = dict->items[dict->n_items].hash;

  /* Reuse the first tombstone on the probe path, if any, so deletes do not lengthen probes. */
  for (position = hash & dict->index_mask;
       dict->index[position] != 0 && dict->index[position] != TL_DICT_DELETED;
       position = (position + 1) & dict->index_mask)
    ;
  /* The item is whole before a fork() child may count it. */
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  dict->index[position] = ++dict->n_items;
  dict->n_live++;
}

int
_tl_dict_insert_new(TlDict *dict, const TlKey *key, TlValue *value)
{
  TlDictItem *item;

  if (dict->n_items == dict->items_capacity) {
    int status = make_room(dict, 1);
    if (status != TL_OK)
      return status;
  }
  item = &dict->items[dict->n_items]; /* not counted yet: a fork() child would not see it */
  if (!item_set_key(item, key->str, key->len))
    return _tl_fail(TL_ERR_NO_MEMORY, "out of memory copying a key");
  item->hash = key->hash;
  item->value = value;
  publish_new_item(dict);
  return TL_OK;
}

int
_tl_dict_reserve(TlDict *dict, guint32 n_more)
{
  if (n_more <= dict->items_capacity - dict->n_items)
    return TL_OK;
  return make_room(dict, n_more);
}

void
_tl_dict_insert_item(TlDict *dict, TlDictItem *item)
{
  dict->items[dict->n_items] = *item;
  publish_new_item(dict);
  item->value = NULL; /* moved: an empty inline key, nothing left to free */
  item->key_len = 0;
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

void
_tl_dict_free_borrowed(TlDict *dict)
{
  guint32 i;

  for (i = 0; i < dict->n_items; i++)
    _tl_item_free_key(&dict->items[i]);
  g_free(dict->items);
  g_free(dict->index);
  memset(dict, 0, sizeof *dict);
}

void
_tl_dict_adopt(TlDict *dict, TlDict *from)
{
  guint32 n_items = from->n_items, n_live = from->n_live;

  /* Counted last, for a fork() child that frees the dictionaries of threads caught mid-write. */
  dict->items = from->items;
  dict->index = from->index;
  dict->items_capacity = from->items_capacity;
  dict->index_mask = from->index_mask;
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  dict->n_items = n_items;
  dict->n_live = n_live;
  memset(from, 0, sizeof *from);
}

/* Owned copies of the items of dict (keys duplicated, values referenced), or of its item for key
 * alone when key is not NULL (none if absent). @return TL_OK or TL_ERR_NO_MEMORY (recorded). */
int
_tl_dict_copy_items(const TlDict *dict, const TlKey *key, TlDictItem **out_items, guint32 *out_n)
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
      /* The items before i are whole copies, the rest own nothing. */
      _tl_dict_items_release(copy, i);
      return _tl_fail(TL_ERR_NO_MEMORY, "out of memory copying a dictionary");
    }
    _tl_value_ref_valid(copy[i].value);
  }
  *out_items = copy;
  *out_n = n;
  return TL_OK;
}
