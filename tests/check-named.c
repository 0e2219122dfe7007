/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Named locals (tl_local_open / tl_local_unregister), shared process-wide by name, and the
 * introspection counts and thread ids that tests and programs use to see leaks. */
#include <inttypes.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tl-test.h"

/* ---- helpers ---- */

static int
set_int32(TlLocal *local, const char *key, int32_t number)
{
  TlValue *value = tl_value_new_int32(number);
  int status = tl_local_set(local, key, value);

  tl_value_unref(value);
  return status;
}

static int32_t
peek_int32(TlLocal *local, const char *key)
{
  TlValue *value = tl_local_peek(local, key);
  int32_t number = -1;

  TL_CHECK(value != NULL && tl_value_get_int32(value, &number) == TL_OK);
  return number;
}

static TlLocal *
open_checked(const char *name)
{
  TlLocal *local = tl_local_open(name);

  TL_CHECK(local != NULL);
  return local;
}

/* ---- named locals ---- */

START_TEST(test_open_twice_same_local)
{
  size_t locals = tl_stats_live_locals();
  TlLocal *first = tl_local_open("tl-test.named.same");
  TlLocal *second = tl_local_open("tl-test.named.same");

  ck_assert_ptr_nonnull(first);
  ck_assert_ptr_eq(first, second);
  ck_assert_uint_eq(tl_stats_live_locals(), locals + 1);

  /* Each open is a reference of its own: dropping one leaves the other usable. */
  tl_local_unref(first);
  ck_assert_int_eq(set_int32(second, "k", 1), TL_OK);
  ck_assert_int_eq(peek_int32(second, "k"), 1);
  tl_local_unref(second);
  ck_assert_uint_eq(tl_stats_live_locals(), locals + 1); /* the registry keeps it */

  ck_assert_int_eq(tl_local_unregister("tl-test.named.same"), TL_OK);
  ck_assert_uint_eq(tl_stats_live_locals(), locals);
  tl_test_assert_no_failure();
}
END_TEST

static int
visit_nothing(uint64_t thread_id, const char *key, TlValue *value, void *payload)
{
  return 0;
}

START_TEST(test_open_different_names)
{
  static const char *const names[] = {
      "tl-test.named.a",
      "tl-test.named.A",
      "tl-test.named.a ",
      "tl-test.named.ä",
      "",
      "tl-test.named.a.b",
      "tl-test.named.\xe2\x82\xac",
  };
  TlLocal *locals[N_ELEMENTS(names)];
  size_t live = tl_stats_live_locals(), i, j;

  for (i = 0; i < N_ELEMENTS(names); i++) {
    locals[i] = open_checked(names[i]);
    ck_assert_ptr_nonnull(locals[i]);
    for (j = 0; j < i; j++)
      ck_assert_ptr_ne(locals[i], locals[j]);
    ck_assert_int_eq(set_int32(locals[i], "which", (int32_t) i), TL_OK);
  }
  ck_assert_uint_eq(tl_stats_live_locals(), live + N_ELEMENTS(names));
  for (i = 0; i < N_ELEMENTS(names); i++) {
    TlLocal *again = open_checked(names[i]);

    ck_assert_ptr_eq(again, locals[i]);
    ck_assert_int_eq(peek_int32(again, "which"), (int32_t) i);
    tl_local_unref(again);
  }
  /* A named local is a plain one: not visitable, no initializer. */
  ck_assert_int_eq(tl_local_visit(locals[0], NULL, visit_nothing, NULL), TL_ERR_UNSUPPORTED);
  for (i = 0; i < N_ELEMENTS(names); i++) {
    tl_local_unref(locals[i]);
    ck_assert_int_eq(tl_local_unregister(names[i]), TL_OK);
  }
  ck_assert_uint_eq(tl_stats_live_locals(), live);
  tl_test_assert_no_failure();
}
END_TEST

/* Many threads race to open a name nobody has opened yet: one local is made, all get it. */
#define OPENERS 16

typedef struct {
  const char *name;
  pthread_barrier_t barrier;
  TlLocal *opened[OPENERS];
  int next_index;
} Openers;

