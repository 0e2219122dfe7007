/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The value layout, its inline reference counting and the value files' shared helpers (tl-
 * value*.c). Not installed. */
#ifndef TL_VALUE_PRIVATE_H
#define TL_VALUE_PRIVATE_H

#include <glib.h>

#include "tl-error-private.h"
#include "tl-refcount-private.h"
#include "tlslocal.h"

#define TL_VALUE_MAGIC 0x7456616cu /* "tVal" */

typedef enum { TL_VALUE_VARIANT, TL_VALUE_POINTER } TlValueKind;

struct _TlValue {
  guint32 magic;
  gint refcount; /* atomic */
  TlValueKind kind;
  guint32 n_handles;
  /* Basic values' payload, read once at creation: accessors never enter GLib, whose every read of a
   * GVariant takes the value's bit lock (an atomic read-modify-write on memory shared by all the
   * threads reading one value, and a lock a fork() child may find held). scalar_type is the type
   * character for one-character types, 'A' for "ay", 0 otherwise. */
  char scalar_type;
  /* Container levels in the value and its type (TL_VALUE_MAX_DEPTH at most), or TL_DEPTH_UNKNOWN
   * until something asks (_tl_value_depth): known at once for values built here, found by a walk
   * for values parsed or taken from GLib. Written once, relaxed: every writer writes the same. */
  guint8 depth;
  gsize bytes_size;
  union {
    gint64 i64;
    guint64 u64;
    double d;
    const char *str;            /* into the serialised data */
    const void *bytes;          /* into the serialised data */
    struct _TlValue *free_next; /* once the last reference is gone: _tl_value_free's work list */
  } scalar;
  union {
    /* Owned, never floating. NULL for a basic value made by a typed constructor until something
     * needs its GVariant form (a container, text, a snapshot): _tl_value_variant() makes it then,
     * so the typed setters cost a malloc, not GLib's allocation and serialisation. */
    GVariant *variant;
    struct {
      void *ptr;
      TlDestroyFunc destroy;
    } pointer;
  } u;
  /* A snapshot's out-of-band values (as D-Bus carries fds): a "h" value N inside the variant stands
   * for handles[N]. NULL for every other value. */
  TlValue **handles;
};

/* GLib reads a value nested 128 container levels deep (arrays, maybes, tuples, dict entries and
 * variants, counted from the outermost) as "()", and its parser reads type strings back only to
 * 127: values deeper than this are refused where they would be made, never kept corrupted. */
#define TL_VALUE_MAX_DEPTH 127
#define TL_DEPTH_UNKNOWN 0xffu

/* Wraps variant (taking over one reference) with handles (taking over the array and its
 * references; NULL if none), depth if known (else TL_DEPTH_UNKNOWN). NULL (TL_ERR_NO_MEMORY) if out
 * of memory, the variant and handles released. */
TlValue *_tl_value_take_variant(GVariant *variant, TlValue **handles, guint32 n_handles,
                                guint depth);
/* The container levels of value, for the depth limit: 0 for basic and pointer values. */
guint _tl_value_depth(const TlValue *value);
/* @return TL_OK, or TL_ERR_INVALID_ARGUMENT (recorded) if depth is past TL_VALUE_MAX_DEPTH. */
int _tl_value_check_depth(guint depth);
/* Container nesting of a valid type string: "t" 0, "mt" 1, "a{sv}" 2. */
guint _tl_type_nesting(const char *type);
/* The same of the type string from type to end, which may be unchecked text: reads nothing
 * outside it, and reports more than any limit past 128 levels. */
guint _tl_type_nesting_of(const char *type, const char *end);
/* Container levels of variant plus level, counted only to just past TL_VALUE_MAX_DEPTH. */
guint _tl_variant_depth(GVariant *variant, guint level);
/* The same of a normal-form, little-endian serialisation of type at data (checked by GLib first):
 * read in place, no GVariant made. Past TL_VALUE_MAX_DEPTH for bytes it cannot make sense of. */
guint _tl_serialised_depth(const char *type, const void *data, gsize size);
/* Wraps variant (taking over one reference; a floating one is sunk), without handles. */
static inline TlValue *
_tl_value_take_variant_plain(GVariant *variant, guint depth)
{
  return _tl_value_take_variant(variant, NULL, 0, depth);
}
/* Records why value is not a valid TlValue. @return TL_ERR_INVALID_ARGUMENT. */
int _tl_value_fail_invalid(const TlValue *value);

static inline gboolean
_tl_value_is_valid(const TlValue *value)
{
  return value != NULL && value->magic == TL_VALUE_MAGIC;
}

GVariant *_tl_value_make_variant(const TlValue *value);

/* Frees a value whose last reference is gone, and the values it carries whose last reference that
 * was, without recursion (tl-value.c). */
void _tl_value_free(TlValue *value);

/* Reference counting of values already known valid: tl_value_ref()/unref() after their checks,
 * and the store path inline. */
static inline void
_tl_value_ref_valid(TlValue *value)
{
  _tl_refcount_inc(&value->refcount);
}

static inline void
_tl_value_unref_valid(TlValue *value)
{
  if (_tl_refcount_dec(&value->refcount))
    _tl_value_free(value);
}

/* The GVariant of a TL_VALUE_VARIANT value if it has been made yet, else NULL (a lazy basic
 * value). */
static inline GVariant *
_tl_value_variant_if_made(const TlValue *value)
{
  return __atomic_load_n(&value->u.variant, __ATOMIC_ACQUIRE);
}

/* The GVariant of a valid TL_VALUE_VARIANT value, made on first need (borrowed: the value keeps
 * it). Any thread may ask: the first one to finish publishes its GVariant; the others drop
 * theirs. */
static inline GVariant *
_tl_value_variant(const TlValue *value)
{
  GVariant *variant = _tl_value_variant_if_made(value);

  return G_LIKELY(variant != NULL) ? variant : _tl_value_make_variant(value);
}

#endif /* TL_VALUE_PRIVATE_H */
