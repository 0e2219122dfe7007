/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* TlValue, the object: an immutable, atomically refcounted GVariant or native pointer; its
 * references, its freeing (without recursion) and its type. Every GLib call in the tl-value files
 * is preceded by the checks that GLib would otherwise report as a critical. */
#include <string.h>

#include "tl-error-private.h"
#include "tl-memory-private.h"
#include "tl-refcount-private.h"
#include "tl-registry-private.h"
#include "tl-value-private.h"

static void
cache_scalar(TlValue *value)
{
  GVariant *variant = value->u.variant;
  const char *type = g_variant_get_type_string(variant);

  value->scalar_type = type[1] == '\0' ? type[0] : 0;
  value->bytes_size = 0;
  value->scalar.u64 = 0;
  switch (value->scalar_type) {
  case 'b': value->scalar.i64 = g_variant_get_boolean(variant) ? 1 : 0; break;
  case 'y': value->scalar.u64 = g_variant_get_byte(variant); break;
  case 'n': value->scalar.i64 = g_variant_get_int16(variant); break;
  case 'q': value->scalar.u64 = g_variant_get_uint16(variant); break;
  case 'i': value->scalar.i64 = g_variant_get_int32(variant); break;
  case 'u': value->scalar.u64 = g_variant_get_uint32(variant); break;
  case 'x': value->scalar.i64 = g_variant_get_int64(variant); break;
  case 't': value->scalar.u64 = g_variant_get_uint64(variant); break;
  case 'd': value->scalar.d = g_variant_get_double(variant); break;
  case 'h': value->scalar.i64 = g_variant_get_handle(variant); break;
  case 's':
  case 'o':
  case 'g': value->scalar.str = g_variant_get_string(variant, NULL); break;
  default:
    if (strcmp(type, "ay") == 0) {
      value->scalar_type = 'A';
      value->scalar.bytes = g_variant_get_fixed_array(variant, &value->bytes_size, 1);
    }
    break;
  }
}

/* Releases handles[0, n_handles) and the array. */
static void
handles_release(TlValue **handles, guint32 n_handles)
{
  guint32 i;

  for (i = 0; i < n_handles; i++)
    tl_value_unref(handles[i]);
  g_free(handles);
}

TlValue *
_tl_value_take_variant(GVariant *variant, TlValue **handles, guint32 n_handles, guint depth)
{
  TlValue *value = _tl_new(TlValue, 1);

  if (value == NULL) {
    g_variant_unref(g_variant_take_ref(variant));
    handles_release(handles, n_handles);
    _tl_fail(TL_ERR_NO_MEMORY, "out of memory making a value");
    return NULL;
  }
  value->magic = TL_VALUE_MAGIC;
  value->refcount = 1;
  value->kind = TL_VALUE_VARIANT;
  value->u.variant = g_variant_take_ref(variant);
  /* Serialise now, on the creating thread: a container built from children is kept in tree form
   * until first read, and GLib serialises it then under a lock of its own that ThreadSanitizer
   * cannot see. A value is immutable and meant to be read by many threads, so pay once, here. */
  g_variant_get_data(value->u.variant);
  cache_scalar(value);
  value->depth = (guint8) depth;
  value->handles = handles;
  value->n_handles = n_handles;
  _tl_stats_values_add(1);
  return value;
}

int
_tl_value_fail_invalid(const TlValue *value)
{
  return _tl_fail(TL_ERR_INVALID_ARGUMENT,
                  value == NULL ? "value is NULL" : "value is not a valid TlValue (freed?)");
}

TlValue *
tl_value_ref(TlValue *value)
{
  if (G_UNLIKELY(!_tl_value_is_valid(value))) {
    if (value != NULL)
      _tl_value_fail_invalid(value);
    return NULL;
  }
  _tl_value_ref_valid(value);
  return value;
}

void
tl_value_unref(TlValue *value)
{
  if (G_UNLIKELY(!_tl_value_is_valid(value))) {
    if (value != NULL)
      _tl_value_fail_invalid(value);
    return;
  }
  _tl_value_unref_valid(value);
}

/* The values a dying snapshot carries join a work list instead of being freed by recursion: a
 * context that records its parent builds chains of snapshots, each carrying the one before, a
 * million deep, and freeing one must not take stack in proportion (nor overflow a worker thread's
 * small stack at its exit). */
void
_tl_value_free(TlValue *value)
{
  TlValue *pending = NULL;

  for (;; value = pending, pending = pending->scalar.free_next) {
    value->magic = 0;
    _tl_stats_values_add(-1);
    if (value->kind == TL_VALUE_VARIANT) {
      guint32 i;

      if (value->u.variant != NULL) /* the last reference: no thread is making it */
        g_variant_unref(value->u.variant);
      for (i = 0; i < value->n_handles; i++) {
        TlValue *carried = value->handles[i];

        if (_tl_refcount_dec(&carried->refcount)) {
          carried->scalar.free_next = pending;
          pending = carried;
        }
      }
      g_free(value->handles);
    } else if (value->u.pointer.destroy != NULL) {
      value->u.pointer.destroy(value->u.pointer.ptr);
    }
    g_free(value);
    if (pending == NULL)
      return;
  }
}

const char *
tl_value_type(const TlValue *value)
{
  GVariant *variant;

  if (!_tl_value_is_valid(value)) {
    _tl_value_fail_invalid(value);
    return NULL;
  }
  if (value->kind != TL_VALUE_VARIANT)
    return "p";
  variant = _tl_value_variant_if_made(value);
  if (variant == NULL) { /* lazy: a basic type, named by its character */
    static const char basic_types[] = "b\0y\0n\0q\0i\0u\0x\0t\0d\0h\0s";
    const char *found = memchr(basic_types, value->scalar_type, sizeof basic_types - 1);

    g_assert(found != NULL && value->scalar_type != '\0');
    return found;
  }
  return g_variant_get_type_string(variant);
}