static void *
opener_thread(void *arg)
{
  Openers *openers = arg;
  int index = __atomic_fetch_add(&openers->next_index, 1, __ATOMIC_SEQ_CST);
  TlLocal *local;

  pthread_barrier_wait(&openers->barrier);
  local = open_checked(openers->name);
  openers->opened[index] = local;
  /* Each thread has its own dictionary in it. */
  TL_CHECK(tl_local_contains(local, "mine") == 0);
  TL_CHECK(set_int32(local, "mine", index) == TL_OK);
  TL_CHECK(peek_int32(local, "mine") == index);
  pthread_barrier_wait(&openers->barrier); /* all set before any exits */
  return NULL;                             /* the handle is released by the runner */
}

START_TEST(test_open_race)
{
  const int rounds = tl_test_repeat(100);
  size_t locals = tl_stats_live_locals();
  int round, i;

  for (round = 0; round < rounds; round++) {
    Openers openers;
    char name[64];
    pthread_t threads[OPENERS];

    memset(&openers, 0, sizeof openers);
    snprintf(name, sizeof name, "tl-test.named.race-%d", round % 3);
    openers.name = name;
    pthread_barrier_init(&openers.barrier, NULL, OPENERS);
    for (i = 0; i < OPENERS; i++)
      ck_assert_int_eq(pthread_create(&threads[i], NULL, opener_thread, &openers), 0);
    for (i = 0; i < OPENERS; i++)
      ck_assert_int_eq(pthread_join(threads[i], NULL), 0);
    tl_test_assert_no_failure();
    ck_assert_uint_eq(tl_stats_live_locals(), locals + 1);
    for (i = 0; i < OPENERS; i++)
      ck_assert_ptr_eq(openers.opened[i], openers.opened[0]);
    ck_assert_int_eq(tl_local_contains(openers.opened[0], "mine"), 0); /* not the runner's */
    for (i = 0; i < OPENERS; i++)
      tl_local_unref(openers.opened[i]);
    ck_assert_int_eq(tl_local_unregister(name), TL_OK);
    ck_assert_uint_eq(tl_stats_live_locals(), locals);
    pthread_barrier_destroy(&openers.barrier);
  }
}
END_TEST

/* Values set through one handle are the same local's values through every other handle, in this
 * thread only. */
typedef struct {
  const char *name;
  int32_t seen_before;
  int32_t contains_runner_key;
} OtherThread;

static void *
other_thread(void *arg)
{
  OtherThread *other = arg;
  TlLocal *local = open_checked(other->name);

  other->contains_runner_key = tl_local_contains(local, "k");
  TL_CHECK(set_int32(local, "k", 99) == TL_OK);
  TL_CHECK(peek_int32(local, "k") == 99);
  tl_local_unref(local);
  return NULL;
}

START_TEST(test_values_through_handles)
{
  const char *name = "tl-test.named.values";
  TlLocal *first = open_checked(name), *second = open_checked(name);
  OtherThread other = {name, 0, -1};
  TlValue *value = tl_value_new_string("v");

  ck_assert_int_eq(tl_local_set(first, "k", value), TL_OK);
  ck_assert_ptr_eq(tl_local_peek(second, "k"), value);
  ck_assert_int_eq(set_int32(second, "j", 2), TL_OK);
  ck_assert_int_eq(peek_int32(first, "j"), 2);
  ck_assert_int_eq(tl_local_delete(second, "k"), TL_OK);
  ck_assert_int_eq(tl_local_contains(first, "k"), 0);
  ck_assert_int_eq(tl_local_set(first, "k", value), TL_OK);

  tl_test_run_threads(1, other_thread, &other);
  tl_test_assert_no_failure();
  ck_assert_int_eq(other.contains_runner_key, 0);
  ck_assert_ptr_eq(tl_local_peek(first, "k"), value); /* untouched by the other thread's "k" */

  tl_value_unref(value);
  tl_local_unref(first);
  tl_local_unref(second);
  ck_assert_int_eq(tl_local_unregister(name), TL_OK);
}
END_TEST

