/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Named locals: one local per name in the process, shared by every caller that opens it. */
#include "tl-dict-private.h"
#include "tl-error-private.h"
#include "tl-local-private.h"
#include "tl-refcount-private.h"
#include "tl-registry-private.h"
#include "tl-value-private.h"

/* name -> TlLocal (the registry's reference); registry lock. A dictionary used as a plain map whose
 * item values are TlLocal pointers: only its lookup, insert and remove touch it, never a function
 * that takes item values for TlValues. */
static TlDict named_locals;

static inline TlLocal *
named_local_at(gssize position)
{
  return (TlLocal *) (void *) named_locals.items[named_locals.index[position] - 1].value;
}

/* Checks and hashes a name. @return TL_OK or TL_ERR_INVALID_KEY (recorded). */
static int
prepare_name(const char *name, TlKey *out)
{
  if (_tl_key_prepare(name, out) == TL_OK)
    return TL_OK;
  return _tl_fail(TL_ERR_INVALID_KEY, "name is NULL or not valid UTF-8");
}

TlLocal *
tl_local_open(const char *name)
{
  TlLocal *local = NULL;
  TlKey k;
  gssize position;

  if (prepare_name(name, &k) != TL_OK)
    return NULL;
  _tl_fork_release_orphans();
  _tl_registry_lock();
  position = _tl_dict_find_position(&named_locals, &k);
  if (position >= 0) {
    local = named_local_at(position);
  } else if ((local = _tl_local_create_locked(TL_LOCAL_DEFAULT, NULL)) != NULL &&
             _tl_dict_insert_new(&named_locals, &k, (TlValue *) (void *) local) != TL_OK) {
    /* Never seen by anyone: undone in place, as if never made. */
    _tl_registry_id_release(local->id);
    TL_STAT_ADD(_tl_stats_locals, -1);
    _tl_local_free(local);
    local = NULL;
  }
  if (local != NULL)
    _tl_refcount_inc(&local->refcount); /* the caller's; the registry keeps the first */
  _tl_registry_unlock();
  return local;
}

int
tl_local_unregister(const char *name)
{
  TlValue *removed = NULL;
  TlKey k;
  int status;

  if (prepare_name(name, &k) != TL_OK)
    return TL_ERR_INVALID_KEY;
  _tl_registry_lock();
  status = _tl_dict_remove(&named_locals, &k, &removed);
  _tl_registry_unlock();
  if (status != TL_OK)
    return _tl_failf(TL_ERR_NOT_FOUND, "no local is registered as '%s'", name);
  tl_local_unref((TlLocal *) (void *) removed); /* outside the lock: it may be the last reference */
  return TL_OK;
}
