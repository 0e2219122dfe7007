/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Container values: tuples, arrays, maybes and vardicts, made from values and taken apart again. */
#include <string.h>

#include "tl-dict-private.h"
#include "tl-error-private.h"
#include "tl-memory-private.h"
#include "tl-snapshot-private.h"
#include "tl-value-private.h"

/* Validates items as GVariant-backed values and finds the deepest. @return TL_OK or
 * TL_ERR_INVALID_ARGUMENT (recorded). */
static int
check_items(TlValue *const *items, size_t n_items, guint *out_deepest)
{
  size_t i;
  guint depth;

  *out_deepest = 0;
  if (items == NULL && n_items > 0)
    return _tl_fail(TL_ERR_INVALID_ARGUMENT, "items is NULL but n_items is not 0");
  for (i = 0; i < n_items; i++) {
    if (!_tl_value_is_valid(items[i]))
      return _tl_failf(TL_ERR_INVALID_ARGUMENT, "item %zu is NULL or not a valid TlValue", i);
    if (items[i]->kind != TL_VALUE_VARIANT)
      return _tl_failf(TL_ERR_INVALID_ARGUMENT,
                       "item %zu is a pointer value, which containers cannot hold", i);
    if (items[i]->handles != NULL)
      return _tl_failf(
          TL_ERR_INVALID_ARGUMENT,
          "item %zu is a snapshot carrying pointer values, which containers cannot hold", i);
    depth = _tl_value_depth(items[i]); /* once: MAX() evaluates its arguments twice */
    *out_deepest = MAX(*out_deepest, depth);
  }
  return TL_OK;
}

/* @return TL_OK if a value depth levels deep may be made, else TL_ERR_INVALID_ARGUMENT
 * (recorded). */
static const char *
element_type_or_first(const char *element_type, const TlValue *first, const char *what)
{
  if (element_type == NULL) {
    if (first == NULL) {
      _tl_failf(TL_ERR_INVALID_ARGUMENT, "an empty %s needs an element_type", what);
      return NULL;
    }
    element_type = tl_value_type(first);
  }
  if (!g_variant_type_string_is_valid(element_type) ||
      !g_variant_type_is_definite(G_VARIANT_TYPE(element_type))) {
    _tl_failf(TL_ERR_INVALID_ARGUMENT, "'%s' is not a definite GVariant type string", element_type);
    return NULL;
  }
  return element_type;
}

TlValue *
tl_value_new_tuple(TlValue *const *items, size_t n_items)
{
  GVariant **children;
  TlValue *value;
  guint deepest;
  size_t i;

  if (check_items(items, n_items, &deepest) != TL_OK || _tl_value_check_depth(deepest + 1) != TL_OK)
    return NULL;
  children = _tl_new(GVariant *, n_items);
  if (children == NULL) {
    _tl_fail(TL_ERR_NO_MEMORY, "out of memory making a tuple");
    return NULL;
  }
  for (i = 0; i < n_items; i++)
    children[i] = _tl_value_variant(items[i]);
  value = _tl_value_take_variant_plain(g_variant_new_tuple(children, n_items), deepest + 1);
  g_free(children);
  return value;
}

TlValue *
tl_value_new_array(const char *element_type, TlValue *const *items, size_t n_items)
{
  const GVariantType *type;
  gboolean boxed;
  GVariant **children;
  TlValue *value;
  guint deepest, depth;
  size_t i;

  if (check_items(items, n_items, &deepest) != TL_OK ||
      (element_type =
           element_type_or_first(element_type, n_items > 0 ? items[0] : NULL, "array")) == NULL)
    return NULL;
  type = G_VARIANT_TYPE(element_type);
  boxed = g_variant_type_equal(type, G_VARIANT_TYPE_VARIANT);
  for (i = 0; i < n_items && !boxed; i++) {
    if (!g_variant_is_of_type(_tl_value_variant(items[i]), type)) {
      _tl_failf(TL_ERR_WRONG_TYPE, "item %zu has type '%s', not the element type '%s'", i,
                tl_value_type(items[i]), element_type);
      return NULL;
    }
  }
  /* Boxed items sit one level deeper, inside their variant. */
  depth = n_items > 0 ? deepest + (boxed ? 2 : 1) : 1 + _tl_type_nesting(element_type);
  if (_tl_value_check_depth(depth) != TL_OK)
    return NULL;
  children = _tl_new(GVariant *, n_items);
  if (children == NULL) {
    _tl_fail(TL_ERR_NO_MEMORY, "out of memory making an array");
    return NULL;
  }
  for (i = 0; i < n_items; i++)
    children[i] =
        boxed ? g_variant_new_variant(_tl_value_variant(items[i])) : _tl_value_variant(items[i]);
  value = _tl_value_take_variant_plain(g_variant_new_array(type, children, n_items), depth);
  g_free(children);
  return value;
}

