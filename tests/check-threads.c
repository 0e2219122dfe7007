/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Real threads: per-thread isolation, cleanup at thread exit, at local destruction and at
 * tl_thread_clear(), the races between them, id reuse, re-entrant destroy functions, refcounting
 * and shared values, and a mixed stress run. Loop counts go through tl_test_repeat() so the
 * valgrind setup runs fewer rounds; a normal run does them all. */
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <glib.h>
#include <tlslocal-glib.h>

#include "tl-test.h"

/* ---- small helpers ---- */

static void
barrier_wait(pthread_barrier_t *barrier)
{
  int status = pthread_barrier_wait(barrier);

  TL_CHECK(status == 0 || status == PTHREAD_BARRIER_SERIAL_THREAD);
}

static int
load(const int *counter)
{
  return __atomic_load_n(counter, __ATOMIC_SEQ_CST);
}

static void
add(int *counter, int delta)
{
  __atomic_fetch_add(counter, delta, __ATOMIC_SEQ_CST);
}

/* Sets key to a new value and drops the caller's reference: the dictionary keeps its own. */
static int
set_owned(TlLocal *local, const char *key, TlValue *value)
{
  int status = tl_local_set(local, key, value);

  tl_value_unref(value);
  return status;
}

/* A pointer value whose destroy function counts into *counter. */
static int
set_counted(TlLocal *local, const char *key, int *counter)
{
  return set_owned(local, key, tl_value_new_pointer(counter, tl_test_count_destroy));
}

/* @return 1 if the calling thread's key holds the int64 expected. */
static int
has_int64(TlLocal *local, const char *key, int64_t expected)
{
  TlValue *value = tl_local_peek(local, key);
  int64_t number = 0;

  return value != NULL && tl_value_get_int64(value, &number) == TL_OK && number == expected;
}

static int
has_pointer(TlLocal *local, const char *key, void *expected)
{
  TlValue *value = tl_local_peek(local, key);
  void *pointer = NULL;

  return value != NULL && tl_value_get_pointer(value, &pointer) == TL_OK && pointer == expected;
}

static size_t
size_of(TlLocal *local)
{
  size_t size = (size_t) -1;

  TL_CHECK(tl_local_size(local, &size) == TL_OK);
  return size;
}

/* Everything a thread with no dictionary in local must see for key. */
static void
check_sees_nothing(TlLocal *local, const char *key)
{
  TlValue *out = (TlValue *) &out; /* not NULL: tl_local_get must clear it */
  char **keys = NULL;
  size_t n_keys = 99;

  TL_CHECK(tl_local_contains(local, key) == 0);
  TL_CHECK(tl_local_peek(local, key) == NULL && tl_last_error() == TL_ERR_NOT_FOUND);
  TL_CHECK(tl_local_get(local, key, &out) == TL_ERR_NOT_FOUND && out == NULL);
  TL_CHECK(size_of(local) == 0);
  TL_CHECK(tl_local_keys(local, &keys, &n_keys) == TL_OK && n_keys == 0 && keys != NULL &&
           keys[0] == NULL);
  tl_strv_free(keys);
}

static int
count_visit(const char *key, TlValue *value, void *payload)
{
  (*(int *) payload)++;
  return 0;
}

/* The library's counts, exact while no other thread changes them: checked with the workers
 * parked or joined. */
typedef struct {
  size_t dicts, threads, locals, values;
} Stats;

static Stats
stats_now(void)
{
  Stats stats = {tl_stats_live_dicts(), tl_stats_live_threads(), tl_stats_live_locals(),
                 tl_stats_live_values()};

  return stats;
}

static void
assert_stats(Stats expected)
{
  ck_assert_uint_eq(tl_stats_live_dicts(), expected.dicts);
  ck_assert_uint_eq(tl_stats_live_threads(), expected.threads);
  ck_assert_uint_eq(tl_stats_live_locals(), expected.locals);
  ck_assert_uint_eq(tl_stats_live_values(), expected.values);
}

/* ---- isolation ---- */

#define ISO_WRITERS 8
#define ISO_KEYS 5

static const char *const iso_keys[ISO_KEYS] = {"a", "shared", "a key longer than one word",
                                               "\xd0\xba\xd0\xbb\xd1\x8e\xd1\x87", ""};

typedef struct {
  TlLocal *local;
  pthread_barrier_t written, checked;
  Stats before;
} IsoShared;

typedef struct {
  IsoShared *shared;
  int index;
} IsoArg;

static int64_t
iso_value(int thread, int key, int round)
{
  return (int64_t) thread * 1000000 + round * 100 + key;
}

/* Each thread's dictionary holds only what that thread wrote, in its insertion order. */
static void
iso_verify(TlLocal *local, int thread, int round, int first_key)
{
  char **keys = NULL;
  size_t n_keys = 0;
  int k, visits = 0;

  for (k = first_key; k < ISO_KEYS; k++) {
    TlValue *out = NULL;
    int64_t number = -1;

    TL_CHECK(has_int64(local, iso_keys[k], iso_value(thread, k, round)));
    TL_CHECK(tl_local_get(local, iso_keys[k], &out) == TL_OK);
    TL_CHECK(out != NULL && tl_value_get_int64(out, &number) == TL_OK &&
             number == iso_value(thread, k, round));
    tl_value_unref(out);
    TL_CHECK(tl_local_contains(local, iso_keys[k]) == 1);
  }
  TL_CHECK(size_of(local) == (size_t) (ISO_KEYS - first_key));
  TL_CHECK(tl_local_keys(local, &keys, &n_keys) == TL_OK);
  TL_CHECK(n_keys == (size_t) (ISO_KEYS - first_key));
  for (k = first_key; keys != NULL && k < ISO_KEYS; k++)
    TL_CHECK(keys[k - first_key] != NULL && strcmp(keys[k - first_key], iso_keys[k]) == 0);
  tl_strv_free(keys);
  TL_CHECK(tl_local_foreach(local, count_visit, &visits) == TL_OK);
  TL_CHECK(visits == ISO_KEYS - first_key);
}

static void *
iso_writer(void *data)
{
  IsoArg *arg = data;
  TlLocal *local = arg->shared->local;
  int k;

  for (k = 0; k < ISO_KEYS; k++)
    TL_CHECK(set_owned(local, iso_keys[k], tl_value_new_int64(iso_value(arg->index, k, 0))) ==
             TL_OK);
  barrier_wait(&arg->shared->written);
  /* Every writer's values exist now: each still sees only its own. */
  iso_verify(local, arg->index, 0, 0);
  for (k = 0; k < ISO_KEYS; k++)
    TL_CHECK(set_owned(local, iso_keys[k], tl_value_new_int64(iso_value(arg->index, k, 1))) ==
             TL_OK);
  TL_CHECK(tl_local_delete(local, iso_keys[0]) == TL_OK);
  iso_verify(local, arg->index, 1, 1);
  barrier_wait(&arg->shared->checked);
  return NULL;
}

