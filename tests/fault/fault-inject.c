/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fault injection, as SQLite does it: the k-th allocation of one public call fails, for every k.
 *
 * For each scenario, each k = 1, 2, ... and two modes (transient: the k-th allocation fails;
 * persistent: it and every later one in the call fail), a forked child builds the scenario's state,
 * makes the one call with the failure armed, and checks the documented outcome: success with the
 * state the same call makes without injection (on a twin built alike), or TL_ERR_NO_MEMORY (as
 * tl_last_error(), with a message) with the state unchanged: the same keys in the same order
 * holding the very same values, no dictionary or thread registration left behind. It then releases
 * everything and checks that every value, dictionary, local and thread is gone (the library's
 * counts, each pointer value's destroy function run exactly once and never while referenced, no
 * handle found invalid, the heap's block count as without injection). k stops once the call makes
 * fewer than k allocations.
 *
 * Whose allocation failed is told by the return address of the malloc() call. The library's own
 * (from libtlslocal, or from this program when the library tail-called malloc()) must fail softly.
 * GLib's (from GLib, libffi or the C library) aborts by GLib's policy: a child killed by that abort
 * is counted and listed with the GLib function the library was calling, not failed. Since GLib
 * never returns from a failed allocation, the persistent mode stops failing once one of GLib's has
 * failed, so that its abort is its own g_error() rather than a stack overflow in its message
 * formatting.
 *
 * The program replaces malloc() and friends, forwarding to glibc's __libc_* functions, so it runs
 * only in the plain build (valgrind and the sanitizers own the allocator): suite 'fault'. It runs
 * with G_SLICE=always-malloc, so that GLib's small blocks are GLib allocations too, re-executing
 * itself to get it.
 *
 * Usage: fault-inject [GROUP|SCENARIO-PREFIX]... (all by default). One line per scenario.
 *
 * Copyright the libtlslocal authors. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <execinfo.h>
#include <limits.h>
#include <link.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <tlslocal.h>

#define MAX_K 10000      /* a call making more allocations than this is a bug of its own */
#define CHILD_SECONDS 20 /* a child still running then is hung */

/* ------------------------------------------------------------------------------------------------
 * The allocator: glibc's, counted and failed on demand. No stdio, no locks: it runs inside libc.
 * --------------------------------------------------------------------------------------------- */

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *memory, size_t size);
extern void __libc_free(void *memory);
extern void *__libc_memalign(size_t alignment, size_t size);
extern void *__libc_valloc(size_t size);
extern void *__libc_pvalloc(size_t size);

#define MAX_FRAMES 48

typedef struct {
  void *caller; /* the allocation call's return address */
  int n_frames;
  void *frames[MAX_FRAMES];
} Site;

enum { STAGE_START, STAGE_SETUP, STAGE_CALL, STAGE_CHECK, STAGE_RELEASE, STAGE_DONE };
static const char *const stage_names[] = {"start",      "setup",   "the call",
                                          "the checks", "release", "exit"};

/* What a child tells its parent, through a MAP_SHARED mapping made before the fork. */
typedef struct {
  unsigned long n_allocs; /* allocations in the armed window, failed ones included */
  unsigned long n_failed;
  Site first, last; /* the k-th allocation, and the last one failed */
  int glib_failed;  /* one of GLib's own failed: glib is where */
  Site glib;
  int stage;
  int status;       /* what the call returned */
  int failed;       /* a check failed: text says which */
  long block_delta; /* heap blocks left after release, against before setup */
  int n_crash_frames;
  void *crash_frames[MAX_FRAMES];
  char text[2048];
} Report;

static Report *report;
static unsigned long fail_at = ULONG_MAX; /* this child's k */
static int fail_persistent;
static _Thread_local int armed, in_hook;
static long live_blocks;

/* The code of libtlslocal and of this program (where the library's tail calls to malloc() return):
 * an allocation called from there is the library's own. Found before any fork. */
static struct {
  uintptr_t start, end;
} own_code[8];
static int n_own_code;

static int
library_owned(const void *caller)
{
  int i;

  for (i = 0; i < n_own_code; i++)
    if ((uintptr_t) caller >= own_code[i].start && (uintptr_t) caller < own_code[i].end)
      return 1;
  return 0;
}

static void
site_record(Site *site, void *caller)
{
  site->caller = caller;
  site->n_frames = backtrace(site->frames, MAX_FRAMES); /* warmed up in main(): no allocation */
}

/* @return nonzero if the calling allocation must fail. Only the armed thread counts. Once one of
 * GLib's own allocations has failed, GLib is on its way to abort (g_malloc() never returns NULL):
 * what its error path allocates goes through, so that the abort is GLib's own g_error() rather than
 * a stack overflow in its message formatting. */
static int
inject(void *caller)
{
  unsigned long n;

  if (!armed || in_hook)
    return 0;
  n = ++report->n_allocs;
  if (n < fail_at || (n > fail_at && !fail_persistent) || report->glib_failed)
    return 0;
  in_hook = 1;
  if (report->n_failed++ == 0)
    site_record(&report->first, caller);
  site_record(&report->last, caller);
  if (!library_owned(caller)) {
    report->glib_failed = 1;
    report->glib = report->last;
  }
  in_hook = 0;
  errno = ENOMEM;
  return 1;
}

static void *
counted(void *memory)
{
  if (memory != NULL)
    __atomic_fetch_add(&live_blocks, 1, __ATOMIC_RELAXED);
  return memory;
}

void *
malloc(size_t size)
{
  return inject(__builtin_return_address(0)) ? NULL : counted(__libc_malloc(size));
}

void *
calloc(size_t n, size_t size)
{
  return inject(__builtin_return_address(0)) ? NULL : counted(__libc_calloc(n, size));
}

void *
realloc(void *memory, size_t size)
{
  if (memory == NULL)
    return inject(__builtin_return_address(0)) ? NULL : counted(__libc_realloc(NULL, size));
  if (size == 0) { /* glibc frees it */
    __atomic_fetch_sub(&live_blocks, 1, __ATOMIC_RELAXED);
    return __libc_realloc(memory, 0);
  }
  return inject(__builtin_return_address(0)) ? NULL : __libc_realloc(memory, size);
}

void
free(void *memory)
{
  if (memory != NULL)
    __atomic_fetch_sub(&live_blocks, 1, __ATOMIC_RELAXED);
  __libc_free(memory);
}

int
posix_memalign(void **out, size_t alignment, size_t size)
{
  void *memory;

  if (alignment % sizeof(void *) != 0 || (alignment & (alignment - 1)) != 0 || alignment == 0)
    return EINVAL;
  if (inject(__builtin_return_address(0)))
    return ENOMEM;
  memory = counted(__libc_memalign(alignment, size));
  if (memory == NULL)
    return ENOMEM;
  *out = memory;
  return 0;
}

void *
aligned_alloc(size_t alignment, size_t size)
{
  return inject(__builtin_return_address(0)) ? NULL : counted(__libc_memalign(alignment, size));
}

void *
memalign(size_t alignment, size_t size)
{
  return inject(__builtin_return_address(0)) ? NULL : counted(__libc_memalign(alignment, size));
}

void *
valloc(size_t size)
{
  return inject(__builtin_return_address(0)) ? NULL : counted(__libc_valloc(size));
}

void *
pvalloc(size_t size)
{
  return inject(__builtin_return_address(0)) ? NULL : counted(__libc_pvalloc(size));
}

/* ------------------------------------------------------------------------------------------------
 * The armed window: exactly one public call per child. A second opening (the twin's call, made
 * for comparison afterwards) is a no-op.
 * --------------------------------------------------------------------------------------------- */

static int window_used;

static void
window_open(void)
{
  if (window_used)
    return;
  window_used = 1;
  report->n_allocs = 0;
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  armed = 1;
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
}

static int
window_close(void)
{
  if (!armed)
    return 0;
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  armed = 0;
  return 1;
}

/* ------------------------------------------------------------------------------------------------
 * Checks, in the child
 * --------------------------------------------------------------------------------------------- */

static pthread_mutex_t text_mutex = PTHREAD_MUTEX_INITIALIZER;

__attribute__((format(printf, 2, 3))) static int
check_failed(int line, const char *format, ...)
{
  char text[512];
  va_list args;
  size_t used;

  va_start(args, format);
  vsnprintf(text, sizeof text, format, args);
  va_end(args);
  pthread_mutex_lock(&text_mutex);
  used = strlen(report->text);
  snprintf(report->text + used, sizeof report->text - used, "%s%s [fault-inject.c:%d]",
           used > 0 ? "; " : "", text, line);
  report->failed = 1;
  pthread_mutex_unlock(&text_mutex);
  return 0;
}

/* Evaluates to the condition's truth; records a failure if false. */
#define CHECK(condition, ...) ((condition) ? 1 : check_failed(__LINE__, __VA_ARGS__))

#define MAX_KEYS 64

/* A dictionary as read back: keys in order and a reference to each value. */
typedef struct {
  size_t n;
  char *keys[MAX_KEYS];
  TlValue *values[MAX_KEYS];
} State;

static void
state_read(TlLocal *local, State *out)
{
  char **keys = NULL;
  size_t n = 0, i;

  memset(out, 0, sizeof *out);
  if (!CHECK(tl_local_keys(local, &keys, &n) == TL_OK, "tl_local_keys failed without injection: %s",
             tl_last_error_message()))
    return;
  CHECK(n <= MAX_KEYS, "%zu keys", n);
  for (i = 0; i < n && i < MAX_KEYS; i++) {
    out->keys[i] = strdup(keys[i]);
    out->values[i] = tl_value_ref(tl_local_peek(local, keys[i]));
    CHECK(out->values[i] != NULL, "key '%s' is listed but not found", keys[i]);
  }
  out->n = i;
  tl_strv_free(keys);
}

static void
state_clear(State *state)
{
  size_t i;

  for (i = 0; i < state->n; i++) {
    free(state->keys[i]);
    tl_value_unref(state->values[i]);
  }
  memset(state, 0, sizeof *state);
}

/* got (local's dictionary as read) against want: the same keys in order, each value the very same
 * one (identical) or an equal one. */
static void
state_expect(TlLocal *local, const State *got, const State *want, int identical, const char *what)
{
  size_t i, size = 0;

  CHECK(tl_local_size(local, &size) == TL_OK && size == want->n,
        "%s: tl_local_size gives %zu keys, expected %zu", what, size, want->n);
  if (!CHECK(got->n == want->n, "%s: %zu keys, expected %zu", what, got->n, want->n))
    return;
  for (i = 0; i < got->n; i++) {
    if (!CHECK(strcmp(got->keys[i], want->keys[i]) == 0, "%s: key %zu is '%s', expected '%s'", what,
               i, got->keys[i], want->keys[i]))
      return;
    if (identical)
      CHECK(got->values[i] == want->values[i], "%s: '%s' holds another value than before", what,
            got->keys[i]);
    else
      CHECK(tl_value_equal(got->values[i], want->values[i]) == 1,
            "%s: '%s' holds a value unequal to the one the same call stores without injection",
            what, got->keys[i]);
  }
}

/* ------------------------------------------------------------------------------------------------
 * Fixtures: what a scenario builds, calls and checks
 * --------------------------------------------------------------------------------------------- */

#define MAX_HELD 160
#define MAX_POINTERS 48
#define MAX_LOCALS 320
#define MAX_THREADS 9
#define MAX_NAMES 12

typedef struct Fixture Fixture;

typedef struct {
  const char *group, *name;
  const char *call; /* the public function, for the report */
  void (*setup)(Fixture *f);
  /* The call: on the subject (twin 0, armed) or, for comparison, on the twin (1, unarmed). */
  int (*op)(Fixture *f, int twin);
  void (*check)(Fixture *f, int status); /* NULL: check_local_op */
  void (*after_release)(Fixture *f);     /* nullable */
  int lists_no_memory;                   /* the header lists TL_ERR_NO_MEMORY for the call: if not,
                                          * returning it fails the scenario */
} Scenario;

typedef struct {
  int runs, reason, null_contents, destroyed;
  TlValue *contents; /* the first run's */
} HookRecord;

typedef struct {
  int calls;
  char keys[MAX_KEYS][48];
} Walk;