TlValue *
tl_value_new_maybe(const char *element_type, TlValue *child)
{
  GVariant *child_variant = NULL;
  guint deepest = 0, depth;

  if ((child != NULL && check_items(&child, 1, &deepest) != TL_OK) ||
      (element_type = element_type_or_first(element_type, child, "maybe")) == NULL)
    return NULL;
  if (child != NULL) {
    child_variant = _tl_value_variant(child);
    if (!g_variant_is_of_type(child_variant, G_VARIANT_TYPE(element_type))) {
      _tl_failf(TL_ERR_WRONG_TYPE, "child has type '%s', not the element type '%s'",
                tl_value_type(child), element_type);
      return NULL;
    }
  }
  depth = 1 + (child != NULL ? deepest : _tl_type_nesting(element_type));
  if (_tl_value_check_depth(depth) != TL_OK)
    return NULL;
  return _tl_value_take_variant_plain(
      g_variant_new_maybe(G_VARIANT_TYPE(element_type), child_variant), depth);
}

/* The "a{sv}" value of dict's (key, value) pairs in order, each value 3 levels down (array, dict
 * entry, variant). NULL past the depth limit (TL_ERR_INVALID_ARGUMENT) or out of memory. */
static TlValue *
vardict_from_dict(const TlDict *dict)
{
  GVariant **entries;
  TlValue *value;
  guint32 i, n = 0;
  guint deepest = 0, depth;

  for (i = 0; i < dict->n_items; i++) {
    if (dict->items[i].value != NULL) {
      depth = _tl_value_depth(dict->items[i].value); /* once: MAX() evaluates its arguments twice */
      deepest = MAX(deepest, depth);
    }
  }
  if (dict->n_live > 0 && _tl_value_check_depth(deepest + 3) != TL_OK)
    return NULL;
  entries = _tl_new(GVariant *, dict->n_live);
  if (entries == NULL) {
    _tl_fail(TL_ERR_NO_MEMORY, "out of memory making a dictionary value");
    return NULL;
  }
  for (i = 0; i < dict->n_items; i++) {
    const TlDictItem *item = &dict->items[i];

    if (item->value != NULL)
      entries[n++] =
          g_variant_new_dict_entry(g_variant_new_string(_tl_item_key(item)),
                                   g_variant_new_variant(_tl_value_variant(item->value)));
  }
  value = _tl_value_take_variant_plain(g_variant_new_array(G_VARIANT_TYPE("{sv}"), entries, n),
                                       n > 0 ? deepest + 3 : 2);
  g_free(entries);
  return value;
}

TlValue *
tl_value_new_vardict(const char *const *keys, TlValue *const *values, size_t n_items)
{
  TlDict pairs = {0}; /* key -> value, borrowed: a repeated key keeps its first place, last value */
  TlValue *value = NULL;
  guint deepest;
  size_t i;

  if (keys == NULL && n_items > 0) {
    _tl_fail(TL_ERR_INVALID_ARGUMENT, "keys is NULL but n_items is not 0");
    return NULL;
  }
  if (check_items(values, n_items, &deepest) != TL_OK)
    return NULL;
  for (i = 0; i < n_items; i++) {
    TlKey key;
    TlValue *replaced;

    if (_tl_key_prepare(keys[i], &key) != TL_OK) {
      _tl_failf(TL_ERR_INVALID_KEY, "key %zu is NULL or not valid UTF-8", i);
      goto out;
    }
    if (_tl_dict_insert(&pairs, &key, values[i], &replaced) != TL_OK)
      goto out;
  }
  value = vardict_from_dict(&pairs); /* as deep as the values kept: a repeated key drops one */
out:
  _tl_dict_free_borrowed(&pairs);
  return value;
}

