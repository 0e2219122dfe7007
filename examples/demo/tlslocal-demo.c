/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tlslocal-demo: libtlslocal end to end in about a second (`./run demo`).
 *
 *   1. a worker pool where each request carries its context (request id, user, deadline) in a local
 *   2. per-thread counters, summed across threads by a visit and folded in by exit hooks
 *   3. a request's context handed from a producer thread to a worker (snapshot + apply)
 *   4. one named local shared by C, Python, Node, C++, Rust, Go and Java, through a C helper
 *   5. live and freed counts: every dictionary released when its thread ended
 *
 * Each step checks what it shows, and the exit status is 0 only if every check held: `meson test`
 * runs the demo (suite 'examples'), so it cannot rot. Meson passes the paths of the built library,
 * the helper, the bindings and the interpreters as TL_DEMO_* defines; $TLSLOCAL_DEMO_PYTHON, if
 * set, names another Python interpreter (the Python suite runs the demo with each one it tests).
 *
 * Copyright the libtlslocal authors.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <tlslocal.h>

#include "demo-languages.h"

#include "tlslocal-demo-helper.h"

extern char **environ;

/* ------------------------------------------------------------------------------------------------
 * Checks and the live-count timeline
 * --------------------------------------------------------------------------------------------- */

enum { CHECK_FAILED, CHECK_PASSED, CHECK_SKIPPED };

static int check_states[32];
static int n_checks;

static void check(int state, const char *format, ...) __attribute__((format(printf, 2, 3)));

/* Record one check and print its line: "ok", "FAILED" or "skipped", then what was checked. */
static void
check(int state, const char *format, ...)
{
  static const char *const labels[] = {"FAILED", "ok", "skipped"};
  va_list args;

  if (n_checks < (int) (sizeof check_states / sizeof check_states[0]))
    check_states[n_checks++] = state;
  printf("   %s: ", labels[state]);
  va_start(args, format);
  vprintf(format, args);
  va_end(args);
  putchar('\n');
}

static void
section(int number, const char *title)
{
  printf("\n%d. %s\n", number, title);
}

typedef struct {
  const char *moment;
  int threads_ended; /* every thread that had a dictionary has ended: none may be left */
  size_t locals, dicts, threads, values;
} Sample;

static Sample timeline[12];
static size_t n_samples;

/* Note the library's live counts now, for step 5's table. @return the sample. */
static const Sample *
sample(const char *moment, int threads_ended)
{
  Sample *s = &timeline[n_samples < 11 ? n_samples++ : 11];

  s->moment = moment;
  s->threads_ended = threads_ended;
  s->locals = tl_stats_live_locals();
  s->dicts = tl_stats_live_dicts();
  s->threads = tl_stats_live_threads();
  s->values = tl_stats_live_values();
  return s;
}

/* Every local of steps 1-3 counts its dictionaries: an initializer runs once per dictionary created
 * (a thread's first access), and the exit hook once per dictionary freed, told why. */
typedef struct {
  const char *name;
  int created;
  int freed[TL_FREED_LOCAL_DESTROYED + 1]; /* by TlFreeReason */
} Tally;

static Tally pool_tally = {.name = "request_context"}, counter_tally = {.name = "counters"},
             handoff_tally = {.name = "handoff"};

static int
count_created(TlLocal *local, void *user_data)
{
  __atomic_fetch_add(&((Tally *) user_data)->created, 1, __ATOMIC_RELAXED);
  return 0;
}

static void
count_freed(int reason, uint64_t thread_id, TlValue *contents, void *user_data)
{
  Tally *tally = user_data;

  if (reason >= TL_FREED_THREAD_EXIT && reason <= TL_FREED_LOCAL_DESTROYED)
    __atomic_fetch_add(&tally->freed[reason], 1, __ATOMIC_RELAXED);
}

static TlLocal *
new_counted_local(unsigned int flags, Tally *tally, TlExitHook hook)
{
  TlLocal *local = tl_local_new_full(flags, count_created, tally, NULL);

  tl_local_set_exit_hook(local, hook, tally, NULL);
  return local;
}

/* ------------------------------------------------------------------------------------------------
 * 1. Worker pool with per-request context
 * --------------------------------------------------------------------------------------------- */

#define POOL_WORKERS 4

typedef struct {
  const char *id, *user;
  int64_t deadline_ms; /* after the request arrived */
} Request;

