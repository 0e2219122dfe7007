/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tl-registry-helper: "C code linked against the system's libtlslocal", for the one-registry-per-
 * process tests of the packaged bindings (the Python wheel's tests/package/wheel-check.py, and the
 * npm package's). A test loads it first, so that its libtlslocal.so.1 is mapped, then imports the
 * binding, which must use that library rather than map its bundled copy beside it; the two then
 * share named locals, and tl_version() resolves in one file.
 *
 * Built by the test scripts themselves, never by meson, because it must link the installed copy:
 *   cc -shared -fPIC -o libtl-registry-helper.so tl-registry-helper.c \
 *       $(pkg-config --cflags --libs tlslocal) -Wl,-rpath,<the installed libdir>
 *
 * Its whole API (plain C types, for ctypes and koffi alike; thread-safe as libtlslocal is):
 *   int registry_helper_set(const char *name, const char *key, const char *text)
 *       tl_local_open(name), then key = the string text in the calling thread's dictionary.
 *       @return TL_OK or the negative TL_ERR_* status of the failed call.
 *   int registry_helper_get(const char *name, const char *key, char *out, size_t size)
 *       copies the calling thread's string under key of the named local into out, truncated to
 *       size - 1 bytes and NUL-terminated. @return the string's whole length; TL_ERR_NOT_FOUND
 *       when the thread has no such key, TL_ERR_WRONG_TYPE when it is not a string, another
 *       negative TL_ERR_* status on other failures.
 *   const char *registry_helper_library(void)
 *       the file tl_version() is resolved in, as dladdr() names it (static storage), or "" when
 *       dladdr cannot say.
 */
#define _GNU_SOURCE /* dladdr */
#include <dlfcn.h>
#include <string.h>

#include <tlslocal.h>

#define HELPER_API __attribute__((visibility("default")))

HELPER_API int registry_helper_set(const char *name, const char *key, const char *text);
int
registry_helper_set(const char *name, const char *key, const char *text)
{
  TlLocal *local = tl_local_open(name);
  int status;

  if (local == NULL)
    return tl_last_error();
  status = tl_local_set_string(local, key, text);
  tl_local_unref(local);
  return status;
}

HELPER_API int registry_helper_get(const char *name, const char *key, char *out, size_t size);
int
registry_helper_get(const char *name, const char *key, char *out, size_t size)
{
  TlLocal *local = tl_local_open(name);
  TlValue *value = NULL;
  const char *text;
  size_t length;
  int status;

  if (local == NULL)
    return tl_last_error();
  status = tl_local_get(local, key, &value);
  tl_local_unref(local);
  if (status != TL_OK)
    return status;
  status = tl_value_get_string(value, &text);
  if (status == TL_OK) {
    length = strlen(text);
    if (size > 0) {
      size_t copied = length < size - 1 ? length : size - 1;
      memcpy(out, text, copied);
      out[copied] = '\0';
    }
    status = length > (size_t) 0x7fffffff ? TL_ERR_OUT_OF_RANGE : (int) length;
  }
  tl_value_unref(value);
  return status;
}

HELPER_API const char *registry_helper_library(void);
const char *
registry_helper_library(void)
{
  Dl_info info;

  /* Through a data pointer, as ISO C has no function-to-object pointer cast. */
  const char *(*version)(void) = tl_version;
  void *address;

  memcpy(&address, &version, sizeof address);
  if (dladdr(address, &info) == 0 || info.dli_fname == NULL)
    return "";
  return info.dli_fname;
}
