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

TlValue *
_tl_value_take_variant(GVariant *variant, TlValue **handles, guint32 n_handles)
{
  TlValue *value = g_new(TlValue, 1);

  value->magic = TL_VALUE_MAGIC;
  value->refcount = 1;
  value->kind = TL_VALUE_VARIANT;
  value->u.variant = g_variant_take_ref(variant);
  /* Serialise now, on the creating thread: a container built from children is kept in tree form
   * until first read, and GLib serialises it then under a lock of its own that ThreadSanitizer
   * cannot see. A value is immutable and meant to be read by many threads, so pay once, here. */
  g_variant_get_data(value->u.variant);
  cache_scalar(value);
  value->handles = handles;
  value->n_handles = n_handles;
  _tl_stats_values_add(1);
  return value;
}

/* Wraps variant, taking ownership of one reference (a floating one is taken over). */
static TlValue *
value_take_variant(GVariant *variant)
{
  return _tl_value_take_variant(variant, NULL, 0);
}

TlValue *
_tl_value_resolve_child(const TlValue *snapshot, GVariant *child)
{
  if (snapshot->handles != NULL && g_variant_is_of_type(child, G_VARIANT_TYPE_HANDLE)) {
    gint32 handle = g_variant_get_handle(child);

    g_variant_unref(child);
    if (handle < 0 || (guint32) handle >= snapshot->n_handles)
      return NULL;
    return tl_value_ref(snapshot->handles[handle]);
  }
  if (g_variant_is_of_type(child, G_VARIANT_TYPE_HANDLE)) {
    g_variant_unref(child); /* a bare <handle N> (parsed text) names nothing */
    return NULL;
  }
  return value_take_variant(child);
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

void
_tl_value_free(TlValue *value)
{
  value->magic = 0;
  _tl_stats_values_add(-1);
  if (value->kind == TL_VALUE_VARIANT) {
    guint32 i;

    if (value->u.variant != NULL) /* the last reference: no thread is making it */
      g_variant_unref(value->u.variant);
    for (i = 0; i < value->n_handles; i++)
      tl_value_unref(value->handles[i]);
    g_free(value->handles);
  } else if (value->u.pointer.destroy != NULL) {
    value->u.pointer.destroy(value->u.pointer.ptr);
  }
  g_free(value);
}

/* ---- scalars ---- */

/* A basic value whose GVariant is made only if something needs it (_tl_value_variant), with extra
 * bytes after the struct for a string's copy. The payload is set by the caller. */
static TlValue *
value_new_lazy(char type_char, size_t extra)
{
  TlValue *value = g_malloc(sizeof(TlValue) + extra);

  value->magic = TL_VALUE_MAGIC;
  value->refcount = 1;
  value->kind = TL_VALUE_VARIANT;
  value->n_handles = 0;
  value->scalar_type = type_char;
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
  char *copy = (char *) (value + 1);

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
    made->scalar.field = payload;                                                                  \
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
  TlValue *value = value_take_variant(g_variant_new_from_bytes(G_VARIANT_TYPE_BYTESTRING, bytes, TRUE));

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
  TlValue *value = g_new(TlValue, 1);

  value->magic = TL_VALUE_MAGIC;
  value->refcount = 1;
  value->kind = TL_VALUE_POINTER;
  value->u.pointer.ptr = ptr;
  value->u.pointer.destroy = destroy;
  value->scalar_type = 0;
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

/* Validates items as GVariant-backed values. @return TL_OK or TL_ERR_INVALID_ARGUMENT (recorded). */
static int
check_items(TlValue *const *items, size_t n_items)
{
  size_t i;

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
  }
  return TL_OK;
}

TlValue *
tl_value_new_tuple(TlValue *const *items, size_t n_items)
{
  GVariant **children;
  TlValue *value;
  size_t i;

  if (check_items(items, n_items) != TL_OK)
    return NULL;
  children = g_new(GVariant *, n_items + 1);
  for (i = 0; i < n_items; i++)
    children[i] = _tl_value_variant(items[i]);
  value = value_take_variant(g_variant_new_tuple(children, n_items));
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
  size_t i;

  if (check_items(items, n_items) != TL_OK)
    return NULL;
  if (element_type == NULL) {
    if (n_items == 0) {
      _tl_fail(TL_ERR_INVALID_ARGUMENT, "an empty array needs an element_type");
      return NULL;
    }
    element_type = tl_value_type(items[0]);
  }
  if (!g_variant_type_string_is_valid(element_type) ||
      !g_variant_type_is_definite(G_VARIANT_TYPE(element_type))) {
    _tl_failf(TL_ERR_INVALID_ARGUMENT, "'%s' is not a definite GVariant type string", element_type);
    return NULL;
  }
  type = G_VARIANT_TYPE(element_type);
  boxed = g_variant_type_equal(type, G_VARIANT_TYPE_VARIANT);
  for (i = 0; i < n_items && !boxed; i++) {
    if (!g_variant_is_of_type(_tl_value_variant(items[i]), type)) {
      _tl_failf(TL_ERR_WRONG_TYPE, "item %zu has type '%s', not the element type '%s'", i,
                tl_value_type(items[i]), element_type);
      return NULL;
    }
  }
  children = g_new(GVariant *, n_items + 1);
  for (i = 0; i < n_items; i++)
    children[i] = boxed ? g_variant_new_variant(_tl_value_variant(items[i])) : _tl_value_variant(items[i]);
  value = value_take_variant(g_variant_new_array(type, children, n_items));
  g_free(children);
  return value;
}

TlValue *
tl_value_new_maybe(const char *element_type, TlValue *child)
{
  const GVariantType *type;
  GVariant *child_variant = NULL;

  if (child != NULL && check_items(&child, 1) != TL_OK)
    return NULL;
  if (element_type == NULL) {
    if (child == NULL) {
      _tl_fail(TL_ERR_INVALID_ARGUMENT, "an empty maybe needs an element_type");
      return NULL;
    }
    element_type = tl_value_type(child);
  }
  if (!g_variant_type_string_is_valid(element_type) ||
      !g_variant_type_is_definite(G_VARIANT_TYPE(element_type))) {
    _tl_failf(TL_ERR_INVALID_ARGUMENT, "'%s' is not a definite GVariant type string", element_type);
    return NULL;
  }
  type = G_VARIANT_TYPE(element_type);
  if (child != NULL) {
    child_variant = _tl_value_variant(child);
    if (!g_variant_is_of_type(child_variant, type)) {
      _tl_failf(TL_ERR_WRONG_TYPE, "child has type '%s', not the element type '%s'",
                tl_value_type(child), element_type);
      return NULL;
    }
  }
  return value_take_variant(g_variant_new_maybe(type, child_variant));
}

TlValue *
tl_value_new_vardict(const char *const *keys, TlValue *const *values, size_t n_items)
{
  GHashTable *last_position;
  GVariant **entries;
  TlValue *value;
  size_t i, n_entries = 0;

  if (keys == NULL && n_items > 0) {
    _tl_fail(TL_ERR_INVALID_ARGUMENT, "keys is NULL but n_items is not 0");
    return NULL;
  }
  if (check_items(values, n_items) != TL_OK)
    return NULL;
  for (i = 0; i < n_items; i++) {
    if (keys[i] == NULL || !g_utf8_validate(keys[i], -1, NULL)) {
      _tl_failf(TL_ERR_INVALID_KEY, "key %zu is NULL or not valid UTF-8", i);
      return NULL;
    }
  }
  /* A key given twice keeps its last value, as assigning twice to a dict would. */
  last_position = g_hash_table_new(g_str_hash, g_str_equal);
  for (i = 0; i < n_items; i++)
    g_hash_table_insert(last_position, (gpointer) keys[i], GSIZE_TO_POINTER(i));
  entries = g_new(GVariant *, n_items + 1);
  for (i = 0; i < n_items; i++) {
    if (GPOINTER_TO_SIZE(g_hash_table_lookup(last_position, keys[i])) != i)
      continue;
    entries[n_entries++] = g_variant_new_dict_entry(g_variant_new_string(keys[i]),
                                                    g_variant_new_variant(_tl_value_variant(values[i])));
  }
  value = value_take_variant(g_variant_new_array(G_VARIANT_TYPE("{sv}"), entries, n_entries));
  g_free(entries);
  g_hash_table_unref(last_position);
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
  GVariant *variant = NULL;
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
  *out = value_take_variant(g_variant_get_child_value(variant, index));
  return TL_OK;
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
  found = g_variant_lookup_value(variant, key, NULL);
  if (found == NULL)
    return _tl_failf(TL_ERR_NOT_FOUND, "no key '%s' in the dictionary", key);
  if (value->handles == NULL) {
    *out = value_take_variant(found);
    return TL_OK;
  }
  /* A snapshot: <handle N> stands for the value it carries. */
  *out = _tl_value_resolve_child(value, found);
  return *out != NULL ? TL_OK : _tl_failf(TL_ERR_INVALID_ARGUMENT, "key '%s' names a handle the snapshot does not carry", key);
}

/* ---- text, type, equality ---- */

/* Container nesting of a valid type string: "t" 0, "mt" 1, "a{sv}" 2, "(ia(ii))" 2. */
static guint
type_nesting(const char *type)
{
  size_t length = strlen(type), depth = 0, deepest = 0;
  char *open = g_malloc(length + 1); /* 'p' for an a/m prefix, 'g' for a ( or { group */
  const char *c;

  for (c = type; *c != '\0'; c++) {
    if (*c == 'a' || *c == 'm' || *c == '(' || *c == '{') {
      open[depth++] = (*c == 'a' || *c == 'm') ? 'p' : 'g';
      deepest = MAX(deepest, depth);
      continue;
    }
    if (*c == ')' || *c == '}')
      depth--; /* its group */
    /* A complete type ends here: it satisfies every prefix waiting for it. */
    while (depth > 0 && open[depth - 1] == 'p')
      depth--;
  }
  g_free(open);
  return (guint) deepest;
}

/* GLib's parser turns a \u or \U escape into UTF-8 without checking the code point, then fails
 * g_variant_new_string()'s UTF-8 assertion (a critical) on a surrogate or anything past U+10FFFF.
 * @return TRUE if text has such an escape. Escapes are only meaningful inside strings; outside,
 * a backslash is a syntax error anyway, so walking every backslash pair is safe. */
static gboolean
has_bad_unicode_escape(const char *text)
{
  const char *c;

  for (c = text; (c = strchr(c, '\\')) != NULL; c += 2) {
    int n_digits = c[1] == 'u' ? 4 : c[1] == 'U' ? 8 : 0, i;
    guint32 code_point = 0;

    if (c[1] == '\0')
      return FALSE;
    for (i = 0; i < n_digits && g_ascii_isxdigit(c[2 + i]); i++)
      code_point = code_point * 16 + (guint32) g_ascii_xdigit_value(c[2 + i]);
    if (n_digits > 0 && i == n_digits &&
        (code_point > 0x10FFFF || (code_point >= 0xD800 && code_point <= 0xDFFF)))
      return TRUE;
  }
  return FALSE;
}

/* GLib accepts type strings nested 128 deep but its parser reads type annotations back only to 127:
 * refuse what would print as text that cannot be parsed again. */
#define TL_PARSE_MAX_NESTING 127

int
tl_value_parse(const char *type, const char *text, TlValue **out)
{
  GError *error = NULL;
  GVariant *variant;

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
  if (has_bad_unicode_escape(text))
    return _tl_fail(TL_ERR_PARSE, "a \\u or \\U escape names a surrogate or a code point past U+10FFFF");
  variant = g_variant_parse(type != NULL ? G_VARIANT_TYPE(type) : NULL, text, NULL, NULL, &error);
  if (variant == NULL) {
    int status = _tl_failf(TL_ERR_PARSE, "%s", error != NULL ? error->message : "text does not parse");
    g_clear_error(&error);
    return status;
  }
  if (type_nesting(g_variant_get_type_string(variant)) > TL_PARSE_MAX_NESTING) {
    g_variant_unref(variant); /* g_variant_parse gives a full, non-floating reference */
    return _tl_failf(TL_ERR_PARSE, "the value's type nests more than %d levels deep, which GLib's "
                     "parser cannot read back", TL_PARSE_MAX_NESTING);
  }
  *out = value_take_variant(variant);
  return TL_OK;
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

int
tl_value_equal(const TlValue *a, const TlValue *b)
{
  if (!_tl_value_is_valid(a))
    return fail_invalid_value(a);
  if (!_tl_value_is_valid(b))
    return fail_invalid_value(b);
  if (a->kind != b->kind)
    return 0;
  if (a->kind == TL_VALUE_POINTER)
    return a->u.pointer.ptr == b->u.pointer.ptr && a->u.pointer.destroy == b->u.pointer.destroy;
  if (a->n_handles != b->n_handles || !g_variant_equal(_tl_value_variant(a), _tl_value_variant(b)))
    return 0;
  /* Snapshots: <handle N> is only a name; what it stands for must be equal too. */
  for (guint32 i = 0; i < a->n_handles; i++)
    if (tl_value_equal(a->handles[i], b->handles[i]) != 1)
      return 0;
  return 1;
}

/* ---- GLib interop (tlslocal-glib.h) ---- */

TlValue *
tl_value_new_from_gvariant(GVariant *variant)
{
  if (variant == NULL) {
    _tl_fail(TL_ERR_INVALID_ARGUMENT, "variant is NULL");
    return NULL;
  }
  return value_take_variant(g_variant_ref_sink(variant));
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