/* The container checks shared by n_children and get_child. */
static int
checked_container(const TlValue *value, const void *out, GVariant **variant)
{
  if (!_tl_value_is_valid(value))
    return _tl_value_fail_invalid(value);
  if (out == NULL)
    return _tl_fail(TL_ERR_INVALID_ARGUMENT, "out is NULL");
  /* Lazy values are all basic: no need to make their GVariant to say so. */
  if (value->kind != TL_VALUE_VARIANT || _tl_value_variant_if_made(value) == NULL ||
      !g_variant_is_container(value->u.variant))
    return _tl_failf(TL_ERR_WRONG_TYPE, "value has type '%s', which is not a container",
                     tl_value_type(value));
  *variant = value->u.variant;
  return TL_OK;
}

int
tl_value_n_children(const TlValue *value, size_t *out)
{
  GVariant *variant = NULL;
  int status = checked_container(value, out, &variant);

  if (status == TL_OK)
    *out = g_variant_n_children(variant);
  return status;
}

int
tl_value_get_child(const TlValue *value, size_t index, TlValue **out)
{
  GVariant *variant = NULL, *child;
  int status;
  size_t n_children;

  if (out != NULL)
    *out = NULL;
  status = checked_container(value, out, &variant);
  if (status != TL_OK)
    return status;
  n_children = g_variant_n_children(variant);
  if (index >= n_children)
    return _tl_failf(TL_ERR_OUT_OF_RANGE, "index %zu is out of range (%zu children)", index,
                     n_children);
  child = g_variant_get_child_value(variant, index);
  *out = value->handles != NULL ? _tl_snapshot_part(value, child)
                                : _tl_value_take_variant_plain(child, TL_DEPTH_UNKNOWN);
  return *out != NULL ? TL_OK : tl_last_error();
}

/* The value of the last entry of key in dictionary, a string-keyed dictionary, unboxed if it is a
 * variant; NULL if there is none. The last, as tl_local_apply() and tl_value_new_vardict() keep the
 * last value of a key given twice (g_variant_lookup_value() gives the first). */
static GVariant *
lookup_last(GVariant *dictionary, const char *key)
{
  gsize i = g_variant_n_children(dictionary);

  while (i-- > 0) {
    GVariant *entry = g_variant_get_child_value(dictionary, i);
    GVariant *entry_key = g_variant_get_child_value(entry, 0);
    gboolean match = strcmp(g_variant_get_string(entry_key, NULL), key) == 0;
    GVariant *found = match ? g_variant_get_child_value(entry, 1) : NULL;

    g_variant_unref(entry_key);
    g_variant_unref(entry);
    if (found != NULL && g_variant_is_of_type(found, G_VARIANT_TYPE_VARIANT)) {
      GVariant *boxed = found;

      found = g_variant_get_variant(boxed);
      g_variant_unref(boxed);
    }
    if (found != NULL)
      return found;
  }
  return NULL;
}

int
tl_value_lookup(const TlValue *value, const char *key, TlValue **out)
{
  GVariant *variant = NULL, *found;
  int status;

  if (out != NULL)
    *out = NULL;
  status = checked_container(value, out, &variant);
  if (status != TL_OK)
    return status;
  if (!g_variant_is_of_type(variant, G_VARIANT_TYPE("a{s*}")))
    return _tl_failf(TL_ERR_WRONG_TYPE, "value has type '%s', not a string-keyed dictionary",
                     tl_value_type(value));
  if (key == NULL || !g_utf8_validate(key, -1, NULL))
    return _tl_fail(TL_ERR_INVALID_KEY, "key is NULL or not valid UTF-8");
  found = lookup_last(variant, key);
  if (found == NULL)
    return _tl_failf(TL_ERR_NOT_FOUND, "no key '%s' in the dictionary", key);
  /* In a snapshot, <handle N> stands for the value it carries. */
  *out = _tl_snapshot_resolve_child(value, found);
  return *out != NULL ? TL_OK : tl_last_error();
}
