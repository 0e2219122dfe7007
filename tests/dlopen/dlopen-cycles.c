/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dlopen()/dlclose() cycles while threads holding values come and go: the library is loaded at run
 * time only (this program does not link it), and some threads still hold values when it is
 * dlclose()d, so their exit runs its thread-exit cleanup afterwards. Nothing may crash, and every
 * destroy function (which lives here, in the program) must have run by the end.
 *
 * Usage: dlopen-cycles PATH-TO-libtlslocal.so.1. TL_TEST_SLOW=k divides the iterations by k. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tlslocal.h> /* the types only: every function is reached through dlsym() */

#define N_EARLY 2 /* threads that exit before the dlclose() */
#define N_LATE 2  /* threads still running, with values, at the dlclose() */
#define NAMED "dlopen-cycles"

/* The part of the API used here, resolved from each dlopen()ed handle. */
typedef struct {
  TlLocal *(*local_new)(void);
  TlLocal *(*local_open)(const char *name);
  int (*local_unregister)(const char *name);
  void (*local_unref)(TlLocal *local);
  int (*local_set)(TlLocal *local, const char *key, TlValue *value);
  TlValue *(*local_peek)(TlLocal *local, const char *key);
  int (*local_set_exit_hook)(TlLocal *local, TlExitHook hook, void *user_data,
                             TlDestroyFunc user_data_destroy);
  TlValue *(*value_new_pointer)(void *ptr, TlDestroyFunc destroy);
  TlValue *(*value_new_int64)(int64_t number);
  void (*value_unref)(TlValue *value);
  int (*value_get_pointer)(const TlValue *value, void **out);
  void (*thread_clear)(void);
  size_t (*stats_live_dicts)(void);
  size_t (*stats_live_threads)(void);
  size_t (*stats_live_values)(void);
  const char *(*version)(void);
} Api;

static void die(const char *format, ...) __attribute__((noreturn, format(printf, 1, 2)));

static void
die(const char *format, ...)
{
  va_list args;

  va_start(args, format);
  fprintf(stderr, "dlopen-cycles: ");
  vfprintf(stderr, format, args);
  fprintf(stderr, "\n");
  va_end(args);
  exit(1);
}

#define CHECK(cond)                                                                                \
  do {                                                                                             \
    if (!(cond))                                                                                   \
      die("%s:%d: check failed: %s", __FILE__, __LINE__, #cond);                                   \
  } while (0)

/* Through a union: ISO C has no conversion from void * to a function pointer. */
static void
resolve(void *handle, const char *name, void *out_fn, size_t fn_size)
{
  union {
    void *object;
    void (*fn)(void);
  } symbol;

  dlerror();
  symbol.object = dlsym(handle, name);
  if (symbol.object == NULL)
    die("dlsym(%s): %s", name, dlerror());
  CHECK(fn_size == sizeof symbol.fn);
  memcpy(out_fn, &symbol.fn, fn_size);
}

#define RESOLVE(handle, api, field) resolve(handle, "tl_" #field, &(api)->field, sizeof(api)->field)

static void *
load(const char *path, Api *api)
{
  void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);

  if (handle == NULL)
    die("dlopen(%s): %s", path, dlerror());
  RESOLVE(handle, api, local_new);
  RESOLVE(handle, api, local_open);
  RESOLVE(handle, api, local_unregister);
  RESOLVE(handle, api, local_unref);
  RESOLVE(handle, api, local_set);
  RESOLVE(handle, api, local_peek);
  RESOLVE(handle, api, local_set_exit_hook);
  RESOLVE(handle, api, value_new_pointer);
  RESOLVE(handle, api, value_new_int64);
  RESOLVE(handle, api, value_unref);
  RESOLVE(handle, api, value_get_pointer);
  RESOLVE(handle, api, thread_clear);
  RESOLVE(handle, api, stats_live_dicts);
  RESOLVE(handle, api, stats_live_threads);
  RESOLVE(handle, api, stats_live_values);
  RESOLVE(handle, api, version);
  return handle;
}

/* ---- what lives in the program: destroy functions and an exit hook ---- */

static int created, destroyed, exit_hook_calls, other_hook_calls; /* atomic */

static void
count_destroy(void *ptr)
{
  CHECK(ptr == &created);
  __atomic_fetch_add(&destroyed, 1, __ATOMIC_SEQ_CST);
}

static void
count_hook(int reason, uint64_t thread_id, TlValue *contents, void *user_data)
{
  CHECK(contents != NULL && thread_id != 0);
  __atomic_fetch_add(reason == TL_FREED_THREAD_EXIT ? &exit_hook_calls : &other_hook_calls, 1,
                     __ATOMIC_SEQ_CST);
}

static int
set_counted(const Api *api, TlLocal *local, const char *key)
{
  TlValue *value = api->value_new_pointer(&created, count_destroy);
  int status;

  if (value == NULL)
    return -1;
  __atomic_fetch_add(&created, 1, __ATOMIC_SEQ_CST);
  status = api->local_set(local, key, value);
  api->value_unref(value);
  return status;
}

/* ---- one cycle ---- */

typedef struct {
  Api api;        /* a copy: late threads never touch the library after the dlclose() */
  TlLocal *cycle; /* made and destroyed this cycle */
  TlLocal *named; /* the registry keeps it across cycles */
  pthread_mutex_t mutex;
  pthread_cond_t cond;
  int n_ready, closed, failures;
} Cycle;

