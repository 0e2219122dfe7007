/* bench-hotpath: the cost of one peek, get and set on the calling thread's existing dictionary,
 * against what a C programmer would write by hand (a pthread key holding a GHashTable of GVariants)
 * and against the bare TLS primitives, all measured in one run.
 *
 * Every variant is measured in every round, round-robin (each round starting one variant further),
 * so drift in clock speed or machine load spreads over all variants instead of biasing one; each
 * variant reports the median of its rounds. Runs on a freshly created thread so TLS behaves as it
 * does in a worker. Single-threaded by design: scaling across threads is another program's job.
 *
 *   bench-hotpath [--quick] [--csv PATH]
 *
 * Copyright the libtlslocal authors. SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <glib.h>
#include <tlslocal.h>

/* The compiler must assume memory changed: every iteration redoes its loads. Costs no instruction. */
#define BENCH_BARRIER() __asm__ volatile("" ::: "memory")

#define MAX_KEYS 64
#define KEY_BUFFER 16

/* The one-word _Thread_local baseline. Not static, so the compiler cannot prove the barrier leaves it
 * alone and must reload it each iteration, as a real read would. */
extern _Thread_local uintptr_t bench_tls_word;
_Thread_local uintptr_t bench_tls_word = 1;

/* One dictionary size: a libtlslocal local and the hand-rolled tables, filled with the same keys. */
typedef struct {
  guint32 n_keys; /* a power of two, so the key in use cycles with a mask */
  TlLocal *local;
  TlValue *tl_value; /* prebuilt value that set stores */
  /* Hand-rolled: pthread key -> GHashTable (owned "keyN" -> GVariant reference). */
  pthread_key_t table_key;
  /* Hand-rolled, tuned for set: pthread key -> GHashTable (owned "keyN" -> Box), value swapped in
   * place in its box. */
  pthread_key_t box_key;
  GVariant *variant; /* prebuilt value that the baseline sets store */
  /* Lookup keys live in a buffer neither side owns: no pointer-equality shortcut for anyone. */
  char lookup_buffer[MAX_KEYS][KEY_BUFFER];
  const char *lookup_keys[MAX_KEYS];
  /* As many keys that no dictionary holds ("miss0", ...), for the failure path of peek. */
  char miss_buffer[MAX_KEYS][KEY_BUFFER];
  const char *miss_keys[MAX_KEYS];
} Fixture;

typedef struct {
  GVariant *value; /* owned reference */
} Box;

static pthread_key_t bare_key;
static GPrivate bare_private = G_PRIVATE_INIT(NULL);

typedef guint64 (*LoopFunc)(const Fixture *fixture, guint64 iterations);

typedef enum { IMPL_TL, IMPL_BASE, IMPL_REFERENCE } Impl;

typedef struct {
  const char *op;    /* peek, peek-miss, get, set, set-inplace, or a reference primitive */
  Impl impl;
  const Fixture *fixture; /* NULL for the bare primitives */
  LoopFunc loop;
  guint64 iterations; /* per measurement, from calibration */
  double *samples;    /* ns/op, one per round */
  double median, min, max, p25, p75;
} Variant;

static volatile guint64 bench_sink;

static guint64
now_ns(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (guint64) ts.tv_sec * G_GUINT64_CONSTANT(1000000000) + (guint64) ts.tv_nsec;
}

/* ---- the measured loops: one function each, so the per-op body has no indirect call ----
 * Every keyed loop picks the next key the same way (an array load and a mask), so the shared loop
 * overhead is the same on both sides and is measured on its own as the "loop overhead" row. */

#define KEYED_LOOP_OVER(key_array, body)                                                           \
  const char *const *keys = fixture->key_array;                                                    \
  const guint64 mask = fixture->n_keys - 1;                                                        \
  guint64 sum = 0, i;                                                                              \
  for (i = 0; i < iterations; i++) {                                                               \
    const char *key = keys[i & mask];                                                              \
    body;                                                                                          \
    BENCH_BARRIER();                                                                               \
  }                                                                                                \
  return sum
#define KEYED_LOOP(body) KEYED_LOOP_OVER(lookup_keys, body)

