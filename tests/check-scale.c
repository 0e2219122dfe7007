/* Scale: what a thread costs when a million locals are live. Sizes go through tl_test_repeat() so
 * the valgrind setup runs less.
 *
 * Copyright the libtlslocal authors. SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdlib.h>

#include "tl-test.h"

/* ---- small helpers ---- */

static void
spawn(pthread_t *thread, void *(*fn)(void *), void *arg)
{
  ck_assert_int_eq(pthread_create(thread, NULL, fn, arg), 0);
}

static void
join(pthread_t thread)
{
  ck_assert_int_eq(pthread_join(thread, NULL), 0);
}

/* ---- a million live locals: a thread pays for the locals it touches, not for the others ---- */

#define MILLION_LOCALS 1000000
#define MILLION_MIN_LOCALS 50000 /* even under valgrind: a flat table would still be 400 KB */
#define MILLION_THREADS 200
#define MILLION_BATCH 25 /* threads started between two measurements */
/* Room for a thread's record, a few pages of slot table, one dictionary holding one value, and
 * malloc's per-thread cache; a flat table of a million slots is 8 MB, 128 times more. */
#define THREAD_HEAP_BOUND (64 * 1024)

typedef struct {
  sem_t written; /* a thread holds its dictionary */
  sem_t release; /* the main thread has measured: exit */
} MillionShared;

typedef struct {
  MillionShared *shared;
  TlLocal *local;
  TlValue *value; /* taken over by the thread's write */
} MillionArg;

static void *
million_worker(void *data)
{
  MillionArg *arg = data;

  TL_CHECK(tl_local_set_take(arg->local, "k", arg->value) == TL_OK);
  sem_post(&arg->shared->written);
  while (sem_wait(&arg->shared->release) != 0)
    ;
  return NULL;
}

START_TEST(test_million_locals_memory)
{
  int n_locals = tl_test_repeat(MILLION_LOCALS), n_threads = tl_test_repeat(MILLION_THREADS);
  size_t locals_before = tl_stats_live_locals(), values_before = tl_stats_live_values();
  size_t threads_before = tl_stats_live_threads(), dicts_during = 0, threads_during = 0;
  size_t heap_before, heap_during = 0, per_thread = 0;
  TlLocal **locals;
  MillionArg *args;
  pthread_t *threads;
  MillionShared shared;
  int i, started, destroyed = 0;

  if (n_locals < MILLION_MIN_LOCALS)
    n_locals = MILLION_MIN_LOCALS;
  locals = malloc((size_t) n_locals * sizeof *locals);
  args = calloc((size_t) n_threads, sizeof *args);
  threads = calloc((size_t) n_threads, sizeof *threads);
  ck_assert(locals != NULL && args != NULL && threads != NULL);
  for (i = 0; i < n_locals; i++) {
    locals[i] = tl_local_new();
    ck_assert_ptr_nonnull(locals[i]);
  }
  ck_assert_uint_eq(tl_stats_live_locals(), locals_before + (size_t) n_locals);
  ck_assert_int_eq(sem_init(&shared.written, 0, 0), 0);
  ck_assert_int_eq(sem_init(&shared.release, 0, 0), 0);
  /* Each thread writes one of the newest locals, which have the highest ids. */
  for (i = 0; i < n_threads; i++) {
    args[i].shared = &shared;
    args[i].local = locals[n_locals - 1 - i];
    args[i].value = tl_value_new_pointer(&destroyed, tl_test_count_destroy);
    ck_assert_ptr_nonnull(args[i].value);
  }
  /* The test's own allocations are done: from here the heap grows by what the threads cost. */
  heap_before = tl_test_heap_in_use();
  for (started = 0; started < n_threads;) {
    int batch = n_threads - started < MILLION_BATCH ? n_threads - started : MILLION_BATCH;

    for (i = started; i < started + batch; i++)
      spawn(&threads[i], million_worker, &args[i]);
    for (i = 0; i < batch; i++)
      while (sem_wait(&shared.written) != 0)
        ;
    started += batch;
    /* Every thread started so far holds its dictionary and waits. */
    heap_during = tl_test_heap_in_use();
    dicts_during = tl_stats_live_dicts();
    threads_during = tl_stats_live_threads();
    per_thread = heap_during > heap_before ? (heap_during - heap_before) / (size_t) started : 0;
    if (per_thread > THREAD_HEAP_BOUND)
      break; /* failed already; a flat table would cost each further thread 8 MB more */
  }
  for (i = 0; i < started; i++)
    sem_post(&shared.release);
  for (i = 0; i < started; i++)
    join(threads[i]);
  for (i = started; i < n_threads; i++)
    tl_value_unref(args[i].value);
  tl_test_assert_no_failure();
  ck_assert_uint_eq(dicts_during, (size_t) started);
  ck_assert_uint_eq(threads_during, threads_before + (size_t) started);
  ck_assert_uint_eq(tl_stats_live_dicts(), 0);
  ck_assert_uint_eq(tl_stats_live_threads(), threads_before);
  ck_assert_int_eq(destroyed, n_threads);
  ck_assert_uint_eq(tl_stats_live_values(), values_before);

  /* Newest first: the library reuses the id freed last, and the next locals should get low ids
   * again, not ids near a million that every later thread would index. */
  for (i = n_locals - 1; i >= 0; i--)
    tl_local_unref(locals[i]);
  ck_assert_uint_eq(tl_stats_live_locals(), locals_before);
  sem_destroy(&shared.written);
  sem_destroy(&shared.release);
  free(threads);
  free(args);
  free(locals);

  /* Last, so that a library over the bound still leaves nothing behind for the next test. */
  ck_assert_msg(heap_before > 0, "no allocator here tells how much heap is in use");
  ck_assert_msg(per_thread <= THREAD_HEAP_BOUND,
                "%zu bytes of heap per thread (bound %d) with %d live locals, %d threads",
                per_thread, THREAD_HEAP_BOUND, n_locals, started);
}
END_TEST

Suite *
scale_suite(void)
{
  Suite *suite = suite_create("scale");
  struct {
    const char *name;
    const TTest *test;
  } tests[] = {
    {"million locals memory", test_million_locals_memory},
  };
  size_t i;

  for (i = 0; i < sizeof tests / sizeof tests[0]; i++) {
    TCase *tcase = tl_test_case(tests[i].name);

    tcase_add_test(tcase, tests[i].test);
    suite_add_tcase(suite, tcase);
  }
  return suite;
}