START_TEST(test_unregister_then_open)
{
  const char *name = "tl-test.named.reopen";
  size_t locals = tl_stats_live_locals();
  TlLocal *old = open_checked(name), *fresh;
  int destroyed = 0;
  TlValue *pointer = tl_value_new_pointer(&destroyed, tl_test_count_destroy);

  ck_assert_int_eq(tl_local_set(old, "p", pointer), TL_OK);
  tl_value_unref(pointer);
  ck_assert_int_eq(tl_local_unregister(name), TL_OK);
  ck_assert_int_eq(tl_local_unregister(name), TL_ERR_NOT_FOUND);
  ck_assert_uint_eq(tl_stats_live_locals(), locals + 1); /* the handle keeps it */

  /* The old handle is valid, with its values; the name now makes a new, empty local. */
  ck_assert_ptr_eq(tl_local_peek(old, "p"), pointer);
  ck_assert_int_eq(set_int32(old, "k", 1), TL_OK);
  fresh = open_checked(name);
  ck_assert_ptr_nonnull(fresh);
  ck_assert_ptr_ne(fresh, old);
  ck_assert_uint_eq(tl_stats_live_locals(), locals + 2);
  ck_assert_int_eq(tl_local_contains(fresh, "p"), 0);
  ck_assert_int_eq(tl_local_contains(fresh, "k"), 0);
  ck_assert_int_eq(set_int32(fresh, "k", 2), TL_OK);
  ck_assert_int_eq(peek_int32(old, "k"), 1);

  ck_assert_int_eq(destroyed, 0);
  tl_local_unref(old); /* the last reference to the unregistered one */
  ck_assert_int_eq(destroyed, 1);
  ck_assert_uint_eq(tl_stats_live_locals(), locals + 1);
  ck_assert_int_eq(peek_int32(fresh, "k"), 2);

  tl_local_unref(fresh);
  ck_assert_uint_eq(tl_stats_live_locals(), locals + 1);
  ck_assert_int_eq(tl_local_unregister(name), TL_OK);
  ck_assert_uint_eq(tl_stats_live_locals(), locals);
  tl_test_assert_no_failure();
}
END_TEST

START_TEST(test_name_errors)
{
  size_t locals = tl_stats_live_locals();

  ck_assert_ptr_null(tl_local_open(NULL));
  ck_assert_int_eq(tl_last_error(), TL_ERR_INVALID_KEY);
  ck_assert_ptr_null(tl_local_open("bad\xff"));
  ck_assert_int_eq(tl_last_error(), TL_ERR_INVALID_KEY);
  ck_assert_ptr_null(tl_local_open("\xc3\x28"));
  ck_assert_ptr_null(tl_local_open("trunc\xe2\x82"));
  ck_assert_int_eq(tl_last_error(), TL_ERR_INVALID_KEY);
  ck_assert_uint_eq(tl_stats_live_locals(), locals);

  ck_assert_int_eq(tl_local_unregister(NULL), TL_ERR_INVALID_KEY);
  ck_assert_int_eq(tl_local_unregister("bad\xff"), TL_ERR_INVALID_KEY);
  ck_assert_int_eq(tl_last_error(), TL_ERR_INVALID_KEY);
  ck_assert_int_eq(tl_local_unregister("tl-test.named.never-opened"), TL_ERR_NOT_FOUND);
  ck_assert_int_eq(tl_last_error(), TL_ERR_NOT_FOUND);
  ck_assert_str_ne(tl_last_error_message(), "");
  ck_assert_int_eq(tl_local_unregister(""), TL_ERR_NOT_FOUND);
}
END_TEST

/* The registry's reference keeps a named local, and every live thread's values in it, after the
 * last user handle is gone. */
typedef struct {
  const char *name;
  int destroyed;
  sem_t set, release;
} Keeper;