static guint64
loop_tl_peek(const Fixture *fixture, guint64 iterations)
{
  TlLocal *local = fixture->local;

  KEYED_LOOP(sum += (uintptr_t) tl_local_peek(local, key));
}

static guint64
loop_tl_peek_miss(const Fixture *fixture, guint64 iterations)
{
  TlLocal *local = fixture->local;

  KEYED_LOOP_OVER(miss_keys, sum += (uintptr_t) tl_local_peek(local, key));
}

static guint64
loop_tl_get(const Fixture *fixture, guint64 iterations)
{
  TlLocal *local = fixture->local;

  KEYED_LOOP({
    TlValue *value;
    sum += (guint64) tl_local_get(local, key, &value) + (uintptr_t) value;
    tl_value_unref(value);
  });
}

static guint64
loop_tl_set(const Fixture *fixture, guint64 iterations)
{
  TlLocal *local = fixture->local;
  TlValue *value = fixture->tl_value;

  /* Statuses are summed: the run checks the sum is 0, i.e. every set succeeded. */
  KEYED_LOOP(sum += (guint64) (guint32) tl_local_set(local, key, value));
}

static guint64
loop_base_lookup(const Fixture *fixture, guint64 iterations)
{
  pthread_key_t table_key = fixture->table_key;

  KEYED_LOOP(sum += (uintptr_t) g_hash_table_lookup(pthread_getspecific(table_key), key));
}

static guint64
loop_base_lookup_miss(const Fixture *fixture, guint64 iterations)
{
  pthread_key_t table_key = fixture->table_key;

  KEYED_LOOP_OVER(miss_keys, sum += (uintptr_t) g_hash_table_lookup(pthread_getspecific(table_key), key));
}

static guint64
loop_base_get(const Fixture *fixture, guint64 iterations)
{
  pthread_key_t table_key = fixture->table_key;

  KEYED_LOOP({
    GVariant *value = g_hash_table_lookup(pthread_getspecific(table_key), key);
    if (value != NULL)
      g_variant_ref(value);
    sum += (uintptr_t) value;
    if (value != NULL)
      g_variant_unref(value);
  });
}

/* "Set an existing key to a prebuilt value" as it is normally written for a GHashTable that owns its
 * keys (key_destroy g_free, value_destroy g_variant_unref): g_hash_table_insert() with a g_strdup'd
 * key. The caller does not know (or check) whether the key exists; when it does, GLib keeps the
 * table's key, frees the new copy and unrefs the old value. So the idiom pays a malloc + free per set,
 * which libtlslocal's set (copying the key only when it is new) avoids; the set-inplace row below
 * shows the tuned alternative without that cost. */
static guint64
loop_base_set(const Fixture *fixture, guint64 iterations)
{
  pthread_key_t table_key = fixture->table_key;
  GVariant *value = fixture->variant;

  KEYED_LOOP({
    g_hash_table_insert(pthread_getspecific(table_key), g_strdup(key), g_variant_ref(value));
    sum += 1;
  });
}

/* The tuned hand-rolled set a programmer writes once profiling shows the strdup: values live in
 * boxes, so an existing key costs one lookup and a pointer swap (new reference taken first, old one
 * dropped after, as libtlslocal does). */
static guint64
loop_base_set_inplace(const Fixture *fixture, guint64 iterations)
{
  pthread_key_t box_key = fixture->box_key;
  GVariant *value = fixture->variant;

  KEYED_LOOP({
    Box *box = g_hash_table_lookup(pthread_getspecific(box_key), key);
    GVariant *old = box->value;
    box->value = g_variant_ref(value);
    g_variant_unref(old);
    sum += 1;
  });
}

static guint64
loop_overhead(const Fixture *fixture, guint64 iterations)
{
  KEYED_LOOP(sum += (uintptr_t) key);
}

#define BARE_LOOP(expression)                                                                      \
  guint64 sum = 0, i;                                                                              \
  for (i = 0; i < iterations; i++) {                                                               \
    sum += (uintptr_t) (expression);                                                               \
    BENCH_BARRIER();                                                                               \
  }                                                                                                \
  return sum

