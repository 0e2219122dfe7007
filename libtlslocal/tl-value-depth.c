/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The depth limit: how many container levels a value or a type string has (TL_VALUE_MAX_DEPTH). */
#include <string.h>

#include "tl-error-private.h"
#include "tl-value-private.h"

int
_tl_value_check_depth(guint depth)
{
  if (depth <= TL_VALUE_MAX_DEPTH)
    return TL_OK;
  return _tl_failf(TL_ERR_INVALID_ARGUMENT,
                   "the value would nest %u container levels deep; a "
                   "value holds %d at most",
                   depth, TL_VALUE_MAX_DEPTH);
}

/* Checks element_type, or takes first's type when it is NULL (then first must be given).
 * @return the type, or NULL (TL_ERR_INVALID_ARGUMENT recorded). */
/* Container nesting of the type string from type to end: "t" 0, "mt" 1, "a{sv}" 2, "(ia(ii))" 2.
 * GLib's valid type strings nest 128 levels at most; anything deeper is reported as deeper than
 * any limit. Also given the unchecked annotations of text to parse, so it never reads outside. */
guint
_tl_type_nesting_of(const char *type, const char *end)
{
  char open[256]; /* 'p' for an a/m prefix, 'g' for a ( or { group */
  size_t depth = 0, deepest = 0;
  const char *c;

  for (c = type; c < end; c++) {
    if (*c == 'a' || *c == 'm' || *c == '(' || *c == '{') {
      if (depth == sizeof open)
        return (guint) depth + 1;
      open[depth++] = (*c == 'a' || *c == 'm') ? 'p' : 'g';
      deepest = MAX(deepest, depth);
      continue;
    }
    if ((*c == ')' || *c == '}') && depth > 0)
      depth--; /* its group */
    /* A complete type ends here: it satisfies every prefix waiting for it. */
    while (depth > 0 && open[depth - 1] == 'p')
      depth--;
  }
  return (guint) deepest;
}

guint
_tl_type_nesting(const char *type)
{
  return _tl_type_nesting_of(type, type + strlen(type));
}

/* The container levels of variant below level (its own level), by its type and, where the type
 * has variants inside, by what they hold. The walk stops once past TL_VALUE_MAX_DEPTH, so the
 * recursion never goes deeper than that, however deep a value built with GLib may be. */
guint
_tl_variant_depth(GVariant *variant, guint level)
{
  const char *type = g_variant_get_type_string(variant);
  guint deepest = level + _tl_type_nesting(type);
  gsize i, n_children;

  if (strchr(type, 'v') == NULL || deepest > TL_VALUE_MAX_DEPTH)
    return deepest;
  n_children = g_variant_n_children(variant);
  for (i = 0; i < n_children && deepest <= TL_VALUE_MAX_DEPTH; i++) {
    GVariant *child = g_variant_get_child_value(variant, i);
    guint child_deepest = _tl_variant_depth(child, level + 1);

    deepest = MAX(deepest, child_deepest);
    g_variant_unref(child);
  }
  return deepest;
}

guint
_tl_value_depth(const TlValue *value)
{
  guint depth = __atomic_load_n(&value->depth, __ATOMIC_RELAXED);

  if (depth == TL_DEPTH_UNKNOWN) {
    /* A value that exists is within the limit: only basic and GLib-made values come here. */
    depth = MIN(_tl_variant_depth(_tl_value_variant(value), 0), TL_VALUE_MAX_DEPTH + 1);
    __atomic_store_n(&((TlValue *) value)->depth, (guint8) depth, __ATOMIC_RELAXED);
  }
  return depth;
}

/* ---- the depth of serialised bytes, without GLib ----
 * tl_value_deserialize() must refuse values nested past the limit, and finding how deep the
 * variants inside go with _tl_variant_depth() costs a GVariant per container child (an allocation
 * and a type-cache lookup under GLib's global lock): for a 20-key nested a{sv}, most of the call.
 * This walk reads the little-endian normal form (GLib checked it first) in place, with the layout
 * rules of GVariant's serialisation: alignment, fixed sizes, framing offsets. Bytes it cannot make
 * sense of count as too deep: refused, never trusted. */

#define TL_TOO_DEEP (TL_VALUE_MAX_DEPTH + 1)

/* The end of the one complete type starting at type (a valid type string). */
static const char *
type_end(const char *type)
{
  switch (*type) {
  case 'a':
  case 'm': return type_end(type + 1);
  case '(':
  case '{':
    for (type++; *type != ')' && *type != '}';)
      type = type_end(type);
    return type + 1;
  default: return type + 1;
  }
}

typedef struct {
  gsize alignment;  /* 1, 2, 4 or 8 */
  gsize fixed_size; /* 0: variable */
} TlShape;

static gsize
align_up(gsize offset, gsize alignment)
{
  return (offset + alignment - 1) & ~(alignment - 1);
}

