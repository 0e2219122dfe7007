/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The per-thread dictionary (tl-dict.c) and its key hash (inline; secrets in tl-key.c). Not
 * installed. */
#ifndef TL_DICT_PRIVATE_H
#define TL_DICT_PRIVATE_H

#include <glib.h>
#include <string.h>

#include "tl-error-private.h"
#include "tl-value-private.h"

/* A compact, insertion-ordered open-addressing map (the layout CPython's dict uses): a dense item
 * array in insertion order plus a power-of-two index of item positions probed linearly. Only its
 * owner thread touches it, so it needs no synchronisation. */

/* For the hot path's probe: inlined into every access (a call to it was a quarter of a quark
 * read). */
#if defined(__GNUC__)
#  define TL_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#  define TL_ALWAYS_INLINE inline
#endif

/* Keys shorter than this live in the item itself: no allocation per key, and a lookup touches one
 * cache line fewer. Longer keys are allocated. */
#define TL_DICT_INLINE_KEY 16

typedef struct {
  union {
    char *heap;                            /* key_len >= TL_DICT_INLINE_KEY */
    char inline_bytes[TL_DICT_INLINE_KEY]; /* shorter keys, NUL-terminated */
  } key;
  TlValue *value; /* NULL marks a deleted item (its key_len is 0) */
  guint32 hash;
  guint32 key_len;
} TlDictItem;

static inline const char *
_tl_item_key(const TlDictItem *item)
{
  return item->key_len < TL_DICT_INLINE_KEY ? item->key.inline_bytes : item->key.heap;
}

static inline void
_tl_item_free_key(TlDictItem *item)
{
  if (item->key_len >= TL_DICT_INLINE_KEY)
    g_free(item->key.heap);
}

typedef struct {
  TlDictItem *items;
  guint32 *index;  /* 0 = empty, TL_DICT_DELETED = tombstone, else item position + 1 */
  guint32 n_items; /* used item slots, deleted ones included */
  guint32 n_live;
  guint32 items_capacity;
  guint32 index_mask; /* index size - 1; the index is NULL while no key was ever set */
} TlDict;

/* A key checked and hashed once, then used for lookup and insertion. */
typedef struct {
  const char *str;
  guint32 len;
  guint32 hash;
} TlKey;

#define TL_DICT_DELETED G_MAXUINT32

/* Loads 1..8 bytes without reading past them: two overlapping loads, or three byte loads. A
 * variable-length memcpy into a zeroed word would compile to a byte loop whose stores the following
 * 8-byte load cannot forward from, a stall measured at half the cost of a whole lookup. */
static inline guint64
_tl_load_short(const unsigned char *bytes, size_t n)
{
  if (n >= 4) {
    guint32 low, high;
    memcpy(&low, bytes, 4);
    memcpy(&high, bytes + n - 4, 4);
    return ((guint64) high << 32) | low;
  }
  return bytes[0] | ((guint64) bytes[n >> 1] << 8) | ((guint64) bytes[n - 1] << 16);
}

/* The key hash's secret keys, drawn from the system's random source when the library is loaded:
 * keys often come from outside (header names, user ids), and an attacker who could compute the
 * hash could choose thousands of keys that share one index slot, making each insert and lookup
 * a linear walk (hash flooding). Never written after load. */
extern guint64 _tl_hash_keys[8];

/* The folded product of a and b: all 128 bits of a * b folded to 64. */
static inline guint64
_tl_hash_fold(guint64 a, guint64 b)
{
#ifdef __SIZEOF_INT128__
  unsigned __int128 product = (unsigned __int128) a * b;

  return (guint64) product ^ (guint64) (product >> 64);
#else
  guint64 a_low = (guint32) a, a_high = a >> 32, b_low = (guint32) b, b_high = b >> 32;
  guint64 low = a_low * b_low, middle1 = a_high * b_low, middle2 = a_low * b_high;
  guint64 high = a_high * b_high,
          carry = ((low >> 32) + (guint32) middle1 + (guint32) middle2) >> 32;

  return (low + (middle1 << 32) + (middle2 << 32)) ^
         (high + (middle1 >> 32) + (middle2 >> 32) + carry);
#endif
}

static inline guint64
_tl_load64(const unsigned char *bytes)
{
  guint64 word;

  memcpy(&word, bytes, sizeof word);
  return word;
}

static inline guint64
_tl_load32(const unsigned char *bytes)
{
  guint32 word;

  memcpy(&word, bytes, sizeof word);
  return word;
}

/* Validate (NULL, UTF-8) and hash key in one pass. @return TL_OK or TL_ERR_INVALID_KEY (recorded).
 * Inline: it is most of the hot path's work. After a vectorised strlen, the bytes are read as two
 * words, overlapping, for keys up to 16 bytes (the usual ones) and 16 at a time beyond, and
 * mixed by folded 128-bit multiplies with the secret keys (the construction of wyhash, and of Go's
 * map hash, both seeded per process for the same reason). The same reads OR every byte, so ASCII
 * keys (the common case) are known valid UTF-8 for free. */
