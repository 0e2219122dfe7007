/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bench-churn: what the library adds to short-lived threads and short-lived locals.
 *
 * 1. Thread churn: pthread_create + the thread's work + exit + pthread_join, one thread after the
 *    other, where the work is to touch N locals (set one key in each, so N dictionaries are made
 *    and then freed by the thread-exit cleanup), N = 1, 10, 100; N = 0 is one read of a local (a
 *    library call that creates nothing). Against the same loop with an empty thread ("bare"), and
 *    with the hand-rolled equivalent: a pthread key whose destructor frees a GHashTable of objects
 *    -> GHashTable of GVariants, with the same N objects touched.
 * 2. Local churn: tl_local_new + one set + tl_local_unref, while 1 or 16 other threads hold
 *    dictionaries of other locals (parked on a condvar), against the hand-rolled pthread_key_create
 *    + a table + pthread_key_delete.
 * 3. Thread churn with many live locals: the thread sets one key in the newest local, with 1 or
 *    1,000,000 locals alive (none of the others with a dictionary), against the empty thread in the
 *    same state: a thread's state must cost the same whatever the highest local id in the process.
 *
 *   bench-churn [--quick] [--csv PATH]
 *
 * Copyright the libtlslocal authors.
 */
#include <string.h>

#include "bench-common.h"

#define PROGRAM "bench-churn"
#define MAX_TOUCHED 100
#define BACKGROUND_LOCALS 10
#define MAX_BACKGROUND 16
#define MANY_LOCALS 1000000

static TlLocal *touched[MAX_TOUCHED];
static TlValue *shared_value;
static GVariant *shared_variant;
static pthread_key_t objects_key; /* hand-rolled: object -> GHashTable of key -> GVariant */

/* ---- 1. thread churn ---- */

static void *
thread_empty(void *data)
{
  return data;
}

static void *
thread_reads(void *data)
{
  return tl_local_peek(touched[0], "k");
}

static void *
thread_touches(void *data)
{
  guint n = GPOINTER_TO_UINT(data), i;

  for (i = 0; i < n; i++)
    if (tl_local_set(touched[i], "k", shared_value) != TL_OK)
      bench_die(PROGRAM, tl_last_error_message());
  return NULL;
}

static void
objects_free(void *objects)
{
  g_hash_table_unref(objects);
}

static void *
thread_touches_hand_rolled(void *data)
{
  guint n = GPOINTER_TO_UINT(data), i;
  GHashTable *objects = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL,
                                              (GDestroyNotify) g_hash_table_unref);

  pthread_setspecific(objects_key, objects);
  for (i = 0; i < n; i++) {
    GHashTable *table = g_hash_table_lookup(objects, touched[i]);

    if (table == NULL) {
      table =
          g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_variant_unref);
      g_hash_table_insert(objects, touched[i], table);
    }
    g_hash_table_insert(table, g_strdup("k"), g_variant_ref(shared_variant));
  }
  return NULL;
}

typedef struct {
  void *(*body)(void *);
  guint n;
} ThreadWork;

static guint64
loop_threads(gconstpointer data, guint64 iterations)
{
  const ThreadWork *work = data;
  guint64 i;

  for (i = 0; i < iterations; i++) {
    pthread_t thread;
    void *result;

    if (pthread_create(&thread, NULL, work->body, GUINT_TO_POINTER(work->n)) != 0)
      bench_die(PROGRAM, "pthread_create failed");
    pthread_join(thread, &result);
    bench_sink += (uintptr_t) result;
  }
  return iterations;
}

static ThreadWork thread_works[] = {
    {thread_empty, 0},
    {thread_reads, 0},
    {thread_touches, 1},
    {thread_touches, 10},
    {thread_touches, 100},
    {thread_touches_hand_rolled, 1},
    {thread_touches_hand_rolled, 10},
    {thread_touches_hand_rolled, 100},
};

static const char *
thread_work_impl(const ThreadWork *work)
{
  if (work->body == thread_empty)
    return "bare";
  return work->body == thread_touches_hand_rolled ? "hand-rolled" : "libtlslocal";
}

