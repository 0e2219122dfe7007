/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Interned keys (quarks) and the one-call typed reads: a quark names the same key as its string,
 * interning agrees across threads and survives fork(), and a read by quark never returns what the
 * dictionary no longer holds (the per-thread quark read cache is invalidated by every change). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tl-test.h"

static int64_t
peek_int64_quark(TlLocal *local, TlQuark quark)
{
  TlValue *value = tl_local_peek_quark(local, quark);
  int64_t number = -1;

  TL_CHECK(value != NULL && tl_value_get_int64(value, &number) == TL_OK);
  return number;
}

static int
set_int64_quark(TlLocal *local, TlQuark quark, int64_t number)
{
  TlValue *value = tl_value_new_int64(number);
  int status = tl_local_set_quark(local, quark, value);

  tl_value_unref(value);
  return status;
}

/* ---- interning ---- */

START_TEST(test_intern_same_string_same_quark)
{
  static const char *const names[] = {
      "", "a", "request_id", "a key longer than sixteen bytes", "clé-ünïcode", "user"};
  TlQuark quarks[N_ELEMENTS(names)];
  char copy[64];
  size_t i, j;

  for (i = 0; i < N_ELEMENTS(names); i++) {
    quarks[i] = tl_quark_from_string(names[i]);
    ck_assert_uint_ne(quarks[i], 0);
    /* A copy at another address is the same key. */
    snprintf(copy, sizeof copy, "%s", names[i]);
    ck_assert_uint_eq(tl_quark_from_string(copy), quarks[i]);
    ck_assert_str_eq(tl_quark_to_string(quarks[i]), names[i]);
    /* Borrowed and immortal: the same pointer every time. */
    ck_assert_ptr_eq(tl_quark_to_string(quarks[i]), tl_quark_to_string(quarks[i]));
    for (j = 0; j < i; j++)
      ck_assert_uint_ne(quarks[i], quarks[j]);
  }
}
END_TEST

START_TEST(test_intern_rejects_bad_strings)
{
  ck_assert_uint_eq(tl_quark_from_string(NULL), 0);
  ck_assert_int_eq(tl_last_error(), TL_ERR_INVALID_KEY);
  ck_assert_uint_eq(tl_quark_from_string("bad \xff utf-8"), 0);
  ck_assert_int_eq(tl_last_error(), TL_ERR_INVALID_KEY);
  ck_assert_uint_eq(tl_quark_from_string("\xc3"), 0); /* truncated sequence */
  ck_assert_ptr_null(tl_quark_to_string(0));
  ck_assert_int_eq(tl_last_error(), TL_ERR_INVALID_KEY);
  ck_assert_ptr_null(tl_quark_to_string(UINT32_MAX));
  ck_assert_ptr_null(tl_quark_to_string(tl_quark_from_string("tl-test.quark.last") + 1000000));
}
END_TEST

/* Enough quarks to fill many of the table's segments and regrow its index several times. */
START_TEST(test_intern_many)
{
  int n = tl_test_repeat(20000), i;
  TlQuark *quarks = calloc((size_t) n, sizeof *quarks);
  char name[64];

  ck_assert_ptr_nonnull(quarks);
  for (i = 0; i < n; i++) {
    snprintf(name, sizeof name, "tl-test.quark.many.%d", i);
    quarks[i] = tl_quark_from_string(name);
    ck_assert_uint_ne(quarks[i], 0);
  }
  for (i = 0; i < n; i++) {
    snprintf(name, sizeof name, "tl-test.quark.many.%d", i);
    ck_assert_str_eq(tl_quark_to_string(quarks[i]), name);
    ck_assert_uint_eq(tl_quark_from_string(name), quarks[i]);
  }
  free(quarks);
}
END_TEST

#define RACE_NAMES 300
#define RACE_THREADS 8

static TlQuark race_quarks[RACE_THREADS][RACE_NAMES];
static int race_next_thread;

/* Every thread interns the same names, each in its own order, while the others do. */
static void *
intern_race_thread(void *arg)
{
  int me = __atomic_fetch_add(&race_next_thread, 1, __ATOMIC_RELAXED), i;
  char name[64];

  (void) arg;
  for (i = 0; i < RACE_NAMES; i++) {
    int n = (me % 2 ? RACE_NAMES - 1 - i : i) + me * 37; /* an order per thread */

    n %= RACE_NAMES;

    snprintf(name, sizeof name, "tl-test.quark.race.%d", n);
    race_quarks[me][n] = tl_quark_from_string(name);
    TL_CHECK(race_quarks[me][n] != 0);
    TL_CHECK(strcmp(tl_quark_to_string(race_quarks[me][n]), name) == 0);
  }
  return NULL;
}

