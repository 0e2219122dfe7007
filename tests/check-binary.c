/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The binary form (tl_value_serialize, tl_value_deserialize): round trips of every kind of
 * value, with the bytes themselves checked (little-endian GVariant normal form); values with no
 * binary form refused; untrusted bytes (truncated, padded, every single-byte mutation) either
 * refused with TL_ERR_PARSE or read as a normal-form value that serialises back to exactly those
 * bytes; the depth limit; many threads at once on shared values; and a context handed to another
 * process through a pipe (tests/binary/binary-child), applied there and sent back.
 *
 * Copyright the libtlslocal authors. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib.h>

#include <tlslocal-glib.h>

#include "tl-test.h"

#define MAX_DEPTH 127

/* Asserts that the last call failed with status and left a non-empty message. */
#define ck_assert_last_error(status)                                                               \
  do {                                                                                             \
    ck_assert_int_eq(tl_last_error(), (status));                                                   \
    ck_assert_ptr_nonnull(tl_last_error_message());                                                \
    ck_assert_uint_gt(strlen(tl_last_error_message()), 0);                                         \
  } while (0)

/* ---- helpers ---- */

/* value's binary form as a GBytes (the buffer from tl_value_serialize copied, then freed). */
static GBytes *
serialized(const TlValue *value)
{
  void *data = NULL;
  size_t size = 12345;
  GBytes *bytes;

  ck_assert_msg(tl_value_serialize(value, &data, &size) == TL_OK, "serialize '%s': %s",
                tl_value_type(value), tl_last_error_message());
  ck_assert_ptr_nonnull(data); /* even for 0 bytes */
  bytes = g_bytes_new(data, size);
  tl_free(data);
  return bytes;
}

static TlValue *
parsed(const char *type, const char *text)
{
  TlValue *value = NULL;

  ck_assert_msg(tl_value_parse(type, text, &value) == TL_OK, "parse %s: %s", text,
                tl_last_error_message());
  return value;
}

/* value serialised is exactly GLib's normal form of it (taken through tl_value_dup_gvariant, so
 * independent of this library's own writer), little-endian. */
static void
assert_bytes_are_glibs(const TlValue *value, GBytes *bytes)
{
  GVariant *variant = tl_value_dup_gvariant(value), *normal = g_variant_get_normal_form(variant);
  GBytes *expected;

  if (G_BYTE_ORDER == G_BIG_ENDIAN) {
    GVariant *swapped = g_variant_byteswap(normal);

    g_variant_unref(normal);
    normal = swapped;
  }
  expected = g_variant_get_data_as_bytes(normal);
  ck_assert_msg(g_bytes_equal(bytes, expected), "'%s': the bytes are not GLib's normal form",
                tl_value_type(value));
  g_bytes_unref(expected);
  g_variant_unref(normal);
  g_variant_unref(variant);
}

/* Serialises value, checks the bytes (GLib's normal form; want, if given, exactly), reads them back
 * as value's type and checks the result: equal, same type, and serialising to the same bytes. */
static void
assert_round_trip_bytes(const TlValue *value, const void *want, size_t want_size)
{
  const char *type = tl_value_type(value);
  GBytes *bytes = serialized(value), *again;
  TlValue *back = NULL;
  size_t size;
  const void *data = g_bytes_get_data(bytes, &size);

  assert_bytes_are_glibs(value, bytes);
  if (want != NULL) {
    ck_assert_uint_eq(size, want_size);
    ck_assert_msg(memcmp(data, want, size) == 0, "'%s': unexpected bytes", type);
  }
  ck_assert_msg(tl_value_deserialize(type, data, size, &back) == TL_OK, "deserialize '%s': %s",
                type, tl_last_error_message());
  ck_assert_ptr_nonnull(back);
  ck_assert_str_eq(tl_value_type(back), type);
  ck_assert_int_eq(tl_value_equal(value, back), 1);
  again = serialized(back);
  ck_assert(g_bytes_equal(bytes, again));
  g_bytes_unref(again);
  g_bytes_unref(bytes);
  tl_value_unref(back);
}

static void
assert_round_trip(const TlValue *value)
{
  assert_round_trip_bytes(value, NULL, 0);
}

static void
assert_text_round_trips(const char *type, const char *text)
{
  TlValue *value = parsed(type, text);

  assert_round_trip(value);
  tl_value_unref(value);
}

/* A value read from bytes: tl_value_deserialize's result, asserted to succeed. */
static TlValue *
deserialized(const char *type, const void *data, size_t size)
{
  TlValue *value = NULL;

  ck_assert_msg(tl_value_deserialize(type, data, size, &value) == TL_OK, "deserialize '%s': %s",
                type, tl_last_error_message());
  return value;
}

static void
assert_refused(const char *type, const void *data, size_t size, int status)
{
  TlValue *value = (TlValue *) &value; /* not NULL: the call must clear it */

  ck_assert_int_eq(tl_value_deserialize(type, data, size, &value), status);
  ck_assert_ptr_null(value);
  ck_assert_last_error(status);
}

/* Reads value as its accessors and GLib's printer do, node by node (so nothing is left unread). */
static void
walk(const TlValue *value, int depth)
{
  size_t n = 0, i;
  char *text;

  ck_assert_ptr_nonnull(tl_value_type(value));
  if (depth == 0) {
    text = tl_value_print(value, 1);
    ck_assert_ptr_nonnull(text);
    tl_free(text);
  }
  if (tl_value_n_children(value, &n) != TL_OK || depth > 8)
    return;
  for (i = 0; i < n && i < 64; i++) {
    TlValue *child = NULL;

    ck_assert_int_eq(tl_value_get_child(value, i, &child), TL_OK);
    walk(child, depth + 1);
    tl_value_unref(child);
  }
}

/* The contract for untrusted input: TL_ERR_PARSE, or a normal-form value of type that reads whole
 * and serialises back to exactly these bytes. @return 1 if the bytes were accepted. */