/* A thread that never writes sees nothing, and reading makes no state. */
static void *
iso_reader(void *data)
{
  IsoArg *arg = data;
  TlLocal *local = arg->shared->local;
  int k, visits = 0;

  barrier_wait(&arg->shared->written);
  for (k = 0; k < ISO_KEYS; k++) {
    check_sees_nothing(local, iso_keys[k]);
    TL_CHECK(tl_local_delete(local, iso_keys[k]) == TL_ERR_NOT_FOUND);
  }
  TL_CHECK(tl_local_foreach(local, count_visit, &visits) == TL_OK && visits == 0);
  TL_CHECK(tl_local_clear(local) == TL_OK);
  TL_CHECK(tl_stats_live_dicts() == arg->shared->before.dicts + ISO_WRITERS);
  TL_CHECK(tl_stats_live_threads() == arg->shared->before.threads + ISO_WRITERS);
  barrier_wait(&arg->shared->checked);
  return NULL;
}

START_TEST(test_isolation)
{
  int rounds = tl_test_repeat(100), round, i, k;

  for (round = 0; round < rounds; round++) {
    IsoShared shared;
    IsoArg args[ISO_WRITERS + 1];
    pthread_t threads[ISO_WRITERS + 1];

    shared.local = tl_local_new();
    /* The main thread writes the same keys first; its values must survive untouched. */
    for (k = 0; k < ISO_KEYS; k++)
      ck_assert_int_eq(
          set_owned(shared.local, iso_keys[k], tl_value_new_int64(iso_value(99, k, 0))), TL_OK);
    shared.before = stats_now();
    pthread_barrier_init(&shared.written, NULL, ISO_WRITERS + 1);
    pthread_barrier_init(&shared.checked, NULL, ISO_WRITERS + 1);
    for (i = 0; i <= ISO_WRITERS; i++) {
      args[i].shared = &shared;
      args[i].index = i;
      tl_test_spawn(&threads[i], i < ISO_WRITERS ? iso_writer : iso_reader, &args[i]);
    }
    for (i = 0; i <= ISO_WRITERS; i++)
      tl_test_join(threads[i]);
    tl_test_assert_no_failure();
    iso_verify(shared.local, 99, 0, 0);
    tl_test_assert_no_failure();
    assert_stats(shared.before);
    pthread_barrier_destroy(&shared.written);
    pthread_barrier_destroy(&shared.checked);
    tl_local_unref(shared.local);
  }
}
END_TEST

/* ---- cleanup at thread exit ---- */

#define EXIT_THREADS 6
#define EXIT_LOCALS 3
#define EXIT_KEYS 4

typedef struct {
  TlLocal *locals[EXIT_LOCALS];
  int destroyed[EXIT_THREADS]; /* per thread, so each count is exact */
} ExitShared;

typedef struct {
  ExitShared *shared;
  int index;
} ExitArg;

static void *
exit_worker(void *data)
{
  ExitArg *arg = data;
  int *counter = &arg->shared->destroyed[arg->index];
  int l, k;

  for (l = 0; l < EXIT_LOCALS; l++) {
    for (k = 0; k < EXIT_KEYS; k++) {
      char key[16];

      snprintf(key, sizeof key, "k%d", k);
      TL_CHECK(set_counted(arg->shared->locals[l], key, counter) == TL_OK);
    }
    TL_CHECK(set_owned(arg->shared->locals[l], "text", tl_value_new_string("no destroy")) == TL_OK);
  }
  /* An overwrite releases the old value at once. */
  TL_CHECK(set_counted(arg->shared->locals[0], "k0", counter) == TL_OK);
  TL_CHECK(load(counter) == 1);
  return NULL; /* the rest goes as the thread exits */
}

START_TEST(test_cleanup_at_thread_exit)
{
  int rounds = tl_test_repeat(100), round, i, main_destroyed = 0;
  ExitShared shared;
  Stats before;

  for (i = 0; i < EXIT_LOCALS; i++)
    shared.locals[i] = tl_local_new();
  ck_assert_int_eq(set_counted(shared.locals[0], "main", &main_destroyed), TL_OK);
  ck_assert_int_eq(set_counted(shared.locals[0], "k0", &main_destroyed), TL_OK);
  before = stats_now();
  for (round = 0; round < rounds; round++) {
    ExitArg args[EXIT_THREADS];
    pthread_t threads[EXIT_THREADS];

    for (i = 0; i < EXIT_THREADS; i++) {
      shared.destroyed[i] = 0;
      args[i].shared = &shared;
      args[i].index = i;
      tl_test_spawn(&threads[i], exit_worker, &args[i]);
    }
    for (i = 0; i < EXIT_THREADS; i++)
      tl_test_join(threads[i]);
    tl_test_assert_no_failure();
    /* Joined means exited: every value the threads held is gone, exactly once. */
    for (i = 0; i < EXIT_THREADS; i++)
      ck_assert_int_eq(shared.destroyed[i], EXIT_LOCALS * EXIT_KEYS + 1);
    assert_stats(before);
    ck_assert_int_eq(main_destroyed, 0);
    ck_assert(has_pointer(shared.locals[0], "main", &main_destroyed));
    ck_assert(has_pointer(shared.locals[0], "k0", &main_destroyed));
    ck_assert_int_eq(tl_local_contains(shared.locals[1], "k0"), 0);
  }
  for (i = 0; i < EXIT_LOCALS; i++)
    tl_local_unref(shared.locals[i]);
  ck_assert_int_eq(main_destroyed, 2);
}
END_TEST

/* ---- cleanup at local destruction while the threads run ---- */

#define DOOM_THREADS 6
#define DOOM_KEYS 5

typedef struct {
  TlLocal *doomed, *other;
  pthread_barrier_t set, destroyed;
  int counters[DOOM_THREADS];
} DoomShared;

typedef struct {
  DoomShared *shared;
  int index;
} DoomArg;

static void *
doom_worker(void *data)
{
  DoomArg *arg = data;
  DoomShared *shared = arg->shared;
  int *counter = &shared->counters[arg->index];
  TlLocal *fresh;
  int k;

  for (k = 0; k < DOOM_KEYS; k++) {
    char key[16];

    snprintf(key, sizeof key, "k%d", k);
    TL_CHECK(set_counted(shared->doomed, key, counter) == TL_OK);
  }
  TL_CHECK(set_owned(shared->other, "who", tl_value_new_int64(arg->index)) == TL_OK);
  barrier_wait(&shared->set);
  /* The main thread drops the doomed local here. */
  barrier_wait(&shared->destroyed);
  TL_CHECK(load(counter) == DOOM_KEYS);
  /* Other locals are unaffected and keep working. */
  TL_CHECK(has_int64(shared->other, "who", arg->index));
  TL_CHECK(set_owned(shared->other, "more", tl_value_new_int64(-arg->index)) == TL_OK);
  TL_CHECK(has_int64(shared->other, "more", -arg->index));
  TL_CHECK(size_of(shared->other) == 2);
  /* A new local (likely given the doomed one's id) starts empty in this thread. */
  fresh = tl_local_new();
  check_sees_nothing(fresh, "k0");
  TL_CHECK(set_owned(fresh, "k0", tl_value_new_int64(7)) == TL_OK);
  TL_CHECK(has_int64(fresh, "k0", 7));
  tl_local_unref(fresh);
  TL_CHECK(load(counter) == DOOM_KEYS);
  return NULL;
}