START_TEST(test_intern_races_agree)
{
  int t, i;

  race_next_thread = 0;
  tl_test_run_threads(RACE_THREADS, intern_race_thread, NULL);
  tl_test_assert_no_failure();
  for (t = 1; t < RACE_THREADS; t++)
    for (i = 0; i < RACE_NAMES; i++)
      ck_assert_uint_eq(race_quarks[t][i], race_quarks[0][i]);
}
END_TEST

/* ---- a quark and its string are one key ---- */

START_TEST(test_quark_and_string_name_one_key)
{
  static const char *const keys[] = {"k", "request_id", "a key longer than sixteen bytes", "ключ"};
  TlLocal *local = tl_local_new();
  size_t i;
  int64_t number;

  for (i = 0; i < N_ELEMENTS(keys); i++) {
    TlQuark quark = tl_quark_from_string(keys[i]);
    TlValue *got = NULL;

    /* Set by quark, read by string. */
    ck_assert_int_eq(set_int64_quark(local, quark, (int64_t) i), TL_OK);
    ck_assert_int_eq(tl_local_get_int64(local, keys[i], &number), TL_OK);
    ck_assert_int_eq(number, (int64_t) i);
    /* Set by string, read by quark: the same key replaced, not a second one. */
    ck_assert_int_eq(tl_local_set_int64(local, keys[i], 100 + (int64_t) i), TL_OK);
    ck_assert_int_eq(peek_int64_quark(local, quark), 100 + (int64_t) i);
    ck_assert_int_eq(tl_local_get_quark(local, quark, &got), TL_OK);
    ck_assert_ptr_eq(got, tl_local_peek(local, keys[i]));
    tl_value_unref(got);
    ck_assert_uint_eq(tl_test_local_size(local), i + 1);
  }
  tl_test_assert_keys(local, keys, N_ELEMENTS(keys));
  /* Delete by quark, gone by string; delete by string, gone by quark. */
  ck_assert_int_eq(tl_local_delete_quark(local, tl_quark_from_string(keys[0])), TL_OK);
  ck_assert_int_eq(tl_local_contains(local, keys[0]), 0);
  ck_assert_int_eq(tl_local_delete(local, keys[1]), TL_OK);
  ck_assert_ptr_null(tl_local_peek_quark(local, tl_quark_from_string(keys[1])));
  ck_assert_int_eq(tl_last_error(), TL_ERR_NOT_FOUND);
  ck_assert_int_eq(tl_local_delete_quark(local, tl_quark_from_string(keys[1])), TL_ERR_NOT_FOUND);
  tl_test_assert_no_failure();
  tl_local_unref(local);
}
END_TEST

