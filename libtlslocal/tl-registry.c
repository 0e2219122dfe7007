/* The registry: one process-wide lock for the slow paths only (ids, entry creation, thread exit,
 * local destruction, visits, named locals), the list of threads with state, the counts, and the
 * fork handlers. Never freed. */
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
  _tl_registry_init_once();
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

/* Values are made and freed on every thread: one shared counter would be a contended cache line,
 * so each thread adds to one of several padded stripes, picked by its id. */
#define TL_VALUE_COUNT_STRIPES 16
static struct {
  gssize count;
  char padding[64 - sizeof(gssize)];
} value_counts[TL_VALUE_COUNT_STRIPES];

void
_tl_stats_values_add(int delta)
{
  __atomic_fetch_add(&value_counts[_tl_thread_id() % TL_VALUE_COUNT_STRIPES].count, delta,
                     __ATOMIC_RELAXED);
}

size_t
tl_stats_live_values(void)
{
  gssize total = 0;
  int i;

  for (i = 0; i < TL_VALUE_COUNT_STRIPES; i++)
    total += __atomic_load_n(&value_counts[i].count, __ATOMIC_RELAXED);
  return total > 0 ? (size_t) total : 0;
}

/* ---- fork ---- */

static void
fork_prepare(void)
{
  pthread_mutex_lock(&registry_mutex);
}

static void
fork_parent(void)
{
  pthread_mutex_unlock(&registry_mutex);
}

/* The child has one thread: the forking one. Its lock may have been taken by the forking thread
 * in fork_prepare only (so no other thread was inside a critical section); make a fresh one, then
 * release every other thread's dictionaries, whose threads do not exist here. */
static void
fork_child(void)
{
  TlThread *thread, *next;
  TlEntry *detached = NULL;
  TlThread *gone = NULL;

  pthread_mutex_init(&registry_mutex, NULL);
  pthread_mutex_lock(&registry_mutex);
  for (thread = threads; thread != NULL; thread = next) {
    TlEntry *entries, *last;

    next = thread->next;
    if (thread == _tl_current_thread)
      continue;
    entries = _tl_thread_detach_all(thread, TL_FREED_FORK_CHILD);
    for (last = entries; last != NULL && last->thread_next != NULL; last = last->thread_next)
      ;
    if (last != NULL) {
      last->thread_next = detached;
      detached = entries;
    }
    thread->next = gone;
    gone = thread;
  }
  pthread_mutex_unlock(&registry_mutex);

  _tl_entries_free(detached);
  while ((thread = gone) != NULL) {
    gone = thread->next;
    g_free(thread->slots);
    g_free(thread);
  }
}

static void
register_fork_handlers(void)
{
  pthread_atfork(fork_prepare, fork_parent, fork_child);
}

void
_tl_registry_init_once(void)
{
  static pthread_once_t once = PTHREAD_ONCE_INIT;

  pthread_once(&once, register_fork_handlers);
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