struct Fixture {
  const Scenario *scenario;
  int status;        /* the armed call's */
  int error;         /* tl_last_error() right after it */
  char message[200]; /* tl_last_error_message() right after it */
  TlLocal *local[2]; /* the call's local and its twin, filled alike */
  TlLocal *locals[MAX_LOCALS];
  int n_locals;
  TlValue *held[MAX_HELD]; /* references the fixture keeps until release */
  int n_held;
  int destroyed[MAX_POINTERS]; /* each pointer value's destroy count */
  int n_pointers;
  const char *names[MAX_NAMES]; /* named locals to unregister at release */
  int n_names;
  State pre; /* the subject's dictionary before the call */
  size_t dicts_before, threads_before, locals_before, values_before;
  /* the call's arguments */
  const char *key;
  TlValue *arg;
  int mode;
  TlValue *items[4];
  size_t n_items;
  TlValue *expected[2];
  TlLocal *named;
  /* what the calls gave: [0] the subject's, [1] the twin's */
  TlValue *out[2];
  TlLocal *made[2];
  char **keys[2];
  size_t n_keys[2];
  char *printed[2];
  void *bytes[2]; /* tl_value_serialize's */
  size_t n_bytes[2];
  int result[2];
  Walk walk[2];
  HookRecord hooks[2];
  int user_destroyed;
  int init_saw_no_memory;
  int taken_destroyed; /* set_take/last-reference: both twins' values (equal: the same pointer) */
  /* threads */
  pthread_t threads[MAX_THREADS];
  int n_threads, n_started, low_first, visit_calls, expected_visits;
  TlValue *per_thread[MAX_THREADS];
};

static Fixture fixture;

static void
count_destroy(void *ptr)
{
  __atomic_fetch_add((int *) ptr, 1, __ATOMIC_RELAXED);
}

static TlValue *
hold(Fixture *f, TlValue *value)
{
  if (CHECK(value != NULL, "setup: a value was not made: %s", tl_last_error_message()) &&
      CHECK(f->n_held < MAX_HELD, "setup: too many values"))
    f->held[f->n_held++] = value;
  return value;
}

static TlValue *
pointer_value(Fixture *f)
{
  if (!CHECK(f->n_pointers < MAX_POINTERS, "setup: too many pointer values"))
    return NULL;
  return hold(f, tl_value_new_pointer(&f->destroyed[f->n_pointers++], count_destroy));
}

static TlValue *
parsed(Fixture *f, const char *type, const char *text)
{
  TlValue *value = NULL;

  CHECK(tl_value_parse(type, text, &value) == TL_OK, "setup: parsing %s: %s", text,
        tl_last_error_message());
  return hold(f, value);
}

static TlLocal *
extra_local(Fixture *f, unsigned int flags)
{
  TlLocal *local = tl_local_new_full(flags, NULL, NULL, NULL);

  CHECK(local != NULL && f->n_locals < MAX_LOCALS, "setup: no local");
  f->locals[f->n_locals++] = local;
  return local;
}

static void
set_in(TlLocal *local, const char *key, TlValue *value)
{
  CHECK(tl_local_set(local, key, value) == TL_OK, "setup: set '%s': %s", key,
        tl_last_error_message());
}

/* key = value in the subject and the twin. */
static void
put(Fixture *f, const char *key, TlValue *value)
{
  int i;

  for (i = 0; i < 2; i++)
    if (f->local[i] != NULL)
      set_in(f->local[i], key, value);
}

static void
drop(Fixture *f, const char *key)
{
  int i;

  for (i = 0; i < 2; i++)
    if (f->local[i] != NULL)
      CHECK(tl_local_delete(f->local[i], key) == TL_OK, "setup: delete '%s'", key);
}

static void
twins(Fixture *f, unsigned int flags)
{
  f->local[0] = tl_local_new_full(flags, NULL, NULL, NULL);
  f->local[1] = tl_local_new_full(flags, NULL, NULL, NULL);
  CHECK(f->local[0] != NULL && f->local[1] != NULL, "setup: no local");
}

/* n keys prefix00, prefix01, ... holding int64 values. */
static void
fill_ints(Fixture *f, const char *prefix, int first, int n)
{
  char key[48];
  int i;

  for (i = first; i < first + n; i++) {
    snprintf(key, sizeof key, "%s%02d", prefix, i);
    put(f, key, hold(f, tl_value_new_int64(i)));
  }
}

/* n keys in turn: a long key (allocated by the dictionary) with a string, a pointer value, an int
 * and a short string. */
static void
fill_mixed(Fixture *f, int n)
{
  char key[48], text[48];
  int i;

  for (i = 0; i < n; i++) {
    switch (i % 4) {
    case 0:
      snprintf(key, sizeof key, "a-long-key-not-stored-inline-%02d", i);
      snprintf(text, sizeof text, "the value of long key %d", i);
      put(f, key, hold(f, tl_value_new_string(text)));
      break;
    case 1:
      snprintf(key, sizeof key, "p%02d", i);
      put(f, key, pointer_value(f));
      break;
    case 2:
      snprintf(key, sizeof key, "i%02d", i);
      put(f, key, hold(f, tl_value_new_int64(i)));
      break;
    default:
      snprintf(key, sizeof key, "s%02d", i);
      snprintf(text, sizeof text, "short %d", i);
      put(f, key, hold(f, tl_value_new_string(text)));
      break;
    }
  }
}

/* Ends the window after the armed call, keeping the last error the call left. */
static int
closed(Fixture *f, int status)
{
  if (window_close()) {
    f->error = tl_last_error();
    snprintf(f->message, sizeof f->message, "%s", tl_last_error_message());
  }
  return status;
}

static int
made_status(const void *made)
{
  return made != NULL ? TL_OK : tl_last_error();
}

/* ---- the generic check of a call on a local ---- */

/* Success: the subject's dictionary is the twin's after the same call without injection. Failure:
 * it is exactly as before, and the call created no dictionary and registered no thread. */
static void
check_local_op(Fixture *f, int status)
{
  State now, want;

  if (status != TL_OK) {
    CHECK(tl_stats_live_dicts() == f->dicts_before,
          "after the failure %zu dictionaries live, %zu before the call: the call left one",
          tl_stats_live_dicts(), f->dicts_before);
    CHECK(tl_stats_live_threads() == f->threads_before,
          "after the failure %zu threads hold state, %zu before the call", tl_stats_live_threads(),
          f->threads_before);
  }
  state_read(f->local[0], &now);
  if (status == TL_OK) {
    int twin_status = f->scenario->op(f, 1);

    CHECK(twin_status == TL_OK, "the same call without injection returned %s",
          tl_status_name(twin_status));
    state_read(f->local[1], &want);
    state_expect(f->local[0], &now, &want, 0, "after success");
    state_clear(&want);
  } else {
    state_expect(f->local[0], &now, &f->pre, 1, "after TL_ERR_NO_MEMORY");
  }
  state_clear(&now);
}

static void
capture_pre(Fixture *f)
{
  state_read(f->local[0], &f->pre);
}

/* ------------------------------------------------------------------------------------------------
 * Group "locals": writes and reads of one dictionary
 * --------------------------------------------------------------------------------------------- */

static int
op_set(Fixture *f, int twin)
{
  window_open();
  return closed(f, tl_local_set(f->local[twin], f->key, f->arg));
}

static int
op_set_take(Fixture *f, int twin)
{
  TlValue *taken = tl_value_ref(f->arg); /* the fixture keeps one, the call steals this one */

  window_open();
  return closed(f, tl_local_set_take(f->local[twin], f->key, taken));
}

/* A destroy function that makes a failing call of its own, as code releasing a resource may (one
 * that allocates nothing: it runs inside the window when the call fails). */
static void
count_destroy_and_fail_a_call(void *ptr)
{
  count_destroy(ptr);
  (void) tl_value_new_string("\xff"); /* TL_ERR_INVALID_UTF8 */
}

/* The call takes the only reference: a failure destroys the value inside it. */
static int
op_set_take_last(Fixture *f, int twin)
{
  TlValue *taken = tl_value_new_pointer(&f->taken_destroyed, count_destroy_and_fail_a_call);

  window_open();
  return closed(f, tl_local_set_take(f->local[twin], f->key, taken));
}

static void
check_set_take_last(Fixture *f, int status)
{
  check_local_op(f, status);
  /* check_status() saw the call's own failure in tl_last_error(), not the destroy function's. */
  CHECK(f->taken_destroyed == (status != TL_OK), "the taken value was destroyed %d times",
        f->taken_destroyed);
}

static void
after_set_take_last(Fixture *f)
{
  /* The twin makes the same call only when the subject's succeeded. */
  CHECK(f->taken_destroyed == (f->status == TL_OK ? 2 : 1),
        "the twins' taken values were destroyed %d times in all", f->taken_destroyed);
}

static int
op_set_int64(Fixture *f, int twin)
{
  window_open();
  return closed(f, tl_local_set_int64(f->local[twin], f->key, 42));
}

static int
op_set_string(Fixture *f, int twin)
{
  window_open();
  return closed(
      f, tl_local_set_string(f->local[twin], f->key, "a string value longer than sixteen bytes"));
}

static int
op_delete(Fixture *f, int twin)
{
  window_open();
  return closed(f, tl_local_delete(f->local[twin], f->key));
}

static int
op_clear(Fixture *f, int twin)
{
  window_open();
  return closed(f, tl_local_clear(f->local[twin]));
}

static int
op_keys(Fixture *f, int twin)
{
  window_open();
  return closed(f, tl_local_keys(f->local[twin], &f->keys[twin], &f->n_keys[twin]));
}

/* Records keys without allocating: it runs inside the armed window. */
static int
walk_record(const char *key, TlValue *value, void *payload)
{
  Walk *walk = payload;

  if (walk->calls < MAX_KEYS)
    snprintf(walk->keys[walk->calls], sizeof walk->keys[0], "%s", key);
  walk->calls++;
  return value != NULL ? 0 : 1;
}

static int
op_foreach(Fixture *f, int twin)
{
  window_open();
  return closed(f, tl_local_foreach(f->local[twin], walk_record, &f->walk[twin]));
}

static int
op_snapshot(Fixture *f, int twin)
{
  window_open();
  return closed(f, tl_local_snapshot(f->local[twin], &f->out[twin]));
}

static int
op_peek(Fixture *f, int twin)
{
  TlValue *found;

  window_open();
  found = tl_local_peek(f->local[twin], f->key);
  return closed(f, made_status(found));
}

static void
setup_set_grows_index(Fixture *f)
{
  /* Eight keys fill the item array; the ninth grows it and the index (8 -> 10 items, 64 -> 128
   * slots), and its long key is allocated. */
  twins(f, 0);
  fill_ints(f, "k", 0, 8);
  f->key = "a-long-key-not-stored-inline-99";
  f->arg = hold(f, tl_value_new_int64(99));
  capture_pre(f);
}

static void
setup_set_compacts(Fixture *f)
{
  /* A quarter of the items deleted: the insert compacts instead of growing. */
  twins(f, 0);
  fill_ints(f, "k", 0, 8);
  drop(f, "k01");
  drop(f, "k03");
  f->key = "k08";
  f->arg = pointer_value(f);
  capture_pre(f);
}

static void
setup_set_existing(Fixture *f)
{
  twins(f, 0);
  fill_mixed(f, 6);
  f->key = "p01"; /* holds a pointer value */
  f->arg = pointer_value(f);
  capture_pre(f);
}

static void
setup_set_visitable(Fixture *f)
{
  /* 12 items fill the array; the 13th grows it without a new index. */
  twins(f, TL_LOCAL_VISITABLE);
  fill_ints(f, "k", 0, 12);
  f->key = "a-long-key-not-stored-inline-99";
  f->arg = pointer_value(f);
  capture_pre(f);
}

static void
setup_set_first_of_local(Fixture *f)
{
  /* The thread is registered (it has a dictionary of another local), but none of this one. */
  set_in(extra_local(f, 0), "elsewhere", hold(f, tl_value_new_int64(1)));
  twins(f, 0);
  f->key = "a-long-key-not-stored-inline-00";
  f->arg = hold(f, tl_value_new_int64(1));
  capture_pre(f);
}