static void
run_thread_churn(BenchRun *run)
{
  const BenchVariant *bare;
  gsize w;

  for (w = 0; w < G_N_ELEMENTS(thread_works); w++) {
    char *label = g_strdup_printf("thread/%u locals", thread_works[w].n);

    bench_run_add(run, "churn", label, thread_work_impl(&thread_works[w]), loop_threads,
                  &thread_works[w]);
    g_free(label);
  }
  bench_run_measure(run);
  if (tl_stats_live_dicts() != 0)
    bench_die(PROGRAM, "an exited thread's dictionaries are still alive");

  bare = bench_run_find(run, "thread/0 locals", "bare");
  printf("\n%-16s %12s %8s %12s %8s %8s\n", "locals touched", "libtlslocal", "x bare",
         "hand-rolled", "x bare", "tl/hand");
  printf("%-16s %12s %8s %12s %8s %8s\n", "", "ns/thread", "", "ns/thread", "", "");
  printf("%-16s %12.0f %8.2f\n", "none (bare)", bare->median, 1.0);
  for (w = 1; w < G_N_ELEMENTS(thread_works) && thread_works[w].body != thread_touches_hand_rolled;
       w++) {
    char *label = g_strdup_printf("thread/%u locals", thread_works[w].n);
    const BenchVariant *tl = bench_run_find(run, label, "libtlslocal");
    const BenchVariant *hand = bench_run_find(run, label, "hand-rolled");

    if (hand != NULL)
      printf("%-16u %12.0f %8.2f %12.0f %8.2f %8.2f\n", thread_works[w].n, tl->median,
             tl->median / bare->median, hand->median, hand->median / bare->median,
             tl->median / hand->median);
    else
      printf("%-16s %12.0f %8.2f\n", "0 (one read)", tl->median, tl->median / bare->median);
    g_free(label);
  }
  printf("One thread at a time: pthread_create, the work, exit, pthread_join. x bare: against the\n"
         "empty thread. Touching a local = setting one key in it (a dictionary made, then freed at "
         "exit).\n");
}

/* ---- 2. local churn ---- */

typedef struct {
  pthread_t thread;
  gboolean started;
} Background;

static struct {
  pthread_mutex_t mutex;
  pthread_cond_t cond;
  guint ready, quit_generation;
} park = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};

static TlLocal *background_locals[BACKGROUND_LOCALS];
static Background backgrounds[MAX_BACKGROUND];
static guint n_backgrounds;

/* Holds a dictionary of every background local, then parks until told to quit. */
static void *
background_main(void *data)
{
  guint generation, i;

  for (i = 0; i < BACKGROUND_LOCALS; i++)
    tl_local_set(background_locals[i], "k", shared_value);
  pthread_mutex_lock(&park.mutex);
  generation = park.quit_generation;
  park.ready++;
  pthread_cond_broadcast(&park.cond);
  while (park.quit_generation == generation)
    pthread_cond_wait(&park.cond, &park.mutex);
  pthread_mutex_unlock(&park.mutex);
  return NULL;
}

static void
set_background_threads(guint n)
{
  guint i;

  if (n == n_backgrounds)
    return;
  /* Simplest to restart them all: the state changes twice a round at most. */
  pthread_mutex_lock(&park.mutex);
  park.quit_generation++;
  pthread_cond_broadcast(&park.cond);
  pthread_mutex_unlock(&park.mutex);
  for (i = 0; i < n_backgrounds; i++)
    pthread_join(backgrounds[i].thread, NULL);
  park.ready = 0;
  for (i = 0; i < n; i++)
    if (pthread_create(&backgrounds[i].thread, NULL, background_main, NULL) != 0)
      bench_die(PROGRAM, "pthread_create failed");
  pthread_mutex_lock(&park.mutex);
  while (park.ready < n)
    pthread_cond_wait(&park.cond, &park.mutex);
  pthread_mutex_unlock(&park.mutex);
  n_backgrounds = n;
  if (tl_stats_live_dicts() < n * BACKGROUND_LOCALS)
    bench_die(PROGRAM, "the background threads hold fewer dictionaries than they should");
}

static guint64
loop_local_churn(gconstpointer data, guint64 iterations)
{
  guint64 sum = 0, i;

  for (i = 0; i < iterations; i++) {
    TlLocal *local = tl_local_new();

    sum += (guint32) tl_local_set(local, "k", shared_value);
    tl_local_unref(local);
  }
  return sum;
}

static guint64
loop_key_churn(gconstpointer data, guint64 iterations)
{
  guint64 sum = 0, i;

  for (i = 0; i < iterations; i++) {
    pthread_key_t key;
    GHashTable *table;

    if (pthread_key_create(&key, NULL) != 0)
      bench_die(PROGRAM, "pthread_key_create failed");
    table =
        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_variant_unref);
    pthread_setspecific(key, table);
    g_hash_table_insert(table, g_strdup("k"), g_variant_ref(shared_variant));
    /* The threads that are not this one would leak theirs: pthread_key_delete frees nothing. */
    g_hash_table_unref(pthread_getspecific(key));
    pthread_key_delete(key);
  }
  return sum;
}