START_TEST(test_quark_bad_input_leaves_state)
{
  TlLocal *local = tl_local_new();
  TlQuark quark = tl_quark_from_string("tl-test.quark.bad");
  TlQuark unknown = tl_quark_to_string(quark + 100000) == NULL ? quark + 100000 : 0;
  TlValue *value = tl_value_new_int64(7), *out = (TlValue *) &out;

  ck_assert_uint_ne(unknown, 0);
  ck_assert_int_eq(tl_local_set_quark(local, quark, value), TL_OK);
  ck_assert_int_eq(tl_local_set_quark(NULL, quark, value), TL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(tl_local_set_quark(local, 0, value), TL_ERR_INVALID_KEY);
  ck_assert_int_eq(tl_local_set_quark(local, unknown, value), TL_ERR_INVALID_KEY);
  ck_assert_int_eq(tl_local_set_quark(local, quark, NULL), TL_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_null(tl_local_peek_quark(NULL, quark));
  ck_assert_int_eq(tl_last_error(), TL_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_null(tl_local_peek_quark(local, 0));
  ck_assert_int_eq(tl_last_error(), TL_ERR_INVALID_KEY);
  ck_assert_ptr_null(tl_local_peek_quark(local, unknown));
  ck_assert_int_eq(tl_last_error(), TL_ERR_INVALID_KEY);
  ck_assert_int_eq(tl_local_get_quark(local, quark, NULL), TL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(tl_local_get_quark(local, unknown, &out), TL_ERR_INVALID_KEY);
  ck_assert_ptr_null(out);
  ck_assert_int_eq(tl_local_delete_quark(local, 0), TL_ERR_INVALID_KEY);
  ck_assert_int_eq(tl_local_delete_quark(NULL, quark), TL_ERR_INVALID_ARGUMENT);
  /* Nothing changed. */
  ck_assert_uint_eq(tl_test_local_size(local), 1);
  ck_assert_ptr_eq(tl_local_peek_quark(local, quark), value);
  tl_value_unref(value);
  tl_local_unref(local);
}
END_TEST

/* ---- the quark read cache never answers with what the dictionary no longer holds ---- */

static int
apply_one(TlLocal *local, const char *key, int64_t number)
{
  TlValue *keys_value = tl_value_new_int64(number);
  const char *key_list[] = {key};
  TlValue *dict = tl_value_new_vardict(key_list, &keys_value, 1);
  int status = tl_local_apply(local, dict, TL_APPLY_UPDATE);

  tl_value_unref(dict);
  tl_value_unref(keys_value);
  return status;
}

START_TEST(test_cache_sees_every_change)
{
  int rounds = tl_test_repeat(200), r;
  TlQuark quark = tl_quark_from_string("tl-test.quark.cache");
  TlLocal *local = tl_local_new();

  for (r = 0; r < rounds; r++) {
    ck_assert_int_eq(set_int64_quark(local, quark, r), TL_OK);
    ck_assert_int_eq(peek_int64_quark(local, quark), r);
    ck_assert_int_eq(tl_local_set_int64(local, "tl-test.quark.cache", r + 1), TL_OK);
    ck_assert_int_eq(peek_int64_quark(local, quark), r + 1);
    ck_assert_int_eq(apply_one(local, "tl-test.quark.cache", r + 2), TL_OK);
    ck_assert_int_eq(peek_int64_quark(local, quark), r + 2);
    ck_assert_int_eq(tl_local_delete(local, "tl-test.quark.cache"), TL_OK);
    ck_assert_ptr_null(tl_local_peek_quark(local, quark));
    ck_assert_int_eq(set_int64_quark(local, quark, r + 3), TL_OK);
    ck_assert_int_eq(peek_int64_quark(local, quark), r + 3);
    ck_assert_int_eq(tl_local_clear(local), TL_OK);
    ck_assert_ptr_null(tl_local_peek_quark(local, quark));
    ck_assert_int_eq(set_int64_quark(local, quark, r + 4), TL_OK);
    ck_assert_int_eq(peek_int64_quark(local, quark), r + 4);
    tl_thread_clear();
    ck_assert_ptr_null(tl_local_peek_quark(local, quark));
  }
  tl_test_assert_no_failure();
  tl_local_unref(local);
}
END_TEST

/* Locals made and destroyed in a loop reuse addresses: a new local at a cached one's address must
 * not see the old local's values. */
START_TEST(test_cache_not_fooled_by_reused_local)
{
  int rounds = tl_test_repeat(500), r;
  TlQuark quark = tl_quark_from_string("tl-test.quark.reuse");

  for (r = 0; r < rounds; r++) {
    TlLocal *local = tl_local_new();

    ck_assert_ptr_null(tl_local_peek_quark(local, quark));
    ck_assert_int_eq(tl_last_error(), TL_ERR_NOT_FOUND);
    ck_assert_int_eq(set_int64_quark(local, quark, r), TL_OK);
    ck_assert_int_eq(peek_int64_quark(local, quark), r);
    tl_local_unref(local);
  }
  tl_test_assert_no_failure();
}
END_TEST

typedef struct {
  TlLocal *local;
  int fd_ready[2];
  int fd_go[2];
} DestroyHandoff;

static void *
destroy_on_other_thread(void *arg)
{
  DestroyHandoff *handoff = arg;
  char byte;

  TL_CHECK(read(handoff->fd_ready[0], &byte, 1) == 1);
  tl_local_unref(handoff->local);
  TL_CHECK(write(handoff->fd_go[1], "x", 1) == 1);
  return NULL;
}

/* The last reference dropped on another thread frees this thread's values without a change of
 * this thread's counter: the cache must notice anyway. */
START_TEST(test_cache_sees_destruction_elsewhere)
{
  int rounds = tl_test_repeat(100), r;
  TlQuark quark = tl_quark_from_string("tl-test.quark.elsewhere");

  for (r = 0; r < rounds; r++) {
    DestroyHandoff handoff;
    pthread_t thread;
    TlLocal *next;
    char byte;

    ck_assert_int_eq(pipe(handoff.fd_ready), 0);
    ck_assert_int_eq(pipe(handoff.fd_go), 0);
    handoff.local = tl_local_new();
    ck_assert_int_eq(set_int64_quark(handoff.local, quark, r), TL_OK);
    ck_assert_int_eq(peek_int64_quark(handoff.local, quark), r); /* now cached */
    tl_test_spawn(&thread, destroy_on_other_thread, &handoff);
    ck_assert_int_eq(write(handoff.fd_ready[1], "x", 1), 1);
    ck_assert_int_eq(read(handoff.fd_go[0], &byte, 1), 1);
    tl_test_join(thread);
    next = tl_local_new(); /* often at the destroyed one's address */
    ck_assert_ptr_null(tl_local_peek_quark(next, quark));
    ck_assert_int_eq(tl_last_error(), TL_ERR_NOT_FOUND);
    tl_local_unref(next);
    close(handoff.fd_ready[0]);
    close(handoff.fd_ready[1]);
    close(handoff.fd_go[0]);
    close(handoff.fd_go[1]);
  }
  tl_test_assert_no_failure();
}
END_TEST

/* ---- many threads, one local, one set of quarks ---- */

#define SHARED_KEYS 24

static TlLocal *shared_local;
static TlQuark shared_quarks[SHARED_KEYS];

static void *
quark_worker(void *arg)
{
  int64_t me = (int64_t) __atomic_fetch_add(&race_next_thread, 1, __ATOMIC_RELAXED) * 1000000;
  int rounds = tl_test_repeat(2000), r, k;

  (void) arg;
  for (r = 0; r < rounds; r++) {
    for (k = 0; k < SHARED_KEYS; k++) {
      if ((r + k) % 3 == 0)
        TL_CHECK(tl_local_set_int64(shared_local, tl_quark_to_string(shared_quarks[k]),
                                    me + r * SHARED_KEYS + k) == TL_OK);
      else
        TL_CHECK(set_int64_quark(shared_local, shared_quarks[k], me + r * SHARED_KEYS + k) ==
                 TL_OK);
    }
    for (k = 0; k < SHARED_KEYS; k++) {
      TlValue *value = tl_local_peek_quark(shared_local, shared_quarks[k]);
      int64_t number = -1;

      TL_CHECK(value != NULL && tl_value_get_int64(value, &number) == TL_OK);
      TL_CHECK(number == me + r * SHARED_KEYS + k); /* this thread's own, never another's */
    }
    if (r % 7 == 0)
      TL_CHECK(tl_local_delete_quark(shared_local, shared_quarks[r % SHARED_KEYS]) == TL_OK);
  }
  return NULL;
}

START_TEST(test_threads_keep_their_own_values)
{
  size_t dicts = tl_stats_live_dicts();
  char name[64];
  int k;

  for (k = 0; k < SHARED_KEYS; k++) {
    snprintf(name, sizeof name, "tl-test.quark.shared.%d", k);
    shared_quarks[k] = tl_quark_from_string(name);
  }
  shared_local = tl_local_new();
  race_next_thread = 1;
  tl_test_run_threads(8, quark_worker, NULL);
  tl_test_assert_no_failure();
  ck_assert_uint_eq(tl_stats_live_dicts(), dicts); /* each thread's freed at its exit */
  tl_local_unref(shared_local);
}
END_TEST

/* ---- fork ---- */

static volatile int fork_stop;

static void *
intern_while_forking(void *arg)
{
  char name[64];
  int i = 0;

  (void) arg;
  while (!__atomic_load_n(&fork_stop, __ATOMIC_ACQUIRE)) {
    snprintf(name, sizeof name, "tl-test.quark.fork.busy.%d", i++ % 5000);
    TL_CHECK(tl_quark_from_string(name) != 0);
  }
  return NULL;
}

#define CHILD_CHECK(cond)                                                                          \
  do {                                                                                             \
    if (!(cond))                                                                                   \
      _exit(10 + __LINE__ % 100);                                                                  \
  } while (0)

START_TEST(test_quarks_in_fork_child)
{
  int forks = tl_test_repeat(20), f, status;
  TlQuark quark = tl_quark_from_string("tl-test.quark.fork");
  TlLocal *local = tl_local_new();
  pthread_t busy[2];

  ck_assert_int_eq(set_int64_quark(local, quark, 42), TL_OK);
  ck_assert_int_eq(peek_int64_quark(local, quark), 42);
  fork_stop = 0;
  /* Interning threads hold the registry lock at random moments of the fork. (Sanitizer runtimes
   * of this toolchain are not fork-safe with busy threads: there, fork with them stopped.) */
  if (!(TL_TEST_TSAN || TL_TEST_ASAN)) {
    tl_test_spawn(&busy[0], intern_while_forking, NULL);
    tl_test_spawn(&busy[1], intern_while_forking, NULL);
  }
  for (f = 0; f < forks; f++) {
    pid_t pid = fork();

    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
      char name[64];
      TlQuark fresh;

      CHILD_CHECK(tl_quark_from_string("tl-test.quark.fork") == quark);
      CHILD_CHECK(peek_int64_quark(local, quark) == 42); /* the forking thread's, kept */
      snprintf(name, sizeof name, "tl-test.quark.fork.child.%d", f);
      fresh = tl_quark_from_string(name);
      CHILD_CHECK(fresh != 0 && strcmp(tl_quark_to_string(fresh), name) == 0);
      CHILD_CHECK(set_int64_quark(local, fresh, f) == TL_OK);
      CHILD_CHECK(tl_local_peek(local, name) == tl_local_peek_quark(local, fresh));
      _exit(0);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
  }
  __atomic_store_n(&fork_stop, 1, __ATOMIC_RELEASE);
  if (!(TL_TEST_TSAN || TL_TEST_ASAN)) {
    tl_test_join(busy[0]);
    tl_test_join(busy[1]);
  }
  tl_test_assert_no_failure();
  tl_local_unref(local);
}
END_TEST

/* ---- typed reads in one call ---- */

START_TEST(test_typed_reads)
{
  TlLocal *local = tl_local_new();
  int flag = 7;
  int64_t i64 = 7;
  uint64_t u64 = 7;
  double d = 7;
  const char *s = "untouched";
  TlValue *path = NULL;

  ck_assert_int_eq(tl_local_set_bool(local, "b", 1), TL_OK);
  ck_assert_int_eq(tl_local_set_int64(local, "x", INT64_MIN), TL_OK);
  ck_assert_int_eq(tl_local_set_uint64(local, "t", UINT64_MAX), TL_OK);
  ck_assert_int_eq(tl_local_set_double(local, "d", -0.5), TL_OK);
  ck_assert_int_eq(tl_local_set_string(local, "s", "héllo"), TL_OK);
  ck_assert_int_eq(tl_value_parse("o", "'/org/example'", &path), TL_OK);
  ck_assert_int_eq(tl_local_set_take(local, "o", path), TL_OK);

  ck_assert_int_eq(tl_local_get_bool(local, "b", &flag), TL_OK);
  ck_assert_int_eq(flag, 1);
  ck_assert_int_eq(tl_local_get_int64(local, "x", &i64), TL_OK);
  ck_assert_int_eq(i64, INT64_MIN);
  ck_assert_int_eq(tl_local_get_uint64(local, "t", &u64), TL_OK);
  ck_assert_uint_eq(u64, UINT64_MAX);
  ck_assert_int_eq(tl_local_get_double(local, "d", &d), TL_OK);
  ck_assert(d == -0.5);
  ck_assert_int_eq(tl_local_get_string(local, "s", &s), TL_OK);
  ck_assert_str_eq(s, "héllo");
  ck_assert_ptr_eq(s, tl_local_get_string(local, "s", &s) == TL_OK ? s : NULL);
  ck_assert_int_eq(tl_local_get_string(local, "o", &s), TL_OK); /* "o" and "g" are strings too */
  ck_assert_str_eq(s, "/org/example");

  /* Wrong type, absent key, bad input: the error, and out untouched. */
  i64 = 99;
  ck_assert_int_eq(tl_local_get_int64(local, "t", &i64), TL_ERR_WRONG_TYPE);
  ck_assert_int_eq(tl_local_get_int64(local, "absent", &i64), TL_ERR_NOT_FOUND);
  ck_assert_int_eq(tl_local_get_int64(local, "bad \xff", &i64), TL_ERR_INVALID_KEY);
  ck_assert_int_eq(tl_local_get_int64(NULL, "x", &i64), TL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(i64, 99);
  ck_assert_int_eq(tl_local_get_int64(local, "x", NULL), TL_ERR_INVALID_ARGUMENT);
  s = "untouched";
  ck_assert_int_eq(tl_local_get_string(local, "b", &s), TL_ERR_WRONG_TYPE);
  ck_assert_str_eq(s, "untouched");
  ck_assert_int_eq(tl_local_get_bool(local, "s", &flag), TL_ERR_WRONG_TYPE);
  ck_assert_int_eq(tl_local_get_double(local, "x", &d), TL_ERR_WRONG_TYPE);
  ck_assert_int_eq(tl_local_get_uint64(local, "x", &u64), TL_ERR_WRONG_TYPE);
  ck_assert_uint_eq(tl_test_local_size(local), 6);
  tl_local_unref(local);
}
END_TEST

/* What tl_local_get_scalar must give for an integer value: its checked accessor's result, widened
 * (signed types as int64_t's two's complement). */
static uint64_t
expected_bits(const TlValue *value)
{
  uint8_t y;
  int16_t n;
  uint16_t q;
  int32_t i;
  uint32_t u;
  int64_t x;
  uint64_t t;

  switch (tl_value_type(value)[0]) {
  case 'y': ck_assert_int_eq(tl_value_get_byte(value, &y), TL_OK); return y;
  case 'n': ck_assert_int_eq(tl_value_get_int16(value, &n), TL_OK); return (uint64_t) (int64_t) n;
  case 'q': ck_assert_int_eq(tl_value_get_uint16(value, &q), TL_OK); return q;
  case 'i': ck_assert_int_eq(tl_value_get_int32(value, &i), TL_OK); return (uint64_t) (int64_t) i;
  case 'h': ck_assert_int_eq(tl_value_get_handle(value, &i), TL_OK); return (uint64_t) (int64_t) i;
  case 'u': ck_assert_int_eq(tl_value_get_uint32(value, &u), TL_OK); return u;
  case 'x': ck_assert_int_eq(tl_value_get_int64(value, &x), TL_OK); return (uint64_t) x;
  case 't': ck_assert_int_eq(tl_value_get_uint64(value, &t), TL_OK); return t;
  default: ck_abort_msg("not an integer type: %s", tl_value_type(value)); return 0;
  }
}

/* Every basic type through tl_local_get_scalar, against its checked accessor. */
START_TEST(test_get_scalar_every_type)
{
  static const struct {
    const char *type, *text;
  } cases[] = {
      {"b", "true"},
      {"b", "false"},
      {"y", "255"},
      {"n", "-32768"},
      {"q", "65535"},
      {"i", "-7"},
      {"u", "4294967295"},
      {"x", "-9223372036854775808"},
      {"t", "18446744073709551615"},
      {"h", "3"},
      {"d", "-1.5e300"},
      {"s", "'text'"},
      {"o", "'/a/b'"},
      {"g", "'a{sv}'"},
  };
  TlLocal *local = tl_local_new();
  size_t i;

  for (i = 0; i < N_ELEMENTS(cases); i++) {
    TlValue *value = NULL;
    int type = -1;
    uint64_t bits = 1234;
    const char *string = "x";

    ck_assert_int_eq(tl_value_parse(cases[i].type, cases[i].text, &value), TL_OK);
    ck_assert_int_eq(tl_local_set(local, "v", value), TL_OK);
    ck_assert_int_eq(tl_local_get_scalar(local, "v", &type, &bits, &string), TL_OK);
    ck_assert_int_eq(type, cases[i].type[0]);
    switch (type) {
    case 's':
    case 'o':
    case 'g': {
      const char *expected = NULL;

      ck_assert_int_eq(tl_value_get_string(value, &expected), TL_OK);
      ck_assert_ptr_eq(string, expected);
      ck_assert_uint_eq(bits, 0);
      break;
    }
    case 'd': {
      double expected = 0, got;

      ck_assert_int_eq(tl_value_get_double(value, &expected), TL_OK);
      memcpy(&got, &bits, sizeof got);
      ck_assert(got == expected);
      ck_assert_ptr_null(string);
      break;
    }
    case 'b': {
      int expected = -1;

      ck_assert_int_eq(tl_value_get_bool(value, &expected), TL_OK);
      ck_assert_uint_eq(bits, (uint64_t) expected);
      break;
    }
    default: ck_assert_uint_eq(bits, expected_bits(value)); ck_assert_ptr_null(string);
    }
    tl_value_unref(value);
  }
  tl_local_unref(local);
}
END_TEST

static void
noop_destroy(void *ptr)
{
  (void) ptr;
}

START_TEST(test_get_scalar_other_values)
{
  static const struct {
    const char *type, *text;
  } cases[] = {{"ay", "b'bytes'"},   {"as", "['a']"}, {"mx", "just 5"},
               {"(xs)", "(1, 'a')"}, {"v", "<5>"},    {"a{sv}", "{}"}};
  TlLocal *local = tl_local_new();
  int type = -1;
  uint64_t bits = 1234;
  const char *string = "x";
  size_t i;

  for (i = 0; i < N_ELEMENTS(cases); i++) {
    TlValue *value = NULL;

    ck_assert_int_eq(tl_value_parse(cases[i].type, cases[i].text, &value), TL_OK);
    ck_assert_int_eq(tl_local_set_take(local, "v", value), TL_OK);
    ck_assert_int_eq(tl_local_get_scalar(local, "v", &type, &bits, &string), TL_OK);
    ck_assert_int_eq(type, 0);
    ck_assert_uint_eq(bits, 0);
    ck_assert_ptr_null(string);
  }
  ck_assert_int_eq(tl_local_set_take(local, "p", tl_value_new_pointer(&type, noop_destroy)), TL_OK);
  ck_assert_int_eq(tl_local_get_scalar(local, "p", &type, NULL, NULL), TL_OK);
  ck_assert_int_eq(type, 0);
  /* Errors leave every output as it was. */
  type = -1;
  bits = 1234;
  string = "x";
  ck_assert_int_eq(tl_local_get_scalar(local, "absent", &type, &bits, &string), TL_ERR_NOT_FOUND);
  ck_assert_int_eq(tl_local_get_scalar(NULL, "p", &type, &bits, &string), TL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(tl_local_get_scalar(local, NULL, &type, &bits, &string), TL_ERR_INVALID_KEY);
  ck_assert_int_eq(tl_local_get_scalar(local, "p", NULL, &bits, &string), TL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(type, -1);
  ck_assert_uint_eq(bits, 1234);
  ck_assert_str_eq(string, "x");
  tl_local_unref(local);
}
END_TEST

Suite *
quarks_suite(void)
{
  Suite *suite = suite_create("quarks");
  TCase *interning = tl_test_case("interning"), *keys = tl_test_case("keys");
  TCase *cache = tl_test_case("cache"), *threads = tl_test_case("threads");
  TCase *typed = tl_test_case("typed reads");

  tcase_add_test(interning, test_intern_same_string_same_quark);
  tcase_add_test(interning, test_intern_rejects_bad_strings);
  tcase_add_test(interning, test_intern_many);
  tcase_add_test(interning, test_intern_races_agree);
  suite_add_tcase(suite, interning);
  tcase_add_test(keys, test_quark_and_string_name_one_key);
  tcase_add_test(keys, test_quark_bad_input_leaves_state);
  suite_add_tcase(suite, keys);
  tcase_add_test(cache, test_cache_sees_every_change);
  tcase_add_test(cache, test_cache_not_fooled_by_reused_local);
  tcase_add_test(cache, test_cache_sees_destruction_elsewhere);
  suite_add_tcase(suite, cache);
  tcase_add_test(threads, test_threads_keep_their_own_values);
  tcase_add_test(threads, test_quarks_in_fork_child);
  suite_add_tcase(suite, threads);
  tcase_add_test(typed, test_typed_reads);
  tcase_add_test(typed, test_get_scalar_every_type);
  tcase_add_test(typed, test_get_scalar_other_values);
  suite_add_tcase(suite, typed);
  return suite;
}
