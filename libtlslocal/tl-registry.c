/* The registry: one process-wide lock for the slow paths only (ids, entry creation, thread exit,
 * local destruction), the list of threads with state, and the counts. Never freed. */
#include <pthread.h>

#include "tl-private.h"

static pthread_mutex_t registry_mutex = PTHREAD_MUTEX_INITIALIZER;

/* Released ids, reused before new ones so that slot arrays stay as short as the live local count. */
static guint32 *free_ids;
static guint32 n_free_ids, free_ids_capacity;
static guint32 next_id;

static TlThread *threads;

gsize _tl_stats_locals, _tl_stats_dicts, _tl_stats_threads;

void
_tl_registry_lock(void)
{
  pthread_mutex_lock(&registry_mutex);
}

void
_tl_registry_unlock(void)
{
  pthread_mutex_unlock(&registry_mutex);
}

guint32
_tl_registry_id_acquire(void)
{
  if (n_free_ids > 0)
    return free_ids[--n_free_ids];
  return next_id++;
}

void
_tl_registry_id_release(guint32 id)
{
  if (n_free_ids == free_ids_capacity) {
    free_ids_capacity = MAX(64, free_ids_capacity * 2);
    free_ids = g_renew(guint32, free_ids, free_ids_capacity);
  }
  free_ids[n_free_ids++] = id;
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

size_t
tl_stats_live_locals(void)
{
  return __atomic_load_n(&_tl_stats_locals, __ATOMIC_RELAXED);
}

size_t
tl_stats_live_dicts(void)
{
  return __atomic_load_n(&_tl_stats_dicts, __ATOMIC_RELAXED);
}

size_t
tl_stats_live_threads(void)
{
  return __atomic_load_n(&_tl_stats_threads, __ATOMIC_RELAXED);
}
