/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Context hand-off: tl_local_snapshot() of the calling thread's dictionary, tl_local_apply() of a
 * snapshot in another thread (update and replace), pointer and "h" values travelling by reference,
 * printed snapshots, all-or-nothing failures, and a thread pool applying producers' contexts. */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tl-test.h"

/* ---- helpers ---- */

/* Stores value under key and drops the caller's reference. */
static int
set_take(TlLocal *local, const char *key, TlValue *value)
{
  int status = tl_local_set(local, key, value);

  tl_value_unref(value);
  return status;
}

static TlValue *
parse(const char *type, const char *text)
{
  TlValue *value = NULL;

  TL_CHECK(tl_value_parse(type, text, &value) == TL_OK);
  return value;
}

static TlValue *
snapshot_of(TlLocal *local)
{
  TlValue *snapshot = NULL;

  TL_CHECK(tl_local_snapshot(local, &snapshot) == TL_OK);
  TL_CHECK(snapshot != NULL);
  return snapshot;
}

static int
print_is(const TlValue *value, const char *expected)
{
  char *text = tl_value_print(value, 0);
  int same = text != NULL && strcmp(text, expected) == 0;

  if (!same)
    fprintf(stderr, "printed %s, expected %s\n", text != NULL ? text : "(null)", expected);
  tl_free(text);
  return same;
}

static int
string_is(const TlValue *value, const char *expected)
{
  const char *string = NULL;

  return tl_value_get_string(value, &string) == TL_OK && strcmp(string, expected) == 0;
}

static size_t
n_children(const TlValue *value)
{
  size_t n = 12345;

  TL_CHECK(tl_value_n_children(value, &n) == TL_OK);
  return n;
}

/* 1 if the calling thread's keys of local are expected[0..n), in that order. */
static int
keys_are(TlLocal *local, const char *const *expected, size_t n)
{
  char **keys = NULL;
  size_t n_keys = 0, i;
  int same;

  if (tl_local_keys(local, &keys, &n_keys) != TL_OK)
    return 0;
  same = n_keys == n;
  for (i = 0; same && i < n; i++)
    same = strcmp(keys[i], expected[i]) == 0;
  if (!same) {
    fprintf(stderr, "keys:");
    for (i = 0; i < n_keys; i++)
      fprintf(stderr, " %s", keys[i]);
    fprintf(stderr, "\n");
  }
  tl_strv_free(keys);
  return same;
}

/* 1 if the calling thread's dictionary of local holds exactly what snapshot holds: the same keys
 * in the same order, values equal, and the very same values where the snapshot carries them by
 * reference (pointer and "h" values). */
static int
dict_matches(TlLocal *local, const TlValue *snapshot)
{
  size_t n = n_children(snapshot), i, size = 0;
  int ok = tl_local_size(local, &size) == TL_OK && size == n;

  for (i = 0; ok && i < n; i++) {
    TlValue *entry = NULL, *key = NULL, *expected = NULL, *actual;
    const char *name = NULL;

    ok = tl_value_get_child(snapshot, i, &entry) == TL_OK &&
         tl_value_get_child(entry, 0, &key) == TL_OK && tl_value_get_string(key, &name) == TL_OK &&
         tl_value_lookup(snapshot, name, &expected) == TL_OK;
    if (ok) {
      char **keys = NULL;

      actual = tl_local_peek(local, name);
      ok = actual != NULL && tl_value_equal(actual, expected) == 1;
      if (ok &&
          (strcmp(tl_value_type(expected), "p") == 0 || strcmp(tl_value_type(expected), "h") == 0))
        ok = actual == expected;
      ok = ok && tl_local_keys(local, &keys, NULL) == TL_OK && strcmp(keys[i], name) == 0;
      tl_strv_free(keys);
    }
    tl_value_unref(expected);
    tl_value_unref(key);
    tl_value_unref(entry);
  }
  return ok;
}

/* A pointer value counting its destruction into *counter. */
static TlValue *
counted_pointer(int *counter)
{
  return tl_value_new_pointer(counter, tl_test_count_destroy);
}

static int
count_of(int *counter)
{
  return __atomic_load_n(counter, __ATOMIC_SEQ_CST);
}

/* ---- snapshots ---- */

START_TEST(test_snapshot_contents_and_order)
{
  static const char *const order[] = {"a", "c", "bytes", "arr", "b"};
  TlLocal *local = tl_local_new();
  TlValue *snapshot, *out = NULL;
  size_t i;

  ck_assert_int_eq(set_take(local, "b", tl_value_new_int32(1)), TL_OK);
  ck_assert_int_eq(set_take(local, "a", tl_value_new_string("x")), TL_OK);
  ck_assert_int_eq(set_take(local, "c", tl_value_new_double(2.5)), TL_OK);
  ck_assert_int_eq(set_take(local, "bytes", tl_value_new_bytes("\0\1", 2)), TL_OK);
  ck_assert_int_eq(set_take(local, "arr", parse("ai", "[1, 2]")), TL_OK);
  ck_assert_int_eq(tl_local_delete(local, "b"), TL_OK);
  ck_assert_int_eq(set_take(local, "b", tl_value_new_int32(3)), TL_OK);    /* now last */
  ck_assert_int_eq(set_take(local, "a", tl_value_new_string("y")), TL_OK); /* keeps its place */

  snapshot = snapshot_of(local);
  ck_assert_str_eq(tl_value_type(snapshot), "a{sv}");
  ck_assert_uint_eq(n_children(snapshot), N_ELEMENTS(order));
  for (i = 0; i < N_ELEMENTS(order); i++) {
    TlValue *entry = NULL, *key = NULL, *boxed = NULL, *value = NULL;

    ck_assert_int_eq(tl_value_get_child(snapshot, i, &entry), TL_OK);
    ck_assert_str_eq(tl_value_type(entry), "{sv}");
    ck_assert_int_eq(tl_value_get_child(entry, 0, &key), TL_OK);
    ck_assert(string_is(key, order[i]));
    ck_assert_int_eq(tl_value_get_child(entry, 1, &boxed), TL_OK);
    ck_assert_str_eq(tl_value_type(boxed), "v");
    ck_assert_int_eq(tl_value_get_child(boxed, 0, &value), TL_OK);
    ck_assert_int_eq(tl_value_equal(value, tl_local_peek(local, order[i])), 1);
    ck_assert_int_eq(tl_value_lookup(snapshot, order[i], &out), TL_OK);
    ck_assert_int_eq(tl_value_equal(out, value), 1);
    tl_value_unref(out);
    tl_value_unref(value);
    tl_value_unref(boxed);
    tl_value_unref(key);
    tl_value_unref(entry);
  }
  ck_assert(dict_matches(local, snapshot));

  /* A snapshot is a value of its own: later changes to the dictionary do not reach it. */
  ck_assert_int_eq(set_take(local, "a", tl_value_new_string("z")), TL_OK);
  ck_assert_int_eq(tl_local_delete(local, "c"), TL_OK);
  ck_assert_int_eq(set_take(local, "new", tl_value_new_int32(0)), TL_OK);
  ck_assert_int_eq(tl_value_lookup(snapshot, "a", &out), TL_OK);
  ck_assert(string_is(out, "y"));
  tl_value_unref(out);
  ck_assert_int_eq(tl_value_lookup(snapshot, "c", &out), TL_OK);
  tl_value_unref(out);
  ck_assert_int_eq(tl_value_lookup(snapshot, "new", &out), TL_ERR_NOT_FOUND);
  ck_assert_ptr_null(out);
  ck_assert_uint_eq(n_children(snapshot), N_ELEMENTS(order));
  tl_value_unref(snapshot);

  /* Printed, in insertion order. */
  ck_assert_int_eq(tl_local_clear(local), TL_OK);
  ck_assert_int_eq(set_take(local, "n", tl_value_new_int32(1)), TL_OK);
  ck_assert_int_eq(set_take(local, "s", tl_value_new_string("x")), TL_OK);
  ck_assert_int_eq(set_take(local, "x", tl_value_new_int64(5)), TL_OK);
  snapshot = snapshot_of(local);
  ck_assert(print_is(snapshot, "{'n': <1>, 's': <'x'>, 'x': <int64 5>}"));
  tl_value_unref(snapshot);
  tl_test_assert_no_failure();
  tl_local_unref(local);
}
END_TEST