static void *
keeper_thread(void *arg)
{
  Keeper *keeper = arg;
  TlLocal *local = open_checked(keeper->name);
  TlValue *pointer = tl_value_new_pointer(&keeper->destroyed, tl_test_count_destroy);

  TL_CHECK(tl_local_set(local, "p", pointer) == TL_OK);
  tl_value_unref(pointer);
  tl_local_unref(local); /* no handle left on this thread */
  sem_post(&keeper->set);
  sem_wait(&keeper->release);
  local = open_checked(keeper->name);
  TL_CHECK(tl_local_peek(local, "p") == pointer);
  tl_local_unref(local);
  return NULL; /* the exit frees this thread's value */
}

START_TEST(test_registry_keeps_local)
{
  Keeper keeper;
  pthread_t thread;
  size_t locals = tl_stats_live_locals(), dicts;
  TlLocal *local, *again;
  TlValue *value = tl_value_new_int32(5);

  memset(&keeper, 0, sizeof keeper);
  keeper.name = "tl-test.named.kept";
  sem_init(&keeper.set, 0, 0);
  sem_init(&keeper.release, 0, 0);
  ck_assert_int_eq(pthread_create(&thread, NULL, keeper_thread, &keeper), 0);
  sem_wait(&keeper.set);

  local = open_checked(keeper.name);
  ck_assert_int_eq(tl_local_set(local, "k", value), TL_OK);
  dicts = tl_stats_live_dicts();
  tl_local_unref(local);
  ck_assert_uint_eq(tl_stats_live_locals(), locals + 1);
  ck_assert_uint_eq(tl_stats_live_dicts(), dicts);

  again = open_checked(keeper.name);
  ck_assert_ptr_eq(again, local);
  ck_assert_ptr_eq(tl_local_peek(again, "k"), value);
  tl_local_unref(again);

  sem_post(&keeper.release);
  ck_assert_int_eq(pthread_join(thread, NULL), 0);
  tl_test_assert_no_failure();
  ck_assert_int_eq(keeper.destroyed, 1);
  ck_assert_uint_eq(tl_stats_live_dicts(), dicts - 1);

  /* Unregistering drops the last reference: every dictionary goes with the local. */
  ck_assert_int_eq(tl_local_unregister(keeper.name), TL_OK);
  ck_assert_uint_eq(tl_stats_live_locals(), locals);
  ck_assert_uint_eq(tl_stats_live_dicts(), dicts - 2);
  tl_value_unref(value);
  sem_destroy(&keeper.set);
  sem_destroy(&keeper.release);
}
END_TEST

/* Opens, unrefs and unregisters of a few names from many threads at once: handles stay valid
 * while held, and once every handle is gone and every name unregistered, nothing is left. */
#define CHURNERS 6

typedef struct {
  int rounds;
  int next_index;
} Churn;

static void *
churn_thread(void *arg)
{
  Churn *churn = arg;
  int index = __atomic_fetch_add(&churn->next_index, 1, __ATOMIC_SEQ_CST);
  int i;

  for (i = 0; i < churn->rounds; i++) {
    char name[64];
    TlLocal *local;
    int status;

    snprintf(name, sizeof name, "tl-test.named.churn-%d", (index + i) % 3);
    local = open_checked(name);
    if (local == NULL)
      continue;
    TL_CHECK(set_int32(local, "i", i) == TL_OK);
    if (i % 4 == index % 4) {
      status = tl_local_unregister(name);
      TL_CHECK(status == TL_OK || status == TL_ERR_NOT_FOUND);
    }
    TL_CHECK(peek_int32(local, "i") == i); /* the handle holds the local, registered or not */
    tl_local_unref(local);
  }
  return NULL;
}

START_TEST(test_open_unregister_race)
{
  Churn churn = {0, 0};
  size_t locals = tl_stats_live_locals();
  int i;

  churn.rounds = tl_test_repeat(2000);
  tl_test_run_threads(CHURNERS, churn_thread, &churn);
  tl_test_assert_no_failure();
  for (i = 0; i < 3; i++) {
    char name[64];
    int status;

    snprintf(name, sizeof name, "tl-test.named.churn-%d", i);
    status = tl_local_unregister(name);
    ck_assert(status == TL_OK || status == TL_ERR_NOT_FOUND);
    ck_assert_int_eq(tl_local_unregister(name), TL_ERR_NOT_FOUND);
  }
  ck_assert_uint_eq(tl_stats_live_locals(), locals);
  ck_assert_uint_eq(tl_stats_live_dicts(), 0);
}
END_TEST

