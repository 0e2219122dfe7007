/* TlThread: the calling thread's state, its registration for thread-exit cleanup, tl_thread_clear. */
#include "tl-private.h"

/* pthread gives key destructors 4 rounds (PTHREAD_DESTRUCTOR_ITERATIONS); destroy functions that
 * recreate state get as many again here, so a well-behaved program never leaks at thread exit. */
#define TL_CLEANUP_ROUNDS 4

_Thread_local TlThread *_tl_current_thread __attribute__((tls_model("initial-exec")));

static void thread_exit_notify(gpointer data);

/* The one process-wide key; its destroy notify is what runs the thread-exit cleanup. */
static GPrivate thread_key = G_PRIVATE_INIT(thread_exit_notify);

TlThread *
_tl_thread_get_or_create(void)
{
  TlThread *thread = _tl_current_thread;

  if (G_LIKELY(thread != NULL))
    return thread;
  thread = g_new0(TlThread, 1);
  _tl_registry_lock();
  _tl_registry_thread_add(thread);
  _tl_registry_unlock();
  _tl_current_thread = thread;
  g_private_set(&thread_key, thread);
  return thread;
}

void
_tl_entry_detach(TlEntry *entry)
{
  TlLocal *local = entry->local;
  TlThread *thread = entry->thread;

  if (entry->local_prev != NULL)
    entry->local_prev->local_next = entry->local_next;
  else
    local->entries = entry->local_next;
  if (entry->local_next != NULL)
    entry->local_next->local_prev = entry->local_prev;

  if (entry->thread_prev != NULL)
    entry->thread_prev->thread_next = entry->thread_next;
  else
    thread->entries = entry->thread_next;
  if (entry->thread_next != NULL)
    entry->thread_next->thread_prev = entry->thread_prev;

  /* Nulled before the id can be reused, so a later local with this id never finds this entry. */
  thread->slots[local->id] = NULL;
  entry->local = NULL;
  entry->thread = NULL;
  entry->local_prev = entry->local_next = entry->thread_prev = entry->thread_next = NULL;
  TL_STAT_ADD(_tl_stats_dicts, -1);
}

void
_tl_entry_free(TlEntry *entry)
{
  _tl_dict_free_contents(&entry->dict);
  g_free(entry);
}

/* Detach every entry of thread under the lock, then free them without it: freeing runs destroy
 * functions, which may call back into the library. */
static void
thread_release(TlThread *thread)
{
  TlEntry *detached = NULL, *entry;

  _tl_current_thread = NULL; /* a destroy function touching a local starts fresh state */
  _tl_registry_lock();
  while ((entry = thread->entries) != NULL) {
    _tl_entry_detach(entry);
    entry->thread_next = detached;
    detached = entry;
  }
  _tl_registry_thread_remove(thread);
  _tl_registry_unlock();

  while ((entry = detached) != NULL) {
    detached = entry->thread_next;
    _tl_entry_free(entry);
  }
  g_free(thread->slots);
  g_free(thread);
}

/* Release thread, then any state that destroy functions recreated meanwhile, in bounded rounds. */
static void
thread_release_rounds(TlThread *thread)
{
  int round;

  for (round = 0; thread != NULL && round < TL_CLEANUP_ROUNDS; round++) {
    g_private_set(&thread_key, NULL);
    thread_release(thread);
    thread = _tl_current_thread;
  }
}

static void
thread_exit_notify(gpointer data)
{
  thread_release_rounds(data);
}

void
tl_thread_clear(void)
{
  thread_release_rounds(_tl_current_thread);
}
