/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The C side of the Java binding's tests: a small shared module, loaded by the tests with JNA,
 * that reads and writes named locals the way C code in the same process would (tlslocal.h only).
 * It links the same libtlslocal.so.1 that the binding loads, so both see one library. Every
 * function acts on the calling thread, the Java thread that calls it.
 *
 * Copyright the libtlslocal authors.
 */
#include <stdint.h>
#include <string.h>

#include <tlslocal.h>

#define HELPER_API __attribute__((visibility("default")))

HELPER_API int tljava_read_string(const char *local_name, const char *key, char *out, size_t size);
HELPER_API int tljava_read_int64(const char *local_name, const char *key, int64_t *out);
HELPER_API int tljava_write_string(const char *local_name, const char *key, const char *value);
HELPER_API int tljava_write_parsed(const char *local_name, const char *key, const char *type,
                                   const char *text);

/* Copy the string under key in the calling thread's dictionary of the named local into out.
 * @return TL_OK or the status of the call that failed (out is "" then). */
int
tljava_read_string(const char *local_name, const char *key, char *out, size_t size)
{
  TlLocal *local = tl_local_open(local_name);
  TlValue *value;
  const char *text = NULL;
  int status;

  out[0] = '\0';
  if (local == NULL)
    return tl_last_error();
  status = tl_local_get(local, key, &value);
  if (status == TL_OK) {
    status = tl_value_get_string(value, &text);
    if (status == TL_OK && strlen(text) < size)
      memcpy(out, text, strlen(text) + 1);
    tl_value_unref(value);
  }
  tl_local_unref(local);
  return status;
}

/* The int64 under key in the calling thread's dictionary of the named local. */
int
tljava_read_int64(const char *local_name, const char *key, int64_t *out)
{
  TlLocal *local = tl_local_open(local_name);
  TlValue *value;
  int status;

  if (local == NULL)
    return tl_last_error();
  value = tl_local_peek(local, key);
  status = value != NULL ? tl_value_get_int64(value, out) : tl_last_error();
  tl_local_unref(local);
  return status;
}

/* Store a string, as C code would with tl_local_set_string(). */
int
tljava_write_string(const char *local_name, const char *key, const char *value)
{
  TlLocal *local = tl_local_open(local_name);
  int status;

  if (local == NULL)
    return tl_last_error();
  status = tl_local_set_string(local, key, value);
  tl_local_unref(local);
  return status;
}

/* Store a value of any type, parsed from GVariant text (type may be NULL). */
int
tljava_write_parsed(const char *local_name, const char *key, const char *type, const char *text)
{
  TlLocal *local = tl_local_open(local_name);
  TlValue *value = NULL;
  int status;

  if (local == NULL)
    return tl_last_error();
  status = tl_value_parse(type, text, &value);
  if (status == TL_OK)
    status = tl_local_set_take(local, key, value);
  tl_local_unref(local);
  return status;
}
