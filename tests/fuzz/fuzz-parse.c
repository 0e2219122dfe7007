/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: the value parser and printer, and everything that reads a parsed value.
 *
 * Input: "TYPE\nTEXT". The first line is the type string given to tl_value_parse() (an empty first
 * line, or no newline at all, means NULL: the text decides); the rest is the text. On success the
 * value is printed with and without type annotations and each text parsed again, which must give
 * an equal value (tlslocal.h names the one exception: subnormal doubles); the value is walked
 * (type, children, typed accessors) and string-keyed dictionaries are looked up. Any critical or
 * warning from GLib aborts, as does a failed check. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "fuzz-common.h"

#define MAX_DEPTH 64
#define MAX_NODES 4096 /* per input: a long array is walked in part, not in full */

typedef struct {
  int nodes;
  int has_subnormal;
} Walk;

/* Each typed accessor succeeds exactly on its own type. */
static void
check_accessors(const TlValue *value, const char *type)
{
  union {
    int b;
    uint8_t y;
    int16_t n;
    uint16_t q;
    int32_t i;
    uint32_t u;
    int64_t x;
    uint64_t t;
    double d;
    const char *s;
    void *p;
  } out;
  const void *data = NULL;
  size_t size = 0;

  FUZZ_CHECK((tl_value_get_bool(value, &out.b) == TL_OK) == (strcmp(type, "b") == 0));
  FUZZ_CHECK((tl_value_get_byte(value, &out.y) == TL_OK) == (strcmp(type, "y") == 0));
  FUZZ_CHECK((tl_value_get_int16(value, &out.n) == TL_OK) == (strcmp(type, "n") == 0));
  FUZZ_CHECK((tl_value_get_uint16(value, &out.q) == TL_OK) == (strcmp(type, "q") == 0));
  FUZZ_CHECK((tl_value_get_int32(value, &out.i) == TL_OK) == (strcmp(type, "i") == 0));
  FUZZ_CHECK((tl_value_get_uint32(value, &out.u) == TL_OK) == (strcmp(type, "u") == 0));
  FUZZ_CHECK((tl_value_get_int64(value, &out.x) == TL_OK) == (strcmp(type, "x") == 0));
  FUZZ_CHECK((tl_value_get_uint64(value, &out.t) == TL_OK) == (strcmp(type, "t") == 0));
  FUZZ_CHECK((tl_value_get_double(value, &out.d) == TL_OK) == (strcmp(type, "d") == 0));
  FUZZ_CHECK((tl_value_get_string(value, &out.s) == TL_OK) ==
             (strcmp(type, "s") == 0 || strcmp(type, "o") == 0 || strcmp(type, "g") == 0));
  FUZZ_CHECK((tl_value_get_bytes(value, &data, &size) == TL_OK) == (strcmp(type, "ay") == 0));
  FUZZ_CHECK(tl_value_get_pointer(value, &out.p) == TL_ERR_WRONG_TYPE);
}

/* Looks every key of a string-keyed dictionary up, and one that is not there. */
static void
check_lookups(const TlValue *dict, size_t n_children)
{
  TlValue *found = NULL;
  size_t i;

  for (i = 0; i < n_children && i < 64; i++) {
    TlValue *entry = NULL, *key = NULL;
    const char *key_string = NULL;

    FUZZ_CHECK(tl_value_get_child(dict, i, &entry) == TL_OK);
    FUZZ_CHECK(tl_value_get_child(entry, 0, &key) == TL_OK);
    FUZZ_CHECK(tl_value_get_string(key, &key_string) == TL_OK);
    FUZZ_CHECK(tl_value_lookup(dict, key_string, &found) == TL_OK && found != NULL);
    tl_value_unref(found);
    tl_value_unref(key);
    tl_value_unref(entry);
  }
  FUZZ_CHECK(tl_value_lookup(dict, "\xff", &found) == TL_ERR_INVALID_KEY && found == NULL);
  FUZZ_CHECK(tl_value_lookup(dict, NULL, &found) == TL_ERR_INVALID_KEY);
  if (tl_value_lookup(dict, "no such key, surely \x01", &found) == TL_OK)
    tl_value_unref(found);
}

