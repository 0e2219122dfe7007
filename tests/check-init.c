/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Per-thread initializers: they run once per thread, on the first access of any kind and before it
 * proceeds; they may use their own local and other locals; a failure drops the dictionary and the
 * next access retries; threads race to initialize; and tl_local_new_with_args() replays C functions
 * of many signatures through libffi. */
#include <float.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tl-test.h"

/* ---- helpers ---- */

static const char *
peek_string(TlLocal *local, const char *key)
{
  TlValue *value = tl_local_peek(local, key);
  const char *string = NULL;

  ck_assert_msg(value != NULL, "no key '%s'", key);
  ck_assert_int_eq(tl_value_get_string(value, &string), TL_OK);
  return string;
}

/* Setters for use inside initializers: failures are recorded, not asserted. */
static void
put(TlLocal *local, const char *key, TlValue *value)
{
  TL_CHECK(value != NULL);
  TL_CHECK(tl_local_set(local, key, value) == TL_OK);
  tl_value_unref(value);
}

static void
put_int64(TlLocal *local, const char *key, int64_t number)
{
  put(local, key, tl_value_new_int64(number));
}

static void
put_uint64(TlLocal *local, const char *key, uint64_t number)
{
  put(local, key, tl_value_new_uint64(number));
}

static uint64_t
double_bits(double number)
{
  uint64_t bits;

  memcpy(&bits, &number, sizeof bits);
  return bits;
}

static double
bits_double(uint64_t bits)
{
  double number;

  memcpy(&number, &bits, sizeof number);
  return number;
}

/* A double is recorded by its bits, so NaN payloads and the sign of zero are compared exactly. */
static void
put_double(TlLocal *local, const char *key, double number)
{
  put_uint64(local, key, double_bits(number));
}

static void
put_string(TlLocal *local, const char *key, const char *string)
{
  TL_CHECK(string != NULL);
  if (string != NULL)
    put(local, key, tl_value_new_string(string));
}

static int64_t
peek_int64(TlLocal *local, const char *key)
{
  TlValue *value = tl_local_peek(local, key);
  int64_t number = 0;

  ck_assert_msg(value != NULL, "no key '%s'", key);
  ck_assert_int_eq(tl_value_get_int64(value, &number), TL_OK);
  return number;
}

static uint64_t
peek_uint64(TlLocal *local, const char *key)
{
  TlValue *value = tl_local_peek(local, key);
  uint64_t number = 0;

  ck_assert_msg(value != NULL, "no key '%s'", key);
  ck_assert_int_eq(tl_value_get_uint64(value, &number), TL_OK);
  return number;
}

#define assert_double_bits(local, key, expected)                                                   \
  ck_assert_msg(peek_uint64(local, key) == double_bits(expected),                                  \
                "%s: got bits 0x%016llx, expected 0x%016llx", key,                                 \
                (unsigned long long) peek_uint64(local, key),                                      \
                (unsigned long long) double_bits(expected))

/* Start n threads running fn(args + i * size), and join them. */
static void
start_threads(pthread_t *threads, int n, void *(*fn)(void *), void *args, size_t size)
{
  int i;

  for (i = 0; i < n; i++)
    ck_assert_int_eq(pthread_create(&threads[i], NULL, fn, (char *) args + (size_t) i * size), 0);
}

static void
join_threads(pthread_t *threads, int n)
{
  int i;

  for (i = 0; i < n; i++)
    ck_assert_int_eq(pthread_join(threads[i], NULL), 0);
}

/* ---- the initializer most tests use ---- */

/* user_data of init_color: counts calls, can fail the first fail_calls of them. */
typedef struct {
  int calls;      /* atomic: every call, any thread */
  int fail_calls; /* the first fail_calls calls set their values, then fail */
  int fail_code;  /* what a failing call returns */
  void *user_data_seen;
  int user_data_destroyed;
  int value_destroyed; /* destroy count of the pointer values the initializer stores as "p" */
} Init;

/* Calls of any initializer on the calling thread. */
static _Thread_local int thread_init_calls;

/* Sets "color" = "red" and "p" = a counted pointer value, as MyLocal.__init__ would. */
static int
init_color(TlLocal *local, void *user_data)
{
  Init *init = user_data;
  int call = __atomic_add_fetch(&init->calls, 1, __ATOMIC_SEQ_CST);

  thread_init_calls++;
  __atomic_store_n(&init->user_data_seen, user_data, __ATOMIC_SEQ_CST);
  put_string(local, "color", "red");
  put(local, "p", tl_value_new_pointer(&init->value_destroyed, tl_test_count_destroy));
  if (call <= init->fail_calls)
    return init->fail_code != 0 ? init->fail_code : -1;
  return 0;
}

static void
init_destroy(void *user_data)
{
  Init *init = user_data;

  __atomic_add_fetch(&init->user_data_destroyed, 1, __ATOMIC_SEQ_CST);
}

static TlLocal *
new_color_local(Init *init)
{
  TlLocal *local = tl_local_new_full(TL_LOCAL_DEFAULT, init_color, init, init_destroy);

  ck_assert_ptr_nonnull(local);
  return local;
}

/* ---- the kinds of access, each of which is a thread's first access in some test ---- */

enum {
  ACCESS_PEEK,
  ACCESS_GET,
  ACCESS_SET,
  ACCESS_DELETE,
  ACCESS_CONTAINS,
  ACCESS_SIZE,
  ACCESS_KEYS,
  ACCESS_FOREACH,
  ACCESS_CLEAR,
  ACCESS_SNAPSHOT,
  ACCESS_APPLY,
  N_ACCESSES
};

static int
count_item(const char *key, TlValue *value, void *payload)
{
  (*(int *) payload)++;
  return 0;
}

/* Performs one access of kind on local's "color" (or the whole dictionary). @return its status
 * (contains: 1 or 0); the access's results are released. No assertions: threads use it too. */
static int
access_local(TlLocal *local, int kind)
{
  TlValue *value = NULL;
  char **keys = NULL;
  size_t size = 0;
  int status, n = 0;

  switch (kind) {
  case ACCESS_PEEK: return tl_local_peek(local, "color") != NULL ? TL_OK : tl_last_error();
  case ACCESS_GET:
    status = tl_local_get(local, "color", &value);
    tl_value_unref(value);
    return status;
  case ACCESS_SET:
    value = tl_value_new_int32(7);
    status = tl_local_set(local, "seven", value);
    tl_value_unref(value);
    return status;
  case ACCESS_DELETE: return tl_local_delete(local, "color");
  case ACCESS_CONTAINS: return tl_local_contains(local, "color");
  case ACCESS_SIZE: return tl_local_size(local, &size);
  case ACCESS_KEYS:
    status = tl_local_keys(local, &keys, NULL);
    tl_strv_free(keys);
    return status;
  case ACCESS_FOREACH: return tl_local_foreach(local, count_item, &n);
  case ACCESS_CLEAR: return tl_local_clear(local);
  case ACCESS_SNAPSHOT:
    status = tl_local_snapshot(local, &value);
    tl_value_unref(value);
    return status;
  case ACCESS_APPLY: {
    TlValue *snapshot = NULL;
    if (tl_value_parse("a{sv}", "{'applied': <1>}", &snapshot) != TL_OK)
      return TL_ERR_PARSE;
    status = tl_local_apply(local, snapshot, TL_APPLY_UPDATE);
    tl_value_unref(snapshot);
    return status;
  }
  default: return TL_ERR_INVALID_ARGUMENT;
  }
}

static const char *const access_names[N_ACCESSES] = {"peek",     "get",      "set",  "delete",
                                                     "contains", "size",     "keys", "foreach",
                                                     "clear",    "snapshot", "apply"};

/* ---- when the initializer runs ---- */

typedef struct {
  int n;
  char keys[8][16];
} Walk;

static int
walk_keys(const char *key, TlValue *value, void *payload)
{
  Walk *walk = payload;

  if (walk->n < 8)
    snprintf(walk->keys[walk->n], sizeof walk->keys[0], "%s", key);
  walk->n++;
  return 0;
}

/* Each kind of first access runs the initializer first and then sees what it set. */
START_TEST(test_first_access_runs_init)
{
  static const char *const color_p_seven[] = {"color", "p", "seven"};
  static const char *const color_p_applied[] = {"color", "p", "applied"};
  size_t dicts = tl_stats_live_dicts();
  Init init = {0};
  TlLocal *local = new_color_local(&init);
  TlValue *value = NULL, *found = NULL;
  const char *string = NULL;
  char **keys = NULL;
  size_t size = 99;
  Walk walk = {0};
  int kind = _i;

  ck_assert_int_eq(init.calls, 0); /* not at creation */
  switch (kind) {
  case ACCESS_PEEK:
    value = tl_local_peek(local, "color");
    ck_assert_ptr_nonnull(value);
    ck_assert_int_eq(tl_value_get_string(value, &string), TL_OK);
    ck_assert_str_eq(string, "red");
    break;
  case ACCESS_GET:
    ck_assert_int_eq(tl_local_get(local, "color", &value), TL_OK);
    ck_assert_int_eq(tl_value_get_string(value, &string), TL_OK);
    ck_assert_str_eq(string, "red");
    tl_value_unref(value);
    break;
  case ACCESS_SET:
    ck_assert_int_eq(access_local(local, kind), TL_OK);
    tl_test_assert_keys(local, color_p_seven, 3);
    break;
  case ACCESS_DELETE:
    ck_assert_int_eq(tl_local_delete(local, "color"), TL_OK); /* what the initializer set */
    ck_assert_int_eq(tl_local_contains(local, "color"), 0);
    ck_assert_uint_eq(tl_test_local_size(local), 1);
    break;
  case ACCESS_CONTAINS: ck_assert_int_eq(tl_local_contains(local, "color"), 1); break;
  case ACCESS_SIZE:
    ck_assert_int_eq(tl_local_size(local, &size), TL_OK);
    ck_assert_uint_eq(size, 2);
    break;
  case ACCESS_KEYS:
    ck_assert_int_eq(tl_local_keys(local, &keys, &size), TL_OK);
    ck_assert_uint_eq(size, 2);
    ck_assert_str_eq(keys[0], "color");
    ck_assert_str_eq(keys[1], "p");
    ck_assert_ptr_null(keys[2]);
    tl_strv_free(keys);
    break;
  case ACCESS_FOREACH:
    ck_assert_int_eq(tl_local_foreach(local, walk_keys, &walk), TL_OK);
    ck_assert_int_eq(walk.n, 2);
    ck_assert_str_eq(walk.keys[0], "color");
    ck_assert_str_eq(walk.keys[1], "p");
    break;
  case ACCESS_CLEAR:
    ck_assert_int_eq(tl_local_clear(local), TL_OK); /* clears what the initializer set */
    ck_assert_int_eq(init.value_destroyed, 1);
    ck_assert_uint_eq(tl_test_local_size(local), 0);
    ck_assert_uint_eq(tl_stats_live_dicts(), dicts + 1); /* the dictionary stays */
    break;
  case ACCESS_SNAPSHOT:
    ck_assert_int_eq(tl_local_snapshot(local, &value), TL_OK);
    ck_assert_str_eq(tl_value_type(value), "a{sv}");
    ck_assert_int_eq(tl_value_lookup(value, "color", &found), TL_OK);
    ck_assert_int_eq(tl_value_get_string(found, &string), TL_OK);
    ck_assert_str_eq(string, "red");
    tl_value_unref(found);
    ck_assert_int_eq(tl_value_lookup(value, "p", &found), TL_OK);
    ck_assert_str_eq(tl_value_type(found), "p");
    tl_value_unref(found);
    tl_value_unref(value);
    break;
  case ACCESS_APPLY:
    ck_assert_int_eq(access_local(local, kind), TL_OK);
    tl_test_assert_keys(local, color_p_applied, 3);
    break;
  default: ck_abort();
  }
  ck_assert_int_eq(init.calls, 1);
  ck_assert_ptr_eq(init.user_data_seen, &init);
  ck_assert_uint_eq(tl_stats_live_dicts(), dicts + 1);

  /* Later accesses of every kind, even ones that empty the dictionary, never run it again. */
  for (kind = 0; kind < N_ACCESSES; kind++) {
    int status = access_local(local, kind);
    ck_assert_msg(status >= 0 || status == TL_ERR_NOT_FOUND, "%s: %s", access_names[kind],
                  tl_status_name(status));
  }
  ck_assert_int_eq(init.calls, 1);
  ck_assert_int_eq(tl_local_clear(local), TL_OK);
  tl_test_set_int(local, "n", 1);
  ck_assert_int_eq(tl_local_delete(local, "n"), TL_OK);
  ck_assert_int_eq(tl_local_contains(local, "color"), 0);
  ck_assert_int_eq(init.calls, 1);

  ck_assert_int_eq(init.user_data_destroyed, 0);
  tl_local_unref(local);
  ck_assert_int_eq(init.user_data_destroyed, 1);
  ck_assert_int_eq(init.value_destroyed, 1);
  ck_assert_int_eq(init.calls, 1);
  ck_assert_uint_eq(tl_stats_live_dicts(), dicts);
  tl_test_assert_no_failure();
}
END_TEST

