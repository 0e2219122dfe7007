/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Exit hooks (tl-hooks.c). Not installed. */
#ifndef TL_HOOKS_PRIVATE_H
#define TL_HOOKS_PRIVATE_H

#include <glib.h>

#include "tl-dict-private.h"
#include "tlslocal.h"

typedef struct _TlHook TlHook;
typedef struct _TlHookSlot TlHookSlot;

/* An exit hook, refcounted so a dictionary detached under the lock can run it after the lock is
 * released even if the local is destroyed or the hook replaced meanwhile. */
struct _TlHook {
  gint refcount; /* atomic */
  TlExitHook fn;
  void *user_data;
  TlDestroyFunc user_data_destroy;
};

/* Where a local keeps its exit hook, shared by the local and the dictionaries detached from it: a
 * dictionary looks its hook up when it is freed, not when it is detached, so a hook removed or
 * replaced runs for no dictionary freed afterwards, even one detached before (a thread exit
 * detaches all its dictionaries at once, then frees them one by one, running destroy functions
 * in between). Refcounted, atomically. */
struct _TlHookSlot {
  gint refcount;
  TlHook *hook; /* registry lock */
};
TlHookSlot *_tl_hook_slot_ref(TlHookSlot *slot); /* NULL-safe */
void _tl_hook_slot_unref(TlHookSlot *slot);
/* Runs the hook slot holds now (if any, and slot if not NULL) with a snapshot of dict's
 * contents. */
void _tl_hook_run(TlHookSlot *slot, TlFreeReason reason, guint64 thread_id, const TlDict *dict);

#endif /* TL_HOOKS_PRIVATE_H */
