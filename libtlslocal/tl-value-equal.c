/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Equality of values, by type and contents, without recursion. */
#include <string.h>

#include "tl-error-private.h"
#include "tl-memory-private.h"
#include "tl-value-private.h"

/* Equal but for the values a snapshot carries. Two basic values compare by their payloads as GLib
 * would (a double bit for bit), without making their GVariants. */
static gboolean
shallow_equal(const TlValue *a, const TlValue *b)
{
  if (a->kind != b->kind)
    return FALSE;
  if (a->kind == TL_VALUE_POINTER)
    return a->u.pointer.ptr == b->u.pointer.ptr && a->u.pointer.destroy == b->u.pointer.destroy;
  if (a->scalar_type != '\0' && a->scalar_type != 'A' && a->scalar_type == b->scalar_type) {
    if (a->scalar_type == 's' || a->scalar_type == 'o' || a->scalar_type == 'g')
      return strcmp(a->scalar.str, b->scalar.str) == 0;
    return memcmp(&a->scalar.u64, &b->scalar.u64, sizeof a->scalar.u64) == 0;
  }
  return a->n_handles == b->n_handles &&
         g_variant_equal(_tl_value_variant(a), _tl_value_variant(b));
}

typedef struct {
  const TlValue *a, *b;
} ValuePair;

/* Doubles *pairs (the first array is first_pairs, on the caller's stack). @return 1, or
 * TL_ERR_NO_MEMORY (recorded). */
static int
grow_pairs(ValuePair **pairs, ValuePair *first_pairs, size_t *capacity)
{
  ValuePair *grown = _tl_new(ValuePair, *capacity * 2);

  if (grown == NULL)
    return _tl_fail(TL_ERR_NO_MEMORY, "out of memory comparing snapshots");
  memcpy(grown, *pairs, *capacity * sizeof *grown);
  if (*pairs != first_pairs)
    g_free(*pairs);
  *pairs = grown;
  *capacity *= 2;
  return 1;
}

int
tl_value_equal(const TlValue *a, const TlValue *b)
{
  /* Snapshots: <handle N> is only a name; what it stands for must be equal too. Carried snapshots
   * wait on a list rather than in recursion: a chain of them can be a million deep. Other carried
   * values are compared at once, so a chain's list stays short. */
  ValuePair first_pairs[16], *pairs = first_pairs;
  size_t n_pairs = 0, capacity = G_N_ELEMENTS(first_pairs);
  int result = 1;

  if (!_tl_value_is_valid(a))
    return _tl_value_fail_invalid(a);
  if (!_tl_value_is_valid(b))
    return _tl_value_fail_invalid(b);
  if (a == b)
    return 1;
  if (!shallow_equal(a, b))
    return 0;
  pairs[n_pairs++] = (ValuePair){a, b};
  while (n_pairs > 0 && result == 1) {
    ValuePair pair = pairs[--n_pairs];
    guint32 i;

    for (i = 0; i < pair.a->n_handles && result == 1; i++) {
      const TlValue *carried_a = pair.a->handles[i], *carried_b = pair.b->handles[i];

      if (carried_a == carried_b || carried_a->n_handles == 0) {
        result = carried_a == carried_b || shallow_equal(carried_a, carried_b);
      } else if (!shallow_equal(carried_a, carried_b)) {
        result = 0;
      } else if (n_pairs < capacity || (result = grow_pairs(&pairs, first_pairs, &capacity)) == 1) {
        pairs[n_pairs++] = (ValuePair){carried_a, carried_b};
      }
    }
  }
  if (pairs != first_pairs)
    g_free(pairs);
  return result;
}
