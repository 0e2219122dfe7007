/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Exit hooks: exactly once per dictionary, for each reason (thread exit, tl_thread_clear(), the
 * local's destruction), on the right thread, with a snapshot of the dictionary; no library lock
 * held while they run; replacing and removing them; thread exits racing the local's destruction. */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tl-test.h"

/* ---- values ---- */

/* Usable anywhere: failures are recorded. */
static void
put(TlLocal *local, const char *key, TlValue *value)
{
  TL_CHECK(value != NULL);
  TL_CHECK(tl_local_set(local, key, value) == TL_OK);
  tl_value_unref(value);
}

static void
put_int(TlLocal *local, const char *key, int32_t number)
{
  put(local, key, tl_value_new_int32(number));
}

/* The values every dictionary in these tests holds: "index", "s" = "thread-<index>", and "p", a
 * pointer value counting its destruction in *destroyed. */
static void
put_values(TlLocal *local, int32_t index, int *destroyed)
{
  char string[32];

  snprintf(string, sizeof string, "thread-%d", (int) index);
  put_int(local, "index", index);
  put(local, "s", tl_value_new_string(string));
  put(local, "p", tl_value_new_pointer(destroyed, tl_test_count_destroy));
}

static int
load(const int *counter)
{
  return __atomic_load_n(counter, __ATOMIC_SEQ_CST);
}

/* ---- a hook that logs every call ---- */

enum { MAX_CALLS = 64 };

typedef struct {
  int reason;
  uint64_t thread_id; /* the argument */
  uint64_t caller_id; /* tl_thread_id() inside the hook */
  pthread_t caller;   /* pthread_self() inside the hook */
  int contents_ok;    /* contents is an "a{sv}" */
  size_t n_keys;
  int32_t index;         /* contents "index", or -1 */
  void *pointer;         /* contents "p", or NULL */
  int pointer_destroyed; /* *pointer during the call */
  char string[32];       /* contents "s", or "" */
} HookCall;

typedef struct {
  pthread_mutex_t mutex;
  HookCall calls[MAX_CALLS];
  int n_calls;
  int overflow;
  int destroyed;        /* user_data_destroy calls */
  int calls_at_destroy; /* n_calls when user_data_destroy ran */
  int use_library;      /* the hook also makes, fills and destroys a local of its own */
} HookLog;

static void
hook_log_init(HookLog *log)
{
  memset(log, 0, sizeof *log);
  ck_assert_int_eq(pthread_mutex_init(&log->mutex, NULL), 0);
}

static void
hook_log_fini(HookLog *log)
{
  ck_assert_int_eq(log->overflow, 0);
  pthread_mutex_destroy(&log->mutex);
}

static int
log_n_calls(HookLog *log)
{
  int n;

  pthread_mutex_lock(&log->mutex);
  n = log->n_calls;
  pthread_mutex_unlock(&log->mutex);
  return n;
}

static void
log_hook(int reason, uint64_t thread_id, TlValue *contents, void *user_data)
{
  HookLog *log = user_data;
  HookCall call;
  TlValue *found = NULL;
  const char *string = NULL;

  memset(&call, 0, sizeof call);
  call.reason = reason;
  call.thread_id = thread_id;
  call.caller_id = tl_thread_id();
  call.caller = pthread_self();
  call.index = -1;
  call.contents_ok = tl_value_type(contents) != NULL &&
                     strcmp(tl_value_type(contents), "a{sv}") == 0 &&
                     tl_value_n_children(contents, &call.n_keys) == TL_OK;
  if (tl_value_lookup(contents, "index", &found) == TL_OK)
    TL_CHECK(tl_value_get_int32(found, &call.index) == TL_OK);
  tl_value_unref(found);
  found = NULL;
  if (tl_value_lookup(contents, "p", &found) == TL_OK) {
    TL_CHECK(tl_value_get_pointer(found, &call.pointer) == TL_OK);
    if (call.pointer != NULL)
      call.pointer_destroyed = load(call.pointer);
  }
  tl_value_unref(found);
  found = NULL;
  if (tl_value_lookup(contents, "s", &found) == TL_OK &&
      tl_value_get_string(found, &string) == TL_OK)
    snprintf(call.string, sizeof call.string, "%s", string);
  tl_value_unref(found);

  if (log->use_library) {
    TlLocal *temporary = tl_local_new();
    put_int(temporary, "t", 1);
    tl_local_unref(temporary);
  }

  pthread_mutex_lock(&log->mutex);
  if (log->n_calls < MAX_CALLS)
    log->calls[log->n_calls++] = call;
  else
    log->overflow++;
  pthread_mutex_unlock(&log->mutex);
}

static void
log_destroy(void *user_data)
{
  HookLog *log = user_data;

  pthread_mutex_lock(&log->mutex);
  log->destroyed++;
  log->calls_at_destroy = log->n_calls;
  pthread_mutex_unlock(&log->mutex);
}

/* @return the one call that logged a dictionary with "index" == index (asserting there is one). */
static const HookCall *
only_call(HookLog *log, int32_t index)
{
  const HookCall *found = NULL;
  int i, n = 0;

  for (i = 0; i < log->n_calls; i++) {
    if (log->calls[i].index == index) {
      found = &log->calls[i];
      n++;
    }
  }
  ck_assert_msg(n == 1, "%d hook calls for the dictionary with index %d", n, (int) index);
  return found;
}

static void
count_hook(int reason, uint64_t thread_id, TlValue *contents, void *user_data)
{
  __atomic_add_fetch((int *) user_data, 1, __ATOMIC_SEQ_CST);
}

/* ---- threads ---- */

typedef struct {
  TlLocal *local;
  int32_t index;
  int destroyed; /* the "p" value's */
  uint64_t id;
  pthread_t self;
  pthread_barrier_t *barrier; /* waited on `waits` times after setting the values */
  int waits;
  int spin;        /* yields before exiting */
  int clear_first; /* tl_thread_clear(), then set the values again as index + 100 */
  int second_destroyed;
} Worker;

static void *
worker_main(void *arg)
{
  Worker *worker = arg;
  int i;

  worker->id = tl_thread_id();
  worker->self = pthread_self();
  put_values(worker->local, worker->index, &worker->destroyed);
  if (worker->clear_first) {
    tl_thread_clear();
    put_values(worker->local, worker->index + 100, &worker->second_destroyed);
  }
  for (i = 0; i < worker->waits; i++)
    pthread_barrier_wait(worker->barrier);
  for (i = 0; i < worker->spin; i++)
    sched_yield();
  return NULL;
}

static void
workers_init(Worker *workers, int n, TlLocal *local)
{
  int i;

  memset(workers, 0, (size_t) n * sizeof *workers);
  for (i = 0; i < n; i++) {
    workers[i].local = local;
    workers[i].index = i;
  }
}

static void
workers_start(Worker *workers, pthread_t *threads, int n)
{
  int i;

  for (i = 0; i < n; i++)
    ck_assert_int_eq(pthread_create(&threads[i], NULL, worker_main, &workers[i]), 0);
}

static void
workers_join(pthread_t *threads, int n)
{
  int i;

  for (i = 0; i < n; i++)
    ck_assert_int_eq(pthread_join(threads[i], NULL), 0);
}

static TlLocal *
new_logged_local(HookLog *log)
{
  TlLocal *local = tl_local_new();

  ck_assert_ptr_nonnull(local);
  hook_log_init(log);
  ck_assert_int_eq(tl_local_set_exit_hook(local, log_hook, log, log_destroy), TL_OK);
  return local;
}

/* Asserts call logged the dictionary of worker, freed for reason on the thread whose library id
 * is caller_id. */
static void
assert_call(const HookCall *call, const Worker *worker, int reason, uint64_t caller_id)
{
  char string[32];

  ck_assert_int_eq(call->reason, reason);
  ck_assert_uint_eq(call->thread_id, worker->id);
  ck_assert_uint_eq(call->caller_id, caller_id);
  ck_assert_int_eq(call->contents_ok, 1);
  ck_assert_uint_eq(call->n_keys, 3);
  ck_assert_ptr_eq(call->pointer, &worker->destroyed);
  ck_assert_int_eq(call->pointer_destroyed, 0); /* the values live until the hook returns */
  snprintf(string, sizeof string, "thread-%d", (int) worker->index);
  ck_assert_str_eq(call->string, string);
}

/* ---- each reason ---- */

START_TEST(test_thread_exit)
{
  enum { N = 4 };
  HookLog log;
  TlLocal *local = new_logged_local(&log);
  Worker workers[N];
  pthread_t threads[N];
  int i, j;

  workers_init(workers, N, local);
  workers_start(workers, threads, N);
  workers_join(threads, N);
  tl_test_assert_no_failure();

  ck_assert_int_eq(log.n_calls, N);
  for (i = 0; i < N; i++) {
    const HookCall *call = only_call(&log, i);

    /* On the exiting thread itself. */
    assert_call(call, &workers[i], TL_FREED_THREAD_EXIT, workers[i].id);
    ck_assert(pthread_equal(call->caller, workers[i].self));
    ck_assert_int_eq(workers[i].destroyed, 1);
    ck_assert_uint_ne(workers[i].id, tl_thread_id());
    for (j = 0; j < i; j++)
      ck_assert_uint_ne(workers[i].id, workers[j].id);
  }
  ck_assert_uint_eq(tl_stats_live_dicts(), 0);
  ck_assert_int_eq(log.destroyed, 0);
  tl_local_unref(local);
  ck_assert_int_eq(log.n_calls, N);
  ck_assert_int_eq(log.destroyed, 1);
  ck_assert_int_eq(log.calls_at_destroy, N);
  hook_log_fini(&log);
}
END_TEST

START_TEST(test_thread_clear)
{
  HookLog log;
  TlLocal *local = new_logged_local(&log);
  Worker me, clearing;
  pthread_t thread;
  const HookCall *call;
  int round;

  workers_init(&me, 1, local);
  me.id = tl_thread_id();
  for (round = 0; round < 3; round++) {
    me.destroyed = 0;
    me.index = round;
    put_values(local, round, &me.destroyed);
    ck_assert_int_eq(log.n_calls, round);
    tl_thread_clear();
    ck_assert_int_eq(log.n_calls, round + 1);
    call = only_call(&log, round);
    assert_call(call, &me, TL_FREED_THREAD_CLEAR, tl_thread_id());
    ck_assert(pthread_equal(call->caller, pthread_self()));
    ck_assert_int_eq(me.destroyed, 1);
    /* Nothing left to free: no call. */
    tl_thread_clear();
    ck_assert_int_eq(log.n_calls, round + 1);
  }
  ck_assert_uint_eq(tl_thread_id(), me.id); /* stable across tl_thread_clear() */

  /* A thread that clears, then fills the local again and exits: one call for each dictionary. */
  workers_init(&clearing, 1, local);
  clearing.index = 10;
  clearing.clear_first = 1;
  ck_assert_int_eq(pthread_create(&thread, NULL, worker_main, &clearing), 0);
  ck_assert_int_eq(pthread_join(thread, NULL), 0);
  tl_test_assert_no_failure();
  ck_assert_int_eq(log.n_calls, 5);
  call = only_call(&log, 10);
  assert_call(call, &clearing, TL_FREED_THREAD_CLEAR, clearing.id);
  ck_assert(pthread_equal(call->caller, clearing.self));
  call = only_call(&log, 110);
  ck_assert_int_eq(call->reason, TL_FREED_THREAD_EXIT);
  ck_assert_uint_eq(call->thread_id, clearing.id);
  ck_assert_uint_eq(call->caller_id, clearing.id);
  ck_assert_ptr_eq(call->pointer, &clearing.second_destroyed);
  ck_assert_int_eq(clearing.destroyed, 1);
  ck_assert_int_eq(clearing.second_destroyed, 1);

  tl_local_unref(local);
  ck_assert_int_eq(log.n_calls, 5);
  ck_assert_int_eq(log.destroyed, 1);
  hook_log_fini(&log);
}
END_TEST

/* The last reference goes while threads with dictionaries still run: every dictionary's hook runs
 * at once, on the destroying thread, and never again when those threads exit. */
START_TEST(test_local_destroyed)
{
  enum { N = 4 };
  HookLog log;
  TlLocal *local = new_logged_local(&log);
  Worker workers[N + 1];
  pthread_t threads[N];
  pthread_barrier_t barrier;
  size_t dicts = tl_stats_live_dicts();
  int i;

  ck_assert_int_eq(pthread_barrier_init(&barrier, NULL, N + 1), 0);
  workers_init(workers, N + 1, local);
  for (i = 0; i < N; i++) {
    workers[i].barrier = &barrier;
    workers[i].waits = 2;
  }
  workers[N].id = tl_thread_id(); /* this thread's dictionary, index N */
  put_values(local, N, &workers[N].destroyed);
  workers_start(workers, threads, N);
  pthread_barrier_wait(&barrier); /* every thread has set its values */
  ck_assert_uint_eq(tl_stats_live_dicts(), dicts + N + 1);
  ck_assert_int_eq(log.n_calls, 0);

  tl_local_unref(local);
  ck_assert_int_eq(log.n_calls, N + 1);
  for (i = 0; i <= N; i++) {
    const HookCall *call = only_call(&log, i);

    assert_call(call, &workers[i], TL_FREED_LOCAL_DESTROYED, tl_thread_id());
    ck_assert(pthread_equal(call->caller, pthread_self()));
    ck_assert_int_eq(workers[i].destroyed, 1); /* on this thread, too */
  }
  ck_assert_int_eq(log.destroyed, 1);
  ck_assert_int_eq(log.calls_at_destroy, N + 1);
  ck_assert_uint_eq(tl_stats_live_dicts(), dicts);

  pthread_barrier_wait(&barrier); /* let them exit */
  workers_join(threads, N);
  pthread_barrier_destroy(&barrier);
  tl_test_assert_no_failure();
  ck_assert_int_eq(log.n_calls, N + 1);
  ck_assert_int_eq(log.destroyed, 1);
  hook_log_fini(&log);
}
END_TEST

/* What the hook sees: an "a{sv}" of the dictionary's live keys; pointer and "h" values come back
 * through tl_value_lookup() as the very same values. */
typedef struct {
  int calls;
  char type[16];
  size_t n_keys;
  TlValue *found[8]; /* new references from tl_value_lookup(), by key */
  int statuses[8];
} Contents;

static const char *const content_keys[] = {"i", "s", "p", "h", "as", "nested", "bytes", "gone"};

static void
contents_hook(int reason, uint64_t thread_id, TlValue *contents, void *user_data)
{
  Contents *seen = user_data;
  size_t i;

  seen->calls++;
  snprintf(seen->type, sizeof seen->type, "%s", tl_value_type(contents));
  TL_CHECK(tl_value_n_children(contents, &seen->n_keys) == TL_OK);
  for (i = 0; i < N_ELEMENTS(content_keys); i++) {
    tl_value_unref(seen->found[i]);
    seen->found[i] = NULL;
    seen->statuses[i] = tl_value_lookup(contents, content_keys[i], &seen->found[i]);
  }
}

static TlValue *
parse(const char *type, const char *text)
{
  TlValue *value = NULL;

  ck_assert_int_eq(tl_value_parse(type, text, &value), TL_OK);
  return value;
}

START_TEST(test_contents)
{
  Contents seen;
  TlLocal *local = tl_local_new();
  TlValue *values[8];
  const char *string = NULL;
  void *ptr = NULL;
  int destroyed = 0, i;
  int32_t number = 0;
  char *printed;

  memset(&seen, 0, sizeof seen);
  ck_assert_int_eq(tl_local_set_exit_hook(local, contents_hook, &seen, NULL), TL_OK);
  values[0] = tl_value_new_int32(-7);
  values[1] = tl_value_new_string("h\xc3\xa9llo");
  values[2] = tl_value_new_pointer(&destroyed, tl_test_count_destroy);
  values[3] = parse("h", "handle 7");
  values[4] = parse("as", "['x', 'y']");
  values[5] = parse("a{sv}", "{'k': <int64 5>}");
  values[6] = tl_value_new_bytes("ab", 2);
  values[7] = tl_value_new_int32(0);
  for (i = 0; i < 8; i++)
    ck_assert_int_eq(tl_local_set(local, content_keys[i], values[i]), TL_OK);
  ck_assert_int_eq(tl_local_delete(local, "gone"), TL_OK);
  tl_thread_clear();
  tl_test_assert_no_failure();

  ck_assert_int_eq(seen.calls, 1);
  ck_assert_str_eq(seen.type, "a{sv}");
  ck_assert_uint_eq(seen.n_keys, 7);
  for (i = 0; i < 7; i++)
    ck_assert_msg(seen.statuses[i] == TL_OK, "%s: %s", content_keys[i],
                  tl_status_name(seen.statuses[i]));
  ck_assert_int_eq(seen.statuses[7], TL_ERR_NOT_FOUND);
  ck_assert_ptr_null(seen.found[7]);
  ck_assert_int_eq(tl_value_get_int32(seen.found[0], &number), TL_OK);
  ck_assert_int_eq(number, -7);
  ck_assert_int_eq(tl_value_get_string(seen.found[1], &string), TL_OK);
  ck_assert_str_eq(string, "h\xc3\xa9llo");
  /* By reference: the very same value, so the very same pointer. */
  ck_assert_ptr_eq(seen.found[2], values[2]);
  ck_assert_int_eq(tl_value_get_pointer(seen.found[2], &ptr), TL_OK);
  ck_assert_ptr_eq(ptr, &destroyed);
  ck_assert_ptr_eq(seen.found[3], values[3]);
  ck_assert_str_eq(tl_value_type(seen.found[3]), "h");
  for (i = 4; i < 7; i++)
    ck_assert_int_eq(tl_value_equal(seen.found[i], values[i]), 1);
  printed = tl_value_print(seen.found[5], 1);
  ck_assert_str_eq(printed, "{'k': <int64 5>}");
  tl_free(printed);

  /* Our references keep the pointer value alive; its destroy function runs once, with the last. */
  for (i = 0; i < 8; i++)
    tl_value_unref(values[i]);
  ck_assert_int_eq(destroyed, 0);
  for (i = 0; i < 8; i++) {
    tl_value_unref(seen.found[i]);
    seen.found[i] = NULL;
  }
  ck_assert_int_eq(destroyed, 1);

  /* A dictionary emptied by its thread still gets its call, with an empty snapshot. */
  put_int(local, "k", 1);
  ck_assert_int_eq(tl_local_delete(local, "k"), TL_OK);
  tl_thread_clear();
  ck_assert_int_eq(seen.calls, 2);
  ck_assert_str_eq(seen.type, "a{sv}");
  ck_assert_uint_eq(seen.n_keys, 0);
  for (i = 0; i < 8; i++) {
    ck_assert_int_eq(seen.statuses[i], TL_ERR_NOT_FOUND);
    ck_assert_ptr_null(seen.found[i]);
  }
  put_int(local, "k", 1);
  ck_assert_int_eq(tl_local_clear(local), TL_OK);
  tl_local_unref(local);
  ck_assert_int_eq(seen.calls, 3);
  ck_assert_uint_eq(seen.n_keys, 0);
  tl_test_assert_no_failure();
}
END_TEST

static void *
only_reads(void *arg)
{
  TlLocal *local = arg;
  TlValue *snapshot = NULL;
  size_t size = 1;

  TL_CHECK(tl_local_peek(local, "k") == NULL);
  TL_CHECK(tl_local_contains(local, "k") == 0);
  TL_CHECK(tl_local_size(local, &size) == TL_OK && size == 0);
  TL_CHECK(tl_local_snapshot(local, &snapshot) == TL_OK);
  tl_value_unref(snapshot);
  return NULL;
}

/* Only dictionaries get calls: no call for a thread that only read a plain local. A hook set after
 * a dictionary was made still gets that dictionary's call. */
START_TEST(test_only_dictionaries)
{
  TlLocal *local = tl_local_new();
  int calls = 0;

  ck_assert_int_eq(tl_local_set_exit_hook(local, count_hook, &calls, NULL), TL_OK);
  only_reads(local);
  tl_test_run_threads(3, only_reads, local);
  tl_test_assert_no_failure();
  tl_thread_clear();
  ck_assert_int_eq(calls, 0);

  ck_assert_int_eq(tl_local_set_exit_hook(local, NULL, NULL, NULL), TL_OK);
  put_int(local, "k", 1);
  ck_assert_int_eq(tl_local_set_exit_hook(local, count_hook, &calls, NULL), TL_OK);
  tl_thread_clear();
  ck_assert_int_eq(calls, 1);
  tl_local_unref(local);
  ck_assert_int_eq(calls, 1);
}
END_TEST

/* ---- hooks that use the library: no registry lock is held ---- */

typedef struct {
  TlLocal *other;       /* plain: the hook writes to it */
  TlLocal *chained;     /* has a counting hook of its own: the hook writes to it */
  TlLocal *initialized; /* has an initializer: the hook reads it */
  int init_calls;
  int calls, reason;
  uint64_t thread_id, caller_id;
  int inner_calls; /* the hook of a local made and destroyed inside the hook */
  int chained_calls;
  int locals_seen;
} Reentrant;

#define NAMED "check-hooks-named"

static void
hook_uses_library(int reason, uint64_t thread_id, TlValue *contents, void *user_data)
{
  Reentrant *reentrant = user_data;
  TlLocal *temporary = tl_local_new(), *with_hook = tl_local_new(), *named;
  TlValue *snapshot = NULL;
  size_t size = 0;

  reentrant->calls++;
  reentrant->reason = reason;
  reentrant->thread_id = thread_id;
  reentrant->caller_id = tl_thread_id();
  TL_CHECK(temporary != NULL && with_hook != NULL);
  put_int(temporary, "t", 1);
  tl_local_unref(temporary);
  /* A hook inside a hook: this local's runs now, on this thread. */
  TL_CHECK(tl_local_set_exit_hook(with_hook, count_hook, &reentrant->inner_calls, NULL) == TL_OK);
  put_int(with_hook, "w", 1);
  tl_local_unref(with_hook);
  put_int(reentrant->other, "from-hook", reason);
  put_int(reentrant->chained, "from-hook", reason);
  TL_CHECK(tl_local_snapshot(reentrant->other, &snapshot) == TL_OK);
  tl_value_unref(snapshot);
  TL_CHECK(tl_local_size(reentrant->chained, &size) == TL_OK && size == 1);
  TL_CHECK(tl_local_contains(reentrant->initialized, "ready") == 1);
  named = tl_local_open(NAMED);
  TL_CHECK(named != NULL);
  put_int(named, "n", reason);
  tl_local_unref(named);
  reentrant->locals_seen = (int) tl_stats_live_locals();
  TL_CHECK(tl_stats_live_dicts() >= 2);
  TL_CHECK(tl_stats_live_threads() >= 1);
  TL_CHECK(tl_stats_live_values() >= 1);
  TL_CHECK(tl_local_set_exit_hook(reentrant->other, NULL, NULL, NULL) == TL_OK);
}

static int
init_ready(TlLocal *local, void *user_data)
{
  __atomic_add_fetch((int *) user_data, 1, __ATOMIC_SEQ_CST);
  put_int(local, "ready", 1);
  return 0;
}

static void *
set_and_exit(void *arg)
{
  put_int(arg, "k", 1);
  return NULL;
}

START_TEST(test_hook_uses_library)
{
  const int reason = _i;
  size_t locals = tl_stats_live_locals();
  Reentrant reentrant;
  TlLocal *local = tl_local_new();
  int32_t number = 0;

  memset(&reentrant, 0, sizeof reentrant);
  reentrant.other = tl_local_new();
  reentrant.chained = tl_local_new();
  reentrant.initialized =
      tl_local_new_full(TL_LOCAL_DEFAULT, init_ready, &reentrant.init_calls, NULL);
  ck_assert_int_eq(
      tl_local_set_exit_hook(reentrant.chained, count_hook, &reentrant.chained_calls, NULL), TL_OK);
  ck_assert_int_eq(tl_local_set_exit_hook(local, hook_uses_library, &reentrant, NULL), TL_OK);

  switch (reason) {
  case TL_FREED_THREAD_EXIT:
    tl_test_run_threads(1, set_and_exit, local);
    /* What the hook made on the exiting thread went in the same thread exit. */
    ck_assert_int_eq(reentrant.chained_calls, 1);
    ck_assert_uint_eq(tl_stats_live_dicts(), 0);
    ck_assert_uint_ne(reentrant.caller_id, tl_thread_id());
    break;
  case TL_FREED_THREAD_CLEAR:
    put_int(local, "k", 1);
    tl_thread_clear();
    /* ... and in the same tl_thread_clear(). */
    ck_assert_int_eq(reentrant.chained_calls, 1);
    ck_assert_uint_eq(tl_stats_live_dicts(), 0);
    ck_assert_int_eq(tl_local_contains(reentrant.other, "from-hook"), 0);
    ck_assert_uint_eq(reentrant.caller_id, tl_thread_id());
    break;
  case TL_FREED_LOCAL_DESTROYED:
    put_int(local, "k", 1);
    tl_local_unref(local);
    local = NULL;
    /* The destroying thread keeps what the hook wrote. */
    ck_assert_int_eq(reentrant.chained_calls, 0);
    number = -1;
    ck_assert_int_eq(tl_value_get_int32(tl_local_peek(reentrant.other, "from-hook"), &number),
                     TL_OK);
    ck_assert_int_eq(number, TL_FREED_LOCAL_DESTROYED);
    ck_assert_uint_eq(reentrant.caller_id, tl_thread_id());
    tl_thread_clear();
    ck_assert_int_eq(reentrant.chained_calls, 1);
    break;
  default: ck_abort();
  }
  tl_test_assert_no_failure();
  ck_assert_int_eq(reentrant.calls, 1);
  ck_assert_int_eq(reentrant.reason, reason);
  ck_assert_uint_eq(reentrant.thread_id, reentrant.caller_id);
  ck_assert_int_eq(reentrant.inner_calls, 1);
  ck_assert_int_eq(reentrant.init_calls, 1);
  /* local (if alive), other, chained, initialized, the named one; not the hook's own two. */
  ck_assert_int_eq(reentrant.locals_seen, (int) locals + 5 - (reason == TL_FREED_LOCAL_DESTROYED));
  tl_local_unref(reentrant.initialized);
  tl_local_unref(local);
  tl_local_unref(reentrant.other);
  tl_local_unref(reentrant.chained);
  ck_assert_int_eq(tl_local_unregister(NAMED), TL_OK);
  ck_assert_uint_eq(tl_stats_live_locals(), locals);
}
END_TEST

/* A hook that replaces (or removes) itself: its own user_data_destroy waits for it to return. */
typedef struct {
  TlLocal *local;
  HookLog *next; /* the replacement's log; NULL to remove the hook */
  int calls;
  int returned;
  int destroyed;
  int destroyed_during_call; /* user_data_destroy had run when the replacing call returned */
  int destroyed_before_return;
} SelfReplacing;

static void
self_replacing_hook(int reason, uint64_t thread_id, TlValue *contents, void *user_data)
{
  SelfReplacing *self = user_data;

  self->calls++;
  if (self->next != NULL)
    TL_CHECK(tl_local_set_exit_hook(self->local, log_hook, self->next, log_destroy) == TL_OK);
  else
    TL_CHECK(tl_local_set_exit_hook(self->local, NULL, NULL, NULL) == TL_OK);
  self->destroyed_during_call = load(&self->destroyed);
  __atomic_store_n(&self->returned, 1, __ATOMIC_SEQ_CST);
}

static void
self_replacing_destroy(void *user_data)
{
  SelfReplacing *self = user_data;

  if (!load(&self->returned))
    self->destroyed_before_return = 1;
  __atomic_add_fetch(&self->destroyed, 1, __ATOMIC_SEQ_CST);
}

START_TEST(test_hook_replaces_itself)
{
  const int on_thread = _i & 1, remove = _i & 2;
  SelfReplacing self;
  HookLog next;
  Worker me;

  memset(&self, 0, sizeof self);
  hook_log_init(&next);
  self.local = tl_local_new();
  self.next = remove ? NULL : &next;
  ck_assert_int_eq(
      tl_local_set_exit_hook(self.local, self_replacing_hook, &self, self_replacing_destroy),
      TL_OK);
  if (on_thread) {
    tl_test_run_threads(1, set_and_exit, self.local);
  } else {
    put_int(self.local, "k", 1);
    tl_thread_clear();
  }
  tl_test_assert_no_failure();
  ck_assert_int_eq(self.calls, 1);
  ck_assert_int_eq(self.destroyed_during_call, 0);
  ck_assert_int_eq(self.destroyed, 1);
  ck_assert_int_eq(self.destroyed_before_return, 0);

  /* From now on, the replacement (or nothing) runs. */
  workers_init(&me, 1, self.local);
  me.id = tl_thread_id();
  put_values(self.local, 0, &me.destroyed);
  tl_local_unref(self.local);
  ck_assert_int_eq(self.calls, 1);
  ck_assert_int_eq(self.destroyed, 1);
  ck_assert_int_eq(me.destroyed, 1);
  if (remove) {
    ck_assert_int_eq(next.n_calls, 0);
  } else {
    ck_assert_int_eq(next.n_calls, 1);
    assert_call(only_call(&next, 0), &me, TL_FREED_LOCAL_DESTROYED, tl_thread_id());
    ck_assert_int_eq(next.destroyed, 1);
  }
  hook_log_fini(&next);
}
END_TEST

/* A hook that writes to its own local (alive: the thread is exiting or clearing) makes a new
 * dictionary; the same exit or clear frees it, with a call of its own. */
typedef struct {
  TlLocal *local;
  int calls;
  int reasons[4];
  int32_t seen[4]; /* contents "n", or -1 */
} Rewriting;

static void
rewriting_hook(int reason, uint64_t thread_id, TlValue *contents, void *user_data)
{
  Rewriting *rewriting = user_data;
  TlValue *found = NULL;
  int call = rewriting->calls++;

  if (call >= 4)
    return;
  rewriting->reasons[call] = reason;
  rewriting->seen[call] = -1;
  if (tl_value_lookup(contents, "n", &found) == TL_OK)
    TL_CHECK(tl_value_get_int32(found, &rewriting->seen[call]) == TL_OK);
  tl_value_unref(found);
  /* The thread's dictionary is already gone from its point of view. */
  TL_CHECK(tl_local_contains(rewriting->local, "n") == 0);
  if (call == 0)
    put_int(rewriting->local, "n", 2);
}

static void *
set_n_and_exit(void *arg)
{
  put_int(arg, "n", 1);
  return NULL;
}

START_TEST(test_hook_writes_own_local)
{
  const int on_thread = _i;
  Rewriting rewriting;

  memset(&rewriting, 0, sizeof rewriting);
  rewriting.local = tl_local_new();
  ck_assert_int_eq(tl_local_set_exit_hook(rewriting.local, rewriting_hook, &rewriting, NULL),
                   TL_OK);
  if (on_thread) {
    tl_test_run_threads(1, set_n_and_exit, rewriting.local);
  } else {
    put_int(rewriting.local, "n", 1);
    tl_thread_clear();
    ck_assert_int_eq(tl_local_contains(rewriting.local, "n"), 0);
  }
  tl_test_assert_no_failure();
  ck_assert_int_eq(rewriting.calls, 2);
  ck_assert_int_eq(rewriting.seen[0], 1);
  ck_assert_int_eq(rewriting.seen[1], 2);
  ck_assert_int_eq(rewriting.reasons[0], on_thread ? TL_FREED_THREAD_EXIT : TL_FREED_THREAD_CLEAR);
  ck_assert_int_eq(rewriting.reasons[1], rewriting.reasons[0]);
  ck_assert_uint_eq(tl_stats_live_dicts(), 0);
  tl_local_unref(rewriting.local);
  ck_assert_int_eq(rewriting.calls, 2);
}
END_TEST

/* The hook of an exiting (or clearing) thread drops the local's last reference: the other threads'
 * dictionaries get their calls inside it, on that thread; user_data_destroy waits for both. */
typedef struct {
  TlLocal *local; /* the reference the hook drops */
  HookLog log;
} Dropping;

static void
dropping_hook(int reason, uint64_t thread_id, TlValue *contents, void *user_data)
{
  Dropping *dropping = user_data;

  log_hook(reason, thread_id, contents, &dropping->log);
  if (reason != TL_FREED_LOCAL_DESTROYED) {
    tl_local_unref(dropping->local);
    TL_CHECK(load(&dropping->log.destroyed) == 0);
  }
}

static void
dropping_destroy(void *user_data)
{
  log_destroy(&((Dropping *) user_data)->log);
}

START_TEST(test_hook_drops_last_reference)
{
  const int on_thread = _i;
  size_t locals = tl_stats_live_locals();
  Dropping dropping;
  Worker workers[2];
  pthread_t thread;

  hook_log_init(&dropping.log);
  dropping.local = tl_local_new();
  ck_assert_int_eq(
      tl_local_set_exit_hook(dropping.local, dropping_hook, &dropping, dropping_destroy), TL_OK);
  workers_init(workers, 2, dropping.local);
  workers[1].id = tl_thread_id();
  /* The dictionary of the thread that does not drop the reference: index 1. */
  if (on_thread) {
    put_values(dropping.local, 1, &workers[1].destroyed);
    ck_assert_int_eq(pthread_create(&thread, NULL, worker_main, &workers[0]), 0);
    ck_assert_int_eq(pthread_join(thread, NULL), 0);
  } else {
    pthread_barrier_t barrier;

    /* Here the other thread holds index 1 and waits while this one clears. */
    workers[1].index = 1;
    workers[1].barrier = &barrier;
    workers[1].waits = 2;
    ck_assert_int_eq(pthread_barrier_init(&barrier, NULL, 2), 0);
    ck_assert_int_eq(pthread_create(&thread, NULL, worker_main, &workers[1]), 0);
    pthread_barrier_wait(&barrier);
    workers[0].id = tl_thread_id();
    put_values(dropping.local, 0, &workers[0].destroyed);
    tl_thread_clear();
    pthread_barrier_wait(&barrier);
    ck_assert_int_eq(pthread_join(thread, NULL), 0);
    pthread_barrier_destroy(&barrier);
  }
  tl_test_assert_no_failure();
  ck_assert_uint_eq(tl_stats_live_locals(), locals);
  ck_assert_int_eq(dropping.log.n_calls, 2);
  assert_call(only_call(&dropping.log, 0), &workers[0],
              on_thread ? TL_FREED_THREAD_EXIT : TL_FREED_THREAD_CLEAR, workers[0].id);
  assert_call(only_call(&dropping.log, 1), &workers[1], TL_FREED_LOCAL_DESTROYED, workers[0].id);
  ck_assert_int_eq(workers[0].destroyed, 1);
  ck_assert_int_eq(workers[1].destroyed, 1);
  ck_assert_int_eq(dropping.log.destroyed, 1);
  ck_assert_int_eq(dropping.log.calls_at_destroy, 2);
  hook_log_fini(&dropping.log);
}
END_TEST

/* A hook may call tl_thread_clear() itself, whatever the reason it runs for. */
typedef struct {
  TlLocal *other;
  int calls, other_destroyed, contains_after;
} Clearing;

static void
clearing_hook(int reason, uint64_t thread_id, TlValue *contents, void *user_data)
{
  Clearing *clearing = user_data;

  clearing->calls++;
  put(clearing->other, "x",
      tl_value_new_pointer(&clearing->other_destroyed, tl_test_count_destroy));
  tl_thread_clear();
  clearing->contains_after = tl_local_contains(clearing->other, "x");
}

START_TEST(test_hook_clears_thread)
{
  const int reason = _i;
  Clearing clearing;
  TlLocal *local = tl_local_new();

  memset(&clearing, 0, sizeof clearing);
  clearing.contains_after = -1;
  clearing.other = tl_local_new();
  ck_assert_int_eq(tl_local_set_exit_hook(local, clearing_hook, &clearing, NULL), TL_OK);
  if (reason == TL_FREED_THREAD_EXIT) {
    tl_test_run_threads(1, set_and_exit, local);
  } else {
    put_int(local, "k", 1);
    put_int(clearing.other, "mine", 1);
    if (reason == TL_FREED_THREAD_CLEAR) {
      tl_thread_clear();
    } else {
      tl_local_unref(local);
      local = NULL;
      ck_assert_int_eq(tl_local_contains(clearing.other, "mine"), 0); /* the hook cleared it */
    }
  }
  tl_test_assert_no_failure();
  ck_assert_int_eq(clearing.calls, 1);
  ck_assert_int_eq(clearing.other_destroyed, 1);
  ck_assert_int_eq(clearing.contains_after, 0);
  ck_assert_uint_eq(tl_stats_live_dicts(), 0);
  tl_local_unref(local);
  tl_local_unref(clearing.other);
}
END_TEST

/* A hook that reads its own local, which has an initializer: the read in the hook of each cleanup
 * round made a new dictionary for the next round to free (16 rounds of an exit), and the last
 * one outlived the thread, keeping it registered. Reads in the later rounds run no initializer. */
typedef struct {
  TlLocal *local;
  int init_calls, hook_calls;
} SelfReading;

static int
init_name(TlLocal *local, void *user_data)
{
  SelfReading *reading = user_data;

  __atomic_add_fetch(&reading->init_calls, 1, __ATOMIC_SEQ_CST);
  return tl_local_set_string(local, "name", "worker");
}

static void
reads_own_local_hook(int reason, uint64_t thread_id, TlValue *contents, void *user_data)
{
  SelfReading *reading = user_data;

  __atomic_add_fetch(&reading->hook_calls, 1, __ATOMIC_SEQ_CST);
  (void) tl_local_peek(reading->local, "name"); /* to label what the hook flushes */
}

START_TEST(test_hook_reads_own_initialized_local)
{
  const int on_thread = _i;
  SelfReading reading = {NULL, 0, 0};
  size_t dicts, threads;

  tl_thread_clear();
  dicts = tl_stats_live_dicts();
  threads = tl_stats_live_threads();
  reading.local = tl_local_new_full(TL_LOCAL_DEFAULT, init_name, &reading, NULL);
  ck_assert_int_eq(tl_local_set_exit_hook(reading.local, reads_own_local_hook, &reading, NULL),
                   TL_OK);
  if (on_thread) {
    tl_test_run_threads(1, set_and_exit, reading.local);
  } else {
    put_int(reading.local, "k", 1);
    tl_thread_clear();
  }
  tl_test_assert_no_failure();
  /* The first round's hook may read as anywhere, making one more dictionary for the second. */
  ck_assert_int_ge(reading.init_calls, 1);
  ck_assert_int_le(reading.init_calls, 2);
  ck_assert_int_ge(reading.hook_calls, 1);
  ck_assert_int_le(reading.hook_calls, 2);
  ck_assert_uint_eq(tl_stats_live_dicts(), dicts);
  ck_assert_uint_eq(tl_stats_live_threads(), threads);
  tl_local_unref(reading.local);
}
END_TEST

/* ---- replacing and removing ---- */

START_TEST(test_replace_and_remove)
{
  HookLog first, second, third;
  TlLocal *local = new_logged_local(&first);
  int destroyed = 0, calls = 0;

  hook_log_init(&second);
  hook_log_init(&third);

  /* Replaced while no call runs: the previous user_data_destroy runs at once, exactly once. */
  ck_assert_int_eq(tl_local_set_exit_hook(local, log_hook, &second, log_destroy), TL_OK);
  ck_assert_int_eq(first.destroyed, 1);
  put_int(local, "index", 1);
  tl_thread_clear();
  ck_assert_int_eq(first.n_calls, 0);
  ck_assert_int_eq(second.n_calls, 1);
  ck_assert_int_eq(second.calls[0].reason, TL_FREED_THREAD_CLEAR);
  ck_assert_int_eq(second.destroyed, 0);

  /* Removed: no calls any more. */
  ck_assert_int_eq(tl_local_set_exit_hook(local, NULL, NULL, NULL), TL_OK);
  ck_assert_int_eq(second.destroyed, 1);
  ck_assert_int_eq(second.calls_at_destroy, 1);
  put_int(local, "index", 2);
  tl_thread_clear();
  put_int(local, "index", 3);
  tl_test_run_threads(2, set_and_exit, local);
  ck_assert_int_eq(second.n_calls, 1);
  ck_assert_int_eq(first.destroyed, 1);
  ck_assert_int_eq(second.destroyed, 1);

  /* Removing when there is none is harmless; so is setting the same one twice (each setting's
   * user_data_destroy runs once). A NULL hook's user_data_destroy runs once, whenever. */
  ck_assert_int_eq(tl_local_set_exit_hook(local, NULL, NULL, NULL), TL_OK);
  ck_assert_int_eq(tl_local_set_exit_hook(local, NULL, &destroyed, tl_test_count_destroy), TL_OK);
  ck_assert_int_le(destroyed, 1);
  ck_assert_int_eq(tl_local_set_exit_hook(local, count_hook, &calls, tl_test_count_destroy), TL_OK);
  ck_assert_int_eq(tl_local_set_exit_hook(local, count_hook, &calls, tl_test_count_destroy), TL_OK);
  ck_assert_int_eq(calls, 1); /* the first setting's destroy, with the same user_data */
  tl_thread_clear();
  ck_assert_int_eq(calls, 2); /* the hook itself: the dictionary from "index" 3 */

  /* Destroyed with the local: once, after its last call. */
  ck_assert_int_eq(tl_local_set_exit_hook(local, log_hook, &third, log_destroy), TL_OK);
  ck_assert_int_eq(calls, 3);
  put_int(local, "index", 4);
  tl_local_unref(local);
  ck_assert_int_eq(third.n_calls, 1);
  ck_assert_int_eq(third.calls[0].reason, TL_FREED_LOCAL_DESTROYED);
  ck_assert_int_eq(third.destroyed, 1);
  ck_assert_int_eq(third.calls_at_destroy, 1);
  ck_assert_int_eq(destroyed, 1);
  ck_assert_int_eq(first.destroyed, 1);
  ck_assert_int_eq(second.destroyed, 1);

  /* A local that never had a dictionary: the hook's user_data_destroy still runs once. */
  local = tl_local_new();
  ck_assert_int_eq(tl_local_set_exit_hook(local, count_hook, &destroyed, tl_test_count_destroy),
                   TL_OK);
  tl_local_unref(local);
  ck_assert_int_eq(destroyed, 2);

  ck_assert_int_eq(tl_local_set_exit_hook(NULL, count_hook, &calls, NULL), TL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(tl_last_error(), TL_ERR_INVALID_ARGUMENT);
  hook_log_fini(&first);
  hook_log_fini(&second);
  hook_log_fini(&third);
}
END_TEST

/* A thread's exit hook is still running when the hook is replaced, removed, or its local
 * destroyed: its user_data_destroy waits for it to return. */
typedef struct {
  pthread_mutex_t mutex;
  pthread_cond_t cond;
  int entered, release, returned;
  int destroyed;
  int destroyed_while_running;
} Blocking;

static void
blocking_hook(int reason, uint64_t thread_id, TlValue *contents, void *user_data)
{
  Blocking *blocking = user_data;

  pthread_mutex_lock(&blocking->mutex);
  blocking->entered = 1;
  pthread_cond_broadcast(&blocking->cond);
  while (!blocking->release)
    pthread_cond_wait(&blocking->cond, &blocking->mutex);
  blocking->returned = 1;
  pthread_mutex_unlock(&blocking->mutex);
}

static void
blocking_destroy(void *user_data)
{
  Blocking *blocking = user_data;

  pthread_mutex_lock(&blocking->mutex);
  blocking->destroyed++;
  if (!blocking->returned)
    blocking->destroyed_while_running = 1;
  pthread_mutex_unlock(&blocking->mutex);
}

enum { DURING_REPLACE, DURING_REMOVE, DURING_LOCAL_DESTROY, N_DURING };

START_TEST(test_destroy_waits_for_running_hook)
{
  const int what = _i;
  size_t locals = tl_stats_live_locals();
  Blocking blocking;
  HookLog next;
  TlLocal *local = tl_local_new();
  pthread_t thread;
  size_t locals_after = 0;
  int destroyed_before_release, status = TL_OK;

  memset(&blocking, 0, sizeof blocking);
  pthread_mutex_init(&blocking.mutex, NULL);
  pthread_cond_init(&blocking.cond, NULL);
  hook_log_init(&next);
  ck_assert_int_eq(tl_local_set_exit_hook(local, blocking_hook, &blocking, blocking_destroy),
                   TL_OK);
  ck_assert_int_eq(pthread_create(&thread, NULL, set_and_exit, local), 0);
  pthread_mutex_lock(&blocking.mutex);
  while (!blocking.entered)
    pthread_cond_wait(&blocking.cond, &blocking.mutex);
  pthread_mutex_unlock(&blocking.mutex);

  /* No lock is held by the blocked hook: these return at once. (Nothing is asserted until the
   * hook is released, lest a failure leave it blocked.) */
  switch (what) {
  case DURING_REPLACE: status = tl_local_set_exit_hook(local, log_hook, &next, log_destroy); break;
  case DURING_REMOVE: status = tl_local_set_exit_hook(local, NULL, NULL, NULL); break;
  default:
    tl_local_unref(local);
    local = NULL;
    locals_after = tl_stats_live_locals();
    break;
  }
  pthread_mutex_lock(&blocking.mutex);
  destroyed_before_release = blocking.destroyed;
  blocking.release = 1;
  pthread_cond_broadcast(&blocking.cond);
  pthread_mutex_unlock(&blocking.mutex);
  ck_assert_int_eq(pthread_join(thread, NULL), 0);
  tl_test_assert_no_failure();

  ck_assert_int_eq(status, TL_OK);
  if (what == DURING_LOCAL_DESTROY)
    ck_assert_uint_eq(locals_after, locals); /* the local is gone while its hook still runs */
  ck_assert_int_eq(destroyed_before_release, 0);
  ck_assert_int_eq(blocking.destroyed, 1);
  ck_assert_int_eq(blocking.destroyed_while_running, 0);
  tl_local_unref(local);
  ck_assert_int_eq(blocking.destroyed, 1);
  ck_assert_int_eq(next.n_calls, 0);
  ck_assert_int_eq(next.destroyed, what == DURING_REPLACE ? 1 : 0);
  hook_log_fini(&next);
  pthread_cond_destroy(&blocking.cond);
  pthread_mutex_destroy(&blocking.mutex);
}
END_TEST

/* Many locals with hooks, one thread: each hook runs once for its own dictionary. */
START_TEST(test_many_locals_one_thread)
{
  enum { N = 100 };
  TlLocal *locals[N];
  int calls[N], destroyed[N];
  int i;

  for (i = 0; i < N; i++) {
    calls[i] = destroyed[i] = 0;
    locals[i] = tl_local_new();
    ck_assert_int_eq(
        tl_local_set_exit_hook(locals[i], count_hook, &calls[i], tl_test_count_destroy), TL_OK);
    put(locals[i], "p", tl_value_new_pointer(&destroyed[i], tl_test_count_destroy));
  }
  tl_thread_clear();
  for (i = 0; i < N; i++) {
    ck_assert_int_eq(calls[i], 1);
    ck_assert_int_eq(destroyed[i], 1);
    put_int(locals[i], "k", i);
  }
  /* Destroying them in turn: the others' dictionaries and hooks are untouched. */
  for (i = 0; i < N; i++) {
    tl_local_unref(locals[i]);
    ck_assert_int_eq(calls[i], 3); /* 2 calls, then the user_data_destroy */
    if (i + 1 < N)
      ck_assert_int_eq(calls[i + 1], 1);
  }
  ck_assert_uint_eq(tl_stats_live_dicts(), 0);
  tl_test_assert_no_failure();
}
END_TEST

/* ---- races ---- */

/* Spins for a while that differs with seed, so exits and the destruction interleave variously. */
static void
spin(unsigned int seed)
{
  unsigned int n = (seed * 2654435761u) % 4000u, i;

  for (i = 0; i < n; i++)
    __asm__ __volatile__("" ::: "memory"); /* not optimised away */
  if (seed % 3 == 0)
    sched_yield();
}

enum { RACE_THREADS = 4 };

/* Threads set values and exit while this thread drops the local's last reference: every dictionary
 * gets one call, for one reason or the other, and every value goes exactly once. */
static void
race_exit_vs_destroy(int n_rounds, int use_library)
{
  size_t dicts = tl_stats_live_dicts(), values = tl_stats_live_values();
  int round, i, exits = 0, destroys = 0;

  for (round = 0; round < n_rounds; round++) {
    HookLog log;
    TlLocal *local = new_logged_local(&log);
    Worker workers[RACE_THREADS + 1];
    pthread_t threads[RACE_THREADS];
    pthread_barrier_t barrier;

    log.use_library = use_library;
    ck_assert_int_eq(pthread_barrier_init(&barrier, NULL, RACE_THREADS + 1), 0);
    workers_init(workers, RACE_THREADS + 1, local);
    for (i = 0; i < RACE_THREADS; i++) {
      workers[i].barrier = &barrier;
      workers[i].waits = 1;
      workers[i].spin = (round + i) % 3;
    }
    workers[RACE_THREADS].id = tl_thread_id();
    put_values(local, RACE_THREADS, &workers[RACE_THREADS].destroyed);
    workers_start(workers, threads, RACE_THREADS);
    pthread_barrier_wait(&barrier);
    spin((unsigned int) round);
    tl_local_unref(local);
    workers_join(threads, RACE_THREADS);
    pthread_barrier_destroy(&barrier);
    tl_test_assert_no_failure();

    ck_assert_int_eq(log.n_calls, RACE_THREADS + 1);
    for (i = 0; i <= RACE_THREADS; i++) {
      const HookCall *call = only_call(&log, i);

      if (call->reason == TL_FREED_THREAD_EXIT && i < RACE_THREADS) {
        assert_call(call, &workers[i], TL_FREED_THREAD_EXIT, workers[i].id);
        exits++;
      } else {
        assert_call(call, &workers[i], TL_FREED_LOCAL_DESTROYED, tl_thread_id());
        destroys++;
      }
      ck_assert_int_eq(workers[i].destroyed, 1);
    }
    ck_assert_int_eq(log.destroyed, 1);
    ck_assert_int_eq(log.calls_at_destroy, RACE_THREADS + 1);
    ck_assert_uint_eq(tl_stats_live_dicts(), dicts);
    hook_log_fini(&log);
  }
  ck_assert_int_eq(exits + destroys, n_rounds * (RACE_THREADS + 1));
  ck_assert_uint_eq(tl_stats_live_values(), values);
  if (getenv("TL_TEST_VERBOSE") != NULL)
    fprintf(stderr, "exit hooks: %d at thread exit, %d at local destruction\n", exits, destroys);
}

START_TEST(test_race_exit_vs_destroy)
{
  race_exit_vs_destroy(tl_test_repeat(300), 0);
}
END_TEST

START_TEST(test_race_exit_vs_destroy_hook_uses_library)
{
  race_exit_vs_destroy(tl_test_repeat(100), 1);
}
END_TEST

/* Threads exit while this thread replaces the hook again and again: each dictionary gets exactly
 * one call, from one of the hooks, and each hook's user_data_destroy runs once, after its last
 * call. */
START_TEST(test_race_exit_vs_replace)
{
  enum { N_HOOKS = 6 };
  const int n_rounds = tl_test_repeat(100);
  int round, i, h;

  for (round = 0; round < n_rounds; round++) {
    HookLog logs[N_HOOKS];
    TlLocal *local = new_logged_local(&logs[0]);
    Worker workers[RACE_THREADS];
    pthread_t threads[RACE_THREADS];
    pthread_barrier_t barrier;

    ck_assert_int_eq(pthread_barrier_init(&barrier, NULL, RACE_THREADS + 1), 0);
    workers_init(workers, RACE_THREADS, local);
    for (i = 0; i < RACE_THREADS; i++) {
      workers[i].barrier = &barrier;
      workers[i].waits = 1;
      workers[i].spin = (round + i) % 2;
    }
    workers_start(workers, threads, RACE_THREADS);
    pthread_barrier_wait(&barrier);
    for (h = 1; h < N_HOOKS; h++) {
      hook_log_init(&logs[h]);
      ck_assert_int_eq(tl_local_set_exit_hook(local, log_hook, &logs[h], log_destroy), TL_OK);
      spin((unsigned int) (round * N_HOOKS + h));
    }
    workers_join(threads, RACE_THREADS);
    pthread_barrier_destroy(&barrier);
    tl_test_assert_no_failure();
    tl_local_unref(local);

    for (i = 0; i < RACE_THREADS; i++) {
      int n = 0, j;

      for (h = 0; h < N_HOOKS; h++) {
        for (j = 0; j < logs[h].n_calls; j++) {
          if (logs[h].calls[j].index != i)
            continue;
          assert_call(&logs[h].calls[j], &workers[i], TL_FREED_THREAD_EXIT, workers[i].id);
          n++;
        }
      }
      ck_assert_msg(n == 1, "round %d: %d calls for thread %d", round, n, i);
      ck_assert_int_eq(workers[i].destroyed, 1);
    }
    for (h = 0; h < N_HOOKS; h++) {
      ck_assert_int_eq(logs[h].destroyed, 1);
      ck_assert_int_eq(logs[h].calls_at_destroy, log_n_calls(&logs[h]));
      hook_log_fini(&logs[h]);
    }
  }
  ck_assert_uint_eq(tl_stats_live_dicts(), 0);
}
END_TEST

/* A thread's exit detaches all its dictionaries at once, then frees them one by one, running
 * destroy functions in between: a hook removed meanwhile still ran for the dictionaries freed
 * after the removal had returned. Here the destroy functions of the values freed before the
 * hooked dictionary wait (a little at a time) until the removal has returned, so any call of the
 * hook that sees the flag set is one made after it. */
typedef struct {
  TlLocal *slow[4]; /* made around hooked: two before it, two after */
  TlLocal *hooked;
  int exiting;    /* a destroy function of the exiting thread has started */
  int removed;    /* tl_local_set_exit_hook(hooked, NULL, ...) has returned */
  int late_calls; /* calls of the hook that found removed set */
} Removal;

static void
removal_hook(int reason, uint64_t thread_id, TlValue *contents, void *user_data)
{
  Removal *removal = user_data;

  if (__atomic_load_n(&removal->removed, __ATOMIC_SEQ_CST))
    __atomic_add_fetch(&removal->late_calls, 1, __ATOMIC_SEQ_CST);
}

static void
slow_destroy(void *ptr)
{
  Removal *removal = ptr;
  int waits;

  __atomic_store_n(&removal->exiting, 1, __ATOMIC_SEQ_CST);
  for (waits = 0; waits < 10000 && !__atomic_load_n(&removal->removed, __ATOMIC_SEQ_CST); waits++)
    usleep(100);
  usleep(50);
}

static void *
removal_worker(void *arg)
{
  Removal *removal = arg;
  int i;

  for (i = 0; i < 4; i++) {
    if (i == 2)
      put_int(removal->hooked, "k", 1);
    put(removal->slow[i], "p", tl_value_new_pointer(removal, slow_destroy));
  }
  return NULL;
}

START_TEST(test_race_exit_vs_remove)
{
  const int n_rounds = tl_test_repeat(100);
  Removal removal;
  int round, i, late = 0;

  memset(&removal, 0, sizeof removal);
  for (i = 0; i < 4; i++) {
    if (i == 2)
      removal.hooked = tl_local_new();
    removal.slow[i] = tl_local_new();
  }
  for (round = 0; round < n_rounds; round++) {
    pthread_t thread;

    __atomic_store_n(&removal.exiting, 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&removal.removed, 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&removal.late_calls, 0, __ATOMIC_SEQ_CST);
    ck_assert_int_eq(tl_local_set_exit_hook(removal.hooked, removal_hook, &removal, NULL), TL_OK);
    ck_assert_int_eq(pthread_create(&thread, NULL, removal_worker, &removal), 0);
    while (!__atomic_load_n(&removal.exiting, __ATOMIC_SEQ_CST))
      sched_yield();
    spin((unsigned int) round);
    ck_assert_int_eq(tl_local_set_exit_hook(removal.hooked, NULL, NULL, NULL), TL_OK);
    __atomic_store_n(&removal.removed, 1, __ATOMIC_SEQ_CST);
    ck_assert_int_eq(pthread_join(thread, NULL), 0);
    late += __atomic_load_n(&removal.late_calls, __ATOMIC_SEQ_CST);
  }
  tl_test_assert_no_failure();
  ck_assert_msg(late == 0, "the removed hook ran %d time(s) in %d rounds", late, n_rounds);
  ck_assert_uint_eq(tl_stats_live_dicts(), 0);
  for (i = 0; i < 4; i++)
    tl_local_unref(removal.slow[i]);
  tl_local_unref(removal.hooked);
}
END_TEST

Suite *
hooks_suite(void)
{
  Suite *suite = suite_create("hooks");
  TCase *tcase;

  tcase = tl_test_case("reasons");
  tcase_add_test(tcase, test_thread_exit);
  tcase_add_test(tcase, test_thread_clear);
  tcase_add_test(tcase, test_local_destroyed);
  tcase_add_test(tcase, test_contents);
  tcase_add_test(tcase, test_only_dictionaries);
  tcase_add_test(tcase, test_many_locals_one_thread);
  suite_add_tcase(suite, tcase);

  tcase = tl_test_case("reentrant hooks");
  tcase_add_loop_test(tcase, test_hook_uses_library, TL_FREED_THREAD_EXIT,
                      TL_FREED_LOCAL_DESTROYED + 1);
  tcase_add_loop_test(tcase, test_hook_replaces_itself, 0, 4);
  tcase_add_loop_test(tcase, test_hook_writes_own_local, 0, 2);
  tcase_add_loop_test(tcase, test_hook_drops_last_reference, 0, 2);
  tcase_add_loop_test(tcase, test_hook_clears_thread, TL_FREED_THREAD_EXIT,
                      TL_FREED_LOCAL_DESTROYED + 1);
  tcase_add_loop_test(tcase, test_hook_reads_own_initialized_local, 0, 2);
  suite_add_tcase(suite, tcase);

  tcase = tl_test_case("replacing");
  tcase_add_test(tcase, test_replace_and_remove);
  tcase_add_loop_test(tcase, test_destroy_waits_for_running_hook, 0, N_DURING);
  suite_add_tcase(suite, tcase);

  tcase = tl_test_case("races");
  tcase_add_test(tcase, test_race_exit_vs_destroy);
  tcase_add_test(tcase, test_race_exit_vs_destroy_hook_uses_library);
  tcase_add_test(tcase, test_race_exit_vs_replace);
  tcase_add_test(tcase, test_race_exit_vs_remove);
  suite_add_tcase(suite, tcase);

  return suite;
}
