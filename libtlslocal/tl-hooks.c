/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Exit hooks: a local's function, run with a dictionary's contents when that dictionary is
 * freed. */
#include "tl-dict-private.h"
#include "tl-error-private.h"
#include "tl-hooks-private.h"
#include "tl-local-private.h"
#include "tl-memory-private.h"
#include "tl-refcount-private.h"
#include "tl-registry-private.h"
#include "tl-snapshot-private.h"
#include "tl-value-private.h"

static void
hook_unref(TlHook *hook)
{
  if (hook == NULL || !_tl_refcount_dec(&hook->refcount))
    return;
  if (hook->user_data_destroy != NULL)
    hook->user_data_destroy(hook->user_data);
  g_free(hook);
}

void
_tl_hook_slot_unref(TlHookSlot *slot)
{
  if (slot == NULL || !_tl_refcount_dec(&slot->refcount))
    return;
  hook_unref(slot->hook);
  g_free(slot);
}

TlHookSlot *
_tl_hook_slot_ref(TlHookSlot *slot)
{
  if (slot != NULL)
    _tl_refcount_inc(&slot->refcount);
  return slot;
}

void
_tl_hook_run(TlHookSlot *slot, TlFreeReason reason, guint64 thread_id, const TlDict *dict)
{
  TlHook *hook = NULL;
  TlValue *contents;

  if (slot == NULL)
    return;
  _tl_registry_lock();
  if ((hook = slot->hook) != NULL)
    _tl_refcount_inc(&hook->refcount); /* the call's own: the hook may be replaced meanwhile */
  _tl_registry_unlock();
  if (hook == NULL)
    return;
  contents = _tl_snapshot_new(dict);
  hook->fn(reason, thread_id, contents, hook->user_data);
  tl_value_unref(contents);
  hook_unref(hook);
}

int
tl_local_set_exit_hook(TlLocal *local, TlExitHook hook, void *user_data,
                       TlDestroyFunc user_data_destroy)
{
  TlHook *new_hook = NULL, *old_hook;
  TlHookSlot *new_slot = NULL;

  if (!_tl_local_is_valid(local))
    return _tl_local_fail_invalid(local);
  if (hook != NULL) {
    new_hook = _tl_new(TlHook, 1);
    new_slot = _tl_new0(TlHookSlot, 1); /* in case the local has none yet */
    /* Nothing taken over: user_data_destroy won't run. */
    if (new_hook == NULL || new_slot == NULL) {
      g_free(new_hook);
      g_free(new_slot);
      return _tl_fail(TL_ERR_NO_MEMORY, "out of memory setting an exit hook");
    }
    new_slot->refcount = 1;
    new_hook->refcount = 1;
    new_hook->fn = hook;
    new_hook->user_data = user_data;
    new_hook->user_data_destroy = user_data_destroy;
  } else if (user_data_destroy != NULL) {
    user_data_destroy(user_data); /* nothing will hold user_data */
  }
  _tl_registry_lock();
  if (local->hooks == NULL) {
    local->hooks = new_slot; /* stays NULL when removing a hook from a local that never had one */
    new_slot = NULL;
  }
  old_hook = NULL;
  if (local->hooks != NULL) {
    old_hook = local->hooks->hook;
    local->hooks->hook = new_hook;
  }
  _tl_registry_unlock();
  g_free(new_slot);
  hook_unref(old_hook);
  return TL_OK;
}
