/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Snapshots: a dictionary as one immutable "a{sv}" value, its pointer values carried beside it,
 * and back (tl_local_apply). */
#include "tl-dict-private.h"
#include "tl-error-private.h"
#include "tl-local-private.h"
#include "tl-memory-private.h"
#include "tl-snapshot-private.h"
#include "tl-thread-private.h"
#include "tl-value-private.h"

/* Whether value travels beside a snapshot's variant, by reference, rather than inside it: pointer
 * values, snapshots that carry some, "h" values (which would otherwise be mistaken for handles),
 * and values too deep to sit three levels further down (array, dict entry, variant). */
static gboolean
travels_by_reference(const TlValue *value)
{
  return value->kind == TL_VALUE_POINTER || value->handles != NULL || value->scalar_type == 'h' ||
         _tl_value_depth(value) + 3 > TL_VALUE_MAX_DEPTH;
}

TlValue *
_tl_snapshot_new(const TlDict *dict)
{
  GVariant **pairs = _tl_new(GVariant *, dict->n_live);
  TlValue **handles = NULL, *snapshot;
  guint32 i, n_pairs = 0, n_handles = 0;
  guint deepest = 0;

  /* Every array is allocated before the first GVariant is made, so failing leaves none behind. */
  for (i = 0; i < dict->n_items; i++)
    if (dict->items[i].value != NULL && travels_by_reference(dict->items[i].value))
      n_handles++;
  if (n_handles > 0)
    handles = _tl_new(TlValue *, n_handles);
  if (pairs == NULL || (n_handles > 0 && handles == NULL)) {
    g_free(pairs);
    g_free(handles);
    _tl_fail(TL_ERR_NO_MEMORY, "out of memory taking a snapshot");
    return NULL;
  }
  n_handles = 0;
  for (i = 0; i < dict->n_items; i++) {
    const TlDictItem *item = &dict->items[i];
    GVariant *boxed;

    if (item->value == NULL)
      continue;
    if (travels_by_reference(item->value)) {
      handles[n_handles] = tl_value_ref(item->value);
      boxed = g_variant_new_variant(g_variant_new_handle((gint32) n_handles++));
    } else {
      guint depth = _tl_value_depth(item->value);

      deepest = MAX(deepest, depth);
      boxed = g_variant_new_variant(_tl_value_variant(item->value));
    }
    pairs[n_pairs++] = g_variant_new_dict_entry(g_variant_new_string(_tl_item_key(item)), boxed);
  }
  snapshot = _tl_value_take_variant(g_variant_new_array(G_VARIANT_TYPE("{sv}"), pairs, n_pairs),
                                    handles, n_handles, n_pairs > 0 ? deepest + 3 : 2);
  g_free(pairs);
  return snapshot;
}

/* Fills out, an empty dictionary, with snapshot's keys and (new references to) its values; a key
 * given twice (parsed text) keeps its last value. snapshot is a valid "a{sv}".
 * @return TL_OK; TL_ERR_INVALID_ARGUMENT for a handle the snapshot does not carry;
 * TL_ERR_NO_MEMORY. On error out is left empty. */
static int
snapshot_read(const TlValue *snapshot, TlDict *out)
{
  GVariant *variant = _tl_value_variant(snapshot);
  gsize n_pairs = g_variant_n_children(variant), i;
  int status = TL_OK;

  memset(out, 0, sizeof *out);
  for (i = 0; i < n_pairs && status == TL_OK; i++) {
    GVariant *pair = g_variant_get_child_value(variant, i);
    GVariant *key = g_variant_get_child_value(pair, 0), *boxed = g_variant_get_child_value(pair, 1);
    TlValue *value = NULL, *replaced = NULL;
    TlKey k;

    /* A GVariant string has no NUL. */
    status = _tl_key_prepare(g_variant_get_string(key, NULL), &k);
    if (status == TL_OK &&
        (value = _tl_snapshot_resolve_child(snapshot, g_variant_get_variant(boxed))) == NULL)
      status = tl_last_error();
    if (status == TL_OK && (status = _tl_dict_insert(out, &k, value, &replaced)) != TL_OK)
      tl_value_unref(value);
    tl_value_unref(replaced); /* a key given twice (parsed text) keeps its last value */
    g_variant_unref(key);
    g_variant_unref(boxed);
    g_variant_unref(pair);
  }
  if (status != TL_OK)
    _tl_dict_free_contents(out);
  return status;
}

TlValue *
_tl_snapshot_resolve_child(const TlValue *snapshot, GVariant *child)
{
  if (snapshot->handles != NULL && g_variant_is_of_type(child, G_VARIANT_TYPE_HANDLE)) {
    gint32 handle = g_variant_get_handle(child);

    g_variant_unref(child);
    if (handle >= 0 && (guint32) handle < snapshot->n_handles)
      return tl_value_ref(snapshot->handles[handle]);
  } else if (g_variant_is_of_type(child, G_VARIANT_TYPE_HANDLE)) {
    g_variant_unref(child); /* a bare <handle N> (parsed text) names nothing */
  } else {
    return _tl_value_take_variant(child, NULL, 0, TL_DEPTH_UNKNOWN);
  }
  _tl_fail(TL_ERR_INVALID_ARGUMENT, "the snapshot refers to a pointer value (handle) that it does "
                                    "not carry");
  return NULL;
}