START_TEST(test_cleanup_at_local_destruction)
{
  int rounds = tl_test_repeat(100), round, i;

  for (round = 0; round < rounds; round++) {
    DoomShared shared;
    DoomArg args[DOOM_THREADS];
    pthread_t threads[DOOM_THREADS];
    Stats before;

    memset(&shared, 0, sizeof shared);
    shared.doomed = tl_local_new();
    shared.other = tl_local_new();
    before = stats_now();
    pthread_barrier_init(&shared.set, NULL, DOOM_THREADS + 1);
    pthread_barrier_init(&shared.destroyed, NULL, DOOM_THREADS + 1);
    for (i = 0; i < DOOM_THREADS; i++) {
      args[i].shared = &shared;
      args[i].index = i;
      tl_test_spawn(&threads[i], doom_worker, &args[i]);
    }
    barrier_wait(&shared.set);
    TL_CHECK(tl_stats_live_dicts() == before.dicts + 2 * DOOM_THREADS);
    TL_CHECK(tl_stats_live_threads() == before.threads + DOOM_THREADS);
    tl_local_unref(shared.doomed);
    /* Every thread's values are destroyed by the unref itself, the threads still running. */
    for (i = 0; i < DOOM_THREADS; i++)
      TL_CHECK(load(&shared.counters[i]) == DOOM_KEYS);
    TL_CHECK(tl_stats_live_dicts() == before.dicts + DOOM_THREADS);
    TL_CHECK(tl_stats_live_locals() == before.locals - 1);
    TL_CHECK(tl_stats_live_threads() == before.threads + DOOM_THREADS);
    barrier_wait(&shared.destroyed);
    for (i = 0; i < DOOM_THREADS; i++)
      tl_test_join(threads[i]);
    tl_test_assert_no_failure();
    before.locals--;
    assert_stats(before);
    pthread_barrier_destroy(&shared.set);
    pthread_barrier_destroy(&shared.destroyed);
    tl_local_unref(shared.other);
  }
}
END_TEST

/* ---- thread exit racing local destruction ---- */

#define RACE_THREADS 4
#define RACE_KEYS 3

typedef struct {
  TlLocal *local;
  TlValue *shared_value;
  pthread_barrier_t set;
  int own_refs; /* the threads hold references of their own and drop them before exiting */
  int counters[RACE_THREADS];
} RaceShared;

typedef struct {
  RaceShared *shared;
  int index;
} RaceArg;

static void *
race_worker(void *data)
{
  RaceArg *arg = data;
  RaceShared *shared = arg->shared;
  int k;

  for (k = 0; k < RACE_KEYS; k++) {
    char key[16];

    snprintf(key, sizeof key, "k%d", k);
    TL_CHECK(set_counted(shared->local, key, &shared->counters[arg->index]) == TL_OK);
  }
  TL_CHECK(tl_local_set(shared->local, "shared", shared->shared_value) == TL_OK);
  barrier_wait(&shared->set);
  if (shared->own_refs)
    tl_local_unref(shared->local); /* maybe the last reference, maybe not */
  return NULL; /* exit, while the main thread (or another exiting thread) destroys the local */
}

START_TEST(test_exit_races_destruction)
{
  int rounds = tl_test_repeat(1000), round, i, spin;
  Stats before = stats_now();

  for (round = 0; round < rounds; round++) {
    RaceShared shared;
    RaceArg args[RACE_THREADS];
    pthread_t threads[RACE_THREADS];
    int shared_destroyed = 0;

    memset(&shared, 0, sizeof shared);
    shared.local = tl_local_new();
    shared.shared_value = tl_value_new_pointer(&shared_destroyed, tl_test_count_destroy);
    shared.own_refs = round % 2;
    pthread_barrier_init(&shared.set, NULL, RACE_THREADS + 1);
    for (i = 0; i < RACE_THREADS; i++) {
      args[i].shared = &shared;
      args[i].index = i;
      if (shared.own_refs)
        tl_local_ref(shared.local);
      tl_test_spawn(&threads[i], race_worker, &args[i]);
    }
    barrier_wait(&shared.set);
    for (spin = 0; spin < round % 4; spin++)
      sched_yield(); /* vary the interleaving */
    tl_local_unref(shared.local);
    for (i = 0; i < RACE_THREADS; i++)
      tl_test_join(threads[i]);
    tl_test_assert_no_failure();
    for (i = 0; i < RACE_THREADS; i++)
      ck_assert_int_eq(shared.counters[i], RACE_KEYS);
    /* Every dictionary let go of the shared value; only this reference is left. */
    ck_assert_int_eq(shared_destroyed, 0);
    tl_value_unref(shared.shared_value);
    ck_assert_int_eq(shared_destroyed, 1);
    assert_stats(before);
    pthread_barrier_destroy(&shared.set);
  }
}
END_TEST

/* ---- id reuse ---- */

typedef struct {
  TlLocal *current; /* replaced by the main thread every round */
  TlLocal *stable;  /* lives across all rounds */
  pthread_barrier_t created, used, destroyed;
  int rounds;
  int destroyed_count;
} ReuseShared;

static void *
reuse_worker(void *data)
{
  ReuseShared *shared = data;
  int round;

  TL_CHECK(set_owned(shared->stable, "round", tl_value_new_int64(-1)) == TL_OK);
  for (round = 0; round < shared->rounds; round++) {
    barrier_wait(&shared->created);
    /* A new local, most likely on the id of last round's, in which this thread had a dict. */
    check_sees_nothing(shared->current, "k");
    check_sees_nothing(shared->current, "main");
    TL_CHECK(set_counted(shared->current, "k", &shared->destroyed_count) == TL_OK);
    TL_CHECK(set_owned(shared->current, "round", tl_value_new_int64(round)) == TL_OK);
    TL_CHECK(has_pointer(shared->current, "k", &shared->destroyed_count));
    TL_CHECK(has_int64(shared->current, "round", round));
    TL_CHECK(size_of(shared->current) == 2);
    TL_CHECK(has_int64(shared->stable, "round", round - 1));
    TL_CHECK(set_owned(shared->stable, "round", tl_value_new_int64(round)) == TL_OK);
    barrier_wait(&shared->used);
    barrier_wait(&shared->destroyed);
    TL_CHECK(load(&shared->destroyed_count) == round + 1);
  }
  return NULL;
}