static void
assert_empty_snapshot(TlLocal *local)
{
  TlValue *snapshot = snapshot_of(local);

  ck_assert_ptr_nonnull(snapshot);
  ck_assert_str_eq(tl_value_type(snapshot), "a{sv}");
  ck_assert_uint_eq(n_children(snapshot), 0);
  ck_assert(print_is(snapshot, "{}"));
  tl_value_unref(snapshot);
}

static void *
empty_snapshot_thread(void *arg)
{
  TlLocal *local = arg;
  TlValue *snapshot = NULL;

  /* A thread that never used the library. */
  TL_CHECK(tl_local_snapshot(local, &snapshot) == TL_OK);
  TL_CHECK(snapshot != NULL && strcmp(tl_value_type(snapshot), "a{sv}") == 0);
  TL_CHECK(snapshot != NULL && n_children(snapshot) == 0);
  tl_value_unref(snapshot);
  return NULL;
}

START_TEST(test_snapshot_empty)
{
  TlLocal *local = tl_local_new();
  size_t dicts = tl_stats_live_dicts();

  assert_empty_snapshot(local);
  ck_assert_uint_eq(tl_stats_live_dicts(), dicts); /* reading makes no dictionary */
  tl_test_run_threads(2, empty_snapshot_thread, local);
  tl_test_assert_no_failure();

  /* An existing but empty dictionary, and one freed by tl_thread_clear(). */
  ck_assert_int_eq(set_take(local, "k", tl_value_new_int32(1)), TL_OK);
  ck_assert_int_eq(tl_local_delete(local, "k"), TL_OK);
  assert_empty_snapshot(local);
  ck_assert_int_eq(set_take(local, "k", tl_value_new_int32(1)), TL_OK);
  tl_thread_clear();
  assert_empty_snapshot(local);
  ck_assert_uint_eq(tl_stats_live_dicts(), dicts);
  tl_local_unref(local);
}
END_TEST

