/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Basic values: the typed constructors and getters, strings, byte strings and pointers. A basic
 * value from a typed constructor makes its GVariant only when something needs it. */
#include <string.h>

#include "tl-error-private.h"
#include "tl-memory-private.h"
#include "tl-registry-private.h"
#include "tl-value-private.h"

/* A basic value whose GVariant is made only if something needs it (_tl_value_variant), with extra
 * bytes after the struct for a string's copy. The payload is set by the caller. */
static TlValue *
value_new_lazy(char type_char, size_t extra)
{
  TlValue *value = extra <= G_MAXSIZE - sizeof(TlValue) ? malloc(sizeof(TlValue) + extra) : NULL;

  if (value == NULL) {
    _tl_fail(TL_ERR_NO_MEMORY, "out of memory making a value");
    return NULL;
  }
  value->magic = TL_VALUE_MAGIC;
  value->refcount = 1;
  value->kind = TL_VALUE_VARIANT;
  value->n_handles = 0;
  value->scalar_type = type_char;
  value->depth = 0;
  value->bytes_size = 0;
  value->scalar.u64 = 0;
  value->u.variant = NULL;
  value->handles = NULL;
  _tl_stats_values_add(1);
  return value;
}

static TlValue *
value_new_lazy_string(const char *string)
{
  size_t size = strlen(string) + 1;
  TlValue *value = value_new_lazy('s', size);
  char *copy;

  if (value == NULL)
    return NULL;
  copy = (char *) (value + 1);
  memcpy(copy, string, size);
  value->scalar.str = copy;
  return value;
}

