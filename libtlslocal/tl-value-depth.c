/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The depth limit: how many container levels a value or a type string has (TL_VALUE_MAX_DEPTH). */
#include <string.h>

#include "tl-error-private.h"
#include "tl-value-private.h"

int
_tl_value_check_depth(guint depth)
{
  if (depth <= TL_VALUE_MAX_DEPTH)
    return TL_OK;
  return _tl_failf(TL_ERR_INVALID_ARGUMENT,
                   "the value would nest %u container levels deep; a "
                   "value holds %d at most",
                   depth, TL_VALUE_MAX_DEPTH);
}

/* Checks element_type, or takes first's type when it is NULL (then first must be given).
 * @return the type, or NULL (TL_ERR_INVALID_ARGUMENT recorded). */
/* Container nesting of the type string from type to end: "t" 0, "mt" 1, "a{sv}" 2, "(ia(ii))" 2.
 * GLib's valid type strings nest 128 levels at most; anything deeper is reported as deeper than
 * any limit. Also given the unchecked annotations of text to parse, so it never reads outside. */
guint
_tl_type_nesting_of(const char *type, const char *end)
{
  char open[256]; /* 'p' for an a/m prefix, 'g' for a ( or { group */
  size_t depth = 0, deepest = 0;
  const char *c;

  for (c = type; c < end; c++) {
    if (*c == 'a' || *c == 'm' || *c == '(' || *c == '{') {
      if (depth == sizeof open)
        return (guint) depth + 1;
      open[depth++] = (*c == 'a' || *c == 'm') ? 'p' : 'g';
      deepest = MAX(deepest, depth);
      continue;
    }
    if ((*c == ')' || *c == '}') && depth > 0)
      depth--; /* its group */
    /* A complete type ends here: it satisfies every prefix waiting for it. */
    while (depth > 0 && open[depth - 1] == 'p')
      depth--;
  }
  return (guint) deepest;
}

guint
_tl_type_nesting(const char *type)
{
  return _tl_type_nesting_of(type, type + strlen(type));
}

/* The container levels of variant below level (its own level), by its type and, where the type
 * has variants inside, by what they hold. The walk stops once past TL_VALUE_MAX_DEPTH, so the
 * recursion never goes deeper than that, however deep a value built with GLib may be. */
guint
_tl_variant_depth(GVariant *variant, guint level)
{
  const char *type = g_variant_get_type_string(variant);
  guint deepest = level + _tl_type_nesting(type);
  gsize i, n_children;

  if (strchr(type, 'v') == NULL || deepest > TL_VALUE_MAX_DEPTH)
    return deepest;
  n_children = g_variant_n_children(variant);
  for (i = 0; i < n_children && deepest <= TL_VALUE_MAX_DEPTH; i++) {
    GVariant *child = g_variant_get_child_value(variant, i);
    guint child_deepest = _tl_variant_depth(child, level + 1);

    deepest = MAX(deepest, child_deepest);
    g_variant_unref(child);
  }
  return deepest;
}

guint
_tl_value_depth(const TlValue *value)
{
  guint depth = __atomic_load_n(&value->depth, __ATOMIC_RELAXED);

  if (depth == TL_DEPTH_UNKNOWN) {
    /* A value that exists is within the limit: only basic and GLib-made values come here. */
    depth = MIN(_tl_variant_depth(_tl_value_variant(value), 0), TL_VALUE_MAX_DEPTH + 1);
    __atomic_store_n(&((TlValue *) value)->depth, (guint8) depth, __ATOMIC_RELAXED);
  }
  return depth;
}
