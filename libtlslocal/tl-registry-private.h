/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The registry: its lock, local ids and thread list (tl-registry.c), the counts (tl-stats.c) and
 * fork (tl-fork.c). Not installed. */
#ifndef TL_REGISTRY_PRIVATE_H
#define TL_REGISTRY_PRIVATE_H

#include <glib.h>

#include "tl-thread-private.h"

/* The registry lock: a pthread mutex (not GMutex) so ThreadSanitizer and helgrind see it. */
void _tl_registry_lock(void);
void _tl_registry_unlock(void);

/* All under the registry lock. */
/* @return TL_OK with *out_id, or TL_ERR_NO_MEMORY (recorded). */
int _tl_registry_id_acquire(guint32 *out_id);
void _tl_registry_id_release(guint32 id);
void _tl_registry_thread_add(TlThread *thread);
void _tl_registry_thread_remove(TlThread *thread);

/* Counts for introspection, changed on slow paths only, read without the lock. */
extern gsize _tl_stats_locals, _tl_stats_dicts, _tl_stats_threads;
#define TL_STAT_ADD(counter, delta)                                                                \
  ((void) __atomic_fetch_add(&(counter), (gsize) (delta), __ATOMIC_RELAXED))
void _tl_stats_values_add(int delta);

/* The first of the threads with state, linked through next; registry lock. */
TlThread *_tl_registry_threads(void);

/* Fork handlers (tl-fork.c), installed once, before the registry lock is first taken. */
void _tl_fork_install_handlers(void);
/* In a fork() child: free the other threads' dictionaries that fork_child detached. Called at API
 * entry points only (never mid-operation: it runs exit hooks and destroy functions). Cheap when
 * there is nothing to do: two loads. */
void _tl_fork_release_orphans(void);

#endif /* TL_REGISTRY_PRIVATE_H */