START_TEST(test_id_reuse)
{
  ReuseShared shared;
  pthread_t thread;
  TlLocal *spare = NULL;
  int round;
  Stats before;

  memset(&shared, 0, sizeof shared);
  shared.rounds = tl_test_repeat(2000);
  shared.stable = tl_local_new();
  /* The main thread's own state exists before the baseline: its writes below are transient. */
  ck_assert_int_eq(set_owned(shared.stable, "main", tl_value_new_int64(1)), TL_OK);
  before = stats_now();
  pthread_barrier_init(&shared.created, NULL, 2);
  pthread_barrier_init(&shared.used, NULL, 2);
  pthread_barrier_init(&shared.destroyed, NULL, 2);
  tl_test_spawn(&thread, reuse_worker, &shared);
  for (round = 0; round < shared.rounds; round++) {
    /* Every third round shuffles the free ids with a spare local. */
    if (round % 3 == 1)
      spare = tl_local_new();
    shared.current = tl_local_new();
    TL_CHECK(set_owned(shared.current, "main", tl_value_new_int64(round)) == TL_OK);
    barrier_wait(&shared.created);
    barrier_wait(&shared.used);
    TL_CHECK(has_int64(shared.current, "main", round));
    TL_CHECK(tl_local_contains(shared.current, "k") == 0);
    TL_CHECK(size_of(shared.current) == 1);
    tl_local_unref(shared.current);
    TL_CHECK(load(&shared.destroyed_count) == round + 1);
    if (spare != NULL && round % 3 == 2) {
      tl_local_unref(spare);
      spare = NULL;
    }
    barrier_wait(&shared.destroyed);
  }
  tl_test_join(thread);
  tl_local_unref(spare);
  tl_test_assert_no_failure();
  assert_stats(before);
  ck_assert(has_int64(shared.stable, "main", 1));
  tl_local_unref(shared.stable);
  pthread_barrier_destroy(&shared.created);
  pthread_barrier_destroy(&shared.used);
  pthread_barrier_destroy(&shared.destroyed);
}
END_TEST

/* ---- tl_thread_clear in pool threads ---- */

#define TASK_KEYS 3

typedef struct {
  TlLocal *first, *second;
  Stats before;
  int n_tasks;
  int destroyed;
} PoolShared;

/* One long-lived thread serving tasks, clearing its state between them, checks exact stats. */
static void *
pool_single_worker(void *data)
{
  PoolShared *shared = data;
  int task, k;

  for (task = 0; task < shared->n_tasks; task++) {
    /* Each task starts from nothing, whatever the previous one left. */
    check_sees_nothing(shared->first, "k0");
    check_sees_nothing(shared->second, "k0");
    TL_CHECK(tl_stats_live_threads() == shared->before.threads);
    TL_CHECK(tl_stats_live_dicts() == shared->before.dicts);
    for (k = 0; k < TASK_KEYS; k++) {
      char key[16];

      snprintf(key, sizeof key, "k%d", k);
      TL_CHECK(set_counted(shared->first, key, &shared->destroyed) == TL_OK);
      TL_CHECK(set_owned(shared->second, key, tl_value_new_int64(task)) == TL_OK);
    }
    TL_CHECK(tl_stats_live_threads() == shared->before.threads + 1);
    TL_CHECK(tl_stats_live_dicts() == shared->before.dicts + 2);
    TL_CHECK(load(&shared->destroyed) == task * TASK_KEYS);
    tl_thread_clear();
    /* The destroy functions ran in the clear. */
    TL_CHECK(load(&shared->destroyed) == (task + 1) * TASK_KEYS);
    TL_CHECK(tl_stats_live_threads() == shared->before.threads);
    TL_CHECK(tl_stats_live_dicts() == shared->before.dicts);
    TL_CHECK(tl_local_peek(shared->second, "k0") == NULL);
  }
  return NULL;
}

START_TEST(test_pool_thread_clear)
{
  PoolShared shared;
  pthread_t thread;
  int main_destroyed = 0;

  memset(&shared, 0, sizeof shared);
  shared.first = tl_local_new();
  shared.second = tl_local_new();
  shared.n_tasks = tl_test_repeat(2000);
  ck_assert_int_eq(set_counted(shared.first, "k0", &main_destroyed), TL_OK);
  shared.before = stats_now();
  tl_test_spawn(&thread, pool_single_worker, &shared);
  tl_test_join(thread);
  tl_test_assert_no_failure();
  ck_assert_int_eq(shared.destroyed, shared.n_tasks * TASK_KEYS);
  assert_stats(shared.before);
  /* The worker's clears never touched the main thread's dictionary. */
  ck_assert(has_pointer(shared.first, "k0", &main_destroyed));
  ck_assert_int_eq(main_destroyed, 0);
  tl_local_unref(shared.first);
  tl_local_unref(shared.second);
  ck_assert_int_eq(main_destroyed, 1);
}
END_TEST

#define POOL_WORKERS 3
#define POOL_TASKS 2000

typedef struct {
  TlLocal *first, *second;
  int next_task;
  int n_tasks;
  int destroyed[POOL_TASKS]; /* per task */
} PoolQueue;

/* Several pool threads taking tasks from one queue; per-task counts, as stats are shared. */
static void *
pool_worker(void *data)
{
  PoolQueue *queue = data;
  int task;

  while ((task = __atomic_fetch_add(&queue->next_task, 1, __ATOMIC_SEQ_CST)) < queue->n_tasks) {
    int k;

    check_sees_nothing(queue->first, "k0");
    check_sees_nothing(queue->second, "task");
    for (k = 0; k < TASK_KEYS; k++) {
      char key[16];

      snprintf(key, sizeof key, "k%d", k);
      TL_CHECK(set_counted(k % 2 ? queue->second : queue->first, key, &queue->destroyed[task]) ==
               TL_OK);
    }
    TL_CHECK(set_owned(queue->second, "task", tl_value_new_int64(task)) == TL_OK);
    TL_CHECK(has_int64(queue->second, "task", task));
    TL_CHECK(load(&queue->destroyed[task]) == 0);
    tl_thread_clear();
    TL_CHECK(load(&queue->destroyed[task]) == TASK_KEYS);
  }
  return NULL;
}

START_TEST(test_pool_threads_clear)
{
  PoolQueue *queue = g_new0(PoolQueue, 1);
  pthread_t threads[POOL_WORKERS];
  Stats before;
  int i;

  queue->first = tl_local_new();
  queue->second = tl_local_new();
  queue->n_tasks = tl_test_repeat(POOL_TASKS);
  before = stats_now();
  for (i = 0; i < POOL_WORKERS; i++)
    tl_test_spawn(&threads[i], pool_worker, queue);
  for (i = 0; i < POOL_WORKERS; i++)
    tl_test_join(threads[i]);
  tl_test_assert_no_failure();
  for (i = 0; i < queue->n_tasks; i++)
    ck_assert_int_eq(queue->destroyed[i], TASK_KEYS);
  assert_stats(before);
  tl_local_unref(queue->first);
  tl_local_unref(queue->second);
  g_free(queue);
}
END_TEST

/* ---- re-entrant destroy functions ---- */

/* A pointer value whose destroy function counts, then (while depth > 0) stores a new chain link
 * into the other of two locals: state recreated by a destroy function, depth times over. */
