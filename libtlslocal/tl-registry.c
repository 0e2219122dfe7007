/* The registry: one process-wide lock for the slow paths only (ids, entry creation, thread exit,
 * local destruction, visits, named locals), the list of threads with state, the counts, and the
 * fork handlers. Never freed. */
#include <pthread.h>

#include "tl-private.h"

static pthread_mutex_t registry_mutex = PTHREAD_MUTEX_INITIALIZER;

/* Released ids, reused before new ones, lowest first (a min-heap): a thread's slot table is as
 * long as the highest id it touches, so new locals take the lowest ids free, whatever order the
 * old ones were destroyed in. Room for every id ever handed out is made when it is handed out, so
 * a release never fails. */
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
  _tl_fork_release_orphans();
  gssize total = 0;
  int i;

  for (i = 0; i < TL_VALUE_COUNT_STRIPES; i++)
    total += __atomic_load_n(&value_counts[i].count, __ATOMIC_RELAXED);
  return total > 0 ? (size_t) total : 0;
}

/* ---- fork ---- */

/* Dictionaries of threads that do not exist in a fork() child, waiting to be freed there. */
static TlEntry *fork_orphan_entries;
static TlThread *fork_orphan_threads;

#ifndef G_OS_WIN32 /* Windows has no fork(): no handlers, and the orphan lists stay empty */
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

/* The child has one thread: the forking one. It took the lock in fork_prepare, so no other thread
 * was inside a critical section: detach every other thread's dictionaries, then release it. Nothing more inside fork(): releasing them runs destroy functions (user code, which
 * may want a lock some parent thread held), so the child does that at its first library call. */
static void
fork_child(void)
{
  TlThread *thread, *next;

  /* Still held from fork_prepare, by this very thread: keep holding it while detaching. (Unlocking
   * the inherited mutex, rather than initialising a new one over it, is what ThreadSanitizer
   * understands.) */
  for (thread = threads; thread != NULL; thread = next) {
    TlEntry *entries, *last;

    next = thread->next;
    if (thread == _tl_current_thread)
      continue;
    entries = _tl_thread_detach_all(thread, TL_FREED_THREAD_EXIT);
    for (last = entries; last != NULL && last->thread_next != NULL; last = last->thread_next)
      ;
    if (last != NULL) {
      last->thread_next = fork_orphan_entries;
      fork_orphan_entries = entries;
    }
    thread->next = fork_orphan_threads;
    fork_orphan_threads = thread;
  }
  pthread_mutex_unlock(&registry_mutex);
}
#endif /* !G_OS_WIN32 */

/* Releases a dictionary of a thread that does not exist in this fork() child, without entering
 * GLib: GLib does not reset its own locks at fork (the GVariant type cache, GSlice, each value's
 * bit lock), and any of them may have been held by a parent thread that the child lacks. So pointer
 * values are released (their destroy functions run, as the thread's exit would have run them) and
 * GVariant values are abandoned: they are the parent's memory, copied on write, and freeing them
 * could block the child forever. No exit hook runs: the thread still lives in the parent, and its
 * hook will run there; running it here too would flush the same counters twice. */
static void
orphan_release(TlEntry *entry)
{
  TlDictItem *items;
  guint32 n_items, i;

  _tl_dict_steal(&entry->dict, &items, &n_items);
  for (i = 0; i < n_items; i++) {
    if (items[i].value == NULL)
      continue;
    _tl_item_free_key(&items[i]);
    if (items[i].value->kind == TL_VALUE_POINTER)
      tl_value_unref(items[i].value);
  }
  g_free(items);
  _tl_hook_slot_unref(entry->hooks);
  g_free(entry);
}

void
_tl_fork_release_orphans(void)
{
  TlEntry *entry;
  TlThread *thread;

  if (G_LIKELY(__atomic_load_n(&fork_orphan_entries, __ATOMIC_ACQUIRE) == NULL &&
               __atomic_load_n(&fork_orphan_threads, __ATOMIC_ACQUIRE) == NULL))
    return;
  /* The child may have started threads of its own by now: whoever swaps the lists out frees them. */
  entry = __atomic_exchange_n(&fork_orphan_entries, NULL, __ATOMIC_ACQ_REL);
  thread = __atomic_exchange_n(&fork_orphan_threads, NULL, __ATOMIC_ACQ_REL);
  while (entry != NULL) {
    TlEntry *next = entry->thread_next;
    orphan_release(entry);
    entry = next;
  }
  while (thread != NULL) {
    TlThread *next = thread->next;
    _tl_thread_free(thread);
    thread = next;
  }
}

static void
register_fork_handlers(void)
{
#ifndef G_OS_WIN32
  pthread_atfork(fork_prepare, fork_parent, fork_child);
#endif
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
  _tl_fork_release_orphans();
  return __atomic_load_n(&_tl_stats_locals, __ATOMIC_RELAXED);
}

size_t
tl_stats_live_dicts(void)
{
  _tl_fork_release_orphans();
  return __atomic_load_n(&_tl_stats_dicts, __ATOMIC_RELAXED);
}

size_t
tl_stats_live_threads(void)
{
  _tl_fork_release_orphans();
  return __atomic_load_n(&_tl_stats_threads, __ATOMIC_RELAXED);
}