static void
setup_set_take(Fixture *f)
{
  twins(f, 0);
  fill_ints(f, "k", 0, 8);
  f->key = "a-long-key-not-stored-inline-99";
  f->arg = pointer_value(f);
  capture_pre(f);
}

static void
setup_set_int64(Fixture *f)
{
  twins(f, 0);
  fill_ints(f, "k", 0, 2);
  f->key = "k02";
  capture_pre(f);
}

static void
setup_set_string(Fixture *f)
{
  twins(f, 0);
  fill_ints(f, "k", 0, 4);
  f->key = "a-long-key-not-stored-inline-99";
  capture_pre(f);
}

static void
setup_mixed_8(Fixture *f)
{
  twins(f, 0);
  fill_mixed(f, 8);
  f->key = "a-long-key-not-stored-inline-04";
  capture_pre(f);
}

static void
setup_mixed_deleted(Fixture *f)
{
  twins(f, 0);
  fill_mixed(f, 10);
  drop(f, "i02");
  capture_pre(f);
}

static void
setup_snapshot(Fixture *f)
{
  TlLocal *inner = extra_local(f, 0);
  TlValue *nested = NULL;

  twins(f, 0);
  fill_mixed(f, 8);
  put(f, "h", hold(f, tl_value_new_handle(3)));
  set_in(inner, "p", pointer_value(f));
  CHECK(tl_local_snapshot(inner, &nested) == TL_OK, "setup: snapshot");
  put(f, "a-snapshot-carrying-a-pointer", hold(f, nested));
  put(f, "array", parsed(f, "ai", "[1, 2]"));
  capture_pre(f);
}

static void
check_keys(Fixture *f, int status)
{
  size_t i;

  check_local_op(f, status);
  if (status != TL_OK) {
    CHECK(f->keys[0] == NULL, "failed, yet gave a key list");
    return;
  }
  if (!CHECK(f->keys[0] != NULL && f->keys[1] != NULL && f->n_keys[0] == f->n_keys[1],
             "%zu keys listed under injection, %zu without", f->n_keys[0], f->n_keys[1]))
    return;
  for (i = 0; i <= f->n_keys[0]; i++)
    CHECK(i == f->n_keys[0] ? f->keys[0][i] == NULL : strcmp(f->keys[0][i], f->keys[1][i]) == 0,
          "key %zu differs", i);
}

static void
check_foreach(Fixture *f, int status)
{
  int i;

  check_local_op(f, status);
  if (status != TL_OK) {
    CHECK(f->walk[0].calls == 0, "failed after calling fn %d times", f->walk[0].calls);
    return;
  }
  if (!CHECK(f->walk[0].calls == f->walk[1].calls, "fn called %d times, %d without injection",
             f->walk[0].calls, f->walk[1].calls))
    return;
  for (i = 0; i < f->walk[0].calls && i < MAX_KEYS; i++)
    CHECK(strcmp(f->walk[0].keys[i], f->walk[1].keys[i]) == 0, "walk %d saw '%s', expected '%s'", i,
          f->walk[0].keys[i], f->walk[1].keys[i]);
}

static void
check_snapshot(Fixture *f, int status)
{
  check_local_op(f, status);
  if (status != TL_OK)
    CHECK(f->out[0] == NULL, "failed, yet gave a snapshot");
  else
    CHECK(f->out[0] != NULL && tl_value_equal(f->out[0], f->out[1]) == 1,
          "the snapshot differs from the one taken without injection");
}

/* ---- locals with an initializer: any first access allocates ---- */

static int
init_two_keys(TlLocal *local, void *user_data)
{
  Fixture *f = user_data;
  int status = tl_local_set_int64(local, "from-init", 1);

  if (status == TL_OK)
    status = tl_local_set_string(local, "a-long-key-set-by-the-initializer", "a value");
  if (status == TL_ERR_NO_MEMORY)
    f->init_saw_no_memory = 1;
  return status;
}

static void
setup_init_local(Fixture *f)
{
  f->local[0] = tl_local_new_full(0, init_two_keys, f, NULL);
  f->local[1] = tl_local_new_full(0, init_two_keys, f, NULL);
  CHECK(f->local[0] != NULL && f->local[1] != NULL, "setup: no local");
  f->key = "from-init";
}

/* Before the call the thread had no dictionary (reading one would run the initializer). */
static void
check_init_op(Fixture *f, int status)
{
  State now, want;

  if (status != TL_OK) {
    CHECK(tl_stats_live_dicts() == f->dicts_before,
          "after the failure %zu dictionaries live, %zu before", tl_stats_live_dicts(),
          f->dicts_before);
    /* The header promises the dictionary dropped after TL_ERR_INIT_FAILED, not the thread
     * unregistered (today it stays registered until it exits or clears). */
    CHECK(status == TL_ERR_INIT_FAILED || tl_stats_live_threads() == f->threads_before,
          "after the failure %zu threads hold state, %zu before", tl_stats_live_threads(),
          f->threads_before);
    /* Nothing was left half done: the same call, unarmed, now succeeds. */
    f->init_saw_no_memory = 0;
    CHECK(f->scenario->op(f, 0) == TL_OK, "after the failure the call fails without injection: %s",
          tl_last_error_message());
  }
  CHECK(f->scenario->op(f, 1) == TL_OK, "the same call without injection failed");
  state_read(f->local[0], &now);
  state_read(f->local[1], &want);
  state_expect(f->local[0], &now, &want, 0, "the initialized dictionary");
  state_clear(&now);
  state_clear(&want);
}

/* ------------------------------------------------------------------------------------------------
 * Group "apply": snapshots applied to a dictionary
 * --------------------------------------------------------------------------------------------- */

static int
op_apply(Fixture *f, int twin)
{
  window_open();
  return closed(f, tl_local_apply(f->local[twin], f->arg, f->mode));
}

/* A snapshot of another local: new and existing keys, long keys, pointer and "h" values (carried
 * by reference). */
static TlValue *
source_snapshot(Fixture *f)
{
  TlLocal *source = extra_local(f, 0);
  TlValue *snapshot = NULL;

  set_in(source, "k01", hold(f, tl_value_new_int64(100)));
  set_in(source, "k03", hold(f, tl_value_new_string("from the source")));
  set_in(source, "a-long-key-from-the-source-00", hold(f, tl_value_new_int64(5)));
  set_in(source, "p-source", pointer_value(f));
  set_in(source, "h-source", hold(f, tl_value_new_handle(3)));
  set_in(source, "a-long-key-not-stored-inline-07", pointer_value(f));
  set_in(source, "a-long-key-with-a-container", parsed(f, "as", "['x', 'y']"));
  CHECK(tl_local_snapshot(source, &snapshot) == TL_OK, "setup: snapshot");
  return hold(f, snapshot);
}

static void
fill_apply_target(Fixture *f)
{
  twins(f, 0);
  fill_ints(f, "k", 0, 6);
  drop(f, "k05");
  put(f, "a-long-key-not-stored-inline-07", pointer_value(f));
}

static void
setup_apply_update(Fixture *f)
{
  fill_apply_target(f);
  f->arg = source_snapshot(f);
  f->mode = TL_APPLY_UPDATE;
  capture_pre(f);
}

static void
setup_apply_replace(Fixture *f)
{
  setup_apply_update(f);
  f->mode = TL_APPLY_REPLACE;
}

static const char duplicate_text[] = "{'dup': <1>, 'a-long-key-parsed-from-text-0': <'text'>, "
                                     "'k01': <int64 7>, 'dup': <'two'>, 'v': <[1, 2, 3]>}";

static void
setup_apply_update_parsed(Fixture *f)
{
  fill_apply_target(f);
  f->arg = parsed(f, "a{sv}", duplicate_text);
  f->mode = TL_APPLY_UPDATE;
  capture_pre(f);
}

static void
setup_apply_replace_parsed(Fixture *f)
{
  setup_apply_update_parsed(f);
  f->mode = TL_APPLY_REPLACE;
}

static void
setup_apply_first(Fixture *f)
{
  /* The thread is registered, but has no dictionary of the target yet. */
  set_in(extra_local(f, 0), "elsewhere", hold(f, tl_value_new_int64(1)));
  twins(f, 0);
  f->arg = source_snapshot(f);
  f->mode = TL_APPLY_UPDATE;
  capture_pre(f);
}

static void
setup_apply_replace_first(Fixture *f)
{
  setup_apply_first(f);
  f->mode = TL_APPLY_REPLACE;
}

/* ------------------------------------------------------------------------------------------------
 * Group "values": constructors and the calls that make values
 * --------------------------------------------------------------------------------------------- */

#define MADE_VALUE(f, twin, expression)                                                            \
  (window_open(), (f)->out[twin] = (expression), closed((f), made_status((f)->out[twin])))

/* Success: a value equal to the one the same call makes without injection. Failure: no value, and
 * no value left behind. */
static void
check_value_op(Fixture *f, int status)
{
  int twin_status;

  if (status != TL_OK) {
    CHECK(f->out[0] == NULL, "failed, yet gave a value");
    CHECK(tl_stats_live_values() == f->values_before,
          "after the failure %zu values live, %zu before the call", tl_stats_live_values(),
          f->values_before);
    return;
  }
  twin_status = f->scenario->op(f, 1);
  CHECK(twin_status == TL_OK, "the same call without injection returned %s",
        tl_status_name(twin_status));
  if (CHECK(f->out[0] != NULL && f->out[1] != NULL, "success without a value"))
    CHECK(tl_value_equal(f->out[0], f->out[1]) == 1 &&
              strcmp(tl_value_type(f->out[0]), tl_value_type(f->out[1])) == 0,
          "the value differs from the one made without injection");
}

static void
setup_items(Fixture *f)
{
  /* Basic values are made lazily: a container built of them makes their GVariants first. */
  f->items[0] = hold(f, tl_value_new_int64(-5));
  f->items[1] = hold(f, tl_value_new_string("a string item longer than sixteen bytes"));
  f->items[2] = parsed(f, "ai", "[1, 2, 3]");
  f->n_items = 3;
}

static void
setup_strings(Fixture *f)
{
  f->items[0] = hold(f, tl_value_new_string("one"));
  f->items[1] = hold(f, tl_value_new_string("a second string, longer than sixteen bytes"));
  f->items[2] = hold(f, tl_value_new_string("three"));
  f->n_items = 3;
}

static void
setup_nothing(Fixture *f)
{
  (void) f;
}

static int
op_new_string(Fixture *f, int twin)
{
  return MADE_VALUE(f, twin, tl_value_new_string("a string longer than sixteen bytes, copied"));
}

static int
op_new_bytes(Fixture *f, int twin)
{
  return MADE_VALUE(f, twin, tl_value_new_bytes("0123456789abcdef0123456789abcdef", 32));
}

static int
op_new_tuple(Fixture *f, int twin)
{
  return MADE_VALUE(f, twin, tl_value_new_tuple(f->items, f->n_items));
}

static int
op_new_array_boxed(Fixture *f, int twin)
{
  return MADE_VALUE(f, twin, tl_value_new_array("v", f->items, f->n_items));
}

static int
op_new_array_typed(Fixture *f, int twin)
{
  return MADE_VALUE(f, twin, tl_value_new_array(NULL, f->items, f->n_items));
}

static int
op_new_maybe(Fixture *f, int twin)
{
  return MADE_VALUE(f, twin, tl_value_new_maybe(NULL, f->items[1]));
}

static const char *const vardict_keys[] = {"a", "a-long-key-in-a-vardict-000", "a", "b"};

static int
op_new_vardict(Fixture *f, int twin)
{
  TlValue *values[4] = {f->items[0], f->items[1], f->items[2], f->items[0]};

  return MADE_VALUE(f, twin, tl_value_new_vardict(vardict_keys, values, 4));
}

static int
op_parse(Fixture *f, int twin)
{
  window_open();
  return closed(f, tl_value_parse(NULL,
                                  "{'a': <1>, 'b': <[1, 2, 3]>, 'c': <('x', 2.5)>, "
                                  "'a-long-key-in-parsed-text': <@mi nothing>}",
                                  &f->out[twin]));
}