/* Bad input is not an access: it fails before any dictionary is made. */
START_TEST(test_bad_input_runs_no_init)
{
  size_t dicts = tl_stats_live_dicts();
  Init init = {0};
  TlLocal *local = new_color_local(&init);
  TlValue *value = tl_value_new_int32(1);
  size_t size;

  ck_assert_int_eq(tl_local_set(local, NULL, value), TL_ERR_INVALID_KEY);
  ck_assert_int_eq(tl_local_set(local, "\xff", value), TL_ERR_INVALID_KEY);
  ck_assert_int_eq(tl_local_set(local, "k", NULL), TL_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_null(tl_local_peek(local, NULL));
  ck_assert_int_eq(tl_local_get(local, "color", NULL), TL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(tl_local_size(local, NULL), TL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(tl_local_foreach(local, NULL, NULL), TL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(tl_local_keys(local, NULL, NULL), TL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(tl_local_snapshot(local, NULL), TL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(tl_local_apply(local, value, TL_APPLY_UPDATE), TL_ERR_WRONG_TYPE);
  ck_assert_int_eq(init.calls, 0);
  ck_assert_uint_eq(tl_stats_live_dicts(), dicts);

  ck_assert_int_eq(tl_local_size(local, &size), TL_OK);
  ck_assert_uint_eq(size, 2);
  ck_assert_int_eq(init.calls, 1);
  tl_value_unref(value);
  tl_local_unref(local);
}
END_TEST

START_TEST(test_init_again_after_thread_clear)
{
  Init init = {0};
  TlLocal *local = new_color_local(&init);
  TlLocal *plain = tl_local_new();
  uint64_t id = tl_thread_id();
  int i;

  for (i = 1; i <= 3; i++) {
    ck_assert_str_eq(peek_string(local, "color"), "red");
    ck_assert_int_eq(init.calls, i);
    tl_test_set_int(local, "color", 5); /* the thread's own change */
    tl_test_set_int(plain, "n", i);
    ck_assert_int_eq(tl_test_peek_int(local, "color"), 5);
    ck_assert_int_eq(init.calls, i);
    tl_thread_clear();
    ck_assert_int_eq(init.value_destroyed, i);
    ck_assert_uint_eq(tl_stats_live_dicts(), 0);
    ck_assert_int_eq(tl_local_contains(plain, "n"), 0);
  }
  ck_assert_uint_eq(tl_thread_id(), id);
  ck_assert_int_eq(init.user_data_destroyed, 0);
  tl_local_unref(plain);
  tl_local_unref(local);
  ck_assert_int_eq(init.user_data_destroyed, 1);
  ck_assert_int_eq(init.calls, 3);
  tl_test_assert_no_failure();
}
END_TEST

/* Sets "tid" to the thread's id, on top of init_color. */
static int
init_tid(TlLocal *local, void *user_data)
{
  put_uint64(local, "tid", tl_thread_id());
  return init_color(local, user_data);
}

typedef struct {
  TlLocal *local;
  int inits_before, inits_after;
  uint64_t id, tid_seen;
  char color[16];
} PerThread;

static void *
per_thread_worker(void *arg)
{
  PerThread *worker = arg;
  TlValue *value;
  const char *color = "";
  int i;

  worker->id = tl_thread_id();
  worker->inits_before = thread_init_calls;
  for (i = 0; i < 10; i++) {
    value = tl_local_peek(worker->local, i == 0 ? "tid" : "color");
    TL_CHECK(value != NULL);
    if (i == 0)
      TL_CHECK(tl_value_get_uint64(value, &worker->tid_seen) == TL_OK);
    else
      TL_CHECK(tl_value_get_string(value, &color) == TL_OK);
  }
  snprintf(worker->color, sizeof worker->color, "%s", color);
  worker->inits_after = thread_init_calls;
  return NULL;
}

/* Every thread runs the initializer once, in that thread, and sees its own values only. */
START_TEST(test_init_per_thread)
{
  enum { N = 6 };
  Init init = {0};
  TlLocal *local = tl_local_new_full(TL_LOCAL_DEFAULT, init_tid, &init, init_destroy);
  PerThread workers[N];
  pthread_t threads[N];
  int i, j;

  ck_assert_uint_eq(peek_uint64(local, "tid"), tl_thread_id());
  tl_test_set_int(local, "color", 0);
  memset(workers, 0, sizeof workers);
  for (i = 0; i < N; i++)
    workers[i].local = local;
  start_threads(threads, N, per_thread_worker, workers, sizeof workers[0]);
  join_threads(threads, N);
  tl_test_assert_no_failure();

  ck_assert_int_eq(init.calls, N + 1);
  for (i = 0; i < N; i++) {
    ck_assert_int_eq(workers[i].inits_after - workers[i].inits_before, 1);
    ck_assert_uint_eq(workers[i].tid_seen, workers[i].id);
    ck_assert_str_eq(workers[i].color, "red");
    ck_assert_uint_ne(workers[i].id, tl_thread_id());
    for (j = 0; j < i; j++)
      ck_assert_uint_ne(workers[i].id, workers[j].id);
  }
  /* The threads' values went with them; this thread's are untouched. */
  ck_assert_int_eq(init.value_destroyed, N);
  ck_assert_uint_eq(tl_stats_live_dicts(), 1);
  ck_assert_int_eq(tl_test_peek_int(local, "color"), 0);
  ck_assert_uint_eq(peek_uint64(local, "tid"), tl_thread_id());
  tl_local_unref(local);
  ck_assert_int_eq(init.user_data_destroyed, 1);
}
END_TEST

static int
init_records_user_data(TlLocal *local, void *user_data)
{
  put(local, "ud", tl_value_new_pointer(user_data, NULL));
  return 0;
}

static void *
access_once(void *arg)
{
  TL_CHECK(tl_local_peek(arg, "ud") != NULL);
  return NULL;
}

/* user_data reaches the initializer; user_data_destroy runs once, when the local is destroyed. */
START_TEST(test_user_data_destroy)
{
  int marker = 0, destroyed = 0;
  TlLocal *local, *other;
  void *ptr = NULL;

  local = tl_local_new_full(TL_LOCAL_DEFAULT, init_records_user_data, &destroyed,
                            tl_test_count_destroy);
  ck_assert_ptr_nonnull(local);
  ck_assert_int_eq(tl_value_get_pointer(tl_local_peek(local, "ud"), &ptr), TL_OK);
  ck_assert_ptr_eq(ptr, &destroyed);
  tl_test_run_threads(4, access_once, local);
  tl_test_assert_no_failure();
  tl_thread_clear();
  ck_assert_int_eq(destroyed, 0); /* dictionaries come and go; user_data stays */
  ck_assert_ptr_nonnull(tl_local_peek(local, "ud"));
  other = tl_local_ref(local);
  tl_local_unref(local);
  ck_assert_int_eq(destroyed, 0);
  tl_local_unref(other);
  ck_assert_int_eq(destroyed, 1);

  /* A user_data_destroy without an initializer still runs, once; reads then make no dictionary. */
  destroyed = 0;
  local = tl_local_new_full(TL_LOCAL_DEFAULT, NULL, &destroyed, tl_test_count_destroy);
  ck_assert_ptr_nonnull(local);
  ck_assert_ptr_null(tl_local_peek(local, "k"));
  ck_assert_int_eq(tl_last_error(), TL_ERR_NOT_FOUND);
  ck_assert_uint_eq(tl_stats_live_dicts(), 0);
  tl_test_set_int(local, "k", 1);
  tl_thread_clear();
  ck_assert_int_eq(destroyed, 0);
  tl_local_unref(local);
  ck_assert_int_eq(destroyed, 1);

  /* An initializer without a user_data_destroy; and neither, which is tl_local_new(). */
  local = tl_local_new_full(TL_LOCAL_DEFAULT, init_records_user_data, &marker, NULL);
  ck_assert_int_eq(tl_value_get_pointer(tl_local_peek(local, "ud"), &ptr), TL_OK);
  ck_assert_ptr_eq(ptr, &marker);
  tl_local_unref(local);
  local = tl_local_new_full(TL_LOCAL_DEFAULT, NULL, NULL, NULL);
  ck_assert_ptr_nonnull(local);
  ck_assert_ptr_null(tl_local_peek(local, "k"));
  ck_assert_uint_eq(tl_stats_live_dicts(), 0);
  tl_local_unref(local);

  /* A visitable local takes an initializer too. */
  local = tl_local_new_full(TL_LOCAL_VISITABLE, init_records_user_data, &marker, NULL);
  ck_assert_ptr_nonnull(local);
  ck_assert_int_eq(tl_local_contains(local, "ud"), 1);
  tl_local_unref(local);
  ck_assert_int_eq(marker, 0);
}
END_TEST

START_TEST(test_new_full_unknown_flags)
{
  size_t locals = tl_stats_live_locals();
  Init init = {0};

  ck_assert_ptr_null(tl_local_new_full(1u << 7, init_color, &init, init_destroy));
  ck_assert_int_eq(tl_last_error(), TL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(init.user_data_destroyed, 0); /* nothing was taken over */
  ck_assert_ptr_null(tl_local_new_full(0x80000000u | TL_LOCAL_VISITABLE, NULL, NULL, NULL));
  ck_assert_int_eq(tl_last_error(), TL_ERR_INVALID_ARGUMENT);
  ck_assert_uint_eq(tl_stats_live_locals(), locals);
  ck_assert_int_eq(init.calls, 0);
}
END_TEST

/* ---- initializers that use the library ---- */

/* Uses its own local in every way while it is being initialized. */
static int
init_uses_self(TlLocal *local, void *user_data)
{
  Init *init = user_data;
  TlValue *value = NULL, *snapshot = NULL, *found = NULL;
  char **keys = NULL;
  size_t size = 99, n_keys = 99;
  int n = 0;

  init->calls++;
  /* Another thread's values or a previous run must not show: the dictionary starts empty. */
  TL_CHECK(tl_local_size(local, &size) == TL_OK && size == 0);
  TL_CHECK(tl_local_peek(local, "a") == NULL && tl_last_error() == TL_ERR_NOT_FOUND);
  put_int64(local, "a", 1);
  TL_CHECK(tl_local_peek(local, "a") != NULL);
  TL_CHECK(tl_local_get(local, "a", &value) == TL_OK);
  tl_value_unref(value);
  TL_CHECK(tl_local_contains(local, "a") == 1);
  put_int64(local, "b", 2);
  put_int64(local, "gone", 3);
  TL_CHECK(tl_local_delete(local, "gone") == TL_OK);
  TL_CHECK(tl_local_keys(local, &keys, &n_keys) == TL_OK && n_keys == 2);
  tl_strv_free(keys);
  TL_CHECK(tl_local_foreach(local, count_item, &n) == TL_OK && n == 2);
  TL_CHECK(tl_local_snapshot(local, &snapshot) == TL_OK);
  TL_CHECK(tl_local_clear(local) == TL_OK);
  TL_CHECK(tl_local_size(local, &size) == TL_OK && size == 0);
  TL_CHECK(tl_local_apply(local, snapshot, TL_APPLY_REPLACE) == TL_OK);
  TL_CHECK(tl_value_lookup(snapshot, "b", &found) == TL_OK);
  tl_value_unref(found);
  tl_value_unref(snapshot);
  put_int64(local, "c", 3);
  TL_CHECK(tl_local_size(local, &size) == TL_OK && size == 3);
  return 0;
}

START_TEST(test_init_uses_own_local)
{
  static const char *const expected[] = {"a", "b", "c"};
  Init init = {0};
  TlLocal *local = tl_local_new_full(TL_LOCAL_DEFAULT, init_uses_self, &init, NULL);
  TlLocal *visitable = tl_local_new_full(TL_LOCAL_VISITABLE, init_uses_self, &init, NULL);

  tl_test_assert_keys(local, expected, 3);
  ck_assert_int_eq(init.calls, 1);
  ck_assert_int_eq(peek_int64(local, "c"), 3);
  ck_assert_int_eq(init.calls, 1);
  /* Writes of a visitable local take its dictionary's lock: the initializer holds none. */
  tl_test_assert_keys(visitable, expected, 3);
  ck_assert_int_eq(init.calls, 2);
  tl_test_assert_no_failure();
  tl_local_unref(visitable);
  tl_local_unref(local);
}
END_TEST

/* Three locals whose initializers use one another: a's touches b, b's touches c and a (which is
 * then being initialized), c's touches only itself. */
typedef struct {
  TlLocal *a, *b, *c;
  int a_calls, b_calls, c_calls;
} Nested;

static int
init_c(TlLocal *local, void *user_data)
{
  Nested *nested = user_data;

  __atomic_add_fetch(&nested->c_calls, 1, __ATOMIC_SEQ_CST);
  put_int64(local, "c", 3);
  TL_CHECK(tl_local_contains(local, "c") == 1);
  return 0;
}

static int
init_b(TlLocal *local, void *user_data)
{
  Nested *nested = user_data;
  TlValue *value = NULL;
  int64_t number = 0;

  __atomic_add_fetch(&nested->b_calls, 1, __ATOMIC_SEQ_CST);
  /* c's initializer runs now, inside b's. */
  TL_CHECK(tl_local_get(nested->c, "c", &value) == TL_OK);
  TL_CHECK(tl_value_get_int64(value, &number) == TL_OK && number == 3);
  tl_value_unref(value);
  put_int64(local, "b", 2 * number);
  /* a is being initialized: its dictionary exists with what a's initializer set so far. */
  TL_CHECK(tl_local_contains(nested->a, "a-started") == 1);
  TL_CHECK(tl_local_contains(nested->a, "a") == 0);
  put_int64(nested->a, "set-by-b", 22);
  return 0;
}

static int
init_a(TlLocal *local, void *user_data)
{
  Nested *nested = user_data;
  TlValue *value;
  int64_t number = 0;

  __atomic_add_fetch(&nested->a_calls, 1, __ATOMIC_SEQ_CST);
  put_int64(local, "a-started", 1);
  value = tl_local_peek(nested->b, "b");
  TL_CHECK(value != NULL && tl_value_get_int64(value, &number) == TL_OK && number == 6);
  put_int64(local, "a", number + 1);
  return 0;
}

static void *
nested_worker(void *arg)
{
  Nested *nested = arg;
  TlValue *value = tl_local_peek(nested->a, "a");
  int64_t number = 0;

  TL_CHECK(value != NULL && tl_value_get_int64(value, &number) == TL_OK && number == 7);
  TL_CHECK(tl_local_contains(nested->a, "set-by-b") == 1);
  TL_CHECK(tl_local_contains(nested->b, "b") == 1);
  TL_CHECK(tl_local_contains(nested->c, "c") == 1);
  return NULL;
}

START_TEST(test_nested_inits)
{
  Nested nested = {0};

  nested.a = tl_local_new_full(TL_LOCAL_DEFAULT, init_a, &nested, NULL);
  nested.b = tl_local_new_full(TL_LOCAL_VISITABLE, init_b, &nested, NULL);
  nested.c = tl_local_new_full(TL_LOCAL_DEFAULT, init_c, &nested, NULL);

  ck_assert_int_eq(peek_int64(nested.a, "a"), 7);
  ck_assert_int_eq(peek_int64(nested.a, "set-by-b"), 22);
  ck_assert_int_eq(nested.a_calls, 1);
  ck_assert_int_eq(nested.b_calls, 1);
  ck_assert_int_eq(nested.c_calls, 1);
  ck_assert_int_eq(peek_int64(nested.b, "b"), 6);
  ck_assert_int_eq(peek_int64(nested.c, "c"), 3);
  ck_assert_int_eq(nested.b_calls, 1);
  ck_assert_int_eq(nested.c_calls, 1);
  ck_assert_uint_eq(tl_stats_live_dicts(), 3);

  /* Entering at the innermost local first: the others still initialize once each. */
  tl_thread_clear();
  ck_assert_int_eq(peek_int64(nested.c, "c"), 3);
  ck_assert_int_eq(peek_int64(nested.a, "a"), 7);
  ck_assert_int_eq(nested.a_calls, 2);
  ck_assert_int_eq(nested.b_calls, 2);
  ck_assert_int_eq(nested.c_calls, 2);

  tl_test_run_threads(4, nested_worker, &nested);
  tl_test_assert_no_failure();
  ck_assert_int_eq(nested.a_calls, 6);
  ck_assert_int_eq(nested.b_calls, 6);
  ck_assert_int_eq(nested.c_calls, 6);
  tl_local_unref(nested.a);
  tl_local_unref(nested.b);
  tl_local_unref(nested.c);
}
END_TEST

/* An initializer whose nested initializer fails carries on; the inner one retries later. */
typedef struct {
  Init inner;
  TlLocal *inner_local;
  int status_seen;
} Outer;

static int
init_outer(TlLocal *local, void *user_data)
{
  Outer *outer = user_data;

  outer->status_seen = tl_local_contains(outer->inner_local, "color");
  TL_CHECK(tl_last_error() == TL_ERR_INIT_FAILED);
  put_int64(local, "outer", 1);
  return 0;
}

START_TEST(test_nested_init_fails)
{
  Outer outer;
  TlLocal *local;

  memset(&outer, 0, sizeof outer);
  outer.inner.fail_calls = 1;
  outer.inner_local = new_color_local(&outer.inner);
  local = tl_local_new_full(TL_LOCAL_DEFAULT, init_outer, &outer, NULL);
  ck_assert_int_eq(peek_int64(local, "outer"), 1);
  ck_assert_int_eq(outer.status_seen, TL_ERR_INIT_FAILED);
  ck_assert_int_eq(outer.inner.calls, 1);
  ck_assert_int_eq(outer.inner.value_destroyed, 1);
  ck_assert_uint_eq(tl_stats_live_dicts(), 1);
  ck_assert_str_eq(peek_string(outer.inner_local, "color"), "red");
  ck_assert_int_eq(outer.inner.calls, 2);
  tl_local_unref(local);
  tl_local_unref(outer.inner_local);
  ck_assert_int_eq(outer.inner.user_data_destroyed, 1);
  tl_test_assert_no_failure();
}
END_TEST

/* Creates, uses and destroys locals (one with an initializer of its own), opens a named local and
 * reads the statistics: no library lock is held while an initializer runs. */
static int
init_makes_locals(TlLocal *local, void *user_data)
{
  Init *inner = user_data;
  TlLocal *temporary = tl_local_new();
  TlLocal *initialized = tl_local_new_full(TL_LOCAL_DEFAULT, init_color, inner, NULL);
  TlLocal *named = tl_local_open("check-init-named");

  put_int64(temporary, "t", 1);
  TL_CHECK(tl_local_contains(initialized, "color") == 1);
  put_int64(named, "n", 1);
  put_int64(local, "locals", (int64_t) tl_stats_live_locals());
  TL_CHECK(tl_stats_live_dicts() >= 3);
  TL_CHECK(tl_stats_live_threads() >= 1);
  TL_CHECK(tl_stats_live_values() >= 1);
  tl_local_unref(temporary);
  tl_local_unref(initialized);
  tl_local_unref(named);
  return 0;
}

static void *
access_locals_key(void *arg)
{
  TL_CHECK(tl_local_contains(arg, "locals") == 1);
  return NULL;
}

START_TEST(test_init_makes_locals)
{
  size_t locals = tl_stats_live_locals();
  Init inner = {0};
  TlLocal *local = tl_local_new_full(TL_LOCAL_DEFAULT, init_makes_locals, &inner, NULL);

  ck_assert_int_eq(peek_int64(local, "locals"), (int64_t) locals + 4);
  ck_assert_int_eq(inner.calls, 1);
  ck_assert_int_eq(inner.value_destroyed, 1);
  tl_test_run_threads(3, access_locals_key, local);
  ck_assert_int_eq(inner.calls, 4);
  ck_assert_int_eq(inner.value_destroyed, 4);
  tl_local_unref(local);
  ck_assert_uint_eq(tl_stats_live_locals(), locals + 1); /* the named one */
  ck_assert_int_eq(tl_local_unregister("check-init-named"), TL_OK);
  ck_assert_uint_eq(tl_stats_live_locals(), locals);
  tl_test_assert_no_failure();
}
END_TEST

/* ---- failure ---- */

/* Each kind of first access fails with TL_ERR_INIT_FAILED when the initializer fails; the values it
 * set are released, no dictionary stays, no exit hook runs; the next access tries again. */
static void
count_hook(int reason, uint64_t thread_id, TlValue *contents, void *user_data)
{
  __atomic_add_fetch((int *) user_data, 1, __ATOMIC_SEQ_CST);
}

START_TEST(test_failure_each_access)
{
  size_t dicts = tl_stats_live_dicts(), values = tl_stats_live_values();
  Init init = {0};
  TlLocal *local = new_color_local(&init);
  /* Out-parameters start as garbage, to see them set to NULL. */
  TlValue *value = (TlValue *) &init, *snapshot = (TlValue *) &init, *stored;
  char **keys = (char **) &init;
  size_t size = 99;
  int kind = _i, hook_calls = 0, stored_destroyed = 0, walked = 0, status;

  init.fail_calls = 1;
  init.fail_code = -42;
  ck_assert_int_eq(tl_local_set_exit_hook(local, count_hook, &hook_calls, NULL), TL_OK);

  switch (kind) {
  case ACCESS_PEEK:
    ck_assert_ptr_null(tl_local_peek(local, "color"));
    ck_assert_int_eq(tl_last_error(), TL_ERR_INIT_FAILED);
    break;
  case ACCESS_GET:
    ck_assert_int_eq(tl_local_get(local, "color", &value), TL_ERR_INIT_FAILED);
    ck_assert_ptr_null(value);
    break;
  case ACCESS_SET:
    /* The value was not stored: its only reference is ours. */
    stored = tl_value_new_pointer(&stored_destroyed, tl_test_count_destroy);
    ck_assert_int_eq(tl_local_set(local, "mine", stored), TL_ERR_INIT_FAILED);
    tl_value_unref(stored);
    ck_assert_int_eq(stored_destroyed, 1);
    break;
  case ACCESS_DELETE: ck_assert_int_eq(tl_local_delete(local, "color"), TL_ERR_INIT_FAILED); break;
  case ACCESS_CONTAINS:
    ck_assert_int_eq(tl_local_contains(local, "color"), TL_ERR_INIT_FAILED);
    break;
  case ACCESS_SIZE: ck_assert_int_eq(tl_local_size(local, &size), TL_ERR_INIT_FAILED); break;
  case ACCESS_KEYS:
    ck_assert_int_eq(tl_local_keys(local, &keys, &size), TL_ERR_INIT_FAILED);
    ck_assert_ptr_null(keys);
    break;
  case ACCESS_FOREACH:
    ck_assert_int_eq(tl_local_foreach(local, count_item, &walked), TL_ERR_INIT_FAILED);
    ck_assert_int_eq(walked, 0);
    break;
  case ACCESS_CLEAR: ck_assert_int_eq(tl_local_clear(local), TL_ERR_INIT_FAILED); break;
  case ACCESS_SNAPSHOT:
    ck_assert_int_eq(tl_local_snapshot(local, &snapshot), TL_ERR_INIT_FAILED);
    ck_assert_ptr_null(snapshot);
    break;
  case ACCESS_APPLY: ck_assert_int_eq(access_local(local, kind), TL_ERR_INIT_FAILED); break;
  default: ck_abort();
  }
  ck_assert_int_eq(tl_last_error(), TL_ERR_INIT_FAILED);
  ck_assert_ptr_nonnull(strstr(tl_last_error_message(), "-42"));
  ck_assert_int_eq(init.calls, 1);
  ck_assert_int_eq(init.value_destroyed, 1); /* what it set was released */
  ck_assert_uint_eq(tl_stats_live_dicts(), dicts);
  ck_assert_uint_eq(tl_stats_live_values(), values);
  ck_assert_int_eq(hook_calls, 0);

  /* The next access tries again, and this time succeeds. */
  status = access_local(local, kind);
  ck_assert_msg(status >= 0, "retry: %s", tl_status_name(status));
  ck_assert_int_eq(init.calls, 2);
  ck_assert_uint_eq(tl_stats_live_dicts(), dicts + 1);
  ck_assert_int_eq(access_local(local, ACCESS_SIZE), TL_OK);
  ck_assert_int_eq(init.calls, 2);
  ck_assert_int_eq(hook_calls, 0);
  tl_thread_clear();
  ck_assert_int_eq(hook_calls, 1); /* the dictionary that did become the thread's */
  ck_assert_int_eq(init.value_destroyed, 2);
  tl_local_unref(local);
  ck_assert_int_eq(hook_calls, 1);
  tl_test_assert_no_failure();
}
END_TEST

/* Any nonzero return fails; every failed access retries; the last error says why each time. */
START_TEST(test_failure_retries)
{
  static const int codes[] = {1, -1, 2147483647, -2147483647 - 1, TL_ERR_NOT_FOUND};
  Init init = {0};
  TlLocal *local = new_color_local(&init);
  size_t i;

  init.fail_calls = (int) N_ELEMENTS(codes);
  for (i = 0; i < N_ELEMENTS(codes); i++) {
    char code[16];

    init.fail_code = codes[i];
    ck_assert_ptr_null(tl_local_peek(local, "color"));
    ck_assert_int_eq(tl_last_error(), TL_ERR_INIT_FAILED);
    snprintf(code, sizeof code, "%d", codes[i]);
    ck_assert_msg(strstr(tl_last_error_message(), code) != NULL, "'%s' lacks %s",
                  tl_last_error_message(), code);
    ck_assert_int_eq(init.calls, (int) i + 1);
    ck_assert_int_eq(init.value_destroyed, (int) i + 1);
    ck_assert_uint_eq(tl_stats_live_dicts(), 0);
  }
  ck_assert_str_eq(peek_string(local, "color"), "red");
  ck_assert_int_eq(init.calls, (int) N_ELEMENTS(codes) + 1);
  tl_local_unref(local);
  ck_assert_int_eq(init.user_data_destroyed, 1);
  ck_assert_int_eq(init.value_destroyed, (int) N_ELEMENTS(codes) + 1);
  tl_test_assert_no_failure();
}
END_TEST

/* An initializer that fails in threads: on its first call in each thread only, or always. */
static int
init_fails_first_in_thread(TlLocal *local, void *user_data)
{
  Init *init = user_data;

  __atomic_add_fetch(&init->calls, 1, __ATOMIC_SEQ_CST);
  put(local, "p", tl_value_new_pointer(&init->value_destroyed, tl_test_count_destroy));
  return ++thread_init_calls == 1 || init->fail_calls < 0 ? -1 : 0;
}

typedef struct {
  TlLocal *local;
  int always_fails;
} FailingThread;

static void *
failing_worker(void *arg)
{
  FailingThread *failing = arg;

  thread_init_calls = 0;
  TL_CHECK(tl_local_contains(failing->local, "p") == TL_ERR_INIT_FAILED);
  TL_CHECK(tl_last_error() == TL_ERR_INIT_FAILED);
  if (failing->always_fails) {
    TL_CHECK(tl_local_contains(failing->local, "p") == TL_ERR_INIT_FAILED);
  } else {
    TL_CHECK(tl_local_contains(failing->local, "p") == 1);
    TL_CHECK(tl_local_contains(failing->local, "p") == 1);
  }
  return NULL;
}

START_TEST(test_failure_in_threads)
{
  enum { N = 4 };
  Init init = {0};
  int hook_calls = 0;
  FailingThread failing;

  failing.local = tl_local_new_full(TL_LOCAL_DEFAULT, init_fails_first_in_thread, &init, NULL);
  ck_assert_int_eq(tl_local_set_exit_hook(failing.local, count_hook, &hook_calls, NULL), TL_OK);
  failing.always_fails = 0;
  tl_test_run_threads(N, failing_worker, &failing);
  tl_test_assert_no_failure();
  ck_assert_int_eq(init.calls, 2 * N);
  ck_assert_int_eq(init.value_destroyed, 2 * N);
  ck_assert_int_eq(hook_calls, N); /* the successful dictionaries only, at thread exit */

  init.fail_calls = -1;
  failing.always_fails = 1;
  tl_test_run_threads(N, failing_worker, &failing);
  tl_test_assert_no_failure();
  ck_assert_int_eq(init.calls, 4 * N);
  ck_assert_int_eq(init.value_destroyed, 4 * N);
  ck_assert_int_eq(hook_calls, N);
  ck_assert_uint_eq(tl_stats_live_dicts(), 0);
  tl_local_unref(failing.local);
}
END_TEST

/* An initializer that replaces a pointer value it stored, whose destroy function (a resource's
 * cleanup that resets the pooled thread) calls tl_thread_clear(): the dictionary being initialized
 * is freed under the initializer, which the access then used and freed again (ASan). */
typedef struct {
  int calls, destroyed, fails;
  int after_clear; /* the status of the initializer's write after the clear */
} Resetting;

static void
destroy_resets_thread(void *ptr)
{
  (*(int *) ptr)++;
  tl_thread_clear();
}

static int
init_replaces_resource(TlLocal *local, void *user_data)
{
  Resetting *resetting = user_data;

  resetting->calls++;
  put(local, "resource", tl_value_new_pointer(&resetting->destroyed, destroy_resets_thread));
  (void) tl_local_set_take(local, "resource", tl_value_new_int64(0)); /* clears the thread */
  /* Using the local again would have to make it a new dictionary, and so run this initializer
   * again, nested, and clear again: once per level, without end. */
  if (resetting->calls < 8)
    resetting->after_clear = tl_local_set_int64(local, "after", 1);
  return resetting->fails ? -1 : 0;
}

START_TEST(test_init_side_effect_clears_thread)
{
  size_t dicts, values, threads;
  Resetting resetting = {0, 0, _i & 1, TL_OK};
  TlLocal *local = tl_local_new_full(TL_LOCAL_DEFAULT, init_replaces_resource, &resetting, NULL);
  int status;

  tl_thread_clear();
  dicts = tl_stats_live_dicts();
  values = tl_stats_live_values();
  threads = tl_stats_live_threads();
  status = _i & 2 ? tl_local_contains(local, "x") : tl_local_set_int64(local, "x", 1);
  tl_test_assert_no_failure();
  /* The dictionary the initializer was given is gone, whatever it returned: the access fails (it
   * must not touch the freed one), and so does the initializer's own use of the local after the
   * clear, instead of running the initializer again. */
  ck_assert_int_eq(status, TL_ERR_INIT_FAILED);
  ck_assert_int_eq(resetting.after_clear, TL_ERR_INIT_FAILED);
  ck_assert_int_eq(resetting.calls, 1);
  ck_assert_int_eq(resetting.destroyed, 1);
  tl_thread_clear();
  ck_assert_uint_eq(tl_stats_live_dicts(), dicts);
  ck_assert_uint_eq(tl_stats_live_values(), values);
  ck_assert_uint_eq(tl_stats_live_threads(), threads);
  tl_local_unref(local);
}
END_TEST

/* A failing initializer stores a pointer value whose destroy function reads the same local: the
 * read, run while the failed dictionary is dropped, ran the initializer again, which failed and
 * dropped again, until the stack ran out. Here the initializer stops storing after a few calls,
 * so a regression fails the test instead of crashing it. */
typedef struct {
  TlLocal *local;
  int calls, destroyed;
  int read_status; /* of the destroy function's read */
} Rereading;

static void
destroy_reads_local(void *ptr)
{
  Rereading *rereading = ptr;

  rereading->destroyed++;
  rereading->read_status =
      tl_local_peek(rereading->local, "verbose") != NULL ? TL_OK : tl_last_error();
}

static int
init_acquires_then_fails(TlLocal *local, void *user_data)
{
  Rereading *rereading = user_data;

  if (++rereading->calls <= 4)
    put(local, "resource", tl_value_new_pointer(rereading, destroy_reads_local));
  return 77;
}

START_TEST(test_failure_destroy_reads_local)
{
  size_t dicts = tl_stats_live_dicts(), values = tl_stats_live_values();
  Rereading rereading = {NULL, 0, 0, TL_OK};
  int round;

  rereading.local = tl_local_new_full(TL_LOCAL_DEFAULT, init_acquires_then_fails, &rereading, NULL);
  for (round = 1; round <= 2; round++) {
    ck_assert_int_eq(tl_local_contains(rereading.local, "verbose"), TL_ERR_INIT_FAILED);
    ck_assert_ptr_nonnull(strstr(tl_last_error_message(), "77")); /* the access's own failure */
    ck_assert_int_eq(rereading.calls, round);
    ck_assert_int_eq(rereading.destroyed, round);
    ck_assert_int_eq(rereading.read_status, TL_ERR_INIT_FAILED);
    ck_assert_uint_eq(tl_stats_live_dicts(), dicts);
    ck_assert_uint_eq(tl_stats_live_values(), values);
  }
  tl_local_unref(rereading.local);
  tl_test_assert_no_failure();
}
END_TEST

/* ---- threads racing through their first access ---- */

enum { RACE_THREADS = 8 };

typedef struct {
  pthread_barrier_t start, done;
  TlLocal *local; /* this round's, set before start */
  int round;
  int n_rounds;
  int slow;      /* the initializer yields and sleeps while others initialize (bpo-3088) */
  int inits;     /* atomic: this round's initializer calls */
  int destroyed; /* atomic: user_data_destroy calls, over all rounds */
  int value_destroyed;
} Race;

typedef struct {
  Race *race;
  int index;
} Racer;

static int
init_race(TlLocal *local, void *user_data)
{
  Race *race = user_data;
  uint64_t id = tl_thread_id(), seen = 0;
  TlValue *value;
  int i;

  __atomic_add_fetch(&race->inits, 1, __ATOMIC_SEQ_CST);
  thread_init_calls++;
  put_uint64(local, "tid", id);
  put_string(local, "color", "red");
  if (race->slow) {
    for (i = 0; i < 3; i++) {
      sched_yield();
      usleep(20);
      /* Whatever the others did meanwhile, this dictionary is still this thread's. */
      value = tl_local_peek(local, "tid");
      TL_CHECK(value != NULL && tl_value_get_uint64(value, &seen) == TL_OK && seen == id);
      TL_CHECK(tl_local_contains(local, "done") == 0);
    }
  }
  put(local, "p", tl_value_new_pointer(&race->value_destroyed, tl_test_count_destroy));
  put_int64(local, "done", 1);
  return 0;
}

static void
race_destroy(void *user_data)
{
  Race *race = user_data;

  __atomic_add_fetch(&race->destroyed, 1, __ATOMIC_SEQ_CST);
}

static void *
racer(void *arg)
{
  Racer *self = arg;
  Race *race = self->race;
  uint64_t id = tl_thread_id(), seen = 0;
  int round, before, status, kind;
  TlValue *value;

  for (round = 0; round < race->n_rounds; round++) {
    pthread_barrier_wait(&race->start);
    before = thread_init_calls;
    /* Every kind of first access, spread over threads and rounds. */
    kind = (round + self->index) % N_ACCESSES;
    status = access_local(race->local, kind);
    TL_CHECK(status >= 0);
    TL_CHECK(thread_init_calls == before + 1);
    value = tl_local_peek(race->local, "tid");
    if (kind != ACCESS_CLEAR)
      TL_CHECK(value != NULL && tl_value_get_uint64(value, &seen) == TL_OK && seen == id);
    TL_CHECK(access_local(race->local, ACCESS_SIZE) == TL_OK);
    TL_CHECK(thread_init_calls == before + 1);
    pthread_barrier_wait(&race->done);
  }
  pthread_barrier_wait(&race->start); /* exit only after the last round's checks */
  return NULL;
}

static void
run_race(int n_rounds, int slow)
{
  Race race;
  Racer racers[RACE_THREADS];
  pthread_t threads[RACE_THREADS];
  int i;

  memset(&race, 0, sizeof race);
  race.n_rounds = n_rounds;
  race.slow = slow;
  ck_assert_int_eq(pthread_barrier_init(&race.start, NULL, RACE_THREADS + 1), 0);
  ck_assert_int_eq(pthread_barrier_init(&race.done, NULL, RACE_THREADS + 1), 0);
  for (i = 0; i < RACE_THREADS; i++) {
    racers[i].race = &race;
    racers[i].index = i;
  }
  start_threads(threads, RACE_THREADS, racer, racers, sizeof racers[0]);
  for (race.round = 0; race.round < n_rounds; race.round++) {
    race.local = tl_local_new_full(TL_LOCAL_DEFAULT, init_race, &race, race_destroy);
    __atomic_store_n(&race.inits, 0, __ATOMIC_SEQ_CST);
    pthread_barrier_wait(&race.start);
    pthread_barrier_wait(&race.done);
    /* The threads' dictionaries live on until the local goes: one per thread. */
    if (race.inits != RACE_THREADS || tl_stats_live_dicts() != RACE_THREADS) {
      char text[100];
      snprintf(text, sizeof text, "round %d: %d initializer calls, %zu dictionaries", race.round,
               race.inits, tl_stats_live_dicts());
      tl_test_record_failure(__FILE__, __LINE__, text);
    }
    tl_local_unref(race.local);
    if (race.destroyed != race.round + 1 || race.value_destroyed != (race.round + 1) * RACE_THREADS)
      tl_test_record_failure(__FILE__, __LINE__, "user_data and values destroyed once each");
  }
  pthread_barrier_wait(&race.start);
  join_threads(threads, RACE_THREADS);
  pthread_barrier_destroy(&race.start);
  pthread_barrier_destroy(&race.done);
  tl_test_assert_no_failure();
  ck_assert_int_eq(race.destroyed, n_rounds);
  ck_assert_uint_eq(tl_stats_live_dicts(), 0);
}

START_TEST(test_race_first_access)
{
  run_race(tl_test_repeat(300), 0);
}
END_TEST

/* bpo-3088: a slow initializer (one that yields, as Python code releasing the GIL does) while other
 * threads initialize the same local. */
START_TEST(test_race_slow_init)
{
  run_race(tl_test_repeat(60), 1);
}
END_TEST

typedef struct {
  TlLocal *local;
  pthread_barrier_t *barrier;
} FreshRacer;

/* A brand-new thread: its first access also creates the thread's library state. */
static void *
fresh_racer(void *arg)
{
  FreshRacer *fresh = arg;
  uint64_t seen = 0;
  TlValue *value;

  pthread_barrier_wait(fresh->barrier);
  value = tl_local_peek(fresh->local, "tid");
  TL_CHECK(value != NULL && tl_value_get_uint64(value, &seen) == TL_OK && seen == tl_thread_id());
  TL_CHECK(thread_init_calls == 1);
  return NULL;
}

START_TEST(test_race_new_threads)
{
  const int n_rounds = tl_test_repeat(100);
  pthread_barrier_t barrier;
  FreshRacer fresh;
  Race race;
  int round;

  memset(&race, 0, sizeof race);
  fresh.barrier = &barrier;
  fresh.local = tl_local_new_full(TL_LOCAL_DEFAULT, init_race, &race, race_destroy);
  for (round = 0; round < n_rounds; round++) {
    ck_assert_int_eq(pthread_barrier_init(&barrier, NULL, RACE_THREADS), 0);
    tl_test_run_threads(RACE_THREADS, fresh_racer, &fresh);
    pthread_barrier_destroy(&barrier);
    tl_test_assert_no_failure();
    ck_assert_int_eq(race.inits, (round + 1) * RACE_THREADS);
    ck_assert_int_eq(race.value_destroyed, (round + 1) * RACE_THREADS); /* at thread exit */
  }
  ck_assert_uint_eq(tl_stats_live_dicts(), 0);
  tl_local_unref(fresh.local);
  ck_assert_int_eq(race.destroyed, 1);
}
END_TEST

/* ---- tl_local_new_with_args: C functions of any signature, through libffi ---- */

static TlValue *
parse(const char *type, const char *text)
{
  TlValue *value = NULL;

  ck_assert_int_eq(tl_value_parse(type, text, &value), TL_OK);
  return value;
}

/* Makes a tuple of items, dropping the items' references: the tuple (and then the local) holds
 * the only ones. */
static TlValue *
tuple_take(TlValue **items, size_t n)
{
  TlValue *tuple;
  size_t i;

  for (i = 0; i < n; i++)
    ck_assert_ptr_nonnull(items[i]);
  tuple = tl_value_new_tuple(items, n);
  ck_assert_ptr_nonnull(tuple);
  for (i = 0; i < n; i++)
    tl_value_unref(items[i]);
  return tuple;
}

static int
init_all(TlLocal *local, int b, uint8_t y, int16_t n, uint16_t q, int32_t i, uint32_t u, int64_t x,
         uint64_t t, double d, const char *s, const char *o, const char *g)
{
  thread_init_calls++;
  put(local, "self", tl_value_new_pointer(local, NULL));
  put_int64(local, "b", b);
  put_uint64(local, "y", y);
  put_int64(local, "n", n);
  put_uint64(local, "q", q);
  put_int64(local, "i", i);
  put_uint64(local, "u", u);
  put_int64(local, "x", x);
  put_uint64(local, "t", t);
  put_double(local, "d", d);
  put_string(local, "s", s);
  put_string(local, "o", o);
  put_string(local, "g", g);
  return 0;
}

typedef struct {
  int b;
  uint8_t y;
  int16_t n;
  uint16_t q;
  int32_t i;
  uint32_t u;
  int64_t x;
  uint64_t t;
  uint64_t d_bits;
  const char *s, *o, *g;
} AllArgs;

#define NAN_WITH_PAYLOAD 0x7ff8000000012345ull
#define NEGATIVE_NAN 0xfff0000000000001ull /* signalling, negative */

static const AllArgs all_args_sets[] = {
    {1, UINT8_MAX, INT16_MIN, UINT16_MAX, INT32_MIN, UINT32_MAX, INT64_MIN, UINT64_MAX,
     NAN_WITH_PAYLOAD, "", "/", ""},
    {0, 0, INT16_MAX, 0, INT32_MAX, 0, INT64_MAX, 0, 0x8000000000000000ull /* -0.0 */,
     "h\xc3\xa9llo w\xc3\xb6rld \xe2\x98\x83 \xf0\x9f\x98\x80 \xe6\x97\xa5\xe6\x9c\xac",
     "/org/example/Object_1", "a{sv}(iiddh)as"},
    {1, 0x80, -1, 0x8000, -1, 0x80000000u, -1, 0x8000000000000000ull,
     0x7ff0000000000000ull /* +inf */, "tab\tnewline\n'quote\"", "/a/b/c", "v"},
    {0, 1, 1, 1, 1, 1, 1, 1, 0x0000000000000001ull /* the smallest subnormal */, "x", "/x", "i"},
    {1, 0x7f, -32767, 32767, -2147483647, 2147483647u, -9007199254740993ll, 18446744073709551614ull,
     NEGATIVE_NAN, "\xe2\x82\xac", "/_", "(yyyy)"},
};

static TlValue *
all_args_tuple(const AllArgs *args)
{
  TlValue *items[12];
  char text[64];

  items[0] = tl_value_new_bool(args->b ? 42 : 0); /* any nonzero is true */
  items[1] = tl_value_new_byte(args->y);
  items[2] = tl_value_new_int16(args->n);
  items[3] = tl_value_new_uint16(args->q);
  items[4] = tl_value_new_int32(args->i);
  items[5] = tl_value_new_uint32(args->u);
  items[6] = tl_value_new_int64(args->x);
  items[7] = tl_value_new_uint64(args->t);
  items[8] = tl_value_new_double(bits_double(args->d_bits));
  items[9] = tl_value_new_string(args->s);
  snprintf(text, sizeof text, "'%s'", args->o);
  items[10] = parse("o", text);
  snprintf(text, sizeof text, "'%s'", args->g);
  items[11] = parse("g", text);
  return tuple_take(items, N_ELEMENTS(items));
}

static void
assert_all_args(TlLocal *local, const AllArgs *args)
{
  void *self = NULL;

  ck_assert_int_eq(tl_value_get_pointer(tl_local_peek(local, "self"), &self), TL_OK);
  ck_assert_ptr_eq(self, local);
  ck_assert_int_eq(peek_int64(local, "b"), args->b);
  ck_assert_uint_eq(peek_uint64(local, "y"), args->y);
  ck_assert_int_eq(peek_int64(local, "n"), args->n);
  ck_assert_uint_eq(peek_uint64(local, "q"), args->q);
  ck_assert_int_eq(peek_int64(local, "i"), args->i);
  ck_assert_uint_eq(peek_uint64(local, "u"), args->u);
  ck_assert_int_eq(peek_int64(local, "x"), args->x);
  ck_assert_uint_eq(peek_uint64(local, "t"), args->t);
  ck_assert_msg(peek_uint64(local, "d") == args->d_bits, "d: bits 0x%016llx, expected 0x%016llx",
                (unsigned long long) peek_uint64(local, "d"), (unsigned long long) args->d_bits);
  ck_assert_str_eq(peek_string(local, "s"), args->s);
  ck_assert_str_eq(peek_string(local, "o"), args->o);
  ck_assert_str_eq(peek_string(local, "g"), args->g);
}

START_TEST(test_args_all_basic_types)
{
  const AllArgs *expected = &all_args_sets[_i];
  TlValue *args = all_args_tuple(expected);
  TlLocal *local = tl_local_new_with_args(TL_LOCAL_DEFAULT, (TlCallback) init_all, 1, args);

  ck_assert_ptr_nonnull(local);
  ck_assert_str_eq(tl_value_type(args), "(bynqiuxtdsog)");
  tl_value_unref(args);
  assert_all_args(local, expected);
  tl_thread_clear();
  assert_all_args(local, expected); /* replayed */
  tl_local_unref(local);
  tl_test_assert_no_failure();
}
END_TEST

/* More than 6 integer and 8 floating-point arguments, interleaved: on x86-64 the rest go on the
 * stack, integers and doubles each in their own order. */
static int
init_mixed(TlLocal *local, int32_t a0, double d0, int64_t a1, double d1, uint8_t a2, double d2,
           int16_t a3, double d3, uint32_t a4, double d4, uint64_t a5, double d5, int a6, double d6,
           uint16_t a7, double d7, const char *a8, double d8, int32_t a9, double d9, double d10,
           uint8_t a10, int64_t a11, double d11, int16_t a12)
{
  put_int64(local, "a0", a0);
  put_int64(local, "a1", a1);
  put_uint64(local, "a2", a2);
  put_int64(local, "a3", a3);
  put_uint64(local, "a4", a4);
  put_uint64(local, "a5", a5);
  put_int64(local, "a6", a6);
  put_uint64(local, "a7", a7);
  put_string(local, "a8", a8);
  put_int64(local, "a9", a9);
  put_uint64(local, "a10", a10);
  put_int64(local, "a11", a11);
  put_int64(local, "a12", a12);
  put_double(local, "d0", d0);
  put_double(local, "d1", d1);
  put_double(local, "d2", d2);
  put_double(local, "d3", d3);
  put_double(local, "d4", d4);
  put_double(local, "d5", d5);
  put_double(local, "d6", d6);
  put_double(local, "d7", d7);
  put_double(local, "d8", d8);
  put_double(local, "d9", d9);
  put_double(local, "d10", d10);
  put_double(local, "d11", d11);
  return 0;
}

static const double mixed_doubles[12] = {0.5,  -1.25,    DBL_MAX, -DBL_MIN,  1e-310,  3.0e100,
                                         -0.0, INFINITY, 42.0,    -INFINITY, 1.0 / 3, 2.5e-7};

START_TEST(test_args_register_pressure)
{
  TlValue *items[25];
  TlLocal *local;
  char key[8];
  int i;

  items[0] = tl_value_new_int32(-123456789);
  items[2] = tl_value_new_int64(INT64_MIN + 7);
  items[4] = tl_value_new_byte(0xfe);
  items[6] = tl_value_new_int16(-2);
  items[8] = tl_value_new_uint32(0xdeadbeefu);
  items[10] = tl_value_new_uint64(0xfedcba9876543210ull);
  items[12] = tl_value_new_bool(1);
  items[14] = tl_value_new_uint16(0xfffe);
  items[16] = tl_value_new_string("on the stack");
  items[18] = tl_value_new_int32(INT32_MIN);
  items[21] = tl_value_new_byte(0x81);
  items[22] = tl_value_new_int64(-1);
  items[24] = tl_value_new_int16(INT16_MIN);
  for (i = 0; i < 12; i++) {
    static const int positions[12] = {1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 20, 23};
    items[positions[i]] = tl_value_new_double(mixed_doubles[i]);
  }
  {
    TlValue *args = tuple_take(items, N_ELEMENTS(items));

    ck_assert_str_eq(tl_value_type(args), "(idxdydndudtdbdqdsdiddyxdn)");
    local = tl_local_new_with_args(TL_LOCAL_VISITABLE, (TlCallback) init_mixed, 1, args);
    tl_value_unref(args);
  }
  ck_assert_ptr_nonnull(local);
  ck_assert_int_eq(peek_int64(local, "a0"), -123456789);
  ck_assert_int_eq(peek_int64(local, "a1"), INT64_MIN + 7);
  ck_assert_uint_eq(peek_uint64(local, "a2"), 0xfe);
  ck_assert_int_eq(peek_int64(local, "a3"), -2);
  ck_assert_uint_eq(peek_uint64(local, "a4"), 0xdeadbeefu);
  ck_assert_uint_eq(peek_uint64(local, "a5"), 0xfedcba9876543210ull);
  ck_assert_int_eq(peek_int64(local, "a6"), 1);
  ck_assert_uint_eq(peek_uint64(local, "a7"), 0xfffe);
  ck_assert_str_eq(peek_string(local, "a8"), "on the stack");
  ck_assert_int_eq(peek_int64(local, "a9"), INT32_MIN);
  ck_assert_uint_eq(peek_uint64(local, "a10"), 0x81);
  ck_assert_int_eq(peek_int64(local, "a11"), -1);
  ck_assert_int_eq(peek_int64(local, "a12"), INT16_MIN);
  for (i = 0; i < 12; i++) {
    snprintf(key, sizeof key, "d%d", i);
    assert_double_bits(local, key, mixed_doubles[i]);
  }
  tl_local_unref(local);
  tl_test_assert_no_failure();
}
END_TEST

/* Sixteen doubles then small integers, all of the latter on the stack: each narrow stack slot must
 * read back sign- or zero-extended as its type says. */
static void
init_stack(TlLocal *local, double d0, double d1, double d2, double d3, double d4, double d5,
           double d6, double d7, double d8, double d9, double d10, double d11, double d12,
           double d13, double d14, double d15, int16_t n0, uint8_t y0, int16_t n1, uint8_t y1,
           int16_t n2, uint8_t y2, int16_t n3, uint8_t y3, uint16_t q0, int b0, int16_t n4,
           uint8_t y4)
{
  const double doubles[16] = {d0, d1, d2, d3, d4, d5, d6, d7, d8, d9, d10, d11, d12, d13, d14, d15};
  const int64_t smalls[13] = {n0, y0, n1, y1, n2, y2, n3, y3, q0, b0, n4, y4, 0};
  char key[8];
  int i;

  for (i = 0; i < 16; i++) {
    snprintf(key, sizeof key, "d%d", i);
    put_double(local, key, doubles[i]);
  }
  for (i = 0; i < 12; i++) {
    snprintf(key, sizeof key, "s%d", i);
    put_int64(local, key, smalls[i]);
  }
}

START_TEST(test_args_stack_small_types)
{
  static const int64_t smalls[12] = {-1,   0xff, INT16_MIN, 0x80, INT16_MAX, 0,
                                     -300, 0x7f, 0xffff,    1,    -2,        0xfe};
  TlValue *items[28];
  TlLocal *local;
  char key[8];
  int i;

  for (i = 0; i < 16; i++)
    items[i] = tl_value_new_double(-(double) i - 0.5);
  for (i = 0; i < 12; i++) {
    int64_t v = smalls[i];
    switch (i) {
    case 8: items[16 + i] = tl_value_new_uint16((uint16_t) v); break;
    case 9: items[16 + i] = tl_value_new_bool((int) v); break;
    default:
      items[16 + i] = i % 2 == 0 ? tl_value_new_int16((int16_t) v) : tl_value_new_byte((uint8_t) v);
    }
  }
  {
    TlValue *args = tuple_take(items, N_ELEMENTS(items));

    ck_assert_str_eq(tl_value_type(args), "(ddddddddddddddddnynynynyqbny)");
    local = tl_local_new_with_args(TL_LOCAL_DEFAULT, (TlCallback) init_stack, 0, args);
    tl_value_unref(args);
  }
  ck_assert_ptr_nonnull(local);
  for (i = 0; i < 16; i++) {
    snprintf(key, sizeof key, "d%d", i);
    assert_double_bits(local, key, -(double) i - 0.5);
  }
  for (i = 0; i < 12; i++) {
    snprintf(key, sizeof key, "s%d", i);
    ck_assert_msg(peek_int64(local, key) == smalls[i], "%s: %lld, expected %lld", key,
                  (long long) peek_int64(local, key), (long long) smalls[i]);
  }
  tl_local_unref(local);
  tl_test_assert_no_failure();
}
END_TEST

/* Non-basic arguments arrive as borrowed TlValue pointers; basic ones between them still unpack. */
static int
init_values(TlLocal *local, const TlValue *as, int32_t i, const TlValue *dict, double d,
            const TlValue *pair, const char *s, const TlValue *variant, const TlValue *handle,
            const TlValue *bytes, const TlValue *maybe, const TlValue *nested)
{
  const TlValue *values[] = {as, dict, pair, variant, handle, bytes, maybe, nested};
  char key[8];
  size_t k;

  for (k = 0; k < N_ELEMENTS(values); k++) {
    snprintf(key, sizeof key, "v%zu", k);
    TL_CHECK(values[k] != NULL);
    if (values[k] != NULL)
      TL_CHECK(tl_local_set(local, key, (TlValue *) values[k]) == TL_OK); /* its own reference */
  }
  put_int64(local, "i", i);
  put_double(local, "d", d);
  put_string(local, "s", s);
  return 0;
}

static void
assert_printed(TlLocal *local, const char *key, const char *type, const char *text)
{
  TlValue *value = tl_local_peek(local, key);
  char *printed;

  ck_assert_ptr_nonnull(value);
  ck_assert_str_eq(tl_value_type(value), type);
  printed = tl_value_print(value, 1);
  ck_assert_ptr_nonnull(printed);
  ck_assert_str_eq(printed, text);
  tl_free(printed);
}

START_TEST(test_args_non_basic)
{
  TlValue *items[11], *strings[3], *keys_values[2], *child = NULL, *args;
  const char *const dict_keys[] = {"answer", "name"};
  const char *string = NULL;
  TlLocal *local;
  int32_t number = 0;
  size_t n = 0;
  int64_t big;

  strings[0] = tl_value_new_string("a");
  strings[1] = tl_value_new_string("");
  strings[2] = tl_value_new_string("\xc3\xbc");
  items[0] = tl_value_new_array("s", strings, 3);
  items[1] = tl_value_new_int32(-5);
  keys_values[0] = tl_value_new_int32(42);
  keys_values[1] = tl_value_new_string("deep thought");
  items[2] = tl_value_new_vardict(dict_keys, keys_values, 2);
  items[3] = tl_value_new_double(2.5);
  items[4] = parse("(ii)", "(1, -2)");
  items[5] = tl_value_new_string("between");
  items[6] = parse("v", "<int64 9>");
  items[7] = parse("h", "handle 3");
  items[8] = tl_value_new_bytes("\0\1\2", 3);
  items[9] = parse("ms", "just 'm'");
  items[10] = parse("a(sa{sv})", "[('x', {'k': <[1, 2]>})]");
  for (n = 0; n < 3; n++)
    tl_value_unref(strings[n]);
  tl_value_unref(keys_values[0]);
  tl_value_unref(keys_values[1]);
  args = tuple_take(items, N_ELEMENTS(items));
  ck_assert_str_eq(tl_value_type(args), "(asia{sv}d(ii)svhaymsa(sa{sv}))");
  local = tl_local_new_with_args(TL_LOCAL_DEFAULT, (TlCallback) init_values, 1, args);
  tl_value_unref(args);
  ck_assert_ptr_nonnull(local);

  assert_printed(local, "v0", "as", "['a', '', '\xc3\xbc']");
  ck_assert_int_eq(tl_value_n_children(tl_local_peek(local, "v0"), &n), TL_OK);
  ck_assert_uint_eq(n, 3);
  ck_assert_str_eq(tl_value_type(tl_local_peek(local, "v1")), "a{sv}");
  ck_assert_int_eq(tl_value_lookup(tl_local_peek(local, "v1"), "answer", &child), TL_OK);
  ck_assert_int_eq(tl_value_get_int32(child, &number), TL_OK);
  ck_assert_int_eq(number, 42);
  tl_value_unref(child);
  ck_assert_int_eq(tl_value_lookup(tl_local_peek(local, "v1"), "name", &child), TL_OK);
  ck_assert_int_eq(tl_value_get_string(child, &string), TL_OK);
  ck_assert_str_eq(string, "deep thought");
  tl_value_unref(child);
  assert_printed(local, "v2", "(ii)", "(1, -2)");
  ck_assert_int_eq(tl_value_get_child(tl_local_peek(local, "v2"), 1, &child), TL_OK);
  ck_assert_int_eq(tl_value_get_int32(child, &number), TL_OK);
  ck_assert_int_eq(number, -2);
  tl_value_unref(child);
  ck_assert_str_eq(tl_value_type(tl_local_peek(local, "v3")), "v");
  ck_assert_int_eq(tl_value_get_child(tl_local_peek(local, "v3"), 0, &child), TL_OK);
  ck_assert_int_eq(tl_value_get_int64(child, &big), TL_OK);
  ck_assert_int_eq(big, 9);
  tl_value_unref(child);
  assert_printed(local, "v4", "h", "handle 3");
  assert_printed(local, "v5", "ay", "[byte 0x00, 0x01, 0x02]");
  assert_printed(local, "v6", "ms", "@ms 'm'");
  assert_printed(local, "v7", "a(sa{sv})", "[('x', {'k': <[1, 2]>})]");
  ck_assert_int_eq(peek_int64(local, "i"), -5);
  assert_double_bits(local, "d", 2.5);
  ck_assert_str_eq(peek_string(local, "s"), "between");

  /* The same in another thread, after this thread's values are gone. */
  tl_thread_clear();
  assert_printed(local, "v0", "as", "['a', '', '\xc3\xbc']");
  assert_printed(local, "v4", "h", "handle 3");
  tl_local_unref(local);
  tl_test_assert_no_failure();
}
END_TEST

static int unit_calls;

static void
init_unit(TlLocal *local)
{
  __atomic_add_fetch(&unit_calls, 1, __ATOMIC_SEQ_CST);
  put(local, "self", tl_value_new_pointer(local, NULL));
}

static int
init_unit_int(TlLocal *local)
{
  init_unit(local);
  return 0;
}

/* "()" calls fn(local) alone; fn_returns_int 0 calls a void function. */
START_TEST(test_args_unit)
{
  TlValue *unit = tl_value_new_tuple(NULL, 0);
  TlLocal *local, *local_int;
  void *self = NULL;

  ck_assert_str_eq(tl_value_type(unit), "()");
  local = tl_local_new_with_args(TL_LOCAL_DEFAULT, (TlCallback) init_unit, 0, unit);
  local_int = tl_local_new_with_args(TL_LOCAL_DEFAULT, (TlCallback) init_unit_int, 1, unit);
  tl_value_unref(unit);
  ck_assert_ptr_nonnull(local);
  ck_assert_ptr_nonnull(local_int);
  ck_assert_int_eq(unit_calls, 0);
  ck_assert_int_eq(tl_value_get_pointer(tl_local_peek(local, "self"), &self), TL_OK);
  ck_assert_ptr_eq(self, local);
  ck_assert_int_eq(tl_value_get_pointer(tl_local_peek(local_int, "self"), &self), TL_OK);
  ck_assert_ptr_eq(self, local_int);
  ck_assert_int_eq(unit_calls, 2);
  ck_assert_uint_eq(tl_test_local_size(local), 1);
  ck_assert_int_eq(unit_calls, 2);
  tl_local_unref(local);
  tl_local_unref(local_int);
  tl_test_assert_no_failure();
}
END_TEST

/* A void function with arguments always succeeds. */
static void
init_void(TlLocal *local, const char *color, int32_t size)
{
  put_string(local, "color", color);
  put_int64(local, "size", size);
}

START_TEST(test_args_void_function)
{
  TlValue *items[2] = {tl_value_new_string("red"), tl_value_new_int32(-1)};
  TlValue *args = tuple_take(items, 2);
  TlLocal *local = tl_local_new_with_args(TL_LOCAL_DEFAULT, (TlCallback) init_void, 0, args);

  tl_value_unref(args);
  ck_assert_ptr_nonnull(local);
  ck_assert_int_eq(tl_local_contains(local, "color"), 1);
  ck_assert_str_eq(peek_string(local, "color"), "red");
  ck_assert_int_eq(peek_int64(local, "size"), -1);
  tl_local_unref(local);
  tl_test_assert_no_failure();
}
END_TEST

/* Fails (returning code) while fail_left is positive, after storing a counted pointer value. */
static int fail_left, fail_calls, fail_destroyed;

static int
init_may_fail(TlLocal *local, int32_t code, const char *key)
{
  __atomic_add_fetch(&fail_calls, 1, __ATOMIC_SEQ_CST);
  put(local, key, tl_value_new_pointer(&fail_destroyed, tl_test_count_destroy));
  if (fail_left > 0) {
    fail_left--;
    return code;
  }
  return 0;
}

START_TEST(test_args_init_fails)
{
  static const int32_t codes[] = {1, -1, INT32_MIN, INT32_MAX, 256};
  size_t i;

  for (i = 0; i < N_ELEMENTS(codes); i++) {
    TlValue *items[2] = {tl_value_new_int32(codes[i]), tl_value_new_string("k")};
    TlValue *args = tuple_take(items, 2);
    TlLocal *local = tl_local_new_with_args(TL_LOCAL_DEFAULT, (TlCallback) init_may_fail, 1, args);
    int hook_calls = 0;
    char code[16];

    tl_value_unref(args);
    ck_assert_ptr_nonnull(local);
    ck_assert_int_eq(tl_local_set_exit_hook(local, count_hook, &hook_calls, NULL), TL_OK);
    fail_left = 2;
    fail_calls = fail_destroyed = 0;
    ck_assert_ptr_null(tl_local_peek(local, "k"));
    ck_assert_int_eq(tl_last_error(), TL_ERR_INIT_FAILED);
    snprintf(code, sizeof code, "%d", codes[i]);
    ck_assert_msg(strstr(tl_last_error_message(), code) != NULL, "'%s' lacks %s",
                  tl_last_error_message(), code);
    ck_assert_int_eq(tl_local_contains(local, "k"), TL_ERR_INIT_FAILED);
    ck_assert_int_eq(fail_calls, 2);
    ck_assert_int_eq(fail_destroyed, 2);
    ck_assert_uint_eq(tl_stats_live_dicts(), 0);
    ck_assert_int_eq(tl_local_contains(local, "k"), 1);
    ck_assert_int_eq(fail_calls, 3);
    ck_assert_int_eq(hook_calls, 0);
    tl_local_unref(local);
    ck_assert_int_eq(fail_destroyed, 3);
    ck_assert_int_eq(hook_calls, 1);
  }
  tl_test_assert_no_failure();
}
END_TEST

START_TEST(test_args_errors)
{
  size_t locals = tl_stats_live_locals(), values = tl_stats_live_values();
  TlValue *one = tl_value_new_int32(1);
  TlValue *tuple = tl_value_new_tuple(&one, 1);
  TlValue *unit = tl_value_new_tuple(NULL, 0);
  TlValue *array = tl_value_new_array("i", &one, 1);
  TlValue *pointer = tl_value_new_pointer(&locals, NULL);
  TlValue *vardict = parse("a{sv}", "{}"), *boxed_tuple;
  TlValue *not_tuples[5];
  int calls = unit_calls;
  size_t i;

  boxed_tuple = parse("v", "<(1, 2)>");
  not_tuples[0] = one;
  not_tuples[1] = array;
  not_tuples[2] = pointer;
  not_tuples[3] = vardict;
  not_tuples[4] = boxed_tuple;

  /* Arguments without a function to take them. */
  ck_assert_ptr_null(tl_local_new_with_args(TL_LOCAL_DEFAULT, NULL, 0, tuple));
  ck_assert_int_eq(tl_last_error(), TL_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_null(tl_local_new_with_args(TL_LOCAL_DEFAULT, NULL, 1, unit));
  ck_assert_int_eq(tl_last_error(), TL_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_null(tl_local_new_with_args(TL_LOCAL_DEFAULT, NULL, 0, NULL));
  ck_assert_int_eq(tl_last_error(), TL_ERR_INVALID_ARGUMENT);
  /* No arguments at all: "()" is the way to say none. */
  ck_assert_ptr_null(tl_local_new_with_args(TL_LOCAL_DEFAULT, (TlCallback) init_unit, 0, NULL));
  ck_assert_int_eq(tl_last_error(), TL_ERR_INVALID_ARGUMENT);
  for (i = 0; i < N_ELEMENTS(not_tuples); i++) {
    ck_assert_ptr_nonnull(not_tuples[i]);
    ck_assert_ptr_null(
        tl_local_new_with_args(TL_LOCAL_DEFAULT, (TlCallback) init_unit, 0, not_tuples[i]));
    ck_assert_msg(tl_last_error() == TL_ERR_WRONG_TYPE, "%s: %s", tl_value_type(not_tuples[i]),
                  tl_status_name(tl_last_error()));
  }
  ck_assert_ptr_null(tl_local_new_with_args(1u << 3, (TlCallback) init_unit, 0, unit));
  ck_assert_int_eq(tl_last_error(), TL_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_null(
      tl_local_new_with_args(TL_LOCAL_VISITABLE | 0x80000000u, (TlCallback) init_unit, 0, unit));
  ck_assert_int_eq(tl_last_error(), TL_ERR_INVALID_ARGUMENT);
  ck_assert_uint_eq(tl_stats_live_locals(), locals);
  ck_assert_int_eq(unit_calls, calls);

  tl_value_unref(one);
  tl_value_unref(tuple);
  tl_value_unref(unit);
  tl_value_unref(array);
  tl_value_unref(pointer);
  tl_value_unref(vardict);
  tl_value_unref(boxed_tuple);
  ck_assert_uint_eq(tl_stats_live_values(), values); /* failed calls kept no reference */
}
END_TEST

/* The most an initializer takes: 126 arguments after the local (127 parameters, what C compilers
 * must accept), nearly all of them on the stack. X is applied to 0 .. 125, comma-separated. */
#define ARGS_TEN(X, tens)                                                                          \
  X(tens##0), X(tens##1), X(tens##2), X(tens##3), X(tens##4), X(tens##5), X(tens##6), X(tens##7),  \
      X(tens##8), X(tens##9)
#define ARGS_126(X)                                                                                \
  X(0), X(1), X(2), X(3), X(4), X(5), X(6), X(7), X(8), X(9), ARGS_TEN(X, 1), ARGS_TEN(X, 2),      \
      ARGS_TEN(X, 3), ARGS_TEN(X, 4), ARGS_TEN(X, 5), ARGS_TEN(X, 6), ARGS_TEN(X, 7),              \
      ARGS_TEN(X, 8), ARGS_TEN(X, 9), ARGS_TEN(X, 10), ARGS_TEN(X, 11), X(120), X(121), X(122),    \
      X(123), X(124), X(125)
#define ARG_PARAMETER(n) int32_t a##n
#define ARG_NAME(n) a##n

/* The sum, and a sum weighted by position, so that an argument read from the wrong slot shows. */
static int
init_126_args(TlLocal *local, ARGS_126(ARG_PARAMETER))
{
  const int32_t args[] = {ARGS_126(ARG_NAME)};
  int64_t sum = 0, weighted = 0;
  size_t i;

  TL_CHECK(N_ELEMENTS(args) == 126);
  for (i = 0; i < N_ELEMENTS(args); i++) {
    sum += args[i];
    weighted += (int64_t) (i + 1) * args[i];
  }
  put_int64(local, "sum", sum);
  put_int64(local, "weighted", weighted);
  return 0;
}

static int32_t
argument_126(int i)
{
  return (int32_t) (i * i * 1009) - 8000000; /* distinct, of both signs */
}

START_TEST(test_args_126)
{
  TlValue *items[126], *args;
  TlLocal *local;
  int64_t sum = 0, weighted = 0;
  int i;

  for (i = 0; i < 126; i++) {
    items[i] = tl_value_new_int32(argument_126(i));
    sum += argument_126(i);
    weighted += (int64_t) (i + 1) * argument_126(i);
  }
  args = tuple_take(items, 126);
  local = tl_local_new_with_args(TL_LOCAL_DEFAULT, (TlCallback) init_126_args, 1, args);
  tl_value_unref(args);
  ck_assert_ptr_nonnull(local);
  ck_assert_int_eq(peek_int64(local, "sum"), sum);
  ck_assert_int_eq(peek_int64(local, "weighted"), weighted);
  tl_local_unref(local);
  tl_test_assert_no_failure();
}
END_TEST

/* One more is refused at creation, and so is a tuple whose arguments would overflow the stack of
 * the thread that replays them (libffi copies every argument there): no local is made. */
START_TEST(test_args_too_many)
{
  static const size_t sizes[] = {127, 100000};
  size_t locals = tl_stats_live_locals(), values, i, k;
  TlValue *one = tl_value_new_int32(1);

  for (k = 0; k < N_ELEMENTS(sizes); k++) {
    TlValue **items = malloc(sizes[k] * sizeof *items), *args;

    ck_assert_ptr_nonnull(items);
    for (i = 0; i < sizes[k]; i++)
      items[i] = one;
    args = tl_value_new_tuple(items, sizes[k]);
    free(items);
    ck_assert_ptr_nonnull(args);
    values = tl_stats_live_values();
    ck_assert_ptr_null(
        tl_local_new_with_args(TL_LOCAL_DEFAULT, (TlCallback) init_126_args, 1, args));
    ck_assert_int_eq(tl_last_error(), TL_ERR_INVALID_ARGUMENT);
    ck_assert_uint_eq(tl_stats_live_locals(), locals);
    ck_assert_uint_eq(tl_stats_live_values(), values);
    tl_value_unref(args);
  }
  tl_value_unref(one);
}
END_TEST

typedef struct {
  TlLocal *local;
  const AllArgs *expected;
  int mismatches;
} Replay;

static void *
replay_worker(void *arg)
{
  Replay *replay = arg;
  const AllArgs *expected = replay->expected;
  TlValue *value;
  const char *string = NULL;
  int64_t x = 0;
  uint64_t t = 0, d = 0;

  TL_CHECK(thread_init_calls == 0);
  value = tl_local_peek(replay->local, "x");
  TL_CHECK(value != NULL && tl_value_get_int64(value, &x) == TL_OK && x == expected->x);
  value = tl_local_peek(replay->local, "t");
  TL_CHECK(value != NULL && tl_value_get_uint64(value, &t) == TL_OK && t == expected->t);
  value = tl_local_peek(replay->local, "d");
  TL_CHECK(value != NULL && tl_value_get_uint64(value, &d) == TL_OK && d == expected->d_bits);
  value = tl_local_peek(replay->local, "s");
  TL_CHECK(value != NULL && tl_value_get_string(value, &string) == TL_OK &&
           strcmp(string, expected->s) == 0);
  value = tl_local_peek(replay->local, "g");
  TL_CHECK(value != NULL && tl_value_get_string(value, &string) == TL_OK &&
           strcmp(string, expected->g) == 0);
  TL_CHECK(thread_init_calls == 1);
  return NULL;
}

/* The caller's args, and every item, may go right after creation: the local keeps its own. Later
 * threads, many at once, still get every argument. */
START_TEST(test_args_replay_in_threads)
{
  const int n_rounds = tl_test_repeat(40);
  size_t values = tl_stats_live_values();
  Replay replay;
  int round;

  for (round = 0; round < n_rounds; round++) {
    TlValue *args;

    replay.expected = &all_args_sets[(size_t) round % N_ELEMENTS(all_args_sets)];
    args = all_args_tuple(replay.expected); /* its items are already released */
    replay.local = tl_local_new_with_args(TL_LOCAL_DEFAULT, (TlCallback) init_all, 1, args);
    tl_value_unref(args);
    ck_assert_ptr_nonnull(replay.local);
    tl_test_run_threads(RACE_THREADS, replay_worker, &replay);
    tl_test_assert_no_failure();
    tl_local_unref(replay.local);
    ck_assert_uint_eq(tl_stats_live_values(), values);
  }
}
END_TEST

/* Strings reach the function as pointers into the args tuple, unpacked once at creation. They must
 * stay valid whatever the caller does with its tuple: a GVariant tuple kept in tree form drops its
 * children when it is serialised (tl_value_equal() does that), which left those pointers dangling
 * before values were serialised on creation. */
#define LONG_STRING "a string long enough to sit in its own heap block, not inline"

static void
init_copy_strings(TlLocal *local, const char *string, const char *path)
{
  put_string(local, "s", string);
  put_string(local, "o", path);
}

static void *
check_strings(void *arg)
{
  TlValue *value = tl_local_peek(arg, "s");
  const char *string = NULL;

  TL_CHECK(value != NULL && tl_value_get_string(value, &string) == TL_OK &&
           strcmp(string, LONG_STRING) == 0);
  value = tl_local_peek(arg, "o");
  TL_CHECK(value != NULL && tl_value_get_string(value, &string) == TL_OK &&
           strcmp(string, "/a/path/long/enough/to/be/allocated/on/its/own") == 0);
  return NULL;
}

START_TEST(test_args_strings_survive_serialisation)
{
  TlValue *items[2] = {tl_value_new_string(LONG_STRING),
                       parse("o", "'/a/path/long/enough/to/be/allocated/on/its/own'")};
  TlValue *args = tuple_take(items, 2), *other;
  TlLocal *local =
      tl_local_new_with_args(TL_LOCAL_DEFAULT, (TlCallback) init_copy_strings, 0, args);
  pthread_t threads[4];
  char *printed;
  int i;

  /* The caller may go on using its tuple, from any thread, while the local replays it. */
  ck_assert_int_eq(tl_value_equal(args, args), 1);
  ck_assert_str_eq(peek_string(local, "s"), LONG_STRING);
  for (i = 0; i < 4; i++)
    ck_assert_int_eq(pthread_create(&threads[i], NULL, check_strings, local), 0);
  printed = tl_value_print(args, 1);
  ck_assert_int_eq(tl_value_parse(NULL, printed, &other), TL_OK);
  ck_assert_int_eq(tl_value_equal(args, other), 1);
  tl_free(printed);
  tl_value_unref(other);
  tl_value_unref(args);
  join_threads(threads, 4);
  tl_test_assert_no_failure();
  tl_thread_clear();
  check_strings(local);
  tl_test_assert_no_failure();
  tl_local_unref(local);
}
END_TEST

Suite *
init_suite(void)
{
  Suite *suite = suite_create("init");
  TCase *tcase;

  tcase = tl_test_case("once per thread");
  tcase_add_loop_test(tcase, test_first_access_runs_init, 0, N_ACCESSES);
  tcase_add_test(tcase, test_bad_input_runs_no_init);
  tcase_add_test(tcase, test_init_again_after_thread_clear);
  tcase_add_test(tcase, test_init_per_thread);
  tcase_add_test(tcase, test_user_data_destroy);
  tcase_add_test(tcase, test_new_full_unknown_flags);
  suite_add_tcase(suite, tcase);

  tcase = tl_test_case("reentrant init");
  tcase_add_test(tcase, test_init_uses_own_local);
  tcase_add_test(tcase, test_nested_inits);
  tcase_add_test(tcase, test_nested_init_fails);
  tcase_add_test(tcase, test_init_makes_locals);
  suite_add_tcase(suite, tcase);

  tcase = tl_test_case("failure");
  tcase_add_loop_test(tcase, test_failure_each_access, 0, N_ACCESSES);
  tcase_add_test(tcase, test_failure_retries);
  tcase_add_test(tcase, test_failure_in_threads);
  tcase_add_loop_test(tcase, test_init_side_effect_clears_thread, 0, 4);
  tcase_add_test(tcase, test_failure_destroy_reads_local);
  suite_add_tcase(suite, tcase);

  tcase = tl_test_case("races");
  tcase_add_test(tcase, test_race_first_access);
  tcase_add_test(tcase, test_race_slow_init);
  tcase_add_test(tcase, test_race_new_threads);
  suite_add_tcase(suite, tcase);

  tcase = tl_test_case("with args");
  tcase_add_loop_test(tcase, test_args_all_basic_types, 0, (int) N_ELEMENTS(all_args_sets));
  tcase_add_test(tcase, test_args_register_pressure);
  tcase_add_test(tcase, test_args_stack_small_types);
  tcase_add_test(tcase, test_args_non_basic);
  tcase_add_test(tcase, test_args_unit);
  tcase_add_test(tcase, test_args_void_function);
  tcase_add_test(tcase, test_args_init_fails);
  tcase_add_test(tcase, test_args_errors);
  tcase_add_test(tcase, test_args_126);
  tcase_add_test(tcase, test_args_too_many);
  tcase_add_test(tcase, test_args_replay_in_threads);
  tcase_add_test(tcase, test_args_strings_survive_serialisation);
  suite_add_tcase(suite, tcase);

  return suite;
}
