/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The depth of serialised bytes (_tl_serialised_depth, read in place for tl_value_deserialize())
 * against the depth of the same value walked through GLib (_tl_variant_depth), on random values
 * of every container kind: arrays of fixed and variable-size items (1-, 2- and 4-byte framing
 * offsets), tuples with and without framing offsets, dict entries, maybes, and chains of variants
 * around the limit. Links the library's objects statically to reach both.
 *
 * Copyright the libtlslocal authors. */
#include <stdio.h>
#include <string.h>

#include "tl-value-private.h"

#define N_VALUES 3000

static int failures;

static GVariant *random_value(GRand *rand, int budget);

/* A container of variable-size items, sometimes big enough for 2- or 4-byte framing offsets. */
static GVariant *
random_array(GRand *rand, int budget)
{
  GVariantBuilder builder;
  int n = g_rand_int_range(rand, 0, 5), i;

  if (g_rand_int_range(rand, 0, 8) == 0) { /* strings past 255 or 65535 bytes in all */
    GString *text = g_string_new(NULL);
    gsize length = g_rand_boolean(rand) ? 300 : 70000;

    g_variant_builder_init(&builder, G_VARIANT_TYPE("av"));
    while (text->len < length)
      g_string_append(text, "0123456789");
    g_variant_builder_add(&builder, "v", g_variant_new_string(text->str));
    g_variant_builder_add(&builder, "v", random_value(rand, budget - 1));
    g_string_free(text, TRUE);
    return g_variant_builder_end(&builder);
  }
  g_variant_builder_init(&builder, G_VARIANT_TYPE("av"));
  for (i = 0; i < n; i++)
    g_variant_builder_add(&builder, "v", random_value(rand, budget - 1));
  return g_variant_builder_end(&builder);
}

static GVariant *
random_value(GRand *rand, int budget)
{
  GVariantBuilder builder;
  int i, n;

  if (budget <= 0)
    return g_variant_new_int32(g_rand_int(rand));
  switch (g_rand_int_range(rand, 0, 12)) {
  case 0: return g_variant_new_string("s");
  case 1: return g_variant_new_int64(7);
  case 2: return g_variant_new_variant(random_value(rand, budget - 1));
  case 3: return random_array(rand, budget);
  case 4: /* a tuple with fixed and variable members: framing offsets for all but the last */
    return g_variant_new("(yvsv)", 1, random_value(rand, budget - 1), "x",
                         random_value(rand, budget - 1));
  case 5: /* a tuple whose last member is fixed: every variable one framed */
    return g_variant_new("(vyvx)", random_value(rand, budget - 1), 2,
                         random_value(rand, budget - 1), (gint64) 3);
  case 6:
    g_variant_builder_init(&builder, G_VARIANT_TYPE("a{sv}"));
    n = g_rand_int_range(rand, 0, 4);
    for (i = 0; i < n; i++) {
      char key[16];

      snprintf(key, sizeof key, "k%d", i);
      g_variant_builder_add(&builder, "{sv}", key, random_value(rand, budget - 1));
    }
    return g_variant_builder_end(&builder);
  case 7:
    return g_variant_new_maybe(
        G_VARIANT_TYPE_VARIANT,
        g_rand_boolean(rand) ? g_variant_new_variant(random_value(rand, budget - 1)) : NULL);
  case 8: /* fixed-size items around variants: a(iv) is variable, a(ii) fixed */
    g_variant_builder_init(&builder, G_VARIANT_TYPE("a(iv)"));
    n = g_rand_int_range(rand, 0, 3);
    for (i = 0; i < n; i++)
      g_variant_builder_add(&builder, "(iv)", i, random_value(rand, budget - 1));
    return g_variant_builder_end(&builder);
  case 9: return g_variant_new("(a(ii)v)", NULL, random_value(rand, budget - 1));
  case 10: { /* a chain of variants near the limit */
    GVariant *value = g_variant_new_int32(1);
    int levels = g_rand_int_range(rand, 100, 135);

    for (i = 0; i < levels; i++)
      value = g_variant_new_variant(value);
    return value;
  }
  default: return g_variant_new("mv", g_variant_new_variant(g_variant_new_boolean(TRUE)));
  }
}

int
main(void)
{
  GRand *rand = g_rand_new_with_seed(20261203);
  int i;

  for (i = 0; i < N_VALUES; i++) {
    GVariant *value = g_variant_ref_sink(random_value(rand, g_rand_int_range(rand, 1, 7)));
    GVariant *normal = g_variant_get_normal_form(value);
    guint by_glib = MIN(_tl_variant_depth(normal, 0), TL_VALUE_MAX_DEPTH + 1);
    guint by_bytes =
        MIN(_tl_serialised_depth(g_variant_get_type_string(normal), g_variant_get_data(normal),
                                 g_variant_get_size(normal)),
            TL_VALUE_MAX_DEPTH + 1);

    if (by_glib != by_bytes) {
      char *text = g_variant_print(normal, TRUE);

      fprintf(stderr, "value %d (%s, %zu bytes): GLib walk %u, byte walk %u: %.300s\n", i,
              g_variant_get_type_string(normal), g_variant_get_size(normal), by_glib, by_bytes,
              text);
      g_free(text);
      failures++;
    }
    g_variant_unref(normal);
    g_variant_unref(value);
  }
  g_rand_free(rand);
  printf("%d values, %d disagreements\n", N_VALUES, failures);
  return failures == 0 ? 0 : 1;
}