/* ---- interned keys and the binary form ---- */

static void
intern_n(int n)
{
  char name[40];
  int i;

  for (i = 0; i < n; i++) {
    snprintf(name, sizeof name, "fault-quark-%d", i);
    CHECK(tl_quark_from_string(name) != 0, "setup: interning failed: %s", tl_last_error_message());
  }
}

/* Interning in a fresh table (its first segment and index), into a new segment, and into a full
 * index that must grow: quarks 1, 64 (segment 6) and 65 (index 128 -> 256). */
static void
setup_quark_first(Fixture *f)
{
  f->key = "a-quark-key-longer-than-sixteen";
}

static void
setup_quark_new_segment(Fixture *f)
{
  intern_n(63);
  f->key = "a-quark-key-longer-than-sixteen";
}

static void
setup_quark_grow_index(Fixture *f)
{
  intern_n(64);
  f->key = "a-quark-key-longer-than-sixteen";
}

static int
op_quark_from_string(Fixture *f, int twin)
{
  TlQuark quark;

  window_open();
  quark = tl_quark_from_string(f->key);
  f->result[twin] = (int) quark;
  return closed(f, quark != 0 ? TL_OK : tl_last_error());
}

/* Success: the quark names the key. Failure: nothing was interned (the same string interns now,
 * and names itself). */
static void
check_quark_op(Fixture *f, int status)
{
  if (status == TL_OK) {
    CHECK(strcmp(tl_quark_to_string((TlQuark) f->result[0]), f->key) == 0,
          "the quark names another string");
    return;
  }
  CHECK(f->result[0] == 0, "failed, yet gave a quark");
}

/* Interns what a failed call did not, so that both end with the same heap: interned strings live
 * as long as the process. */
static void
intern_key_again(Fixture *f)
{
  TlQuark quark = tl_quark_from_string(f->key);

  CHECK(quark != 0 && strcmp(tl_quark_to_string(quark), f->key) == 0,
        "interning after the failure: %s", tl_last_error_message());
}

static void
setup_set_quark(Fixture *f)
{
  setup_set_grows_index(f);
  CHECK(tl_quark_from_string(f->key) != 0, "setup: interning failed");
}

static int
op_set_quark(Fixture *f, int twin)
{
  TlQuark quark = tl_quark_from_string(f->key); /* interned in setup: no allocation */

  window_open();
  return closed(f, tl_local_set_quark(f->local[twin], quark, f->arg));
}

static void
setup_binary(Fixture *f)
{
  TlValue *parsed = NULL;

  CHECK(tl_value_parse(NULL,
                       "{'a': <1>, 'b': <[1, 2, 3]>, 'c': <('x', 2.5)>, "
                       "'a-long-key-in-parsed-text': <@mi nothing>}",
                       &parsed) == TL_OK,
        "setup: parse failed");
  f->arg = hold(f, parsed);
}

static int
op_serialize(Fixture *f, int twin)
{
  f->bytes[twin] = NULL;
  window_open();
  return closed(f, tl_value_serialize(f->arg, &f->bytes[twin], &f->n_bytes[twin]));
}

/* Success: the bytes the same call gives without injection. Failure: no buffer. */
static void
check_serialize_op(Fixture *f, int status)
{
  if (status != TL_OK) {
    CHECK(f->bytes[0] == NULL, "failed, yet gave a buffer");
    return;
  }
  if (CHECK(f->scenario->op(f, 1) == TL_OK, "the same call without injection failed"))
    CHECK(f->n_bytes[0] == f->n_bytes[1] && memcmp(f->bytes[0], f->bytes[1], f->n_bytes[0]) == 0,
          "different bytes than without injection");
  tl_free(f->bytes[0]);
  tl_free(f->bytes[1]);
}

static int
op_deserialize(Fixture *f, int twin)
{
  void *bytes = NULL;
  size_t size = 0;

  if (tl_value_serialize(f->arg, &bytes, &size) != TL_OK) /* outside the window */
    return TL_ERR_INVALID_ARGUMENT;
  window_open();
  f->out[twin] = NULL;
  tl_value_deserialize("a{sv}", bytes, size, &f->out[twin]);
  closed(f, made_status(f->out[twin]));
  tl_free(bytes);
  return made_status(f->out[twin]);
}

static void
setup_lookup(Fixture *f)
{
  TlLocal *local = extra_local(f, 0);

  f->arg = pointer_value(f);
  set_in(local, "p", f->arg);
  set_in(local, "s", hold(f, tl_value_new_string("a string longer than sixteen bytes")));
  CHECK(tl_local_snapshot(local, &f->expected[0]) == TL_OK, "setup: snapshot");
  hold(f, f->expected[0]);
}

static int
op_lookup_pointer(Fixture *f, int twin)
{
  window_open();
  return closed(f, tl_value_lookup(f->expected[0], "p", &f->out[twin]));
}

static int
op_lookup_string(Fixture *f, int twin)
{
  window_open();
  return closed(f, tl_value_lookup(f->expected[0], "s", &f->out[twin]));
}

static int
op_get_child(Fixture *f, int twin)
{
  window_open();
  return closed(f, tl_value_get_child(f->items[2], 1, &f->out[twin]));
}

static int
op_print(Fixture *f, int twin)
{
  window_open();
  f->printed[twin] = tl_value_print(f->expected[0], 1);
  return closed(f, made_status(f->printed[twin]));
}

static void
check_print(Fixture *f, int status)
{
  if (status != TL_OK) {
    CHECK(f->printed[0] == NULL, "failed, yet gave text");
    return;
  }
  CHECK(f->scenario->op(f, 1) == TL_OK, "printing without injection failed");
  CHECK(f->printed[0] != NULL && f->printed[1] != NULL && strcmp(f->printed[0], f->printed[1]) == 0,
        "printed '%s', without injection '%s'", f->printed[0], f->printed[1]);
}

/* Two snapshots, each carrying 20 snapshots that each carry the same pointer value: comparing
 * them queues more than the 16 pairs tl_value_equal keeps on its stack. */
static void
setup_equal(Fixture *f)
{
  TlValue *pointer = pointer_value(f);
  TlLocal *carrier = extra_local(f, 0);
  char key[16];
  int side, i;

  set_in(carrier, "p", pointer);
  for (side = 0; side < 2; side++) {
    TlLocal *outer = extra_local(f, 0);

    for (i = 0; i < 20; i++) {
      TlValue *inner = NULL;

      CHECK(tl_local_snapshot(carrier, &inner) == TL_OK, "setup: snapshot");
      snprintf(key, sizeof key, "s%02d", i);
      set_in(outer, key, hold(f, inner));
    }
    CHECK(tl_local_snapshot(outer, &f->expected[side]) == TL_OK, "setup: snapshot");
    hold(f, f->expected[side]);
  }
}

static void
setup_equal_lazy(Fixture *f)
{
  /* Basic values made by the typed constructors have no GVariant until something needs one: a
   * comparison does. */
  f->expected[0] = hold(f, tl_value_new_string("equal strings, longer than sixteen bytes"));
  f->expected[1] = hold(f, tl_value_new_string("equal strings, longer than sixteen bytes"));
}

static int
op_equal(Fixture *f, int twin)
{
  window_open();
  f->result[twin] = tl_value_equal(f->expected[0], f->expected[1]);
  return closed(f, f->result[twin] >= 0 ? TL_OK : f->result[twin]);
}

static void
check_equal(Fixture *f, int status)
{
  if (status == TL_OK)
    CHECK(f->result[0] == 1, "equal snapshots compared as %d", f->result[0]);
}

/* ------------------------------------------------------------------------------------------------
 * Group "lifecycle": locals made, named, hooked and destroyed
 * --------------------------------------------------------------------------------------------- */

static int
op_local_new(Fixture *f, int twin)
{
  window_open();
  f->made[twin] = tl_local_new();
  return closed(f, made_status(f->made[twin]));
}

static void
setup_id_table_full(Fixture *f)
{
  /* Room for 64 ids is made with the first: the 65th id grows the table. */
  while (f->n_locals < 64)
    extra_local(f, 0);
}

static int
init_from_full(TlLocal *local, void *user_data)
{
  (void) user_data;
  return tl_local_set_int64(local, "from-init", 1);
}

static int
op_local_new_full(Fixture *f, int twin)
{
  window_open();
  f->made[twin] =
      tl_local_new_full(TL_LOCAL_VISITABLE, init_from_full, &f->user_destroyed, count_destroy);
  return closed(f, made_status(f->made[twin]));
}

static int
init_with_args(TlLocal *local, int32_t number, const char *text, const TlValue *array,
               const TlValue *dict)
{
  int status = tl_local_set_int64(local, "number", number);

  if (status == TL_OK)
    status = tl_local_set_string(local, "text", text);
  if (status == TL_OK)
    status = tl_local_set(local, "array", (TlValue *) array);
  if (status == TL_OK)
    status = tl_local_set(local, "a-long-key-holding-a-dict", (TlValue *) dict);
  return status;
}

static void
setup_with_args(Fixture *f)
{
  f->arg = parsed(f, NULL, "(int32 7, 'seven', [1, 2, 3], {'a': <1>})");
}

static int
op_local_new_with_args(Fixture *f, int twin)
{
  window_open();
  f->made[twin] = tl_local_new_with_args(0, (TlCallback) init_with_args, 1, f->arg);
  return closed(f, made_status(f->made[twin]));
}

/* Success: one more local, usable. Failure: none. */
static void
check_made_local(Fixture *f, int status)
{
  if (status != TL_OK) {
    CHECK(f->made[0] == NULL, "failed, yet gave a local");
    CHECK(tl_stats_live_locals() == f->locals_before, "%zu locals after the failure, %zu before",
          tl_stats_live_locals(), f->locals_before);
    return;
  }
  CHECK(tl_stats_live_locals() == f->locals_before + 1, "%zu locals after success, %zu before",
        tl_stats_live_locals(), f->locals_before);
  CHECK(tl_local_set_int64(f->made[0], "k", 1) == TL_OK && tl_local_peek(f->made[0], "k") != NULL,
        "the new local does not store");
}

static void
check_new_full(Fixture *f, int status)
{
  check_made_local(f, status);
  if (status == TL_OK)
    CHECK(tl_local_peek(f->made[0], "from-init") != NULL, "the initializer did not run");
  CHECK(f->user_destroyed == 0, "user_data_destroy ran before the local was destroyed");
}

static void
after_new_full(Fixture *f)
{
  /* Nothing is taken over on failure: user_data_destroy never runs then. */
  CHECK(f->user_destroyed == (f->status == TL_OK), "user_data_destroy ran %d times",
        f->user_destroyed);
}

static void
check_with_args(Fixture *f, int status)
{
  const char *text = NULL;
  int64_t number = 0;
  size_t size = 0;

  check_made_local(f, status);
  if (status != TL_OK)
    return;
  CHECK(tl_value_get_string(tl_local_peek(f->made[0], "text"), &text) == TL_OK && text != NULL &&
            strcmp(text, "seven") == 0,
        "the initializer's string argument is wrong");
  CHECK(tl_value_get_int64(tl_local_peek(f->made[0], "number"), &number) == TL_OK && number == 7,
        "the initializer's int argument is wrong");
  CHECK(tl_local_size(f->made[0], &size) == TL_OK && size == 5, "%zu keys after the initializer",
        size);
}

static const char new_name[] = "fault-inject-a-name-long-enough-to-be-allocated";

static int
op_open(Fixture *f, int twin)
{
  window_open();
  f->made[twin] = tl_local_open(f->key);
  return closed(f, made_status(f->made[twin]));
}

static void
setup_open_new(Fixture *f)
{
  f->key = new_name;
  f->names[f->n_names++] = new_name;
}

static void
setup_open_id_table_full(Fixture *f)
{
  setup_id_table_full(f);
  setup_open_new(f);
}

static const char *const registered_names[] = {"fault-0", "fault-1", "fault-2",
                                               "fault-3", "fault-4", "fault-5",
                                               "fault-6", "fault-7", "fault-8"};

