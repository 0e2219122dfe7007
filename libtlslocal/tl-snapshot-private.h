/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The snapshot format (tl-snapshot.c). Not installed. */
#ifndef TL_SNAPSHOT_PRIVATE_H
#define TL_SNAPSHOT_PRIVATE_H

#include <glib.h>

#include "tl-dict-private.h"
#include "tl-value-private.h"

/* The snapshot format (tl_local_snapshot, tl_local_apply): an "a{sv}" value whose pointer values,
 * "h" values, snapshots carrying values, and values too deep to box travel beside it as handles.
 * @return a new reference; NULL only if out of memory (TL_ERR_NO_MEMORY recorded). */
TlValue *_tl_snapshot_new(const TlDict *dict);

/* @return the value a snapshot's unboxed child stands for: handles[N] for a "h" child, else a new
 * value wrapping child. Takes over child's reference. NULL if a handle is out of range
 * (TL_ERR_INVALID_ARGUMENT) or out of memory (TL_ERR_NO_MEMORY), with the last error recorded. */
TlValue *_tl_snapshot_resolve_child(const TlValue *snapshot, GVariant *child);
/* Child of a value that carries values (taking over child's reference). NULL if out of memory. */
TlValue *_tl_snapshot_part(const TlValue *parent, GVariant *child);

#endif /* TL_SNAPSHOT_PRIVATE_H */