static const Request requests[] = {
    {"req-101", "ada", 250},      {"req-102", "linus", 100},    {"req-103", "grace", 500},
    {"req-104", "ken", 250},      {"req-105", "barbara", 1000}, {"req-106", "dennis", 100},
    {"req-107", "margaret", 750}, {"req-108", "alan", 250},
};
#define N_REQUESTS (sizeof requests / sizeof requests[0])

/* What the handler saw, written by the worker that took the request, printed by main after join. */
typedef struct {
  uint64_t thread;
  int fresh; /* the worker's dictionary was empty when the request arrived */
  char id[32], user[32];
  int64_t deadline_ms;
} Outcome;

static TlLocal *request_context;
static Outcome outcomes[N_REQUESTS];
static pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;
static size_t queue_next;
static pthread_barrier_t pool_busy;

/* Deep in the call stack, with no context parameter threaded through: the local has it. */
static void
audit(Outcome *outcome)
{
  const char *id = "?", *user = "?";
  TlValue *value;

  if ((value = tl_local_peek(request_context, "request_id")) != NULL)
    tl_value_get_string(value, &id);
  if ((value = tl_local_peek(request_context, "user")) != NULL)
    tl_value_get_string(value, &user);
  outcome->deadline_ms = -1;
  if ((value = tl_local_peek(request_context, "deadline_ms")) != NULL)
    tl_value_get_int64(value, &outcome->deadline_ms);
  snprintf(outcome->id, sizeof outcome->id, "%s", id);
  snprintf(outcome->user, sizeof outcome->user, "%s", user);
}

static void
handle_request(const Request *request, Outcome *outcome, int first)
{
  size_t size = 1;

  tl_local_size(request_context, &size);
  outcome->fresh = size == 0;
  outcome->thread = tl_thread_id();
  tl_local_set_string(request_context, "request_id", request->id);
  tl_local_set_string(request_context, "user", request->user);
  tl_local_set_int64(request_context, "deadline_ms", request->deadline_ms);
  if (first) { /* main samples the live counts while every worker holds a request */
    pthread_barrier_wait(&pool_busy);
    pthread_barrier_wait(&pool_busy);
  }
  audit(outcome);
  tl_local_clear(request_context); /* as a `finally`: the next request starts from nothing */
}

static void *
pool_worker(void *arg)
{
  size_t i;
  int first = 1;

  for (;;) {
    pthread_mutex_lock(&queue_lock);
    i = queue_next++;
    pthread_mutex_unlock(&queue_lock);
    if (i >= N_REQUESTS)
      break;
    handle_request(&requests[i], &outcomes[i], first);
    first = 0;
  }
  return arg; /* the thread's dictionary is freed as it exits */
}

static void
step_pool(void)
{
  pthread_t threads[POOL_WORKERS];
  size_t i, right = 0, fresh = 0;

  section(1, "Worker pool with per-request context");
  printf(
      "   %zu requests on %d worker threads; a function deep in each handler reads the request's\n"
      "   context from one shared local, where each worker has its own dictionary\n\n",
      N_REQUESTS, POOL_WORKERS);
  pthread_barrier_init(&pool_busy, NULL, POOL_WORKERS + 1);
  for (i = 0; i < POOL_WORKERS; i++)
    pthread_create(&threads[i], NULL, pool_worker, NULL);
  pthread_barrier_wait(&pool_busy);
  sample("pool: 4 workers, each mid-request", 0);
  pthread_barrier_wait(&pool_busy);
  for (i = 0; i < POOL_WORKERS; i++)
    pthread_join(threads[i], NULL);
  sample("pool: workers ended", 1);
  pthread_barrier_destroy(&pool_busy);

  printf("   %-9s %-9s %8s  %6s   %s\n", "request", "user", "deadline", "thread",
         "read deep in the handler");
  for (i = 0; i < N_REQUESTS; i++) {
    const Outcome *o = &outcomes[i];
    int ok = strcmp(o->id, requests[i].id) == 0 && strcmp(o->user, requests[i].user) == 0 &&
             o->deadline_ms == requests[i].deadline_ms;

    printf("   %-9s %-9s %5" PRId64 " ms  %6" PRIu64 "   %s, %s, %" PRId64 " ms%s\n",
           requests[i].id, requests[i].user, requests[i].deadline_ms, o->thread, o->id, o->user,
           o->deadline_ms, ok ? "" : "  <- wrong");
    right += ok;
    fresh += o->fresh;
  }
  check(right == N_REQUESTS && fresh == N_REQUESTS,
        "%zu/%zu handlers read their own request's context; %zu/%zu began with an empty dict",
        right, N_REQUESTS, fresh, N_REQUESTS);
}

