/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The benchmarks' shared timer, result file and hot-path fixture: see bench-common.h.
 *
 * Copyright the libtlslocal authors.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench-common.h"

volatile guint64 bench_sink;
gboolean bench_cpu_time;

guint64
bench_now_ns(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (guint64) ts.tv_sec * G_GUINT64_CONSTANT(1000000000) + (guint64) ts.tv_nsec;
}

guint64
bench_thread_cpu_ns(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (guint64) ts.tv_sec * G_GUINT64_CONSTANT(1000000000) + (guint64) ts.tv_nsec;
}

void
bench_die(const char *program, const char *what)
{
  fprintf(stderr, "%s: %s\n", program, what);
  exit(1);
}

/* ---- interleaved rounds ---- */

static void
variant_free(gpointer data)
{
  BenchVariant *variant = data;

  g_free(variant->section);
  g_free(variant->label);
  g_free(variant->impl);
  g_free(variant->samples);
  g_free(variant);
}

void
bench_run_init(BenchRun *run, const char *program, gboolean quick)
{
  run->program = program;
  run->variants = g_ptr_array_new_with_free_func(variant_free);
  run->rounds = quick ? 5 : 11;
  run->target_ns = quick ? 2e6 : 20e6;
  run->cpu_time = bench_cpu_time;
}

void
bench_run_clear(BenchRun *run)
{
  g_ptr_array_unref(run->variants);
  run->variants = NULL;
}

BenchVariant *
bench_run_add(BenchRun *run, const char *section, const char *label, const char *impl,
              BenchLoop loop, gconstpointer data)
{
  BenchVariant *variant = g_new0(BenchVariant, 1);

  variant->section = g_strdup(section);
  variant->label = g_strdup(label);
  variant->impl = g_strdup(impl);
  variant->loop = loop;
  variant->data = data;
  variant->cpu_time = run->cpu_time;
  variant->samples = g_new0(double, run->rounds);
  g_ptr_array_add(run->variants, variant);
  return variant;
}

static double
measure(BenchVariant *variant, guint64 iterations)
{
  guint64 (*now)(void) = variant->cpu_time ? bench_thread_cpu_ns : bench_now_ns;
  guint64 start, elapsed, sum;

  start = now();
  sum = variant->loop(variant->data, iterations);
  elapsed = now() - start;
  bench_sink += sum;
  if (variant->loop == bench_loop_tl_set && sum != 0)
    bench_die("bench", "tl_local_set failed during the run");
  return (double) elapsed;
}

/* Double the iterations until a sample is long enough to trust, then scale to the target. This also
 * warms caches and branch predictors before the first round. */