static TlShape
type_shape(const char *type)
{
  TlShape shape = {1, 0};

  switch (*type) {
  case 'b':
  case 'y': shape.fixed_size = 1; break;
  case 'n':
  case 'q': shape.alignment = shape.fixed_size = 2; break;
  case 'i':
  case 'u':
  case 'h': shape.alignment = shape.fixed_size = 4; break;
  case 'x':
  case 't':
  case 'd': shape.alignment = shape.fixed_size = 8; break;
  case 'v': shape.alignment = 8; break;
  case 'a':
  case 'm': shape.alignment = type_shape(type + 1).alignment; break;
  case '(':
  case '{': {
    gsize offset = 0;
    gboolean fixed = TRUE;

    for (type++; *type != ')' && *type != '}'; type = type_end(type)) {
      TlShape member = type_shape(type);

      shape.alignment = MAX(shape.alignment, member.alignment);
      fixed = fixed && member.fixed_size != 0;
      if (fixed)
        offset = align_up(offset, member.alignment) + member.fixed_size;
    }
    if (fixed) /* the unit type () takes one byte */
      shape.fixed_size = offset == 0 ? 1 : align_up(offset, shape.alignment);
    break;
  }
  default: break; /* s, o, g: variable, byte-aligned */
  }
  return shape;
}

static gsize
offset_size(gsize container_size)
{
  return container_size == 0             ? 0
         : container_size <= G_MAXUINT8  ? 1
         : container_size <= G_MAXUINT16 ? 2
         : container_size <= G_MAXUINT32 ? 4
                                         : 8;
}

static gsize
read_offset(const guint8 *bytes, gsize size)
{
  gsize value = 0, i;

  for (i = 0; i < size; i++)
    value |= (gsize) bytes[i] << (8 * i);
  return value;
}

static guint serialised_depth(const char *type, const char *end, const guint8 *data, gsize size,
                              guint level);

/* MAX() of a call would make it twice: at every level, so 2^depth walks. */
static guint
deeper(guint a, guint b)
{
  return a > b ? a : b;
}

/* The depth of a child at data[start, end), or too deep if those bounds are not inside size. */
static guint
child_depth(const char *type, const guint8 *data, gsize start, gsize end, gsize size, guint level)
{
  if (start > end || end > size)
    return TL_TOO_DEEP;
  return serialised_depth(type, type_end(type), data + start, end - start, level);
}

static guint
serialised_depth(const char *type, const char *end, const guint8 *data, gsize size, guint level)
{
  guint deepest = level + _tl_type_nesting_of(type, end);
  gsize n_offsets, osize = offset_size(size);

  if (memchr(type, 'v', (gsize) (end - type)) == NULL || deepest > TL_VALUE_MAX_DEPTH || size == 0)
    return deepest; /* no variants inside, or Nothing, an empty array (or the unit of a variant) */
  switch (*type) {
  case 'v': {
    const guint8 *separator = data + size;
    char inner[256];
    gsize type_length;

    while (separator > data && separator[-1] != '\0')
      separator--;
    type_length = (gsize) (data + size - separator);
    if (separator == data || type_length == 0 || type_length >= sizeof inner)
      return TL_TOO_DEEP;
    memcpy(inner, separator, type_length);
    inner[type_length] = '\0';
    return deeper(deepest, serialised_depth(inner, inner + type_length, data,
                                            (gsize) (separator - 1 - data), level + 1));
  }
  case 'm': {
    TlShape element = type_shape(type + 1);

    return deeper(deepest, child_depth(type + 1, data, 0, element.fixed_size ? size : size - 1,
                                       size, level + 1));
  }
  case 'a': {
    TlShape element = type_shape(type + 1);
    gsize i, start = 0, frame;

    if (element.fixed_size != 0) {
      for (i = 0; i + element.fixed_size <= size && deepest <= TL_VALUE_MAX_DEPTH;
           i += element.fixed_size)
        deepest = deeper(deepest,
                         child_depth(type + 1, data, i, i + element.fixed_size, size, level + 1));
      return deepest;
    }
    frame = read_offset(data + size - osize, osize);
    if (frame > size || (size - frame) % osize != 0)
      return TL_TOO_DEEP;
    for (i = frame; i < size && deepest <= TL_VALUE_MAX_DEPTH; i += osize) {
      gsize child_end = read_offset(data + i, osize);

      start = align_up(start, element.alignment);
      deepest = deeper(deepest, child_depth(type + 1, data, start, child_end, frame, level + 1));
      start = child_end;
    }
    return deepest;
  }
  case '(':
  case '{': {
    const char *member, *next;
    gsize position = 0, n_used = 0;

    /* Every variable-size member but the last has a framing offset, stored from the end. */
    n_offsets = 0;
    for (member = type + 1; *member != ')' && *member != '}'; member = next) {
      next = type_end(member);
      if (type_shape(member).fixed_size == 0 && *next != ')' && *next != '}')
        n_offsets++;
    }
    if (n_offsets * osize > size)
      return TL_TOO_DEEP;
    for (member = type + 1; *member != ')' && *member != '}' && deepest <= TL_VALUE_MAX_DEPTH;
         member = next) {
      TlShape shape = type_shape(member);
      gsize member_end;

      next = type_end(member);
      position = align_up(position, shape.alignment);
      if (shape.fixed_size != 0)
        member_end = position + shape.fixed_size;
      else if (*next == ')' || *next == '}')
        member_end = size - n_offsets * osize;
      else
        member_end = read_offset(data + size - (++n_used) * osize, osize);
      deepest = deeper(deepest, child_depth(member, data, position, member_end,
                                            size - n_offsets * osize, level + 1));
      position = member_end;
    }
    return deepest;
  }
  default: return TL_TOO_DEEP; /* a basic type has no 'v' inside: never here */
  }
}

guint
_tl_serialised_depth(const char *type, const void *data, gsize size)
{
  return serialised_depth(type, type + strlen(type), data, size, 0);
}
