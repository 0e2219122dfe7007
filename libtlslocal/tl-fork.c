/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fork(): the registry lock held across it, and in the child the dictionaries of the threads that
 * did not come along detached at once and freed at the child's first library call. */
#include <pthread.h>

#include "tl-dict-private.h"
#include "tl-hooks-private.h"
#include "tl-registry-private.h"
#include "tl-thread-private.h"

/* Dictionaries of threads that do not exist in a fork() child, waiting to be freed there. */
static TlEntry *fork_orphan_entries;
static TlThread *fork_orphan_threads;

#ifndef G_OS_WIN32 /* Windows has no fork(): no handlers, and the orphan lists stay empty */
static void
fork_prepare(void)
{
  _tl_registry_lock();
}

static void
fork_parent(void)
{
  _tl_registry_unlock();
}

/* The child has one thread: the forking one. It took the lock in fork_prepare, so no other thread
 * was inside a critical section: detach every other thread's dictionaries, then release it. Nothing
 * more inside fork(): releasing them runs destroy functions (user code, which may want a lock some
 * parent thread held), so the child does that at its first library call. */
static void
fork_child(void)
{
  TlThread *thread, *next;

  /* Still held from fork_prepare, by this very thread: keep holding it while detaching. (Unlocking
   * the inherited mutex, rather than initialising a new one over it, is what ThreadSanitizer
   * understands.) */
  for (thread = _tl_registry_threads(); thread != NULL; thread = next) {
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
  _tl_registry_unlock();
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
  /* The child may have started threads of its own by now: whoever swaps the lists out frees
   * them. */
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

void
_tl_fork_install_handlers(void)
{
#ifndef G_OS_WIN32
  pthread_atfork(fork_prepare, fork_parent, fork_child);
#endif
}