/* ------------------------------------------------------------------------------------------------
 * 2. Per-thread counters, summed across threads
 * --------------------------------------------------------------------------------------------- */

#define COUNTER_THREADS 4

static TlLocal *counters;
static pthread_barrier_t all_counted;
static int64_t folded_requests, folded_errors; /* from exit hooks, as the threads end */

static void
count(const char *name)
{
  int64_t n = 0;
  TlValue *current = tl_local_peek(counters, name);

  if (current != NULL)
    tl_value_get_int64(current, &n);
  tl_local_set_int64(counters, name, n + 1);
}

static void *
counter_thread(void *arg)
{
  int worker = (int) (intptr_t) arg, events = 1000 * (worker + 1), i;

  tl_local_set_int64(counters, "worker", worker);
  for (i = 0; i < events; i++)
    count(i % 10 == 9 ? "errors" : "requests");
  pthread_barrier_wait(&all_counted); /* the main thread visits while we are all alive */
  pthread_barrier_wait(&all_counted);
  return NULL;
}

typedef struct {
  uint64_t thread;
  int64_t worker, requests, errors;
} CounterRow;

typedef struct {
  CounterRow rows[COUNTER_THREADS];
  size_t n_rows;
  int unexpected; /* a thread or key this step did not create */
} CounterVisit;

static int
collect(uint64_t thread_id, const char *key, TlValue *value, void *payload)
{
  CounterVisit *visit = payload;
  CounterRow *row = NULL;
  int64_t n = 0;
  size_t i;

  for (i = 0; i < visit->n_rows && row == NULL; i++)
    if (visit->rows[i].thread == thread_id)
      row = &visit->rows[i];
  if (row == NULL && visit->n_rows < COUNTER_THREADS) {
    row = &visit->rows[visit->n_rows++];
    row->thread = thread_id;
  }
  if (row == NULL || tl_value_get_int64(value, &n) != TL_OK) {
    visit->unexpected = 1;
    return 0;
  }
  if (strcmp(key, "worker") == 0)
    row->worker = n;
  else if (strcmp(key, "requests") == 0)
    row->requests = n;
  else if (strcmp(key, "errors") == 0)
    row->errors = n;
  else
    visit->unexpected = 1;
  return 0;
}

/* Runs on each counting thread as it exits, with a snapshot of what it counted. */
static void
fold_counts(int reason, uint64_t thread_id, TlValue *contents, void *user_data)
{
  TlValue *value;
  int64_t n;

  if (tl_value_lookup(contents, "requests", &value) == TL_OK) {
    if (tl_value_get_int64(value, &n) == TL_OK)
      __atomic_fetch_add(&folded_requests, n, __ATOMIC_RELAXED);
    tl_value_unref(value);
  }
  if (tl_value_lookup(contents, "errors", &value) == TL_OK) {
    if (tl_value_get_int64(value, &n) == TL_OK)
      __atomic_fetch_add(&folded_errors, n, __ATOMIC_RELAXED);
    tl_value_unref(value);
  }
  count_freed(reason, thread_id, contents, user_data);
}

static int
by_worker(const void *a, const void *b)
{
  const CounterRow *x = a, *y = b;

  return (x->worker > y->worker) - (x->worker < y->worker);
}

