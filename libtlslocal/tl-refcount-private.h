/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Reference counting, one vocabulary for every refcounted object. Not installed. */
#ifndef TL_REFCOUNT_PRIVATE_H
#define TL_REFCOUNT_PRIVATE_H

#include <glib.h>

/* Every refcount in the library (values, locals, hooks) is counted with these two. Taking a
 * reference needs no ordering: the taker already holds one. Dropping one releases the dropper's
 * writes and, for the last, acquires everyone else's before the object is freed. */

static inline void
_tl_refcount_inc(gint *refcount)
{
  __atomic_fetch_add(refcount, 1, __ATOMIC_RELAXED);
}

/* @return TRUE if that was the last reference. */
static inline gboolean
_tl_refcount_dec(gint *refcount)
{
  return __atomic_fetch_sub(refcount, 1, __ATOMIC_ACQ_REL) == 1;
}

#endif /* TL_REFCOUNT_PRIVATE_H */
