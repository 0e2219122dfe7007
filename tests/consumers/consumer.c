/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A user of tlslocal.h alone, as the package tests build it (pkg-config, CMake, a meson parent
 * project): stores and reads back a value, and prints the library's version and the header's. */
#include <stdint.h>
#include <stdio.h>

#include <tlslocal.h>

int
main(void)
{
  TlLocal *local = tl_local_new();
  TlValue *value;
  int64_t n = 0;

  if (local == NULL || tl_local_set_int64(local, "n", 42) != TL_OK ||
      (value = tl_local_peek(local, "n")) == NULL || tl_value_get_int64(value, &n) != TL_OK ||
      n != 42) {
    fprintf(stderr, "consumer: %s\n", tl_last_error_message());
    return 1;
  }
  tl_local_unref(local);
  if (!tl_version_check(TL_VERSION_MAJOR, TL_VERSION_MINOR, TL_VERSION_MICRO)) {
    fprintf(stderr, "consumer: library %s, header %s\n", tl_version(), TL_VERSION_STRING);
    return 1;
  }
  printf("consumer: libtlslocal %s (header %s): n = %d\n", tl_version(), TL_VERSION_STRING,
         (int) n);
  return 0;
}