static const guint background_counts[] = {1, 16};

static void
run_local_churn(BenchRun *run)
{
  const gsize n_states = G_N_ELEMENTS(background_counts);
  BenchVariant *variants[G_N_ELEMENTS(background_counts)][2];
  guint round, i;
  gsize s;

  for (i = 0; i < BACKGROUND_LOCALS; i++)
    background_locals[i] = tl_local_new();
  for (s = 0; s < n_states; s++) {
    char *label = g_strdup_printf("local/%u threads", background_counts[s]);

    variants[s][0] = bench_run_add(run, "churn", label, "libtlslocal", loop_local_churn, NULL);
    variants[s][1] = bench_run_add(run, "churn", label, "hand-rolled", loop_key_churn, NULL);
    g_free(label);
  }
  set_background_threads(background_counts[0]);
  for (i = 0; i < 2; i++) {
    bench_variant_calibrate(variants[0][i], run->target_ns);
    for (s = 1; s < n_states; s++)
      variants[s][i]->iterations = variants[0][i]->iterations;
  }
  for (round = 0; round < run->rounds; round++) {
    for (s = 0; s < n_states; s++) {
      gsize state = (round + s) % n_states;

      set_background_threads(background_counts[state]);
      for (i = 0; i < 2; i++) {
        BenchVariant *variant = variants[state][(round + i) % 2];
        variant->samples[round] = bench_variant_sample(variant);
      }
    }
  }
  set_background_threads(0);
  for (i = 0; i < BACKGROUND_LOCALS; i++)
    tl_local_unref(background_locals[i]);

  printf("\n%-26s %12s %12s %12s %8s\n", "threads holding dicts", "libtlslocal", "", "hand-rolled",
         "tl/hand");
  printf("%-26s %12s %12s %12s %8s\n", "", "ns/local", "locals/s", "ns/key", "");
  for (s = 0; s < n_states; s++) {
    bench_variant_summarise(variants[s][0], run->rounds);
    bench_variant_summarise(variants[s][1], run->rounds);
    printf("%-26u %12.0f %12.0f %12.0f %8.2f\n", background_counts[s], variants[s][0]->median,
           1e9 / variants[s][0]->median, variants[s][1]->median,
           variants[s][0]->median / variants[s][1]->median);
  }
  printf("A local made, given one key by this thread, and destroyed, while other threads (parked) "
         "hold\n"
         "dictionaries of %d other locals each. hand-rolled: pthread_key_create, a table with one "
         "key,\n"
         "pthread_key_delete (which, unlike tl_local_unref, frees no other thread's table).\n",
         BACKGROUND_LOCALS);
}

/* ---- 3. thread churn with many live locals ---- */

static const guint32 live_counts[] = {1, MANY_LOCALS};
static TlLocal *first_local;
static GPtrArray *later_locals; /* created after first_local, oldest first */
static TlLocal *newest_local;

static void *
thread_writes_newest(void *data)
{
  if (tl_local_set(newest_local, "k", shared_value) != TL_OK)
    bench_die(PROGRAM, tl_last_error_message());
  return data;
}

static void
set_live_locals(guint32 n_live)
{
  while (later_locals->len + 1 < n_live) {
    TlLocal *local = tl_local_new();

    if (local == NULL)
      bench_die(PROGRAM, "cannot create the locals");
    g_ptr_array_add(later_locals, local);
  }
  /* Newest first: the ids come back in the order they went, so the newest local has the highest id
   * again each time (a slot table indexed by id is then at its longest). */
  while (later_locals->len + 1 > n_live)
    tl_local_unref(g_ptr_array_steal_index(later_locals, later_locals->len - 1));
  newest_local =
      later_locals->len > 0 ? g_ptr_array_index(later_locals, later_locals->len - 1) : first_local;
  if (tl_stats_live_locals() != n_live)
    bench_die(PROGRAM, "another local is alive");
}

static ThreadWork newest_works[] = {
    {thread_writes_newest, 0},
    {thread_empty, 0},
};

