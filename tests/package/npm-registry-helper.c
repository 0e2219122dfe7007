/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* C code linked against a system-style install of libtlslocal, for tests/package/npm-registry.sh:
 * node loads it before require('tlslocal'), so that install's libtlslocal.so.1 is mapped first, and
 * the binding must then use that copy rather than its bundled one. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>
#include <tlslocal.h>

#define HELPER_API __attribute__((visibility("default")))

/* Store a string under key in the named local, for the calling thread.
 * @return a tl status. */
HELPER_API int
helper_set(const char *name, const char *key, const char *value)
{
  TlLocal *local = tl_local_open(name);
  int status;
  if (local == NULL)
    return tl_last_error();
  status = tl_local_set_string(local, key, value);
  tl_local_unref(local);
  return status;
}

/* The calling thread's string under key in the named local.
 * @return borrowed, valid until this thread changes that key; NULL if absent or not a string. */
HELPER_API const char *
helper_get(const char *name, const char *key)
{
  TlLocal *local = tl_local_open(name);
  const char *string = NULL;
  TlValue *value;
  if (local == NULL)
    return NULL;
  value = tl_local_peek(local, key);
  if (value == NULL || tl_value_get_string(value, &string) != TL_OK)
    string = NULL;
  tl_local_unref(local); /* the registry keeps the named local, and so value, alive */
  return string;
}

/* The file that this helper's tl_version() resolved to, as the dynamic linker names it. */
HELPER_API const char *
helper_version_file(void)
{
  Dl_info info;
  /* A function's address as a void *: POSIX makes that conversion work (dlsym relies on it). */
  return dladdr((void *) tl_version, &info) ? info.dli_fname : NULL;
}
