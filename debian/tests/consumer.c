/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A program built against the installed libtlslocal-dev (through pkg-config, and through CMake):
 * each thread keeps its own value in one shared local, and the library that runs is the version
 * the headers describe. Exits nonzero on any mismatch. */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <tlslocal.h>

#define N_THREADS 4

static TlLocal *shared;
static pthread_barrier_t all_set;
static int64_t seen[N_THREADS];

static int64_t
read_n(void)
{
  int64_t n = -1;
  TlValue *value = tl_local_peek(shared, "n");

  if (value != NULL)
    tl_value_get_int64(value, &n);
  return n;
}

static void *
worker(void *arg)
{
  int64_t index = (int64_t) (intptr_t) arg;

  tl_local_set_int64(shared, "n", index);
  pthread_barrier_wait(&all_set); /* every thread has written before any reads back */
  seen[index] = read_n();
  return NULL;
}

int
main(void)
{
  pthread_t threads[N_THREADS];
  int64_t i;
  int failures = 0;

  if (strcmp(tl_version(), TL_VERSION_STRING) != 0) {
    fprintf(stderr, "runtime libtlslocal %s, headers %s\n", tl_version(), TL_VERSION_STRING);
    return 1;
  }
  shared = tl_local_new();
  pthread_barrier_init(&all_set, NULL, N_THREADS);
  for (i = 0; i < N_THREADS; i++)
    pthread_create(&threads[i], NULL, worker, (void *) (intptr_t) i);
  for (i = 0; i < N_THREADS; i++)
    pthread_join(threads[i], NULL);
  for (i = 0; i < N_THREADS; i++) {
    if (seen[i] != i) {
      fprintf(stderr, "thread %" PRId64 " read %" PRId64 "\n", i, seen[i]);
      failures++;
    }
  }
  if (read_n() != -1) { /* the main thread never wrote */
    fprintf(stderr, "the main thread sees another thread's value\n");
    failures++;
  }
  tl_local_unref(shared);
  tl_thread_clear();
  pthread_barrier_destroy(&all_set);
  printf("libtlslocal %s: %d threads, each its own value\n", tl_version(), N_THREADS);
  return failures == 0 ? 0 : 1;
}