static void
setup_open_grows(Fixture *f)
{
  /* After the warm-up's name, nine fill the registry's item array: the tenth grows it. */
  size_t i;

  for (i = 0; i < sizeof registered_names / sizeof registered_names[0]; i++) {
    TlLocal *local = tl_local_open(registered_names[i]);

    CHECK(local != NULL, "setup: open");
    tl_local_unref(local); /* the registry keeps its own */
    f->names[f->n_names++] = registered_names[i];
  }
  setup_open_new(f);
}

static void
setup_open_existing(Fixture *f)
{
  setup_open_new(f);
  f->named = tl_local_open(new_name);
  CHECK(f->named != NULL, "setup: open");
  tl_local_unref(f->named);
}

static void
check_open(Fixture *f, int status)
{
  TlLocal *again;

  if (status != TL_OK) {
    CHECK(f->made[0] == NULL, "failed, yet gave a local");
    CHECK(tl_stats_live_locals() == f->locals_before, "%zu locals after the failure, %zu before",
          tl_stats_live_locals(), f->locals_before);
    CHECK(tl_local_unregister(f->key) == TL_ERR_NOT_FOUND, "the failed open registered the name");
    return;
  }
  CHECK(tl_stats_live_locals() == f->locals_before + (f->named == NULL),
        "%zu locals after success, %zu before", tl_stats_live_locals(), f->locals_before);
  CHECK(f->named == NULL || f->made[0] == f->named, "opened another local than the registered one");
  again = tl_local_open(f->key);
  CHECK(again != NULL && again == f->made[0], "opening the name again gives another local");
  tl_local_unref(again);
}

static int
op_unregister(Fixture *f, int twin)
{
  window_open();
  return closed(f, tl_local_unregister(f->key));
}

static void
check_unregister(Fixture *f, int status)
{
  if (status == TL_OK) {
    CHECK(tl_local_unregister(f->key) == TL_ERR_NOT_FOUND, "the name is still registered");
    CHECK(tl_stats_live_locals() == f->locals_before - 1, "%zu locals after success, %zu before",
          tl_stats_live_locals(), f->locals_before);
  }
}

/* Keeps a reference to the first contents it is given: no allocation, it may run armed. */
static void
record_hook(int reason, uint64_t thread_id, TlValue *contents, void *user_data)
{
  HookRecord *record = user_data;

  (void) thread_id;
  record->runs++;
  record->reason = reason;
  if (contents == NULL)
    record->null_contents++;
  else if (record->contents == NULL)
    record->contents = tl_value_ref(contents);
}

static void
hook_destroyed(void *user_data)
{
  ((HookRecord *) user_data)->destroyed++;
}

static void
hook(Fixture *f, TlLocal *local, int which)
{
  CHECK(tl_local_set_exit_hook(local, record_hook, &f->hooks[which], hook_destroyed) == TL_OK,
        "setup: exit hook");
}

/* Each hooked dictionary freed ran its hook once, given a snapshot equal to the expected one. */
static void
expect_hook(Fixture *f, int which, int reason)
{
  HookRecord *record = &f->hooks[which];

  /* The header allows NULL contents only when memory ran out making the snapshot. */
  CHECK(record->null_contents == 0 || report->n_failed > 0,
        "exit hook %d was given NULL contents with no allocation failed, %d times", which,
        record->null_contents);
  if (!CHECK(record->runs == 1, "exit hook %d ran %d times", which, record->runs))
    return;
  CHECK(record->reason == reason, "exit hook %d told reason %d, not %d", which, record->reason,
        reason);
  CHECK(record->contents == NULL || tl_value_equal(record->contents, f->expected[which]) == 1,
        "exit hook %d was given contents unequal to the dictionary", which);
}

static void
setup_exit_hook(Fixture *f)
{
  f->local[0] = tl_local_new();
  fill_mixed(f, 4);
  hook(f, f->local[0], 0);
  capture_pre(f);
}

static int
op_set_exit_hook(Fixture *f, int twin)
{
  window_open();
  return closed(f, tl_local_set_exit_hook(f->local[0], record_hook, &f->hooks[1], hook_destroyed));
}

static void
check_set_exit_hook(Fixture *f, int status)
{
  /* The replaced hook's user_data goes at once (no call of it in progress); a failed call takes
   * nothing over. */
  CHECK(f->hooks[0].destroyed == (status == TL_OK), "the old hook's user_data_destroy ran %d times",
        f->hooks[0].destroyed);
  CHECK(f->hooks[1].destroyed == 0, "the new hook's user_data_destroy ran");
  CHECK(tl_local_snapshot(f->local[0], &f->expected[status == TL_OK]) == TL_OK, "snapshot");
  hold(f, f->expected[status == TL_OK]);
}

static void
after_set_exit_hook(Fixture *f)
{
  int now = f->status == TL_OK, before = !now;

  expect_hook(f, now, TL_FREED_LOCAL_DESTROYED);
  CHECK(f->hooks[before].runs == 0, "the %s hook ran", now ? "replaced" : "unset");
  CHECK(f->hooks[now].destroyed == 1 && f->hooks[before].destroyed == now,
        "user_data_destroy ran %d and %d times", f->hooks[0].destroyed, f->hooks[1].destroyed);
}

static void
setup_unref_hooked(Fixture *f)
{
  setup_exit_hook(f);
  CHECK(tl_local_snapshot(f->local[0], &f->expected[0]) == TL_OK, "setup: snapshot");
  hold(f, f->expected[0]);
}

static int
op_unref(Fixture *f, int twin)
{
  TlLocal *local = f->local[0];

  f->local[0] = NULL;
  window_open();
  tl_local_unref(local);
  return closed(f, TL_OK);
}

static void
check_unref(Fixture *f, int status)
{
  expect_hook(f, 0, TL_FREED_LOCAL_DESTROYED);
  CHECK(f->hooks[0].destroyed == 1, "the hook's user_data_destroy ran %d times",
        f->hooks[0].destroyed);
  CHECK(tl_stats_live_locals() == f->locals_before - 1, "the local lives on");
}

static void
setup_clear_hooked(Fixture *f)
{
  int i;

  twins(f, 0);
  fill_mixed(f, 5);
  for (i = 0; i < 2; i++) {
    hook(f, f->local[i], i);
    CHECK(tl_local_snapshot(f->local[i], &f->expected[i]) == TL_OK, "setup: snapshot");
    hold(f, f->expected[i]);
  }
}

static int
op_thread_clear(Fixture *f, int twin)
{
  window_open();
  tl_thread_clear();
  return closed(f, TL_OK);
}

static void
check_thread_clear(Fixture *f, int status)
{
  expect_hook(f, 0, TL_FREED_THREAD_CLEAR);
  expect_hook(f, 1, TL_FREED_THREAD_CLEAR);
  CHECK(tl_stats_live_dicts() == f->dicts_before - 2 && tl_stats_live_threads() == 0,
        "%zu dictionaries and %zu threads left", tl_stats_live_dicts(), tl_stats_live_threads());
}

/* ------------------------------------------------------------------------------------------------
 * Group "threads": a thread's first write, its exit, and visits of parked threads
 * --------------------------------------------------------------------------------------------- */

static void *
first_write_main(void *data)
{
  Fixture *f = data;
  size_t size = 99;
  int status;

  if (f->low_first) { /* a dictionary of a low id first: its slot table has one page */
    set_in(f->locals[0], "low", f->arg);
    f->dicts_before = tl_stats_live_dicts();
    f->threads_before = tl_stats_live_threads();
  }
  window_open();
  status = closed(f, tl_local_set(f->local[0], f->key, f->arg));
  f->result[0] = status;
  if (status == TL_OK) {
    CHECK(tl_local_peek(f->local[0], f->key) == f->arg, "the thread's value is not the one stored");
  } else {
    CHECK(tl_stats_live_dicts() == f->dicts_before,
          "after the failed first write %zu dictionaries live, %zu before", tl_stats_live_dicts(),
          f->dicts_before);
    CHECK(tl_stats_live_threads() == f->threads_before,
          "after the failed first write %zu threads hold state, %zu before",
          tl_stats_live_threads(), f->threads_before);
  }
  CHECK(tl_local_size(f->local[0], &size) == TL_OK && size == (status == TL_OK),
        "the thread's dictionary has %zu keys", size);
  return NULL; /* exit cleanup, unarmed */
}

static int
op_first_write(Fixture *f, int twin)
{
  pthread_t thread;

  if (!CHECK(pthread_create(&thread, NULL, first_write_main, f) == 0, "pthread_create"))
    return TL_OK;
  pthread_join(thread, NULL);
  return f->result[0];
}

static void
check_first_write(Fixture *f, int status)
{
  /* The thread's exit freed its dictionary, if the write left one: its hook tells. */
  if (status == TL_OK)
    expect_hook(f, 0, TL_FREED_THREAD_EXIT);
  else
    CHECK(f->hooks[0].runs == 0,
          "the failed first write left a dictionary whose exit hook ran at thread exit");
}

static void
setup_first_write(Fixture *f, int n_before)
{
  int i;

  for (i = 0; i < n_before; i++)
    extra_local(f, 0);
  f->local[0] = tl_local_new(); /* id n_before: ids are handed out lowest first */
  hook(f, f->local[0], 0);
  f->key = "a-long-key-of-a-first-write";
  f->arg = pointer_value(f);
  /* What the thread's dictionary will hold, for its exit hook. */
  set_in(extra_local(f, 0), f->key, f->arg);
  CHECK(tl_local_snapshot(f->locals[f->n_locals - 1], &f->expected[0]) == TL_OK, "snapshot");
  hold(f, f->expected[0]);
  tl_thread_clear(); /* the main thread holds nothing */
}

static void
setup_first_write_new(Fixture *f)
{
  setup_first_write(f, 0);
}

static void
setup_first_write_high(Fixture *f)
{
  setup_first_write(f, 299); /* a slot table of two pages */
}

static void
setup_first_write_grows(Fixture *f)
{
  setup_first_write(f, 299);
  f->low_first = 1;
}

static void *
exiting_main(void *data)
{
  Fixture *f = data;

  set_in(f->local[0], "a-long-key-not-stored-inline-00", f->per_thread[0]);
  set_in(f->local[0], "i", f->per_thread[1]);
  set_in(f->local[0], "s", f->per_thread[2]);
  CHECK(tl_local_snapshot(f->local[0], &f->expected[0]) == TL_OK, "snapshot");
  window_open();
  return NULL; /* armed through this thread's exit cleanup */
}

static void
setup_thread_exit(Fixture *f)
{
  f->local[0] = tl_local_new();
  hook(f, f->local[0], 0);
  f->per_thread[0] = pointer_value(f);
  f->per_thread[1] = hold(f, tl_value_new_int64(3));
  f->per_thread[2] = hold(f, tl_value_new_string("a string longer than sixteen bytes"));
}

static int
op_thread_exit(Fixture *f, int twin)
{
  pthread_t thread;

  if (CHECK(pthread_create(&thread, NULL, exiting_main, f) == 0, "pthread_create"))
    pthread_join(thread, NULL);
  hold(f, f->expected[0]);
  return TL_OK;
}

static void
check_thread_exit(Fixture *f, int status)
{
  expect_hook(f, 0, TL_FREED_THREAD_EXIT);
}

static pthread_mutex_t park_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t park_cond = PTHREAD_COND_INITIALIZER;
static int n_parked, unparked;

#define VISIT_KEY "a-long-key-in-every-thread"

static void *
parked_main(void *data)
{
  Fixture *f = data;
  int me = __atomic_fetch_add(&f->n_started, 1, __ATOMIC_RELAXED), i;
  State before, after;
  char key[16];

  for (i = 0; i < 4; i++) {
    snprintf(key, sizeof key, "k%d", i);
    set_in(f->local[0], key, f->held[i]);
  }
  set_in(f->local[0], VISIT_KEY, f->per_thread[me]);
  state_read(f->local[0], &before);
  pthread_mutex_lock(&park_mutex);
  n_parked++;
  pthread_cond_broadcast(&park_cond);
  while (!unparked)
    pthread_cond_wait(&park_cond, &park_mutex);
  pthread_mutex_unlock(&park_mutex);
  state_read(f->local[0], &after);
  state_expect(f->local[0], &after, &before, 1, "a visited thread's dictionary");
  state_clear(&before);
  state_clear(&after);
  return NULL;
}

