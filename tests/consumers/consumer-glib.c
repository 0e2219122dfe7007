/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A user of tlslocal-glib.h, as the package tests build it (pkg-config's tlslocal-glib, CMake's
 * tlslocal::glib, meson's tlslocal-glib; the Debian packages' test, debian/tests/consumers, too):
 * a GVariant into a local and back out. Exits nonzero on any mismatch. */
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
    fprintf(stderr, "%s\n", tl_last_error_message());
    return 1;
  }
  tl_value_unref(value);
  back = tl_value_dup_gvariant(tl_local_peek(local, "v"));
  if (back == NULL) {
    fprintf(stderr, "%s\n", tl_last_error_message());
    return 1;
  }
  g_variant_get(back, "(&si)", &word, &n);
  if (g_strcmp0(word, "answer") != 0 || n != 42) {
    fprintf(stderr, "read back (%s, %d)\n", word, (int) n);
    return 1;
  }
  printf("libtlslocal %s with GLib: (%s, %d) in and out of a local\n", tl_version(), word, (int) n);
  g_variant_unref(back);
  tl_local_unref(local);
  tl_thread_clear();
  return 0;
}