static guint64
loop_thread_local(const Fixture *fixture, guint64 iterations)
{
  BARE_LOOP(bench_tls_word);
}

static guint64
loop_getspecific(const Fixture *fixture, guint64 iterations)
{
  BARE_LOOP(pthread_getspecific(bare_key));
}

static guint64
loop_private_get(const Fixture *fixture, guint64 iterations)
{
  BARE_LOOP(g_private_get(&bare_private));
}

/* ---- setup ---- */

static void
die(const char *what)
{
  fprintf(stderr, "bench-hotpath: %s\n", what);
  exit(1);
}

static void
box_free(gpointer data)
{
  Box *box = data;

  g_variant_unref(box->value);
  g_free(box);
}

static void
table_destroy(void *table)
{
  g_hash_table_unref(table);
}

static void
fixture_init(Fixture *fixture, guint32 n_keys)
{
  GHashTable *table, *boxes;
  guint32 i;

  memset(fixture, 0, sizeof *fixture);
  fixture->n_keys = n_keys;
  fixture->local = tl_local_new();
  fixture->tl_value = tl_value_new_int64(-1);
  fixture->variant = g_variant_ref_sink(g_variant_new_int64(-1));
  if (fixture->local == NULL || fixture->tl_value == NULL)
    die("cannot create the local or its value");
  if (pthread_key_create(&fixture->table_key, table_destroy) != 0 ||
      pthread_key_create(&fixture->box_key, table_destroy) != 0)
    die("pthread_key_create failed");
  table = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_variant_unref);
  boxes = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, box_free);
  pthread_setspecific(fixture->table_key, table);
  pthread_setspecific(fixture->box_key, boxes);

  for (i = 0; i < n_keys; i++) {
    TlValue *value = tl_value_new_int64(i);
    Box *box = g_new(Box, 1);

    g_snprintf(fixture->lookup_buffer[i], KEY_BUFFER, "key%" G_GUINT32_FORMAT, i);
    fixture->lookup_keys[i] = fixture->lookup_buffer[i];
    g_snprintf(fixture->miss_buffer[i], KEY_BUFFER, "miss%" G_GUINT32_FORMAT, i);
    fixture->miss_keys[i] = fixture->miss_buffer[i];
    if (tl_local_set(fixture->local, fixture->lookup_keys[i], value) != TL_OK)
      die(tl_last_error_message());
    tl_value_unref(value);
    g_hash_table_insert(table, g_strdup(fixture->lookup_keys[i]),
                        g_variant_ref_sink(g_variant_new_int64(i)));
    box->value = g_variant_ref_sink(g_variant_new_int64(i));
    g_hash_table_insert(boxes, g_strdup(fixture->lookup_keys[i]), box);
  }
}

/* Every variant must find every key before its time means anything. */
static void
fixture_check(const Fixture *fixture)
{
  GHashTable *table = pthread_getspecific(fixture->table_key);
  GHashTable *boxes = pthread_getspecific(fixture->box_key);
  size_t size = 0;
  guint32 i;

  if (tl_local_size(fixture->local, &size) != TL_OK || size != fixture->n_keys ||
      g_hash_table_size(table) != fixture->n_keys || g_hash_table_size(boxes) != fixture->n_keys)
    die("a dictionary does not hold the expected keys");
  for (i = 0; i < fixture->n_keys; i++) {
    const char *key = fixture->lookup_keys[i];

    const char *miss = fixture->miss_keys[i];

    if (tl_local_peek(fixture->local, key) == NULL || g_hash_table_lookup(table, key) == NULL ||
        g_hash_table_lookup(boxes, key) == NULL)
      die("a key is missing from a dictionary");
    if (tl_local_peek(fixture->local, miss) != NULL || g_hash_table_lookup(table, miss) != NULL)
      die("a dictionary holds a key it should not");
  }
}