static void
setup_visit(Fixture *f, int n_threads, const char *key)
{
  int i;

  f->local[0] = tl_local_new_full(TL_LOCAL_VISITABLE, NULL, NULL, NULL);
  for (i = 0; i < 4; i++)
    hold(f, tl_value_new_int64(i)); /* held[0..3], every thread's k0..k3 */
  for (i = 0; i < n_threads; i++)
    f->per_thread[i] = pointer_value(f);
  f->key = key;
  f->expected_visits = key != NULL ? n_threads : 5 * n_threads;
  for (i = 0; i < n_threads; i++)
    if (CHECK(pthread_create(&f->threads[i], NULL, parked_main, f) == 0, "pthread_create"))
      f->n_threads++;
  pthread_mutex_lock(&park_mutex);
  while (n_parked < f->n_threads)
    pthread_cond_wait(&park_cond, &park_mutex);
  pthread_mutex_unlock(&park_mutex);
}

static void
setup_visit_3(Fixture *f)
{
  setup_visit(f, 3, NULL);
}

static void
setup_visit_3_key(Fixture *f)
{
  setup_visit(f, 3, VISIT_KEY);
}

static void
setup_visit_9(Fixture *f)
{
  setup_visit(f, 9, NULL); /* more than the 8 threads the visit first makes room for */
}

static int
count_visit(uint64_t thread_id, const char *key, TlValue *value, void *payload)
{
  Fixture *f = payload;

  (void) thread_id;
  (void) key;
  f->visit_calls++;
  return value != NULL ? 0 : 1;
}

static int
op_visit(Fixture *f, int twin)
{
  window_open();
  return closed(f, tl_local_visit(f->local[0], f->key, count_visit, f));
}

static void
check_visit(Fixture *f, int status)
{
  if (status == TL_OK)
    CHECK(f->visit_calls == f->expected_visits, "fn called %d times, expected %d", f->visit_calls,
          f->expected_visits);
  else
    CHECK(f->visit_calls == 0, "the visit failed after calling fn %d times", f->visit_calls);
}

/* ------------------------------------------------------------------------------------------------
 * The scenarios
 * --------------------------------------------------------------------------------------------- */

static const Scenario scenarios[] = {
    {"locals", "set/new-key-grows-index", "tl_local_set", setup_set_grows_index, op_set, NULL, NULL,
     1},
    {"locals", "set/new-key-compacts", "tl_local_set", setup_set_compacts, op_set, NULL, NULL, 1},
    {"locals", "set/existing-key", "tl_local_set", setup_set_existing, op_set, NULL, NULL, 1},
    {"locals", "set/visitable-new-key", "tl_local_set", setup_set_visitable, op_set, NULL, NULL, 1},
    {"locals", "set/first-write-of-local", "tl_local_set", setup_set_first_of_local, op_set, NULL,
     NULL, 1},
    {"locals", "set_take/last-reference", "tl_local_set_take", setup_set_take, op_set_take_last,
     check_set_take_last, after_set_take_last, 1},
    {"locals", "set_take/new-long-key", "tl_local_set_take", setup_set_take, op_set_take, NULL,
     NULL, 1},
    {"locals", "set_quark/new-long-key", "tl_local_set_quark", setup_set_quark, op_set_quark, NULL,
     NULL, 1},
    {"locals", "set_int64/new-key", "tl_local_set_int64", setup_set_int64, op_set_int64, NULL, NULL,
     1},
    {"locals", "set_string/new-long-key", "tl_local_set_string", setup_set_string, op_set_string,
     NULL, NULL, 1},
    {"locals", "delete/long-key", "tl_local_delete", setup_mixed_8, op_delete, NULL, NULL, 1},
    {"locals", "clear/mixed", "tl_local_clear", setup_mixed_8, op_clear, NULL, NULL, 1},
    {"locals", "keys/mixed", "tl_local_keys", setup_mixed_deleted, op_keys, check_keys, NULL, 1},
    {"locals", "foreach/mixed", "tl_local_foreach", setup_mixed_deleted, op_foreach, check_foreach,
     NULL, 1},
    {"locals", "snapshot/mixed", "tl_local_snapshot", setup_snapshot, op_snapshot, check_snapshot,
     NULL, 1},
    {"locals", "peek/initializer-first-access", "tl_local_peek", setup_init_local, op_peek,
     check_init_op, NULL, 1},
    {"locals", "delete/initializer-first-access", "tl_local_delete", setup_init_local, op_delete,
     check_init_op, NULL, 1},

    {"apply", "apply-update/snapshot", "tl_local_apply", setup_apply_update, op_apply, NULL, NULL,
     1},
    {"apply", "apply-replace/snapshot", "tl_local_apply", setup_apply_replace, op_apply, NULL, NULL,
     1},
    {"apply", "apply-update/parsed-duplicate-key", "tl_local_apply", setup_apply_update_parsed,
     op_apply, NULL, NULL, 1},
    {"apply", "apply-replace/parsed-duplicate-key", "tl_local_apply", setup_apply_replace_parsed,
     op_apply, NULL, NULL, 1},
    {"apply", "apply-update/first-write-of-local", "tl_local_apply", setup_apply_first, op_apply,
     NULL, NULL, 1},
    {"apply", "apply-replace/first-write-of-local", "tl_local_apply", setup_apply_replace_first,
     op_apply, NULL, NULL, 1},

    {"values", "value_new_string/long", "tl_value_new_string", setup_nothing, op_new_string,
     check_value_op, NULL, 1},
    {"values", "value_new_bytes", "tl_value_new_bytes", setup_nothing, op_new_bytes, check_value_op,
     NULL, 1},
    {"values", "value_new_tuple/lazy-items", "tl_value_new_tuple", setup_items, op_new_tuple,
     check_value_op, NULL, 1},
    {"values", "value_new_array/boxed", "tl_value_new_array", setup_items, op_new_array_boxed,
     check_value_op, NULL, 1},
    {"values", "value_new_array/strings", "tl_value_new_array", setup_strings, op_new_array_typed,
     check_value_op, NULL, 1},
    {"values", "value_new_maybe", "tl_value_new_maybe", setup_items, op_new_maybe, check_value_op,
     NULL, 1},
    {"values", "value_new_vardict/duplicate-key", "tl_value_new_vardict", setup_items,
     op_new_vardict, check_value_op, NULL, 1},
    {"values", "value_parse/dict", "tl_value_parse", setup_nothing, op_parse, check_value_op, NULL,
     1},
    {"values", "quark_from_string/first", "tl_quark_from_string", setup_quark_first,
     op_quark_from_string, check_quark_op, intern_key_again, 1},
    {"values", "quark_from_string/new-segment", "tl_quark_from_string", setup_quark_new_segment,
     op_quark_from_string, check_quark_op, intern_key_again, 1},
    {"values", "quark_from_string/grow-index", "tl_quark_from_string", setup_quark_grow_index,
     op_quark_from_string, check_quark_op, intern_key_again, 1},
    {"values", "value_serialize/dict", "tl_value_serialize", setup_binary, op_serialize,
     check_serialize_op, NULL, 1},
    {"values", "value_deserialize/dict", "tl_value_deserialize", setup_binary, op_deserialize,
     check_value_op, NULL, 1},
    {"values", "value_lookup/carried-pointer", "tl_value_lookup", setup_lookup, op_lookup_pointer,
     check_value_op, NULL, 1},
    {"values", "value_lookup/string", "tl_value_lookup", setup_lookup, op_lookup_string,
     check_value_op, NULL, 1},
    {"values", "value_get_child", "tl_value_get_child", setup_items, op_get_child, check_value_op,
     NULL, 1},
    {"values", "value_print/snapshot", "tl_value_print", setup_lookup, op_print, check_print, NULL,
     0},
    {"values", "value_equal/lazy-strings", "tl_value_equal", setup_equal_lazy, op_equal,
     check_equal, NULL, 1},
    {"values", "value_equal/snapshots-carrying-values", "tl_value_equal", setup_equal, op_equal,
     check_equal, NULL, 1},

    {"lifecycle", "local_new", "tl_local_new", setup_nothing, op_local_new, check_made_local, NULL,
     1},
    {"lifecycle", "local_new/id-table-grows", "tl_local_new", setup_id_table_full, op_local_new,
     check_made_local, NULL, 1},
    {"lifecycle", "local_new_full/initializer", "tl_local_new_full", setup_nothing,
     op_local_new_full, check_new_full, after_new_full, 1},
    {"lifecycle", "local_new_with_args", "tl_local_new_with_args", setup_with_args,
     op_local_new_with_args, check_with_args, NULL, 1},
    {"lifecycle", "local_open/new-name", "tl_local_open", setup_open_new, op_open, check_open, NULL,
     1},
    {"lifecycle", "local_open/registry-grows", "tl_local_open", setup_open_grows, op_open,
     check_open, NULL, 1},
    {"lifecycle", "local_open/id-table-grows", "tl_local_open", setup_open_id_table_full, op_open,
     check_open, NULL, 1},
    {"lifecycle", "local_open/existing-name", "tl_local_open", setup_open_existing, op_open,
     check_open, NULL, 1},
    {"lifecycle", "local_unregister", "tl_local_unregister", setup_open_existing, op_unregister,
     check_unregister, NULL, 0},
    {"lifecycle", "local_set_exit_hook/replace", "tl_local_set_exit_hook", setup_exit_hook,
     op_set_exit_hook, check_set_exit_hook, after_set_exit_hook, 1},
    {"lifecycle", "local_unref/hooked", "tl_local_unref", setup_unref_hooked, op_unref, check_unref,
     NULL, 0},
    {"lifecycle", "thread_clear/hooked", "tl_thread_clear", setup_clear_hooked, op_thread_clear,
     check_thread_clear, NULL, 0},

    {"threads", "first-write/new-thread", "tl_local_set", setup_first_write_new, op_first_write,
     check_first_write, NULL, 1},
    {"threads", "first-write/new-thread-high-id", "tl_local_set", setup_first_write_high,
     op_first_write, check_first_write, NULL, 1},
    {"threads", "first-write/slot-table-grows", "tl_local_set", setup_first_write_grows,
     op_first_write, check_first_write, NULL, 1},
    {"threads", "thread-exit/hooked", "thread exit", setup_thread_exit, op_thread_exit,
     check_thread_exit, NULL, 0},
    {"threads", "visit/3-threads", "tl_local_visit", setup_visit_3, op_visit, check_visit, NULL, 1},
    {"threads", "visit/3-threads-one-key", "tl_local_visit", setup_visit_3_key, op_visit,
     check_visit, NULL, 1},
    {"threads", "visit/9-threads", "tl_local_visit", setup_visit_9, op_visit, check_visit, NULL, 1},
};

/* ------------------------------------------------------------------------------------------------
 * The child
 * --------------------------------------------------------------------------------------------- */

static int capture_fd = -1; /* the children's stderr */

static void
on_crash(int signal_number)
{
  struct sigaction fallback;
  sigset_t unblock;

  in_hook = 1; /* backtrace() allocates nothing now, but nothing may fail in here either */
  report->n_crash_frames = backtrace(report->crash_frames, MAX_FRAMES);
  memset(&fallback, 0, sizeof fallback);
  fallback.sa_handler = SIG_DFL;
  sigaction(signal_number, &fallback, NULL);
  sigemptyset(&unblock);
  sigaddset(&unblock, signal_number);
  pthread_sigmask(SIG_UNBLOCK, &unblock, NULL);
  raise(signal_number);
  _exit(128 + signal_number);
}

static void
release(Fixture *f)
{
  int i;

  if (f->n_threads > 0) {
    pthread_mutex_lock(&park_mutex);
    unparked = 1;
    pthread_cond_broadcast(&park_cond);
    pthread_mutex_unlock(&park_mutex);
    for (i = 0; i < f->n_threads; i++)
      pthread_join(f->threads[i], NULL);
  }
  state_clear(&f->pre);
  for (i = 0; i < f->n_names; i++)
    tl_local_unregister(f->names[i]);
  for (i = 0; i < 2; i++) {
    tl_value_unref(f->out[i]);
    tl_local_unref(f->made[i]);
    tl_strv_free(f->keys[i]);
    tl_free(f->printed[i]);
    tl_local_unref(f->local[i]);
  }
  for (i = 0; i < f->n_locals; i++)
    tl_local_unref(f->locals[i]);
  tl_thread_clear();
}

