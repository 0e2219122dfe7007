/* SPDX-License-Identifier: LGPL-2.1-or-later */
// Both public headers must compile as C++ (extern "C", no C-only constructs).
#include <tlslocal-glib.h>
#include <tlslocal.h>

int
main()
{
  TlValue *value = tl_value_new_int64(42);
  GVariant *variant = tl_value_dup_gvariant(value);
  int ok = variant != nullptr && g_variant_get_int64(variant) == 42;

  g_variant_unref(variant);
  tl_value_unref(value);
  return ok ? 0 : 1;
}