typedef struct {
  TlLocal *locals[2];
  int which;
  int depth;
  int *counter;
} ChainLink;

static void chain_destroy(void *ptr);

static TlValue *
chain_new(TlLocal *first, TlLocal *second, int which, int depth, int *counter)
{
  ChainLink *link = g_new(ChainLink, 1);

  link->locals[0] = first;
  link->locals[1] = second;
  link->which = which;
  link->depth = depth;
  link->counter = counter;
  return tl_value_new_pointer(link, chain_destroy);
}

static void
chain_destroy(void *ptr)
{
  ChainLink *link = ptr;

  tl_test_count_destroy(link->counter);
  if (link->depth > 0) {
    int next = 1 - link->which;

    TL_CHECK(set_owned(link->locals[next], "chain",
                       chain_new(link->locals[0], link->locals[1], next, link->depth - 1,
                                 link->counter)) == TL_OK);
  }
  g_free(link);
}

typedef struct {
  TlLocal *first, *second;
  int depth;
  int destroyed;
  int use_clear; /* tl_thread_clear() before exiting, instead of the exit alone */
  Stats before;
} ChainShared;

static void *
chain_worker(void *data)
{
  ChainShared *shared = data;

  TL_CHECK(set_owned(shared->first, "chain",
                     chain_new(shared->first, shared->second, 0, shared->depth,
                               &shared->destroyed)) == TL_OK);
  if (shared->use_clear) {
    tl_thread_clear();
    /* Recreated state is freed within the clear's rounds. */
    TL_CHECK(load(&shared->destroyed) == shared->depth + 1);
    TL_CHECK(tl_stats_live_dicts() == shared->before.dicts);
    TL_CHECK(tl_stats_live_threads() == shared->before.threads);
  }
  return NULL;
}

static void
run_chain(int depth, int use_clear)
{
  ChainShared shared;
  pthread_t thread;

  memset(&shared, 0, sizeof shared);
  shared.first = tl_local_new();
  shared.second = tl_local_new();
  shared.depth = depth;
  shared.use_clear = use_clear;
  shared.before = stats_now();
  tl_test_spawn(&thread, chain_worker, &shared);
  tl_test_join(thread);
  tl_test_assert_no_failure();
  ck_assert_msg(shared.destroyed == depth + 1, "depth %d%s: %d of %d links destroyed", depth,
                use_clear ? " with tl_thread_clear" : "", shared.destroyed, depth + 1);
  assert_stats(shared.before);
  tl_local_unref(shared.first);
  tl_local_unref(shared.second);
}

/* Destroy functions at thread exit that set values in other locals: that state is freed too. */
START_TEST(test_exit_destroy_recreates_state)
{
  int rounds = tl_test_repeat(50), round;

  for (round = 0; round < rounds; round++) {
    run_chain(1, 0);
    run_chain(3, 0);
    run_chain(8, 0); /* more rounds than one cleanup pass makes: pthread re-runs it */
    run_chain(1, 1);
    run_chain(3, 1);
  }
}
END_TEST

static void
unref_local(void *ptr)
{
  tl_local_unref(ptr);
}

#define DROP_PARKED 4

typedef struct {
  TlLocal *holder; /* the exiting thread's value in it owns the last reference to victim */
  TlLocal *victim;
  TlLocal *survivor;
  pthread_barrier_t set, exited;
  int victim_destroyed[DROP_PARKED + 2]; /* parked threads, the exiting one, the main thread */
} DropShared;

typedef struct {
  DropShared *shared;
  int index;
} DropArg;

static void *
drop_parked(void *data)
{
  DropArg *arg = data;
  DropShared *shared = arg->shared;

  TL_CHECK(set_counted(shared->victim, "v", &shared->victim_destroyed[arg->index]) == TL_OK);
  TL_CHECK(set_owned(shared->survivor, "s", tl_value_new_int64(arg->index)) == TL_OK);
  barrier_wait(&shared->set);
  barrier_wait(&shared->exited);
  /* The victim died while this thread was parked; its value went with it. */
  TL_CHECK(load(&shared->victim_destroyed[arg->index]) == 1);
  TL_CHECK(has_int64(shared->survivor, "s", arg->index));
  TL_CHECK(set_owned(shared->survivor, "t", tl_value_new_int64(-arg->index)) == TL_OK);
  TL_CHECK(size_of(shared->survivor) == 2);
  return NULL;
}

static void *
drop_exiting(void *data)
{
  DropArg *arg = data;
  DropShared *shared = arg->shared;

  TL_CHECK(set_counted(shared->victim, "v", &shared->victim_destroyed[arg->index]) == TL_OK);
  barrier_wait(&shared->set);
  /* The main thread has given its reference to the victim to this value. */
  TL_CHECK(set_owned(shared->holder, "owner", tl_value_new_pointer(shared->victim, unref_local)) ==
           TL_OK);
  return NULL;
}

/* Destroy functions at thread exit that drop the last reference of a local. */
START_TEST(test_exit_destroy_drops_last_ref)
{
  int rounds = tl_test_repeat(100), round, i;

  for (round = 0; round < rounds; round++) {
    DropShared shared;
    DropArg args[DROP_PARKED + 1];
    pthread_t threads[DROP_PARKED + 1];
    Stats before;

    memset(&shared, 0, sizeof shared);
    shared.holder = tl_local_new();
    shared.victim = tl_local_new();
    shared.survivor = tl_local_new();
    ck_assert_int_eq(set_owned(shared.survivor, "main", tl_value_new_int64(1)), TL_OK);
    before = stats_now();
    pthread_barrier_init(&shared.set, NULL, DROP_PARKED + 2);
    pthread_barrier_init(&shared.exited, NULL, DROP_PARKED + 1);
    ck_assert_int_eq(set_counted(shared.victim, "v", &shared.victim_destroyed[DROP_PARKED + 1]),
                     TL_OK);
    for (i = 0; i <= DROP_PARKED; i++) {
      args[i].shared = &shared;
      args[i].index = i;
      tl_test_spawn(&threads[i], i < DROP_PARKED ? drop_parked : drop_exiting, &args[i]);
    }
    barrier_wait(&shared.set);
    tl_test_join(threads[DROP_PARKED]);
    /* The exit ran the value's destroy function, which dropped the victim everywhere. */
    for (i = 0; i < DROP_PARKED + 2; i++)
      TL_CHECK(load(&shared.victim_destroyed[i]) == 1);
    TL_CHECK(tl_stats_live_locals() == before.locals - 1);
    barrier_wait(&shared.exited);
    for (i = 0; i < DROP_PARKED; i++)
      tl_test_join(threads[i]);
    tl_test_assert_no_failure();
    before.locals--;
    assert_stats(before);
    tl_local_unref(shared.holder);
    tl_local_unref(shared.survivor);
    pthread_barrier_destroy(&shared.set);
    pthread_barrier_destroy(&shared.exited);
  }
}
END_TEST