static void
fixture_clear(Fixture *fixture)
{
  tl_local_unref(fixture->local);
  tl_value_unref(fixture->tl_value);
  g_variant_unref(fixture->variant);
  table_destroy(pthread_getspecific(fixture->table_key));
  table_destroy(pthread_getspecific(fixture->box_key));
  pthread_setspecific(fixture->table_key, NULL);
  pthread_setspecific(fixture->box_key, NULL);
  pthread_key_delete(fixture->table_key);
  pthread_key_delete(fixture->box_key);
}

/* ---- measurement ---- */

typedef struct {
  gboolean quick;
  const char *csv_path;
  FILE *csv; /* opened before the run, so a bad path fails at once */
  guint rounds;
  double target_ns; /* per measurement */
  Variant *variants;
  guint n_variants;
} Run;

static double
measure(Variant *variant, guint64 iterations)
{
  guint64 start, elapsed, sum;

  start = now_ns();
  sum = variant->loop(variant->fixture, iterations);
  elapsed = now_ns() - start;
  bench_sink += sum;
  if (variant->loop == loop_tl_set && sum != 0)
    die("tl_local_set failed during the run");
  return (double) elapsed;
}

/* Double the iterations until a measurement is long enough to trust, then scale to the target.
 * This also warms caches and branch predictors before the first round. */
static void
calibrate(Variant *variant, double target_ns)
{
  guint64 iterations = 64;

  for (;;) {
    double elapsed = measure(variant, iterations);

    if (elapsed >= target_ns / 8 || iterations >= G_GUINT64_CONSTANT(1) << 40) {
      double scaled = (double) iterations * target_ns / MAX(elapsed, 1.0);
      variant->iterations = MAX((guint64) scaled, 1);
      measure(variant, variant->iterations);
      return;
    }
    iterations *= 2;
  }
}

static int
compare_doubles(const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return (x > y) - (x < y);
}

static double
quantile(const double *sorted, guint n, double q)
{
  double position = q * (n - 1);
  guint below = (guint) position;
  double fraction = position - below;

  if (below + 1 >= n)
    return sorted[n - 1];
  return sorted[below] * (1 - fraction) + sorted[below + 1] * fraction;
}

static void
summarise(Variant *variant, guint rounds)
{
  double *sorted = g_memdup2(variant->samples, rounds * sizeof *sorted);

  qsort(sorted, rounds, sizeof *sorted, compare_doubles);
  variant->min = sorted[0];
  variant->max = sorted[rounds - 1];
  variant->median = quantile(sorted, rounds, 0.5);
  variant->p25 = quantile(sorted, rounds, 0.25);
  variant->p75 = quantile(sorted, rounds, 0.75);
  g_free(sorted);
}

/* ---- output ---- */

static const char *
impl_name(Impl impl)
{
  switch (impl) {
  case IMPL_TL:
    return "libtlslocal";
  case IMPL_BASE:
    return "hand-rolled";
  default:
    return "reference";
  }
}

static const Variant *
find_variant(const Run *run, const char *op, Impl impl, guint32 n_keys)
{
  guint i;

  for (i = 0; i < run->n_variants; i++) {
    const Variant *v = &run->variants[i];
    if (strcmp(v->op, op) == 0 && v->impl == impl &&
        (impl == IMPL_REFERENCE || v->fixture->n_keys == n_keys))
      return v;
  }
  return NULL;
}

static const struct {
  const char *op, *tl_op, *label;
} table_rows[] = {
  {"peek", "peek", "peek (borrowed read)"},
  {"peek-miss", "peek-miss", "peek missing key"},
  {"get", "get", "get (new ref + unref)"},
  {"set", "set", "set existing key"},
  {"set-inplace", "set", "set existing key [1]"},
};

static const struct {
  const char *op, *label;
} reference_rows[] = {
  {"thread-local", "_Thread_local variable read"},
  {"pthread-getspecific", "pthread_getspecific"},
  {"g-private-get", "g_private_get"},
  {"loop-overhead", "loop overhead (key cycling) [2]"},
};

static const guint32 key_counts[] = {1, 8, 64};