/* ---- introspection: counts ---- */

START_TEST(test_live_values_exact)
{
  size_t base = tl_stats_live_values();
  TlValue *a = tl_value_new_int32(1), *b, *parsed = NULL, *child = NULL, *tuple, *snapshot;
  TlValue *failed = (TlValue *) 1;
  TlValue *items[2];
  TlLocal *local = tl_local_new();
  int destroyed = 0;

  ck_assert_uint_eq(tl_stats_live_values(), base + 1);
  b = tl_value_ref(a); /* a reference is not a value */
  ck_assert_uint_eq(tl_stats_live_values(), base + 1);
  tl_value_unref(b);
  ck_assert_uint_eq(tl_stats_live_values(), base + 1);

  b = tl_value_new_pointer(&destroyed, tl_test_count_destroy);
  ck_assert_int_eq(tl_value_parse(NULL, "[1, 2]", &parsed), TL_OK);
  ck_assert_uint_eq(tl_stats_live_values(), base + 3);
  ck_assert_int_eq(tl_value_get_child(parsed, 0, &child), TL_OK);
  items[0] = a;
  items[1] = child;
  tuple = tl_value_new_tuple(items, 2);
  ck_assert_uint_eq(tl_stats_live_values(), base + 5);
  ck_assert_ptr_null(tl_value_new_tuple(NULL, 2)); /* failures make none */
  ck_assert_ptr_null(tl_value_new_string("\xff"));
  ck_assert_int_eq(tl_value_parse(NULL, "[1,", &failed), TL_ERR_PARSE);
  ck_assert_ptr_null(failed);
  ck_assert_uint_eq(tl_stats_live_values(), base + 5);

  /* Storing takes references, not values; a snapshot is one value. */
  ck_assert_int_eq(tl_local_set(local, "a", a), TL_OK);
  ck_assert_int_eq(tl_local_set(local, "b", b), TL_OK);
  ck_assert_int_eq(tl_local_set(local, "a2", a), TL_OK);
  ck_assert_uint_eq(tl_stats_live_values(), base + 5);
  ck_assert_int_eq(tl_local_snapshot(local, &snapshot), TL_OK);
  ck_assert_uint_eq(tl_stats_live_values(), base + 6);

  tl_value_unref(a);
  tl_value_unref(b);
  tl_value_unref(child);
  tl_value_unref(tuple);
  tl_value_unref(parsed);
  ck_assert_uint_eq(tl_stats_live_values(), base + 3); /* a and b live on in the dictionary */
  tl_value_unref(snapshot);
  ck_assert_uint_eq(tl_stats_live_values(), base + 2);
  ck_assert_int_eq(tl_local_delete(local, "a"), TL_OK);
  ck_assert_uint_eq(tl_stats_live_values(), base + 2); /* "a2" still holds it */
  tl_local_unref(local);
  ck_assert_uint_eq(tl_stats_live_values(), base);
  ck_assert_int_eq(destroyed, 1);
}
END_TEST

/* Values made on one thread and freed on another, and many threads making and freeing at once:
 * the count is exact whenever no thread is changing it. */
#define VALUE_THREADS 8
#define HELD_PER_THREAD 50

typedef struct {
  TlLocal *local;
  int churn;
  pthread_barrier_t barrier; /* VALUE_THREADS + runner */
  TlValue *handed[VALUE_THREADS];
  int next_index;
} ValueThreads;