static void
step_counters(void)
{
  pthread_t threads[COUNTER_THREADS];
  CounterVisit visit = {0};
  int64_t sum_requests = 0, sum_errors = 0, expected_events = 0;
  size_t i;
  int status;

  section(2, "Per-thread counters, summed across threads");
  printf(
      "   %d threads count into their own dictionary (no lock, no shared cache line); the main\n"
      "   thread sums them with tl_local_visit(), and an exit hook folds in each thread's counts\n"
      "   as it ends\n\n",
      COUNTER_THREADS);
  pthread_barrier_init(&all_counted, NULL, COUNTER_THREADS + 1);
  for (i = 0; i < COUNTER_THREADS; i++) {
    pthread_create(&threads[i], NULL, counter_thread, (void *) (intptr_t) i);
    expected_events += 1000 * (int64_t) (i + 1);
  }
  pthread_barrier_wait(&all_counted);
  sample("counters: 4 threads, counts done", 0);
  status = tl_local_visit(counters, NULL, collect, &visit);
  pthread_barrier_wait(&all_counted);
  for (i = 0; i < COUNTER_THREADS; i++)
    pthread_join(threads[i], NULL);
  sample("counters: threads ended", 1);
  pthread_barrier_destroy(&all_counted);

  qsort(visit.rows, visit.n_rows, sizeof visit.rows[0], by_worker);
  printf("   %-6s  %6s  %8s  %6s\n", "worker", "thread", "requests", "errors");
  for (i = 0; i < visit.n_rows; i++) {
    printf("   %6" PRId64 "  %6" PRIu64 "  %8" PRId64 "  %6" PRId64 "\n", visit.rows[i].worker,
           visit.rows[i].thread, visit.rows[i].requests, visit.rows[i].errors);
    sum_requests += visit.rows[i].requests;
    sum_errors += visit.rows[i].errors;
  }
  printf("   %-6s  %6s  %8" PRId64 "  %6" PRId64 "   (visit, all threads alive)\n", "sum", "",
         sum_requests, sum_errors);
  printf("   %-6s  %6s  %8" PRId64 "  %6" PRId64 "   (exit hooks, after the threads ended)\n",
         "folded", "", folded_requests, folded_errors);
  check(status == TL_OK && !visit.unexpected && visit.n_rows == COUNTER_THREADS &&
            sum_requests + sum_errors == expected_events && sum_errors == expected_events / 10 &&
            folded_requests == sum_requests && folded_errors == sum_errors,
        "the visit summed %" PRId64 " events of %zu threads (expected %" PRId64
        "); the exit hooks agree",
        sum_requests + sum_errors, visit.n_rows, expected_events);
}

/* ------------------------------------------------------------------------------------------------
 * 3. Context handed from a producer to a worker
 * --------------------------------------------------------------------------------------------- */

#define N_HANDOFF_KEYS 4

static const char *const handoff_keys[N_HANDOFF_KEYS] = {"request_id", "user", "deadline_ms",
                                                         "trace"};

/* A native object in the context: it travels by reference, never copied. */
typedef struct {
  char text[32];
} Trace;

static int traces_freed;

static void
trace_free(void *trace)
{
  free(trace);
  __atomic_fetch_add(&traces_freed, 1, __ATOMIC_RELAXED);
}

typedef struct {
  char producer[N_HANDOFF_KEYS][64], worker[N_HANDOFF_KEYS][64];
  int equal[N_HANDOFF_KEYS]; /* the worker's value is the value the snapshot carried */
  int applied, same_trace;
  char snapshot_text[160];
} HandoffReport;

static TlLocal *handoff;
static HandoffReport report;
static pthread_mutex_t mailbox_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t mailbox_filled = PTHREAD_COND_INITIALIZER;
static TlValue *mailbox; /* one snapshot, owned by whoever holds the mailbox */
static pthread_barrier_t handed_off;
static Trace *produced_trace;

/* How a value reads, for the table: GVariant text, or the trace a pointer value points at. */
static void
describe(TlValue *value, char *out, size_t size)
{
  void *pointer;
  char *text;

  if (value == NULL)
    snprintf(out, size, "(absent)");
  else if (tl_value_get_pointer(value, &pointer) == TL_OK)
    snprintf(out, size, "Trace * \"%s\"", ((Trace *) pointer)->text);
  else if ((text = tl_value_print(value, 1)) != NULL) {
    snprintf(out, size, "%s", text);
    tl_free(text);
  }
}

static void *
producer(void *arg)
{
  TlValue *snapshot = NULL;
  char *text;
  size_t k;

  produced_trace = calloc(1, sizeof *produced_trace);
  snprintf(produced_trace->text, sizeof produced_trace->text, "queued");
  tl_local_set_string(handoff, "request_id", "req-200");
  tl_local_set_string(handoff, "user", "grace");
  tl_local_set_int64(handoff, "deadline_ms", 1000);
  tl_local_set_take(handoff, "trace", tl_value_new_pointer(produced_trace, trace_free));
  for (k = 0; k < N_HANDOFF_KEYS; k++)
    describe(tl_local_peek(handoff, handoff_keys[k]), report.producer[k],
             sizeof report.producer[k]);

  tl_local_snapshot(handoff, &snapshot);
  if ((text = tl_value_print(snapshot, 1)) != NULL) {
    snprintf(report.snapshot_text, sizeof report.snapshot_text, "%s", text);
    tl_free(text);
  }
  pthread_mutex_lock(&mailbox_lock);
  mailbox = snapshot; /* the worker takes over this reference */
  pthread_cond_signal(&mailbox_filled);
  pthread_mutex_unlock(&mailbox_lock);
  pthread_barrier_wait(&handed_off); /* both alive while main samples the counts */
  pthread_barrier_wait(&handed_off);
  return arg;
}