/* The handle a snapshot's boxed value names, or -1: variant holds a "h" (within the snapshot's
 * carried values) where the snapshot format puts a value carried by reference. */
static gint32
named_handle(const TlValue *snapshot, GVariant *variant)
{
  GVariant *content = g_variant_get_variant(variant);
  gint32 handle =
      g_variant_is_of_type(content, G_VARIANT_TYPE_HANDLE) ? g_variant_get_handle(content) : -1;

  g_variant_unref(content);
  return handle >= 0 && (guint32) handle < snapshot->n_handles ? handle : -1;
}

/* Child of a value that carries values (taking over child's reference). Only the snapshot code
 * makes such values, so parent is a snapshot ("a{sv}"), one of its dict entries or that entry's
 * variant. A part that names a carried value keeps that value, and only it, renumbered 0, so a walk
 * by tl_value_get_child() ends at the very value tl_value_lookup() gives, and parts compare equal
 * by what they name; every other part is a plain value ("h" values deeper inside a boxed container
 * are data, not references). NULL if out of memory. */
TlValue *
_tl_snapshot_part(const TlValue *parent, GVariant *child)
{
  const char *type = g_variant_get_type_string(child);
  GVariant *part = NULL;
  TlValue **carried;
  gint32 handle = -1;

  if (g_variant_is_of_type(_tl_value_variant(parent), G_VARIANT_TYPE_VARIANT))
    return _tl_snapshot_resolve_child(parent, child); /* <handle 0> itself: the value */
  if (strcmp(type, "{sv}") == 0) {
    /* An entry of the snapshot. */
    GVariant *key = g_variant_get_child_value(child, 0),
             *boxed = g_variant_get_child_value(child, 1);

    if ((handle = named_handle(parent, boxed)) >= 0)
      part = g_variant_ref_sink(
          g_variant_new_dict_entry(key, g_variant_new_variant(g_variant_new_handle(0))));
    g_variant_unref(key);
    g_variant_unref(boxed);
  } else if (strcmp(type, "v") == 0 && (handle = named_handle(parent, child)) >= 0) {
    part = g_variant_ref(child); /* the entry's variant, <handle 0> already */
  }
  if (handle < 0)
    return _tl_value_take_variant(child, NULL, 0, TL_DEPTH_UNKNOWN);
  g_variant_unref(child);
  carried = _tl_new(TlValue *, 1);
  if (carried == NULL) {
    g_variant_unref(part);
    _tl_fail(TL_ERR_NO_MEMORY, "out of memory making a value");
    return NULL;
  }
  carried[0] = tl_value_ref(parent->handles[handle]);
  return _tl_value_take_variant(part, carried, 1, TL_DEPTH_UNKNOWN);
}

int
tl_local_snapshot(TlLocal *local, TlValue **out)
{
  TlEntry *entry;
  TlDict empty = {0};
  int status;

  if (out == NULL)
    return _tl_fail(TL_ERR_INVALID_ARGUMENT, "out is NULL");
  *out = NULL;
  if (!_tl_local_is_valid(local))
    return _tl_local_fail_invalid(local);
  if ((status = _tl_entry_for_read(local, &entry)) != TL_OK)
    return status;
  *out = _tl_snapshot_new(entry != NULL ? &entry->dict : &empty);
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

  if (!_tl_local_is_valid(local))
    return _tl_local_fail_invalid(local);
  if (!_tl_value_is_valid(snapshot))
    return _tl_fail(TL_ERR_INVALID_ARGUMENT,
                    snapshot == NULL ? "snapshot is NULL" : "snapshot is not a valid TlValue");
  if (mode != TL_APPLY_UPDATE && mode != TL_APPLY_REPLACE)
    return _tl_failf(TL_ERR_INVALID_ARGUMENT, "unknown mode %d", mode);
  if (snapshot->kind != TL_VALUE_VARIANT ||
      !g_variant_is_of_type(_tl_value_variant(snapshot), G_VARIANT_TYPE_VARDICT))
    return _tl_failf(TL_ERR_WRONG_TYPE, "snapshot has type '%s', not 'a{sv}'",
                     tl_value_type(snapshot));

  /* All or nothing: every key copied, every value resolved and every byte of room made before
   * the dictionary changes; from there on nothing can fail. */
  if ((status = snapshot_read(snapshot, &incoming)) != TL_OK)
    return status;
  if ((status = _tl_entry_for_write(local, &entry, &created)) != TL_OK) {
    _tl_dict_free_contents(&incoming);
    return status;
  }
  _tl_entry_write_begin(local, entry);
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
  _tl_entry_write_end(local, entry);
  if (status == TL_OK)
    TL_THREAD_CHANGED();
  else if (created) /* out of memory reserving room: as before the call */
    _tl_entry_discard(entry);

  /* Only now may destroy functions run: incoming holds the values that were replaced. */
  _tl_dict_items_release(replaced_items, n_replaced);
  _tl_dict_free_contents(&incoming);
  return status;
}