GVariant *
_tl_value_make_variant(const TlValue *value)
{
  TlValue *mutable_value = (TlValue *) value; /* only u.variant, published once, changes */
  GVariant *expected = NULL, *variant;

  switch (value->scalar_type) {
  case 'b': variant = g_variant_new_boolean(value->scalar.i64 != 0); break;
  case 'y': variant = g_variant_new_byte((guint8) value->scalar.u64); break;
  case 'n': variant = g_variant_new_int16((gint16) value->scalar.i64); break;
  case 'q': variant = g_variant_new_uint16((guint16) value->scalar.u64); break;
  case 'i': variant = g_variant_new_int32((gint32) value->scalar.i64); break;
  case 'u': variant = g_variant_new_uint32((guint32) value->scalar.u64); break;
  case 'x': variant = g_variant_new_int64(value->scalar.i64); break;
  case 't': variant = g_variant_new_uint64(value->scalar.u64); break;
  case 'd': variant = g_variant_new_double(value->scalar.d); break;
  case 'h': variant = g_variant_new_handle((gint32) value->scalar.i64); break;
  case 's': variant = g_variant_new_string(value->scalar.str); break;
  default: g_assert_not_reached();
  }
  g_variant_ref_sink(variant);
  if (!__atomic_compare_exchange_n(&mutable_value->u.variant, &expected, variant, FALSE,
                                   __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
    g_variant_unref(variant); /* another thread published first */
    variant = expected;
  }
  return variant;
}

/* Checks shared by every typed accessor: value holds a basic value of type character type_char. */
static int
checked_scalar(const TlValue *value, const void *out, char type_char)
{
  if (!_tl_value_is_valid(value))
    return _tl_value_fail_invalid(value);
  if (out == NULL)
    return _tl_fail(TL_ERR_INVALID_ARGUMENT, "out is NULL");
  if (value->kind != TL_VALUE_VARIANT || value->scalar_type != type_char)
    return _tl_failf(TL_ERR_WRONG_TYPE, "value has type '%s', not '%s'", tl_value_type(value),
                     type_char == 'A' ? "ay" : (char[]){type_char, '\0'});
  return TL_OK;
}

#define TL_DEFINE_SCALAR(name, c_type, type_char, payload, field)                                  \
  TlValue *tl_value_new_##name(c_type value)                                                       \
  {                                                                                                \
    TlValue *made = value_new_lazy(type_char, 0);                                                  \
    if (made != NULL)                                                                              \
      made->scalar.field = payload;                                                                \
    return made;                                                                                   \
  }                                                                                                \
  int tl_value_get_##name(const TlValue *value, c_type *out)                                       \
  {                                                                                                \
    int status = checked_scalar(value, out, type_char);                                            \
    if (status == TL_OK)                                                                           \
      *out = (c_type) value->scalar.field;                                                         \
    return status;                                                                                 \
  }

/* Payloads as cache_scalar() stores them: booleans 0 or 1, signed in i64, unsigned in u64. */
TL_DEFINE_SCALAR(bool, int, 'b', value != 0, i64)
TL_DEFINE_SCALAR(byte, uint8_t, 'y', value, u64)
TL_DEFINE_SCALAR(int16, int16_t, 'n', value, i64)
TL_DEFINE_SCALAR(uint16, uint16_t, 'q', value, u64)
TL_DEFINE_SCALAR(int32, int32_t, 'i', value, i64)
TL_DEFINE_SCALAR(uint32, uint32_t, 'u', value, u64)
TL_DEFINE_SCALAR(int64, int64_t, 'x', value, i64)
TL_DEFINE_SCALAR(uint64, uint64_t, 't', value, u64)
TL_DEFINE_SCALAR(double, double, 'd', value, d)
TL_DEFINE_SCALAR(handle, int32_t, 'h', value, i64)

TlValue *
tl_value_new_string(const char *string)
{
  if (string == NULL) {
    _tl_fail(TL_ERR_INVALID_ARGUMENT, "string is NULL");
    return NULL;
  }
  if (!g_utf8_validate(string, -1, NULL)) {
    _tl_fail(TL_ERR_INVALID_UTF8, "string is not valid UTF-8");
    return NULL;
  }
  return value_new_lazy_string(string);
}

int
tl_value_get_string(const TlValue *value, const char **out)
{
  if (!_tl_value_is_valid(value))
    return _tl_value_fail_invalid(value);
  if (out == NULL)
    return _tl_fail(TL_ERR_INVALID_ARGUMENT, "out is NULL");
  if (value->kind != TL_VALUE_VARIANT ||
      (value->scalar_type != 's' && value->scalar_type != 'o' && value->scalar_type != 'g'))
    return _tl_failf(TL_ERR_WRONG_TYPE, "value has type '%s', not a string type",
                     tl_value_type(value));
  *out = value->scalar.str;
  return TL_OK;
}

TlValue *
tl_value_new_bytes(const void *data, size_t size)
{
  GBytes *bytes;
  TlValue *value;

  if (data == NULL && size > 0) {
    _tl_fail(TL_ERR_INVALID_ARGUMENT, "data is NULL but size is not 0");
    return NULL;
  }
  bytes = g_bytes_new(data, size);
  value = _tl_value_take_variant_plain(
      g_variant_new_from_bytes(G_VARIANT_TYPE_BYTESTRING, bytes, TRUE), 1);

  g_bytes_unref(bytes); /* the variant holds its own reference */
  return value;
}

int
tl_value_get_bytes(const TlValue *value, const void **out_data, size_t *out_size)
{
  int status;

  if (out_size == NULL)
    return _tl_fail(TL_ERR_INVALID_ARGUMENT, "out_size is NULL");
  status = checked_scalar(value, out_data, 'A');
  if (status != TL_OK)
    return status;
  *out_data = value->scalar.bytes;
  *out_size = value->bytes_size;
  return TL_OK;
}

TlValue *
tl_value_new_pointer(void *ptr, TlDestroyFunc destroy)
{
  TlValue *value = _tl_new(TlValue, 1);

  if (value == NULL) {
    _tl_fail(TL_ERR_NO_MEMORY, "out of memory making a value");
    return NULL;
  }
  value->magic = TL_VALUE_MAGIC;
  value->refcount = 1;
  value->kind = TL_VALUE_POINTER;
  value->u.pointer.ptr = ptr;
  value->u.pointer.destroy = destroy;
  value->scalar_type = 0;
  value->depth = 0;
  value->handles = NULL;
  value->n_handles = 0;
  _tl_stats_values_add(1);
  return value;
}

int
tl_value_get_pointer(const TlValue *value, void **out)
{
  if (!_tl_value_is_valid(value))
    return _tl_value_fail_invalid(value);
  if (out == NULL)
    return _tl_fail(TL_ERR_INVALID_ARGUMENT, "out is NULL");
  if (value->kind != TL_VALUE_POINTER)
    return _tl_failf(TL_ERR_WRONG_TYPE, "value has type '%s', not 'p'", tl_value_type(value));
  *out = value->u.pointer.ptr;
  return TL_OK;
}
