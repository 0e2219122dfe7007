/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fork() from a multi-threaded parent, against the contract of tlslocal.h ("Fork and unloading")
 * and docs/design.md ("Fork"): the child uses the library at once, without deadlock, even when
 * other parent threads were inside its slow paths at the fork, and the forking thread's
 * dictionaries survive. Every other thread's dictionaries are only detached inside fork(); they are
 * released at the child's first call that creates or opens a local, gives a thread its first
 * dictionary of a local, reads a tl_stats_* count or is tl_thread_clear(). Then their pointer
 * values are destroyed, their GVariant values abandoned (still counted by tl_stats_live_values),
 * and no exit hook runs for them in the child: those threads live on in the parent, whose hooks run
 * there when they exit.
 *
 * Cases: "child", forks in known states, checked exactly (each release trigger too); "registry
 * load", hundreds of forks while other threads hammer the library's own locks and unlocked
 * dictionary writes, with pointer values only, so that no parent thread is inside GLib at a fork
 * and the child may use all of the library (GVariants, containers, snapshots, threads of its own);
 * "glib load", hundreds of forks while other parent threads are inside GLib, where the child does
 * what the contract promises there.
 *
 * GLib's limits, documented by the contract and not asserted away here: GLib resets none of its
 * locks in a fork() child. If another parent thread was inside GLib's GVariant type-info cache
 * (building or freeing containers, building exit-hook snapshots) or GSlice (GLib before 2.76; 2.74
 * here) at the fork, a child that builds or frees GVariant values may block; and threads the child
 * starts may block at their exit in GSlice (every thread that allocated through GSlice takes its
 * lock at exit, G_SLICE=always-malloc or not), which is why the earlier test that required child
 * threads to exit cleanly under GLib load is gone. So the "glib load" children make and free no
 * GVariant (the test keeps a reference to each of the forking thread's GVariant values, so the
 * child's tl_thread_clear() only drops references), run no exit hook of their own and start no
 * thread: they use locals, named locals, pointer values, visits, tl_stats_* and tl_thread_clear(),
 * and read the forking thread's scalar, string and bytes values even while parent threads were
 * reading the very same values through GLib at the fork. The "registry load" children do everything
 * else.
 *
 * Sanitizers (see TL_TEST_ASAN in tl-test.h): this toolchain's ASan and TSan runtimes are not
 * fork-safe, so their builds run the "child" cases whole (their other threads idle at the fork;
 * under TSan without threads of the child's own) and, under load, the parent's side only.
 *
 * Children never return into Check: with CK_FORK=no a failed ck_assert would longjmp back into the
 * runner and run the remaining tests a second time, in the child. They report on stderr and end in
 * _exit(), with a status the parent checks; the parent waits with a deadline, and a child still
 * running after it is deadlocked: the failure names the phase it hung in. */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <tlslocal-glib.h>

#include "tl-test.h"

#if defined(__has_include)
#  if __has_include(<valgrind/valgrind.h>)
#    include <valgrind/valgrind.h>
#  endif
#endif

/* ---- children ---- */

#define CHILD_FAILED 3

static void child_fail(int line, const char *what) __attribute__((noreturn));

/* write(2), not stdio: another parent thread may have held stderr's lock at the fork. */
static void
child_fail(int line, const char *what)
{
  char message[512];
  int n =
      snprintf(message, sizeof message,
               "check-fork.c:%d: in fork child %ld: check failed: %s (last error: %s: %s)\n", line,
               (long) getpid(), what, tl_status_name(tl_last_error()), tl_last_error_message());

  if (n > 0 && write(STDERR_FILENO, message,
                     (size_t) n < sizeof message ? (size_t) n : sizeof message - 1) < 0)
    _exit(CHILD_FAILED + 1);
  _exit(CHILD_FAILED);
}

#define CHILD_CHECK(cond)                                                                          \
  do {                                                                                             \
    if (!(cond))                                                                                   \
      child_fail(__LINE__, #cond);                                                                 \
  } while (0)

static void child_exit(int leaks_expected) __attribute__((noreturn));

/* A child's end, after all its checks passed. leaks_expected: the child inherited memory that only
 * a thread it lacks could free (the GVariant values the release abandons by contract, and whatever
 * other threads held only in their stack frames at the fork: a value being made, a dictionary being
 * freed), which valgrind's exit-time leak check would call lost; then that check is skipped, and
 * valgrind's other errors (an invalid free in the release, say) still fail the child. */
static void
child_exit(int leaks_expected)
{
#ifdef VALGRIND_CLO_CHANGE
  if (leaks_expected && RUNNING_ON_VALGRIND)
    VALGRIND_CLO_CHANGE("--leak-check=no");
#else
  (void) leaks_expected;
#endif
  _exit(0);
}

static double
now_seconds(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static void
sleep_microseconds(long microseconds)
{
  struct timespec ts = {microseconds / 1000000, (microseconds % 1000000) * 1000};

  nanosleep(&ts, NULL);
}

/* A child is deadlocked once it has run this long: seconds, not the milliseconds it needs (more
 * under valgrind, which runs the child's threads one at a time). */
static double
child_deadline_seconds(void)
{
  return getenv("TL_TEST_SLOW") != NULL ? 120.0 : 10.0;
}

/* Where a child is, in memory shared with the parent, so that a hung child's report says where
 * it hung. Only the innermost process alive writes it. */
static char *child_phase;

static void
set_phase(const char *phase)
{
  if (child_phase != NULL)
    snprintf(child_phase, 256, "%s", phase);
}

/* Fork; the child runs child(arg), which must end in _exit(). Safe to call from any thread, and
 * in a child. @return 1 if the child exited with status 0; else 0 with why in failure. */
static int
fork_and_wait(void (*child)(void *), void *arg, char *failure, size_t failure_size)
{
  double deadline;
  pid_t pid, done;
  int status = 0;

  if (child_phase == NULL) {
    void *page = mmap(NULL, 256, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    child_phase = page != MAP_FAILED ? page : NULL;
  }
  set_phase("inside fork(), in the atfork child handler (the library only detaches the other "
            "threads' dictionaries there)");
  pid = fork();
  if (pid < 0) {
    snprintf(failure, failure_size, "fork() failed");
    return 0;
  }
  if (pid == 0) {
    child(arg);
    _exit(CHILD_FAILED + 2); /* child() must not return */
  }
  deadline = now_seconds() + child_deadline_seconds();
  while ((done = waitpid(pid, &status, WNOHANG)) == 0) {
    if (now_seconds() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      snprintf(failure, failure_size,
               "child %ld still running after %.0f s: deadlocked %s (killed)", (long) pid,
               child_deadline_seconds(), child_phase != NULL ? child_phase : "");
      return 0;
    }
    sleep_microseconds(200);
  }
  if (done != pid)
    snprintf(failure, failure_size, "waitpid() failed");
  else if (WIFSIGNALED(status))
    snprintf(failure, failure_size, "child %ld killed by signal %d (%s)", (long) pid,
             WTERMSIG(status), strsignal(WTERMSIG(status)));
  else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    snprintf(failure, failure_size, "child %ld exited with status %d (see its message above)",
             (long) pid, WEXITSTATUS(status));
  else
    return 1;
  return 0;
}

/* ---- exit hooks: which ran, where, for whom ---- */

enum { TAG_SHARED = 1, TAG_PLAIN, TAG_CHURN, N_TAGS };
static int tags[N_TAGS] = {0, TAG_SHARED, TAG_PLAIN, TAG_CHURN};

#define N_REASONS 4 /* TlFreeReason is 1..3; index 0 counts anything else */

/* Calls by tag and reason, in this process (a child starts from the parent's counts at the
 * fork). */
static int hook_calls[N_TAGS][N_REASONS]; /* atomic */

/* The calls of the parked threads' locals' hooks (TAG_SHARED, TAG_PLAIN), one slot each. */
typedef struct {
  int tag, reason;
  uint64_t thread_id; /* the freed dictionary's thread */
  uint64_t ran_on;    /* the thread the hook ran on */
  int64_t who;        /* the dictionary's "who" pointer as an index into who_ids, -1 if none */
} HookRecord;

static HookRecord hook_records[64];
static int n_hook_records; /* atomic: slots taken, lost ones included */
static int who_ids[8];     /* "who" pointer values point at these: index i names parked thread i */

static void
record_hook(int reason, uint64_t thread_id, TlValue *contents, void *user_data)
{
  int tag = *(int *) user_data, slot;
  HookRecord *record;
  TlValue *who = NULL;
  void *ptr = NULL;

  __atomic_fetch_add(&hook_calls[tag][reason >= 1 && reason < N_REASONS ? reason : 0], 1,
                     __ATOMIC_SEQ_CST);
  if (tag == TAG_CHURN)
    return; /* the hammers' hooks run by the thousand: counted only */
  slot = __atomic_fetch_add(&n_hook_records, 1, __ATOMIC_SEQ_CST);
  if (slot >= (int) N_ELEMENTS(hook_records))
    return;
  record = &hook_records[slot];
  record->tag = tag;
  record->reason = reason;
  record->thread_id = thread_id;
  record->ran_on = tl_thread_id();
  record->who = -1;
  if (tl_value_lookup(contents, "who", &who) == TL_OK && tl_value_get_pointer(who, &ptr) == TL_OK &&
      (int *) ptr >= who_ids && (int *) ptr < who_ids + N_ELEMENTS(who_ids))
    record->who = (int *) ptr - who_ids;
  tl_value_unref(who);
}

/* Only while no hook can run. */
static void
hooks_reset(void)
{
  memset(hook_calls, 0, sizeof hook_calls);
  memset(hook_records, 0, sizeof hook_records);
  n_hook_records = 0;
}

static void
set_hook(TlLocal *local, int tag)
{
  ck_assert_int_eq(tl_local_set_exit_hook(local, record_hook, &tags[tag], NULL), TL_OK);
}

/* Every hook call so far, of every tag and reason. */
static int
hook_total(void)
{
  int tag, reason, total = 0;

  for (tag = 0; tag < N_TAGS; tag++)
    for (reason = 0; reason < N_REASONS; reason++)
      total += __atomic_load_n(&hook_calls[tag][reason], __ATOMIC_SEQ_CST);
  return total;
}

/* How many calls of tag's hook, for reason, freed thread_id's dictionary. After the threads that
 * ran them are joined. */
static int
count_records(int tag, int reason, uint64_t thread_id)
{
  int i, n = 0, taken = __atomic_load_n(&n_hook_records, __ATOMIC_SEQ_CST);

  ck_assert_int_le(taken, (int) N_ELEMENTS(hook_records));
  for (i = 0; i < taken; i++)
    if (hook_records[i].tag == tag && hook_records[i].reason == reason &&
        hook_records[i].thread_id == thread_id)
      n++;
  return n;
}

/* ---- values ---- */

static void
set_int64(TlLocal *local, const char *key, int64_t number)
{
  TlValue *value = tl_value_new_int64(number);

  ck_assert_int_eq(tl_local_set(local, key, value), TL_OK);
  tl_value_unref(value);
}

/* GVariant values the test references besides a dictionary of the forking thread: a child that
 * clears or overwrites them only drops a reference (no GLib), and valgrind finds them reachable in
 * a child that abandons another thread's reference to them. Released at the end of the test. */
static TlValue *kept_values[16];
static int n_kept_values;

static void
set_kept(TlLocal *local, const char *key, TlValue *value)
{
  ck_assert_ptr_nonnull(value);
  ck_assert_int_lt(n_kept_values, (int) N_ELEMENTS(kept_values));
  ck_assert_int_eq(tl_local_set(local, key, value), TL_OK);
  kept_values[n_kept_values++] = value;
}

static void
set_kept_int64(TlLocal *local, const char *key, int64_t number)
{
  set_kept(local, key, tl_value_new_int64(number));
}

static void
kept_release(void)
{
  while (n_kept_values > 0)
    tl_value_unref(kept_values[--n_kept_values]);
}

/* Like set_int64, for threads and children, where Check may not be used. */
static int
try_set_int64(TlLocal *local, const char *key, int64_t number)
{
  TlValue *value = tl_value_new_int64(number);
  int status = tl_local_set(local, key, value);

  tl_value_unref(value);
  return status;
}

static int
try_set_counted(TlLocal *local, const char *key, int *counter)
{
  TlValue *value = tl_value_new_pointer(counter, tl_test_count_destroy);
  int status = tl_local_set(local, key, value);

  tl_value_unref(value);
  return status;
}

static int
try_set_pointer(TlLocal *local, const char *key, void *ptr)
{
  TlValue *value = tl_value_new_pointer(ptr, NULL);
  int status = tl_local_set(local, key, value);

  tl_value_unref(value);
  return status;
}

static int64_t
peek_int64(TlLocal *local, const char *key)
{
  TlValue *value = tl_local_peek(local, key);
  int64_t number = -12345;

  if (value != NULL)
    tl_value_get_int64(value, &number);
  return number;
}

static void *
peek_pointer(TlLocal *local, const char *key)
{
  TlValue *value = tl_local_peek(local, key);
  void *ptr = NULL;

  if (value != NULL)
    tl_value_get_pointer(value, &ptr);
  return ptr;
}

static int
read_counter(int *counter)
{
  return __atomic_load_n(counter, __ATOMIC_SEQ_CST);
}

static int
count_visit(uint64_t thread_id, const char *key, TlValue *value, void *payload)
{
  ++*(int *) payload;
  return 0;
}

/* ---- what children do with the library ---- */

typedef struct {
  TlLocal *local;
  TlLocal *named;
  int destroyed; /* atomic */
  int failures;  /* atomic */
} ChildUse;

static void *
child_thread(void *data)
{
  ChildUse *use = data;
  TlLocal *hammered = tl_local_open("fork-named-0"); /* a name the parent's threads use */
  TlValue *got = NULL;

  if (tl_local_size(use->local, &(size_t){0}) != TL_OK || tl_local_contains(use->local, "k") != 0 ||
      try_set_counted(use->local, "p", &use->destroyed) != TL_OK ||
      try_set_counted(use->named, "p", &use->destroyed) != TL_OK ||
      try_set_counted(hammered, "p", &use->destroyed) != TL_OK ||
      try_set_int64(use->local, "k", 7) != TL_OK || tl_local_get(use->local, "k", &got) != TL_OK)
    __atomic_fetch_add(&use->failures, 1, __ATOMIC_SEQ_CST);
  tl_value_unref(got);
  tl_local_unref(hammered);
  return NULL; /* the thread's exit releases its dictionaries */
}

/* All of the library, for children whose parent had no other thread inside GLib at the fork: new
 * locals and named ones, GVariant values made and freed, containers (snapshots, the parser, the
 * printer), and threads of the child's own whose exit releases their dictionaries. Leaves the
 * dictionary count as found. forked_with_threads: this process descends from a fork that left
 * other threads behind; ThreadSanitizer stops such a process when it starts a thread ("starting new
 * threads after multi-threaded fork is not supported", its die_after_fork), so its builds skip that
 * step there. */
static void
child_use_library(TlLocal *visitable, int forked_with_threads)
{
  size_t dicts = tl_stats_live_dicts(), size = 0;
  ChildUse use = {tl_local_new(), tl_local_open("fork-child-named"), 0, 0};
  TlValue *value = NULL, *snapshot = NULL, *parsed = NULL;
  pthread_t threads[2];
  char *text;
  int i, mine = 0;

  set_phase("in the child, using locals and scalar values");
  CHILD_CHECK(use.local != NULL && use.named != NULL);
  CHILD_CHECK(try_set_int64(use.local, "k", 1) == TL_OK);
  CHILD_CHECK(try_set_counted(use.local, "mine", &mine) == TL_OK);
  CHILD_CHECK(tl_local_get(use.local, "k", &value) == TL_OK);
  CHILD_CHECK(tl_value_get_int64(value, &(int64_t){0}) == TL_OK);
  tl_value_unref(value);
  CHILD_CHECK(try_set_int64(use.named, "k", 2) == TL_OK);
  CHILD_CHECK(tl_stats_live_dicts() == dicts + 2);

  set_phase("in the child, using container values (snapshot, apply, parse, print)");
  CHILD_CHECK(tl_local_snapshot(use.local, &snapshot) == TL_OK);
  CHILD_CHECK(tl_local_apply(use.named, snapshot, TL_APPLY_REPLACE) == TL_OK);
  CHILD_CHECK(peek_pointer(use.named, "mine") == &mine);
  text = tl_value_print(tl_local_peek(use.named, "k"), 1);
  CHILD_CHECK(text != NULL && strcmp(text, "int64 1") == 0);
  tl_free(text);
  CHILD_CHECK(tl_value_parse("a{sv}", "{'k': <int64 1>, 't': <(1, 'x', [2.5])>}", &parsed) ==
              TL_OK);
  CHILD_CHECK(tl_local_apply(use.named, parsed, TL_APPLY_UPDATE) == TL_OK);
  CHILD_CHECK(tl_local_size(use.named, &size) == TL_OK && size == 3);
  tl_value_unref(parsed);
  tl_value_unref(snapshot);

  /* Threads of the child: first accesses, then their exit. */
  if (!(TL_TEST_TSAN && forked_with_threads)) {
    set_phase("in the child, running threads of its own (first accesses, set, exit)");
    for (i = 0; i < 2; i++)
      CHILD_CHECK(pthread_create(&threads[i], NULL, child_thread, &use) == 0);
    for (i = 0; i < 2; i++)
      CHILD_CHECK(pthread_join(threads[i], NULL) == 0);
    CHILD_CHECK(use.failures == 0);
    CHILD_CHECK(read_counter(&use.destroyed) == 6);
    CHILD_CHECK(tl_stats_live_dicts() == dicts + 2);
  }

  /* The forking thread's dictionary of a visitable local: its lock is free. */
  set_phase("in the child, cleaning up");
  if (visitable != NULL) {
    CHILD_CHECK(try_set_counted(visitable, "child", &mine) == TL_OK);
    CHILD_CHECK(tl_local_delete(visitable, "child") == TL_OK);
    CHILD_CHECK(mine == 1);
    mine = 0;
  }

  tl_local_unref(use.local);
  tl_local_unref(use.named);
  CHILD_CHECK(tl_local_unregister("fork-child-named") == TL_OK);
  CHILD_CHECK(mine == 1); /* one value, in both locals */
  CHILD_CHECK(tl_stats_live_dicts() == dicts);
}

/* Whether this process's forking thread has a dictionary in "fork-named-0" (a grandchild inherits
 * its parent's). */
static int has_hammered_dict;

/* What the contract promises a child whatever GLib state other parent threads left (see the GLib
 * limits above): locals (visitable too), named locals, pointer values set, read, shared,
 * overwritten, deleted and destroyed, keys, visits and tl_stats_*, on the forking thread alone. No
 * GVariant is made or freed and no thread started. Leaves the forking thread a dictionary in
 * "fork-named-0", the named local the parent's hammers use. */
static void
child_use_library_without_glib(TlLocal *visitable)
{
  size_t dicts = tl_stats_live_dicts() - (size_t) has_hammered_dict;
  size_t values = tl_stats_live_values(), size = 0;
  TlLocal *local = tl_local_new_full(TL_LOCAL_VISITABLE, NULL, NULL, NULL);
  TlLocal *named = tl_local_open("fork-child-named");
  TlLocal *hammered = tl_local_open("fork-named-0");
  TlValue *value = NULL;
  char **keys = NULL;
  void *ptr = NULL;
  int destroyed = 0, seen = 0;

  set_phase("in the child, using locals, named locals and pointer values (no GLib)");
  CHILD_CHECK(local != NULL && named != NULL && hammered != NULL);
  CHILD_CHECK(try_set_counted(local, "a", &destroyed) == TL_OK);
  CHILD_CHECK(try_set_counted(local, "b", &destroyed) == TL_OK);
  CHILD_CHECK(try_set_counted(named, "a", &destroyed) == TL_OK);
  CHILD_CHECK(try_set_counted(hammered, "child", &destroyed) == TL_OK);
  CHILD_CHECK(tl_stats_live_dicts() == dicts + 3);
  CHILD_CHECK(tl_stats_live_values() == values + 4);

  /* One value in two dictionaries, then overwritten in one: it lives on in the other. */
  CHILD_CHECK(tl_local_get(local, "a", &value) == TL_OK);
  CHILD_CHECK(tl_value_get_pointer(value, &ptr) == TL_OK && ptr == &destroyed);
  CHILD_CHECK(tl_local_set(named, "b", value) == TL_OK);
  tl_value_unref(value);
  CHILD_CHECK(try_set_counted(local, "a", &destroyed) == TL_OK);
  CHILD_CHECK(read_counter(&destroyed) == 0);
  CHILD_CHECK(tl_local_delete(local, "b") == TL_OK);
  CHILD_CHECK(read_counter(&destroyed) == 1);
  CHILD_CHECK(tl_local_contains(local, "b") == 0 && tl_local_contains(local, "a") == 1);
  CHILD_CHECK(peek_pointer(named, "b") == &destroyed);
  CHILD_CHECK(tl_local_size(named, &size) == TL_OK && size == 2);
  CHILD_CHECK(tl_local_keys(named, &keys, NULL) == TL_OK && keys != NULL);
  CHILD_CHECK(keys[0] != NULL && strcmp(keys[0], "a") == 0 && keys[1] != NULL &&
              strcmp(keys[1], "b") == 0 && keys[2] == NULL);
  tl_strv_free(keys);
  CHILD_CHECK(tl_local_visit(local, NULL, count_visit, &seen) == TL_OK && seen == 1);

  /* The forking thread's dictionary of the parent's visitable local: its lock is free. */
  if (visitable != NULL) {
    int visited = 0;

    CHILD_CHECK(try_set_counted(visitable, "child", &visited) == TL_OK);
    CHILD_CHECK(tl_local_delete(visitable, "child") == TL_OK);
    CHILD_CHECK(read_counter(&visited) == 1);
  }

  set_phase("in the child, releasing locals and pointer values (no GLib)");
  CHILD_CHECK(tl_local_delete(hammered, "child") == TL_OK);
  CHILD_CHECK(read_counter(&destroyed) == 2);
  tl_local_unref(hammered); /* the registry keeps it */
  tl_local_unref(local);
  CHILD_CHECK(read_counter(&destroyed) == 3);
  tl_local_unref(named);
  CHILD_CHECK(read_counter(&destroyed) == 3); /* the registry keeps it */
  CHILD_CHECK(tl_local_unregister("fork-child-named") == TL_OK);
  CHILD_CHECK(read_counter(&destroyed) == 5);
  CHILD_CHECK(tl_stats_live_dicts() == dicts + 1);
  CHILD_CHECK(tl_stats_live_values() == values);
  has_hammered_dict = 1;
}

/* ---- a child of a single-threaded parent ---- */

typedef struct {
  TlLocal *locals[3];
  int destroyed; /* atomic */
} Simple;

static void
simple_child(void *data)
{
  Simple *simple = data;
  int hooks = hook_total(), cleared = hook_calls[TAG_PLAIN][TL_FREED_THREAD_CLEAR];
  size_t i;

  /* Nothing to release: the forking thread is the only one. */
  CHILD_CHECK(tl_stats_live_threads() == 1);
  CHILD_CHECK(tl_stats_live_dicts() == N_ELEMENTS(simple->locals));
  CHILD_CHECK(read_counter(&simple->destroyed) == 0);
  CHILD_CHECK(hook_total() == hooks);
  for (i = 0; i < N_ELEMENTS(simple->locals); i++) {
    CHILD_CHECK(peek_int64(simple->locals[i], "i") == (int64_t) i);
    CHILD_CHECK(peek_pointer(simple->locals[i], "p") == &simple->destroyed);
  }
  child_use_library(NULL, 0);
  child_use_library_without_glib(NULL);
  CHILD_CHECK(hook_total() == hooks);

  /* The forking thread's own dictionaries are the child's like any other: a clear releases them,
   * through their hooks. */
  tl_thread_clear();
  CHILD_CHECK(read_counter(&simple->destroyed) == (int) N_ELEMENTS(simple->locals));
  CHILD_CHECK(tl_stats_live_dicts() == 0);
  CHILD_CHECK(hook_calls[TAG_PLAIN][TL_FREED_THREAD_CLEAR] == cleared + 1);
  CHILD_CHECK(hook_total() == hooks + 1);
  child_exit(0);
}

START_TEST(test_fork_single_threaded)
{
  Simple simple = {{NULL, NULL, NULL}, 0};
  char failure[256] = "";
  int64_t number;
  size_t i;
  int ok, destroyed, hooks;

  hooks_reset();
  for (i = 0; i < N_ELEMENTS(simple.locals); i++) {
    simple.locals[i] = tl_local_new();
    set_int64(simple.locals[i], "i", (int64_t) i);
    ck_assert_int_eq(try_set_counted(simple.locals[i], "p", &simple.destroyed), TL_OK);
  }
  set_hook(simple.locals[0], TAG_PLAIN);
  ok = fork_and_wait(simple_child, &simple, failure, sizeof failure);
  destroyed = read_counter(&simple.destroyed);
  hooks = hook_total();
  number = peek_int64(simple.locals[2], "i");
  /* Released before any check: a failed one must not leave destroy functions pointing into this
   * frame for the teardown's tl_thread_clear(). */
  for (i = 0; i < N_ELEMENTS(simple.locals); i++)
    tl_local_unref(simple.locals[i]);
  ck_assert_msg(ok, "%s", failure);

  /* The parent is untouched. */
  ck_assert_int_eq(destroyed, 0);
  ck_assert_int_eq(hooks, 0);
  ck_assert_int_eq(number, 2);
  ck_assert_int_eq(read_counter(&simple.destroyed), 3);
  ck_assert_int_eq(hook_calls[TAG_PLAIN][TL_FREED_LOCAL_DESTROYED], 1);
}
END_TEST

/* ---- other threads' dictionaries, exactly ---- */

#define N_PARKED 3
/* Each parked thread holds four pointer values (two counted by parked.destroyed) and GVariant
 * ones. */
#define PARKED_POINTERS 4
#define PARKED_COUNTED 2

/* Threads that hold dictionaries and wait, so a fork finds them in a known state. */
typedef struct {
  TlLocal *shared; /* hooked (TAG_SHARED) if hooked */
  TlLocal *plain;  /* hooked (TAG_PLAIN) if hooked */
  TlLocal *quiet;  /* no hook */
  int hooked;
  uint64_t ids[N_PARKED];
  /* Each thread's int64 value and container (if asked), made by parked_start() and then referenced
   * by that thread's dictionary alone; the pointers stay here only so that valgrind finds the
   * values reachable in a child, which abandons them. The threads make no GVariant: one that does
   * gets GSlice state (GLib before 2.76) which a child can only leak, and GSlice's futex-based
   * lock, in uninstrumented GLib, hides from ThreadSanitizer how two threads making values at once
   * share a slab (a false race). */
  TlValue *numbers[N_PARKED];
  TlValue *tuples[N_PARKED];
  int destroyed; /* atomic: pointer values of the parked threads */
  int n_ready, failures;
  int release;
  pthread_mutex_t mutex;
  pthread_cond_t cond;
  pthread_t threads[N_PARKED];
} Parked;

static Parked parked = {.mutex = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

/* Pointer values and one int64 (a GVariant the child's release abandons), and a container when
 * asked (whose release in a child would free a GVariant container). The values are stored before
 * any fork: at a fork the thread waits, outside GLib. */
static void *
parked_thread(void *data)
{
  int index = (int) (intptr_t) data;

  if (try_set_pointer(parked.shared, "who", &who_ids[index]) != TL_OK ||
      try_set_counted(parked.shared, "p", &parked.destroyed) != TL_OK ||
      try_set_pointer(parked.plain, "who", &who_ids[index]) != TL_OK ||
      try_set_counted(parked.quiet, "p", &parked.destroyed) != TL_OK ||
      tl_local_set(parked.quiet, "n", parked.numbers[index]) != TL_OK ||
      (parked.tuples[index] != NULL &&
       tl_local_set(parked.quiet, "tuple", parked.tuples[index]) != TL_OK))
    __atomic_fetch_add(&parked.failures, 1, __ATOMIC_SEQ_CST);
  pthread_mutex_lock(&parked.mutex);
  parked.ids[index] = tl_thread_id();
  parked.n_ready++;
  pthread_cond_broadcast(&parked.cond);
  while (!parked.release)
    pthread_cond_wait(&parked.cond, &parked.mutex);
  pthread_mutex_unlock(&parked.mutex);
  return NULL; /* its exit frees its dictionaries, through the hooks, in the parent */
}

static void
parked_start(int hooked, int containers)
{
  int i;

  parked.shared = tl_local_new();
  parked.plain = tl_local_new();
  parked.quiet = tl_local_new();
  parked.hooked = hooked;
  if (hooked) {
    set_hook(parked.shared, TAG_SHARED);
    set_hook(parked.plain, TAG_PLAIN);
  }
  parked.destroyed = parked.n_ready = parked.failures = parked.release = 0;
  for (i = 0; i < N_PARKED; i++) {
    parked.numbers[i] = tl_value_new_int64(i);
    parked.tuples[i] = NULL;
    if (containers)
      ck_assert_int_eq(tl_value_parse(NULL, "(1, 'x', [2, 3], {'d': <4>})", &parked.tuples[i]),
                       TL_OK);
  }
  for (i = 0; i < N_PARKED; i++)
    ck_assert_int_eq(pthread_create(&parked.threads[i], NULL, parked_thread, (void *) (intptr_t) i),
                     0);
  pthread_mutex_lock(&parked.mutex);
  while (parked.n_ready < N_PARKED)
    pthread_cond_wait(&parked.cond, &parked.mutex);
  pthread_mutex_unlock(&parked.mutex);
  for (i = 0; i < N_PARKED; i++) { /* the thread's dictionary holds the only references now */
    tl_value_unref(parked.numbers[i]);
    tl_value_unref(parked.tuples[i]);
  }
  ck_assert_int_eq(parked.failures, 0);
}

/* Before any check of the caller's, and everything released before its own checks: a failed one
 * leaves no thread or local behind. Then the parked threads' exits in the parent released their
 * dictionaries as usual: pointer values destroyed, and each hook ran once per thread, on that
 * thread, with that thread's own contents. */
static void
parked_stop(void)
{
  int i, joined = 0;

  pthread_mutex_lock(&parked.mutex);
  parked.release = 1;
  pthread_cond_broadcast(&parked.cond);
  pthread_mutex_unlock(&parked.mutex);
  for (i = 0; i < N_PARKED; i++)
    joined += pthread_join(parked.threads[i], NULL) == 0;
  tl_local_unref(parked.shared);
  tl_local_unref(parked.plain);
  tl_local_unref(parked.quiet);
  ck_assert_int_eq(joined, N_PARKED);
  ck_assert_int_eq(read_counter(&parked.destroyed), PARKED_COUNTED * N_PARKED);
  if (parked.hooked) {
    for (i = 0; i < N_PARKED; i++) {
      int j, taken = __atomic_load_n(&n_hook_records, __ATOMIC_SEQ_CST);

      ck_assert_int_eq(count_records(TAG_SHARED, TL_FREED_THREAD_EXIT, parked.ids[i]), 1);
      ck_assert_int_eq(count_records(TAG_PLAIN, TL_FREED_THREAD_EXIT, parked.ids[i]), 1);
      for (j = 0; j < taken; j++) {
        if (hook_records[j].thread_id != parked.ids[i])
          continue;
        ck_assert_uint_eq(hook_records[j].ran_on, parked.ids[i]);
        ck_assert_int_eq(hook_records[j].who, i);
      }
    }
  }
}

/* In a child, before its first library call: the other threads' dictionaries are detached, not
 * yet released (the parked threads' pointer values all live). @return the hook calls so far. */
static int
child_release_pending(void)
{
  CHILD_CHECK(read_counter(&parked.destroyed) == 0);
  return hook_total();
}

/* In a child, right after its first call that releases: the parked threads' pointer values are
 * destroyed, and no exit hook ran, for them or anyone. */
static void
child_release_done(int hooks_before)
{
  CHILD_CHECK(read_counter(&parked.destroyed) == PARKED_COUNTED * N_PARKED);
  CHILD_CHECK(hook_total() == hooks_before);
}

/* The main thread holds dictionaries in the parked locals and its own. */
typedef struct {
  TlLocal *own;
  int destroyed; /* atomic */
  uint64_t forker;
  size_t forker_dicts;
  size_t values; /* tl_stats_live_values() at the fork */
  int grandchild;
} Exact;

static void
grandchild(void *data)
{
  Exact *exact = data;
  int hooks = hook_total();

  /* The child's fork detached nothing: its only thread forked (its own threads had exited). */
  CHILD_CHECK(tl_stats_live_threads() == 1);
  CHILD_CHECK(tl_stats_live_dicts() == exact->forker_dicts + 1); /* + "fork-named-0" */
  CHILD_CHECK(read_counter(&parked.destroyed) == PARKED_COUNTED * N_PARKED);
  CHILD_CHECK(hook_total() == hooks);
  CHILD_CHECK(peek_pointer(exact->own, "p") == &exact->destroyed);
  child_use_library(NULL, 1); /* its grandparent had threads */
  child_use_library_without_glib(NULL);
  child_exit(0);
}

static void
exact_child(void *data)
{
  Exact *exact = data;
  char failure[256] = "";
  int hooks;

  set_phase("in the child, before its first library call");
  hooks = child_release_pending();
  CHILD_CHECK(read_counter(&exact->destroyed) == 0);

  set_phase("in the child, releasing the other threads' dictionaries (tl_stats_live_dicts)");
  CHILD_CHECK(tl_stats_live_dicts() == exact->forker_dicts);
  child_release_done(hooks);
  CHILD_CHECK(tl_stats_live_threads() == 1);
  /* Their pointer values are gone; their GVariant values abandoned, so still counted. */
  CHILD_CHECK(tl_stats_live_values() == exact->values - PARKED_POINTERS * N_PARKED);
  CHILD_CHECK(tl_thread_id() == exact->forker);

  /* The forking thread's dictionaries survive, values and all. */
  set_phase("in the child, using the forking thread's dictionaries");
  CHILD_CHECK(peek_int64(exact->own, "who") == 99);
  CHILD_CHECK(peek_pointer(exact->own, "p") == &exact->destroyed);
  CHILD_CHECK(peek_int64(parked.shared, "who") == 99);
  CHILD_CHECK(tl_local_contains(parked.plain, "who") == 1);
  CHILD_CHECK(tl_local_contains(parked.quiet, "n") == 0); /* the parked threads' key, not ours */
  CHILD_CHECK(read_counter(&exact->destroyed) == 0);

  child_use_library(NULL, 1);
  CHILD_CHECK(tl_stats_live_dicts() == exact->forker_dicts);
  child_use_library_without_glib(NULL);
  CHILD_CHECK(tl_stats_live_dicts() == exact->forker_dicts + 1);
  CHILD_CHECK(hook_total() == hooks);

  if (exact->grandchild && !fork_and_wait(grandchild, exact, failure, sizeof failure))
    child_fail(__LINE__, failure);

  /* The surviving dictionaries are the thread's like any other: a clear releases them, through
   * their hooks (parked.shared's and parked.plain's), on this thread. */
  tl_thread_clear();
  CHILD_CHECK(read_counter(&exact->destroyed) == 1);
  CHILD_CHECK(tl_stats_live_dicts() == 0);
  CHILD_CHECK(hook_calls[TAG_SHARED][TL_FREED_THREAD_CLEAR] == 1);
  CHILD_CHECK(hook_calls[TAG_PLAIN][TL_FREED_THREAD_CLEAR] == 1);
  CHILD_CHECK(hook_total() == hooks + 2);
  child_exit(0);
}

START_TEST(test_fork_releases_other_threads)
{
  Exact exact = {tl_local_new(), 0, tl_thread_id(), 4, 0, 1};
  char failure[256] = "";
  size_t dicts;
  int ok, parked_destroyed, hooks;

  hooks_reset();
  parked_start(1, 0);
  set_kept_int64(exact.own, "who", 99);
  ck_assert_int_eq(try_set_counted(exact.own, "p", &exact.destroyed), TL_OK);
  set_kept_int64(parked.shared, "who", 99);
  set_kept_int64(parked.plain, "who", 99);
  set_kept_int64(parked.quiet, "who", 99);
  ck_assert_uint_eq(tl_stats_live_dicts(), exact.forker_dicts + 3 * N_PARKED);
  exact.values = tl_stats_live_values();

  ok = fork_and_wait(exact_child, &exact, failure, sizeof failure);
  parked_destroyed = read_counter(&parked.destroyed);
  hooks = hook_total();
  dicts = tl_stats_live_dicts();
  tl_local_unref(exact.own);
  kept_release();
  parked_stop();
  ck_assert_msg(ok, "%s", failure);

  /* Nothing was released in the parent, until the parked threads exited. */
  ck_assert_int_eq(parked_destroyed, 0);
  ck_assert_int_eq(hooks, 0);
  ck_assert_uint_eq(dicts, exact.forker_dicts + 3 * N_PARKED);
  ck_assert_int_eq(exact.destroyed, 1);
}
END_TEST

/* Each call that the contract names releases the other threads' dictionaries, at that call: a
 * child of its own for each. */
static struct {
  TlLocal *fresh;       /* no thread has a dictionary of it */
  TlLocal *initialized; /* nor of it; its initializer stores a pointer value */
  TlValue *pointer;     /* made in the parent: the child's trigger is its one call */
  TlValue *unit;        /* "()", the arguments of an initializer of no arguments */
  TlLocal *made;        /* what the trigger made, released after the checks */
  size_t forker_dicts, locals, values;
  int destroyed; /* atomic: the forking thread's pointer values */
} trigger;

static int
init_stores_pointer(TlLocal *local, void *user_data)
{
  return try_set_pointer(local, "who", &trigger);
}

static void
init_noop(TlLocal *local)
{
}

static int
trigger_local_new(void)
{
  return (trigger.made = tl_local_new()) != NULL;
}

static int
trigger_local_new_full(void)
{
  return (trigger.made = tl_local_new_full(TL_LOCAL_VISITABLE, NULL, NULL, NULL)) != NULL;
}

static int
trigger_local_new_with_args(void)
{
  return (trigger.made = tl_local_new_with_args(TL_LOCAL_DEFAULT, (TlCallback) init_noop, 0,
                                                trigger.unit)) != NULL;
}

static int
trigger_local_open(void)
{
  return (trigger.made = tl_local_open("fork-trigger")) != NULL;
}

static int
trigger_first_write(void)
{
  return tl_local_set(trigger.fresh, "k", trigger.pointer) == TL_OK;
}

static int
trigger_first_read(void)
{
  return tl_local_peek(trigger.initialized, "who") != NULL;
}

static int
trigger_stats_locals(void)
{
  return tl_stats_live_locals() == trigger.locals;
}

static int
trigger_stats_dicts(void)
{
  return tl_stats_live_dicts() == trigger.forker_dicts;
}

static int
trigger_stats_threads(void)
{
  return tl_stats_live_threads() == 1;
}

static int
trigger_stats_values(void)
{
  return tl_stats_live_values() == trigger.values - PARKED_POINTERS * N_PARKED;
}

static int
trigger_thread_clear(void)
{
  tl_thread_clear();
  return 1;
}

#define CLEARED (-1)

static const struct {
  const char *call;
  int (*run)(void); /* the one call; 1 if it did what it should */
  int new_dicts;    /* the forking thread's dictionaries it made, or CLEARED (all freed) */
  int new_values;   /* values it made (or freed: the forking thread's pointer value) */
  int own_hooks;    /* hook calls for the forking thread's own dictionaries */
} triggers[] = {
    {"tl_local_new", trigger_local_new, 0, 0, 0},
    {"tl_local_new_full", trigger_local_new_full, 0, 0, 0},
    {"tl_local_new_with_args", trigger_local_new_with_args, 0, 0, 0},
    {"tl_local_open", trigger_local_open, 0, 0, 0},
    {"a thread's first dictionary of a local, by a write", trigger_first_write, 1, 0, 0},
    {"a thread's first dictionary of a local, by a read (its initializer stores a value)",
     trigger_first_read, 1, 1, 0},
    {"tl_stats_live_locals", trigger_stats_locals, 0, 0, 0},
    {"tl_stats_live_dicts", trigger_stats_dicts, 0, 0, 0},
    {"tl_stats_live_threads", trigger_stats_threads, 0, 0, 0},
    {"tl_stats_live_values", trigger_stats_values, 0, 0, 0},
    /* The forking thread's two dictionaries go too, through their hooks; its int64 is kept. */
    {"tl_thread_clear", trigger_thread_clear, CLEARED, -1, 2},
};

static void
trigger_child(void *data)
{
  size_t index = (size_t) (uintptr_t) data;
  int hooks, new_dicts = triggers[index].new_dicts;
  char phase[256];

  set_phase("in the child, before its first library call");
  hooks = child_release_pending();
  CHILD_CHECK(read_counter(&trigger.destroyed) == 0);
  snprintf(phase, sizeof phase, "in the child's first library call: %s", triggers[index].call);
  set_phase(phase);
  CHILD_CHECK(triggers[index].run());
  child_release_done(hooks + triggers[index].own_hooks);
  CHILD_CHECK(read_counter(&trigger.destroyed) == (new_dicts == CLEARED ? 1 : 0));
  set_phase("in the child, checking the counts after the trigger");
  CHILD_CHECK(tl_stats_live_threads() == (new_dicts == CLEARED ? 0 : 1)); /* a clear drops all */
  CHILD_CHECK(tl_stats_live_dicts() ==
              (new_dicts == CLEARED ? 0 : trigger.forker_dicts + (size_t) new_dicts));
  CHILD_CHECK((long) tl_stats_live_values() ==
              (long) trigger.values - PARKED_POINTERS * N_PARKED + triggers[index].new_values);
  tl_local_unref(trigger.made);
  child_exit(0);
}

START_TEST(test_fork_release_triggers)
{
  char failure[256] = "";
  size_t i;
  int ok = 1, destroyed;

  hooks_reset();
  parked_start(1, 0);
  memset(&trigger, 0, sizeof trigger);
  trigger.fresh = tl_local_new();
  trigger.initialized = tl_local_new_full(TL_LOCAL_DEFAULT, init_stores_pointer, NULL, NULL);
  trigger.pointer = tl_value_new_pointer(&trigger, NULL);
  trigger.unit = tl_value_new_tuple(NULL, 0);
  /* The forking thread: a pointer value and a GVariant, in a hooked local. */
  ck_assert_int_eq(try_set_counted(parked.shared, "p", &trigger.destroyed), TL_OK);
  set_kept_int64(parked.plain, "n", 1);
  trigger.forker_dicts = 2;
  trigger.locals = tl_stats_live_locals();
  trigger.values = tl_stats_live_values();
  ck_assert_uint_eq(tl_stats_live_dicts(), trigger.forker_dicts + 3 * N_PARKED);

  for (i = 0; i < N_ELEMENTS(triggers) && ok; i++)
    ok = fork_and_wait(trigger_child, (void *) (uintptr_t) i, failure, sizeof failure);
  destroyed = read_counter(&trigger.destroyed);
  tl_value_unref(trigger.pointer);
  tl_value_unref(trigger.unit);
  tl_local_unref(trigger.fresh);
  tl_local_unref(trigger.initialized);
  kept_release();
  parked_stop();
  ck_assert_msg(ok, "trigger '%s': %s", triggers[i - 1].call, failure);
  ck_assert_int_eq(destroyed, 0); /* the children's releases were theirs */
}
END_TEST

/* The forking thread need not be the main thread: then the main thread's dictionaries go. */
typedef struct {
  Exact exact;
  uint64_t main_id;
  int ok;
  char failure[256];
} OtherForker;

static void
other_forker_child(void *data)
{
  OtherForker *other = data;
  int hooks;

  set_phase("in the child, before its first library call");
  hooks = child_release_pending();
  CHILD_CHECK(read_counter(&other->exact.destroyed) == 0);
  set_phase("in the child, releasing the other threads' dictionaries (tl_stats_live_threads)");
  CHILD_CHECK(tl_stats_live_threads() == 1);
  child_release_done(hooks); /* the main thread's hooked dictionary among them */
  CHILD_CHECK(read_counter(&other->exact.destroyed) == 1); /* the main thread's "main" */

  CHILD_CHECK(tl_thread_id() == other->exact.forker);
  CHILD_CHECK(tl_stats_live_dicts() == other->exact.forker_dicts);
  CHILD_CHECK(peek_pointer(parked.shared, "who") == &who_ids[7]);
  CHILD_CHECK(peek_pointer(other->exact.own, "p") == &other->exact.destroyed);
  CHILD_CHECK(tl_local_contains(other->exact.own, "main") == 0);
  child_use_library(NULL, 1);
  child_use_library_without_glib(NULL);
  CHILD_CHECK(hook_total() == hooks);
  child_exit(0);
}

static void *
other_forker_thread(void *data)
{
  OtherForker *other = data;

  other->exact.forker = tl_thread_id();
  if (try_set_pointer(parked.shared, "who", &who_ids[7]) != TL_OK ||
      try_set_counted(other->exact.own, "p", &other->exact.destroyed) != TL_OK)
    return NULL;
  other->ok = fork_and_wait(other_forker_child, other, other->failure, sizeof other->failure);
  return NULL; /* its exit releases its own two dictionaries in the parent */
}

START_TEST(test_fork_from_other_thread)
{
  OtherForker other = {{tl_local_new(), 0, 0, 2, 0, 0}, tl_thread_id(), 0, ""};
  pthread_t thread;
  void *main_pointer;
  int64_t main_number;
  int joined, destroyed;

  hooks_reset();
  parked_start(1, 0);
  set_kept_int64(parked.shared, "who", 0); /* the child abandons its dictionary's reference */
  ck_assert_int_eq(try_set_counted(other.exact.own, "main", &other.exact.destroyed), TL_OK);
  ck_assert_int_eq(pthread_create(&thread, NULL, other_forker_thread, &other), 0);
  joined = pthread_join(thread, NULL) == 0;
  /* In the parent the forker's exit ran its hook there, and the main thread's are intact. */
  destroyed = read_counter(&other.exact.destroyed);
  main_pointer = peek_pointer(other.exact.own, "main");
  main_number = peek_int64(parked.shared, "who");
  tl_local_unref(other.exact.own);
  kept_release();
  parked_stop();
  ck_assert(joined);
  ck_assert_msg(other.ok, "%s", other.failure);
  ck_assert_int_eq(destroyed, 1); /* the forker's "p", at its exit */
  ck_assert_int_eq(count_records(TAG_SHARED, TL_FREED_THREAD_EXIT, other.exact.forker), 1);
  ck_assert_int_eq(count_records(TAG_SHARED, TL_FREED_THREAD_EXIT, other.main_id), 0);
  ck_assert_ptr_eq(main_pointer, &other.exact.destroyed);
  ck_assert_int_eq(main_number, 0);
  ck_assert_int_eq(other.exact.destroyed, 2);
}
END_TEST

/* ---- forks while other threads hammer the library, or GLib ---- */

enum {
  H_LOCALS,
  H_NAMED,
  H_SPAWN,
  H_CLEAR,
  H_VISIT,
  H_WRITES, /* the library's own work */
  H_CONTAINERS,
  H_READS,
  H_SPAWN_GVARIANT, /* GLib's */
  N_HAMMERS
};
static const char *const hammer_names[N_HAMMERS] = {"create/destroy locals",
                                                    "tl_local_open",
                                                    "thread start/exit",
                                                    "tl_thread_clear",
                                                    "visits",
                                                    "dictionary writes",
                                                    "container values",
                                                    "reads of shared values",
                                                    "thread start/exit with GVariant values"};

/* What fork_under_load() sets up besides the hammers. */
enum {
  /* The parked threads' locals have exit hooks (run in the parent). */
  LOAD_PARKED_HOOKS = 1 << 0,
  LOAD_HAMMER_HOOKS = 1 << 1,     /* the hammers' locals too: snapshots built during the forks */
  LOAD_GLIB = 1 << 2,             /* hammers inside GLib: the child keeps to what needs none */
  LOAD_PARKED_CONTAINERS = 1 << 3 /* the parked threads hold container values */
};

/* Values of the forking thread that H_READS threads read too, through the library and GLib. */
enum { SHARED_INT, SHARED_DOUBLE, SHARED_STRING, SHARED_BYTES, N_SHARED };
static const char *const shared_keys[N_SHARED] = {"int", "double", "string", "bytes"};
static const char shared_string[] = "seventy-seven";
static const unsigned char shared_bytes[] = {0, 7, 7, 0x80, 0xfe, 0xff};

typedef struct {
  int stop; /* atomic */
  unsigned int flags;
  long rounds[N_HAMMERS];  /* atomic: progress */
  int failures[N_HAMMERS]; /* atomic */
  TlLocal *shared;         /* every hammer thread's dictionaries come and go in it */
  TlLocal *visitable;
  TlLocal *initialized;
  TlLocal *toggled; /* its hook is replaced over and over; no thread has a dictionary */
  TlValue *shared_values[N_SHARED]; /* in main_locals[0] of the forking thread */
  int churn_destroyed;              /* atomic */
  int main_destroyed;               /* atomic */
  TlLocal *main_locals[4];
  size_t main_dicts;
  int main_hooked; /* the forking thread's dictionaries in hooked locals */
} Load;

static Load load;

/* The hammers of the library's own work store pointer values only: no GVariant, so no GLib. */
static int sentinel;

static int
load_stopping(void)
{
  return __atomic_load_n(&load.stop, __ATOMIC_SEQ_CST);
}

static void
hammer_progress(int hammer, int ok)
{
  __atomic_fetch_add(&load.rounds[hammer], 1, __ATOMIC_RELAXED);
  if (!ok)
    __atomic_fetch_add(&load.failures[hammer], 1, __ATOMIC_SEQ_CST);
}

static int
try_set_sentinel(TlLocal *local, const char *key)
{
  return try_set_pointer(local, key, &sentinel);
}

static int
init_sets_who(TlLocal *local, void *user_data)
{
  return try_set_sentinel(local, "who");
}

/* Locals of every kind made, used by this thread, and destroyed with their dictionaries (through
 * their hooks, which build snapshots, with LOAD_HAMMER_HOOKS). */
static void *
hammer_locals(void *data)
{
  unsigned int i;

  for (i = 0; !load_stopping(); i++) {
    TlLocal *local = tl_local_new_full(i % 2 ? TL_LOCAL_VISITABLE : 0,
                                       i % 3 == 0 ? init_sets_who : NULL, NULL, NULL);
    int ok = local != NULL;

    if (ok && (load.flags & LOAD_HAMMER_HOOKS) && i % 4 == 0)
      ok = tl_local_set_exit_hook(local, record_hook, &tags[TAG_CHURN], NULL) == TL_OK;
    ok = ok && try_set_counted(local, "p", &load.churn_destroyed) == TL_OK &&
         try_set_sentinel(load.shared, "who") == TL_OK;
    tl_local_unref(local);
    hammer_progress(H_LOCALS, ok);
  }
  return NULL;
}

static void *
hammer_named(void *data)
{
  static const char *const names[] = {"fork-named-0", "fork-named-1", "fork-named-2"};
  unsigned int i;

  for (i = 0; !load_stopping(); i++) {
    TlLocal *local = tl_local_open(names[i % N_ELEMENTS(names)]);
    int ok = local != NULL && try_set_sentinel(local, "n") == TL_OK;

    tl_local_unref(local);
    if (i % 5 == 0) {
      int status = tl_local_unregister(names[(i / 5) % N_ELEMENTS(names)]);
      ok = ok && (status == TL_OK || status == TL_ERR_NOT_FOUND);
    }
    hammer_progress(H_NAMED, ok);
  }
  return NULL;
}

static void *
short_thread(void *data)
{
  int *ok = data;

  /* First accesses: a dictionary created by a write, one by an initializer, one visitable. */
  *ok = try_set_counted(load.shared, "p", &load.churn_destroyed) == TL_OK &&
        peek_pointer(load.initialized, "who") == &sentinel &&
        try_set_sentinel(load.visitable, "n") == TL_OK;
  return NULL; /* the exit releases them */
}

static void *
short_thread_gvariant(void *data)
{
  int *ok = data;

  *ok = try_set_int64(load.shared, "n", 1) == TL_OK && peek_int64(load.shared, "n") == 1;
  return NULL; /* the exit frees the value (GSlice) and, with LOAD_HAMMER_HOOKS, snapshots */
}

static void
spawn_loop(int hammer, void *(*fn)(void *) )
{
  while (!load_stopping()) {
    pthread_t thread;
    int ok = 0;

    if (pthread_create(&thread, NULL, fn, &ok) == 0)
      pthread_join(thread, NULL);
    hammer_progress(hammer, ok);
  }
}

static void *
hammer_spawn(void *data)
{
  spawn_loop(H_SPAWN, short_thread);
  return NULL;
}

static void *
hammer_spawn_gvariant(void *data)
{
  spawn_loop(H_SPAWN_GVARIANT, short_thread_gvariant);
  return NULL;
}

static void *
hammer_clear(void *data)
{
  while (!load_stopping()) {
    int ok = try_set_counted(load.shared, "p", &load.churn_destroyed) == TL_OK &&
             peek_pointer(load.initialized, "who") == &sentinel &&
             try_set_sentinel(load.visitable, "n") == TL_OK;

    tl_thread_clear();
    hammer_progress(H_CLEAR, ok);
  }
  return NULL;
}

static void *
hammer_visit(void *data)
{
  unsigned int i;

  for (i = 0; !load_stopping(); i++) {
    int seen = 0;
    int ok = tl_local_visit(load.visitable, i % 2 ? "n" : NULL, count_visit, &seen) == TL_OK;

    /* Replacing a hook takes the registry lock too (this one never runs: nobody has a
     * dictionary of the local). */
    ok = ok && tl_local_set_exit_hook(load.toggled, i % 2 ? record_hook : NULL, &tags[TAG_CHURN],
                                      NULL) == TL_OK;
    hammer_progress(H_VISIT, ok);
  }
  return NULL;
}

/* The fast path: the thread's own dictionaries written (new keys, overwrites), grown, deleted from
 * and emptied, with no lock taken (and the visitable local's own lock). */
static void *
hammer_writes(void *data)
{
  TlLocal *own = tl_local_new();
  char key[16];
  unsigned int i;

  for (i = 0; !load_stopping(); i++) {
    int ok;

    snprintf(key, sizeof key, "k%u", i % 37);
    ok = try_set_counted(own, key, &load.churn_destroyed) == TL_OK &&
         try_set_sentinel(load.visitable, key) == TL_OK;
    if (i % 3 == 0)
      ok =
          ok && tl_local_delete(own, key) == TL_OK && tl_local_delete(load.visitable, key) == TL_OK;
    if (i % 101 == 0)
      ok = ok && tl_local_clear(own) == TL_OK;
    hammer_progress(H_WRITES, ok);
  }
  tl_local_unref(own);
  return NULL;
}

/* Container values (GVariant's type-info cache, GSlice): parsed, applied, snapshotted, printed,
 * released. */
static void *
hammer_containers(void *data)
{
  TlLocal *own = tl_local_new();

  while (!load_stopping()) {
    TlValue *parsed = NULL, *snapshot = NULL;
    char *text = NULL;
    int ok = tl_value_parse(NULL, "{'a': <(1, ['x', 'y'], @mi nothing)>, 'b': <[2.5]>}", &parsed) ==
                 TL_OK &&
             tl_local_apply(own, parsed, TL_APPLY_REPLACE) == TL_OK &&
             tl_local_snapshot(own, &snapshot) == TL_OK &&
             (text = tl_value_print(snapshot, 1)) != NULL;

    tl_free(text);
    tl_value_unref(snapshot);
    tl_value_unref(parsed);
    hammer_progress(H_CONTAINERS, ok);
  }
  tl_local_unref(own);
  return NULL;
}

/* 1 if shared value i reads back through the library's accessors. */
static int
shared_value_ok(const TlValue *value, int i)
{
  int64_t number = 0;
  double real = 0;
  const char *string = NULL;
  const void *data = NULL;
  size_t size = 0;

  switch (i) {
  case SHARED_INT: return tl_value_get_int64(value, &number) == TL_OK && number == 77;
  case SHARED_DOUBLE: return tl_value_get_double(value, &real) == TL_OK && real == 7.25;
  case SHARED_STRING:
    return tl_value_get_string(value, &string) == TL_OK && strcmp(string, shared_string) == 0;
  default:
    return tl_value_get_bytes(value, &data, &size) == TL_OK && size == sizeof shared_bytes &&
           memcmp(data, shared_bytes, size) == 0;
  }
}

/* 1 if shared value i reads back through GLib, which locks the GVariant for each read of its data
 * (a bit lock in the value: a child that read through GLib could find it held for good). */
static int
shared_value_ok_through_glib(const TlValue *value, int i)
{
  GVariant *variant = tl_value_dup_gvariant(value);
  gsize size = 0;
  const void *data;
  int ok;

  if (variant == NULL)
    return 0;
  switch (i) {
  case SHARED_INT: ok = g_variant_get_int64(variant) == 77; break;
  case SHARED_DOUBLE: ok = g_variant_get_double(variant) == 7.25; break;
  case SHARED_STRING: ok = strcmp(g_variant_get_string(variant, NULL), shared_string) == 0; break;
  default:
    data = g_variant_get_fixed_array(variant, &size, 1);
    ok = size == sizeof shared_bytes && memcmp(data, shared_bytes, size) == 0;
    break;
  }
  g_variant_unref(variant);
  return ok;
}

/* Values are shared between threads: this one reads, over and over, the very values the forking
 * thread holds, from a dictionary of its own. */
static void *
hammer_reads(void *data)
{
  TlLocal *own = tl_local_new();
  int i, ok = 1;

  for (i = 0; i < N_SHARED; i++)
    ok = ok && tl_local_set(own, shared_keys[i], load.shared_values[i]) == TL_OK;
  hammer_progress(H_READS, ok);
  while (!load_stopping()) {
    ok = 1;
    for (i = 0; i < N_SHARED; i++) {
      TlValue *value = tl_local_peek(own, shared_keys[i]);

      ok = ok && shared_value_ok(value, i) && shared_value_ok_through_glib(value, i);
    }
    hammer_progress(H_READS, ok);
  }
  tl_local_unref(own);
  return NULL;
}

static void *(*const hammer_fns[N_HAMMERS])(void *) = {
    hammer_locals, hammer_named,      hammer_spawn, hammer_clear,         hammer_visit,
    hammer_writes, hammer_containers, hammer_reads, hammer_spawn_gvariant};

static void
load_child(void *data)
{
  int glib = (load.flags & LOAD_GLIB) != 0, hooks, seen = 0, i;
  TlValue *value = NULL;

  /* Here the parent's other threads are busy at the fork, inside malloc() too: under ASan or TSan
   * (see TL_TEST_ASAN in tl-test.h) the child may deadlock in the sanitizer's own allocator,
   * whatever the library does (google/sanitizers#453, #836, #1814; llvm-project#96600). Those
   * builds check the parent's side under load (the fork handlers against the hammers) and the
   * exact children above, whose parent threads are idle at the fork; the plain build and valgrind
   * check these children. */
  if (TL_TEST_TSAN || TL_TEST_ASAN)
    child_exit(0);

  set_phase("in the child, before its first library call");
  hooks = child_release_pending();
  CHILD_CHECK(read_counter(&load.main_destroyed) == 0);

  /* At once, before any thread of its own: only the forking thread is left. */
  set_phase("in the child, releasing the other threads' dictionaries (tl_stats_live_threads)");
  CHILD_CHECK(tl_stats_live_threads() == 1);
  child_release_done(hooks);
  CHILD_CHECK(tl_stats_live_dicts() == load.main_dicts);
  CHILD_CHECK(read_counter(&load.main_destroyed) == 0);

  set_phase("in the child, reading the forking thread's values");
  for (i = 0; i < (int) N_ELEMENTS(load.main_locals); i++) {
    CHILD_CHECK(peek_int64(load.main_locals[i], "i") == (int64_t) i);
    CHILD_CHECK(peek_pointer(load.main_locals[i], "p") == &load.main_destroyed);
  }
  CHILD_CHECK(peek_pointer(load.initialized, "who") == &sentinel);
  CHILD_CHECK(peek_int64(load.visitable, "main") == 1001);
  if (!glib) {
    CHILD_CHECK(peek_int64(load.shared, "who") == 1000);
    CHILD_CHECK(peek_int64(parked.plain, "who") == 1002);
  }
  set_phase("in the child, reading the forking thread's int64, double, string and bytes values, "
            "which parent threads were reading (through GLib too) at the fork");
  for (i = 0; i < N_SHARED; i++) {
    CHILD_CHECK(shared_value_ok(tl_local_peek(load.main_locals[0], shared_keys[i]), i));
    CHILD_CHECK(tl_local_get(load.main_locals[0], shared_keys[i], &value) == TL_OK);
    CHILD_CHECK(value == load.shared_values[i] && shared_value_ok(value, i));
    tl_value_unref(value); /* not the last reference: the test keeps one */
  }

  /* The visit sees the forking thread alone. */
  set_phase("in the child, visiting");
  CHILD_CHECK(tl_local_visit(load.visitable, NULL, count_visit, &seen) == TL_OK);
  CHILD_CHECK(seen == 1);

  if (!glib) {
    child_use_library(load.visitable, 1);
    CHILD_CHECK(tl_stats_live_threads() == 1);
    CHILD_CHECK(tl_stats_live_dicts() == load.main_dicts);
  }
  child_use_library_without_glib(load.visitable);
  CHILD_CHECK(tl_stats_live_threads() == 1);
  CHILD_CHECK(hook_total() == hooks);

  /* Under GLib load only references are dropped: every GVariant here is also the test's, and no
   * local here has an exit hook. Without, the hooked ones run theirs, for this thread. */
  set_phase("in the child, clearing the forking thread's dictionaries");
  tl_thread_clear();
  CHILD_CHECK(read_counter(&load.main_destroyed) == (int) N_ELEMENTS(load.main_locals));
  CHILD_CHECK(tl_stats_live_dicts() == 0);
  CHILD_CHECK(hook_total() == hooks + load.main_hooked);
  child_exit(1);
}

/* Forks per load test. Under ASan the children only exit (see load_child), and every fork of its
 * large parent costs some 40 ms: fewer there. */
static int
load_forks(void)
{
  return tl_test_repeat(TL_TEST_ASAN ? 100 : 300);
}

/* Forks n_forks times while the hammers in use[] run; every child must pass, in time. */
static void
fork_under_load(const int *use, size_t n_use, int n_forks, unsigned int flags)
{
  pthread_t threads[N_HAMMERS];
  char failure[512] = "";
  unsigned int random_state = 12345;
  int glib = (flags & LOAD_GLIB) != 0;
  size_t i;
  int fork_number, ok = 1, joined = 0, main_destroyed;

  ck_assert_uint_le(n_use, N_HAMMERS);
  hooks_reset();
  parked_start(flags & LOAD_PARKED_HOOKS, (flags & LOAD_PARKED_CONTAINERS) != 0);
  /* The named locals' table is made once: by this thread, not a hammer (see parked_thread). */
  tl_local_unref(tl_local_open("fork-named-0"));
  memset(&load, 0, sizeof load);
  load.flags = flags;
  load.shared = tl_local_new();
  load.visitable = tl_local_new_full(TL_LOCAL_VISITABLE, NULL, NULL, NULL);
  load.initialized = tl_local_new_full(TL_LOCAL_DEFAULT, init_sets_who, NULL, NULL);
  load.toggled = tl_local_new();
  load.shared_values[SHARED_INT] = tl_value_new_int64(77);
  load.shared_values[SHARED_DOUBLE] = tl_value_new_double(7.25);
  load.shared_values[SHARED_STRING] = tl_value_new_string(shared_string);
  load.shared_values[SHARED_BYTES] = tl_value_new_bytes(shared_bytes, sizeof shared_bytes);
  if (flags & LOAD_HAMMER_HOOKS)
    set_hook(load.shared, TAG_CHURN);
  for (i = 0; i < N_ELEMENTS(load.main_locals); i++) {
    load.main_locals[i] = tl_local_new();
    set_kept_int64(load.main_locals[i], "i", (int64_t) i);
    ck_assert_int_eq(try_set_counted(load.main_locals[i], "p", &load.main_destroyed), TL_OK);
  }
  for (i = 0; i < N_SHARED; i++) {
    ck_assert_ptr_nonnull(load.shared_values[i]);
    ck_assert_int_eq(tl_local_set(load.main_locals[0], shared_keys[i], load.shared_values[i]),
                     TL_OK);
  }
  set_kept_int64(load.visitable, "main", 1001);
  ck_assert_ptr_eq(peek_pointer(load.initialized, "who"), &sentinel);
  load.main_dicts = N_ELEMENTS(load.main_locals) + 2; /* + visitable, initialized */
  /* Under GLib load the forking thread holds no dictionary of a hooked local: its child's clear
   * would run the hook, whose snapshot needs GLib's type-info cache. */
  if (!glib) {
    set_kept_int64(load.shared, "who", 1000);
    set_kept_int64(parked.plain, "who", 1002);
    load.main_dicts += 2;
    load.main_hooked = ((flags & LOAD_HAMMER_HOOKS) != 0) + ((flags & LOAD_PARKED_HOOKS) != 0);
  }

  for (i = 0; i < n_use; i++)
    ck_assert_int_eq(pthread_create(&threads[i], NULL, hammer_fns[use[i]], NULL), 0);

  for (fork_number = 0; fork_number < n_forks && ok; fork_number++) {
    /* A varying pause, so that the forks land at every point of the hammers' loops. */
    random_state = random_state * 1103515245u + 12345u;
    sleep_microseconds((long) ((random_state >> 16) % 300));
    ok = fork_and_wait(load_child, NULL, failure, sizeof failure);
  }

  /* Everything released before any check, so that a failure leaves nothing to the next test. */
  __atomic_store_n(&load.stop, 1, __ATOMIC_SEQ_CST);
  for (i = 0; i < n_use; i++)
    joined += pthread_join(threads[i], NULL) == 0;
  main_destroyed = read_counter(&load.main_destroyed);
  for (i = 0; i < N_ELEMENTS(load.main_locals); i++)
    tl_local_unref(load.main_locals[i]);
  tl_local_unref(load.shared);
  tl_local_unref(load.visitable);
  tl_local_unref(load.initialized);
  tl_local_unref(load.toggled);
  for (i = 0; i < N_SHARED; i++)
    tl_value_unref(load.shared_values[i]);
  kept_release();
  tl_local_unregister("fork-named-0");
  tl_local_unregister("fork-named-1");
  tl_local_unregister("fork-named-2");
  parked_stop();

  ck_assert_int_eq(joined, (int) n_use);
  ck_assert_msg(ok, "fork #%d of %d: %s", fork_number, n_forks, failure);
  for (i = 0; i < n_use; i++) {
    ck_assert_msg(load.rounds[use[i]] > 0, "hammer '%s' never ran", hammer_names[use[i]]);
    ck_assert_msg(load.failures[use[i]] == 0, "hammer '%s' failed %d times", hammer_names[use[i]],
                  load.failures[use[i]]);
  }
  if (flags & LOAD_HAMMER_HOOKS) /* the snapshots were built, during the forks */
    ck_assert_int_gt(hook_calls[TAG_CHURN][TL_FREED_THREAD_EXIT] +
                         hook_calls[TAG_CHURN][TL_FREED_THREAD_CLEAR] +
                         hook_calls[TAG_CHURN][TL_FREED_LOCAL_DESTROYED],
                     0);
  ck_assert_int_eq(main_destroyed, 0);
  ck_assert_int_eq(read_counter(&load.main_destroyed), (int) N_ELEMENTS(load.main_locals));
}

/* Every user of the registry lock, at once: whichever held it at a fork, the child takes it at
 * once, releases the other threads' dictionaries (no exit hook), and uses all of the library,
 * threads too. */
START_TEST(test_fork_under_registry_load)
{
  static const int use[] = {H_LOCALS, H_NAMED, H_SPAWN, H_CLEAR, H_VISIT};

  fork_under_load(use, N_ELEMENTS(use), load_forks(), LOAD_PARKED_HOOKS);
}
END_TEST

/* Other threads' dictionaries are released in the child whatever state their unlocked writes left
 * them in: mid-set, mid-overwrite, mid-delete, mid-resize, mid-clear. */
START_TEST(test_fork_during_writes)
{
  static const int use[] = {H_WRITES, H_WRITES, H_CLEAR};

  fork_under_load(use, N_ELEMENTS(use), load_forks(), LOAD_PARKED_HOOKS);
}
END_TEST

/* GLib busy in every parent thread but the forking one: containers built and freed (the type-info
 * cache, GSlice), exit hooks building snapshots as locals die, threads clear and threads with
 * GVariant values exit, and reads of the forking thread's values through GLib; the parked threads
 * hold containers too. The child is not stopped by any of it: it releases the other threads'
 * dictionaries (no hook, pointer values destroyed, the GVariant ones abandoned) and does the work
 * that needs no GLib. */
START_TEST(test_fork_under_glib_load)
{
  static const int use[] = {H_CONTAINERS, H_LOCALS, H_CLEAR, H_READS, H_SPAWN_GVARIANT};

  fork_under_load(use, N_ELEMENTS(use), load_forks(),
                  LOAD_GLIB | LOAD_PARKED_HOOKS | LOAD_HAMMER_HOOKS | LOAD_PARKED_CONTAINERS);
}
END_TEST

/* Parent threads read the forking thread's int64, double, string and bytes values, the very same
 * TlValues, through the library and through GLib (which takes each value's lock) while the main
 * thread forks; the child reads them through the library, which never enters GLib for them. */
START_TEST(test_fork_while_values_read)
{
  static const int use[] = {H_READS, H_READS, H_READS};

  fork_under_load(use, N_ELEMENTS(use), load_forks(), LOAD_GLIB);
}
END_TEST

Suite *
fork_suite(void)
{
  Suite *suite = suite_create("fork");
  TCase *tcase;

  tcase = tl_test_case("child");
  tcase_add_test(tcase, test_fork_single_threaded);
  tcase_add_test(tcase, test_fork_releases_other_threads);
  tcase_add_test(tcase, test_fork_release_triggers);
  tcase_add_test(tcase, test_fork_from_other_thread);
  suite_add_tcase(suite, tcase);

  tcase = tl_test_case("registry load");
  tcase_add_test(tcase, test_fork_under_registry_load);
  tcase_add_test(tcase, test_fork_during_writes);
  suite_add_tcase(suite, tcase);

  /* Each names, when it fails, where its child hung. */
  tcase = tl_test_case("glib load");
  tcase_add_test(tcase, test_fork_under_glib_load);
  tcase_add_test(tcase, test_fork_while_values_read);
  suite_add_tcase(suite, tcase);

  return suite;
}
