/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* An initializer with stored arguments, replayed in every thread: the C counterpart of
 *     class Connection(threading.local):
 *         def __init__(self, host, port, timeout): ...
 *     conn = Connection('db.local', 5432, 2.5)
 * where each thread gets its own connection state built from the same arguments.
 * Build: cc init-with-args.c $(pkg-config --cflags --libs tlslocal) -pthread */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>

#include <tlslocal.h>

static TlLocal *connection;

/* A plain C function: libffi calls it as fn(local, host, port, timeout) in each thread. */
static int
connection_init(TlLocal *local, const char *host, int32_t port, double timeout)
{
  TlValue *value;
  char address[256];

  snprintf(address, sizeof address, "%s:%" PRId32, host, port);
  value = tl_value_new_string(address);
  tl_local_set(local, "address", value);
  tl_value_unref(value);
  value = tl_value_new_double(timeout);
  tl_local_set(local, "timeout", value);
  tl_value_unref(value);
  value = tl_value_new_uint64(tl_thread_id());
  tl_local_set(local, "opened_by", value);
  tl_value_unref(value);
  return 0;
}

static void *
worker(void *arg)
{
  TlValue *snapshot;
  char *text;

  /* The first access runs connection_init in this thread. */
  tl_local_snapshot(connection, &snapshot);
  text = tl_value_print(snapshot, 0);
  printf("thread %-2" PRIu64 " %s\n", tl_thread_id(), text);
  tl_free(text);
  tl_value_unref(snapshot);
  return arg;
}

int
main(void)
{
  TlValue *args;
  pthread_t threads[3];
  int i;

  tl_value_parse("(sid)", "('db.local', 5432, 2.5)", &args);
  connection = tl_local_new_with_args(TL_LOCAL_DEFAULT, (TlCallback) connection_init, 1, args);
  tl_value_unref(args); /* the local keeps its own reference */
  for (i = 0; i < 3; i++)
    pthread_create(&threads[i], NULL, worker, NULL);
  for (i = 0; i < 3; i++)
    pthread_join(threads[i], NULL);
  tl_local_unref(connection);
  return 0;
}