static void *
consumer(void *arg)
{
  TlValue *snapshot, *carried, *value;
  void *pointer = NULL;
  size_t k;

  tl_local_set_string(handoff, "request_id", "stale, from an earlier task");
  pthread_mutex_lock(&mailbox_lock);
  while (mailbox == NULL)
    pthread_cond_wait(&mailbox_filled, &mailbox_lock);
  snapshot = mailbox;
  mailbox = NULL;
  pthread_mutex_unlock(&mailbox_lock);

  report.applied = tl_local_apply(handoff, snapshot, TL_APPLY_REPLACE) == TL_OK;
  if ((value = tl_local_peek(handoff, "trace")) != NULL &&
      tl_value_get_pointer(value, &pointer) == TL_OK && pointer != NULL) {
    report.same_trace = pointer == (void *) produced_trace;
    snprintf(((Trace *) pointer)->text, sizeof((Trace *) pointer)->text, "queued, handled");
  }
  for (k = 0; k < N_HANDOFF_KEYS; k++) {
    value = tl_local_peek(handoff, handoff_keys[k]);
    describe(value, report.worker[k], sizeof report.worker[k]);
    if (tl_value_lookup(snapshot, handoff_keys[k], &carried) == TL_OK) {
      report.equal[k] = value != NULL && tl_value_equal(carried, value) == 1;
      tl_value_unref(carried);
    }
  }
  tl_value_unref(snapshot);
  pthread_barrier_wait(&handed_off);
  pthread_barrier_wait(&handed_off);
  return arg;
}

static void
step_handoff(void)
{
  pthread_t threads[2];
  size_t k, equal = 0;

  section(3, "Context handed from a producer to a worker");
  printf(
      "   the producer thread sets a request's context, takes a snapshot and queues it; the\n"
      "   worker applies it over its own dictionary (TL_APPLY_REPLACE drops its stale keys)\n\n");
  pthread_barrier_init(&handed_off, NULL, 3);
  pthread_create(&threads[0], NULL, consumer, NULL);
  pthread_create(&threads[1], NULL, producer, NULL);
  pthread_barrier_wait(&handed_off);
  sample("hand-off: producer and worker alive", 0);
  pthread_barrier_wait(&handed_off);
  pthread_join(threads[0], NULL);
  pthread_join(threads[1], NULL);
  sample("hand-off: both ended", 1);
  pthread_barrier_destroy(&handed_off);

  printf("   snapshot: %s\n\n", report.snapshot_text);
  printf("   %-12s %-24s %s\n", "key", "producer set", "worker read after apply");
  for (k = 0; k < N_HANDOFF_KEYS; k++) {
    printf("   %-12s %-24s %s%s\n", handoff_keys[k], report.producer[k], report.worker[k],
           report.equal[k] ? "" : "  <- differs");
    equal += report.equal[k];
  }
  printf("   (the worker wrote \"handled\" into the Trace it received: the producer's object)\n");
  check(report.applied && equal == N_HANDOFF_KEYS && report.same_trace && traces_freed == 1,
        "%zu/%d values equal after the hand-off; the one Trace was freed once, by its last holder",
        equal, N_HANDOFF_KEYS);
}

/* ------------------------------------------------------------------------------------------------
 * 4. One named local from every language
 * --------------------------------------------------------------------------------------------- */

#define NAMED_LOCAL "demo.request"

typedef struct {
  const char *language, *request_id;
  /* The child's program and its first arguments, tab-separated (the helper, the local's name and
   * the request id follow); NULL when it was not built, and skipped says why. */
  const char *command, *skipped;
  int ran; /* 0 when the language could not run at all: why says why */
  char c_read[128], c_reply[128], read_back[128], why[256];
} LanguageRow;

