/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Interning strings as quarks. Slow path, under the registry lock (which fork() already holds
 * across the fork, so a child finds the table consistent); reads of the table are lock-free
 * (tl-quark-private.h). Everything here lives as long as the process: a quark's string is
 * borrowed by callers forever. */
#include <string.h>

#include "tl-error-private.h"
#include "tl-memory-private.h"
#include "tl-quark-private.h"
#include "tl-registry-private.h"

TlKey *_tl_quark_segments[TL_QUARK_SEGMENTS];

/* The interning index: open addressing on the key hash, holding quarks (0 = empty). Registry
 * lock. */
static guint32 *intern_index;
static guint32 intern_mask; /* index size - 1; the index is NULL until the first quark */
static guint32 n_quarks;    /* the last quark handed out */

static guint32
intern_find(const TlKey *key)
{
  guint32 position;

  if (intern_index == NULL)
    return 0;
  for (position = key->hash & intern_mask;; position = (position + 1) & intern_mask) {
    guint32 quark = intern_index[position];
    const TlKey *known;

    if (quark == 0)
      return 0;
    known = _tl_quark_key(quark);
    if (known->hash == key->hash && known->len == key->len &&
        memcmp(known->str, key->str, key->len) == 0)
      return quark;
  }
}

static void
intern_index_put(guint32 *index, guint32 mask, guint32 quark)
{
  guint32 position = _tl_quark_key(quark)->hash & mask;

  while (index[position] != 0)
    position = (position + 1) & mask;
  index[position] = quark;
}

/* Room for one more quark: the index at most half full, and the next quark's segment. On failure
 * nothing changed. */
static int
make_room(void)
{
  guint32 next = n_quarks + 1;
  guint segment;

  if (next == 0 || next > G_MAXUINT32 / 4)
    return _tl_fail(TL_ERR_NO_MEMORY, "the process cannot hold more quarks");
  segment = _tl_quark_segment(next);
  if (_tl_quark_segments[segment] == NULL) {
    TlKey *slots = _tl_new0(TlKey, (gsize) 1 << segment);

    if (slots == NULL)
      return _tl_fail(TL_ERR_NO_MEMORY, "out of memory interning a string");
    __atomic_store_n(&_tl_quark_segments[segment], slots, __ATOMIC_RELEASE);
  }
  if (intern_index == NULL || next > (intern_mask + 1) / 2) {
    guint32 size = intern_index == NULL ? 64 : (intern_mask + 1) * 2, quark;
    guint32 *index = _tl_new0(guint32, size);

    if (index == NULL)
      return _tl_fail(TL_ERR_NO_MEMORY, "out of memory interning a string");
    for (quark = 1; quark <= n_quarks; quark++)
      intern_index_put(index, size - 1, quark);
    g_free(intern_index);
    intern_index = index;
    intern_mask = size - 1;
  }
  return TL_OK;
}

/* Hands out the next quark for key, whose string is copied. @return the quark, or 0
 * (TL_ERR_NO_MEMORY recorded). Registry lock. */
static guint32
intern_new(const TlKey *key)
{
  guint32 quark = n_quarks + 1;
  TlKey *slot;
  char *copy;

  if (make_room() != TL_OK)
    return 0;
  if ((copy = _tl_strndup(key->str, key->len)) == NULL) {
    _tl_fail(TL_ERR_NO_MEMORY, "out of memory interning a string");
    return 0;
  }
  slot = _tl_quark_slot(quark); /* its segment: made by make_room() */
  slot->len = key->len;
  slot->hash = key->hash;
  __atomic_store_n(&slot->str, copy, __ATOMIC_RELEASE); /* published: readers see len and hash */
  n_quarks = quark;
  intern_index_put(intern_index, intern_mask, quark);
  return quark;
}

TlQuark
tl_quark_from_string(const char *string)
{
  TlKey key = {NULL, 0, 0};
  guint32 quark;

  if (_tl_key_prepare(string, &key) != TL_OK)
    return 0;
  _tl_registry_lock();
  quark = intern_find(&key);
  if (quark == 0)
    quark = intern_new(&key);
  _tl_registry_unlock();
  return quark;
}

const char *
tl_quark_to_string(TlQuark quark)
{
  const TlKey *key = _tl_quark_key(quark);

  if (key == NULL) {
    _tl_fail(TL_ERR_INVALID_KEY, "not a quark of this process");
    return NULL;
  }
  return key->str;
}
