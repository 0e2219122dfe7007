/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* TlThread: the calling thread's state, its registration for thread-exit cleanup, tl_thread_clear,
 * and the freeing of detached dictionaries (which runs exit hooks). */
#include "tl-error-private.h"
#include "tl-memory-private.h"
#include "tl-registry-private.h"
#include "tl-thread-private.h"

/* pthread gives key destructors 4 rounds (PTHREAD_DESTRUCTOR_ITERATIONS); destroy functions that
 * recreate state get as many again here, so a well-behaved program never leaks at thread exit. */
#define TL_CLEANUP_ROUNDS 4

_Thread_local TlThread *_tl_current_thread __attribute__((tls_model("initial-exec")));

guint64 _tl_locals_destroyed __attribute__((aligned(64))); /* its own line: read by every thread */
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

int
_tl_thread_slots_prepare(const TlThread *thread, guint32 id, TlSlotGrowth *out)
{
  guint32 page = id >> TL_SLOT_PAGE_BITS, i;

  memset(out, 0, sizeof *out);
  if (page >= thread->n_slot_pages) {
    /* By an eighth at least, so a thread touching ever newer locals copies the array rarely. */
    out->n_slot_pages = MAX(page + 1, thread->n_slot_pages + thread->n_slot_pages / 8);
    out->slot_pages = _tl_new(TlEntry **, out->n_slot_pages);
    if (out->slot_pages == NULL)
      return _tl_fail(TL_ERR_NO_MEMORY, "out of memory growing the thread's slot table");
    if (thread->n_slot_pages > 0)
      memcpy(out->slot_pages, thread->slot_pages, thread->n_slot_pages * sizeof *out->slot_pages);
    for (i = thread->n_slot_pages; i < out->n_slot_pages; i++)
      out->slot_pages[i] = (TlEntry **) _tl_empty_slot_page;
  }
  if ((out->slot_pages != NULL ? out->slot_pages : thread->slot_pages)[page] ==
      (TlEntry **) _tl_empty_slot_page) {
    out->page = _tl_new0(TlEntry *, TL_SLOT_PAGE_SIZE);
    if (out->page == NULL) {
      g_free(out->slot_pages);
      return _tl_fail(TL_ERR_NO_MEMORY, "out of memory growing the thread's slot table");
    }
  }
  return TL_OK;
}

/* Under the registry lock, which keeps other threads (writing NULL into slots of destroyed locals)
 * from reading the array being replaced. @return the replaced array, to free after the lock. */
TlEntry ***
_tl_thread_slots_install(TlThread *thread, guint32 id, const TlSlotGrowth *growth)
{
  TlEntry ***old = NULL;

  if (growth->slot_pages != NULL) {
    old = thread->slot_pages;
    thread->slot_pages = growth->slot_pages;
    thread->n_slot_pages = growth->n_slot_pages;
  }
  if (growth->page != NULL)
    thread->slot_pages[id >> TL_SLOT_PAGE_BITS] = growth->page;
  return old;
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

static void
entries_free(TlEntry *detached)
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
  entries_free(detached);
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