static void
walk(const TlValue *value, int depth, Walk *state)
{
  const char *type = tl_value_type(value);
  size_t n_children = 0, i;
  TlValue *child = NULL;

  FUZZ_CHECK(type != NULL);
  if (++state->nodes > MAX_NODES)
    return;
  check_accessors(value, type);
  if (strcmp(type, "d") == 0) {
    double number = 0;

    FUZZ_CHECK(tl_value_get_double(value, &number) == TL_OK);
    if (number != 0 && fabs(number) < DBL_MIN)
      state->has_subnormal = 1;
  }

  if (tl_value_n_children(value, &n_children) != TL_OK) {
    FUZZ_CHECK(tl_last_error() == TL_ERR_WRONG_TYPE);
    FUZZ_CHECK(tl_value_get_child(value, 0, &child) == TL_ERR_WRONG_TYPE && child == NULL);
    FUZZ_CHECK(tl_value_lookup(value, "k", &child) == TL_ERR_WRONG_TYPE && child == NULL);
    return;
  }
  FUZZ_CHECK(tl_value_get_child(value, n_children, &child) == TL_ERR_OUT_OF_RANGE && child == NULL);
  if (strncmp(type, "a{s", 3) == 0)
    check_lookups(value, n_children);
  else
    FUZZ_CHECK(tl_value_lookup(value, "k", &child) == TL_ERR_WRONG_TYPE && child == NULL);
  if (depth >= MAX_DEPTH)
    return;
  for (i = 0; i < n_children && state->nodes <= MAX_NODES; i++) {
    FUZZ_CHECK(tl_value_get_child(value, i, &child) == TL_OK && child != NULL);
    walk(child, depth + 1, state);
    tl_value_unref(child);
  }
}

/* text, printed from value, parses again (as type, or as what the text says when type is NULL) to
 * an equal value, unless value holds a subnormal double. */
static void
check_reparse(const TlValue *value, const char *type, const char *text, const Walk *state)
{
  TlValue *again = NULL;
  int status = tl_value_parse(type, text, &again);

  if (state->has_subnormal) {
    tl_value_unref(again);
    return;
  }
  if (status != TL_OK)
    fuzz_fail(__FILE__, __LINE__, "printed text does not parse again", text);
  FUZZ_CHECK(strcmp(tl_value_type(again), tl_value_type(value)) == 0);
  if (tl_value_equal(value, again) != 1)
    fuzz_fail(__FILE__, __LINE__, "printed text parses to another value", text);
  tl_value_unref(again);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const uint8_t *newline = memchr(data, '\n', size);
  char *type = NULL, *text, *plain, *annotated;
  TlValue *value = NULL;
  Walk state = {0, 0};
  int status;

  if (newline != NULL) {
    size_t type_length = (size_t) (newline - data);

    if (type_length > 0)
      type = g_strndup((const char *) data, type_length);
    text = g_strndup((const char *) newline + 1, size - type_length - 1);
  } else {
    text = g_strndup((const char *) data, size);
  }

  status = tl_value_parse(type, text, &value);
  if (status != TL_OK) {
    FUZZ_CHECK(value == NULL);
    FUZZ_CHECK(status == TL_ERR_PARSE || status == TL_ERR_INVALID_ARGUMENT ||
               status == TL_ERR_INVALID_UTF8);
    FUZZ_CHECK(tl_last_error() == status && tl_last_error_message() != NULL);
    goto out;
  }
  FUZZ_CHECK(value != NULL);
  if (type != NULL && g_variant_type_string_is_valid(type) &&
      g_variant_type_is_definite(G_VARIANT_TYPE(type)))
    FUZZ_CHECK(strcmp(tl_value_type(value), type) == 0);
  FUZZ_CHECK(tl_value_equal(value, value) == 1);
  walk(value, 0, &state);

  plain = tl_value_print(value, 0);
  annotated = tl_value_print(value, 1);
  FUZZ_CHECK(plain != NULL && annotated != NULL);
  check_reparse(value, tl_value_type(value), plain, &state);
  check_reparse(value, tl_value_type(value), annotated, &state);
  check_reparse(value, NULL, annotated, &state);
  tl_free(plain);
  tl_free(annotated);

out:
  tl_value_unref(value);
  g_free(type);
  g_free(text);
  FUZZ_CHECK(tl_stats_live_values() == 0);
  return 0;
}
