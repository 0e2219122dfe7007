/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Entries: one thread's dictionary of one local, linked into both the local's and the thread's
 * lists. Made on a thread's first write (or initialized read), detached under the registry lock,
 * freed after it. */
#include "tl-dict-private.h"
#include "tl-error-private.h"
#include "tl-hooks-private.h"
#include "tl-local-private.h"
#include "tl-memory-private.h"
#include "tl-registry-private.h"
#include "tl-thread-private.h"

/* Make the calling thread's dictionary for local. */
TlEntry *
_tl_entry_create(TlLocal *local)
{
  TlThread *thread = _tl_thread_get_or_create();
  TlEntry *entry = _tl_new0(TlEntry, 1), ***replaced_pages;
  TlSlotGrowth growth;

  if (thread == NULL || entry == NULL ||
      _tl_thread_slots_prepare(thread, local->id, &growth) != TL_OK) {
    if (thread != NULL && entry == NULL)
      _tl_fail(TL_ERR_NO_MEMORY, "out of memory creating a dictionary");
    g_free(entry);
    _tl_thread_release_if_empty(); /* a thread registered by this call holds nothing: as it was */
    return NULL;
  }
  entry->thread_id = _tl_thread_id();
  _tl_registry_lock();
  replaced_pages = _tl_thread_slots_install(thread, local->id, &growth);
  entry->local = local;
  entry->thread = thread;
  entry->local_next = local->entries;
  if (local->entries != NULL)
    local->entries->local_prev = entry;
  local->entries = entry;
  entry->thread_next = thread->entries;
  if (thread->entries != NULL)
    thread->entries->thread_prev = entry;
  thread->entries = entry;
  *_tl_thread_slot(thread, local->id) = entry;
  TL_STAT_ADD(_tl_stats_dicts, 1);
  _tl_registry_unlock();
  g_free(replaced_pages);
  /* No TL_THREAD_CHANGED(): an empty dictionary answers every read as no dictionary did, and an
   * initializer's writes count themselves. */
  return entry;
}

/* Drops a dictionary of the calling thread that the current access made, which never became the
 * thread's (so no exit hook runs), and the thread's registration if that was all it held: a
 * failed first access leaves the thread as it was. */
void
_tl_entry_discard(TlEntry *entry)
{
  _tl_registry_lock();
  _tl_entry_detach(entry, TL_FREED_THREAD_CLEAR);
  _tl_registry_unlock();
  _tl_hook_slot_unref(entry->hooks);
  entry->hooks = NULL;
  _tl_entry_free(entry);
  _tl_thread_release_if_empty();
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
  entry->hooks = _tl_hook_slot_ref(local->hooks);
  entry->free_reason = reason;
  entry->local = NULL;
  entry->thread = NULL;
  entry->local_prev = entry->local_next = entry->thread_prev = entry->thread_next = NULL;
  TL_STAT_ADD(_tl_stats_dicts, -1);
}

void
_tl_entry_free(TlEntry *entry)
{
  _tl_hook_run(entry->hooks, entry->free_reason, entry->thread_id, &entry->dict);
  _tl_hook_slot_unref(entry->hooks);
  _tl_dict_free_contents(&entry->dict);
  g_free(entry);
}