/* A value that holds the only reference to its own local, dropped as the thread exits. Since
 * barriers are not needed here, many threads do it at once. */
static void *
self_owner_worker(void *data)
{
  int *destroyed = data;
  TlLocal *local = tl_local_new();

  TL_CHECK(set_counted(local, "counted", destroyed) == TL_OK);
  TL_CHECK(set_owned(local, "self", tl_value_new_pointer(local, unref_local)) == TL_OK);
  return NULL; /* the thread's reference now lives in the value */
}

START_TEST(test_exit_destroy_drops_own_local)
{
  int rounds = tl_test_repeat(200), round, destroyed = 0;
  Stats before = stats_now();

  for (round = 0; round < rounds; round++) {
    tl_test_run_threads(4, self_owner_worker, &destroyed);
    tl_test_assert_no_failure();
    ck_assert_int_eq(destroyed, 4 * (round + 1));
    assert_stats(before);
  }
}
END_TEST

/* ---- concurrency stress ---- */

#define STRESS_WORKERS 4
#define STRESS_LOCALS 4
#define STRESS_KEYS 8

typedef struct {
  TlLocal *locals[STRESS_LOCALS];
  pthread_mutex_t hot_lock;
  TlLocal *hot;        /* replaced by the main thread while the workers use it */
  int made, destroyed; /* pointer values */
  int workers_done;
  int n_ops;
} StressShared;

typedef struct {
  StressShared *shared;
  int index;
} StressArg;

/* What one worker expects in one key of one local: nothing, an int64, or its own pointer. */
typedef enum { ABSENT, NUMBER, POINTER } ExpectKind;

typedef struct {
  ExpectKind kind;
  int64_t number;
} Expect;

static const char *const stress_keys[STRESS_KEYS] = {
    "a", "b", "c", "d", "e", "long key number f", "g", "\xc3\xa9"};

static void
stress_destroy(void *ptr)
{
  StressArg *arg = ptr;

  add(&arg->shared->destroyed, 1);
}

static uint32_t
next_random(uint64_t *state)
{
  *state ^= *state << 13;
  *state ^= *state >> 7;
  *state ^= *state << 17;
  return (uint32_t) (*state >> 16);
}

/* The value read is exactly what this thread last stored there (so never another thread's). */
static void
stress_expect(StressArg *arg, TlValue *value, const Expect *expect)
{
  int64_t number;
  void *pointer;

  switch (expect->kind) {
  case ABSENT: TL_CHECK(value == NULL); break;
  case NUMBER:
    TL_CHECK(value != NULL && tl_value_get_int64(value, &number) == TL_OK &&
             number == expect->number);
    break;
  case POINTER:
    TL_CHECK(value != NULL && tl_value_get_pointer(value, &pointer) == TL_OK && pointer == arg);
    break;
  }
}

static void
stress_hot(StressArg *arg, int64_t stamp)
{
  StressShared *shared = arg->shared;
  TlValue *value;
  TlLocal *hot;
  int64_t number;

  pthread_mutex_lock(&shared->hot_lock);
  hot = tl_local_ref(shared->hot);
  pthread_mutex_unlock(&shared->hot_lock);
  TL_CHECK(hot != NULL);
  /* Whatever this thread finds there, it is its own. */
  value = tl_local_peek(hot, "n");
  TL_CHECK(value == NULL ||
           (tl_value_get_int64(value, &number) == TL_OK && number >> 40 == arg->index));
  TL_CHECK(set_owned(hot, "n", tl_value_new_int64(stamp)) == TL_OK);
  TL_CHECK(has_int64(hot, "n", stamp));
  add(&shared->made, 1);
  TL_CHECK(set_owned(hot, "mine", tl_value_new_pointer(arg, stress_destroy)) == TL_OK);
  TL_CHECK(has_pointer(hot, "mine", arg));
  tl_local_unref(hot); /* maybe the last reference */
}

static void *
stress_worker(void *data)
{
  StressArg *arg = data;
  StressShared *shared = arg->shared;
  Expect expect[STRESS_LOCALS][STRESS_KEYS];
  uint64_t random_state = 0x9e3779b97f4a7c15u * (uint64_t) (arg->index + 1);
  int op, l, k;

  memset(expect, 0, sizeof expect);
  for (op = 0; op < shared->n_ops; op++) {
    uint32_t r = next_random(&random_state);
    TlLocal *local = shared->locals[(l = r % STRESS_LOCALS)];
    Expect *e = &expect[l][(k = (r >> 4) % STRESS_KEYS)];
    const char *key = stress_keys[k];
    int64_t stamp = ((int64_t) arg->index << 40) | op;
    TlValue *out = NULL;
    size_t present = 0;
    int i, status;

    switch ((r >> 8) % 11) {
    case 0:
    case 1:
      TL_CHECK(set_owned(local, key, tl_value_new_int64(stamp)) == TL_OK);
      e->kind = NUMBER;
      e->number = stamp;
      break;
    case 2:
      add(&shared->made, 1);
      TL_CHECK(set_owned(local, key, tl_value_new_pointer(arg, stress_destroy)) == TL_OK);
      e->kind = POINTER;
      break;
    case 3:
      status = tl_local_get(local, key, &out);
      TL_CHECK(status == (e->kind == ABSENT ? TL_ERR_NOT_FOUND : TL_OK));
      stress_expect(arg, out, e);
      tl_value_unref(out);
      break;
    case 4:
    case 5: stress_expect(arg, tl_local_peek(local, key), e); break;
    case 6:
      TL_CHECK(tl_local_delete(local, key) == (e->kind == ABSENT ? TL_ERR_NOT_FOUND : TL_OK));
      e->kind = ABSENT;
      break;
    case 7:
      TL_CHECK(tl_local_contains(local, key) == (e->kind != ABSENT));
      for (i = 0; i < STRESS_KEYS; i++)
        present += expect[l][i].kind != ABSENT;
      TL_CHECK(size_of(local) == present);
      break;
    case 8: stress_hot(arg, stamp); break;
    case 9:
      if (r % 64 == 0) {
        TL_CHECK(tl_local_clear(local) == TL_OK);
        for (i = 0; i < STRESS_KEYS; i++)
          expect[l][i].kind = ABSENT;
      }
      break;
    default:
      for (i = 0; i < STRESS_KEYS; i++)
        stress_expect(arg, tl_local_peek(local, stress_keys[i]), &expect[l][i]);
      break;
    }
  }
  for (l = 0; l < STRESS_LOCALS; l++)
    for (k = 0; k < STRESS_KEYS; k++)
      stress_expect(arg, tl_local_peek(shared->locals[l], stress_keys[k]), &expect[l][k]);
  add(&shared->workers_done, 1);
  return NULL;
}

