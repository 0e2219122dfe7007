/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Threads and their entries (one thread's dictionary of one local), with the thread-local
 * variables (tl-thread.c, tl-entry.c). Not installed. */
#ifndef TL_THREAD_PRIVATE_H
#define TL_THREAD_PRIVATE_H

#include <glib.h>
#include <sched.h>

#include "tl-dict-private.h"
#include "tl-init-private.h"
#include "tl-local-private.h"

typedef struct _TlThread TlThread;
typedef struct _TlEntry TlEntry;
typedef struct _TlHookSlot TlHookSlot;

/* One (local, thread) pair: that thread's dictionary for that local. */
struct _TlEntry {
  /* Written by the owner thread only (under lock_word if the local is visitable). */
  TlDict dict;
  /* Visitable locals: writers and visitors; a spin lock, uncontended but for visits. */
  gint lock_word;
  TlFreeReason free_reason; /* set when detached */
  guint64 thread_id;
  TlHookSlot *hooks; /* the local's, referenced when detached */
  TlLocal *local;    /* registry lock */
  TlThread *thread;
  TlEntry *local_prev, *local_next;   /* in local->entries; registry lock */
  TlEntry *thread_prev, *thread_next; /* in thread->entries; registry lock */
};

/* A thread's entries by local id, in pages of TL_SLOT_PAGE_SIZE slots: a thread pays for the pages
 * of the locals it touches (and 8 bytes per page of ids in the process), not 8 bytes for every id
 * in the process: with a million live locals, a thread writing to the newest allocated 8 MB. The
 * pages it never wrote are all the one read-only empty page, so a read needs no NULL check. */
#define TL_SLOT_PAGE_BITS 8
#define TL_SLOT_PAGE_SIZE (1u << TL_SLOT_PAGE_BITS)
extern TlEntry *const _tl_empty_slot_page[TL_SLOT_PAGE_SIZE];

/* The quark read cache: what the calling thread's last reads by quark found, trusted while nothing
 * could have changed it. Reading one well-known key by quark in a hot loop then costs a few loads
 * from this thread's own memory, not the walk local -> slot page -> entry -> index -> item -> key
 * (eight dependent loads: twice the cost). A slot is stale once its stamp is: the calling thread's
 * change counter (its own sets, deletes, clears, frees) plus the count of destroyed locals (the
 * only way another thread frees this thread's values; both only grow, so their sum changes when
 * either does). A local destroyed and another made at its address is caught by the second. */
#define TL_QUARK_CACHE_SIZE 16
typedef struct {
  const TlLocal *local;
  TlValue *value;
  guint64 stamp;
  guint32 quark;
} TlQuarkCacheSlot;

/* Bumped (release) by every local's destruction, before it frees any dictionary. */
extern guint64 _tl_locals_destroyed;

struct _TlThread {
  /* slot_pages[id >> TL_SLOT_PAGE_BITS][id % TL_SLOT_PAGE_SIZE]. Only the owner thread replaces the
   * array or a page (under the registry lock); others write NULL into a slot of a local that has
   * no references left, under the lock. */
  TlEntry ***slot_pages;
  guint32 n_slot_pages;
  TlEntry *entries;      /* registry lock */
  TlThread *prev, *next; /* in the registry's thread list; registry lock */
  TlQuarkCacheSlot quark_cache[TL_QUARK_CACHE_SIZE]; /* owner thread only */
};

/* The slot of local id in thread's pages, which hold it (a real page: an entry is there). */
static inline TlEntry **
_tl_thread_slot(TlThread *thread, guint32 id)
{
  return &thread->slot_pages[id >> TL_SLOT_PAGE_BITS][id & (TL_SLOT_PAGE_SIZE - 1)];
}

/* The calling thread's state, or NULL. Initial-exec TLS: a plain fs-relative load, no
 * __tls_get_addr call, which is what keeps the hot path fast. */
extern _Thread_local TlThread *_tl_current_thread __attribute__((tls_model("initial-exec")));

/* tl_thread_change_counter(): bumped by every change to the calling thread's dictionaries. A plain
 * thread-local increment: the owner is its only writer and reader. */
extern _Thread_local volatile guint64 _tl_thread_changes __attribute__((tls_model("initial-exec")));
#define TL_THREAD_CHANGED() (_tl_thread_changes++)

/* The stamp a quark cache slot made now carries (TlQuarkCacheSlot). */
static inline guint64
_tl_quark_cache_stamp(void)
{
  return _tl_thread_changes + __atomic_load_n(&_tl_locals_destroyed, __ATOMIC_ACQUIRE);
}

static inline TlQuarkCacheSlot *
_tl_quark_cache_slot(TlThread *thread, const TlLocal *local, guint32 quark)
{
  return &thread->quark_cache[(quark + (guint32) ((guintptr) local >> 4)) &
                              (TL_QUARK_CACHE_SIZE - 1)];
}

/* The calling thread's state, created (and registered for thread-exit cleanup) if needed. NULL
 * (TL_ERR_NO_MEMORY recorded) if out of memory. */
TlThread *_tl_thread_get_or_create(void);
/* Frees a thread's own memory (its slot pages), once it has no entries. */
void _tl_thread_free(TlThread *thread);
/* Unregisters the calling thread if it holds no dictionary: a call that registered it and then
 * failed leaves things as they were. */
void _tl_thread_release_if_empty(void);
/* Whether the calling thread is freeing, after the first round of its exit or tl_thread_clear(),
 * the dictionaries that round's exit hooks and destroy functions made. */
gboolean _tl_thread_releasing(void);

/* Under the registry lock: unlink entry from its local and its thread, clear the thread's slot, and
 * take a reference to where the local keeps its exit hook. The caller then owns the entry and frees
 * it with _tl_entry_free() once the lock is released (which runs the hook, told reason). */
void _tl_entry_detach(TlEntry *entry, TlFreeReason reason);
void _tl_entry_free(TlEntry *entry);
/* Detach every entry of thread and unregister it, under the lock; @return the detached entries,
 * chained through thread_next. */
TlEntry *_tl_thread_detach_all(TlThread *thread, TlFreeReason reason);

/* The calling thread's library id (tl_thread_id()). */
guint64 _tl_thread_id(void);

/* ---- entries (tl-entry.c) ---- */

/* Make the calling thread's dictionary for local. NULL if out of memory (recorded). */
TlEntry *_tl_entry_create(TlLocal *local);
/* Drops a dictionary the current access made, before it became the thread's. */
void _tl_entry_discard(TlEntry *entry);

/* ---- the calling thread's slot table (tl-thread.c) ---- */

/* What _tl_entry_create() must install in thread's slot table for id, allocated beforehand: a
 * longer page array (a copy, all of whose new pages are the empty page) and a page. NULLs where
 * nothing is needed. */
typedef struct {
  TlEntry ***slot_pages;
  guint32 n_slot_pages;
  TlEntry **page;
} TlSlotGrowth;
int _tl_thread_slots_prepare(const TlThread *thread, guint32 id, TlSlotGrowth *out);
TlEntry ***_tl_thread_slots_install(TlThread *thread, guint32 id, const TlSlotGrowth *growth);

/* ---- the dictionary lock of visitable locals ---- */

static inline void
_tl_entry_lock(TlEntry *entry)
{
  while (__atomic_exchange_n(&entry->lock_word, 1, __ATOMIC_ACQUIRE) != 0) {
    while (__atomic_load_n(&entry->lock_word, __ATOMIC_RELAXED) != 0)
      sched_yield(); /* held only while a visitor copies references: short */
  }
}

static inline void
_tl_entry_unlock(TlEntry *entry)
{
  __atomic_store_n(&entry->lock_word, 0, __ATOMIC_RELEASE);
}

/* Writers lock only when a visitor may read concurrently; the flag is immutable. */
static inline void
_tl_entry_write_begin(const TlLocal *local, TlEntry *entry)
{
  if (local->flags & TL_LOCAL_VISITABLE)
    _tl_entry_lock(entry);
}

static inline void
_tl_entry_write_end(const TlLocal *local, TlEntry *entry)
{
  if (local->flags & TL_LOCAL_VISITABLE)
    _tl_entry_unlock(entry);
}

/* The calling thread's entry for local, or NULL. Safe without the lock: only this thread replaces
 * its slots array, and other threads only null a slot whose local has no references left. */
static inline TlEntry *
_tl_entry_current(const TlLocal *local)
{
  TlThread *thread = _tl_current_thread;
  guint32 page = local->id >> TL_SLOT_PAGE_BITS;

  if (G_LIKELY(thread != NULL && page < thread->n_slot_pages))
    return thread->slot_pages[page][local->id & (TL_SLOT_PAGE_SIZE - 1)];
  return NULL;
}

/* The calling thread's dictionary for a read: NULL without error if it has none and nothing
 * (no initializer) would create it. */
static inline int
_tl_entry_for_read(TlLocal *local, TlEntry **out)
{
  *out = _tl_entry_current(local);
  if (G_LIKELY(*out != NULL) || !_tl_local_has_initializer(local))
    return TL_OK;
  /* While the thread's dictionaries are freed (its exit, tl_thread_clear()), a read by an exit hook
   * or destroy function finds none rather than making one that would outlive the cleanup. */
  if (_tl_thread_releasing())
    return TL_OK;
  return _tl_entry_create_initialized(local, out, NULL);
}

/* The calling thread's dictionary for a write, made if need be. *out_created is set (and must be
 * FALSE before) when the dictionary is new and empty: a write that then fails discards it. */
static inline int
_tl_entry_for_write(TlLocal *local, TlEntry **out, gboolean *out_created)
{
  *out = _tl_entry_current(local);
  if (G_LIKELY(*out != NULL))
    return TL_OK;
  return _tl_entry_create_initialized(local, out, out_created);
}

#endif /* TL_THREAD_PRIVATE_H */
