/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Values in binary form: GVariant's serialisation in normal form, little-endian on every host, and
 * back from untrusted bytes. */
#include <string.h>

#include "tl-error-private.h"
#include "tl-memory-private.h"
#include "tl-value-private.h"

/* The serialised size of a basic value from its cached payload, or 0 if value has none (then its
 * GVariant is serialised instead). A typed constructor's value has no GVariant yet: writing the
 * payload here saves making one, and reads no GVariant (whose every read takes its bit lock). */
static size_t
scalar_size(const TlValue *value)
{
  switch (value->scalar_type) {
  case 'b':
  case 'y': return 1;
  case 'n':
  case 'q': return 2;
  case 'i':
  case 'u':
  case 'h': return 4;
  case 'x':
  case 't':
  case 'd': return 8;
  case 's':
  case 'o':
  case 'g': return strlen(value->scalar.str) + 1;
  default: return 0; /* "ay" too: its GVariant exists, and a byte string may be empty */
  }
}

/* Writes the basic value's payload as GVariant serialises it, little-endian whatever the host. */
static void
scalar_store(const TlValue *value, guint8 *data, size_t size)
{
  guint64 bits;
  size_t i;

  switch (value->scalar_type) {
  case 's':
  case 'o':
  case 'g': memcpy(data, value->scalar.str, size); return;
  case 'b': bits = value->scalar.i64 != 0; break;
  case 'd': memcpy(&bits, &value->scalar.d, sizeof bits); break;
  default: bits = value->scalar.u64; break; /* signed ones too: their low bytes are the same */
  }
  for (i = 0; i < size; i++)
    data[i] = (guint8) (bits >> (8 * i));
}

int
tl_value_serialize(const TlValue *value, void **out_data, size_t *out_size)
{
  GVariant *variant, *normal;
  size_t size;
  void *data;

  if (!_tl_value_is_valid(value))
    return _tl_value_fail_invalid(value);
  if (out_data == NULL || out_size == NULL)
    return _tl_fail(TL_ERR_INVALID_ARGUMENT,
                    out_data == NULL ? "out_data is NULL" : "out_size is NULL");
  if (value->kind != TL_VALUE_VARIANT)
    return _tl_fail(TL_ERR_WRONG_TYPE, "a pointer value has no binary form");
  /* A snapshot's carried values are out of band; the bytes would name handles no reader has. */
  if (value->handles != NULL)
    return _tl_fail(TL_ERR_WRONG_TYPE, "the snapshot carries values by reference (a pointer "
                                       "value, or one that travels beside it) with no binary form");

  size = scalar_size(value);
  if (size > 0) {
    data = _tl_new(guint8, size);
    if (data == NULL)
      return _tl_fail(TL_ERR_NO_MEMORY, "out of memory serialising a value");
    scalar_store(value, data, size);
    *out_data = data;
    *out_size = size;
    return TL_OK;
  }

  /* Every value the library makes is in normal form; one taken from GLib may not be (bytes read
   * without trust). */
  variant = _tl_value_variant(value);
  normal = g_variant_is_normal_form(variant) ? g_variant_ref(variant)
                                             : g_variant_get_normal_form(variant);
#if G_BYTE_ORDER == G_BIG_ENDIAN
  {
    GVariant *swapped = g_variant_byteswap(normal);

    g_variant_unref(normal);
    normal = swapped;
  }
#endif
  size = g_variant_get_size(normal);
  data = _tl_new(guint8, size); /* a byte even for a value of none: never NULL on success */
  if (data == NULL) {
    g_variant_unref(normal);
    return _tl_fail(TL_ERR_NO_MEMORY, "out of memory serialising a value");
  }
  g_variant_store(normal, data);
  g_variant_unref(normal);
  *out_data = data;
  *out_size = size;
  return TL_OK;
}

int
tl_value_deserialize(const char *type, const void *data, size_t size, TlValue **out)
{
  GVariant *variant;
  guint depth;
  void *copy;

  if (out == NULL)
    return _tl_fail(TL_ERR_INVALID_ARGUMENT, "out is NULL");
  *out = NULL;
  if (type == NULL)
    return _tl_fail(TL_ERR_INVALID_ARGUMENT, "type is NULL");
  if (!g_variant_type_string_is_valid(type) || !g_variant_type_is_definite(G_VARIANT_TYPE(type)))
    return _tl_failf(TL_ERR_INVALID_ARGUMENT, "'%s' is not a definite GVariant type string", type);
  if (data == NULL && size > 0)
    return _tl_fail(TL_ERR_INVALID_ARGUMENT, "data is NULL but size is not 0");
  /* No value of a type nested past the limit may exist (GLib would read its innermost level
   * wrong): refused before GLib reads a byte. */
  depth = _tl_type_nesting(type);
  if (depth > TL_VALUE_MAX_DEPTH)
    return _tl_failf(TL_ERR_INVALID_ARGUMENT, "type '%s' nests more than %d container levels deep",
                     type, TL_VALUE_MAX_DEPTH);

  /* A copy of our own: the value outlives the caller's buffer, and malloc() aligns it for any
   * GVariant (GLib would copy a misaligned buffer itself, with an allocation that aborts). */
  copy = _tl_new(guint8, size);
  if (copy == NULL)
    return _tl_fail(TL_ERR_NO_MEMORY, "out of memory copying the bytes");
  if (size > 0)
    memcpy(copy, data, size);
  variant = g_variant_ref_sink(
      g_variant_new_from_data(G_VARIANT_TYPE(type), copy, size, FALSE, g_free, copy));
  /* Checked without trust: offsets in bounds, no padding, strings terminated and UTF-8, GLib's
   * nesting limit of variants inside variants; GLib's readers would otherwise substitute default
   * values for what is wrong, which would not serialise back to these bytes. */
  if (!g_variant_is_normal_form(variant)) {
    g_variant_unref(variant);
    return _tl_failf(TL_ERR_PARSE, "the bytes are not a normal-form value of type '%s'", type);
  }
#if G_BYTE_ORDER == G_BIG_ENDIAN
  {
    GVariant *swapped = g_variant_byteswap(variant);

    g_variant_unref(variant);
    variant = swapped;
  }
#endif
  /* Variants inside hold types of their own: their depth is in the bytes. */
  if (strchr(type, 'v') != NULL) {
    depth = _tl_variant_depth(variant, 0);
    if (depth > TL_VALUE_MAX_DEPTH) {
      g_variant_unref(variant);
      return _tl_failf(TL_ERR_PARSE, "the value nests more than %d container levels deep",
                       TL_VALUE_MAX_DEPTH);
    }
  }
  *out = _tl_value_take_variant_plain(variant, depth);
  return *out != NULL ? TL_OK : TL_ERR_NO_MEMORY;
}