/* Last, after the scenario's own checks of what hooks were given. */
static void
release_values(Fixture *f)
{
  int i;

  for (i = 0; i < 2; i++)
    tl_value_unref(f->hooks[i].contents);
  for (i = 0; i < f->n_held; i++)
    tl_value_unref(f->held[i]);
}

static void
check_status(Fixture *f, int status)
{
  if (status == TL_OK)
    return;
  if (status == TL_ERR_NO_MEMORY || (status == TL_ERR_INIT_FAILED && f->init_saw_no_memory)) {
    CHECK(f->error == status, "returned %s, but tl_last_error() is %s", tl_status_name(status),
          tl_status_name(f->error));
    CHECK(f->message[0] != '\0' && strcmp(f->message, "no error") != 0,
          "returned %s without a message", tl_status_name(status));
    return;
  }
  CHECK(0, "returned %s (%s)", tl_status_name(status), f->message);
}

static __attribute__((noreturn)) void
child_main(const Scenario *s)
{
  static const int crash_signals[] = {SIGSEGV, SIGBUS, SIGABRT, SIGTRAP, SIGFPE, SIGILL};
  size_t values, dicts, locals, threads;
  struct sigaction action;
  Fixture *f = &fixture;
  long blocks;
  int status, i;

  prctl(PR_SET_DUMPABLE, 0); /* no core dumps of the expected GLib aborts */
  dup2(capture_fd, STDERR_FILENO);
  memset(&action, 0, sizeof action);
  action.sa_handler = on_crash;
  for (i = 0; i < (int) (sizeof crash_signals / sizeof crash_signals[0]); i++)
    sigaction(crash_signals[i], &action, NULL);
  alarm(CHILD_SECONDS);

  blocks = live_blocks;
  values = tl_stats_live_values();
  dicts = tl_stats_live_dicts();
  locals = tl_stats_live_locals();
  threads = tl_stats_live_threads();
  f->scenario = s;
  report->stage = STAGE_SETUP;
  s->setup(f);
  if (report->failed)
    _exit(1);
  f->dicts_before = tl_stats_live_dicts();
  f->threads_before = tl_stats_live_threads();
  f->locals_before = tl_stats_live_locals();
  f->values_before = tl_stats_live_values();

  report->stage = STAGE_CALL;
  status = s->op(f, 0);
  window_close();
  report->status = f->status = status;

  report->stage = STAGE_CHECK;
  check_status(f, status);
  (s->check != NULL ? s->check : check_local_op)(f, status);
  for (i = 0; i < f->n_pointers; i++)
    CHECK(f->destroyed[i] == 0, "pointer value %d was destroyed while still referenced", i);

  report->stage = STAGE_RELEASE;
  tl_local_unregister("fault-inject: no such name"); /* TL_ERR_NOT_FOUND, unless release fails */
  release(f);
  if (s->after_release != NULL)
    s->after_release(f);
  release_values(f);
  CHECK(tl_last_error() != TL_ERR_INVALID_ARGUMENT, "releasing met an invalid handle: %s",
        tl_last_error_message());
  for (i = 0; i < f->n_pointers; i++)
    CHECK(f->destroyed[i] == 1, "pointer value %d was destroyed %d times", i, f->destroyed[i]);
  CHECK(tl_stats_live_values() == values, "%zu values live after release, %zu before",
        tl_stats_live_values(), values);
  CHECK(tl_stats_live_dicts() == dicts, "%zu dictionaries live after release, %zu before",
        tl_stats_live_dicts(), dicts);
  CHECK(tl_stats_live_locals() == locals, "%zu locals live after release, %zu before",
        tl_stats_live_locals(), locals);
  CHECK(tl_stats_live_threads() == threads, "%zu threads hold state after release, %zu before",
        tl_stats_live_threads(), threads);
  report->block_delta = live_blocks - blocks;
  report->stage = STAGE_DONE;
  _exit(report->failed ? 1 : 0);
}

/* ------------------------------------------------------------------------------------------------
 * The parent: runs the children, says whose allocation failed, and reports
 * --------------------------------------------------------------------------------------------- */

typedef struct {
  int exited, code, signal_number;
  Report report;
} Outcome;

static void
run_child(const Scenario *s, unsigned long k, int persistent, Outcome *out)
{
  int wait_status = 0;
  pid_t pid;

  memset(report, 0, sizeof *report);
  fail_at = k;
  fail_persistent = persistent;
  if (ftruncate(capture_fd, 0) != 0 || lseek(capture_fd, 0, SEEK_SET) != 0) {
    perror("fault-inject: capture file");
    exit(2);
  }
  fflush(NULL);
  pid = fork();
  if (pid < 0) {
    perror("fault-inject: fork");
    exit(2);
  }
  if (pid == 0)
    child_main(s);
  while (waitpid(pid, &wait_status, 0) < 0 && errno == EINTR)
    ;
  fail_at = ULONG_MAX;
  out->exited = WIFEXITED(wait_status);
  out->code = out->exited ? WEXITSTATUS(wait_status) : -1;
  out->signal_number = WIFSIGNALED(wait_status) ? WTERMSIG(wait_status) : 0;
  memcpy(&out->report, report, sizeof *report);
}