START_TEST(test_stress)
{
  StressShared shared;
  StressArg args[STRESS_WORKERS + 1];
  pthread_t threads[STRESS_WORKERS];
  Stats before;
  int i, cycles = 0;

  memset(&shared, 0, sizeof shared);
  for (i = 0; i < STRESS_LOCALS; i++)
    shared.locals[i] = tl_local_new();
  pthread_mutex_init(&shared.hot_lock, NULL);
  shared.hot = tl_local_new();
  /* The main thread's own state exists before the baseline: its writes below are transient. */
  ck_assert_int_eq(set_owned(shared.locals[0], "main", tl_value_new_int64(1)), TL_OK);
  before = stats_now();
  shared.n_ops = tl_test_repeat(200000);
  for (i = 0; i <= STRESS_WORKERS; i++) {
    args[i].shared = &shared;
    args[i].index = i;
  }
  for (i = 0; i < STRESS_WORKERS; i++)
    tl_test_spawn(&threads[i], stress_worker, &args[i]);
  /* Meanwhile the main thread makes and drops other locals, and swaps the hot one. */
  while (load(&shared.workers_done) < STRESS_WORKERS || cycles < 10) {
    TlLocal *temp = tl_local_new(), *old;
    int64_t stamp = ((int64_t) STRESS_WORKERS << 40) | cycles;

    TL_CHECK(set_owned(temp, "n", tl_value_new_int64(stamp)) == TL_OK);
    add(&shared.made, 1);
    TL_CHECK(set_owned(temp, "p", tl_value_new_pointer(&args[STRESS_WORKERS], stress_destroy)) ==
             TL_OK);
    TL_CHECK(has_int64(temp, "n", stamp));
    if (cycles % 2 == 0)
      TL_CHECK(tl_local_delete(temp, "p") == TL_OK);
    if (cycles % 4 == 0) {
      TlLocal *fresh = tl_local_new();

      pthread_mutex_lock(&shared.hot_lock);
      old = shared.hot;
      shared.hot = fresh;
      pthread_mutex_unlock(&shared.hot_lock);
      tl_local_unref(old); /* the last reference, unless a worker holds one */
    }
    tl_local_unref(temp);
    cycles++;
    sched_yield(); /* valgrind runs one thread at a time: let the workers on */
  }
  for (i = 0; i < STRESS_WORKERS; i++)
    tl_test_join(threads[i]);
  tl_test_assert_no_failure();
  ck_assert(has_int64(shared.locals[0], "main", 1));
  tl_local_unref(shared.hot);
  before.locals--;
  for (i = 0; i < STRESS_LOCALS; i++) {
    tl_local_unref(shared.locals[i]);
    before.locals--;
  }
  before.dicts--; /* the main thread's in locals[0], and its value */
  before.values--;
  ck_assert_int_eq(shared.destroyed, shared.made);
  assert_stats(before);
  pthread_mutex_destroy(&shared.hot_lock);
}
END_TEST

/* ---- refcounting across threads ---- */

#define REF_THREADS 8

typedef struct {
  TlLocal *local;
  pthread_barrier_t set;
  int iterations;
  int destroyed[REF_THREADS];
  int next_index;
} RefShared;

static void *
ref_worker(void *data)
{
  RefShared *shared = data;
  int index = __atomic_fetch_add(&shared->next_index, 1, __ATOMIC_SEQ_CST);
  int i;

  /* This thread owns one reference, given by the main thread before it started. */
  for (i = 0; i < shared->iterations; i++) {
    TlLocal *ref = tl_local_ref(shared->local);

    TL_CHECK(ref == shared->local);
    if (i % 128 == 0) {
      TL_CHECK(set_owned(ref, "i", tl_value_new_int64(i)) == TL_OK);
      TL_CHECK(has_int64(ref, "i", i));
    }
    tl_local_unref(ref);
  }
  TL_CHECK(set_counted(shared->local, "counted", &shared->destroyed[index]) == TL_OK);
  barrier_wait(&shared->set);
  tl_local_unref(shared->local); /* one of these is the last */
  return NULL;
}

START_TEST(test_refcount_across_threads)
{
  int rounds = tl_test_repeat(20), round, i;
  Stats before = stats_now();

  for (round = 0; round < rounds; round++) {
    RefShared shared;
    pthread_t threads[REF_THREADS];

    memset(&shared, 0, sizeof shared);
    shared.local = tl_local_new();
    shared.iterations = tl_test_repeat(20000);
    pthread_barrier_init(&shared.set, NULL, REF_THREADS);
    for (i = 0; i < REF_THREADS; i++) {
      ck_assert_ptr_eq(tl_local_ref(shared.local), shared.local);
      tl_test_spawn(&threads[i], ref_worker, &shared);
    }
    tl_local_unref(shared.local); /* the threads' references keep it alive */
    for (i = 0; i < REF_THREADS; i++)
      tl_test_join(threads[i]);
    tl_test_assert_no_failure();
    /* Freed exactly once: each value destroyed once, the local gone, nothing left over. */
    for (i = 0; i < REF_THREADS; i++)
      ck_assert_int_eq(shared.destroyed[i], 1);
    assert_stats(before);
    pthread_barrier_destroy(&shared.set);
  }
}
END_TEST

/* ---- one value shared by many threads' dictionaries ---- */

/* Many threads read one container value at once: the library serialises every GVariant when it
 * wraps it, so these reads never race on GLib's lazy serialisation (ThreadSanitizer would see
 * it). */
#define SHARE_THREADS 6

typedef struct {
  TlLocal *local, *other;
  TlValue *shared_value;
  TlValue *tree; /* an immutable container every thread reads at once */
  char *tree_text;
  int also_other; /* the threads put the value in a second local as well */
  pthread_barrier_t set, read;
  sem_t go[SHARE_THREADS];
  int reads;
} ShareShared;

typedef struct {
  ShareShared *shared;
  int index;
} ShareArg;

static void *
share_worker(void *data)
{
  ShareArg *arg = data;
  ShareShared *shared = arg->shared;
  int i;

  TL_CHECK(tl_local_set(shared->local, "shared", shared->shared_value) == TL_OK);
  if (shared->also_other)
    TL_CHECK(tl_local_set(shared->other, "shared", shared->shared_value) == TL_OK);
  TL_CHECK(tl_local_set(shared->local, "tree", shared->tree) == TL_OK);
  barrier_wait(&shared->set);
  /* Reading one immutable value from many threads at once. */
  for (i = 0; i < shared->reads; i++) {
    TlValue *tree = tl_local_peek(shared->local, "tree"), *child = NULL;
    int32_t number = 0;
    char *text;

    TL_CHECK(tree == shared->tree);
    TL_CHECK(tl_value_get_child(tree, 0, &child) == TL_OK &&
             tl_value_get_int32(child, &number) == TL_OK && number == 42);
    tl_value_unref(child);
    text = tl_value_print(tree, 1);
    TL_CHECK(text != NULL && strcmp(text, shared->tree_text) == 0);
    tl_free(text);
    TL_CHECK(tl_value_equal(tree, shared->tree) == 1);
  }
  barrier_wait(&shared->read);
  while (sem_wait(&shared->go[arg->index]) != 0)
    ;
  return NULL;
}