/* Each state is calibrated on its own: a thread may cost a hundred times more in one of them. */
static void
run_newest_churn(BenchRun *run)
{
  const gsize n_states = G_N_ELEMENTS(live_counts), n_works = G_N_ELEMENTS(newest_works);
  BenchVariant *variants[G_N_ELEMENTS(live_counts)][G_N_ELEMENTS(newest_works)];
  guint round;
  gsize s, w;

  first_local = tl_local_new();
  later_locals = g_ptr_array_new();
  for (s = 0; s < n_states; s++) {
    char *label = g_strdup_printf("newest/%" G_GUINT32_FORMAT " live locals", live_counts[s]);

    for (w = 0; w < n_works; w++)
      variants[s][w] = bench_run_add(run, "churn", label,
                                     newest_works[w].body == thread_empty ? "bare" : "libtlslocal",
                                     loop_threads, &newest_works[w]);
    g_free(label);
  }
  for (s = 0; s < n_states; s++) {
    set_live_locals(live_counts[s]);
    for (w = 0; w < n_works; w++)
      bench_variant_calibrate(variants[s][w], run->target_ns);
  }
  for (round = 0; round < run->rounds; round++) {
    for (s = 0; s < n_states; s++) {
      /* This round starts where the last ended. */
      gsize state = (round + n_states - 1 + s) % n_states;

      set_live_locals(live_counts[state]);
      for (w = 0; w < n_works; w++) {
        BenchVariant *variant = variants[state][(round + w) % n_works];
        variant->samples[round] = bench_variant_sample(variant);
      }
    }
  }
  set_live_locals(1);
  tl_local_unref(first_local);
  g_ptr_array_unref(later_locals);
  if (tl_stats_live_dicts() != 0)
    bench_die(PROGRAM, "an exited thread's dictionary is still alive");

  printf("\n%-16s %12s %8s %12s %8s\n", "live locals", "libtlslocal", "x bare", "bare", "tl x1");
  printf("%-16s %12s %8s %12s %8s\n", "", "ns/thread", "", "ns/thread", "");
  for (s = 0; s < n_states; s++) {
    bench_variant_summarise(variants[s][0], run->rounds);
    bench_variant_summarise(variants[s][1], run->rounds);
    printf("%-16" G_GUINT32_FORMAT " %12.0f %8.2f %12.0f %8.2f\n", live_counts[s],
           variants[s][0]->median, variants[s][0]->median / variants[s][1]->median,
           variants[s][1]->median, variants[s][0]->median / variants[0][0]->median);
  }
  printf(
      "One thread at a time: pthread_create, one key set in the newest local, exit, pthread_join,\n"
      "with that many locals alive (the others without dictionaries). x bare: against the empty\n"
      "thread in the same state. tl x1: against the same thread with 1 live local.\n");
}

static void
bench_body(gboolean quick, FILE *csv)
{
  guint64 start = bench_now_ns();
  BenchRun threads, locals, newest;
  guint i;

  for (i = 0; i < MAX_TOUCHED; i++)
    touched[i] = tl_local_new();
  shared_value = tl_value_new_int64(7);
  shared_variant = g_variant_ref_sink(g_variant_new_int64(7));
  if (pthread_key_create(&objects_key, objects_free) != 0)
    bench_die(PROGRAM, "pthread_key_create failed");

  /* Every sample waits on threads it creates: wall time only, whatever --cpu-time says. */
  bench_cpu_time = FALSE;
  bench_print_machine(PROGRAM);
  bench_run_init(&threads, PROGRAM, quick);
  run_thread_churn(&threads);
  bench_run_init(&locals, PROGRAM, quick);
  run_local_churn(&locals);
  /* Gone before the last part, whose smaller state is 1 live local. */
  for (i = 0; i < MAX_TOUCHED; i++)
    tl_local_unref(touched[i]);
  bench_run_init(&newest, PROGRAM, quick);
  run_newest_churn(&newest);
  printf("\n%u rounds x %.0f ms per variant, median; %.1f s\n", threads.rounds,
         threads.target_ns / 1e6, (double) (bench_now_ns() - start) / 1e9);

  bench_csv_run(csv, &threads);
  bench_csv_run(csv, &locals);
  bench_csv_run(csv, &newest);
  bench_run_clear(&threads);
  bench_run_clear(&locals);
  bench_run_clear(&newest);
  tl_value_unref(shared_value);
  g_variant_unref(shared_variant);
}

int
main(int argc, char **argv)
{
  return bench_main(argc, argv, PROGRAM, NULL, bench_body);
}
