/* TlValue: an immutable, atomically refcounted GVariant or native pointer.
 * Every GLib call here is preceded by the checks that GLib would otherwise report as a critical. */
#include <string.h>

#include "tl-private.h"
#include "tlslocal-glib.h"

static void
cache_scalar(TlValue *value)
{
  GVariant *variant = value->u.variant;
  const char *type = g_variant_get_type_string(variant);

  value->scalar_type = type[1] == '\0' ? type[0] : 0;
  value->bytes_size = 0;
  value->scalar.u64 = 0;
  switch (value->scalar_type) {
  case 'b': value->scalar.i64 = g_variant_get_boolean(variant) ? 1 : 0; break;
  case 'y': value->scalar.u64 = g_variant_get_byte(variant); break;
  case 'n': value->scalar.i64 = g_variant_get_int16(variant); break;
  case 'q': value->scalar.u64 = g_variant_get_uint16(variant); break;
  case 'i': value->scalar.i64 = g_variant_get_int32(variant); break;
  case 'u': value->scalar.u64 = g_variant_get_uint32(variant); break;
  case 'x': value->scalar.i64 = g_variant_get_int64(variant); break;
  case 't': value->scalar.u64 = g_variant_get_uint64(variant); break;
  case 'd': value->scalar.d = g_variant_get_double(variant); break;
  case 'h': value->scalar.i64 = g_variant_get_handle(variant); break;
  case 's':
  case 'o':
  case 'g': value->scalar.str = g_variant_get_string(variant, NULL); break;
  default:
    if (strcmp(type, "ay") == 0) {
      value->scalar_type = 'A';
      value->scalar.bytes = g_variant_get_fixed_array(variant, &value->bytes_size, 1);
    }
    break;
  }
}

/* Releases handles[0, n_handles) and the array. */
static void
handles_release(TlValue **handles, guint32 n_handles)
{
  guint32 i;

  for (i = 0; i < n_handles; i++)
    tl_value_unref(handles[i]);
  g_free(handles);
}

TlValue *
_tl_value_take_variant(GVariant *variant, TlValue **handles, guint32 n_handles, guint depth)
{
  TlValue *value = _tl_new(TlValue, 1);

  if (value == NULL) {
    g_variant_unref(g_variant_take_ref(variant));
    handles_release(handles, n_handles);
    _tl_fail(TL_ERR_NO_MEMORY, "out of memory making a value");
    return NULL;
  }
  value->magic = TL_VALUE_MAGIC;
  value->refcount = 1;
  value->kind = TL_VALUE_VARIANT;
  value->u.variant = g_variant_take_ref(variant);
  /* Serialise now, on the creating thread: a container built from children is kept in tree form
   * until first read, and GLib serialises it then under a lock of its own that ThreadSanitizer
   * cannot see. A value is immutable and meant to be read by many threads, so pay once, here. */
  g_variant_get_data(value->u.variant);
  cache_scalar(value);
  value->depth = (guint8) depth;
  value->handles = handles;
  value->n_handles = n_handles;
  _tl_stats_values_add(1);
  return value;
}

/* Wraps variant, taking ownership of one reference (a floating one is taken over). */
static TlValue *
value_take_variant(GVariant *variant, guint depth)
{
  return _tl_value_take_variant(variant, NULL, 0, depth);
}

static int
fail_invalid_value(const TlValue *value)
{
  return _tl_fail(TL_ERR_INVALID_ARGUMENT,
                  value == NULL ? "value is NULL" : "value is not a valid TlValue (freed?)");
}

TlValue *
tl_value_ref(TlValue *value)
{
  if (G_UNLIKELY(!_tl_value_is_valid(value))) {
    if (value != NULL)
      fail_invalid_value(value);
    return NULL;
  }
  _tl_value_ref_valid(value);
  return value;
}

void
tl_value_unref(TlValue *value)
{
  if (G_UNLIKELY(!_tl_value_is_valid(value))) {
    if (value != NULL)
      fail_invalid_value(value);
    return;
  }
  _tl_value_unref_valid(value);
}

/* The values a dying snapshot carries join a work list instead of being freed by recursion: a
 * context that records its parent builds chains of snapshots, each carrying the one before, a
 * million deep, and freeing one must not take stack in proportion (nor overflow a worker thread's
 * small stack at its exit). */
