/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Per-thread counters without contention: each worker counts in its own dictionary of one shared
 * local (no lock, no shared cache line), and a reporter sums every thread's counts with a visit.
 * An exit hook folds each finished thread's counts into a total, so nothing is lost when a thread
 * ends. Build: cc thread-counters.c $(pkg-config --cflags --libs tlslocal) -pthread */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>

#include <tlslocal.h>

#define N_WORKERS 4
#define N_REQUESTS 100000

static TlLocal *counters;
static pthread_barrier_t all_counted;
static int64_t finished_total; /* counts of threads that have exited */

static void
count(const char *name)
{
  int64_t n = 0;
  TlValue *current = tl_local_peek(counters, name), *next;

  if (current != NULL)
    tl_value_get_int64(current, &n);
  next = tl_value_new_int64(n + 1);
  tl_local_set(counters, name, next);
  tl_value_unref(next);
}

static void *
worker(void *arg)
{
  int i;

  for (i = 0; i < N_REQUESTS; i++)
    count(i % 10 == 0 ? "errors" : "requests");
  pthread_barrier_wait(&all_counted); /* the reporter visits while we are all alive */
  pthread_barrier_wait(&all_counted);
  return arg;
}

static int
add_up(uint64_t thread_id, const char *key, TlValue *value, void *payload)
{
  int64_t n;

  tl_value_get_int64(value, &n);
  printf("  thread %-3" PRIu64 " %-9s %8" PRId64 "\n", thread_id, key, n);
  *(int64_t *) payload += n;
  return 0;
}

/* Runs on each worker as it exits, with a snapshot of what it counted. */
static void
fold_into_total(int reason, uint64_t thread_id, TlValue *contents, void *user_data)
{
  TlValue *requests;
  int64_t n;

  if (tl_value_lookup(contents, "requests", &requests) == TL_OK) {
    tl_value_get_int64(requests, &n);
    __atomic_fetch_add(&finished_total, n, __ATOMIC_RELAXED);
    tl_value_unref(requests);
  }
}

int
main(void)
{
  pthread_t threads[N_WORKERS];
  int64_t requests = 0;
  int i;

  counters = tl_local_new_full(TL_LOCAL_VISITABLE, NULL, NULL, NULL);
  tl_local_set_exit_hook(counters, fold_into_total, NULL, NULL);
  pthread_barrier_init(&all_counted, NULL, N_WORKERS + 1);
  for (i = 0; i < N_WORKERS; i++)
    pthread_create(&threads[i], NULL, worker, NULL);

  pthread_barrier_wait(&all_counted);
  printf("live per-thread counters:\n");
  tl_local_visit(counters, "requests", add_up, &requests);
  printf("  %-10s %-9s %8" PRId64 "\n", "sum", "requests", requests);
  pthread_barrier_wait(&all_counted);

  for (i = 0; i < N_WORKERS; i++)
    pthread_join(threads[i], NULL);
  printf("folded in by exit hooks as the workers ended: %" PRId64 " requests\n", finished_total);
  tl_local_unref(counters);
  tl_thread_clear();
  return requests == finished_total && requests == (int64_t) N_WORKERS * N_REQUESTS * 9 / 10 ? 0
                                                                                             : 1;
}
