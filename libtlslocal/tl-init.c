/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Initializers: a thread's first access to a local with one makes the dictionary, then runs it. */
#include "tl-error-private.h"
#include "tl-init-private.h"
#include "tl-local-private.h"
#include "tl-registry-private.h"
#include "tl-thread-private.h"

static int
run_initializer(TlLocal *local)
{
  TlInitializer *init = local->init;

  if (init->ffi != NULL)
    return _tl_ffi_call(init->ffi, local);
  return init->fn(local, init->user_data);
}

/* The locals whose initializer this thread is running, or whose failed initializer's dictionary it
 * is dropping, innermost first: frames on the stack of _tl_entry_create_initialized(). An access
 * that would run such a local's initializer again fails instead. The initializer's own accesses
 * find the dictionary in place and never get that far: only those after it was freed meanwhile (a
 * destroy function calling tl_thread_clear()), or those of a failed initializer's destroy
 * functions, do, and running the initializer again from them would nest without bound. */
typedef struct InitFrame {
  const TlLocal *local;
  struct InitFrame *outer;
} InitFrame;
static _Thread_local InitFrame *busy_initializers;

static gboolean
initializer_busy(const TlLocal *local)
{
  const InitFrame *frame;

  for (frame = busy_initializers; frame != NULL; frame = frame->outer)
    if (frame->local == local)
      return TRUE;
  return FALSE;
}

/* Slow path of a thread's first access: create the dictionary, then run the initializer with the
 * dictionary already in place, so its own accesses find it instead of recursing. *out_created
 * (nullable) is set when the dictionary returned is new and empty: no initializer filled it. */
int
_tl_entry_create_initialized(TlLocal *local, TlEntry **out, gboolean *out_created)
{
  TlEntry *entry;
  InitFrame frame;
  int result, status;

  /* The first access of a local in a fork() child: free what the fork left first. Its destroy
   * functions may have touched this local, so look again. */
  _tl_fork_release_orphans();
  if ((*out = _tl_entry_current(local)) != NULL)
    return TL_OK;
  if (initializer_busy(local))
    return _tl_fail(TL_ERR_INIT_FAILED, "the local's initializer is running, or failed, further up "
                                        "this thread's stack");
  entry = _tl_entry_create(local);
  if (entry == NULL)
    return tl_last_error();
  if (!_tl_local_has_initializer(local)) {
    *out = entry;
    if (out_created != NULL)
      *out_created = TRUE;
    return TL_OK;
  }
  frame.local = local;
  frame.outer = busy_initializers;
  busy_initializers = &frame;
  result = run_initializer(local);
  if (_tl_entry_current(local) != entry) {
    /* User code it set off freed this very dictionary (a destroy function calling
     * tl_thread_clear()): the entry is gone, and no other could be made meanwhile. */
    status = _tl_fail(TL_ERR_INIT_FAILED, "the thread's dictionary was freed while the local's "
                                          "initializer ran");
  } else if (result == 0) {
    *out = entry;
    status = TL_OK;
  } else {
    _tl_entry_discard(entry); /* so the next access tries again */
    TL_THREAD_CHANGED();
    status =
        _tl_failf(TL_ERR_INIT_FAILED, "the local's initializer returned %d in this thread", result);
  }
  busy_initializers = frame.outer;
  return status;
}

void
_tl_initializer_free(TlInitializer *init)
{
  if (init == NULL)
    return;
  if (init->ffi != NULL)
    _tl_ffi_free(init->ffi);
  if (init->user_data_destroy != NULL)
    init->user_data_destroy(init->user_data);
  g_free(init);
}
