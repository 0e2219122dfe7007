/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A user of tlslocal-glib.h, as the package tests build it (pkg-config's tlslocal-glib, CMake's
 * tlslocal::glib, meson's tlslocal-glib): a GVariant in and out of a local. */
#include <stdio.h>

#include <tlslocal-glib.h>

int
main(void)
{
  TlLocal *local = tl_local_new();
  TlValue *value = tl_value_new_from_gvariant(g_variant_new("(si)", "answer", 42));
  GVariant *back;
  const char *word = NULL;
  gint32 n = 0;

  if (local == NULL || value == NULL || tl_local_set(local, "v", value) != TL_OK) {
    fprintf(stderr, "consumer-glib: %s\n", tl_last_error_message());
    return 1;
  }
  tl_value_unref(value);
  back = tl_value_dup_gvariant(tl_local_peek(local, "v"));
  if (back == NULL) {
    fprintf(stderr, "consumer-glib: %s\n", tl_last_error_message());
    return 1;
  }
  g_variant_get(back, "(&si)", &word, &n);
  printf("consumer-glib: libtlslocal %s: (%s, %d)\n", tl_version(), word, (int) n);
  g_variant_unref(back);
  tl_local_unref(local);
  return 0;
}