void
bench_variant_calibrate(BenchVariant *variant, double target_ns)
{
  guint64 iterations = 1;

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

double
bench_variant_sample(BenchVariant *variant)
{
  return measure(variant, variant->iterations) / (double) variant->iterations;
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

void
bench_variant_summarise(BenchVariant *variant, guint rounds)
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

void
bench_run_measure(BenchRun *run)
{
  guint n = run->variants->len, i, round;

  for (i = 0; i < n; i++)
    bench_variant_calibrate(g_ptr_array_index(run->variants, i), run->target_ns);
  for (round = 0; round < run->rounds; round++) {
    for (i = 0; i < n; i++) {
      BenchVariant *variant = g_ptr_array_index(run->variants, (round + i) % n);
      variant->samples[round] = bench_variant_sample(variant);
    }
  }
  for (i = 0; i < n; i++)
    bench_variant_summarise(g_ptr_array_index(run->variants, i), run->rounds);
}

BenchVariant *
bench_run_find(const BenchRun *run, const char *label, const char *impl)
{
  guint i;

  for (i = 0; i < run->variants->len; i++) {
    BenchVariant *variant = g_ptr_array_index(run->variants, i);

    if (strcmp(variant->label, label) == 0 && strcmp(variant->impl, impl) == 0)
      return variant;
  }
  return NULL;
}

/* ---- the result file ---- */

FILE *
bench_csv_open(const char *program, const char *path)
{
  FILE *csv;

  if (path == NULL)
    return NULL;
  if ((csv = fopen(path, "w")) == NULL) {
    fprintf(stderr, "%s: cannot write %s: %s\n", program, path, g_strerror(errno));
    exit(1);
  }
  fprintf(csv, "section,case,impl,median,p25,p75,min,max,unit,rounds\n");
  return csv;
}

void
bench_csv_variant(FILE *csv, const BenchVariant *variant, guint rounds)
{
  if (csv == NULL)
    return;
  fprintf(csv, "%s,%s,%s,%.3f,%.3f,%.3f,%.3f,%.3f,ns/op,%u\n", variant->section, variant->label,
          variant->impl, variant->median, variant->p25, variant->p75, variant->min, variant->max,
          rounds);
}

void
bench_csv_run(FILE *csv, const BenchRun *run)
{
  guint i;

  for (i = 0; i < run->variants->len; i++)
    bench_csv_variant(csv, g_ptr_array_index(run->variants, i), run->rounds);
}

/* A single figure (a byte count, a rate): every statistic is the figure itself. */
void
bench_csv_value(FILE *csv, const char *section, const char *label, const char *impl, double value,
                const char *unit)
{
  if (csv == NULL)
    return;
  fprintf(csv, "%s,%s,%s,%.3f,%.3f,%.3f,%.3f,%.3f,%s,1\n", section, label, impl, value, value,
          value, value, value, unit);
}

void
bench_csv_close(const char *program, FILE *csv, const char *path)
{
  if (csv != NULL && fclose(csv) != 0) {
    fprintf(stderr, "%s: cannot write %s: %s\n", program, path, g_strerror(errno));
    exit(1);
  }
}

typedef struct {
  BenchBody body;
  gboolean quick;
  FILE *csv;
} MainArgs;

static void *
main_thread(void *data)
{
  const MainArgs *args = data;

  args->body(args->quick, args->csv);
  tl_thread_clear(); /* leave nothing for a leak checker */
  return NULL;
}

int
bench_main(int argc, char **argv, const char *program, const char *usage_extra, BenchBody body)
{
  MainArgs args = {body, FALSE, NULL};
  const char *csv_path = NULL;
  pthread_t thread;
  int i;

  for (i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--quick") == 0) {
      args.quick = TRUE;
    } else if (strcmp(argv[i], "--cpu-time") == 0) {
      bench_cpu_time = TRUE;
    } else if (strcmp(argv[i], "--csv") == 0 && i + 1 < argc) {
      csv_path = argv[++i];
    } else {
      gboolean help = strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0;

      fprintf(help ? stdout : stderr,
              "usage: %s [--quick] [--cpu-time] [--csv PATH]\n%s"
              "  --quick     short run for smoke checks; numbers are noisier\n"
              "  --cpu-time  time single-thread samples by the thread's CPU clock, not the wall\n"
              "              clock: time descheduled or stolen by a VM's host does not count\n"
              "  --csv PATH  also write every figure to PATH (bench/run-all.py reads it)\n",
              program, usage_extra != NULL ? usage_extra : "");
      return help ? 0 : 2;
    }
  }
  if (tl_version_check(TL_VERSION_MAJOR, TL_VERSION_MINOR, TL_VERSION_MICRO) == 0)
    bench_die(program, "the libtlslocal loaded is older than the header this was built with");
  args.csv = bench_csv_open(program, csv_path); /* opened first, so a bad path fails at once */
  if (pthread_create(&thread, NULL, main_thread, &args) != 0)
    bench_die(program, "pthread_create failed");
  pthread_join(thread, NULL);
  bench_csv_close(program, args.csv, csv_path);
  return 0;
}

void
bench_print_machine(const char *program)
{
  double load[3] = {0, 0, 0};

  if (getloadavg(load, 3) < 0)
    load[0] = load[1] = load[2] = -1;
  printf("%s: libtlslocal %s, GLib %u.%u.%u, %ld CPUs online, load average %.2f %.2f %.2f%s\n",
         program, tl_version(), glib_major_version, glib_minor_version, glib_micro_version,
         (long) g_get_num_processors(), load[0], load[1], load[2],
         bench_cpu_time ? "; single-thread samples timed by the thread's CPU clock" : "");
}

/* ---- the hot-path fixture ---- */

typedef struct {
  GVariant *value; /* owned reference */
} Box;

static void
box_free(gpointer data)
{
  Box *box = data;

  g_variant_unref(box->value);
  g_free(box);
}

void
bench_fixture_init(BenchFixture *fixture, TlLocal *local, guint32 n_keys)
{
  GHashTable *table, *boxes;
  guint32 i;

  g_assert(n_keys > 0 && n_keys <= BENCH_MAX_KEYS && (n_keys & (n_keys - 1)) == 0);
  memset(fixture, 0, sizeof *fixture);
  fixture->n_keys = n_keys;
  fixture->local = local != NULL ? tl_local_ref(local) : tl_local_new();
  fixture->tl_value = tl_value_new_int64(-1);
  fixture->variant = g_variant_ref_sink(g_variant_new_int64(-1));
  if (fixture->local == NULL || fixture->tl_value == NULL)
    bench_die("bench", "cannot create the local or its value");
  /* No destructor: bench_fixture_clear() frees the tables on the thread that owns them. */
  if (pthread_key_create(&fixture->table_key, NULL) != 0 ||
      pthread_key_create(&fixture->box_key, NULL) != 0)
    bench_die("bench", "pthread_key_create failed");
  table = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_variant_unref);
  boxes = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, box_free);
  pthread_setspecific(fixture->table_key, table);
  pthread_setspecific(fixture->box_key, boxes);

  for (i = 0; i < n_keys; i++) {
    TlValue *value = tl_value_new_int64(i);
    Box *box = g_new(Box, 1);

    g_snprintf(fixture->lookup_buffer[i], BENCH_KEY_BUFFER, "key%" G_GUINT32_FORMAT, i);
    fixture->lookup_keys[i] = fixture->lookup_buffer[i];
    g_snprintf(fixture->miss_buffer[i], BENCH_KEY_BUFFER, "miss%" G_GUINT32_FORMAT, i);
    fixture->miss_keys[i] = fixture->miss_buffer[i];
    if (tl_local_set(fixture->local, fixture->lookup_keys[i], value) != TL_OK)
      bench_die("bench", tl_last_error_message());
    tl_value_unref(value);
    g_hash_table_insert(table, g_strdup(fixture->lookup_keys[i]),
                        g_variant_ref_sink(g_variant_new_int64(i)));
    box->value = g_variant_ref_sink(g_variant_new_int64(i));
    g_hash_table_insert(boxes, g_strdup(fixture->lookup_keys[i]), box);
  }
  fixture->hot_quark = tl_quark_from_string(fixture->lookup_keys[n_keys - 1]);
  if (fixture->hot_quark == 0)
    bench_die("bench", tl_last_error_message());
  bench_fixture_check(fixture);
}

