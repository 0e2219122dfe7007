/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bench-hotpath: the cost of one peek, get and set on the calling thread's existing dictionary,
 * against what a C programmer would write by hand (a pthread key holding a GHashTable of GVariants)
 * and against the bare TLS primitives (_Thread_local, pthread_getspecific, g_private_get), with 1,
 * 8 and 64 keys per dictionary, all measured in one run. peek-quark reads one well-known key by
 * its quark in a hot loop, the case a bare TLS slot serves: it is set against the primitives.
 *
 * Every variant is measured in every round, round-robin (bench-common.c), and reports the median
 * of its rounds. Runs on a freshly created thread so TLS behaves as it does in a worker.
 * Single-threaded: bench-scaling runs the same loops on two threads and with a million locals.
 *
 *   bench-hotpath [--quick] [--csv PATH]
 *
 * Copyright the libtlslocal authors.
 */
#include <string.h>

#include "bench-common.h"

#define PROGRAM "bench-hotpath"

/* The one-word _Thread_local baseline. Not static, so the compiler cannot prove the barrier leaves
 * it alone and must reload it each iteration, as a real read would. */
extern _Thread_local uintptr_t bench_tls_word;
_Thread_local uintptr_t bench_tls_word = 1;

static pthread_key_t bare_key;
static GPrivate bare_private = G_PRIVATE_INIT(NULL);

#define BARE_LOOP(expression)                                                                      \
  guint64 sum = 0, i;                                                                              \
  for (i = 0; i < iterations; i++) {                                                               \
    sum += (uintptr_t) (expression);                                                               \
    BENCH_BARRIER();                                                                               \
  }                                                                                                \
  return sum

static guint64
loop_thread_local(gconstpointer data, guint64 iterations)
{
  BARE_LOOP(bench_tls_word);
}

static guint64
loop_getspecific(gconstpointer data, guint64 iterations)
{
  BARE_LOOP(pthread_getspecific(bare_key));
}

static guint64
loop_private_get(gconstpointer data, guint64 iterations)
{
  BARE_LOOP(g_private_get(&bare_private));
}

static const guint32 key_counts[] = {1, 8, 64};

/* Each libtlslocal operation and the hand-rolled code it is compared with. */
static const struct {
  const char *op;
  BenchLoop tl_loop;
  const char *base_impl;
  BenchLoop base_loop;
  const char *label;
} pairs[] = {
    {"peek", bench_loop_tl_peek, "hand-rolled", bench_loop_base_lookup, "peek (borrowed read)"},
    {"peek-miss", bench_loop_tl_peek_miss, "hand-rolled", bench_loop_base_lookup_miss,
     "peek of a missing key"},
    {"get", bench_loop_tl_get, "hand-rolled", bench_loop_base_get, "get (new ref + unref)"},
    {"set", bench_loop_tl_set, "hand-rolled", bench_loop_base_set, "set vs insert(strdup) [1]"},
    {"set", NULL, "hand-rolled steal+insert", bench_loop_base_set_steal, "set vs steal+insert [2]"},
    {"set", NULL, "hand-rolled in-place", bench_loop_base_set_inplace, "set vs in-place swap [3]"},
};

static const struct {
  const char *impl;
  BenchLoop loop;
} primitives[] = {
    {"_Thread_local", loop_thread_local},
    {"pthread_getspecific", loop_getspecific},
    {"g_private_get", loop_private_get},
    {"loop overhead", bench_loop_overhead},
};

