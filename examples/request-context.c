/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Each worker thread keeps its current request's context in one shared local: the same handle,
 * a separate dictionary per thread, freed when the thread ends. Build:
 *   cc request-context.c $(pkg-config --cflags --libs tlslocal) -pthread */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>

#include <tlslocal.h>

static TlLocal *request_context;

/* Deep inside the call stack, with no context parameter threaded through. */
static void
log_line(const char *message)
{
  const char *request_id = "-", *user = "-";
  TlValue *value;

  if ((value = tl_local_peek(request_context, "request_id")) != NULL)
    tl_value_get_string(value, &request_id);
  if ((value = tl_local_peek(request_context, "user")) != NULL)
    tl_value_get_string(value, &user);
  printf("[%-6s %-5s] %s\n", request_id, user, message);
}

static void
handle_request(const char *request_id, const char *user, int64_t deadline_ms)
{
  TlValue *id = tl_value_new_string(request_id), *who = tl_value_new_string(user);
  TlValue *deadline = tl_value_new_int64(deadline_ms);

  tl_local_set(request_context, "request_id", id);
  tl_local_set(request_context, "user", who);
  tl_local_set(request_context, "deadline_ms", deadline);
  tl_value_unref(id);
  tl_value_unref(who);
  tl_value_unref(deadline);
  log_line("handling");
}

static void *
worker(void *arg)
{
  const char **request = arg;

  handle_request(request[0], request[1], 250);
  return NULL; /* this thread's dictionary is freed as the thread exits */
}

int
main(void)
{
  const char *requests[][2] = {{"req-1", "ada"}, {"req-2", "linus"}, {"req-3", "grace"}};
  pthread_t threads[3];
  size_t i;

  request_context = tl_local_new();
  for (i = 0; i < 3; i++)
    pthread_create(&threads[i], NULL, worker, (void *) requests[i]);
  for (i = 0; i < 3; i++)
    pthread_join(threads[i], NULL);
  log_line("main thread: no request of its own");
  printf("dictionaries still alive after the workers ended: %zu\n", tl_stats_live_dicts());
  tl_local_unref(request_context);
  tl_thread_clear();
  return 0;
}