void
_tl_value_free(TlValue *value)
{
  TlValue *pending = NULL;

  for (;; value = pending, pending = pending->scalar.free_next) {
    value->magic = 0;
    _tl_stats_values_add(-1);
    if (value->kind == TL_VALUE_VARIANT) {
      guint32 i;

      if (value->u.variant != NULL) /* the last reference: no thread is making it */
        g_variant_unref(value->u.variant);
      for (i = 0; i < value->n_handles; i++) {
        TlValue *carried = value->handles[i];

        if (_tl_refcount_dec(&carried->refcount)) {
          carried->scalar.free_next = pending;
          pending = carried;
        }
      }
      g_free(value->handles);
    } else if (value->u.pointer.destroy != NULL) {
      value->u.pointer.destroy(value->u.pointer.ptr);
    }
    g_free(value);
    if (pending == NULL)
      return;
  }
}

/* ---- scalars ---- */

/* A basic value whose GVariant is made only if something needs it (_tl_value_variant), with extra
 * bytes after the struct for a string's copy. The payload is set by the caller. */
static TlValue *
value_new_lazy(char type_char, size_t extra)
{
  TlValue *value = extra <= G_MAXSIZE - sizeof(TlValue) ? malloc(sizeof(TlValue) + extra) : NULL;

  if (value == NULL) {
    _tl_fail(TL_ERR_NO_MEMORY, "out of memory making a value");
    return NULL;
  }
  value->magic = TL_VALUE_MAGIC;
  value->refcount = 1;
  value->kind = TL_VALUE_VARIANT;
  value->n_handles = 0;
  value->scalar_type = type_char;
  value->depth = 0;
  value->bytes_size = 0;
  value->scalar.u64 = 0;
  value->u.variant = NULL;
  value->handles = NULL;
  _tl_stats_values_add(1);
  return value;
}

static TlValue *
value_new_lazy_string(const char *string)
{
  size_t size = strlen(string) + 1;
  TlValue *value = value_new_lazy('s', size);
  char *copy;

  if (value == NULL)
    return NULL;
  copy = (char *) (value + 1);
  memcpy(copy, string, size);
  value->scalar.str = copy;
  return value;
}