START_TEST(test_snapshot_errors)
{
  TlLocal *local = tl_local_new();
  TlValue *out = (TlValue *) 1;

  ck_assert_int_eq(tl_local_snapshot(local, NULL), TL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(tl_last_error(), TL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(tl_local_snapshot(NULL, &out), TL_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_null(out);
  ck_assert_int_eq(tl_local_snapshot(NULL, NULL), TL_ERR_INVALID_ARGUMENT);
  tl_local_unref(local);
}
END_TEST

/* A snapshot is one new value; what it carries by reference is not copied. */
START_TEST(test_snapshot_value_count)
{
  TlLocal *local = tl_local_new();
  TlValue *snapshot, *out = NULL;
  int destroyed = 0;
  size_t values;

  ck_assert_int_eq(set_take(local, "p", counted_pointer(&destroyed)), TL_OK);
  /* Made by its typed constructor: a "h" with no GVariant yet travels by reference too. */
  ck_assert_int_eq(set_take(local, "fd", tl_value_new_handle(3)), TL_OK);
  ck_assert_int_eq(set_take(local, "n", tl_value_new_int32(1)), TL_OK);
  values = tl_stats_live_values();
  snapshot = snapshot_of(local);
  ck_assert_uint_eq(tl_stats_live_values(), values + 1);
  ck_assert_int_eq(tl_value_lookup(snapshot, "p", &out), TL_OK); /* the carried value itself */
  ck_assert_uint_eq(tl_stats_live_values(), values + 1);
  tl_value_unref(out);
  ck_assert_int_eq(tl_value_lookup(snapshot, "fd", &out), TL_OK);
  ck_assert_ptr_eq(out, tl_local_peek(local, "fd"));
  tl_value_unref(out);
  ck_assert_int_eq(tl_value_lookup(snapshot, "n", &out), TL_OK);
  ck_assert_uint_eq(tl_stats_live_values(), values + 2);
  tl_value_unref(out);
  tl_value_unref(snapshot);
  ck_assert_uint_eq(tl_stats_live_values(), values);
  ck_assert_int_eq(destroyed, 0);
  tl_local_unref(local);
  ck_assert_int_eq(destroyed, 1);
  ck_assert_uint_eq(tl_stats_live_values(), values - 3);
}
END_TEST

/* ---- hand-off between threads ---- */

typedef struct {
  TlLocal *local;
  int destroyed;
  TlValue *pointer; /* the producer's pointer value, kept alive by the snapshot */
  TlValue *handle;  /* the producer's "h" value */
  TlValue *snapshot;
  int mode;
} Handoff;

static void *
producer_thread(void *arg)
{
  Handoff *handoff = arg;

  handoff->pointer = counted_pointer(&handoff->destroyed);
  handoff->handle = parse(NULL, "handle 7");
  TL_CHECK(set_take(handoff->local, "user", tl_value_new_string("alice")) == TL_OK);
  TL_CHECK(set_take(handoff->local, "request", tl_value_new_int64(42)) == TL_OK);
  TL_CHECK(set_take(handoff->local, "shared", tl_value_new_string("producer")) == TL_OK);
  TL_CHECK(set_take(handoff->local, "p", handoff->pointer) == TL_OK);
  TL_CHECK(set_take(handoff->local, "fd", handoff->handle) == TL_OK);
  handoff->snapshot = snapshot_of(handoff->local);
  return NULL; /* its dictionary goes with it; the snapshot keeps p and fd alive */
}

static void *
worker_thread(void *arg)
{
  static const char *const updated[] = {"own", "shared", "user", "request", "p", "fd"};
  static const char *const replaced[] = {"user", "request", "shared", "p", "fd"};
  Handoff *handoff = arg;
  TlValue *value, *mine;
  void *ptr = NULL;

  TL_CHECK(set_take(handoff->local, "own", tl_value_new_int32(1)) == TL_OK);
  TL_CHECK(set_take(handoff->local, "shared", tl_value_new_string("worker")) == TL_OK);
  TL_CHECK(tl_local_apply(handoff->local, handoff->snapshot, handoff->mode) == TL_OK);

  if (handoff->mode == TL_APPLY_UPDATE) {
    /* dict.update(): its own keys stay, same-named ones are overwritten in place, new ones come
     * after in the snapshot's order. */
    TL_CHECK(keys_are(handoff->local, updated, N_ELEMENTS(updated)));
    value = tl_local_peek(handoff->local, "own");
    TL_CHECK(value != NULL && tl_value_get_int32(value, &(int32_t){0}) == TL_OK);
  } else {
    TL_CHECK(keys_are(handoff->local, replaced, N_ELEMENTS(replaced)));
    TL_CHECK(tl_local_contains(handoff->local, "own") == 0);
  }
  TL_CHECK(string_is(tl_local_peek(handoff->local, "shared"), "producer"));
  TL_CHECK(string_is(tl_local_peek(handoff->local, "user"), "alice"));

  /* By reference: the very same values, pointer included. */
  value = tl_local_peek(handoff->local, "p");
  TL_CHECK(value == handoff->pointer);
  TL_CHECK(tl_value_get_pointer(value, &ptr) == TL_OK && ptr == &handoff->destroyed);
  TL_CHECK(tl_local_peek(handoff->local, "fd") == handoff->handle);
  TL_CHECK(strcmp(tl_value_type(tl_local_peek(handoff->local, "fd")), "h") == 0);
  TL_CHECK(count_of(&handoff->destroyed) == 0);

  if (handoff->mode == TL_APPLY_REPLACE) {
    /* The worker's dictionary is now the snapshot: its own snapshot prints the same. */
    char *theirs = tl_value_print(handoff->snapshot, 1), *ours;

    TL_CHECK(dict_matches(handoff->local, handoff->snapshot));
    mine = snapshot_of(handoff->local);
    ours = tl_value_print(mine, 1);
    TL_CHECK(strcmp(theirs, ours) == 0);
    tl_free(theirs);
    tl_free(ours);
    tl_value_unref(mine);
  }
  return NULL;
}

START_TEST(test_handoff_update_and_replace)
{
  int mode;

  for (mode = TL_APPLY_UPDATE; mode <= TL_APPLY_REPLACE; mode++) {
    Handoff handoff;
    TlValue *out = NULL;

    memset(&handoff, 0, sizeof handoff);
    handoff.local = tl_local_new();
    handoff.mode = mode;
    tl_test_run_threads(1, producer_thread, &handoff);
    tl_test_assert_no_failure();
    ck_assert_ptr_nonnull(handoff.snapshot);
    ck_assert_int_eq(count_of(&handoff.destroyed), 0);
    ck_assert(print_is(handoff.snapshot, "{'user': <'alice'>, 'request': <int64 42>, "
                                         "'shared': <'producer'>, 'p': <handle 0>, "
                                         "'fd': <handle 1>}"));

    /* Two workers in turn, each starting with its own keys. */
    tl_test_run_threads(1, worker_thread, &handoff);
    tl_test_run_threads(1, worker_thread, &handoff);
    tl_test_assert_no_failure();
    ck_assert_int_eq(count_of(&handoff.destroyed), 0); /* the snapshot still has it */

    /* And the runner thread, into its own dictionary. */
    ck_assert_int_eq(tl_local_apply(handoff.local, handoff.snapshot, TL_APPLY_UPDATE), TL_OK);
    ck_assert_ptr_eq(tl_local_peek(handoff.local, "p"), handoff.pointer);
    ck_assert_int_eq(tl_value_lookup(handoff.snapshot, "fd", &out), TL_OK);
    ck_assert_ptr_eq(out, handoff.handle);
    tl_value_unref(out);
    tl_value_unref(handoff.snapshot);
    ck_assert_int_eq(count_of(&handoff.destroyed), 0);
    ck_assert_int_eq(tl_local_delete(handoff.local, "p"), TL_OK);
    ck_assert_int_eq(count_of(&handoff.destroyed), 1);
    tl_local_unref(handoff.local);
  }
}
END_TEST

/* The three references to a pointer value that a hand-off makes: the producer's dictionary, the
 * snapshot, the worker's dictionary. The destroy function runs once, when the last goes, in every
 * order of the three. */
typedef struct {
  TlLocal *local;
  int destroyed;
  TlValue *snapshot;
  TlValue *pointer;
  sem_t ready, release_producer, release_worker;
} Lifetime;

static void *
lifetime_producer(void *arg)
{
  Lifetime *lifetime = arg;

  lifetime->pointer = counted_pointer(&lifetime->destroyed);
  TL_CHECK(tl_local_set(lifetime->local, "p", lifetime->pointer) == TL_OK);
  tl_value_unref(lifetime->pointer); /* the dictionary's reference is the producer's */
  lifetime->snapshot = snapshot_of(lifetime->local);
  sem_post(&lifetime->ready);
  sem_wait(&lifetime->release_producer);
  TL_CHECK(tl_local_peek(lifetime->local, "p") == lifetime->pointer);
  return NULL; /* the exit drops the producer's reference */
}

static void *
lifetime_worker(void *arg)
{
  Lifetime *lifetime = arg;

  TL_CHECK(tl_local_apply(lifetime->local, lifetime->snapshot, TL_APPLY_UPDATE) == TL_OK);
  TL_CHECK(tl_local_peek(lifetime->local, "p") == lifetime->pointer);
  sem_post(&lifetime->ready);
  sem_wait(&lifetime->release_worker);
  TL_CHECK(tl_local_peek(lifetime->local, "p") == lifetime->pointer);
  return NULL; /* the exit drops the worker's reference */
}

START_TEST(test_pointer_lifetime)
{
  enum { PRODUCER, SNAPSHOT, WORKER };
  static const int orders[6][3] = {
      {PRODUCER, SNAPSHOT, WORKER}, {PRODUCER, WORKER, SNAPSHOT}, {SNAPSHOT, PRODUCER, WORKER},
      {SNAPSHOT, WORKER, PRODUCER}, {WORKER, PRODUCER, SNAPSHOT}, {WORKER, SNAPSHOT, PRODUCER},
  };
  size_t order;

  for (order = 0; order < N_ELEMENTS(orders); order++) {
    Lifetime lifetime;
    pthread_t producer, worker;
    int step;

    memset(&lifetime, 0, sizeof lifetime);
    lifetime.local = tl_local_new();
    sem_init(&lifetime.ready, 0, 0);
    sem_init(&lifetime.release_producer, 0, 0);
    sem_init(&lifetime.release_worker, 0, 0);
    ck_assert_int_eq(pthread_create(&producer, NULL, lifetime_producer, &lifetime), 0);
    sem_wait(&lifetime.ready);
    ck_assert_int_eq(pthread_create(&worker, NULL, lifetime_worker, &lifetime), 0);
    sem_wait(&lifetime.ready);
    ck_assert_int_eq(count_of(&lifetime.destroyed), 0);

    for (step = 0; step < 3; step++) {
      switch (orders[order][step]) {
      case PRODUCER:
        sem_post(&lifetime.release_producer);
        ck_assert_int_eq(pthread_join(producer, NULL), 0);
        break;
      case WORKER:
        sem_post(&lifetime.release_worker);
        ck_assert_int_eq(pthread_join(worker, NULL), 0);
        break;
      default: tl_value_unref(lifetime.snapshot); break;
      }
      ck_assert_msg(count_of(&lifetime.destroyed) == (step == 2 ? 1 : 0),
                    "order %zu step %d: destroyed %d times", order, step,
                    count_of(&lifetime.destroyed));
    }
    tl_test_assert_no_failure();
    sem_destroy(&lifetime.ready);
    sem_destroy(&lifetime.release_producer);
    sem_destroy(&lifetime.release_worker);
    tl_local_unref(lifetime.local);
  }
}
END_TEST

START_TEST(test_handle_values_round_trip)
{
  Handoff handoff;
  TlValue *h7 = parse("h", "7"), *out = NULL;

  memset(&handoff, 0, sizeof handoff);
  handoff.local = tl_local_new();
  handoff.mode = TL_APPLY_REPLACE;
  tl_test_run_threads(1, producer_thread, &handoff);
  ck_assert_str_eq(tl_value_type(handoff.handle), "h");
  ck_assert_int_eq(tl_value_equal(handoff.handle, h7), 1);

  /* A snapshot whose only carried value is a "h" one. */
  ck_assert_int_eq(set_take(handoff.local, "fd", tl_value_new_int32(0)), TL_OK);
  ck_assert_int_eq(tl_local_set(handoff.local, "fd", h7), TL_OK);
  ck_assert_int_eq(set_take(handoff.local, "n", tl_value_new_int32(1)), TL_OK);
  {
    TlValue *snapshot = snapshot_of(handoff.local);

    ck_assert(print_is(snapshot, "{'fd': <handle 0>, 'n': <1>}"));
    ck_assert_int_eq(tl_value_lookup(snapshot, "fd", &out), TL_OK);
    ck_assert_ptr_eq(out, h7);
    tl_value_unref(out);
    ck_assert_int_eq(tl_local_clear(handoff.local), TL_OK);
    ck_assert_int_eq(tl_local_apply(handoff.local, snapshot, TL_APPLY_UPDATE), TL_OK);
    ck_assert_ptr_eq(tl_local_peek(handoff.local, "fd"), h7);
    tl_value_unref(snapshot);
  }
  ck_assert_ptr_eq(tl_local_peek(handoff.local, "fd"), h7);

  /* And across threads, next to a pointer value. */
  tl_test_run_threads(1, worker_thread, &handoff);
  tl_test_assert_no_failure();
  tl_value_unref(handoff.snapshot);
  tl_value_unref(h7);
  tl_local_unref(handoff.local);
  ck_assert_int_eq(handoff.destroyed, 1);
}
END_TEST

/* ---- printed snapshots, parsed text, wrong input ---- */

START_TEST(test_printed_snapshot_does_not_apply)
{
  static const char *const before[] = {"x", "a"};
  static const char printed[] = "{'a': <1>, 'p': <handle 0>, 'fd': <handle 1>}";
  TlLocal *producer = tl_local_new(), *target = tl_local_new();
  TlValue *snapshot, *parsed, *x, *a;
  int destroyed = 0, mode;
  size_t values, dicts;

  ck_assert_int_eq(set_take(producer, "a", tl_value_new_int32(1)), TL_OK);
  ck_assert_int_eq(set_take(producer, "p", counted_pointer(&destroyed)), TL_OK);
  ck_assert_int_eq(set_take(producer, "fd", parse(NULL, "handle 9")), TL_OK);
  snapshot = snapshot_of(producer);
  ck_assert(print_is(snapshot, printed));
  parsed = parse("a{sv}", printed);

  ck_assert_int_eq(set_take(target, "x", tl_value_new_int32(5)), TL_OK);
  ck_assert_int_eq(set_take(target, "a", tl_value_new_int32(9)), TL_OK);
  x = tl_local_peek(target, "x");
  a = tl_local_peek(target, "a");
  values = tl_stats_live_values();

  /* The text names handles it does not carry: nothing is applied, in either mode, not even the
   * plain "a" that comes before them. */
  for (mode = TL_APPLY_UPDATE; mode <= TL_APPLY_REPLACE; mode++) {
    ck_assert_int_eq(tl_local_apply(target, parsed, mode), TL_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(tl_last_error(), TL_ERR_INVALID_ARGUMENT);
    ck_assert_str_ne(tl_last_error_message(), "");
    ck_assert(keys_are(target, before, N_ELEMENTS(before)));
    ck_assert_ptr_eq(tl_local_peek(target, "x"), x);
    ck_assert_ptr_eq(tl_local_peek(target, "a"), a);
    ck_assert_uint_eq(tl_stats_live_values(), values); /* nothing half-made is left over */
  }

  /* A thread with no dictionary gets none from a failed apply. */
  tl_thread_clear();
  dicts = tl_stats_live_dicts();
  ck_assert_int_eq(tl_local_apply(target, parsed, TL_APPLY_REPLACE), TL_ERR_INVALID_ARGUMENT);
  ck_assert_uint_eq(tl_stats_live_dicts(), dicts);
  ck_assert_int_eq(destroyed, 0);

  /* The snapshot itself, which does carry them, applies. */
  ck_assert_int_eq(tl_local_apply(target, snapshot, TL_APPLY_REPLACE), TL_OK);
  ck_assert(dict_matches(target, snapshot));
  tl_value_unref(parsed);
  tl_value_unref(snapshot);
  ck_assert_int_eq(destroyed, 0);
  tl_thread_clear();
  ck_assert_int_eq(destroyed, 1);
  tl_test_assert_no_failure();
  tl_local_unref(producer);
  tl_local_unref(target);
}
END_TEST

START_TEST(test_apply_parsed_text)
{
  static const char *const updated[] = {"c", "a", "b"};
  static const char *const replaced[] = {"a", "b"};
  static const char *const nested[] = {"t", "arr", "v", "none"};
  TlLocal *local = tl_local_new();
  TlValue *plain = parse(NULL, "{'a': <1>, 'b': <'x'>}"), *empty = parse(NULL, "@a{sv} {}");
  TlValue *deep = parse(NULL, "{'t': <(1, 'x')>, 'arr': <[1, 2]>, 'v': <<int64 5>>, "
                              "'none': <@mi nothing>}");
  int32_t number = 0;

  ck_assert_str_eq(tl_value_type(plain), "a{sv}");
  ck_assert_int_eq(set_take(local, "c", tl_value_new_int32(3)), TL_OK);
  ck_assert_int_eq(set_take(local, "a", tl_value_new_int32(0)), TL_OK);
  ck_assert_int_eq(tl_local_apply(local, plain, TL_APPLY_UPDATE), TL_OK);
  ck_assert(keys_are(local, updated, N_ELEMENTS(updated)));
  ck_assert_int_eq(tl_value_get_int32(tl_local_peek(local, "a"), &number), TL_OK);
  ck_assert_int_eq(number, 1);
  ck_assert(string_is(tl_local_peek(local, "b"), "x"));
  ck_assert_int_eq(tl_value_get_int32(tl_local_peek(local, "c"), &number), TL_OK);
  ck_assert_int_eq(number, 3);

  ck_assert_int_eq(tl_local_apply(local, plain, TL_APPLY_REPLACE), TL_OK);
  ck_assert(keys_are(local, replaced, N_ELEMENTS(replaced)));
  ck_assert(dict_matches(local, plain));

  /* An empty snapshot: update changes nothing, replace empties the dictionary. */
  ck_assert_int_eq(tl_local_apply(local, empty, TL_APPLY_UPDATE), TL_OK);
  ck_assert(keys_are(local, replaced, N_ELEMENTS(replaced)));
  ck_assert_int_eq(tl_local_apply(local, empty, TL_APPLY_REPLACE), TL_OK);
  ck_assert(keys_are(local, NULL, 0));

  /* Values come out unboxed one level, whatever they are, a variant included. */
  ck_assert_int_eq(tl_local_apply(local, deep, TL_APPLY_REPLACE), TL_OK);
  ck_assert(keys_are(local, nested, N_ELEMENTS(nested)));
  ck_assert_str_eq(tl_value_type(tl_local_peek(local, "t")), "(is)");
  ck_assert_str_eq(tl_value_type(tl_local_peek(local, "arr")), "ai");
  ck_assert_str_eq(tl_value_type(tl_local_peek(local, "v")), "v");
  ck_assert_str_eq(tl_value_type(tl_local_peek(local, "none")), "mi");
  ck_assert(dict_matches(local, deep));

  /* And a dictionary built with tl_value_new_vardict(). */
  {
    const char *keys[] = {"k"};
    TlValue *item = tl_value_new_int32(8);
    TlValue *built = tl_value_new_vardict(keys, &item, 1);

    ck_assert_int_eq(tl_local_apply(local, built, TL_APPLY_REPLACE), TL_OK);
    ck_assert(dict_matches(local, built));
    tl_value_unref(built);
    tl_value_unref(item);
  }
  tl_test_assert_no_failure();
  tl_value_unref(plain);
  tl_value_unref(empty);
  tl_value_unref(deep);
  tl_local_unref(local);
}
END_TEST

START_TEST(test_apply_wrong_type)
{
  static const char *const types[][2] = {
      {"a{ss}", "{'a': 'x'}"}, {"i", "5"},
      {"as", "['a']"},         {"a{si}", "{'a': 1}"},
      {"v", "<{'a': <1>}>"},   {"(a{sv})", "({'a': <1>},)"},
      {"a{sv}", "@a{sv} {}"},
  };
  static const char *const before[] = {"k"};
  TlLocal *local = tl_local_new(), *untouched = tl_local_new();
  int destroyed = 0;
  size_t i, dicts;

  ck_assert_int_eq(set_take(local, "k", tl_value_new_int32(1)), TL_OK);
  dicts = tl_stats_live_dicts();
  for (i = 0; i < N_ELEMENTS(types); i++) {
    TlValue *value = parse(types[i][0], types[i][1]);
    int expected = strcmp(types[i][0], "a{sv}") == 0 ? TL_OK : TL_ERR_WRONG_TYPE;

    ck_assert_ptr_nonnull(value);
    ck_assert_int_eq(tl_local_apply(local, value, TL_APPLY_UPDATE), expected);
    ck_assert_int_eq(tl_local_apply(local, value, TL_APPLY_REPLACE),
                     expected == TL_OK ? TL_OK : TL_ERR_WRONG_TYPE);
    if (expected != TL_OK) {
      ck_assert_int_eq(tl_last_error(), TL_ERR_WRONG_TYPE);
      ck_assert(keys_are(local, before, 1));
      ck_assert_int_eq(tl_local_apply(untouched, value, TL_APPLY_REPLACE), TL_ERR_WRONG_TYPE);
    }
    tl_value_unref(value);
  }
  ck_assert(keys_are(local, NULL, 0)); /* the empty a{sv}, replaced */
  ck_assert_int_eq(set_take(local, "k", tl_value_new_int32(1)), TL_OK);

  /* A pointer value is no "a{sv}" either; it is not destroyed by the failed apply. */
  {
    TlValue *pointer = counted_pointer(&destroyed);

    ck_assert_int_eq(tl_local_apply(local, pointer, TL_APPLY_UPDATE), TL_ERR_WRONG_TYPE);
    ck_assert_int_eq(tl_local_apply(local, pointer, TL_APPLY_REPLACE), TL_ERR_WRONG_TYPE);
    ck_assert(keys_are(local, before, 1));
    ck_assert_int_eq(destroyed, 0);
    tl_value_unref(pointer);
    ck_assert_int_eq(destroyed, 1);
  }
  ck_assert_uint_eq(tl_stats_live_dicts(), dicts); /* untouched never got one */
  tl_test_assert_no_failure();
  tl_local_unref(local);
  tl_local_unref(untouched);
}
END_TEST

START_TEST(test_apply_invalid_arguments)
{
  static const char *const before[] = {"k"};
  static const int modes[] = {2, -1, 99, 1 << 30};
  TlLocal *local = tl_local_new();
  TlValue *snapshot = parse(NULL, "{'a': <1>}");
  size_t i;

  ck_assert_int_eq(set_take(local, "k", tl_value_new_int32(1)), TL_OK);
  for (i = 0; i < N_ELEMENTS(modes); i++) {
    ck_assert_int_eq(tl_local_apply(local, snapshot, modes[i]), TL_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(tl_last_error(), TL_ERR_INVALID_ARGUMENT);
    ck_assert(keys_are(local, before, 1));
  }
  ck_assert_int_eq(tl_local_apply(NULL, snapshot, TL_APPLY_UPDATE), TL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(tl_local_apply(local, NULL, TL_APPLY_UPDATE), TL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(tl_local_apply(local, NULL, TL_APPLY_REPLACE), TL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(tl_local_apply(NULL, NULL, TL_APPLY_UPDATE), TL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(tl_last_error(), TL_ERR_INVALID_ARGUMENT);
  ck_assert(keys_are(local, before, 1));
  tl_test_assert_no_failure();
  tl_value_unref(snapshot);
  tl_local_unref(local);
}
END_TEST

START_TEST(test_lookup_resolves_handles)
{
  TlLocal *local = tl_local_new();
  TlValue *pointer, *handle = parse(NULL, "handle 4"), *snapshot, *out = (TlValue *) 1;
  int destroyed = 0;
  int32_t number = 0;

  pointer = counted_pointer(&destroyed);
  ck_assert_int_eq(tl_local_set(local, "p", pointer), TL_OK);
  ck_assert_int_eq(tl_local_set(local, "fd", handle), TL_OK);
  ck_assert_int_eq(set_take(local, "n", tl_value_new_int32(6)), TL_OK);
  snapshot = snapshot_of(local);
  ck_assert_int_eq(tl_local_clear(local), TL_OK); /* the snapshot carries them on its own */

  ck_assert_int_eq(tl_value_lookup(snapshot, "p", &out), TL_OK);
  ck_assert_ptr_eq(out, pointer);
  tl_value_unref(out);
  ck_assert_int_eq(tl_value_lookup(snapshot, "fd", &out), TL_OK);
  ck_assert_ptr_eq(out, handle);
  ck_assert_str_eq(tl_value_type(out), "h");
  tl_value_unref(out);
  ck_assert_int_eq(tl_value_lookup(snapshot, "n", &out), TL_OK);
  ck_assert_int_eq(tl_value_get_int32(out, &number), TL_OK);
  ck_assert_int_eq(number, 6);
  tl_value_unref(out);
  ck_assert_int_eq(tl_value_lookup(snapshot, "q", &out), TL_ERR_NOT_FOUND);
  ck_assert_ptr_null(out);
  ck_assert_int_eq(tl_value_lookup(snapshot, NULL, &out), TL_ERR_INVALID_KEY);
  ck_assert_int_eq(tl_value_lookup(snapshot, "\xff", &out), TL_ERR_INVALID_KEY);

  tl_value_unref(pointer);
  tl_value_unref(handle);
  ck_assert_int_eq(destroyed, 0);
  tl_value_unref(snapshot);
  ck_assert_int_eq(destroyed, 1);
  tl_local_unref(local);
}
END_TEST

/* Snapshots are compared by what they carry: two that would apply different pointer values (or
 * one that carries a pointer and the parsed text of its print, which carries nothing and cannot
 * be applied) are not equal, or tl_value_equal() cannot tell contexts apart. */
START_TEST(test_snapshot_equality_sees_carried_values)
{
  TlLocal *local = tl_local_new();
  int first = 0, second = 0;
  TlValue *a, *b, *again, *parsed;
  char *text;
  int different, unappliable;

  ck_assert_int_eq(set_take(local, "p", tl_value_new_pointer(&first, NULL)), TL_OK);
  a = snapshot_of(local);
  again = snapshot_of(local);
  ck_assert_int_eq(tl_value_equal(a, again), 1);
  ck_assert_int_eq(set_take(local, "p", tl_value_new_pointer(&second, NULL)), TL_OK);
  b = snapshot_of(local);
  text = tl_value_print(a, 1);
  parsed = parse("a{sv}", text);
  tl_free(text);

  ck_assert_int_eq(tl_local_apply(local, parsed, TL_APPLY_UPDATE), TL_ERR_INVALID_ARGUMENT);
  different = tl_value_equal(a, b);
  unappliable = tl_value_equal(a, parsed);
  /* Released before asserting, so a failure leaks nothing under valgrind or ASan. */
  tl_value_unref(a);
  tl_value_unref(b);
  tl_value_unref(again);
  tl_value_unref(parsed);
  tl_local_unref(local);
  ck_assert_msg(different == 0, "snapshots carrying different pointer values compare equal");
  ck_assert_msg(
      unappliable == 0,
      "a snapshot compares equal to the parsed text of its print, which cannot be applied");
}
END_TEST

/* A snapshot has no key listing of its own: a program walks it, or an exit hook's contents, with
 * tl_value_n_children() and tl_value_get_child(). The walk (entry, its child 1, that variant's
 * child 0) ends at the very value tl_value_lookup() gives where the snapshot carries it (pointer
 * and "h" values), not at the snapshot's internal <handle N>, and at an equal one elsewhere. */
START_TEST(test_snapshot_walk_gives_carried_values)
{
  static const char *const keys[] = {"obj", "fd", "n", "parsed-fd", "s", "arr"};
  static int object;
  TlLocal *local = tl_local_new();
  TlValue *snapshot;
  size_t i;

  ck_assert_int_eq(set_take(local, "obj", tl_value_new_pointer(&object, NULL)), TL_OK);
  ck_assert_int_eq(set_take(local, "fd", tl_value_new_handle(42)), TL_OK);
  ck_assert_int_eq(set_take(local, "n", tl_value_new_int32(7)), TL_OK);
  ck_assert_int_eq(set_take(local, "parsed-fd", parse(NULL, "handle 9")), TL_OK);
  ck_assert_int_eq(set_take(local, "s", tl_value_new_string("x")), TL_OK);
  ck_assert_int_eq(set_take(local, "arr", parse(NULL, "[<handle 1>]")), TL_OK);
  snapshot = snapshot_of(local);
  ck_assert_uint_eq(n_children(snapshot), N_ELEMENTS(keys));
  for (i = 0; i < N_ELEMENTS(keys); i++) {
    TlValue *entry = NULL, *key = NULL, *boxed = NULL, *walked = NULL, *looked_up = NULL;
    const char *type;

    ck_assert_int_eq(tl_value_get_child(snapshot, i, &entry), TL_OK);
    ck_assert_int_eq(tl_value_get_child(entry, 0, &key), TL_OK);
    ck_assert(string_is(key, keys[i]));
    ck_assert_int_eq(tl_value_get_child(entry, 1, &boxed), TL_OK);
    ck_assert_str_eq(tl_value_type(boxed), "v");
    ck_assert_int_eq(tl_value_get_child(boxed, 0, &walked), TL_OK);
    ck_assert_int_eq(tl_value_lookup(snapshot, keys[i], &looked_up), TL_OK);
    type = tl_value_type(looked_up);
    ck_assert_msg(tl_value_equal(walked, looked_up) == 1, "'%s': walked to %s, looked up %s",
                  keys[i], tl_value_type(walked), type);
    if (strcmp(type, "p") == 0 || strcmp(type, "h") == 0) {
      ck_assert_ptr_eq(walked, looked_up);
      ck_assert_ptr_eq(walked, tl_local_peek(local, keys[i]));
    }
    tl_value_unref(looked_up);
    tl_value_unref(walked);
    tl_value_unref(boxed);
    tl_value_unref(key);
    tl_value_unref(entry);
  }
  tl_value_unref(snapshot);
  tl_local_unref(local);
  tl_test_assert_no_failure();
}
END_TEST

/* The parts of a snapshot compare by what they carry, as whole snapshots do: the entries of two
 * snapshots that hold different pointer values under one key are not equal (both read
 * {'p': <handle 0>} as plain GVariants), those of two that hold the same one are. */
START_TEST(test_snapshot_entries_compare_carried_values)
{
  TlLocal *local = tl_local_new();
  int first = 0, second = 0;
  TlValue *a, *again, *b, *entry_a = NULL, *entry_again = NULL, *entry_b = NULL;
  TlValue *boxed_a = NULL, *boxed_b = NULL;

  ck_assert_int_eq(set_take(local, "p", tl_value_new_pointer(&first, NULL)), TL_OK);
  a = snapshot_of(local);
  again = snapshot_of(local);
  ck_assert_int_eq(set_take(local, "p", tl_value_new_pointer(&second, NULL)), TL_OK);
  b = snapshot_of(local);
  ck_assert_int_eq(tl_value_get_child(a, 0, &entry_a), TL_OK);
  ck_assert_int_eq(tl_value_get_child(again, 0, &entry_again), TL_OK);
  ck_assert_int_eq(tl_value_get_child(b, 0, &entry_b), TL_OK);
  ck_assert_int_eq(tl_value_equal(entry_a, entry_again), 1);
  ck_assert_int_eq(tl_value_equal(entry_a, entry_b), 0);
  ck_assert_int_eq(tl_value_equal(entry_b, entry_a), 0);
  ck_assert_int_eq(tl_value_get_child(entry_a, 1, &boxed_a), TL_OK);
  ck_assert_int_eq(tl_value_get_child(entry_b, 1, &boxed_b), TL_OK);
  ck_assert_int_eq(tl_value_equal(boxed_a, boxed_b), 0);
  tl_value_unref(boxed_a);
  tl_value_unref(boxed_b);
  tl_value_unref(entry_a);
  tl_value_unref(entry_again);
  tl_value_unref(entry_b);
  tl_value_unref(a);
  tl_value_unref(again);
  tl_value_unref(b);
  tl_local_unref(local);
  tl_test_assert_no_failure();
}
END_TEST

/* A key given twice, in parsed text or to tl_value_new_vardict(): lookup and apply agree on its
 * last value (lookup gave the first, apply stored the last), and the vardict keeps it in the
 * key's first place, as assigning twice to a dict would. */
START_TEST(test_duplicate_keys)
{
  static const char *const in_first_place[] = {"a", "b"};
  const char *keys[] = {"a", "b", "a"};
  TlLocal *local = tl_local_new();
  TlValue *text = parse(NULL, "{'a': <1>, 'b': <'x'>, 'a': <2>}"), *found = NULL, *built;
  TlValue *values[3];
  int32_t number = 0;

  ck_assert_int_eq(tl_value_lookup(text, "a", &found), TL_OK);
  ck_assert_int_eq(tl_value_get_int32(found, &number), TL_OK);
  ck_assert_int_eq(number, 2);
  tl_value_unref(found);
  ck_assert_int_eq(tl_local_apply(local, text, TL_APPLY_REPLACE), TL_OK);
  ck_assert_int_eq(tl_value_get_int32(tl_local_peek(local, "a"), &number), TL_OK);
  ck_assert_int_eq(number, 2);

  values[0] = tl_value_new_int32(1);
  values[1] = tl_value_new_string("x");
  values[2] = tl_value_new_int32(3);
  built = tl_value_new_vardict(keys, values, 3);
  ck_assert_ptr_nonnull(built);
  ck_assert_int_eq(tl_local_clear(local), TL_OK);
  ck_assert_int_eq(tl_local_apply(local, built, TL_APPLY_UPDATE), TL_OK);
  ck_assert(keys_are(local, in_first_place, N_ELEMENTS(in_first_place)));
  ck_assert_int_eq(tl_value_get_int32(tl_local_peek(local, "a"), &number), TL_OK);
  ck_assert_int_eq(number, 3);
  ck_assert_int_eq(tl_value_lookup(built, "a", &found), TL_OK);
  ck_assert_int_eq(tl_value_equal(found, values[2]), 1);
  tl_value_unref(found);

  tl_value_unref(values[0]);
  tl_value_unref(values[1]);
  tl_value_unref(values[2]);
  tl_value_unref(built);
  tl_value_unref(text);
  tl_local_unref(local);
  tl_test_assert_no_failure();
}
END_TEST

/* A context that holds its parent context (a snapshot stored as a value, as nested request scopes
 * do): the parent carries a pointer value, and must still carry it in the worker after the child
 * context is handed over, or the worker finds a bare "h" number where the pointer was. */
static void *
nested_worker(void *arg)
{
  Handoff *handoff = arg;

  TL_CHECK(tl_local_apply(handoff->local, handoff->snapshot, TL_APPLY_REPLACE) == TL_OK);
  return NULL;
}

START_TEST(test_nested_snapshot_keeps_carried_values)
{
  Handoff handoff;
  TlValue *parent, *received = NULL, *found = NULL, *from_snapshot = NULL, *inner = NULL;
  int lookup_status, apply_status, inner_status;
  const char *found_type;
  void *found_ptr = NULL;

  memset(&handoff, 0, sizeof handoff);
  handoff.local = tl_local_new();
  ck_assert_int_eq(set_take(handoff.local, "p", counted_pointer(&handoff.destroyed)), TL_OK);
  parent = snapshot_of(handoff.local);
  ck_assert_int_eq(tl_local_clear(handoff.local), TL_OK);
  ck_assert_int_eq(tl_local_set(handoff.local, "parent", parent), TL_OK);
  ck_assert_int_eq(set_take(handoff.local, "n", tl_value_new_int32(1)), TL_OK);
  handoff.snapshot = snapshot_of(handoff.local);

  /* Through the snapshot, read here... */
  ck_assert_int_eq(tl_value_lookup(handoff.snapshot, "parent", &from_snapshot), TL_OK);
  inner_status = tl_value_lookup(from_snapshot, "p", &inner);

  /* ...and applied on a worker, then read back from the worker's dictionary. */
  tl_test_run_threads(1, nested_worker, &handoff);
  tl_test_assert_no_failure();
  ck_assert_int_eq(tl_local_apply(handoff.local, handoff.snapshot, TL_APPLY_REPLACE), TL_OK);
  received = tl_value_ref(tl_local_peek(handoff.local, "parent"));
  ck_assert_ptr_nonnull(received);
  lookup_status = tl_value_lookup(received, "p", &found);
  found_type = found != NULL ? tl_value_type(found) : "(none)";
  if (found != NULL)
    tl_value_get_pointer(found, &found_ptr);
  apply_status = tl_local_apply(handoff.local, received, TL_APPLY_REPLACE);

  /* Released before asserting, so a failure leaks nothing under valgrind or ASan. */
  ck_assert_msg(strcmp(found_type, "p") == 0 || strcmp(found_type, "h") == 0 ||
                    strcmp(found_type, "(none)") == 0,
                "unexpected type %s", found_type);
  {
    int found_is_pointer = strcmp(found_type, "p") == 0;
    int inner_is_pointer = inner != NULL && strcmp(tl_value_type(inner), "p") == 0;

    tl_value_unref(inner);
    tl_value_unref(from_snapshot);
    tl_value_unref(found);
    tl_value_unref(received);
    tl_value_unref(handoff.snapshot);
    tl_value_unref(parent);
    tl_local_unref(handoff.local);
    ck_assert_int_eq(handoff.destroyed, 1);

    ck_assert_msg(inner_status == TL_OK && inner_is_pointer,
                  "the parent context read from a snapshot lost its pointer value (lookup %s)",
                  tl_status_name(inner_status));
    ck_assert_msg(lookup_status == TL_OK && found_is_pointer && found_ptr == &handoff.destroyed,
                  "the parent context handed over lost its pointer value: lookup gave %s, type %s",
                  tl_status_name(lookup_status), found_is_pointer ? "p" : "not p");
    ck_assert_msg(apply_status == TL_OK, "the handed-over parent context cannot be applied: %s",
                  tl_status_name(apply_status));
  }
}
END_TEST

/* ---- initializers ---- */

typedef struct {
  int calls;
  int fail;
} Init;

static int
init_sets_keys(TlLocal *local, void *user_data)
{
  Init *init = user_data;

  __atomic_fetch_add(&init->calls, 1, __ATOMIC_SEQ_CST);
  if (__atomic_load_n(&init->fail, __ATOMIC_SEQ_CST))
    return 5;
  TL_CHECK(set_take(local, "init", tl_value_new_int32(1)) == TL_OK);
  TL_CHECK(set_take(local, "a", tl_value_new_int32(0)) == TL_OK);
  return 0;
}

typedef struct {
  TlLocal *local;
  Init *init;
  TlValue *snapshot;
  int mode;
} InitApply;

static void *
init_apply_thread(void *arg)
{
  static const char *const updated[] = {"init", "a", "b"};
  static const char *const replaced[] = {"a", "b"};
  InitApply *apply = arg;
  int calls = __atomic_load_n(&apply->init->calls, __ATOMIC_SEQ_CST);
  int32_t number = -1;

  /* The initializer runs first, then the snapshot is applied over what it set. */
  TL_CHECK(tl_local_apply(apply->local, apply->snapshot, apply->mode) == TL_OK);
  TL_CHECK(__atomic_load_n(&apply->init->calls, __ATOMIC_SEQ_CST) == calls + 1);
  if (apply->mode == TL_APPLY_UPDATE)
    TL_CHECK(keys_are(apply->local, updated, N_ELEMENTS(updated)));
  else
    TL_CHECK(keys_are(apply->local, replaced, N_ELEMENTS(replaced)));
  TL_CHECK(tl_value_get_int32(tl_local_peek(apply->local, "a"), &number) == TL_OK && number == 1);

  /* Once per thread. */
  TL_CHECK(tl_local_apply(apply->local, apply->snapshot, apply->mode) == TL_OK);
  TL_CHECK(__atomic_load_n(&apply->init->calls, __ATOMIC_SEQ_CST) == calls + 1);
  return NULL;
}

static void *
init_snapshot_thread(void *arg)
{
  static const char *const initialized[] = {"init", "a"};
  InitApply *apply = arg;
  TlValue *snapshot = snapshot_of(apply->local);
  TlValue *out = NULL;

  /* A snapshot in a thread's first access sees what the initializer set. */
  TL_CHECK(n_children(snapshot) == 2);
  TL_CHECK(tl_value_lookup(snapshot, "init", &out) == TL_OK);
  TL_CHECK(keys_are(apply->local, initialized, N_ELEMENTS(initialized)));
  tl_value_unref(out);
  tl_value_unref(snapshot);
  return NULL;
}

static void *
init_fails_thread(void *arg)
{
  InitApply *apply = arg;
  TlValue *snapshot = (TlValue *) 1;
  size_t size = 99;

  /* (The header lists only TL_OK and TL_ERR_INVALID_ARGUMENT for tl_local_snapshot(), but it
   * runs the initializer, so it can fail as every first access can.) */
  TL_CHECK(tl_local_snapshot(apply->local, &snapshot) == TL_ERR_INIT_FAILED);
  TL_CHECK(snapshot == NULL);
  TL_CHECK(tl_local_apply(apply->local, apply->snapshot, apply->mode) == TL_ERR_INIT_FAILED);
  TL_CHECK(tl_last_error() == TL_ERR_INIT_FAILED);
  __atomic_store_n(&apply->init->fail, 0, __ATOMIC_SEQ_CST);
  TL_CHECK(tl_local_apply(apply->local, apply->snapshot, apply->mode) == TL_OK); /* tries again */
  TL_CHECK(tl_local_size(apply->local, &size) == TL_OK);
  TL_CHECK(size == (apply->mode == TL_APPLY_UPDATE ? 3 : 2));
  return NULL;
}

START_TEST(test_apply_runs_initializer)
{
  Init init = {0, 0};
  InitApply apply;

  apply.init = &init;
  apply.local = tl_local_new_full(TL_LOCAL_DEFAULT, init_sets_keys, &init, NULL);
  apply.snapshot = parse(NULL, "{'a': <1>, 'b': <'x'>}");
  for (apply.mode = TL_APPLY_UPDATE; apply.mode <= TL_APPLY_REPLACE; apply.mode++) {
    tl_test_run_threads(1, init_apply_thread, &apply);
    tl_test_assert_no_failure();
    __atomic_store_n(&init.fail, 1, __ATOMIC_SEQ_CST);
    tl_test_run_threads(1, init_fails_thread, &apply);
    tl_test_assert_no_failure();
  }
  ck_assert_int_eq(init.calls, 8);
  tl_test_run_threads(1, init_snapshot_thread, &apply);
  tl_test_assert_no_failure();
  ck_assert_int_eq(init.calls, 9);

  /* Invalid input is refused before the initializer runs. */
  ck_assert_int_eq(tl_local_apply(apply.local, apply.snapshot, 7), TL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(init.calls, 9);
  tl_value_unref(apply.snapshot);
  tl_local_unref(apply.local);
}
END_TEST

/* A thread's own snapshot, applied back, changes nothing and frees nothing. */
START_TEST(test_apply_own_snapshot)
{
  static const char *const order[] = {"z", "p", "a"};
  TlLocal *local = tl_local_new();
  TlValue *snapshot, *pointer;
  int destroyed = 0, mode;

  ck_assert_int_eq(set_take(local, "z", tl_value_new_int32(1)), TL_OK);
  ck_assert_int_eq(set_take(local, "p", counted_pointer(&destroyed)), TL_OK);
  ck_assert_int_eq(set_take(local, "a", tl_value_new_string("s")), TL_OK);
  pointer = tl_local_peek(local, "p");
  snapshot = snapshot_of(local);
  for (mode = TL_APPLY_UPDATE; mode <= TL_APPLY_REPLACE; mode++) {
    ck_assert_int_eq(tl_local_apply(local, snapshot, mode), TL_OK);
    ck_assert(keys_are(local, order, N_ELEMENTS(order)));
    ck_assert_ptr_eq(tl_local_peek(local, "p"), pointer);
    ck_assert(dict_matches(local, snapshot));
  }
  tl_value_unref(snapshot);
  ck_assert_int_eq(destroyed, 0);
  /* Replacing with a snapshot that lacks it frees it, once. */
  snapshot = parse(NULL, "{'z': <2>}");
  ck_assert_int_eq(tl_local_apply(local, snapshot, TL_APPLY_REPLACE), TL_OK);
  ck_assert_int_eq(destroyed, 1);
  tl_value_unref(snapshot);
  tl_local_unref(local);
  ck_assert_int_eq(destroyed, 1);
}
END_TEST

/* ---- a thread pool ---- */

/* Producers each leave a context (a snapshot with a pointer and a handle in it) and exit; pool
 * workers take tasks from a shared counter, each applying one producer's context before running
 * the task, and must see exactly that context, whatever the previous task left behind. */
#define PRODUCERS 3
#define WORKERS 4

typedef struct {
  TlLocal *local;
  TlValue *contexts[PRODUCERS];
  TlValue *pointers[PRODUCERS];
  int destroyed[PRODUCERS];
  int next_producer;
  int next_task;
  int n_tasks;
} Pool;

static void *
pool_producer(void *arg)
{
  Pool *pool = arg;
  int index = __atomic_fetch_add(&pool->next_producer, 1, __ATOMIC_SEQ_CST);
  char text[32];

  snprintf(text, sizeof text, "user-%d", index);
  TL_CHECK(set_take(pool->local, "ctx", tl_value_new_int64(index)) == TL_OK);
  TL_CHECK(set_take(pool->local, "user", tl_value_new_string(text)) == TL_OK);
  pool->pointers[index] = counted_pointer(&pool->destroyed[index]);
  TL_CHECK(set_take(pool->local, "p", pool->pointers[index]) == TL_OK);
  snprintf(text, sizeof text, "handle %d", 100 + index);
  TL_CHECK(set_take(pool->local, "fd", parse(NULL, text)) == TL_OK);
  if (index == 1)
    TL_CHECK(set_take(pool->local, "extra", tl_value_new_bool(1)) == TL_OK); /* contexts differ */
  pool->contexts[index] = snapshot_of(pool->local);
  return NULL;
}

static void *
pool_worker(void *arg)
{
  Pool *pool = arg;
  int task;

  while ((task = __atomic_fetch_add(&pool->next_task, 1, __ATOMIC_SEQ_CST)) < pool->n_tasks) {
    int index = task % PRODUCERS;
    TlValue *context = pool->contexts[index];
    int64_t ctx = -1;

    /* Tasks leave keys behind; replace drops them, as clear-then-update does. */
    TL_CHECK(set_take(pool->local, "leftover", tl_value_new_int32(task)) == TL_OK);
    switch (task % 3) {
    case 0: TL_CHECK(tl_local_apply(pool->local, context, TL_APPLY_REPLACE) == TL_OK); break;
    case 1:
      TL_CHECK(tl_local_clear(pool->local) == TL_OK);
      TL_CHECK(tl_local_apply(pool->local, context, TL_APPLY_UPDATE) == TL_OK);
      break;
    default:
      tl_thread_clear(); /* a pool resetting its thread between tasks */
      TL_CHECK(tl_local_apply(pool->local, context, TL_APPLY_UPDATE) == TL_OK);
      break;
    }
    TL_CHECK(dict_matches(pool->local, context));
    TL_CHECK(tl_value_get_int64(tl_local_peek(pool->local, "ctx"), &ctx) == TL_OK && ctx == index);
    TL_CHECK(tl_local_peek(pool->local, "p") == pool->pointers[index]);
    TL_CHECK(tl_local_contains(pool->local, "extra") == (index == 1));
    TL_CHECK(count_of(&pool->destroyed[index]) == 0);
  }
  return NULL;
}

START_TEST(test_thread_pool_handoff)
{
  Pool pool;
  int i;
  size_t values = tl_stats_live_values();

  memset(&pool, 0, sizeof pool);
  pool.local = tl_local_new();
  pool.n_tasks = WORKERS * tl_test_repeat(200);
  tl_test_run_threads(PRODUCERS, pool_producer, &pool);
  tl_test_assert_no_failure();
  tl_test_run_threads(WORKERS, pool_worker, &pool);
  tl_test_assert_no_failure();
  for (i = 0; i < PRODUCERS; i++) {
    ck_assert_int_eq(pool.destroyed[i], 0);
    tl_value_unref(pool.contexts[i]);
    ck_assert_int_eq(pool.destroyed[i], 1); /* workers' dictionaries went with their threads */
  }
  tl_local_unref(pool.local);
  ck_assert_uint_eq(tl_stats_live_values(), values);
}
END_TEST

Suite *
handoff_suite(void)
{
  Suite *suite = suite_create("handoff");
  TCase *tcase;

  tcase = tl_test_case("snapshot");
  tcase_add_test(tcase, test_snapshot_contents_and_order);
  tcase_add_test(tcase, test_snapshot_empty);
  tcase_add_test(tcase, test_snapshot_errors);
  tcase_add_test(tcase, test_snapshot_value_count);
  tcase_add_test(tcase, test_lookup_resolves_handles);
  tcase_add_test(tcase, test_snapshot_equality_sees_carried_values);
  tcase_add_test(tcase, test_snapshot_walk_gives_carried_values);
  tcase_add_test(tcase, test_snapshot_entries_compare_carried_values);
  suite_add_tcase(suite, tcase);

  tcase = tl_test_case("apply");
  tcase_add_test(tcase, test_handoff_update_and_replace);
  tcase_add_test(tcase, test_pointer_lifetime);
  tcase_add_test(tcase, test_handle_values_round_trip);
  tcase_add_test(tcase, test_printed_snapshot_does_not_apply);
  tcase_add_test(tcase, test_apply_parsed_text);
  tcase_add_test(tcase, test_apply_wrong_type);
  tcase_add_test(tcase, test_apply_invalid_arguments);
  tcase_add_test(tcase, test_apply_runs_initializer);
  tcase_add_test(tcase, test_apply_own_snapshot);
  tcase_add_test(tcase, test_nested_snapshot_keeps_carried_values);
  tcase_add_test(tcase, test_duplicate_keys);
  suite_add_tcase(suite, tcase);

  tcase = tl_test_case("thread pool");
  tcase_add_test(tcase, test_thread_pool_handoff);
  suite_add_tcase(suite, tcase);

  return suite;
}