static void
print_table(const BenchRun *run)
{
  const BenchVariant *tls = bench_run_find(run, "primitive", "_Thread_local");
  const BenchVariant *getspecific = bench_run_find(run, "primitive", "pthread_getspecific");
  gsize p, k;

  printf("\n%-28s %4s %11s %11s %8s %10s %10s\n", "operation", "keys", "libtlslocal", "baseline",
         "tl/base", "tl/TLSvar", "tl/getspec");
  printf("%-28s %4s %11s %11s %8s %10s %10s\n", "", "", "ns/op", "ns/op", "", "", "");
  for (p = 0; p < G_N_ELEMENTS(pairs); p++) {
    for (k = 0; k < G_N_ELEMENTS(key_counts); k++) {
      char *label = g_strdup_printf("%s/%" G_GUINT32_FORMAT, pairs[p].op, key_counts[k]);
      const BenchVariant *tl = bench_run_find(run, label, "libtlslocal");
      const BenchVariant *base = bench_run_find(run, label, pairs[p].base_impl);

      printf("%-28s %4" G_GUINT32_FORMAT " %11.2f %11.2f %8.2f %10.1f %10.1f\n", pairs[p].label,
             key_counts[k], tl->median, base->median, tl->median / base->median,
             tl->median / tls->median, tl->median / getspecific->median);
      g_free(label);
    }
  }
  printf("\n%-28s %4s %11s %10s %10s\n", "peek by quark (one key)", "keys", "ns/op", "/TLSvar",
         "/getspec");
  for (k = 0; k < G_N_ELEMENTS(key_counts); k++) {
    char *label = g_strdup_printf("peek-quark/%" G_GUINT32_FORMAT, key_counts[k]);
    const BenchVariant *quark = bench_run_find(run, label, "libtlslocal");

    printf("%-28s %4" G_GUINT32_FORMAT " %11.2f %10.2f %10.2f\n", "tl_local_peek_quark",
           key_counts[k], quark->median, quark->median / tls->median,
           quark->median / getspecific->median);
    g_free(label);
  }
  printf("\n%-28s %11s\n", "bare primitives", "ns/op");
  for (p = 0; p < G_N_ELEMENTS(primitives); p++)
    printf("%-28s %11.2f\n", primitives[p].impl,
           bench_run_find(run, "primitive", primitives[p].impl)->median);
  printf(
      "\nMedian of %u rounds; tl/base < 1 means libtlslocal is faster. baseline = a pthread key "
      "->\n"
      "GHashTable (g_str_hash, owned keys) -> GVariant: peek = lookup, get = lookup + ref + "
      "unref.\n"
      "tl/TLSvar, tl/getspec: the operation against one bare _Thread_local / pthread_getspecific "
      "read\n"
      "(a single fixed slot: what a per-object dictionary costs over a per-variable one).\n"
      "[1] g_hash_table_insert(t, g_strdup(key), g_variant_ref(v)): the idiom.\n"
      "[2] g_hash_table_steal_extended() then insert under the table's own key: no allocation.\n"
      "[3] lookup a box holding the value, swap the value in place: the same work as tl_local_set\n"
      "    (lookup, store, ref, unref); the target is judged against this one.\n"
      "The loop overhead (key cycling) is in every keyed row on both sides.\n",
      run->rounds);
}

static void
bench_body(gboolean quick, FILE *csv)
{
  BenchFixture *fixtures = g_new(BenchFixture, G_N_ELEMENTS(key_counts));
  guint64 start = bench_now_ns();
  BenchRun run;
  gsize i, p;

  if (pthread_key_create(&bare_key, NULL) != 0)
    bench_die(PROGRAM, "pthread_key_create failed");
  pthread_setspecific(bare_key, &bare_key);
  g_private_set(&bare_private, &bare_private);

  bench_run_init(&run, PROGRAM, quick);
  for (i = 0; i < G_N_ELEMENTS(key_counts); i++) {
    bench_fixture_init(&fixtures[i], NULL, key_counts[i]);
    for (p = 0; p < G_N_ELEMENTS(pairs); p++) {
      char *label = g_strdup_printf("%s/%" G_GUINT32_FORMAT, pairs[p].op, key_counts[i]);

      if (pairs[p].tl_loop != NULL)
        bench_run_add(&run, "hotpath", label, "libtlslocal", pairs[p].tl_loop, &fixtures[i]);
      bench_run_add(&run, "hotpath", label, pairs[p].base_impl, pairs[p].base_loop, &fixtures[i]);
      g_free(label);
    }
  }
  for (i = 0; i < G_N_ELEMENTS(key_counts); i++) {
    char *label = g_strdup_printf("peek-quark/%" G_GUINT32_FORMAT, key_counts[i]);

    bench_run_add(&run, "hotpath", label, "libtlslocal", bench_loop_tl_peek_quark, &fixtures[i]);
    g_free(label);
  }
  /* The overhead row cycles over the largest key set; the choice of set does not change its
   * cost. */
  for (p = 0; p < G_N_ELEMENTS(primitives); p++)
    bench_run_add(&run, "hotpath", "primitive", primitives[p].impl, primitives[p].loop,
                  &fixtures[G_N_ELEMENTS(key_counts) - 1]);

  bench_run_measure(&run);
  for (i = 0; i < G_N_ELEMENTS(key_counts); i++)
    bench_fixture_check(&fixtures[i]); /* the sets replaced values, never lost a key */

  bench_print_machine(PROGRAM);
  printf("%u rounds x %.0f ms per variant, %.1f s\n", run.rounds, run.target_ns / 1e6,
         (double) (bench_now_ns() - start) / 1e9);
  print_table(&run);
  bench_csv_run(csv, &run);

  for (i = 0; i < G_N_ELEMENTS(key_counts); i++)
    bench_fixture_clear(&fixtures[i]);
  bench_run_clear(&run);
  g_free(fixtures);
}

int
main(int argc, char **argv)
{
  return bench_main(argc, argv, PROGRAM, NULL, bench_body);
}