static void *
value_thread(void *arg)
{
  ValueThreads *shared = arg;
  int index = __atomic_fetch_add(&shared->next_index, 1, __ATOMIC_SEQ_CST);
  char key[32];
  int i;

  for (i = 0; i < shared->churn; i++) {
    TlValue *value = tl_value_new_int64(i);

    if (i % 16 == 0) {
      TL_CHECK(tl_local_set(shared->local, "churn", value) == TL_OK); /* frees the previous one */
    }
    tl_value_unref(value);
  }
  TL_CHECK(tl_local_delete(shared->local, "churn") == TL_OK);
  for (i = 0; i < HELD_PER_THREAD; i++) {
    TlValue *value = tl_value_new_int32(i);

    snprintf(key, sizeof key, "held-%d", i);
    TL_CHECK(tl_local_set(shared->local, key, value) == TL_OK);
    tl_value_unref(value);
  }
  shared->handed[index] = tl_value_new_string("handed to the runner");
  pthread_barrier_wait(&shared->barrier); /* counted while parked */
  pthread_barrier_wait(&shared->barrier);
  return NULL; /* the exit frees the held values */
}

static void *
adopt_thread(void *arg)
{
  ValueThreads *shared = arg;
  int index = __atomic_fetch_add(&shared->next_index, 1, __ATOMIC_SEQ_CST);

  TL_CHECK(tl_local_set(shared->local, "adopted", shared->handed[index]) == TL_OK);
  tl_value_unref(shared->handed[index]);
  return NULL;
}

START_TEST(test_live_values_across_threads)
{
  ValueThreads shared;
  pthread_t threads[VALUE_THREADS];
  size_t base = tl_stats_live_values();
  int i;

  memset(&shared, 0, sizeof shared);
  shared.local = tl_local_new();
  shared.churn = tl_test_repeat(20000);
  pthread_barrier_init(&shared.barrier, NULL, VALUE_THREADS + 1);
  for (i = 0; i < VALUE_THREADS; i++)
    ck_assert_int_eq(pthread_create(&threads[i], NULL, value_thread, &shared), 0);
  pthread_barrier_wait(&shared.barrier);
  ck_assert_uint_eq(tl_stats_live_values(), base + VALUE_THREADS * (HELD_PER_THREAD + 1));
  pthread_barrier_wait(&shared.barrier);
  for (i = 0; i < VALUE_THREADS; i++)
    ck_assert_int_eq(pthread_join(threads[i], NULL), 0);
  tl_test_assert_no_failure();
  ck_assert_uint_eq(tl_stats_live_values(), base + VALUE_THREADS); /* only the handed ones */
  for (i = 0; i < VALUE_THREADS; i++)
    tl_value_unref(shared.handed[i]); /* made there, freed here */
  ck_assert_uint_eq(tl_stats_live_values(), base);

  /* Made here, freed there: each thread stores one of the runner's values, which hands over its
   * reference, and frees it by exiting. */
  for (i = 0; i < VALUE_THREADS; i++)
    shared.handed[i] = tl_value_new_int32(i);
  ck_assert_uint_eq(tl_stats_live_values(), base + VALUE_THREADS);
  shared.next_index = 0;
  tl_test_run_threads(VALUE_THREADS, adopt_thread, &shared);
  tl_test_assert_no_failure();
  ck_assert_uint_eq(tl_stats_live_values(), base);
  pthread_barrier_destroy(&shared.barrier);
  tl_local_unref(shared.local);
}
END_TEST