static void
print_table(const Run *run)
{
  gsize r, k;

  printf("\n%-24s %4s %12s %12s %8s\n", "operation", "keys", "libtlslocal", "hand-rolled", "tl/base");
  printf("%-24s %4s %12s %12s %8s\n", "", "", "ns/op", "ns/op", "");
  for (r = 0; r < G_N_ELEMENTS(table_rows); r++) {
    for (k = 0; k < G_N_ELEMENTS(key_counts); k++) {
      const Variant *tl = find_variant(run, table_rows[r].tl_op, IMPL_TL, key_counts[k]);
      const Variant *base = find_variant(run, table_rows[r].op, IMPL_BASE, key_counts[k]);

      printf("%-24s %4" G_GUINT32_FORMAT " %12.2f %12.2f %8.2f\n", table_rows[r].label, key_counts[k],
             tl->median, base->median, tl->median / base->median);
    }
  }
  printf("\n%-42s %8s\n", "bare primitives (reference)", "ns/op");
  for (r = 0; r < G_N_ELEMENTS(reference_rows); r++) {
    const Variant *v = find_variant(run, reference_rows[r].op, IMPL_REFERENCE, 0);
    printf("%-42s %8.2f\n", reference_rows[r].label, v->median);
  }
  printf("\nMedian of %u rounds per variant; tl/base < 1 means libtlslocal is faster.\n"
         "hand-rolled = pthread key -> GHashTable (g_str_hash, owned keys) -> GVariant; peek = lookup\n"
         "(of a key the dict lacks, for a miss), get = lookup + g_variant_ref/unref,\n"
         "set = g_hash_table_insert(t, g_strdup(key), ref(v)).\n"
         "[1] same libtlslocal set, against the tuned hand-rolled set: lookup a box, swap the value in\n"
         "    place (no key copy).\n"
         "[2] included in every keyed row on both sides.\n",
         run->rounds);
}

static void
write_csv(const Run *run)
{
  FILE *file = run->csv;
  guint i;

  fprintf(file, "operation,keys,implementation,median_ns,p25_ns,p75_ns,min_ns,max_ns,rounds,"
                "iterations_per_round\n");
  for (i = 0; i < run->n_variants; i++) {
    const Variant *v = &run->variants[i];
    fprintf(file, "%s,%" G_GUINT32_FORMAT ",%s,%.3f,%.3f,%.3f,%.3f,%.3f,%u,%" G_GUINT64_FORMAT "\n",
            v->op, v->fixture != NULL ? v->fixture->n_keys : 0, impl_name(v->impl), v->median,
            v->p25, v->p75, v->min, v->max, run->rounds, v->iterations);
  }
  if (fclose(file) != 0) {
    fprintf(stderr, "bench-hotpath: cannot write %s: %s\n", run->csv_path, g_strerror(errno));
    exit(1);
  }
}

/* ---- the run, on its own thread ---- */

static void
add_variant(Run *run, const char *op, Impl impl, const Fixture *fixture, LoopFunc loop)
{
  Variant *v = &run->variants[run->n_variants++];

  memset(v, 0, sizeof *v);
  v->op = op;
  v->impl = impl;
  v->fixture = fixture;
  v->loop = loop;
  v->samples = g_new0(double, run->rounds);
}

