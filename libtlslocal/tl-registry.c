/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The registry: one process-wide lock for the slow paths only (ids, entry creation, thread exit,
 * local destruction, visits, named locals), the local ids and the list of threads with state.
 * Never freed. */
#include <pthread.h>

#include "tl-error-private.h"
#include "tl-memory-private.h"
#include "tl-registry-private.h"
#include "tl-thread-private.h"

static pthread_mutex_t registry_mutex = PTHREAD_MUTEX_INITIALIZER;

/* Released ids, reused before new ones, lowest first (a min-heap): a thread's slot table is as
 * long as the highest id it touches, so new locals take the lowest ids free, whatever order the
 * old ones were destroyed in. Room for every id ever handed out is made when it is handed out, so
 * a release never fails. */
static guint32 *free_ids;
static guint32 n_free_ids, free_ids_capacity;
static guint32 next_id;

static TlThread *threads;

/* The fork handlers take the lock: installed before it is first taken. */
static void
registry_init_once(void)
{
  static pthread_once_t once = PTHREAD_ONCE_INIT;

  pthread_once(&once, _tl_fork_install_handlers);
}

void
_tl_registry_lock(void)
{
  registry_init_once();
  pthread_mutex_lock(&registry_mutex);
}

void
_tl_registry_unlock(void)
{
  pthread_mutex_unlock(&registry_mutex);
}

int
_tl_registry_id_acquire(guint32 *out_id)
{
  guint32 i = 0, last;

  if (n_free_ids > 0) {
    *out_id = free_ids[0];
    last = free_ids[--n_free_ids];
    for (;;) { /* sift the last id down from the root */
      guint32 child = 2 * i + 1;

      if (child >= n_free_ids)
        break;
      if (child + 1 < n_free_ids && free_ids[child + 1] < free_ids[child])
        child++;
      if (last <= free_ids[child])
        break;
      free_ids[i] = free_ids[child];
      i = child;
    }
    free_ids[i] = last;
    return TL_OK;
  }
  if (next_id == free_ids_capacity) {
    guint32 capacity = MAX(64, free_ids_capacity * 2);
    guint32 *grown = capacity > free_ids_capacity ? _tl_renew(guint32, free_ids, capacity) : NULL;

    if (grown == NULL)
      return _tl_fail(TL_ERR_NO_MEMORY, "out of memory making a local id");
    free_ids = grown;
    free_ids_capacity = capacity;
  }
  *out_id = next_id++;
  return TL_OK;
}

void
_tl_registry_id_release(guint32 id)
{
  guint32 i = n_free_ids++;

  for (; i > 0 && free_ids[(i - 1) / 2] > id; i = (i - 1) / 2) /* sift up */
    free_ids[i] = free_ids[(i - 1) / 2];
  free_ids[i] = id;
}

void
_tl_registry_thread_add(TlThread *thread)
{
  thread->prev = NULL;
  thread->next = threads;
  if (threads != NULL)
    threads->prev = thread;
  threads = thread;
  TL_STAT_ADD(_tl_stats_threads, 1);
}

void
_tl_registry_thread_remove(TlThread *thread)
{
  if (thread->prev != NULL)
    thread->prev->next = thread->next;
  else
    threads = thread->next;
  if (thread->next != NULL)
    thread->next->prev = thread->prev;
  thread->prev = thread->next = NULL;
  TL_STAT_ADD(_tl_stats_threads, -1);
}

TlThread *
_tl_registry_threads(void)
{
  return threads;
}