START_TEST(test_live_dicts_threads_locals)
{
  size_t locals, dicts, threads;
  TlLocal *a, *b;

  tl_thread_clear(); /* the runner holds no state: it counts as no thread */
  locals = tl_stats_live_locals();
  dicts = tl_stats_live_dicts();
  threads = tl_stats_live_threads();

  a = tl_local_new();
  b = tl_local_new_full(TL_LOCAL_VISITABLE, NULL, NULL, NULL);
  ck_assert_uint_eq(tl_stats_live_locals(), locals + 2);
  ck_assert_uint_eq(tl_stats_live_dicts(), dicts);
  ck_assert_uint_eq(tl_stats_live_threads(), threads);

  /* Reads make nothing; the first write makes the thread's state and one dictionary. */
  ck_assert_int_eq(tl_local_contains(a, "k"), 0);
  ck_assert_uint_eq(tl_stats_live_threads(), threads);
  ck_assert_int_eq(set_int32(a, "k", 1), TL_OK);
  ck_assert_uint_eq(tl_stats_live_dicts(), dicts + 1);
  ck_assert_uint_eq(tl_stats_live_threads(), threads + 1);
  ck_assert_int_eq(set_int32(a, "j", 1), TL_OK);
  ck_assert_int_eq(set_int32(b, "k", 1), TL_OK);
  ck_assert_uint_eq(tl_stats_live_dicts(), dicts + 2);
  ck_assert_uint_eq(tl_stats_live_threads(), threads + 1);

  /* Clearing a dictionary keeps it; destroying the local frees it. */
  ck_assert_int_eq(tl_local_clear(a), TL_OK);
  ck_assert_uint_eq(tl_stats_live_dicts(), dicts + 2);
  tl_local_unref(a);
  ck_assert_uint_eq(tl_stats_live_locals(), locals + 1);
  ck_assert_uint_eq(tl_stats_live_dicts(), dicts + 1);

  tl_thread_clear();
  ck_assert_uint_eq(tl_stats_live_dicts(), dicts);
  ck_assert_uint_eq(tl_stats_live_threads(), threads);
  tl_local_unref(b);
  ck_assert_uint_eq(tl_stats_live_locals(), locals);
}
END_TEST

/* Counts with threads parked holding state. */
#define PARKED_THREADS 5

typedef struct {
  TlLocal *a, *b;
  pthread_barrier_t barrier;
} ParkedStats;

static void *
parked_stats_thread(void *arg)
{
  ParkedStats *parked = arg;

  TL_CHECK(set_int32(parked->a, "k", 1) == TL_OK);
  TL_CHECK(set_int32(parked->b, "k", 1) == TL_OK);
  pthread_barrier_wait(&parked->barrier); /* counted with two dictionaries */
  pthread_barrier_wait(&parked->barrier); /* a destroyed meanwhile */
  TL_CHECK(set_int32(parked->b, "j", 1) == TL_OK);
  pthread_barrier_wait(&parked->barrier);
  pthread_barrier_wait(&parked->barrier);
  return NULL;
}

START_TEST(test_live_counts_with_threads)
{
  ParkedStats parked;
  pthread_t threads[PARKED_THREADS];
  size_t dicts, live_threads, locals;
  int i;

  tl_thread_clear();
  dicts = tl_stats_live_dicts();
  live_threads = tl_stats_live_threads();
  locals = tl_stats_live_locals();
  parked.a = tl_local_new();
  parked.b = tl_local_new();
  pthread_barrier_init(&parked.barrier, NULL, PARKED_THREADS + 1);
  for (i = 0; i < PARKED_THREADS; i++)
    ck_assert_int_eq(pthread_create(&threads[i], NULL, parked_stats_thread, &parked), 0);
  pthread_barrier_wait(&parked.barrier);
  ck_assert_uint_eq(tl_stats_live_dicts(), dicts + 2 * PARKED_THREADS);
  ck_assert_uint_eq(tl_stats_live_threads(), live_threads + PARKED_THREADS);
  ck_assert_uint_eq(tl_stats_live_locals(), locals + 2);

  /* Destroying a frees its dictionary in every running thread at once. */
  tl_local_unref(parked.a);
  ck_assert_uint_eq(tl_stats_live_dicts(), dicts + PARKED_THREADS);
  ck_assert_uint_eq(tl_stats_live_locals(), locals + 1);
  pthread_barrier_wait(&parked.barrier);
  pthread_barrier_wait(&parked.barrier);
  ck_assert_uint_eq(tl_stats_live_dicts(), dicts + PARKED_THREADS); /* writes to b made none */
  pthread_barrier_wait(&parked.barrier);
  for (i = 0; i < PARKED_THREADS; i++)
    ck_assert_int_eq(pthread_join(threads[i], NULL), 0);
  tl_test_assert_no_failure();
  ck_assert_uint_eq(tl_stats_live_dicts(), dicts);
  ck_assert_uint_eq(tl_stats_live_threads(), live_threads);
  tl_local_unref(parked.b);
  ck_assert_uint_eq(tl_stats_live_locals(), locals);
  pthread_barrier_destroy(&parked.barrier);
}
END_TEST

