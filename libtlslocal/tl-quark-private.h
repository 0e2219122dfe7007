/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Interned keys (quarks): the table that maps a quark to its key, read lock-free on the hot path
 * (tl-quark.c interns). Not installed. */
#ifndef TL_QUARK_PRIVATE_H
#define TL_QUARK_PRIVATE_H

#include <glib.h>

#include "tl-dict-private.h"

/* A quark's key is the TlKey its string would be prepared into, made once: reads by quark skip the
 * strlen, UTF-8 check and hash of every string read, and find what the string's key names (the
 * hash secrets never change after load, so the hash stays right for the process's life). Segment s
 * holds quarks [2^s, 2^(s+1)): segments never move once published, so a reader needs no lock, and
 * the table grows without copying. A slot's str is NULL until its quark is published. */
#define TL_QUARK_SEGMENTS 32
extern TlKey *_tl_quark_segments[TL_QUARK_SEGMENTS];

/* The segment holding quark (nonzero). */
static inline guint
_tl_quark_segment(guint32 quark)
{
  return 31 - (guint) __builtin_clz(quark);
}

/* The slot of quark (nonzero), published or not; NULL while its segment is not there. */
static inline TlKey *
_tl_quark_slot(guint32 quark)
{
  guint segment = _tl_quark_segment(quark);
  TlKey *slots = __atomic_load_n(&_tl_quark_segments[segment], __ATOMIC_ACQUIRE);

  return G_LIKELY(slots != NULL) ? &slots[quark - (1u << segment)] : NULL;
}

/* The key of quark, or NULL if no tl_quark_from_string() returned it. */
static inline const TlKey *
_tl_quark_key(guint32 quark)
{
  const TlKey *key;

  if (G_UNLIKELY(quark == 0) || G_UNLIKELY((key = _tl_quark_slot(quark)) == NULL))
    return NULL;
  return G_LIKELY(__atomic_load_n(&key->str, __ATOMIC_ACQUIRE) != NULL) ? key : NULL;
}

#endif /* TL_QUARK_PRIVATE_H */
