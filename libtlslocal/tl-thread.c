/* TlThread: the calling thread's state, its registration for thread-exit cleanup, tl_thread_clear,
 * and the freeing of detached dictionaries (which runs exit hooks). */
#include "tl-private.h"

/* pthread gives key destructors 4 rounds (PTHREAD_DESTRUCTOR_ITERATIONS); destroy functions that
 * recreate state get as many again here, so a well-behaved program never leaks at thread exit. */
#define TL_CLEANUP_ROUNDS 4

_Thread_local TlThread *_tl_current_thread __attribute__((tls_model("initial-exec")));

_Thread_local volatile guint64 _tl_thread_changes __attribute__((tls_model("initial-exec")));

const volatile uint64_t *
tl_thread_change_counter(void)
{
  return &_tl_thread_changes;
}

/* Separate from TlThread so it survives tl_thread_clear(). */
static _Thread_local guint64 current_thread_id __attribute__((tls_model("initial-exec")));
static guint64 last_thread_id;

static void thread_exit_notify(gpointer data);

/* The one process-wide key; its destroy notify is what runs the thread-exit cleanup. */
static GPrivate thread_key = G_PRIVATE_INIT(thread_exit_notify);

guint64
_tl_thread_id(void)
{
  if (G_UNLIKELY(current_thread_id == 0))
    current_thread_id = __atomic_add_fetch(&last_thread_id, 1, __ATOMIC_RELAXED);
  return current_thread_id;
}

uint64_t
tl_thread_id(void)
{
  return _tl_thread_id();
}

TlEntry *const _tl_empty_slot_page[TL_SLOT_PAGE_SIZE];

TlThread *
_tl_thread_get_or_create(void)
{
  TlThread *thread = _tl_current_thread;

  if (G_LIKELY(thread != NULL))
    return thread;
  thread = _tl_new0(TlThread, 1);
  if (thread == NULL) {
    _tl_fail(TL_ERR_NO_MEMORY, "out of memory registering the thread");
    return NULL;
  }
  _tl_registry_lock();
  _tl_registry_thread_add(thread);
  _tl_registry_unlock();
  _tl_current_thread = thread;
  g_private_set(&thread_key, thread);
  return thread;
}

void
_tl_thread_free(TlThread *thread)
{
  guint32 i;

  for (i = 0; i < thread->n_slot_pages; i++)
    if (thread->slot_pages[i] != (TlEntry **) _tl_empty_slot_page)
      g_free(thread->slot_pages[i]);
  g_free(thread->slot_pages);
  g_free(thread);
}

void
_tl_entry_detach(TlEntry *entry, TlFreeReason reason)
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
  *_tl_thread_slot(thread, local->id) = NULL;
  if (local->hooks != NULL) {
    g_atomic_int_inc(&local->hooks->refcount);
    entry->hooks = local->hooks;
  }
  entry->free_reason = reason;
  entry->local = NULL;
  entry->thread = NULL;
  entry->local_prev = entry->local_next = entry->thread_prev = entry->thread_next = NULL;
  TL_STAT_ADD(_tl_stats_dicts, -1);
}

void
_tl_entry_free(TlEntry *entry)
{
  TlHook *hook = NULL;

  if (entry->hooks != NULL) {
    _tl_registry_lock();
    if ((hook = entry->hooks->hook) != NULL)
      g_atomic_int_inc(&hook->refcount); /* the call's own: the hook may be replaced meanwhile */
    _tl_registry_unlock();
    _tl_hook_slot_unref(entry->hooks);
    entry->hooks = NULL;
  }
  if (hook != NULL) {
    TlValue *contents = _tl_dict_snapshot(&entry->dict);

    hook->fn(entry->free_reason, entry->thread_id, contents, hook->user_data);
    tl_value_unref(contents);
    _tl_hook_unref(hook);
  }
  _tl_dict_free_contents(&entry->dict);
  g_free(entry);
}

TlEntry *
_tl_thread_detach_all(TlThread *thread, TlFreeReason reason)
{
  TlEntry *detached = NULL, *entry;

  while ((entry = thread->entries) != NULL) {
    _tl_entry_detach(entry, reason);
    entry->thread_next = detached;
    detached = entry;
  }
  _tl_registry_thread_remove(thread);
  return detached;
}

void
_tl_entries_free(TlEntry *detached)
{
  TlEntry *entry;

  while ((entry = detached) != NULL) {
    detached = entry->thread_next;
    _tl_entry_free(entry);
  }
}

/* Detach every entry of thread under the lock, then free them without it: freeing runs exit hooks
 * and destroy functions, which may call back into the library. */
static void
thread_release(TlThread *thread, TlFreeReason reason)
{
  TlEntry *detached;

  _tl_current_thread = NULL; /* a destroy function touching a local starts fresh state */
  TL_THREAD_CHANGED();
  _tl_registry_lock();
  detached = _tl_thread_detach_all(thread, reason);
  _tl_registry_unlock();
  _tl_entries_free(detached);
  _tl_thread_free(thread);
}

void
_tl_thread_release_if_empty(void)
{
  TlThread *thread = _tl_current_thread;
  gboolean empty;

  if (thread == NULL)
    return;
  _tl_registry_lock(); /* others unlink this thread's entries under it */
  empty = thread->entries == NULL;
  _tl_registry_unlock();
  if (empty) {
    g_private_set(&thread_key, NULL);
    thread_release(thread, TL_FREED_THREAD_CLEAR);
  }
}

/* Set while this thread frees, after its own dictionaries, the ones that its exit hooks and destroy
 * functions made meanwhile: reads then run no initializer, so a hook that reads its own local (with
 * an initializer) finds no dictionary in the second round instead of making one for every round
 * to free again, and the last to outlive the cleanup. In the first round, hooks may read any
 * local as they would anywhere. */
static _Thread_local gboolean releasing;

gboolean
_tl_thread_releasing(void)
{
  return releasing;
}

/* Release thread, then any state that hooks or destroy functions recreated meanwhile, in bounded
 * rounds. */
static void
thread_release_rounds(TlThread *thread, TlFreeReason reason)
{
  gboolean was_releasing = releasing;
  int round;

  for (round = 0; thread != NULL && round < TL_CLEANUP_ROUNDS; round++) {
    g_private_set(&thread_key, NULL);
    thread_release(thread, reason);
    thread = _tl_current_thread;
    releasing = TRUE;
  }
  releasing = was_releasing;
}

static void
thread_exit_notify(gpointer data)
{
  thread_release_rounds(data, TL_FREED_THREAD_EXIT);
}

void
tl_thread_clear(void)
{
  _tl_fork_release_orphans();
  thread_release_rounds(_tl_current_thread, TL_FREED_THREAD_CLEAR);
}
