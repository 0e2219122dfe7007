/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* TlLocal's layout and lifecycle helpers (tl-local.c). Not installed. */
#ifndef TL_LOCAL_PRIVATE_H
#define TL_LOCAL_PRIVATE_H

#include <glib.h>

#include "tl-error-private.h"
#include "tlslocal.h"

#define TL_LOCAL_MAGIC 0x744c6f63u /* "tLoc" */
#define TL_LOCAL_DEAD 0x64656164u  /* "dead": catches most uses of a destroyed handle */

typedef struct _TlEntry TlEntry;
typedef struct _TlInitializer TlInitializer;
typedef struct _TlHookSlot TlHookSlot;

struct _TlLocal {
  guint32 magic;
  guint32 id;          /* index into every thread's slots; reused after destruction */
  gint refcount;       /* atomic */
  guint32 flags;       /* TlLocalFlags; immutable */
  TlInitializer *init; /* NULL if none; immutable */
  TlEntry *entries;    /* every thread's entry for this local; registry lock */
  TlHookSlot *hooks;   /* NULL until an exit hook is first set; registry lock */
};

static inline gboolean
_tl_local_is_valid(const TlLocal *local)
{
  return local != NULL && local->magic == TL_LOCAL_MAGIC;
}

/* Records why local is not a valid TlLocal (NULL, destroyed, something else). @return the
 * status. */
int _tl_local_fail_invalid(const TlLocal *local);
/* Under the registry lock: a local with a new id and one reference. NULL if out of memory. */
TlLocal *_tl_local_create_locked(guint32 flags, TlInitializer *init);
/* Frees the memory of a local that nobody ever saw. */
void _tl_local_free(TlLocal *local);

#endif /* TL_LOCAL_PRIVATE_H */
