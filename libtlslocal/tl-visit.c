/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Visits: every thread's dictionary of a TL_LOCAL_VISITABLE local, copied at one instant. */
#include "tl-dict-private.h"
#include "tl-error-private.h"
#include "tl-local-private.h"
#include "tl-memory-private.h"
#include "tl-registry-private.h"
#include "tl-thread-private.h"

typedef struct {
  guint64 thread_id;
  TlDictItem *items;
  guint32 n_items;
} VisitedThread;

int
tl_local_visit(TlLocal *local, const char *key, TlVisitFunc fn, void *payload)
{
  VisitedThread *visited;
  TlEntry *entry;
  TlKey k = {NULL, 0, 0};
  guint32 n_threads = 0, capacity = 8, i, j;
  int status = TL_OK;

  if (!_tl_local_is_valid(local))
    return _tl_local_fail_invalid(local);
  if (fn == NULL)
    return _tl_fail(TL_ERR_INVALID_ARGUMENT, "fn is NULL");
  if (key != NULL && _tl_key_prepare(key, &k) != TL_OK)
    return TL_ERR_INVALID_KEY;
  if (!(local->flags & TL_LOCAL_VISITABLE))
    return _tl_fail(TL_ERR_UNSUPPORTED, "the local was not created with TL_LOCAL_VISITABLE");

  /* The instant the guarantee speaks of: the registry lock keeps threads from exiting or creating
   * dictionaries, each dictionary's lock keeps its owner from writing while it is copied. */
  visited = _tl_new(VisitedThread, capacity);
  if (visited == NULL)
    return _tl_fail(TL_ERR_NO_MEMORY, "out of memory visiting a local");
  _tl_registry_lock();
  /* Every dictionary is locked before any is copied, so all are seen as of one instant. No
   * deadlock: a writer holds only its own dictionary's lock and waits for nothing while it does,
   * and visitors are serialised by the registry lock. */
  for (entry = local->entries; entry != NULL; entry = entry->local_next)
    _tl_entry_lock(entry);
  for (entry = local->entries; entry != NULL && status == TL_OK; entry = entry->local_next) {
    if (n_threads == capacity) {
      VisitedThread *grown = _tl_renew(VisitedThread, visited, (gsize) capacity * 2);

      if (grown == NULL) {
        status = _tl_fail(TL_ERR_NO_MEMORY, "out of memory visiting a local");
        break;
      }
      visited = grown;
      capacity *= 2;
    }
    status = _tl_dict_copy_items(&entry->dict, key != NULL ? &k : NULL, &visited[n_threads].items,
                                 &visited[n_threads].n_items);
    visited[n_threads].thread_id = entry->thread_id;
    if (status == TL_OK)
      n_threads++;
  }
  for (entry = local->entries; entry != NULL; entry = entry->local_next)
    _tl_entry_unlock(entry);
  _tl_registry_unlock();

  /* fn sees nothing unless every dictionary was copied: a visit is of one instant or none. */
  for (i = 0; i < n_threads; i++) {
    for (j = 0; j < visited[i].n_items && status == TL_OK; j++)
      status = fn(visited[i].thread_id, _tl_item_key(&visited[i].items[j]),
                  visited[i].items[j].value, payload);
    _tl_dict_items_release(visited[i].items, visited[i].n_items);
  }
  g_free(visited);
  return status;
}