GVariant *
_tl_value_make_variant(const TlValue *value)
{
  TlValue *mutable_value = (TlValue *) value; /* only u.variant, published once, changes */
  GVariant *expected = NULL, *variant;

  switch (value->scalar_type) {
  case 'b': variant = g_variant_new_boolean(value->scalar.i64 != 0); break;
  case 'y': variant = g_variant_new_byte((guint8) value->scalar.u64); break;
  case 'n': variant = g_variant_new_int16((gint16) value->scalar.i64); break;
  case 'q': variant = g_variant_new_uint16((guint16) value->scalar.u64); break;
  case 'i': variant = g_variant_new_int32((gint32) value->scalar.i64); break;
  case 'u': variant = g_variant_new_uint32((guint32) value->scalar.u64); break;
  case 'x': variant = g_variant_new_int64(value->scalar.i64); break;
  case 't': variant = g_variant_new_uint64(value->scalar.u64); break;
  case 'd': variant = g_variant_new_double(value->scalar.d); break;
  case 'h': variant = g_variant_new_handle((gint32) value->scalar.i64); break;
  case 's': variant = g_variant_new_string(value->scalar.str); break;
  default: g_assert_not_reached();
  }
  g_variant_ref_sink(variant);
  if (!__atomic_compare_exchange_n(&mutable_value->u.variant, &expected, variant, FALSE,
                                   __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
    g_variant_unref(variant); /* another thread published first */
    variant = expected;
  }
  return variant;
}

/* Checks shared by every typed accessor: value holds a basic value of type character type_char. */
static int
checked_scalar(const TlValue *value, const void *out, char type_char)
{
  if (!_tl_value_is_valid(value))
    return fail_invalid_value(value);
  if (out == NULL)
    return _tl_fail(TL_ERR_INVALID_ARGUMENT, "out is NULL");
  if (value->kind != TL_VALUE_VARIANT || value->scalar_type != type_char)
    return _tl_failf(TL_ERR_WRONG_TYPE, "value has type '%s', not '%s'", tl_value_type(value),
                     type_char == 'A' ? "ay" : (char[]){type_char, '\0'});
  return TL_OK;
}

#define TL_DEFINE_SCALAR(name, c_type, type_char, payload, field)                                  \
  TlValue *tl_value_new_##name(c_type value)                                                       \
  {                                                                                                \
    TlValue *made = value_new_lazy(type_char, 0);                                                  \
    if (made != NULL)                                                                              \
      made->scalar.field = payload;                                                                \
    return made;                                                                                   \
  }                                                                                                \
  int tl_value_get_##name(const TlValue *value, c_type *out)                                       \
  {                                                                                                \
    int status = checked_scalar(value, out, type_char);                                            \
    if (status == TL_OK)                                                                           \
      *out = (c_type) value->scalar.field;                                                         \
    return status;                                                                                 \
  }

/* Payloads as cache_scalar() stores them: booleans 0 or 1, signed in i64, unsigned in u64. */
TL_DEFINE_SCALAR(bool, int, 'b', value != 0, i64)
TL_DEFINE_SCALAR(byte, uint8_t, 'y', value, u64)
TL_DEFINE_SCALAR(int16, int16_t, 'n', value, i64)
TL_DEFINE_SCALAR(uint16, uint16_t, 'q', value, u64)
TL_DEFINE_SCALAR(int32, int32_t, 'i', value, i64)
TL_DEFINE_SCALAR(uint32, uint32_t, 'u', value, u64)
TL_DEFINE_SCALAR(int64, int64_t, 'x', value, i64)
TL_DEFINE_SCALAR(uint64, uint64_t, 't', value, u64)
TL_DEFINE_SCALAR(double, double, 'd', value, d)
TL_DEFINE_SCALAR(handle, int32_t, 'h', value, i64)

TlValue *
tl_value_new_string(const char *string)
{
  if (string == NULL) {
    _tl_fail(TL_ERR_INVALID_ARGUMENT, "string is NULL");
    return NULL;
  }
  if (!g_utf8_validate(string, -1, NULL)) {
    _tl_fail(TL_ERR_INVALID_UTF8, "string is not valid UTF-8");
    return NULL;
  }
  return value_new_lazy_string(string);
}

int
tl_value_get_string(const TlValue *value, const char **out)
{
  if (!_tl_value_is_valid(value))
    return fail_invalid_value(value);
  if (out == NULL)
    return _tl_fail(TL_ERR_INVALID_ARGUMENT, "out is NULL");
  if (value->kind != TL_VALUE_VARIANT ||
      (value->scalar_type != 's' && value->scalar_type != 'o' && value->scalar_type != 'g'))
    return _tl_failf(TL_ERR_WRONG_TYPE, "value has type '%s', not a string type", tl_value_type(value));
  *out = value->scalar.str;
  return TL_OK;
}

TlValue *
tl_value_new_bytes(const void *data, size_t size)
{
  if (data == NULL && size > 0) {
    _tl_fail(TL_ERR_INVALID_ARGUMENT, "data is NULL but size is not 0");
    return NULL;
  }
  GBytes *bytes = g_bytes_new(data, size);
  TlValue *value = value_take_variant(g_variant_new_from_bytes(G_VARIANT_TYPE_BYTESTRING, bytes, TRUE),
                                      1);

  g_bytes_unref(bytes); /* the variant holds its own reference */
  return value;
}

int
tl_value_get_bytes(const TlValue *value, const void **out_data, size_t *out_size)
{
  int status;

  if (out_size == NULL)
    return _tl_fail(TL_ERR_INVALID_ARGUMENT, "out_size is NULL");
  status = checked_scalar(value, out_data, 'A');
  if (status != TL_OK)
    return status;
  *out_data = value->scalar.bytes;
  *out_size = value->bytes_size;
  return TL_OK;
}

TlValue *
tl_value_new_pointer(void *ptr, TlDestroyFunc destroy)
{
  TlValue *value = _tl_new(TlValue, 1);

  if (value == NULL) {
    _tl_fail(TL_ERR_NO_MEMORY, "out of memory making a value");
    return NULL;
  }
  value->magic = TL_VALUE_MAGIC;
  value->refcount = 1;
  value->kind = TL_VALUE_POINTER;
  value->u.pointer.ptr = ptr;
  value->u.pointer.destroy = destroy;
  value->scalar_type = 0;
  value->depth = 0;
  value->handles = NULL;
  value->n_handles = 0;
  _tl_stats_values_add(1);
  return value;
}

int
tl_value_get_pointer(const TlValue *value, void **out)
{
  if (!_tl_value_is_valid(value))
    return fail_invalid_value(value);
  if (out == NULL)
    return _tl_fail(TL_ERR_INVALID_ARGUMENT, "out is NULL");
  if (value->kind != TL_VALUE_POINTER)
    return _tl_failf(TL_ERR_WRONG_TYPE, "value has type '%s', not 'p'", tl_value_type(value));
  *out = value->u.pointer.ptr;
  return TL_OK;
}

/* ---- containers ---- */

/* Validates items as GVariant-backed values and finds the deepest. @return TL_OK or
 * TL_ERR_INVALID_ARGUMENT (recorded). */
static int
check_items(TlValue *const *items, size_t n_items, guint *out_deepest)
{
  size_t i;
  guint depth;

  *out_deepest = 0;
  if (items == NULL && n_items > 0)
    return _tl_fail(TL_ERR_INVALID_ARGUMENT, "items is NULL but n_items is not 0");
  for (i = 0; i < n_items; i++) {
    if (!_tl_value_is_valid(items[i]))
      return _tl_failf(TL_ERR_INVALID_ARGUMENT, "item %zu is NULL or not a valid TlValue", i);
    if (items[i]->kind != TL_VALUE_VARIANT)
      return _tl_failf(TL_ERR_INVALID_ARGUMENT, "item %zu is a pointer value, which containers cannot hold", i);
    if (items[i]->handles != NULL)
      return _tl_failf(TL_ERR_INVALID_ARGUMENT,
                       "item %zu is a snapshot carrying pointer values, which containers cannot hold", i);
    depth = _tl_value_depth(items[i]); /* once: MAX() evaluates its arguments twice */
    *out_deepest = MAX(*out_deepest, depth);
  }
  return TL_OK;
}

/* @return TL_OK if a value depth levels deep may be made, else TL_ERR_INVALID_ARGUMENT (recorded). */
static int
check_depth(guint depth)
{
  if (depth <= TL_VALUE_MAX_DEPTH)
    return TL_OK;
  return _tl_failf(TL_ERR_INVALID_ARGUMENT, "the value would nest %u container levels deep; a "
                   "value holds %d at most", depth, TL_VALUE_MAX_DEPTH);
}

/* Checks element_type, or takes first's type when it is NULL (then first must be given).
 * @return the type, or NULL (TL_ERR_INVALID_ARGUMENT recorded). */
static const char *
element_type_or_first(const char *element_type, const TlValue *first, const char *what)
{
  if (element_type == NULL) {
    if (first == NULL) {
      _tl_failf(TL_ERR_INVALID_ARGUMENT, "an empty %s needs an element_type", what);
      return NULL;
    }
    element_type = tl_value_type(first);
  }
  if (!g_variant_type_string_is_valid(element_type) ||
      !g_variant_type_is_definite(G_VARIANT_TYPE(element_type))) {
    _tl_failf(TL_ERR_INVALID_ARGUMENT, "'%s' is not a definite GVariant type string", element_type);
    return NULL;
  }
  return element_type;
}

static guint type_nesting(const char *type);

TlValue *
tl_value_new_tuple(TlValue *const *items, size_t n_items)
{
  GVariant **children;
  TlValue *value;
  guint deepest;
  size_t i;

  if (check_items(items, n_items, &deepest) != TL_OK || check_depth(deepest + 1) != TL_OK)
    return NULL;
  children = _tl_new(GVariant *, n_items);
  if (children == NULL) {
    _tl_fail(TL_ERR_NO_MEMORY, "out of memory making a tuple");
    return NULL;
  }
  for (i = 0; i < n_items; i++)
    children[i] = _tl_value_variant(items[i]);
  value = value_take_variant(g_variant_new_tuple(children, n_items), deepest + 1);
  g_free(children);
  return value;
}

TlValue *
tl_value_new_array(const char *element_type, TlValue *const *items, size_t n_items)
{
  const GVariantType *type;
  gboolean boxed;
  GVariant **children;
  TlValue *value;
  guint deepest, depth;
  size_t i;

  if (check_items(items, n_items, &deepest) != TL_OK ||
      (element_type = element_type_or_first(element_type, n_items > 0 ? items[0] : NULL,
                                            "array")) == NULL)
    return NULL;
  type = G_VARIANT_TYPE(element_type);
  boxed = g_variant_type_equal(type, G_VARIANT_TYPE_VARIANT);
  for (i = 0; i < n_items && !boxed; i++) {
    if (!g_variant_is_of_type(_tl_value_variant(items[i]), type)) {
      _tl_failf(TL_ERR_WRONG_TYPE, "item %zu has type '%s', not the element type '%s'", i,
                tl_value_type(items[i]), element_type);
      return NULL;
    }
  }
  /* Boxed items sit one level deeper, inside their variant. */
  depth = n_items > 0 ? deepest + (boxed ? 2 : 1) : 1 + type_nesting(element_type);
  if (check_depth(depth) != TL_OK)
    return NULL;
  children = _tl_new(GVariant *, n_items);
  if (children == NULL) {
    _tl_fail(TL_ERR_NO_MEMORY, "out of memory making an array");
    return NULL;
  }
  for (i = 0; i < n_items; i++)
    children[i] = boxed ? g_variant_new_variant(_tl_value_variant(items[i])) : _tl_value_variant(items[i]);
  value = value_take_variant(g_variant_new_array(type, children, n_items), depth);
  g_free(children);
  return value;
}

TlValue *
tl_value_new_maybe(const char *element_type, TlValue *child)
{
  GVariant *child_variant = NULL;
  guint deepest = 0, depth;

  if ((child != NULL && check_items(&child, 1, &deepest) != TL_OK) ||
      (element_type = element_type_or_first(element_type, child, "maybe")) == NULL)
    return NULL;
  if (child != NULL) {
    child_variant = _tl_value_variant(child);
    if (!g_variant_is_of_type(child_variant, G_VARIANT_TYPE(element_type))) {
      _tl_failf(TL_ERR_WRONG_TYPE, "child has type '%s', not the element type '%s'",
                tl_value_type(child), element_type);
      return NULL;
    }
  }
  depth = 1 + (child != NULL ? deepest : type_nesting(element_type));
  if (check_depth(depth) != TL_OK)
    return NULL;
  return value_take_variant(g_variant_new_maybe(G_VARIANT_TYPE(element_type), child_variant), depth);
}

/* The "a{sv}" value of dict's (key, value) pairs in order, each value 3 levels down (array, dict
 * entry, variant). NULL past the depth limit (TL_ERR_INVALID_ARGUMENT) or out of memory. */
static TlValue *
vardict_from_dict(const TlDict *dict)
{
  GVariant **entries;
  TlValue *value;
  guint32 i, n = 0;
  guint deepest = 0, depth;

  for (i = 0; i < dict->n_items; i++) {
    if (dict->items[i].value != NULL) {
      depth = _tl_value_depth(dict->items[i].value); /* once: MAX() evaluates its arguments twice */
      deepest = MAX(deepest, depth);
    }
  }
  if (dict->n_live > 0 && check_depth(deepest + 3) != TL_OK)
    return NULL;
  entries = _tl_new(GVariant *, dict->n_live);
  if (entries == NULL) {
    _tl_fail(TL_ERR_NO_MEMORY, "out of memory making a dictionary value");
    return NULL;
  }
  for (i = 0; i < dict->n_items; i++) {
    const TlDictItem *item = &dict->items[i];

    if (item->value != NULL)
      entries[n++] = g_variant_new_dict_entry(g_variant_new_string(_tl_item_key(item)),
                                              g_variant_new_variant(_tl_value_variant(item->value)));
  }
  value = value_take_variant(g_variant_new_array(G_VARIANT_TYPE("{sv}"), entries, n),
                             n > 0 ? deepest + 3 : 2);
  g_free(entries);
  return value;
}

TlValue *
tl_value_new_vardict(const char *const *keys, TlValue *const *values, size_t n_items)
{
  TlDict pairs = {0}; /* key -> value, borrowed: a repeated key keeps its first place, last value */
  TlValue *value = NULL;
  guint deepest;
  size_t i;

  if (keys == NULL && n_items > 0) {
    _tl_fail(TL_ERR_INVALID_ARGUMENT, "keys is NULL but n_items is not 0");
    return NULL;
  }
  if (check_items(values, n_items, &deepest) != TL_OK)
    return NULL;
  for (i = 0; i < n_items; i++) {
    TlKey key;
    TlValue *replaced;

    if (_tl_key_prepare(keys[i], &key) != TL_OK) {
      _tl_failf(TL_ERR_INVALID_KEY, "key %zu is NULL or not valid UTF-8", i);
      goto out;
    }
    if (_tl_dict_insert(&pairs, &key, values[i], &replaced) != TL_OK)
      goto out;
  }
  value = vardict_from_dict(&pairs); /* as deep as the values kept: a repeated key drops one */
out:
  _tl_dict_free_borrowed(&pairs);
  return value;
}

/* The container checks shared by n_children and get_child. */
static int
checked_container(const TlValue *value, const void *out, GVariant **variant)
{
  if (!_tl_value_is_valid(value))
    return fail_invalid_value(value);
  if (out == NULL)
    return _tl_fail(TL_ERR_INVALID_ARGUMENT, "out is NULL");
  /* Lazy values are all basic: no need to make their GVariant to say so. */
  if (value->kind != TL_VALUE_VARIANT || _tl_value_variant_if_made(value) == NULL ||
      !g_variant_is_container(value->u.variant))
    return _tl_failf(TL_ERR_WRONG_TYPE, "value has type '%s', which is not a container",
                     tl_value_type(value));
  *variant = value->u.variant;
  return TL_OK;
}

int
tl_value_n_children(const TlValue *value, size_t *out)
{
  GVariant *variant = NULL;
  int status = checked_container(value, out, &variant);

  if (status == TL_OK)
    *out = g_variant_n_children(variant);
  return status;
}

int
tl_value_get_child(const TlValue *value, size_t index, TlValue **out)
{
  GVariant *variant = NULL, *child;
  int status;
  size_t n_children;

  if (out != NULL)
    *out = NULL;
  status = checked_container(value, out, &variant);
  if (status != TL_OK)
    return status;
  n_children = g_variant_n_children(variant);
  if (index >= n_children)
    return _tl_failf(TL_ERR_OUT_OF_RANGE, "index %zu is out of range (%zu children)", index,
                     n_children);
  child = g_variant_get_child_value(variant, index);
  *out = value->handles != NULL ? _tl_snapshot_part(value, child)
                                : value_take_variant(child, TL_DEPTH_UNKNOWN);
  return *out != NULL ? TL_OK : tl_last_error();
}

/* The value of the last entry of key in dictionary, a string-keyed dictionary, unboxed if it is a
 * variant; NULL if there is none. The last, as tl_local_apply() and tl_value_new_vardict() keep the
 * last value of a key given twice (g_variant_lookup_value() gives the first). */
static GVariant *
lookup_last(GVariant *dictionary, const char *key)
{
  gsize i = g_variant_n_children(dictionary);

  while (i-- > 0) {
    GVariant *entry = g_variant_get_child_value(dictionary, i);
    GVariant *entry_key = g_variant_get_child_value(entry, 0);
    gboolean match = strcmp(g_variant_get_string(entry_key, NULL), key) == 0;
    GVariant *found = match ? g_variant_get_child_value(entry, 1) : NULL;

    g_variant_unref(entry_key);
    g_variant_unref(entry);
    if (found != NULL && g_variant_is_of_type(found, G_VARIANT_TYPE_VARIANT)) {
      GVariant *boxed = found;

      found = g_variant_get_variant(boxed);
      g_variant_unref(boxed);
    }
    if (found != NULL)
      return found;
  }
  return NULL;
}

int
tl_value_lookup(const TlValue *value, const char *key, TlValue **out)
{
  GVariant *variant = NULL, *found;
  int status;

  if (out != NULL)
    *out = NULL;
  status = checked_container(value, out, &variant);
  if (status != TL_OK)
    return status;
  if (!g_variant_is_of_type(variant, G_VARIANT_TYPE("a{s*}")))
    return _tl_failf(TL_ERR_WRONG_TYPE, "value has type '%s', not a string-keyed dictionary",
                     tl_value_type(value));
  if (key == NULL || !g_utf8_validate(key, -1, NULL))
    return _tl_fail(TL_ERR_INVALID_KEY, "key is NULL or not valid UTF-8");
  found = lookup_last(variant, key);
  if (found == NULL)
    return _tl_failf(TL_ERR_NOT_FOUND, "no key '%s' in the dictionary", key);
  /* In a snapshot, <handle N> stands for the value it carries. */
  *out = _tl_snapshot_resolve_child(value, found);
  return *out != NULL ? TL_OK : tl_last_error();
}

/* ---- text, type, equality ---- */

/* Container nesting of the type string from type to end: "t" 0, "mt" 1, "a{sv}" 2, "(ia(ii))" 2.
 * GLib's valid type strings nest 128 levels at most; anything deeper is reported as deeper than
 * any limit. Also given the unchecked annotations of text to parse, so it never reads outside. */
static guint
type_nesting_of(const char *type, const char *end)
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

static guint
type_nesting(const char *type)
{
  return type_nesting_of(type, type + strlen(type));
}

/* The container levels of variant below level (its own level), by its type and, where the type
 * has variants inside, by what they hold. The walk stops once past TL_VALUE_MAX_DEPTH, so the
 * recursion never goes deeper than that, however deep a value built with GLib may be. */
static guint
variant_depth(GVariant *variant, guint level)
{
  const char *type = g_variant_get_type_string(variant);
  guint deepest = level + type_nesting(type);
  gsize i, n_children;

  if (strchr(type, 'v') == NULL || deepest > TL_VALUE_MAX_DEPTH)
    return deepest;
  n_children = g_variant_n_children(variant);
  for (i = 0; i < n_children && deepest <= TL_VALUE_MAX_DEPTH; i++) {
    GVariant *child = g_variant_get_child_value(variant, i);
    guint child_deepest = variant_depth(child, level + 1);

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
    depth = MIN(variant_depth(_tl_value_variant(value), 0), TL_VALUE_MAX_DEPTH + 1);
    __atomic_store_n(&((TlValue *) value)->depth, (guint8) depth, __ATOMIC_RELAXED);
  }
  return depth;
}

/* Whether the \u or \U escape at escape names a surrogate or a code point past U+10FFFF: GLib's
 * parser turns it into UTF-8 unchecked, then fails g_variant_new_string()'s UTF-8 assertion (a
 * critical). */
static gboolean
is_bad_unicode_escape(const char *escape)
{
  int n_digits = escape[1] == 'u' ? 4 : escape[1] == 'U' ? 8 : 0, i;
  guint32 code_point = 0;

  for (i = 0; i < n_digits && g_ascii_isxdigit(escape[2 + i]); i++)
    code_point = code_point * 16 + (guint32) g_ascii_xdigit_value(escape[2 + i]);
  return n_digits > 0 && i == n_digits &&
         (code_point > 0x10FFFF || (code_point >= 0xD800 && code_point <= 0xDFFF));
}

/* Checks text for what GLib's parser would answer with a critical instead of an error: a bad \u
 * escape in a string (byte strings take no such escape), and nesting past the limit. GLib limits
 * its own recursion, but builds the type a text implies from its brackets, "just"s and @type
 * annotations before it checks that type, and one nested past 128 levels is a critical. So the
 * nesting is counted here, tokens read as GLib's tokenizer reads them: a bracket one level, a
 * brace one more once a colon shows it opens a dictionary (an array of dict entries) rather than
 * a lone dict entry, an annotation the levels of its type where it stands. Past the limit the
 * text is refused with a message of the library's own (GLib's, at 128, names no position).
 * @return TL_OK or TL_ERR_PARSE (recorded). */
static int
check_text(const char *text)
{
  guint opened[TL_VALUE_MAX_DEPTH + 1]; /* the levels each open bracket added */
  gboolean dictionary[TL_VALUE_MAX_DEPTH + 1]; /* a brace whose colon has counted its array */
  guint n_open = 0, depth = 0, deepest = 0, pending_justs = 0, annotated;
  const char *c = text;

  while (*c != '\0' && deepest <= TL_VALUE_MAX_DEPTH) {
    if (*c == '\'' || *c == '"' || (*c == 'b' && (c[1] == '\'' || c[1] == '"'))) {
      gboolean bytes = *c == 'b';
      char quote = bytes ? c[1] : c[0];

      for (c += bytes ? 2 : 1; *c != '\0' && *c != quote; c++) {
        if (*c != '\\')
          continue;
        if (!bytes && is_bad_unicode_escape(c))
          return _tl_fail(TL_ERR_PARSE, "a \\u or \\U escape names a surrogate or a code point "
                                        "past U+10FFFF");
        if (*++c == '\0')
          break;
      }
      c += *c != '\0';
    } else if (*c == '@') { /* a type, up to where GLib's tokenizer ends it */
      const char *type = ++c;
      int brackets = 0;

      for (; *c != '\0' && *c != ',' && *c != ':' && *c != '>' && *c != ']' && !g_ascii_isspace(*c);
           c++) {
        if (*c == '(' || *c == '{')
          brackets++;
        else if ((*c == ')' || *c == '}') && brackets-- == 0)
          break;
      }
      annotated = depth + pending_justs + type_nesting_of(type, c);
      deepest = MAX(deepest, annotated);
      continue; /* the value annotated comes next */
    } else if (*c == '[' || *c == '(' || *c == '<' || *c == '{') {
      guint levels = 1 + pending_justs;

      pending_justs = 0;
      depth += levels;
      deepest = MAX(deepest, depth);
      if (deepest <= TL_VALUE_MAX_DEPTH) {
        dictionary[n_open] = *c != '{'; /* only a brace has a level still to count */
        opened[n_open++] = levels;
      }
      c++;
      continue;
    } else if (*c == ':' && n_open > 0 && !dictionary[n_open - 1]) {
      dictionary[n_open - 1] = TRUE; /* {key: ...}: a dictionary, its entries one level down */
      opened[n_open - 1]++;
      depth++;
      deepest = MAX(deepest, depth);
      c++;
      continue;
    } else if (*c == ']' || *c == ')' || *c == '>' || *c == '}') {
      if (n_open > 0)
        depth -= opened[--n_open];
      c++;
      continue;
    } else if (g_ascii_isalnum(*c)) { /* a keyword or a number */
      const char *word = c;

      while (g_ascii_isalnum(*c) || *c == '-' || *c == '+' || *c == '.')
        c++;
      if (c - word == 4 && memcmp(word, "just", 4) == 0) {
        pending_justs++;
        continue;
      }
    } else {
      c++;
      continue;
    }
    /* A value (or a type keyword before one) stands here, as deep as the "just"s make it. */
    deepest = MAX(deepest, depth + pending_justs);
    pending_justs = 0;
  }
  if (deepest > TL_VALUE_MAX_DEPTH)
    return _tl_failf(TL_ERR_PARSE, "the value nests more than %d container levels deep",
                     TL_VALUE_MAX_DEPTH);
  return TL_OK;
}

int
tl_value_parse(const char *type, const char *text, TlValue **out)
{
  GError *error = NULL;
  GVariant *variant;
  guint depth;

  if (out == NULL)
    return _tl_fail(TL_ERR_INVALID_ARGUMENT, "out is NULL");
  *out = NULL;
  if (text == NULL)
    return _tl_fail(TL_ERR_INVALID_ARGUMENT, "text is NULL");
  /* Indefinite types ("m*", "a?") are refused up front: given one, GLib's parser can fail with a
   * critical and no error. */
  if (type != NULL && (!g_variant_type_string_is_valid(type) ||
                       !g_variant_type_is_definite(G_VARIANT_TYPE(type))))
    return _tl_failf(TL_ERR_INVALID_ARGUMENT, "'%s' is not a definite GVariant type string", type);
  if (!g_utf8_validate(text, -1, NULL))
    return _tl_fail(TL_ERR_INVALID_UTF8, "text is not valid UTF-8");
  if (check_text(text) != TL_OK)
    return TL_ERR_PARSE;
  variant = g_variant_parse(type != NULL ? G_VARIANT_TYPE(type) : NULL, text, NULL, NULL, &error);
  if (variant == NULL) {
    int status = _tl_failf(TL_ERR_PARSE, "%s", error != NULL ? error->message : "text does not parse");
    g_clear_error(&error);
    return status;
  }
  /* Also what GLib's parser reads but could not read back once printed: types nested 128 deep. */
  depth = variant_depth(variant, 0);
  if (depth > TL_VALUE_MAX_DEPTH) {
    g_variant_unref(variant); /* g_variant_parse gives a full, non-floating reference */
    return _tl_failf(TL_ERR_PARSE, "the value nests more than %d container levels deep",
                     TL_VALUE_MAX_DEPTH);
  }
  *out = value_take_variant(variant, depth);
  return *out != NULL ? TL_OK : TL_ERR_NO_MEMORY;
}

char *
tl_value_print(const TlValue *value, int type_annotate)
{
  if (!_tl_value_is_valid(value)) {
    fail_invalid_value(value);
    return NULL;
  }
  if (value->kind != TL_VALUE_VARIANT) {
    _tl_fail(TL_ERR_WRONG_TYPE, "a pointer value has no text form");
    return NULL;
  }
  return g_variant_print(_tl_value_variant(value), type_annotate != 0);
}

const char *
tl_value_type(const TlValue *value)
{
  if (!_tl_value_is_valid(value)) {
    fail_invalid_value(value);
    return NULL;
  }
  if (value->kind != TL_VALUE_VARIANT)
    return "p";
  GVariant *variant = _tl_value_variant_if_made(value);
  if (variant == NULL) { /* lazy: a basic type, named by its character */
    static const char basic_types[] = "b\0y\0n\0q\0i\0u\0x\0t\0d\0h\0s";
    const char *found = memchr(basic_types, value->scalar_type, sizeof basic_types - 1);

    g_assert(found != NULL && value->scalar_type != '\0');
    return found;
  }
  return g_variant_get_type_string(variant);
}

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
  return a->n_handles == b->n_handles && g_variant_equal(_tl_value_variant(a), _tl_value_variant(b));
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
    return fail_invalid_value(a);
  if (!_tl_value_is_valid(b))
    return fail_invalid_value(b);
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

/* ---- GLib interop (tlslocal-glib.h) ---- */

TlValue *
tl_value_new_from_gvariant(GVariant *variant)
{
  guint depth;

  if (variant == NULL) {
    _tl_fail(TL_ERR_INVALID_ARGUMENT, "variant is NULL");
    return NULL;
  }
  /* Measured before anything serialises it: serialising would turn what lies past the limit
   * into "()". */
  g_variant_ref_sink(variant);
  depth = variant_depth(variant, 0);
  if (depth > TL_VALUE_MAX_DEPTH) {
    g_variant_unref(variant);
    _tl_failf(TL_ERR_INVALID_ARGUMENT, "the variant nests more than %d container levels deep",
              TL_VALUE_MAX_DEPTH);
    return NULL;
  }
  return value_take_variant(variant, depth);
}

GVariant *
tl_value_dup_gvariant(const TlValue *value)
{
  if (!_tl_value_is_valid(value)) {
    fail_invalid_value(value);
    return NULL;
  }
  if (value->kind != TL_VALUE_VARIANT) {
    _tl_fail(TL_ERR_WRONG_TYPE, "a pointer value has no GVariant form");
    return NULL;
  }
  return g_variant_ref(_tl_value_variant(value));
}
