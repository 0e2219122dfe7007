/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tl_local_visit(): aggregating per-thread values from any thread, its one-instant guarantee, its
 * errors and early stop, visitors that call back into the library, and visits racing thread exits,
 * writers and the local's destruction. */
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tl-test.h"

/* ---- helpers ---- */

static int
set_int64(TlLocal *local, const char *key, int64_t number)
{
  TlValue *value = tl_value_new_int64(number);
  int status = tl_local_set(local, key, value);

  tl_value_unref(value);
  return status;
}

static int64_t
value_int64(TlValue *value)
{
  int64_t number = -1;

  TL_CHECK(tl_value_get_int64(value, &number) == TL_OK);
  return number;
}

static TlLocal *
new_visitable(void)
{
  TlLocal *local = tl_local_new_full(TL_LOCAL_VISITABLE, NULL, NULL, NULL);

  ck_assert_ptr_nonnull(local);
  return local;
}

static int
load_int(const int *p)
{
  return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static void
store_int(int *p, int value)
{
  __atomic_store_n(p, value, __ATOMIC_RELEASE);
}

/* A heap object behind a pointer value; its destroy function poisons it before freeing, so a
 * visitor reading a freed one fails here (and under valgrind or ASan, louder). */
#define TRACKED_MAGIC 0x7472616bu
#define TRACKED_DEAD 0xdeadbeefu

typedef struct {
  unsigned int magic;
  int64_t number;
  int *destroyed; /* incremented atomically by the destroy function */
} Tracked;

static void
tracked_destroy(void *ptr)
{
  Tracked *tracked = ptr;

  TL_CHECK(tracked->magic == TRACKED_MAGIC);
  tracked->magic = TRACKED_DEAD;
  __atomic_fetch_add(tracked->destroyed, 1, __ATOMIC_SEQ_CST);
  free(tracked);
}

static int
set_tracked(TlLocal *local, const char *key, int64_t number, int *destroyed)
{
  Tracked *tracked = malloc(sizeof *tracked);
  TlValue *value;
  int status;

  tracked->magic = TRACKED_MAGIC;
  tracked->number = number;
  tracked->destroyed = destroyed;
  value = tl_value_new_pointer(tracked, tracked_destroy);
  status = tl_local_set(local, key, value);
  tl_value_unref(value);
  return status;
}

/* The Tracked behind value, checked alive; NULL if value is not a live Tracked. */
static Tracked *
value_tracked(TlValue *value)
{
  void *ptr = NULL;

  if (tl_value_get_pointer(value, &ptr) != TL_OK || ptr == NULL)
    return NULL;
  TL_CHECK(((Tracked *) ptr)->magic == TRACKED_MAGIC);
  return ((Tracked *) ptr)->magic == TRACKED_MAGIC ? ptr : NULL;
}

/* ---- a recording visitor ---- */

#define MAX_VISITS 256

typedef struct {
  uint64_t thread_id;
  char key[32];
  int64_t number; /* -1 unless an int64 */
} Visit;

typedef struct {
  Visit visits[MAX_VISITS];
  size_t n_visits;
  size_t stop_at; /* return stop_value at this call */
  int stop_value;
} Recorder;

static void
recorder_init(Recorder *recorder)
{
  memset(recorder, 0, sizeof *recorder);
  recorder->stop_at = (size_t) -1;
}

static int
record_visit(uint64_t thread_id, const char *key, TlValue *value, void *payload)
{
  Recorder *recorder = payload;
  size_t i = recorder->n_visits++;
  int64_t number = -1;

  TL_CHECK(i < MAX_VISITS);
  if (i >= MAX_VISITS)
    return 1;
  TL_CHECK(thread_id != 0);
  TL_CHECK(key != NULL);
  TL_CHECK(value != NULL);
  recorder->visits[i].thread_id = thread_id;
  snprintf(recorder->visits[i].key, sizeof recorder->visits[i].key, "%s", key);
  if (tl_value_get_int64(value, &number) == TL_OK)
    recorder->visits[i].number = number;
  else
    recorder->visits[i].number = -1;
  return i == recorder->stop_at ? recorder->stop_value : 0;
}

/* The calls for one thread, in the order they came. */
static size_t
visits_of(const Recorder *recorder, uint64_t thread_id, const Visit **out, size_t max)
{
  size_t i, n = 0;

  for (i = 0; i < recorder->n_visits; i++)
    if (recorder->visits[i].thread_id == thread_id && n < max)
      out[n++] = &recorder->visits[i];
  return n;
}

/* ---- threads parked at a barrier ---- */

/* Per-thread counters: N threads each increment their own "count" K times, then park twice at
 * the barrier (counted, then released) per phase, so the runner thread can visit them parked. */
#define COUNTER_THREADS 8

typedef struct {
  TlLocal *local;
  pthread_barrier_t barrier; /* COUNTER_THREADS + the runner */
  int increments;
  int phases;
  int next_index;
  uint64_t ids[COUNTER_THREADS];
} Counters;

static void *
counter_thread(void *arg)
{
  Counters *counters = arg;
  int index = __atomic_fetch_add(&counters->next_index, 1, __ATOMIC_SEQ_CST);
  int64_t count = 0;
  int phase, i;

  __atomic_store_n(&counters->ids[index], tl_thread_id(), __ATOMIC_RELEASE);
  for (phase = 0; phase < counters->phases; phase++) {
    for (i = 0; i < counters->increments; i++) {
      TlValue *current = tl_local_peek(counters->local, "count");
      int64_t seen = current != NULL ? value_int64(current) : 0;

      TL_CHECK(seen == count);
      TL_CHECK(set_int64(counters->local, "count", ++count) == TL_OK);
    }
    pthread_barrier_wait(&counters->barrier); /* counted */
    pthread_barrier_wait(&counters->barrier); /* visited */
  }
  return NULL;
}

typedef struct {
  int64_t sum;
  size_t calls;
  uint64_t ids[COUNTER_THREADS + 1];
} Sum;

static int
sum_visit(uint64_t thread_id, const char *key, TlValue *value, void *payload)
{
  Sum *sum = payload;

  TL_CHECK(strcmp(key, "count") == 0);
  sum->sum += value_int64(value);
  if (sum->calls < N_ELEMENTS(sum->ids))
    sum->ids[sum->calls] = thread_id;
  sum->calls++;
  return 0;
}

START_TEST(test_sum_counters)
{
  Counters counters;
  pthread_t threads[COUNTER_THREADS];
  Sum sum;
  int phase, i, j;

  memset(&counters, 0, sizeof counters);
  counters.local = new_visitable();
  counters.increments = tl_test_repeat(2000);
  counters.phases = 3;
  pthread_barrier_init(&counters.barrier, NULL, COUNTER_THREADS + 1);

  /* Nobody has a dictionary yet: a full visit of nothing. */
  memset(&sum, 0, sizeof sum);
  ck_assert_int_eq(tl_local_visit(counters.local, "count", sum_visit, &sum), TL_OK);
  ck_assert_uint_eq(sum.calls, 0);

  for (i = 0; i < COUNTER_THREADS; i++)
    ck_assert_int_eq(pthread_create(&threads[i], NULL, counter_thread, &counters), 0);
  for (phase = 1; phase <= counters.phases; phase++) {
    pthread_barrier_wait(&counters.barrier); /* every thread has counted this phase */
    memset(&sum, 0, sizeof sum);
    ck_assert_int_eq(tl_local_visit(counters.local, "count", sum_visit, &sum), TL_OK);
    ck_assert_uint_eq(sum.calls, COUNTER_THREADS);
    ck_assert_int_eq(sum.sum, (int64_t) COUNTER_THREADS * counters.increments * phase);

    /* Each thread once, under the id it has from tl_thread_id(). */
    for (i = 0; i < COUNTER_THREADS; i++) {
      uint64_t id = __atomic_load_n(&counters.ids[i], __ATOMIC_ACQUIRE);
      int found = 0;

      ck_assert_uint_ne(id, 0);
      ck_assert_uint_ne(id, tl_thread_id());
      for (j = 0; j < COUNTER_THREADS; j++)
        found += sum.ids[j] == id;
      ck_assert_int_eq(found, 1);
    }
    pthread_barrier_wait(&counters.barrier);
  }
  for (i = 0; i < COUNTER_THREADS; i++)
    ck_assert_int_eq(pthread_join(threads[i], NULL), 0);
  tl_test_assert_no_failure();

  /* Exited threads took their dictionaries with them. */
  memset(&sum, 0, sizeof sum);
  ck_assert_int_eq(tl_local_visit(counters.local, "count", sum_visit, &sum), TL_OK);
  ck_assert_uint_eq(sum.calls, 0);

  /* The visiting thread's own dictionary counts too. */
  ck_assert_int_eq(set_int64(counters.local, "count", 41), TL_OK);
  memset(&sum, 0, sizeof sum);
  ck_assert_int_eq(tl_local_visit(counters.local, "count", sum_visit, &sum), TL_OK);
  ck_assert_uint_eq(sum.calls, 1);
  ck_assert_int_eq(sum.sum, 41);
  ck_assert_uint_eq(sum.ids[0], tl_thread_id());

  pthread_barrier_destroy(&counters.barrier);
  tl_local_unref(counters.local);
}
END_TEST

/* ---- every key, order, missing keys ---- */

#define KEYED_THREADS 4

typedef struct {
  TlLocal *local;
  pthread_barrier_t barrier; /* KEYED_THREADS + the runner: set up, then visited */
  int next_index;
  uint64_t ids[KEYED_THREADS];
} Keyed;

/* Thread i writes keys in its own order; thread 0 has no "count"; thread 3 ends with an empty
 * dictionary (it set and deleted its only key). */
static void *
keyed_thread(void *arg)
{
  Keyed *keyed = arg;
  int index = __atomic_fetch_add(&keyed->next_index, 1, __ATOMIC_SEQ_CST);
  char key[16];
  int j;

  __atomic_store_n(&keyed->ids[index], tl_thread_id(), __ATOMIC_RELEASE);
  switch (index) {
  case 3:
    TL_CHECK(set_int64(keyed->local, "gone", 1) == TL_OK);
    TL_CHECK(tl_local_delete(keyed->local, "gone") == TL_OK);
    break;
  default:
    for (j = 0; j < 5; j++) {
      snprintf(key, sizeof key, "k%d", (index + j) % 5);
      TL_CHECK(set_int64(keyed->local, key, 100 * index + j) == TL_OK);
    }
    if (index != 0)
      TL_CHECK(set_int64(keyed->local, "count", index) == TL_OK);
    /* Overwriting keeps the key's place; deleting and setting again moves it to the end. */
    TL_CHECK(set_int64(keyed->local, "k0", -7) == TL_OK);
    TL_CHECK(tl_local_delete(keyed->local, "k1") == TL_OK);
    TL_CHECK(set_int64(keyed->local, "k1", 1000 + index) == TL_OK);
    break;
  }
  pthread_barrier_wait(&keyed->barrier);
  pthread_barrier_wait(&keyed->barrier);
  return NULL;
}

/* The keys thread index (0..2) holds, in insertion order, with their numbers. */
static size_t
expected_keys(int index, char keys[8][16], int64_t numbers[8])
{
  size_t n = 0;
  int j;

  for (j = 0; j < 5; j++) {
    int k = (index + j) % 5;
    if (k == 1)
      continue; /* deleted and set again at the end */
    snprintf(keys[n], 16, "k%d", k);
    numbers[n++] = k == 0 ? -7 : 100 * index + j;
  }
  if (index != 0) {
    snprintf(keys[n], 16, "count");
    numbers[n++] = index;
  }
  snprintf(keys[n], 16, "k1");
  numbers[n++] = 1000 + index;
  return n;
}

START_TEST(test_visit_every_key)
{
  Keyed keyed;
  pthread_t threads[KEYED_THREADS];
  Recorder *recorder = malloc(sizeof *recorder);
  const Visit *mine[16];
  char keys[8][16];
  int64_t numbers[8];
  size_t n, n_expected, total = 0, k;
  int i;

  memset(&keyed, 0, sizeof keyed);
  keyed.local = new_visitable();
  pthread_barrier_init(&keyed.barrier, NULL, KEYED_THREADS + 1);
  for (i = 0; i < KEYED_THREADS; i++)
    ck_assert_int_eq(pthread_create(&threads[i], NULL, keyed_thread, &keyed), 0);
  pthread_barrier_wait(&keyed.barrier);
  tl_test_assert_no_failure();

  recorder_init(recorder);
  ck_assert_int_eq(tl_local_visit(keyed.local, NULL, record_visit, recorder), TL_OK);
  tl_test_assert_no_failure();
  for (i = 0; i < KEYED_THREADS; i++) {
    uint64_t id = __atomic_load_n(&keyed.ids[i], __ATOMIC_ACQUIRE);

    n = visits_of(recorder, id, mine, N_ELEMENTS(mine));
    if (i == 3) {
      ck_assert_uint_eq(n, 0); /* an empty dictionary has nothing to visit */
      continue;
    }
    n_expected = expected_keys(i, keys, numbers);
    ck_assert_uint_eq(n, n_expected);
    for (k = 0; k < n; k++) {
      ck_assert_str_eq(mine[k]->key, keys[k]);
      ck_assert_int_eq(mine[k]->number, numbers[k]);
    }
    total += n;
  }
  ck_assert_uint_eq(recorder->n_visits, total); /* and no one else */

  /* With a key: threads without it are skipped. */
  recorder_init(recorder);
  ck_assert_int_eq(tl_local_visit(keyed.local, "count", record_visit, recorder), TL_OK);
  ck_assert_uint_eq(recorder->n_visits, 2);
  for (i = 0; i < KEYED_THREADS; i++) {
    n = visits_of(recorder, __atomic_load_n(&keyed.ids[i], __ATOMIC_ACQUIRE), mine,
                  N_ELEMENTS(mine));
    ck_assert_uint_eq(n, i == 1 || i == 2 ? 1 : 0);
    if (n == 1) {
      ck_assert_str_eq(mine[0]->key, "count");
      ck_assert_int_eq(mine[0]->number, i);
    }
  }

  /* A key no thread has. */
  recorder_init(recorder);
  ck_assert_int_eq(tl_local_visit(keyed.local, "nowhere", record_visit, recorder), TL_OK);
  ck_assert_uint_eq(recorder->n_visits, 0);
  /* Keys are exact: no prefix or case folding. */
  ck_assert_int_eq(tl_local_visit(keyed.local, "Count", record_visit, recorder), TL_OK);
  ck_assert_int_eq(tl_local_visit(keyed.local, "coun", record_visit, recorder), TL_OK);
  ck_assert_uint_eq(recorder->n_visits, 0);

  pthread_barrier_wait(&keyed.barrier);
  for (i = 0; i < KEYED_THREADS; i++)
    ck_assert_int_eq(pthread_join(threads[i], NULL), 0);
  tl_test_assert_no_failure();
  pthread_barrier_destroy(&keyed.barrier);
  free(recorder);
  tl_local_unref(keyed.local);
}
END_TEST

/* A visit reads other threads' dictionaries, not the caller's: it runs no initializer and makes
 * no dictionary for the visiting thread. */
static int
init_counting(TlLocal *local, void *user_data)
{
  __atomic_fetch_add((int *) user_data, 1, __ATOMIC_SEQ_CST);
  return set_int64(local, "init", 1);
}

START_TEST(test_visit_runs_no_initializer)
{
  int inits = 0;
  TlLocal *local = tl_local_new_full(TL_LOCAL_VISITABLE, init_counting, &inits, NULL);
  size_t dicts = tl_stats_live_dicts();
  Recorder recorder;

  recorder_init(&recorder);
  ck_assert_int_eq(tl_local_visit(local, NULL, record_visit, &recorder), TL_OK);
  ck_assert_int_eq(tl_local_visit(local, "init", record_visit, &recorder), TL_OK);
  ck_assert_uint_eq(recorder.n_visits, 0);
  ck_assert_int_eq(inits, 0);
  ck_assert_uint_eq(tl_stats_live_dicts(), dicts);

  /* Once this thread has accessed it, the initializer's key is there to visit. */
  ck_assert_int_eq(tl_local_contains(local, "init"), 1);
  ck_assert_int_eq(inits, 1);
  ck_assert_int_eq(tl_local_visit(local, NULL, record_visit, &recorder), TL_OK);
  ck_assert_uint_eq(recorder.n_visits, 1);
  ck_assert_str_eq(recorder.visits[0].key, "init");
  ck_assert_uint_eq(recorder.visits[0].thread_id, tl_thread_id());
  tl_test_assert_no_failure();
  tl_local_unref(local);
}
END_TEST

/* ---- errors and early stop ---- */

START_TEST(test_visit_errors)
{
  TlLocal *plain = tl_local_new();
  TlLocal *visitable = new_visitable();
  TlLocal *named = tl_local_open("tl-test.visit.named");
  Recorder recorder;

  recorder_init(&recorder);
  ck_assert_int_eq(set_int64(plain, "k", 1), TL_OK);
  ck_assert_int_eq(set_int64(visitable, "k", 1), TL_OK);
  ck_assert_int_eq(set_int64(named, "k", 1), TL_OK);

  /* Only a local made with TL_LOCAL_VISITABLE can be visited, with a key or without. */
  ck_assert_int_eq(tl_local_visit(plain, "k", record_visit, &recorder), TL_ERR_UNSUPPORTED);
  ck_assert_int_eq(tl_last_error(), TL_ERR_UNSUPPORTED);
  ck_assert_str_ne(tl_last_error_message(), "");
  ck_assert_int_eq(tl_local_visit(plain, NULL, record_visit, &recorder), TL_ERR_UNSUPPORTED);
  ck_assert_int_eq(tl_local_visit(named, NULL, record_visit, &recorder), TL_ERR_UNSUPPORTED);
  ck_assert_uint_eq(recorder.n_visits, 0);

  ck_assert_int_eq(tl_local_visit(NULL, "k", record_visit, &recorder), TL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(tl_last_error(), TL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(tl_local_visit(visitable, "k", NULL, &recorder), TL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(tl_local_visit(visitable, NULL, NULL, NULL), TL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(tl_local_visit(visitable, "\xff\xfe", record_visit, &recorder),
                   TL_ERR_INVALID_KEY);
  ck_assert_int_eq(tl_last_error(), TL_ERR_INVALID_KEY);
  ck_assert_int_eq(tl_local_visit(visitable, "ok\xc3", record_visit, &recorder),
                   TL_ERR_INVALID_KEY);
  ck_assert_uint_eq(recorder.n_visits, 0);

  /* And still fine afterwards. */
  ck_assert_int_eq(tl_local_visit(visitable, "k", record_visit, &recorder), TL_OK);
  ck_assert_uint_eq(recorder.n_visits, 1);
  tl_test_assert_no_failure();

  tl_local_unref(named);
  ck_assert_int_eq(tl_local_unregister("tl-test.visit.named"), TL_OK);
  tl_local_unref(plain);
  tl_local_unref(visitable);
}
END_TEST

/* Threads with three keys each, parked, for the stop tests. */
typedef struct {
  TlLocal *local;
  pthread_barrier_t barrier;
} Parked;

static void *
three_keys_thread(void *arg)
{
  Parked *parked = arg;

  TL_CHECK(set_int64(parked->local, "a", 1) == TL_OK);
  TL_CHECK(set_int64(parked->local, "b", 2) == TL_OK);
  TL_CHECK(set_int64(parked->local, "c", 3) == TL_OK);
  pthread_barrier_wait(&parked->barrier);
  pthread_barrier_wait(&parked->barrier);
  return NULL;
}

START_TEST(test_visit_stops)
{
  enum { N = 3 };
  Parked parked;
  pthread_t threads[N];
  Recorder recorder;
  size_t stop;
  int i;

  parked.local = new_visitable();
  pthread_barrier_init(&parked.barrier, NULL, N + 1);
  for (i = 0; i < N; i++)
    ck_assert_int_eq(pthread_create(&threads[i], NULL, three_keys_thread, &parked), 0);
  pthread_barrier_wait(&parked.barrier);

  recorder_init(&recorder);
  ck_assert_int_eq(tl_local_visit(parked.local, NULL, record_visit, &recorder), TL_OK);
  ck_assert_uint_eq(recorder.n_visits, 3 * N);

  /* A nonzero return stops at once, across threads too, and is returned whatever its value. */
  for (stop = 0; stop < 3 * N; stop++) {
    static const int values[] = {1, -1, 42, TL_ERR_NOT_FOUND, 0x7fffffff};
    int value = values[stop % N_ELEMENTS(values)];

    recorder_init(&recorder);
    recorder.stop_at = stop;
    recorder.stop_value = value;
    ck_assert_int_eq(tl_local_visit(parked.local, NULL, record_visit, &recorder), value);
    ck_assert_uint_eq(recorder.n_visits, stop + 1);
  }
  recorder_init(&recorder);
  recorder.stop_at = 1;
  recorder.stop_value = 9;
  ck_assert_int_eq(tl_local_visit(parked.local, "b", record_visit, &recorder), 9);
  ck_assert_uint_eq(recorder.n_visits, 2);

  pthread_barrier_wait(&parked.barrier);
  for (i = 0; i < N; i++)
    ck_assert_int_eq(pthread_join(threads[i], NULL), 0);
  tl_test_assert_no_failure();
  pthread_barrier_destroy(&parked.barrier);
  tl_local_unref(parked.local);
}
END_TEST

/* ---- visitors that call into the library ---- */

typedef struct {
  TlLocal *local; /* the one visited */
  TlLocal *other; /* visitable too */
  int depth;
  int calls;
  int inner_status;
  int *destroyed;
} Reentry;

static int
count_visit(uint64_t thread_id, const char *key, TlValue *value, void *payload)
{
  (*(int *) payload)++;
  return 0;
}

static int
reentrant_visit(uint64_t thread_id, const char *key, TlValue *value, void *payload)
{
  Reentry *reentry = payload;
  int inner = 0;
  char copied_key[64];

  reentry->calls++;
  snprintf(copied_key, sizeof copied_key, "%s", key);
  /* Write to another local, to the visited local (this thread's dictionary), and visit both. */
  TL_CHECK(set_int64(reentry->other, "from-visitor", reentry->calls) == TL_OK);
  TL_CHECK(set_int64(reentry->local, "visitor-wrote", reentry->calls) == TL_OK);
  TL_CHECK(tl_local_visit(reentry->other, NULL, count_visit, &inner) == TL_OK);
  TL_CHECK(inner >= 1);
  if (reentry->depth++ == 0) {
    Recorder nested;

    recorder_init(&nested);
    TL_CHECK(tl_local_visit(reentry->local, NULL, record_visit, &nested) == TL_OK);
    TL_CHECK(nested.n_visits >= 1);
  }
  reentry->depth--;

  /* The visited value is the visit's own reference: deleting the key, even clearing the whole
   * thread, leaves it valid for the rest of this call. */
  if (strcmp(copied_key, "p") == 0) {
    Tracked *tracked = value_tracked(value);

    TL_CHECK(tracked != NULL);
    TL_CHECK(tl_local_delete(reentry->local, "p") == TL_OK);
    TL_CHECK(__atomic_load_n(reentry->destroyed, __ATOMIC_SEQ_CST) == 0);
    tl_thread_clear();
    TL_CHECK(value_tracked(value) == tracked);
    TL_CHECK(__atomic_load_n(reentry->destroyed, __ATOMIC_SEQ_CST) == 0);
  }
  TL_CHECK(strcmp(key, copied_key) == 0);
  return 0;
}

START_TEST(test_visitor_reenters)
{
  Reentry reentry;
  int destroyed = 0;

  memset(&reentry, 0, sizeof reentry);
  reentry.local = new_visitable();
  reentry.other = new_visitable();
  reentry.destroyed = &destroyed;
  ck_assert_int_eq(set_int64(reentry.local, "a", 1), TL_OK);
  ck_assert_int_eq(set_tracked(reentry.local, "p", 2, &destroyed), TL_OK);
  ck_assert_int_eq(set_int64(reentry.local, "z", 3), TL_OK);

  /* The walk is over what the visit copied: keys the visitor adds are not visited, and "z" still
   * is although the visitor cleared the thread before reaching it. */
  ck_assert_int_eq(tl_local_visit(reentry.local, NULL, reentrant_visit, &reentry), TL_OK);
  tl_test_assert_no_failure();
  ck_assert_int_eq(reentry.calls, 3);
  ck_assert_int_eq(destroyed, 1); /* released with the visit's copies */
  ck_assert_int_eq(tl_local_contains(reentry.local, "p"), 0);
  ck_assert_int_eq(tl_local_contains(reentry.local, "visitor-wrote"), 1);

  tl_local_unref(reentry.local);
  tl_local_unref(reentry.other);
}
END_TEST

/* A visitor on one thread visiting a local another thread is visiting at the same time, each
 * visitor writing into the local it visits: no deadlock, every visit complete. */
typedef struct {
  TlLocal *local;
  int rounds;
  int next_index;
} CrossVisits;

static int
writing_visit(uint64_t thread_id, const char *key, TlValue *value, void *payload)
{
  CrossVisits *cross = payload;
  int inner = 0;

  TL_CHECK(set_int64(cross->local, "visited", (int64_t) thread_id) == TL_OK);
  TL_CHECK(tl_local_visit(cross->local, "visited", count_visit, &inner) == TL_OK);
  return 0;
}

static void *
cross_visitor_thread(void *arg)
{
  CrossVisits *cross = arg;
  int i;

  TL_CHECK(set_int64(cross->local, "visited", 0) == TL_OK);
  for (i = 0; i < cross->rounds; i++)
    TL_CHECK(tl_local_visit(cross->local, NULL, writing_visit, cross) == TL_OK);
  return NULL;
}

START_TEST(test_visitors_in_parallel)
{
  CrossVisits cross;

  cross.local = new_visitable();
  cross.rounds = tl_test_repeat(200);
  tl_test_run_threads(4, cross_visitor_thread, &cross);
  tl_test_assert_no_failure();
  tl_local_unref(cross.local);
}
END_TEST

/* ---- the one-instant guarantee ---- */

/* Two threads A and B pass a token: A sets "n" = i, then B sets "n" = i, then A sets i + 1...
 * So at every instant n(B) <= n(A) <= n(B) + 1, and a visit, which sees each thread with the
 * values it held at one instant, must see that too. Filler threads with many keys sit between A
 * and B in the visit, so a visit that copied one dictionary after another, rather than all at one
 * instant, would let the token go round meanwhile. */
#define FILLER_THREADS 6
#define FILLER_KEYS 300

typedef struct {
  TlLocal *local;
  int stop;
  uint64_t id_a, id_b;
  sem_t turn_a, turn_b; /* the token */
  sem_t b_ready, fillers_ready, a_ready, done;
} Token;

static void *
token_thread(Token *token, uint64_t *id, sem_t *ready, sem_t *mine, sem_t *theirs)
{
  int64_t i = 0;

  __atomic_store_n(id, tl_thread_id(), __ATOMIC_RELEASE);
  TL_CHECK(set_int64(token->local, "n", 0) == TL_OK);
  sem_post(ready);
  for (;;) {
    sem_wait(mine);
    if (load_int(&token->stop))
      return NULL;
    TL_CHECK(set_int64(token->local, "n", ++i) == TL_OK);
    sem_post(theirs);
  }
}

static void *
token_a_thread(void *arg)
{
  Token *token = arg;

  return token_thread(token, &token->id_a, &token->a_ready, &token->turn_a, &token->turn_b);
}

static void *
token_b_thread(void *arg)
{
  Token *token = arg;

  return token_thread(token, &token->id_b, &token->b_ready, &token->turn_b, &token->turn_a);
}

static void *
filler_thread(void *arg)
{
  Token *token = arg;
  char key[32];
  int i;

  for (i = 0; i < FILLER_KEYS; i++) {
    snprintf(key, sizeof key, "filler-%d", i);
    TL_CHECK(set_int64(token->local, key, i) == TL_OK);
  }
  sem_post(&token->fillers_ready);
  sem_wait(&token->done);
  return NULL;
}

typedef struct {
  uint64_t id_a, id_b;
  int64_t a, b;
  int seen_a, seen_b;
} Pair;

static int
pair_visit(uint64_t thread_id, const char *key, TlValue *value, void *payload)
{
  Pair *pair = payload;

  if (strcmp(key, "n") != 0)
    return 0;
  if (thread_id == pair->id_a) {
    pair->a = value_int64(value);
    pair->seen_a++;
  } else if (thread_id == pair->id_b) {
    pair->b = value_int64(value);
    pair->seen_b++;
  }
  return 0;
}

START_TEST(test_visit_sees_one_instant)
{
  Token token;
  pthread_t a, b, fillers[FILLER_THREADS];
  const int rounds = tl_test_repeat(1000);
  int i, violations = 0;
  Pair first_bad;

  memset(&token, 0, sizeof token);
  memset(&first_bad, 0, sizeof first_bad);
  token.local = new_visitable();
  sem_init(&token.turn_a, 0, 0);
  sem_init(&token.turn_b, 0, 0);
  sem_init(&token.b_ready, 0, 0);
  sem_init(&token.fillers_ready, 0, 0);
  sem_init(&token.a_ready, 0, 0);
  sem_init(&token.done, 0, 0);
  /* Dictionaries made in the order B, fillers, A, so that the two are far apart in the walk over
   * the local's dictionaries (whichever end it starts from). */
  ck_assert_int_eq(pthread_create(&b, NULL, token_b_thread, &token), 0);
  sem_wait(&token.b_ready);
  for (i = 0; i < FILLER_THREADS; i++)
    ck_assert_int_eq(pthread_create(&fillers[i], NULL, filler_thread, &token), 0);
  for (i = 0; i < FILLER_THREADS; i++)
    sem_wait(&token.fillers_ready);
  ck_assert_int_eq(pthread_create(&a, NULL, token_a_thread, &token), 0);
  sem_wait(&token.a_ready);
  sem_post(&token.turn_a); /* the token starts going round */

  for (i = 0; i < rounds; i++) {
    Pair pair;

    memset(&pair, 0, sizeof pair);
    pair.id_a = __atomic_load_n(&token.id_a, __ATOMIC_ACQUIRE);
    pair.id_b = __atomic_load_n(&token.id_b, __ATOMIC_ACQUIRE);
    ck_assert_int_eq(tl_local_visit(token.local, NULL, pair_visit, &pair), TL_OK);
    ck_assert_int_eq(pair.seen_a, 1);
    ck_assert_int_eq(pair.seen_b, 1);
    if (!(pair.b <= pair.a && pair.a <= pair.b + 1) && violations++ == 0)
      first_bad = pair;
  }
  store_int(&token.stop, 1);
  sem_post(&token.turn_a);
  sem_post(&token.turn_b);
  ck_assert_int_eq(pthread_join(a, NULL), 0);
  ck_assert_int_eq(pthread_join(b, NULL), 0);
  for (i = 0; i < FILLER_THREADS; i++)
    sem_post(&token.done);
  for (i = 0; i < FILLER_THREADS; i++)
    ck_assert_int_eq(pthread_join(fillers[i], NULL), 0);
  tl_test_assert_no_failure();
  sem_destroy(&token.turn_a);
  sem_destroy(&token.turn_b);
  sem_destroy(&token.b_ready);
  sem_destroy(&token.fillers_ready);
  sem_destroy(&token.a_ready);
  sem_destroy(&token.done);
  tl_local_unref(token.local);

  ck_assert_msg(violations == 0,
                "%d of %d visits saw values no instant had: A's n = %" PRId64
                " with B's n = %" PRId64 " (at every instant B's n <= A's n <= B's n + 1)",
                violations, rounds, first_bad.a, first_bad.b);
}
END_TEST

/* ---- races ---- */

/* Threads write a rising counter and a pointer value, then exit, while the runner visits over and
 * over: every value a visit reports is alive during the call, is one its thread wrote, and never
 * goes back for a thread from one visit to the next. */
#define EXIT_THREADS 4
#define EXIT_WRITES 40

typedef struct {
  TlLocal *local;
  int next_index;
  int finished;
  int destroyed;
  uint64_t ids[EXIT_THREADS + 1]; /* [EXIT_THREADS]: the runner, which writes too */
  int64_t last_seen[EXIT_THREADS + 1];
  int64_t visits_seen;
} Exits;

static void *
exiting_thread(void *arg)
{
  Exits *exits = arg;
  int index = __atomic_fetch_add(&exits->next_index, 1, __ATOMIC_SEQ_CST);
  int64_t seq;

  __atomic_store_n(&exits->ids[index], tl_thread_id(), __ATOMIC_RELEASE);
  for (seq = 1; seq <= EXIT_WRITES; seq++) {
    TL_CHECK(set_int64(exits->local, "count", index * 1000000 + seq) == TL_OK);
    if (seq % 8 == 1)
      TL_CHECK(set_tracked(exits->local, "p", index * 1000000 + seq, &exits->destroyed) == TL_OK);
  }
  __atomic_fetch_add(&exits->finished, 1, __ATOMIC_SEQ_CST);
  return NULL; /* the exit frees this thread's dictionary, maybe mid-visit */
}

static int
exits_visit(uint64_t thread_id, const char *key, TlValue *value, void *payload)
{
  Exits *exits = payload;

  exits->visits_seen++;
  if (strcmp(key, "count") == 0) {
    int64_t number = value_int64(value);
    int64_t index = number / 1000000, seq = number % 1000000;

    TL_CHECK(index >= 0 && index <= EXIT_THREADS);
    if (index < 0 || index > EXIT_THREADS)
      return 0;
    TL_CHECK(seq >= 1 && seq <= (index == EXIT_THREADS ? 1000000 : EXIT_WRITES));
    TL_CHECK(thread_id == __atomic_load_n(&exits->ids[index], __ATOMIC_ACQUIRE));
    TL_CHECK(seq >= exits->last_seen[index]);
    exits->last_seen[index] = seq;
  } else if (strcmp(key, "p") == 0) {
    Tracked *tracked = value_tracked(value);

    TL_CHECK(tracked != NULL);
    if (tracked != NULL) {
      TL_CHECK(tracked->number / 1000000 <= EXIT_THREADS);
      TL_CHECK(__atomic_load_n(&exits->ids[tracked->number / 1000000], __ATOMIC_ACQUIRE) ==
               thread_id);
    }
  } else {
    TL_CHECK(!"unexpected key");
  }
  return 0;
}

START_TEST(test_visit_races_thread_exit)
{
  const int rounds = tl_test_repeat(300);
  size_t values = tl_stats_live_values();
  int round, total_tracked = 0;

  for (round = 0; round < rounds; round++) {
    Exits exits;
    pthread_t threads[EXIT_THREADS];
    int64_t own = 0;
    int i, n_visits = 0;

    memset(&exits, 0, sizeof exits);
    exits.local = new_visitable();
    exits.ids[EXIT_THREADS] = tl_thread_id();
    for (i = 0; i < EXIT_THREADS; i++)
      ck_assert_int_eq(pthread_create(&threads[i], NULL, exiting_thread, &exits), 0);
    /* The runner is an owner as well as the visitor; it visits until every thread is done and a
     * few times after. */
    while (__atomic_load_n(&exits.finished, __ATOMIC_SEQ_CST) < EXIT_THREADS || n_visits < 3) {
      ck_assert_int_eq(set_int64(exits.local, "count", EXIT_THREADS * 1000000 + ++own), TL_OK);
      ck_assert_int_eq(
          tl_local_visit(exits.local, (n_visits & 1) ? "count" : NULL, exits_visit, &exits), TL_OK);
      ck_assert_int_eq(exits.last_seen[EXIT_THREADS], own); /* its own value, exactly */
      n_visits++;
    }
    for (i = 0; i < EXIT_THREADS; i++)
      ck_assert_int_eq(pthread_join(threads[i], NULL), 0);
    tl_test_assert_no_failure();

    /* After the joins only the runner is left. */
    exits.visits_seen = 0;
    ck_assert_int_eq(tl_local_visit(exits.local, NULL, exits_visit, &exits), TL_OK);
    ck_assert_int_eq(exits.visits_seen, 1);
    total_tracked += EXIT_THREADS * ((EXIT_WRITES + 7) / 8);
    ck_assert_int_eq(__atomic_load_n(&exits.destroyed, __ATOMIC_SEQ_CST),
                     EXIT_THREADS * ((EXIT_WRITES + 7) / 8));
    tl_local_unref(exits.local);
    tl_test_assert_no_failure();
  }
  ck_assert_int_gt(total_tracked, 0);
  ck_assert_uint_eq(tl_stats_live_values(), values);
}
END_TEST

/* Owners write rising values without pause (and churn other keys, so their dictionaries grow and
 * shrink under the visits); each visit sees every owner's value at or past the one the previous
 * visit saw. One owner also visits, and must see its own latest value exactly. */
#define WRITERS 4

typedef struct {
  TlLocal *local;
  int stop;
  int next_index;
  int started;
  uint64_t ids[WRITERS];
  int64_t final[WRITERS];
  pthread_barrier_t parked; /* WRITERS + runner, after stop */
} Writers;

static int
own_visit(uint64_t thread_id, const char *key, TlValue *value, void *payload)
{
  int64_t *own = payload;

  if (thread_id == tl_thread_id())
    *own = value_int64(value);
  return 0;
}

static void *
writer_thread(void *arg)
{
  Writers *writers = arg;
  int index = __atomic_fetch_add(&writers->next_index, 1, __ATOMIC_SEQ_CST);
  int64_t seq = 0;
  char key[32];

  __atomic_store_n(&writers->ids[index], tl_thread_id(), __ATOMIC_RELEASE);
  TL_CHECK(set_int64(writers->local, "count", 0) == TL_OK);
  __atomic_fetch_add(&writers->started, 1, __ATOMIC_SEQ_CST);
  while (!load_int(&writers->stop)) {
    TL_CHECK(set_int64(writers->local, "count", ++seq) == TL_OK);
    snprintf(key, sizeof key, "churn-%d", (int) (seq % 64));
    if ((seq / 64) % 2 == 0) {
      TL_CHECK(set_int64(writers->local, key, seq) == TL_OK);
    } else {
      int status = tl_local_delete(writers->local, key);
      TL_CHECK(status == TL_OK || status == TL_ERR_NOT_FOUND); /* churn-0 is first set at 128 */
    }
    if (index == 0 && seq % 128 == 0) {
      int64_t own = -1;

      TL_CHECK(tl_local_visit(writers->local, "count", own_visit, &own) == TL_OK);
      TL_CHECK(own == seq);
    }
  }
  writers->final[index] = seq;
  pthread_barrier_wait(&writers->parked);
  pthread_barrier_wait(&writers->parked);
  return NULL;
}

typedef struct {
  Writers *writers;
  int64_t last[WRITERS];
  int64_t now[WRITERS];
  int seen[WRITERS];
} Monotonic;

static int
monotonic_visit(uint64_t thread_id, const char *key, TlValue *value, void *payload)
{
  Monotonic *monotonic = payload;
  int i;

  if (strcmp(key, "count") != 0) {
    TL_CHECK(strncmp(key, "churn-", 6) == 0);
    TL_CHECK(value_int64(value) >= 0);
    return 0;
  }
  for (i = 0; i < WRITERS; i++) {
    if (__atomic_load_n(&monotonic->writers->ids[i], __ATOMIC_ACQUIRE) == thread_id) {
      int64_t number = value_int64(value);

      TL_CHECK(number >= monotonic->last[i]);
      monotonic->now[i] = number;
      monotonic->seen[i]++;
      return 0;
    }
  }
  TL_CHECK(!"a visit reported a thread that is not a writer");
  return 0;
}

START_TEST(test_visit_while_owners_write)
{
  Writers writers;
  Monotonic monotonic;
  pthread_t threads[WRITERS];
  const int rounds = tl_test_repeat(2000);
  int i, round;

  memset(&writers, 0, sizeof writers);
  memset(&monotonic, 0, sizeof monotonic);
  monotonic.writers = &writers;
  writers.local = new_visitable();
  pthread_barrier_init(&writers.parked, NULL, WRITERS + 1);
  for (i = 0; i < WRITERS; i++)
    ck_assert_int_eq(pthread_create(&threads[i], NULL, writer_thread, &writers), 0);
  while (__atomic_load_n(&writers.started, __ATOMIC_SEQ_CST) < WRITERS)
    sched_yield();

  for (round = 0; round < rounds; round++) {
    memset(monotonic.seen, 0, sizeof monotonic.seen);
    ck_assert_int_eq(
        tl_local_visit(writers.local, (round & 1) ? NULL : "count", monotonic_visit, &monotonic),
        TL_OK);
    for (i = 0; i < WRITERS; i++) {
      ck_assert_int_eq(monotonic.seen[i], 1);
      monotonic.last[i] = monotonic.now[i];
    }
  }
  store_int(&writers.stop, 1);
  pthread_barrier_wait(&writers.parked);

  /* Parked: the visit sees exactly each writer's last value. */
  memset(monotonic.seen, 0, sizeof monotonic.seen);
  ck_assert_int_eq(tl_local_visit(writers.local, "count", monotonic_visit, &monotonic), TL_OK);
  for (i = 0; i < WRITERS; i++) {
    ck_assert_int_eq(monotonic.seen[i], 1);
    ck_assert_int_eq(monotonic.now[i], writers.final[i]);
  }
  pthread_barrier_wait(&writers.parked);
  for (i = 0; i < WRITERS; i++)
    ck_assert_int_eq(pthread_join(threads[i], NULL), 0);
  tl_test_assert_no_failure();
  pthread_barrier_destroy(&writers.parked);
  tl_local_unref(writers.local);
}
END_TEST

/* A visitor applies snapshots in a loop while another thread visits: a visit sees a thread's
 * dictionary wholly before or wholly after an apply, never half of it. */
typedef struct {
  TlLocal *local;
  TlValue *snapshots[2];
  int stop;
  int started;
  uint64_t id;
} Applier;

static void *
applier_thread(void *arg)
{
  Applier *applier = arg;
  int i = 0;

  __atomic_store_n(&applier->id, tl_thread_id(), __ATOMIC_RELEASE);
  TL_CHECK(tl_local_apply(applier->local, applier->snapshots[0], TL_APPLY_REPLACE) == TL_OK);
  store_int(&applier->started, 1);
  while (!load_int(&applier->stop)) {
    i++;
    TL_CHECK(tl_local_apply(applier->local, applier->snapshots[i % 2],
                            i % 4 < 2 ? TL_APPLY_REPLACE : TL_APPLY_UPDATE) == TL_OK);
  }
  return NULL;
}

typedef struct {
  uint64_t id;
  int64_t first;
  int n;
} Whole;

static int
whole_visit(uint64_t thread_id, const char *key, TlValue *value, void *payload)
{
  Whole *whole = payload;
  int64_t number = value_int64(value);

  TL_CHECK(thread_id == whole->id);
  if (whole->n++ == 0)
    whole->first = number;
  TL_CHECK(number == whole->first);
  return 0;
}

START_TEST(test_visit_never_sees_half_an_apply)
{
  static const char *const keys[] = {"a", "b", "c", "d", "e", "f", "g", "h"};
  Applier applier;
  pthread_t thread;
  const int rounds = tl_test_repeat(2000);
  int i, round;

  memset(&applier, 0, sizeof applier);
  applier.local = new_visitable();
  for (i = 0; i < 2; i++) {
    TlValue *items[N_ELEMENTS(keys)];
    size_t k;

    for (k = 0; k < N_ELEMENTS(keys); k++)
      items[k] = tl_value_new_int64(i + 1);
    applier.snapshots[i] = tl_value_new_vardict(keys, items, N_ELEMENTS(keys));
    for (k = 0; k < N_ELEMENTS(keys); k++)
      tl_value_unref(items[k]);
  }
  ck_assert_int_eq(pthread_create(&thread, NULL, applier_thread, &applier), 0);
  while (!load_int(&applier.started))
    sched_yield();
  for (round = 0; round < rounds; round++) {
    Whole whole;

    memset(&whole, 0, sizeof whole);
    whole.id = __atomic_load_n(&applier.id, __ATOMIC_ACQUIRE);
    ck_assert_int_eq(tl_local_visit(applier.local, NULL, whole_visit, &whole), TL_OK);
    ck_assert_int_eq(whole.n, N_ELEMENTS(keys));
  }
  store_int(&applier.stop, 1);
  ck_assert_int_eq(pthread_join(thread, NULL), 0);
  tl_test_assert_no_failure();
  tl_value_unref(applier.snapshots[0]);
  tl_value_unref(applier.snapshots[1]);
  tl_local_unref(applier.local);
}
END_TEST

/* The local's other references go (one on another thread, racing the visits) while a visitor,
 * holding its own, visits: its reference keeps the local alive, and whichever reference goes last
 * frees every dictionary, of running threads too. Owners overwrite their pointer values during
 * the visits, so values a visit reports are often already gone from their dictionaries. */
#define OWNERS 3

typedef struct {
  TlLocal *local;
  int destroyed;
  int created;
  int stop;
  int visits_done;
  int ready;
  int released; /* owners whose tl_local_unref() has returned */
  sem_t owners_park;
} Teardown;

static void *
owner_thread(void *arg)
{
  Teardown *teardown = arg; /* holds one reference to teardown->local for this thread */
  TlLocal *local = teardown->local;
  int64_t seq = 0;

  while (seq < 4 || !load_int(&teardown->stop)) {
    seq++;
    TL_CHECK(set_int64(local, "count", seq) == TL_OK);
    TL_CHECK(set_tracked(local, "p", seq, &teardown->destroyed) == TL_OK);
    __atomic_fetch_add(&teardown->created, 1, __ATOMIC_SEQ_CST);
    sched_yield(); /* leave the visitor and the dropper some time on small machines */
    if (seq == 4)
      __atomic_fetch_add(&teardown->ready, 1, __ATOMIC_SEQ_CST);
  }
  tl_local_unref(local); /* maybe the last reference: destroys it while other owners live */
  __atomic_fetch_add(&teardown->released, 1, __ATOMIC_SEQ_CST);
  sem_wait(&teardown->owners_park);
  return NULL;
}

static int
teardown_visit(uint64_t thread_id, const char *key, TlValue *value, void *payload)
{
  if (strcmp(key, "p") == 0) {
    Tracked *tracked = value_tracked(value);

    TL_CHECK(tracked != NULL);
    sched_yield(); /* let owners overwrite it meanwhile */
    TL_CHECK(value_tracked(value) == tracked);
  } else {
    TL_CHECK(strcmp(key, "count") == 0 || strcmp(key, "visitor") == 0);
    TL_CHECK(value_int64(value) >= 1);
  }
  return 0;
}

static void *
visitor_thread(void *arg)
{
  Teardown *teardown = arg; /* holds one reference for this thread */
  TlLocal *local = teardown->local;
  int i;

  TL_CHECK(set_int64(local, "visitor", 1) == TL_OK); /* a visitor that is an owner too */
  for (i = 0; i < 8; i++) {
    TL_CHECK(tl_local_visit(local, NULL, teardown_visit, teardown) == TL_OK);
    if (i == 1)
      store_int(&teardown->visits_done, 1);
  }
  tl_local_unref(local);
  return NULL;
}

static void *
dropper_thread(void *arg)
{
  Teardown *teardown = arg;

  while (!load_int(&teardown->visits_done))
    sched_yield();
  tl_local_unref(teardown->local); /* the runner's reference, handed over */
  store_int(&teardown->stop, 1);
  return NULL;
}

START_TEST(test_visit_races_local_destruction)
{
  const int rounds = tl_test_repeat(100);
  size_t locals = tl_stats_live_locals(), dicts = tl_stats_live_dicts();
  size_t values = tl_stats_live_values();
  int round;

  for (round = 0; round < rounds; round++) {
    Teardown teardown;
    pthread_t owners[OWNERS], visitor, dropper;
    int i;

    memset(&teardown, 0, sizeof teardown);
    sem_init(&teardown.owners_park, 0, 0);
    teardown.local = new_visitable(); /* the runner's reference, handed to the dropper */
    for (i = 0; i < OWNERS; i++) {
      tl_local_ref(teardown.local);
      ck_assert_int_eq(pthread_create(&owners[i], NULL, owner_thread, &teardown), 0);
    }
    while (__atomic_load_n(&teardown.ready, __ATOMIC_SEQ_CST) < OWNERS)
      sched_yield();
    tl_local_ref(teardown.local);
    ck_assert_int_eq(pthread_create(&visitor, NULL, visitor_thread, &teardown), 0);
    ck_assert_int_eq(pthread_create(&dropper, NULL, dropper_thread, &teardown), 0);
    ck_assert_int_eq(pthread_join(visitor, NULL), 0);
    ck_assert_int_eq(pthread_join(dropper, NULL), 0);
    /* Owners drop their references once the dropper has; the last one destroys the local while
     * the other owners are still running, parked. */
    while (__atomic_load_n(&teardown.released, __ATOMIC_SEQ_CST) < OWNERS)
      sched_yield();
    ck_assert_uint_eq(tl_stats_live_locals(), locals);
    ck_assert_int_eq(__atomic_load_n(&teardown.destroyed, __ATOMIC_SEQ_CST),
                     __atomic_load_n(&teardown.created, __ATOMIC_SEQ_CST));
    ck_assert_uint_eq(tl_stats_live_dicts(), dicts);
    for (i = 0; i < OWNERS; i++)
      sem_post(&teardown.owners_park);
    for (i = 0; i < OWNERS; i++)
      ck_assert_int_eq(pthread_join(owners[i], NULL), 0);
    sem_destroy(&teardown.owners_park);
    tl_test_assert_no_failure();
  }
  ck_assert_uint_eq(tl_stats_live_values(), values);
}
END_TEST

Suite *
visit_suite(void)
{
  Suite *suite = suite_create("visit");
  TCase *tcase;

  tcase = tl_test_case("aggregation");
  tcase_add_test(tcase, test_sum_counters);
  tcase_add_test(tcase, test_visit_every_key);
  tcase_add_test(tcase, test_visit_runs_no_initializer);
  tcase_add_test(tcase, test_visit_errors);
  tcase_add_test(tcase, test_visit_stops);
  suite_add_tcase(suite, tcase);

  tcase = tl_test_case("reentrant visitors");
  tcase_add_test(tcase, test_visitor_reenters);
  tcase_add_test(tcase, test_visitors_in_parallel);
  suite_add_tcase(suite, tcase);

  tcase = tl_test_case("guarantee");
  tcase_add_test(tcase, test_visit_sees_one_instant);
  tcase_add_test(tcase, test_visit_never_sees_half_an_apply);
  suite_add_tcase(suite, tcase);

  tcase = tl_test_case("races");
  tcase_add_test(tcase, test_visit_races_thread_exit);
  tcase_add_test(tcase, test_visit_while_owners_write);
  tcase_add_test(tcase, test_visit_races_local_destruction);
  suite_add_tcase(suite, tcase);

  return suite;
}
