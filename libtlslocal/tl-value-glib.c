/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* GLib interop (tlslocal-glib.h): values from and to GVariants. */
#include "tl-error-private.h"
#include "tl-value-private.h"
#include "tlslocal-glib.h"

TlValue *
tl_value_new_from_gvariant(GVariant *variant)
{
  guint depth;

  if (variant == NULL) {
    _tl_fail(TL_ERR_INVALID_ARGUMENT, "variant is NULL");
    return NULL;
  }
  /* Measured before anything serialises it: serialising would turn what lies past the limit
   * into "()". */
  g_variant_ref_sink(variant);
  depth = _tl_variant_depth(variant, 0);
  if (depth > TL_VALUE_MAX_DEPTH) {
    g_variant_unref(variant);
    _tl_failf(TL_ERR_INVALID_ARGUMENT, "the variant nests more than %d container levels deep",
              TL_VALUE_MAX_DEPTH);
    return NULL;
  }
  return _tl_value_take_variant_plain(variant, depth);
}

GVariant *
tl_value_dup_gvariant(const TlValue *value)
{
  if (!_tl_value_is_valid(value)) {
    _tl_value_fail_invalid(value);
    return NULL;
  }
  if (value->kind != TL_VALUE_VARIANT) {
    _tl_fail(TL_ERR_WRONG_TYPE, "a pointer value has no GVariant form");
    return NULL;
  }
  return g_variant_ref(_tl_value_variant(value));
}
