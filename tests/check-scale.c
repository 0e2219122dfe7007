/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Scale: what a thread costs when a million locals are live, and thousands of short threads writing
 * to locals that another thread keeps destroying and recreating, with exact counts of every value,
 * dictionary and exit hook. Sizes go through tl_test_repeat() so the valgrind setup runs less.
 *
 * Copyright the libtlslocal authors.
 */
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tl-test.h"

/* ---- small helpers ---- */

static int
load(const int *counter)
{
  return __atomic_load_n(counter, __ATOMIC_SEQ_CST);
}

static int
add(int *counter, int delta)
{
  return __atomic_fetch_add(counter, delta, __ATOMIC_SEQ_CST);
}

static size_t
size_of(TlLocal *local)
{
  size_t size = (size_t) -1;

  TL_CHECK(tl_local_size(local, &size) == TL_OK);
  return size;
}

static int
has_int64(TlLocal *local, const char *key, int64_t expected)
{
  TlValue *value = tl_local_peek(local, key);
  int64_t number = 0;

  return value != NULL && tl_value_get_int64(value, &number) == TL_OK && number == expected;
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
      tl_test_spawn(&threads[i], million_worker, &args[i]);
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
    tl_test_join(threads[i]);
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

/* ---- thread churn while the locals are destroyed and recreated ---- */

#define CHURN_THREADS 10000
#define CHURN_WAVE 64  /* threads alive at once */
#define CHURN_ROUNDS 2 /* passes over the locals per thread */
#define CHURN_LOCALS 4
#define CHURN_KEYS 3

static const struct {
  unsigned int flags;
  int hooked;
} churn_kinds[CHURN_LOCALS] = {
    {TL_LOCAL_DEFAULT, 0},
    {TL_LOCAL_VISITABLE, 0},
    {TL_LOCAL_DEFAULT, 1},
    {TL_LOCAL_VISITABLE, 1},
};

static const char *const churn_keys[CHURN_KEYS] = {"p0", "p1", "p2"};

typedef struct {
  pthread_mutex_t lock; /* guards slots: workers take their own reference under it */
  struct {
    TlLocal *local;          /* the slot's reference */
    unsigned int generation; /* bumped with every new local, so a thread knows one it never wrote */
  } slots[CHURN_LOCALS];
  sem_t tick; /* one swap per post: the destroyer keeps pace with the workers, not the clock */
  int stop;
  int values_made, values_destroyed;
  int n_dicts, max_dicts; /* dictionaries made, each numbered by its key "id" */
  int *dict_slot;         /* the slot each dictionary's local was in */
  uint64_t *dict_thread;  /* the thread each dictionary belongs to */
  int *hook_seen;         /* hook calls per dictionary */
  int hook_calls[TL_FREED_LOCAL_DESTROYED + 1]; /* by reason */
  sem_t paused, resume;
} ChurnShared;

typedef struct {
  ChurnShared *shared;
  int index;
  int pause;                             /* wait for the main thread between the rounds */
  unsigned int generation[CHURN_LOCALS]; /* of the local last written in each slot; 0: none */
  int serial[CHURN_LOCALS];              /* its dictionary's number */
} ChurnArg;

/* Nonzero while the thread is inside churn_unref(): only there may a local's destruction run its
 * hook. */
static _Thread_local int in_unref;

static void
churn_unref(TlLocal *local)
{
  in_unref++;
  tl_local_unref(local);
  in_unref--;
}

/* Counts the call for the dictionary its "id" names, and checks the reason against where it
 * runs. */
static void
churn_hook(int reason, uint64_t thread_id, TlValue *contents, void *user_data)
{
  ChurnShared *shared = user_data;
  TlValue *id = NULL;
  int64_t serial = -1;

  TL_CHECK(tl_value_lookup(contents, "id", &id) == TL_OK);
  TL_CHECK(id != NULL && tl_value_get_int64(id, &serial) == TL_OK);
  tl_value_unref(id);
  TL_CHECK(serial >= 0 && serial < shared->max_dicts);
  if (serial >= 0 && serial < shared->max_dicts) {
    add(&shared->hook_seen[serial], 1);
    TL_CHECK(thread_id == shared->dict_thread[serial]);
  }
  if (reason == TL_FREED_THREAD_EXIT)
    TL_CHECK(thread_id == tl_thread_id() && in_unref == 0);
  else
    TL_CHECK(reason == TL_FREED_LOCAL_DESTROYED && in_unref > 0);
  if (reason >= 0 && reason <= TL_FREED_LOCAL_DESTROYED)
    add(&shared->hook_calls[reason], 1);
}

static int
churn_visitor(uint64_t thread_id, const char *key, TlValue *value, void *payload)
{
  ChurnShared *shared = payload;
  int64_t serial = -1;

  TL_CHECK(tl_value_get_int64(value, &serial) == TL_OK);
  TL_CHECK(serial >= 0 && serial < shared->max_dicts);
  return 0;
}

static TlLocal *
churn_make_local(ChurnShared *shared, int slot)
{
  TlLocal *local = tl_local_new_full(churn_kinds[slot].flags, NULL, NULL, NULL);

  TL_CHECK(local != NULL);
  if (churn_kinds[slot].hooked)
    TL_CHECK(tl_local_set_exit_hook(local, churn_hook, shared, NULL) == TL_OK);
  return local;
}

/* Destroys the slot's local (unless a worker still holds it: then that worker's unref does) and
 * puts a new one in its place, most likely with the same id. */
static void
churn_swap(ChurnShared *shared, int slot)
{
  TlLocal *old;

  pthread_mutex_lock(&shared->lock);
  old = shared->slots[slot].local;
  pthread_mutex_unlock(&shared->lock);
  /* Only this thread replaces slots, and its reference keeps old alive meanwhile. */
  if (churn_kinds[slot].flags & TL_LOCAL_VISITABLE)
    TL_CHECK(tl_local_visit(old, "id", churn_visitor, shared) == TL_OK);
  pthread_mutex_lock(&shared->lock);
  churn_unref(old);
  shared->slots[slot].local = churn_make_local(shared, slot);
  shared->slots[slot].generation++;
  pthread_mutex_unlock(&shared->lock);
}

static void *
churn_destroyer(void *data)
{
  ChurnShared *shared = data;
  int slot = 0;

  for (;;) {
    while (sem_wait(&shared->tick) != 0)
      ;
    if (load(&shared->stop))
      return NULL;
    churn_swap(shared, slot);
    slot = (slot + 1) % CHURN_LOCALS;
  }
}

/* One use of a slot's local, under a reference of the thread's own. */
static void
churn_use(ChurnArg *arg, int slot)
{
  ChurnShared *shared = arg->shared;
  TlLocal *local;
  unsigned int generation;
  int k;

  pthread_mutex_lock(&shared->lock);
  local = tl_local_ref(shared->slots[slot].local);
  generation = shared->slots[slot].generation;
  pthread_mutex_unlock(&shared->lock);
  if (generation != arg->generation[slot]) {
    /* A local this thread never wrote, whatever id it reuses: no dictionary until the write. */
    int serial = add(&shared->n_dicts, 1);

    TL_CHECK(size_of(local) == 0);
    TL_CHECK(serial < shared->max_dicts);
    if (serial < shared->max_dicts) {
      shared->dict_slot[serial] = slot;
      shared->dict_thread[serial] = tl_thread_id();
    }
    TL_CHECK(tl_local_set_int64(local, "id", serial) == TL_OK);
    arg->generation[slot] = generation;
    arg->serial[slot] = serial;
  } else {
    /* The same local, alive all along in the slot: the dictionary is still there. */
    TL_CHECK(has_int64(local, "id", arg->serial[slot]));
  }
  for (k = 0; k < CHURN_KEYS; k++) {
    add(&shared->values_made, 1);
    TL_CHECK(tl_local_set_take(
                 local, churn_keys[k],
                 tl_value_new_pointer(&shared->values_destroyed, tl_test_count_destroy)) == TL_OK);
  }
  if ((arg->index + slot) % 3 == 0)
    TL_CHECK(tl_local_delete(local, churn_keys[0]) == TL_OK);
  churn_unref(local); /* maybe the last reference */
}

static void *
churn_worker(void *data)
{
  ChurnArg *arg = data;
  int round, i;

  for (round = 0; round < CHURN_ROUNDS; round++) {
    if (round > 0 && arg->pause) {
      sem_post(&arg->shared->paused);
      while (sem_wait(&arg->shared->resume) != 0)
        ;
    } else if (round > 0) {
      sem_post(&arg->shared->tick);
      sched_yield(); /* let the destroyer in: valgrind would run this thread to its end at once */
    }
    for (i = 0; i < CHURN_LOCALS; i++)
      churn_use(arg, (arg->index + i) % CHURN_LOCALS);
  }
  return NULL; /* the dictionaries of locals still alive go now */
}

static void
churn_arg_init(ChurnArg *arg, ChurnShared *shared, int index, int pause)
{
  memset(arg, 0, sizeof *arg);
  arg->shared = shared;
  arg->index = index;
  arg->pause = pause;
}

START_TEST(test_thread_churn_with_local_destruction)
{
  int n_threads = tl_test_repeat(CHURN_THREADS), started, i, slot, hooked_dicts = 0;
  size_t values_before = tl_stats_live_values(), threads_before = tl_stats_live_threads();
  size_t locals_before = tl_stats_live_locals();
  ChurnShared shared;
  ChurnArg args[CHURN_WAVE];
  pthread_t threads[CHURN_WAVE], destroyer;

  memset(&shared, 0, sizeof shared);
  ck_assert_int_eq(pthread_mutex_init(&shared.lock, NULL), 0);
  ck_assert_int_eq(sem_init(&shared.paused, 0, 0), 0);
  ck_assert_int_eq(sem_init(&shared.resume, 0, 0), 0);
  ck_assert_int_eq(sem_init(&shared.tick, 0, 0), 0);
  /* At most one new dictionary per use of a slot; the last thread is the paused one. */
  shared.max_dicts = (n_threads + 1) * CHURN_ROUNDS * CHURN_LOCALS;
  shared.dict_slot = calloc((size_t) shared.max_dicts, sizeof *shared.dict_slot);
  shared.dict_thread = calloc((size_t) shared.max_dicts, sizeof *shared.dict_thread);
  shared.hook_seen = calloc((size_t) shared.max_dicts, sizeof *shared.hook_seen);
  ck_assert(shared.dict_slot != NULL && shared.dict_thread != NULL && shared.hook_seen != NULL);
  for (slot = 0; slot < CHURN_LOCALS; slot++) {
    shared.slots[slot].local = churn_make_local(&shared, slot);
    shared.slots[slot].generation = 1;
  }

  tl_test_spawn(&destroyer, churn_destroyer, &shared);
  for (started = 0; started < n_threads; started += CHURN_WAVE) {
    int wave = n_threads - started < CHURN_WAVE ? n_threads - started : CHURN_WAVE;

    for (i = 0; i < wave; i++) {
      churn_arg_init(&args[i], &shared, started + i, 0);
      tl_test_spawn(&threads[i], churn_worker, &args[i]);
    }
    for (i = 0; i < wave; i++)
      tl_test_join(threads[i]);
  }
  __atomic_store_n(&shared.stop, 1, __ATOMIC_SEQ_CST);
  sem_post(&shared.tick);
  tl_test_join(destroyer);

  /* Whatever the races above made of them, both reasons happen here: one thread's dictionaries go
   * with their locals while it waits between its rounds, the next ones with its exit. */
  churn_arg_init(&args[0], &shared, n_threads, 1);
  tl_test_spawn(&threads[0], churn_worker, &args[0]);
  while (sem_wait(&shared.paused) != 0)
    ;
  for (slot = 0; slot < CHURN_LOCALS; slot++)
    churn_swap(&shared, slot);
  sem_post(&shared.resume);
  tl_test_join(threads[0]);
  tl_test_assert_no_failure();
  ck_assert_uint_eq(tl_stats_live_dicts(), 0);
  ck_assert_uint_eq(tl_stats_live_threads(), threads_before);

  /* No dictionary is left: these unrefs run no hook. */
  for (slot = 0; slot < CHURN_LOCALS; slot++)
    churn_unref(shared.slots[slot].local);
  tl_test_assert_no_failure();
  ck_assert_uint_eq(tl_stats_live_locals(), locals_before);
  ck_assert_int_eq(shared.values_destroyed, shared.values_made);
  ck_assert_uint_eq(tl_stats_live_values(), values_before);

  /* Each dictionary of a hooked local ran the hook once, and no other dictionary did. */
  ck_assert_int_le(shared.n_dicts, shared.max_dicts);
  for (i = 0; i < shared.n_dicts; i++) {
    int expected = churn_kinds[shared.dict_slot[i]].hooked;

    ck_assert_msg(shared.hook_seen[i] == expected, "dictionary %d (slot %d): %d hook calls", i,
                  shared.dict_slot[i], shared.hook_seen[i]);
    hooked_dicts += expected;
  }
  ck_assert_int_eq(shared.hook_calls[TL_FREED_THREAD_EXIT] +
                       shared.hook_calls[TL_FREED_LOCAL_DESTROYED],
                   hooked_dicts);
  ck_assert_int_eq(shared.hook_calls[TL_FREED_THREAD_CLEAR], 0);
  ck_assert_int_ge(shared.hook_calls[TL_FREED_THREAD_EXIT], 2);
  ck_assert_int_ge(shared.hook_calls[TL_FREED_LOCAL_DESTROYED], 2);

  free(shared.dict_slot);
  free(shared.dict_thread);
  free(shared.hook_seen);
  sem_destroy(&shared.paused);
  sem_destroy(&shared.resume);
  sem_destroy(&shared.tick);
  pthread_mutex_destroy(&shared.lock);
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
      {"thread churn with local destruction", test_thread_churn_with_local_destruction},
  };
  size_t i;

  for (i = 0; i < sizeof tests / sizeof tests[0]; i++) {
    TCase *tcase = tl_test_case(tests[i].name);

    tcase_add_test(tcase, tests[i].test);
    suite_add_tcase(suite, tcase);
  }
  return suite;
}