static int
check_untrusted(const char *type, const void *data, size_t size)
{
  TlValue *value = NULL;
  void *again = NULL;
  size_t again_size = 0;
  int status = tl_value_deserialize(type, data, size, &value);

  if (status != TL_OK) {
    ck_assert_msg(status == TL_ERR_PARSE, "'%s', %zu bytes: %s (%s)", type, size,
                  tl_status_name(status), tl_last_error_message());
    ck_assert_ptr_null(value);
    return 0;
  }
  ck_assert_str_eq(tl_value_type(value), type);
  walk(value, 0);
  ck_assert_int_eq(tl_value_serialize(value, &again, &again_size), TL_OK);
  ck_assert_msg(again_size == size && (size == 0 || memcmp(again, data, size) == 0),
                "'%s': accepted bytes that serialise back differently", type);
  tl_free(again);
  tl_value_unref(value);
  return 1;
}

/* ---- basic types ---- */

START_TEST(test_basic_types_bytes_and_round_trips)
{
  static const struct {
    const char *type, *text;
    size_t size;
    const char *bytes; /* little-endian, as on every host */
  } cases[] = {
      {"b", "true", 1, "\x01"},
      {"b", "false", 1, "\x00"},
      {"y", "0xfe", 1, "\xfe"},
      {"n", "-2", 2, "\xfe\xff"},
      {"q", "0x1234", 2, "\x34\x12"},
      {"i", "-2", 4, "\xfe\xff\xff\xff"},
      {"u", "0x12345678", 4, "\x78\x56\x34\x12"},
      {"x", "-9223372036854775808", 8, "\x00\x00\x00\x00\x00\x00\x00\x80"},
      {"t", "0x0102030405060708", 8, "\x08\x07\x06\x05\x04\x03\x02\x01"},
      {"d", "1.0", 8, "\x00\x00\x00\x00\x00\x00\xf0\x3f"},
      {"d", "-0.0", 8, "\x00\x00\x00\x00\x00\x00\x00\x80"},
      {"h", "7", 4, "\x07\x00\x00\x00"},
      {"s", "'ab'", 3, "ab\0"},
      {"s", "''", 1, "\0"},
      {"o", "'/a/b'", 5, "/a/b\0"},
      {"g", "'a{sv}'", 6, "a{sv}\0"},
  };
  size_t i;

  for (i = 0; i < G_N_ELEMENTS(cases); i++) {
    TlValue *value = parsed(cases[i].type, cases[i].text);

    assert_round_trip_bytes(value, cases[i].bytes, cases[i].size);
    tl_value_unref(value);
  }
}
END_TEST

/* The typed constructors' values (no GVariant made yet) give the same bytes as parsed ones, and
 * their deserialised copies answer the typed accessors. */
START_TEST(test_constructed_scalars_match_parsed)
{
  TlValue *built[] = {
      tl_value_new_bool(42),           tl_value_new_bool(0),
      tl_value_new_byte(0xfe),         tl_value_new_int16(INT16_MIN),
      tl_value_new_uint16(0xfffe),     tl_value_new_int32(-2),
      tl_value_new_uint32(UINT32_MAX), tl_value_new_int64(INT64_MIN),
      tl_value_new_uint64(UINT64_MAX), tl_value_new_double(-0.0),
      tl_value_new_double(NAN),        tl_value_new_handle(-1),
      tl_value_new_string("héllo"),    tl_value_new_string(""),
  };
  const char *texts[] = {"true",
                         "false",
                         "0xfe",
                         "-32768",
                         "0xfffe",
                         "-2",
                         "4294967295",
                         "-9223372036854775808",
                         "18446744073709551615",
                         "-0.0",
                         "nan",
                         "-1",
                         "'héllo'",
                         "''"};
  size_t i;

  for (i = 0; i < G_N_ELEMENTS(built); i++) {
    const char *type = tl_value_type(built[i]);
    GBytes *bytes = serialized(built[i]);
    TlValue *back = NULL;
    size_t size;
    const void *data = g_bytes_get_data(bytes, &size);

    if (strcmp(texts[i], "nan") != 0) { /* GVariant text has no NaN */
      TlValue *text_value = parsed(type, texts[i]);
      GBytes *text_bytes = serialized(text_value);

      ck_assert_msg(g_bytes_equal(bytes, text_bytes), "'%s' %s: built and parsed bytes differ",
                    type, texts[i]);
      g_bytes_unref(text_bytes);
      tl_value_unref(text_value);
    }
    back = deserialized(type, data, size);
    ck_assert_str_eq(tl_value_type(back), type);
    ck_assert_int_eq(tl_value_equal(built[i], back), 1);
    switch (type[0]) {
    case 'b': {
      int a = 7, b = 9;

      ck_assert_int_eq(tl_value_get_bool(built[i], &a), TL_OK);
      ck_assert_int_eq(tl_value_get_bool(back, &b), TL_OK);
      ck_assert_int_eq(a, b);
      break;
    }
    case 'x': {
      int64_t a = 0, b = 1;

      ck_assert_int_eq(tl_value_get_int64(back, &b), TL_OK);
      ck_assert_int_eq(tl_value_get_int64(built[i], &a), TL_OK);
      ck_assert(a == b);
      break;
    }
    case 'd': {
      double a = 1, b = 2;

      ck_assert_int_eq(tl_value_get_double(built[i], &a), TL_OK);
      ck_assert_int_eq(tl_value_get_double(back, &b), TL_OK);
      ck_assert(memcmp(&a, &b, sizeof a) == 0); /* bit for bit: -0.0 and NaN */
      break;
    }
    case 's': {
      const char *a = NULL, *b = NULL;

      ck_assert_int_eq(tl_value_get_string(built[i], &a), TL_OK);
      ck_assert_int_eq(tl_value_get_string(back, &b), TL_OK);
      ck_assert_str_eq(a, b);
      break;
    }
    case 'h': {
      int32_t a = 0, b = 1;

      ck_assert_int_eq(tl_value_get_handle(built[i], &a), TL_OK);
      ck_assert_int_eq(tl_value_get_handle(back, &b), TL_OK);
      ck_assert_int_eq(a, b);
      break;
    }
    default: break;
    }
    tl_value_unref(back);
    g_bytes_unref(bytes);
    tl_value_unref(built[i]);
  }
}
END_TEST

/* Every UTF-8 sequence length (1 to 4 bytes), in strings of 0 to 300 bytes (the array offsets
 * of "as" grow from 1 to 2 bytes past 255), copied and read back; and the bytes a string must not
 * have. */