/* ---- introspection: thread ids ---- */

#define ID_THREADS 8
#define ID_GENERATIONS 20

typedef struct {
  TlLocal *local;
  pthread_barrier_t barrier; /* ID_THREADS: all alive at once */
  uint64_t ids[ID_THREADS];
  int next_index;
} Ids;

static void *
id_thread(void *arg)
{
  Ids *ids = arg;
  int index = __atomic_fetch_add(&ids->next_index, 1, __ATOMIC_SEQ_CST);
  uint64_t id = tl_thread_id();

  TL_CHECK(id != 0);
  TL_CHECK(tl_thread_id() == id);
  TL_CHECK(set_int32(ids->local, "k", index) == TL_OK);
  tl_thread_clear();
  TL_CHECK(tl_thread_id() == id); /* stable across a clear */
  TL_CHECK(set_int32(ids->local, "k", index) == TL_OK);
  TL_CHECK(tl_thread_id() == id);
  ids->ids[index] = id;
  pthread_barrier_wait(&ids->barrier);
  return NULL;
}

START_TEST(test_thread_ids)
{
  uint64_t main_id = tl_thread_id();
  uint64_t *seen = malloc(sizeof *seen * (ID_THREADS * ID_GENERATIONS + 1));
  size_t n_seen = 0, i, j;
  int generation;

  ck_assert_ptr_nonnull(seen);
  ck_assert_uint_ne(main_id, 0);
  ck_assert_uint_eq(tl_thread_id(), main_id);
  tl_thread_clear();
  ck_assert_uint_eq(tl_thread_id(), main_id);
  seen[n_seen++] = main_id;

  /* Unique among threads alive together, and never given again to later threads, though the
   * earlier ones have exited (and their pthread_t and stacks are reused). */
  for (generation = 0; generation < ID_GENERATIONS; generation++) {
    Ids ids;

    memset(&ids, 0, sizeof ids);
    ids.local = tl_local_new();
    pthread_barrier_init(&ids.barrier, NULL, ID_THREADS);
    tl_test_run_threads(ID_THREADS, id_thread, &ids);
    tl_test_assert_no_failure();
    for (i = 0; i < ID_THREADS; i++) {
      for (j = 0; j < n_seen; j++)
        ck_assert_msg(seen[j] != ids.ids[i], "thread id %" PRIu64 " given twice",
                      (uint64_t) ids.ids[i]);
      seen[n_seen++] = ids.ids[i];
    }
    pthread_barrier_destroy(&ids.barrier);
    tl_local_unref(ids.local);
  }
  ck_assert_uint_eq(tl_thread_id(), main_id);
  free(seen);
}
END_TEST

Suite *
named_suite(void)
{
  Suite *suite = suite_create("named");
  TCase *tcase;

  tcase = tl_test_case("named locals");
  tcase_add_test(tcase, test_open_twice_same_local);
  tcase_add_test(tcase, test_open_different_names);
  tcase_add_test(tcase, test_values_through_handles);
  tcase_add_test(tcase, test_unregister_then_open);
  tcase_add_test(tcase, test_name_errors);
  tcase_add_test(tcase, test_registry_keeps_local);
  suite_add_tcase(suite, tcase);

  tcase = tl_test_case("named races");
  tcase_add_test(tcase, test_open_race);
  tcase_add_test(tcase, test_open_unregister_race);
  suite_add_tcase(suite, tcase);

  tcase = tl_test_case("introspection");
  tcase_add_test(tcase, test_live_values_exact);
  tcase_add_test(tcase, test_live_values_across_threads);
  tcase_add_test(tcase, test_live_dicts_threads_locals);
  tcase_add_test(tcase, test_live_counts_with_threads);
  tcase_add_test(tcase, test_thread_ids);
  suite_add_tcase(suite, tcase);

  return suite;
}