static void
run_share(int main_holds_last)
{
  ShareShared shared;
  ShareArg args[SHARE_THREADS];
  pthread_t threads[SHARE_THREADS];
  TlValue *items[3];
  int i, destroyed = 0;
  Stats before;

  memset(&shared, 0, sizeof shared);
  shared.local = tl_local_new();
  shared.other = tl_local_new();
  /* The main thread's own state exists before the baseline. */
  ck_assert_int_eq(set_owned(shared.other, "main", tl_value_new_int64(1)), TL_OK);
  shared.also_other = main_holds_last;
  shared.reads = tl_test_repeat(200);
  shared.shared_value = tl_value_new_pointer(&destroyed, tl_test_count_destroy);
  items[0] = tl_value_new_int32(42);
  items[1] = tl_value_new_string("forty-two");
  ck_assert_int_eq(tl_value_parse("a{sv}", "{'k': <[1, 2, 3]>}", &items[2]), TL_OK);
  shared.tree = tl_value_new_tuple(items, 3);
  for (i = 0; i < 3; i++)
    tl_value_unref(items[i]);
  shared.tree_text = tl_value_print(shared.tree, 1);
  ck_assert_ptr_nonnull(shared.tree_text);
  if (main_holds_last)
    ck_assert_int_eq(tl_local_set(shared.local, "shared", shared.shared_value), TL_OK);
  before = stats_now();
  pthread_barrier_init(&shared.set, NULL, SHARE_THREADS + 1);
  pthread_barrier_init(&shared.read, NULL, SHARE_THREADS + 1);
  for (i = 0; i < SHARE_THREADS; i++) {
    sem_init(&shared.go[i], 0, 0);
    args[i].shared = &shared;
    args[i].index = i;
    tl_test_spawn(&threads[i], share_worker, &args[i]);
  }
  barrier_wait(&shared.set);
  tl_value_unref(shared.shared_value); /* from now on only dictionaries hold it */
  barrier_wait(&shared.read);
  if (main_holds_last) {
    /* The threads leave one by one; the value outlives each of them. */
    for (i = 0; i < SHARE_THREADS; i++) {
      sem_post(&shared.go[i]);
      tl_test_join(threads[i]);
      TL_CHECK(load(&destroyed) == 0);
    }
    TL_CHECK(tl_local_delete(shared.local, "shared") == TL_OK); /* the last holder */
    TL_CHECK(load(&destroyed) == 1);
  } else {
    /* The threads still run: the last holders go with the local. */
    TL_CHECK(load(&destroyed) == 0);
    tl_local_unref(shared.local);
    shared.local = NULL;
    TL_CHECK(load(&destroyed) == 1);
    for (i = 0; i < SHARE_THREADS; i++) {
      sem_post(&shared.go[i]);
      tl_test_join(threads[i]);
    }
  }
  tl_test_assert_no_failure();
  ck_assert_int_eq(destroyed, 1);
  if (!main_holds_last)
    before.locals--;
  before.values--; /* the shared value */
  assert_stats(before);
  for (i = 0; i < SHARE_THREADS; i++)
    sem_destroy(&shared.go[i]);
  pthread_barrier_destroy(&shared.set);
  pthread_barrier_destroy(&shared.read);
  tl_local_unref(shared.local);
  tl_local_unref(shared.other);
  tl_value_unref(shared.tree);
  tl_free(shared.tree_text);
}

START_TEST(test_shared_value)
{
  int rounds = tl_test_repeat(50), round;

  for (round = 0; round < rounds; round++) {
    run_share(1);
    run_share(0);
  }
}
END_TEST

/* ---- lazy GVariants ---- */

/* A basic value from a typed constructor gets its GVariant on first need (tl-value-scalar.c).
 * Threads sharing one value all need it at once, each for another reason: one GVariant is published
 * and every thread gets that one. */
#define LAZY_THREADS 6

struct lazy_race {
  TlValue *value;
  pthread_barrier_t start;
  int next_index;
  GVariant *seen[LAZY_THREADS];
  char *text[LAZY_THREADS];
};

static void *
lazy_race_worker(void *data)
{
  struct lazy_race *race = data;
  int index = __atomic_fetch_add(&race->next_index, 1, __ATOMIC_RELAXED);
  TlValue *tuple;

  pthread_barrier_wait(&race->start);
  switch (index % 3) {
  case 0: race->text[index] = tl_value_print(race->value, 1); break;
  case 1:
    tuple = tl_value_new_tuple(&race->value, 1);
    TL_CHECK(tuple != NULL);
    tl_value_unref(tuple);
    break;
  default: break; /* straight to GLib */
  }
  race->seen[index] = tl_value_dup_gvariant(race->value);
  return NULL;
}

START_TEST(test_lazy_variant_race)
{
  int rounds = tl_test_repeat(300), round, i;

  for (round = 0; round < rounds; round++) {
    struct lazy_race race = {0};
    char expected[32];

    if (round % 2)
      snprintf(expected, sizeof expected, "'shared'");
    else
      snprintf(expected, sizeof expected, "int64 %d", round);
    race.value = round % 2 ? tl_value_new_string("shared") : tl_value_new_int64(round);
    pthread_barrier_init(&race.start, NULL, LAZY_THREADS);
    tl_test_run_threads(LAZY_THREADS, lazy_race_worker, &race);
    tl_test_assert_no_failure();
    for (i = 0; i < LAZY_THREADS; i++) {
      ck_assert_ptr_nonnull(race.seen[i]);
      ck_assert_ptr_eq(race.seen[i], race.seen[0]);
      if (race.text[i] != NULL)
        ck_assert_str_eq(race.text[i], expected);
      g_variant_unref(race.seen[i]);
      tl_free(race.text[i]);
    }
    pthread_barrier_destroy(&race.start);
    tl_value_unref(race.value);
  }
}
END_TEST

Suite *
threads_suite(void)
{
  Suite *suite = suite_create("threads");
  struct {
    const char *name;
    const TTest *test;
  } tests[] = {
      {"isolation", test_isolation},
      {"cleanup at thread exit", test_cleanup_at_thread_exit},
      {"cleanup at local destruction", test_cleanup_at_local_destruction},
      {"exit races destruction", test_exit_races_destruction},
      {"id reuse", test_id_reuse},
      {"pool thread clear", test_pool_thread_clear},
      {"pool threads clear", test_pool_threads_clear},
      {"destroy recreates state at exit", test_exit_destroy_recreates_state},
      {"destroy drops last ref at exit", test_exit_destroy_drops_last_ref},
      {"destroy drops own local at exit", test_exit_destroy_drops_own_local},
      {"stress", test_stress},
      {"refcount across threads", test_refcount_across_threads},
      {"shared value", test_shared_value},
      {"lazy variant race", test_lazy_variant_race},
  };
  size_t i;

  for (i = 0; i < sizeof tests / sizeof tests[0]; i++) {
    TCase *tcase = tl_test_case(tests[i].name);

    tcase_add_test(tcase, tests[i].test);
    suite_add_tcase(suite, tcase);
  }
  return suite;
}