void
bench_fixture_check(const BenchFixture *fixture)
{
  GHashTable *table = pthread_getspecific(fixture->table_key);
  GHashTable *boxes = pthread_getspecific(fixture->box_key);
  size_t size = 0;
  guint32 i;

  if (tl_local_size(fixture->local, &size) != TL_OK || size != fixture->n_keys ||
      g_hash_table_size(table) != fixture->n_keys || g_hash_table_size(boxes) != fixture->n_keys)
    bench_die("bench", "a dictionary does not hold the expected keys");
  for (i = 0; i < fixture->n_keys; i++) {
    const char *key = fixture->lookup_keys[i], *miss = fixture->miss_keys[i];

    if (tl_local_peek(fixture->local, key) == NULL || g_hash_table_lookup(table, key) == NULL ||
        g_hash_table_lookup(boxes, key) == NULL)
      bench_die("bench", "a key is missing from a dictionary");
    if (tl_local_peek(fixture->local, miss) != NULL || g_hash_table_lookup(table, miss) != NULL)
      bench_die("bench", "a dictionary holds a key it should not");
  }
  if (tl_local_peek_quark(fixture->local, fixture->hot_quark) !=
      tl_local_peek(fixture->local, fixture->lookup_keys[fixture->n_keys - 1]))
    bench_die("bench", "the hot quark does not name its string's key");
}

void
bench_fixture_clear(BenchFixture *fixture)
{
  size_t i;

  /* Drop this thread's keys first: the local may be shared and outlive the fixture. */
  for (i = 0; i < fixture->n_keys; i++)
    tl_local_delete(fixture->local, fixture->lookup_keys[i]);
  tl_local_unref(fixture->local);
  tl_value_unref(fixture->tl_value);
  g_variant_unref(fixture->variant);
  g_hash_table_unref(pthread_getspecific(fixture->table_key));
  g_hash_table_unref(pthread_getspecific(fixture->box_key));
  pthread_setspecific(fixture->table_key, NULL);
  pthread_setspecific(fixture->box_key, NULL);
  pthread_key_delete(fixture->table_key);
  pthread_key_delete(fixture->box_key);
}

/* ---- the measured loops: one function each, so the per-op body has no indirect call ----
 * Every keyed loop picks the next key the same way (an array load and a mask), so the shared loop
 * overhead is the same on both sides and is measured on its own as bench_loop_overhead. */