START_TEST(test_strings_every_utf8_length)
{
  static const char *const chars[] = {"a", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80"};
  size_t c, n;

  for (c = 0; c < G_N_ELEMENTS(chars); c++) {
    GString *string = g_string_new("");

    for (n = 0; string->len < 300; n++) {
      TlValue *value = tl_value_new_string(string->str), *back;
      TlValue *items[2] = {value, value}, *array;
      GBytes *bytes = serialized(value);
      const char *read = NULL;
      char *copy = g_memdup2(g_bytes_get_data(bytes, NULL), g_bytes_get_size(bytes));

      ck_assert_uint_eq(g_bytes_get_size(bytes), string->len + 1);
      back = deserialized("s", copy, g_bytes_get_size(bytes));
      memset(copy, 'x', g_bytes_get_size(bytes)); /* the value keeps a copy of its own */
      g_free(copy);
      ck_assert_int_eq(tl_value_get_string(back, &read), TL_OK);
      ck_assert_str_eq(read, string->str);
      assert_round_trip(value);
      array = tl_value_new_array(NULL, items, 2);
      assert_round_trip(array);
      tl_value_unref(array);
      tl_value_unref(back);
      g_bytes_unref(bytes);
      tl_value_unref(value);
      g_string_append(string, chars[c]);
    }
    /* Cut inside the last character: not UTF-8. */
    if (c > 0) {
      g_string_truncate(string, string->len - 1);
      g_string_append_c(string, '\0');
      assert_refused("s", string->str, string->len, TL_ERR_PARSE);
    }
    g_string_free(string, TRUE);
  }
  assert_refused("s", "ab", 2, TL_ERR_PARSE);             /* no NUL */
  assert_refused("s", "a\0b\0", 4, TL_ERR_PARSE);         /* a NUL inside */
  assert_refused("s", "\xff\0", 2, TL_ERR_PARSE);         /* not UTF-8 */
  assert_refused("s", "\xed\xa0\x80\0", 4, TL_ERR_PARSE); /* a surrogate */
  assert_refused("o", "a/b\0", 4, TL_ERR_PARSE);          /* not an object path */
  assert_refused("g", "a{vs}\0", 6, TL_ERR_PARSE);        /* not a signature */
  assert_refused("b", "\x02", 1, TL_ERR_PARSE);           /* a boolean is 0 or 1 */
}
END_TEST

START_TEST(test_byte_strings)
{
  static const size_t sizes[] = {0, 1, 2, 7, 255, 256, 65535, 65536, 200000};
  size_t i, j;

  for (i = 0; i < G_N_ELEMENTS(sizes); i++) {
    guint8 *data = g_malloc(sizes[i] + 1);
    TlValue *value, *back;
    const void *read = NULL;
    size_t read_size = 1;
    GBytes *bytes;

    for (j = 0; j < sizes[i]; j++)
      data[j] = (guint8) (j * 7 + i);
    value = tl_value_new_bytes(data, sizes[i]);
    bytes = serialized(value);
    /* "ay" is the bytes themselves. */
    ck_assert_uint_eq(g_bytes_get_size(bytes), sizes[i]);
    ck_assert(sizes[i] == 0 || memcmp(g_bytes_get_data(bytes, NULL), data, sizes[i]) == 0);
    back = deserialized("ay", data, sizes[i]);
    memset(data, 0, sizes[i] + 1); /* the value keeps a copy of its own */
    ck_assert_int_eq(tl_value_get_bytes(back, &read, &read_size), TL_OK);
    ck_assert_uint_eq(read_size, sizes[i]);
    ck_assert(sizes[i] == 0 || memcmp(read, g_bytes_get_data(bytes, NULL), sizes[i]) == 0);
    assert_round_trip(value);
    tl_value_unref(back);
    tl_value_unref(value);
    g_bytes_unref(bytes);
    g_free(data);
  }
  assert_text_round_trips("aay", "[b'', b'x', b'yz', [byte 0, 1, 2]]");
}
END_TEST

/* ---- containers ---- */

START_TEST(test_containers)
{
  static const struct {
    const char *type, *text;
  } cases[] = {
      {"mi", "nothing"},
      {"mi", "just 5"},
      {"ms", "just ''"},
      {"ms", "nothing"},
      {"mms", "just nothing"},
      {"mms", "just just 'x'"},
      {"m(ii)", "just (1, 2)"},
      {"mv", "just <'x'>"},
      {"()", "()"},
      {"(i)", "(1,)"},
      {"(ys)", "(1, 'abc')"},
      {"(sx)", "('abc', 5)"},
      {"(xsybdmi(s))", "(1, 'two', 3, true, 4.5, nothing, ('six',))"},
      {"as", "['a', '', 'bcd', 'é€😀']"},
      {"a(si)", "[('a', 1), ('bb', 2), ('', 3)]"},
      {"aas", "[['a'], [], ['b', 'c']]"},
      {"ami", "[just 1, nothing, just 3]"},
      {"ams", "[just 'a', nothing, just '']"},
      {"av", "[<1>, <'two'>, <[3]>, <(4, 'five')>]"},
      {"a{ss}", "{'a': 'b', 'c': ''}"},
      {"a{ia{sv}}", "{1: {'x': <2>}, 3: {}}"},
      {"a{sv}", "{'id': <'req-1'>, 'n': <int64 5>, 'nested': <{'deeper': <[<1>, <{'k': <(1, "
                "'x', [2.5])>}>]>}>, 'maybe': <@mi nothing>, 'tuple': <(true, byte 1)>}"},
      {"a{sv}", "{}"},
      {"as", "[]"},
      {"aai", "[]"},
      {"aai", "[[], []]"},
      {"a()", "[(), ()]"},
      {"a{sv}", "{'empty-array': <@as []>, 'empty-dict': <@a{sv} {}>, 'unit': <()>}"},
      {"v", "<<<1>>>"},
  };
  size_t i;

  for (i = 0; i < G_N_ELEMENTS(cases); i++)
    assert_text_round_trips(cases[i].type, cases[i].text);
}
END_TEST

/* Arrays of variable-size items whose framing offsets take 1, 2 and 4 bytes. */
START_TEST(test_arrays_of_every_offset_size)
{
  static const size_t counts[] = {1, 10, 100, 1000, 30000}; /* 4-byte offsets at the last */
  size_t c, i;

  for (c = 0; c < G_N_ELEMENTS(counts); c++) {
    TlValue **items = g_new(TlValue *, counts[c]), *array, *tuples;
    char key[32];

    for (i = 0; i < counts[c]; i++) {
      snprintf(key, sizeof key, "item-%zu", i);
      items[i] = tl_value_new_string(key);
    }
    array = tl_value_new_array(NULL, items, counts[c]);
    assert_round_trip(array);
    tuples = tl_value_new_tuple(items, MIN(counts[c], 100));
    assert_round_trip(tuples);
    tl_value_unref(tuples);
    tl_value_unref(array);
    for (i = 0; i < counts[c]; i++)
      tl_value_unref(items[i]);
    g_free(items);
  }
}
END_TEST

/* Values built by the constructors serialise exactly as the same values parsed from text. */
START_TEST(test_constructors_and_parse_give_the_same_bytes)
{
  TlValue *n = tl_value_new_int64(5), *s = tl_value_new_string("x"), *d = tl_value_new_double(2.5);
  TlValue *b = tl_value_new_bool(1), *y = tl_value_new_byte(9);
  TlValue *pair_items[2] = {n, s}, *pair = tl_value_new_tuple(pair_items, 2);
  TlValue *strings_items[3] = {s, s, s}, *strings = tl_value_new_array(NULL, strings_items, 3);
  TlValue *boxed_items[3] = {n, s, pair}, *boxed = tl_value_new_array("v", boxed_items, 3);
  TlValue *maybe = tl_value_new_maybe(NULL, s), *nothing = tl_value_new_maybe("x", NULL);
  const char *keys[] = {"n", "s", "pair", "list", "maybe", "nothing", "b", "y", "d"};
  TlValue *values[] = {n, s, pair, strings, maybe, nothing, b, y, d};
  TlValue *dict = tl_value_new_vardict(keys, values, G_N_ELEMENTS(keys));
  TlValue *empty_dict = tl_value_new_vardict(NULL, NULL, 0);
  TlValue *unit = tl_value_new_tuple(NULL, 0);
  const struct {
    TlValue *built;
    const char *text;
  } cases[] = {
      {pair, "(int64 5, 'x')"},
      {strings, "['x', 'x', 'x']"},
      {boxed, "[<int64 5>, <'x'>, <(int64 5, 'x')>]"},
      {maybe, "just 'x'"},
      {nothing, "@mx nothing"},
      {dict, "{'n': <int64 5>, 's': <'x'>, 'pair': <(int64 5, 'x')>, 'list': <['x', 'x', 'x']>, "
             "'maybe': <just 'x'>, 'nothing': <@mx nothing>, 'b': <true>, 'y': <byte 9>, "
             "'d': <2.5>}"},
      {empty_dict, "@a{sv} {}"},
      {unit, "()"},
  };
  size_t i;

  for (i = 0; i < G_N_ELEMENTS(cases); i++) {
    TlValue *text_value = parsed(NULL, cases[i].text);
    GBytes *built_bytes, *text_bytes;

    ck_assert_ptr_nonnull(cases[i].built);
    ck_assert_str_eq(tl_value_type(cases[i].built), tl_value_type(text_value));
    built_bytes = serialized(cases[i].built);
    text_bytes = serialized(text_value);
    ck_assert_msg(g_bytes_equal(built_bytes, text_bytes), "%s: built and parsed bytes differ",
                  cases[i].text);
    assert_round_trip(cases[i].built);
    g_bytes_unref(built_bytes);
    g_bytes_unref(text_bytes);
    tl_value_unref(text_value);
  }
  for (i = 0; i < G_N_ELEMENTS(cases); i++)
    tl_value_unref(cases[i].built);
  tl_value_unref(n);
  tl_value_unref(s);
  tl_value_unref(d);
  tl_value_unref(b);
  tl_value_unref(y);
}
END_TEST

/* A value GLib holds in a form that is not normal (bytes taken without trust) serialises to the
 * normal form. */
START_TEST(test_non_normal_gvariant_serialises_normalised)
{
  /* "as" ['a', 'b'] with the second string's terminator missing: GLib reads it as ['a', ''] */
  static const char bad[] = {'a', 0, 'b', 'c', 2, 4};
  GVariant *variant =
      g_variant_new_from_data(G_VARIANT_TYPE("as"), bad, sizeof bad, FALSE, NULL, NULL);
  TlValue *value = tl_value_new_from_gvariant(variant), *back;
  GBytes *bytes;

  ck_assert(!g_variant_is_normal_form(variant));
  ck_assert_ptr_nonnull(value);
  bytes = serialized(value);
  back = deserialized("as", g_bytes_get_data(bytes, NULL), g_bytes_get_size(bytes));
  ck_assert_int_eq(tl_value_equal(value, back), 1);
  check_untrusted("as", bad, sizeof bad);
  tl_value_unref(back);
  tl_value_unref(value);
  g_bytes_unref(bytes);
}
END_TEST

/* ---- depth ---- */

/* "a" x levels + "i", or "m" x levels + "i". */
static char *
nested_type(char prefix, int levels)
{
  char *type = g_malloc((size_t) levels + 2);

  memset(type, prefix, (size_t) levels);
  type[levels] = 'i';
  type[levels + 1] = '\0';
  return type;
}

/* The bytes of <<...<5>...>>: levels variants around an int32, built byte by byte (a variant is
 * its child's bytes, a NUL and the child's type). */
static GByteArray *
nested_variants(int levels)
{
  GByteArray *bytes = g_byte_array_new();
  static const guint8 five[] = {5, 0, 0, 0}, zero = 0;
  int i;

  g_byte_array_append(bytes, five, 4);
  for (i = 0; i < levels; i++) {
    g_byte_array_append(bytes, &zero, 1);
    g_byte_array_append(bytes, (const guint8 *) (i == 0 ? "i" : "v"), 1);
  }
  return bytes;
}

START_TEST(test_depth_limit)
{
  int levels;

  for (levels = MAX_DEPTH - 1; levels <= MAX_DEPTH + 1; levels++) {
    char *arrays = nested_type('a', levels), *maybes = nested_type('m', levels);
    GByteArray *variants = nested_variants(levels);
    TlValue *value = NULL;

    if (levels <= MAX_DEPTH) {
      /* An empty array of arrays, and "nothing", of each type at the limit. */
      value = deserialized(arrays, NULL, 0);
      assert_round_trip(value);
      tl_value_unref(value);
      value = deserialized(maybes, NULL, 0);
      assert_round_trip(value);
      tl_value_unref(value);
      value = deserialized("v", variants->data, variants->len);
      assert_round_trip(value);
      check_untrusted("v", variants->data, variants->len);
      tl_value_unref(value);
    } else {
      /* A type no value may have is a bad argument; a variant nested too deep, bad bytes. */
      assert_refused(arrays, NULL, 0, TL_ERR_INVALID_ARGUMENT);
      assert_refused(maybes, NULL, 0, TL_ERR_INVALID_ARGUMENT);
      assert_refused("v", variants->data, variants->len, TL_ERR_PARSE);
    }
    g_byte_array_unref(variants);
    g_free(arrays);
    g_free(maybes);
  }
}
END_TEST

/* A 127-deep value built by the constructors (arrays, maybes, tuples, variants in turn) serialises
 * and reads back equal. */
START_TEST(test_deepest_constructed_value_round_trips)
{
  TlValue *value = tl_value_new_int32(1);
  int depth = 0, step;

  for (step = 0; depth < MAX_DEPTH; step++) {
    TlValue *next;

    switch (step % 4) {
    case 0: next = tl_value_new_array(NULL, &value, 1); break;
    case 1: next = tl_value_new_maybe(NULL, value); break;
    case 2: next = tl_value_new_tuple(&value, 1); break;
    default: /* two levels: the array and the variant */
      next = tl_value_new_array(depth + 2 <= MAX_DEPTH ? "v" : NULL, &value, 1);
      depth += depth + 2 <= MAX_DEPTH;
      break;
    }
    depth++;
    ck_assert_msg(next != NULL, "depth %d: %s", depth, tl_last_error_message());
    tl_value_unref(value);
    value = next;
  }
  assert_round_trip(value);
  tl_value_unref(value);
}
END_TEST

/* ---- what has no binary form ---- */

START_TEST(test_pointer_values_have_no_binary_form)
{
  int destroyed = 0;
  TlValue *pointer = tl_value_new_pointer(&destroyed, tl_test_count_destroy);
  TlValue *snapshot = NULL;
  TlLocal *local = tl_local_new();
  void *data = (void *) &data;
  size_t size = 77;

  ck_assert_int_eq(tl_value_serialize(pointer, &data, &size), TL_ERR_WRONG_TYPE);
  ck_assert_last_error(TL_ERR_WRONG_TYPE);
  ck_assert_ptr_eq(data, (void *) &data); /* untouched */
  ck_assert_uint_eq(size, 77);

  /* A snapshot carrying a pointer value, and one carrying that snapshot. */
  ck_assert_int_eq(tl_local_set_string(local, "id", "x"), TL_OK);
  ck_assert_int_eq(tl_local_set(local, "ptr", pointer), TL_OK);
  ck_assert_int_eq(tl_local_snapshot(local, &snapshot), TL_OK);
  ck_assert_int_eq(tl_value_serialize(snapshot, &data, &size), TL_ERR_WRONG_TYPE);
  ck_assert_last_error(TL_ERR_WRONG_TYPE);
  ck_assert_int_eq(tl_local_delete(local, "ptr"), TL_OK);
  ck_assert_int_eq(tl_local_set_take(local, "parent", snapshot), TL_OK);
  ck_assert_int_eq(tl_local_snapshot(local, &snapshot), TL_OK);
  ck_assert_int_eq(tl_value_serialize(snapshot, &data, &size), TL_ERR_WRONG_TYPE);
  ck_assert_ptr_eq(data, (void *) &data);
  ck_assert_uint_eq(size, 77);
  tl_value_unref(snapshot);

  /* A "h" value has a binary form of its own, but a snapshot carries it by reference (it would be
   * taken for a handle): such a snapshot has none either. */
  tl_local_clear(local);
  ck_assert_int_eq(tl_local_set_take(local, "fd", tl_value_new_handle(3)), TL_OK);
  ck_assert_int_eq(tl_local_snapshot(local, &snapshot), TL_OK);
  ck_assert_int_eq(tl_value_serialize(snapshot, &data, &size), TL_ERR_WRONG_TYPE);
  tl_value_unref(snapshot);

  tl_local_unref(local);
  tl_value_unref(pointer);
  ck_assert_int_eq(destroyed, 1);
}
END_TEST

/* A snapshot without carried values is an ordinary "a{sv}": its bytes read back into a snapshot
 * that another local takes whole. */
START_TEST(test_snapshots_round_trip_and_apply)
{
  TlLocal *from = tl_local_new(), *to = tl_local_new();
  TlValue *snapshot = NULL, *back, *again = NULL, *nested = parsed(NULL, "{'k': <[1, 2]>}");
  GBytes *bytes;

  ck_assert_int_eq(tl_local_set_string(from, "request-id", "req-42"), TL_OK);
  ck_assert_int_eq(tl_local_set_int64(from, "user", 1001), TL_OK);
  ck_assert_int_eq(tl_local_set_double(from, "deadline", 2.5), TL_OK);
  ck_assert_int_eq(tl_local_set_bool(from, "sampled", 1), TL_OK);
  ck_assert_int_eq(tl_local_set(from, "nested", nested), TL_OK);
  ck_assert_int_eq(tl_local_snapshot(from, &snapshot), TL_OK);
  bytes = serialized(snapshot);
  back = deserialized("a{sv}", g_bytes_get_data(bytes, NULL), g_bytes_get_size(bytes));
  ck_assert_int_eq(tl_value_equal(snapshot, back), 1);
  ck_assert_int_eq(tl_local_set_string(to, "stale", "gone"), TL_OK);
  ck_assert_int_eq(tl_local_apply(to, back, TL_APPLY_REPLACE), TL_OK);
  ck_assert_int_eq(tl_local_snapshot(to, &again), TL_OK);
  ck_assert_int_eq(tl_value_equal(snapshot, again), 1);
  ck_assert_int_eq(tl_value_equal(tl_local_peek(to, "nested"), nested), 1);
  tl_value_unref(again);
  tl_value_unref(back);
  tl_value_unref(snapshot);
  tl_value_unref(nested);
  g_bytes_unref(bytes);
  tl_local_unref(from);
  tl_local_unref(to);
}
END_TEST

/* ---- arguments ---- */

START_TEST(test_bad_arguments)
{
  static const char *const bad_types[] = {"",      "p",  "a",    "m",    "m*", "a?",    "?",
                                          "r",     "*",  "(i",   "i)",   "ii", "{sv}x", "{vs}",
                                          "a{vs}", "ap", "(ip)", "\xff", "é",  "a{sv"};
  TlValue *value = tl_value_new_int32(1), *out = NULL;
  void *data = NULL;
  size_t size = 0, i;

  ck_assert_int_eq(tl_value_serialize(NULL, &data, &size), TL_ERR_INVALID_ARGUMENT);
  ck_assert_last_error(TL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(tl_value_serialize(value, NULL, &size), TL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(tl_value_serialize(value, &data, NULL), TL_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_null(data);

  ck_assert_int_eq(tl_value_deserialize("i", "\1\0\0\0", 4, NULL), TL_ERR_INVALID_ARGUMENT);
  ck_assert_last_error(TL_ERR_INVALID_ARGUMENT);
  assert_refused(NULL, "\1\0\0\0", 4, TL_ERR_INVALID_ARGUMENT);
  assert_refused("i", NULL, 4, TL_ERR_INVALID_ARGUMENT);
  for (i = 0; i < G_N_ELEMENTS(bad_types); i++)
    assert_refused(bad_types[i], "\0\0\0\0\0\0\0\0", 8, TL_ERR_INVALID_ARGUMENT);

  /* Size 0: the one serialisation of values that have no bytes, for the others too short; NULL
   * data is fine then. */
  out = deserialized("as", NULL, 0);
  ck_assert_int_eq(tl_value_n_children(out, &size), TL_OK);
  ck_assert_uint_eq(size, 0);
  tl_value_unref(out);
  out = deserialized("mi", "", 0);
  ck_assert_int_eq(tl_value_n_children(out, &size), TL_OK);
  ck_assert_uint_eq(size, 0);
  tl_value_unref(out);
  out = deserialized("ay", NULL, 0);
  assert_round_trip(out);
  tl_value_unref(out);
  assert_refused("i", NULL, 0, TL_ERR_PARSE);
  assert_refused("s", NULL, 0, TL_ERR_PARSE);
  assert_refused("()", NULL, 0, TL_ERR_PARSE); /* the unit is one zero byte */
  assert_refused("v", NULL, 0, TL_ERR_PARSE);
  assert_refused("(is)", NULL, 0, TL_ERR_PARSE);

  /* Sizes that a fixed-size type cannot have. */
  assert_refused("i", "\1\0\0", 3, TL_ERR_PARSE);
  assert_refused("i", "\1\0\0\0\0", 5, TL_ERR_PARSE);
  assert_refused("()", "\1", 1, TL_ERR_PARSE);
  assert_refused("(yi)", "\1\0\0\0\2\0\0", 7, TL_ERR_PARSE);
  assert_refused("(yi)", "\1\1\0\0\2\0\0\0", 8, TL_ERR_PARSE); /* padding must be zero */
  tl_value_unref(value);
}
END_TEST

/* ---- untrusted bytes ---- */

static const struct {
  const char *type, *text;
} mutated_cases[] = {
    {"a{sv}", "{'id': <'req-1'>, 'n': <int64 5>, 'l': <[<1>, <'x'>]>, 'm': <@ms just 'é'>}"},
    {"(sayasmib)", "('abc', b'xy', ['p', '', 'q'], just 7, true)"},
    {"a(sv)", "[('a', <(1, 'b')>), ('', <@a{sv} {}>)]"},
    {"v", "<<[<byte 1>, <@mmi just nothing>]>>"},
};

/* Every prefix and every padded copy of a few values' bytes; every byte of them replaced by every
 * other value (a sample of them under valgrind). None may crash or be read past its end (the
 * sanitizer and valgrind builds check); each either fails with TL_ERR_PARSE or reads as a
 * normal-form value serialising back to itself. */
START_TEST(test_untrusted_bytes)
{
  size_t c, i, accepted = 0, refused = 0;
  /* Under valgrind (TL_TEST_SLOW) still every position, but fewer replacement values: those next
   * to the original, 0xff and every step-th. */
  int byte, step = 256 / tl_test_repeat(256);

  for (c = 0; c < G_N_ELEMENTS(mutated_cases); c++) {
    const char *type = mutated_cases[c].type;
    TlValue *value = parsed(type, mutated_cases[c].text);
    GBytes *bytes = serialized(value);
    size_t size;
    const guint8 *original = g_bytes_get_data(bytes, &size);
    guint8 *copy = g_malloc(size + 16);

    for (i = 0; i < size; i++) { /* each prefix in a buffer of its own size */
      guint8 *prefix = g_memdup2(original, i);

      check_untrusted(type, prefix, i) ? accepted++ : refused++;
      g_free(prefix);
    }
    for (i = 1; i <= 16; i++) { /* padded with zeros, or with what offsets might point at */
      memcpy(copy, original, size);
      memset(copy + size, i % 2 == 0 ? 0 : (int) i, i);
      ck_assert_int_eq(check_untrusted(type, copy, size + i), 0);
      refused++;
    }
    for (i = 0; i < size; i++) {
      for (byte = 0; byte < 256; byte++) {
        if (byte == original[i] ||
            (byte % step != 0 && abs(byte - original[i]) != 1 && byte != 0xff))
          continue;
        memcpy(copy, original, size);
        copy[i] = (guint8) byte;
        check_untrusted(type, copy, size) ? accepted++ : refused++;
      }
    }
    /* Unchanged, they read back. */
    ck_assert_int_eq(check_untrusted(type, original, size), 1);
    g_free(copy);
    g_bytes_unref(bytes);
    tl_value_unref(value);
  }
  /* Both outcomes occur: the test exercises acceptance of mutated bytes as well as refusal. */
  ck_assert_uint_gt(accepted, 0);
  ck_assert_uint_gt(refused, 0);
}
END_TEST

/* Bytes read as the wrong type: refused or read as that type, never more. */
START_TEST(test_bytes_read_as_other_types)
{
  static const char *const types[] = {"i",     "s",  "as",  "a{sv}", "v",          "(ii)",
                                      "mi",    "ay", "aay", "a(sv)", "(sayasmib)", "m(iis)",
                                      "a{ss}", "g",  "o",   "b"};
  size_t c, t;

  for (c = 0; c < G_N_ELEMENTS(mutated_cases); c++) {
    TlValue *value = parsed(mutated_cases[c].type, mutated_cases[c].text);
    GBytes *bytes = serialized(value);

    for (t = 0; t < G_N_ELEMENTS(types); t++)
      check_untrusted(types[t], g_bytes_get_data(bytes, NULL), g_bytes_get_size(bytes));
    g_bytes_unref(bytes);
    tl_value_unref(value);
  }
}
END_TEST

/* ---- threads ---- */

#define N_SHARED 7

typedef struct {
  TlValue *values[N_SHARED];
  GBytes *bytes[N_SHARED];
  int rounds;
} Shared;

static void *
serialise_shared(void *arg)
{
  Shared *shared = arg;
  int round, i;

  for (round = 0; round < shared->rounds; round++) {
    for (i = 0; i < N_SHARED; i++) {
      const TlValue *value = shared->values[(i + round) % N_SHARED];
      GBytes *expected = shared->bytes[(i + round) % N_SHARED];
      TlValue *back = NULL, *tuple;
      void *data = NULL;
      size_t size = 0;

      TL_CHECK(tl_value_serialize(value, &data, &size) == TL_OK);
      TL_CHECK(data != NULL && size == g_bytes_get_size(expected) &&
               memcmp(data, g_bytes_get_data(expected, NULL), size) == 0);
      TL_CHECK(tl_value_deserialize(tl_value_type(value), data, size, &back) == TL_OK);
      tl_free(data);
      TL_CHECK(tl_value_equal(back, value) == 1);
      /* A container of the shared lazy values: their GVariants are made while other threads
       * serialise them. */
      tuple = tl_value_new_tuple(shared->values, N_SHARED);
      TL_CHECK(tuple != NULL);
      TL_CHECK(tl_value_serialize(tuple, &data, &size) == TL_OK);
      tl_free(data);
      tl_value_unref(tuple);
      tl_value_unref(back);
    }
  }
  return NULL;
}

START_TEST(test_threads_share_values)
{
  int pass;

  for (pass = 0; pass < tl_test_repeat(20); pass++) {
    Shared shared = {{0}, {0}, tl_test_repeat(200)};
    GBytes *source;
    int i;

    /* Fresh values each pass: lazy ones have no GVariant yet. */
    shared.values[0] = tl_value_new_int64(-5);
    shared.values[1] = tl_value_new_string("a string shared by every thread");
    shared.values[2] = tl_value_new_double(0.5);
    shared.values[3] = parsed(NULL, "{'id': <'req'>, 'list': <[1, 2, 3]>, 'm': <@ms nothing>}");
    shared.values[4] = tl_value_new_bytes("bytes\0here", 10);
    source = serialized(shared.values[3]);
    shared.values[5] =
        deserialized("a{sv}", g_bytes_get_data(source, NULL), g_bytes_get_size(source));
    g_bytes_unref(source);
    shared.values[6] = tl_value_new_bool(1);
    for (i = 0; i < N_SHARED; i++) {
      TlValue *lazy_twin = NULL;

      /* Expected bytes from a separate value, so the shared ones stay untouched until the
       * threads start. */
      if (i == 0)
        lazy_twin = tl_value_new_int64(-5);
      else if (i == 1)
        lazy_twin = tl_value_new_string("a string shared by every thread");
      else if (i == 2)
        lazy_twin = tl_value_new_double(0.5);
      else if (i == 6)
        lazy_twin = tl_value_new_bool(1);
      else
        lazy_twin = tl_value_ref(shared.values[i]);
      shared.bytes[i] = serialized(lazy_twin);
      tl_value_unref(lazy_twin);
    }
    tl_test_run_threads(8, serialise_shared, &shared);
    tl_test_assert_no_failure();
    for (i = 0; i < N_SHARED; i++) {
      tl_value_unref(shared.values[i]);
      g_bytes_unref(shared.bytes[i]);
    }
  }
}
END_TEST

/* ---- another process ---- */

/* tests/binary/binary-child, beside this program's directory (build/tests/check-runner). */
static char *
child_program(void)
{
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  char *dir, *path;

  ck_assert_int_gt(n, 0);
  self[n] = '\0';
  dir = g_path_get_dirname(self);
  path = g_build_filename(dir, "binary", "binary-child", NULL);
  g_free(dir);
  ck_assert_msg(access(path, X_OK) == 0, "%s: %s", path, strerror(errno));
  return path;
}

static void
write_all(int fd, const void *data, size_t size)
{
  const char *at = data;

  while (size > 0) {
    ssize_t n = write(fd, at, size);

    if (n < 0 && errno == EINTR)
      continue;
    ck_assert_msg(n > 0, "write: %s", strerror(errno));
    at += n;
    size -= (size_t) n;
  }
}

/* Reads until end of file. */
static GByteArray *
read_all(int fd)
{
  GByteArray *bytes = g_byte_array_new();
  guint8 buffer[65536];

  for (;;) {
    ssize_t n = read(fd, buffer, sizeof buffer);

    if (n < 0 && errno == EINTR)
      continue;
    ck_assert_msg(n >= 0, "read: %s", strerror(errno));
    if (n == 0)
      return bytes;
    g_byte_array_append(bytes, buffer, (guint) n);
  }
}

/* A message: the type string and its NUL, then the size as 8 bytes little-endian, then the bytes
 * (the protocol of tests/binary/binary-child.c). */
static void
send_value(int fd, const char *type, GBytes *bytes)
{
  guint64 size = GUINT64_TO_LE((guint64) g_bytes_get_size(bytes));

  write_all(fd, type, strlen(type) + 1);
  write_all(fd, &size, sizeof size);
  write_all(fd, g_bytes_get_data(bytes, NULL), g_bytes_get_size(bytes));
}

/* Runs the child program (tests/binary/binary-child.c) on an "a{sv}" message of bytes, and
 * returns all it wrote back; *out_status is its wait status. quiet: its stderr goes nowhere (a
 * refusal's message is expected). */
static GByteArray *
exchange_with_child(char *program, GBytes *bytes, gboolean quiet, int *out_status)
{
  int to_child[2], from_child[2];
  GByteArray *reply;
  pid_t pid;

  ck_assert_int_eq(pipe(to_child), 0);
  ck_assert_int_eq(pipe(from_child), 0);
  pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    char *argv[] = {program, NULL};

    dup2(to_child[0], STDIN_FILENO);
    dup2(from_child[1], STDOUT_FILENO);
    if (quiet)
      dup2(open("/dev/null", O_WRONLY), STDERR_FILENO);
    close(to_child[0]);
    close(to_child[1]);
    close(from_child[0]);
    close(from_child[1]);
    execv(program, argv);
    _exit(127);
  }
  close(to_child[0]);
  close(from_child[1]);
  /* The child reads the whole message before it writes: no deadlock at any size. */
  signal(SIGPIPE, SIG_IGN);
  send_value(to_child[1], "a{sv}", bytes);
  close(to_child[1]);
  reply = read_all(from_child[0]);
  close(from_child[0]);
  ck_assert_int_eq(waitpid(pid, out_status, 0), pid);
  return reply;
}

/* A context (a snapshot of a local: strings, numbers, nested containers, a byte string larger than
 * a pipe's buffer) sent to a new process, which reads it, applies it into a local of its own and
 * sends back the snapshot of that local: the very same bytes, read back as an equal value. */
START_TEST(test_context_handed_to_another_process)
{
  char *program = child_program();
  TlLocal *local = tl_local_new();
  TlValue *snapshot = NULL, *back;
  GByteArray *reply, *blob_data = g_byte_array_new();
  GBytes *bytes;
  guint64 reply_size;
  size_t type_end, i;
  int status;

  for (i = 0; i < 100000; i++) {
    guint8 byte = (guint8) (i * 31);

    g_byte_array_append(blob_data, &byte, 1);
  }
  ck_assert_int_eq(tl_local_set_string(local, "request-id", "req-0001-é€😀"), TL_OK);
  ck_assert_int_eq(tl_local_set_int64(local, "user", -42), TL_OK);
  ck_assert_int_eq(tl_local_set_uint64(local, "trace", UINT64_MAX), TL_OK);
  ck_assert_int_eq(tl_local_set_double(local, "deadline", 1.5e9), TL_OK);
  ck_assert_int_eq(tl_local_set_bool(local, "sampled", 1), TL_OK);
  ck_assert_int_eq(tl_local_set_take(local, "baggage",
                                     parsed(NULL, "{'tenant': <'acme'>, 'hops': <[<1>, <'two'>]>, "
                                                  "'none': <@mx nothing>, 'pair': <(1, 'x')>}")),
                   TL_OK);
  ck_assert_int_eq(
      tl_local_set_take(local, "blob", tl_value_new_bytes(blob_data->data, blob_data->len)), TL_OK);
  ck_assert_int_eq(tl_local_snapshot(local, &snapshot), TL_OK);
  bytes = serialized(snapshot);

  reply = exchange_with_child(program, bytes, FALSE, &status);
  ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child failed: status %d",
                status);

  /* "a{sv}\0", the size, the bytes. */
  type_end = strlen("a{sv}") + 1;
  ck_assert_uint_ge(reply->len, type_end + 8);
  ck_assert(memcmp(reply->data, "a{sv}", type_end) == 0);
  memcpy(&reply_size, reply->data + type_end, 8);
  reply_size = GUINT64_FROM_LE(reply_size);
  ck_assert_uint_eq(reply_size, reply->len - type_end - 8);
  ck_assert_uint_eq(reply_size, g_bytes_get_size(bytes));
  ck_assert(memcmp(reply->data + type_end + 8, g_bytes_get_data(bytes, NULL), reply_size) == 0);
  back = deserialized("a{sv}", reply->data + type_end + 8, (size_t) reply_size);
  ck_assert_int_eq(tl_value_equal(back, snapshot), 1);

  tl_value_unref(back);
  g_byte_array_unref(reply);
  g_byte_array_unref(blob_data);
  g_bytes_unref(bytes);
  tl_value_unref(snapshot);
  tl_local_unref(local);
  g_free(program);
}
END_TEST

/* The child refuses what it cannot read: bytes that are not a normal-form "a{sv}". */
START_TEST(test_other_process_refuses_bad_bytes)
{
  char *program = child_program();
  static const guint8 garbage[] = {'a', 0, 'x', 0, 9, 9};
  GBytes *bytes = g_bytes_new_static(garbage, sizeof garbage);
  GByteArray *reply;
  int status;

  reply = exchange_with_child(program, bytes, TRUE, &status);
  /* Exit status 3: tl_value_deserialize said TL_ERR_PARSE (binary-child.c). */
  ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 3, "status %d", status);
  ck_assert_uint_eq(reply->len, 0);
  g_byte_array_unref(reply);
  g_bytes_unref(bytes);
  g_free(program);
}
END_TEST

Suite *
binary_suite(void)
{
  Suite *suite = suite_create("binary");
  TCase *tcase = tl_test_case("binary");

  tcase_add_test(tcase, test_basic_types_bytes_and_round_trips);
  tcase_add_test(tcase, test_constructed_scalars_match_parsed);
  tcase_add_test(tcase, test_strings_every_utf8_length);
  tcase_add_test(tcase, test_byte_strings);
  tcase_add_test(tcase, test_containers);
  tcase_add_test(tcase, test_arrays_of_every_offset_size);
  tcase_add_test(tcase, test_constructors_and_parse_give_the_same_bytes);
  tcase_add_test(tcase, test_non_normal_gvariant_serialises_normalised);
  tcase_add_test(tcase, test_depth_limit);
  tcase_add_test(tcase, test_deepest_constructed_value_round_trips);
  tcase_add_test(tcase, test_pointer_values_have_no_binary_form);
  tcase_add_test(tcase, test_snapshots_round_trip_and_apply);
  tcase_add_test(tcase, test_bad_arguments);
  tcase_add_test(tcase, test_untrusted_bytes);
  tcase_add_test(tcase, test_bytes_read_as_other_types);
  tcase_add_test(tcase, test_threads_share_values);
  tcase_add_test(tcase, test_context_handed_to_another_process);
  tcase_add_test(tcase, test_other_process_refuses_bad_bytes);
  suite_add_tcase(suite, tcase);
  return suite;
}
