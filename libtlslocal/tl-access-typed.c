/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Typed reads in one call (the mirror of the typed setters), and tl_local_get_scalar(): a value of
 * unknown type read in one call, what a binding needs to turn a basic value into its own without a
 * second and third call for the type and payload. */
#include <string.h>

#include "tl-error-private.h"
#include "tl-value-private.h"

#define TL_DEFINE_TYPED_READ(name, c_type)                                                         \
  int tl_local_get_##name(TlLocal *local, const char *key, c_type *out)                            \
  {                                                                                                \
    TlValue *value;                                                                                \
    if (G_UNLIKELY(out == NULL))                                                                   \
      return _tl_fail(TL_ERR_INVALID_ARGUMENT, "out is NULL");                                     \
    value = tl_local_peek(local, key);                                                             \
    return G_LIKELY(value != NULL) ? tl_value_get_##name(value, out) : tl_last_error();            \
  }

TL_DEFINE_TYPED_READ(bool, int)
TL_DEFINE_TYPED_READ(int64, int64_t)
TL_DEFINE_TYPED_READ(uint64, uint64_t)
TL_DEFINE_TYPED_READ(double, double)
TL_DEFINE_TYPED_READ(string, const char *)

int
tl_local_get_scalar(TlLocal *local, const char *key, int *out_type, uint64_t *out_bits,
                    const char **out_string)
{
  const char *string = NULL;
  guint64 bits = 0;
  TlValue *value;
  int type;

  if (G_UNLIKELY(out_type == NULL))
    return _tl_fail(TL_ERR_INVALID_ARGUMENT, "out_type is NULL");
  if (G_UNLIKELY((value = tl_local_peek(local, key)) == NULL))
    return tl_last_error();
  /* scalar_type is the type character of every one-character type ("v" included) and 'A' for
   * bytes: only the basic types are answered here. */
  type = value->kind == TL_VALUE_VARIANT ? value->scalar_type : 0;
  switch (type) {
  case 's':
  case 'o':
  case 'g': string = value->scalar.str; break;
  case 'd': memcpy(&bits, &value->scalar.d, sizeof bits); break;
  case 'b':
  case 'y':
  case 'n':
  case 'q':
  case 'i':
  case 'u':
  case 'x':
  case 't':
  case 'h': bits = value->scalar.u64; break; /* an int64 payload's bits: its two's complement */
  default: type = 0; break;
  }
  *out_type = type;
  if (out_bits != NULL)
    *out_bits = bits;
  if (out_string != NULL)
    *out_string = string;
  return TL_OK;
}
