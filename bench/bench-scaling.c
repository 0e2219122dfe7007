/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bench-scaling: does the hot path stay flat as locals and threads multiply?
 *
 * 1. The same peek, get and set as bench-hotpath (8 keys) on a fresh local created after N - 1
 *    other locals, N = 1, 10, 1,000 and 1,000,000, each of the others holding a one-key dictionary
 *    of this thread (so the thread's slot array and entry list are as long as they get). The
 *    hand-rolled lookup, untouched by N, runs beside it as a control for drift. peek-quark reads
 *    one well-known key of that dictionary by its quark. States are visited
 *    in rotated order every round; the locals are created and destroyed to move between them.
 * 2. The hot path on one thread, then on two threads at once (both cores busy), each with its own
 *    dictionary of one shared local and its own prebuilt value, against the hand-rolled code doing
 *    the same: per-op time must not grow when the other core works, since nothing shared is
 *    written.
 *
 *   bench-scaling [--quick] [--csv PATH]
 *
 * Copyright the libtlslocal authors.
 */
#include <malloc.h>
#include <string.h>

#include "bench-common.h"

#define PROGRAM "bench-scaling"
#define SCALING_KEYS 8

/* ---- 1. live locals ---- */

static const guint32 live_counts[] = {1, 10, 1000, 1000000};

static const struct {
  const char *op, *impl;
  BenchLoop loop;
} live_ops[] = {
    {"peek", "libtlslocal", bench_loop_tl_peek},
    {"get", "libtlslocal", bench_loop_tl_get},
    {"set", "libtlslocal", bench_loop_tl_set},
    {"peek-quark", "libtlslocal", bench_loop_tl_peek_quark},
    {"peek", "hand-rolled (control)", bench_loop_base_lookup},
};

/* The other locals alive, each with a one-key dictionary of the measuring thread. */
static GPtrArray *fillers;

static void
set_live_locals(guint32 n_live)
{
  TlValue *value = tl_value_new_int64(1);

  while (fillers->len + 1 < n_live) {
    TlLocal *local = tl_local_new();

    if (local == NULL || tl_local_set(local, "filler", value) != TL_OK)
      bench_die(PROGRAM, "cannot create the filler locals");
    g_ptr_array_add(fillers, local);
  }
  while (fillers->len + 1 > n_live)
    tl_local_unref(g_ptr_array_steal_index(fillers, fillers->len - 1));
  tl_value_unref(value);
  if (tl_stats_live_locals() != n_live - 1)
    bench_die(PROGRAM, "another local is alive");
}

static void
run_live_locals(BenchRun *run, FILE *csv)
{
  const gsize n_states = G_N_ELEMENTS(live_counts), n_ops = G_N_ELEMENTS(live_ops);
  BenchFixture fixture;
  BenchVariant *variants[G_N_ELEMENTS(live_counts)][G_N_ELEMENTS(live_ops)];
  guint round;
  gsize s, o;

  fillers = g_ptr_array_new();
  for (s = 0; s < n_states; s++) {
    for (o = 0; o < n_ops; o++) {
      char *label =
          g_strdup_printf("%s/%" G_GUINT32_FORMAT " locals", live_ops[o].op, live_counts[s]);
      variants[s][o] =
          bench_run_add(run, "scaling", label, live_ops[o].impl, live_ops[o].loop, &fixture);
      g_free(label);
    }
  }
  /* Calibrate at the smallest state; the iteration counts then stay fixed for every state. */
  set_live_locals(live_counts[0]);
  bench_fixture_init(&fixture, NULL, SCALING_KEYS);
  for (o = 0; o < n_ops; o++)
    for (s = 0; s < n_states; s++)
      if (s == 0)
        bench_variant_calibrate(variants[0][o], run->target_ns);
      else
        variants[s][o]->iterations = variants[0][o]->iterations;
  bench_fixture_clear(&fixture);

  for (round = 0; round < run->rounds; round++) {
    for (s = 0; s < n_states; s++) {
      gsize state = (round + s) % n_states;

      set_live_locals(live_counts[state]);
      /* A fresh local after the others: its id, and so its slot, is past all of theirs. */
      bench_fixture_init(&fixture, NULL, SCALING_KEYS);
      for (o = 0; o < n_ops; o++) {
        BenchVariant *variant = variants[state][(round + o) % n_ops];

        bench_variant_sample(variant); /* warm this state's caches */
        variant->samples[round] = bench_variant_sample(variant);
      }
      bench_fixture_clear(&fixture);
    }
  }
  set_live_locals(live_counts[n_states - 1]);
  {
    struct mallinfo2 info = mallinfo2();
    double megabytes = (double) (info.uordblks + info.hblkhd) / (1 << 20);

    printf("heap in use with %" G_GUINT32_FORMAT " locals alive, each with a one-key dictionary of "
           "this thread: %.0f MiB\n",
           live_counts[n_states - 1], megabytes);
    bench_csv_value(csv, "scaling", "heap/1000000 locals", "libtlslocal", megabytes, "MiB");
  }
  set_live_locals(1);
  g_ptr_array_unref(fillers);

  printf("\n%-10s", "live locals");
  for (o = 0; o < n_ops; o++)
    printf(" %10s %6s", live_ops[o].op, "x1");
  printf("\n%-10s", "");
  for (o = 0; o < n_ops; o++)
    printf(" %10s %6s", o + 1 == n_ops ? "control" : "ns/op", "");
  printf("\n");
  for (s = 0; s < n_states; s++) {
    printf("%-11" G_GUINT32_FORMAT, live_counts[s]);
    for (o = 0; o < n_ops; o++) {
      bench_variant_summarise(variants[s][o], run->rounds);
      printf(" %10.2f %6.2f", variants[s][o]->median,
             variants[s][o]->median / variants[0][o]->median);
    }
    printf("\n");
  }
  printf("x1: against the same operation with 1 local alive. control: the hand-rolled lookup, "
         "which N\n"
         "does not touch, shows how much the machine drifted between states.\n");
}

/* ---- 2. two threads at once ---- */

/* A helper thread that runs a loop on its own fixture when told, parked on a condvar between runs
 * so that it loads the second core only while a two-thread sample runs. */
typedef struct {
  pthread_mutex_t mutex;
  pthread_cond_t cond;
  pthread_t thread;
  BenchFixture fixture;
  guint32 n_keys;
  TlLocal *local;
  BenchLoop loop; /* the work asked for; NULL when idle */
  guint64 iterations;
  guint64 result;
  gboolean ready, quit;
} Helper;

static void *
helper_main(void *data)
{
  Helper *helper = data;
  guint64 result;

  bench_fixture_init(&helper->fixture, helper->local, helper->n_keys);
  pthread_mutex_lock(&helper->mutex);
  helper->ready = TRUE;
  pthread_cond_broadcast(&helper->cond);
  for (;;) {
    while (helper->loop == NULL && !helper->quit)
      pthread_cond_wait(&helper->cond, &helper->mutex);
    if (helper->quit)
      break;
    pthread_mutex_unlock(&helper->mutex);
    result = helper->loop(&helper->fixture, helper->iterations);
    pthread_mutex_lock(&helper->mutex);
    helper->result = result;
    helper->loop = NULL;
    pthread_cond_broadcast(&helper->cond);
  }
  pthread_mutex_unlock(&helper->mutex);
  bench_fixture_clear(&helper->fixture);
  tl_thread_clear();
  return NULL;
}

typedef struct {
  BenchLoop loop;
  const BenchFixture *fixture; /* the measuring thread's */
  Helper *helper;
} Pair;

/* Both threads run loop for iterations operations each; the sample is the wall time of both. */
static guint64
loop_pair(gconstpointer data, guint64 iterations)
{
  const Pair *pair = data;
  Helper *helper = pair->helper;
  guint64 sum;

  pthread_mutex_lock(&helper->mutex);
  helper->iterations = iterations;
  helper->loop = pair->loop;
  pthread_cond_broadcast(&helper->cond);
  pthread_mutex_unlock(&helper->mutex);

  sum = pair->loop(pair->fixture, iterations);

  pthread_mutex_lock(&helper->mutex);
  while (helper->loop != NULL)
    pthread_cond_wait(&helper->cond, &helper->mutex);
  sum += helper->result;
  pthread_mutex_unlock(&helper->mutex);
  return sum;
}

static guint64
loop_alone(gconstpointer data, guint64 iterations)
{
  const Pair *pair = data;

  return pair->loop(pair->fixture, iterations);
}

/* No memory at all: a chain of multiplies. If this slows down when both threads run, the two CPUs
 * share a physical core (SMT siblings of the host, under a hypervisor) and nothing is to blame but
 * the machine. */
static guint64
loop_compute(gconstpointer data, guint64 iterations)
{
  guint64 x = iterations | 1, i;

  for (i = 0; i < iterations; i++) {
    x = (x ^ (x >> 29)) * G_GUINT64_CONSTANT(0xbf58476d1ce4e5b9);
    BENCH_BARRIER();
  }
  return x;
}

static const struct {
  const char *op, *impl;
  BenchLoop loop;
} thread_ops[] = {
    {"peek", "libtlslocal", bench_loop_tl_peek},
    {"get", "libtlslocal", bench_loop_tl_get},
    {"set", "libtlslocal", bench_loop_tl_set},
    {"peek", "hand-rolled", bench_loop_base_lookup},
    {"get", "hand-rolled", bench_loop_base_get},
    {"set", "hand-rolled in-place", bench_loop_base_set_inplace},
    {"multiply chain", "control", loop_compute},
};

static void
run_two_threads(BenchRun *run)
{
  const gsize n_ops = G_N_ELEMENTS(thread_ops);
  Helper helper;
  BenchFixture fixture;
  Pair pairs[G_N_ELEMENTS(thread_ops)];
  gsize o;

  memset(&helper, 0, sizeof helper);
  pthread_mutex_init(&helper.mutex, NULL);
  pthread_cond_init(&helper.cond, NULL);
  bench_fixture_init(&fixture, NULL, SCALING_KEYS);
  helper.local = fixture.local;
  helper.n_keys = SCALING_KEYS;
  if (pthread_create(&helper.thread, NULL, helper_main, &helper) != 0)
    bench_die(PROGRAM, "pthread_create failed");
  pthread_mutex_lock(&helper.mutex);
  while (!helper.ready)
    pthread_cond_wait(&helper.cond, &helper.mutex);
  pthread_mutex_unlock(&helper.mutex);

  for (o = 0; o < n_ops; o++) {
    char *alone = g_strdup_printf("%s/1 thread", thread_ops[o].op);
    char *both = g_strdup_printf("%s/2 threads", thread_ops[o].op);

    pairs[o] = (Pair){thread_ops[o].loop, &fixture, &helper};
    bench_run_add(run, "threads", alone, thread_ops[o].impl, loop_alone, &pairs[o]);
    bench_run_add(run, "threads", both, thread_ops[o].impl, loop_pair, &pairs[o]);
    g_free(alone);
    g_free(both);
  }
  bench_run_measure(run);
  bench_fixture_check(&fixture);

  printf("\n%-22s %4s %12s %12s %8s\n", "operation", "", "1 thread", "2 threads", "2t/1t");
  printf("%-22s %4s %12s %12s %8s\n", "", "", "ns/op", "ns/op", "");
  for (o = 0; o < n_ops; o++) {
    char *alone = g_strdup_printf("%s/1 thread", thread_ops[o].op);
    char *both = g_strdup_printf("%s/2 threads", thread_ops[o].op);
    const BenchVariant *one = bench_run_find(run, alone, thread_ops[o].impl);
    const BenchVariant *two = bench_run_find(run, both, thread_ops[o].impl);
    char *label = g_strdup_printf("%s %s", thread_ops[o].op, thread_ops[o].impl);

    printf("%-27s %12.2f %12.2f %8.2f\n", label, one->median, two->median,
           two->median / one->median);
    g_free(label);
    g_free(alone);
    g_free(both);
  }
  printf("2 threads: both threads run the loop at once, each on its own dictionary of one shared "
         "local\n"
         "(hand-rolled: its own table); ns/op is per thread. The hand-rolled rows show what the\n"
         "machine itself loses when both cores work (shared caches, SMT, clock).\n");

  pthread_mutex_lock(&helper.mutex);
  helper.quit = TRUE;
  pthread_cond_broadcast(&helper.cond);
  pthread_mutex_unlock(&helper.mutex);
  pthread_join(helper.thread, NULL);
  bench_fixture_clear(&fixture);
}

static void
bench_body(gboolean quick, FILE *csv)
{
  guint64 start = bench_now_ns();
  BenchRun live, threads;

  bench_print_machine(PROGRAM);
  bench_run_init(&live, PROGRAM, quick);
  run_live_locals(&live, csv);
  bench_run_init(&threads, PROGRAM, quick);
  threads.cpu_time = FALSE; /* a sample waits for the helper thread: wall time */
  run_two_threads(&threads);
  printf("\n%u rounds x %.0f ms per variant, median; %.1f s\n", live.rounds, live.target_ns / 1e6,
         (double) (bench_now_ns() - start) / 1e9);

  bench_csv_run(csv, &live);
  bench_csv_run(csv, &threads);
  bench_run_clear(&live);
  bench_run_clear(&threads);
}

int
main(int argc, char **argv)
{
  return bench_main(argc, argv, PROGRAM, NULL, bench_body);
}
