/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* TlLocal's lifecycle: creation (plain, with an initializer, with a libffi initializer), references
 * and destruction, which frees every thread's dictionary of the local. */
#include <stdlib.h>
#include <string.h>
#ifdef _WIN32
#  include <malloc.h>
#endif

#include "tl-error-private.h"
#include "tl-hooks-private.h"
#include "tl-init-private.h"
#include "tl-local-private.h"
#include "tl-memory-private.h"
#include "tl-refcount-private.h"
#include "tl-registry-private.h"
#include "tl-thread-private.h"
#include "tl-value-private.h"

int
_tl_local_fail_invalid(const TlLocal *local)
{
  if (local == NULL)
    return _tl_fail(TL_ERR_INVALID_ARGUMENT, "local is NULL");
  return _tl_fail(TL_ERR_INVALID_ARGUMENT, local->magic == TL_LOCAL_DEAD
                                               ? "local was already destroyed"
                                               : "local is not a valid TlLocal");
}

/* A TlLocal gets a cache line of its own: every thread reads it on every access, so an
 * unrelated object sharing its line and written often (the value a program allocated next, its
 * refcount changing with every set) would bounce the line between cores. bench-scaling's two
 * threads measured that: 2.2x per set, from the value created right after the local. */
#define TL_CACHE_LINE 64
G_STATIC_ASSERT(sizeof(TlLocal) <= TL_CACHE_LINE);

static TlLocal *
local_alloc(void)
{
  void *memory;

#ifdef _WIN32
  memory = _aligned_malloc(TL_CACHE_LINE, TL_CACHE_LINE);
#else
  if (posix_memalign(&memory, TL_CACHE_LINE, TL_CACHE_LINE) != 0)
    memory = NULL;
#endif
  if (memory != NULL)
    memset(memory, 0, TL_CACHE_LINE);
  return memory;
}

void
_tl_local_free(TlLocal *local)
{
#ifdef _WIN32
  _aligned_free(local);
#else
  free(local);
#endif
}

/* Under the registry lock. */
TlLocal *
_tl_local_create_locked(guint32 flags, TlInitializer *init)
{
  TlLocal *local = local_alloc();

  if (local == NULL) {
    _tl_fail(TL_ERR_NO_MEMORY, "out of memory creating a local");
    return NULL;
  }
  if (_tl_registry_id_acquire(&local->id) != TL_OK) {
    _tl_local_free(local);
    return NULL;
  }
  local->magic = TL_LOCAL_MAGIC;
  local->refcount = 1;
  local->flags = flags;
  local->init = init;
  TL_STAT_ADD(_tl_stats_locals, 1);
  return local;
}

static TlLocal *
local_create(guint32 flags, TlInitializer *init)
{
  TlLocal *local;

  _tl_fork_release_orphans();
  _tl_registry_lock();
  local = _tl_local_create_locked(flags, init);
  _tl_registry_unlock();
  return local;
}

static gboolean
flags_are_valid(unsigned int flags)
{
  if ((flags & ~(unsigned int) TL_LOCAL_VISITABLE) == 0)
    return TRUE;
  _tl_failf(TL_ERR_INVALID_ARGUMENT, "unknown flags 0x%x", flags);
  return FALSE;
}

TlLocal *
tl_local_new(void)
{
  return local_create(TL_LOCAL_DEFAULT, NULL);
}

TlLocal *
tl_local_new_full(unsigned int flags, TlInitFunc init, void *user_data,
                  TlDestroyFunc user_data_destroy)
{
  TlInitializer *initializer = NULL;
  TlLocal *local;

  if (!flags_are_valid(flags))
    return NULL;
  /* Kept even without init when there is a user_data_destroy to run at destruction. */
  if (init != NULL || user_data_destroy != NULL) {
    initializer = _tl_new0(TlInitializer, 1);
    if (initializer == NULL) {
      _tl_fail(TL_ERR_NO_MEMORY, "out of memory creating a local");
      return NULL;
    }
    initializer->fn = init;
    initializer->user_data = user_data;
    initializer->user_data_destroy = user_data_destroy;
  }
  local = local_create(flags, initializer);
  if (local == NULL)
    g_free(initializer); /* nothing taken over: user_data_destroy does not run */
  return local;
}

TlLocal *
tl_local_new_with_args(unsigned int flags, TlCallback fn, int fn_returns_int, TlValue *args)
{
  TlInitializer *initializer;
  struct _TlFfiCall *call;
  TlLocal *local;

  if (!flags_are_valid(flags))
    return NULL;
  if (_tl_ffi_prepare(fn, fn_returns_int, args, &call) != TL_OK)
    return NULL;
  initializer = _tl_new0(TlInitializer, 1);
  if (initializer == NULL) {
    _tl_ffi_free(call);
    _tl_fail(TL_ERR_NO_MEMORY, "out of memory creating a local");
    return NULL;
  }
  initializer->ffi = call;
  local = local_create(flags, initializer);
  if (local == NULL)
    _tl_initializer_free(initializer);
  return local;
}

TlLocal *
tl_local_ref(TlLocal *local)
{
  if (G_UNLIKELY(!_tl_local_is_valid(local))) {
    if (local != NULL)
      _tl_local_fail_invalid(local);
    return NULL;
  }
  _tl_refcount_inc(&local->refcount);
  return local;
}

/* Detach every thread's entry under the lock, release the id, then free the dictionaries (running
 * exit hooks and destroy functions) without the lock. */
static void
local_destroy(TlLocal *local)
{
  TlEntry *detached = NULL, *entry;
  TlHookSlot *hooks;
  /* The calling thread's own dictionary is freed too: a change its counter must show. */
  gboolean frees_own = _tl_entry_current(local) != NULL;

  _tl_registry_lock();
  while ((entry = local->entries) != NULL) {
    _tl_entry_detach(entry, TL_FREED_LOCAL_DESTROYED);
    entry->local_next = detached;
    detached = entry;
  }
  _tl_registry_id_release(local->id);
  local->magic = TL_LOCAL_DEAD;
  /* Before any value is freed: every thread's quark cache stops trusting what it holds. */
  __atomic_fetch_add(&_tl_locals_destroyed, 1, __ATOMIC_RELEASE);
  hooks = local->hooks;
  local->hooks = NULL;
  _tl_registry_unlock();
  TL_STAT_ADD(_tl_stats_locals, -1);
  if (frees_own)
    TL_THREAD_CHANGED();

  while ((entry = detached) != NULL) {
    detached = entry->local_next;
    _tl_entry_free(entry);
  }
  _tl_hook_slot_unref(hooks);
  _tl_initializer_free(local->init);
  _tl_local_free(local);
}

void
tl_local_unref(TlLocal *local)
{
  if (G_UNLIKELY(!_tl_local_is_valid(local))) {
    if (local != NULL)
      _tl_local_fail_invalid(local);
    return;
  }
  if (_tl_refcount_dec(&local->refcount))
    local_destroy(local);
}