/* C in this process, on a thread of its own: the helper is linked in, not loaded. */
static void *
c_language(void *arg)
{
  LanguageRow *row = arg;
  TlLocal *ctx = tl_local_open(NAMED_LOCAL);
  const char *reply = "(nothing)";
  TlValue *value;
  int status;

  tl_local_set_string(ctx, "request_id", row->request_id);
  status = tldemo_acknowledge(NAMED_LOCAL, row->c_read, sizeof row->c_read, row->c_reply,
                              sizeof row->c_reply);
  if (status != TL_OK)
    snprintf(row->why, sizeof row->why, "the C helper failed: %s", tl_status_name(status));
  if ((value = tl_local_peek(ctx, "reply")) != NULL)
    tl_value_get_string(value, &reply);
  snprintf(row->read_back, sizeof row->read_back, "%s", reply);
  row->ran = status == TL_OK;
  tl_local_unref(ctx);
  return NULL; /* this thread's dictionary of the named local is freed as it exits */
}

/* The environment of a child: ours, with the binding's variables replaced. NODE_PATH: where this
 * build's koffi is installed (bindings/node/setup.sh --into BUILD/bindings/node). @return a new
 * array of new strings, to free with free_strv(). */
static char **
child_environment(void)
{
  static const char *const ours[] = {
      "TLSLOCAL_LIBRARY=" TL_DEMO_LIBRARY,
      "PYTHONPATH=" TL_DEMO_SOURCE_ROOT "/bindings/python",
      "PYTHONDONTWRITEBYTECODE=1", /* no __pycache__ in the source tree */
      "NODE_PATH=" TL_DEMO_NODE_MODULES,
  };
  const size_t count = sizeof ours / sizeof ours[0];
  size_t n = 0, i, k;
  char **env;

  while (environ[n] != NULL)
    n++;
  env = calloc(n + count + 1, sizeof *env);
  for (i = k = 0; i < n; i++)
    if (strncmp(environ[i], "TLSLOCAL_LIBRARY=", 17) != 0 &&
        strncmp(environ[i], "PYTHONPATH=", 11) != 0 &&
        strncmp(environ[i], "PYTHONDONTWRITEBYTECODE=", 24) != 0 &&
        strncmp(environ[i], "NODE_PATH=", 10) != 0)
      env[k++] = strdup(environ[i]);
  for (i = 0; i < count; i++)
    env[k++] = strdup(ours[i]);
  return env;
}

static void
free_strv(char **strings)
{
  size_t i;

  for (i = 0; strings[i] != NULL; i++)
    free(strings[i]);
  free(strings);
}

/* Copy tab-separated field index of line into out ("" if line has fewer fields). */
static void
field(const char *line, int index, char *out, size_t size)
{
  size_t length;

  while (index-- > 0 && line != NULL)
    if ((line = strchr(line, '\t')) != NULL)
      line++;
  length = line == NULL ? 0 : strcspn(line, "\t\r");
  snprintf(out, size, "%.*s", (int) length, line == NULL ? "" : line);
}

/* Run argv (argv[0] looked up in PATH unless it is a path) with the binding's environment, and fill
 * row from its "RESULT\twrote\tc_read\tc_reply\tread_back" line, or say in row->why what went
 * wrong. */