#define KEYED_LOOP_OVER(key_array, ...)                                                            \
  const BenchFixture *fixture = data;                                                              \
  const char *const *keys = fixture->key_array;                                                    \
  const guint64 mask = fixture->n_keys - 1;                                                        \
  guint64 sum = 0, i;                                                                              \
  for (i = 0; i < iterations; i++) {                                                               \
    const char *key = keys[i & mask];                                                              \
    __VA_ARGS__;                                                                                   \
    BENCH_BARRIER();                                                                               \
  }                                                                                                \
  return sum
#define KEYED_LOOP(...) KEYED_LOOP_OVER(lookup_keys, __VA_ARGS__)

guint64
bench_loop_tl_peek(gconstpointer data, guint64 iterations)
{
  KEYED_LOOP(sum += (uintptr_t) tl_local_peek(fixture->local, key));
}

guint64
bench_loop_tl_peek_quark(gconstpointer data, guint64 iterations)
{
  const BenchFixture *fixture = data;
  guint64 sum = 0, i;

  for (i = 0; i < iterations; i++) {
    sum += (uintptr_t) tl_local_peek_quark(fixture->local, fixture->hot_quark);
    BENCH_BARRIER();
  }
  return sum;
}

guint64
bench_loop_tl_peek_miss(gconstpointer data, guint64 iterations)
{
  KEYED_LOOP_OVER(miss_keys, sum += (uintptr_t) tl_local_peek(fixture->local, key));
}

guint64
bench_loop_tl_get(gconstpointer data, guint64 iterations)
{
  KEYED_LOOP({
    TlValue *value;
    sum += (guint64) tl_local_get(fixture->local, key, &value) + (uintptr_t) value;
    tl_value_unref(value);
  });
}

guint64
bench_loop_tl_set(gconstpointer data, guint64 iterations)
{
  KEYED_LOOP(sum += (guint64) (guint32) tl_local_set(fixture->local, key, fixture->tl_value));
}

guint64
bench_loop_base_lookup(gconstpointer data, guint64 iterations)
{
  KEYED_LOOP(sum += (uintptr_t) g_hash_table_lookup(pthread_getspecific(fixture->table_key), key));
}

guint64
bench_loop_base_lookup_miss(gconstpointer data, guint64 iterations)
{
  KEYED_LOOP_OVER(miss_keys, sum += (uintptr_t) g_hash_table_lookup(
                                 pthread_getspecific(fixture->table_key), key));
}

guint64
bench_loop_base_get(gconstpointer data, guint64 iterations)
{
  KEYED_LOOP({
    GVariant *value =
        g_variant_ref(g_hash_table_lookup(pthread_getspecific(fixture->table_key), key));
    sum += (uintptr_t) value;
    g_variant_unref(value);
  });
}

/* The idiom: insert a copy of the key; GHashTable frees the copy and the old value. */
guint64
bench_loop_base_set(gconstpointer data, guint64 iterations)
{
  KEYED_LOOP({
    g_hash_table_insert(pthread_getspecific(fixture->table_key), g_strdup(key),
                        g_variant_ref(fixture->variant));
    sum += 1;
  });
}

/* Tuned without a box: take the entry out with its own key, put it back with the new value. No
 * allocation, but two hash lookups. */
guint64
bench_loop_base_set_steal(gconstpointer data, guint64 iterations)
{
  KEYED_LOOP({
    GHashTable *table = pthread_getspecific(fixture->table_key);
    gpointer own_key, old;

    g_hash_table_steal_extended(table, key, &own_key, &old);
    g_hash_table_insert(table, own_key, g_variant_ref(fixture->variant));
    g_variant_unref(old);
    sum += 1;
  });
}

/* Tuned: one lookup finds the value's box, and the value is swapped in place. The same work as
 * libtlslocal's set: a lookup, a pointer store, a ref and an unref. */
guint64
bench_loop_base_set_inplace(gconstpointer data, guint64 iterations)
{
  KEYED_LOOP({
    Box *box = g_hash_table_lookup(pthread_getspecific(fixture->box_key), key);
    GVariant *old = box->value;

    box->value = g_variant_ref(fixture->variant);
    g_variant_unref(old);
    sum += 1;
  });
}

guint64
bench_loop_overhead(gconstpointer data, guint64 iterations)
{
  KEYED_LOOP(sum += (uintptr_t) key);
}