static void *
bench_thread(void *data)
{
  Run *run = data;
  Fixture *fixtures = g_new(Fixture, G_N_ELEMENTS(key_counts));
  guint64 start = now_ns();
  gboolean progress = !run->quick && isatty(STDERR_FILENO);
  guint i, round;

  if (pthread_key_create(&bare_key, NULL) != 0)
    die("pthread_key_create failed");
  pthread_setspecific(bare_key, &bare_key);
  g_private_set(&bare_private, &bare_private);

  run->variants = g_new(Variant, 32);
  for (i = 0; i < G_N_ELEMENTS(key_counts); i++) {
    Fixture *f = &fixtures[i];

    fixture_init(f, key_counts[i]);
    fixture_check(f);
    add_variant(run, "peek", IMPL_TL, f, loop_tl_peek);
    add_variant(run, "peek", IMPL_BASE, f, loop_base_lookup);
    add_variant(run, "peek-miss", IMPL_TL, f, loop_tl_peek_miss);
    add_variant(run, "peek-miss", IMPL_BASE, f, loop_base_lookup_miss);
    add_variant(run, "get", IMPL_TL, f, loop_tl_get);
    add_variant(run, "get", IMPL_BASE, f, loop_base_get);
    add_variant(run, "set", IMPL_TL, f, loop_tl_set);
    add_variant(run, "set", IMPL_BASE, f, loop_base_set);
    add_variant(run, "set-inplace", IMPL_BASE, f, loop_base_set_inplace);
  }
  /* The overhead row cycles over the largest key set; the choice of set does not change its cost. */
  add_variant(run, "loop-overhead", IMPL_REFERENCE, &fixtures[G_N_ELEMENTS(key_counts) - 1],
              loop_overhead);
  add_variant(run, "thread-local", IMPL_REFERENCE, NULL, loop_thread_local);
  add_variant(run, "pthread-getspecific", IMPL_REFERENCE, NULL, loop_getspecific);
  add_variant(run, "g-private-get", IMPL_REFERENCE, NULL, loop_private_get);

  for (i = 0; i < run->n_variants; i++)
    calibrate(&run->variants[i], run->target_ns);

  for (round = 0; round < run->rounds; round++) {
    for (i = 0; i < run->n_variants; i++) {
      Variant *v = &run->variants[(round + i) % run->n_variants];
      v->samples[round] = measure(v, v->iterations) / (double) v->iterations;
    }
    if (progress)
      fprintf(stderr, "\rround %u/%u", round + 1, run->rounds);
  }
  if (progress)
    fprintf(stderr, "\r%*s\r", 20, "");

  for (i = 0; i < G_N_ELEMENTS(key_counts); i++)
    fixture_check(&fixtures[i]); /* the sets replaced values, never lost a key */
  for (i = 0; i < run->n_variants; i++)
    summarise(&run->variants[i], run->rounds);

  printf("bench-hotpath: libtlslocal %s, GLib %u.%u.%u, %u rounds x %.0f ms per variant, %.1f s\n",
         tl_version(), glib_major_version, glib_minor_version, glib_micro_version, run->rounds,
         run->target_ns / 1e6, (double) (now_ns() - start) / 1e9);
  print_table(run);
  if (run->csv != NULL)
    write_csv(run);

  for (i = 0; i < G_N_ELEMENTS(key_counts); i++)
    fixture_clear(&fixtures[i]);
  for (i = 0; i < run->n_variants; i++)
    g_free(run->variants[i].samples);
  g_free(run->variants);
  g_free(fixtures);
  return NULL;
}

static void
usage(FILE *stream)
{
  fprintf(stream, "usage: bench-hotpath [--quick] [--csv PATH]\n"
                  "  --quick     short run (well under 2 s) for smoke checks; numbers are noisier\n"
                  "  --csv PATH  also write every variant's statistics to PATH\n");
}

int
main(int argc, char **argv)
{
  Run run = {0};
  pthread_t thread;
  int i;

  for (i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--quick") == 0) {
      run.quick = TRUE;
    } else if (strcmp(argv[i], "--csv") == 0 && i + 1 < argc) {
      run.csv_path = argv[++i];
    } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      usage(stdout);
      return 0;
    } else {
      usage(stderr);
      return 2;
    }
  }
  /* Default: 21 rounds x 31 variants x 20 ms, about 14 s with calibration. */
  run.rounds = run.quick ? 5 : 21;
  run.target_ns = run.quick ? 2e6 : 20e6;

  if (run.csv_path != NULL && (run.csv = fopen(run.csv_path, "w")) == NULL) {
    fprintf(stderr, "bench-hotpath: cannot write %s: %s\n", run.csv_path, g_strerror(errno));
    return 1;
  }
  if (tl_version_check(TL_VERSION_MAJOR, TL_VERSION_MINOR, TL_VERSION_MICRO) == 0)
    die("the libtlslocal loaded is older than the header this was built with");
  if (pthread_create(&thread, NULL, bench_thread, &run) != 0)
    die("pthread_create failed");
  pthread_join(thread, NULL);
  return 0;
}