static void
run_language(LanguageRow *row, char *const argv[])
{
  char output[8192], *line, *next, *last_line = NULL, **env = child_environment();
  posix_spawn_file_actions_t actions;
  int pipe_fds[2], error, status = 0;
  size_t used = 0;
  ssize_t got;
  pid_t pid;

  if (pipe(pipe_fds) != 0) {
    snprintf(row->why, sizeof row->why, "pipe: %s", strerror(errno));
    free_strv(env);
    return;
  }
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDERR_FILENO);
  posix_spawn_file_actions_addclose(&actions, pipe_fds[0]);
  error = posix_spawnp(&pid, argv[0], &actions, NULL, argv, env);
  posix_spawn_file_actions_destroy(&actions);
  free_strv(env);
  close(pipe_fds[1]);
  if (error != 0) {
    snprintf(row->why, sizeof row->why, "cannot run %s: %s (./run demo installs it)", argv[0],
             strerror(error));
    close(pipe_fds[0]);
    return;
  }
  while ((got = read(pipe_fds[0], output + used, sizeof output - 1 - used)) > 0 ||
         (got < 0 && errno == EINTR))
    used += got > 0 ? (size_t) got : 0;
  close(pipe_fds[0]);
  output[used] = '\0';
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
    ;

  for (line = strtok_r(output, "\n", &next); line != NULL; line = strtok_r(NULL, "\n", &next)) {
    if (strncmp(line, "RESULT\t", 7) == 0) {
      field(line, 2, row->c_read, sizeof row->c_read);
      field(line, 3, row->c_reply, sizeof row->c_reply);
      field(line, 4, row->read_back, sizeof row->read_back);
      row->ran = 1;
    } else if (strncmp(line, "ERROR\t", 6) == 0) {
      field(line, 1, row->why, sizeof row->why);
    }
    if (line[strspn(line, " \t\r")] != '\0')
      last_line = line; /* the last line with something on it, for an unexpected failure */
  }
  if (row->ran && WIFEXITED(status) && WEXITSTATUS(status) == 0)
    return;
  row->ran = 0;
  if (row->why[0] == '\0' && last_line != NULL)
    field(last_line, 0, row->why, sizeof row->why);
  if (row->why[0] == '\0')
    snprintf(row->why, sizeof row->why, "%s ended with status %d and printed nothing", argv[0],
             WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

/* Run row's command with the helper, the local's name and the request id after it. */
static void
run_row(LanguageRow *row)
{
  char *words = strdup(row->command), *argv[16], *next;
  size_t argc = 0;

  for (argv[argc] = strtok_r(words, "\t", &next); argv[argc] != NULL && argc < 12;)
    argv[++argc] = strtok_r(NULL, "\t", &next);
  argv[argc++] = TL_DEMO_HELPER;
  argv[argc++] = NAMED_LOCAL;
  argv[argc++] = (char *) row->request_id;
  argv[argc] = NULL;
  run_language(row, argv);
  free(words);
}

static void
step_languages(void)
{
  /* C runs in this process; the others as child processes, each through its binding. The rows
   * after Node come from the bindings' builds (demo-languages.h, made by meson). */
  LanguageRow rows[] = {
      {.language = "C", .request_id = "c-300"},
      {.language = "Python", .request_id = "py-301"},
      {.language = "Node",
       .request_id = "node-302",
       .command = TL_DEMO_NODE "\t" TL_DEMO_SCRIPT_DIR "/demo-node.js\t" TL_DEMO_SOURCE_ROOT
                               "/bindings/node"},
      TL_DEMO_OTHER_LANGUAGES,
  };
  const size_t n_rows = sizeof rows / sizeof rows[0];
  char *other_python = getenv("TLSLOCAL_DEMO_PYTHON");
  char python[1024];
  pthread_t thread;
  size_t i;

  snprintf(python, sizeof python, "%s\t%s",
           other_python != NULL && *other_python != '\0' ? other_python : TL_DEMO_PYTHON,
           TL_DEMO_SCRIPT_DIR "/demo-python.py");
  rows[1].command = python;
  section(4, "One named local, \"" NAMED_LOCAL "\", from every language");
  printf("   each language sets request_id on its thread; a C helper library it calls on that\n"
         "   thread reads it (tl_local_open + tl_local_peek) and answers reply = \"ack <id>\",\n"
         "   which the language reads back (all but C run as child processes)\n\n");
  pthread_create(&thread, NULL, c_language, &rows[0]);
  pthread_join(thread, NULL);
  sample("named local: C's thread ended", 1);
  for (i = 1; i < n_rows; i++) {
    if (TL_DEMO_SANITIZED && i <= 2) /* the bindings' rows say for themselves */
      rows[i].skipped = "not run: in a sanitizer build the library cannot be loaded into an "
                        "uninstrumented interpreter";
    if (rows[i].skipped != NULL)
      snprintf(rows[i].why, sizeof rows[i].why, "%s", rows[i].skipped);
    else
      run_row(&rows[i]);
  }

  printf("   %-9s %-17s %-10s %-14s %s\n", "language", "wrote request_id", "C read",
         "C wrote reply", "read back");
  for (i = 0; i < n_rows; i++) {
    if (rows[i].ran)
      printf("   %-9s %-17s %-10s %-14s %s\n", rows[i].language, rows[i].request_id, rows[i].c_read,
             rows[i].c_reply, rows[i].read_back);
    else
      printf("   %-9s %-17s %s\n", rows[i].language, rows[i].request_id,
             rows[i].skipped != NULL ? "(skipped, see below)" : "(FAILED, see below)");
  }
  for (i = 0; i < n_rows; i++) {
    char expected_reply[160];

    snprintf(expected_reply, sizeof expected_reply, "ack %s", rows[i].request_id);
    if (!rows[i].ran)
      check(rows[i].skipped != NULL ? CHECK_SKIPPED : CHECK_FAILED, "%s: %s", rows[i].language,
            rows[i].why);
    else
      check(strcmp(rows[i].c_read, rows[i].request_id) == 0 &&
                strcmp(rows[i].c_reply, expected_reply) == 0 &&
                strcmp(rows[i].read_back, expected_reply) == 0,
            "%s: the helper read what %s wrote, and %s read back the helper's reply",
            rows[i].language, rows[i].language, rows[i].language);
  }
}

/* ------------------------------------------------------------------------------------------------
 * 5. Live and freed counts
 * --------------------------------------------------------------------------------------------- */

static void
step_counts(void)
{
  const Tally *tallies[] = {&pool_tally, &counter_tally, &handoff_tally};
  size_t i, dicts_left = 0, leaked = 0;
  const Sample *end;

  section(5, "Every dictionary released when its thread ended");
  tl_local_unref(request_context);
  tl_local_unref(counters);
  tl_local_unref(handoff);
  tl_local_unregister(NAMED_LOCAL);
  tl_thread_clear(); /* the main thread's exit runs no cleanup: let a leak checker see it clean */
  end = sample("end: locals dropped, main thread cleared", 1);

  printf("   live counts (tl_stats_live_*):\n");
  printf("   %-41s  %6s  %6s  %7s  %6s\n", "moment", "locals", "dicts", "threads", "values");
  for (i = 0; i < n_samples; i++) {
    printf("   %-41s  %6zu  %6zu  %7zu  %6zu\n", timeline[i].moment, timeline[i].locals,
           timeline[i].dicts, timeline[i].threads, timeline[i].values);
    if (timeline[i].threads_ended)
      dicts_left += timeline[i].dicts;
  }
  printf("\n   dictionaries per local (counted by an initializer and an exit hook):\n");
  printf("   %-16s  %7s  %20s  %15s\n", "local", "created", "freed at thread exit",
         "freed otherwise");
  for (i = 0; i < sizeof tallies / sizeof tallies[0]; i++) {
    int otherwise =
        tallies[i]->freed[TL_FREED_THREAD_CLEAR] + tallies[i]->freed[TL_FREED_LOCAL_DESTROYED];

    printf("   %-16s  %7d  %20d  %15d\n", tallies[i]->name, tallies[i]->created,
           tallies[i]->freed[TL_FREED_THREAD_EXIT], otherwise);
    leaked += tallies[i]->created != tallies[i]->freed[TL_FREED_THREAD_EXIT] || otherwise != 0;
  }
  check(dicts_left == 0 && leaked == 0 && end->locals == 0 && end->dicts == 0 &&
            end->threads == 0 && end->values == 0,
        "no dictionary outlived its thread; every count is back to 0");
}

int
main(void)
{
  struct timespec start, stop;
  int i, passed = 0, failed = 0, skipped = 0;

  clock_gettime(CLOCK_MONOTONIC, &start);
  setvbuf(stdout, NULL, _IOLBF, 0); /* line by line, also into a pipe: each step shows as it ends */
  printf("tlslocal-demo: libtlslocal %s, per-thread dictionaries for every language\n",
         tl_version());
  sample("start", 1);
  request_context = new_counted_local(TL_LOCAL_DEFAULT, &pool_tally, count_freed);
  counters = new_counted_local(TL_LOCAL_VISITABLE, &counter_tally, fold_counts);
  handoff = new_counted_local(TL_LOCAL_DEFAULT, &handoff_tally, count_freed);

  step_pool();
  step_counters();
  step_handoff();
  step_languages();
  step_counts();

  clock_gettime(CLOCK_MONOTONIC, &stop);
  for (i = 0; i < n_checks; i++) {
    passed += check_states[i] == CHECK_PASSED;
    failed += check_states[i] == CHECK_FAILED;
    skipped += check_states[i] == CHECK_SKIPPED;
  }
  printf("\n");
  if (failed == 0)
    printf("all %d checks passed", passed);
  else
    printf("%d of %d checks FAILED", failed, n_checks);
  if (skipped != 0)
    printf(", %d skipped (why: above)", skipped);
  printf(" in %.2f s\n",
         (double) (stop.tv_sec - start.tv_sec) + (stop.tv_nsec - start.tv_nsec) / 1e9);
  return failed == 0 ? 0 : 1;
}