/* Modules whose allocations are GLib's own (GLib, what it links, and the C library's internals). */
static int
is_glib_side(const char *path)
{
  static const char *const prefixes[] = {"libglib-2.0.so", "libgobject-2.0.so", "libgio-2.0.so",
                                         "libffi.so",      "libc.so",           "ld-linux",
                                         "libpcre2",       "libgcc_s.so",       "libm.so"};
  const char *base = strrchr(path, '/') != NULL ? strrchr(path, '/') + 1 : path;
  size_t i;

  for (i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
    if (strncmp(base, prefixes[i], strlen(prefixes[i])) == 0)
      return 1;
  return 0;
}

static const char *
module_of(const void *address)
{
  Dl_info info;

  if (dladdr(address, &info) == 0 || info.dli_fname == NULL)
    return "";
  return info.dli_fname;
}

static int
in_library(const void *address)
{
  const char *path = module_of(address);
  const char *base = strrchr(path, '/') != NULL ? strrchr(path, '/') + 1 : path;

  return strncmp(base, "libtlslocal", strlen("libtlslocal")) == 0;
}

static int
glib_owned(const Site *site)
{
  return !library_owned(site->caller);
}

/* "fn (file:line)" for a return address in libtlslocal or this program (addr2line, cached);
 * "symbol" or "module+0xoffset" elsewhere. */
static const char *
describe_address(void *address)
{
  static struct {
    void *address;
    char text[256];
  } cache[1024];
  static int n_cached;
  char command[PATH_MAX + 96], line[512], function[200] = "", place[200] = "", outer[200] = "";
  const char *base;
  Dl_info info;
  FILE *pipe;
  int i, n = 0;

  for (i = 0; i < n_cached; i++)
    if (cache[i].address == address)
      return cache[i].text;
  if (n_cached == (int) (sizeof cache / sizeof cache[0]))
    n_cached = 0;
  i = n_cached++;
  cache[i].address = address;
  if (dladdr(address, &info) == 0 || info.dli_fname == NULL) {
    snprintf(cache[i].text, sizeof cache[i].text, "%p", address);
    return cache[i].text;
  }
  base = strrchr(info.dli_fname, '/') != NULL ? strrchr(info.dli_fname, '/') + 1 : info.dli_fname;
  if (is_glib_side(info.dli_fname)) {
    if (info.dli_sname != NULL)
      snprintf(cache[i].text, sizeof cache[i].text, "%s", info.dli_sname);
    else
      snprintf(cache[i].text, sizeof cache[i].text, "%s+0x%lx", base,
               (unsigned long) ((char *) address - (char *) info.dli_fbase));
    return cache[i].text;
  }
  /* A return address: the call is the byte before it. */
  snprintf(command, sizeof command, "addr2line -f -i -e '%s' 0x%lx 2>/dev/null", info.dli_fname,
           (unsigned long) ((char *) address - (char *) info.dli_fbase - 1));
  if ((pipe = popen(command, "r")) != NULL) {
    while (fgets(line, sizeof line, pipe) != NULL) {
      line[strcspn(line, "\n")] = '\0';
      if (n % 2 == 0) {
        if (n == 0)
          snprintf(function, sizeof function, "%s", line);
        snprintf(outer, sizeof outer, "%s", line);
      } else if (n == 1) {
        const char *file = strrchr(line, '/') != NULL ? strrchr(line, '/') + 1 : line;
        snprintf(place, sizeof place, "%s", file);
        place[strcspn(place, " ")] = '\0'; /* drop " (discriminator N)" */
      }
      n++;
    }
    pclose(pipe);
  }
  if (n >= 2 && function[0] != '?')
    snprintf(cache[i].text, sizeof cache[i].text, "%s (%s)%s%s", function, place,
             strcmp(outer, function) != 0 ? " in " : "", strcmp(outer, function) != 0 ? outer : "");
  else
    snprintf(cache[i].text, sizeof cache[i].text, "%s+0x%lx", base,
             (unsigned long) ((char *) address - (char *) info.dli_fbase));
  return cache[i].text;
}

static int
caller_frame(const Site *site)
{
  int i;

  for (i = 0; i < site->n_frames; i++)
    if (site->frames[i] == site->caller)
      return i;
  return -1;
}

static int
in_program(const void *address)
{
  return library_owned(address) && !in_library(address);
}

/* For a GLib-owned allocation: "the GLib function the library called <- where the library called
 * it". A public function that tail-calls GLib (return g_variant_print (...)) leaves no frame of
 * its own: the GLib function then returns straight to this program. */
static void
describe_glib_site(const Site *site, const char *call, char *out, size_t size)
{
  int first = caller_frame(site), i;

  for (i = first < 0 ? 0 : first;
       i < site->n_frames && !in_library(site->frames[i]) && !in_program(site->frames[i]); i++)
    ;
  if (first < 0 || i == site->n_frames || i == first) {
    snprintf(out, size, "%s, under no libtlslocal frame", describe_address(site->caller));
    return;
  }
  snprintf(out, size, "%s", describe_address(site->frames[i - 1]));
  if (in_library(site->frames[i]))
    snprintf(out + strlen(out), size - strlen(out), " <- %s", describe_address(site->frames[i]));
  else
    snprintf(out + strlen(out), size - strlen(out), " <- %s (a tail call)", call);
}

static void
describe_site(const Site *site, const char *call, char *out, size_t size)
{
  if (glib_owned(site)) {
    snprintf(out, size, "GLib's: ");
    describe_glib_site(site, call, out + strlen(out), size - strlen(out));
  } else {
    snprintf(out, size, "the library's, at %s", describe_address(site->caller));
  }
}

typedef struct {
  char site[400];
  char calls[200];
  unsigned long count;
  unsigned short ks[2][512]; /* per mode */
  int n_ks[2];
} AbortSite;

#define MAX_SITES 64

static AbortSite all_sites[MAX_SITES];
static int n_all_sites;

static AbortSite *
site_entry(AbortSite *sites, int *n_sites, const char *site)
{
  int i;

  for (i = 0; i < *n_sites; i++)
    if (strcmp(sites[i].site, site) == 0)
      return &sites[i];
  if (*n_sites == MAX_SITES)
    return &sites[MAX_SITES - 1];
  memset(&sites[*n_sites], 0, sizeof sites[0]);
  snprintf(sites[*n_sites].site, sizeof sites[0].site, "%s", site);
  return &sites[(*n_sites)++];
}

/* "3-5,39-41" */
static void
format_ks(const unsigned short *ks, int n, char *out, size_t size)
{
  int i, run;

  out[0] = '\0';
  for (i = 0; i < n; i = run + 1) {
    for (run = i; run + 1 < n && ks[run + 1] == ks[run] + 1; run++)
      ;
    if (strlen(out) + 16 >= size) {
      snprintf(out + strlen(out), size - strlen(out), ",...");
      return;
    }
    snprintf(out + strlen(out), size - strlen(out), run > i ? "%s%u-%u" : "%s%u", i > 0 ? "," : "",
             ks[i], ks[run]);
  }
}

static void
append(char *buffer, size_t size, const char *text)
{
  size_t used = strlen(buffer);

  if (used + strlen(text) + 6 < size)
    snprintf(buffer + used, size - used, "%s", text);
  else if (used + 4 < size && strcmp(buffer + used - 3, "...") != 0)
    snprintf(buffer + used, size - used, "...");
}

static void
captured_stderr(char *out, size_t size)
{
  ssize_t n = pread(capture_fd, out, size - 1, 0);
  char *c;

  out[n > 0 ? n : 0] = '\0';
  for (c = out; *c != '\0'; c++)
    if (*c == '\n')
      *c = ' ';
}

static unsigned long total_failures, total_aborts, total_runs;

static void
run_scenario(const Scenario *s)
{
  static AbortSite sites[MAX_SITES]; /* reused: entries are cleared as they are taken */
  int n_sites = 0, mode, i, n_printed = 0, n_library;
  unsigned long allocs, runs = 0, passed = 0, aborts = 0, failures = 0, undocumented = 0, k;
  long blocks;
  Outcome o;
  char text[1200], where[600], stderr_text[400];

  run_child(s, ULONG_MAX, 0, &o);
  if (!o.exited || o.code != 0) {
    captured_stderr(stderr_text, sizeof stderr_text);
    printf("%-40s FAIL without injection: %s%s%s\n", s->name,
           o.exited ? o.report.text : strsignal(o.signal_number),
           stderr_text[0] ? "; stderr: " : "", stderr_text);
    total_failures++;
    return;
  }
  allocs = o.report.n_allocs;
  blocks = o.report.block_delta;

  for (mode = 0; mode < 2; mode++) {
    for (k = 1;; k++) {
      const char *failure = NULL;

      if (k > MAX_K) {
        failure = "the call makes more allocations than the cap";
        snprintf(text, sizeof text, "%s", failure);
      } else {
        run_child(s, k, mode, &o);
        if (o.exited && o.code == 0 && o.report.n_failed == 0)
          break; /* fewer than k allocations: done */
      }
      runs++;
      if (failure == NULL && o.exited && o.code == 0) {
        if (o.report.block_delta != blocks) {
          snprintf(text, sizeof text,
                   "the heap holds %ld blocks more after release than before setup (%ld without "
                   "injection): a leak",
                   o.report.block_delta, blocks);
          failure = text;
        } else {
          passed++;
          undocumented += o.report.status == TL_ERR_NO_MEMORY && !s->lists_no_memory;
          continue;
        }
      }
      if (failure == NULL && !o.exited && o.report.stage == STAGE_CALL && o.report.glib_failed &&
          (o.signal_number == SIGABRT || o.signal_number == SIGTRAP)) {
        AbortSite *site, *global;

        describe_glib_site(&o.report.glib, s->call, where, sizeof where);
        site = site_entry(sites, &n_sites, where);
        if (site->n_ks[mode] < 512)
          site->ks[mode][site->n_ks[mode]++] = (unsigned short) k;
        site->count++;
        global = site_entry(all_sites, &n_all_sites, where);
        if (strstr(global->calls, s->call) == NULL) {
          append(global->calls, sizeof global->calls, global->calls[0] ? ", " : "");
          append(global->calls, sizeof global->calls, s->call);
        }
        global->count++;
        aborts++;
        continue;
      }
      /* A failure: say what happened and whose allocation had failed. */
      if (failure == NULL) {
        char first[600] = "none", last[600] = "";

        if (o.report.n_failed > 0) {
          describe_site(&o.report.first, s->call, first, sizeof first);
          if (o.report.n_failed > 1) {
            snprintf(last, sizeof last, "; last of %lu failed: ", o.report.n_failed);
            describe_site(&o.report.last, s->call, last + strlen(last), sizeof last - strlen(last));
          }
        }
        if (o.exited) {
          snprintf(text, sizeof text, "%s [status %s; failed allocation %s%s]", o.report.text,
                   tl_status_name(o.report.status), first, last);
        } else {
          snprintf(text, sizeof text, "killed by %s in %s; failed allocation %s%s; crashed in:",
                   o.signal_number == SIGALRM ? "SIGALRM (hung)" : strsignal(o.signal_number),
                   stage_names[o.report.stage], first, last);
          /* Past on_crash and the signal trampoline, down to the second frame in the library. */
          for (i = 2, n_library = 0; i < o.report.n_crash_frames && i < 16 && n_library < 2; i++) {
            append(text, sizeof text, i > 2 ? " <- " : " ");
            append(text, sizeof text, describe_address(o.report.crash_frames[i]));
            n_library += in_library(o.report.crash_frames[i]);
          }
          captured_stderr(stderr_text, sizeof stderr_text);
          if (stderr_text[0] != '\0') {
            append(text, sizeof text, "; stderr: ");
            append(text, sizeof text, stderr_text);
          }
          if (o.report.text[0] != '\0') {
            append(text, sizeof text, "; checks: ");
            append(text, sizeof text, o.report.text);
          }
        }
        failure = text;
      }
      failures++;
      if (n_printed++ < 6)
        printf("    FAIL %s k=%lu %s: %s\n", s->name, k, mode ? "persistent" : "transient",
               failure);
      if (k > MAX_K)
        break;
    }
  }
  if (n_printed > 6)
    printf("    ... and %d more failures\n", n_printed - 6);
  snprintf(where, sizeof where, runs > 0 ? "1..%lu" : "none", runs / 2);
  printf("%-40s allocs %4lu  k %-7s x2  passed %4lu  glib-aborts %4lu  failures %3lu%s\n", s->name,
         allocs, where, passed, aborts, failures, failures > 0 ? "  FAIL" : "");
  for (i = 0; i < n_sites; i++) {
    char transient[120], persistent[120];

    format_ks(sites[i].ks[0], sites[i].n_ks[0], transient, sizeof transient);
    format_ks(sites[i].ks[1], sites[i].n_ks[1], persistent, sizeof persistent);
    printf("    GLib abort x%lu at k=%s (t), %s (p): %s\n", sites[i].count, transient,
           strcmp(transient, persistent) == 0 ? "same" : persistent, sites[i].site);
  }
  if (undocumented > 0) /* a status the contract does not name is a broken promise */
    printf("    FAIL %lu runs returned TL_ERR_NO_MEMORY, which the header does not list for %s\n",
           undocumented, s->call);
  total_runs += runs;
  total_aborts += aborts;
  total_failures += failures + undocumented;
}

static int
find_own_code(struct dl_phdr_info *info, size_t size, void *data)
{
  const char *base =
      strrchr(info->dlpi_name, '/') != NULL ? strrchr(info->dlpi_name, '/') + 1 : info->dlpi_name;
  int i;

  (void) size;
  (void) data;
  if (info->dlpi_name[0] != '\0' && strncmp(base, "libtlslocal", strlen("libtlslocal")) != 0)
    return 0;
  for (i = 0; i < info->dlpi_phnum && n_own_code < (int) (sizeof own_code / sizeof own_code[0]);
       i++) {
    const ElfW(Phdr) *segment = &info->dlpi_phdr[i];

    if (segment->p_type == PT_LOAD && (segment->p_flags & PF_X)) {
      own_code[n_own_code].start = info->dlpi_addr + segment->p_vaddr;
      own_code[n_own_code++].end = info->dlpi_addr + segment->p_vaddr + segment->p_memsz;
    }
  }
  return 0;
}

static void *
idle_thread(void *data)
{
  return data;
}

/* One-time costs paid here, not in the children's windows: libgcc's unwinder for backtrace(), the
 * dynamic linker's lookups, a few cached thread stacks, and the library's and GLib's first use. */
static void
warm_up(void)
{
  pthread_t threads[MAX_THREADS + 1];
  void *frames[4];
  TlLocal *local, *named;
  TlValue *value, *snapshot = NULL, *parsed_value = NULL;
  char **keys = NULL, *text;
  int i;

  backtrace(frames, 4);
  describe_address((void *) tl_version);
  dl_iterate_phdr(find_own_code, NULL);
  if (n_own_code < 2 || !library_owned((void *) tl_version) || !library_owned((void *) warm_up)) {
    fprintf(stderr, "fault-inject: cannot find the code of libtlslocal and of this program\n");
    exit(2);
  }
  for (i = 0; i < MAX_THREADS + 1; i++)
    pthread_create(&threads[i], NULL, idle_thread, NULL);
  for (i = 0; i < MAX_THREADS + 1; i++)
    pthread_join(threads[i], NULL);

  local = tl_local_new_full(TL_LOCAL_VISITABLE, NULL, NULL, NULL);
  named = tl_local_open("fault-inject-warm-up");
  value = tl_value_new_string("warm");
  tl_local_set(local, "a-long-key-for-the-warm-up-0000", value);
  tl_local_snapshot(local, &snapshot);
  tl_local_apply(named, snapshot, TL_APPLY_REPLACE);
  tl_value_parse(NULL, "{'a': <[1, 2]>}", &parsed_value);
  text = tl_value_print(snapshot, 1);
  tl_local_keys(local, &keys, NULL);
  tl_strv_free(keys);
  tl_free(text);
  tl_value_unref(parsed_value);
  tl_value_unref(snapshot);
  tl_value_unref(value);
  tl_local_unref(named);
  tl_local_unregister("fault-inject-warm-up");
  tl_local_unref(local);
  tl_thread_clear();
  if (tl_stats_live_values() + tl_stats_live_dicts() + tl_stats_live_locals() +
          tl_stats_live_threads() !=
      0) {
    fprintf(stderr, "fault-inject: the warm-up left state behind\n");
    exit(2);
  }
}

static int
selected(const Scenario *s, int argc, char **argv)
{
  int i;

  if (argc < 2)
    return 1;
  for (i = 1; i < argc; i++)
    if (strcmp(argv[i], s->group) == 0 || strncmp(argv[i], s->name, strlen(argv[i])) == 0)
      return 1;
  return 0;
}

int
main(int argc, char **argv)
{
  const char *slice = getenv("G_SLICE");
  struct timespec start, end;
  size_t i, n_run = 0;
  int j;

  /* GLib reads G_SLICE when it is loaded: set it, then start again. */
  if (slice == NULL || strcmp(slice, "always-malloc") != 0) {
    setenv("G_SLICE", "always-malloc", 1);
    setenv("G_DEBUG", "fatal-criticals", 0);
    execv("/proc/self/exe", argv);
    perror("fault-inject: execv");
    return 2;
  }
  clock_gettime(CLOCK_MONOTONIC, &start);
  report = mmap(NULL, sizeof *report, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  capture_fd = memfd_create("fault-inject-stderr", 0);
  if (report == MAP_FAILED || capture_fd < 0) {
    perror("fault-inject: mmap or memfd_create");
    return 2;
  }
  warm_up();

  printf("fault-inject: each allocation k = 1, 2, ... of one call fails, transient (t) and "
         "persistent (p)\n");
  for (i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++) {
    if (selected(&scenarios[i], argc, argv)) {
      run_scenario(&scenarios[i]);
      n_run++;
    }
  }
  if (n_run == 0) {
    fprintf(stderr, "fault-inject: no scenario matches");
    for (j = 1; j < argc; j++)
      fprintf(stderr, " '%s'", argv[j]);
    fprintf(stderr, "\n");
    return 2;
  }
  if (n_all_sites > 0) {
    printf("GLib abort sites (GLib function <- its libtlslocal caller: public calls):\n");
    for (j = 0; j < n_all_sites; j++)
      printf("    %s: %s (x%lu)\n", all_sites[j].site, all_sites[j].calls, all_sites[j].count);
  }
  clock_gettime(CLOCK_MONOTONIC, &end);
  printf("%zu scenarios, %lu runs: %lu GLib aborts, %lu failures, %.1f s\n", n_run, total_runs,
         total_aborts, total_failures,
         (double) (end.tv_sec - start.tv_sec) + (end.tv_nsec - start.tv_nsec) / 1e9);
  return total_failures > 0 ? 1 : 0;
}