static inline int
_tl_key_prepare(const char *key, TlKey *out)
{
  const unsigned char *bytes = (const unsigned char *) key;
  guint64 seed, a, b, high_bits;
  size_t len;

  if (G_UNLIKELY(key == NULL))
    return _tl_fail(TL_ERR_INVALID_KEY, "key is NULL");
  len = strlen(key);
  seed = _tl_hash_keys[0] ^ len;
  if (G_LIKELY(len <= 16)) {
    if (len >= 8) { /* two words that overlap below 16 bytes */
      a = _tl_load64(bytes);
      b = _tl_load64(bytes + len - 8);
    } else if (len >= 4) {
      a = _tl_load32(bytes);
      b = _tl_load32(bytes + len - 4);
    } else {
      a = len > 0 ? _tl_load_short(bytes, len) : 0;
      b = 0;
    }
    high_bits = a | b;
  } else {
    const unsigned char *end = bytes + len;

    for (high_bits = 0; end - bytes > 16; bytes += 16) {
      a = _tl_load64(bytes);
      b = _tl_load64(bytes + 8);
      high_bits |= a | b;
      seed = _tl_hash_fold(a ^ _tl_hash_keys[1], b ^ seed);
    }
    a = _tl_load64(end - 16);
    b = _tl_load64(end - 8);
    high_bits |= a | b;
  }
  if (G_UNLIKELY(high_bits & G_GUINT64_CONSTANT(0x8080808080808080)) &&
      !g_utf8_validate(key, (gssize) len, NULL))
    return _tl_fail(TL_ERR_INVALID_KEY, "key is not valid UTF-8");
  if (G_UNLIKELY(len >= G_MAXUINT32))
    return _tl_fail(TL_ERR_INVALID_KEY, "key is longer than 4 GiB");
  out->str = key;
  out->len = (guint32) len;
  out->hash = (guint32) _tl_hash_fold(_tl_hash_keys[2] ^ len,
                                      _tl_hash_fold(a ^ _tl_hash_keys[1], b ^ seed));
  return TL_OK;
}

static TL_ALWAYS_INLINE gboolean
_tl_key_equal(const TlDictItem *item, const TlKey *key)
{
  if (item->hash != key->hash || item->key_len != key->len)
    return FALSE;
  if (key->len - 1u < 8u) /* 1..8 bytes, inline: no memcmp call, no pointer to follow */
    return _tl_load_short((const unsigned char *) item->key.inline_bytes, key->len) ==
           _tl_load_short((const unsigned char *) key->str, key->len);
  return memcmp(_tl_item_key(item), key->str, key->len) == 0;
}

/* @return the index position holding key, or -1. */
static TL_ALWAYS_INLINE gssize
_tl_dict_find_position(const TlDict *dict, const TlKey *key)
{
  guint32 position;

  if (dict->index == NULL)
    return -1;
  for (position = key->hash & dict->index_mask;; position = (position + 1) & dict->index_mask) {
    guint32 slot = dict->index[position];

    if (slot == 0)
      return -1;
    if (slot != TL_DICT_DELETED && _tl_key_equal(&dict->items[slot - 1], key))
      return position;
  }
}

static TL_ALWAYS_INLINE TlValue *
_tl_dict_lookup(const TlDict *dict, const TlKey *key)
{
  gssize position = _tl_dict_find_position(dict, key);

  return position < 0 ? NULL : dict->items[dict->index[position] - 1].value;
}

/* Stores value, taking over one reference the caller owns (on success only); *out_old receives the
 * replaced value (a reference the caller must drop after the dict is consistent again, since
 * dropping it may run user code). */
int _tl_dict_insert(TlDict *dict, const TlKey *key, TlValue *value, TlValue **out_old);
/* _tl_dict_insert() of a key known to be absent. */
int _tl_dict_insert_new(TlDict *dict, const TlKey *key, TlValue *value);
/* Makes room for n_more new keys, so that as many _tl_dict_insert_item() calls cannot fail.
 * @return TL_OK or TL_ERR_NO_MEMORY (recorded; dict unchanged). */
int _tl_dict_reserve(TlDict *dict, guint32 n_more);
/* Moves item (a key known to be absent, its copy and its value's reference) into dict, whose room
 * was reserved; item is left empty, and the dictionary it came from fit only to be freed. */
void _tl_dict_insert_item(TlDict *dict, TlDictItem *item);

/* Puts value at position (from _tl_dict_find_position) and returns the value it replaces, whose
 * reference passes to the caller. */
static inline TlValue *
_tl_dict_swap(TlDict *dict, gssize position, TlValue *value)
{
  TlDictItem *item = &dict->items[dict->index[position] - 1];
  TlValue *old = item->value;

  item->value = value;
  return old;
}
/* Removes key; *out_old receives the removed value's reference. @return TL_OK or
 * TL_ERR_NOT_FOUND. */
int _tl_dict_remove(TlDict *dict, const TlKey *key, TlValue **out_old);
/* Empties dict and returns its former items array (caller frees it with _tl_dict_items_release(),
 * which also frees arrays of copied items: allocated keys, and values that are not NULL). */
void _tl_dict_steal(TlDict *dict, TlDictItem **out_items, guint32 *out_n_items);
void _tl_dict_items_release(TlDictItem *items, guint32 n_items);
void _tl_dict_free_contents(TlDict *dict);
/* Frees a dictionary whose values were never referenced by it (a scratch map of borrowed
 * values). */
void _tl_dict_free_borrowed(TlDict *dict);
/* Moves from's contents into dict, which is empty; from becomes empty. */
void _tl_dict_adopt(TlDict *dict, TlDict *from);

/* Owned copies of the items of dict (keys duplicated, values referenced), or of its item for key
 * alone when key is not NULL (none if absent). @return TL_OK or TL_ERR_NO_MEMORY (recorded). */
int _tl_dict_copy_items(const TlDict *dict, const TlKey *key, TlDictItem **out_items,
                        guint32 *out_n);

#endif /* TL_DICT_PRIVATE_H */