static void *
cycle_thread(void *data)
{
  Cycle *cycle = data;
  TlLocal *own = cycle->api.local_new();
  TlValue *number = cycle->api.value_new_int64(7);
  int late, ok;

  ok = own != NULL && number != NULL && set_counted(&cycle->api, cycle->cycle, "p") == TL_OK &&
       set_counted(&cycle->api, cycle->named, "p") == TL_OK &&
       set_counted(&cycle->api, own, "p") == TL_OK &&
       cycle->api.local_set(cycle->named, "n", number) == TL_OK &&
       cycle->api.local_peek(cycle->named, "p") != NULL;
  cycle->api.value_unref(number);
  cycle->api.local_unref(own); /* its dictionary goes now: one value destroyed */

  pthread_mutex_lock(&cycle->mutex);
  if (!ok)
    cycle->failures++;
  late = cycle->n_ready++ >= N_EARLY;
  pthread_cond_broadcast(&cycle->cond);
  /* A late thread waits for the dlclose(), holding values in the named local (and, until the
   * main thread destroys it, in the cycle's local), and exits after it. */
  while (late && !cycle->closed)
    pthread_cond_wait(&cycle->cond, &cycle->mutex);
  pthread_mutex_unlock(&cycle->mutex);
  return NULL; /* the exit releases its dictionaries: the library's code runs here */
}

static void
run_cycle(const char *path, int index)
{
  Cycle cycle;
  pthread_t threads[N_EARLY + N_LATE];
  void *handle;
  int i;

  memset(&cycle, 0, sizeof cycle);
  pthread_mutex_init(&cycle.mutex, NULL);
  pthread_cond_init(&cycle.cond, NULL);
  handle = load(path, &cycle.api);
  CHECK(strcmp(cycle.api.version(), TL_VERSION_STRING) == 0);
  cycle.cycle = cycle.api.local_new();
  cycle.named = cycle.api.local_open(NAMED);
  CHECK(cycle.cycle != NULL && cycle.named != NULL);
  if (index == 0)
    CHECK(cycle.api.local_set_exit_hook(cycle.named, count_hook, NULL, NULL) == TL_OK);
  CHECK(set_counted(&cycle.api, cycle.named, "main") == TL_OK);

  /* The early threads are started, and exit, first. */
  for (i = 0; i < N_EARLY + N_LATE; i++) {
    CHECK(pthread_create(&threads[i], NULL, cycle_thread, &cycle) == 0);
    if (i == N_EARLY - 1) {
      int j;

      for (j = 0; j < N_EARLY; j++)
        CHECK(pthread_join(threads[j], NULL) == 0);
    }
  }
  pthread_mutex_lock(&cycle.mutex);
  while (cycle.n_ready < N_EARLY + N_LATE)
    pthread_cond_wait(&cycle.cond, &cycle.mutex);
  pthread_mutex_unlock(&cycle.mutex);
  CHECK(cycle.failures == 0);

  /* The cycle's local is destroyed while the late threads still hold values in it; they keep
   * those of the named local past the dlclose(). Odd cycles clear the main thread too; even ones
   * leave its dictionary to the next load. */
  cycle.api.local_unref(cycle.cycle);
  if (index % 2 == 1)
    cycle.api.thread_clear();
  cycle.api.local_unref(cycle.named); /* the registry's reference keeps it */
  CHECK(dlclose(handle) == 0);

  pthread_mutex_lock(&cycle.mutex);
  cycle.closed = 1;
  pthread_cond_broadcast(&cycle.cond);
  pthread_mutex_unlock(&cycle.mutex);
  for (i = N_EARLY; i < N_EARLY + N_LATE; i++)
    CHECK(pthread_join(threads[i], NULL) == 0);
  pthread_mutex_destroy(&cycle.mutex);
  pthread_cond_destroy(&cycle.cond);
}

int
main(int argc, char **argv)
{
  const char *slow = getenv("TL_TEST_SLOW");
  int n_cycles = 200, i;
  void *handle;
  Api api;

  if (argc != 2)
    die("usage: dlopen-cycles PATH-TO-LIBTLSLOCAL");
  if (slow != NULL && atoi(slow) > 1)
    n_cycles = n_cycles / atoi(slow) > 2 ? n_cycles / atoi(slow) : 2;
  /* Not linked, not loaded: this program reaches the library through dlopen() only. */
  CHECK(dlopen(argv[1], RTLD_NOW | RTLD_NOLOAD) == NULL);

  for (i = 0; i < n_cycles; i++)
    run_cycle(argv[1], i);

  /* Load it once more to check what is left, and clean up. */
  handle = load(argv[1], &api);
  CHECK(api.stats_live_threads() <= 1);        /* the main thread at most */
  CHECK(api.local_unregister(NAMED) == TL_OK); /* the last reference */
  api.thread_clear();
  CHECK(api.stats_live_dicts() == 0);
  CHECK(api.stats_live_threads() == 0);
  CHECK(api.stats_live_values() == 0);
  CHECK(dlclose(handle) == 0);

  CHECK(__atomic_load_n(&destroyed, __ATOMIC_SEQ_CST) ==
        __atomic_load_n(&created, __ATOMIC_SEQ_CST));
  /* Every thread's dictionary of the named local ran the hook at the thread's exit. */
  CHECK(exit_hook_calls == n_cycles * (N_EARLY + N_LATE));
  /* The main thread's: at each odd cycle's clear, and at the end. */
  CHECK(other_hook_calls == n_cycles / 2 + (n_cycles % 2 == 0 ? 0 : 1));
  printf("dlopen-cycles: %d cycles, %d values destroyed, %d + %d exit hook calls\n", n_cycles,
         destroyed, exit_hook_calls, other_hook_calls);
  return 0;
}
